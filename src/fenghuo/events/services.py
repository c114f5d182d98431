"""Every write to events and reports: filing, matching, merging, splitting, lifecycle."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Count, Q, Window
from django.utils import timezone

from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from fenghuo.core.services import audit_change, audit_record, snapshot
from fenghuo.criteria.models import FactorKind
from fenghuo.events import attachments, matching, signals
from fenghuo.events.models import (
    FIGURES,
    Attachment,
    Consultation,
    ConsultationAnswer,
    Event,
    EventStatus,
    MergeCandidate,
    Report,
    ReportKind,
    ReportStatus,
    TimelineEntry,
    TimelineKind,
    VerificationTask,
)
from fenghuo.events.search import index_report, unindex_reports
from fenghuo.events.selectors import ANSWERING_ROLES, event_facts_for_matching, report_facts
from fenghuo.org.models import Expert, Membership, Person, Role, Unit
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
    "flags",
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
    known = report.kind in ReportKind.values
    if not known:
        choices = "、".join(f"{value}（{label}）" for value, label in ReportKind.choices)
        errors["kind"] = [f"报告类型应为 {choices} 之一"]
    for name in required_fields(report.kind) if known else ():
        if _blank(getattr(report, name if name != "category" else "category_id")):
            label = Report._meta.get_field(name).verbose_name
            errors.setdefault(name, []).append(f"{label}为必填项")
    if report.kind != ReportKind.FIRST and report.event_id is None:
        errors.setdefault("event", []).append("续报、终报和补报必须指明所属事件")
    moment = clock.now()
    if report.occurred_at and report.occurred_at > moment + timedelta(minutes=5):
        errors.setdefault("occurred_at", []).append("发生时间不能晚于当前时间")
    unknown = [f for f in report.flags or () if f not in FactorKind.values]
    if not isinstance(report.flags, list) or unknown:
        allowed = "、".join(f"{k.value}（{k.label}）" for k in FactorKind)
        errors.setdefault("flags", []).append(f"报送人标注只能是：{allowed}")
    if report.kind == ReportKind.SUPPLEMENT and report.occurred_at:
        days = (
            SUPPLEMENT_DAYS_SHORT
            if report.category_id and report.category.code in SUPPLEMENT_SHORT_CATEGORIES
            else SUPPLEMENT_DAYS
        )
        if moment - report.occurred_at > timedelta(days=days):
            errors.setdefault("kind", []).append(f"补报须在事件发生后 {days} 日内提出")
    # A related row the caller already read (the reporting unit, the event's category)
    # exists: asking the database again cost a statement per field on every report.
    loaded = [
        name
        for name in ("unit", "category")
        if Report._meta.get_field(name).is_cached(report) and getattr(report, name) is not None
    ]
    try:
        report.full_clean(exclude=["event", "previous", "created_by", *loaded, *errors.keys()])
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


def neutral_event_title(report: Report) -> str:
    occurred = timezone.localtime(report.occurred_at)
    return f"{occurred.month}月{occurred.day}日{report.category.name}（敏感）"


def _new_event_from(report: Report) -> Event:
    """An event named after the report that opened it.

    Everyone who may see any report of an event sees the event's title and place, so an
    event opened by a 敏感 report gets a neutral title and no place: the sensitive words
    stay in the report, readable only with clearance.
    """
    sensitive = report.confidentiality >= Confidentiality.SENSITIVE
    return Event.objects.create(
        title=neutral_event_title(report) if sensitive else report.title,
        category=report.category,
        occurred_at=report.occurred_at,
        division_code=report.division_code,
        place="" if sensitive else report.place,
        latitude=report.latitude,
        longitude=report.longitude,
        first_reported_at=report.received_at,
        is_drill=report.is_drill,
        drill_tag=report.drill_tag,
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
    _fill(report, data, event)
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
    if event is not None and not draft:  # a draft enters the timeline when submitted
        if report.event_id != event.pk:  # matched to an event, not filed on one
            report.event = event
            report.save(update_fields=["event"])
        _timeline(
            event,
            TimelineKind.REPORT,
            f"{unit.name}{report.kind_label}（{report.get_channel_display()}）：{report.title}",
            principal,
            report,
        )
    index_report(report)
    audit_change(
        principal,
        f"events.report.{'draft' if draft else 'file'}",
        report,
        after=snapshot(report),
    )
    if not draft:
        signals.report_submitted.send(Report, report=report, event=event, principal=principal)
    return FilingResult(report, event, outcome, score)


def _fill(report: Report, data: dict[str, Any], event: Event | None) -> None:
    """Copy the given fields onto `report`; a report on an event takes what it leaves blank
    (title, place, time …) from the event and its place in the unit's chain of reports,
    and always the event's drill marks (a drill report never joins a real event)."""
    for name in DATA_FIELDS:
        if name in data and data[name] is not None:
            setattr(report, name, data[name])
    if "is_drill" in data or "drill_tag" in data:
        report.drill_tag = str(data.get("drill_tag") or "")[:40]
        report.is_drill = bool(data.get("is_drill")) or bool(report.drill_tag)
    if event is not None:
        report.is_drill, report.drill_tag = event.is_drill, event.drill_tag
        report.event = event
        for name in INHERITED_FIELDS:
            if _blank(getattr(report, name if name != "category" else "category_id", None)):
                setattr(report, name, getattr(event, name))
        _number_in_chain(report)


def _number_in_chain(report: Report) -> None:
    """Link to the unit's previous report on the event and number follow-ups 一, 二 …"""
    # The previous report and the count of follow-ups before it in one statement (the
    # window counts every row of the unit's chain, before the LIMIT).
    report.previous = (
        Report.objects.filter(event=report.event, unit=report.unit, status=ReportStatus.SUBMITTED)
        .annotate(followups_in_chain=Window(Count("pk", filter=Q(kind=ReportKind.FOLLOWUP))))
        .order_by("-received_at", "-pk")
        .first()
    )
    if report.kind == ReportKind.FOLLOWUP:
        report.sequence = (report.previous.followups_in_chain if report.previous else 0) + 1


def _attach_by_matching(report: Report) -> tuple[str, float, Event]:
    candidates = event_facts_for_matching(report.occurred_at, report.category.top.pk, like=report)
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
    if to not in EventStatus.values:
        raise ValidationError({"status": [f"未知的状态：{to}"]})
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
    audit_change(
        principal,
        "events.event.status",
        event,
        before=before,
        after=snapshot(event),
    )
    return event


@transaction.atomic
def merge_events(principal: Principal, *, source: Event, target: Event, note: str = "") -> Event:
    """Move every report of `source` into `target`; `source` is deleted, the trail kept."""
    if source.pk == target.pk:
        raise ValidationError({"target": ["不能与自身合并"]})
    if (source.is_drill, source.drill_tag) != (target.is_drill, target.drill_tag):
        raise ValidationError({"target": ["演练事件只能与同一次演练的事件合并"]})
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
    # Before the delete, so receivers can move their rows (obligations …) to the target.
    signals.events_merged.send(Event, source=source, target=target, principal=principal)
    source.delete()
    _timeline(
        target,
        TimelineKind.MERGE,
        f"合并事件「{source_title}」（{len(moved)} 份报告）。{note}".rstrip(),
        principal,
    )
    audit_change(
        principal,
        "events.event.merge",
        target,
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
    audit_change(
        principal,
        "events.event.split",
        event,
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
    # Both events are changed (or judged): the officer must hold the role over each.
    require_event_role(principal, candidate.candidate, (Role.DUTY_OFFICER,))
    if report_event is not None:
        require_event_role(principal, report_event, (Role.DUTY_OFFICER,))
    if same_event and report_event is not None and report_event.pk != candidate.candidate_id:
        if report_event.reports.count() == 1:
            merge_events(principal, source=report_event, target=candidate.candidate)
        else:
            report = candidate.report
            report.event = candidate.candidate
            report.save(update_fields=["event"])
            _timeline(
                candidate.candidate,
                TimelineKind.MERGE,
                f"{report.unit.name}{report.kind_label}经确认并入本事件。",
                principal,
                report,
            )
            audit_change(
                principal,
                "events.report.move",
                report,
                before={"event": report_event.pk},
                after={"event": candidate.candidate_id},
            )
    candidate.refresh_from_db()
    candidate.decision = (
        MergeCandidate.Decision.MERGED if same_event else MergeCandidate.Decision.SEPARATE
    )
    candidate.decided_at = clock.now()
    candidate.save(update_fields=["decision", "decided_at"])
    return candidate


# --- Verification (核实) and consultation (会商) ------------------------------------------

# A verification answer moves the event: conclusion → (new status, statuses it may leave).
# 部分属实 leaves the status to the duty officer, who weighs which part holds. A later task
# that confirms an event once marked 不实 clears the mark (the earlier answer stays on record).
VERIFICATION_OUTCOMES: dict[str, tuple[str, tuple[str, ...]]] = {
    VerificationTask.State.CONFIRMED: (
        EventStatus.VERIFIED,
        (EventStatus.NEW, EventStatus.VERIFYING, EventStatus.FALSE),
    ),
    VerificationTask.State.FALSE: (
        EventStatus.FALSE,
        (EventStatus.NEW, EventStatus.VERIFYING, EventStatus.VERIFIED),
    ),
}


def _when(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.month}月{local.day}日{local.hour}时{local.minute:02d}分"


def answers_for_unit(principal: Principal, unit_id: int) -> bool:
    """May this principal answer on behalf of `unit_id` (a verification or consultation)?"""
    return any(g.unit_id == unit_id and g.role in ANSWERING_ROLES for g in principal.grants)


def _check_due(due_at: datetime | None, errors: dict[str, list[str]], *, required: bool) -> None:
    if due_at is None:
        if required:
            errors.setdefault("due_at", []).append("时限为必填项")
    elif due_at <= clock.now():
        errors.setdefault("due_at", []).append("时限须晚于当前时间")


def _check_open_event(event: Event, errors: dict[str, list[str]]) -> None:
    if event.status == EventStatus.ARCHIVED:
        errors.setdefault("event", []).append("事件已归档，不能再发起核实或会商")


@transaction.atomic
def request_verification(
    principal: Principal,
    *,
    event: Event,
    assignee_unit: Unit,
    question: str,
    due_at: datetime,
    report: Report | None = None,
) -> VerificationTask:
    """Ask a unit to verify (核实) an event or one of its reports by `due_at`.

    Only a 值班员 of an office at or above a unit that reported the event may ask, and only
    units within that office's tree. A newly received event moves to 核实中."""
    require_event_role(principal, event, (Role.DUTY_OFFICER,))
    if not principal.is_superuser and not any(
        g.role == Role.DUTY_OFFICER and assignee_unit.path.startswith(g.unit_path)
        for g in principal.grants
    ):
        raise PermissionDenied("只能请本办公室所辖单位核实")
    event.refresh_from_db(from_queryset=Event.objects.select_for_update())
    errors: dict[str, list[str]] = {}
    if _blank(question):
        errors["question"] = ["核实事项为必填项"]
    _check_due(due_at, errors, required=True)
    if report is not None and report.event_id != event.pk:
        errors["report"] = ["所涉报告不属于该事件"]
    if not assignee_unit.is_active:
        errors["assignee_unit"] = ["核实单位已停用"]
    _check_open_event(event, errors)
    if errors:
        raise ValidationError(errors)
    task = VerificationTask.objects.create(
        event=event,
        report=report,
        assignee_unit=assignee_unit,
        question=question.strip(),
        due_at=due_at,
        requested_by_id=principal.person_id,
        requested_at=clock.now(),
    )
    _timeline(
        event,
        TimelineKind.VERIFICATION,
        f"请{assignee_unit.name}核实（时限{_when(due_at)}）：{task.question}",
        principal,
        report,
    )
    audit_change(
        principal,
        "events.verification.request",
        task,
        after=snapshot(task),
    )
    if event.status == EventStatus.NEW:
        change_status(principal, event, EventStatus.VERIFYING, note="已发起核实")
    signals.verification_requested.send(VerificationTask, task=task, principal=principal)
    return task


def _clean_figures(
    event: Event, figures: dict[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    """Verified figures from an answer: known names, non-negative, whole numbers of people."""
    cleaned: dict[str, Any] = {}
    for name, value in figures.items():
        key = f"figures.{name}"
        if name not in FIGURES:
            errors.setdefault(key, []).append(f"未知的数字项：{name}")
            continue
        if value is None:
            continue
        label = FIGURES[name]
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            errors.setdefault(key, []).append(f"{label}须为数字")
            continue
        if not number.is_finite() or number < 0:
            errors.setdefault(key, []).append(f"{label}不能为负数")
            continue
        if name != "economic_loss":
            if number != number.to_integral_value():
                errors.setdefault(key, []).append(f"{label}须为整数")
                continue
            number = int(number)
        try:
            cleaned[name] = Event._meta.get_field(f"verified_{name}").clean(number, event)
        except ValidationError as exc:
            errors.setdefault(key, []).extend(f"{label}：{m}" for m in exc.messages)
    return cleaned


def figures_text(values: dict[str, Any]) -> str:
    """The figures as a phrase for the timeline: 死亡 3、受伤 5 …"""
    return "、".join(f"{FIGURES[name]} {value}" for name, value in values.items())


@transaction.atomic
def answer_verification(
    principal: Principal,
    task: VerificationTask,
    *,
    state: str,
    answer: str,
    figures: dict[str, Any] | None = None,
) -> VerificationTask:
    """The assignee unit's answer: its conclusion, what it found and, optionally, the
    verified figures (核实数), which then lead the event's current figures.

    属实 moves a new or verifying event to 已核实; 不实 marks it 不实（谣言）— the event,
    its reports and timeline are all kept."""
    if not answers_for_unit(principal, task.assignee_unit_id):
        raise PermissionDenied("只有被要求核实的单位可以答复")
    task.refresh_from_db(from_queryset=VerificationTask.objects.select_for_update())
    event = task.event
    event.refresh_from_db(from_queryset=Event.objects.select_for_update())
    errors: dict[str, list[str]] = {}
    answered_states = [s for s in VerificationTask.State if s != VerificationTask.State.OPEN]
    if task.state != VerificationTask.State.OPEN:
        errors["state"] = ["该核实任务已经答复"]
    elif state not in answered_states:
        errors["state"] = ["请选择核实结论：属实、部分属实或不实"]
    if _blank(answer):
        errors["answer"] = ["核实情况为必填项"]
    values = _clean_figures(event, figures or {}, errors)
    if errors:
        raise ValidationError(errors)

    task_before, event_before = snapshot(task), snapshot(event)
    task.state = state
    task.answer = answer.strip()
    task.answered_by_id = principal.person_id
    task.answered_at = clock.now()
    task.save(update_fields=["state", "answer", "answered_by", "answered_at"])

    for name, value in values.items():
        setattr(event, f"verified_{name}", value)
    previous_label = event.get_status_display()
    new_status, from_statuses = VERIFICATION_OUTCOMES.get(state, (None, ()))
    moved = new_status is not None and event.status in from_statuses
    if moved:
        event.status = new_status
    if moved or values:
        event.save()

    unit_name = task.assignee_unit.name
    text = f"{unit_name}核实结论：{task.get_state_display()}。{task.answer}"
    if values:
        text += f"（核实数：{figures_text(values)}）"
    _timeline(event, TimelineKind.VERIFICATION, text, principal, task.report)
    if moved:
        _timeline(
            event,
            TimelineKind.STATUS,
            f"状态：{previous_label} → {event.get_status_display()}（依据{unit_name}核实结论）",
            principal,
        )
    audit_change(
        principal,
        "events.verification.answer",
        task,
        before=task_before,
        after=snapshot(task),
    )
    if moved or values:
        audit_change(
            principal,
            "events.event.verified",
            event,
            before=event_before,
            after=snapshot(event),
        )
    signals.verification_answered.send(VerificationTask, task=task, principal=principal)
    if values:
        signals.event_figures_changed.send(Event, event=event, principal=principal)
    return task


def _pool_members(people: list[Person]) -> set[int]:
    """Ids of the people who are in the expert pool (an active profile or the 专家 role)."""
    ids = [p.pk for p in people]
    pooled = set(
        Expert.objects.filter(person_id__in=ids, is_active=True).values_list("person_id", flat=True)
    )
    pooled |= set(
        Membership.objects.filter(person_id__in=ids, role=Role.EXPERT).values_list(
            "person_id", flat=True
        )
    )
    return {p.pk for p in people if p.pk in pooled and p.is_active}


@transaction.atomic
def request_consultation(
    principal: Principal,
    *,
    event: Event,
    question: str,
    units: Any = (),
    experts: Any = (),
    due_at: datetime | None = None,
) -> Consultation:
    """Put an uncertain question about an event to departments and/or experts (会商)."""
    require_event_role(principal, event, (Role.DUTY_OFFICER,))
    units, experts = list(units), list(experts)
    errors: dict[str, list[str]] = {}
    if _blank(question):
        errors["question"] = ["会商事项为必填项"]
    if not units and not experts:
        errors["units"] = ["请至少邀请一个部门或一位专家"]
    for unit in units:
        if not unit.is_active:
            errors.setdefault("units", []).append(f"{unit.name}已停用")
    pooled = _pool_members(experts)
    for person in experts:
        if person.pk not in pooled:
            errors.setdefault("experts", []).append(f"{person}不在专家库中")
    _check_due(due_at, errors, required=False)
    _check_open_event(event, errors)
    if errors:
        raise ValidationError(errors)
    consultation = Consultation.objects.create(
        event=event,
        question=question.strip(),
        requested_by_id=principal.person_id,
        requested_at=clock.now(),
        due_at=due_at,
    )
    consultation.units.set(units)
    consultation.experts.set(experts)
    invited = []
    if units:
        invited.append("会商部门：" + "、".join(u.name for u in units))
    if experts:
        invited.append("专家：" + "、".join(str(p) for p in experts))
    if due_at is not None:
        invited.append(f"时限{_when(due_at)}")
    _timeline(
        event,
        TimelineKind.CONSULTATION,
        f"发起会商：{consultation.question}（{'；'.join(invited)}）",
        principal,
    )
    audit_change(
        principal,
        "events.consultation.request",
        consultation,
        after={
            **snapshot(consultation),
            "units": [u.pk for u in units],
            "experts": [p.pk for p in experts],
        },
    )
    return consultation


def consulted_unit(principal: Principal, consultation: Consultation) -> Unit | None:
    """The invited unit this principal answers for, if any."""
    for unit in consultation.units.all():
        if answers_for_unit(principal, unit.pk):
            return unit
    return None


@transaction.atomic
def answer_consultation(
    principal: Principal, consultation: Consultation, *, text: str
) -> ConsultationAnswer:
    """An invited department's or expert's opinion; it goes on the event's timeline."""
    unit = consulted_unit(principal, consultation)
    is_expert = (
        principal.person_id is not None
        and consultation.experts.filter(pk=principal.person_id).exists()
    )
    if unit is None and not is_expert:
        raise PermissionDenied("只有受邀的部门或专家可以发表会商意见")
    if principal.person_id is None:
        raise PermissionDenied("会商意见须由具体人员答复，不能使用接口令牌")
    consultation.refresh_from_db(from_queryset=Consultation.objects.select_for_update())
    errors: dict[str, list[str]] = {}
    if consultation.closed_at is not None:
        errors["consultation"] = ["会商已结束"]
    if _blank(text):
        errors["text"] = ["意见为必填项"]
    if errors:
        raise ValidationError(errors)
    answer = ConsultationAnswer.objects.create(
        consultation=consultation,
        author_id=principal.person_id,
        unit=unit,
        text=text.strip(),
        answered_at=clock.now(),
    )
    who = unit.name if unit is not None else f"专家{principal}"
    text = f"会商意见（{who}）：{answer.text}"
    _timeline(consultation.event, TimelineKind.CONSULTATION, text, principal)
    audit_change(
        principal,
        "events.consultation.answer",
        answer,
        after=snapshot(answer),
    )
    return answer


@transaction.atomic
def close_consultation(
    principal: Principal, consultation: Consultation, *, conclusion: str
) -> Consultation:
    """Record the conclusion (会商结论) and close; by whoever asked, or a 值班员 over the event."""
    if principal.person_id is None or principal.person_id != consultation.requested_by_id:
        require_event_role(principal, consultation.event, (Role.DUTY_OFFICER,))
    consultation.refresh_from_db(from_queryset=Consultation.objects.select_for_update())
    errors: dict[str, list[str]] = {}
    if consultation.closed_at is not None:
        errors["consultation"] = ["会商已结束"]
    if _blank(conclusion):
        errors["conclusion"] = ["会商结论为必填项"]
    if errors:
        raise ValidationError(errors)
    before = snapshot(consultation)
    consultation.conclusion = conclusion.strip()
    consultation.closed_at = clock.now()
    consultation.save(update_fields=["conclusion", "closed_at"])
    _timeline(
        consultation.event,
        TimelineKind.CONSULTATION,
        f"会商结论：{consultation.conclusion}",
        principal,
    )
    audit_change(
        principal,
        "events.consultation.close",
        consultation,
        before=before,
        after=snapshot(consultation),
    )
    return consultation


@transaction.atomic
def confirm_draft(
    principal: Principal,
    report: Report,
    data: dict[str, Any],
    *,
    kind: str | None = None,
    event: Event | None = None,
    must_supply: tuple[str, ...] = (),
) -> FilingResult:
    """Complete and submit a draft (from e-mail, a clue, a saved form) exactly as
    `file_report` would have filed it: fill the fields in `data` (and "unit" to attribute
    it to another unit), validate, attach to `event` or match it to one, timeline, audit.

    `must_supply` names fields whose draft values were the system's guesses: each must be
    given in `data`, so a guess is never submitted without a person confirming it.
    """
    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.status != ReportStatus.DRAFT:
        raise ValidationError({"status": ["该报告已报送，不是草稿"]})
    unit = data.get("unit") or report.unit
    if not (_may_report_for(principal, report.unit) and _may_report_for(principal, unit)):
        raise PermissionDenied("无权确认该草稿")
    before = snapshot(report)
    errors: dict[str, list[str]] = {}
    if event is not None and (event.is_drill, event.drill_tag) != (
        report.is_drill,
        report.drill_tag,
    ):
        errors["event"] = ["演练报告与实际事件不能互相归并"]
    for name in must_supply:
        if _blank(data.get(name)):
            label = Report._meta.get_field(name).verbose_name
            errors.setdefault(name, []).append(f"{label}为系统推测，须确认后填写")
    report.unit = unit
    report.kind = kind or report.kind
    _fill(report, data, event)
    try:
        validate_report(report)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    report.status, report.submitted_at = ReportStatus.SUBMITTED, clock.now()
    report.save()
    if event is not None:
        outcome, score = "followup", 1.0
    else:
        outcome, score, event = _attach_by_matching(report)
    report.event = event
    report.save(update_fields=["event"])
    _timeline(
        event,
        TimelineKind.REPORT,
        f"{unit.name}{report.kind_label}（{report.get_channel_display()}，经确认）：{report.title}",
        principal,
        report,
    )
    audit_change(
        principal,
        "events.report.confirm",
        report,
        before=before,
        after=snapshot(report),
    )
    signals.report_submitted.send(Report, report=report, event=event, principal=principal)
    return FilingResult(report, event, outcome, score)


@transaction.atomic
def discard_draft(principal: Principal, report: Report, reason: str = "") -> None:
    """Delete a draft that will not be submitted; the audit chain keeps its content."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.status != ReportStatus.DRAFT:
        raise ValidationError({"status": ["已报送的报告不能删除"]})
    if not _may_report_for(principal, report.unit):
        raise PermissionDenied("无权处理该草稿")
    before, pk = snapshot(report), report.pk
    report.delete()
    audit_record(
        actor=principal,
        action="events.report.discard",
        object_type="events.report",
        object_id=pk,
        before=before,
        after={"reason": reason},
    )


# --- Drafts saved from the web form ----------------------------------------------------------

# What a draft is stored with even before it is complete (the rest waits for 报送). A draft
# for an existing event takes them from the event.
DRAFT_REQUIRED_FIELDS = ("category", "occurred_at")


def draft_errors(data: dict[str, Any], *, event: Event | None = None) -> dict[str, list[str]]:
    """Field errors for saving `data` as a draft, in Chinese, as `validate_report` gives."""
    if event is not None:
        return {}
    return {
        name: [f"{Report._meta.get_field(name).verbose_name}为必填项（保存草稿也须填写）"]
        for name in DRAFT_REQUIRED_FIELDS
        if _blank(data.get(name))
    }


@transaction.atomic
def update_draft(
    principal: Principal,
    report: Report,
    data: dict[str, Any],
    *,
    unit: Unit | None = None,
    kind: str | None = None,
    event: Event | None = None,
) -> Report:
    """Save a draft again with the values in `data` (None clears a field that may be
    empty); it stays a draft, outside the timeline, until submitted with `confirm_draft`."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.status != ReportStatus.DRAFT:
        raise ValidationError({"status": ["该报告已报送，不是草稿"]})
    unit = unit or report.unit
    if not (_may_report_for(principal, report.unit) and _may_report_for(principal, unit)):
        raise PermissionDenied("无权修改该草稿")
    event = event if event is not None else report.event
    errors = draft_errors(data, event=event)
    if errors:
        raise ValidationError(errors)
    before = snapshot(report)
    report.unit, report.kind = unit, kind or report.kind
    for name in DATA_FIELDS:
        if name not in data:
            continue
        if data[name] is None and not Report._meta.get_field(name).null:
            continue  # a column that cannot be empty keeps its value
        setattr(report, name, data[name])
    report.event = event
    if event is not None:
        _number_in_chain(report)
    report.save()
    index_report(report)
    audit_change(
        principal,
        "events.report.draft_update",
        report,
        before=before,
        after=snapshot(report),
    )
    return report


@transaction.atomic
def attach_files(
    principal: Principal, report: Report, files: list[File], *, at_filing: bool = False
) -> list[Attachment]:
    """Add files to a report of the principal's unit: at filing (`at_filing`), to a draft,
    or later to a submitted report (补充附件, noted on the timeline). All or nothing: one
    refused file refuses them all, naming each. The same content again is the attachment
    already there (a retried upload makes no second copy)."""
    if not _may_report_for(principal, report.unit):
        raise PermissionDenied("只能为本单位的报告上传附件")
    messages, checked = [], []
    for upload in files:
        try:
            checked.append((upload, attachments.check(upload, upload.name or "", upload.size)))
        except attachments.Refused as exc:
            messages.append(str(exc))
    existing = {a.sha256: a for a in report.attachments.all()}
    new = {c.sha256: (u, c) for u, c in checked if c.sha256 not in existing}
    limit = settings.FENGHUO_ATTACHMENTS_PER_REPORT
    if len(existing) + len(new) > limit:
        messages.append(f"每份报告最多 {limit} 个附件（已有 {len(existing)} 个）")
    if messages:
        raise ValidationError({"attachments": messages})
    moment = clock.now()
    added = []
    for upload, c in new.values():
        attachment = Attachment.objects.create(
            report=report,
            file=attachments.store(upload, c),
            name=c.name,
            kind=c.kind,
            content_type=c.content_type,
            size=c.size,
            sha256=c.sha256,
            uploaded_by_id=principal.person_id,
            uploaded_at=moment,
        )
        audit_change(principal, "events.attachment.add", attachment, after=snapshot(attachment))
        added.append(attachment)
    later = not at_filing and report.status == ReportStatus.SUBMITTED
    if added and later and report.event_id is not None:
        names = "、".join(a.name for a in added)
        _timeline(
            report.event,
            TimelineKind.NOTE,
            f"{report.unit.name}为{report.kind_label}补充附件：{names}",
            principal,
            report,
        )
    by_digest = existing | {a.sha256: a for a in added}
    return [by_digest[c.sha256] for _upload, c in checked]


# --- Drill data ----------------------------------------------------------------------------


@transaction.atomic
def purge_drill(drill_tag: str) -> dict[str, int]:
    """Delete a drill run's events and reports (its purge; the apps above have removed
    theirs first). Timelines, merge candidates, verification and consultation go with
    their event; search rows with their report. Only rows carrying the tag are touched,
    and a tag is only ever set on drill data. The audit chain keeps what happened."""
    if not drill_tag:
        raise ValueError("purge_drill needs a drill tag")
    reports = Report.objects.filter(drill_tag=drill_tag, is_drill=True)
    report_ids = list(reports.values_list("pk", flat=True))
    unindex_reports(report_ids)
    reports.update(previous=None)  # the chain of follow-ups protects itself
    Attachment.objects.filter(report_id__in=report_ids).delete()
    reports.delete()
    events = Event.objects.filter(drill_tag=drill_tag, is_drill=True)
    event_count = events.count()
    Report.objects.filter(event__in=events).update(event=None)  # none: all were tagged
    events.delete()
    return {"events": event_count, "reports": len(report_ids)}
