"""The response API end to end: start, change level, tasks (create, list, update by the
unit's token), notes, evidence (multipart, checked by content), request and approve the
end, summary; 422 per field, 403 without the role, 404 without visibility."""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from fenghuo.core import clock
from fenghuo.events.models import EventStatus
from fenghuo.notify.models import Message
from fenghuo.org import services as org_services
from fenghuo.response.models import Response
from tests.conftest import SYSTEM
from tests.response.world import file_event

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


def _client(world, who: str) -> Client:
    client = Client()
    client.force_login(world["people"][who])
    return client


def _send(client: Client, method: str, url: str, body: dict | None = None, **extra):
    return getattr(client, method)(
        url, json.dumps(body or {}), content_type="application/json", **extra
    )


@pytest.fixture
def event(world):
    return file_event(world)


@pytest.fixture
def police_token(world):
    _, token = org_services.token_issue(SYSTEM, unit=world["police"], name="公安值班系统")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _start(world, event, level: int = 3, who: str = "city_duty"):
    return _send(
        _client(world, who),
        "post",
        f"/api/events/{event.pk}/responses",
        {"level": level, "reason": "现场仍有人员被困"},
    )


def test_levels_are_listed_as_configured(world):
    got = _client(world, "analyst").get("/api/response-levels")
    assert got.status_code == 200
    levels = {row["level"]: row for row in got.json()}
    assert levels[1]["lead_roles"] == ["group_leader", "group_member"]
    assert levels[4]["department_head"] is True
    assert levels[2]["end_roles"] == ["group_leader", "group_deputy"]


def test_start_and_change_level(world, event):
    got = _start(world, event, level=3)
    assert got.status_code == 201, got.content
    body = got.json()
    assert (body["level"], body["level_label"], body["state"]) == (3, "Ⅲ级", "active")
    assert [leader["name"] for leader in body["leaders"]] == ["钱主任"]
    assert body["board_url"] == f"/response/events/{event.pk}/"
    changed = _send(
        _client(world, "group_leader"),
        "post",
        f"/api/responses/{body['id']}/level",
        {"level": 2, "reason": "事态扩大"},
    )
    assert changed.status_code == 200
    assert [leader["name"] for leader in changed.json()["leaders"]] == ["吴副组长"]
    assert [(c["from_level"], c["to_level"]) for c in changed.json()["changes"]] == [
        (None, 3),
        (3, 2),
    ]
    listed = _client(world, "analyst").get(f"/api/events/{event.pk}/responses")
    assert [r["id"] for r in listed.json()] == [body["id"]]
    assert listed.json()[0]["may_manage"] is False


def test_start_errors(world, event):
    missing = _send(
        _client(world, "city_duty"), "post", f"/api/events/{event.pk}/responses", {"level": 3}
    )
    assert missing.status_code == 422
    assert missing.json()["errors"] == {"reason": ["启动理由为必填项"]}
    assert _start(world, event, who="analyst").status_code == 403
    assert _start(world, event, who="other_duty").status_code == 404
    assert not Response.objects.filter(event=event).exists()


def test_tasks_notes_and_evidence_through_the_api(world, event, police_token):
    response_id = _start(world, event, level=2).json()["id"]
    duty = _client(world, "city_duty")
    due = (clock.now() + timedelta(hours=2)).isoformat()
    bad = _send(duty, "post", f"/api/responses/{response_id}/tasks", {"title": ""})
    assert bad.status_code == 422
    assert bad.json()["errors"] == {
        "title": ["任务内容为必填项"],
        "unit": ["请选择责任单位"],
        "due_at": ["完成时限为必填项"],
    }
    created = _send(
        duty,
        "post",
        f"/api/responses/{response_id}/tasks",
        {"title": "封控现场", "unit_id": world["police"].pk, "due_at": due},
    )
    assert created.status_code == 201, created.content
    task = created.json()
    assert (task["unit"], task["state"], task["may_work"]) == ("江口县公安局", "open", True)
    # The police unit's own system, with its token, works on the task …
    listed = Client().get(f"/api/responses/{response_id}/tasks", **police_token)
    assert [t["id"] for t in listed.json()] == [task["id"]]
    moved = _send(
        Client(),
        "patch",
        f"/api/response-tasks/{task['id']}",
        {"state": "in_progress", "note": "警力已到场"},
        **police_token,
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["state"] == "in_progress"
    assert [n["text"] for n in moved.json()["notes"]] == ["警力已到场"]
    # … but cannot move its deadline or hand the task on.
    refused = _send(
        Client(),
        "patch",
        f"/api/response-tasks/{task['id']}",
        {"due_at": (clock.now() + timedelta(hours=9)).isoformat()},
        **police_token,
    )
    assert refused.status_code == 403
    note = _send(
        Client(), "post", f"/api/response-tasks/{task['id']}/notes", {"text": ""}, **police_token
    )
    assert note.status_code == 422 and note.json()["errors"] == {"text": ["进展情况为必填项"]}
    photo = Client().post(
        f"/api/response-tasks/{task['id']}/evidence",
        {"files": [SimpleUploadedFile("现场.jpg", JPEG, content_type="image/jpeg")]},
        **police_token,
    )
    assert photo.status_code == 201, photo.content
    assert photo.json()[0]["kind"] == "image"
    renamed = Client().post(
        f"/api/response-tasks/{task['id']}/evidence",
        {"files": [SimpleUploadedFile("现场2.jpg", EXE, content_type="image/jpeg")]},
        **police_token,
    )
    assert renamed.status_code == 422
    assert renamed.json()["errors"]["files"][0].startswith("现场2.jpg：不支持的文件类型")
    downloaded = Client().get(photo.json()[0]["url"], **police_token)
    assert b"".join(downloaded.streaming_content) == JPEG
    # The managers edit; an unknown unit is named.
    edited = _send(
        duty,
        "patch",
        f"/api/response-tasks/{task['id']}",
        {"title": "封控现场并疏散", "unit_id": 999999},
    )
    assert edited.status_code == 422 and edited.json()["errors"] == {"unit": ["责任单位不存在"]}
    edited = _send(duty, "patch", f"/api/response-tasks/{task['id']}", {"title": "封控现场并疏散"})
    assert edited.json()["title"] == "封控现场并疏散"
    done = _send(
        Client(), "patch", f"/api/response-tasks/{task['id']}", {"state": "done"}, **police_token
    )
    assert done.json()["state"] == "done"
    assert Message.objects.filter(key=f"response:{response_id}:task:{task['id']}").exists()


def test_end_approval_and_summary_through_the_api(world, event):
    response_id = _start(world, event, level=2).json()["id"]
    office = _client(world, "group_office")
    missing = _send(office, "post", f"/api/responses/{response_id}/end-request", {})
    assert missing.status_code == 422
    assert list(missing.json()["errors"]) == ["assessment"]
    requested = _send(
        office,
        "post",
        f"/api/responses/{response_id}/end-request",
        {"assessment": "影响基本消除"},
    )
    assert requested.status_code == 201
    assert requested.json()["decision"] == "pending"
    approval = f"/api/responses/{response_id}/end-approval"
    assert _send(office, "post", approval, {"approve": True}).status_code == 403
    assert _send(_client(world, "member_a"), "post", approval, {"approve": True}).status_code == 403
    approved = _send(_client(world, "group_deputy"), "post", approval, {"approve": True})
    assert approved.status_code == 200
    assert approved.json()["state"] == "ended"
    event.refresh_from_db()
    assert event.status == EventStatus.ENDED
    summary = _send(office, "put", f"/api/responses/{response_id}/summary", {"summary": "处置有序"})
    assert summary.status_code == 200 and summary.json()["summary"] == "处置有序"


def test_the_endpoints_are_in_the_openapi_document(world):
    paths = _client(world, "analyst").get("/api/openapi.json").json()["paths"]
    for path, method in [
        ("/api/events/{event_id}/responses", "post"),
        ("/api/responses/{response_id}/level", "post"),
        ("/api/responses/{response_id}/tasks", "post"),
        ("/api/response-tasks/{task_id}", "patch"),
        ("/api/response-tasks/{task_id}/notes", "post"),
        ("/api/response-tasks/{task_id}/evidence", "post"),
        ("/api/responses/{response_id}/end-request", "post"),
        ("/api/responses/{response_id}/end-approval", "post"),
        ("/api/responses/{response_id}/summary", "put"),
    ]:
        assert method in paths[path], path
    upload = paths["/api/response-tasks/{task_id}/evidence"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
