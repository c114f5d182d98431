"""Scoring a run: each expected action observed in the run's data, each unit scored.

An expectation is met at the first moment the run's data shows the action (its drill
rows, by tag): a route acknowledged by the office, a warning of at least that colour
issued by the unit, a response started at that level or higher … Its clock starts when
its anchor injection was actually made (or at the start), and its time limit is in
drill minutes, so a response time is (done − anchor) × speed.

    on time  done within the limit                  earns its points
    late     done after the limit                   earns half its points
    missed   not done and the limit has passed      earns nothing
    pending  not done, still within the limit (or its anchor not yet injected)
    unscored the drill ended before its limit, or before its anchor was injected:
             the unit never had its full time, so it counts neither way

Per participating unit (simulated units are played by the drill and not scored):

    时效 timeliness   = points earned / points possible            (its expectations
                        decided so far: neither pending nor unscored)
    履职 obligations  = (met on time + ½ met late) / obligations   (its reporting duties
                        in the run's events that fell due during the drill or were met in
                        it: reports, receipts, sign-offs, verification answers)
    完成 completeness = expectations done at all / expectations decided
    总分 score        = 50% 时效 + 30% 履职 + 20% 完成; a part a unit has nothing for is
                        left out and the others weigh in proportion.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min, Q

from fenghuo.alerts.models import Warning
from fenghuo.core import clock
from fenghuo.drills import drilltime
from fenghuo.drills.models import DrillRun, Injection, Participant, RunState
from fenghuo.drills.scenario import (
    Expectation,
    Scenario,
    response_level,
    status_value,
    warning_level,
)
from fenghuo.escalation.models import EventGrading, Obligation, ObligationState, Release, Route
from fenghuo.events.models import (
    EventStatus,
    Report,
    ReportStatus,
    TimelineEntry,
    TimelineKind,
    VerificationTask,
)
from fenghuo.opinion.models import OpinionWarning, Topic, WarningState
from fenghuo.org.models import Unit
from fenghuo.release.models import ReleaseVersion, VersionState
from fenghuo.response.models import LevelChange

WEIGHTS = {"timeliness": 0.5, "obligations": 0.3, "completeness": 0.2}
STATES = {
    "on_time": "按时",
    "late": "超时",
    "missed": "未完成",
    "pending": "进行中",
    "unscored": "不计分",
}
DECIDED = ("on_time", "late", "missed")


@dataclass
class Outcome:
    id: str
    action: str
    label: str
    unit_key: str
    unit: str
    within: float
    points: int
    anchor_at: datetime | None = None
    deadline_at: datetime | None = None
    done_at: datetime | None = None
    minutes: float | None = None  # drill minutes from the anchor to the action
    state: str = "pending"
    earned: float = 0.0

    @property
    def state_label(self) -> str:
        return STATES[self.state]


@dataclass
class UnitScore:
    key: str
    unit: str
    expected: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    pending: int = 0
    unscored: int = 0
    points: int = 0
    earned: float = 0.0
    mean_minutes: float | None = None
    obligations: int = 0
    obligations_on_time: int = 0
    obligations_late: int = 0
    obligations_open: int = 0
    timeliness: float | None = None
    obligation_rate: float | None = None
    completeness: float | None = None
    score: float | None = None


@dataclass
class Results:
    drill_minutes: float
    outcomes: list[Outcome] = field(default_factory=list)
    units: list[UnitScore] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        return plain(asdict(self))


def _first(queryset: Any, field_name: str) -> datetime | None:
    return queryset.aggregate(first=Min(field_name))["first"]


def _injected_reports(run: DrillRun) -> set[int]:
    ids = set()
    for outcome in Injection.objects.filter(run=run).values_list("outcome", flat=True):
        ids.update(outcome.get(k) for k in ("report", "draft") if outcome.get(k))
    return ids


def _member_of(unit: Unit, person_field: str) -> Q:
    return Q(**{f"{person_field}__memberships__unit": unit})


class Observer:
    """When each kind of expected action first happened in the run's data."""

    def __init__(self, run: DrillRun, units: dict[str, Participant]) -> None:
        self.run, self.tag, self.units = run, run.tag, units
        self.injected = _injected_reports(run)

    def unit(self, key: str | None) -> Unit | None:
        return self.units[key].unit if key else None

    def done_at(self, e: Expectation) -> datetime | None:
        handler: Callable[[Expectation, Unit], datetime | None] = getattr(self, f"_{e.action}")
        return handler(e, self.unit(e.unit))

    def _report(self, e: Expectation, unit: Unit) -> datetime | None:
        reports = Report.objects.filter(
            drill_tag=self.tag, is_drill=True, unit=unit, status=ReportStatus.SUBMITTED
        ).exclude(pk__in=self.injected)
        if e.report_kind:
            reports = reports.filter(kind=e.report_kind)
        return _first(reports, "submitted_at")

    def _confirm_draft(self, e: Expectation, unit: Unit) -> datetime | None:
        row = Injection.objects.filter(run=self.run, key=e.injection).first()
        draft_id = row.outcome.get("draft") if row else None
        if not draft_id:
            return None
        return _first(
            Report.objects.filter(pk=draft_id, status=ReportStatus.SUBMITTED), "submitted_at"
        )

    def _routes(self, e: Expectation) -> Any:
        routes = Route.objects.filter(report__drill_tag=self.tag, report__is_drill=True)
        if e.from_unit:
            routes = routes.filter(report__unit=self.unit(e.from_unit))
        return routes

    def _sign_off(self, e: Expectation, unit: Unit) -> datetime | None:
        routes = self._routes(e).filter(report__unit=unit, release=Release.SIGNED_OFF)
        return _first(routes, "signed_off_at")

    def _reach(self, e: Expectation, unit: Unit) -> datetime | None:
        return _first(self._routes(e).filter(office=unit), "sent_at")

    def _acknowledge(self, e: Expectation, unit: Unit) -> datetime | None:
        return _first(self._routes(e).filter(office=unit), "acknowledged_at")

    def _merge(self, e: Expectation, unit: Unit) -> datetime | None:
        ids = []
        for key in e.injections or []:
            row = Injection.objects.filter(run=self.run, key=key).first()
            report_id = row and (row.outcome.get("report") or row.outcome.get("draft"))
            if not report_id:
                return None
            ids.append(report_id)
        reports = list(Report.objects.filter(pk__in=ids, status=ReportStatus.SUBMITTED))
        events = {r.event_id for r in reports}
        if len(reports) != len(ids) or len(events) != 1 or None in events:
            return None
        joined = max(r.submitted_at for r in reports)
        merged = _first(
            TimelineEntry.objects.filter(event_id=events.pop(), kind=TimelineKind.MERGE), "at"
        )
        return max(joined, merged) if merged else joined

    def _grade(self, e: Expectation, unit: Unit) -> datetime | None:
        gradings = EventGrading.objects.filter(
            event__drill_tag=self.tag, event__is_drill=True, grade__lte=e.grade
        )
        return _first(gradings, "at")

    def _verify_request(self, e: Expectation, unit: Unit) -> datetime | None:
        tasks = VerificationTask.objects.filter(
            _member_of(unit, "requested_by"), event__drill_tag=self.tag, event__is_drill=True
        )
        return _first(tasks, "requested_at")

    def _verify_answer(self, e: Expectation, unit: Unit) -> datetime | None:
        tasks = VerificationTask.objects.filter(
            event__drill_tag=self.tag, event__is_drill=True, assignee_unit=unit
        )
        if e.state:
            tasks = tasks.filter(state=e.state)
        return _first(tasks, "answered_at")

    def _warnings(self, e: Expectation, unit: Unit) -> Any:
        return Warning.objects.filter(
            drill_tag=self.tag,
            is_drill=True,
            issuing_unit=unit,
            level__lte=warning_level(e.level),
        )

    def _warning(self, e: Expectation, unit: Unit) -> datetime | None:
        return _first(self._warnings(e, unit), "issued_at")

    def _warning_lift(self, e: Expectation, unit: Unit) -> datetime | None:
        return _first(self._warnings(e, unit), "lifted_at")

    def _response(self, e: Expectation, unit: Unit) -> datetime | None:
        changes = LevelChange.objects.filter(
            response__event__drill_tag=self.tag,
            response__event__is_drill=True,
            response__office=unit,
            to_level__lte=response_level(e.level),
        )
        return _first(changes, "at")

    def _release(self, e: Expectation, unit: Unit) -> datetime | None:
        versions = ReleaseVersion.objects.filter(
            release__event__drill_tag=self.tag, release__event__is_drill=True, release__unit=unit
        )
        if e.state == "approved":
            approved = versions.filter(state__in=(VersionState.APPROVED, VersionState.PUBLISHED))
            return _first(approved, "reviewed_at")
        return _first(versions, "published_at")

    def _status_reached(self, status: str) -> datetime | None:
        entries = TimelineEntry.objects.filter(
            event__drill_tag=self.tag,
            event__is_drill=True,
            kind=TimelineKind.STATUS,
            text__contains=f"→ {EventStatus(status).label}",
        )
        return _first(entries, "at")

    def _rumour(self, e: Expectation, unit: Unit) -> datetime | None:
        return self._status_reached(EventStatus.FALSE)

    def _status(self, e: Expectation, unit: Unit) -> datetime | None:
        return self._status_reached(status_value(e.status))

    def _opinion_warning(self, e: Expectation, unit: Unit) -> datetime | None:
        warnings = OpinionWarning.objects.filter(topic__drill_tag=self.tag, is_drill=True)
        if e.state == "confirmed":
            decided = warnings.filter(
                _member_of(unit, "decided_by"),
                state__in=(WarningState.CONFIRMED, WarningState.ADJUSTED),
            )
            return _first(decided, "decided_at")
        return _first(warnings.filter(scheme__owner_unit=unit), "raised_at")

    def _clue(self, e: Expectation, unit: Unit) -> datetime | None:
        topics = Topic.objects.filter(
            _member_of(unit, "clue_report__created_by"),
            drill_tag=self.tag,
            is_drill=True,
            clue_report__isnull=False,
        )
        return _first(topics, "clue_report__received_at")


def _share(part: float, whole: float) -> float | None:
    """A percentage, or None when there is nothing to count."""
    return 100 * part / whole if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def evaluate(
    run: DrillRun, scenario: Scenario, units: dict[str, Participant], at: datetime | None = None
) -> Results:
    """The outcomes and the score table as of `at` (now, or the end of an ended run)."""
    moment = at or (run.ended_at if run.ended_at else clock.now())
    final = run.state in (RunState.ENDED, RunState.PURGED) or at is not None
    observer = Observer(run, units)
    done_injections = dict(
        Injection.objects.filter(run=run, done_at__isnull=False).values_list("key", "done_at")
    )
    outcomes = []
    for e in scenario.expectations:
        outcome = Outcome(
            id=e.id,
            action=e.action,
            label=e.label,
            unit_key=e.unit,
            unit=units[e.unit].unit.name,
            within=e.within,
            points=e.points,
        )
        anchor = done_injections.get(e.after) if e.after else run.started_at
        if anchor is not None:
            outcome.anchor_at = anchor
            outcome.deadline_at = anchor + timedelta(minutes=e.within) / run.speed
            done = observer.done_at(e)
            if done is not None and done <= moment:
                outcome.done_at = done
                seconds = max(0.0, (done - anchor).total_seconds())
                outcome.minutes = round(seconds * run.speed / 60, 1)
                outcome.state = "on_time" if done <= outcome.deadline_at else "late"
            elif moment > outcome.deadline_at:
                outcome.state = "missed"
            elif final:
                outcome.state = "unscored"  # the drill ended before its limit
        elif final:
            outcome.state = "unscored"  # its injection never came: nothing could be done
        outcome.earned = {"on_time": e.points, "late": e.points / 2}.get(outcome.state, 0.0)
        outcomes.append(outcome)
    return Results(
        drill_minutes=round(drilltime.minutes(run, moment), 1),
        outcomes=outcomes,
        units=_unit_scores(run, scenario, units, outcomes, moment, final),
    )


def _unit_scores(
    run: DrillRun,
    scenario: Scenario,
    units: dict[str, Participant],
    outcomes: list[Outcome],
    moment: datetime,
    final: bool,
) -> list[UnitScore]:
    rows = []
    for key in scenario.participants:
        unit = units[key].unit
        row = UnitScore(key=key, unit=unit.name)
        mine = [o for o in outcomes if o.unit_key == key]
        row.expected = len(mine)
        for o in mine:
            setattr(row, o.state, getattr(row, o.state) + 1)
        decided = [o for o in mine if o.state in DECIDED]
        row.points = sum(o.points for o in decided)
        row.earned = sum(o.earned for o in decided)
        times = [o.minutes for o in mine if o.minutes is not None]
        row.mean_minutes = round(sum(times) / len(times), 1) if times else None
        # What fell due within the drill (or was done in it); a follow-up due after the
        # end is nobody's failure.
        for state, met_at, due_at in Obligation.objects.filter(
            Q(due_at__lte=moment) | Q(met_at__lte=moment),
            event__drill_tag=run.tag,
            event__is_drill=True,
            obliged_unit=unit,
        ).values_list("state", "met_at", "due_at"):
            row.obligations += 1
            if met_at is not None and met_at <= moment and state != ObligationState.MISSED:
                if met_at <= due_at:
                    row.obligations_on_time += 1
                else:
                    row.obligations_late += 1
            else:
                row.obligations_open += 1
        met = row.obligations_on_time + row.obligations_late / 2
        parts = {
            "timeliness": _share(row.earned, row.points),
            "obligations": _share(met, row.obligations),
            "completeness": _share(row.on_time + row.late, len(decided)),
        }
        row.timeliness = _round(parts["timeliness"])
        row.obligation_rate = _round(parts["obligations"])
        row.completeness = _round(parts["completeness"])
        weight = sum(WEIGHTS[k] for k, v in parts.items() if v is not None)
        if weight:
            total = sum(WEIGHTS[k] * v for k, v in parts.items() if v is not None)
            row.score = _round(total / weight)
        rows.append(row)
    return rows


def improvement_suggestions(results: dict[str, Any]) -> list[dict[str, Any]]:
    """An improvement item to suggest for each expectation done late or not at all."""
    suggestions = []
    for o in results.get("outcomes", []):
        if o["state"] == "late":
            text = f"{o['label']}超时（用时 {o['minutes']:g} 分钟，时限 {o['within']:g} 分钟）"
        elif o["state"] == "missed":
            text = f"{o['label']}未在演练中完成（时限 {o['within']:g} 分钟）"
        else:
            continue
        suggestions.append(
            {"source": o["id"], "unit_key": o["unit_key"], "unit": o["unit"], "title": text}
        )
    return suggestions
