"""A warning in a real browser: a duty officer drafts it and draws its area on the map, the
leading group's leader approves and issues it, and the public sees it while logged out —
with nothing fetched from outside the machine (no tile server is configured)."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from fenghuo.alerts.models import Warning, WarningState
from fenghuo.core import clock
from fenghuo.notify.models import Message
from fenghuo.org.models import AdminLevel, Role

pytestmark = pytest.mark.browser


@pytest.fixture
def office(make_unit, make_person):
    city = make_unit(
        "临江市委办公室", level=AdminLevel.CITY, division_code="990100", is_receiving_office=True
    )
    county = make_unit("江口县委办公室", city, division_code="990121", is_receiving_office=True)
    return {
        "duty": make_person("city_duty", city, Role.DUTY_OFFICER, full_name="市值班"),
        "leader": make_person("city_leader", city, Role.GROUP_LEADER, full_name="市组长"),
        "county_duty": make_person("county_duty", county, Role.DUTY_OFFICER),
    }


def test_draft_draw_approve_issue_and_see_it_in_public(
    page: Page, login, live_server, office, snapshot
):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    login(page, "city_duty")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="预警").click()
    expect(page.get_by_role("heading", name="预警", exact=True)).to_be_visible()
    page.get_by_role("link", name="拟制预警").click()

    moment = timezone.localtime(clock.now())
    page.get_by_label("预警级别").select_option(label="黄色（Ⅲ级）")
    page.get_by_label("预警类别").select_option(label="气象灾害")
    page.get_by_label("预警事件").fill("暴雨")
    page.get_by_label("开始时间").fill(moment.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("预计结束时间").fill(
        (moment + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_label("影响区域（行政区划代码）").fill("990121")
    page.get_by_label("预计影响").fill("预计未来12小时江口县有暴雨。")
    page.get_by_label("警示事项").fill("山区注意防范山洪。")
    page.get_by_label("应采取的措施").fill("停止户外集体活动。")

    # Draw a rectangle with the map's drawing tool.
    page.get_by_title("绘制长方形").click()
    box = page.locator("#warning-editor-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4)
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)
    expect(page.locator("#shape-count")).to_have_text("1")
    snapshot(page, "warning-editor")
    page.get_by_role("button", name="保存并提交审批").click()
    expect(page.get_by_text("预警稿已保存，等待审批。")).to_be_visible()

    warning = Warning.objects.get()
    assert warning.state == WarningState.DRAFT
    assert [s["type"] for s in warning.geometry] == ["Polygon"]
    assert len(warning.geometry[0]["coordinates"][0]) == 5  # four corners, closed

    # The leader approves and issues.
    page.get_by_role("button", name="退出").click()
    login(page, "city_leader")
    page.goto(f"{live_server.url}/alerts/queue/")
    page.get_by_role("button", name="批准").click()
    expect(page.get_by_text("已批准，可以发布。")).to_be_visible()
    page.get_by_role("button", name="发布").click()
    expect(page.get_by_text("已发布，已通知有关单位和领导小组。")).to_be_visible()
    expect(page.locator("#warning-state")).to_have_text("生效中")
    snapshot(page, "warning-detail")
    assert Message.objects.filter(person=office["county_duty"], key__startswith="warning:").exists()

    # The public page, logged out: the warning, its area on the map.
    page.get_by_role("button", name="退出").click()
    page.goto(f"{live_server.url}/public/warnings/")
    expect(page.get_by_role("link", name="临江市委办公室发布暴雨黄色预警")).to_be_visible()
    expect(page.locator(".warning-map")).to_have_attribute("data-drawn", "1")
    snapshot(page, "public-warnings")

    loaded = [u for u in requests if urlsplit(u).scheme in {"http", "https", "ws", "wss"}]
    assert loaded
    assert [u for u in loaded if urlsplit(u).hostname != "127.0.0.1"] == []
