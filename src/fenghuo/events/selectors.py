"""Reads of events and reports, each through the access policy."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Window
from django.db.models.functions import FirstValue, RowNumber

from fenghuo.core import clock
from fenghuo.core.sandbox import DrillFilter, drill_q, same_as
from fenghuo.events import matching
from fenghuo.events.models import (
    FIGURES,
    Attachment,
    Consultation,
    Event,
    MergeCandidate,
    Report,
    ReportStatus,
    TimelineEntry,
    VerificationTask,
)
from fenghuo.org.models import Role, Unit
from fenghuo.org.policy import CLEARANCE, Action, Facts, Principal, can, visible_q


def facts_of_report(report: Report) -> Facts:
    return Facts(
        owner_unit_id=report.unit_id,
        owner_unit_path=report.unit.path,
        mark=report.confidentiality,
        author_id=report.created_by_id,
    )


def reports_visible(principal: Principal) -> QuerySet[Report]:
    return Report.objects.filter(
        visible_q(principal, owner="unit", mark="confidentiality", author="created_by")
        | invited_q(principal)
    )


def can_view_report(principal: Principal, report: Report) -> bool:
    return (
        can(principal, Action.VIEW, facts_of_report(report))
        or Report.objects.filter(invited_q(principal), pk=report.pk).exists()
    )


def attachments_visible(principal: Principal) -> QuerySet[Attachment]:
    """Attachments are read with their report's clearance, never on their own."""
    return Attachment.objects.filter(report__in=reports_visible(principal)).select_related("report")


def events_visible(principal: Principal) -> QuerySet[Event]:
    """An event is visible to whoever may see at least one of its reports."""
    return Event.objects.filter(Exists(reports_visible(principal).filter(event=OuterRef("pk"))))


def event_reports(principal: Principal, event: Event) -> QuerySet[Report]:
    """The reports of `event` this principal may read, in the order they arrived."""
    return (
        reports_visible(principal)
        .filter(event=event)
        .select_related("unit", "category", "created_by", "previous")
        .order_by("received_at", "pk")
    )


_ACCOUNT_FIELDS = (
    "category_id",
    "occurred_at",
    "division_code",
    "place",
    "title",
    "narrative",
    "latitude",
    "longitude",
)


def report_facts(report: Report) -> matching.Facts:
    account = matching.Account(*(getattr(report, name) for name in _ACCOUNT_FIELDS))
    return matching.Facts.of(report.category.top.pk, [account])


def event_facts_for_matching(
    occurred_at: datetime, category_top_id: int, *, like: Any = None
) -> dict[int, matching.Facts]:
    """Open events near `occurred_at` in the same top-level category, each with what every
    one of its submitted reports says (category, time, area, place, title, narrative).
    Only events of the same kind as `like` (a report; real when None) are candidates: real
    with real, a drill run's with its own, so drill reports never merge into real events."""
    window = matching.CANDIDATE_WINDOW
    # An event whose reports are all gone still has its own title and place.
    own = {
        pk: [matching.Account(category, at, division, place, title, "", latitude, longitude)]
        for pk, category, at, division, place, title, latitude, longitude in Event.objects.filter(
            same_as(like),
            Q(category_id=category_top_id) | Q(category__parent_id=category_top_id),
            occurred_at__gte=occurred_at - window,
            occurred_at__lte=occurred_at + window,
        )
        .exclude(status__in=["archived", "false"])
        .values_list("pk", *_ACCOUNT_FIELDS[:5], "latitude", "longitude")
    }
    accounts: dict[int, list[matching.Account]] = {pk: [] for pk in own}
    for event_id, *values in (
        Report.objects.filter(event_id__in=own, status=ReportStatus.SUBMITTED)
        .order_by("received_at", "pk")
        .values_list("event_id", *_ACCOUNT_FIELDS)
    ):
        accounts[event_id].append(matching.Account(*values))
    return {pk: matching.Facts.of(category_top_id, accounts[pk] or own[pk]) for pk in own}


@dataclass(frozen=True)
class SourceFigures:
    """The latest figures one unit reported for an event."""

    unit: Unit
    report: Report
    values: dict[str, int | Decimal | None]


@dataclass(frozen=True)
class FiguresTable:
    sources: list[SourceFigures]
    current: dict[str, int | Decimal | None]
    basis: dict[str, str]  # figure → which rule chose the current value
    conflicts: dict[str, list[tuple[str, int | Decimal]]]  # figure → [(unit name, value)]


def figures_table(event: Event, reports: list[Report]) -> FiguresTable:
    """Figures per source unit, the current figures and the conflicts between units.

    Current value per figure, by the stated rule: verified (核实数) > the latest from the
    responsible department (e.g. 卫生健康 for a health event) > the highest reported.
    Conflicts are shown side by side, never resolved silently.
    """
    latest: dict[int, Report] = {}
    for report in reports:
        if report.status == ReportStatus.SUBMITTED:
            latest[report.unit_id] = report  # reports arrive ordered by received_at
    sources = [
        SourceFigures(r.unit, r, {name: getattr(r, name) for name in FIGURES})
        for r in latest.values()
    ]
    conflicts: dict[str, list[tuple[str, int | Decimal]]] = {}
    for name in FIGURES:
        reported = [(s.unit, s.values[name]) for s in sources if s.values[name] is not None]
        if len({value for _, value in reported}) > 1:
            conflicts[name] = [(unit.name, value) for unit, value in reported]
    current, basis = _current_figures(event, [(s.unit.kind_id, s.values) for s in sources])
    return FiguresTable(sources, current, basis, conflicts)


def current_figures(event: Event) -> dict[str, int | Decimal | None]:
    """`figures_table(event, latest_per_unit(event)).current` without building a model per
    unit: grading reads it on every report, and a major incident's event has a source unit
    for each of its hundreds of reporting points."""
    rows = _latest_per_unit(event, None).values_list("unit__kind_id", *FIGURES)
    sources = [(kind, dict(zip(FIGURES, values, strict=True))) for kind, *values in rows]
    return _current_figures(event, sources)[0]


def _current_figures(
    event: Event, sources: list[tuple[int | None, dict[str, int | Decimal | None]]]
) -> tuple[dict[str, int | Decimal | None], dict[str, str]]:
    """The rule, over each source unit's (kind, latest figures) in the order they first
    reported: the current value of each figure and which part of the rule chose it."""
    responsible_kind = event.category.responsible_kind_id or (
        event.category.parent.responsible_kind_id if event.category.parent_id else None
    )
    current: dict[str, int | Decimal | None] = {}
    basis: dict[str, str] = {}
    for name in FIGURES:
        reported = [(kind, values[name]) for kind, values in sources if values[name] is not None]
        verified = getattr(event, f"verified_{name}")
        responsible = [v for kind, v in reported if kind == responsible_kind]
        if verified is not None:
            current[name], basis[name] = verified, "核实数"
        elif responsible:
            current[name], basis[name] = responsible[-1], "主管部门最新报送"
        elif reported:
            current[name], basis[name] = max(v for _, v in reported), "各单位报送最高值"
        else:
            current[name], basis[name] = None, "尚无数据"
    return current, basis


def latest_per_unit(event: Event, reports: QuerySet[Report] | None = None) -> list[Report]:
    """Each unit's latest submitted report on `event` (of `reports`, e.g. those a reader
    may see; all by default), the units in the order they first reported: all
    `figures_table` reads, without loading every report of a big event (the event page
    shows a long chain in part). Only what the figures table shows of each report is
    loaded (its kind, number and time; its unit): a major incident's event has hundreds of
    source units, and their narratives are read elsewhere."""
    return list(
        _latest_per_unit(event, reports)
        .select_related(None)
        .select_related("unit")
        .only("unit", "event_id", "kind", "sequence", "status", "received_at", *FIGURES)
    )


def _latest_per_unit(event: Event, reports: QuerySet[Report] | None) -> QuerySet[Report]:
    arrival = [F("received_at").asc(), F("pk").asc()]
    by_unit = {"partition_by": F("unit_id")}
    base = Report.objects.all() if reports is None else reports
    return (
        base.filter(event=event, status=ReportStatus.SUBMITTED)
        .annotate(
            newest=Window(
                RowNumber(), order_by=[F("received_at").desc(), F("pk").desc()], **by_unit
            ),
            first_at=Window(FirstValue("received_at"), order_by=arrival, **by_unit),
            first_pk=Window(FirstValue("pk"), order_by=arrival, **by_unit),
        )
        .filter(newest=1)
        .order_by("first_at", "first_pk")
    )


def merge_queue(principal: Principal, *, drill: DrillFilter = False) -> QuerySet[MergeCandidate]:
    """Pending "可能是同一事件" decisions about reports the principal may see (real ones
    unless `drill` asks for a drill's: those are decided on the drill's page)."""
    return (
        MergeCandidate.objects.filter(
            drill_q(drill, "report__"),
            decision=MergeCandidate.Decision.PENDING,
            report__in=reports_visible(principal),
        )
        .select_related("report", "report__unit", "candidate")
        .order_by("-score")
    )


# --- Verification (核实) and consultation (会商) ------------------------------------------

# Who speaks for a unit when it is asked to verify or consult: its 信息员, 单位领导 and
# 值班员 (not its administrators, not experts who happen to sit in it).
ANSWERING_ROLES = (Role.REPORTER, Role.UNIT_LEADER, Role.DUTY_OFFICER)


def _answering_grants(principal: Principal):
    return [g for g in principal.grants if g.role in ANSWERING_ROLES]


def invited_q(principal: Principal) -> Q:
    """Reports that an open request puts in front of the principal, beyond the policy's
    unit scope: every report of an event under open consultation, for the experts and the
    departments invited; the report a unit is asked to verify, while the task is open.

    Each still within the reader's clearance (an expert's is 内部): being asked a question
    does not lift the confidentiality mark. Access ends when the consultation is closed or
    the verification answered.
    """
    q = Q(pk__in=[])
    open_consultations = Consultation.objects.filter(closed_at__isnull=True)
    if principal.person_id is not None:
        q |= Q(
            event_id__in=open_consultations.filter(experts=principal.person_id).values("event_id"),
            confidentiality__lte=CLEARANCE[Role.EXPERT],
        )
    for g in _answering_grants(principal):
        q |= Q(
            event_id__in=open_consultations.filter(units=g.unit_id).values("event_id"),
            confidentiality__lte=CLEARANCE[g.role],
        )
        q |= Q(
            pk__in=VerificationTask.objects.filter(
                assignee_unit_id=g.unit_id, state=VerificationTask.State.OPEN
            ).values("report_id"),
            confidentiality__lte=CLEARANCE[g.role],
        )
    return q


def verifications_assigned(principal: Principal) -> QuerySet[VerificationTask]:
    """Verification tasks addressed to the units this principal answers for."""
    units = {g.unit_id for g in _answering_grants(principal)}
    return VerificationTask.objects.filter(assignee_unit_id__in=units).select_related(
        "event", "assignee_unit", "requested_by", "answered_by"
    )


def verifications_visible(principal: Principal) -> QuerySet[VerificationTask]:
    """Tasks assigned to the principal's units, asked by the principal, or on events the
    principal may see."""
    q = Q(assignee_unit_id__in={g.unit_id for g in _answering_grants(principal)})
    q |= Q(event__in=events_visible(principal))
    if principal.person_id is not None:
        q |= Q(requested_by_id=principal.person_id)
    return VerificationTask.objects.filter(q).select_related(
        "event", "assignee_unit", "requested_by", "answered_by"
    )


def overdue_verifications(principal: Principal) -> QuerySet[VerificationTask]:
    """Open tasks past their deadline (by `core.clock`), among those the principal sees."""
    return verifications_visible(principal).filter(
        state=VerificationTask.State.OPEN, due_at__lt=clock.now()
    )


def consultations_invited(principal: Principal) -> QuerySet[Consultation]:
    """Consultations the principal is asked to answer: as an expert, or for a unit."""
    q = Q(units__in={g.unit_id for g in _answering_grants(principal)})
    if principal.person_id is not None:
        q |= Q(experts=principal.person_id)
    return Consultation.objects.filter(
        pk__in=Consultation.objects.filter(q).values("pk")
    ).select_related("event", "requested_by")


def consultations_visible(principal: Principal) -> QuerySet[Consultation]:
    """Consultations the principal is invited to, asked for, or sees the event of."""
    q = Q(pk__in=consultations_invited(principal).values("pk"))
    q |= Q(event__in=events_visible(principal))
    if principal.person_id is not None:
        q |= Q(requested_by_id=principal.person_id)
    return Consultation.objects.filter(q).select_related("event", "requested_by")


# --- Pages (event list and event page) ---------------------------------------------------


def event_timeline(principal: Principal, event: Event) -> QuerySet:
    """The event's one ordered record, leaving out the lines about reports the reader may
    not see (their titles would tell what the reports say)."""
    return (
        TimelineEntry.objects.filter(event=event)
        .filter(Q(report__isnull=True) | Q(report__in=reports_visible(principal)))
        .order_by("at", "pk")
    )


def event_report_stats(principal: Principal, event_ids: list[int]) -> dict[int, dict]:
    """Per event: how many submitted reports the reader may see, and when the latest came."""
    rows = (
        reports_visible(principal)
        .filter(event_id__in=event_ids, status=ReportStatus.SUBMITTED)
        .values("event_id")
        .annotate(count=Count("pk"), latest=Max("received_at"))
        .order_by()
    )
    return {row["event_id"]: row for row in rows}
