"""The public front page and feed list (no login): what the public may see and nothing
else — issued, non-drill warnings; published, non-drill releases."""

import pytest
from django.test import Client

from tests.alerts import world as alerts_world
from tests.release import world as release_world

pytestmark = pytest.mark.django_db


def test_front_page_with_nothing_to_show():
    page = Client().get("/public/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "目前没有生效中的预警" in html and "暂无发布信息" in html
    assert "退出" not in html  # no staff shell


def test_front_page_shows_issued_warnings_never_drafts_or_drills():
    world = alerts_world.build_world()
    issued = alerts_world.issued(world, title="临江市暴雨黄色预警")
    draft = alerts_world.draft(world, title="临江市大风蓝色预警（草稿）")
    drill = alerts_world.issued(world, title="演练：山洪橙色预警", is_drill=True)
    html = Client().get("/public/").content.decode()
    assert issued.title in html and f"/public/warnings/{issued.pk}/" in html
    assert draft.title not in html and drill.title not in html


def test_front_page_shows_published_releases_never_drafts_or_drills():
    world = release_world.build_world()
    event = release_world.file_event(world)
    published = release_world.published(world, event, title="关于江口县化工园区爆炸的情况通报")
    release_world.draft(world, release_world.file_event(world), title="草稿：尚未审核的通报")
    release_world.published(
        world, release_world.file_event(world), is_drill=True, title="演练：情况通报"
    )
    html = Client().get("/public/").content.decode()
    assert published.title in html and f"/public/releases/{published.release_id}/" in html
    assert "草稿：尚未审核的通报" not in html and "演练：情况通报" not in html


def test_feeds_page_lists_both_feeds():
    html = Client().get("/public/feeds/").content.decode()
    assert "/public/feeds/warnings.atom" in html and "/public/feeds/releases.atom" in html
    assert Client().get("/public/feeds/warnings.atom").status_code == 200
    assert Client().get("/public/feeds/releases.atom").status_code == 200
