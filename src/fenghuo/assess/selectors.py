"""Reads of evaluation, cases, letters, bulletins and findings, each through the policy.

**What counts.** Every figure is fed by the `counted_*` selectors below and by nothing
else; they all start from `counted_events()`. Drill events (`Event.is_drill`) are left out
there, and only there, so no drill ever reaches a statistic, a ranking, a bulletin, a case
or a finding (the signal receivers ask the same question before opening anything). Events
found false (不实（谣言）) are left out too: nobody is late with, or missed, an event that did
not happen.

**Who reads what** (all through `org.policy.visible_q` or the event visibility of
`events.selectors`):
- a unit's figures, scorecard, area duties and cases: whoever has the unit in scope
  (信息员 their own unit; other roles their unit and below; 专家 nothing); a case also
  the office evaluating it (its `office`) and the person who recorded it;
- a letter: like its case (the unit and above, and the issuing office);
- a bulletin: the issuing office and above; once circulated, also the people of the
  units it ranks;
- a finding: whoever may see every one of its events (a finding never tells of an event
  its reader may not see);
- a ranking: offices where the reader holds a working role (not 信息员, 专家, 舆情分析员)
  and that have units below them; only the units the reader may see are ranked.

**Who acts.** Confirming or dismissing a case, issuing a letter, making and circulating
a bulletin, reviewing a finding: an evaluator (值班员, 单位领导, 领导小组组长, 副组长,
办公室) of a unit above the unit concerned (never the unit itself), or of the bulletin's
office. Answering a letter: the unit's 信息员, 单位领导 or 值班员. Marking a report as
采用: a 值班员 of a receiving office above the reporting unit who may read the report.
Writing an ended event's lessons: a 值班员 or leader at or above a unit that reported it.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from fenghuo.assess.models import (
    Adoption,
    AreaDuty,
    Bulletin,
    BulletinRecipient,
    Case,
    DutyState,
    EventReview,
    FigureCheck,
    Finding,
    FindingEvent,
    Letter,
)
from fenghuo.escalation.models import Obligation, ObligationKind
from fenghuo.escalation.selectors import event_obligations
from fenghuo.events.models import FIGURES, Channel, Event, EventStatus, Report, ReportStatus
from fenghuo.events.selectors import (
    ANSWERING_ROLES,
    event_reports,
    event_timeline,
    events_visible,
    reports_visible,
)
from fenghuo.org.models import Role, Unit
from fenghuo.org.policy import (
    CLEARANCE,
    LEADING_GROUP,
    NO_UNIT_SCOPE,
    SUPERUSER_CLEARANCE,
    Principal,
    visible_q,
)

# Reporting duties that evaluation counts. Receipts (签收) and sign-offs (审签) are steps
# inside an office or a unit, not reports a unit owes upwards; they stay on the desk.
COUNTED_KINDS = (
    ObligationKind.PHONE,
    ObligationKind.WRITTEN,
    ObligationKind.FOLLOWUP,
    ObligationKind.FINAL,
    ObligationKind.VERIFICATION,
)
FOLLOWUP_KINDS = (ObligationKind.FOLLOWUP, ObligationKind.FINAL)
EVALUATOR_ROLES = (
    Role.DUTY_OFFICER,
    Role.UNIT_LEADER,
    Role.GROUP_LEADER,
    Role.GROUP_DEPUTY,
    Role.GROUP_OFFICE,
)
# Roles that read a ranking of the units below them.
RANKING_ROLES = (*EVALUATOR_ROLES, Role.GROUP_MEMBER, Role.ADMIN)
LESSON_ROLES = (Role.DUTY_OFFICER, Role.UNIT_LEADER, *LEADING_GROUP)


# --- what counts ---------------------------------------------------------------------------


def counted_events() -> QuerySet[Event]:
    """The one base of every figure: real events (no drill's) that were not found false."""
    return Event.objects.filter(is_drill=False).exclude(status=EventStatus.FALSE)


def counted_obligations() -> QuerySet[Obligation]:
    return Obligation.objects.filter(event__in=counted_events(), kind__in=COUNTED_KINDS)


def counted_reports() -> QuerySet[Report]:
    """Submitted reports a unit made itself: a clue from opinion monitoring is filed in the
    name of the unit it concerns, but that unit did not report it."""
    return Report.objects.filter(event__in=counted_events(), status=ReportStatus.SUBMITTED).exclude(
        channel=Channel.CLUE
    )


def counted_duties() -> QuerySet[AreaDuty]:
    return AreaDuty.objects.filter(event__in=counted_events()).exclude(state=DutyState.CANCELLED)


def counted_cases() -> QuerySet[Case]:
    return Case.objects.filter(event__in=counted_events())


def counted_checks() -> QuerySet[FigureCheck]:
    return FigureCheck.objects.filter(event__in=counted_events())


def counted_letters() -> QuerySet[Letter]:
    return Letter.objects.filter(case__event__in=counted_events())


def counted_findings() -> QuerySet[Finding]:
    """Findings with no event outside `counted_events()` (an event found false later, or a
    drill, takes its findings out of every count and bulletin)."""
    return Finding.objects.exclude(
        Exists(
            FindingEvent.objects.filter(finding=OuterRef("pk")).exclude(event__in=counted_events())
        )
    )


# --- access ----------------------------------------------------------------------------------


def units_visible(principal: Principal) -> QuerySet[Unit]:
    """Units whose figures the principal may read (the policy's unit scope)."""
    return Unit.objects.filter(visible_q(principal, owner="", mark=None, author=None))


def ranking_offices(principal: Principal) -> QuerySet[Unit]:
    """Offices whose units the principal may rank: where they hold a ranking role and that
    have units below them. A superuser: every top-level unit."""
    if principal.is_superuser:
        ids = set(Unit.get_root_nodes().values_list("pk", flat=True))
    else:
        ids = {g.unit_id for g in principal.grants if g.role in RANKING_ROLES}
    return Unit.objects.filter(pk__in=ids, is_active=True, numchild__gt=0).order_by("path")


def cases_visible(principal: Principal) -> QuerySet[Case]:
    return Case.objects.filter(
        visible_q(principal, owner="unit", mark=None, addressed="office", author="opened_by")
    ).select_related("event", "unit", "office", "decided_by")


def duties_visible(principal: Principal) -> QuerySet[AreaDuty]:
    return AreaDuty.objects.filter(
        visible_q(principal, owner="unit", mark=None, author=None)
    ).select_related("event", "unit")


def letters_visible(principal: Principal) -> QuerySet[Letter]:
    return Letter.objects.filter(
        visible_q(principal, owner="unit", mark=None, addressed="office", author="issued_by")
    ).select_related("case", "case__event", "unit", "office", "issued_by", "answered_by")


def _member_units(principal: Principal) -> set[int]:
    return {g.unit_id for g in principal.grants if g.role not in NO_UNIT_SCOPE}


def bulletins_visible(principal: Principal) -> QuerySet[Bulletin]:
    circulated_to = BulletinRecipient.objects.filter(
        bulletin=OuterRef("pk"), unit_id__in=_member_units(principal)
    )
    return Bulletin.objects.filter(
        visible_q(principal, owner="office", mark="mark", author="created_by")
        | (Q(circulated_at__isnull=False, mark__lte=_clearance(principal)) & Exists(circulated_to))
    ).select_related("office", "created_by", "circulated_by")


def _clearance(principal: Principal) -> int:
    levels = [CLEARANCE[g.role] for g in principal.grants if g.role not in NO_UNIT_SCOPE]
    if principal.is_superuser:
        levels.append(SUPERUSER_CLEARANCE)
    return max(levels, default=-1)


def findings_visible(principal: Principal) -> QuerySet[Finding]:
    """Findings every one of whose events the principal may see."""
    hidden = FindingEvent.objects.filter(finding=OuterRef("pk")).exclude(
        event__in=events_visible(principal)
    )
    return (
        counted_findings()
        .filter(Exists(FindingEvent.objects.filter(finding=OuterRef("pk"))))
        .exclude(Exists(hidden))
        .select_related("category", "reviewed_by")
    )


def finding_events(finding: Finding) -> list[FindingEvent]:
    return list(
        finding.links.select_related("event", "event__category").order_by(
            "event__occurred_at", "pk"
        )
    )


def event_findings(principal: Principal, event: Event) -> QuerySet[Finding]:
    return findings_visible(principal).filter(links__event=event).distinct()


def is_evaluator_of(principal: Principal, unit: Unit) -> bool:
    """Holds an evaluator role at a unit above `unit` (not at `unit` itself)."""
    if principal.is_superuser:
        return True
    return any(
        g.role in EVALUATOR_ROLES and unit.path.startswith(g.unit_path) and g.unit_id != unit.pk
        for g in principal.grants
    )


def may_decide(principal: Principal, case: Case) -> bool:
    return is_evaluator_of(principal, case.unit)


def evaluating_units(principal: Principal) -> set[int]:
    return {g.unit_id for g in principal.grants if g.role in EVALUATOR_ROLES}


def cases_to_decide(principal: Principal) -> QuerySet[Case]:
    """Open cases the principal may confirm or dismiss (for the desk): below a unit where
    they evaluate, oldest first."""
    q = Q(pk__in=[])
    if principal.is_superuser:
        q = Q()
    for g in principal.grants:
        if g.role in EVALUATOR_ROLES:
            q |= Q(unit__path__startswith=g.unit_path) & ~Q(unit_id=g.unit_id)
    return cases_visible(principal).filter(q, state="open").order_by("opened_at", "pk")


def may_answer(principal: Principal, letter: Letter) -> bool:
    return any(g.unit_id == letter.unit_id and g.role in ANSWERING_ROLES for g in principal.grants)


def letters_to_answer(principal: Principal) -> QuerySet[Letter]:
    units = {g.unit_id for g in principal.grants if g.role in ANSWERING_ROLES}
    return (
        letters_visible(principal)
        .filter(unit_id__in=units, answered_at__isnull=True)
        .order_by("due_at", "pk")
    )


def may_make_bulletin(principal: Principal, office: Unit) -> bool:
    if principal.is_superuser:
        return True
    return any(g.unit_id == office.pk and g.role in EVALUATOR_ROLES for g in principal.grants)


def adopting_offices(principal: Principal, report: Report) -> list[Unit]:
    """Receiving offices above the report's unit where the principal is on duty staff,
    nearest first (empty: may not mark it 采用)."""
    if not reports_visible(principal).filter(pk=report.pk).exists():
        return []
    return adopting_offices_of(principal, [report])[report.pk]


def adopting_offices_of(principal: Principal, reports: list[Report]) -> dict[int, list[Unit]]:
    """`adopting_offices` of many reports in one query, by report id. Only for reports the
    caller read through `reports_visible` (their unit selected with them): the event page
    lists hundreds, and a query or two per report was most of its time."""
    duty = [g for g in principal.grants if g.role == Role.DUTY_OFFICER]
    offices = list(
        Unit.objects.filter(pk__in={g.unit_id for g in duty}, is_receiving_office=True).order_by(
            "-path"
        )
    )
    return {
        report.pk: [
            office
            for office in offices
            if report.unit.path.startswith(office.path) and office.pk != report.unit_id
        ]
        for report in reports
    }


def adoptions_of(principal: Principal, event: Event) -> QuerySet[Adoption]:
    return Adoption.objects.filter(
        report__in=reports_visible(principal).filter(event=event)
    ).select_related("office", "adopted_by", "report")


def may_write_lessons(principal: Principal, event: Event) -> bool:
    if not events_visible(principal).filter(pk=event.pk).exists():
        return False
    if principal.is_superuser:
        return True
    paths = list(event.reports.values_list("unit__path", flat=True))
    return any(
        g.role in LESSON_ROLES and any(p.startswith(g.unit_path) for p in paths)
        for g in principal.grants
    )


def event_review(event: Event) -> EventReview | None:
    return EventReview.objects.filter(event=event).select_related("updated_by").first()


ENDED = (EventStatus.ENDED, EventStatus.ARCHIVED)


def figure_rows(event: Event, reports: list[Report]) -> list[tuple[str, list, object]]:
    """Per figure anyone reported or verified: (label, [(unit, first value, latest
    value)], verified value), from the given reports in the order they arrived."""
    by_unit: dict[int, list[Report]] = {}
    for report in reports:
        by_unit.setdefault(report.unit_id, []).append(report)
    rows = []
    for name, label in FIGURES.items():
        per_unit = []
        for unit_reports in by_unit.values():
            values = [getattr(r, name) for r in unit_reports if getattr(r, name) is not None]
            if values:
                per_unit.append((unit_reports[0].unit.name, values[0], values[-1]))
        verified = getattr(event, f"verified_{name}")
        if per_unit or verified is not None:
            rows.append((label, per_unit, verified))
    return rows


def summary_parts(principal: Principal, event: Event) -> dict:
    """What an ended event's summary shows, read with the principal's access: the timeline
    lines they may read, the obligations and area duties they may see, the figures of the
    reports they may read."""
    reports = [r for r in event_reports(principal, event) if r.status == ReportStatus.SUBMITTED]
    return {
        "timeline": list(event_timeline(principal, event)),
        "obligations": list(event_obligations(principal, event).select_related("obliged_unit")),
        "duties": list(duties_visible(principal).filter(event=event).order_by("due_at", "pk")),
        "figures": figure_rows(event, reports),
        "review": event_review(event),
        "author": str(principal),
    }
