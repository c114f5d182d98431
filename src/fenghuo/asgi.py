"""The ASGI application `fenghuo serve` runs (uvicorn): Django's WSGI handler on a pool of
threads for plain requests, its ASGI handler for the duty desk's event stream, behind a
per-process concurrency limit.

Why two handlers. Every view but the event stream is synchronous, and so is most of the
middleware. Under Django's ASGI handler each middleware's hooks are adapted one by one, so
a request crosses between the event loop and a thread some twenty times, and under load
each crossing waits for the GIL again. Measured on this machine (one process, keep-alive
client, server CPU per request): /healthz 3.4 ms through the ASGI handler, 1.1 ms through
the pool; the sign-in page 6.1 ms against 2.5 ms. a2wsgi runs the WSGI handler in its own
thread pool, one crossing each way per request; the stream, which waits between rows and
must not hold a thread of the pool, stays on the ASGI handler.

The limit. Without it a process under a burst runs as many requests at once as arrive:
dozens of threads take turns at one GIL, each holding a pooled connection (often
mid-transaction) while it waits for the CPU, and every request is slowed to the pace of all
of them. The limit lets FENGHUO_WEB_CONCURRENCY requests per process run and queues the
rest in the event loop, where waiting costs nothing: reports being filed first, then
everything else, each first come first served. Long-lived
streams and the liveness endpoints an outside monitor polls are not counted (the pool has
room for them beyond the limit).
"""

import asyncio
import os
from collections import deque
from typing import Any

from a2wsgi import WSGIMiddleware
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

from fenghuo.core import heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fenghuo.settings")

STREAM_PATHS = ("/desk/stream/",)
UNLIMITED_PATHS = (*STREAM_PATHS, "/healthz", "/heartbeat", "/metrics")
# Filing a report: the API and the web form (new, edit and submit a draft).
REPORT_PATHS = ("/api/reports", "/reports/")
# Threads of the pool when the limit is off (FENGHUO_WEB_CONCURRENCY=0).
UNLIMITED_POOL = 32


class ConcurrencyLimit:
    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.running = 0
        # Waiting requests, reports first: each waits on a future that `_release` completes
        # when it hands over a slot.
        self._waiting: tuple[deque[asyncio.Future], deque[asyncio.Future]] = (deque(), deque())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.limit <= 0 or scope["type"] != "http" or scope["path"].startswith(UNLIMITED_PATHS):
            await self.app(scope, receive, send)
            return
        await self._acquire(first=_is_report(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _acquire(self, *, first: bool) -> None:
        if self.running < self.limit and not any(self._waiting):
            self.running += 1
            return
        queue = self._waiting[0 if first else 1]
        turn = asyncio.get_running_loop().create_future()
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:  # the client went away while waiting
            if turn.done() and not turn.cancelled():
                self._release()  # the slot was handed over just before: pass it on
            else:
                queue.remove(turn)
            raise

    def _release(self) -> None:
        for queue in self._waiting:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # the slot passes on; `running` is unchanged
                    return
        self.running -= 1


def _is_report(scope: dict[str, Any]) -> bool:
    """A report being filed (the API, the web form): it is admitted before pages, panels
    and polls waiting in the same process, so a burst of reading does not delay it."""
    return scope.get("method") == "POST" and scope["path"].startswith(REPORT_PATHS)


class Handlers:
    """Plain HTTP requests to `pool` (the WSGI handler in threads); the event stream and
    anything that is not a plain request to `stream` (Django's ASGI handler)."""

    def __init__(self, pool: Any, stream: Any) -> None:
        self.pool = pool
        self.stream = stream

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(STREAM_PATHS):
            await self.pool(scope, receive, send)
        else:
            await self.stream(scope, receive, send)


def build(limit: int) -> ConcurrencyLimit:
    # Room beyond the limit for the unlimited liveness endpoints.
    threads = limit + 4 if limit > 0 else UNLIMITED_POOL
    pool = WSGIMiddleware(get_wsgi_application(), workers=threads)
    return ConcurrencyLimit(Handlers(pool, get_asgi_application()), limit)


application = build(int(os.environ.get("FENGHUO_WEB_CONCURRENCY", "4")))
heap.settle()  # after Django and the apps are loaded
