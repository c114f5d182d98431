"""Reads of drills, through the access policy.

Who may do what:
- **Directing** (导调: upload scenarios, prepare, start, end and purge runs, see the script
  and the live scoring, set improvement items): a 值班员, 单位领导, leading-group role
  (组长, 副组长, 办公室) or 管理员 of the run's unit or a unit above it. The units a run
  maps must lie within its unit's tree.
- **Participating**: people of a participating unit see that a drill they take part in
  is running, its clock and their own drill work (what the policy lets them see of its
  events, routes, drafts, tasks and messages) — never the script while it runs: the
  expected actions and what comes next stay with the directors. After the end they see
  the results and the report.
- Improvement items: the unit they are assigned to (its working roles) and the directors.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from fenghuo.core import clock
from fenghuo.drills import drilltime
from fenghuo.drills.models import (
    DrillRun,
    Improvement,
    ImprovementState,
    Injection,
    Participant,
    RunState,
    Scenario,
)
from fenghuo.drills.scenario import ScenarioError, bundled, load
from fenghuo.escalation import selectors as escalation_selectors
from fenghuo.events import selectors as event_selectors
from fenghuo.events.models import (
    Channel,
    Event,
    Report,
    ReportStatus,
    TimelineEntry,
    VerificationTask,
)
from fenghuo.notify import selectors as notify_selectors
from fenghuo.opinion import selectors as opinion_selectors
from fenghuo.org.models import Person, Role, Unit
from fenghuo.org.policy import LEADING_GROUP, Principal

DIRECTOR_ROLES = frozenset(
    {Role.DUTY_OFFICER, Role.UNIT_LEADER, Role.ADMIN, *LEADING_GROUP} - {Role.GROUP_MEMBER}
)
# Drafts a duty officer takes down or confirms inside a drill: calls and clues.
DRILL_DRAFT_CHANNELS = (Channel.PHONE, Channel.CLUE, Channel.EMAIL)

_speeds: dict[str, float] = {}


def speed_of(tag: str) -> float:
    """The speed of the run tagged `tag` (fixed when the run is prepared, so cached)."""
    if tag not in _speeds:
        speed = DrillRun.objects.filter(tag=tag).values_list("speed", flat=True).first()
        if speed is None:
            return 1.0
        _speeds[tag] = speed
    return _speeds[tag]


def _director_grants(principal: Principal) -> list:
    return [g for g in principal.grants if g.role in DIRECTOR_ROLES]


def may_direct(principal: Principal, unit: Unit) -> bool:
    """May direct drills run by `unit` (a director role there or above)."""
    return principal.is_superuser or any(
        unit.path.startswith(g.unit_path) for g in _director_grants(principal)
    )


def director_units(principal: Principal) -> QuerySet[Unit]:
    """Units a run may belong to when this principal prepares it."""
    if principal.is_superuser:
        return Unit.objects.filter(is_active=True).order_by("path")
    ids = {g.unit_id for g in _director_grants(principal)}
    return Unit.objects.filter(pk__in=ids, is_active=True).order_by("path")


def _directed_q(principal: Principal) -> Q:
    if principal.is_superuser:
        return Q(pk__isnull=False)
    q = Q(pk__in=[])
    for grant in _director_grants(principal):
        q |= Q(unit__path__startswith=grant.unit_path)
    return q


def _own_units(principal: Principal) -> set[int]:
    return {g.unit_id for g in principal.grants}


def runs_visible(principal: Principal) -> QuerySet[DrillRun]:
    """Runs the principal directs, and those (started) it takes part in, newest first."""
    participating = Q(
        pk__in=Participant.objects.filter(
            unit_id__in=_own_units(principal), simulated=False
        ).values("run_id")
    ) & ~Q(state=RunState.PREPARED)
    return (
        DrillRun.objects.filter(_directed_q(principal) | participating)
        .select_related("unit", "created_by")
        .order_by("-created_at", "-pk")
    )


def is_director(principal: Principal, run: DrillRun) -> bool:
    return may_direct(principal, run.unit)


def may_see_script(principal: Principal, run: DrillRun) -> bool:
    """The injections, expectations and live scores: directors; everyone after the end."""
    return is_director(principal, run) or run.state in (RunState.ENDED, RunState.PURGED)


def participants(run: DrillRun) -> dict[str, Participant]:
    return {p.key: p for p in run.participants.select_related("unit")}


def injections(run: DrillRun) -> QuerySet[Injection]:
    return run.injections.order_by("position")


def running_for(principal: Principal) -> QuerySet[DrillRun]:
    """Running drills the principal directs or takes part in (the desk shows them)."""
    return runs_visible(principal).filter(state=RunState.RUNNING)


def failed_injections(principal: Principal) -> QuerySet[Injection]:
    """Injections of running drills the principal directs that could not be made."""
    return (
        Injection.objects.filter(
            run__in=DrillRun.objects.filter(_directed_q(principal), state=RunState.RUNNING),
            failed=True,
        )
        .select_related("run")
        .order_by("-done_at")
    )


# --- a participant's drill work -------------------------------------------------------------


@dataclass
class Work:
    """What the reader has to do in one drill, read through the other apps' selectors."""

    events: list[Event]
    awaiting_signoff: list[Any]
    awaiting_receipt: list[Any]
    obligations: list[Any]
    drafts: list[Report]
    merge_candidates: list[Any]
    verifications: list[VerificationTask]
    opinion_warnings: list[Any]
    topics: list[Any]
    messages: list[Any]

    @property
    def empty(self) -> bool:
        return not any(vars(self).values())


def drafts_to_confirm(principal: Principal, run: DrillRun) -> QuerySet[Report]:
    """Drill drafts (calls taken, clues) the reader may confirm: a 值班员 of the draft's
    unit or of an office above it."""
    duty_paths = [g.unit_path for g in principal.grants if g.role == Role.DUTY_OFFICER]
    if not duty_paths and not principal.is_superuser:
        return Report.objects.none()
    scope = Q(pk__isnull=False) if principal.is_superuser else Q(pk__in=[])
    for path in duty_paths:
        scope |= Q(unit__path__startswith=path)
    return (
        event_selectors.reports_visible(principal)
        .filter(
            scope,
            drill_tag=run.tag,
            is_drill=True,
            status=ReportStatus.DRAFT,
            channel__in=DRILL_DRAFT_CHANNELS,
        )
        .select_related("unit", "category")
        .order_by("received_at", "pk")
    )


def draft_to_confirm(principal: Principal, run: DrillRun, report_id: int) -> Report | None:
    return drafts_to_confirm(principal, run).filter(pk=report_id).first()


def run_events(principal: Principal, run: DrillRun) -> QuerySet[Event]:
    return (
        event_selectors.events_visible(principal)
        .filter(drill_tag=run.tag, is_drill=True)
        .select_related("category")
        .order_by("occurred_at", "pk")
    )


def work(principal: Principal, person: Person | None, run: DrillRun) -> Work:
    tag = run.tag
    verifications = (
        event_selectors.verifications_assigned(principal)
        .filter(event__drill_tag=tag, state=VerificationTask.State.OPEN)
        .order_by("due_at")
    )
    return Work(
        events=list(run_events(principal, run)),
        awaiting_signoff=list(escalation_selectors.awaiting_signoff(principal, drill=tag)),
        awaiting_receipt=list(escalation_selectors.awaiting_receipt(principal, drill=tag)),
        obligations=list(escalation_selectors.desk_obligations(principal, drill=tag)[:50]),
        drafts=list(drafts_to_confirm(principal, run)),
        merge_candidates=list(
            event_selectors.merge_queue(principal, drill=tag).select_related("report__event")
        ),
        verifications=list(verifications),
        opinion_warnings=list(opinion_selectors.opinion_warnings_visible(principal, drill=tag)),
        topics=list(opinion_selectors.topics_visible(principal, drill=tag)[:20]),
        messages=list(notify_selectors.inbox(person, limit=30, drill=tag)) if person else [],
    )


# --- improvement items ------------------------------------------------------------------------


def improvements_visible(principal: Principal) -> QuerySet[Improvement]:
    """Items of the reader's units, and of the runs the reader directs."""
    q = Q(unit_id__in=_own_units(principal)) | Q(
        run__in=DrillRun.objects.filter(_directed_q(principal))
    )
    return (
        Improvement.objects.filter(q)
        .select_related("run", "unit", "created_by", "done_by")
        .order_by("state", "due_at", "pk")
    )


def may_complete(principal: Principal, item: Improvement) -> bool:
    """The assigned unit's working roles, or a director of the run."""
    working = (Role.REPORTER, Role.UNIT_LEADER, Role.DUTY_OFFICER, *LEADING_GROUP)
    return item.state == ImprovementState.OPEN and (
        any(g.unit_id == item.unit_id and g.role in working for g in principal.grants)
        or is_director(principal, item.run)
    )


def overdue(item: Improvement) -> bool:
    return item.state == ImprovementState.OPEN and item.due_at < clock.now()


# --- the run's timeline -----------------------------------------------------------------------


def timeline(run: DrillRun) -> list[dict[str, Any]]:
    """What happened in the run, in order: the injections made, and every line of its
    events' timelines (reports, gradings, routes, receipts, warnings, responses,
    releases …), each with its drill time. Plain values, so it can be frozen as JSON."""
    items: list[tuple[Any, int, dict[str, Any]]] = []
    for row in run.injections.filter(done_at__isnull=False).order_by("done_at", "position"):
        if row.outcome or row.failed:
            items.append(
                (row.done_at, 0, {"kind": "情况注入", "text": row.note, "failed": row.failed})
            )
    entries = (
        TimelineEntry.objects.filter(event__drill_tag=run.tag, event__is_drill=True)
        .select_related("event")
        .order_by("at", "pk")
    )
    for entry in entries:
        items.append(
            (
                entry.at,
                1,
                {
                    "kind": entry.get_kind_display(),
                    "text": entry.text,
                    "actor": entry.actor_name,
                    "event": entry.event_id,
                },
            )
        )
    items.sort(key=lambda item: (item[0], item[1]))
    return [
        {
            "at": at.isoformat(),
            "minutes": round(drilltime.minutes(run, at), 2),
            "stamp": drilltime.stamp(drilltime.minutes(run, at)),
            **item,
        }
        for at, _order, item in items
    ]


# --- the scenario library ------------------------------------------------------------------


@dataclass
class Entry:
    slug: str
    origin: str  # "bundled" | "uploaded"
    text: str
    spec: Any  # scenario.Scenario, or None when it no longer checks
    problems: list[str]

    @property
    def title(self) -> str:
        return self.spec.title if self.spec else self.slug


def library() -> list[Entry]:
    """The bundled scenarios, then the uploaded ones; each checked again (a category it
    names may have been removed since)."""
    entries = [Entry(b.slug, "bundled", b.text, None, []) for b in bundled()]
    entries += [
        Entry(s.slug, "uploaded", s.source, None, [])
        for s in Scenario.objects.order_by("title", "pk")
    ]
    for entry in entries:
        try:
            entry.spec = load(entry.text)
        except ScenarioError as exc:
            entry.problems = exc.messages
    return entries


def entry(slug: str) -> Entry | None:
    return next((e for e in library() if e.slug == slug), None)
