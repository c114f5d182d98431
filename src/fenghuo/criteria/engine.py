"""Grading: which rule applies to a case, what grade it reaches, where and how fast it must
be reported, each with a reason in plain Chinese.

How a grade is found (`evaluate`):
1. Rule sets in force: per criteria (`RuleSet.code`), the enabled version with the latest
   `effective_from` not after the moment (the event's occurrence time unless `at` is given),
   kept if its jurisdiction covers the reporting unit (none = everywhere).
2. The rule: in each such rule set, the rule for the subcategory, else its top category,
   else the rule set's catch-all. Across rule sets the most specific jurisdiction wins, then
   the most specific rule; rules of equal standing are all evaluated and the highest grade
   wins (reporting too much is safer than too little).
3. Thresholds: each figure reaches the highest grade whose minimum it meets (≥); the case
   takes the highest grade any figure reaches, else the rule's base grade.
4. Sensitivity factors of the rule set: a hit either raises the grade one level (once, however
   many factors hit; a case under every threshold becomes 一般) or sets 预警关注.
5. The result of the final grade: levels with phone and written deadlines, follow-up
   interval and final-report deadline.

The rule sets are compiled once into plain tuples and dicts and kept in process memory.
Every criteria write changes `Revision.token` (signals, in the writer's transaction); each
evaluation reads that one row and rebuilds when it differs, so other processes and rolled-
back transactions never leave a stale cache. Warm, an evaluation is that one primary-key
read plus a few dictionary lookups and one regex search per word list.
"""

import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import chinese_calendar
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from fenghuo.criteria.models import (
    FIGURES,
    TARGET_LEVELS,
    EventCategory,
    FactorEffect,
    FactorKind,
    Grade,
    GradeResult,
    Revision,
    Rule,
    RuleSet,
    SensitiveDate,
    SensitivePlace,
    SensitivityFactor,
    Threshold,
    plain_number,
    split_words,
)
from fenghuo.criteria.models import Target as TargetRow

LEVEL_LABELS = dict(TARGET_LEVELS)
LEVEL_ORDER = {level: index for index, (level, _) in enumerate(TARGET_LEVELS)}
GRADE_LABELS = dict(Grade.choices)
NOT_REACHED = "未达报送标准"
NO_CRITERIA = "无适用标准"
HOLIDAY_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}


@dataclass(frozen=True)
class CaseFacts:
    category_code: str  # EventCategory.code (sub or top)
    occurred_at: datetime
    division_code: str = ""  # 6 digits, where it happened
    unit_path: str = ""  # treebeard path of the reporting unit ("" = unknown)
    figures: Mapping[str, int | Decimal | None] = field(default_factory=dict)
    text: str = ""  # title, place, subjects, narrative: for words and places
    flags: frozenset[str] = frozenset()  # reporter's marks, e.g. {"long_duration_crowd"}
    is_drill: bool = False


@dataclass(frozen=True)
class Target:
    level: str  # AdminLevel value
    phone_minutes: int | None  # None = no phone report required
    written_minutes: int


@dataclass(frozen=True)
class Grading:
    grade: int | None  # 1 = 特别重大(Ⅰ级) … 4 = 一般(Ⅳ级); None = no rule matched
    label: str  # "重大（Ⅱ级）", or "未达报送标准"/"无适用标准"
    reasons: tuple[str, ...]
    targets: tuple[Target, ...]
    followup_hours: int | None
    final_days: int | None
    attention: bool  # 预警关注
    ruleset: str  # "《…》 第2版" — what graded it
    rule_id: int | None


# --- compiled rule sets ---------------------------------------------------------------


@dataclass(frozen=True)
class _Threshold:
    grade: int
    figure: str
    minimum: Decimal


@dataclass(frozen=True)
class _Result:
    targets: tuple[Target, ...]
    followup_hours: int | None
    final_days: int | None


@dataclass(frozen=True)
class _Rule:
    id: int
    scope: str  # the category's name, or 其他类别
    note: str
    base_grade: int | None
    thresholds: tuple[_Threshold, ...]  # most severe grade first
    results: dict[int, _Result]


@dataclass(frozen=True)
class _Date:
    name: str
    starts_on: date
    ends_on: date
    every_year: bool

    def covers(self, day: date) -> bool:
        if not self.every_year:
            return self.starts_on <= day <= self.ends_on
        start = (self.starts_on.month, self.starts_on.day)
        end = (self.ends_on.month, self.ends_on.day)
        key = (day.month, day.day)
        if start <= end:
            return start <= key <= end
        return key >= start or key <= end  # a period across the new year


@dataclass(frozen=True)
class _Factor:
    kind: str
    effect: str
    words: re.Pattern[str] | None = None
    min_affected: int | None = None
    use_holidays: bool = False
    dates: tuple[_Date, ...] = ()
    places: re.Pattern[str] | None = None
    place_codes: tuple[tuple[str, str], ...] = ()  # (code prefix, place name)


@dataclass(frozen=True)
class _RuleSet:
    label: str
    scope: str  # 全国 or the jurisdiction's name
    jurisdiction_path: str
    effective_from: datetime
    rules: dict[int | None, _Rule]  # category id (None = catch-all) → rule
    factors: tuple[_Factor, ...]


@dataclass(frozen=True)
class _Compiled:
    token: str
    categories: dict[str, tuple[int, int | None]]  # code → (id, parent id)
    series: tuple[tuple[_RuleSet, ...], ...]  # per criteria code, latest version first


def _word_pattern(words: list[str]) -> re.Pattern[str] | None:
    unique = sorted(set(words), key=lambda w: (-len(w), w))
    return re.compile("|".join(re.escape(w) for w in unique)) if unique else None


def _compile(token: str) -> _Compiled:
    categories = {
        code: (pk, parent)
        for code, pk, parent in EventCategory.objects.values_list("code", "pk", "parent_id")
    }
    rulesets = (
        RuleSet.objects.filter(is_active=True)
        .select_related("jurisdiction")
        .prefetch_related(
            "rules__category",
            "rules__thresholds",
            "rules__results",
            "rules__targets",
            "factors",
            "dates",
            "places",
        )
        .order_by("code", "-effective_from", "-version")
    )
    series: dict[str, list[_RuleSet]] = {}
    for rs in rulesets:
        series.setdefault(rs.code, []).append(_compile_ruleset(rs))
    return _Compiled(token, categories, tuple(tuple(v) for v in series.values()))


def _compile_ruleset(rs: RuleSet) -> _RuleSet:
    rules: dict[int | None, _Rule] = {}
    for rule in rs.rules.all():
        targets: dict[int, list[Target]] = {}
        for t in sorted(rule.targets.all(), key=lambda t: LEVEL_ORDER.get(t.level, 99)):
            targets.setdefault(t.grade, []).append(
                Target(t.level, t.phone_minutes, t.written_minutes)
            )
        durations = {r.grade: r for r in rule.results.all()}
        results = {
            grade: _Result(
                tuple(targets.get(grade, ())),
                durations[grade].followup_hours if grade in durations else None,
                durations[grade].final_days if grade in durations else None,
            )
            for grade in set(targets) | set(durations)
        }
        thresholds = tuple(
            _Threshold(t.grade, t.figure, t.minimum)
            for t in sorted(rule.thresholds.all(), key=lambda t: (t.grade, t.figure))
        )
        rules[rule.category_id] = _Rule(
            id=rule.pk,
            scope=rule.category.name if rule.category_id else "其他类别",
            note=rule.note,
            base_grade=rule.base_grade,
            thresholds=thresholds,
            results=results,
        )
    dates = tuple(
        _Date(d.name, d.starts_on, d.ends_on or d.starts_on, d.every_year) for d in rs.dates.all()
    )
    places = list(rs.places.all())
    factors = []
    for f in rs.factors.all():
        if not f.is_active:
            continue
        if f.kind in (FactorKind.IDENTITY, FactorKind.BEHAVIOUR):
            factor = _Factor(f.kind, f.effect, words=_word_pattern(split_words(f.words)))
        elif f.kind == FactorKind.CROWD:
            factor = _Factor(f.kind, f.effect, min_affected=f.min_affected)
        elif f.kind == FactorKind.TIME:
            factor = _Factor(f.kind, f.effect, use_holidays=f.use_holidays, dates=dates)
        else:
            factor = _Factor(
                f.kind,
                f.effect,
                places=_word_pattern([p.name for p in places]),
                place_codes=tuple((p.division_code, p.name) for p in places if p.division_code),
            )
        factors.append(factor)
    return _RuleSet(
        label=rs.label,
        scope=rs.jurisdiction.name if rs.jurisdiction_id else "全国",
        jurisdiction_path=rs.jurisdiction.path if rs.jurisdiction_id else "",
        effective_from=rs.effective_from,
        rules=rules,
        factors=tuple(factors),
    )


_cache: _Compiled | None = None
_lock = threading.Lock()


def current_token() -> str:
    return Revision.objects.filter(pk=1).values_list("token", flat=True).first() or ""


def _compiled() -> _Compiled:
    global _cache
    token = current_token()
    cached = _cache
    if cached is not None and cached.token == token:
        return cached
    with _lock:
        if _cache is None or _cache.token != token:
            _cache = _compile(token)
        return _cache


def bump_revision() -> None:
    """Mark the criteria as changed (called for every write, inside its transaction)."""
    global _cache
    token = uuid.uuid4().hex
    if not Revision.objects.filter(pk=1).update(token=token):
        Revision.objects.create(pk=1, token=token)
    _cache = None


def _changed(sender: type, **kwargs: Any) -> None:
    if not kwargs.get("raw"):  # fixtures load raw rows; the next real write bumps
        bump_revision()


def connect_invalidation() -> None:
    """Any saved or deleted criteria row changes the revision (AppConfig.ready)."""
    for model in (
        EventCategory,
        RuleSet,
        Rule,
        Threshold,
        GradeResult,
        TargetRow,
        SensitivityFactor,
        SensitiveDate,
        SensitivePlace,
    ):
        uid = f"criteria-invalidate-{model.__name__}"
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}-delete")


# --- evaluation ------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None


def duration_text(minutes: int) -> str:
    """90 → "1 小时 30 分钟", 60 → "1 小时", 30 → "30 分钟"."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} 分钟"
    return f"{hours} 小时" + (f" {rest} 分钟" if rest else "")


def target_reason(target: Target) -> str:
    level = LEVEL_LABELS.get(target.level, target.level)
    written = f"{duration_text(target.written_minutes)}内书面报告"
    if target.phone_minutes is None:
        return f"须于 {written}至{level}"
    return f"须于 {duration_text(target.phone_minutes)}内电话报告、{written}至{level}"


def _figure_text(name: str, value: Decimal) -> str:
    label, unit = FIGURES[name]
    return f"{label} {plain_number(value)} {unit}"


def _grade_by_figures(rule: _Rule, figures: Mapping[str, Any]) -> tuple[int | None, list[str]]:
    """The highest grade the figures reach, with one reason per figure that has a value."""
    best: int | None = None
    lines: list[tuple[int, str]] = []
    for name in FIGURES:
        value = _number(figures.get(name))
        if value is None:
            continue
        own = [t for t in rule.thresholds if t.figure == name]
        if not own:
            continue
        reached = next((t for t in own if value >= t.minimum), None)
        unit = FIGURES[name][1]
        if reached is not None:
            best = reached.grade if best is None else min(best, reached.grade)
            lines.append(
                (
                    reached.grade,
                    f"{_figure_text(name, value)} ≥ {plain_number(reached.minimum)} {unit}"
                    f" → {GRADE_LABELS[reached.grade]}",
                )
            )
        else:
            lowest = own[-1]
            lines.append(
                (
                    9,
                    f"{_figure_text(name, value)} < {plain_number(lowest.minimum)} {unit}"
                    f"（未达{GRADE_LABELS[lowest.grade]}标准）",
                )
            )
    lines.sort(key=lambda item: item[0])
    return best, [text for _, text in lines]


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date() if timezone.is_aware(moment) else moment.date()


def _holiday(day: date) -> tuple[str | None, str | None]:
    """(what makes the day sensitive, or None; a note when the calendar lacks the year)."""
    try:
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None, f"节假日数据未收录 {day.year} 年，未判断法定节假日"
    if name is None:
        return None, None
    festival = HOLIDAY_NAMES.get(name, name)
    return (f"{festival}假期" if is_holiday else f"{festival}调休上班日"), None


def _factor_hits(factor: _Factor, facts: CaseFacts) -> tuple[str | None, str | None]:
    """(the reason the factor hit, or None; a note worth telling even when it did not)."""
    kind_label = FactorKind(factor.kind).label
    if factor.kind in facts.flags:
        return f"{kind_label}：报送人标注", None
    if factor.kind in (FactorKind.IDENTITY, FactorKind.BEHAVIOUR):
        found = sorted(set(factor.words.findall(facts.text))) if factor.words else []
        if found:
            return f"{kind_label}：涉及" + "、".join(f"“{w}”" for w in found), None
        return None, None
    if factor.kind == FactorKind.PLACE:
        found = sorted(set(factor.places.findall(facts.text))) if factor.places else []
        for prefix, name in factor.place_codes:
            if facts.division_code and facts.division_code.startswith(prefix):
                found.append(f"{name}（区划 {prefix}）")
        if found:
            return f"{kind_label}：" + "、".join(found), None
        return None, None
    if factor.kind == FactorKind.CROWD:
        affected = _number(facts.figures.get("affected"))
        minimum = factor.min_affected
        if minimum is not None and affected is not None and affected >= minimum:
            return f"{kind_label}：受影响 {plain_number(affected)} 人 ≥ {minimum} 人", None
        return None, None
    if factor.kind == FactorKind.TIME:
        day = _local_day(facts.occurred_at)
        names = [d.name for d in factor.dates if d.covers(day)]
        note = None
        if factor.use_holidays:
            holiday, note = _holiday(day)
            if holiday:
                names.insert(0, holiday)
        if names:
            return f"{kind_label}：{day:%Y-%m-%d} 为" + "、".join(names), None
        return None, note
    return None, None


def _grade_with_rule(rs: _RuleSet, rule: _Rule, facts: CaseFacts) -> Grading:
    scope = f"适用范围：{rs.scope}，{timezone.localtime(rs.effective_from):%Y-%m-%d} 起施行"
    reasons = [
        f"适用{rs.label}（{scope}）· {rule.scope}规则" + (f"（{rule.note}）" if rule.note else "")
    ]
    grade, lines = _grade_by_figures(rule, facts.figures)
    reasons += lines
    if grade is None:
        if rule.base_grade is not None:
            grade = rule.base_grade
            reasons.append(f"未达到任何分级标准，按本类事件基础等级定为{GRADE_LABELS[grade]}")
        else:
            reasons.append("未达到任何分级标准")

    attention, raised = False, False
    for factor in rs.factors:
        hit, note = _factor_hits(factor, facts)
        if note:
            reasons.append(note)
        if hit is None:
            continue
        if factor.effect == FactorEffect.RAISE:
            raised = True
            reasons.append(f"{hit} → 提高一级")
        else:
            attention = True
            reasons.append(f"{hit} → 预警关注")
    if raised:
        before = GRADE_LABELS[grade] if grade is not None else NOT_REACHED
        grade = max(1, (grade or 5) - 1)
        reasons.append(f"因敏感因素提高一级：{before} → {GRADE_LABELS[grade]}")

    if grade is None:
        reasons.append(f"定级：{NOT_REACHED}，无须按本标准报送")
        if attention:
            reasons.append("列入预警关注")
        return Grading(
            None, NOT_REACHED, tuple(reasons), (), None, None, attention, rs.label, rule.id
        )

    reasons.append(f"定级：{GRADE_LABELS[grade]}")
    result = rule.results.get(grade, _Result((), None, None))
    reasons += [target_reason(t) for t in result.targets]
    if not result.targets:
        reasons.append(f"本规则未规定{GRADE_LABELS[grade]}的报送层级")
    if result.followup_hours:
        reasons.append(f"每 {result.followup_hours} 小时续报一次，直至终报")
    if result.final_days:
        reasons.append(f"须于 {result.final_days} 日内终报")
    if attention:
        reasons.append("列入预警关注")
    return Grading(
        grade,
        GRADE_LABELS[grade],
        tuple(reasons),
        result.targets,
        result.followup_hours,
        result.final_days,
        attention,
        rs.label,
        rule.id,
    )


def _no_criteria(reason: str) -> Grading:
    return Grading(None, NO_CRITERIA, (reason,), (), None, None, False, "", None)


def evaluate(facts: CaseFacts, *, at: datetime | None = None) -> Grading:
    """Grade a case by the criteria in force at `at` (default: when it occurred; a naive
    time is taken as local time). Never raises for unknown input: a category that does not
    exist, or no rule that applies, gives grade None with the reason."""
    compiled = _compiled()
    category = compiled.categories.get(facts.category_code)
    if category is None:
        return _no_criteria(f"未知的事件类别代码“{facts.category_code}”")
    category_id, parent_id = category
    moment = at or facts.occurred_at
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    ranked: list[tuple[tuple[int, int], _RuleSet, _Rule]] = []
    for versions in compiled.series:
        rs = next((v for v in versions if v.effective_from <= moment), None)
        if rs is None or not facts.unit_path.startswith(rs.jurisdiction_path):
            continue
        for specificity, key in ((2, category_id), (1, parent_id), (0, None)):
            if (key is not None or specificity == 0) and key in rs.rules:
                # A top category's own rule counts as a top rule.
                level = 1 if specificity == 2 and parent_id is None else specificity
                ranked.append(((len(rs.jurisdiction_path), level), rs, rs.rules[key]))
                break
    if not ranked:
        return _no_criteria("没有适用于该类别、地区和时间的报送标准")
    best = max(rank for rank, _, _ in ranked)
    gradings = [_grade_with_rule(rs, rule, facts) for rank, rs, rule in ranked if rank == best]
    grading = min(gradings, key=lambda g: (g.grade or 9, g.ruleset))
    if facts.is_drill:
        grading = replace(grading, reasons=(*grading.reasons, "演练信息：不计入实际统计"))
    return grading


def facts_from_report(report: Any, *, figures: Mapping[str, Any] | None = None) -> CaseFacts:
    """CaseFacts from anything with a report's field names (duck-typed: criteria sits below
    events). `figures` overrides the report's own, e.g. an event's current figures."""
    category = getattr(report, "category", None)
    unit = getattr(report, "unit", None)
    values = {name: getattr(report, name, None) for name in FIGURES}
    if figures is not None:
        values.update({name: figures.get(name) for name in FIGURES if name in figures})
    text = "\n".join(
        str(getattr(report, name, "") or "") for name in ("title", "place", "subjects", "narrative")
    )
    return CaseFacts(
        category_code=getattr(category, "code", "") if category is not None else "",
        occurred_at=report.occurred_at,
        division_code=getattr(report, "division_code", "") or "",
        unit_path=getattr(unit, "path", "") if unit is not None else "",
        figures=values,
        text=text,
        flags=frozenset(getattr(report, "flags", None) or ()),
        is_drill=bool(getattr(report, "is_drill", False)),
    )
