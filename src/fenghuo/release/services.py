"""Every write of public information release: drafting, review, publication, updates.

    draft ──submit──▶ pending ──approve──▶ approved ──publish──▶ published
                         │                    │
                         └──────reject────────┴──▶ rejected (kept, with the reason)

A returned version stays as it was; its author revises it as a new version. An update of
a published release is a new version whose draft starts from the published text. Every
step is audited and written on the event's timeline (信息发布), inside one transaction;
the people who must act next are notified through the outbox in that same transaction.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse

from fenghuo.core import clock
from fenghuo.core.services import audit_change, audit_record, snapshot
from fenghuo.events.models import Event, TimelineEntry, TimelineKind
from fenghuo.events.selectors import events_visible
from fenghuo.notify.services import DRILL_PREFIX, notify_people
from fenghuo.org.models import Person, Unit
from fenghuo.org.policy import Principal
from fenghuo.release import selectors
from fenghuo.release.models import Release, ReleaseVersion, VersionState

# The text of a version, in the order of the form.
CONTENT_FIELDS = (
    "title",
    "occurred_at",
    "place",
    "cause",
    "overview",
    "impact",
    "measures",
    "advice",
    "contact",
)
# What a release must say before it is reviewed (the seed's 发布内容: 概况 — time, place,
# cause as known —, 影响范围, 应对措施, 防范建议), plus a title and a contact. The cause may
# still be unknown: the text then says it is under investigation. Override with
# settings.FENGHUO_RELEASE_REQUIRED_FIELDS.
REQUIRED_FIELDS = (
    "title",
    "occurred_at",
    "place",
    "overview",
    "impact",
    "measures",
    "advice",
    "contact",
)
TEXT_LIMITS = {"title": 200, "place": 200, "contact": 200}
TEXT_MAX = 20_000  # any one part; WeChat's whole article body is 20,000 characters


def required_fields() -> tuple[str, ...]:
    return tuple(getattr(settings, "FENGHUO_RELEASE_REQUIRED_FIELDS", REQUIRED_FIELDS))


def _label(name: str) -> str:
    return str(ReleaseVersion._meta.get_field(name).verbose_name)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def value_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    """What is wrong with the values given, whatever the state (too long, in the future)."""
    errors: dict[str, list[str]] = {}
    for name, value in data.items():
        if isinstance(value, str):
            limit = TEXT_LIMITS.get(name, TEXT_MAX)
            if len(value) > limit:
                errors.setdefault(name, []).append(f"{_label(name)}不能超过 {limit} 字")
    occurred = data.get("occurred_at")
    if occurred is not None and occurred > clock.now():
        errors.setdefault("occurred_at", []).append("发生时间不能晚于当前时间")
    return errors


def missing_parts(version: ReleaseVersion) -> dict[str, list[str]]:
    """One Chinese message per required part that is still empty."""
    return {
        name: [f"{_label(name)}为必填项"]
        for name in required_fields()
        if _blank(getattr(version, name))
    }


def validate_parts(version: ReleaseVersion) -> None:
    """Field-by-field errors for missing or wrong parts, all at once."""
    errors = missing_parts(version)
    for name, messages in value_errors(
        {name: getattr(version, name) for name in CONTENT_FIELDS}
    ).items():
        errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(CONTENT_FIELDS)
    if unknown:
        raise ValueError(f"not release fields: {sorted(unknown)}")
    cleaned = {}
    for name, value in data.items():
        if isinstance(value, str):
            value = value.strip()
        elif value is None and name != "occurred_at":
            value = ""  # text parts are empty strings, never NULL
        cleaned[name] = value
    errors = value_errors(cleaned)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _actor(principal: Principal) -> Person | None:
    if principal.person_id is None:
        return None
    return Person.objects.get(pk=principal.person_id)


def _timeline(release: Release, text: str, principal: Principal) -> None:
    TimelineEntry.objects.create(
        event=release.event,
        at=clock.now(),
        kind=TimelineKind.RELEASE,
        text=(DRILL_PREFIX if release.is_drill else "") + text,
        actor_name=str(principal),
    )


def staff_link(release: Release) -> str:
    return reverse("release-detail", args=[release.pk])


def _notify(
    people: list[Person], version: ReleaseVersion, step: str, subject: str, body: str
) -> None:
    release = version.release
    notify_people(
        people,
        subject=subject,
        body=body,
        key=f"release-version:{version.pk}:{step}",
        link=staff_link(release),
        ref=f"release:{release.pk}",
        is_drill=release.is_drill,
        drill_tag=release.event.drill_tag,
    )


def _people(*ids: int | None, leave_out: Principal) -> list[Person]:
    wanted = {i for i in ids if i is not None and i != leave_out.person_id}
    return list(Person.objects.filter(pk__in=wanted, is_active=True))


def _locked(version: ReleaseVersion) -> ReleaseVersion:
    """The version's row, locked for this transaction, so two reviewers never both act."""
    return (
        ReleaseVersion.objects.select_for_update()
        .select_related("release", "release__unit", "release__event")
        .get(pk=version.pk)
    )


def _require_state(version: ReleaseVersion, *states: str, doing: str) -> None:
    if version.state not in states:
        raise ValidationError(
            {"state": [f"该稿当前状态为「{version.get_state_display()}」，不能{doing}"]}
        )


def _require_drafter(principal: Principal, unit: Unit) -> None:
    if not selectors.may_draft(principal, unit):
        raise PermissionDenied(f"无权以{unit.name}的名义起草或修改信息发布")


def _require_approver(principal: Principal, release: Release, doing: str) -> None:
    if not selectors.may_approve(principal, release):
        raise PermissionDenied(f"无权{doing}：须由发布单位所属领导小组或宣传部门负责人审批")


def _name(version: ReleaseVersion) -> str:
    return f"《{version.title}》" if version.title else "（无标题）"


# --- drafting ----------------------------------------------------------------------------


@transaction.atomic
def create_release(
    principal: Principal,
    *,
    event: Event,
    unit: Unit,
    data: dict[str, Any],
    is_drill: bool = False,
) -> ReleaseVersion:
    """A new release of `unit` about `event`, with its first draft (any part may still be
    empty; the parts are required when the draft is submitted). A release about a drill
    event is a drill release, whatever the caller asked: it is never public."""
    if not events_visible(principal).filter(pk=event.pk).exists():
        raise PermissionDenied("事件不存在或无权访问")
    _require_drafter(principal, unit)
    cleaned = _clean(data)
    moment = clock.now()
    actor = _actor(principal)
    release = Release.objects.create(
        event=event,
        unit=unit,
        is_drill=is_drill or event.is_drill,
        created_by=actor,
        created_at=moment,
    )
    version = ReleaseVersion.objects.create(
        release=release, number=1, created_by=actor, created_at=moment, updated_at=moment, **cleaned
    )
    audit_change(principal, "release.create", release, after=snapshot(release))
    audit_change(principal, "release.version.create", version, after=snapshot(version))
    _timeline(release, f"{unit.name}起草信息发布稿{_name(version)}（第1稿）。", principal)
    return version


@transaction.atomic
def update_draft(
    principal: Principal, version: ReleaseVersion, data: dict[str, Any]
) -> ReleaseVersion:
    """Change the text of a draft (only a draft: a version under review is frozen)."""
    version = _locked(version)
    _require_drafter(principal, version.release.unit)
    _require_state(version, VersionState.DRAFT, doing="修改")
    cleaned = _clean(data)
    before = snapshot(version)
    for name, value in cleaned.items():
        setattr(version, name, value)
    version.updated_at = clock.now()
    version.save()
    audit_change(
        principal, "release.version.update", version, before=before, after=snapshot(version)
    )
    return version


@transaction.atomic
def new_version(
    principal: Principal, release: Release, *, based_on: ReleaseVersion | None = None
) -> ReleaseVersion:
    """A new draft of `release`: an update starts from the published text; a returned
    version is revised from its own text (`based_on`)."""
    release = Release.objects.select_for_update().select_related("unit", "event").get(pk=release.pk)
    _require_drafter(principal, release.unit)
    busy = selectors.open_version(release)
    if busy is not None:
        raise ValidationError(
            {
                "__all__": [
                    f"本发布已有未完成的{busy.label}（{busy.get_state_display()}），请先处理该稿"
                ]
            }
        )
    if based_on is None:
        based_on = release.current or release.versions.order_by("-number").first()
    else:  # as stored now, not as the caller last saw it
        based_on = release.versions.filter(
            pk=based_on.pk, state__in=[VersionState.PUBLISHED, VersionState.REJECTED]
        ).first()
        if based_on is None:
            raise ValidationError({"based_on": ["只能据本发布已发布或已退回的稿件修改"]})
    moment = clock.now()
    number = (release.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = ReleaseVersion.objects.create(
        release=release,
        number=number,
        based_on=based_on,
        created_by=_actor(principal),
        created_at=moment,
        updated_at=moment,
        **({name: getattr(based_on, name) for name in CONTENT_FIELDS} if based_on else {}),
    )
    audit_change(principal, "release.version.create", version, after=snapshot(version))
    basis = f"，据{based_on.label}修改" if based_on else ""
    kind = "更新稿" if release.current_id else "修改稿"
    _timeline(release, f"起草信息发布{kind}{_name(version)}（第{number}稿{basis}）。", principal)
    return version


# --- review and publication ----------------------------------------------------------------


@transaction.atomic
def submit(principal: Principal, version: ReleaseVersion) -> ReleaseVersion:
    """送审: the parts must all be there; the approvers are notified."""
    version = _locked(version)
    release = version.release
    _require_drafter(principal, release.unit)
    _require_state(version, VersionState.DRAFT, doing="送审")
    validate_parts(version)
    before = snapshot(version)
    version.state = VersionState.PENDING
    version.submitted_by = _actor(principal)
    version.submitted_at = clock.now()
    version.review_note = ""
    version.save()
    audit_change(
        principal, "release.version.submit", version, before=before, after=snapshot(version)
    )
    _timeline(release, f"信息发布稿{_name(version)}（{version.label}）提交审核。", principal)
    _notify(
        [p for p in selectors.approvers_of(release) if p.pk != principal.person_id],
        version,
        "submitted",
        f"信息发布稿待审核：{version.title}",
        f"{release.unit.name}的信息发布稿{_name(version)}（{version.label}）已提交，请审核。",
    )
    return version


def _review_guard(principal: Principal, version: ReleaseVersion, doing: str) -> None:
    _require_approver(principal, version.release, doing)
    if principal.person_id is not None and principal.person_id in (
        version.created_by_id,
        version.submitted_by_id,
    ):
        raise PermissionDenied("不能审核本人起草或送审的稿件，请由其他有审批权限的人员审核")


@transaction.atomic
def approve(principal: Principal, version: ReleaseVersion, note: str = "") -> ReleaseVersion:
    version = _locked(version)
    _review_guard(principal, version, "批准信息发布")
    _require_state(version, VersionState.PENDING, doing="批准")
    validate_parts(version)
    before = snapshot(version)
    version.state = VersionState.APPROVED
    version.reviewed_by = _actor(principal)
    version.reviewed_at = clock.now()
    version.review_note = note.strip()
    version.save()
    audit_change(
        principal, "release.version.approve", version, before=before, after=snapshot(version)
    )
    _timeline(
        version.release, f"信息发布稿{_name(version)}（{version.label}）审核通过。", principal
    )
    _notify(
        _people(version.created_by_id, version.submitted_by_id, leave_out=principal),
        version,
        "approved",
        f"信息发布稿已批准：{version.title}",
        f"{_name(version)}（{version.label}）已由{principal}批准。{version.review_note}",
    )
    return version


@transaction.atomic
def reject(principal: Principal, version: ReleaseVersion, reason: str) -> ReleaseVersion:
    """退回 with a reason; the version is kept as it was, never published."""
    version = _locked(version)
    _review_guard(principal, version, "退回信息发布")
    _require_state(version, VersionState.PENDING, VersionState.APPROVED, doing="退回")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["退回理由为必填项"]})
    before = snapshot(version)
    version.state = VersionState.REJECTED
    version.reviewed_by = _actor(principal)
    version.reviewed_at = clock.now()
    version.review_note = reason
    version.save()
    audit_change(
        principal, "release.version.reject", version, before=before, after=snapshot(version)
    )
    _timeline(
        version.release, f"信息发布稿{_name(version)}（{version.label}）被退回：{reason}", principal
    )
    _notify(
        _people(version.created_by_id, version.submitted_by_id, leave_out=principal),
        version,
        "rejected",
        f"信息发布稿被退回：{version.title}",
        f"{_name(version)}（{version.label}）被{principal}退回。理由：{reason}",
    )
    return version


@transaction.atomic
def publish(principal: Principal, version: ReleaseVersion) -> ReleaseVersion:
    """发布: an approved version becomes the one the public sees; earlier published
    versions stay as its history."""
    version = _locked(version)
    release = Release.objects.select_for_update().get(pk=version.release_id)
    version.release = release
    _require_approver(principal, release, "发布信息")
    _require_state(version, VersionState.APPROVED, doing="发布")
    validate_parts(version)
    moment = clock.now()
    before_version, before_release = snapshot(version), snapshot(release)
    version.state = VersionState.PUBLISHED
    version.edition = (
        release.versions.filter(edition__isnull=False).aggregate(n=Max("edition"))["n"] or 0
    ) + 1
    version.published_by = _actor(principal)
    version.published_at = moment
    version.save()
    release.current = version
    release.first_published_at = release.first_published_at or moment
    release.last_published_at = moment
    release.save(update_fields=["current", "first_published_at", "last_published_at"])
    audit_change(
        principal,
        "release.version.publish",
        version,
        before=before_version,
        after=snapshot(version),
    )
    audit_change(
        principal, "release.publish", release, before=before_release, after=snapshot(release)
    )
    where = "（演练，不对外公开）" if release.is_drill else ""
    verb = "公开发布" if version.edition == 1 else "更新发布"
    _timeline(
        release,
        f"{verb}{_name(version)}（{release.unit.name}，{version.label}）{where}。",
        principal,
    )
    _notify(
        _people(version.created_by_id, version.submitted_by_id, leave_out=principal),
        version,
        "published",
        f"信息已发布：{version.title}",
        f"{_name(version)}（{version.label}）已由{principal}发布{where}。",
    )
    return version


@transaction.atomic
def approve_and_publish(
    principal: Principal, version: ReleaseVersion, note: str = ""
) -> ReleaseVersion:
    """Both steps at once, for the reviewer who is also the one to publish."""
    return publish(principal, approve(principal, version, note))


def events_merged(source: Event, target: Event, principal: Principal) -> None:
    """A merged event's releases go with its reports to the event it was merged into
    (inside the merge's transaction, before `source` is deleted)."""
    moved = list(Release.objects.filter(event=source).values_list("pk", flat=True))
    if not moved:
        return
    Release.objects.filter(pk__in=moved).update(event=target)
    for pk in moved:
        audit_record(
            actor=principal,
            action="release.move",
            object_type="release.release",
            object_id=pk,
            before={"event": source.pk},
            after={"event": target.pk},
        )


# --- drill data ------------------------------------------------------------------------------


@transaction.atomic
def purge_drill(drill_tag: str) -> int:
    """Delete the releases about a drill run's events and their versions (its purge)."""
    if not drill_tag:
        raise ValueError("purge_drill needs a drill tag")
    releases = Release.objects.filter(event__drill_tag=drill_tag, event__is_drill=True)
    count = releases.count()
    releases.update(current=None)  # the current version protects itself
    ReleaseVersion.objects.filter(release__in=releases).update(based_on=None)
    ReleaseVersion.objects.filter(release__in=releases).delete()
    releases.delete()
    return count
