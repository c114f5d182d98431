"""Filing through the REST API with a unit token and an Idempotency-Key."""

import json

import pytest
from django.test import Client

from fenghuo.events.models import Event, Report
from fenghuo.intake.models import IdempotencyRecord
from fenghuo.org import services as org_services
from fenghuo.org.models import AdminLevel
from tests.processes import uses_postgres
from tests.threads import at_once

pytestmark = pytest.mark.django_db

REPORT = {
    "kind": "first",
    "title": "江口县化工园区发生爆炸",
    "category": "hazchem",
    "occurred_at": "2026-11-23T09:10:00+08:00",
    "division_code": "990121",
    "place": "江口县化工园区临江化工厂",
    "narrative": "江口县化工园区临江化工厂一车间发生爆炸，现场有人员被困。",
    "dead": 3,
}


@pytest.fixture
def token(make_unit, system):
    city = make_unit("临江市委办公室", level=AdminLevel.CITY, division_code="990100")
    county = make_unit("江口县委办公室", city, division_code="990121")
    _, plaintext = org_services.token_issue(system, unit=county, name="县级报送系统")
    return plaintext


def _post(client, token, body, key=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/reports", body, content_type="application/json", headers=headers)


def test_same_idempotency_key_makes_one_report(client, token):
    first = _post(client, token, REPORT, key="jk-20261123-0001")
    again = _post(client, token, REPORT, key="jk-20261123-0001")
    assert first.status_code == 201, first.content
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Report.objects.count() == 1 and Event.objects.count() == 1


def test_key_reused_for_other_content_is_refused(client, token):
    assert _post(client, token, REPORT, key="k1").status_code == 201
    other = _post(client, token, {**REPORT, "dead": 5}, key="k1")
    assert other.status_code == 409
    assert Report.objects.count() == 1


def test_missing_required_field_names_it_and_creates_nothing(client, token):
    body = {k: v for k, v in REPORT.items() if k != "narrative"}
    response = _post(client, token, body, key="k2")
    assert response.status_code == 422
    assert response.json()["errors"]["narrative"] == ["事件经过为必填项"]
    assert Report.objects.count() == 0 and Event.objects.count() == 0
    assert not IdempotencyRecord.objects.exists()  # a corrected retry with the key works
    assert _post(client, token, REPORT, key="k2").status_code == 201


def test_unknown_category_is_a_field_error(client, token):
    response = _post(client, token, {**REPORT, "category": "no-such"})
    assert response.status_code == 422
    assert "category" in response.json()["errors"]


def test_followup_through_api_is_numbered(client, token):
    first = _post(client, token, REPORT).json()
    followup = _post(
        client,
        token,
        {
            "kind": "followup",
            "event_id": first["event_id"],
            "narrative": "新增死亡 1 人",
            "dead": 4,
        },
    )
    assert followup.status_code == 201, followup.content
    assert followup.json()["kind_label"] == "续报一"
    assert followup.json()["event_id"] == first["event_id"]


def test_without_token_nothing_is_filed(client):
    response = client.post("/api/reports", REPORT, content_type="application/json")
    assert response.status_code == 401
    assert not Report.objects.exists()


def test_flags_are_stored_and_unknown_ones_named(client, token):
    created = _post(client, token, {**REPORT, "flags": ["extreme_behaviour"]}).json()
    assert Report.objects.get(pk=created["id"]).flags == ["extreme_behaviour"]
    refused = _post(client, token, {**REPORT, "flags": ["vip"]})
    assert refused.status_code == 422
    assert refused.json()["errors"]["flags"][0].startswith("报送人标注只能是：")
    assert Report.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(not uses_postgres(), reason="concurrent writers: PostgreSQL")
def test_one_key_sent_at_once_by_several_clients_makes_one_report(token):
    """A gateway that retries before the first answer came back: the requests race on the
    key; one files, every other one answers with its result, nothing is filed twice."""

    def send() -> tuple[int, dict]:
        response = _post(Client(), token, REPORT, key="jk-race-0001")
        return response.status_code, response.json()

    answers = at_once(send, 4, timeout=60)
    assert sorted(status for status, _ in answers) == [200, 200, 200, 201]
    assert len({json.dumps(body, sort_keys=True) for _, body in answers}) == 1
    assert Report.objects.count() == 1 and Event.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
