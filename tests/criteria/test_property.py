"""Property: more dead, injured, loss or people affected never make a case less grave."""

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
