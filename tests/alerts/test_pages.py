"""Staff pages: the list (linked from the top bar), the editor with its map, the approval
queue, the warning page with its actions, adjusting and editing."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from fenghuo.alerts.models import Warning, WarningState
from fenghuo.core import clock
from tests.alerts.test_cap import CIRCLE
from tests.alerts.world import draft, issued

pytestmark = pytest.mark.django_db


def form(world, **extra) -> dict:
    moment = timezone.localtime(clock.now())
    return {
        "idempotency_key": "form-key-1",
        "issuing_unit": world["city"].pk,
        "level": 3,
        "category": _category("weather"),
        "event_name": "暴雨",
        "area_codes": "990121 990122",
        "starts_at": moment.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (moment + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M"),
        "impact": "江口县、河西县有暴雨。",
        "cautions": "注意山洪。",
        "measures": "停止户外活动。",
        "geometry": json.dumps([CIRCLE]),
        "confidentiality": 0,
        **extra,
    }


def _category(code: str) -> int:
    from fenghuo.criteria.models import EventCategory

    return EventCategory.objects.get(code=code).pk


def test_the_top_bar_links_the_warning_list(world, client):
    client.force_login(world["people"]["city_duty"])
    issued(world)
    page = client.get("/desk/").content.decode()
    assert 'href="/alerts/"' in page
    listing = client.get("/alerts/").content.decode()
    assert "临江市委办公室发布暴雨黄色预警" in listing and 'aria-current="page">预警' in listing
    assert 'href="/alerts/new/"' in listing  # a duty officer drafts
    client.force_login(world["people"]["city_reporter"])
    assert 'href="/alerts/new/"' not in client.get("/alerts/").content.decode()


def test_the_editor_names_each_missing_field_and_saves_nothing(world, client):
    client.force_login(world["people"]["city_duty"])
    page = client.get("/alerts/new/").content.decode()
    assert "/static/vendor/leaflet-geoman/leaflet-geoman.min.js" in page
    assert 'data-edit="id_geometry"' in page and 'data-tile-url=""' in page
    response = client.post("/alerts/new/", {"issuing_unit": world["city"].pk})
    page = response.content.decode()
    assert response.status_code == 200
    for message in ("预警类别为必填项", "预计影响为必填项", "影响区域须至少填写一个行政区划代码"):
        assert message in page
    assert 'aria-invalid="true"' in page
    # A time that cannot be read is named, and so is everything the service would name.
    page = client.post("/alerts/new/", form(world, starts_at="明天", impact="")).content.decode()
    assert "开始时间：时间格式不正确" in page and "预计影响：预计影响为必填项" in page
    assert not Warning.objects.exists()


def test_the_editor_saves_a_draft_once(world, client):
    client.force_login(world["people"]["city_duty"])
    response = client.post("/alerts/new/", form(world))
    warning = Warning.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/alerts/{warning.pk}/"
    assert warning.area_codes == ["990121", "990122"] and warning.geometry == [CIRCLE]
    assert warning.state == WarningState.DRAFT
    again = client.post("/alerts/new/", form(world))  # a double click: the same key
    assert again["Location"] == f"/alerts/{warning.pk}/"
    assert Warning.objects.count() == 1
    detail = client.get(f"/alerts/{warning.pk}/").content.decode()
    assert "预警稿已保存，等待审批。" in detail
    assert "warning-shapes" in detail  # the drawn circle on the page's map


def test_a_leader_approves_and_issues_from_the_queue(world, client):
    warning = draft(world)
    client.force_login(world["people"]["city_leader"])
    queue = client.get("/alerts/queue/").content.decode()
    assert f'id="queue-{warning.pk}"' in queue
    client.post(f"/alerts/{warning.pk}/approve/")
    assert f"/alerts/{warning.pk}/issue/" in client.get("/alerts/queue/").content.decode()
    page = client.post(f"/alerts/{warning.pk}/issue/", follow=True).content.decode()
    assert "已发布，已通知有关单位和领导小组。" in page and "CAP 1.2 XML" in page
    warning.refresh_from_db()
    assert warning.state == WarningState.ISSUED
    assert f'id="queue-{warning.pk}"' not in client.get("/alerts/queue/").content.decode()


def test_reject_with_a_reason_then_edit(world, client):
    warning = draft(world)
    client.force_login(world["people"]["city_leader"])
    client.post(f"/alerts/{warning.pk}/reject/", {"reason": "区域不全"})
    warning.refresh_from_db()
    assert warning.state == WarningState.REJECTED
    client.force_login(world["people"]["city_duty"])
    assert "已退回：区域不全" in client.get(f"/alerts/{warning.pk}/").content.decode()
    edit = client.get(f"/alerts/{warning.pk}/edit/").content.decode()
    assert 'value="990121"' in edit
    response = client.post(
        f"/alerts/{warning.pk}/edit/", form(world, title="江口县、河西县暴雨黄色预警")
    )
    assert response.status_code == 302
    warning.refresh_from_db()
    assert warning.state == WarningState.DRAFT and warning.title == "江口县、河西县暴雨黄色预警"


def test_adjusting_from_the_page_makes_version_two(world, client):
    warning = issued(world)
    client.force_login(world["people"]["city_duty"])
    page = client.get(f"/alerts/{warning.pk}/adjust/").content.decode()
    assert "调整稿是新版本" in page and 'value="暴雨"' in page
    response = client.post(f"/alerts/{warning.pk}/adjust/", form(world, event_name="大暴雨"))
    new = Warning.objects.get(replaces=warning)
    assert response["Location"] == f"/alerts/{new.pk}/"
    assert new.version == 2 and new.title == "临江市委办公室发布大暴雨黄色预警"
    detail = client.get(f"/alerts/{warning.pk}/").content.decode()
    assert "该预警有未发布的调整稿" in detail
    assert f'href="/alerts/{warning.pk}/adjust/"' not in detail
    assert client.get(f"/alerts/{warning.pk}/edit/").status_code == 302  # issued: not edited


def test_lift_from_the_page(world, client):
    warning = issued(world)
    client.force_login(world["people"]["city_leader"])
    client.post(f"/alerts/{warning.pk}/lift/", {"reason": "暴雨过程结束"})
    warning.refresh_from_db()
    assert warning.state == WarningState.LIFTED and warning.lift_reason == "暴雨过程结束"


def test_pages_of_warnings_the_reader_may_not_see_are_404(world, client):
    warning = draft(world)
    client.force_login(world["people"]["county_duty"])
    assert client.get(f"/alerts/{warning.pk}/").status_code == 404
    assert client.post(f"/alerts/{warning.pk}/approve/").status_code == 404
    client.logout()
    assert client.get("/alerts/").status_code == 302  # to the login page
