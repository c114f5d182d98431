"""The desk's panels, on the page and as the fragments htmx refreshes: active events by
grade and on the map, obligations with their due times, reports awaiting sign-off or
receipt (with the buttons that act on them), dead letters, in-app messages, workers."""

import json
import re
from datetime import timedelta

import pytest
from django.db.models import Q
from django.test import Client

from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from fenghuo.core.services import worker_heartbeat
from fenghuo.escalation.deadlines import mark_overdue
from fenghuo.escalation.models import Obligation, Route, RouteState
from fenghuo.events.models import Event, EventStatus
from fenghuo.notify import dispatch
from fenghuo.notify import services as notify_services
from fenghuo.notify.models import Message, State
from fenghuo.org.models import Person
from tests.events.world import file_first

pytestmark = pytest.mark.django_db


def _client(world, who: str) -> Client:
    client = Client()
    client.force_login(Person.objects.get(pk=world["people"][who].pk))
    return client


def _panel(client: Client, name: str) -> str:
    response = client.get(f"/desk/panels/{name}/")
    assert response.status_code == 200
    return response.content.decode()


def _counts(html: str) -> dict[str, int]:
    return {
        grade: int(n)
        for grade, n in re.findall(r'data-grade="(\w+)"><span class="n">(\d+)</span>', html)
    }


def _map_points(html: str) -> list[dict]:
    raw = html.split('<script id="desk-map-points" type="application/json">', 1)[1]
    return json.loads(raw.split("</script>", 1)[0])


def _graded(world, who: str, grade: int | None, days: int = 0, **data) -> Event:
    occurred_at = clock.now() - timedelta(days=days, hours=1)
    event = file_first(world, who, occurred_at=occurred_at, **data).event
    Event.objects.filter(pk=event.pk).update(grade=grade)  # grading is the criteria's work
    return event


def test_active_events_by_grade_and_on_the_map_for_what_the_reader_may_see(world):
    # Days apart and in different places, so that no report joins another's event.
    red = _graded(world, "emergency", 1, title="化工园区爆炸", latitude=30.1, longitude=120.2)
    _graded(world, "environment", 3, title="河道污染", place="江口县城西河道", days=2)
    secret = _graded(
        world,
        "health",
        2,
        mark=Confidentiality.SENSITIVE,
        title="敏感事件",
        place="江口县人民医院",
        latitude=30.3,
        longitude=120.4,
        days=4,
    )
    ended = _graded(
        world,
        "other_duty",
        4,
        unit="other",
        title="已结束事件",
        place="河西县城关镇人民路",
        division_code="990122",
        days=6,
    )
    Event.objects.filter(pk=ended.pk).update(status=EventStatus.ENDED)

    duty = _panel(_client(world, "city_duty"), "events")
    assert _counts(duty) == {"1": 1, "2": 1, "3": 1, "4": 0, "none": 0}
    assert "化工园区爆炸" in duty and "河道污染" in duty and "已结束事件" not in duty
    assert {p["id"] for p in _map_points(duty)} == {red.pk, secret.pk}
    assert {p["grade"] for p in _map_points(duty)} == {1, 2}
    assert "1 起事件没有坐标" in duty

    # 内部 clearance: the 敏感 event is neither counted nor on the map.
    analyst = _panel(_client(world, "analyst"), "events")
    assert _counts(analyst) == {"1": 1, "2": 0, "3": 1, "4": 0, "none": 0}
    assert [p["id"] for p in _map_points(analyst)] == [red.pk]
    assert secret.title not in analyst

    # A bureau's reporter: its own unit's event only.
    reporter = _panel(_client(world, "environment"), "events")
    assert _counts(reporter) == {"1": 0, "2": 0, "3": 1, "4": 0, "none": 0}
    assert _map_points(reporter) == []


def test_map_tiles_come_from_the_setting_and_none_by_default(world, settings):
    client = _client(world, "city_duty")
    page = client.get("/desk/").content.decode()
    assert 'data-tile-url=""' in page and "desk-map plain" in page
    assert "/static/vendor/leaflet/leaflet.js" in page
    settings.FENGHUO_MAP_TILE_URL = "http://tiles.duty.local/{z}/{x}/{y}.png"
    page = client.get("/desk/").content.decode()
    assert 'data-tile-url="http://tiles.duty.local/{z}/{x}/{y}.png"' in page
    assert "desk-map plain" not in page


def test_obligations_count_down_from_their_due_time_and_turn_late(world):
    filed = file_first(world, "emergency", title="化工园区爆炸", dead=12)
    client = _client(world, "county_duty")
    html = _panel(client, "obligations")
    county = world["county"]
    owed = Obligation.objects.filter(
        Q(obliged_unit=county) | Q(office=county), event=filed.event, state="pending"
    )
    assert owed.exists()
    for obligation in owed:
        assert f'data-obligation="{obligation.pk}"' in html
    assert 'data-due="' in html and "data-server-now=" in html
    assert "obligation overdue" not in html

    # Past due, the deadline loop marks them late: the server says so, in red.
    first = owed.order_by("due_at").first()
    step = first.due_at - clock.now() + timedelta(minutes=1)
    clock.advance(step)
    try:
        assert mark_overdue() >= 1
        html = _panel(client, "obligations")
    finally:
        clock.advance(-step)
    assert f'data-obligation="{first.pk}" class="obligation overdue"' in html


def test_a_unit_leader_signs_off_and_a_duty_officer_acknowledges_from_the_desk(world):
    filed = file_first(world, "emergency", title="化工园区小型火情", injured=1)
    route = Route.objects.get(report=filed.report, office=world["county"])
    assert route.state == RouteState.AWAITING_SIGNOFF

    leader = _client(world, "emergency_leader")
    page = leader.get("/desk/").content.decode()
    assert "待审签" in page and f"/escalation/routes/{route.pk}/sign-off/" in page
    duty = _client(world, "county_duty")
    assert f"/escalation/routes/{route.pk}/acknowledge/" not in _panel(duty, "routes")
    reporter_page = _client(world, "emergency").get("/desk/").content.decode()
    assert 'id="panel-routes"' not in reporter_page  # neither signs off nor acknowledges

    response = leader.post(f"/escalation/routes/{route.pk}/sign-off/", {"next": "/desk/"})
    assert response.status_code == 302 and response["Location"] == "/desk/"
    assert "化工园区小型火情" not in _panel(leader, "routes")

    html = _panel(duty, "routes")
    assert "待签收" in html and f"/escalation/routes/{route.pk}/acknowledge/" in html
    assert f"/escalation/routes/{route.pk}/" not in _panel(_client(world, "other_duty"), "routes")
    duty.post(f"/escalation/routes/{route.pk}/acknowledge/", {"next": "/desk/"})
    assert Route.objects.get(pk=route.pk).state == RouteState.ACKNOWLEDGED
    assert f"/escalation/routes/{route.pk}/acknowledge/" not in _panel(duty, "routes")


def test_dead_letters_show_to_the_duty_officers_who_must_act(world, settings):
    settings.FENGHUO_NOTIFY_SMS = {}
    settings.FENGHUO_NOTIFY_CHAIN = ["email"]
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # discard port: refused
    settings.FENGHUO_NOTIFY_MAX_ATTEMPTS = 1
    person = Person.objects.get(pk=world["people"]["county"].pk)
    Person.objects.filter(pk=person.pk).update(email="chen@jiangkou.gov.cn")
    person.refresh_from_db()
    notify_services.notify_people([person], subject="请补报续报", body="正文", key="desk-dead")
    dispatch.Dispatcher(threads=1).drain()
    dead = Message.objects.get(person=person, channel="email")
    assert dead.state == State.DEAD

    html = _panel(_client(world, "county_duty"), "dead-letters")
    assert "请补报续报" in html and f"/api/notify/dead-letters/{dead.pk}/retry" in html
    assert "请补报续报" not in _panel(_client(world, "other_duty"), "dead-letters")
    assert 'id="panel-dead-letters"' in _client(world, "city_duty").get("/desk/").content.decode()
    assert 'id="panel-dead-letters"' not in _client(world, "county").get("/desk/").content.decode()


def test_in_app_messages_with_the_unread_count(world):
    person = Person.objects.get(pk=world["people"]["county_duty"].pk)
    [inapp, *_] = notify_services.notify_people(
        [person], subject="【紧急】待签收：化工园区爆炸", body="请签收。", key="m1", urgent=True
    )
    client = _client(world, "county_duty")
    html = _panel(client, "inbox")
    assert "待签收：化工园区爆炸" in html and 'data-unread="1"' in html
    assert f'id="notice-m{inapp.pk}"' in html and "notice alarm unread" in html
    assert "待签收：化工园区爆炸" not in _panel(_client(world, "city_duty"), "inbox")

    # Marked read through the notify API, as the desk's button does.
    response = client.post(
        "/api/notify/inbox/read", {"ids": [inapp.pk]}, content_type="application/json"
    )
    assert response.status_code == 200
    assert 'data-unread="0"' in _panel(client, "inbox")


def test_worker_panel_refresh_also_updates_the_warning_at_the_top(world):
    client = _client(world, "county_duty")
    html = _panel(client, "workers")
    assert 'id="worker-alert" hx-swap-oob="true"' in html and "后台工作进程未运行" in html
    worker_heartbeat("worker-desk-1")
    html = _panel(client, "workers")
    assert "worker-desk-1" in html and "后台工作进程未运行" not in html
    assert 'id="worker-alert" hx-swap-oob="true"' in html  # the warning is cleared too


def test_unknown_panels_are_not_found(world):
    assert _client(world, "county_duty").get("/desk/panels/nothing/").status_code == 404


def test_the_desk_speaks_english_to_an_english_browser(world):
    client = _client(world, "county_duty")
    page = client.get("/desk/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for english in ["New reports", "Reporting deadlines", "Active events", "Messages", "Map of"]:
        assert english in page
    for chinese in ["新接报", "报送时限", "进行中的事件", "事件地图", "站内消息"]:
        assert chinese not in page
    file_first(world, "emergency", title="化工园区爆炸")
    feed = client.get("/desk/feed/", {"after": "0-0-0"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert any("Grade" in i["html"] or "Ungraded" in i["html"] for i in feed["items"])


def test_long_panels_show_the_first_rows_and_count_them_all(world, monkeypatch):
    """Obligations soonest due first, routes to acknowledge oldest first: the panel shows
    PANEL_LENGTH of them and counts every one the reader has (not only those shown)."""
    monkeypatch.setattr("fenghuo.desk.views.PANEL_LENGTH", 2)
    for n, place in enumerate(["化工园区", "高速收费站", "城南市场"]):
        file_first(
            world, "environment", title=f"{place}爆炸", dead=3, place=place,
            occurred_at=clock.now() - timedelta(days=n + 1),
        )  # fmt: skip
    client = _client(world, "county_duty")
    county = world["county"]
    owed = list(
        Obligation.objects.filter(Q(obliged_unit=county) | Q(office=county))
        .filter(state="pending")
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)
    )
    assert len(owed) > 2
    html = _panel(client, "obligations")
    assert [int(pk) for pk in re.findall(r'data-obligation="(\d+)"', html)] == owed[:2]
    assert f"共 {len(owed)} 项待办时限" in html

    waiting = list(
        Route.objects.filter(office=county, state=RouteState.SENT)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    assert len(waiting) == 3
    html = _panel(client, "routes")
    assert [int(pk) for pk in re.findall(r'data-route="(\d+)"', html)] == waiting[:2]
    assert '待签收 <span class="count">3</span>' in html
