"""The criteria admin: the 试算 page, 复制为新版本, inline edits audited and applied at once,
and who may change which rule sets."""

import pytest

from fenghuo.core.models import AuditEntry
from fenghuo.criteria.models import EventCategory, Rule, RuleSet
from fenghuo.org.models import Person, Role
from tests.criteria.conftest import grade

pytestmark = pytest.mark.django_db

TRY_URL = "/admin/criteria/ruleset/try/"


@pytest.fixture
def people(world, make_person):
    return {
        "root": make_person("root", world["province"], is_staff=True, is_superuser=True),
        "city_admin": make_person("city_admin", world["city"], Role.ADMIN, is_staff=True),
        "duty": make_person("duty", world["city"], Role.DUTY_OFFICER, is_staff=True),
    }


def login(client, person):
    client.force_login(Person.objects.get(pk=person.pk))
    return client


def category_pk(code: str) -> int:
    return EventCategory.objects.get(code=code).pk


def test_try_page_shows_grade_reasons_levels_and_deadlines(client, people):
    login(client, people["root"])
    page = client.get(TRY_URL)
    assert page.status_code == 200
    assert "试算" in page.content.decode()

    response = client.post(
        TRY_URL,
        {
            "category": category_pk("work_safety"),
            "occurred_at": "2026-11-23T10:00",
            "dead": "10",
            "economic_loss": "120.5",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "重大（Ⅱ级）" in html
    assert "死亡 10 人 ≥ 10 人 → 重大（Ⅱ级）" in html
    assert "直接经济损失 120.5 万元 &lt; 1000 万元" in html
    assert "须于 7 小时内书面报告至国家级" in html
    assert 'id="try-targets"' in html
    assert "<td>国家级</td><td>不要求</td><td>7 小时</td>" in html
    assert "每 24 小时，直至终报" in html


def test_try_page_uses_text_flags_and_version_time(client, people):
    login(client, people["root"])
    html = client.post(
        TRY_URL,
        {
            "category": category_pk("mass_incident"),
            "occurred_at": "2026-10-01T10:00",
            "dead": "3",
            "text": "火车站前聚集",
            "flags": ["sensitive_identity"],
        },
    ).content.decode()
    assert "敏感身份：报送人标注 → 提高一级" in html
    assert "敏感地点：火车站 → 预警关注" in html
    assert "敏感时间：2026-10-01 为国庆节假期 → 预警关注" in html
    assert "预警关注" in html and "重大（Ⅱ级）" in html


def test_try_page_names_what_is_wrong(client, people):
    login(client, people["root"])
    response = client.post(TRY_URL, {"occurred_at": "昨天", "dead": "-1", "division_code": "12"})
    html = response.content.decode()
    assert response.status_code == 422
    assert "请选择事件类别" in html
    assert "输入一个有效的日期/时间" in html or "有效的日期" in html
    assert "试算结果" not in html


def test_try_page_is_for_administrators_only(client, people):
    assert client.get(TRY_URL).status_code == 302  # to the admin login
    login(client, people["duty"])
    assert client.get(TRY_URL).status_code == 403
    login(client, people["city_admin"])
    assert client.get(TRY_URL).status_code == 200
    changelist = client.get("/admin/criteria/ruleset/").content.decode()
    assert f'href="{TRY_URL}"' in changelist


def test_copy_as_new_version_action(client, people):
    login(client, people["root"])
    original = RuleSet.objects.get(code="production-safety", version=1)
    response = client.post(
        "/admin/criteria/ruleset/",
        {"action": "copy_as_new_version", "_selected_action": [original.pk]},
        follow=True,
    )
    assert response.status_code == 200
    copy = RuleSet.objects.get(code="production-safety", version=2)
    assert not copy.is_active
    assert copy.rules.count() == original.rules.count()
    assert "已复制为" in response.content.decode()
    assert AuditEntry.objects.filter(action="criteria.ruleset.copy", object_id=copy.pk).exists()


def _inline(prefix: str, rows, fields: tuple[str, ...], fk: str = "rule") -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(len(rows)),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data[f"{prefix}-{i}-id"] = str(row.pk)
        data[f"{prefix}-{i}-{fk}"] = str(getattr(row, f"{fk}_id"))
        for name in fields:
            value = getattr(row, name)
            data[f"{prefix}-{i}-{name}"] = "" if value is None else str(value)
    return data


def _rule_form(rule: Rule, **changes) -> dict:
    data = {
        "ruleset": str(rule.ruleset_id),
        "category": str(rule.category_id or ""),
        "base_grade": str(rule.base_grade or ""),
        "note": rule.note,
        **_inline("thresholds", list(rule.thresholds.all()), ("grade", "figure", "minimum")),
        **_inline(
            "targets",
            list(rule.targets.all()),
            ("grade", "level", "phone_minutes", "written_minutes"),
        ),
        **_inline("results", list(rule.results.all()), ("grade", "followup_hours", "final_days")),
    }
    data.update(changes)
    return data


def test_inline_threshold_edit_is_audited_and_applies_at_once(client, people):
    login(client, people["root"])
    rule = Rule.objects.get(ruleset__code="production-safety", category__code="work_safety")
    assert grade("work_safety", dead=8).grade == 3
    rows = list(rule.thresholds.all())
    index = next(i for i, t in enumerate(rows) if (t.grade, t.figure) == (2, "dead"))
    response = client.post(
        f"/admin/criteria/rule/{rule.pk}/change/",
        _rule_form(rule, **{f"thresholds-{index}-minimum": "8"}),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert grade("work_safety", dead=8).grade == 2
    entry = AuditEntry.objects.filter(
        action="criteria.threshold.update", object_id=rows[index].pk
    ).get()
    assert (entry.before["minimum"], entry.after["minimum"]) == ("10.00", "8.00")


def test_inline_row_deleted_is_audited(client, people):
    login(client, people["root"])
    rule = Rule.objects.get(ruleset__code="production-safety", category__code="fire")
    rows = list(rule.targets.all())
    response = client.post(
        f"/admin/criteria/rule/{rule.pk}/change/",
        _rule_form(rule, **{"targets-0-DELETE": "on"}),
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="criteria.target.delete")
    assert entry.object_id == str(rows[0].pk)
    assert entry.before["level"] == rows[0].level


def test_unit_admin_views_but_cannot_change_nationwide_rule_sets(client, people, world):
    login(client, people["city_admin"])
    national = RuleSet.objects.get(code="production-safety")
    url = f"/admin/criteria/ruleset/{national.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(url, {"name": "改名"}).status_code == 403
    national.refresh_from_db()
    assert national.name == "生产安全事故报告和调查处理条例"


def test_unit_admin_keeps_rule_sets_of_its_own_area(client, people, world):
    login(client, people["city_admin"])
    form = {
        "name": "临江市紧急信息报送标准",
        "code": "linjiang",
        "version": "1",
        "jurisdiction": str(world["city"].pk),
        "effective_from_0": "2026-01-01",
        "effective_from_1": "00:00:00",
        "is_active": "on",
        "basis": "",
    }
    for prefix in ("rules", "factors", "dates", "places"):
        form.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = client.post("/admin/criteria/ruleset/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    created = RuleSet.objects.get(code="linjiang")
    assert created.jurisdiction == world["city"]
    assert AuditEntry.objects.filter(
        action="criteria.ruleset.create", object_id=created.pk
    ).exists()

    # Nationwide, or for a unit outside its own area: refused.
    form.update(code="everywhere", jurisdiction="")
    assert client.post("/admin/criteria/ruleset/add/", form).status_code == 403
    form.update(code="elsewhere", jurisdiction=str(world["other"].pk))
    assert client.post("/admin/criteria/ruleset/add/", form).status_code == 200  # form error
    assert not RuleSet.objects.filter(code__in=["everywhere", "elsewhere"]).exists()
