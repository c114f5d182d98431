"""The Django admin in Chinese: creating a unit in the tree through treebeard's form."""

import re

import pytest
from playwright.sync_api import expect

from fenghuo.core.models import AuditEntry
from fenghuo.org.models import AdminLevel, Unit

pytestmark = pytest.mark.browser

NEW_UNIT = "西湖区人民政府办公室"


@pytest.fixture
def tree(make_unit):
    province = make_unit("浙江省人民政府办公厅", level=AdminLevel.PROVINCE, division_code="330000")
    city = make_unit(
        "杭州市人民政府办公厅", province, level=AdminLevel.CITY, division_code="330100"
    )
    return province, city


@pytest.fixture
def admin_page(page, login, make_person, tree):
    province, _ = tree
    make_person("admin", province, full_name="系统管理员", is_staff=True, is_superuser=True)
    login(page, "admin")
    expect(page).to_have_url(re.compile(r"/desk/$"))
    return page


def fill_unit_form(page, *, name: str, division_code: str, parent: Unit) -> None:
    page.get_by_label("单位名称").fill(name)
    page.get_by_label("行政层级").select_option(label="县")
    page.get_by_label("单位类型").select_option(label="政府办公厅（室）")
    page.get_by_label("行政区划代码").fill(division_code)
    page.get_by_label("参照单位").select_option(value=str(parent.pk))
    page.get_by_label("层级关系").select_option(label="下级：挂在参照单位之下")


def test_admin_index_is_chinese_and_lists_org_models(admin_page, live_server, snapshot):
    page = admin_page
    page.goto(f"{live_server.url}/admin/")

    expect(page).to_have_title(re.compile("烽火管理"))
    expect(page.locator("#site-name")).to_have_text("烽火 · 系统管理")
    # Django's own admin chrome is translated too, not only our verbose names.
    expect(page.get_by_role("heading", name="最近动作")).to_be_visible()
    expect(page.get_by_role("button", name="注销")).to_be_visible()
    content = page.locator("#content-main")
    expect(content.get_by_role("link", name="组织与人员")).to_be_visible()
    for label in ["单位", "人员", "值班表", "接口令牌", "专家库"]:
        expect(content.get_by_role("link", name=label, exact=True)).to_be_visible()
    expect(content.get_by_role("link", name="增加").first).to_be_visible()
    snapshot(page, "admin-index")


def test_admin_creates_child_unit_shown_in_admin_tree_and_org_page(
    admin_page, live_server, tree, snapshot
):
    page = admin_page
    province, city = tree
    page.goto(f"{live_server.url}/admin/org/unit/add/")

    expect(page.get_by_role("heading", name="增加 单位")).to_be_visible()
    # Treebeard's own fields are labelled in Chinese, not in English.
    form = page.locator("#unit_form")
    expect(form).to_contain_text("在组织树中的位置")
    expect(form.get_by_label("参照单位")).to_be_visible()
    expect(form.get_by_label("层级关系")).to_be_visible()
    for english in ["Position", "Relative to", "Child of", "Sibling of", "root"]:
        expect(form).not_to_contain_text(english)

    fill_unit_form(page, name=NEW_UNIT, division_code="330106", parent=city)
    snapshot(page, "admin-unit-add")
    page.get_by_role("button", name="保存", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/admin/org/unit/")
    expect(page.locator("ul.messagelist")).to_contain_text(NEW_UNIT)
    expect(page.locator("ul.messagelist")).to_contain_text("成功添加")

    created = Unit.objects.get(name=NEW_UNIT)
    assert created.division_code == "330106"
    assert created.level == AdminLevel.COUNTY
    assert Unit.objects.get_parent(created) == city
    assert AuditEntry.objects.filter(action="org.unit.create", object_id=str(created.pk)).exists()

    # The admin tree shows roots; expanding province, then city, reveals the new unit
    # one level below the city.
    page.locator(f'tr[data-node-id="{province.pk}"] a.treebeard-collapse').click()
    city_row = page.locator(f'tr[data-node-id="{city.pk}"]')
    expect(city_row).to_contain_text("杭州市人民政府办公厅")
    city_row.locator("a.treebeard-collapse").click()
    row = page.locator(f'tr[data-node-id="{created.pk}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text(NEW_UNIT)
    expect(row).to_contain_text("330106")
    expect(row).to_have_attribute("data-parent-id", str(city.pk))
    expect(row).to_have_attribute("data-level", "3")
    snapshot(page, "admin-unit-tree")

    # The organisation page nests it under the city, which is nested under the province.
    page.goto(f"{live_server.url}/org/")
    nested = page.locator(
        f'li[data-unit-id="{province.pk}"] > ul > li[data-unit-id="{city.pk}"]'
        f' > ul > li[data-unit-id="{created.pk}"]'
    )
    expect(nested).to_be_visible()
    expect(nested.locator(".name")).to_have_text(NEW_UNIT)
    expect(nested).to_contain_text("县")
    expect(nested).to_contain_text("政府办公厅（室）")
    snapshot(page, "org-tree")


def test_admin_rejects_bad_division_code_in_chinese_and_creates_nothing(
    admin_page, live_server, tree, snapshot
):
    page = admin_page
    _, city = tree
    units_before = Unit.objects.count()
    page.goto(f"{live_server.url}/admin/org/unit/add/")

    fill_unit_form(page, name=NEW_UNIT, division_code="12AB", parent=city)
    page.get_by_role("button", name="保存", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/admin/org/unit/add/")
    expect(page.locator(".errornote")).to_contain_text("请更正以下错误")
    field_errors = page.locator(".field-division_code .errorlist")
    expect(field_errors).to_contain_text("行政区划代码须为 6 位数字")
    # What was typed is kept, so the user can correct it.
    expect(page.get_by_label("行政区划代码")).to_have_value("12AB")
    snapshot(page, "admin-unit-bad-code")

    assert Unit.objects.count() == units_before
    assert not Unit.objects.filter(name=NEW_UNIT).exists()
    city.refresh_from_db()
    assert city.numchild == 0
    assert not AuditEntry.objects.filter(action="org.unit.create", after__name=NEW_UNIT).exists()
