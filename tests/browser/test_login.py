"""Signing in and out, and the navigation shell, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from fenghuo.org.models import AdminLevel, Role

pytestmark = pytest.mark.browser

NAV = ["值班台", "事件", "报送", "预警", "信息发布", "舆情", "考核", "演练", "管理"]


@pytest.fixture
def officer(make_unit, make_person):
    office = make_unit(
        "浙江省人民政府办公厅",
        level=AdminLevel.PROVINCE,
        division_code="330000",
        is_receiving_office=True,
    )
    return make_person("zhangsan", office, Role.DUTY_OFFICER, full_name="张三")


def test_root_redirects_to_chinese_login_page(page, live_server, snapshot):
    page.goto(f"{live_server.url}/")

    expect(page).to_have_url(re.compile(r"/login/\?next=/desk/$"))
    expect(page).to_have_title(re.compile("登录"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("heading", name="登录烽火")).to_be_visible()
    expect(page.get_by_label("用户名")).to_be_visible()
    expect(page.get_by_label("密码")).to_be_visible()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    # Nobody is signed in, so the shell shows no navigation.
    expect(page.get_by_role("navigation", name="主导航")).to_have_count(0)
    snapshot(page, "login")


def test_wrong_password_shows_chinese_error(page, live_server, login, officer, snapshot):
    login(page, "zhangsan", "not-the-password")

    expect(page).to_have_url(re.compile(r"/login/"))
    error = page.get_by_role("alert")
    expect(error).to_be_visible()
    expect(error).to_contain_text("密码")
    expect(error).to_contain_text("区分大小写")
    snapshot(page, "login-error")
    # Still signed out: the desk sends us back to the login page.
    page.goto(f"{live_server.url}/desk/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/desk/$"))


def test_login_lands_on_duty_desk_with_shell_and_logout_works(page, live_server, officer):
    page.goto(f"{live_server.url}/")
    page.get_by_label("用户名").fill("zhangsan")
    page.get_by_label("密码").fill("pw-Fenghuo-2026")
    page.get_by_role("button", name="登录").click()

    expect(page).to_have_url(f"{live_server.url}/desk/")
    expect(page.get_by_role("heading", name="值班台", exact=True)).to_be_visible()
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link")).to_have_text(NAV)
    expect(nav.get_by_role("link", name="值班台")).to_have_attribute("aria-current", "page")
    expect(page.locator(".who")).to_contain_text("张三")
    # The office the officer serves appears in the on-duty table, with the officer on duty.
    duty = page.get_by_role("row").filter(has_text="浙江省人民政府办公厅")
    expect(duty).to_contain_text("张三")

    # Every area of the shell opens, in Chinese, with its own tab marked current.
    nav.get_by_role("link", name="预警").click()
    expect(page.get_by_role("heading", name="预警", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="预警")).to_have_attribute("aria-current", "page")
    nav.get_by_role("link", name="管理").click()
    expect(page.get_by_role("heading", name="组织机构")).to_be_visible()
    expect(page.locator("#unit-tree")).to_contain_text("浙江省人民政府办公厅")

    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_role("heading", name="登录烽火")).to_be_visible()
    page.goto(f"{live_server.url}/desk/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/desk/$"))
