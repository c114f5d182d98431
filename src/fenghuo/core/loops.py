"""Polling loops the worker runs beside its task queue.

Some background work is not a one-off task but "whatever is due now": notifications in the
outbox, deadlines that have passed, escalation steps. Each is a function `step() -> int` that
handles a batch of due rows (each in its own transaction, claimed with row locks) and returns
how many it handled. `fenghuo worker` runs every loop named in `FENGHUO_WORKER_LOOPS`
(`"dotted.path:function": interval_seconds`) in a thread of its own: when a step handled
nothing, the thread sleeps its interval; otherwise it steps again at once.

Apps name their loops in settings rather than core importing them, so core stays at the
bottom of the dependency order. The rows are the durable state: a loop killed mid-batch
leaves rows that the next step (in this or another worker) picks up again.
"""

import importlib
import logging
import threading
import time
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, close_old_connections, connection

logger = logging.getLogger("fenghuo.worker")


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (psycopg's run over several), or its type."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load(path: str) -> Callable[[], int]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


class Loop(threading.Thread):
    def __init__(self, path: str, interval: float) -> None:
        super().__init__(name=f"fenghuo-loop-{path.rsplit(':', 1)[-1]}", daemon=True)
        self.path = path
        self.interval = interval
        self.step = load(path)
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            while not self._stop_event.is_set():
                handled = 0
                started = time.perf_counter()
                try:
                    handled = self.step()
                except (OperationalError, InterfaceError) as exc:
                    # The database is away: one line per step, not a traceback from every
                    # loop several times a second for the length of the outage.
                    logger.warning(
                        "后台循环 %s：数据库不可用（%s）",
                        self.path,
                        first_line(exc),
                        extra={"loop": self.path},
                    )
                except Exception:  # one bad batch must not end the loop; it is logged
                    logger.exception("后台循环 %s 出错", self.path, extra={"loop": self.path})
                finally:
                    close_old_connections()
                if handled:
                    duration_ms = round((time.perf_counter() - started) * 1000, 1)
                    logger.info(
                        "后台循环 %s 处理了 %d 条（%.1f 毫秒）",
                        self.path,
                        handled,
                        duration_ms,
                        extra={"loop": self.path, "handled": handled, "duration_ms": duration_ms},
                    )
                if not handled:
                    self._stop_event.wait(self.interval)
        finally:
            connection.close()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batch in hand, then stop."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)


def start_all(configured: dict[str, float]) -> list[Loop]:
    loops = [Loop(path, interval) for path, interval in configured.items()]
    for loop in loops:
        loop.start()
    return loops
