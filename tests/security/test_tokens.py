"""A unit's API token reads and writes as that unit only, and stops working the moment it
is revoked (no cache between the revocation and the next request)."""

import uuid

import pytest
from django.test import Client

from fenghuo.org import services as org_services
from fenghuo.org.models import AdminLevel, ApiToken, Role
from tests.conftest import SYSTEM
from tests.events.test_attachments import PDF, png, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(make_unit, make_person, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    city = make_unit(
        "临江市委办公室", level=AdminLevel.CITY, division_code="990100", is_receiving_office=True
    )
    a = make_unit("临江市应急管理局", city, kind="emergency", division_code="990100")
    b = make_unit("临江市卫生健康委员会", city, kind="health", division_code="990100")
    make_person("city_duty", city, Role.DUTY_OFFICER)
    tokens = {}
    for key, unit in (("a", a), ("b", b)):
        token, plaintext = org_services.token_issue(SYSTEM, unit=unit, name=f"{key} 报送系统")
        tokens[key] = (token, Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}"))
    return {"a": a, "b": b, "tokens": tokens}


def _report(**extra) -> dict:
    return {
        "kind": "first",
        "title": "临江市化工园区发生泄漏",
        "category": "hazchem",
        "occurred_at": "2026-11-23T09:10:00+08:00",
        "division_code": "990100",
        "place": "临江市化工园区",
        "narrative": "一储罐发生泄漏，现场已疏散。",
        **extra,
    }


def _file(client: Client, **extra):
    return client.post(
        "/api/reports",
        _report(**extra),
        content_type="application/json",
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )


def test_a_token_cannot_read_or_write_another_units_reports(units):
    a, b = units["tokens"]["a"][1], units["tokens"]["b"][1]
    filed = _file(a)
    assert filed.status_code == 201, filed.content
    report_id, event_id = filed.json()["id"], filed.json()["event_id"]
    assert a.get(f"/api/events/{event_id}").status_code == 200

    # Reading: B does not learn the event exists.
    assert b.get(f"/api/events/{event_id}").status_code == 404
    assert b.get(f"/api/reports/{report_id}/attachments").status_code == 404
    assert b.get(f"/api/reports/{report_id}/document.docx").status_code == 404
    assert event_id not in {e["id"] for e in b.get("/api/events").json()}
    assert b.get("/api/search?q=泄漏").json()["total"] == 0
    assert a.get("/api/search?q=泄漏").json()["total"] == 1

    # Writing: not as A, not onto A's report or event.
    as_a = _file(b, unit_id=units["a"].pk)
    assert as_a.status_code in (403, 422) and as_a.json()["detail"]
    follow_up = _file(b, kind="followup", event_id=event_id)
    assert follow_up.status_code == 422
    assert follow_up.json()["errors"]["event_id"] == ["事件不存在或无权访问"]
    attach = b.post(f"/api/reports/{report_id}/attachments", {"files": [upload("x.png", png())]})
    assert attach.status_code in (403, 404)
    status = b.post(
        f"/api/events/{event_id}/status", {"status": "closed"}, content_type="application/json"
    )
    assert status.status_code in (403, 404)
    # A itself still may.
    assert (
        a.post(
            f"/api/reports/{report_id}/attachments", {"files": [upload("说明.pdf", PDF)]}
        ).status_code
        == 201
    )


def test_a_revoked_token_is_refused_at_once_everywhere(units):
    token, client = units["tokens"]["a"]
    filed = _file(client)
    assert filed.status_code == 201
    event_id = filed.json()["event_id"]
    org_services.token_revoke(SYSTEM, ApiToken.objects.get(pk=token.pk))
    for method, url in [
        ("get", "/api/org/me"),
        ("get", f"/api/events/{event_id}"),
        ("get", "/api/search?q=泄漏"),
        ("get", "/api/events"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 401, url
        assert response.json() == {"detail": "未登录或接口令牌无效", "errors": {}}
    assert _file(client).status_code == 401
    # The other unit's token is untouched.
    assert units["tokens"]["b"][1].get("/api/org/me").status_code == 200


def test_revoking_through_the_admin_takes_effect_at_once(units, make_person, client):
    token, api_client = units["tokens"]["a"]
    admin = make_person("root", units["a"], is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert api_client.get("/api/org/me").status_code == 200
    response = client.post(
        "/admin/org/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert api_client.get("/api/org/me").status_code == 401
