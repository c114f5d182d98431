"""The task worker: django-tasks-db's worker loop plus a heartbeat row."""

import logging
import os
import socket
import threading
import uuid

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Worker

from fenghuo.core.services import worker_heartbeat

logger = logging.getLogger("fenghuo.worker")


def _beat_forever(worker_id: str, stop: threading.Event) -> None:
    while not stop.wait(settings.FENGHUO_HEARTBEAT_SECONDS):
        try:
            worker_heartbeat(worker_id)
        except Exception:  # a missed beat must not kill the worker; the desk will show it
            logger.exception("heartbeat failed")
        finally:
            close_old_connections()
    connection.close()


class Command(BaseCommand):
    help = "运行后台任务工作进程（通知投递、时限检查等）"

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=float(os.environ.get("FENGHUO_WORKER_INTERVAL", "0.5")),
        )
        parser.add_argument("--queue", action="append", dest="queues", default=None)

    def handle(self, *args, **options) -> None:
        worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        worker_heartbeat(worker_id)
        stop = threading.Event()
        beat = threading.Thread(target=_beat_forever, args=(worker_id, stop), daemon=True)
        beat.start()
        worker = Worker(
            queue_names=options["queues"] or ["*"],
            interval=options["interval"],
            batch=False,
            backend_name="default",
            startup_delay=True,
            max_tasks=None,
            worker_id=worker_id[:64],
            excluded_queue_names=[],
        )
        worker.configure_signals()
        logger.info("worker %s started", worker_id)
        try:
            worker.run()
        finally:
            stop.set()
            worker_heartbeat(worker_id, stopping=True)
            logger.info("worker %s stopped", worker_id)
