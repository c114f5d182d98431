"""Inquiry letters (函询): from the template for a confirmed case, told to the unit through
the outbox, a .docx in official layout, answered in the system with an explanation and
rectification measures by the deadline; overdue ones are chased and counted."""

from datetime import datetime, timedelta
from io import BytesIO

import pytest
from django.test import Client
from docx import Document

from fenghuo.assess import metrics, services
from fenghuo.assess.models import Case, Letter, LetterState, LetterTemplate
from fenghuo.assess.periods import Period
from fenghuo.assess.tasks import assess_due
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


@pytest.fixture
def confirmed(world) -> Case:
    """A confirmed concealment by the police: 1 dead reported, 3 verified."""
    filed = report(world, "police", received=START, dead=1, place="江口县G205国道K12处")
    with clock.frozen_at(START + timedelta(minutes=30)):
        task = event_services.request_verification(
            principal(world, "city_duty"),
            event=filed.event,
            assignee_unit=world["county"],
            question="请核实",
            due_at=START + timedelta(hours=3),
        )
    with clock.frozen_at(START + timedelta(hours=1)):
        event_services.answer_verification(
            principal(world, "county_duty"),
            task,
            state="confirmed",
            answer="死亡3人",
            figures={"dead": 3},
        )
        case = Case.objects.get(event=filed.event)
        return services.decide_case(principal(world, "city_duty"), case, confirm=True)


def test_a_letter_from_the_template_told_to_the_unit_and_as_a_word_document(world, confirmed):
    client = client_of(world, "city_duty")
    headers = {"HTTP_IDEMPOTENCY_KEY": "letter-1"}
    with clock.frozen_at(START + timedelta(hours=2)):
        first = client.post(
            f"/api/assess/cases/{confirmed.pk}/letter",
            {},
            content_type="application/json",
            **headers,
        )
        again = client.post(
            f"/api/assess/cases/{confirmed.pk}/letter",
            {},
            content_type="application/json",
            **headers,
        )
    assert (first.status_code, again.status_code) == (201, 200)
    body = first.json()
    assert body["id"] == again.json()["id"] and Letter.objects.count() == 1
    assert body["number"] == "临江市委办公室函〔2026〕1号"
    assert body["title"] == "关于江口县公安局瞒报有关情况的函询"
    template = LetterTemplate.objects.get(is_default=True)
    assert datetime.fromisoformat(body["due_at"]) == START + timedelta(
        hours=2, days=template.answer_days
    )
    assert "{{" not in body["body"] and body["body"].startswith("江口县公安局：")
    assert "死亡报送 1、核实 3" in body["body"]
    letter = Letter.objects.get(pk=body["id"])
    told = Message.objects.filter(key=f"letter:{letter.pk}:issued", channel="inapp")
    assert {m.person.username for m in told} == {"police_reporter"}
    assert AuditEntry.objects.filter(
        action="assess.letter.issue", object_id=str(letter.pk)
    ).exists()

    docx = client.get(f"/assess/letters/{letter.pk}/letter.docx")
    assert docx.status_code == 200
    text = "\n".join(p.text for p in Document(BytesIO(docx.content)).paragraphs)
    for part in ("临江市委办公室", letter.number, letter.title, "江口县公安局：", "特此函询"):
        assert part in text
    api_docx = client.get(f"/api/assess/letters/{letter.pk}/letter.docx")
    assert api_docx.content[:2] == b"PK"


def test_the_answer_needs_both_parts_from_the_unit_itself(world, confirmed):
    with clock.frozen_at(START + timedelta(hours=2)):
        letter, _ = services.issue_letter(principal(world, "city_duty"), confirmed)
    page = client_of(world, "police").post(
        f"/assess/letters/{letter.pk}/answer/",
        {"explanation": "首报时掌握情况有限", "measures": ""},
    )
    assert page.status_code == 422
    assert "整改措施为必填项" in page.content.decode()
    letter.refresh_from_db()
    assert (letter.state, letter.explanation) == (LetterState.SENT, "")
    refused = client_of(world, "county_duty").post(
        f"/api/assess/letters/{letter.pk}/answer",
        {"explanation": "代答", "measures": "代答"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    answer = {"explanation": "首报时掌握情况有限", "measures": "落实伤亡人数逐级核对"}
    with clock.frozen_at(START + timedelta(hours=5)):
        done = client_of(world, "police").post(
            f"/api/assess/letters/{letter.pk}/answer", answer, content_type="application/json"
        )
        again = client_of(world, "police").post(
            f"/api/assess/letters/{letter.pk}/answer", answer, content_type="application/json"
        )
        changed = client_of(world, "police").post(
            f"/api/assess/letters/{letter.pk}/answer",
            {**answer, "measures": "别的"},
            content_type="application/json",
        )
    assert done.status_code == 200 and done.json()["state_label"] == "已答复"
    assert not done.json()["answered_late"]
    assert again.status_code == 200 and changed.status_code == 422
    told = Message.objects.filter(key=f"letter:{letter.pk}:answered", channel="inapp")
    assert {m.person.username for m in told} == {"city_duty"}


def test_overdue_letters_are_chased_daily_and_counted(world, confirmed):
    with clock.frozen_at(START + timedelta(hours=2)):
        letter, _ = services.issue_letter(
            principal(world, "city_duty"), confirmed, due_at=START + timedelta(days=1)
        )
    with clock.frozen_at(START + timedelta(days=1, minutes=-1)):
        assess_due()
    letter.refresh_from_db()
    assert letter.state == LetterState.SENT
    with clock.frozen_at(START + timedelta(days=1, minutes=5)):
        assess_due()
        assess_due()  # a rerun chases nobody twice
    letter.refresh_from_db()
    assert (letter.state, letter.chases) == (LetterState.OVERDUE, 1)
    chased = Message.objects.filter(key=f"letter:{letter.pk}:chase:1", channel="inapp")
    assert {m.person.username for m in chased} == {"police_reporter"}
    assert chased.first().subject.startswith("【催办】")
    with clock.frozen_at(START + timedelta(days=1, hours=12)):
        assess_due()
    letter.refresh_from_db()
    assert letter.chases == 1  # not yet a day since the first reminder
    with clock.frozen_at(START + timedelta(days=2, minutes=10)):
        assess_due()
        figures = metrics.unit_figures(world["police"], Period.bimonth(START.date()))
    letter.refresh_from_db()
    assert letter.chases == 2
    assert (figures.letters, figures.letters_overdue) == (1, 1)
    # The desk of the unit shows it, overdue.
    desk = client_of(world, "police").get("/desk/panels/assess/").content.decode()
    assert letter.number in desk and "已逾期" in desk
