"""The post-event summary (总结评估) of an ended event: the timeline, each unit's times
against its obligations, the figures as first reported and as verified, and the lessons
people write in the system (or room to write them)."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.test import Client
from docx import Document

from fenghuo.assess.models import EventReview
from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.events import services as event_services
from fenghuo.events.models import EventStatus, ReportKind
from fenghuo.org.models import Person
from tests.assess.world import at, report
from tests.events.world import principal

pytestmark = pytest.mark.django_db

START = at(3, 2, 9)


def client_of(world, who: str) -> Client:
    client = Client()
    client.force_login(Person.objects.get(pk=world["people"][who].pk))
    return client


def document_text(content: bytes) -> str:
    doc = Document(BytesIO(content))
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


@pytest.fixture
def event(world):
    first = report(world, "police", received=START, dead=1, place="江口县G205国道K12处")
    report(
        world,
        "police",
        received=START + timedelta(hours=2),
        event=first.event,
        kind=ReportKind.FOLLOWUP,
        dead=2,
        narrative="又有一名伤员经抢救无效死亡。",
    )
    with clock.frozen_at(START + timedelta(hours=3)):
        task = event_services.request_verification(
            principal(world, "city_duty"),
            event=first.event,
            assignee_unit=world["county"],
            question="请核实死亡人数",
            due_at=START + timedelta(hours=6),
        )
    with clock.frozen_at(START + timedelta(hours=4)):
        event_services.answer_verification(
            principal(world, "county_duty"),
            task,
            state="confirmed",
            answer="死亡3人",
            figures={"dead": 3},
        )
    first.event.refresh_from_db()
    return first.event


def end(world, event) -> None:
    with clock.frozen_at(START + timedelta(days=1)):
        event_services.change_status(principal(world, "city_duty"), event, EventStatus.HANDLING)
        event_services.change_status(principal(world, "city_leader"), event, EventStatus.ENDED)


def test_no_summary_before_the_event_ends(world, event):
    client = client_of(world, "city_duty")
    assert client.get(f"/api/assess/events/{event.pk}/summary.docx").status_code == 422
    page = client.get(f"/assess/events/{event.pk}/summary/")
    assert "事件结束后才能生成总结评估" in page.content.decode()
    refused = client.put(
        f"/api/assess/events/{event.pk}/lessons", {"lessons": "x"}, content_type="application/json"
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"event": ["事件结束后才能填写总结评估"]}


def test_the_summary_of_an_ended_event_with_its_lessons(world, event):
    end(world, event)
    client = client_of(world, "county_duty")
    blank = document_text(client.get(f"/assess/events/{event.pk}/summary.docx").content)
    assert "（待填写：发现的问题、原因分析、改进措施。）" in blank
    # The police (reporter) may read it but not write the lessons; the county office may.
    refused = client_of(world, "police").put(
        f"/api/assess/events/{event.pk}/lessons", {"lessons": "x"}, content_type="application/json"
    )
    assert refused.status_code == 403
    lessons = "首报死亡人数偏低，续报不及时。\n今后伤亡人数须逐级核对后报送。"
    with clock.frozen_at(START + timedelta(days=2)):
        saved = client.post(f"/assess/events/{event.pk}/summary/", {"lessons": lessons})
    assert saved.status_code == 302
    review = EventReview.objects.get(event=event)
    assert review.lessons == lessons and review.updated_by.username == "county_duty"
    assert AuditEntry.objects.filter(action="assess.review.lessons").count() == 1

    text = document_text(client.get(f"/api/assess/events/{event.pk}/summary.docx").content)
    assert f"关于{event.title}的总结评估" in text
    for heading in (
        "一、事件概况",
        "二、处置时间线",
        "三、各单位报送时效",
        "四、伤亡与损失：首报与核实",
        "五、经验教训",
    ):
        assert heading in text
    assert "江口县公安局续报一（网页填报）" in text  # a timeline line
    assert "书面报告至江口县委办公室" in text and "按时" in text
    assert "核实答复" in text  # the county's verification answer, against its deadline
    assert "死亡：江口县公安局首报 1、最新 2；核实数 3。" in text
    assert "今后伤亡人数须逐级核对后报送。" in text


def test_the_summary_is_read_with_the_event(world, event):
    end(world, event)
    assert (
        client_of(world, "other_duty").get(f"/assess/events/{event.pk}/summary.docx").status_code
        == 404
    )
    assert (
        client_of(world, "expert").get(f"/api/assess/events/{event.pk}/summary.docx").status_code
        == 404
    )
