"""Fault test: PostgreSQL restarted (`pg_ctl restart -m fast`) and crashed (`pg_ctl stop -m
immediate`, then started) in the middle of a load of report submissions. Clients retry each
report with its Idempotency-Key; requests during the outage may fail (5xx), but the web
process and the worker ride it out without being restarted, every report is stored exactly
once and every notification reaches the webhook sink.

A private throwaway cluster (tests/ops/pgcluster.py), never the machine's shared server.
bench/faults/pg_restart.py runs more restarts on a longer load and prints figures."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests.ops import pgcluster
from tests.ops.killing import run_pg_restarts
from tests.processes import free_port, poll, uses_postgres

pytestmark = [
    pytest.mark.skipif(
        not uses_postgres(),
        reason="the suite runs on SQLite: restarting a database server needs PostgreSQL",
    ),
    pytest.mark.skipif(bool(pgcluster.missing()), reason=pgcluster.missing() or ""),
]


def cluster_accepts(cluster: pgcluster.PrivateCluster) -> bool:
    try:
        psycopg.connect(cluster.url("postgres"), connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.fixture
def cluster_site(tmp_path):
    cluster = pgcluster.PrivateCluster()
    try:
        cluster.start()
        url = cluster.create_database(f"fenghuo_{uuid.uuid4().hex[:8]}")
        (tmp_path / "data").mkdir()
        site = pgcluster.ClusterSite(tmp_path / "data", url)
        try:
            site.migrate()
            yield site, cluster
        finally:
            site.cleanup()
    finally:
        cluster.destroy()


def test_postgres_restarted_and_crashed_mid_load_lose_and_duplicate_nothing(cluster_site):
    site, cluster = cluster_site
    result = run_pg_restarts(
        site, cluster, reports=90, threads=4, restarts=2, down_seconds=3, deadline=90, say=print
    )
    print(result.summary())
    assert len(result.faults) == 2, result.summary()
    # The outage was real: requests failed and were retried under their keys. A request
    # that met the outage is answered 503 + Retry-After (or cut off), never 500.
    assert sum(result.retries.values()) > 0, result.summary()
    assert "HTTP 500" not in result.retries, result.summary()
    assert result.exited == [], result.summary()
    assert result.refused == {}, result.summary()
    assert result.acked == result.keys == result.stored, result.summary()
    assert (result.lost, result.duplicated_stored, result.duplicated) == (0, 0, 0), result.summary()


def test_after_a_restart_dead_pooled_connections_fail_one_request_not_one_each(cluster_site):
    """The web process's pool held connections to the old server, each dead. The first
    request that meets one answers 503 and has the pool test them all, so the requests
    after it get live connections (before: one 503 per dead connection)."""
    site, cluster = cluster_site
    port = free_port()
    site.start("serve", "--port", str(port))
    url = f"http://127.0.0.1:{port}/public/"

    def answered() -> bool:
        try:
            return httpx.get(url, trust_env=False, timeout=20).status_code == 200
        except httpx.TransportError:
            return False

    poll(answered, "the web server to answer")
    with ThreadPoolExecutor(8) as pool:  # several pooled connections in use at once
        assert all(pool.map(lambda _: answered(), range(24)))

    cluster.restart()
    poll(lambda: cluster_accepts(cluster), "the restarted server to accept connections")
    outcomes = [answered() for _ in range(12)]
    assert outcomes[1:] == [True] * 11, outcomes
