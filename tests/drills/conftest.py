"""The drills' world: the demo province (the bundled scenarios name its units) with the
few people a full exercise needs that the demo leaves out, an opinion scheme with its
warning rules, and a frozen clock the tests move."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fenghuo.core import clock
from fenghuo.opinion import dedup, topics


@pytest.fixture
def now():
    """The clock pinned to a Monday morning, moved by the tests (`clock.advance`)."""
    moment = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with clock.frozen_at(moment):
        yield moment


@pytest.fixture
def province(db, now):
    from tests.drills import world

    return world.build()


@pytest.fixture(autouse=True)
def _fresh_opinion_indexes(monkeypatch):
    """The near-duplicate and topic indexes are process state; each test's database starts
    empty (as in tests/opinion)."""
    monkeypatch.setattr(dedup, "INDEX", dedup.Index())
    monkeypatch.setattr(topics, "INDEX", topics.Index())
