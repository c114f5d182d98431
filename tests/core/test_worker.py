"""The task worker: `fenghuo worker` as a real process, and the tasks it runs."""

import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django_tasks import TaskResultStatus, task

from fenghuo.core import clock
from fenghuo.core.management.commands.worker import new_worker_id
from fenghuo.core.models import AuditEntry, WorkerHeartbeat
from fenghuo.core.selectors import worker_statuses, workers_alive
from fenghuo.core.services import audit_record, worker_heartbeat
from fenghuo.core.tasks import verify_audit_chain_task
from tests.processes import Site, migrated_site_fixture, poll, site_fixture  # noqa: F401

FAST = {"FENGHUO_HEARTBEAT_SECONDS": "0.2", "FENGHUO_WORKER_INTERVAL": "0.1"}


@task()
def wait_for_file_task(path: str) -> str:
    """A test task that runs until the test creates `path` (bounded)."""
    deadline = time.monotonic() + 120
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.05)
    return "done"


def _append_entries(count: int) -> None:
    for n in range(count):
        audit_record(actor=None, action="test.entry", object_type="test", object_id=n, after={})


# -- in process -------------------------------------------------------------------------


@pytest.mark.django_db
def test_verify_task_on_a_clean_chain():
    _append_entries(3)
    assert verify_audit_chain_task.call() == {"ok": True, "checked": 3, "broken_seq": None}


@pytest.mark.django_db
def test_verify_task_finds_the_first_broken_link():
    _append_entries(4)
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:  # behind the application's back
        cursor.execute(f"UPDATE {table} SET action = 'tampered' WHERE seq = 3")
    assert verify_audit_chain_task.call() == {"ok": False, "checked": 2, "broken_seq": 3}


@pytest.mark.django_db
def test_verify_task_is_queued_in_the_database():
    result = verify_audit_chain_task.enqueue()
    assert result.status == TaskResultStatus.READY
    assert verify_audit_chain_task.get_result(result.id).status == TaskResultStatus.READY


def test_worker_ids_fit_the_64_character_columns(monkeypatch):
    monkeypatch.setattr("socket.gethostname", lambda: "h" * 200)
    worker_id = new_worker_id()
    assert len(worker_id) <= 64
    assert worker_id != new_worker_id()


@pytest.mark.django_db
def test_a_heartbeat_goes_stale_when_the_clock_passes_the_limit(settings):
    settings.FENGHUO_WORKER_STALE_SECONDS = 60
    worker_heartbeat("w-1")
    assert [(s.worker_id, s.alive) for s in worker_statuses()] == [("w-1", True)]
    clock.advance(timedelta(seconds=61))
    try:
        assert [(s.worker_id, s.alive) for s in worker_statuses()] == [("w-1", False)]
        assert not workers_alive()
    finally:
        clock.advance(timedelta(seconds=-61))


@pytest.mark.django_db
def test_a_cleanly_stopped_worker_is_not_listed():
    worker_heartbeat("w-2")
    worker_heartbeat("w-2", stopping=True)
    assert worker_statuses() == []
    assert WorkerHeartbeat.objects.get(worker_id="w-2").stopped_at is not None


@pytest.mark.django_db
def test_a_worker_silent_for_over_a_day_is_forgotten_but_still_not_alive():
    worker_heartbeat("w-old")
    clock.advance(timedelta(days=1, seconds=1))
    try:
        worker_heartbeat("w-new")
        assert [s.worker_id for s in worker_statuses()] == ["w-new"]
        WorkerHeartbeat.objects.filter(worker_id="w-new").delete()
        assert worker_statuses() == [] and not workers_alive()
    finally:
        clock.advance(timedelta(days=-1, seconds=-1))


# -- as a process -----------------------------------------------------------------------

HEARTBEAT_OF = """
from fenghuo.core.models import WorkerHeartbeat
beat = WorkerHeartbeat.objects.filter(pid={pid}).values().first()
result = beat and {{k: str(v) if v is not None else None for k, v in beat.items()}}
"""

STATUS_OF = """
from django.conf import settings
from fenghuo.core.selectors import worker_statuses
settings.FENGHUO_WORKER_STALE_SECONDS = {stale}
result = [s.alive for s in worker_statuses() if s.worker_id == {worker_id!r}]
"""

RESULT_OF = """
from {module} import {name}
r = {name}.get_result({id!r})
result = {{"status": str(r.status), "value": r.return_value if r.is_finished else None}}
"""


def _heartbeat(site: Site, pid: int) -> dict | None:
    return site.django(HEARTBEAT_OF.format(pid=pid))


def _result(site: Site, task_obj, result_id: str) -> dict:
    return site.django(
        RESULT_OF.format(module=task_obj.func.__module__, name=task_obj.name, id=result_id)
    )


def _enqueue(site: Site, task_obj, *args) -> str:
    code = f"from {task_obj.func.__module__} import {task_obj.name}\n"
    code += f"result = str({task_obj.name}.enqueue(*{args!r}).id)"
    return site.django(code)


def test_worker_beats_runs_a_task_and_stops_cleanly_on_sigterm(migrated_site):
    migrated_site.django(
        "from fenghuo.core.services import audit_record\n"
        "for n in range(3):\n"
        "    audit_record(actor=None, action='t', object_type='t', object_id=n, after={})\n"
    )
    worker = migrated_site.start("worker", **FAST)

    first = poll(lambda: _heartbeat(migrated_site, worker.pid), "a heartbeat row")
    assert first["stopped_at"] is None
    # The heartbeat thread keeps it fresh.
    poll(
        lambda: _heartbeat(migrated_site, worker.pid)["last_seen"] != first["last_seen"],
        "the heartbeat to advance",
    )

    result_id = _enqueue(migrated_site, verify_audit_chain_task)
    done = poll(
        lambda: (
            (r := _result(migrated_site, verify_audit_chain_task, result_id))["status"]
            in {"SUCCESSFUL", "FAILED"}
            and r
        ),
        "the task to finish",
    )
    assert done == {
        "status": "SUCCESSFUL",
        "value": {"ok": True, "checked": 3, "broken_seq": None},
    }

    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.output
    last = _heartbeat(migrated_site, worker.pid)
    assert last["stopped_at"] is not None
    assert migrated_site.django(STATUS_OF.format(worker_id=last["worker_id"], stale=60)) == []


def test_sigterm_lets_the_running_task_finish(migrated_site, tmp_path):
    release = tmp_path / "release"
    worker = migrated_site.start("worker", **FAST)
    result_id = _enqueue(migrated_site, wait_for_file_task, str(release))
    poll(
        lambda: _result(migrated_site, wait_for_file_task, result_id)["status"] == "RUNNING",
        "the worker to take the task",
    )

    worker.signal(signal.SIGTERM)
    worker.wait_for("完成当前任务后退出")
    release.touch()

    assert worker.wait() == 0, worker.output
    assert _result(migrated_site, wait_for_file_task, result_id) == {
        "status": "SUCCESSFUL",
        "value": "done",
    }
    assert _heartbeat(migrated_site, worker.pid)["stopped_at"] is not None


def test_a_killed_worker_goes_stale(migrated_site):
    worker = migrated_site.start("worker", **FAST)
    beat = poll(lambda: _heartbeat(migrated_site, worker.pid), "a heartbeat row")
    # With a 1-second limit a live worker (beating every 0.2 s) is alive …
    status = STATUS_OF.format(worker_id=beat["worker_id"], stale=1)
    poll(
        lambda: migrated_site.django(status) == [True],
        "the worker to be reported alive",
    )

    worker.signal(signal.SIGKILL)
    assert worker.wait() == -signal.SIGKILL

    # … and once killed it stops beating, is not marked stopped, and goes stale.
    poll(
        lambda: migrated_site.django(status) == [False],
        "the killed worker to be reported not alive",
    )
    assert _heartbeat(migrated_site, worker.pid)["stopped_at"] is None


def test_worker_on_an_unmigrated_database_says_so(site):
    done = site.call("worker")
    assert done.returncode != 0
    assert "fenghuo migrate" in done.stderr
