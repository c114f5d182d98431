"""The drill pages in headless chromium: a director picks a scenario from the library,
prepares and starts a run on the ×10 clock; the live page follows the drill clock by
itself; a county duty officer finds the drill from the desk and signs for a drill report
on the drill's page; the director ends the drill and reads the results.

Set FENGHUO_SCREENSHOTS=/tmp/some-folder to keep full-page screenshots of every step.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from fenghuo.core import clock
from fenghuo.drills.models import DrillRun
from fenghuo.escalation.models import Route, RouteState
from fenghuo.org.demo import DEMO_PASSWORD
from tests.drills.drive import Drill
from tests.drills.world import build

pytestmark = pytest.mark.browser


@pytest.fixture
def frozen():
    with clock.frozen_at(datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))):
        yield


def test_library_run_live_page_and_results(
    page: Page, browser: Browser, login, live_server, frozen, snapshot
):
    build()
    login(page, "sheng_zhiban", DEMO_PASSWORD)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="演练").click()
    expect(page.get_by_role("heading", name="想定库", level=1)).to_be_visible()
    expect(page.locator("table.scenarios")).to_contain_text(
        "网传临江市实验小学学生食物中毒舆情处置演练"
    )
    snapshot(page, "drills-library")
    page.get_by_role("link", name="临江化工集团江口分厂爆炸事故多部门报送演练").click()
    expect(page.locator("table.mapping")).to_contain_text("模拟（由演练扮演）")
    page.get_by_label("时钟").select_option(label="加速 ×10")
    snapshot(page, "drills-scenario")
    page.get_by_role("button", name="准备演练").click()
    expect(page.locator("#run-state")).to_have_text("待开始")
    page.get_by_role("button", name="开始演练").click()
    expect(page.locator("#run-state")).to_have_text("进行中")
    expect(page.locator("#drill-clock")).to_have_text("T+0:00:00")
    run = DrillRun.objects.get()

    # The worker's loop runs the drill to minute 7: the page follows by itself.
    Drill(run).at(7)
    expect(page.locator("#drill-clock")).to_have_text("T+0:07:00", timeout=10_000)
    expect(page.locator("#live-injections")).to_contain_text("江口县应急管理局首报")
    expect(page.locator("#live-scores")).to_contain_text("中共江口县委办公室")
    snapshot(page, "drills-live-director")

    # A county duty officer: the desk says a drill is on; its work is on the drill's page.
    county = browser.new_context(locale="zh-CN", base_url=live_server.url).new_page()
    login(county, "jk_zhiban", DEMO_PASSWORD)
    county.goto("/desk/")
    banner = county.locator("#panel-drills")
    expect(banner).to_contain_text("演练进行中")
    expect(county.locator("#awaiting-receipt")).to_have_count(0)  # not on the real desk
    banner.get_by_role("link", name=run.title).click()
    work = county.locator("#my-work")
    expect(work).to_contain_text("待签收")
    expect(county.locator("#live-scores")).to_have_count(0)  # the script is the director's
    snapshot(county, "drills-live-participant")
    work.get_by_role("button", name="签收").click()
    expect(county.locator("li.success")).to_contain_text("签收")
    route = Route.objects.get(office__name="中共江口县委办公室", report__drill_tag=run.tag)
    assert route.state == RouteState.ACKNOWLEDGED
    county.context.close()  # its page polls the live part: no request left in flight

    Drill(run).at(17)  # the other receipts were due at T+16
    page.get_by_placeholder("结束说明（可不填）").fill("浏览器测试结束")
    page.get_by_role("button", name="结束演练").click()
    expect(page.get_by_role("heading", name=re.compile("评估结果"), level=1)).to_be_visible()
    scores = page.locator("#scores table.scores")
    expect(scores).to_contain_text("中共江口县委办公室")
    expect(page.locator("#outcome-county_ack")).to_contain_text("按时")
    suggested = page.locator(
        '#suggestions input[name="title"][value^="市委办公室签收县应急管理局报告"]'
    )
    expect(suggested).to_have_count(1)
    expect(page.get_by_role("link", name="评估报告（Word）")).to_have_attribute(
        "href", f"/drills/runs/{run.pk}/report.docx"
    )
    snapshot(page, "drills-results")
