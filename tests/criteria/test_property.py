"""Properties of the criteria engine: more dead, injured, loss or people affected never
make a case less grave, nor do more words; any case at all is graded without failing and
explained in Chinese."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.criteria.conftest import FIGURE_NAMES, grade

pytestmark = pytest.mark.django_db

CATEGORIES = ["work_safety", "hazchem", "food_safety", "flood", "mass_incident", "online_opinion"]
count = st.one_of(st.none(), st.integers(min_value=0, max_value=200))
loss = st.one_of(st.none(), st.decimals(min_value=0, max_value=20000, places=2, allow_nan=False))
figures = st.fixed_dictionaries(
    {name: (loss if name == "economic_loss" else count) for name in FIGURE_NAMES}
)


def severity(value: int | None) -> int:
    """5 − grade, so that larger is graver; not reportable is 0."""
    return 0 if value is None else 5 - value


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    category=st.sampled_from(CATEGORIES),
    before=figures,
    raised=st.sampled_from(FIGURE_NAMES),
    by=st.integers(min_value=1, max_value=100),
    text=st.sampled_from(["", "学生", "火车站聚集", "持刀"]),
)
def test_raising_any_figure_never_lowers_the_grade(category, before, raised, by, text):
    after = dict(before)
    after[raised] = (before[raised] or 0) + (Decimal(by) if raised == "economic_loss" else by)
    low = grade(category, text=text, **before)
    high = grade(category, text=text, **after)
    assert severity(high.grade) >= severity(low.grade), (low.reasons, high.reasons)


CJK = re.compile(r"[\u4e00-\u9fff]")
ALL_CATEGORIES = [
    *CATEGORIES,
    "natural",
    "accident",
    "fire",
    "road_traffic",
    "epidemic",
    "campus",
    "no_such_category",
]
LABELS = {1: "特别重大（Ⅰ级）", 2: "重大（Ⅱ级）", 3: "较大（Ⅲ级）", 4: "一般（Ⅳ级）"}
moments = st.datetimes(
    min_value=datetime(2005, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    category=st.sampled_from(ALL_CATEGORIES),
    values=figures,
    text=st.text(max_size=80),
    occurred_at=moments,
    division=st.from_regex(r"\A[0-9]{6}\Z"),
    flags=st.frozensets(st.sampled_from(["long_duration_crowd", "extreme", "unknown_flag"])),
)
def test_any_case_is_graded_without_failing_and_explained_in_chinese(
    category, values, text, occurred_at, division, flags
):
    """Any figures, any text, any day of two decades, any division: a grade I–IV or none,
    its label, and reasons a newcomer can read; the same case twice, the same answer."""
    facts = dict(text=text, occurred_at=occurred_at, division_code=division, flags=flags)
    first = grade(category, **facts, **values)
    assert first == grade(category, **facts, **values)
    assert first.grade in (None, 1, 2, 3, 4)
    if first.grade is not None:
        assert first.label == LABELS[first.grade]
        assert first.targets, "a reportable case names where it must go"
        assert all(t.written_minutes > 0 for t in first.targets)
    assert first.reasons and all(CJK.search(reason) for reason in first.reasons)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    category=st.sampled_from(CATEGORIES),
    values=figures,
    text=st.text(max_size=30),
    more=st.sampled_from(["学生", "持刀", "火车站聚集", "自焚", "外国人", "上访", "", "x"]),
)
def test_more_words_never_lower_the_grade(category, values, text, more):
    """Sensitivity factors only raise: saying more about a case cannot make it less grave."""
    plain = grade(category, text=text, **values)
    fuller = grade(category, text=f"{text}，{more}", **values)
    assert severity(fuller.grade) >= severity(plain.grade), (plain.reasons, fuller.reasons)
