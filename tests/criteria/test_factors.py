"""Sensitivity factors of the local template (and changes to them): each one raises the
grade one level or marks the case for 预警关注, with its reason."""

from datetime import date, datetime

import pytest
from django.core.exceptions import ValidationError

from fenghuo.criteria import services
from fenghuo.criteria.models import FactorEffect, FactorKind, RuleSet
from tests.conftest import SYSTEM
from tests.criteria.conftest import CST, grade

pytestmark = pytest.mark.django_db

RAISED_3_TO_2 = "因敏感因素提高一级：较大（Ⅲ级） → 重大（Ⅱ级）"


@pytest.fixture
def template() -> RuleSet:
    return RuleSet.objects.get(code="local-emergency-info", version=1)


def test_plain_case_is_neither_raised_nor_marked():
    g = grade("mass_incident", dead=3, text="某县城郊发生冲突")
    assert (g.grade, g.attention) == (3, False)
    assert not any("敏感" in r or "预警关注" in r for r in g.reasons)


def test_sensitive_identity_word_raises_one_level():
    g = grade("mass_incident", dead=3, text="涉事人员为某大学学生")
    assert (g.grade, g.label) == (2, "重大（Ⅱ级）")
    assert "敏感身份：涉及“学生” → 提高一级" in g.reasons
    assert RAISED_3_TO_2 in g.reasons
    # The result follows the raised grade: 重大 goes up to the national level.
    assert [t.level for t in g.targets][-1] == "national"


def test_reporters_flag_triggers_the_factor_without_any_word():
    g = grade("mass_incident", dead=3, flags=frozenset({"sensitive_identity"}))
    assert g.grade == 2
    assert "敏感身份：报送人标注 → 提高一级" in g.reasons


def test_extreme_behaviour_raises():
    g = grade("criminal", dead=3, text="一男子在商场内持刀伤人")
    assert g.grade == 2
    assert "极端行为：涉及“持刀” → 提高一级" in g.reasons


def test_several_factors_raise_one_level_only():
    g = grade("criminal", dead=3, text="一男子持刀劫持学生")
    assert g.grade == 2
    assert "极端行为：涉及“劫持”、“持刀” → 提高一级" in g.reasons
    assert "敏感身份：涉及“学生” → 提高一级" in g.reasons
    assert [r for r in g.reasons if r.startswith("因敏感因素")] == [RAISED_3_TO_2]


def test_raising_stops_at_the_top_grade():
    assert grade("criminal", dead=30, text="记者").grade == 1


def test_a_case_under_every_threshold_raised_becomes_general():
    g = grade("online_opinion", text="网传外籍人员与店主冲突")
    assert (g.grade, g.label) == (4, "一般（Ⅳ级）")
    assert "因敏感因素提高一级：未达报送标准 → 一般（Ⅳ级）" in g.reasons
    assert g.targets


def test_sensitive_place_by_name_marks_attention():
    g = grade("mass_incident", dead=3, text="火车站广场聚集")
    assert (g.grade, g.attention) == (3, True)
    assert "敏感地点：火车站 → 预警关注" in g.reasons
    assert "列入预警关注" in g.reasons


def test_sensitive_place_by_division_code(template):
    services.sensitive_place_add(SYSTEM, template, "江口县城区", "990121")
    hit = grade("mass_incident", dead=3, division_code="990121")
    assert hit.attention
    assert "敏感地点：江口县城区（区划 990121） → 预警关注" in hit.reasons
    assert not grade("mass_incident", dead=3, division_code="990122").attention


def test_attention_without_grade():
    g = grade("online_opinion", text="医院门口有人拉横幅")
    assert (g.grade, g.label, g.attention) == (None, "未达报送标准", True)


def test_public_holiday_from_chinese_calendar_marks_attention():
    g = grade("mass_incident", dead=3, occurred_at=datetime(2026, 10, 1, 15, tzinfo=CST))
    assert (g.grade, g.attention) == (3, True)
    assert "敏感时间：2026-10-01 为国庆节假期 → 预警关注" in g.reasons


def test_adjusted_working_day_counts_as_sensitive_time():
    # 2026-02-14, a Saturday worked in exchange for the Spring Festival holiday (调休).
    g = grade("mass_incident", dead=3, occurred_at=datetime(2026, 2, 14, 9, tzinfo=CST))
    assert "敏感时间：2026-02-14 为春节调休上班日 → 预警关注" in g.reasons


def test_holiday_is_the_local_date_not_utc():
    # 2026-10-01 00:30 in Beijing is still 30 September in UTC; 30 September is no holiday.
    assert grade(
        "mass_incident", dead=3, occurred_at=datetime(2026, 10, 1, 0, 30, tzinfo=CST)
    ).attention
    g = grade("mass_incident", dead=3, occurred_at=datetime(2026, 9, 30, 16, 30, tzinfo=CST))
    assert not g.attention


def test_configured_yearly_date_marks_attention():
    g = grade("mass_incident", dead=3, occurred_at=datetime(2030, 12, 13, 9, tzinfo=CST))
    assert any(r.startswith("敏感时间：2030-12-13 为") and "国家公祭日" in r for r in g.reasons)
    assert g.attention


def test_configured_date_range(template):
    services.sensitive_date_add(
        SYSTEM, template, "省运动会", date(2026, 11, 20), date(2026, 11, 25)
    )
    assert "敏感时间：2026-11-23 为省运动会 → 预警关注" in grade("mass_incident", dead=3).reasons
    outside = grade("mass_incident", dead=3, occurred_at=datetime(2026, 11, 26, 9, tzinfo=CST))
    assert not outside.attention


def test_year_without_holiday_data_is_said_so():
    g = grade("mass_incident", dead=3, occurred_at=datetime(2099, 5, 1, 9, tzinfo=CST))
    assert "节假日数据未收录 2099 年，未判断法定节假日" in g.reasons
    assert not g.attention


def test_crowd_by_affected_people():
    g = grade("mass_incident", affected=50)
    assert g.grade == 4
    assert "持续时间长、聚集人数多：受影响 50 人 ≥ 50 人 → 提高一级" in g.reasons
    assert grade("mass_incident", affected=49).grade is None


def test_crowd_by_reporters_flag():
    g = grade("mass_incident", affected=20, flags=frozenset({"long_duration_crowd"}))
    assert g.grade == 4
    assert "持续时间长、聚集人数多：报送人标注 → 提高一级" in g.reasons


def test_effect_is_configured_per_rule_set(template):
    services.factor_set(SYSTEM, template, FactorKind.PLACE, FactorEffect.RAISE)
    g = grade("mass_incident", dead=3, text="火车站广场聚集")
    assert (g.grade, g.attention) == (2, False)
    services.factor_set(SYSTEM, template, FactorKind.PLACE, FactorEffect.RAISE, is_active=False)
    assert grade("mass_incident", dead=3, text="火车站广场聚集").grade == 3


def test_identity_factor_needs_words(template):
    with pytest.raises(ValidationError) as caught:
        services.factor_set(SYSTEM, template, FactorKind.IDENTITY, FactorEffect.RAISE, words=" ")
    assert "words" in caught.value.message_dict


def test_regulations_have_no_sensitivity_factors():
    """The national regulations grade by figures only: a student among the dead of a
    production-safety accident changes nothing there."""
    assert grade("work_safety", dead=3, text="死者中有学生").grade == 3
