"""Reads of events and reports, each through the access policy."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Exists, OuterRef, QuerySet

from fenghuo.events import matching
from fenghuo.events.models import FIGURES, Event, MergeCandidate, Report, ReportStatus
from fenghuo.org.models import Unit
from fenghuo.org.policy import Action, Facts, Principal, can, visible_q


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
    )


def can_view_report(principal: Principal, report: Report) -> bool:
    return can(principal, Action.VIEW, facts_of_report(report))


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


def report_facts(report: Report) -> matching.Facts:
    return matching.Facts.of(
        category_top=report.category.top.pk,
        category=report.category_id,
        occurred_at=report.occurred_at,
        division_code=report.division_code,
        text=f"{report.place} {report.title} {report.narrative}",
        latitude=report.latitude,
        longitude=report.longitude,
    )


def event_facts_for_matching(
    occurred_at: datetime, category_top_id: int
) -> dict[int, matching.Facts]:
    """Open events near `occurred_at` in the same top-level category, with their text."""
    window = matching.CANDIDATE_WINDOW
    events = {
        e.pk: e
        for e in Event.objects.filter(
            occurred_at__gte=occurred_at - window,
            occurred_at__lte=occurred_at + window,
        )
        .exclude(status__in=["archived", "false"])
        .select_related("category")
        if (e.category.parent_id or e.category_id) == category_top_id
    }
    texts: dict[int, list[str]] = {pk: [] for pk in events}
    for event_id, place, title, narrative in Report.objects.filter(
        event_id__in=events, status=ReportStatus.SUBMITTED
    ).values_list("event_id", "place", "title", "narrative"):
        texts[event_id].append(f"{place} {title} {narrative}")
    return {
        pk: matching.Facts.of(
            category_top=category_top_id,
            category=e.category_id,
            occurred_at=e.occurred_at,
            division_code=e.division_code,
            text=" ".join(texts[pk]),
            latitude=e.latitude,
            longitude=e.longitude,
        )
        for pk, e in events.items()
    }


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
    responsible_kind = event.category.responsible_kind_id or (
        event.category.parent.responsible_kind_id if event.category.parent_id else None
    )
    current: dict[str, int | Decimal | None] = {}
    basis: dict[str, str] = {}
    conflicts: dict[str, list[tuple[str, int | Decimal]]] = {}
    for name in FIGURES:
        reported = [(s.unit, s.values[name]) for s in sources if s.values[name] is not None]
        if len({value for _, value in reported}) > 1:
            conflicts[name] = [(unit.name, value) for unit, value in reported]
        verified = getattr(event, f"verified_{name}")
        responsible = [v for unit, v in reported if unit.kind_id == responsible_kind]
        if verified is not None:
            current[name], basis[name] = verified, "核实数"
        elif responsible:
            current[name], basis[name] = responsible[-1], "主管部门最新报送"
        elif reported:
            current[name], basis[name] = max(v for _, v in reported), "各单位报送最高值"
        else:
            current[name], basis[name] = None, "尚无数据"
    return FiguresTable(sources, current, basis, conflicts)


def merge_queue(principal: Principal) -> QuerySet[MergeCandidate]:
    """Pending "可能是同一事件" decisions about reports the principal may see."""
    return (
        MergeCandidate.objects.filter(
            decision=MergeCandidate.Decision.PENDING,
            report__in=reports_visible(principal),
        )
        .select_related("report", "report__unit", "candidate")
        .order_by("-score")
    )
