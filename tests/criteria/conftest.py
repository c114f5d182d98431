"""Helpers for the criteria tests: a fixed Monday that is no holiday, and cases."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fenghuo.criteria.services import CaseFacts, Grading, evaluate

CST = ZoneInfo("Asia/Shanghai")
# 2026-11-23 was a Monday and no holiday or 调休 day.
ORDINARY_DAY = datetime(2026, 11, 23, 10, 0, tzinfo=CST)


def grade(category: str, *, at: datetime | None = None, **kwargs) -> Grading:
    """Evaluate a case of `category` on an ordinary day unless told otherwise."""
    figures = {name: kwargs.pop(name) for name in list(kwargs) if name in FIGURE_NAMES}
    facts = CaseFacts(
        category_code=category,
        occurred_at=kwargs.pop("occurred_at", ORDINARY_DAY),
        figures=figures,
        **kwargs,
    )
    return evaluate(facts, at=at)


FIGURE_NAMES = (
    "dead",
    "missing",
    "seriously_injured",
    "injured",
    "economic_loss",
    "affected",
    "evacuated",
)


@pytest.fixture
def world(make_unit):
    """A province with a city and a county below it, and a second province beside it."""
    from fenghuo.org.models import AdminLevel

    province = make_unit("江南省委办公厅", level=AdminLevel.PROVINCE, division_code="990000")
    city = make_unit("临江市委办公室", province, level=AdminLevel.CITY, division_code="990100")
    county = make_unit("江口县委办公室", city, division_code="990121")
    other = make_unit("河北岸省委办公厅", level=AdminLevel.PROVINCE, division_code="980000")
    units = {"province": province, "city": city, "county": county, "other": other}
    for unit in units.values():
        unit.refresh_from_db()  # the sorted tree renumbers paths as roots are added
    return units
