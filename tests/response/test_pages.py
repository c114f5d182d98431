"""The response board and its forms: start with Chinese per-field errors, tasks with
countdowns, updates and evidence by the assigned unit, the end and the summary — which
then shows on the event page."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from fenghuo.core import clock
from fenghuo.events.models import EventStatus
from fenghuo.response.models import Evidence, Response, ResponseState, TaskState
from tests.response.world import assign, file_event, start

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


def _client(world, who: str) -> Client:
    client = Client()
    client.force_login(world["people"][who])
    return client


def _errors(html: str, field_id: str) -> list[str]:
    """The messages shown next to one field (`<div id="<field id>-err">`)."""
    block = re.search(rf'id="{re.escape(field_id)}-err">(.*?)</div>', html, re.S)
    return re.findall(r'<p class="field-error">(.*?)</p>', block.group(1)) if block else []


def test_starting_from_the_board_with_errors_then_for_real(world):
    event = file_event(world)
    board = f"/response/events/{event.pk}/"
    duty = _client(world, "city_duty")
    page = duty.get(board)
    assert page.status_code == 200
    assert "本事件尚未启动应急响应" in page.content.decode()
    assert f'action="/response/events/{event.pk}/start/"' in page.content.decode()
    bad = duty.post(f"{board}start/", {"level": "", "reason": ""})
    assert bad.status_code == 422
    html = bad.content.decode()
    assert _errors(html, "id_level") == ["请选择响应级别（Ⅰ–Ⅳ级）"]
    assert 'aria-invalid="true"' in html
    bad = duty.post(f"{board}start/", {"level": "2", "reason": " "})
    assert _errors(bad.content.decode(), "id_reason") == ["启动理由为必填项"]
    assert not Response.objects.filter(event=event).exists()
    done = duty.post(f"{board}start/", {"level": "2", "reason": "现场仍有人员被困"})
    assert done.status_code == 302
    html = duty.get(board).content.decode()
    assert "Ⅱ级</span> 应急响应" in html and "吴副组长" in html
    assert "领导小组副组长带领相关部门负责人" in html  # the plan's duties


def test_who_sees_the_start_form(world):
    event = file_event(world)
    board = f"/response/events/{event.pk}/"
    assert "启动应急响应</h2>" in _client(world, "group_leader").get(board).content.decode()
    analyst = _client(world, "analyst")
    assert "启动应急响应</h2>" not in analyst.get(board).content.decode()
    refused = analyst.post(f"{board}start/", {"level": "3", "reason": "试试"}, follow=True)
    assert "须由事件报送单位所属办公室" in refused.content.decode()
    assert not Response.objects.filter(event=event).exists()


def test_tasks_from_the_board_with_countdowns_and_updates(world):
    response = start(world, file_event(world), level=2)
    board = f"/response/events/{response.event_id}/"
    duty = _client(world, "city_duty")
    bad = duty.post(f"/response/{response.pk}/tasks/", {"title": "", "unit": "", "due_at": "明天"})
    assert bad.status_code == 422
    html = bad.content.decode()
    assert _errors(html, "id_due_at") == ["请填写有效的时间，如 2026-11-23 18:00"]
    bad = duty.post(f"/response/{response.pk}/tasks/", {"title": "", "unit": "", "due_at": ""})
    html = bad.content.decode()
    assert _errors(html, "id_title") == ["任务内容为必填项"]
    assert _errors(html, "id_unit") == ["请选择责任单位"]
    assert _errors(html, "id_due_at") == ["完成时限为必填项"]
    due = timezone.localtime(clock.now() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    made = duty.post(
        f"/response/{response.pk}/tasks/",
        {"title": "监测空气质量", "unit": world["health"].pk, "due_at": due},
    )
    assert made.status_code == 302
    task = response.tasks.get()
    html = duty.get(board).content.decode()
    assert f'id="task-{task.pk}"' in html and 'class="countdown basis"' in html
    assert f'data-due="{timezone.localtime(task.due_at).isoformat()}"' in html

    health = _client(world, "health")
    page = health.get(board).content.decode()
    assert "更新状态" in page and "调整任务" not in page  # works on it, does not manage it
    state = health.post(
        f"/response/tasks/{task.pk}/state/",
        {f"t{task.pk}-state": "done", f"t{task.pk}-note": "监测数据正常"},
    )
    assert state.status_code == 302
    task.refresh_from_db()
    assert task.state == TaskState.DONE
    assert "监测数据正常" in health.get(board).content.decode()
    bad = health.post(f"/response/tasks/{task.pk}/notes/", {f"t{task.pk}-text": ""})
    assert _errors(bad.content.decode(), f"id_t{task.pk}-text") == ["进展情况为必填项"]


def test_evidence_upload_from_the_board(world):
    response = start(world, file_event(world), level=3)
    task = assign(world, response)
    police = _client(world, "police")
    url = f"/response/tasks/{task.pk}/evidence/"
    refused = police.post(
        url, {f"t{task.pk}-files": [SimpleUploadedFile("现场.jpg", EXE, content_type="image/jpeg")]}
    )
    assert refused.status_code == 422
    assert "现场.jpg：不支持的文件类型（内容为 exe 格式）" in refused.content.decode()
    assert not Evidence.objects.exists()
    saved = police.post(
        url,
        {f"t{task.pk}-files": [SimpleUploadedFile("现场.jpg", JPEG, content_type="image/jpeg")]},
    )
    assert saved.status_code == 302
    evidence = Evidence.objects.get(task=task)
    html = police.get(f"/response/events/{response.event_id}/").content.decode()
    assert f'href="/response/evidence/{evidence.pk}/"' in html
    outsider = _client(world, "other_duty").post(
        url, {f"t{task.pk}-files": [SimpleUploadedFile("x.jpg", JPEG)]}
    )
    assert outsider.status_code == 404


def test_end_summary_and_the_event_page(world):
    event = file_event(world)
    response = start(world, event, level=2)
    board = f"/response/events/{event.pk}/"
    office = _client(world, "group_office")
    bad = office.post(f"/response/{response.pk}/end-request/", {"assessment": ""})
    assert _errors(bad.content.decode(), "id_assessment") == [
        "评估意见为必填项：请说明处置成效和影响是否已基本消除"
    ]
    office.post(f"/response/{response.pk}/end-request/", {"assessment": "影响基本消除"})
    assert 'id="decision-form"' not in office.get(board).content.decode()
    refused = office.post(f"/response/{response.pk}/end-decision/", {"decision": "approve"})
    assert refused.status_code == 302
    response.refresh_from_db()
    assert response.state == ResponseState.ENDING
    leader = _client(world, "group_leader")
    assert 'id="decision-form"' in leader.get(board).content.decode()
    bad = leader.post(f"/response/{response.pk}/end-decision/", {"decision": "reject"})
    assert _errors(bad.content.decode(), "id_note") == ["不批准时须说明理由"]
    leader.post(f"/response/{response.pk}/end-decision/", {"decision": "approve", "note": "同意"})
    response.refresh_from_db()
    event.refresh_from_db()
    assert (response.state, event.status) == (ResponseState.ENDED, EventStatus.ENDED)
    office.post(f"/response/{response.pk}/summary/", {"summary": "两小时内完成疏散，无次生事故。"})

    page = _client(world, "city_duty").get(f"/events/{event.pk}/").content.decode()
    section = page[page.index('id="response-heading"') :]
    assert "Ⅱ级" in section and "已结束" in section
    assert "两小时内完成疏散，无次生事故。" in section
    assert f'href="/response/events/{event.pk}/"' in section


def test_the_event_page_offers_to_start_only_to_those_who_may(world):
    event = file_event(world)
    starter = _client(world, "city_duty").get(f"/events/{event.pk}/").content.decode()
    assert "尚未启动应急响应" in starter
    assert f'href="/response/events/{event.pk}/#start">启动应急响应' in starter
    reader = _client(world, "analyst").get(f"/events/{event.pk}/").content.decode()
    assert "尚未启动应急响应" in reader and "#start" not in reader
