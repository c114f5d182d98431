"""The issue's browser check: a reporter drafts a release from an event (prefilled, with a
live preview), a leader approves it, and it appears on the public page for a visitor who
is not logged in; a draft never appears there.

Set FENGHUO_SCREENSHOTS=/tmp/some-folder to keep full-page screenshots of every step.
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from fenghuo.core import clock
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, ReportKind
from fenghuo.org.models import AdminLevel, Role
from fenghuo.org.policy import principal_for
from fenghuo.release.models import Release, VersionState

pytestmark = pytest.mark.browser

NARRATIVE = "江口县化工园区临江化工厂一车间发生爆炸，消防救援队伍已到场处置。"
ADVICE = "请周边群众关闭门窗、减少外出，以官方发布信息为准，不信谣、不传谣。"


@pytest.fixture
def cast(make_unit, make_person):
    province = make_unit(
        "示范省委办公厅", level=AdminLevel.PROVINCE, kind="party_office", division_code="990000"
    )
    county = make_unit("江口县委办公室", province, division_code="990121", is_receiving_office=True)
    bureau = make_unit(
        "江口县应急管理局", county, kind="emergency", division_code="990121", phone="0999-1234567"
    )
    reporter = make_person("linxin", bureau, Role.REPORTER, full_name="林信息")
    make_person("zhouzu", province, Role.GROUP_LEADER, full_name="周组长")
    event = event_services.file_report(
        principal_for(reporter),
        unit=bureau,
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data={
            "title": "江口县化工园区发生爆炸",
            "category": EventCategory.objects.get(code="hazchem"),
            "occurred_at": clock.now() - timedelta(hours=1),
            "division_code": "990121",
            "place": "江口县化工园区临江化工厂",
            "narrative": NARRATIVE,
            "measures": "已疏散周边群众，封闭园区道路。",
            "dead": 1,
            "injured": 4,
        },
    ).event
    return {"event": event, "bureau": bureau}


def _visitor(browser: Browser, live_server) -> Page:
    """A second browser with no cookies: the public, not logged in."""
    context = browser.new_context(locale="zh-CN", base_url=live_server.url)
    context.set_default_timeout(15_000)
    return context.new_page()


def test_draft_approve_and_see_it_on_the_public_page(
    page: Page, browser: Browser, login, live_server, cast, snapshot
):
    event = cast["event"]
    login(page, "linxin")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="信息发布").click()
    expect(page.get_by_role("heading", name="信息发布", level=1)).to_be_visible()
    page.get_by_role("link", name="起草信息发布").click()
    page.get_by_role("link", name=event.title).click()

    # The editor, prefilled from the event; the live preview names what is missing.
    expect(page.get_by_role("heading", name="起草信息发布", level=1)).to_be_visible()
    expect(page.get_by_label("标题")).to_have_value("关于江口县化工园区发生爆炸的情况通报")
    expect(page.get_by_label("事件概况")).to_have_value(NARRATIVE)
    expect(page.get_by_label("影响范围")).to_have_value(re.compile("1人死亡、4人受伤"))
    preview = page.locator("#release-preview")
    expect(preview).to_contain_text("防范建议：防范建议为必填项")
    snapshot(page, "release-editor")

    # 提交审核 without advice: the error sits next to the field; nothing is saved.
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator("#field-advice .field-error")).to_have_text("防范建议为必填项")
    assert not Release.objects.exists()

    page.get_by_label("防范建议").fill(ADVICE)
    expect(preview).to_contain_text("必备部分已齐全")  # the preview follows the typing
    expect(preview.locator(".release-text")).to_contain_text(ADVICE)
    snapshot(page, "release-editor-complete")
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator("li.success")).to_contain_text("已提交审核")
    expect(page.locator(".state").first).to_have_text("待审核")
    release = Release.objects.get()

    # While it waits, the public sees nothing of it.
    visitor = _visitor(browser, live_server)
    visitor.goto("/public/releases/")
    expect(visitor.get_by_role("heading", name="权威发布")).to_be_visible()
    expect(visitor.locator("main")).to_contain_text("暂无发布信息")
    assert visitor.goto(f"/public/releases/{release.pk}/").status == 404

    # A second draft that is never submitted.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="信息发布").click()
    page.get_by_role("link", name="起草信息发布").click()
    page.get_by_role("link", name=event.title).click()
    page.get_by_label("标题").fill("一份不会发布的草稿")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("li.success")).to_contain_text("草稿已保存")

    # The group leader approves and publishes from the approval queue.
    page.get_by_role("button", name="退出").click()
    login(page, "zhouzu")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="信息发布").click()
    page.get_by_role("link", name=re.compile("待审核")).click()
    page.get_by_role("link", name="关于江口县化工园区发生爆炸的情况通报").click()
    snapshot(page, "release-review")
    page.get_by_role("button", name="批准并发布").click()
    expect(page.locator("li.success")).to_contain_text("已批准并发布")
    expect(page.locator(".state").first).to_have_text("已发布")
    assert release.versions.get().state == VersionState.PUBLISHED

    # Logged out, on the public pages: the release, not the draft.
    visitor.goto("/public/releases/")
    expect(visitor.get_by_role("link", name="关于江口县化工园区发生爆炸的情况通报")).to_be_visible()
    expect(visitor.locator("main")).not_to_contain_text("一份不会发布的草稿")
    snapshot(visitor, "public-releases")
    visitor.get_by_role("link", name="关于江口县化工园区发生爆炸的情况通报").click()
    article = visitor.locator("article.paper")
    expect(article.get_by_role("heading", level=1)).to_have_text(
        "关于江口县化工园区发生爆炸的情况通报"
    )
    for heading in ("事件概况", "影响范围", "应对措施", "防范建议"):
        expect(article.get_by_role("heading", name=heading)).to_be_visible()
    expect(article).to_contain_text(ADVICE)
    expect(visitor.locator("body")).not_to_contain_text("信息员")  # nothing internal
    snapshot(visitor, "public-release")
    feed = visitor.request.get("/public/feeds/releases.atom")
    assert "关于江口县化工园区发生爆炸的情况通报" in feed.text()
    assert "一份不会发布的草稿" not in feed.text()
    visitor.context.close()
