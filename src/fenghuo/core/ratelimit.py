"""Request rate limits on the public pages, the API and the sign-in form.

Counting is django-ratelimit's fixed window in the cache named by RATELIMIT_USE_CACHE: by
default on PostgreSQL a counter table in the project's database (`core.counters`: one
atomic statement per add and increment), on SQLite files in the data folder, so every web
process shares one count per client (a per-process memory cache would multiply the limit by
the number of processes). Limits are settings (`FENGHUO_RATELIMITS`, "count/period", "" = off);
a refused request gets 429 with Retry-After, in Chinese.

Who is counted: on the public pages and the sign-in form the client's address
(`core.net.client_ip`, proxy-aware); on the API the credential — the bearer token, else
the signed-in person — so units behind one gateway do not share a limit, and the address
only for requests without either.
"""

import hashlib
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django_ratelimit.core import get_usage

from fenghuo.core.net import client_ip


def _by_address(group: str, request: HttpRequest) -> str:
    return f"ip:{client_ip(request)}"


def _by_credential(group: str, request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        return "auth:" + hashlib.sha256(header.encode()).hexdigest()
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"person:{user.pk}"
    return _by_address(group, request)


def _rule(request: HttpRequest) -> tuple[str, Callable[[str, HttpRequest], str]] | None:
    path = request.path_info
    if path.startswith("/api/"):
        return "api", _by_credential
    if path.startswith("/public/"):
        return "public", _by_address
    if request.method == "POST" and path == reverse("login"):
        return "login", _by_address
    return None


def refused(request: HttpRequest, retry_after: int) -> HttpResponse:
    message = f"请求过于频繁，请 {retry_after} 秒后再试"
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message, "errors": {}}, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(retry_after)
    return response


def check(request: HttpRequest) -> HttpResponse | None:
    """The 429 answer when this request is over its limit (and count it), else None."""
    rule = _rule(request)
    if rule is None:
        return None
    group, key = rule
    rate = settings.FENGHUO_RATELIMITS.get(group) or None
    usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    if usage is not None and usage["should_limit"]:
        return refused(request, max(1, usage["time_left"]))
    return None


class RateLimitMiddleware:
    # Both modes, so the duty desk's async stream is not pushed through a thread.
    async_capable = True
    sync_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return check(request) or self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if _rule(request) is not None:
            answer = await sync_to_async(check)(request)
            if answer is not None:
                return answer
        return await self.get_response(request)
