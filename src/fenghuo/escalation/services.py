"""Every write of grading, routing, sign-off, receipt, obligations and escalation.

The entry points run inside the transaction of the change that causes them (the events
signals, see receivers.py), so a report, its grading, its routes, its obligations and the
outbox rows that announce them commit or roll back together. They stay cheap: a few
queries per report, no network (notifications are outbox rows).
"""

import math
from collections import Counter
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from fenghuo.core import clock
from fenghuo.core.sandbox import marks, owed
from fenghuo.core.services import audit_change, audit_record, snapshot
from fenghuo.criteria.services import Grading, evaluate, facts_from_report
from fenghuo.escalation.models import (
    OPEN_STATES,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    EventGrading,
    Obligation,
    ObligationKind,
    ObligationState,
    Release,
    Route,
    RouteState,
    Trigger,
)
from fenghuo.escalation.selectors import escalation_chains, route_facts
from fenghuo.events.models import (
    Channel,
    Event,
    Report,
    ReportKind,
    ReportStatus,
    TimelineEntry,
    TimelineKind,
    VerificationTask,
)
from fenghuo.events.selectors import current_figures
from fenghuo.notify.services import notify_people, notify_unit
from fenghuo.org.models import AdminLevel, Person, Role, Unit
from fenghuo.org.policy import Action, Facts, Principal, can
from fenghuo.org.selectors import on_duty

# Grade Ⅱ (重大) or above goes at once, without waiting for the unit leader (授权直报).
URGENT_GRADE = 2
# Defaults, each overridable in settings.
SIGNOFF_MINUTES = 30  # FENGHUO_SIGNOFF_MINUTES: time the unit leader has to sign off
MISSED_AFTER_MINUTES = 24 * 60  # FENGHUO_MISSED_AFTER_MINUTES: late → missed (漏报)
BATCH = 500  # rows per transaction in the worker's loop steps
ENDED_STATUSES = ("ended", "archived")


def when_text(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.month}月{local.day}日{local.hour}时{local.minute:02d}分"


def _level_label(level: str) -> str:
    return f"{AdminLevel(level).label}级" if level in AdminLevel.values else level


def _severity(grade: int | None) -> int:
    """Bigger is more serious: Ⅰ → 4 … Ⅳ → 1, no grade → 0."""
    return 5 - grade if grade else 0


def _timeline(event: Event, text: str, principal: Any, report: Report | None = None) -> None:
    TimelineEntry.objects.create(
        event=event,
        at=clock.now(),
        kind=TimelineKind.STATUS,
        text=text,
        actor_name=str(principal) if principal is not None else "系统",
        report=report,
    )


def event_link(event_id: int) -> str:
    return reverse("event-detail", args=[event_id])


# --- grading ------------------------------------------------------------------------------


def _targets(grading: Grading) -> list[dict[str, Any]]:
    return [
        {"level": t.level, "phone_minutes": t.phone_minutes, "written_minutes": t.written_minutes}
        for t in grading.targets
    ]


def grade_event(
    event: Event,
    *,
    trigger: str,
    report: Report | None = None,
    principal: Any = None,
) -> tuple[EventGrading, EventGrading | None]:
    """Evaluate `event` with its current figures (核实数 > responsible department >
    highest reported) and the text of `report` (or its latest report); record the result,
    keep `Event.grade` in step and say on the timeline when the grade is set or changes.
    Returns the new grading and the one before it."""
    previous = EventGrading.objects.filter(event=event).order_by("-at", "-pk").first()
    basis = report or (
        Report.objects.filter(event=event, status=ReportStatus.SUBMITTED)
        .select_related("unit", "category")
        .order_by("-received_at", "-pk")
        .first()
    )
    if basis is None:
        raise ValueError(f"event {event.pk} has no submitted report to grade")
    grading = evaluate(facts_from_report(basis, figures=current_figures(event)))
    row = EventGrading.objects.create(
        event=event,
        at=clock.now(),
        grade=grading.grade,
        label=grading.label,
        reasons=list(grading.reasons),
        targets=_targets(grading),
        followup_hours=grading.followup_hours,
        final_days=grading.final_days,
        attention=grading.attention,
        ruleset=grading.ruleset,
        rule_id=grading.rule_id,
        trigger=trigger,
        trigger_report=report,
    )
    if event.grade != grading.grade:
        event.grade = grading.grade
        Event.objects.filter(pk=event.pk).update(grade=grading.grade)
    if previous is None or (previous.grade, previous.label) != (row.grade, row.label):
        _timeline(event, _grading_text(event, row, previous), principal, report)
    return row, previous


def _grading_text(event: Event, row: EventGrading, previous: EventGrading | None) -> str:
    """定级：… / 定级上调：… → … / 定级下调 (saying what stays owed), then the reasons."""
    if previous is None or _severity(row.grade) == _severity(previous.grade):
        head = f"定级：{row.label}。"
    elif _severity(row.grade) > _severity(previous.grade):
        head = f"定级上调：{previous.label} → {row.label}。"
    else:
        still = Obligation.objects.filter(event=event, state__in=OPEN_STATES).count()
        head = (
            f"定级下调：{previous.label} → {row.label}。已产生的报送义务不撤销"
            f"（尚有 {still} 项未履行）。"
        )
    reasons = [r for r in row.reasons if r != f"定级：{row.label}"]  # the head says it
    return f"{head}{'；'.join(reasons)}。"


# --- offices and obligations -----------------------------------------------------------------


def offices_for(unit: Unit, levels: Iterable[str]) -> dict[str, Unit | None]:
    """The receiving office at each level among `unit` and its ancestors (the nearest one
    when a level has several), None where the tree has none."""
    step = Unit.steplen
    paths = [unit.path[:i] for i in range(step, len(unit.path) + 1, step)]
    found: dict[str, Unit] = {}
    offices = Unit.objects.filter(path__in=paths, is_receiving_office=True, is_active=True)
    for office in offices.order_by("path"):
        found[office.level] = office  # deeper paths come later: the nearest wins
    return {level: found.get(level) for level in levels}


def _minutes_late(due_at: datetime, moment: datetime) -> int:
    return max(0, math.ceil((moment - due_at).total_seconds() / 60))


def _meet(obligations: QuerySet[Obligation], moment: datetime, note: str) -> list[Obligation]:
    """Mark open obligations met at `moment` (minutes late when after due). A missed one
    stays missed (漏报 is a judgement), but records when it was finally met."""
    met = []
    rows = obligations.filter(
        Q(state__in=OPEN_STATES) | Q(state=ObligationState.MISSED, met_at__isnull=True)
    ).select_for_update(of=("self",))
    for obligation in rows:
        if obligation.state != ObligationState.MISSED:
            obligation.state = ObligationState.MET
        obligation.met_at = moment
        obligation.minutes_late = _minutes_late(obligation.due_at, moment)
        obligation.met_note = note[:200]
        obligation.next_step_at = None
        obligation.save(
            update_fields=["state", "met_at", "minutes_late", "met_note", "next_step_at"]
        )
        met.append(obligation)
    return met


def _create(obligations: list[Obligation]) -> list[Obligation]:
    """Insert the obligations whose key is new (creating twice is harmless); the new ones."""
    if not obligations:
        return []
    keys = [o.key for o in obligations]
    existing = set(Obligation.objects.filter(key__in=keys).values_list("key", flat=True))
    fresh = [o for o in obligations if o.key not in existing]
    if fresh:
        # One statement that also sets each pk (RETURNING). A row another transaction
        # inserted since the read above is kept as it is: the update writes its key back.
        Obligation.objects.bulk_create(
            fresh, update_conflicts=True, unique_fields=["key"], update_fields=["key"]
        )
    return fresh


def _report_obligations(
    event: Event,
    unit: Unit,
    row: EventGrading,
    offices: dict[str, Unit | None],
    *,
    base: datetime,
    report: Report | None,
) -> list[Obligation]:
    """What `unit` owes for `event` under grading `row`: phone and written reports to each
    required office, the next follow-up, the final report. Existing ones are kept as they
    are (a lower grade cancels nothing; a higher one adds what is new)."""
    moment = clock.now()
    ruleset = f"（依据{row.ruleset}）" if row.ruleset else ""
    common = {"event": event, "obliged_unit": unit, "report": report, "created_at": moment}

    def due(delta: timedelta) -> datetime:  # shrunk in an accelerated drill (core.sandbox)
        return base + owed(delta, event.drill_tag)

    wanted = []
    for target in row.targets:
        office = offices.get(target["level"])
        if office is None or office.pk == unit.pk:  # an office's own report is there already
            continue
        level = target["level"]
        where = f"{office.name}（{_level_label(level)}）"
        if target["phone_minutes"] is not None:
            minutes = target["phone_minutes"]
            wanted.append(
                Obligation(
                    key=f"phone:{event.pk}:{unit.pk}:{office.pk}",
                    kind=ObligationKind.PHONE,
                    office=office,
                    level=level,
                    due_at=due(timedelta(minutes=minutes)),
                    reason=f"{row.label}：须于 {minutes} 分钟内电话报告{where}{ruleset}",
                    **common,
                )
            )
        minutes = target["written_minutes"]
        wanted.append(
            Obligation(
                key=f"written:{event.pk}:{unit.pk}:{office.pk}",
                kind=ObligationKind.WRITTEN,
                office=office,
                level=level,
                due_at=due(timedelta(minutes=minutes)),
                reason=f"{row.label}：须于 {minutes} 分钟内书面报告{where}{ruleset}",
                **common,
            )
        )
    nearest = next((o for o in offices.values() if o is not None), None)
    counts = dict(
        Report.objects.filter(event=event, unit=unit, status=ReportStatus.SUBMITTED)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    if row.followup_hours and not counts.get(ReportKind.FINAL):
        sequence = counts.get(ReportKind.FOLLOWUP, 0) + 1
        wanted.append(
            Obligation(
                key=f"followup:{event.pk}:{unit.pk}:{sequence}",
                kind=ObligationKind.FOLLOWUP,
                office=nearest,
                sequence=sequence,
                due_at=due(timedelta(hours=row.followup_hours)),
                reason=f"{row.label}：须每 {row.followup_hours} 小时续报一次，直至终报{ruleset}",
                **common,
            )
        )
    if row.final_days:
        wanted.append(
            Obligation(
                key=f"final:{event.pk}:{unit.pk}",
                kind=ObligationKind.FINAL,
                office=nearest,
                due_at=due(timedelta(days=row.final_days)),
                reason=f"{row.label}：须于 {row.final_days} 日内终报{ruleset}",
                **common,
            )
        )
    return _create(wanted)


# --- routing ---------------------------------------------------------------------------------


def _unit_leaders(unit: Unit) -> list[Person]:
    return list(
        Person.objects.filter(
            memberships__unit=unit, memberships__role=Role.UNIT_LEADER, is_active=True
        ).order_by("pk")
    )


def _recording_offices(report: Report) -> set[int]:
    """Offices whose duty officer took this report down by phone (电话接报)."""
    if report.channel != Channel.PHONE or report.created_by_id is None:
        return set()
    return set(
        Unit.objects.filter(
            memberships__person_id=report.created_by_id,
            memberships__role=Role.DUTY_OFFICER,
            is_receiving_office=True,
        ).values_list("pk", flat=True)
    )


def _route_report(
    report: Report,
    row: EventGrading,
    offices: dict[str, Unit | None],
    principal: Any,
    *,
    recorded_by: Collection[int] = (),
) -> list[Route]:
    """Route `report` to every required office it has not gone to yet (but not to an office
    that took it down by phone itself); send at once when it is urgent, already signed off,
    or its unit has no leader; else await sign-off."""
    moment = clock.now()
    existing = {r.office_id: r for r in Route.objects.filter(report=report)}
    # A receiving office's own report has reached its own level: no route to itself.
    targets = [(lv, o) for lv, o in offices.items() if o is not None and o.pk != report.unit_id]
    new = [
        Route(
            report=report,
            office=office,
            level=level,
            state=RouteState.AWAITING_SIGNOFF,
            urgent=report.is_urgent or (row.grade is not None and row.grade <= URGENT_GRADE),
            created_at=moment,
        )
        for level, office in targets
        if office.pk not in existing and office.pk not in recorded_by
    ]
    if not new:
        return []
    skipped = [_level_label(level) for level, office in offices.items() if office is None]
    names = "、".join(r.office.name for r in new)
    who = f"{report.unit.name}{report.kind_label}"
    signed = next((r for r in existing.values() if r.release == Release.SIGNED_OFF), None)
    if signed is not None:
        release, text = Release.SIGNED_OFF, f"报送：{who}已经审签，报送{names}。"
    elif new[0].urgent:
        release = Release.URGENT
        why = "报送人标注紧急" if report.is_urgent else f"{row.label}"
        text = f"授权直报：{who}为紧急信息（{why}），未经审签，直接报送{names}。"
    elif not (leaders := _unit_leaders(report.unit)):
        release = Release.NO_LEADER
        text = f"报送：{report.unit.name}未设审签人，{report.kind_label}直接报送{names}。"
    else:
        release, text = None, f"报送：{who}拟报送{names}，待审签。"
    for route in new:  # a route that leaves now is stored sent: one INSERT, no UPDATE
        if release is not None:
            route.release, route.state, route.sent_at = release, RouteState.SENT, moment
        if signed is not None:
            route.signed_off_by_id = signed.signed_off_by_id
            route.signed_off_at = signed.signed_off_at
    # Sets each route's pk (RETURNING, on PostgreSQL and SQLite alike); `new` keeps the
    # offices it was built with, in the order they were inserted.
    Route.objects.bulk_create(new)
    if skipped:
        text += _skipped_text(skipped)
    _timeline(report.event, text, principal, report)
    if release is None:
        _await_signoff(report, new, row, leaders)
        return new
    if release in (Release.URGENT, Release.NO_LEADER):
        audit_record(
            actor=principal,
            action=f"escalation.report.{'bypass' if release == Release.URGENT else 'no_leader'}",
            object_type="events.report",
            object_id=report.pk,
            after={"release": release, "reason": text, "offices": [r.office_id for r in new]},
        )
    _send(new, row, moment)
    return new


def _skipped_text(levels: list[str]) -> str:
    return f"（{'、'.join(levels)}：组织树中无接报值班室，已跳过）"


def _await_signoff(
    report: Report, routes: list[Route], row: EventGrading, leaders: list[Person]
) -> None:
    moment = clock.now()
    minutes = getattr(settings, "FENGHUO_SIGNOFF_MINUTES", SIGNOFF_MINUTES)
    _create(
        [
            Obligation(
                key=f"signoff:{report.pk}",
                kind=ObligationKind.SIGNOFF,
                event=report.event,
                obliged_unit=report.unit,
                office=report.unit,
                report=report,
                created_at=moment,
                due_at=moment + owed(timedelta(minutes=minutes), report.drill_tag),
                reason=f"{report.kind_label}须经本单位审签后报送（{minutes} 分钟内）",
            )
        ]
    )
    notify_people(
        leaders,
        subject=f"待审签：{report.unit.name}{report.kind_label}（{row.label}）",
        body=f"{report.event.title}。拟报送{'、'.join(r.office.name for r in routes)}，请审签。",
        key=f"signoff:{report.pk}",
        link=event_link(report.event_id),
        ref=f"report:{report.pk}",
        **marks(report),
    )


def _send(routes: list[Route], row: EventGrading | None, moment: datetime) -> None:
    """Routes already stored as sent leave: written reports to those offices are met, each
    office's receipt starts with its escalation chain, and the people on duty are told."""
    chains = escalation_chains([r.office for r in routes])
    report = routes[0].report
    event = report.event
    _meet(
        Obligation.objects.filter(
            event=event,
            obliged_unit=report.unit,
            kind=ObligationKind.WRITTEN,
            office__in=[r.office_id for r in routes],
        ),
        moment,
        f"{report.kind_label}已报送",
    )
    label = row.label if row is not None else ""
    receipts = []
    for route in routes:
        chain = chains[route.office_id]
        steps = chain["steps"]
        receipts.append(
            Obligation(
                key=f"receipt:{route.pk}",
                kind=ObligationKind.RECEIPT,
                event=event,
                obliged_unit=route.office,
                office=route.office,
                level=route.level,
                report=report,
                route=route,
                created_at=moment,
                due_at=moment + owed(timedelta(minutes=chain["receipt_minutes"]), event.drill_tag),
                reason=f"收到{report.unit.name}{report.kind_label}后须于 "
                f"{chain['receipt_minutes']} 分钟内签收（{chain['policy']}）",
                chain={**chain, "started_at": moment.isoformat()},
                next_step_at=moment
                + owed(timedelta(minutes=steps[0]["after_minutes"]), event.drill_tag)
                if steps
                else None,
            )
        )
    _create(receipts)
    for route in routes:
        _announce(route, report, event, label)


def _announce(route: Route, report: Report, event: Event, label: str) -> None:
    office = route.office
    duty = on_duty(office)
    urgent = "【紧急】" if route.urgent else ""
    message = {
        "subject": f"{urgent}待签收：{report.unit.name}{report.kind_label}（{label}）",
        "body": f"{event.title}。{report.unit.name}{report.kind_label}已报送{office.name}，"
        "请签收。",
        "key": f"route:{route.pk}",
        "link": event_link(event.pk),
        "ref": f"route:{route.pk}",
        "urgent": route.urgent,
        **marks(event),
    }
    notify_people([p for p in (duty.primary,) if p is not None], **message)
    notify_unit(office, **message)


# --- the signal entry points -----------------------------------------------------------------


def report_submitted(report: Report, event: Event, principal: Any) -> None:
    """A report entered an event: meet what it fulfils, grade, create what is owed, route."""
    moment = clock.now()
    unit = report.unit
    if report.kind in (ReportKind.FOLLOWUP, ReportKind.FINAL):
        _meet(
            Obligation.objects.filter(event=event, obliged_unit=unit, kind=ObligationKind.FOLLOWUP),
            moment,
            f"已{report.kind_label}",
        )
    if report.kind == ReportKind.FINAL:
        _meet(
            Obligation.objects.filter(event=event, obliged_unit=unit, kind=ObligationKind.FINAL),
            moment,
            "已终报",
        )
    row, previous = grade_event(event, trigger=Trigger.REPORT, report=report, principal=principal)
    offices = offices_for(unit, [t["level"] for t in row.targets])
    created = _report_obligations(event, unit, row, offices, base=report.received_at, report=report)
    recorded_by = _recording_offices(report)
    if recorded_by:
        _meet(
            Obligation.objects.filter(
                event=event, obliged_unit=unit, kind=ObligationKind.PHONE, office__in=recorded_by
            ),
            report.received_at,
            "电话报告（值班室接报记录）",
        )
    _route_report(report, row, offices, principal, recorded_by=recorded_by)
    if previous is not None and _severity(row.grade) > _severity(previous.grade):
        _tell_of_new_obligations(unit, row, created)


def regrade(event: Event, *, trigger: str, principal: Any) -> EventGrading:
    """Grade again after the figures changed or events merged. A higher grade sends the
    event's latest report to the offices newly required and creates what its unit now owes."""
    row, previous = grade_event(event, trigger=trigger, principal=principal)
    if previous is not None and _severity(row.grade) <= _severity(previous.grade):
        return row
    latest = (
        Report.objects.filter(event=event, status=ReportStatus.SUBMITTED)
        .select_related("unit", "event")
        .order_by("-received_at", "-pk")
        .first()
    )
    if latest is None:
        return row
    offices = offices_for(latest.unit, [t["level"] for t in row.targets])
    created = _report_obligations(event, latest.unit, row, offices, base=clock.now(), report=latest)
    _route_report(latest, row, offices, principal)
    _tell_of_new_obligations(latest.unit, row, created)
    return row


def _tell_of_new_obligations(unit: Unit, row: EventGrading, created: list[Obligation]) -> None:
    duties = [o for o in created if o.kind in (ObligationKind.PHONE, ObligationKind.WRITTEN)]
    if not duties:
        return
    event = duties[0].event
    people = Person.objects.filter(
        memberships__unit=unit,
        memberships__role__in=(Role.REPORTER, Role.UNIT_LEADER),
        is_active=True,
    ).distinct()
    lines = "；".join(f"{o.title}（{when_text(o.due_at)}前）" for o in duties)
    notify_people(
        people,
        subject=f"定级上调为{row.label}：须增报上级",
        body=f"{event.title}。{lines}。",
        key=f"regrade:{row.pk}:{unit.pk}",
        link=event_link(event.pk),
        ref=f"event:{event.pk}",
        urgent=row.grade is not None and row.grade <= URGENT_GRADE,
        **marks(event),
    )


def events_merged(source: Event, target: Event, principal: Any) -> None:
    """`source`'s reports now belong to `target`: so do its obligations and grading
    history; then `target` is graded again with everything it now holds."""
    Obligation.objects.filter(event=source).update(event=target)
    EventGrading.objects.filter(event=source).update(event=target)
    regrade(target, trigger=Trigger.MERGE, principal=principal)


def _requesting_office(task: VerificationTask, principal: Principal) -> Unit | None:
    assignee = task.assignee_unit
    for grant in principal.grants:
        if grant.role == Role.DUTY_OFFICER and assignee.path.startswith(grant.unit_path):
            return Unit.objects.get(pk=grant.unit_id)
    return task.requested_by.unit if task.requested_by_id else None


def verification_requested(task: VerificationTask, principal: Principal) -> None:
    _create(
        [
            Obligation(
                key=f"verification:{task.pk}",
                kind=ObligationKind.VERIFICATION,
                event=task.event,
                obliged_unit=task.assignee_unit,
                office=_requesting_office(task, principal),
                report=task.report,
                task=task,
                created_at=clock.now(),
                due_at=task.due_at,
                reason=f"核实：{task.question[:80]}（时限{when_text(task.due_at)}）",
            )
        ]
    )


def verification_answered(task: VerificationTask, principal: Principal) -> None:
    _meet(
        Obligation.objects.filter(key=f"verification:{task.pk}"),
        task.answered_at or clock.now(),
        f"已答复：{task.get_state_display()}",
    )


# --- people's actions ------------------------------------------------------------------------


def _locked_route(route: Route) -> Route:
    return (
        Route.objects.select_for_update(of=("self",))
        .select_related("report", "report__unit", "report__event", "office")
        .get(pk=route.pk)
    )


@transaction.atomic
def sign_off(principal: Principal, route: Route, note: str = "") -> list[Route]:
    """审签: the unit leader releases the report; every route of it awaiting sign-off
    leaves now. Returns the routes sent."""
    route = _locked_route(route)
    report = route.report
    if not can(principal, Action.SIGN_OFF, route_facts(route)):
        raise PermissionDenied("只有报送单位的单位领导可以审签")
    if principal.person_id is None:
        raise PermissionDenied("审签须由具体人员完成，不能使用接口令牌")
    if route.state != RouteState.AWAITING_SIGNOFF:
        raise ValidationError({"state": ["该报告已审签或无需审签"]})
    moment = clock.now()
    routes = list(
        Route.objects.select_for_update(of=("self",))
        .filter(report=report, state=RouteState.AWAITING_SIGNOFF)
        .select_related("office", "report", "report__unit", "report__event")
        .order_by("pk")
    )
    before = [snapshot(r) for r in routes]
    for r in routes:
        r.release, r.state, r.sent_at = Release.SIGNED_OFF, RouteState.SENT, moment
        r.signed_off_by_id, r.signed_off_at = principal.person_id, moment
        r.report = report
        r.save(update_fields=["release", "state", "sent_at", "signed_off_by", "signed_off_at"])
    row = EventGrading.objects.filter(event_id=report.event_id).order_by("-at", "-pk").first()
    _send(routes, row, moment)
    _meet(Obligation.objects.filter(key=f"signoff:{report.pk}"), moment, f"{principal}审签")
    names = "、".join(r.office.name for r in routes)
    text = f"审签：{principal}审签{report.unit.name}{report.kind_label}，报送{names}。"
    if note.strip():
        text += f"意见：{note.strip()[:200]}"
    _timeline(report.event, text, principal, report)
    for r, old in zip(routes, before, strict=True):
        audit_change(principal, "escalation.route.sign_off", r, before=old, after=snapshot(r))
    return routes


@transaction.atomic
def acknowledge(principal: Principal, route: Route) -> Route:
    """签收: a duty officer of the office confirms receipt. Stops the receipt's escalation
    chain and meets the unit's phone report to this office."""
    route = _locked_route(route)
    if not can(principal, Action.ACKNOWLEDGE, route_facts(route)):
        raise PermissionDenied("只有接报值班室的值班员可以签收")
    if principal.person_id is None:
        raise PermissionDenied("签收须由具体人员完成，不能使用接口令牌")
    if route.state == RouteState.AWAITING_SIGNOFF:
        raise ValidationError({"state": ["该报告尚待报送单位审签，不能签收"]})
    if route.state == RouteState.ACKNOWLEDGED:
        raise ValidationError({"state": ["该报告已签收"]})
    moment = clock.now()
    before = snapshot(route)
    route.state = RouteState.ACKNOWLEDGED
    route.acknowledged_by_id, route.acknowledged_at = principal.person_id, moment
    route.save(update_fields=["state", "acknowledged_by", "acknowledged_at"])
    report = route.report
    _meet(Obligation.objects.filter(key=f"receipt:{route.pk}"), moment, f"{principal}签收")
    _meet(
        Obligation.objects.filter(
            event_id=report.event_id,
            obliged_unit_id=report.unit_id,
            kind=ObligationKind.PHONE,
            office_id=route.office_id,
        ),
        moment,
        f"{route.office.name}已签收",
    )
    minutes = _minutes_late(route.sent_at, moment) if route.sent_at else 0
    _timeline(
        report.event,
        f"签收：{route.office.name}值班员{principal}签收{report.unit.name}{report.kind_label}"
        f"（报送后 {minutes} 分钟）。",
        principal,
        report,
    )
    audit_change(
        principal, "escalation.route.acknowledge", route, before=before, after=snapshot(route)
    )
    return route


# --- escalation policies (admin and API) ----------------------------------------------------


@transaction.atomic
def set_policy(
    principal: Principal,
    office: Unit,
    *,
    receipt_minutes: int,
    steps: list[tuple[int, str]],
    note: str = "",
) -> EscalationPolicy:
    """Replace an office's escalation chain. Receipts already running keep the chain they
    started with (their snapshot)."""
    if not can(
        principal, Action.ADMINISTER, Facts(owner_unit_id=office.pk, owner_unit_path=office.path)
    ):
        raise PermissionDenied("无权修改该值班室的签收升级规则")
    errors: dict[str, list[str]] = {}
    if not office.is_receiving_office:
        errors["office"] = ["只有接报值班室可以设置签收升级规则"]
    if receipt_minutes < 1:
        errors["receipt_minutes"] = ["签收时限须至少 1 分钟"]
    minutes = [m for m, _ in steps]
    if any(m < 1 for m in minutes) or minutes != sorted(minutes):
        errors["steps"] = ["升级步骤的分钟数须为正数，并按先后顺序排列"]
    if any(t not in EscalationTarget.values for _, t in steps):
        errors.setdefault("steps", []).append("未知的通知对象")
    if errors:
        raise ValidationError(errors)
    policy, _ = EscalationPolicy.objects.get_or_create(
        office=office, defaults={"receipt_minutes": receipt_minutes}
    )
    before = {
        **snapshot(policy),
        "steps": list(policy.steps.values_list("after_minutes", "target")),
    }
    policy.receipt_minutes, policy.note = receipt_minutes, note
    policy.save()
    policy.steps.all().delete()
    EscalationStep.objects.bulk_create(
        EscalationStep(policy=policy, after_minutes=m, target=t) for m, t in steps
    )
    audit_change(
        principal,
        "escalation.policy.set",
        policy,
        before=before,
        after={**snapshot(policy), "steps": [list(s) for s in steps]},
    )
    return policy


# --- drill data ------------------------------------------------------------------------------


@transaction.atomic
def close_drill(drill_tag: str, note: str) -> int:
    """A drill run ended: what its units still owe is recorded as not done (漏报 within the
    drill) and its receipts stop escalating, so no deadline loop chases drill work after
    the drill. Only rows of events carrying the tag. Returns how many were closed."""
    if not drill_tag:
        raise ValueError("close_drill needs a drill tag")
    moment = clock.now()
    rows = list(
        Obligation.objects.select_for_update(of=("self",))
        .filter(event__drill_tag=drill_tag, event__is_drill=True, state__in=OPEN_STATES)
        .order_by("pk")
    )
    Obligation.objects.filter(pk__in=[o.pk for o in rows]).update(
        state=ObligationState.MISSED, missed_at=moment, next_step_at=None
    )
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            event_id=event_id,
            at=moment,
            kind=TimelineKind.STATUS,
            text=f"{note}：{count} 项报送义务演练结束时仍未履行，记为未履行。",
            actor_name="系统",
        )
        for event_id, count in Counter(o.event_id for o in rows).items()
    )
    return len(rows)
