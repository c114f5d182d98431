"""The issue's check: a period of known on-time, late and missing reports, every figure
and the ranking exactly (the cast and the period are in world.py, with the expected table
worked out by hand in build_period's docstring)."""

from datetime import date

import pytest

from fenghuo.assess import metrics
from fenghuo.assess.periods import Period
from tests.assess.world import EXPECTED

pytestmark = pytest.mark.django_db

JAN_FEB = Period.bimonth(date(2026, 1, 15))


def _table(rows):
    return [{key: row.as_dict()[key] for key in EXPECTED[0]} for row in rows]


def test_every_figure_and_the_ranking_of_the_period(period, at_now):
    assert _table(metrics.ranking(period["city"], JAN_FEB)) == EXPECTED
