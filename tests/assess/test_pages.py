"""The evaluation pages over the period: the ranking (each figure a link to what it was
counted from), a unit's scorecard, the items behind a figure, cases and letters with their
state, bulletins, findings and the event page's part; bad periods answered in Chinese."""

import re
from html import unescape

import pytest
from django.test import Client

from fenghuo.assess.models import Case
from fenghuo.org.models import Person, Unit

pytestmark = pytest.mark.django_db


def client_of(world, who: str) -> Client:
    client = Client()
    client.force_login(Person.objects.get(pk=world["people"][who].pk))
    return client


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_ranking_page_lists_the_units_in_order_with_links_behind_each_figure(period, at_now):
    page = client_of(period, "city_duty").get("/assess/", {"period": "2026-01"})
    assert page.status_code == 200
    html = page.content.decode()
    order = re.findall(r'<td class="unit"><a href="[^"]+">([^<]+)</a>', html)
    assert order == [
        "临江日报社",
        "江口县委办公室",
        "河西县委办公室",
        "江口县公安局",
        "江口县应急管理局",
        "临江大学",
    ]
    police = period["police"].pk
    assert f'href="/assess/units/{police}/figures/missed/?period=2026-01">2</a>' in html
    assert f'href="/assess/units/{police}/figures/concealed/?period=2026-01">1</a>' in html
    assert "2026年1—2月" in html
    assert 'data-chart="scores"' in html and 'id="assess-charts"' in html


def test_the_items_behind_a_figure(period, at_now):
    police = period["police"].pk
    page = client_of(period, "city_duty").get(
        f"/assess/units/{police}/figures/timeliness/", {"period": "2026-01"}
    )
    body = text(page.content.decode())
    assert "9 项" in body
    assert body.count("漏报") >= 2 and body.count("按时") >= 7
    missed = client_of(period, "city_duty").get(
        f"/assess/units/{police}/figures/missed/", {"period": "2026-01"}
    )
    cases = Case.objects.filter(unit=period["police"], kind="missed")
    for case in cases:
        assert f"/assess/cases/{case.pk}/" in missed.content.decode()


def test_a_bad_period_is_named_in_chinese_and_the_current_one_shown(period, at_now):
    page = client_of(period, "city_duty").get(
        "/assess/", {"start": "2026-03-01", "end": "2026-01-01"}
    )
    assert page.status_code == 200
    assert "截止日期不能早于起始日期" in page.content.decode()
    page = client_of(period, "city_duty").get("/assess/", {"period": "2026-13"})
    assert "考核期格式应为 YYYY-MM" in page.content.decode()
    api = client_of(period, "city_duty").get(
        "/api/assess/ranking", {"start": "x", "end": "2026-01-01"}
    )
    assert api.status_code == 422
    assert api.json()["errors"] == {"start": ["日期格式应为 YYYY-MM-DD"]}


def test_scorecard_case_letter_bulletin_finding_and_summary_pages_open(period, at_now):
    client = client_of(period, "city_duty")
    police = period["police"]
    assert client.get(f"/assess/units/{police.pk}/", {"period": "2026-01"}).status_code == 200
    case = period["suspicion"]
    page = client.get(f"/assess/cases/{case.pk}/")
    assert "瞒报" in page.content.decode() and "已确认" in page.content.decode()
    letter = period["letter"]
    page = client.get(f"/assess/letters/{letter.pk}/")
    body = text(page.content.decode())
    assert letter.number in body and "逾期答复" in body and "建立伤亡人数核对制度" in body
    for path in ("/assess/cases/", "/assess/letters/", "/assess/bulletins/", "/assess/findings/"):
        assert client.get(path).status_code == 200, path


def test_the_event_page_shows_adoption_cases_and_similar_events(period, at_now):
    client = client_of(period, "city_duty")
    e2 = period["e2"].event
    body = client.get(f"/events/{e2.pk}/").content.decode()
    assert "相似事件" in body
    assert (
        "报告采用" in body and f'action="/assess/reports/{period["e2"].report.pk}/adopt/"' in body
    )
    assert "泄密事件" in body  # the recorded incident, among the event's cases
    e1 = period["e1"].event
    body = client.get(f"/events/{e1.pk}/").content.decode()
    assert "临江市委办公室已采用" in body


def test_the_offices_that_may_adopt_each_report_are_the_duty_offices_above_its_unit(period, at_now):
    """The event page reads every report's adopting offices at once: for every person and
    every report they see, the receiving offices strictly above the report's unit where
    they are duty officers, nearest first (an office never adopts its own report)."""
    from fenghuo.assess import selectors
    from fenghuo.events.selectors import reports_visible
    from fenghuo.org.models import Role
    from fenghuo.org.policy import principal_for

    offered = own = 0
    for person in period["people"].values():
        principal = principal_for(Person.objects.get(pk=person.pk))
        duty = {g.unit_id for g in principal.grants if g.role == Role.DUTY_OFFICER}
        reports = list(reports_visible(principal).select_related("unit"))
        many = selectors.adopting_offices_of(principal, reports)
        for report in reports:
            expected, unit = [], Unit.objects.get_parent(report.unit)
            while unit is not None:  # up the tree, nearest first
                if unit.is_receiving_office and unit.pk in duty:
                    expected.append(unit)
                unit = Unit.objects.get_parent(unit)
            assert many[report.pk] == expected
            assert selectors.adopting_offices(principal, report) == expected
            offered += bool(expected)
            own += report.unit_id in duty
    assert offered and own  # offices above reporting units, and an office's own reports


def test_the_openapi_document_lists_the_assess_endpoints(period):
    schema = client_of(period, "city_duty").get("/api/openapi.json").json()
    assert {
        "/api/assess/ranking",
        "/api/assess/ranking.xlsx",
        "/api/assess/units/{unit_id}/scorecard",
        "/api/assess/units/{unit_id}/figures/{figure}",
        "/api/assess/cases",
        "/api/assess/cases/{case_id}/confirm",
        "/api/assess/cases/{case_id}/letter",
        "/api/assess/letters/{letter_id}/answer",
        "/api/assess/letters/{letter_id}/letter.docx",
        "/api/reports/{report_id}/adopt",
        "/api/assess/bulletins",
        "/api/assess/bulletins/{bulletin_id}/circulate",
        "/api/assess/bulletins/{bulletin_id}/bulletin.xlsx",
        "/api/assess/findings/{finding_id}/review",
        "/api/events/{event_id}/similar",
        "/api/assess/events/{event_id}/summary.docx",
        "/api/assess/events/{event_id}/lessons",
        "/api/assess/duties",
    } <= set(schema["paths"])
