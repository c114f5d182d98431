"""Fault test: the web process and the worker are each killed with SIGKILL in the middle of
a load of report submissions through the API (and of the notifications they cause), and new
ones started. Clients retry each report with its Idempotency-Key until answered: every
report is stored exactly once, every notification reaches the webhook sink (redeliveries
only under the same key, which a receiver absorbs). Compressed here (one kill of each);
bench/faults/kill_processes.py runs several rounds on a longer load and prints figures."""

from tests.ops.killing import run_kills
from tests.processes import migrated_site_fixture, site_fixture  # noqa: F401 - fixtures


def test_sigkill_web_and_worker_mid_load_lose_and_duplicate_nothing(migrated_site):
    result = run_kills(migrated_site, reports=90, threads=4, rounds=1, deadline=90, say=print)
    print(result.summary())
    # The faults were real: both processes died with requests and deliveries in flight, and
    # the clients had to retry.
    assert len(result.faults) == 2, result.summary()
    assert sum(result.retries.values()) > 0, result.summary()
    assert result.refused == {}, result.summary()
    assert result.acked == result.keys == result.stored, result.summary()
    assert (result.lost, result.duplicated_stored, result.duplicated) == (0, 0, 0), result.summary()
