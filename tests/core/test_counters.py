"""The rate limits' counter cache: one statement per operation, atomic increments, expiry.

Runs on SQLite and PostgreSQL alike (the suite runs on both); on PostgreSQL it is also the
default rate-limit cache, so tests/security/test_rate_limits.py goes through it there."""

import threading
import time

import pytest
from django.db import connection

from fenghuo.core.counters import CounterCache

pytestmark = pytest.mark.django_db


@pytest.fixture
def counters() -> CounterCache:
    cache = CounterCache("test_counters", {})
    cache.create_table()
    cache.create_table()  # a second call finds it and changes nothing
    return cache


def test_add_then_incr_counts_and_add_keeps_a_live_count(counters):
    assert counters.add("client", 0, 60) is True
    assert [counters.incr("client") for _ in range(3)] == [1, 2, 3]
    assert counters.add("client", 0, 60) is False  # live: kept
    assert counters.get("client") == 3
    assert counters.incr("client", 5) == 8
    assert counters.get("other", "none") == "none"
    with pytest.raises(ValueError):
        counters.incr("other")


def test_an_expired_count_is_gone_and_add_starts_it_again(counters, monkeypatch):
    counters.add("client", 0, 10)
    counters.incr("client")
    later = time.time() + 11
    monkeypatch.setattr(time, "time", lambda: later)
    assert counters.get("client") is None
    with pytest.raises(ValueError):
        counters.incr("client")
    assert counters.add("client", 0, 10) is True
    assert counters.incr("client") == 1


def test_set_touch_delete_clear_and_no_expiry(counters, monkeypatch):
    counters.set("a", 7, None)  # never expires
    counters.set("a", 9, None)
    counters.set("b", 1, 10)
    assert counters.get("a") == 9 and counters.has_key("b")
    assert counters.touch("b", 100) is True
    later = time.time() + 50
    monkeypatch.setattr(time, "time", lambda: later)
    assert counters.get("b") == 1  # touched: lives 100 s, not 10
    assert counters.delete("b") is True and counters.delete("b") is False
    counters.clear()
    assert counters.get("a") is None


def test_one_statement_per_operation(counters, django_assert_num_queries):
    counters.add("client", 0, 60)
    with django_assert_num_queries(1):
        counters.add("client", 0, 60)
    with django_assert_num_queries(1):
        counters.incr("client")
    with django_assert_num_queries(1):
        counters.get("client")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one writer at a time on SQLite")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_increments_are_not_lost():
    counters = CounterCache("test_counters_parallel", {})
    counters.create_table()
    counters.clear()
    counters.add("client", 0, 600)
    start = threading.Barrier(8)

    def hit() -> None:
        from django.db import connections

        start.wait()
        for _ in range(25):
            counters.incr("client")
        connections.close_all()

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counters.get("client") == 200
    counters.clear()
