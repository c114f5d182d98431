"""The evaluation figures of units over a period, the score and the ranking.

Everything is read through the `counted_*` selectors (never a drill, never an event found
false). For a unit U and a period [start, end) in Beijing dates, with `now` the clock:

- **Reporting duties due** — U's escalation obligations of the counted kinds (phone,
  written, follow-up, final, verification answer) and U's area duties (属地报告责任),
  due within the period and not after now. Each is *on time* (met by its deadline),
  *late* (met after it, or still open past it) or *missed* (the obligation marked 漏报,
  or the area duty not reported by its deadline). **按时报送率** = on time / due.
- **首报用时**: U's first reports (首报, not clues) received in the period: minutes from
  the occurrence time the report states to its arrival (never below 0). Median, and the
  90th percentile by linear interpolation between the closest ranks (Python's
  `statistics.quantiles(..., method="inclusive")`, numpy's default).
- **要素齐全率**: of those first reports, the share with every required field of a first
  report and the elements of `ELEMENTS` (时间、地点、人员、经过). The cause (原因, the fifth
  element) may follow in a 续报: the seed's 首报情况续报原因.
- **续报按时率**: the due follow-up and final-report obligations met on time.
- **数字准确率**: U's figure checks (its latest account of each verified figure, as of the
  verification) made in the period that are within the margin.
- **采用**: U's reports received in the period, and how many of them an office marked 采用.
- **迟报 / 漏报 / 泄密**: U's cases of that kind counted in the period (by the deadline they
  missed, or the incident's time), unless dismissed or merged; **瞒报** only once
  confirmed (an open one is 疑似瞒报, shown apart and not counted).
- **函询逾期**: letters issued to U in the period answered after their deadline, or still
  unanswered past it.

**Score** (`FENGHUO_ASSESS_SCORING`): 100 × the weighted mean of the four shares that have
data (按时报送率 40, 要素齐全率 20, 续报按时率 20, 数字准确率 20; a share without data
is left out and the weights of the others scaled up; a unit with activity but none of the
four starts from 100), plus 2 per adopted report (at most 10), minus 2 per 迟报, 5 per
漏报, 10 per 瞒报, 5 per 泄密 and 2 per overdue letter, never below 0; one decimal. Ranked
by score (equal scores share a rank), then 按时报送率; a unit with no activity in the period
has no score and is listed last.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from statistics import median, quantiles
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from fenghuo.assess import selectors
from fenghuo.assess.models import Adoption, CaseKind, CaseState, DutyState
from fenghuo.assess.periods import Period
from fenghuo.core import clock
from fenghuo.escalation.models import ObligationState
from fenghuo.events.models import FIGURES as FIGURE_NAMES
from fenghuo.events.models import Report, ReportKind
from fenghuo.events.services import required_fields
from fenghuo.org.models import Unit

ON_TIME, LATE, MISSED = "on_time", "late", "missed"
OUTCOME_LABELS = {ON_TIME: "按时", LATE: "超时", MISSED: "漏报"}
# The elements a first report must carry besides its required fields (field → label).
ELEMENTS = {"occurred_at": "时间", "place": "地点", "subjects": "人员", "narrative": "经过"}
DEFAULT_SCORING: dict[str, Any] = {
    "weights": {"timeliness": 40, "completeness": 20, "followups": 20, "accuracy": 20},
    "adoption_bonus": 2,
    "adoption_bonus_max": 10,
    "penalties": {
        "late_cases": 2,
        "missed_cases": 5,
        "concealed_cases": 10,
        "confidentiality_cases": 5,
        "letters_overdue": 2,
    },
}
TENTH = Decimal("0.1")

# The columns of the ranking, the bulletin and the .xlsx, in order: key → heading.
COLUMNS: dict[str, str] = {
    "rank": "排名",
    "unit": "单位",
    "score": "总分",
    "timeliness": "按时报送率（%）",
    "due": "应报（项）",
    "on_time": "按时（项）",
    "median_delay": "首报用时中位数（分钟）",
    "p90_delay": "首报用时P90（分钟）",
    "completeness": "要素齐全率（%）",
    "followups": "续报按时率（%）",
    "accuracy": "数字准确率（%）",
    "reports": "报送（篇）",
    "adopted": "采用（篇）",
    "late_cases": "迟报（起）",
    "missed_cases": "漏报（起）",
    "concealed_cases": "瞒报（起）",
    "confidentiality_cases": "泄密（起）",
    "letters_overdue": "函询逾期（件）",
}
# Which list of items stands behind each column (see `figure_items`).
COLUMN_FIGURE = {
    "timeliness": "timeliness",
    "due": "timeliness",
    "on_time": "timeliness",
    "median_delay": "delay",
    "p90_delay": "delay",
    "completeness": "completeness",
    "followups": "followups",
    "accuracy": "accuracy",
    "reports": "adoption",
    "adopted": "adoption",
    "late_cases": "late",
    "missed_cases": "missed",
    "concealed_cases": "concealed",
    "confidentiality_cases": "confidentiality",
    "letters_overdue": "letters",
}
FIGURES = {
    "timeliness": "报送义务（按时报送率）",
    "delay": "首报用时",
    "completeness": "首报要素",
    "followups": "续报、终报",
    "accuracy": "数字核对（准确率）",
    "adoption": "报送与采用",
    "late": "迟报",
    "missed": "漏报",
    "concealed": "瞒报（含疑似）",
    "confidentiality": "泄密事件",
    "letters": "函询",
}


def scoring() -> dict[str, Any]:
    configured = getattr(settings, "FENGHUO_ASSESS_SCORING", {})
    return {**DEFAULT_SCORING, **configured}


def one_decimal(value: Fraction | float) -> Decimal:
    if isinstance(value, Fraction):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        exact = Decimal(repr(value))
    return exact.quantize(TENTH, rounding=ROUND_HALF_UP)


def percent(part: int, whole: int) -> Decimal | None:
    return one_decimal(Fraction(100 * part, whole)) if whole else None


def obligation_outcome(
    state: str, met_at: datetime | None, minutes_late: int | None, due_at: datetime, now: datetime
) -> str | None:
    """On time, late or missed (None: not due yet) — from the row, not the loop's timing:
    an open obligation past its deadline is late even before the worker marks it."""
    if state == ObligationState.MET and not minutes_late:
        return ON_TIME
    if state == ObligationState.MISSED:
        return MISSED
    if met_at is not None or due_at <= now:
        return LATE
    return None


def letter_overdue(due_at: datetime, answered_at: datetime | None, now: datetime) -> bool:
    """Answered after its deadline, or still unanswered past it."""
    return answered_at > due_at if answered_at is not None else due_at < now


def duty_outcome(state: str, due_at: datetime, now: datetime) -> str | None:
    if state == DutyState.MET:
        return ON_TIME
    if state == DutyState.MISSED or due_at <= now:
        return MISSED
    return None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def missing_elements(report: Report) -> list[str]:
    """The labels of what a first report lacks of its required fields and elements."""
    missing = []
    for name in dict.fromkeys([*required_fields(ReportKind.FIRST), *ELEMENTS]):
        attr = f"{name}_id" if name == "category" else name
        if _blank(getattr(report, attr, None)):
            label = ELEMENTS.get(name) or str(Report._meta.get_field(name).verbose_name)
            missing.append(label)
    return missing


@dataclass
class Figures:
    unit_id: int
    unit: str
    path: str
    due: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    delays: list[float] = field(default_factory=list)
    first_reports: int = 0
    complete: int = 0
    followups_due: int = 0
    followups_on_time: int = 0
    checks: int = 0
    accurate: int = 0
    reports: int = 0
    adopted: int = 0
    late_cases: int = 0
    missed_cases: int = 0
    concealed_cases: int = 0
    suspected_cases: int = 0
    confidentiality_cases: int = 0
    letters: int = 0
    letters_overdue: int = 0
    score: Decimal | None = None
    rank: int | None = None

    @property
    def timeliness(self) -> Decimal | None:
        return percent(self.on_time, self.due)

    @property
    def completeness(self) -> Decimal | None:
        return percent(self.complete, self.first_reports)

    @property
    def followups(self) -> Decimal | None:
        return percent(self.followups_on_time, self.followups_due)

    @property
    def accuracy(self) -> Decimal | None:
        return percent(self.accurate, self.checks)

    @property
    def median_delay(self) -> Decimal | None:
        return one_decimal(median(self.delays)) if self.delays else None

    @property
    def p90_delay(self) -> Decimal | None:
        if not self.delays:
            return None
        if len(self.delays) == 1:
            return one_decimal(self.delays[0])
        return one_decimal(quantiles(self.delays, n=10, method="inclusive")[-1])

    @property
    def has_activity(self) -> bool:
        return bool(
            self.due
            or self.first_reports
            or self.reports
            or self.checks
            or self.letters
            or self.late_cases
            or self.missed_cases
            or self.concealed_cases
            or self.suspected_cases
            or self.confidentiality_cases
        )

    def shares(self) -> dict[str, Fraction | None]:
        def share(part: int, whole: int) -> Fraction | None:
            return Fraction(part, whole) if whole else None

        return {
            "timeliness": share(self.on_time, self.due),
            "completeness": share(self.complete, self.first_reports),
            "followups": share(self.followups_on_time, self.followups_due),
            "accuracy": share(self.accurate, self.checks),
        }

    def value(self, column: str) -> Any:
        """A column's value as shown (Decimal with one decimal, int, str or None)."""
        return self.unit if column == "unit" else getattr(self, column)

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values (numbers as int or float), for the API and the
        frozen bulletin; also the unit's id and the suspicions not yet counted."""
        row: dict[str, Any] = {"unit_id": self.unit_id}
        for column in COLUMNS:
            value = self.value(column)
            row[column] = float(value) if isinstance(value, Decimal) else value
        row["suspected_cases"] = self.suspected_cases
        row["late"] = self.late
        row["missed"] = self.missed
        row["letters"] = self.letters
        return row


def compute_score(figures: Figures, rules: dict[str, Any] | None = None) -> Decimal | None:
    rules = rules or scoring()
    weights = rules["weights"]
    defined = {k: v for k, v in figures.shares().items() if v is not None and weights.get(k)}
    if defined:
        total = sum(Fraction(weights[k]) for k in defined)
        base = 100 * sum(Fraction(weights[k]) * v for k, v in defined.items()) / total
    elif figures.has_activity:
        base = Fraction(100)
    else:
        return None
    bonus = min(
        Fraction(rules["adoption_bonus"]) * figures.adopted, Fraction(rules["adoption_bonus_max"])
    )
    penalty = sum(
        Fraction(points) * getattr(figures, name) for name, points in rules["penalties"].items()
    )
    return one_decimal(max(Fraction(0), base + bonus - penalty))


def _window(field_name: str, period: Period, *, until_now: bool = False) -> Q:
    start, end = period.bounds()
    q = Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
    if until_now:
        q &= Q(**{f"{field_name}__lte": clock.now()})
    return q


def compute(units: QuerySet[Unit], period: Period) -> dict[int, Figures]:
    """Figures of every unit in `units` that had anything in the period."""
    now = clock.now()
    found: dict[int, Figures] = {}

    def row(unit_id: int) -> Figures:
        if unit_id not in found:
            found[unit_id] = Figures(unit_id, "", "")
        return found[unit_id]

    due = _window("due_at", period, until_now=True)
    obligations = (
        selectors.counted_obligations()
        .filter(due, obliged_unit__in=units)
        .values_list("obliged_unit_id", "kind", "state", "due_at", "met_at", "minutes_late")
    )
    for unit_id, kind, state, due_at, met_at, minutes_late in obligations:
        outcome = obligation_outcome(state, met_at, minutes_late, due_at, now)
        if outcome is None:
            continue
        f = row(unit_id)
        _count(f, outcome)
        if kind in selectors.FOLLOWUP_KINDS:
            f.followups_due += 1
            f.followups_on_time += outcome == ON_TIME
    for unit_id, state, due_at in (
        selectors.counted_duties()
        .filter(due, unit__in=units)
        .values_list("unit_id", "state", "due_at")
    ):
        outcome = duty_outcome(state, due_at, now)
        if outcome is not None:
            _count(row(unit_id), outcome)

    received = _window("received_at", period)
    reports = selectors.counted_reports().filter(received, unit__in=units)
    for report in reports.filter(kind=ReportKind.FIRST):
        f = row(report.unit_id)
        f.first_reports += 1
        f.complete += not missing_elements(report)
        f.delays.append(max(0.0, (report.received_at - report.occurred_at).total_seconds() / 60))
    adopted = Exists(Adoption.objects.filter(report=OuterRef("pk")))
    for unit_id, was_adopted in reports.annotate(adopted=adopted).values_list("unit_id", "adopted"):
        f = row(unit_id)
        f.reports += 1
        f.adopted += bool(was_adopted)

    checks = selectors.counted_checks().filter(_window("checked_at", period), unit__in=units)
    for unit_id, within in checks.values_list("unit_id", "within_margin"):
        f = row(unit_id)
        f.checks += 1
        f.accurate += within

    cases = selectors.counted_cases().filter(_window("at", period), unit__in=units)
    for unit_id, kind, state in cases.values_list("unit_id", "kind", "state"):
        f = row(unit_id)
        if state in (CaseState.DISMISSED, CaseState.MERGED):
            continue
        if kind == CaseKind.CONCEALED:
            if state == CaseState.CONFIRMED:
                f.concealed_cases += 1
            else:
                f.suspected_cases += 1
        else:
            attribute = f"{kind}_cases"
            setattr(f, attribute, getattr(f, attribute) + 1)

    letters = selectors.counted_letters().filter(_window("issued_at", period), unit__in=units)
    for unit_id, due_at, answered_at in letters.values_list("unit_id", "due_at", "answered_at"):
        f = row(unit_id)
        f.letters += 1
        f.letters_overdue += letter_overdue(due_at, answered_at, now)

    for unit in Unit.objects.filter(pk__in=found).only("pk", "name", "path"):
        found[unit.pk].unit, found[unit.pk].path = unit.name, unit.path
    rules = scoring()
    for f in found.values():
        f.score = compute_score(f, rules)
    return found


def _count(f: Figures, outcome: str) -> None:
    f.due += 1
    if outcome == ON_TIME:
        f.on_time += 1
    elif outcome == LATE:
        f.late += 1
    else:
        f.missed += 1


def unit_figures(unit: Unit, period: Period) -> Figures:
    figures = compute(Unit.objects.filter(pk=unit.pk), period).get(unit.pk)
    return figures or Figures(unit.pk, unit.name, unit.path)


def rank(rows: Iterable[Figures]) -> list[Figures]:
    """Sorted by score (none last), then 按时报送率, then place in the tree; equal scores
    share a rank (1, 2, 2, 4)."""
    ordered = sorted(
        rows,
        key=lambda f: (
            f.score is None,
            -(f.score or 0),
            -(f.timeliness if f.timeliness is not None else Decimal(-1)),
            f.path,
        ),
    )
    previous, current = None, 0
    for index, f in enumerate(ordered, start=1):
        if f.score is None:
            f.rank = None
            continue
        if f.score != previous:
            current, previous = index, f.score
        f.rank = current
    return ordered


def ranked_units(office: Unit, units: QuerySet[Unit] | None = None) -> QuerySet[Unit]:
    """The active units below `office` (within `units`, the reader's, when given)."""
    below = Unit.objects.filter(path__startswith=office.path, is_active=True).exclude(pk=office.pk)
    if units is not None:
        below = below.filter(pk__in=units.values("pk"))
    return below


def ranking(office: Unit, period: Period, units: QuerySet[Unit] | None = None) -> list[Figures]:
    """The ranked rows of the units below `office`: every direct reporting point and
    receiving office, and any other unit with something in the period."""
    below = ranked_units(office, units)
    figures = compute(below, period)
    for unit in below.filter(Q(is_direct_point=True) | Q(is_receiving_office=True)).exclude(
        pk__in=list(figures)
    ):
        figures[unit.pk] = Figures(unit.pk, unit.name, unit.path)
    return rank(figures.values())


# --- the items behind a figure -------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    at: datetime
    event_id: int
    event_title: str
    what: str
    outcome: str
    outcome_label: str
    link: str = ""
    detail: str = ""


def _event_title(event: Any) -> str:
    return event.title if event is not None else ""


def figure_items(unit: Unit, period: Period, figure: str) -> list[Item]:
    """What stands behind one of the unit's figures in the period: the duties, reports,
    checks, cases or letters it was counted from, each with its outcome."""
    if figure not in FIGURES:
        raise KeyError(figure)
    now = clock.now()
    items: list[Item] = []
    if figure in ("timeliness", "followups"):
        obligations = selectors.counted_obligations().filter(
            _window("due_at", period, until_now=True), obliged_unit=unit
        )
        if figure == "followups":
            obligations = obligations.filter(kind__in=selectors.FOLLOWUP_KINDS)
        for o in obligations.select_related("event", "office"):
            outcome = obligation_outcome(o.state, o.met_at, o.minutes_late, o.due_at, now)
            if outcome is None:
                continue
            late = f"，逾期 {o.minutes_late} 分钟" if o.minutes_late else ""
            met = f"，{_hm(o.met_at)} 履行{late}" if o.met_at else ""
            items.append(
                Item(
                    o.due_at,
                    o.event_id,
                    o.event.title,
                    f"{o.title}（时限 {_hm(o.due_at)}{met}）",
                    outcome,
                    OUTCOME_LABELS[outcome],
                    detail=o.reason,
                )
            )
        if figure == "timeliness":
            duties = selectors.counted_duties().filter(
                _window("due_at", period, until_now=True), unit=unit
            )
            for d in duties.select_related("event"):
                outcome = duty_outcome(d.state, d.due_at, now)
                if outcome is None:
                    continue
                items.append(
                    Item(
                        d.due_at,
                        d.event_id,
                        d.event.title,
                        f"属地报告（时限 {_hm(d.due_at)}）",
                        outcome,
                        OUTCOME_LABELS[outcome],
                        detail=d.reason,
                    )
                )
    elif figure in ("delay", "completeness", "adoption"):
        reports = selectors.counted_reports().filter(_window("received_at", period), unit=unit)
        if figure != "adoption":
            reports = reports.filter(kind=ReportKind.FIRST)
        for r in reports.select_related("event").prefetch_related("adoptions__office"):
            if figure == "delay":
                minutes = one_decimal(
                    max(0.0, (r.received_at - r.occurred_at).total_seconds() / 60)
                )
                items.append(
                    Item(
                        r.received_at,
                        r.event_id,
                        _event_title(r.event),
                        f"{r.kind_label}：{r.title}",
                        "",
                        f"{minutes} 分钟",
                        detail=f"发生 {_hm(r.occurred_at)}，报送 {_hm(r.received_at)}",
                    )
                )
            elif figure == "completeness":
                missing = missing_elements(r)
                items.append(
                    Item(
                        r.received_at,
                        r.event_id,
                        _event_title(r.event),
                        f"{r.kind_label}：{r.title}",
                        "" if missing else ON_TIME,
                        "缺" + "、".join(missing) if missing else "齐全",
                    )
                )
            else:
                offices = "、".join(a.office.name for a in r.adoptions.all())
                items.append(
                    Item(
                        r.received_at,
                        r.event_id,
                        _event_title(r.event),
                        f"{r.kind_label}：{r.title}",
                        ON_TIME if offices else "",
                        f"已采用（{offices}）" if offices else "未采用",
                    )
                )
    elif figure == "accuracy":
        checks = selectors.counted_checks().filter(_window("checked_at", period), unit=unit)
        for c in checks.select_related("event"):
            items.append(
                Item(
                    c.checked_at,
                    c.event_id,
                    c.event.title,
                    f"{FIGURE_NAMES.get(c.figure, c.figure)}：报送 {_plain(c.reported)}，"
                    f"核实 {_plain(c.verified)}",
                    ON_TIME if c.within_margin else LATE,
                    "准确" if c.within_margin else ("少报" if c.under else "有出入"),
                    detail=f"允许误差 {_plain(c.margin)}",
                )
            )
    elif figure == "letters":
        for letter in (
            selectors.counted_letters()
            .filter(_window("issued_at", period), unit=unit)
            .select_related("case__event")
        ):
            overdue = letter_overdue(letter.due_at, letter.answered_at, now)
            items.append(
                Item(
                    letter.issued_at,
                    letter.case.event_id,
                    letter.case.event.title,
                    f"{letter.number} {letter.title}",
                    LATE if overdue else ON_TIME,
                    f"{letter.get_state_display()}{'（逾期）' if overdue else ''}",
                    link=reverse("assess-letter", args=[letter.pk]),
                )
            )
    else:
        kind = {
            "late": CaseKind.LATE,
            "missed": CaseKind.MISSED,
            "concealed": CaseKind.CONCEALED,
            "confidentiality": CaseKind.CONFIDENTIALITY,
        }[figure]
        cases = selectors.counted_cases().filter(_window("at", period), unit=unit, kind=kind)
        for case in cases.select_related("event"):
            counted = case.state not in (CaseState.DISMISSED, CaseState.MERGED) and (
                kind != CaseKind.CONCEALED or case.state == CaseState.CONFIRMED
            )
            items.append(
                Item(
                    case.at,
                    case.event_id,
                    case.event.title,
                    f"{case.kind_label}：{case.summary}",
                    LATE if counted else "",
                    f"{case.get_state_display()}{'' if counted else '（不计入）'}",
                    link=reverse("assess-case", args=[case.pk]),
                )
            )
    return sorted(items, key=lambda i: (i.at, i.event_id))


def _hm(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%m-%d %H:%M}"


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")
