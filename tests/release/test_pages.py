"""The staff pages through Django's test client: list, editor (prefilled, per-field
errors that change nothing, one release per form key), live preview, approval queue,
actions and new versions."""

import re
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from fenghuo.release import services
from fenghuo.release.models import Release, ReleaseVersion, VersionState
from tests.release.world import NARRATIVE, PARTS, draft, file_event, principal, published

pytestmark = pytest.mark.django_db


def _client(world, who: str) -> Client:
    client = Client()
    client.force_login(world["people"][who])
    return client


def _form(world, event, **values) -> dict[str, str]:
    data = {
        "idempotency_key": uuid.uuid4().hex,
        "event": str(event.pk),
        "unit": str(world["em"].pk),
        **PARTS,
        "occurred_at": timezone.localtime(event.occurred_at).strftime("%Y-%m-%dT%H:%M"),
        "save": "1",
    }
    data.update({k: str(v) for k, v in values.items()})
    return data


def test_the_top_navigation_leads_to_the_release_list(world):
    page = _client(world, "reporter").get("/releases/").content.decode()
    assert re.search(r'<a href="/releases/" aria-current="page">信息发布</a>', page)
    assert "起草信息发布" in page


def test_choose_an_event_then_a_prefilled_editor(world):
    event = file_event(world)
    client = _client(world, "reporter")
    chooser = client.get("/releases/new/").content.decode()
    assert f"/releases/new/?event={event.pk}" in chooser and event.title in chooser
    page = client.get(f"/releases/new/?event={event.pk}").content.decode()
    assert NARRATIVE in page
    assert "关于江口县化工园区发生爆炸的情况通报" in page
    assert 'hx-post="/releases/preview/"' in page
    assert 'name="idempotency_key"' in page


def test_the_editor_refuses_people_without_a_drafting_unit(world):
    event = file_event(world)
    assert _client(world, "expert").get(f"/releases/new/?event={event.pk}").status_code == 403


def test_saving_a_draft_twice_with_one_key_makes_one_release(world):
    event = file_event(world)
    client = _client(world, "reporter")
    data = _form(world, event)
    first = client.post("/releases/new/", data)
    release = Release.objects.get(event=event)
    assert first.status_code == 302 and first["Location"] == f"/releases/{release.pk}/"
    second = client.post("/releases/new/", data, follow=True)
    assert "这份表单已经提交过，没有重复建立。" in second.content.decode()
    assert Release.objects.filter(event=event).count() == 1
    assert release.versions.get().state == VersionState.DRAFT


def test_submitting_an_incomplete_form_shows_every_error_and_saves_nothing(world):
    event = file_event(world)
    client = _client(world, "reporter")
    data = _form(world, event, advice="", place="", submit="1")
    del data["save"]
    response = client.post("/releases/new/", data)
    assert response.status_code == 422
    page = response.content.decode()
    assert "提交的内容有误，没有保存" in page
    assert re.search(r'id="field-advice">.*?防范建议为必填项', page, re.S)
    assert re.search(r'id="field-place">.*?发生地点为必填项', page, re.S)
    assert 'aria-invalid="true"' in page
    assert data["idempotency_key"] not in page  # a fresh key for the corrected form
    assert not Release.objects.filter(event=event).exists()

    data.update(advice=PARTS["advice"], place=PARTS["place"], idempotency_key=uuid.uuid4().hex)
    assert client.post("/releases/new/", data).status_code == 302
    assert Release.objects.get(event=event).versions.get().state == VersionState.PENDING


def test_editing_a_draft(world):
    event = file_event(world)
    version = draft(world, event, advice="")
    client = _client(world, "em_leader")  # the same unit edits the draft, not only its author
    url = f"/releases/versions/{version.pk}/edit/"
    assert PARTS["overview"] in client.get(url).content.decode()
    data = _form(world, event, title="改过的标题", advice="", submit="1")
    del data["save"]
    response = client.post(url, data)
    assert response.status_code == 422 and "防范建议为必填项" in response.content.decode()
    assert ReleaseVersion.objects.get(pk=version.pk).title == PARTS["title"]  # nothing saved
    data.update(advice="请勿围观。")
    assert client.post(url, data).status_code == 302
    version.refresh_from_db()
    assert (version.title, version.state) == ("改过的标题", VersionState.PENDING)
    # Under review, the editor is closed.
    assert client.get(url).status_code == 302
    assert _client(world, "county_duty").get(url).status_code == 404


def test_the_live_preview(world):
    event = file_event(world)
    client = _client(world, "reporter")
    data = _form(world, event, advice="", overview="现场明火已扑灭。")
    response = client.post("/releases/preview/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "送审前还需补充" in page and "防范建议：防范建议为必填项" in page
    assert "现场明火已扑灭。" in page and "事件原因正在调查中。" in page
    short = int(re.search(r'data-length="weibo_short">(\d+)<', page).group(1))
    assert 0 < short <= 140
    complete = client.post("/releases/preview/", _form(world, event)).content.decode()
    assert "必备部分已齐全" in complete
    assert Release.objects.count() == 0  # the preview saves nothing
    assert Client().post("/releases/preview/", data).status_code == 302  # login first


def test_review_from_the_page(world):
    event = file_event(world)
    version = draft(world, event)
    services.submit(principal(world, "reporter"), version)
    reporter_page = _client(world, "reporter").get(f"/releases/{version.release_id}/")
    assert "批准并发布" not in reporter_page.content.decode()

    office = _client(world, "group_office")
    queue = office.get("/releases/queue/").content.decode()
    assert f"/releases/{version.release_id}/#version-{version.pk}" in queue
    page = office.get(f"/releases/{version.release_id}/").content.decode()
    assert "批准并发布" in page and "退回理由" in page
    refused = office.post(f"/releases/versions/{version.pk}/reject/", {"reason": ""})
    assert refused.status_code == 422 and "退回理由为必填项" in refused.content.decode()
    returned = office.post(
        f"/releases/versions/{version.pk}/reject/", {"reason": "请补充伤员救治情况"}, follow=True
    )
    assert "已退回" in returned.content.decode()
    assert "请补充伤员救治情况" in returned.content.decode()
    assert ReleaseVersion.objects.get(pk=version.pk).state == VersionState.REJECTED

    reporter = _client(world, "reporter")
    page = reporter.get(f"/releases/{version.release_id}/").content.decode()
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page).group(1)
    form = {"idempotency_key": key, "based_on": str(version.pk)}
    revised = reporter.post(f"/releases/{version.release_id}/new-version/", form)
    again = reporter.post(f"/releases/{version.release_id}/new-version/", form)
    new = ReleaseVersion.objects.get(release_id=version.release_id, number=2)
    assert revised["Location"] == again["Location"] == f"/releases/versions/{new.pk}/edit/"
    assert new.based_on_id == version.pk


def test_approve_and_publish_then_update(world):
    event = file_event(world)
    version = draft(world, event)
    services.submit(principal(world, "reporter"), version)
    office = _client(world, "group_office")
    done = office.post(f"/releases/versions/{version.pk}/approve-publish/", follow=True)
    assert "已批准并发布" in done.content.decode()
    assert f'href="/public/releases/{version.release_id}/"' in done.content.decode()
    page = _client(world, "reporter").get(f"/releases/{version.release_id}/").content.decode()
    assert "更新发布" in page
    listing = _client(world, "reporter").get("/releases/").content.decode()
    assert "第1版" in listing and "已发布" in listing


def test_the_texts_page(world):
    event = file_event(world)
    version = published(world, event)
    page = _client(world, "county_duty").get(f"/releases/versions/{version.pk}/texts/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "微博短文" in html and "/ 140 字" in html and "/ 120 字" in html
    assert f"/public/releases/{version.release_id}/" in html
