"""The task worker: django-tasks-db's worker loop, the polling loops of `core.loops`
(outbox delivery, deadline checks …) and a heartbeat row.

Stopping: the first SIGINT/SIGTERM lets the task in hand finish (a claimed task is never
abandoned half-way), then the worker marks its heartbeat stopped and exits 0. A second
signal aborts the running task (it is recorded as failed) and exits 1.

A lost database connection (the server restarted, crashed, or the network dropped) does not
end the worker: the task loop closes the broken connection and tries again with backoff
(FENGHUO_WORKER_RECONNECT_SECONDS doubling up to FENGHUO_WORKER_RECONNECT_CAP_SECONDS),
logging each attempt; the polling loops and the heartbeat already log and go on. A worker
that exits would leave the outbox undelivered until someone restarts it.
"""

import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
)
from django_tasks_db.management.commands.db_worker import Worker

from fenghuo.core import heap, loops
from fenghuo.core.services import worker_heartbeat

logger = logging.getLogger("fenghuo.worker")

# django-tasks-db stores worker ids in a 64-character field; so does WorkerHeartbeat.
WORKER_ID_LENGTH = 64


def new_worker_id() -> str:
    """host-pid-random, at most 64 characters, unique across a pool of machines."""
    suffix = f"-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    return socket.gethostname()[: WORKER_ID_LENGTH - len(suffix)] + suffix


class Heartbeat(threading.Thread):
    """Writes the worker's heartbeat row every FENGHUO_HEARTBEAT_SECONDS until stopped."""

    def __init__(self, worker_id: str, interval: float) -> None:
        super().__init__(name="fenghuo-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            while not self._stop_event.wait(self.interval):
                try:
                    worker_heartbeat(self.worker_id)
                except (OperationalError, InterfaceError) as exc:  # the database is away
                    logger.warning("心跳写入失败：数据库不可用（%s）", loops.first_line(exc))
                except Exception:  # a missed beat must not kill the worker; the desk shows it
                    logger.exception("心跳写入失败")
                finally:
                    close_old_connections()
        finally:
            connection.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop beating and wait for a beat in flight, so it cannot undo `stopped_at`."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)


def _drop_connection() -> None:
    """Close this thread's connection, broken or not, so the next query opens a new one."""
    try:
        connection.close()
    except Exception:  # a dead socket can fail to close; it is gone either way
        logger.debug("关闭失效的数据库连接时出错", exc_info=True)
        connection.connection = None


def run_reconnecting(worker: Worker) -> None:
    """`worker.run()` until it stops; on a lost connection, wait and run it again.

    Only connection failures (OperationalError, InterfaceError) are ridden out: anything
    else (a missing table, a bug) still ends the worker, loudly."""
    first = float(os.environ.get("FENGHUO_WORKER_RECONNECT_SECONDS", "0.5"))
    cap = float(os.environ.get("FENGHUO_WORKER_RECONNECT_CAP_SECONDS", "30"))
    delay = first
    while True:
        started = time.monotonic()
        try:
            worker.run()
            return
        except (OperationalError, InterfaceError) as exc:
            if not worker.running:
                return  # asked to stop while the database was away
            if time.monotonic() - started > cap:
                delay = first  # it had been working: this is a new outage
            logger.warning(
                "数据库连接中断，%.1f 秒后重新连接：%s",
                delay,
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                extra={"reconnect_in_seconds": delay},
            )
            _drop_connection()
            deadline = time.monotonic() + delay
            while worker.running and time.monotonic() < deadline:
                time.sleep(min(0.1, delay))
            delay = min(delay * 2, cap)
            worker.startup_delay = False  # the random start-up delay is for the first start


class Command(BaseCommand):
    help = "运行后台任务工作进程（通知投递、时限检查等）"

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=float(os.environ.get("FENGHUO_WORKER_INTERVAL", "0.5")),
            help="队列为空时两次取任务之间的间隔（秒）",
        )
        parser.add_argument(
            "--queue",
            action="append",
            dest="queues",
            default=None,
            help="只处理这些队列（可重复；默认全部）",
        )

    def handle(self, *args, **options) -> None:
        worker_id = new_worker_id()
        worker = Worker(
            queue_names=options["queues"] or ["*"],
            interval=options["interval"],
            batch=False,
            backend_name="default",
            startup_delay=True,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        forced = False

        def shutdown(signum: int, frame: FrameType | None) -> None:
            nonlocal forced
            if worker.running:
                logger.info("收到 %s：完成当前任务后退出", signal.strsignal(signum))
                worker.running = False  # the loop ends after the task in hand, or its sleep
                return
            logger.warning("再次收到 %s：中止当前任务并退出", signal.strsignal(signum))
            forced = True
            raise SystemExit(1)

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
            signal.signal(signum, shutdown)

        try:
            worker_heartbeat(worker_id)
        except DatabaseError as exc:
            raise CommandError(
                f"无法写入工作进程心跳，数据库未就绪或尚未迁移（可先运行 fenghuo migrate）：{exc}"
            ) from exc
        heap.settle()
        beat = Heartbeat(worker_id, settings.FENGHUO_HEARTBEAT_SECONDS)
        beat.start()
        running = loops.start_all(settings.FENGHUO_WORKER_LOOPS)
        logger.info("工作进程 %s 已启动（进程号 %s）", worker_id, os.getpid())
        try:
            run_reconnecting(worker)
        finally:
            for loop in running:
                loop.stop()
            beat.stop()
            try:
                worker_heartbeat(worker_id, stopping=True)
            except DatabaseError:
                logger.exception("无法记录工作进程 %s 的停止时间", worker_id)
            logger.info("工作进程 %s 已停止", worker_id)
        if forced:
            sys.exit(1)
