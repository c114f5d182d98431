"""The issue's check: the ranking page's charts render in a real browser (ECharts served
locally, nothing fetched from outside the machine, no console error)."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from fenghuo.core import clock
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, ReportKind
from fenghuo.org.models import AdminLevel, Role
from fenghuo.org.policy import principal_for

pytestmark = pytest.mark.browser


@pytest.fixture
def ranked(make_unit, make_person):
    city = make_unit(
        "临江市委办公室", level=AdminLevel.CITY, division_code="990100", is_receiving_office=True
    )
    county = make_unit("江口县委办公室", city, division_code="990121", is_receiving_office=True)
    police = make_unit("江口县公安局", county, kind="public_security", division_code="990121")
    make_unit("临江日报社", city, kind="media", division_code="990100", is_direct_point=True)
    make_person("city_duty", city, Role.DUTY_OFFICER)
    reporter = make_person("police_reporter", police, Role.REPORTER)
    event_services.file_report(
        principal_for(reporter),
        unit=police,
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data={
            "title": "江口县G205国道发生交通事故",
            "category": EventCategory.objects.get(code="road_traffic"),
            "occurred_at": clock.now() - timedelta(minutes=40),
            "division_code": "990121",
            "place": "江口县G205国道K12处",
            "subjects": "货车驾驶员",
            "narrative": "一辆货车侧翻，驾驶员受伤送医。",
            "injured": 1,
        },
    )
    return city


def test_ranking_page_charts_render(page: Page, login, live_server, ranked, snapshot):
    errors: list[str] = []
    requests: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requests.append(request.url))
    login(page, "city_duty")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="考核").click()
    expect(page.get_by_role("heading", name="考核排名 · 临江市委办公室", level=1)).to_be_visible()
    for chart in ("chart-scores", "chart-cases"):
        expect(page.locator(f"#{chart} svg").first).to_be_visible()
    # The bars are drawn, not just an empty canvas; the table lists the units.
    assert page.locator("#chart-scores svg path").count() > 0
    expect(page.locator("#ranking-table")).to_contain_text("江口县公安局")
    snapshot(page, "assess-ranking")
    # The unit's scorecard and its trend chart.
    page.locator("#ranking-table").get_by_role("link", name="江口县公安局").click()
    expect(page.get_by_role("heading", name="江口县公安局 · 考核情况", level=1)).to_be_visible()
    expect(page.locator("#chart-trend svg").first).to_be_visible()
    assert page.locator("#chart-trend svg path").count() > 0
    snapshot(page, "assess-unit")
    assert errors == []
    local = urlsplit(live_server.url).netloc
    assert all(urlsplit(url).netloc == local for url in requests if url.startswith("http"))
