"""Writes of the criteria (every one audited) and the grading contract other apps call.

`evaluate`, `CaseFacts`, `Grading`, `Target` and `facts_from_report` live in `engine.py`
and are re-exported here: escalation and intake import them from this module.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max

from fenghuo.core import clock
from fenghuo.core.services import audit_change, audited_save, snapshot
from fenghuo.criteria.engine import CaseFacts, Grading, Target, evaluate, facts_from_report
from fenghuo.criteria.models import (
    FIGURES,
    EventCategory,
    FactorKind,
    GradeResult,
    Rule,
    RuleSet,
    SensitiveDate,
    SensitivePlace,
    SensitivityFactor,
    Threshold,
)
from fenghuo.criteria.models import Target as TargetRow
from fenghuo.org.models import Unit, division_code_validator

__all__ = [
    "CaseFacts",
    "Grading",
    "Target",
    "case_facts",
    "copy_as_new_version",
    "evaluate",
    "facts_from_report",
    "factor_set",
    "rule_set_up",
    "ruleset_create",
    "ruleset_update",
    "sensitive_date_add",
    "sensitive_place_add",
]


def _save(actor: Any, obj: models.Model) -> models.Model:
    obj.full_clean()
    return audited_save(actor, obj)


def ruleset_create(
    actor: Any,
    *,
    code: str,
    name: str,
    effective_from: datetime,
    jurisdiction: Unit | None = None,
    version: int = 1,
    is_active: bool = True,
    basis: str = "",
) -> RuleSet:
    ruleset = RuleSet(
        code=code,
        name=name,
        effective_from=effective_from,
        jurisdiction=jurisdiction,
        version=version,
        is_active=is_active,
        basis=basis,
    )
    return _save(actor, ruleset)


def ruleset_update(actor: Any, ruleset: RuleSet, **fields: Any) -> RuleSet:
    for name, value in fields.items():
        setattr(ruleset, name, value)
    return _save(actor, ruleset)


@transaction.atomic
def rule_set_up(
    actor: Any,
    ruleset: RuleSet,
    category: EventCategory | None,
    *,
    base_grade: int | None = None,
    thresholds: Mapping[int, Mapping[str, int | Decimal]] | None = None,
    targets: Mapping[int, Iterable[tuple[str, int | None, int]]] | None = None,
    results: Mapping[int, tuple[int | None, int | None]] | None = None,
    note: str = "",
) -> Rule:
    """Create or replace the rule of `ruleset` for `category` (None = the catch-all).

    thresholds: grade → {figure: minimum}; targets: grade → [(level, phone, written)];
    results: grade → (follow-up hours, final-report days).
    """
    thresholds, targets, results = thresholds or {}, targets or {}, results or {}
    rule = Rule.objects.filter(ruleset=ruleset, category=category).first()
    before = snapshot(rule) if rule else None
    if rule is None:
        rule = Rule(ruleset=ruleset, category=category)
    rule.base_grade, rule.note = base_grade, note
    rule.full_clean(validate_unique=False)
    rule.save()
    rule.thresholds.all().delete()
    rule.targets.all().delete()
    rule.results.all().delete()
    rows: list[models.Model] = []
    for grade, minima in thresholds.items():
        rows += [Threshold(rule=rule, grade=grade, figure=f, minimum=m) for f, m in minima.items()]
    for grade, levels in targets.items():
        rows += [
            TargetRow(rule=rule, grade=grade, level=lv, phone_minutes=p, written_minutes=w)
            for lv, p, w in levels
        ]
    for grade, (followup, final) in results.items():
        rows.append(GradeResult(rule=rule, grade=grade, followup_hours=followup, final_days=final))
    for row in rows:
        row.full_clean()
        row.save()
    after = {
        **snapshot(rule),
        "thresholds": {g: dict(m) for g, m in thresholds.items()},
        "targets": {g: list(t) for g, t in targets.items()},
        "results": dict(results),
    }
    audit_change(
        actor, f"criteria.rule.{'update' if before else 'create'}", rule, before=before, after=after
    )
    return rule


def factor_set(
    actor: Any,
    ruleset: RuleSet,
    kind: str,
    effect: str,
    *,
    words: str = "",
    min_affected: int | None = None,
    use_holidays: bool = True,
    is_active: bool = True,
) -> SensitivityFactor:
    """Create or change the rule set's factor of this kind."""
    factor = SensitivityFactor.objects.filter(ruleset=ruleset, kind=kind).first()
    factor = factor or SensitivityFactor(ruleset=ruleset, kind=kind)
    factor.effect, factor.words, factor.min_affected = effect, words, min_affected
    factor.use_holidays, factor.is_active = use_holidays, is_active
    return _save(actor, factor)


def sensitive_date_add(
    actor: Any,
    ruleset: RuleSet,
    name: str,
    starts_on: date,
    ends_on: date | None = None,
    *,
    every_year: bool = False,
) -> SensitiveDate:
    row = SensitiveDate(
        ruleset=ruleset, name=name, starts_on=starts_on, ends_on=ends_on, every_year=every_year
    )
    return _save(actor, row)


def sensitive_place_add(
    actor: Any, ruleset: RuleSet, name: str, division_code: str = ""
) -> SensitivePlace:
    return _save(actor, SensitivePlace(ruleset=ruleset, name=name, division_code=division_code))


@transaction.atomic
def copy_as_new_version(
    actor: Any, ruleset: RuleSet, *, effective_from: datetime | None = None
) -> RuleSet:
    """复制为新版本: the next version of the same criteria with everything in it, not yet
    enabled, so it can be edited before it takes effect; the original stays as it was."""
    latest = RuleSet.objects.filter(code=ruleset.code).aggregate(v=Max("version"))["v"] or 0
    copy = RuleSet.objects.create(
        code=ruleset.code,
        version=latest + 1,
        name=ruleset.name,
        jurisdiction=ruleset.jurisdiction,
        effective_from=effective_from or clock.now(),
        is_active=False,
        basis=ruleset.basis,
        copied_from=ruleset,
    )
    for rule in ruleset.rules.prefetch_related("thresholds", "targets", "results"):
        new_rule = Rule.objects.create(
            ruleset=copy, category=rule.category, base_grade=rule.base_grade, note=rule.note
        )
        for related in (rule.thresholds, rule.targets, rule.results):
            for row in related.all():
                row.pk, row.rule = None, new_rule
                row.save()
    for related in (ruleset.factors, ruleset.dates, ruleset.places):
        for row in related.all():
            row.pk, row.ruleset = None, copy
            row.save()
    audit_change(
        actor,
        "criteria.ruleset.copy",
        copy,
        after={**snapshot(copy), "rules": copy.rules.count()},
    )
    return copy


def case_facts(
    *,
    category: EventCategory | str | None,
    occurred_at: datetime | None,
    division_code: str = "",
    unit: Unit | int | None = None,
    figures: Mapping[str, Any] | None = None,
    text: str = "",
    flags: Iterable[str] = (),
    is_drill: bool = False,
) -> CaseFacts:
    """CaseFacts from input a person typed (API, admin try-it page, report-form preview);
    every problem is named by field in one ValidationError."""
    errors: dict[str, list[str]] = {}
    code = category.code if isinstance(category, EventCategory) else (category or "").strip()
    if not code:
        errors["category"] = ["请选择事件类别"]
    elif (
        not isinstance(category, EventCategory)
        and not EventCategory.objects.filter(code=code).exists()
    ):
        errors["category"] = [f"没有代码为“{code}”的事件类别"]
    if occurred_at is None:
        errors["occurred_at"] = ["请填写发生时间"]
    division_code = (division_code or "").strip()
    if division_code:
        try:
            division_code_validator(division_code)
        except ValidationError as exc:
            errors["division_code"] = exc.messages
    unit_path = ""
    if isinstance(unit, Unit):
        unit_path = unit.path
    elif unit is not None:
        unit_path = Unit.objects.filter(pk=unit).values_list("path", flat=True).first() or ""
        if not unit_path:
            errors["unit"] = ["报送单位不存在"]
    values: dict[str, Any] = {}
    for name, value in (figures or {}).items():
        if name not in FIGURES:
            errors[name] = ["不是可用于定级的数字项"]
        elif value is not None and value < 0:
            errors[name] = [f"{FIGURES[name][0]}不能为负数"]
        else:
            values[name] = value
    flags = frozenset(flags)
    unknown = sorted(flags - set(FactorKind.values))
    if unknown:
        errors["flags"] = [f"未知的标注：{'、'.join(unknown)}"]
    if errors:
        raise ValidationError(errors)
    return CaseFacts(
        category_code=code,
        occurred_at=occurred_at,
        division_code=division_code,
        unit_path=unit_path,
        figures=values,
        text=text,
        flags=flags,
        is_drill=is_drill,
    )
