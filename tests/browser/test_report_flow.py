"""The main loop in a real browser: a reporter files a first report through the form,
finds it on the event page, then files 续报一 from there; on a desktop and a phone screen.

Set FENGHUO_SCREENSHOTS=/tmp/some-folder to keep full-page screenshots of every step.
"""

import re
import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from fenghuo.core import clock
from fenghuo.events.models import Event, Report, ReportStatus
from fenghuo.org.models import AdminLevel, Role

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TITLE = "江口县化工园区临江化工厂发生爆炸"


@pytest.fixture
def reporter(make_unit, make_person):
    city = make_unit(
        "临江市委办公室", level=AdminLevel.CITY, division_code="990100", is_receiving_office=True
    )
    county = make_unit("江口县委办公室", city, division_code="990121", is_receiving_office=True)
    return make_person("chenxin", county, Role.REPORTER, full_name="陈信息")


def _fits_the_screen(page: Page) -> bool:
    """Nothing sticks out sideways (wide tables scroll inside their own box)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_reporter_files_a_first_report_and_a_follow_up(
    page: Page, login, live_server, reporter, snapshot
):
    login(page, "chenxin")
    nav = page.get_by_role("navigation", name="主导航")
    nav.get_by_role("link", name="报送").click()
    expect(page.get_by_role("heading", name="报送紧急信息")).to_be_visible()
    expect(nav.get_by_role("link", name="报送")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("note").filter(has_text="涉密")).to_be_visible()
    expect(page.get_by_label("报送单位")).to_have_value(str(reporter.unit_id))
    snapshot(page, "report-form")

    # 报送 with nothing filled in: every missing element named next to its field.
    page.get_by_role("button", name="报送", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="提交的内容有误")).to_be_visible()
    for field, message in [
        ("title", "标题为必填项"),
        ("category", "类别为必填项"),
        ("occurred_at", "发生时间为必填项"),
        ("place", "地点为必填项"),
        ("narrative", "事件经过为必填项"),
    ]:
        expect(page.locator(f"#field-{field} .field-error")).to_contain_text(message)
    expect(page.get_by_label("标题")).to_have_attribute("aria-invalid", "true")
    assert not Report.objects.exists()
    snapshot(page, "report-form-errors")

    # The first report, filled in on a phone-sized screen.
    page.set_viewport_size(PHONE)
    when = timezone.localtime(clock.now() - timedelta(minutes=40))
    page.get_by_label("标题").fill(TITLE)
    page.get_by_label("事件类别").select_option(label="危险化学品事故")
    page.get_by_label("发生时间").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("行政区划代码").fill("990121")
    page.get_by_label("地点", exact=True).fill("江口县化工园区临江化工厂一车间")
    page.get_by_label("涉及人员/主体").fill("临江化工厂一车间当班工人")
    page.get_by_label("事件经过").fill(
        "今日上午，临江化工厂一车间发生爆炸，现场有人员被困，消防救援队伍已到场处置。"
    )
    page.get_by_label("死亡", exact=True).fill("1")
    page.get_by_label("受伤", exact=True).fill("4")
    page.get_by_label("已采取措施").fill("已疏散周边群众，封闭园区道路。")
    page.get_by_label("信息来源").fill("现场人员报告")
    page.get_by_label("紧急（可先报送、后审签）").check()
    assert _fits_the_screen(page)
    snapshot(page, "report-form-phone")
    page.get_by_role("button", name="报送", exact=True).click()

    # On the event page: title, unit, figures.
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(page.locator("li.success")).to_contain_text("首报已报送")
    event = Event.objects.get()
    expect(page).to_have_url(re.compile(rf"/events/{event.pk}/#report-\d+$"))
    chain = page.locator("#reports")
    expect(chain.get_by_role("heading", name="江口县委办公室")).to_be_visible()
    expect(chain).to_contain_text("首报")
    figures = page.locator("#figures")
    expect(figures.locator("[data-figure=dead] td.current")).to_contain_text("1")
    expect(figures.locator("[data-figure=injured] td.current")).to_contain_text("4")
    expect(page.locator(".grade")).to_have_text("Ⅳ级")  # 1 dead at a chemical plant: 一般
    assert _fits_the_screen(page)
    snapshot(page, "event-phone")

    # 续报 from the event page, back on a desktop screen.
    page.set_viewport_size({"width": 1280, "height": 860})
    page.get_by_role("link", name="续报", exact=True).click()
    expect(page.get_by_role("heading", name="续报 · 终报 · 补报")).to_be_visible()
    expect(page.get_by_label("续报", exact=True)).to_be_checked()
    expect(page.get_by_label("受伤", exact=True)).to_have_value("4")  # carried forward
    page.get_by_label("事件经过").fill("被困人员已全部救出，伤员已送县人民医院救治。")
    page.get_by_label("原因").fill("初步判断为反应釜超压引发爆炸，具体原因正在调查。")
    page.get_by_label("死亡", exact=True).fill("2")
    page.get_by_label("受伤", exact=True).fill("6")
    snapshot(page, "followup-form")
    page.get_by_role("button", name="报送", exact=True).click()

    expect(page.locator("li.success")).to_contain_text("续报一已报送")
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    steps = page.locator("#reports ol.chain-steps > li .kind")
    expect(steps).to_have_text(["首报", "续报一"])
    timeline = page.locator("#timeline li.kind-report")  # grading and routing lines aside
    expect(timeline).to_have_count(2)
    expect(timeline.nth(0)).to_contain_text("江口县委办公室首报")
    expect(timeline.nth(1)).to_contain_text("江口县委办公室续报一")
    expect(figures.locator("[data-figure=dead] td.current")).to_contain_text("2")
    expect(figures.locator("[data-figure=injured] td.current")).to_contain_text("6")
    snapshot(page, "event")

    assert Report.objects.filter(status=ReportStatus.SUBMITTED).count() == 2
    assert Event.objects.count() == 1

    # The event is in the list, with its report count.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="事件").click()
    row = page.get_by_role("row").filter(has_text=TITLE)
    expect(row).to_contain_text("Ⅳ级")
    expect(row.locator("td").nth(6)).to_have_text("2")
    snapshot(page, "event-list")
    page.set_viewport_size(PHONE)
    assert _fits_the_screen(page)
    snapshot(page, "event-list-phone")


def _shares_one_connection() -> bool:
    """The live server hands an in-memory SQLite test database's one connection to every
    request thread, so two requests at once would share one transaction: a property of
    the test server, not of Fenghuo (a file or PostgreSQL gives each thread its own)."""
    from django.db import connection

    return connection.vendor == "sqlite" and connection.is_in_memory_db()


def _finish_server_requests(page: Page) -> None:
    """Close the browser (ending keep-alive connections), then wait for the live server to
    finish every request it is still handling, so none runs into the next test."""
    page.context.close()
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and "process_request_thread" in thread.name:
            thread.join(timeout=30)


def test_a_double_click_on_submit_files_one_report(page: Page, login, live_server, reporter):
    if _shares_one_connection():
        pytest.skip("内存 SQLite 测试库：并发请求共用一个连接（顺序重复提交见 test_pages.py）")
    login(page, "chenxin")
    page.goto(f"{live_server.url}/reports/new/")
    when = timezone.localtime(clock.now() - timedelta(minutes=30))
    page.get_by_label("标题").fill("江口县城区一居民楼起火")
    page.get_by_label("事件类别").select_option(label="火灾事故")
    page.get_by_label("发生时间").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("行政区划代码").fill("990121")
    page.get_by_label("地点", exact=True).fill("江口县城区人民路 18 号")
    page.get_by_label("事件经过").fill("居民楼三楼一住户起火，消防已到场扑救。")
    page.get_by_role("button", name="报送", exact=True).dblclick()
    # Whichever of the two answers the browser shows, the report is filed.
    expect(page.locator("li.success, li.info").first).to_contain_text(
        re.compile("首报已报送|没有重复报送")
    )
    _finish_server_requests(page)
    assert Report.objects.count() == 1
    assert Event.objects.count() == 1


def _file(person, unit, title, narrative, *, event=None, hours=1, place="", **figures):
    from fenghuo.criteria.models import EventCategory
    from fenghuo.events import services
    from fenghuo.events.models import Channel, ReportKind
    from fenghuo.org.policy import principal_for

    data = {"title": title, "narrative": narrative, **figures}
    if event is None:
        data |= {
            "category": EventCategory.objects.get(code="hazchem"),
            "occurred_at": clock.now() - timedelta(hours=hours),
            "division_code": "990121",
            "place": place or "江口县化工园区临江化工厂",
        }
    return services.file_report(
        principal_for(person),
        unit=unit,
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data=data,
        event=event,
    )


def test_duty_officer_sees_conflicting_figures_and_reviews_the_merge_queue(
    page: Page, login, live_server, make_unit, make_person, snapshot
):
    from fenghuo.events.models import MergeCandidate

    city = make_unit(
        "临江市委办公室", level=AdminLevel.CITY, division_code="990100", is_receiving_office=True
    )
    county = make_unit("江口县委办公室", city, division_code="990121", is_receiving_office=True)
    health = make_unit("江口县卫生健康局", county, kind="health", division_code="990121")
    make_person("duty", city, Role.DUTY_OFFICER, full_name="王值班")
    county_reporter = make_person("county_reporter", county, Role.REPORTER)
    health_reporter = make_person("health_reporter", health, Role.REPORTER)
    first = _file(
        county_reporter, county, TITLE, "化工厂一车间发生爆炸，现场有人员被困。", dead=3, injured=5
    )
    _file(
        health_reporter,
        health,
        "化工厂爆炸伤员救治情况",
        "伤员已送县人民医院救治，其中死亡 5 人。",
        event=first.event,
        dead=5,
        injured=12,
    )
    other = _file(
        county_reporter,
        county,
        "江口县经济开发区仓库闪爆",
        "开发区东区一物流企业仓库发生闪爆，无人员伤亡。",
        hours=20,
        place="江口县经济开发区东区物流园",
    )
    assert other.event.pk != first.event.pk
    candidate = MergeCandidate.objects.create(
        report=other.report,
        candidate=first.event,
        score=0.61,
        reasons=["同一类别", "发生时间相差 0 分钟", "地点相近"],
    )

    login(page, "duty")
    page.goto(f"{live_server.url}/events/{first.event.pk}/")
    conflict = page.locator("#figures tr.conflict[data-figure=dead]")
    expect(conflict).to_contain_text("数字不一致")
    expect(conflict.locator("td")).to_have_text([re.compile("^5"), "3", "5"])
    expect(page.locator("#figures")).to_contain_text("死亡（江口县委办公室 3、江口县卫生健康局 5）")
    expect(page.locator("#reports h3")).to_have_text(["江口县委办公室", "江口县卫生健康局"])
    snapshot(page, "event-conflict")
    page.set_viewport_size(PHONE)
    snapshot(page, "event-conflict-phone")
    assert _fits_the_screen(page)
    page.set_viewport_size({"width": 1280, "height": 860})

    # A status transition the duty officer may take.
    page.get_by_role("button", name="标记为「核实中」").click()
    expect(page.locator("#event-status")).to_have_text("核实中")
    expect(page.locator("#timeline")).to_contain_text("状态：新接报 → 核实中")

    # The review queue: the grey-zone report, its score and reasons; merged on request.
    page.goto(f"{live_server.url}/events/")
    page.get_by_role("link", name="可能是同一事件（1）").click()
    row = page.locator(f"#candidate-{candidate.pk}")
    expect(row).to_contain_text("61%")
    expect(row).to_contain_text("地点相近")
    snapshot(page, "merge-queue")
    page.set_viewport_size(PHONE)
    assert _fits_the_screen(page)
    snapshot(page, "merge-queue-phone")
    row.get_by_role("button", name="合并").click()
    expect(page.get_by_text("没有待确认的疑似同一事件。")).to_be_visible()
    page.wait_for_load_state("networkidle")
    other.report.refresh_from_db()
    assert other.report.event_id == first.event.pk
