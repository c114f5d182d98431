"""Every write of the drills app: scenarios, runs (prepare, start, advance, end, purge),
confirming a drill's drafts, and improvement items.

A run's life: prepared (units mapped, injections listed) → running (the clock started;
`advance`, the worker's loop step, makes each injection when its time comes) → ended (by
hand, or when the scenario's duration has passed: the score table and the timeline are
frozen, what the drill's units still owed is closed, open drill responses end) → purged
(its drill data deleted from every app; the frozen results stay). Real data is never
touched: every write below is to this app's rows or to rows carrying the run's tag.
"""

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from fenghuo.alerts import services as alert_services
from fenghuo.core import clock
from fenghuo.core.services import audit_change, snapshot
from fenghuo.drills import drilltime, injections, scoring, selectors
from fenghuo.drills.models import (
    DrillRun,
    Improvement,
    ImprovementState,
    Injection,
    Participant,
    RunState,
    Scenario,
)
from fenghuo.drills.scenario import Scenario as ScenarioSpec
from fenghuo.drills.scenario import ScenarioError, bundled, load
from fenghuo.escalation import services as escalation_services
from fenghuo.events import services as event_services
from fenghuo.events.models import Report
from fenghuo.intake import services as intake_services
from fenghuo.notify import services as notify_services
from fenghuo.notify.services import notify_people
from fenghuo.opinion import services as opinion_services
from fenghuo.org.models import Person, Role, Unit
from fenghuo.org.policy import Principal
from fenghuo.release import services as release_services
from fenghuo.response import services as response_services

SPEEDS = (1, 5, 10, 20, 30, 60)
MAX_SPEED = 600
# Who hears that a drill starts or ends in a participating unit.
TOLD_ROLES = (
    Role.REPORTER,
    Role.UNIT_LEADER,
    Role.DUTY_OFFICER,
    Role.GROUP_LEADER,
    Role.GROUP_DEPUTY,
    Role.GROUP_OFFICE,
    Role.ANALYST,
)


def _person(principal: Principal) -> Person | None:
    return Person.objects.filter(pk=principal.person_id).first() if principal.person_id else None


def _require_director(principal: Principal, unit: Unit) -> None:
    if not selectors.may_direct(principal, unit):
        raise PermissionDenied(
            "只有本单位或上级单位的值班员、单位领导、领导小组或管理员可以组织演练"
        )


def check_scenario(text: str) -> ScenarioSpec:
    """The scenario, or a ValidationError listing every problem with its place."""
    try:
        return _loaded(text)
    except ScenarioError as exc:
        raise ValidationError({"file": exc.messages}) from None


@lru_cache(maxsize=64)
def _loaded(text: str) -> ScenarioSpec:
    """A run's text is fixed, and the loop reads it every step: parse it once per process
    (a failure is not cached: it raises)."""
    return load(text)


# --- the library ------------------------------------------------------------------------------


def scenario_source(slug: str) -> str | None:
    """The text of a bundled or uploaded scenario."""
    for item in bundled():
        if item.slug == slug:
            return item.text
    return Scenario.objects.filter(slug=slug).values_list("source", flat=True).first()


@transaction.atomic
def upload_scenario(
    principal: Principal, *, unit: Unit, filename: str, text: str
) -> tuple[Scenario, bool]:
    """Add a scenario to the library; the same content again is the one already there
    (returned with False)."""
    _require_director(principal, unit)
    spec = check_scenario(text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    existing = Scenario.objects.filter(digest=digest).first()
    if existing is not None:
        return existing, False
    stem = re.sub(r"[^a-z0-9-]+", "-", filename.rsplit(".", 1)[0].lower()).strip("-")[:40]
    slug = stem or "scenario"
    taken = {s.slug for s in bundled()} | set(
        Scenario.objects.filter(slug__startswith=slug).values_list("slug", flat=True)
    )
    number = 1
    while slug in taken:
        number += 1
        slug = f"{stem or 'scenario'}-{number}"
    scenario = Scenario.objects.create(
        slug=slug,
        title=spec.title,
        source=text,
        digest=digest,
        owner_unit=unit,
        uploaded_by=_person(principal),
        uploaded_at=clock.now(),
    )
    audit_change(
        principal, "drills.scenario.upload", scenario, after={"slug": slug, "title": spec.title}
    )
    return scenario, True


# --- runs ----------------------------------------------------------------------------------


def _new_tag() -> str:
    return f"drill-{timezone.localtime(clock.now()):%Y%m%d}-{secrets.token_hex(4)}"


def resolve_units(
    spec: ScenarioSpec, chosen: dict[str, Unit | None] | None, director: Unit
) -> tuple[dict[str, Unit], dict[str, list[str]]]:
    """Each scenario unit key → a unit of the tree: the one chosen, else the active unit
    with the scenario's name. Every unit must lie within the directing unit's tree."""
    chosen = chosen or {}
    found: dict[str, Unit] = {}
    errors: dict[str, list[str]] = {}
    for key, unit_spec in spec.units.items():
        unit = chosen.get(key) or Unit.objects.filter(name=unit_spec.name, is_active=True).first()
        field = f"units.{key}"
        if unit is None:
            errors[field] = [
                f"想定中的单位“{key}”（{unit_spec.name}）在组织机构中不存在，请指定对应的单位"
            ]
        elif not unit.path.startswith(director.path):
            errors[field] = [f"{unit.name}不在导调单位{director.name}的管辖范围内"]
        else:
            found[key] = unit
    return found, errors


@transaction.atomic
def prepare_run(
    principal: Principal,
    *,
    slug: str,
    unit: Unit,
    speed: float,
    units: dict[str, Unit | None] | None = None,
) -> DrillRun:
    """A run of a scenario, directed by `unit`: units mapped, injections listed, not yet
    started. `speed` 1 runs in real time, 10 ten times as fast."""
    _require_director(principal, unit)
    text = scenario_source(slug)
    if text is None:
        raise ValidationError({"scenario": [f"想定“{slug}”不存在"]})
    spec = check_scenario(text)
    mapped, errors = resolve_units(spec, units, unit)
    try:
        speed = float(speed)
    except (TypeError, ValueError):
        errors["speed"] = ["时钟倍速应为数字"]
    else:
        if not 0 < speed <= MAX_SPEED:
            errors["speed"] = [f"时钟倍速应大于 0、不超过 {MAX_SPEED}"]
    if errors:
        raise ValidationError(errors)
    run = DrillRun.objects.create(
        tag=_new_tag(),
        scenario_slug=slug,
        title=spec.title,
        source=text,
        speed=speed,
        unit=unit,
        created_by=_person(principal),
        created_at=clock.now(),
    )
    Participant.objects.bulk_create(
        Participant(
            run=run, key=key, unit=mapped[key], simulated=spec.units[key].role == "simulated"
        )
        for key in spec.units
    )
    Injection.objects.bulk_create(
        Injection(run=run, key=i.id, position=n, kind=i.kind, at_minutes=i.at)
        for n, i in enumerate(sorted(spec.injections, key=lambda i: i.at))
    )
    audit_change(
        principal,
        "drills.run.prepare",
        run,
        after={
            **snapshot(run, exclude=("source", "results")),
            "units": {k: u.pk for k, u in mapped.items()},
        },
    )
    return run


def _lock(run: DrillRun) -> DrillRun:
    return DrillRun.objects.select_for_update().select_related("unit").get(pk=run.pk)


def _tell_participants(run: DrillRun, subject: str, body: str, suffix: str) -> None:
    people = Person.objects.filter(
        memberships__unit__in=run.participants.filter(simulated=False).values("unit"),
        memberships__role__in=TOLD_ROLES,
        is_active=True,
    ).distinct()
    notify_people(
        people,
        subject=subject,
        body=body,
        key=f"drill:{run.tag}:{suffix}",
        link=reverse("drill-run", args=[run.pk]),
        ref=f"drill:{run.pk}",
        is_drill=True,
        drill_tag=run.tag,
    )


@transaction.atomic
def start_run(principal: Principal, run: DrillRun) -> DrillRun:
    """Start the clock: every injection gets its real due time (start + at ÷ speed)."""
    run = _lock(run)
    _require_director(principal, run.unit)
    if run.state != RunState.PREPARED:
        raise ValidationError({"state": [f"演练{run.get_state_display()}，不能开始"]})
    before = snapshot(run, exclude=("source", "results"))
    run.state, run.started_at = RunState.RUNNING, clock.now()
    run.save(update_fields=["state", "started_at"])
    rows = list(run.injections.all())
    for row in rows:
        row.due_at = drilltime.real_at(run, row.at_minutes)
    Injection.objects.bulk_update(rows, ["due_at"])
    spec = check_scenario(run.source)
    speed = "实时" if run.speed == 1 else f"加速 ×{run.speed:g}"
    _tell_participants(
        run,
        f"演练开始：{run.title}",
        f"{run.unit.name}组织的演练现在开始（时钟{speed}，演练时长 {spec.duration:g} 分钟）。"
        "演练期间的报告、通知均带【演练】字样，不计入实际统计。",
        "start",
    )
    audit_change(
        principal,
        "drills.run.start",
        run,
        before=before,
        after=snapshot(run, exclude=("source", "results")),
    )
    return run


def advance_all() -> int:
    """One step of the worker's loop: each running drill makes its due injections, and
    ends when its duration has passed. Returns how many injections were made."""
    handled = 0
    for run in DrillRun.objects.filter(state=RunState.RUNNING).select_related("unit"):
        handled += advance(run)
    return handled


def advance(run: DrillRun) -> int:
    """Make the run's due injections, oldest first, each once: claimed with a row lock
    (SKIP LOCKED: a second worker takes the next one, never the same), made and marked
    done in one transaction. An injection the data of the tree cannot take (a unit gone,
    a category removed) is marked failed with the reason, shown to the directors, and the
    drill goes on; any other error rolls the step back, to be tried again."""
    spec = check_scenario(run.source)
    units = selectors.participants(run)
    handled = 0
    while True:
        with transaction.atomic():
            row = (
                Injection.objects.select_for_update(skip_locked=True)
                .filter(
                    run=run,
                    run__state=RunState.RUNNING,
                    done_at__isnull=True,
                    due_at__lte=clock.now(),
                )
                .order_by("due_at", "position")
                .first()
            )
            if row is None:
                break
            try:
                with transaction.atomic():
                    outcome, note = injections.perform(run, row, spec, units)
                failed = False
            except (
                ValidationError,
                PermissionDenied,
                ObjectDoesNotExist,
                LookupError,
                ValueError,
            ) as exc:
                messages = getattr(exc, "messages", None) or [str(exc)]
                outcome, note, failed = {}, f"注入失败：{'；'.join(messages)}"[:500], True
            Injection.objects.filter(pk=row.pk, done_at__isnull=True).update(
                done_at=clock.now(), outcome=outcome, note=note[:500], failed=failed
            )
        handled += 1
    if spec.duration <= drilltime.minutes(run) and run.state == RunState.RUNNING:
        end_run(None, run, note="演练时间到")
    return handled


@transaction.atomic
def end_run(principal: Principal | None, run: DrillRun, *, note: str = "") -> DrillRun:
    """End a running drill (by a director, or the loop when its time is up): the score
    table and the timeline are frozen; injections not yet made are dropped; what the
    drill's units still owe is closed as not done, and its open responses end, so nothing
    chases drill work afterwards. Real data is untouched."""
    run = _lock(run)
    if principal is not None:
        _require_director(principal, run.unit)
    if run.state != RunState.RUNNING:
        raise ValidationError({"state": [f"演练{run.get_state_display()}，不能结束"]})
    before = snapshot(run, exclude=("source", "results"))
    moment = clock.now()
    note = (note or "导调人员结束演练").strip()[:200]
    run.injections.filter(done_at__isnull=True).update(
        done_at=moment, note="演练结束，未注入", failed=False
    )
    run.state, run.ended_at, run.end_note = RunState.ENDED, moment, note
    spec = check_scenario(run.source)
    units = selectors.participants(run)
    results = scoring.evaluate(run, spec, units)
    run.results = {**results.as_json(), "timeline": selectors.timeline(run)}
    run.save(update_fields=["state", "ended_at", "end_note", "results"])
    closing = f"演练结束（{note}）"
    escalation_services.close_drill(run.tag, closing)
    response_services.close_drill(run.tag, closing)
    _tell_participants(run, f"演练结束：{run.title}", f"演练已结束（{note}）。", "end")
    audit_change(
        principal,
        "drills.run.end",
        run,
        before=before,
        after={
            **snapshot(run, exclude=("source", "results")),
            "scores": results.as_json()["units"],
        },
    )
    return run


@transaction.atomic
def purge_run(principal: Principal, run: DrillRun) -> DrillRun:
    """Delete an ended drill's data from every app, highest first (releases, warnings,
    posts and topics before the events they hang on; notifications last). The frozen
    results, the report and the improvement items stay; so does the audit chain."""
    run = _lock(run)
    _require_director(principal, run.unit)
    if run.state != RunState.ENDED:
        raise ValidationError({"state": ["只有已结束的演练可以清除演练数据"]})
    tag = run.tag
    counts: dict[str, Any] = {}
    counts.update(opinion_services.purge_drill(tag))
    counts["warnings"] = alert_services.purge_drill(tag)
    counts["releases"] = release_services.purge_drill(tag)
    counts.update(event_services.purge_drill(tag))
    counts["messages"] = notify_services.purge_drill(tag)
    before = snapshot(run, exclude=("source", "results"))
    run.state, run.purged_at, run.purged = RunState.PURGED, clock.now(), counts
    run.save(update_fields=["state", "purged_at", "purged"])
    audit_change(principal, "drills.run.purge", run, before=before, after={"purged": counts})
    return run


# --- a drill's drafts (calls taken down, clues) ------------------------------------------------


@transaction.atomic
def confirm_draft(
    principal: Principal, run: DrillRun, report: Report, data: dict[str, Any]
) -> event_services.FilingResult:
    """A duty officer takes down a drill call or confirms a drill clue: the draft is
    completed with `data` and filed, like any channel's draft (intake's own rules)."""
    if report.drill_tag != run.tag or not report.is_drill:
        raise PermissionDenied("该草稿不属于本次演练")
    if run.state != RunState.RUNNING:
        raise ValidationError({"state": ["演练未在进行中"]})
    return intake_services.confirm_intake_draft(principal, report, data)


# --- improvement items ----------------------------------------------------------------------


def _check_due(due_at: datetime | None, errors: dict[str, list[str]]) -> None:
    if due_at is None:
        errors["due_at"] = ["整改时限为必填项"]
    elif due_at <= clock.now():
        errors["due_at"] = ["整改时限须晚于当前时间"]


@transaction.atomic
def create_improvement(
    principal: Principal,
    run: DrillRun,
    *,
    unit: Unit | None,
    title: str,
    detail: str = "",
    due_at: datetime | None,
    source: str = "",
) -> tuple[Improvement, bool]:
    """An improvement item (整改事项) for one unit, from a finding of the drill or added
    by a director; the unit is told through the outbox (a real notification: the
    rectification is real work). One item per finding and unit: again returns it (False)."""
    _require_director(principal, run.unit)
    errors: dict[str, list[str]] = {}
    if run.state not in (RunState.ENDED, RunState.PURGED):
        errors["state"] = ["演练结束后才能提出整改事项"]
    if unit is None:
        errors["unit"] = ["整改单位为必填项"]
    elif not run.participants.filter(unit=unit).exists():
        errors["unit"] = [f"{unit.name}未参加本次演练"]
    title = (title or "").strip()
    if not title:
        errors["title"] = ["整改事项为必填项"]
    elif len(title) > 200:
        errors["title"] = ["整改事项不超过 200 字"]
    _check_due(due_at, errors)
    if errors:
        raise ValidationError(errors)
    if source:
        existing = Improvement.objects.filter(run=run, unit=unit, source=source).first()
        if existing is not None:
            return existing, False
    item = Improvement.objects.create(
        run=run,
        unit=unit,
        source=source[:40],
        title=title,
        detail=(detail or "").strip(),
        due_at=due_at,
        created_by=_person(principal),
        created_at=clock.now(),
    )
    people = Person.objects.filter(
        memberships__unit=unit,
        memberships__role__in=(Role.REPORTER, Role.UNIT_LEADER, Role.DUTY_OFFICER),
        is_active=True,
    ).distinct()
    notify_people(
        people,
        subject=f"演练整改事项：{title}",
        body=f"{run.title}提出的整改事项，请于{timezone.localtime(due_at):%Y年%m月%d日}前完成并填写整改情况。"
        + (f"\n{item.detail}" if item.detail else ""),
        key=f"drill-improvement:{item.pk}",
        link=reverse("drill-improvements"),
        ref=f"drills.improvement:{item.pk}",
    )
    audit_change(principal, "drills.improvement.create", item, after=snapshot(item))
    return item, True


@transaction.atomic
def complete_improvement(principal: Principal, item: Improvement, note: str) -> Improvement:
    item = (
        Improvement.objects.select_for_update().select_related("run", "run__unit").get(pk=item.pk)
    )
    if item.state != ImprovementState.OPEN:
        raise ValidationError({"state": ["该整改事项已完成"]})
    if not selectors.may_complete(principal, item):
        raise PermissionDenied("只有整改单位或演练导调单位可以填写整改情况")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": ["请填写整改情况"]})
    before = snapshot(item)
    item.state, item.done_at, item.done_note = ImprovementState.DONE, clock.now(), note
    item.done_by = _person(principal)
    item.save(update_fields=["state", "done_at", "done_note", "done_by"])
    audit_change(
        principal, "drills.improvement.complete", item, before=before, after=snapshot(item)
    )
    return item


def default_due() -> datetime:
    """Thirty days from now: the usual time given for rectification."""
    return clock.now() + timedelta(days=30)
