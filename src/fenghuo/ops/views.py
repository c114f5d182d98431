"""Operations endpoints, for load balancers and monitors (no login, no session):

- `/healthz`   liveness: the process answers (no database access).
- `/readyz`    readiness: database reachable, migrations applied, a worker heartbeat
               fresh; 503 with the failing checks otherwise. `?without=worker` leaves the
               worker out of the status (still reported), for load balancers: a web
               process serves reports while the worker is down, and the outbox keeps them.
- `/heartbeat` the worker's dead-man's switch: 200 while some worker's heartbeat is fresher
               than FENGHUO_WORKER_STALE_SECONDS, else 503 — for an outside monitor to poll.
- `/metrics`   Prometheus, only from FENGHUO_METRICS_ALLOW addresses or with the bearer
               token FENGHUO_METRICS_TOKEN.

They say only what a monitor needs: no worker ids, hosts or error texts of the database.
"""

import hmac
import ipaddress
import logging
import sys

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from fenghuo.ops import metrics, selectors

logger = logging.getLogger("fenghuo.ops")


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    database = selectors.database_check()
    checks = {"database": database}
    if database.ok:
        checks["migrations"] = selectors.migrations_check()
        checks["worker"] = selectors.worker_check()
    ignored = {name.strip() for name in request.GET.get("without", "").split(",")}
    ready = all(check.ok for name, check in checks.items() if name not in ignored)
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {
                name: {"ok": check.ok, "detail": check.detail} for name, check in checks.items()
            },
        },
        status=200 if ready else 503,
        json_dumps_params={"ensure_ascii": False},
    )


@require_GET
@never_cache
def heartbeat(request: HttpRequest) -> JsonResponse:
    try:
        health = selectors.worker_health()
    except Exception:
        return JsonResponse(
            {"status": "unknown", "detail": "无法读取工作进程心跳（数据库不可用）"},
            status=503,
            json_dumps_params={"ensure_ascii": False},
        )
    return JsonResponse(
        {
            "status": "ok" if health.ok else "stale",
            "detail": f"{health.alive} 个工作进程运行中" if health.ok else "后台工作进程未运行",
            "workers_alive": health.alive,
            "newest_heartbeat_age_seconds": (
                None if health.newest_age is None else round(health.newest_age, 1)
            ),
            "stale_after_seconds": settings.FENGHUO_WORKER_STALE_SECONDS,
        },
        status=200 if health.ok else 503,
        json_dumps_params={"ensure_ascii": False},
    )


def _metrics_allowed(request: HttpRequest) -> bool:
    token = settings.FENGHUO_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.FENGHUO_METRICS_ALLOW)


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _metrics_allowed(request):
        return HttpResponse(
            "403 禁止访问：/metrics 只对 FENGHUO_METRICS_ALLOW 中的地址"
            "或持有 FENGHUO_METRICS_TOKEN 的请求开放。\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    body, content_type = metrics.exposition(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)


# How long a client is asked to wait before retrying when the database is away.
RETRY_AFTER_SECONDS = 5


def _drop_dead_pooled_connections() -> None:
    """After a database restart every idle pooled connection is dead, and each would fail
    one more request. pool.check() tests them all now and replaces the dead ones (the
    psycopg_pool maintainer's advice for "you know when the event happens"; checking on
    every checkout instead costs a round trip per request and, with many dead connections,
    backs off for up to the pool timeout)."""
    pool = getattr(connections[DEFAULT_DB_ALIAS], "pool", None)
    if pool is None:
        return
    try:
        pool.check()
    except Exception:  # the server may still be down: the next failure tries again
        logger.warning("连接池检查失败", exc_info=True)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500, called while the uncaught exception is being handled.

    A lost database connection (the server restarting, crashed, or the pool waiting for it)
    is not a bug in the request: it answers 503 with Retry-After, so clients and load
    balancers retry (a report with the same Idempotency-Key) instead of giving up on a 500.
    Django still logs the exception with its traceback. Anything else is the plain 500."""
    exc = sys.exc_info()[1]
    if not isinstance(exc, OperationalError | InterfaceError):
        return defaults.server_error(request)
    _drop_dead_pooled_connections()
    message = "数据库暂时不可用，请稍后重试（报送请使用同一幂等键）"
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "errors": {}}, status=503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
