"""The compiled criteria are cached in memory; every edit (service, admin, a row saved
anywhere) shows in the next evaluation, and a rolled-back edit leaves no trace."""

import pytest
from django.db import transaction

from fenghuo.criteria import services
from fenghuo.criteria.models import EventCategory, Revision, Rule, RuleSet, Threshold
from tests.conftest import SYSTEM
from tests.criteria.conftest import grade

pytestmark = pytest.mark.django_db


def work_safety_rule() -> Rule:
    return Rule.objects.get(
        ruleset__code="production-safety", category=EventCategory.objects.get(code="work_safety")
    )


def test_edit_through_the_service_applies_to_the_next_evaluation():
    assert grade("work_safety", dead=3).grade == 3  # warms the cache
    rule = work_safety_rule()
    services.rule_set_up(
        SYSTEM,
        rule.ruleset,
        rule.category,
        base_grade=4,
        thresholds={2: {"dead": 3}},
        targets={2: [("province", 30, 60)]},
    )
    g = grade("work_safety", dead=3)
    assert (g.grade, g.targets[0].level) == (2, "province")


def test_a_saved_row_anywhere_invalidates():
    assert grade("work_safety", seriously_injured=20).grade == 3
    row = work_safety_rule().thresholds.get(grade=3, figure="seriously_injured")
    row.minimum = 25
    row.save()
    assert grade("work_safety", seriously_injured=20).grade == 4
    row.delete()
    assert grade("work_safety", seriously_injured=40).grade == 4


def test_disabling_a_rule_set_hands_its_categories_to_the_next():
    assert grade("hazchem", dead=1).ruleset.startswith("《生产安全事故")
    services.ruleset_update(SYSTEM, RuleSet.objects.get(code="production-safety"), is_active=False)
    assert grade("hazchem", dead=1).ruleset.startswith("《紧急信息报送范围和标准")


def test_every_write_changes_the_revision():
    before = Revision.objects.filter(pk=1).values_list("token", flat=True).first()
    Threshold.objects.filter(rule=work_safety_rule()).first().save()
    after = Revision.objects.get(pk=1).token
    assert after and after != before


def test_a_rolled_back_edit_is_forgotten():
    """The cache was built inside the transaction from the edited rows; after the rollback
    the stored revision differs from the cache's, so the next evaluation rebuilds."""
    assert grade("work_safety", dead=3).grade == 3
    with transaction.atomic():
        rule = work_safety_rule()
        services.rule_set_up(SYSTEM, rule.ruleset, rule.category, thresholds={1: {"dead": 3}})
        assert grade("work_safety", dead=3).grade == 1
        transaction.set_rollback(True)
    assert grade("work_safety", dead=3).grade == 3
