"""Every write of the opinion app: ingesting posts (all channels end in `ingest`), schemes.

Also the analyst's decisions on opinion warnings (confirm / adjust / dismiss) and turning a
topic into a clue (the intake hook), with the receivers that link the resulting event back.

`ingest(posts, source=…)` takes dicts (one per post, the field names of `FIELDS`) or
`Malformed` placeholders for lines a reader could not parse. Each item is a numbered line
(from `first_line`); invalid lines are reported with their number and Chinese messages per
field, valid ones are processed and stored in batches of `BATCH` (INSERT … ON CONFLICT DO
NOTHING on (platform, post id)), so importing the same post twice stores it once. One
audit entry is written per call, not per post.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from fenghuo.core import clock
from fenghuo.core.sandbox import owed
from fenghuo.core.services import audit_change, audit_record, snapshot
from fenghuo.events import services as event_services
from fenghuo.events.models import Event, Report
from fenghuo.intake.services import report_from_clue
from fenghuo.opinion import expression, matching, pipeline, rules, selectors
from fenghuo.opinion.models import (
    Colour,
    OpinionWarning,
    Platform,
    Post,
    Scheme,
    Topic,
    WarningState,
    WebhookConnector,
)
from fenghuo.org.models import Person, Role, Unit
from fenghuo.org.policy import Action, Facts, Principal, can

BATCH = 1000
PLATFORM_BY_NAME = {**{p.value: p.value for p in Platform}, **{p.label: p.value for p in Platform}}
COUNTS = ("likes", "comments", "reposts", "views", "author_followers")
FIELDS = (
    "platform",
    "post_id",
    "text",
    "published_at",
    "author",
    "author_followers",
    "author_verified",
    "url",
    "division_code",
    "likes",
    "comments",
    "reposts",
    "views",
    "repost_of",
    "is_drill",
    "drill_tag",
)
INGEST_ROLES = frozenset({Role.ANALYST, Role.DUTY_OFFICER})
SCHEME_ROLES = frozenset({Role.ANALYST, Role.DUTY_OFFICER, Role.UNIT_LEADER})
_TRUE = {"1", "true", "yes", "y", "是", "已认证", "t"}
_FALSE = {"0", "false", "no", "n", "否", "未认证", "f", ""}


@dataclass(frozen=True)
class Malformed:
    """A line a reader could not turn into a dict (bad JSON, a broken row)."""

    message: str


@dataclass(frozen=True)
class LineError:
    line: int
    errors: dict[str, list[str]]


@dataclass
class IngestResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    errors: list[LineError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "errors": [{"line": e.line, "errors": e.errors} for e in self.errors],
        }


def _text(value: Any, name: str, limit: int, errors: dict, *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors[name] = ["不能为空"]
    elif len(text) > limit:
        errors[name] = [f"不能超过 {limit} 个字符"]
    return text


def _count(value: Any, name: str, errors: dict) -> int:
    if value in (None, ""):
        return 0
    try:
        number = int(str(value).strip().replace(",", ""))
    except ValueError:
        errors[name] = ["应为不小于 0 的整数"]
        return 0
    if number < 0 or number > 2_147_483_647:
        errors[name] = ["应为不小于 0 的整数"]
        return 0
    return number


def _flag(value: Any, name: str, errors: dict) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in _TRUE:
        return True
    if text not in _FALSE:
        errors[name] = ["应为 是 或 否"]
    return False


def _moment(value: Any, errors: dict, now: datetime) -> datetime:
    if value in (None, ""):
        return now
    if isinstance(value, datetime):
        moment = value
    else:
        moment = parse_datetime(str(value).strip().replace("/", "-"))
        if moment is None:
            errors["published_at"] = ["时间格式应为 2026-11-23T09:10:00+08:00"]
            return now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.now().tzinfo)
    return moment


@cache
def _post_fields() -> tuple[list[tuple[str, Any]], frozenset[str]]:
    """(attribute, default) of each Post column in order, and the attribute names. The
    defaults are all immutable (text, numbers, None), so one value serves every post."""
    fields = [(f.attname, f.get_default()) for f in Post._meta.concrete_fields]
    return fields, frozenset(name for name, _ in fields)


def _new_post(**values: Any) -> Post:
    """Post(**values), built positionally: Django's keyword path cost twice as much, ~5 % of
    the whole pipeline (bench/opinion)."""
    fields, names = _post_fields()
    if unknown := values.keys() - names:
        raise TypeError(f"Post has no field {', '.join(sorted(unknown))}")
    return Post(*[values.get(name, default) for name, default in fields])


def validate(item: dict[str, Any], *, source: str, now: datetime) -> Post:
    """An unsaved Post from one line, or ValidationError with Chinese messages per field."""
    errors: dict[str, list[str]] = {}
    unknown = set(item) - set(FIELDS)
    if unknown:
        errors["__all__"] = [f"无法识别的字段：{'、'.join(sorted(map(str, unknown)))}"]
    platform = PLATFORM_BY_NAME.get(str(item.get("platform") or "").strip())
    if platform is None:
        errors["platform"] = [f"平台应为 {'、'.join(p.label for p in Platform)} 之一"]
    url = _text(item.get("url"), "url", 500, errors)
    if url and not re.match(r"https?://", url):
        errors["url"] = ["链接应以 http:// 或 https:// 开头"]
    division = _text(item.get("division_code"), "division_code", 6, errors)
    if division and not re.fullmatch(r"\d{6}", division):
        errors["division_code"] = ["行政区划代码应为 6 位数字"]
    post = _new_post(
        platform=platform or "",
        post_id=_text(item.get("post_id"), "post_id", 128, errors, required=True),
        text=_text(item.get("text"), "text", 20000, errors, required=True),
        published_at=_moment(item.get("published_at"), errors, now),
        author=_text(item.get("author"), "author", 100, errors),
        author_verified=_flag(item.get("author_verified"), "author_verified", errors),
        url=url,
        division_code=division,
        repost_of=_text(item.get("repost_of"), "repost_of", 128, errors),
        is_drill=_flag(item.get("is_drill"), "is_drill", errors),
        drill_tag=_text(item.get("drill_tag"), "drill_tag", 40, errors),
        source=source[:100],
        received_at=now,
        **{name: _count(item.get(name), name, errors) for name in COUNTS},
    )
    if errors:
        raise ValidationError(errors)
    post.is_drill = post.is_drill or bool(post.drill_tag)  # a drill run's post is drill data
    return post


def _batches(
    posts: Iterable[dict[str, Any] | Malformed], first_line: int
) -> Iterator[list[tuple[int, dict[str, Any] | Malformed]]]:
    batch: list[tuple[int, dict[str, Any] | Malformed]] = []
    for line, item in enumerate(posts, start=first_line):
        batch.append((line, item))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def ingest(
    posts: Iterable[dict[str, Any] | Malformed],
    *,
    source: str,
    actor: Any = None,
    first_line: int = 1,
) -> IngestResult:
    """Validate, process and store posts; per-line errors, valid lines stored."""
    result = IngestResult()
    for batch in _batches(posts, first_line):
        now = clock.now()
        valid: list[Post] = []
        for line, item in batch:
            result.received += 1
            if isinstance(item, Malformed):
                result.errors.append(LineError(line, {"__all__": [item.message]}))
                continue
            if not isinstance(item, dict):
                result.errors.append(LineError(line, {"__all__": ["每行应为一个 JSON 对象"]}))
                continue
            try:
                valid.append(validate(item, source=source, now=now))
            except ValidationError as exc:
                result.errors.append(LineError(line, exc.message_dict))
        if valid:
            stored, duplicates = pipeline.run_batch(valid, now=now)
            result.stored += stored
            result.duplicates += duplicates
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="opinion.ingest",
            object_type="opinion.Post",
            object_id=source,
            after={k: v for k, v in result.as_dict().items() if k != "errors"}
            | {"errors": len(result.errors)},
        )
    return result


def parse_jsonl(data: str | bytes) -> Iterator[dict[str, Any] | Malformed]:
    """One item per line of a JSON-lines body (blank lines are kept as errors: they count)."""
    if isinstance(data, bytes):
        data = data.decode("utf-8-sig", errors="replace")
    lines = data.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    for raw in lines:
        if not raw.strip():
            yield Malformed("空行")
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield Malformed(f"不是有效的 JSON：第 {exc.colno} 列，{exc.msg}")
            continue
        yield value if isinstance(value, dict) else Malformed("每行应为一个 JSON 对象")


def require_ingest(principal: Principal) -> None:
    """Posts may be pushed by an analyst or duty officer session, or any unit token (an
    integration of that unit, e.g. its monitoring vendor's feeder)."""
    if principal.token_id is not None or principal.is_superuser:
        return
    if not any(g.role in INGEST_ROLES for g in principal.grants):
        raise PermissionDenied("只有舆情分析员、值班员或单位接口令牌可以推送帖子")


# --- webhook connectors ------------------------------------------------------------------


def _dig(payload: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(payload, dict):
            payload = payload.get(part)
        elif isinstance(payload, list) and part.isdecimal() and int(part) < len(payload):
            payload = payload[int(part)]
        else:
            return None
    return payload


def webhook_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body>`: what senders put in X-Fenghuo-Signature."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def map_payload(connector: WebhookConnector, item: Any) -> dict[str, Any] | Malformed:
    if not isinstance(item, dict):
        return Malformed("每条应为一个 JSON 对象")
    post = {name: _dig(item, connector.mapping.get(name, name)) for name in FIELDS}
    post["platform"] = post["platform"] or connector.platform
    return {name: value for name, value in post.items() if value is not None}


def webhook_ingest(slug: str, body: bytes, signature: str) -> IngestResult:
    """A connector's push: verify the HMAC, map fields, ingest. Unknown slug or a bad
    signature: PermissionDenied (the sender learns nothing about which)."""
    connector = WebhookConnector.objects.filter(slug=slug, is_active=True).first()
    if connector is None or not hmac.compare_digest(
        webhook_signature(connector.secret, body), signature or ""
    ):
        raise PermissionDenied("签名无效")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError({"body": ["请求体不是有效的 JSON"]}) from exc
    items = payload if isinstance(payload, list) else [payload]
    return ingest(
        (map_payload(connector, item) for item in items), source=f"webhook:{connector.slug}"
    )


# --- schemes -----------------------------------------------------------------------------


def check_expression(source: str) -> expression.Node:
    try:
        return expression.parse(source)
    except expression.ExpressionError as exc:
        raise ValidationError({"expression": [str(exc)]}) from exc


def _scheme_facts(scheme: Scheme) -> Facts:
    return Facts(
        owner_unit_id=scheme.owner_unit_id,
        owner_unit_path=scheme.owner_unit.path,
        author_id=scheme.owner_id,
    )


def _may_edit_in(principal: Principal, unit: Unit) -> bool:
    if principal.is_superuser:
        return True
    return any(
        g.role in SCHEME_ROLES and unit.path.startswith(g.unit_path) for g in principal.grants
    )


@transaction.atomic
def scheme_create(
    principal: Principal, *, name: str, expression_text: str, owner_unit: Unit
) -> Scheme:
    """A scheme of `owner_unit`, owned by the principal; the unit is theirs or below."""
    if not _may_edit_in(principal, owner_unit):
        raise PermissionDenied("无权为该单位建立监测方案")
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["不能为空"]
    tree = None
    try:
        tree = check_expression(expression_text)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    scheme = Scheme.objects.create(
        name=name.strip()[:100],
        expression=expression.render(tree),
        owner_unit=owner_unit,
        owner=Person.objects.filter(pk=principal.person_id).first(),
        created_at=now,
        updated_at=now,
    )
    audit_change(principal, "opinion.scheme.create", scheme, after=snapshot(scheme))
    return scheme


@transaction.atomic
def scheme_update(principal: Principal, scheme: Scheme, **changes: Any) -> Scheme:
    """Change name, expression_text or is_active (the owner, or editors of its unit)."""
    scheme = Scheme.objects.select_for_update().select_related("owner_unit").get(pk=scheme.pk)
    facts = _scheme_facts(scheme)
    if not (can(principal, Action.VIEW, facts) and _may_edit_in(principal, scheme.owner_unit)):
        raise PermissionDenied("无权修改该监测方案")
    before = snapshot(scheme)
    if "name" in changes:
        if not str(changes["name"]).strip():
            raise ValidationError({"name": ["不能为空"]})
        scheme.name = str(changes["name"]).strip()[:100]
    if "expression_text" in changes:
        scheme.expression = expression.render(check_expression(changes["expression_text"]))
    if "is_active" in changes:
        scheme.is_active = bool(changes["is_active"])
    scheme.updated_at = clock.now()
    scheme.save()
    audit_change(principal, "opinion.scheme.update", scheme, before=before, after=snapshot(scheme))
    return scheme


def preview(expression_text: str, posts: Iterable[Post]) -> list[Post]:
    """The posts (already read through the selectors) that the expression matches."""
    check_expression(expression_text)
    matcher = matching.compile_schemes([(0, expression_text)])
    return [post for post in posts if matcher.match(post.normalized_text)]


# --- opinion warnings --------------------------------------------------------------------

DECIDERS = frozenset({Role.ANALYST, Role.DUTY_OFFICER})


def _decide(
    principal: Principal,
    warning: OpinionWarning,
    state: str,
    note: str,
    action: str,
    colour: str = "",
) -> OpinionWarning:
    if not (principal.is_superuser or any(g.role in DECIDERS for g in principal.grants)):
        raise PermissionDenied("只有舆情分析员和值班员可以处理舆情预警")
    visible = selectors.opinion_warnings_visible(principal, drill=None).filter(pk=warning.pk)
    if not visible.exists():
        raise PermissionDenied("无权处理该舆情预警")
    warning = OpinionWarning.objects.select_for_update().get(pk=warning.pk)
    if warning.state == WarningState.DISMISSED:
        raise ValidationError({"state": ["该预警已排除，不能再处理"]})
    if colour == warning.colour:
        raise ValidationError({"colour": ["与当前级别相同"]})
    before = snapshot(warning)
    warning.state = state
    warning.colour = colour or warning.colour
    warning.note = (note or "").strip()[:500]
    warning.decided_by = Person.objects.filter(pk=principal.person_id).first()
    warning.decided_at = clock.now()
    warning.save()
    audit_change(principal, action, warning, before=before, after=snapshot(warning))
    return warning


@transaction.atomic
def warning_confirm(
    principal: Principal, warning: OpinionWarning, note: str = ""
) -> OpinionWarning:
    return _decide(principal, warning, WarningState.CONFIRMED, note, "opinion.warning.confirm")


@transaction.atomic
def warning_dismiss(
    principal: Principal, warning: OpinionWarning, note: str = ""
) -> OpinionWarning:
    return _decide(principal, warning, WarningState.DISMISSED, note, "opinion.warning.dismiss")


@transaction.atomic
def warning_adjust(
    principal: Principal, warning: OpinionWarning, colour: str, note: str = ""
) -> OpinionWarning:
    """Change the colour; the scheme owner unit is told again under the new colour's key."""
    if colour not in Colour.values:
        raise ValidationError({"colour": [f"预警级别应为 {'、'.join(Colour.labels)} 之一"]})
    warning = _decide(
        principal, warning, WarningState.ADJUSTED, note, "opinion.warning.adjust", colour
    )
    rules.notify(warning)
    return warning


# --- topic → clue ------------------------------------------------------------------------

VERIFY_WITHIN = timedelta(hours=2)


def local_unit(division_code: str) -> Unit | None:
    """The unit of a division: its receiving office if it has one, else its top unit."""
    if not division_code:
        return None
    return (
        Unit.objects.filter(division_code=division_code, is_active=True)
        .order_by("-is_receiving_office", "depth", "pk")
        .first()
    )


def _clue_text(topic: Topic) -> str:
    lines = [
        topic.title,
        f"网络舆情话题：帖子 {topic.post_count} 条，负面占比 {topic.negative_share:.0%}，"
        f"热度 {topic.heat:g}，阶段 {topic.get_stage_display()}。",
    ]
    if topic.keywords:
        lines.append(f"关键词：{'、'.join(topic.keywords)}")
    for post in topic.posts.order_by("-reposts", "-likes", "pk")[:3]:
        lines.append(f"· {post.author or '匿名'}：{post.text[:200]}")
    return "\n".join(lines)


@transaction.atomic
def topic_to_clue(
    principal: Principal, topic: Topic, *, clue_text: str = ""
) -> event_services.FilingResult:
    """Turn a topic into a clue for the local unit of its division (an unverified draft
    report, `intake.services.report_from_clue`). When a duty officer confirms the draft,
    the event links back to the topic and the local unit is asked to verify it."""
    if not selectors.topics_visible(principal, drill=None).filter(pk=topic.pk).exists():
        raise PermissionDenied("无权查看该话题")
    topic = Topic.objects.select_for_update().get(pk=topic.pk)
    if topic.clue_report_id is not None:
        raise ValidationError({"topic": ["该话题已转为线索"]})
    unit = local_unit(topic.division_code)
    if unit is None:
        raise ValidationError({"division_code": ["无法根据话题的行政区划确定属地单位"]})
    source = topic.posts.exclude(url="").order_by("published_at", "pk").first()
    result = report_from_clue(
        principal,
        unit=unit,
        clue_text=(clue_text or "").strip() or _clue_text(topic),
        source_url=source.url if source else "",
        # A drill topic's clue is drill data of the same run.
        data={
            "division_code": topic.division_code,
            "is_drill": topic.is_drill,
            "drill_tag": topic.drill_tag,
        },
    )
    before = snapshot(topic)
    topic.clue_report = result.report
    topic.save(update_fields=["clue_report"])
    audit_change(principal, "opinion.topic.clue", topic, before=before, after=snapshot(topic))
    return result


def on_report_submitted(
    sender: Any, report: Report, event: Event, principal: Principal, **kwargs: Any
) -> None:
    """A topic's clue entered an event: link the topic and ask the local unit to verify."""
    topic = Topic.objects.select_for_update().filter(clue_report=report, event=None).first()
    if topic is None:
        return
    topic.event = event
    topic.save(update_fields=["event"])
    try:
        # A savepoint: a confirmer not allowed to ask that unit must not undo the confirm.
        with transaction.atomic():
            event_services.request_verification(
                principal,
                event=event,
                assignee_unit=report.unit,
                question=f"请核实网络舆情：{topic.title}",
                due_at=clock.now() + owed(VERIFY_WITHIN, report.drill_tag),
                report=report,
            )
    except PermissionDenied:
        return


def on_events_merged(
    sender: Any, source: Event, target: Event, principal: Principal, **kwargs: Any
) -> None:
    Topic.objects.filter(event=source).update(event=target)


# --- drill data ------------------------------------------------------------------------------


@transaction.atomic
def purge_drill(drill_tag: str) -> dict[str, int]:
    """Delete a drill run's posts and topics (their counters, scheme matches and opinion
    warnings go with them). Only rows carrying the tag."""
    if not drill_tag:
        raise ValueError("purge_drill needs a drill tag")
    topics = Topic.objects.filter(drill_tag=drill_tag, is_drill=True)
    _, deleted_topics = topics.delete()
    _, deleted_posts = Post.objects.filter(drill_tag=drill_tag, is_drill=True).delete()
    return {
        "topics": deleted_topics.get("opinion.Topic", 0),
        "posts": deleted_posts.get("opinion.Post", 0),
    }
