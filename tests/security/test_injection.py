"""Injection attempts through search boxes, list filters and ids: SQL and full-text
syntax, LIKE wildcards, Unicode digits, numbers past 64 bits, NUL and huge inputs. Every
answer is normal or a 4xx, never a 5xx, and a search never returns what its caller may not
see. Pages as a provincial duty officer, the API as a city bureau's token."""

from urllib.parse import quote

import pytest
from django.test import Client

from fenghuo import demo
from fenghuo.events.selectors import events_visible
from fenghuo.org import services as org_services
from fenghuo.org.models import Person, Unit
from fenghuo.org.policy import principal_for, principal_for_token
from tests.conftest import SYSTEM

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "' OR 1=1 --",
    '"; DROP TABLE events_event; --',
    "1 UNION SELECT password FROM org_person",
    "%",
    "_",
    "%爆炸%",
    "\\",
    "\\%",
    '"未闭合的引号',
    "爆炸 OR 1",
    "NEAR(爆炸 事故)",
    "爆炸*",
    "*",
    "^",
    "-爆炸",
    "AND OR NOT",
    "((((",
    ")",
    "{}[]",
    "column:value",
    "'; SELECT pg_sleep(5); --",
    "١٢",
    "²",
    "①",
    "9" * 30,
    "-1",
    "0x10",
    "1e400",
    "\x00",
    "a\x00b",
    "😀" * 50,
    "爆炸" * 5000,
]

PAGES = [
    "/events/?q={v}",
    "/events/?status={v}&category={v}&division={v}&since={v}&until={v}&page={v}",
    "/events/{v}/",
    "/org/contacts/?q={v}",
    "/releases/?event={v}&page={v}",
    "/releases/new/?event={v}&q={v}",
    "/reports/new/?event={v}&kind={v}",
    "/alerts/?tab={v}",
    "/opinion/stream/?scheme={v}",
    "/opinion/stream/rows/?after={v}&scheme={v}",
    "/opinion/reports/special.docx?scheme={v}&start={v}&end={v}",
    "/opinion/reports/daily.docx?day={v}",
    "/desk/feed/?after={v}",
    "/public/releases/?page={v}",
    "/public/warnings/{v}/",
]
API = [
    "/api/search?q={v}",
    "/api/search?q=爆炸&status={v}&category={v}&division={v}&since={v}&until={v}&grade={v}",
    "/api/events?status={v}&category={v}",
    "/api/events/{v}",
    "/api/org/contacts?q={v}",
    "/api/notify/inbox?after_id={v}&limit={v}",
    "/api/releases?event_id={v}&limit={v}",
    "/api/alerts?status={v}",
    "/api/opinion/topics?scheme_id={v}",
    "/api/obligations?state={v}",
]


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        demo.seed()
        unit = Unit.objects.get(name="临江市应急管理局")
        token, plaintext = org_services.token_issue(SYSTEM, unit=unit, name="注入测试")
        yield token, plaintext
        transaction.set_rollback(True)


def _url(template: str, value: str) -> str:
    return template.format(v=quote(value, safe=""))


@pytest.mark.parametrize("template", PAGES)
def test_pages_answer_normally_or_refuse(demo_world, template):
    client = Client()
    client.force_login(Person.objects.get(username="sheng_zhiban"))
    failures = {}
    for value in PAYLOADS:
        response = client.get(_url(template, value))
        if response.status_code >= 500:
            failures[value[:40]] = response.status_code
        else:
            assert b"Traceback" not in response.content
    assert failures == {}


@pytest.mark.parametrize("template", API)
def test_the_api_answers_normally_or_refuses_in_its_error_shape(demo_world, template):
    _, plaintext = demo_world
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    failures = {}
    for value in PAYLOADS:
        response = client.get(_url(template, value))
        if response.status_code >= 500:
            failures[value[:40]] = response.status_code
        elif response.status_code >= 400:
            body = response.json()
            assert isinstance(body["detail"], str) and isinstance(body["errors"], dict), body
    assert failures == {}


@pytest.mark.parametrize("value", PAYLOADS[:22])
def test_search_never_returns_more_than_its_caller_may_see(demo_world, value):
    token, plaintext = demo_world
    from fenghuo.org.models import ApiToken

    principal = principal_for_token(ApiToken.objects.select_related("unit").get(pk=token.pk))
    visible = set(events_visible(principal).values_list("pk", flat=True))
    response = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}").get(_url(API[0], value))
    assert response.status_code in (200, 422)
    if response.status_code == 200:
        found = {item["id"] for item in response.json()["results"]}
        assert found <= visible
    # The same words as a page, for the province's duty officer.
    officer = Person.objects.get(username="sheng_zhiban")
    client = Client()
    client.force_login(officer)
    page = client.get(_url("/events/?q={v}", value))
    assert page.status_code == 200
    shown = {row.event.pk for row in page.context["rows"]}
    assert shown <= set(events_visible(principal_for(officer)).values_list("pk", flat=True))


def test_like_wildcards_are_taken_literally(demo_world):
    """Contacts are searched with LIKE: "%" and "_" match themselves, not everything."""
    client = Client()
    client.force_login(Person.objects.get(username="sheng_zhiban"))
    everyone = client.get("/api/org/contacts").json()
    assert len(everyone) > 10
    for wildcard in ["%", "_", "%%", "_%_"]:
        rows = client.get(_url("/api/org/contacts?q={v}", wildcard)).json()
        assert rows == [], wildcard
    releases = client.get(_url("/releases/new/?q={v}", "%"))
    assert releases.status_code == 200 and list(releases.context["events"]) == []


def test_a_huge_body_is_refused_not_crashed(demo_world):
    _, plaintext = demo_world
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    body = {"kind": "first", "title": "爆" * 200_000, "narrative": "炸" * 2_000_000}
    response = client.post("/api/reports", body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response.json()["detail"]


def test_a_single_valued_parameter_given_twice_is_refused(demo_world):
    """Django would keep the last value; the caller is told instead which one is repeated."""
    _, plaintext = demo_world
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    response = client.get("/api/routes?state=sent&state=acknowledged")
    assert response.status_code == 422
    assert response.json()["errors"] == {"state": ["只能给出一次"]}
    assert client.get("/api/routes?state=sent").status_code == 200
