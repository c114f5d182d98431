"""Every request: an id, a count and a latency for /metrics, and one access-log line.

The id comes from the load balancer's `X-Request-ID` when it sends a harmless one, else it
is made here; it is returned in the response's `X-Request-ID` and added to every log line
written while the request is served (`logs.install`). The access line goes to
the logger `fenghuo.request` with the fields request_id, user, method, path, route,
status and duration_ms (JSON lines with FENGHUO_LOG_FORMAT=json). Probes and scrapes
(`/healthz`, `/readyz`, `/heartbeat`, `/metrics`) are logged at DEBUG only, so a load
balancer's checks do not drown the log.

Sync and async capable: the duty desk's stream is an async view, and a sync-only
middleware would push every request through a thread switch under the ASGI server.
Nothing here touches the database: the user is named only if the view already loaded it.
"""

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from fenghuo.ops import logs, metrics

logger = logging.getLogger("fenghuo.request")
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/heartbeat", "/metrics"})


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.route or match.view_name or "unnamed"
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unmatched"


def _user(request: HttpRequest) -> str:
    for attribute in ("_cached_user", "_acached_user"):
        user = getattr(request, attribute, None)
        if user is not None and user.is_authenticated:
            return user.get_username()
    principal = getattr(request, "principal", None)  # an API token's unit
    return principal.label if principal is not None else ""


class RequestObservationMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        started = self._begin(request)
        response = None
        try:
            response = self.get_response(request)
            return response
        finally:
            self._end(request, response, started)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        started = self._begin(request)
        response = None
        try:
            response = await self.get_response(request)
            return response
        finally:
            self._end(request, response, started)

    def _begin(self, request: HttpRequest) -> float:
        incoming = request.headers.get("X-Request-ID")
        request.request_id = incoming if logs.acceptable_request_id(incoming) else uuid.uuid4().hex
        # Cleared on request_finished (logs.py), not here: Django logs a 404 or 500 after
        # the middleware has returned, and that line belongs to the request too.
        logs.current.set(
            logs.RequestContext(request.request_id, request.method or "", request.path)
        )
        return time.perf_counter()

    def _end(self, request: HttpRequest, response: HttpResponseBase | None, started: float) -> None:
        seconds = time.perf_counter() - started
        status = response.status_code if response is not None else 500  # it raised
        if response is not None:
            response["X-Request-ID"] = request.request_id
        route = _route(request)
        metrics.observe_request(route, request.method or "", status, seconds)
        logger.log(
            logging.DEBUG if request.path in QUIET_PATHS else logging.INFO,
            "%s %s %s %.1fms",
            request.method,
            request.path,
            status,
            seconds * 1000,
            extra={  # request_id comes with every record made while serving (logs.py)
                "user": _user(request),
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
