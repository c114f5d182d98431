"""The ASGI application `fenghuo serve` runs (uvicorn), behind a per-process concurrency limit.

Django runs each request's synchronous code in a thread of its own, so without a limit a
process under a burst runs as many requests at once as arrive: dozens of threads take turns
at one GIL, each holding a pooled connection (often mid-transaction) while it waits for the
CPU, and every request is slowed to the pace of all of them. The limit lets
FENGHUO_WEB_CONCURRENCY requests per process run and queues the rest, first come first
served, in the event loop, where waiting costs nothing. Long-lived streams (the duty desk's
event stream) and the liveness endpoints an outside monitor polls are not counted.
"""

import asyncio
import os
from typing import Any

from django.core.asgi import get_asgi_application

from fenghuo.core import heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fenghuo.settings")

UNLIMITED_PATHS = ("/desk/stream/", "/healthz", "/heartbeat", "/metrics")


class ConcurrencyLimit:
    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.limit <= 0 or scope["type"] != "http" or scope["path"].startswith(UNLIMITED_PATHS):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # created in the server's event loop
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            await self.app(scope, receive, send)


application = ConcurrencyLimit(
    get_asgi_application(), int(os.environ.get("FENGHUO_WEB_CONCURRENCY", "4"))
)
heap.settle()  # after Django and the apps are loaded
