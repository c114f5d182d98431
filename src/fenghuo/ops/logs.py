"""Structured logs: JSON lines (FENGHUO_LOG_FORMAT=json) carrying the request's context.

The formatter is python-json-logger's (settings.LOGGING): one JSON object per line with the
time, level, logger, message and every `extra` field a call passes. `install()` (from the
app's ready()) wraps the log-record factory so that every record made while a request is
served carries that request's `request_id`, whichever logger writes it and whichever
handler prints it. Referenced by the logging configuration, which runs before the apps are
loaded: nothing here may import models.
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


_installed = False


def clear(**kwargs: object) -> None:
    """request_finished: the response is sent, later lines belong to no request."""
    current.set(None)


def install() -> None:
    """Make every log record carry the id of the request being served, if any."""
    global _installed
    if _installed:
        return
    from django.core.signals import request_finished

    request_finished.connect(clear, dispatch_uid="fenghuo.ops.logs.clear")
    make_record = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        context = current.get()
        if context is not None:
            record.request_id = context.request_id
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def json_default(value: object) -> object:
    """What python-json-logger writes for a value JSON has no type for: Django's loggers
    pass the request object as an extra; keep its gist."""
    if hasattr(value, "method") and hasattr(value, "path"):  # an HttpRequest
        return f"{value.method} {value.path}"
    return str(value)
