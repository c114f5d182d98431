"""The worker's polling loops (core.loops) log a failed step and go on; a database that is
away is one warning line per step, not a traceback from every loop several times a second."""

import logging
import threading

from django.db import OperationalError

from fenghuo.core import loops

calls: list[str] = []
stepped = threading.Event()


def failing_step() -> int:
    """Fails as a step does while PostgreSQL restarts, then as a bug would."""
    calls.append("step")
    if len(calls) == 1:
        raise OperationalError(
            "consuming input failed: terminating connection due to administrator command\n"
            "server closed the connection unexpectedly"
        )
    if len(calls) == 2:
        raise ValueError("a bug in the step")
    stepped.set()
    return 0


def test_a_failing_step_is_logged_and_the_loop_goes_on(caplog):
    calls.clear()
    stepped.clear()
    loop = loops.Loop("tests.core.test_loops:failing_step", 0.01)
    with caplog.at_level(logging.INFO, logger="fenghuo.worker"):
        loop.start()
        assert stepped.wait(10), "the loop stopped after a failed step"
        loop.stop()
    records = [r for r in caplog.records if r.name == "fenghuo.worker"]
    away, bug = records[0], records[1]
    assert away.levelno == logging.WARNING and away.exc_info is None
    assert away.getMessage() == (
        "后台循环 tests.core.test_loops:failing_step：数据库不可用"
        "（consuming input failed: terminating connection due to administrator command）"
    )
    assert bug.levelno == logging.ERROR and bug.exc_info[0] is ValueError


def test_the_heartbeat_logs_one_line_while_the_database_is_away(monkeypatch, caplog):
    from fenghuo.core.management.commands import worker as command

    beats = threading.Event()

    def away(worker_id: str) -> None:
        beats.set()
        raise OperationalError("connection failed: Connection refused\n\tIs the server running?")

    monkeypatch.setattr(command, "worker_heartbeat", away)
    heartbeat = command.Heartbeat("w-1", 0.01)
    with caplog.at_level(logging.WARNING, logger="fenghuo.worker"):
        heartbeat.start()
        assert beats.wait(10)
        heartbeat.stop()
    record = next(r for r in caplog.records if "心跳" in r.getMessage())
    assert record.exc_info is None
    message = "心跳写入失败：数据库不可用（connection failed: Connection refused）"
    assert record.getMessage() == message
