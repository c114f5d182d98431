"""The presets shipped as data: the regulation's table, its boundaries, which rule applies
to which category, and the deadlines in words."""

from decimal import Decimal

import pytest

from fenghuo.criteria.models import FIGURES, EventCategory, RuleSet
from fenghuo.criteria.services import Target
from fenghuo.events.models import FIGURES as REPORT_FIGURES
from tests.criteria.conftest import grade

pytestmark = pytest.mark.django_db

WORK_SAFETY = "《生产安全事故报告和调查处理条例》 第1版"
COUNTY_1H = "须于 1 小时内书面报告至县级"
CITY_3H = "须于 3 小时内书面报告至市级"
PROVINCE_5H = "须于 5 小时内书面报告至省级"
NATIONAL_7H = "须于 7 小时内书面报告至国家级"


def test_criteria_figures_are_the_report_figures():
    assert list(FIGURES) == list(REPORT_FIGURES)


def test_presets_are_installed_by_migration():
    codes = set(RuleSet.objects.values_list("code", flat=True))
    assert {"production-safety", "public-health", "local-emergency-info"} <= codes


# The check, row by row: grade, the deciding reason, the levels and deadlines.
def test_two_dead_is_general():
    g = grade("work_safety", dead=2)
    assert (g.grade, g.label, g.ruleset) == (4, "一般（Ⅳ级）", WORK_SAFETY)
    assert "死亡 2 人 < 3 人（未达较大（Ⅲ级）标准）" in g.reasons
    assert "未达到任何分级标准，按本类事件基础等级定为一般（Ⅳ级）" in g.reasons
    assert g.targets == (Target("county", None, 60), Target("city", None, 180))
    assert [r for r in g.reasons if r.startswith("须于 ") and "报告" in r] == [COUNTY_1H, CITY_3H]
    assert (g.followup_hours, g.final_days) == (24, 30)
    assert "每 24 小时续报一次，直至终报" in g.reasons
    assert "须于 30 日内终报" in g.reasons


def test_three_dead_is_larger():
    g = grade("work_safety", dead=3)
    assert (g.grade, g.label) == (3, "较大（Ⅲ级）")
    assert "死亡 3 人 ≥ 3 人 → 较大（Ⅲ级）" in g.reasons
    assert [t.level for t in g.targets] == ["county", "city", "province"]
    assert {COUNTY_1H, CITY_3H, PROVINCE_5H} <= set(g.reasons)
    assert NATIONAL_7H not in g.reasons


def test_ten_dead_is_major():
    g = grade("work_safety", dead=10)
    assert (g.grade, g.label) == (2, "重大（Ⅱ级）")
    assert "死亡 10 人 ≥ 10 人 → 重大（Ⅱ级）" in g.reasons
    assert [t.level for t in g.targets] == ["county", "city", "province", "national"]
    assert {COUNTY_1H, CITY_3H, PROVINCE_5H, NATIONAL_7H} <= set(g.reasons)


def test_thirty_dead_is_especially_major():
    g = grade("work_safety", dead=30)
    assert (g.grade, g.label) == (1, "特别重大（Ⅰ级）")
    assert "死亡 30 人 ≥ 30 人 → 特别重大（Ⅰ级）" in g.reasons
    assert "定级：特别重大（Ⅰ级）" in g.reasons
    assert g.targets[-1] == Target("national", None, 420)
    assert NATIONAL_7H in g.reasons


def test_nine_dead_with_sixty_million_loss_is_major():
    g = grade("work_safety", dead=9, economic_loss=Decimal("6000"))
    assert (g.grade, g.label) == (2, "重大（Ⅱ级）")
    # Any one threshold suffices; the highest grade reached wins, and both are explained.
    assert "直接经济损失 6000 万元 ≥ 5000 万元 → 重大（Ⅱ级）" in g.reasons
    assert "死亡 9 人 ≥ 3 人 → 较大（Ⅲ级）" in g.reasons
    assert g.reasons.index("直接经济损失 6000 万元 ≥ 5000 万元 → 重大（Ⅱ级）") < g.reasons.index(
        "死亡 9 人 ≥ 3 人 → 较大（Ⅲ级）"
    )
    assert NATIONAL_7H in g.reasons


def test_the_rule_set_is_named_with_its_scope_and_date():
    g = grade("work_safety", dead=1)
    assert g.reasons[0].startswith(f"适用{WORK_SAFETY}（适用范围：全国，2007-06-01 起施行）")
    assert g.rule_id is not None


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        # "以上" includes the number itself, "以下" does not.
        ({"dead": 9}, 3),
        ({"dead": 29}, 2),
        ({"seriously_injured": 9}, 4),
        ({"seriously_injured": 10}, 3),
        ({"seriously_injured": 49}, 3),
        ({"seriously_injured": 50}, 2),
        ({"seriously_injured": 99}, 2),
        ({"seriously_injured": 100}, 1),
        ({"economic_loss": Decimal("999.99")}, 4),
        ({"economic_loss": Decimal("1000")}, 3),
        ({"economic_loss": Decimal("4999.99")}, 3),
        ({"economic_loss": Decimal("5000.00")}, 2),
        ({"economic_loss": Decimal("9999.99")}, 2),
        ({"economic_loss": 10000}, 1),
        ({"dead": 0, "seriously_injured": 0}, 4),
    ],
)
def test_boundaries_are_inclusive_from_below(figures, expected):
    assert grade("hazchem", **figures).grade == expected


def test_every_accident_category_uses_the_regulation():
    for code in ("work_safety", "hazchem", "construction", "road_traffic", "fire"):
        assert grade(code, dead=10).ruleset == WORK_SAFETY, code


def test_public_health_two_hours_per_level_and_one_hour_to_the_nation():
    g = grade("food_safety", dead=1)
    assert g.ruleset == "《突发公共卫生事件应急条例》 第1版"
    assert (g.grade, g.label) == (3, "较大（Ⅲ级）")
    assert [(t.level, t.written_minutes) for t in g.targets] == [
        ("county", 120),
        ("city", 240),
        ("province", 360),
        ("national", 420),
    ]
    assert "须于 2 小时内书面报告至县级" in g.reasons
    assert "须于 7 小时内书面报告至国家级" in g.reasons


def test_categories_no_regulation_covers_fall_to_the_local_template():
    g = grade("flood", dead=3)
    assert g.ruleset == "《紧急信息报送范围和标准（地方模板）》 第1版"
    assert (g.grade, g.label) == (3, "较大（Ⅲ级）")
    # 3 dead → the provincial committee: phone within 30 minutes, written within 1 hour.
    assert g.targets[-1] == Target("province", 30, 60)
    assert "须于 30 分钟内电话报告、1 小时内书面报告至省级" in g.reasons
    assert "其他类别规则" in g.reasons[0]


def test_local_template_five_seriously_injured_reach_the_province():
    g = grade("pollution", seriously_injured=5)
    assert g.grade == 3
    assert "重伤 5 人 ≥ 5 人 → 较大（Ⅲ级）" in g.reasons


def test_below_every_threshold_without_base_grade_is_not_reportable():
    g = grade("online_opinion")
    assert (g.grade, g.label, g.targets) == (None, "未达报送标准", ())
    assert g.ruleset == "《紧急信息报送范围和标准（地方模板）》 第1版"


def test_unknown_category_has_no_criteria():
    g = grade("no-such-category", dead=40)
    assert (g.grade, g.label, g.ruleset, g.rule_id) == (None, "无适用标准", "", None)
    assert "no-such-category" in g.reasons[0]


def test_a_top_category_alone_uses_its_top_rule():
    health = EventCategory.objects.get(code="health")
    assert health.parent_id is None
    assert grade("health", dead=10).grade == 2


def test_drill_is_graded_and_said_to_be_a_drill():
    g = grade("work_safety", dead=10, is_drill=True)
    assert g.grade == 2
    assert g.reasons[-1] == "演练信息：不计入实际统计"
