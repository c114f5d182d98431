"""Concealment suspicions need a person's confirmation before they count or a letter goes
out; decisions are audited and idempotent; figure checks feed accuracy; adoption (采用) and
confidentiality incidents through the services, the pages and the API."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from fenghuo.assess import metrics, services
from fenghuo.assess.models import Adoption, Case, CaseKind, CaseState, FigureCheck, Letter
from fenghuo.assess.periods import Period
from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.events import services as event_services
from fenghuo.notify.models import Message
from fenghuo.org.models import Person
from tests.assess.world import at, report
from tests.events.world import principal

pytestmark = pytest.mark.django_db

START = at(2, 10, 10)


def client_of(world, who: str) -> Client:
    client = Client()
    client.force_login(Person.objects.get(pk=world["people"][who].pk))
    return client


def verify(world, event, **figures):
    with clock.frozen_at(START + timedelta(minutes=30)):
        task = event_services.request_verification(
            principal(world, "city_duty"),
            event=event,
            assignee_unit=world["county"],
            question="请核实伤亡",
            due_at=START + timedelta(hours=3),
        )
    with clock.frozen_at(START + timedelta(hours=1)):
        event_services.answer_verification(
            principal(world, "county_duty"),
            task,
            state="confirmed",
            answer="已核实",
            figures=figures,
        )


def figures_now(world, unit):
    with clock.frozen_at(START + timedelta(hours=2)):
        return metrics.unit_figures(world[unit], Period.bimonth(START.date()))


def test_a_concealment_suspicion_counts_and_allows_a_letter_only_once_confirmed(world):
    filed = report(world, "police", received=START, dead=1, injured=10)
    verify(world, filed.event, dead=3, injured=11)
    checks = {c.figure: c for c in FigureCheck.objects.filter(event=filed.event)}
    assert (checks["dead"].within_margin, checks["dead"].under) == (False, True)
    # 10 injured against 11 verified is within the 10 % margin: accurate, no suspicion.
    assert (checks["injured"].within_margin, checks["injured"].under) == (True, False)
    case = Case.objects.get(event=filed.event)
    assert (case.kind, case.state, case.kind_label) == (CaseKind.CONCEALED, "open", "疑似瞒报")
    assert case.details["figures"] == [
        {"figure": "dead", "label": "死亡", "reported": "1", "verified": "3", "margin": "0.00"}
    ]
    # The office above is asked to confirm; the police are not told of a mere suspicion.
    asked = Message.objects.filter(key=f"case:{case.pk}:opened", channel="inapp")
    assert {m.person.username for m in asked} == {"county_duty", "county_leader"}

    before = figures_now(world, "police")
    assert (before.concealed_cases, before.suspected_cases) == (0, 1)
    assert (before.checks, before.accurate) == (2, 1)
    with pytest.raises(ValidationError) as refused, clock.frozen_at(START + timedelta(hours=2)):
        services.issue_letter(principal(world, "city_duty"), case)
    assert refused.value.message_dict == {"case": ["只有已确认的问题才能函询"]}
    assert not Letter.objects.exists()

    # Not by the police themselves, nor by a reporter above them.
    for who in ("police", "county"):
        with pytest.raises(PermissionDenied):
            services.decide_case(principal(world, who), case, confirm=True)
    with clock.frozen_at(START + timedelta(hours=2)):
        services.decide_case(principal(world, "county_duty"), case, confirm=True, note="属实")
        # Confirming again (a retry) changes nothing and audits nothing more.
        entries = AuditEntry.objects.count()
        services.decide_case(principal(world, "county_duty"), case, confirm=True, note="属实")
        assert AuditEntry.objects.count() == entries
    case.refresh_from_db()
    assert (case.state, case.kind_label, case.decided_by.username) == (
        CaseState.CONFIRMED,
        "瞒报",
        "county_duty",
    )
    after = figures_now(world, "police")
    assert (after.concealed_cases, after.suspected_cases) == (1, 0)
    with clock.frozen_at(START + timedelta(hours=2)):
        letter, created = services.issue_letter(principal(world, "county_duty"), case)
    assert created and letter.office == world["county"]
    # A decided case cannot be decided the other way.
    with pytest.raises(ValidationError):
        services.decide_case(principal(world, "county_duty"), case, confirm=False, note="误判")


def test_dismissing_needs_a_reason_and_a_dismissed_case_never_counts(world):
    filed = report(world, "police", received=START, dead=1)
    verify(world, filed.event, dead=2)
    case = Case.objects.get(event=filed.event)
    with pytest.raises(ValidationError) as refused:
        services.decide_case(principal(world, "city_duty"), case, confirm=False, note=" ")
    assert refused.value.message_dict == {"note": ["排除须说明理由"]}
    with clock.frozen_at(START + timedelta(hours=2)):
        services.decide_case(
            principal(world, "city_duty"), case, confirm=False, note="核实时新增死亡1人"
        )
    figures = figures_now(world, "police")
    assert (figures.concealed_cases, figures.suspected_cases) == (0, 0)
    told = Message.objects.filter(key=f"case:{case.pk}:decided", channel="inapp")
    assert {m.person.username for m in told} == {"police_reporter"}


def test_deciding_through_the_api_and_the_page(world):
    filed = report(world, "police", received=START, dead=1)
    verify(world, filed.event, dead=3)
    case = Case.objects.get(event=filed.event)
    api = client_of(world, "police").post(
        f"/api/assess/cases/{case.pk}/confirm", {"note": ""}, content_type="application/json"
    )
    assert api.status_code == 403
    api = client_of(world, "city_duty").post(
        f"/api/assess/cases/{case.pk}/dismiss", {"note": ""}, content_type="application/json"
    )
    assert api.status_code == 422
    assert api.json()["errors"] == {"note": ["排除须说明理由"]}
    page = client_of(world, "city_duty").post(f"/assess/cases/{case.pk}/confirm/", {"note": "属实"})
    assert page.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.CONFIRMED
    api = client_of(world, "city_duty").get(f"/api/assess/cases/{case.pk}")
    assert (api.json()["kind_label"], api.json()["state_label"]) == ("瞒报", "已确认")


def test_adoption_is_marked_once_by_a_duty_officer_above_and_counted(world):
    filed = report(world, "police", received=START)
    for who in ("police", "county", "other_duty", "analyst"):
        with pytest.raises(PermissionDenied):
            services.adopt(principal(world, who), filed.report)
    with clock.frozen_at(START + timedelta(minutes=30)):
        adoption, created = services.adopt(principal(world, "county_duty"), filed.report)
        again, created_again = services.adopt(principal(world, "county_duty"), filed.report)
    assert created and not created_again and again.pk == adoption.pk
    assert adoption.office == world["county"]
    assert filed.event.timeline.filter(text__startswith="采用：江口县委办公室采用").count() == 1
    # Through the API, for the city: a second office adopting the same report.
    api = client_of(world, "city_duty").post(
        f"/api/reports/{filed.report.pk}/adopt",
        {"note": "编入快报"},
        content_type="application/json",
    )
    assert api.status_code == 201 and api.json()["office"] == "临江市委办公室"
    api = client_of(world, "city_duty").post(
        f"/api/reports/{filed.report.pk}/adopt", {}, content_type="application/json"
    )
    assert api.status_code == 200
    assert Adoption.objects.filter(report=filed.report).count() == 2
    figures = figures_now(world, "police")
    assert (figures.reports, figures.adopted) == (1, 1)


def test_a_confidentiality_incident_through_the_api_is_idempotent(world):
    filed = report(world, "emergency", received=START)
    client = client_of(world, "county_duty")
    body = {
        "event_id": filed.event.pk,
        "unit_id": world["emergency"].pk,
        "description": "将报告截图发至个人微信群",
    }
    headers = {"HTTP_IDEMPOTENCY_KEY": "incident-1"}
    with clock.frozen_at(START + timedelta(minutes=30)):
        first = client.post("/api/assess/cases", body, content_type="application/json", **headers)
        again = client.post("/api/assess/cases", body, content_type="application/json", **headers)
        other = client.post(
            "/api/assess/cases",
            {**body, "description": "另一件事"},
            content_type="application/json",
            **headers,
        )
        empty = client.post(
            "/api/assess/cases", {**body, "description": ""}, content_type="application/json"
        )
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["kind_label"] == "泄密事件"
    assert empty.status_code == 422 and empty.json()["errors"] == {
        "description": ["情况说明为必填项"]
    }
    assert Case.objects.filter(kind=CaseKind.CONFIDENTIALITY).count() == 1
    # A person's record, so in the audit trail (the cases the rules open are data).
    assert AuditEntry.objects.filter(action="assess.case.open").count() == 1
    refused = client_of(world, "emergency").post(
        "/api/assess/cases", body, content_type="application/json"
    )
    assert refused.status_code == 403
    figures = figures_now(world, "emergency")
    assert figures.confidentiality_cases == 1


def test_the_pages_record_an_incident_adopt_a_report_and_issue_a_letter(world):
    filed = report(world, "police", received=START, dead=1)
    client = client_of(world, "county_duty")
    form = client.get(f"/assess/cases/new/?event={filed.event.pk}")
    assert form.status_code == 200 and "江口县公安局" in form.content.decode()
    # A reporter of the unit itself may not record against it.
    assert (
        client_of(world, "police").get(f"/assess/cases/new/?event={filed.event.pk}").status_code
        == 403
    )
    empty = client.post(
        "/assess/cases/new/",
        {
            "event": filed.event.pk,
            "unit": world["police"].pk,
            "description": "",
            "idempotency_key": "k1",
        },
    )
    assert empty.status_code == 422 and "情况说明为必填项" in empty.content.decode()
    assert not Case.objects.exists()
    body = {
        "event": filed.event.pk,
        "unit": world["police"].pk,
        "description": "首报截图外传",
        "idempotency_key": "k2",
    }
    with clock.frozen_at(START + timedelta(minutes=10)):
        first = client.post("/assess/cases/new/", body)
        again = client.post("/assess/cases/new/", body)  # a double click
    assert first.status_code == again.status_code == 302
    case = Case.objects.get()
    assert first["Location"] == again["Location"] == f"/assess/cases/{case.pk}/"

    with clock.frozen_at(START + timedelta(minutes=20)):
        adopted = client.post(f"/assess/reports/{filed.report.pk}/adopt/", {"note": "编入快报"})
    assert adopted.status_code == 302 and adopted["Location"].endswith(f"#report-{filed.report.pk}")
    assert Adoption.objects.get().office == world["county"]

    refused = client.post(f"/assess/cases/{case.pk}/letter/", {"idempotency_key": "l1"})
    assert refused.status_code == 422 and "只有已确认的问题才能函询" in refused.content.decode()
    with clock.frozen_at(START + timedelta(minutes=30)):
        client.post(f"/assess/cases/{case.pk}/confirm/", {"note": ""})
        sent = client.post(
            f"/assess/cases/{case.pk}/letter/",
            {"idempotency_key": "l2", "due_at": "2026-02-13T18:00"},
        )
        resent = client.post(
            f"/assess/cases/{case.pk}/letter/",
            {"idempotency_key": "l2", "due_at": "2026-02-13T18:00"},
        )
    letter = Letter.objects.get()
    assert sent["Location"] == resent["Location"] == f"/assess/letters/{letter.pk}/"
    assert letter.due_at == at(2, 13, 18)
    assert letter.number == "江口县委办公室函〔2026〕1号"
