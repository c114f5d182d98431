"""Structured logs: JSON lines (FENGHUO_LOG_FORMAT=json) carrying the request's context.

The formatter is python-json-logger's (settings.LOGGING): one JSON object per line with the
time, level, logger, message and every `extra` field a call passes. `RequestContextFilter`
adds the id of the request being served (and who made it) to every record logged while it
is served, whichever logger writes it. Imported by the logging configuration, before the
apps are loaded: nothing here may import models.
"""

import logging
import re
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    method: str
    path: str


current: ContextVar[RequestContext | None] = ContextVar("fenghuo_request", default=None)

# An incoming X-Request-ID (from the load balancer) is kept when it is this harmless.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def acceptable_request_id(value: str | None) -> bool:
    return bool(value) and _ACCEPTABLE_ID.match(value) is not None


class RequestContextFilter(logging.Filter):
    """Adds `request_id` to records logged while a request is served (none otherwise)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current.get()
        if context is not None and not hasattr(record, "request_id"):
            record.request_id = context.request_id
        return True


def json_default(value: object) -> object:
    """What python-json-logger writes for a value JSON has no type for: Django's loggers
    pass the request object as an extra; keep its gist."""
    if hasattr(value, "method") and hasattr(value, "path"):  # an HttpRequest
        return f"{value.method} {value.path}"
    return str(value)
