"""The warnings API: idempotent creates, Chinese field errors (422), the lifecycle calls,
and lists filtered by the policy."""

from datetime import timedelta

import pytest

from fenghuo.alerts.models import Warning
from fenghuo.core import clock
from fenghuo.intake.models import IdempotencyRecord
from fenghuo.org import services as org_services
from tests.alerts.world import draft, issued
from tests.conftest import SYSTEM

pytestmark = pytest.mark.django_db


def body(world, **extra) -> dict:
    moment = clock.now()
    return {
        "category": "weather",
        "event_name": "暴雨",
        "level": 3,
        "issuing_unit_id": world["city"].pk,
        "area_codes": ["990121"],
        "starts_at": moment.isoformat(),
        "ends_at": (moment + timedelta(hours=12)).isoformat(),
        "impact": "江口县有暴雨。",
        "cautions": "注意山洪。",
        "measures": "停止户外活动。",
        **extra,
    }


def _post(client, path, data, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(path, data, content_type="application/json", headers=headers)


def test_the_same_key_creates_one_draft(world, client):
    client.force_login(world["people"]["city_duty"])
    data = body(world)
    first = _post(client, "/api/alerts", data, key="yj-20261123-01")
    again = _post(client, "/api/alerts", data, key="yj-20261123-01")
    assert first.status_code == 201, first.content
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Warning.objects.count() == 1
    other = _post(client, "/api/alerts", {**data, "event_name": "大暴雨"}, key="yj-20261123-01")
    assert other.status_code == 409
    assert other.json()["errors"] == {"Idempotency-Key": ["同一幂等键只能对应同一次创建"]}
    assert Warning.objects.count() == 1
    created = first.json()
    assert (created["state"], created["colour"], created["title"]) == (
        "draft",
        "yellow",
        "临江市委办公室发布暴雨黄色预警",
    )


def test_field_errors_are_422_and_keep_no_key(world, client):
    client.force_login(world["people"]["city_duty"])
    response = _post(client, "/api/alerts", body(world, impact="", level=1), key="yj-20261123-02")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["impact"] == ["预计影响为必填项"]
    assert errors["level"][0].startswith("红色预警须由国家级、省级单位发布")
    assert not Warning.objects.exists() and not IdempotencyRecord.objects.exists()


def test_drafting_for_another_unit_is_403(world, client):
    client.force_login(world["people"]["city_duty"])
    response = _post(client, "/api/alerts", body(world, issuing_unit_id=world["county"].pk))
    assert response.status_code == 403
    assert response.json()["detail"] == "无权以该单位名义拟制预警"


def test_the_whole_life_through_the_api(world, client):
    client.force_login(world["people"]["city_duty"])
    warning_id = _post(client, "/api/alerts", body(world)).json()["id"]
    changed = client.put(
        f"/api/alerts/{warning_id}", {"area_codes": ["990121", "990122"]}, "application/json"
    )
    assert changed.status_code == 200 and changed.json()["area_desc"] == "江口县、河西县"

    client.force_login(world["people"]["city_leader"])
    assert client.post(f"/api/alerts/{warning_id}/approve").json()["state"] == "approved"
    issued_body = client.post(f"/api/alerts/{warning_id}/issue").json()
    assert issued_body["state"] == "issued" and issued_body["identifier"]

    adjusted = _post(
        client, f"/api/alerts/{warning_id}/adjust", {"event_name": "大暴雨"}, key="adj-1"
    )
    assert adjusted.status_code == 201, adjusted.content
    new_id = adjusted.json()["id"]
    assert adjusted.json()["replaces_id"] == warning_id and adjusted.json()["version"] == 2
    again = _post(client, f"/api/alerts/{warning_id}/adjust", {"event_name": "大暴雨"}, key="adj-1")
    assert again.status_code == 200 and again.json()["id"] == new_id

    rejected = client.post(f"/api/alerts/{new_id}/reject", {"reason": ""}, "application/json")
    assert rejected.status_code == 422 and rejected.json()["errors"] == {
        "reason": ["请填写退回理由"]
    }
    client.post(f"/api/alerts/{new_id}/approve")
    client.post(f"/api/alerts/{new_id}/issue")
    old = client.get(f"/api/alerts/{warning_id}").json()
    assert old["state"] == "superseded" and old["state_label"] == "已调整（被新版本取代）"
    lifted = client.post(f"/api/alerts/{new_id}/lift", {"reason": "结束"}, "application/json")
    assert lifted.json()["state"] == "lifted"
    assert client.get(f"/api/alerts/{new_id}/cap.xml").content.count(b"<msgType>Cancel") == 1


def test_lists_follow_the_policy(world, client):
    yellow = issued(world)
    hidden_draft = draft(world)
    client.force_login(world["people"]["county_duty"])
    ids = {w["id"] for w in client.get("/api/alerts").json()}
    assert yellow.pk in ids and hidden_draft.pk not in ids
    client.force_login(world["people"]["sea_duty"])
    assert client.get("/api/alerts").json() == []
    client.force_login(world["people"]["city_duty"])
    active = client.get("/api/alerts?active=true").json()
    assert [w["id"] for w in active] == [yellow.pk]
    assert client.get(f"/api/alerts/{hidden_draft.pk}").status_code == 200
    client.force_login(world["people"]["county_duty"])
    assert client.get(f"/api/alerts/{hidden_draft.pk}").status_code == 404


def test_a_units_token_submits_drafts_for_its_own_unit_only(world, client):
    _, token = org_services.token_issue(SYSTEM, unit=world["city"], name="市预警系统")
    headers = {"Authorization": f"Bearer {token}"}
    made = client.post("/api/alerts", body(world), "application/json", headers=headers)
    assert made.status_code == 201, made.content
    warning_id = made.json()["id"]
    refused = client.post(f"/api/alerts/{warning_id}/approve", headers=headers)
    assert refused.status_code == 403
    other = client.post(
        "/api/alerts",
        body(world, issuing_unit_id=world["county"].pk, level=4),
        "application/json",
        headers=headers,
    )
    assert other.status_code == 403


def test_the_openapi_document_describes_the_warning_api(world, client):
    client.force_login(world["people"]["city_duty"])
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/alerts", "/api/alerts/cap", "/api/alerts/{warning_id}/cap.xml"} <= set(paths)
    assert "application/cap+xml" in paths["/api/alerts/cap"]["post"]["requestBody"]["content"]
