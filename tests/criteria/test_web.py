"""The live panel on the report form (POST /criteria/preview/), the grading API
(POST /api/criteria/evaluate) and facts_from_report on real and duck-typed reports."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client

from fenghuo.core import clock
from fenghuo.criteria.models import EventCategory
from fenghuo.criteria.services import evaluate, facts_from_report
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, Report, ReportKind
from fenghuo.org import services as org_services
from fenghuo.org.models import Person, Role
from fenghuo.org.policy import principal_for
from tests.conftest import SYSTEM
from tests.criteria.conftest import ORDINARY_DAY

pytestmark = pytest.mark.django_db

PREVIEW = "/criteria/preview/"
API = "/api/criteria/evaluate"


@pytest.fixture
def reporter(world, make_person):
    return make_person("county_reporter", world["county"], Role.REPORTER)


def signed_in(person, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(Person.objects.get(pk=person.pk))
    return client


def report_fields(world, **values) -> dict[str, str]:
    """What the report form posts (the panel sends the whole form)."""
    data = {
        "unit": str(world["county"].pk),
        "kind": "first",
        "title": "江口县化工园区发生爆炸",
        "category": str(EventCategory.objects.get(code="hazchem").pk),
        "occurred_at": "2026-11-23T09:10",
        "division_code": "990121",
        "place": "江口县化工园区临江化工厂",
        "narrative": "一车间发生爆炸，现场有人员被困。",
        "dead": "",
        "economic_loss": "",
    }
    data.update({k: str(v) for k, v in values.items()})
    return data


def file_first(world, reporter):
    """A first report of a chemical plant explosion with 2 dead, through the real service."""
    return event_services.file_report(
        principal_for(Person.objects.get(pk=reporter.pk)),
        unit=world["county"],
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data={
            "title": "江口县化工园区发生爆炸",
            "category": EventCategory.objects.get(code="hazchem"),
            "occurred_at": clock.now() - timedelta(hours=1),
            "division_code": "990121",
            "place": "江口县化工园区",
            "subjects": "临江化工厂",
            "narrative": "一车间发生爆炸。",
            "dead": 2,
        },
    )


# --- the panel -------------------------------------------------------------------------


def test_report_form_carries_the_live_panel(world, reporter):
    html = signed_in(reporter).get("/reports/new/").content.decode()
    assert f'hx-post="{PREVIEW}"' in html
    assert 'hx-include="closest form"' in html
    assert "from:closest form" in html


def test_panel_shows_grade_reasons_and_deadlines_as_typed(world, reporter):
    client = signed_in(reporter)
    response = client.post(PREVIEW, report_fields(world, dead="12"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="grade grade-2"' in html and "重大（Ⅱ级）" in html
    assert "死亡 12 人 ≥ 10 人 → 重大（Ⅱ级）" in html
    assert "须于 1 小时内书面报告至县级" in html
    assert "须于 7 小时内书面报告至国家级" in html
    # One more keystroke, another answer.
    html = client.post(PREVIEW, report_fields(world, dead="2")).content.decode()
    assert "一般（Ⅳ级）" in html and "国家级" not in html


def test_panel_reads_sensitive_words_from_the_form_text(world, reporter):
    fields = report_fields(
        world,
        category=EventCategory.objects.get(code="mass_incident").pk,
        subjects="某大学学生",
        dead="3",
    )
    html = signed_in(reporter).post(PREVIEW, fields).content.decode()
    assert "敏感身份：涉及“学生” → 提高一级" in html


def test_panel_reads_the_reporters_flags(world, reporter):
    fields = report_fields(
        world, category=EventCategory.objects.get(code="mass_incident").pk, dead="3"
    )
    fields["flags"] = ["long_duration_crowd"]
    html = signed_in(reporter).post(PREVIEW, fields).content.decode()
    assert "持续时间长、聚集人数多：报送人标注" in html


def test_flags_filed_through_the_form_reach_the_grading(world, reporter):
    """The report form's checkboxes are stored on the report and weighed by the engine."""
    fields = report_fields(
        world,
        category=EventCategory.objects.get(code="mass_incident").pk,
        title="江口县城关镇人员聚集",
        place="江口县城关镇某售楼部",
        narrative="数百人聚集讨薪，已持续两天。",
        occurred_at=(clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        confidentiality="1",
        reliability="preliminary",
        submit="1",
        idempotency_key="flags-form-1",
    )
    fields["flags"] = ["long_duration_crowd", "sensitive_identity"]
    response = signed_in(reporter).post("/reports/new/", fields)
    assert response.status_code == 302, response.content.decode()[:3000]
    report = Report.objects.get()
    assert report.flags == ["long_duration_crowd", "sensitive_identity"]
    grading = evaluate(facts_from_report(report))
    assert any("报送人标注" in reason for reason in grading.reasons)


def test_panel_waits_for_a_category(world, reporter):
    response = signed_in(reporter).post(PREVIEW, report_fields(world, category=""))
    assert response.status_code == 200
    assert "选择事件类别" in response.content.decode()
    assert "定级：" not in response.content.decode()


def test_panel_assumes_now_without_an_occurrence_time(world, reporter):
    html = signed_in(reporter).post(PREVIEW, report_fields(world, occurred_at="")).content
    assert "发生时间未填，按当前时间试算" in html.decode()


def test_panel_names_unreadable_fields_with_422(world, reporter):
    response = signed_in(reporter).post(
        PREVIEW, report_fields(world, dead="十二", economic_loss="很多")
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert 'data-field="dead"' in html and "死亡（人）：" in html
    assert 'data-field="economic_loss"' in html
    assert "定级：" not in html


def test_panel_ignores_a_division_code_still_being_typed(world, reporter):
    response = signed_in(reporter).post(PREVIEW, report_fields(world, division_code="9901"))
    assert response.status_code == 200
    assert "一般（Ⅳ级）" in response.content.decode()


def test_panel_for_a_followup_uses_the_events_elements(world, reporter):
    result = file_first(world, reporter)
    client = signed_in(reporter)
    form_page = client.get(f"/reports/new/?event={result.event.pk}").content.decode()
    assert "event_category" in form_page
    # A 续报 leaves the elements blank; the panel grades with the event's.
    fields = {
        "event_category": str(result.event.category_id),
        "event_occurred_at": "2026-11-23 09:10",
        "narrative": "救援进展",
        "dead": "12",
    }
    html = client.post(PREVIEW, fields).content.decode()
    assert "重大（Ⅱ级）" in html


def test_panel_needs_a_signed_in_person_and_csrf(world, reporter):
    assert Client().post(PREVIEW, report_fields(world)).status_code == 403
    strict = signed_in(reporter, enforce_csrf_checks=True)
    assert strict.post(PREVIEW, report_fields(world)).status_code == 403
    assert signed_in(reporter).get(PREVIEW).status_code == 405


# --- the API ---------------------------------------------------------------------------


def body(**values) -> dict:
    return {"category": "work_safety", "occurred_at": ORDINARY_DAY.isoformat(), **values}


@pytest.fixture
def token(world) -> str:
    _, plaintext = org_services.token_issue(SYSTEM, unit=world["county"], name="测试")
    return plaintext


def test_api_returns_the_grading(world, token):
    response = Client().post(
        API,
        body(dead=10, unit_id=world["county"].pk),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["grade"], data["label"]) == (2, "重大（Ⅱ级）")
    assert data["ruleset"] == "《生产安全事故报告和调查处理条例》 第1版"
    assert "死亡 10 人 ≥ 10 人 → 重大（Ⅱ级）" in data["reasons"]
    assert data["targets"][0] == {
        "level": "county",
        "level_label": "县级",
        "phone_minutes": None,
        "written_minutes": 60,
        "text": "须于 1 小时内书面报告至县级",
    }
    assert (data["followup_hours"], data["final_days"], data["attention"]) == (24, 30, False)
    assert isinstance(data["rule_id"], int)


def test_api_takes_text_flags_and_naive_times_as_beijing_time(world, token):
    response = Client().post(
        API,
        {
            "category": "mass_incident",
            "occurred_at": "2026-10-01T08:30:00",  # no zone: Beijing time, a holiday
            "dead": 3,
            "text": "火车站",
            "flags": ["extreme_behaviour"],
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    data = response.json()
    assert data["grade"] == 2 and data["attention"] is True
    assert "敏感时间：2026-10-01 为国庆节假期 → 预警关注" in data["reasons"]
    assert "极端行为：报送人标注 → 提高一级" in data["reasons"]


def test_api_with_session_and_csrf(world, reporter):
    client = signed_in(reporter, enforce_csrf_checks=True)
    client.get("/reports/new/")  # sets the CSRF cookie as the page would
    csrf = client.cookies["csrftoken"].value
    denied = client.post(API, body(dead=3), content_type="application/json")
    assert denied.status_code == 403
    allowed = client.post(
        API, body(dead=3), content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert allowed.status_code == 200 and allowed.json()["grade"] == 3


def test_api_without_credentials_is_401(world):
    assert Client().post(API, body(dead=3), content_type="application/json").status_code == 401
    bad = Client().post(
        API,
        body(dead=3),
        content_type="application/json",
        headers={"Authorization": "Bearer fh_nope_nope"},
    )
    assert bad.status_code == 401


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"category": "no-such"}, {"category"}),
        ({"category": ""}, {"category"}),
        ({"occurred_at": None}, {"occurred_at"}),
        ({"dead": -1, "economic_loss": "-0.5"}, {"dead", "economic_loss"}),
        ({"division_code": "１１０１０１"}, {"division_code"}),  # full-width digits
        ({"unit_id": 987654}, {"unit"}),
        ({"flags": ["vip"]}, {"flags"}),
    ],
)
def test_api_names_bad_fields_with_422(world, token, values, fields):
    response = Client().post(
        API,
        body(**values),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert set(response.json()["errors"]) == fields


def test_api_type_errors_are_422_naming_the_field(world, token):
    response = Client().post(
        API,
        body(dead="很多"),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.json()["errors"]["dead"] == ["应为整数"]


# --- facts_from_report -----------------------------------------------------------------


def test_facts_from_a_filed_report_with_the_events_current_figures(world, reporter):
    result = file_first(world, reporter)
    facts = facts_from_report(result.report)
    assert (facts.category_code, facts.unit_path, facts.division_code) == (
        "hazchem",
        world["county"].path,
        "990121",
    )
    assert "临江化工厂" in facts.text and facts.figures["dead"] == 2
    assert evaluate(facts).grade == 4
    # The escalation engine passes the event's current figures (a 续报 said 12 dead).
    assert evaluate(facts_from_report(result.report, figures={"dead": 12})).grade == 2


def test_facts_from_any_object_with_report_fields():
    duck = SimpleNamespace(
        category=SimpleNamespace(code="campus"),
        occurred_at=ORDINARY_DAY,
        title="校园内发生伤人事件",
        narrative="一名学生受伤",
        dead=None,
        injured=1,
        flags={"extreme_behaviour"},
    )
    facts = facts_from_report(duck)
    assert facts.unit_path == "" and facts.division_code == ""
    assert facts.flags == frozenset({"extreme_behaviour"})
    g = evaluate(facts)
    assert g.grade == 4  # raised from 未达报送标准 by the student and the flag
    assert "敏感身份：涉及“学生” → 提高一级" in g.reasons
