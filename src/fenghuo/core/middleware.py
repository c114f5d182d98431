"""Request errors that surface as database errors: answered 400, not 500."""

from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin


class OutOfRangeMiddleware(MiddlewareMixin):  # the mixin serves sync and async requests
    """A number in an address or a filter past what the database holds (an id of 30
    digits): SQLite raises OverflowError, PostgreSQL a DataError. The request is wrong, not
    the server. (The API answers the same cases itself, as 422, in fenghuo/api.py.)"""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OverflowError | DataError):
            return HttpResponse(
                "请求中的数值超出范围", status=400, content_type="text/plain; charset=utf-8"
            )
        return None
