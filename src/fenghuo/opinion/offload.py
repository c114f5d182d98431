"""The opinion stream's batches run in a separate, lower-priority process of each web
process, the request waiting for the answer.

Why. A batch of 100 posts is ~100 ms of pure Python (segmenting, matching, grouping). Run
in a web process's thread it holds that process's GIL, and a report filed in the same
process waits for the GIL after each of its ~60 SQL round trips: under a major event's
stream, a first report took seconds. In a process of its own the batch has its own GIL, and
at a lower CPU priority (FENGHUO_OPINION_NICE, 10) the kernel gives the cores to reports
and the duty desk first; the stream takes what is left and the feeder's call waits longer.

Nothing else changes: the request still answers after the posts are stored, with the same
counts and line errors, and the work is the same `services.ingest`. If the process dies in
the middle of a batch (killed, out of memory), the batch runs again in the request's own
thread: each chunk of it was stored whole or not at all, and posts already stored come back
as duplicates.

`fenghuo serve` turns it on (FENGHUO_OPINION_PROCESSES, 1 per web process); the test
client and management commands run ingest inline.
"""

import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from threading import Lock, Thread
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from fenghuo.opinion.services import IngestResult

# The child unpickles references to this module's functions before Django is set up: the
# module imports no models at import time (services is imported inside the functions).

log = logging.getLogger(__name__)

PARENT_CHECK_SECONDS = 1.0
_pool: ProcessPoolExecutor | None = None
_pool_lock = Lock()


def _exit_with(parent: int) -> None:
    # The web process may end without shutting the pool down (uvicorn re-raises SIGTERM,
    # a SIGKILL): the child must not outlive it holding a database connection.
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _start_child(nice: int) -> None:
    """In the child: a lower priority, a watch on the parent, then Django (spawned, so
    nothing is inherited)."""
    if nice:
        os.nice(nice)
    Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fenghuo.settings")
    import django

    django.setup()


def _ingest_inline(body: bytes, source: str, actor: Any) -> "IngestResult":
    from fenghuo.opinion import services

    return services.ingest(services.parse_jsonl(body), source=source, actor=actor)


def _ingest_in_child(body: bytes, source: str, actor: Any) -> "IngestResult":
    from django.db import close_old_connections

    close_old_connections()  # as a request would: drop a connection the database closed
    try:
        return _ingest_inline(body, source, actor)
    finally:
        close_old_connections()


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=settings.FENGHUO_OPINION_PROCESSES,
                # Spawned, not forked: the web process has threads and open connections.
                mp_context=get_context("spawn"),
                initializer=_start_child,
                initargs=(settings.FENGHUO_OPINION_NICE,),
            )
        return _pool


def _discard(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def ingest_body(body: bytes, *, source: str, actor: Any) -> "IngestResult":
    """`services.ingest` of a JSON-lines body: in the opinion process when it is on,
    otherwise (or when that process died) in this thread."""
    if settings.FENGHUO_OPINION_PROCESSES > 0:
        pool = _executor()
        try:
            return pool.submit(_ingest_in_child, body, source, actor).result()
        except BrokenProcessPool:
            log.warning("opinion process died during a batch; running it in the request")
            _discard(pool)
    return _ingest_inline(body, source, actor)
