"""Django's handler500 (ops.views.server_error): a lost database connection answers 503 with
Retry-After — the client retries, a report with the same Idempotency-Key — and anything
else stays the plain 500. With a real database restart: tests/ops/test_pg_restart.py."""

import json

import pytest
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory

from fenghuo.ops.views import server_error


def _answer(path: str, exc: Exception):
    try:
        raise exc
    except Exception:  # Django calls handler500 while handling the exception, like this
        return server_error(RequestFactory().post(path))


@pytest.mark.parametrize("exc", [OperationalError("server closed"), InterfaceError("closed")])
def test_a_lost_database_connection_is_503_with_retry_after(exc):
    answer = _answer("/api/reports", exc)
    assert answer.status_code == 503 and answer["Retry-After"] == "5"
    assert json.loads(answer.content) == {
        "detail": "数据库暂时不可用，请稍后重试（报送请使用同一幂等键）",
        "errors": {},
    }
    page = _answer("/reports/new/", exc)
    assert page.status_code == 503 and "数据库暂时不可用" in page.content.decode()


def test_other_errors_stay_500():
    answer = _answer("/api/reports", ValueError("a bug"))
    assert answer.status_code == 500 and not answer.has_header("Retry-After")
