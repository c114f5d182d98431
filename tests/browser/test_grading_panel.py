"""The live grading panel in a real browser: the grade changes as the reporter types.

Set FENGHUO_SCREENSHOTS=/tmp/some-folder to keep a screenshot of the panel.
"""

import pytest
from playwright.sync_api import Page, expect

from fenghuo.org.models import AdminLevel, Role

pytestmark = pytest.mark.browser


@pytest.fixture
def reporter(make_unit, make_person):
    city = make_unit("临江市委办公室", level=AdminLevel.CITY, division_code="990100")
    county = make_unit("江口县委办公室", city, division_code="990121")
    return make_person("chenxin", county, Role.REPORTER, full_name="陈信息")


def test_panel_follows_what_the_reporter_types(page: Page, login, reporter, snapshot):
    login(page, "chenxin")
    page.goto("/reports/new/")
    panel = page.locator("#grading-live")
    expect(panel).to_contain_text("选择事件类别")

    page.get_by_label("事件类别").select_option(label="危险化学品事故")
    page.get_by_label("死亡").fill("12")
    expect(panel).to_contain_text("重大（Ⅱ级）")
    expect(panel).to_contain_text("死亡 12 人 ≥ 10 人 → 重大（Ⅱ级）")
    expect(panel).to_contain_text("须于 7 小时内书面报告至国家级")
    snapshot(page, "grading-panel")

    page.get_by_label("死亡").fill("2")
    expect(panel).to_contain_text("一般（Ⅳ级）")
    expect(panel).not_to_contain_text("国家级")

    # Words in the text count too, where the rule set has sensitivity factors.
    page.get_by_label("事件类别").select_option(label="群体性事件")
    page.get_by_label("死亡").fill("3")
    page.get_by_label("涉及人员/主体").fill("某大学学生")
    expect(panel).to_contain_text("敏感身份：涉及“学生” → 提高一级")
    expect(panel).to_contain_text("重大（Ⅱ级）")
    snapshot(page, "grading-panel-factor")

    # The panel posts the form's fields, never the files picked for upload.
    def is_preview(request) -> bool:
        return request.url.endswith("/criteria/preview/")

    with page.expect_response(lambda r: is_preview(r.request)):  # the file input's change
        page.locator("#id_attachments").set_input_files(
            files=[{"name": "现场.txt", "mimeType": "text/plain", "buffer": "现场".encode()}]
        )
    with page.expect_request(lambda r: is_preview(r) and "dead=4" in (r.post_data or "")) as sent:
        page.get_by_label("死亡").fill("4")
    assert "attachments" not in sent.value.post_data
