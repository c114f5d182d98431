"""Every write to events and reports: filing, matching, merging, splitting, lifecycle."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from fenghuo.core import clock
from fenghuo.core.services import audit_record, snapshot
from fenghuo.events import matching
from fenghuo.events.models import (
    Event,
    EventStatus,
    MergeCandidate,
    Report,
    ReportKind,
    ReportStatus,
    TimelineEntry,
    TimelineKind,
)
from fenghuo.events.selectors import event_facts_for_matching, report_facts
from fenghuo.org.models import Role, Unit
from fenghuo.org.policy import Principal

# Which fields each kind of report must carry. A first report may leave the cause for
# later (先报基本情况); a final report must give cause, handling summary and after-care.
# Override with settings.FENGHUO_REPORT_REQUIRED_FIELDS.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    ReportKind.FIRST: ("title", "category", "occurred_at", "division_code", "place", "narrative"),
    ReportKind.FOLLOWUP: ("narrative",),
    ReportKind.FINAL: ("narrative", "cause", "handling_summary", "aftercare"),
    ReportKind.SUPPLEMENT: ("narrative",),
}
# 补报: casualty changes after the fact are accepted within these days of the event.
SUPPLEMENT_DAYS = 30
SUPPLEMENT_DAYS_SHORT = 7
SUPPLEMENT_SHORT_CATEGORIES = ("road_traffic", "fire")

INHERITED_FIELDS = (
    "title",
    "category",
    "occurred_at",
    "division_code",
    "place",
    "latitude",
    "longitude",
)
DATA_FIELDS = (
    "title",
    "category",
    "occurred_at",
    "division_code",
    "place",
    "latitude",
    "longitude",
    "subjects",
    "narrative",
    "cause",
    "dead",
    "missing",
    "seriously_injured",
    "injured",
    "economic_loss",
    "affected",
    "evacuated",
    "measures",
    "next_steps",
    "handling_summary",
    "aftercare",
    "source",
    "reliability",
    "confidentiality",
    "is_urgent",
)

# Event lifecycle: from → {to: roles permitted}.
LEADERS = (Role.UNIT_LEADER, Role.GROUP_LEADER, Role.GROUP_DEPUTY, Role.GROUP_OFFICE)
TRANSITIONS: dict[str, dict[str, tuple[str, ...]]] = {
    EventStatus.NEW: {
        EventStatus.VERIFYING: (Role.DUTY_OFFICER,),
        EventStatus.VERIFIED: (Role.DUTY_OFFICER,),
        EventStatus.FALSE: (Role.DUTY_OFFICER,),
        EventStatus.HANDLING: (Role.DUTY_OFFICER, *LEADERS),
    },
    EventStatus.VERIFYING: {
        EventStatus.VERIFIED: (Role.DUTY_OFFICER,),
        EventStatus.FALSE: (Role.DUTY_OFFICER,),
    },
    EventStatus.VERIFIED: {EventStatus.HANDLING: (Role.DUTY_OFFICER, *LEADERS)},
    EventStatus.HANDLING: {EventStatus.ENDED: LEADERS},
    EventStatus.ENDED: {EventStatus.ARCHIVED: (Role.DUTY_OFFICER,)},
    EventStatus.FALSE: {EventStatus.ARCHIVED: (Role.DUTY_OFFICER,)},
}


@dataclass(frozen=True)
class FilingResult:
    report: Report
    event: Event
    outcome: str  # "new_event" | "joined" | "review" | "followup"
    score: float = 0.0


def required_fields(kind: str) -> tuple[str, ...]:
    configured = getattr(settings, "FENGHUO_REPORT_REQUIRED_FIELDS", {})
    return tuple(configured.get(kind, REQUIRED_FIELDS[kind]))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_report(report: Report) -> None:
    """Field-by-field errors, in Chinese, naming every missing or wrong field at once."""
    errors: dict[str, list[str]] = {}
    for name in required_fields(report.kind):
        if _blank(getattr(report, name if name != "category" else "category_id")):
            label = Report._meta.get_field(name).verbose_name
            errors.setdefault(name, []).append(f"{label}为必填项")
    if report.kind != ReportKind.FIRST and report.event_id is None:
        errors.setdefault("event", []).append("续报、终报和补报必须指明所属事件")
    moment = clock.now()
    if report.occurred_at and report.occurred_at > moment + timedelta(minutes=5):
        errors.setdefault("occurred_at", []).append("发生时间不能晚于当前时间")
    if report.kind == ReportKind.SUPPLEMENT and report.occurred_at:
        days = (
            SUPPLEMENT_DAYS_SHORT
            if report.category_id and report.category.code in SUPPLEMENT_SHORT_CATEGORIES
            else SUPPLEMENT_DAYS
        )
        if moment - report.occurred_at > timedelta(days=days):
            errors.setdefault("kind", []).append(f"补报须在事件发生后 {days} 日内提出")
    try:
        report.full_clean(exclude=["event", "previous", "created_by", *errors.keys()])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _may_report_for(principal: Principal, unit: Unit) -> bool:
    """Reporters file for their own unit; a duty officer records phone reports for units
    below their office (报告 on a caller's behalf)."""
    return any(
        (g.unit_id == unit.pk and g.role in (Role.REPORTER, Role.UNIT_LEADER, Role.DUTY_OFFICER))
        or (g.role == Role.DUTY_OFFICER and unit.path.startswith(g.unit_path))
        for g in principal.grants
    )


def _timeline(event: Event, kind: str, text: str, principal: Any, report: Report | None = None):
    return TimelineEntry.objects.create(
        event=event,
        at=clock.now(),
        kind=kind,
        text=text,
        actor_name=str(principal) if principal is not None else "系统",
        report=report,
    )


def _new_event_from(report: Report) -> Event:
    return Event.objects.create(
        title=report.title,
        category=report.category,
        occurred_at=report.occurred_at,
        division_code=report.division_code,
        place=report.place,
        latitude=report.latitude,
        longitude=report.longitude,
        first_reported_at=report.received_at,
    )


@transaction.atomic
def file_report(
    principal: Principal,
    *,
    unit: Unit,
    kind: str,
    channel: str,
    data: dict[str, Any],
    event: Event | None = None,
    received_at: datetime | None = None,
    draft: bool = False,
    caller_name: str = "",
    caller_phone: str = "",
) -> FilingResult:
    """File one report: validate, store, attach to an event (matching a first report
    against open events), write the timeline and the audit chain — all or nothing."""
    if not _may_report_for(principal, unit):
        raise PermissionDenied("无权以该单位名义报送")
    moment = clock.now()
    report = Report(
        kind=kind,
        unit=unit,
        channel=channel,
        created_by_id=principal.person_id,
        received_at=received_at or moment,
        status=ReportStatus.DRAFT if draft else ReportStatus.SUBMITTED,
        caller_name=caller_name,
        caller_phone=caller_phone,
    )
    for name in DATA_FIELDS:
        if name in data and data[name] is not None:
            setattr(report, name, data[name])
    if event is not None:
        report.event = event
        for name in INHERITED_FIELDS:
            if _blank(getattr(report, name if name != "category" else "category_id", None)):
                setattr(report, name, getattr(event, name))
        _number_in_chain(report)
    if not draft:
        validate_report(report)
    report.submitted_at = None if draft else moment
    report.save()

    if draft:
        outcome, score = "draft", 0.0
    elif event is not None:
        outcome, score = "followup", 1.0
    else:
        outcome, score, event = _attach_by_matching(report)
    if event is not None:
        report.event = event
        report.save(update_fields=["event"])
        _timeline(
            event,
            TimelineKind.REPORT,
            f"{unit.name}{report.kind_label}（{report.get_channel_display()}）：{report.title}",
            principal,
            report,
        )
    audit_record(
        actor=principal,
        action=f"events.report.{'draft' if draft else 'file'}",
        object_type="events.report",
        object_id=report.pk,
        after=snapshot(report),
    )
    return FilingResult(report, event, outcome, score)


def _number_in_chain(report: Report) -> None:
    """Link to the unit's previous report on the event and number follow-ups 一, 二 …"""
    earlier = Report.objects.filter(
        event=report.event, unit=report.unit, status=ReportStatus.SUBMITTED
    ).order_by("-received_at", "-pk")
    report.previous = earlier.first()
    if report.kind == ReportKind.FOLLOWUP:
        report.sequence = earlier.filter(kind=ReportKind.FOLLOWUP).count() + 1


def _attach_by_matching(report: Report) -> tuple[str, float, Event]:
    candidates = event_facts_for_matching(report.occurred_at, report.category.top.pk)
    best_id, best = matching.best_match(report_facts(report), candidates)
    if best_id is not None and best.value >= matching.JOIN_THRESHOLD:
        return "joined", best.value, Event.objects.get(pk=best_id)
    event = _new_event_from(report)
    if best_id is not None and best.value >= matching.REVIEW_THRESHOLD:
        MergeCandidate.objects.create(
            report=report, candidate_id=best_id, score=best.value, reasons=list(best.reasons)
        )
        return "review", best.value, event
    return "new_event", best.value, event


def _event_roles(principal: Principal, event: Event) -> set[str]:
    """Roles the principal holds in offices at or above a unit that reported the event."""
    paths = list(event.reports.values_list("unit__path", flat=True))
    return {g.role for g in principal.grants if any(path.startswith(g.unit_path) for path in paths)}


def require_event_role(principal: Principal, event: Event, roles: tuple[str, ...]) -> None:
    if principal.is_superuser:
        return
    if not _event_roles(principal, event) & set(roles):
        raise PermissionDenied("无权对该事件执行此操作")


@transaction.atomic
def change_status(principal: Principal, event: Event, to: str, note: str = "") -> Event:
    allowed = TRANSITIONS.get(event.status, {})
    if to not in allowed:
        raise ValidationError(
            {"status": [f"不能从「{event.get_status_display()}」变更为「{EventStatus(to).label}」"]}
        )
    require_event_role(principal, event, allowed[to])
    before = snapshot(event)
    previous_label = event.get_status_display()
    event.status = to
    event.save(update_fields=["status", "updated_at"])
    text = f"状态：{previous_label} → {event.get_status_display()}"
    _timeline(event, TimelineKind.STATUS, f"{text}。{note}" if note else text, principal)
    audit_record(
        actor=principal,
        action="events.event.status",
        object_type="events.event",
        object_id=event.pk,
        before=before,
        after=snapshot(event),
    )
    return event


@transaction.atomic
def merge_events(principal: Principal, *, source: Event, target: Event, note: str = "") -> Event:
    """Move every report of `source` into `target`; `source` is deleted, the trail kept."""
    if source.pk == target.pk:
        raise ValidationError({"target": ["不能与自身合并"]})
    for event in (source, target):
        require_event_role(principal, event, (Role.DUTY_OFFICER,))
    moved = list(source.reports.values_list("pk", flat=True))
    source.reports.update(event=target)
    TimelineEntry.objects.filter(event=source).update(event=target)
    MergeCandidate.objects.filter(candidate=source).delete()
    MergeCandidate.objects.filter(report_id__in=moved, candidate=target).update(
        decision=MergeCandidate.Decision.MERGED, decided_at=clock.now()
    )
    if source.occurred_at < target.occurred_at:
        target.occurred_at = source.occurred_at
    target.first_reported_at = min(target.first_reported_at, source.first_reported_at)
    target.save()
    before = snapshot(source)
    source_id, source_title = source.pk, source.title
    source.delete()
    _timeline(
        target,
        TimelineKind.MERGE,
        f"合并事件「{source_title}」（{len(moved)} 份报告）。{note}".rstrip(),
        principal,
    )
    audit_record(
        actor=principal,
        action="events.event.merge",
        object_type="events.event",
        object_id=target.pk,
        before={"merged_event": before, "reports": moved},
        after={"into": target.pk, "from": source_id},
    )
    return target


@transaction.atomic
def split_reports(
    principal: Principal, *, event: Event, reports: list[Report], note: str = ""
) -> Event:
    """Move `reports` (and the follow-ups chained to them) out into a new event."""
    require_event_role(principal, event, (Role.DUTY_OFFICER,))
    ids = {r.pk for r in reports if r.event_id == event.pk}
    if not ids:
        raise ValidationError({"reports": ["请选择要拆分出的报告"]})
    if ids >= set(event.reports.values_list("pk", flat=True)):
        raise ValidationError({"reports": ["不能拆出全部报告"]})
    first = Report.objects.filter(pk__in=ids).order_by("received_at", "pk").first()
    new_event = _new_event_from(first)
    Report.objects.filter(pk__in=ids).update(event=new_event)
    text = f"拆分出 {len(ids)} 份报告，另立事件。{note}".rstrip()
    _timeline(event, TimelineKind.MERGE, text, principal)
    _timeline(new_event, TimelineKind.MERGE, f"由事件「{event.title}」拆分而来。", principal)
    audit_record(
        actor=principal,
        action="events.event.split",
        object_type="events.event",
        object_id=event.pk,
        before={"reports": sorted(ids)},
        after={"new_event": new_event.pk},
    )
    return new_event


@transaction.atomic
def decide_merge_candidate(
    principal: Principal, candidate: MergeCandidate, *, same_event: bool
) -> MergeCandidate:
    """The duty officer's answer to "可能是同一事件"."""
    if candidate.decision != MergeCandidate.Decision.PENDING:
        return candidate
    report_event = candidate.report.event
    if same_event and report_event is not None and report_event.pk != candidate.candidate_id:
        if report_event.reports.count() == 1:
            merge_events(principal, source=report_event, target=candidate.candidate)
        else:
            candidate.report.event = candidate.candidate
            candidate.report.save(update_fields=["event"])
    else:
        require_event_role(principal, candidate.candidate, (Role.DUTY_OFFICER,))
    candidate.refresh_from_db()
    candidate.decision = (
        MergeCandidate.Decision.MERGED if same_event else MergeCandidate.Decision.SEPARATE
    )
    candidate.decided_at = clock.now()
    candidate.save(update_fields=["decision", "decided_at"])
    return candidate
