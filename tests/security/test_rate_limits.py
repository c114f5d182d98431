"""Rate limits on the public pages, the API and the sign-in form: 429 with Retry-After,
counted per client in the database cache, so several web processes share one count.

Windows are an hour long here, so a test never straddles a window's end by chance.
"""

import urllib.error
import urllib.request

import pytest
from django.test import Client

from fenghuo.org import services as org_services
from fenghuo.org.models import Role
from tests.conftest import SYSTEM
from tests.processes import (  # noqa: F401 - fixtures
    free_port,
    migrated_site_fixture,
    site_fixture,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    def set_limits(**rates: str) -> None:
        settings.FENGHUO_RATELIMITS = rates

    return set_limits


def _refused(response, *, api: bool) -> None:
    assert response.status_code == 429
    retry = int(response["Retry-After"])
    assert 1 <= retry <= 3600
    if api:
        assert response.json()["detail"] == f"请求过于频繁，请 {retry} 秒后再试"
    else:
        assert "请求过于频繁" in response.content.decode()


def test_public_pages_are_limited_per_address(limits):
    limits(public="3/h")
    client = Client()
    for url in ["/public/", "/public/warnings/", "/public/feeds/releases.atom"]:
        assert client.get(url).status_code == 200
    _refused(client.get("/public/releases/"), api=False)
    assert Client(REMOTE_ADDR="10.9.8.7").get("/public/").status_code == 200
    # Staff pages are not counted against the public limit.
    assert client.get("/login/").status_code == 200


def test_the_api_is_limited_per_credential(limits, make_unit, make_person):
    limits(api="2/h")
    unit = make_unit("临江市应急管理局")
    _, token_a = org_services.token_issue(SYSTEM, unit=unit, name="甲")
    _, token_b = org_services.token_issue(SYSTEM, unit=unit, name="乙")
    a = Client(HTTP_AUTHORIZATION=f"Bearer {token_a}")
    for _ in range(2):
        assert a.get("/api/org/me").status_code == 200
    _refused(a.get("/api/org/me"), api=True)
    # Another token and a signed-in person from the same address have limits of their own.
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token_b}").get("/api/org/me").status_code == 200
    person = Client()
    person.force_login(make_person("duty", unit, Role.DUTY_OFFICER))
    assert person.get("/api/org/me").status_code == 200


def test_unauthenticated_api_calls_are_limited_per_address(limits):
    limits(api="2/h")
    client = Client()
    assert [client.get("/api/org/me").status_code for _ in range(2)] == [401, 401]
    _refused(client.get("/api/org/me"), api=True)


def test_the_sign_in_form_is_limited_per_address(limits):
    limits(login="2/h")
    client = Client()
    for _ in range(2):
        assert client.post("/login/", {"username": "x", "password": "y"}).status_code == 200
    _refused(client.post("/login/", {"username": "x", "password": "y"}), api=False)
    assert client.get("/login/").status_code == 200  # reading the form is not counted


def test_behind_a_trusted_proxy_clients_are_counted_apart(limits, settings):
    limits(public="1/h")
    settings.FENGHUO_TRUSTED_PROXIES = ["127.0.0.0/8"]
    first = Client(HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert first.get("/public/").status_code == 200
    _refused(first.get("/public/"), api=False)
    assert Client(HTTP_X_FORWARDED_FOR="203.0.113.2").get("/public/").status_code == 200


def test_an_empty_limit_switches_it_off(limits):
    limits(public="")
    client = Client()
    assert all(client.get("/public/").status_code == 200 for _ in range(5))


_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _status(url: str) -> tuple[int, str | None]:
    try:
        with _http.open(url, timeout=30) as response:
            return response.status, None
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After")


def test_two_web_processes_share_one_count(migrated_site):
    """Two `fenghuo serve` processes on one database: the limit holds across both."""
    site = migrated_site
    bases = []
    for _ in range(2):
        port = free_port()
        proc = site.start("serve", "--port", str(port), FENGHUO_RATELIMIT_PUBLIC="4/h")
        proc.wait_for(rf"Uvicorn running on http://127\.0\.0\.1:{port}")
        bases.append(f"http://127.0.0.1:{port}")
    answers = [_status(f"{bases[n % 2]}/public/") for n in range(6)]
    assert [code for code, _ in answers] == [200, 200, 200, 200, 429, 429]
    assert all(int(retry) >= 1 for _, retry in answers[4:])
