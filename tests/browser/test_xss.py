"""Report text that looks like markup is shown as text: on the event page, in the duty
desk's feed (rendered on the server, inserted by the page's script) and in search results.
The page fixture also fails on any Content-Security-Policy refusal, which is what an
injected script that slipped through escaping would cause."""

import uuid

import httpx
import pytest
from playwright.sync_api import expect

from fenghuo.org import services as org_services
from fenghuo.org.models import AdminLevel, Role
from tests.browser.conftest import CSP_LISTENER, _is_csp_refusal
from tests.conftest import SYSTEM

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__xss='script'</script>"
ATTRIBUTE = '" onmouseover="window.__xss=\'attr\'" autofocus onfocus="window.__xss=\'focus\'" x="'
IMAGE = "<img src=x onerror=\"window.__xss='img'\">"
TITLE = f"江口县化工园区爆炸{SCRIPT}{ATTRIBUTE}"
NARRATIVE = f"现场浓烟{IMAGE}{SCRIPT}，爆炸造成人员受伤{ATTRIBUTE}"


@pytest.fixture
def token(make_unit, make_person):
    city = make_unit(
        "临江市委办公室", level=AdminLevel.CITY, division_code="990100", is_receiving_office=True
    )
    county = make_unit("江口县委办公室", city, division_code="990121", is_receiving_office=True)
    bureau = make_unit("江口县应急管理局", county, kind="emergency", division_code="990121")
    make_person("county_duty", county, Role.DUTY_OFFICER, full_name="王值班")
    return org_services.token_issue(SYSTEM, unit=bureau, name="应急局报送系统")[1]


def _file(base_url: str, token: str) -> dict:
    response = httpx.post(
        f"{base_url}/api/reports",
        json={
            "kind": "first",
            "title": TITLE,
            "category": "hazchem",
            "occurred_at": "2026-11-23T09:10:00+08:00",
            "division_code": "990121",
            "place": f"化工园区{ATTRIBUTE}",
            "narrative": NARRATIVE,
            "injured": 2,
        },
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=60,
        trust_env=False,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _nothing_ran(page) -> None:
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("[onmouseover], [onfocus], [onerror]").count() == 0


def test_markup_in_a_report_is_shown_as_text(page, live_server, login, token):
    login(page, "county_duty")
    expect(page.get_by_role("heading", name="值班台", exact=True)).to_be_visible()
    # Filed while the desk is open: it arrives through the feed, inserted by desk.js.
    filed = _file(live_server.url, token)
    arrival = page.locator("#arrivals > li").first
    expect(arrival).to_contain_text(TITLE)
    page.locator("#arrivals a").first.hover()
    _nothing_ran(page)

    page.goto(f"{live_server.url}/events/{filed['event_id']}/")
    expect(page.locator("body")).to_contain_text(f"现场浓烟{IMAGE}{SCRIPT}")
    expect(page.locator("body")).to_contain_text(TITLE)
    _nothing_ran(page)

    page.goto(f"{live_server.url}/events/?q=爆炸")
    expect(page.locator("body")).to_contain_text(TITLE)
    page.locator("main a", has_text="江口县化工园区爆炸").first.hover()
    _nothing_ran(page)

    # The search box's own echo of the query is text too.
    page.goto(f"{live_server.url}/events/?q=" + httpx.QueryParams({"q": SCRIPT})["q"])
    expect(page.locator("body")).to_contain_text(SCRIPT)
    _nothing_ran(page)


def test_the_csp_guard_sees_a_refused_inline_script(
    browser, live_server, django_db_serialized_rollback
):
    """The check every browser test relies on: an inline script is refused and reported.
    (Its own context, to listen without the guard failing it; serialized rollback as the
    `page` fixture has, or the next such test could not restore the migrations' rows.)"""
    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if _is_csp_refusal(m.text) else None)
    try:
        page.goto(f"{live_server.url}/login/")
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.__ran = 1'; document.body.appendChild(s); }"
        )
        page.wait_for_timeout(300)
        assert page.evaluate("typeof window.__ran") == "undefined"
        assert seen, "an inline script ran or was refused silently"
    finally:
        context.close()
