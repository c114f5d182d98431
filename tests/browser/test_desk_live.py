"""The live duty desk in a real browser: a report filed through the API by a unit's system
appears on an open desk without a reload, and a grade Ⅱ report sets off the alarm
(headless chromium plays no sound, so the page's alarm counter is what is checked).

Twice: under `fenghuo serve` (uvicorn, ASGI), where the desk listens on its Server-Sent
Events stream; and under the WSGI test server, where the stream is refused and the desk
falls back to polling, as it does behind a proxy that cuts streams. Also: `fenghuo serve`
stops at once, with no stream left for its graceful timeout to cancel, while a desk is open.
"""

import re
import signal
import uuid
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from fenghuo.core import clock
from fenghuo.org import services as org_services
from fenghuo.org.models import AdminLevel, Role
from tests.browser.conftest import PASSWORD
from tests.conftest import SYSTEM
from tests.processes import Site, _site, free_port

pytestmark = pytest.mark.browser

LOW = "江口县化工园区一车间发生小型火情"
HIGH = "江口县化工园区临江化工厂发生爆炸"
# Production-safety criteria (生产安全事故报告和调查处理条例 Art. 3): 10–29 dead is 重大 (Ⅱ).
# The second joins the event the first opened (same place and time), which it raises to Ⅱ.
REPORTS = {
    LOW: {"injured": 1, "latitude": 30.12, "longitude": 120.26},
    HIGH: {"dead": 12, "seriously_injured": 3},
}

# The cast, made in a `fenghuo serve` site's database (the probe runs it there).
CAST = """
from fenghuo.org import services
from fenghuo.org.models import AdminLevel, Role, UnitKind
from fenghuo.org.policy import Principal

system = Principal(person_id=None, grants=(), is_superuser=True, label="测试系统")
kind = UnitKind.objects.get(code="gov_office")
city = services.unit_create(system, parent=None, name="临江市委办公室", level=AdminLevel.CITY,
    kind=kind, division_code="990100", is_receiving_office=True)
county = services.unit_create(system, parent=city, name="江口县委办公室",
    level=AdminLevel.COUNTY, kind=kind, division_code="990121", is_receiving_office=True)
bureau = services.unit_create(system, parent=county, name="江口县应急管理局",
    level=AdminLevel.COUNTY, kind=UnitKind.objects.get(code="emergency"),
    division_code="990121")
duty = services.person_create(system, username="county_duty", full_name="王值班", unit=county,
    password=PASSWORD)
services.membership_grant(system, person=duty, unit=county, role=Role.DUTY_OFFICER)
_, result = services.token_issue(system, unit=bureau, name="应急局报送系统")
"""


def _body(title: str) -> dict:
    return {
        "kind": "first",
        "title": title,
        "category": "hazchem",
        "occurred_at": "2026-11-23T09:10:00+08:00",
        "division_code": "990121",
        "place": "江口县化工园区临江化工厂",
        "narrative": f"{title}，现场已组织救援。",
        **REPORTS[title],
    }


def _file(base_url: str, token: str, title: str) -> dict:
    """What a unit's reporting system does: POST with its token and an Idempotency-Key."""
    response = httpx.post(
        f"{base_url}/api/reports",
        json=_body(title),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=60,
        trust_env=False,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="值班台", exact=True)).to_be_visible()


def _watch_an_api_report_arrive(page: Page, base_url: str, token: str, mode: str) -> None:
    """The issue's test: the desk is open; reports come in over the API; no reload."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in(page, base_url, "county_duty")
    status = page.locator("#desk-live")
    expect(status).to_have_attribute("data-mode", mode)
    expect(page.locator("#desk-map")).to_have_attribute("data-markers", "0")
    page.evaluate("window.__sameDocument = 'still here'")  # gone if the page reloads
    loads = []
    page.on("load", lambda: loads.append(page.url))
    arrivals = page.locator("#arrivals > li")
    expect(arrivals).to_have_count(0)

    _file(base_url, token, LOW)
    low = arrivals.filter(has_text=LOW)
    expect(low).to_be_visible()
    expect(low).to_contain_text("江口县应急管理局")
    expect(low).to_contain_text("接口报送")

    filed = _file(base_url, token, HIGH)
    high = arrivals.filter(has_text=HIGH)
    expect(high).to_be_visible()
    expect(high.locator(".grade")).to_have_text("Ⅱ级")
    expect(high).to_have_class(re.compile(r"\balarm\b"))
    expect(high.get_by_role("link", name=HIGH)).to_have_attribute(
        "href", f"/events/{filed['event_id']}/#report-{filed['id']}"
    )
    expect(page.locator("#desk-feed")).not_to_have_attribute("data-alarms", "0")
    alarmed = page.evaluate("window.fenghuoDesk.alarmKeys")
    assert high.get_attribute("data-key") in alarmed
    assert low.get_attribute("data-key") not in alarmed  # below Ⅱ: silent

    # The panels caught up too: the Ⅱ event is counted and on the map, without a reload.
    expect(page.locator('#panel-events [data-grade="2"] .n')).to_have_text("1")
    expect(page.locator("#desk-map")).to_have_attribute("data-markers", "1")
    expect(page.locator("#desk-map path.leaflet-interactive")).to_have_count(1)
    assert page.evaluate("window.__sameDocument") == "still here" and loads == []
    expect(status).to_have_attribute("data-mode", mode)
    assert errors == []


# --- under the WSGI test server: the stream is refused, the desk polls ---------------------


@pytest.fixture
def token(make_unit, make_person):
    city = make_unit(
        "临江市委办公室", level=AdminLevel.CITY, division_code="990100", is_receiving_office=True
    )
    county = make_unit("江口县委办公室", city, division_code="990121", is_receiving_office=True)
    bureau = make_unit("江口县应急管理局", county, kind="emergency", division_code="990121")
    make_person("county_duty", county, Role.DUTY_OFFICER, full_name="王值班")
    return org_services.token_issue(SYSTEM, unit=bureau, name="应急局报送系统")[1]


def test_an_api_report_appears_on_an_open_desk_by_polling(page, live_server, token, snapshot):
    _watch_an_api_report_arrive(page, live_server.url, token, "polling")
    snapshot(page, "desk-live-polling")


def test_countdowns_tick_in_the_browser_and_turn_red_when_due(page, live_server, token):
    _sign_in(page, live_server.url, "county_duty")
    _file(live_server.url, token, LOW)
    # The office owes a receipt (签收) within minutes; the panel came with the arrival.
    receipt = page.locator("#panel-obligations li[data-countdown]").filter(has_text="签收").first
    expect(receipt.locator("[data-due]")).to_contain_text("剩余")
    expect(receipt).not_to_have_class(re.compile(r"\boverdue\b"))

    # Time passes (the server's clock, which the page follows): the countdown runs out and
    # turns red in the browser, before any worker has marked the obligation late.
    step = timedelta(minutes=30)
    clock.advance(step)
    try:
        page.evaluate("document.body.dispatchEvent(new CustomEvent('desk:arrival'))")
        expect(receipt.locator("[data-due]")).to_contain_text("已超时")
        expect(receipt).to_have_class(re.compile(r"\boverdue\b"))
    finally:
        clock.advance(-step)


# --- under `fenghuo serve`: Server-Sent Events --------------------------------------------


@pytest.fixture(scope="module")
def served_site(tmp_path_factory, django_db_setup):
    for site in _site(tmp_path_factory.mktemp("desk-serve")):
        site.migrate()
        token = site.django(CAST.replace("PASSWORD", repr(PASSWORD)))
        yield site, token


def _serve(site: Site) -> tuple[str, object]:
    port = free_port()
    proc = site.start("serve", "--port", str(port))
    proc.wait_for(rf"Uvicorn running on http://127\.0\.0\.1:{port}")
    return f"http://127.0.0.1:{port}", proc


def _context(browser: Browser, base_url: str):
    context = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(15_000)
    return context


def test_an_api_report_appears_on_an_open_desk_over_the_stream(browser, served_site, snapshot):
    site, token = served_site
    base_url, proc = _serve(site)
    context = _context(browser, base_url)
    try:
        page = context.new_page()
        streams = []
        page.on("request", lambda r: "/desk/stream/" in r.url and streams.append(r.url))
        _watch_an_api_report_arrive(page, base_url, token, "live")
        assert streams, "the desk never opened its stream"
        snapshot(page, "desk-live-stream")
    finally:
        context.close()
        proc.signal(signal.SIGTERM)
        proc.wait()


def test_serve_stops_at_once_with_a_desk_open(browser, served_site):
    site, _ = served_site
    base_url, proc = _serve(site)
    context = _context(browser, base_url)
    try:
        page = context.new_page()
        _sign_in(page, base_url, "county_duty")
        expect(page.locator("#desk-live")).to_have_attribute("data-mode", "live")

        proc.signal(signal.SIGTERM)
        # uvicorn stops cleanly, then re-raises the signal it caught: exit by SIGTERM.
        assert proc.wait() in (0, -signal.SIGTERM), proc.output
    finally:
        context.close()
    # The open stream ended by itself on the stop request: uvicorn had nothing to cancel
    # (it would have waited its graceful timeout first, then said so).
    assert "timeout graceful shutdown exceeded" not in proc.output
    assert "Finished server process" in proc.output
