"""`fenghuo worker` on a lost database connection: it closes the connection, logs, waits
with backoff and goes on — it does not exit (which would leave the outbox undelivered until
someone restarted it). The whole server going away is tests/ops/test_pg_restart.py."""

import logging
import signal

import pytest
from django.db import OperationalError, ProgrammingError

from fenghuo.core.management.commands import worker as command
from tests.processes import (  # noqa: F401 - fixtures
    Probe,
    migrated_site_fixture,
    poll,
    site_fixture,
    uses_postgres,
)


class Failing:
    """Stands in for django-tasks-db's Worker: its run() fails `errors` in turn, then ends."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = list(errors)
        self.running = True
        self.startup_delay = True
        self.runs = 0

    def run(self) -> None:
        self.runs += 1
        if self.errors:
            raise self.errors.pop(0)


def test_connection_errors_are_retried_with_backoff_and_logged(monkeypatch, caplog):
    monkeypatch.setenv("FENGHUO_WORKER_RECONNECT_SECONDS", "0.01")
    worker = Failing([OperationalError("server closed the connection"), OperationalError("x")])
    with caplog.at_level(logging.WARNING, logger="fenghuo.worker"):
        command.run_reconnecting(worker)
    assert worker.runs == 3
    delays = [r.reconnect_in_seconds for r in caplog.records if hasattr(r, "reconnect_in_seconds")]
    assert delays == [0.01, 0.02]
    assert "数据库连接中断" in caplog.records[0].getMessage()
    assert worker.startup_delay is False


def test_other_database_errors_still_end_the_worker(monkeypatch):
    worker = Failing([ProgrammingError('relation "django_tasks_database_dbtaskresult"')])
    with pytest.raises(ProgrammingError):
        command.run_reconnecting(worker)
    assert worker.runs == 1


@pytest.mark.skipif(not uses_postgres(), reason="pg_terminate_backend needs PostgreSQL")
def test_a_real_worker_survives_its_connections_being_terminated(migrated_site):
    worker = migrated_site.start(
        "worker", FENGHUO_WORKER_INTERVAL="0.2", FENGHUO_WORKER_RECONNECT_SECONDS="0.2"
    )
    worker.wait_for("已启动")
    name = migrated_site.database_url.rsplit("/", 1)[1]
    terminate = f"""
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()", [{name!r}]
    )
    result = cursor.rowcount
"""
    # The test's own queries connect afresh each time (no pool), so that cutting every other
    # connection to the database does not cut its own.
    probe = Probe(migrated_site.env(FENGHUO_DB_POOL="0"))
    migrated_site.procs.append(probe.proc)
    # Cut every connection the worker holds, several times, until its task loop notices.
    poll(
        lambda: probe.run(terminate, 60) is not None and "数据库连接中断" in worker.output,
        "the worker to notice its lost connection",
        timeout=60,
        every=0.5,
    )
    beats = (
        "from fenghuo.core.models import WorkerHeartbeat\n"
        "result = str(WorkerHeartbeat.objects.values_list('last_seen', flat=True).get())"
    )
    before = probe.run(beats, 60)
    poll(lambda: probe.run(beats, 60) != before, "a heartbeat after the reconnect", timeout=60)
    assert worker.popen.poll() is None, worker.output
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.output
