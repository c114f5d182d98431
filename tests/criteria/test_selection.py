"""Which rule grades a case: the most specific jurisdiction, the version in force when the
event occurred, the subcategory's rule over its top category's, copies for new versions."""

from datetime import datetime, timedelta

import pytest

from fenghuo.core.models import AuditEntry
from fenghuo.criteria import services
from fenghuo.criteria.models import EventCategory, Rule, RuleSet
from fenghuo.criteria.services import CaseFacts, evaluate
from tests.conftest import SYSTEM
from tests.criteria.conftest import CST, ORDINARY_DAY, grade

pytestmark = pytest.mark.django_db

THREE_LEVELS = [("county", 30, 60), ("city", 30, 60), ("province", 30, 60)]


def category(code: str) -> EventCategory:
    return EventCategory.objects.get(code=code)


def local_rules(jurisdiction, *, dead_for_major: int, name: str = "江南省紧急信息报送标准"):
    """A rule set for the accident top category: 2 dead already make it 重大."""
    ruleset = services.ruleset_create(
        SYSTEM,
        code=f"local-{jurisdiction.pk}",
        name=name,
        effective_from=datetime(2025, 1, 1, tzinfo=CST),
        jurisdiction=jurisdiction,
    )
    services.rule_set_up(
        SYSTEM,
        ruleset,
        category("accident"),
        thresholds={2: {"dead": dead_for_major}},
        targets={2: THREE_LEVELS},
        results={2: (6, 10)},
    )
    return ruleset


def facts_in(unit, **figures) -> CaseFacts:
    return CaseFacts("pollution", ORDINARY_DAY, unit_path=unit.path, figures=figures)


def test_most_specific_jurisdiction_wins(world):
    local_rules(world["province"], dead_for_major=5, name="江南省标准")
    local_rules(world["city"], dead_for_major=2, name="临江市标准")

    in_county = evaluate(facts_in(world["county"], dead=2))
    assert in_county.ruleset == "《临江市标准》 第1版"
    assert in_county.grade == 2
    assert "适用范围：临江市委办公室" in in_county.reasons[0]

    in_province = evaluate(facts_in(world["province"], dead=2))
    assert in_province.ruleset == "《江南省标准》 第1版"
    assert in_province.grade is None

    # Outside both jurisdictions, and for an unknown unit, the nationwide presets apply.
    assert evaluate(facts_in(world["other"], dead=2)).ruleset.startswith("《紧急信息报送范围和标准")
    assert evaluate(CaseFacts("pollution", ORDINARY_DAY, figures={"dead": 2})).grade == 4


def test_jurisdiction_is_compared_before_category_precision(world):
    """A province's rule for the top category beats the nationwide rule for the subcategory:
    the province chose to cover all accidents in its area."""
    local_rules(world["province"], dead_for_major=2)
    g = evaluate(
        CaseFacts("work_safety", ORDINARY_DAY, unit_path=world["county"].path, figures={"dead": 2})
    )
    assert g.ruleset == "《江南省紧急信息报送标准》 第1版"
    assert g.grade == 2


def test_subcategory_rule_beats_top_category_rule(world):
    ruleset = local_rules(world["province"], dead_for_major=5)
    sub = services.rule_set_up(
        SYSTEM,
        ruleset,
        category("pollution"),
        thresholds={3: {"dead": 1}},
        targets={3: THREE_LEVELS[:1]},
    )
    unit_path = world["county"].path
    polluted = evaluate(
        CaseFacts("pollution", ORDINARY_DAY, unit_path=unit_path, figures={"dead": 1})
    )
    assert (polluted.rule_id, polluted.grade) == (sub.pk, 3)
    # Another subcategory of the same top category still gets the top category's rule.
    fire = evaluate(CaseFacts("fire", ORDINARY_DAY, unit_path=unit_path, figures={"dead": 5}))
    assert fire.rule_id == Rule.objects.get(ruleset=ruleset, category=category("accident")).pk
    assert fire.grade == 2


def test_version_in_force_when_the_event_occurred(world):
    first = local_rules(world["province"], dead_for_major=5)
    second = services.copy_as_new_version(
        SYSTEM, first, effective_from=datetime(2026, 6, 1, tzinfo=CST)
    )
    services.rule_set_up(
        SYSTEM,
        second,
        category("accident"),
        thresholds={2: {"dead": 2}},
        targets={2: THREE_LEVELS},
    )
    unit_path = world["county"].path

    def at(moment):
        return evaluate(CaseFacts("hazchem", moment, unit_path=unit_path, figures={"dead": 3}))

    # The copy is not enabled yet: nothing changes until it is.
    assert at(datetime(2026, 7, 1, tzinfo=CST)).ruleset == "《江南省紧急信息报送标准》 第1版"
    services.ruleset_update(SYSTEM, second, is_active=True)

    before = at(datetime(2026, 5, 31, 23, 59, tzinfo=CST))
    after = at(datetime(2026, 6, 1, tzinfo=CST))
    assert (before.ruleset, before.grade) == ("《江南省紧急信息报送标准》 第1版", None)
    assert (after.ruleset, after.grade) == ("《江南省紧急信息报送标准》 第2版", 2)
    # Before the first version took effect, the nationwide regulation graded it.
    assert at(datetime(2024, 12, 31, tzinfo=CST)).ruleset.startswith("《生产安全事故")
    # `at` picks the version as of another moment (e.g. when the event became known).
    late = evaluate(
        CaseFacts(
            "hazchem", datetime(2026, 5, 31, tzinfo=CST), unit_path=unit_path, figures={"dead": 3}
        ),
        at=datetime(2026, 6, 2, tzinfo=CST),
    )
    assert late.ruleset.endswith("第2版")


def test_copy_as_new_version_copies_everything_and_leaves_the_original(world):
    original = RuleSet.objects.get(code="local-emergency-info", version=1)
    copy = services.copy_as_new_version(SYSTEM, original)

    assert (copy.code, copy.version, copy.is_active, copy.copied_from) == (
        original.code,
        2,
        False,
        original,
    )
    for related in ("rules", "factors", "dates", "places"):
        assert getattr(copy, related).count() == getattr(original, related).count() > 0
    old_rule, new_rule = original.rules.get(), copy.rules.get()
    assert new_rule.pk != old_rule.pk
    for related in ("thresholds", "targets", "results"):
        old_rows = getattr(old_rule, related).values_list("grade", flat=True)
        assert sorted(getattr(new_rule, related).values_list("grade", flat=True)) == sorted(
            old_rows
        )
    assert AuditEntry.objects.filter(action="criteria.ruleset.copy", object_id=copy.pk).exists()

    # Editing the copy leaves events graded by the original explained as before.
    services.rule_set_up(SYSTEM, copy, None, base_grade=4, targets={4: THREE_LEVELS[:1]})
    services.ruleset_update(SYSTEM, copy, is_active=True, effective_from=ORDINARY_DAY)
    earlier = grade("online_opinion", occurred_at=ORDINARY_DAY - timedelta(days=1))
    later = grade("online_opinion")
    assert (earlier.grade, earlier.ruleset) == (
        None,
        "《紧急信息报送范围和标准（地方模板）》 第1版",
    )
    assert (later.grade, later.ruleset) == (4, "《紧急信息报送范围和标准（地方模板）》 第2版")


def test_equal_standing_takes_the_higher_grade():
    services.ruleset_create(
        SYSTEM,
        code="strict",
        name="更严格的兜底标准",
        effective_from=datetime(2020, 1, 1, tzinfo=CST),
    )
    strict = RuleSet.objects.get(code="strict")
    services.rule_set_up(SYSTEM, strict, None, thresholds={2: {"dead": 1}}, targets={2: []})
    g = grade("flood", dead=1)
    assert (g.grade, g.ruleset) == (2, "《更严格的兜底标准》 第1版")
    # …and the lower one where the other is higher.
    assert grade("flood", dead=30).ruleset.startswith("《紧急信息报送范围和标准")
