"""Who reads posts, previews expressions and sees schemes through the API."""

import pytest

from fenghuo.opinion import services
from tests.opinion.conftest import post


@pytest.fixture
def posts(world):
    services.ingest(
        [post("1", "臨江市化工廠爆炸"), post("2", "临江市爆炸演习"), post("3", "东山市暴雨")],
        source="test",
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [("city_analyst", 200), ("city_duty", 200), ("other_analyst", 200), ("city_reporter", 403)],
)
def test_preview_is_for_analysts_and_duty_officers(world, posts, client, who, status):
    client.force_login(getattr(world, who))
    answer = client.post(
        "/api/opinion/schemes/preview",
        {"expression": "临江市 AND 爆炸 NOT 演习", "limit": 10},
        content_type="application/json",
    )
    assert answer.status_code == status, answer.content
    if status == 200:
        data = answer.json()
        assert data["scanned"] == 3
        assert [p["post_id"] for p in data["matched"]] == ["1"]


def test_preview_reports_expression_errors(world, client):
    client.force_login(world.city_analyst)
    answer = client.post(
        "/api/opinion/schemes/preview",
        {"expression": "(临江市 AND"},
        content_type="application/json",
    )
    assert answer.status_code == 422
    assert "第 9 个字符处" in answer.json()["errors"]["expression"][0]


def test_scheme_api_matrix(world, client):
    client.force_login(world.city_analyst)
    created = client.post(
        "/api/opinion/schemes",
        {
            "name": "临江危化",
            "expression": "临江市 and (爆炸 or 泄漏)",
            "owner_unit_id": world.city.pk,
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    scheme = created.json()
    assert scheme["expression"] == "临江市 AND (爆炸 OR 泄漏)"
    for who, sees in [
        ("province_analyst", True),
        ("city_duty", True),
        ("other_analyst", False),
    ]:
        client.force_login(getattr(world, who))
        ids = [s["id"] for s in client.get("/api/opinion/schemes").json()]
        assert (scheme["id"] in ids) is sees, who
        patched = client.patch(
            f"/api/opinion/schemes/{scheme['id']}",
            {"is_active": False},
            content_type="application/json",
        )
        assert patched.status_code == (200 if sees else 404), who
    client.force_login(world.other_analyst)
    refused = client.post(
        "/api/opinion/schemes",
        {"name": "越权", "expression": "临江市", "owner_unit_id": world.city.pk},
        content_type="application/json",
    )
    assert refused.status_code == 403
