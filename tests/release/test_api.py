"""The release API: idempotent creates, per-field errors, the whole flow, the queue, the
prefill and the renderings, with a session or a unit's token."""

import json
import uuid
from io import BytesIO

import docx
import pytest
from django.test import Client

from fenghuo.events.models import TimelineEntry, TimelineKind
from fenghuo.org import services as org_services
from fenghuo.release.models import Release, ReleaseVersion
from tests.conftest import SYSTEM
from tests.release.world import NARRATIVE, PARTS, file_event

pytestmark = pytest.mark.django_db


def _client(world, who: str) -> Client:
    client = Client()
    client.force_login(world["people"][who])
    return client


def _post(client: Client, url: str, body: dict | None = None, **headers):
    return client.post(
        url, json.dumps(body or {}), content_type="application/json", headers=headers
    )


def _body(event, **parts) -> dict:
    return {"event_id": event.pk, **PARTS, "occurred_at": event.occurred_at.isoformat(), **parts}


def test_the_whole_flow(world):
    event = file_event(world)
    reporter, leader = _client(world, "reporter"), _client(world, "group_leader")
    created = _post(reporter, "/api/releases", _body(event), **{"Idempotency-Key": "k-1"})
    assert created.status_code == 201, created.content
    release = created.json()
    assert release["unit"] == "江口县应急管理局" and release["may_edit"] is True
    assert release["may_approve"] is False and release["public_url"].endswith(
        f"/public/releases/{release['id']}/"
    )
    (version,) = release["versions"]
    assert (version["state"], version["label"], version["missing"]) == ("draft", "第1稿", {})
    vid = version["id"]

    changed = reporter.put(
        f"/api/releases/versions/{vid}",
        json.dumps({"advice": "请勿靠近事故现场。"}),
        content_type="application/json",
    )
    assert changed.status_code == 200 and changed.json()["advice"] == "请勿靠近事故现场。"
    assert changed.json()["title"] == PARTS["title"]  # parts not given stay as they were

    assert _post(reporter, f"/api/releases/versions/{vid}/submit").json()["state"] == "pending"
    queue = leader.get("/api/releases/queue").json()
    assert [v["id"] for v in queue] == [vid]
    assert reporter.get("/api/releases/queue").json() == []
    approved = _post(leader, f"/api/releases/versions/{vid}/approve", {"note": "同意"})
    assert (approved.json()["state"], approved.json()["review_note"]) == ("approved", "同意")
    published = _post(leader, f"/api/releases/versions/{vid}/publish").json()
    assert (published["state"], published["edition"], published["label"]) == (
        "published",
        1,
        "第1版",
    )

    update = _post(
        reporter, f"/api/releases/{release['id']}/versions", {}, **{"Idempotency-Key": "u-1"}
    )
    assert update.status_code == 201
    assert (update.json()["number"], update.json()["based_on"]) == (2, vid)
    assert update.json()["advice"] == "请勿靠近事故现场。"
    again = _post(
        reporter, f"/api/releases/{release['id']}/versions", {}, **{"Idempotency-Key": "u-1"}
    )
    assert again.status_code == 200 and again.json()["id"] == update.json()["id"]

    listed = reporter.get(f"/api/releases?event_id={event.pk}").json()
    assert [[v["state"] for v in r["versions"]] for r in listed] == [["draft", "published"]]
    assert TimelineEntry.objects.filter(event=event, kind=TimelineKind.RELEASE).count() == 5


def test_a_retried_create_makes_one_release(world):
    event = file_event(world)
    client = _client(world, "reporter")
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = _post(client, "/api/releases", _body(event), **key)
    second = _post(client, "/api/releases", _body(event), **key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Release.objects.filter(event=event).count() == 1
    other = _post(client, "/api/releases", _body(event, title="另一份"), **key)
    assert other.status_code == 409
    assert other.json()["errors"] == {"Idempotency-Key": ["同一幂等键只能对应同一次创建"]}
    assert Release.objects.filter(event=event).count() == 1


def test_submitting_an_incomplete_draft_names_every_missing_part(world):
    event = file_event(world)
    client = _client(world, "reporter")
    created = _post(
        client,
        "/api/releases",
        {"event_id": event.pk, "prefill": False, "title": "关于爆炸事故的情况通报"},
    )
    vid = created.json()["versions"][0]["id"]
    assert set(created.json()["versions"][0]["missing"]) == {
        "occurred_at",
        "place",
        "overview",
        "impact",
        "measures",
        "advice",
        "contact",
    }
    response = _post(client, f"/api/releases/versions/{vid}/submit")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["advice"] == ["防范建议为必填项"] and errors["place"] == ["发生地点为必填项"]
    assert "title" not in errors
    assert ReleaseVersion.objects.get(pk=vid).state == "draft"


def test_create_errors_per_field(world):
    event = file_event(world)
    client = _client(world, "reporter")
    assert _post(client, "/api/releases", {"event_id": 999999}).json()["errors"] == {
        "event_id": ["事件不存在或无权访问"]
    }
    response = _post(client, "/api/releases", {"event_id": event.pk, "unit_id": world["county"].pk})
    assert response.status_code == 422
    assert response.json()["errors"] == {"unit_id": ["无权以该单位名义起草信息发布"]}
    response = _post(client, "/api/releases", _body(event, title="长" * 300))
    assert response.json()["errors"] == {"title": ["标题不能超过 200 字"]}
    assert not Release.objects.filter(event=event).exists()


def test_the_prefill_fills_what_is_not_given(world):
    event = file_event(world)
    client = _client(world, "reporter")
    prefill = client.get(f"/api/releases/prefill?event_id={event.pk}&unit_id={world['em'].pk}")
    assert prefill.status_code == 200
    assert prefill.json()["overview"] == NARRATIVE
    created = _post(client, "/api/releases", {"event_id": event.pk, "advice": "请绕行。"})
    version = created.json()["versions"][0]
    assert version["overview"] == NARRATIVE and version["advice"] == "请绕行。"
    assert version["contact"].startswith("江口县应急管理局")
    assert set(version["missing"]) == set()


def test_a_units_token_drafts_for_its_unit(world, client):
    event = file_event(world)
    _, secret = org_services.token_issue(SYSTEM, unit=world["em"], name="新闻系统")
    auth = {"Authorization": f"Bearer {secret}"}
    created = _post(client, "/api/releases", _body(event), **auth)
    assert created.status_code == 201
    vid = created.json()["versions"][0]["id"]
    assert _post(client, f"/api/releases/versions/{vid}/submit", **auth).status_code == 200
    refused = _post(client, f"/api/releases/versions/{vid}/approve", **auth)
    assert refused.status_code == 403


def test_the_renderings(world):
    event = file_event(world)
    client = _client(world, "reporter")
    vid = _post(client, "/api/releases", _body(event)).json()["versions"][0]["id"]
    texts = client.get(f"/api/releases/versions/{vid}/texts").json()
    assert texts["lengths"]["weibo_short"]["limit"] == 140
    assert texts["lengths"]["weibo_short"]["length"] == len(texts["weibo_short"]) <= 140
    assert texts["weibo_long"].endswith(texts["link"])
    response = client.get(f"/api/releases/versions/{vid}/press-release.docx")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    paragraphs = [p.text for p in docx.Document(BytesIO(response.content)).paragraphs]
    assert PARTS["title"] in paragraphs and "草稿" in paragraphs


def test_the_openapi_document_lists_the_release_endpoints(world):
    schema = _client(world, "reporter").get("/api/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/api/releases",
        "/api/releases/queue",
        "/api/releases/{release_id}/versions",
        "/api/releases/versions/{version_id}/publish",
        "/api/releases/versions/{version_id}/press-release.docx",
    } <= paths
