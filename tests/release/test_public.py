"""The public pages and the Atom feed (no login): only published, non-drill versions,
the latest with its history; nothing unapproved or internal."""

import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from fenghuo.release import selectors, services
from tests.release.world import PARTS, SECRET, draft, file_event, principal, published

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def public() -> Client:
    return Client()


def _entries(client: Client) -> list[ET.Element]:
    response = client.get("/public/feeds/releases.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root.findall(f"{ATOM}entry")


def test_only_published_non_drill_releases_are_public(world, public):
    event = file_event(world, sensitive=True)
    shown = published(world, event)
    drill = published(world, event, is_drill=True, title="【演练】化工园区爆炸处置演练通报")
    waiting = draft(world, event, title="待审核的情况通报")
    services.submit(principal(world, "reporter"), waiting)
    drafted = draft(world, event, title="尚在起草的情况通报")
    approved = draft(world, event, title="已批准未发布的情况通报")
    services.submit(principal(world, "reporter"), approved)
    services.approve(principal(world, "group_office"), approved)
    returned = draft(world, event, title="被退回的情况通报")
    services.submit(principal(world, "reporter"), returned)
    services.reject(principal(world, "group_office"), returned, "不宜发布")

    assert [r.pk for r in selectors.public_releases()] == [shown.release_id]

    page = public.get("/public/releases/").content.decode()
    assert PARTS["title"] in page and f"/public/releases/{shown.release_id}/" in page
    for hidden in (drill, waiting, drafted, approved, returned):
        assert hidden.title not in page
        assert public.get(f"/public/releases/{hidden.release_id}/").status_code == 404
    assert event.title not in page  # the internal event title is not the public's
    assert SECRET not in page

    detail = public.get(f"/public/releases/{shown.release_id}/").content.decode()
    for part in ("overview", "impact", "measures", "advice", "contact", "place"):
        assert PARTS[part] in detail, part
    assert "事件原因正在调查中。" in detail
    assert SECRET not in detail and event.title not in detail

    entries = _entries(public)
    assert [e.findtext(f"{ATOM}title") for e in entries] == [PARTS["title"]]


def test_the_public_page_shows_the_latest_with_its_history(world, public):
    event = file_event(world)
    first = published(world, event)
    reporter, leader = principal(world, "reporter"), principal(world, "group_leader")
    update = services.new_version(reporter, first.release)
    services.update_draft(reporter, update, {"title": "关于爆炸事故的续报", "impact": "2人死亡。"})
    services.submit(reporter, update)
    services.approve_and_publish(leader, update)
    pending = services.new_version(reporter, first.release)
    services.update_draft(reporter, pending, {"title": "第三次通报（待审核）"})
    services.submit(reporter, pending)

    page = public.get(f"/public/releases/{first.release_id}/").content.decode()
    latest, _, history = page.partition("历次发布")
    assert "关于爆炸事故的续报" in latest and "2人死亡。" in latest
    assert "第2版" in latest
    assert PARTS["title"] in history and "第1版" in history and PARTS["impact"] in history
    assert "第三次通报" not in page

    listing = public.get("/public/releases/").content.decode()
    assert "关于爆炸事故的续报" in listing and PARTS["title"] not in listing

    (entry,) = _entries(public)
    assert entry.findtext(f"{ATOM}title") == "关于爆炸事故的续报"
    assert entry.findtext(f"{ATOM}updated") != entry.findtext(f"{ATOM}published")
    link = entry.find(f"{ATOM}link").get("href")
    assert link.endswith(f"/public/releases/{first.release_id}/")
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "江口县应急管理局"


def test_the_list_is_grouped_by_event(world, public):
    blast = file_event(world)
    flood = file_event(
        world, title="江口县城区内涝", place="江口县城关镇", narrative="强降雨导致城区内涝。"
    )
    published(world, blast)
    published(world, flood, title="关于江口县城区内涝的情况通报", place="江口县城关镇")
    county = principal(world, "county_duty")
    county_release = services.create_release(
        county,
        event=blast,
        unit=world["county"],
        data={**PARTS, "occurred_at": blast.occurred_at, "title": "江口县委关于爆炸事故的通报"},
    )
    services.submit(county, county_release)
    services.approve_and_publish(principal(world, "group_office"), county_release)

    page = public.get("/public/releases/").content.decode()
    groups = page.split('class="card release-group"')[1:]
    assert len(groups) == 2
    assert "江口县委关于爆炸事故的通报" in groups[0] and PARTS["title"] in groups[0]
    assert "关于江口县城区内涝的情况通报" in groups[1]


def test_public_pages_need_no_login_and_show_no_staff_links(world, public):
    event = file_event(world)
    version = published(world, event)
    page = public.get(f"/public/releases/{version.release_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/releases/" not in html.replace("/public/releases/", "")  # no staff links
    assert "/events/" not in html and "主导航" not in html
