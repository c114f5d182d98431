"""Who sees which routes and obligations (selectors, API, page fragments), and the API and
page actions for sign-off and receipt."""

import json
import re

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory

from fenghuo.core.models import AuditEntry, Confidentiality
from fenghuo.escalation import selectors
from fenghuo.escalation.models import (
    OPEN_STATES,
    Obligation,
    ObligationKind,
    Route,
    RouteState,
)
from fenghuo.events.models import ReportKind
from fenghuo.org import services as org_services
from tests.conftest import SYSTEM
from tests.escalation.world import file_report
from tests.events.world import principal

pytestmark = pytest.mark.django_db


def _kinds(rows) -> set[tuple[str, str]]:
    return {(o.kind, o.obliged_unit.name) for o in rows}


def _client(world, who: str) -> Client:
    client = Client()
    client.force_login(world["people"][who])
    return client


def _post(client: Client, url: str, body: dict | None = None, **extra):
    return client.post(url, json.dumps(body or {}), content_type="application/json", **extra)


# --- the desk's selectors ---------------------------------------------------------------

FOLLOWUP = (ObligationKind.FOLLOWUP, "江口县生态环境局")
FINAL = (ObligationKind.FINAL, "江口县生态环境局")
COUNTY_RECEIPT = (ObligationKind.RECEIPT, "江口县委办公室")
CITY_RECEIPT = (ObligationKind.RECEIPT, "临江市委办公室")


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("environment", {FOLLOWUP, FINAL}),  # what its own unit owes
        ("county_duty", {FOLLOWUP, FINAL, COUNTY_RECEIPT}),  # owed to, or owed by, its office
        ("city_duty", {CITY_RECEIPT}),
        ("other_duty", set()),  # another county
        ("analyst", set()),  # sits at the city office, but watches no obligations
        ("emergency", set()),  # another unit of the same county
    ],
)
def test_desk_obligations_are_the_principals_units(world, who, expected):
    file_report(world, "environment", dead=1)
    rows = list(selectors.desk_obligations(principal(world, who)))
    assert _kinds(rows) == expected
    assert [o.due_at for o in rows] == sorted(o.due_at for o in rows)


def test_awaiting_receipt_is_per_office_and_awaiting_signoff_per_leader(world):
    filed = file_report(world, "environment", dead=1)
    county = selectors.awaiting_receipt(principal(world, "county_duty"))
    assert [r.office.name for r in county] == ["江口县委办公室"]
    city = selectors.awaiting_receipt(principal(world, "city_duty"))
    assert [r.office.name for r in city] == ["临江市委办公室"]
    for who in ("county_leader", "other_duty", "environment", "analyst"):
        assert not selectors.awaiting_receipt(principal(world, who)).exists(), who
    signed = file_report(world, dead=2, category="flood", title="江口县城内涝", place="县城")
    assert selectors.awaiting_signoff(principal(world, "emergency_leader")).count() == 2
    for who in ("county_leader", "emergency", "county_duty"):
        assert not selectors.awaiting_signoff(principal(world, who)).exists(), who
    assert filed.event.pk != signed.event.pk


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("environment", True),  # the author
        ("county_duty", True),  # 值班员: cleared for 敏感
        ("city_duty", True),
        ("county_leader", True),
        ("analyst", False),  # 内部 at most
        ("city_admin", False),
        ("other_duty", False),
        ("superuser", False),  # a superuser reads 内部 at most
    ],
)
def test_routes_and_obligations_of_a_sensitive_report(world, who, sees):
    filed = file_report(world, "environment", dead=1, confidentiality=Confidentiality.SENSITIVE)
    reader = principal(world, who)
    assert selectors.event_routes(reader, filed.event).exists() is sees
    assert selectors.event_obligations(reader, filed.event).exists() is sees


# --- API ---------------------------------------------------------------------------------


def test_api_sign_off_by_the_leader_only(world):
    filed = file_report(world, dead=2)
    route = Route.objects.filter(report=filed.report).first()
    url = f"/api/routes/{route.pk}/sign-off"
    assert _post(_client(world, "emergency"), url).status_code == 403
    assert _post(_client(world, "other_duty"), url).status_code == 404  # cannot see it
    response = _post(_client(world, "emergency_leader"), url, {"note": "同意"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert {r["state"] for r in body} == {"sent"} and len(body) == 2
    assert {r["release_label"] for r in body} == {"单位领导审签"}
    again = _post(_client(world, "emergency_leader"), url)
    assert again.status_code == 422 and "state" in again.json()["errors"]


def test_api_acknowledge_and_lists(world):
    filed = file_report(world, "environment", dead=1)
    county = Route.objects.get(report=filed.report, office=world["county"])
    duty = _client(world, "county_duty")
    listed = duty.get("/api/routes?awaiting=receipt").json()
    assert [(r["id"], r["may_acknowledge"]) for r in listed] == [(county.pk, True)]
    other_office = _client(world, "city_duty")
    assert _post(other_office, f"/api/routes/{county.pk}/acknowledge").status_code == 403
    response = _post(duty, f"/api/routes/{county.pk}/acknowledge")
    assert response.status_code == 200 and response.json()["state"] == "acknowledged"
    assert response.json()["acknowledged_by"] == "县主班"
    assert duty.get("/api/routes?awaiting=receipt").json() == []

    desk = duty.get("/api/obligations").json()
    assert {o["kind"] for o in desk} == {"followup", "final"}  # the receipt is met
    met = duty.get("/api/obligations?scope=visible&state=met").json()
    assert {o["kind"] for o in met} >= {"receipt", "written"}
    event_obligations = duty.get(f"/api/events/{filed.event.pk}/obligations?open=true").json()
    # The city's own receipt is the city's business, not the county's.
    assert {o["kind"] for o in event_obligations} == {"followup", "final"}
    routes = duty.get(f"/api/events/{filed.event.pk}/routes").json()
    assert {r["office"] for r in routes} == {"江口县委办公室", "临江市委办公室"}
    gradings = duty.get(f"/api/events/{filed.event.pk}/gradings").json()
    assert [g["label"] for g in gradings] == ["一般（Ⅳ级）"]
    for path in ("obligations", "routes", "gradings"):
        url = f"/api/events/{filed.event.pk}/{path}"
        assert _client(world, "other_duty").get(url).status_code == 404


def test_api_needs_a_person_to_sign_or_acknowledge(world, client):
    filed = file_report(world, "environment", dead=1)
    route = Route.objects.get(report=filed.report, office=world["county"])
    _, token = org_services.token_issue(SYSTEM, unit=world["environment"], name="报送系统")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/routes", **headers).status_code == 200
    assert _post(client, f"/api/routes/{route.pk}/acknowledge", **headers).status_code == 403
    assert client.get("/api/routes").status_code == 401


def test_api_escalation_policy(world):
    url = f"/api/offices/{world['county'].pk}/escalation-policy"
    assert _client(world, "county_duty").get(url).json()["is_default"] is True
    body = {"receipt_minutes": 5, "steps": [{"after_minutes": 5, "target": "backup"}]}
    response = _client(world, "county_duty").put(url, json.dumps(body), "application/json")
    assert response.status_code == 403
    response = _client(world, "city_admin").put(url, json.dumps(body), "application/json")
    assert response.status_code == 200, response.content
    assert response.json()["is_default"] is False and response.json()["steps"] == body["steps"]
    bad = {"receipt_minutes": 0, "steps": [{"after_minutes": 5, "target": "nobody"}]}
    response = _client(world, "city_admin").put(url, json.dumps(bad), "application/json")
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"receipt_minutes", "steps"}


# --- pages --------------------------------------------------------------------------------


def _fragment(world, who: str, event, query: str = "") -> str:
    request = RequestFactory().get(f"/events/{event.pk}/{query}")
    request.user = world["people"][who]
    template = Template(
        "{% load escalation %}{% event_routes event %}{% event_obligations event %}"
    )
    return template.render(Context({"request": request, "event": event, "csrf_token": "t"}))


def test_the_fragments_show_the_buttons_to_whoever_may_press_them(world):
    filed = file_report(world, dead=2)
    leader = _fragment(world, "emergency_leader", filed.event)
    assert "审签</button>" in leader and "签收</button>" not in leader
    assert "待审签" in leader and "书面报告至江口县委办公室" in leader
    reporter = _fragment(world, "emergency", filed.event)
    assert "审签</button>" not in reporter and "待审签" in reporter
    assert "data-route" not in _fragment(world, "other_duty", filed.event)


def test_page_actions_sign_off_then_acknowledge(world):
    filed = file_report(world, dead=2)
    route = Route.objects.get(report=filed.report, office=world["county"])
    page = f"/events/{filed.event.pk}/"
    response = _client(world, "emergency").post(f"/escalation/routes/{route.pk}/sign-off/")
    assert response.status_code == 302 and response.url == page
    assert Route.objects.get(pk=route.pk).state == RouteState.AWAITING_SIGNOFF
    response = _client(world, "emergency_leader").post(
        f"/escalation/routes/{route.pk}/sign-off/", {"next": "https://evil.example/"}
    )
    assert response.url == page  # an outside `next` is ignored
    assert Route.objects.get(pk=route.pk).state == RouteState.SENT
    duty = _client(world, "county_duty")
    response = duty.post(f"/escalation/routes/{route.pk}/acknowledge/", {"next": "/desk/"})
    assert response.url == "/desk/"
    assert Route.objects.get(pk=route.pk).state == RouteState.ACKNOWLEDGED
    assert Obligation.objects.get(key=f"receipt:{route.pk}").state == "met"
    assert (
        _client(world, "other_duty").post(f"/escalation/routes/{route.pk}/acknowledge/").status_code
        == 404
    )
    assert duty.get(f"/escalation/routes/{route.pk}/acknowledge/").status_code == 405


# --- admin --------------------------------------------------------------------------------


def test_an_administrator_edits_an_offices_chain_in_the_admin_audited(world):
    admin = world["people"]["city_admin"]
    type(admin).objects.filter(pk=admin.pk).update(is_staff=True)
    client = _client(world, "city_admin")
    response = client.post(
        "/admin/escalation/escalationpolicy/add/",
        {
            "office": world["county"].pk,
            "receipt_minutes": 5,
            "note": "",
            "steps-TOTAL_FORMS": 2,
            "steps-INITIAL_FORMS": 0,
            "steps-0-after_minutes": 5,
            "steps-0-target": "backup",
            "steps-1-after_minutes": 15,
            "steps-1-target": "leader",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action="escalation.policy.steps")
    assert entry.after["steps"] == [[5, "backup"], [15, "leader"]]
    assert AuditEntry.objects.filter(action="escalation.escalationpolicy.create").exists()
    listing = client.get("/admin/escalation/escalationpolicy/").content.decode()
    assert "江口县委办公室" in listing
    # A duty officer with admin access but no 管理员 role may not touch the chains.
    duty = world["people"]["county_duty"]
    type(duty).objects.filter(pk=duty.pk).update(is_staff=True)
    response = _client(world, "county_duty").get("/admin/escalation/escalationpolicy/")
    assert response.status_code == 403


def test_the_fragments_show_the_newest_rows_every_open_obligation_and_the_rest_on_request(
    world, monkeypatch
):
    from fenghuo.escalation.templatetags import escalation as tags

    filed = file_report(world, "environment", dead=2)
    event = filed.event
    for dead in (3, 4, 5):
        file_report(world, "environment", kind=ReportKind.FOLLOWUP, event=event, dead=dead)
    who = principal(world, "county_duty")
    routes = list(selectors.event_routes(who, event))
    obligations = list(selectors.event_obligations(who, event))
    open_ones = [o for o in obligations if o.state in OPEN_STATES]
    closed = [o for o in obligations if o.state not in OPEN_STATES]
    assert len(routes) > 2 and len(closed) > 1 and len(open_ones) > 1  # some to leave out
    monkeypatch.setattr(tags, "ROUTES_SHOWN", 2)
    monkeypatch.setattr(tags, "OBLIGATIONS_SHOWN", len(open_ones) + 1)

    def shown(html: str, attribute: str) -> list[int]:
        return [int(pk) for pk in re.findall(rf'data-{attribute}="(\d+)"', html)]

    html = _fragment(world, "county_duty", event)
    assert shown(html, "route") == [r.pk for r in routes[-2:]]
    assert f"较早的 {len(routes) - 2} 条报送记录未显示" in html
    # Every open obligation, then the newest closed one, in order of due time.
    expected = sorted([*open_ones, closed[-1]], key=lambda o: (o.due_at, o.pk))
    assert shown(html, "obligation") == [o.pk for o in expected]
    assert f"另有 {len(closed) - 1} 条义务未显示" in html

    # Fewer places than open obligations: the soonest due of those.
    monkeypatch.setattr(tags, "OBLIGATIONS_SHOWN", 1)
    html = _fragment(world, "county_duty", event)
    soonest = min(open_ones, key=lambda o: (o.due_at, o.pk))
    assert shown(html, "obligation") == [soonest.pk]
    assert f"另有 {len(obligations) - 1} 条义务未显示" in html

    everything = _fragment(world, "county_duty", event, "?routes=all&obligations=all")
    assert shown(everything, "route") == [r.pk for r in routes]
    assert shown(everything, "obligation") == [o.pk for o in obligations]
    assert "未显示" not in everything
