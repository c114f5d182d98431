"""Every write of evaluation and accountability: area duties and missed reports, cases and
their decisions, figure checks and concealment suspicions, adoption, inquiry letters,
bulletins, pattern-analysis findings and an ended event's lessons.

Each person's write is audited and, where someone must act, announced through the
outbox in the same transaction. Creates are idempotent: by unique keys (a duty, a case,
an adoption, a link), or by the idempotency key the API and the forms pass through
`intake.services.idempotent`. Rules of who may act are in `selectors` (its docstring).

**Missed reports (漏报).** An event's grading (`escalation.EventGrading`, its target
levels) says which levels a report must reach. The *local units* of an event are the
active receiving offices whose area covers the event's division code (GB/T 2260: a
province covers its first two digits, a city its first four, a county or township its
own code, a national office everything), and the most local units of the kind
responsible for the event's category (`EventCategory.responsible_kind`, e.g. 公安 for a
road accident) covering it. A local unit is *obliged* when, placed where it is in the
tree, the grading requires offices above it — `escalation.services.offices_for`, the
same rule that routes a unit's own report, without the unit itself. A unit that has
not reported (neither it nor a unit below it: their reports pass through it; a clue filed
in its name does not count) gets an `AreaDuty` due at the time the event became known
(its first report anywhere; for a grade raised later, the time it was raised) plus the
shortest written deadline among the offices it owes. No report by then: the duty is
missed and a missed-report case opens. An event graded below what makes a unit owe
anything (no grade at all, or a grade whose targets stop at the unit's own level) gives
that unit no duty. The rule is also in docs/architecture.md.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from fenghuo.assess import metrics, patterns, selectors
from fenghuo.assess.models import (
    PLACEHOLDER,
    Adoption,
    AreaDuty,
    Bulletin,
    BulletinRecipient,
    Case,
    CaseKind,
    CaseObligation,
    CaseState,
    DutyState,
    EventKey,
    EventReview,
    FigureCheck,
    Finding,
    FindingEvent,
    FindingKind,
    FindingState,
    Letter,
    LetterState,
    LetterTemplate,
)
from fenghuo.assess.periods import Period
from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from fenghuo.core.services import audit_change, snapshot
from fenghuo.escalation.models import EventGrading, Obligation, ObligationState
from fenghuo.escalation.services import offices_for, when_text
from fenghuo.events.models import (
    FIGURES,
    Channel,
    Event,
    EventStatus,
    Report,
    ReportStatus,
    TimelineEntry,
    TimelineKind,
)
from fenghuo.events.selectors import ANSWERING_ROLES, events_visible
from fenghuo.notify.services import notify_people, notify_unit
from fenghuo.org.models import AdminLevel, Person, Role, Unit
from fenghuo.org.policy import Principal
from fenghuo.org.selectors import on_duty

SYSTEM = "系统"
BATCH = 200
# FENGHUO_ASSESS_FIGURE_MARGINS: per figure, the difference between a unit's figure and the
# verified one still counted accurate: max(absolute, relative × verified). Beyond it, a
# figure under the verified one opens a concealment suspicion.
DEFAULT_MARGINS: dict[str, dict[str, float]] = {
    "dead": {"absolute": 0, "relative": 0},
    "missing": {"absolute": 0, "relative": 0},
    "seriously_injured": {"absolute": 0, "relative": 0},
    "injured": {"absolute": 0, "relative": 0.1},
    "economic_loss": {"absolute": 0, "relative": 0.1},
    "affected": {"absolute": 0, "relative": 0.2},
    "evacuated": {"absolute": 0, "relative": 0.2},
}
# FENGHUO_ASSESS_PATTERNS: how pattern analysis groups events.
DEFAULT_PATTERNS: dict[str, Any] = {
    "min_events": 3,  # … of one category at one place …
    "window_days": 60,  # … within this many days make a finding
    "road_section_km": 10,
    "text_threshold": 0.5,  # cosine at or above which two events read alike (findings)
    "similar_threshold": 0.2,  # … and the lower bar for "similar events" on a page
    "similar_days": 365,
}
LETTER_CHASE_HOURS = 24  # FENGHUO_ASSESS_LETTER_CHASE_HOURS: between reminders once overdue
TEXT_LIMIT = 5000
LEVEL_PREFIX = {AdminLevel.NATIONAL: 0, AdminLevel.PROVINCE: 2, AdminLevel.CITY: 4}


def pattern_settings() -> dict[str, Any]:
    return {**DEFAULT_PATTERNS, **getattr(settings, "FENGHUO_ASSESS_PATTERNS", {})}


def _margins() -> dict[str, dict[str, float]]:
    return {**DEFAULT_MARGINS, **getattr(settings, "FENGHUO_ASSESS_FIGURE_MARGINS", {})}


def _timeline(event: Event, text: str, actor: str, report: Report | None = None) -> None:
    TimelineEntry.objects.create(
        event=event,
        at=clock.now(),
        kind=TimelineKind.STATUS,
        text=text,
        actor_name=actor,
        report=report,
    )


def unit_people(unit_id: int, roles: tuple[str, ...] = ANSWERING_ROLES) -> list[Person]:
    return list(
        Person.objects.filter(
            memberships__unit_id=unit_id, memberships__role__in=roles, is_active=True
        )
        .distinct()
        .order_by("pk")
    )


def evaluating_office(unit: Unit) -> Unit | None:
    """The nearest receiving office strictly above `unit`."""
    step = Unit.steplen
    paths = [unit.path[:i] for i in range(step, len(unit.path), step)]
    return (
        Unit.objects.filter(path__in=paths, is_receiving_office=True, is_active=True)
        .order_by("-path")
        .first()
    )


def _office_duty(office: Unit | None) -> list[Person]:
    if office is None:
        return []
    primary = on_duty(office).primary
    return [primary] if primary is not None else []


def case_link(case: Case) -> str:
    return reverse("assess-case", args=[case.pk])


def letter_link(letter: Letter) -> str:
    return reverse("assess-letter", args=[letter.pk])


def is_counted(event: Event) -> bool:
    """Whether the event counts in evaluation (not a drill, not a false report)."""
    return selectors.counted_events().filter(pk=event.pk).exists()


# --- area duties and missed reports (漏报) --------------------------------------------------


def covers(unit: Unit, division_code: str) -> int:
    """How specifically `unit`'s area covers `division_code`: the length of the code
    prefix it owns (0 national … 6 county), or -1 when the code is outside it."""
    length = LEVEL_PREFIX.get(unit.level, 6)
    return length if division_code.startswith(unit.division_code[:length]) else -1


def _responsible_kind(event: Event) -> int | None:
    category = event.category
    if category.responsible_kind_id:
        return category.responsible_kind_id
    return category.parent.responsible_kind_id if category.parent_id else None


def local_units(event: Event) -> list[Unit]:
    """The receiving offices covering the event's place and the most local units of its
    responsible kind (see the module docstring)."""
    kind = _responsible_kind(event)
    wanted = Q(is_receiving_office=True)
    if kind is not None:
        wanted |= Q(kind_id=kind)
    near = Q(level=AdminLevel.NATIONAL) | Q(division_code__startswith=event.division_code[:2])
    units = [
        u
        for u in Unit.objects.filter(wanted, near, is_active=True)
        if covers(u, event.division_code) >= 0
    ]
    offices = [u for u in units if u.is_receiving_office]
    departments = [u for u in units if not u.is_receiving_office]
    if departments:
        closest = max(covers(u, event.division_code) for u in departments)
        offices += [u for u in departments if covers(u, event.division_code) == closest]
    return offices


def _reporting_paths(event: Event, until: datetime | None = None) -> list[tuple[str, Report]]:
    reports = selectors.counted_reports().filter(event=event).select_related("unit")
    if until is not None:
        reports = reports.filter(received_at__lte=until)
    return [(r.unit.path, r) for r in reports.order_by("received_at", "pk")]


def _first_report_below(unit: Unit, paths: list[tuple[str, Report]]) -> Report | None:
    return next((r for path, r in paths if path.startswith(unit.path)), None)


def _known_at(event: Event, grading: EventGrading) -> datetime:
    """When the event became known at its current grade: its first report anywhere, or the
    time a later grading first raised it this high."""
    severity = 5 - grading.grade
    rows = list(EventGrading.objects.filter(event=event).order_by("at", "pk"))
    first = next((g for g in rows if g.grade and 5 - g.grade >= severity), grading)
    if rows and first.pk == rows[0].pk:
        return event.first_reported_at
    return max(event.first_reported_at, first.at)


def plan_area_duties(event: Event, *, counted: bool | None = None) -> list[AreaDuty]:
    """Create the area duties the event's current grading implies for local units that have
    not reported it; tell those units at once. Creating twice is harmless (unique keys).
    `counted`: `is_counted(event)` when the caller has just asked it."""
    grading = EventGrading.objects.filter(event=event).order_by("-at", "-pk").first()
    if grading is None or grading.grade is None:
        return []
    if not (is_counted(event) if counted is None else counted):
        return []
    targets = {t["level"]: t for t in grading.targets}
    if not targets:
        return []
    existing = set(AreaDuty.objects.filter(event=event).values_list("unit_id", flat=True))
    # The units that reported, not every report: a follow-up of a big event runs this too.
    reported = set(
        selectors.counted_reports()
        .filter(event=event)
        .order_by()
        .values_list("unit__path", flat=True)
        .distinct()
    )
    silent = [
        unit
        for unit in local_units(event)
        if unit.pk not in existing and not any(path.startswith(unit.path) for path in reported)
    ]
    if not silent:
        return []
    known_at = _known_at(event, grading)
    moment = clock.now()
    wanted = []
    for unit in silent:
        owed = [
            (level, office)
            for level, office in offices_for(unit, targets).items()
            if office is not None and office.pk != unit.pk
        ]
        if not owed:
            continue
        minutes = min(targets[level]["written_minutes"] for level, _ in owed)
        names = "、".join(office.name for _, office in owed)
        wanted.append(
            AreaDuty(
                key=f"area:{event.pk}:{unit.pk}",
                event=event,
                unit=unit,
                grading=grading,
                offices=[
                    {
                        "office_id": office.pk,
                        "office": office.name,
                        "level": level,
                        "written_minutes": targets[level]["written_minutes"],
                    }
                    for level, office in owed
                ],
                reason=f"{grading.label}：事发地在{unit.name}辖区，须于 {minutes} 分钟内"
                f"报告{names}（自{when_text(known_at)}起算）",
                known_at=known_at,
                due_at=known_at + timedelta(minutes=minutes),
                created_at=moment,
            )
        )
    if not wanted:
        return []
    AreaDuty.objects.bulk_create(wanted, ignore_conflicts=True)
    created = list(
        AreaDuty.objects.filter(key__in=[d.key for d in wanted], created_at=moment).select_related(
            "unit", "event"
        )
    )
    first = (
        selectors.counted_reports()
        .filter(event=event)
        .order_by("received_at", "pk")
        .values_list("unit__name", flat=True)
        .first()
    ) or "舆情线索"
    for duty in created:
        message = {
            "subject": f"属地报告提醒：{event.title}",
            "body": f"{event.place or event.division_code}发生{event.category.name}"
            f"（{grading.label}），已由{first}报送。你单位须于{when_text(duty.due_at)}前报告"
            f"{'、'.join(o['office'] for o in duty.offices)}。",
            "key": f"area-duty:{duty.pk}",
            "link": reverse("report-new"),
            "ref": f"event:{event.pk}",
            "urgent": grading.grade <= 2,
        }
        notify_people(unit_people(duty.unit_id), **message)
        notify_unit(duty.unit, **message)
    return created


def report_entered(report: Report, event: Event, *, counted: bool | None = None) -> None:
    """A unit's report reached the event: duties of that unit and of the units above it
    (the report passes through them) are met — on time, or recorded late on a missed row.
    `counted`: `is_counted(event)` when the caller has just asked it."""
    if report.channel == Channel.CLUE:
        return
    if not (is_counted(event) if counted is None else counted):
        return
    step = Unit.steplen
    paths = [report.unit.path[:i] for i in range(step, len(report.unit.path) + 1, step)]
    duties = AreaDuty.objects.select_for_update(of=("self",)).filter(
        event=event,
        unit__path__in=paths,
        state__in=(DutyState.PENDING, DutyState.MISSED),
        met_at__isnull=True,
    )
    for duty in duties.select_related("unit", "event"):
        moment = report.received_at
        if duty.state == DutyState.PENDING and moment > duty.due_at:
            _miss(duty)  # the loop had not got to it yet: it was missed at its deadline
        duty.met_at, duty.report = moment, report
        duty.minutes_late = max(0, -(-int((moment - duty.due_at).total_seconds()) // 60))
        if duty.state == DutyState.PENDING:
            duty.state = DutyState.MET
        duty.note = f"{report.unit.name}{report.kind_label}"[:200]
        duty.save(update_fields=["state", "met_at", "report", "minutes_late", "note"])
        if duty.state == DutyState.MISSED:
            Case.objects.filter(key=f"missed:{duty.event_id}:{duty.unit_id}").update(
                details=_missed_details(duty)
            )


def _missed_details(duty: AreaDuty) -> dict[str, Any]:
    return {
        "source": "area",
        "duty_id": duty.pk,
        "due_at": duty.due_at.isoformat(),
        "offices": [o["office"] for o in duty.offices],
        "reported_at": duty.met_at.isoformat() if duty.met_at else None,
        "minutes_late": duty.minutes_late,
    }


def _miss(duty: AreaDuty) -> Case:
    """The deadline passed with no report: the duty is missed and a missed case opens
    (announced to the unit and the office above it)."""
    moment = clock.now()
    duty.state, duty.missed_at = DutyState.MISSED, moment
    duty.save(update_fields=["state", "missed_at"])
    event = duty.event
    offices = "、".join(o["office"] for o in duty.offices)
    summary = (
        f"{duty.unit.name}辖区内发生「{event.title}」，须于{when_text(duty.due_at)}前报告"
        f"{offices}，逾期未报"
    )
    case, _ = _open_case(
        CaseKind.MISSED,
        event,
        duty.unit,
        at=duty.due_at,
        summary=summary,
        details=_missed_details(duty),
    )
    _timeline(event, f"漏报：{summary}。", SYSTEM)
    return case


def check_due_duties(batch: int = BATCH) -> int:
    """One loop step: pending duties past their deadline are missed (or cancelled when
    their event no longer counts: found false, or a drill). Returns how many changed."""
    moment = clock.now()
    due = Q(state=DutyState.PENDING, due_at__lte=moment)
    if not AreaDuty.objects.filter(due).exists():
        return 0  # a plain read first: an idle step takes no write lock (SQLite)
    with transaction.atomic():
        rows = list(
            AreaDuty.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(due)
            .select_related("unit", "event", "event__category")
            .order_by("due_at", "pk")[:batch]
        )
        counted = set(
            selectors.counted_events()
            .filter(pk__in={d.event_id for d in rows})
            .values_list("pk", flat=True)
        )
        for duty in rows:
            if duty.event_id not in counted:
                duty.state = DutyState.CANCELLED
                duty.note = "事件不计入考核（不实或演练），责任撤销"
                duty.save(update_fields=["state", "note"])
                continue
            reported = _first_report_below(duty.unit, _reporting_paths(duty.event, duty.due_at))
            if reported is not None:  # a report that arrived while the row waited
                report_entered(reported, duty.event)
                continue
            _miss(duty)
    return len(rows)


# --- cases ---------------------------------------------------------------------------------


def _open_case(
    kind: str,
    event: Event,
    unit: Unit,
    *,
    at: datetime,
    summary: str,
    details: dict[str, Any],
    report: Report | None = None,
    key: str | None = None,
    opened_by: Principal | None = None,
) -> tuple[Case, bool]:
    """The case for (kind, event, unit), opened if new and announced."""
    office = evaluating_office(unit)
    case, created = Case.objects.get_or_create(
        key=key or f"{kind}:{event.pk}:{unit.pk}",
        defaults={
            "kind": kind,
            "event": event,
            "unit": unit,
            "office": office,
            "report": report,
            "at": at,
            "opened_at": clock.now(),
            "summary": summary[:2000],
            "details": details,
            "opened_by_id": opened_by.person_id if opened_by else None,
        },
    )
    if created:
        if opened_by is not None:  # a person's write; the ones the rules open are data
            audit_change(opened_by, "assess.case.open", case, after=snapshot(case))
        _announce_case(case)
    return case, created


def _announce_case(case: Case) -> None:
    if case.kind == CaseKind.LATE:
        return  # escalation already told the unit and the office when it went late
    link = case_link(case)
    if case.kind == CaseKind.CONCEALED:
        people = _office_duty(case.office) + (
            unit_people(case.office_id, (Role.UNIT_LEADER,)) if case.office_id else []
        )
        notify_people(
            people,
            subject=f"疑似瞒报待确认：{case.unit.name}",
            body=f"{case.event.title}。{case.summary}。请核查后确认或排除。",
            key=f"case:{case.pk}:opened",
            link=link,
            ref=f"case:{case.pk}",
        )
        return
    message = {
        "subject": f"{case.get_kind_display()}：{case.unit.name}",
        "body": f"{case.event.title}。{case.summary}。",
        "key": f"case:{case.pk}:opened",
        "link": link,
        "ref": f"case:{case.pk}",
        "urgent": case.kind == CaseKind.MISSED,
    }
    notify_people([*unit_people(case.unit_id), *_office_duty(case.office)], **message)
    notify_unit(case.unit, **message)


# Obligations go late or missed within a day or so of their deadline, or when their event
# ends; older ones were linked long ago, so the scan looks back this far only.
CASE_LOOKBACK = timedelta(days=180)


def open_obligation_cases(batch: int = BATCH) -> int:
    """One loop step: every counted obligation that went late or missed belongs to a case
    of its unit and event — 迟报 for late ones, 漏报 for missed ones. At most one lapse per
    unit and event is counted: a late case still open when a missed one opens is merged
    into it, and later late obligations join an existing missed case."""
    late_states = Q(state=ObligationState.LATE) | Q(state=ObligationState.MET, minutes_late__gt=0)
    missed_links = CaseObligation.objects.filter(case__kind=CaseKind.MISSED)
    recent = selectors.counted_obligations().filter(due_at__gte=clock.now() - CASE_LOOKBACK)
    unlinked_missed = recent.filter(state=ObligationState.MISSED).exclude(
        pk__in=missed_links.values("obligation_id")
    )
    unlinked_late = recent.filter(late_states).exclude(
        pk__in=CaseObligation.objects.values("obligation_id")
    )
    if not (unlinked_missed.exists() or unlinked_late.exists()):
        return 0
    with transaction.atomic():
        missed = list(
            unlinked_missed.select_related("event", "obliged_unit", "office").order_by(
                "due_at", "pk"
            )[:batch]
        )
        late = list(
            unlinked_late.select_related("event", "obliged_unit", "office").order_by(
                "due_at", "pk"
            )[: max(0, batch - len(missed))]
        )
        for obligation in missed:
            _link_obligation(obligation, CaseKind.MISSED)
        for obligation in late:
            _link_obligation(obligation, CaseKind.LATE)
    return len(missed) + len(late)


def _link_obligation(obligation: Obligation, kind: str) -> None:
    event, unit = obligation.event, obligation.obliged_unit
    counted_missed = (
        Case.objects.filter(key=f"missed:{event.pk}:{unit.pk}")
        .exclude(state=CaseState.DISMISSED)
        .first()
    )
    if kind == CaseKind.LATE and counted_missed is not None:
        case = counted_missed
    else:
        verb = "逾期未完成" if kind == CaseKind.MISSED else "未按时完成"
        case, _ = _open_case(
            kind,
            event,
            unit,
            at=obligation.due_at,
            summary=f"{unit.name}{obligation.title}{verb}（时限{when_text(obligation.due_at)}）",
            details={"source": "obligation"},
            report=obligation.report,
        )
    CaseObligation.objects.get_or_create(case=case, obligation=obligation)
    if obligation.due_at < case.at:
        Case.objects.filter(pk=case.pk).update(at=obligation.due_at)
    if kind == CaseKind.MISSED:
        for late in Case.objects.filter(key=f"late:{event.pk}:{unit.pk}", state=CaseState.OPEN):
            late.state, late.merged_into = CaseState.MERGED, case
            late.save(update_fields=["state", "merged_into"])
            for link in late.obligation_links.all():
                CaseObligation.objects.get_or_create(case=case, obligation_id=link.obligation_id)


def allowed_margin(figure: str, verified: Decimal) -> Decimal:
    rule = _margins().get(figure, {"absolute": 0, "relative": 0})
    relative = Decimal(str(rule.get("relative", 0))) * verified
    return max(Decimal(str(rule.get("absolute", 0))), relative).quantize(Decimal("0.01"))


def check_figures(event: Event) -> list[Case]:
    """The event's verified figures changed: each unit's latest account of each verified
    figure is checked (FigureCheck); a unit below a verified figure beyond the margin gets a
    concealment suspicion (疑似瞒报) for a person to confirm or dismiss."""
    if not is_counted(event):
        return []
    verified = {
        name: Decimal(str(value))
        for name in FIGURES
        if (value := getattr(event, f"verified_{name}")) is not None
    }
    if not verified:
        return []
    latest: dict[int, Report] = {}
    for report in (
        selectors.counted_reports()
        .filter(event=event)
        .select_related("unit")
        .order_by("received_at", "pk")
    ):
        latest[report.unit_id] = report
    moment = clock.now()
    opened = []
    for report in latest.values():
        under = []
        for name, value in verified.items():
            stated = getattr(report, name)
            if stated is None:
                continue  # a figure the unit did not state is not compared
            stated = Decimal(str(stated))
            margin = allowed_margin(name, value)
            difference = value - stated
            FigureCheck.objects.update_or_create(
                event=event,
                unit=report.unit,
                figure=name,
                defaults={
                    "report": report,
                    "reported": stated,
                    "verified": value,
                    "margin": margin,
                    "within_margin": abs(difference) <= margin,
                    "under": difference > margin,
                    "checked_at": moment,
                },
            )
            if difference > margin:
                under.append(
                    {
                        "figure": name,
                        "label": FIGURES[name],
                        "reported": str(stated),
                        "verified": str(value),
                        "margin": str(margin),
                    }
                )
        if under:
            opened.append(_suspect(event, report, under))
    return opened


def _suspect(event: Event, report: Report, under: list[dict[str, str]]) -> Case:
    text = "、".join(
        f"{u['label']}报送 {_plain(u['reported'])}、核实 {_plain(u['verified'])}" for u in under
    )
    summary = f"{report.unit.name}报送数字低于核实数：{text}"
    case, created = _open_case(
        CaseKind.CONCEALED,
        event,
        report.unit,
        at=clock.now(),
        summary=summary,
        details={"figures": under, "report_id": report.pk},
        report=report,
    )
    if not created and case.state == CaseState.OPEN:
        Case.objects.filter(pk=case.pk).update(
            summary=summary, details={"figures": under, "report_id": report.pk}, report=report
        )
        case.refresh_from_db()
    return case


def _plain(value: str) -> str:
    return format(Decimal(value).normalize(), "f")


def _locked_case(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("event", "unit", "office")
        .get(pk=case.pk)
    )


@transaction.atomic
def decide_case(principal: Principal, case: Case, *, confirm: bool, note: str = "") -> Case:
    """确认 or 排除 an open case. Doing again what was done returns the case unchanged."""
    case = _locked_case(case)
    if not selectors.may_decide(principal, case):
        raise PermissionDenied("只有上级单位的值班员或领导可以认定考核问题")
    target = CaseState.CONFIRMED if confirm else CaseState.DISMISSED
    if case.state == target:
        return case
    if case.state != CaseState.OPEN:
        raise ValidationError(
            {
                "state": [
                    f"该问题已{case.get_state_display()}，不能再{'确认' if confirm else '排除'}"
                ]
            }
        )
    note = (note or "").strip()
    if not confirm and not note:
        raise ValidationError({"note": ["排除须说明理由"]})
    if len(note) > TEXT_LIMIT:
        raise ValidationError({"note": [f"认定意见不能超过 {TEXT_LIMIT} 字"]})
    before = snapshot(case)
    case.state = target
    case.decided_by_id, case.decided_at, case.decision_note = (
        principal.person_id,
        clock.now(),
        note,
    )
    case.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    audit_change(
        principal,
        f"assess.case.{'confirm' if confirm else 'dismiss'}",
        case,
        before=before,
        after=snapshot(case),
    )
    verdict = f"认定为{case.get_kind_display()}" if confirm else "经核查予以排除"
    notify_people(
        unit_people(case.unit_id, (Role.UNIT_LEADER, Role.REPORTER, Role.DUTY_OFFICER)),
        subject=f"考核问题{verdict}：{case.event.title}",
        body=f"{case.summary}。{principal}{verdict}。{note}",
        key=f"case:{case.pk}:decided",
        link=case_link(case),
        ref=f"case:{case.pk}",
    )
    return case


@transaction.atomic
def record_incident(
    principal: Principal,
    *,
    event: Event,
    unit: Unit,
    description: str,
    report: Report | None = None,
    at: datetime | None = None,
) -> Case:
    """A confidentiality incident (泄密事件: a report marked too low, content passed outside
    the system …) recorded against a unit by an evaluator above it."""
    if not selectors.is_evaluator_of(principal, unit):
        raise PermissionDenied("只有上级单位的值班员或领导可以登记泄密事件")
    if not events_visible(principal).filter(pk=event.pk).exists():
        raise PermissionDenied("事件不存在或无权访问")
    errors: dict[str, list[str]] = {}
    description = (description or "").strip()
    if not description:
        errors["description"] = ["情况说明为必填项"]
    elif len(description) > TEXT_LIMIT:
        errors["description"] = [f"情况说明不能超过 {TEXT_LIMIT} 字"]
    if report is not None and (report.event_id != event.pk or report.unit_id != unit.pk):
        errors["report"] = ["所涉报告须为该单位关于该事件的报告"]
    if at is not None and at > clock.now():
        errors["at"] = ["发生时间不能晚于当前时间"]
    if not is_counted(event):
        errors["event"] = ["该事件不计入考核（不实或演练）"]
    if errors:
        raise ValidationError(errors)
    case, _ = _open_case(
        CaseKind.CONFIDENTIALITY,
        event,
        unit,
        at=at or clock.now(),
        summary=f"{unit.name}：{description}",
        details={"source": "recorded"},
        report=report,
        key=f"confidentiality:{event.pk}:{unit.pk}:{uuid.uuid4().hex[:12]}",
        opened_by=principal,
    )
    return case


# --- adoption (采用) -------------------------------------------------------------------------


@transaction.atomic
def adopt(
    principal: Principal, report: Report, *, office: Unit | None = None, note: str = ""
) -> tuple[Adoption, bool]:
    """A duty officer marks a report 采用 for their office; marking it again changes
    nothing. Returns the adoption and whether it is new."""
    offices = selectors.adopting_offices(principal, report)
    if not offices:
        raise PermissionDenied("只有上级接报值班室的值班员可以采用报告")
    if office is None:
        office = offices[0]
    elif office.pk not in {o.pk for o in offices}:
        raise PermissionDenied("只能以本人值班的接报值班室名义采用")
    if report.status != ReportStatus.SUBMITTED or report.event_id is None:
        raise ValidationError({"report": ["只能采用已报送的报告"]})
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError({"note": ["用途不能超过 200 字"]})
    adoption, created = Adoption.objects.get_or_create(
        report=report,
        office=office,
        defaults={"adopted_by_id": principal.person_id, "adopted_at": clock.now(), "note": note},
    )
    if created:
        audit_change(principal, "assess.adoption.create", adoption, after=snapshot(adoption))
        _timeline(
            report.event,
            f"采用：{office.name}采用{report.unit.name}{report.kind_label}。{note}".rstrip(),
            str(principal),
            report,
        )
        if report.created_by_id:
            notify_people(
                Person.objects.filter(pk=report.created_by_id, is_active=True),
                subject=f"报告被采用：{report.title}",
                body=f"{office.name}采用了{report.unit.name}{report.kind_label}。{note}".rstrip(),
                key=f"adoption:{adoption.pk}",
                link=reverse("event-detail", args=[report.event_id]),
                ref=f"report:{report.pk}",
            )
    return adoption, created


# --- inquiry letters (函询) -----------------------------------------------------------------


def render_template(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def default_template() -> LetterTemplate:
    template = LetterTemplate.objects.filter(is_default=True).first()
    if template is None:
        raise ValidationError({"template": ["尚未设置默认函询模板，请在系统管理中设置"]})
    return template


def _issuing_office(principal: Principal, case: Case) -> Unit:
    """The office the letter comes from: the case's office when the issuer evaluates
    there, else the issuer's nearest evaluating unit above the case's unit."""
    if case.office_id and (
        principal.is_superuser or case.office_id in selectors.evaluating_units(principal)
    ):
        return case.office
    ids = [
        g.unit_id
        for g in principal.grants
        if g.role in selectors.EVALUATOR_ROLES
        and case.unit.path.startswith(g.unit_path)
        and g.unit_id != case.unit_id
    ]
    office = Unit.objects.filter(pk__in=ids).order_by("-path").first()
    if office is None:
        office = case.office or case.unit.get_parent() or case.unit
    return office


def _sequence(model: type, office: Unit, year: int) -> int:
    Unit.objects.select_for_update().filter(pk=office.pk).first()  # numbers one at a time
    found = model.objects.filter(office=office, year=year).aggregate(n=Max("sequence"))["n"]
    return (found or 0) + 1


@transaction.atomic
def issue_letter(
    principal: Principal,
    case: Case,
    *,
    due_at: datetime | None = None,
    template: LetterTemplate | None = None,
) -> tuple[Letter, bool]:
    """函询 for a confirmed case: the text from the template, a number, a deadline; the
    unit is told. A case has one letter; asking again returns it."""
    case = _locked_case(case)
    if not selectors.may_decide(principal, case):
        raise PermissionDenied("只有上级单位的值班员或领导可以发出函询")
    existing = Letter.objects.filter(case=case).first()
    if existing is not None:
        return existing, False
    errors: dict[str, list[str]] = {}
    if case.state != CaseState.CONFIRMED:
        errors["case"] = ["只有已确认的问题才能函询"]
    template = template or default_template()
    moment = clock.now()
    due_at = due_at or moment + timedelta(days=template.answer_days)
    if due_at <= moment:
        errors["due_at"] = ["答复期限须晚于当前时间"]
    if errors:
        raise ValidationError(errors)
    office = _issuing_office(principal, case)
    year = timezone.localtime(moment).year
    sequence = _sequence(Letter, office, year)
    number = f"{office.short_name or office.name}函〔{year}〕{sequence}号"
    event = case.event
    values = {
        "单位": case.unit.name,
        "发函单位": office.name,
        "文号": number,
        "事件": event.title,
        "事件时间": when_text(event.occurred_at),
        "事件地点": event.place or event.division_code,
        "问题": case.get_kind_display(),
        "情况": case.summary,
        "答复期限": when_text(due_at),
    }
    letter = Letter.objects.create(
        case=case,
        unit=case.unit,
        office=office,
        year=year,
        sequence=sequence,
        number=number,
        title=render_template(template.title, values)[:200],
        body=render_template(template.body, values),
        issued_by_id=principal.person_id,
        issued_at=moment,
        due_at=due_at,
    )
    audit_change(principal, "assess.letter.issue", letter, after=snapshot(letter))
    message = {
        "subject": f"函询：{letter.title}",
        "body": f"{office.name}（{number}）。请于{when_text(due_at)}前在系统中书面说明情况"
        "并报送整改措施。",
        "key": f"letter:{letter.pk}:issued",
        "link": letter_link(letter),
        "ref": f"letter:{letter.pk}",
    }
    notify_people(unit_people(case.unit_id), **message)
    notify_unit(case.unit, **message)
    return letter, True


def _locked_letter(letter: Letter) -> Letter:
    return (
        Letter.objects.select_for_update(of=("self",))
        .select_related("case", "case__event", "unit", "office")
        .get(pk=letter.pk)
    )


@transaction.atomic
def answer_letter(
    principal: Principal, letter: Letter, *, explanation: str, measures: str
) -> Letter:
    """The unit's written explanation and rectification measures. The same answer again
    returns the letter unchanged; a different one after answering is refused."""
    letter = _locked_letter(letter)
    if not selectors.may_answer(principal, letter):
        raise PermissionDenied("只有被函询单位的信息员、单位领导或值班员可以答复")
    explanation, measures = (explanation or "").strip(), (measures or "").strip()
    if letter.state == LetterState.ANSWERED:
        if (letter.explanation, letter.measures) == (explanation, measures):
            return letter
        raise ValidationError({"state": ["该函询已答复，不能再修改"]})
    errors: dict[str, list[str]] = {}
    for name, value, label in (
        ("explanation", explanation, "情况说明"),
        ("measures", measures, "整改措施"),
    ):
        if not value:
            errors[name] = [f"{label}为必填项"]
        elif len(value) > TEXT_LIMIT:
            errors[name] = [f"{label}不能超过 {TEXT_LIMIT} 字"]
    if errors:
        raise ValidationError(errors)
    before = snapshot(letter)
    letter.explanation, letter.measures = explanation, measures
    letter.answered_by_id, letter.answered_at = principal.person_id, clock.now()
    letter.state, letter.next_chase_at = LetterState.ANSWERED, None
    letter.save()
    audit_change(principal, "assess.letter.answer", letter, before=before, after=snapshot(letter))
    late = "（逾期答复）" if letter.answered_late else ""
    people = [*_office_duty(letter.office)]
    if letter.issued_by_id:
        people += list(Person.objects.filter(pk=letter.issued_by_id, is_active=True))
    notify_people(
        people,
        subject=f"函询已答复{late}：{letter.unit.name}",
        body=f"{letter.number} {letter.title}。{letter.unit.name}已答复{late}。",
        key=f"letter:{letter.pk}:answered",
        link=letter_link(letter),
        ref=f"letter:{letter.pk}",
    )
    return letter


def chase_letters(batch: int = 100) -> int:
    """One loop step: letters past their deadline become overdue and the unit (and its
    leaders) is chased, then again every FENGHUO_ASSESS_LETTER_CHASE_HOURS until it
    answers. Conditional updates keep a rerun from chasing twice."""
    moment = clock.now()
    interval = timedelta(
        hours=getattr(settings, "FENGHUO_ASSESS_LETTER_CHASE_HOURS", LETTER_CHASE_HOURS)
    )
    due = Q(state=LetterState.SENT, due_at__lte=moment) | Q(
        state=LetterState.OVERDUE, next_chase_at__lte=moment
    )
    if not Letter.objects.filter(due).exists():
        return 0
    with transaction.atomic():
        rows = list(
            Letter.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(due)
            .select_related("unit", "office", "case__event")
            .order_by("due_at", "pk")[:batch]
        )
        for letter in rows:
            chase = letter.chases + 1
            changed = Letter.objects.filter(
                pk=letter.pk, chases=letter.chases, answered_at__isnull=True
            ).update(
                state=LetterState.OVERDUE,
                overdue_at=letter.overdue_at or moment,
                chases=chase,
                next_chase_at=moment + interval,
            )
            if not changed:
                continue
            message = {
                "subject": f"【催办】函询逾期未答复：{letter.title}",
                "body": f"{letter.number}答复期限为{when_text(letter.due_at)}，至今未答复"
                f"（第 {chase} 次催办）。请尽快在系统中答复。",
                "key": f"letter:{letter.pk}:chase:{chase}",
                "link": letter_link(letter),
                "ref": f"letter:{letter.pk}",
                "urgent": True,
            }
            notify_people(unit_people(letter.unit_id), **message)
            notify_unit(letter.unit, **message)
    return len(rows)


# --- bulletins (通报) ------------------------------------------------------------------------


def counted_case_rows(office: Unit, period: Period) -> list[dict[str, Any]]:
    """The counted cases of the units below `office` in the period (the bulletin's list)."""
    start, end = period.bounds()
    cases = (
        selectors.counted_cases()
        .filter(unit__path__startswith=office.path, at__gte=start, at__lt=end)
        .exclude(unit=office)
        .exclude(state__in=(CaseState.DISMISSED, CaseState.MERGED))
        .exclude(kind=CaseKind.CONCEALED, state=CaseState.OPEN)
        .select_related("unit", "event")
        .order_by("unit__path", "at", "pk")
    )
    return [
        {
            "case_id": c.pk,
            "unit_id": c.unit_id,
            "unit": c.unit.name,
            "kind": c.kind,
            "kind_label": c.kind_label,
            "event_title": c.event.title,
            "at": c.at.isoformat(),
            "summary": c.summary,
            "state_label": c.get_state_display(),
        }
        for c in cases
    ]


def office_findings(office: Unit, period: Period) -> list[Finding]:
    """Findings with an event in the period, all of whose events lie in the office's area."""
    start, end = period.bounds()
    found = []
    findings = (
        selectors.counted_findings()
        .filter(links__event__occurred_at__gte=start, links__event__occurred_at__lt=end)
        .exclude(state=FindingState.DISMISSED)
        .distinct()
        .select_related("category")
        .order_by("-last_at", "pk")
    )
    for finding in findings:
        codes = finding.links.values_list("event__division_code", flat=True)
        if all(covers(office, code) >= 0 for code in codes):
            found.append(finding)
    return found


def finding_row(finding: Finding) -> dict[str, Any]:
    return {
        "finding_id": finding.pk,
        "kind_label": finding.get_kind_display(),
        "title": finding.title,
        "category": finding.category.name,
        "place": finding.place_label,
        "count": finding.event_count,
        "first_at": finding.first_at.isoformat(),
        "last_at": finding.last_at.isoformat(),
        "state_label": finding.get_state_display(),
    }


@transaction.atomic
def create_bulletin(principal: Principal, *, office: Unit, period: Period) -> Bulletin:
    """Freeze the period's ranking of the units below `office`, with the counted cases and
    the findings in its area, as a numbered bulletin (not yet circulated)."""
    if not selectors.may_make_bulletin(principal, office):
        raise PermissionDenied("只有本单位的值班员或领导可以制作通报")
    if not Unit.objects.filter(path__startswith=office.path).exclude(pk=office.pk).exists():
        raise ValidationError({"office": ["该单位没有下级单位，无可通报的排名"]})
    moment = clock.now()
    rows = metrics.ranking(office, period)
    year = timezone.localtime(moment).year
    sequence = _sequence(Bulletin, office, year)
    bulletin = Bulletin.objects.create(
        office=office,
        period_start=period.start,
        period_end=period.end,
        period_label=period.label,
        year=year,
        sequence=sequence,
        title=f"关于{period.label}紧急信息报送情况的通报",
        rows=[r.as_dict() for r in rows],
        cases=counted_case_rows(office, period),
        findings=[finding_row(f) for f in office_findings(office, period)],
        computed_at=moment,
        created_by_id=principal.person_id,
        created_at=moment,
    )
    BulletinRecipient.objects.bulk_create(
        BulletinRecipient(bulletin=bulletin, unit_id=r.unit_id) for r in rows
    )
    audit_change(
        principal,
        "assess.bulletin.create",
        bulletin,
        after={**snapshot(bulletin), "rows": len(rows)},
    )
    return bulletin


@transaction.atomic
def circulate(principal: Principal, bulletin: Bulletin) -> Bulletin:
    """印发: every ranked unit (its people and robots) is told, through the outbox.
    Circulating again changes nothing."""
    bulletin = (
        Bulletin.objects.select_for_update(of=("self",))
        .select_related("office")
        .get(pk=bulletin.pk)
    )
    if not selectors.may_make_bulletin(principal, bulletin.office):
        raise PermissionDenied("只有本单位的值班员或领导可以印发通报")
    if bulletin.circulated_at is not None:
        return bulletin
    before = snapshot(bulletin)
    bulletin.circulated_at, bulletin.circulated_by_id = clock.now(), principal.person_id
    bulletin.save(update_fields=["circulated_at", "circulated_by"])
    audit_change(
        principal, "assess.bulletin.circulate", bulletin, before=before, after=snapshot(bulletin)
    )
    link = reverse("assess-bulletin", args=[bulletin.pk])
    ranks = {row["unit_id"]: row for row in bulletin.rows}
    units = Unit.objects.filter(pk__in=bulletin.recipients.values("unit_id"))
    for unit in units:
        row = ranks.get(unit.pk, {})
        place = f"你单位排名第 {row['rank']} 位，总分 {row['score']}。" if row.get("rank") else ""
        message = {
            "subject": f"通报：{bulletin.title}",
            "body": f"{bulletin.office.name}{bulletin.year}年第{bulletin.sequence}期通报"
            f"（{bulletin.period_label}）已印发。{place}",
            "key": f"bulletin:{bulletin.pk}:unit:{unit.pk}",
            "link": link,
            "ref": f"bulletin:{bulletin.pk}",
        }
        notify_people(unit_people(unit.pk), **message)
        notify_unit(unit, **message)
    return bulletin


# --- pattern analysis (串并分析) -------------------------------------------------------------


def event_text_reports(event: Event, *fields: str) -> list[Report]:
    """The reports whose words stand for the event: submitted, at most 内部 (a 敏感
    report's words never reach another reader through a finding or a similarity). With
    `fields`, only those are loaded (a major incident's event has hundreds of reports)."""
    reports = Report.objects.filter(
        event=event,
        status=ReportStatus.SUBMITTED,
        confidentiality__lte=Confidentiality.INTERNAL,
    ).order_by("received_at", "pk")
    return list(reports.only(*fields) if fields else reports)


def queue_event(event: Event) -> None:
    """A report entered the event: analyse it again (the loop recomputes its key and
    words). One UPDATE in the filing transaction; an event without a key yet is found by
    the loop anyway."""
    EventKey.objects.filter(event=event).update(analysed_at=None, queued_at=clock.now())


def key_values(event: Event) -> dict[str, Any]:
    """The event's place key and words, computed from its text (segmentation: kept out of
    any write transaction)."""
    reports = event_text_reports(event)
    place = event.place or next((r.place for r in reports if r.place), "")
    found = patterns.place_of(
        place, event.division_code, section_km=pattern_settings()["road_section_km"]
    )
    words = patterns.words_of(
        event.title, place, *(r.title for r in reports), *(r.narrative for r in reports)
    )
    return {
        "place_kind": found.kind,
        "place_key": found.key[:120],
        "place_label": found.label[:200],
        "words": words,
    }


def _top_q(category: Any, prefix: str = "event__") -> Q:
    top = category.parent if category.parent_id else category
    return Q(**{f"{prefix}category": top}) | Q(**{f"{prefix}category__parent": top})


@dataclass(frozen=True)
class FindingPlan:
    """A finding to record: its kind, the event analysed, the events it links (with their
    similarity for a text finding), its place and its words."""

    kind: str
    event: Event
    group: dict[int, float | None]
    place: tuple[str, str, str]
    title: str
    summary: str


def analyse_patterns(batch: int = 50) -> int:
    """One loop step: key the counted events that have no key yet, then analyse queued
    events for recurring places and similar texts. The reading, segmenting and comparing
    happen outside any transaction; each event's findings are then recorded in a short
    one that claims it (a conditional update: another worker, or a newer report that
    queued it again, makes the claim fail and nothing is recorded twice)."""
    unkeyed = list(
        selectors.counted_events()
        .filter(assess_key__isnull=True, reports__status=ReportStatus.SUBMITTED)
        .distinct()
        .order_by("-occurred_at")[:batch]
    )
    for event in unkeyed:
        values = key_values(event)
        with transaction.atomic():
            EventKey.objects.update_or_create(
                event=event, defaults={**values, "queued_at": clock.now(), "analysed_at": None}
            )
    queued = list(
        EventKey.objects.filter(analysed_at__isnull=True)
        .select_related("event", "event__category", "event__category__parent")
        .order_by("queued_at", "pk")[:batch]
    )
    counted = set(
        selectors.counted_events()
        .filter(pk__in=[k.event_id for k in queued])
        .values_list("pk", flat=True)
    )
    handled = 0
    for key in queued:
        stamp, values, plans = key.queued_at, {}, []
        if key.event_id in counted:
            values = key_values(key.event)
            for name, value in values.items():
                setattr(key, name, value)
            plans = [p for p in (_place_plan(key), _text_plan(key)) if p is not None]
        with transaction.atomic():
            claimed = EventKey.objects.filter(
                pk=key.pk, queued_at=stamp, analysed_at__isnull=True
            ).update(**values, analysed_at=clock.now())
            if claimed:
                for plan in plans:
                    _record_finding(plan)
        handled += claimed
    return len(unkeyed) + handled


def _windows(times: list[tuple[datetime, int]], at: datetime, days: int, least: int) -> set[int]:
    """Events of every window of `days` holding at least `least` events and `at`."""
    span = timedelta(days=days)
    group: set[int] = set()
    for i, (start, _) in enumerate(times):
        inside = [(t, pk) for t, pk in times[i:] if t - start <= span]
        if len(inside) >= least and start <= at <= inside[-1][0]:
            group |= {pk for _, pk in inside}
    return group


def _place_plan(key: EventKey) -> FindingPlan | None:
    config = pattern_settings()
    event = key.event
    window = timedelta(days=config["window_days"])
    rows = list(
        EventKey.objects.filter(
            place_key=key.place_key,
            event__category=event.category,
            event__in=selectors.counted_events(),
            event__occurred_at__gte=event.occurred_at - window,
            event__occurred_at__lte=event.occurred_at + window,
        )
        .exclude(event=event)
        .values_list("event__occurred_at", "event_id")
    )
    rows = sorted([*rows, (event.occurred_at, event.pk)])
    group = _windows(rows, event.occurred_at, config["window_days"], config["min_events"])
    if not group:
        return None
    count = len(group)
    return FindingPlan(
        FindingKind.PLACE,
        event,
        {pk: None for pk in group},
        place=(key.place_kind, key.place_key, key.place_label),
        title=f"{key.place_label}：{config['window_days']}日内发生{count}起{event.category.name}",
        summary=f"同一地点（{key.place_label}）{config['window_days']}日内发生同类事件"
        f"（{event.category.name}）{count}起，请分析原因、研究对策。",
    )


def _text_plan(key: EventKey) -> FindingPlan | None:
    config = pattern_settings()
    event = key.event
    window = timedelta(days=config["window_days"])
    candidates = list(
        EventKey.objects.filter(
            _top_q(event.category),
            event__in=selectors.counted_events(),
            event__occurred_at__gte=event.occurred_at - window,
            event__occurred_at__lte=event.occurred_at + window,
        )
        .exclude(event=event)
        .values_list("event_id", "words")[:2000]
    )
    scores = patterns.similarities(key.words, [words for _, words in candidates])
    similar = {
        pk: s
        for (pk, _), s in zip(candidates, scores, strict=True)
        if s >= config["text_threshold"]
    }
    if len(similar) + 1 < config["min_events"]:
        return None
    group = {event.pk: 1.0, **similar}
    covered = Finding.objects.filter(kind=FindingKind.PLACE).exclude(state=FindingState.DISMISSED)
    for finding in covered.filter(links__event=event):
        if set(group) <= set(finding.links.values_list("event_id", flat=True)):
            return None  # the same events are a place finding already
    return FindingPlan(
        FindingKind.TEXT,
        event,
        group,
        place=("", "", ""),
        title=f"相似事件：{event.title}等{len(group)}起",
        summary=f"{config['window_days']}日内{len(group)}起{event.category.top.name}事件"
        "内容相似，可能存在关联，请串并研判。",
    )


def _record_finding(plan: FindingPlan) -> Finding | None:
    """Extend the live finding sharing events with the plan's, or open a new one (unless
    the group adds nothing to a finding people dismissed)."""
    moment = clock.now()
    config = pattern_settings()
    kind, event, group = plan.kind, plan.event, plan.group
    sharing = Finding.objects.filter(kind=kind, links__event_id__in=group).distinct()
    if kind == FindingKind.PLACE:
        sharing = sharing.filter(category=event.category, place_key=plan.place[1])
    live = sharing.exclude(state=FindingState.DISMISSED).order_by("pk").first()
    if live is None:
        dismissed = set(
            FindingEvent.objects.filter(finding__in=sharing).values_list("event_id", flat=True)
        )
        if set(group) <= dismissed:
            return None
        live = Finding.objects.create(
            kind=kind,
            category=event.category,
            place_kind=plan.place[0],
            place_key=plan.place[1],
            place_label=plan.place[2],
            title=plan.title[:200],
            summary=plan.summary,
            window_days=config["window_days"],
            first_at=event.occurred_at,
            last_at=event.occurred_at,
            event_count=0,
            created_at=moment,
            updated_at=moment,
        )
    known = set(live.links.values_list("event_id", flat=True))
    new = [pk for pk in group if pk not in known]
    if not new:
        return live
    FindingEvent.objects.bulk_create(
        [
            FindingEvent(finding=live, event_id=pk, similarity=group[pk], added_at=moment)
            for pk in new
        ],
        ignore_conflicts=True,
    )
    times = Event.objects.filter(finding_links__finding=live).values_list("occurred_at", flat=True)
    changes = {
        "first_at": min(times),
        "last_at": max(times),
        "event_count": live.links.count(),
        "updated_at": moment,
        "title": plan.title[:200] if kind == FindingKind.PLACE else live.title,
        "summary": plan.summary if kind == FindingKind.PLACE else live.summary,
    }
    if known and live.state == FindingState.REVIEWED:
        changes["state"] = FindingState.OPEN  # new events since it was reviewed
    Finding.objects.filter(pk=live.pk).update(**changes)
    return live


@transaction.atomic
def review_finding(
    principal: Principal, finding: Finding, *, state: str, note: str = ""
) -> Finding:
    """研判: a person marks a finding reviewed (with what was found) or unrelated."""
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if not selectors.findings_visible(principal).filter(pk=finding.pk).exists():
        raise PermissionDenied("无权查看该串并分析")
    if not (principal.is_superuser or selectors.evaluating_units(principal)):
        raise PermissionDenied("只有值班员或领导可以研判串并分析")
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if state not in (FindingState.REVIEWED, FindingState.DISMISSED):
        errors["state"] = ["请选择研判结论：已研判或无关联"]
    if not note:
        errors["note"] = ["研判意见为必填项"]
    elif len(note) > TEXT_LIMIT:
        errors["note"] = [f"研判意见不能超过 {TEXT_LIMIT} 字"]
    if errors:
        raise ValidationError(errors)
    if (finding.state, finding.review_note) == (state, note):
        return finding
    before = snapshot(finding)
    finding.state, finding.review_note = state, note
    finding.reviewed_by_id, finding.reviewed_at = principal.person_id, clock.now()
    finding.save(update_fields=["state", "review_note", "reviewed_by", "reviewed_at"])
    audit_change(
        principal, "assess.finding.review", finding, before=before, after=snapshot(finding)
    )
    return finding


def similar_events(principal: Principal, event: Event, limit: int = 5) -> list[tuple[Event, float]]:
    """Events the principal may see that read like `event` (within a year of it)."""
    config = pattern_settings()
    key = EventKey.objects.filter(event=event).first()
    words = (
        key.words
        if key is not None
        else patterns.words_of(
            event.title, event.place, *(r.narrative for r in event_text_reports(event, "narrative"))
        )
    )
    span = timedelta(days=config["similar_days"])
    candidates = list(
        EventKey.objects.filter(
            event__in=selectors.counted_events(),
            event__occurred_at__gte=event.occurred_at - span,
            event__occurred_at__lte=event.occurred_at + span,
        )
        .filter(event__in=events_visible(principal))
        .exclude(event=event)
        .order_by("-event__occurred_at")
        .values_list("event_id", "words")[:1000]
    )
    scores = patterns.similarities(words, [w for _, w in candidates])
    best = sorted(
        (
            (pk, s)
            for (pk, _), s in zip(candidates, scores, strict=True)
            if s >= config["similar_threshold"]
        ),
        key=lambda item: -item[1],
    )[:limit]
    events = Event.objects.in_bulk([pk for pk, _ in best])
    return [(events[pk], s) for pk, s in best if pk in events]


# --- the post-event summary (总结评估) -------------------------------------------------------


ENDED = (EventStatus.ENDED, EventStatus.ARCHIVED)


@transaction.atomic
def save_lessons(principal: Principal, event: Event, lessons: str) -> EventReview:
    if not selectors.may_write_lessons(principal, event):
        raise PermissionDenied("只有事发地上级的值班员或领导可以填写总结评估")
    lessons = (lessons or "").strip()
    errors: dict[str, list[str]] = {}
    if event.status not in ENDED:
        errors["event"] = ["事件结束后才能填写总结评估"]
    if len(lessons) > 20_000:
        errors["lessons"] = ["经验教训不能超过 20000 字"]
    if errors:
        raise ValidationError(errors)
    review = EventReview.objects.select_for_update().filter(event=event).first()
    before = snapshot(review) if review is not None else None
    if review is not None and review.lessons == lessons:
        return review
    if review is None:
        review = EventReview(event=event)
    review.lessons, review.updated_by_id, review.updated_at = (
        lessons,
        principal.person_id,
        clock.now(),
    )
    review.save()
    audit_change(principal, "assess.review.lessons", review, before=before, after=snapshot(review))
    return review


# --- merging events --------------------------------------------------------------------------


def events_merged(source: Event, target: Event) -> None:
    """`source` goes into `target` (inside the merge, before `source` is deleted): its
    duties, cases, finding links and lessons move; target is planned and checked again."""
    for duty in AreaDuty.objects.filter(event=source):
        key = f"area:{target.pk}:{duty.unit_id}"
        if AreaDuty.objects.filter(key=key).exists():
            key = f"{key}:m{duty.pk}"
        AreaDuty.objects.filter(pk=duty.pk).update(event=target, key=key)
    for case in Case.objects.filter(event=source):
        key = f"{case.kind}:{target.pk}:{case.unit_id}"
        if case.kind == CaseKind.CONFIDENTIALITY or Case.objects.filter(key=key).exists():
            key = f"{case.kind}:{target.pk}:{case.unit_id}:m{case.pk}"
        Case.objects.filter(pk=case.pk).update(event=target, key=key)
    for link in FindingEvent.objects.filter(event=source):
        if FindingEvent.objects.filter(finding_id=link.finding_id, event=target).exists():
            link.delete()
        else:
            FindingEvent.objects.filter(pk=link.pk).update(event=target)
    FigureCheck.objects.filter(event=source).delete()  # checked again below, on target
    moved = EventReview.objects.filter(event=source).first()
    if moved is not None:
        kept = EventReview.objects.filter(event=target).first()
        if kept is None:
            EventReview.objects.filter(pk=moved.pk).update(event=target)
        else:
            kept.lessons = f"{kept.lessons}\n{moved.lessons}".strip()
            kept.save(update_fields=["lessons"])
    for report in selectors.counted_reports().filter(event=target).select_related("unit"):
        report_entered(report, target)
    plan_area_duties(target)
    check_figures(target)
    queue_event(target)
