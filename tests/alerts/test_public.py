"""The public pages and the Atom feed (no login) show active public warnings and nothing
else: no draft, no approved-but-unissued version, no drill, no internal warning, nothing
lifted or ended long ago."""

from datetime import timedelta

import pytest
from lxml import etree

from fenghuo.alerts import selectors, services
from fenghuo.alerts.models import WarningLevel
from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from tests.alerts.test_cap import POLYGON, valid
from tests.alerts.world import draft, issued, principal

pytestmark = pytest.mark.django_db
ATOM = {"a": "http://www.w3.org/2005/Atom"}


@pytest.fixture
def cast(world):
    """One warning in every state the public must or must not see."""
    leader = principal(world, "city_leader")
    active = issued(world, event_name="暴雨", geometry=[POLYGON])
    approved = draft(world, event_name="大风")
    services.approve(leader, approved)
    lifted_long_ago = issued(world, event_name="寒潮")
    with clock.frozen_at(clock.now() - timedelta(days=10)):
        old = issued(world, event_name="冰雹")
        services.lift(leader, old, "已结束。")
    with clock.frozen_at(clock.now() - timedelta(days=1)):
        services.lift(leader, lifted_long_ago, "已结束。")  # lifted yesterday: still shown
    return {
        "active": active,
        "draft": draft(world, event_name="山洪"),
        "approved": approved,
        "drill": issued(world, event_name="演练暴雨", is_drill=True),
        "internal": issued(world, event_name="内部大风", confidentiality=Confidentiality.INTERNAL),
        "recent": lifted_long_ago,
        "old": old,
    }


def test_the_selector_gives_only_active_public_warnings(cast):
    assert list(selectors.public_warnings()) == [cast["active"]]
    assert list(selectors.public_recently_ended()) == [cast["recent"]]


def test_the_public_list_shows_only_what_it_should(cast, client):
    response = client.get("/public/warnings/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "临江市委办公室发布暴雨黄色预警" in page
    assert f'href="/public/warnings/{cast["active"].pk}/"' in page
    assert "近期已解除或到期的预警" in page and "寒潮" in page
    for name in ("draft", "approved", "drill", "internal", "old"):
        assert f"/public/warnings/{cast[name].pk}/" not in page, name
    for word in ("山洪", "大风", "演练暴雨", "内部大风", "冰雹"):
        assert word not in page, word
    # The map: no tile server configured → no tile layer, the shapes inline.
    assert 'data-tile-url=""' in page and '"type": "Polygon"' in page
    assert "/static/vendor/leaflet/leaflet.js" in page


def test_detail_pages_for_what_is_public_only(cast, client):
    assert client.get(f"/public/warnings/{cast['active'].pk}/").status_code == 200
    assert client.get(f"/public/warnings/{cast['recent'].pk}/").status_code == 200
    for name in ("draft", "approved", "drill", "internal", "old"):
        assert client.get(f"/public/warnings/{cast[name].pk}/").status_code == 404, name
        assert client.get(f"/public/warnings/{cast[name].pk}/cap.xml").status_code == 404, name


def test_the_public_cap_document_validates(cast, client):
    response = client.get(f"/public/warnings/{cast['active'].pk}/cap.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/cap+xml")
    valid(response.content)


def test_a_warning_page_shows_its_versions(world, client):
    first = issued(world)
    second = services.adjust(
        principal(world, "prov_office"),
        first,
        {"level": WarningLevel.ORANGE, "issuing_unit": world["province"]},
    )
    page = client.get(f"/public/warnings/{first.pk}/").content.decode()
    assert "第 2 版" not in page and "江南省委办公厅" not in page  # the draft is not shown
    services.approve(principal(world, "prov_leader"), second)
    services.issue(principal(world, "prov_leader"), second)
    page = client.get(f"/public/warnings/{first.pk}/").content.decode()
    assert "该预警已调整" in page and f'href="/public/warnings/{second.pk}/"' in page
    current = client.get(f"/public/warnings/{second.pk}/").content.decode()
    assert "发布记录" in current
    assert f'href="/public/warnings/{first.pk}/">发布</a>' in current
    assert f'href="/public/warnings/{second.pk}/">调整</a>' in current


def test_the_feed_lists_active_public_warnings(cast, client):
    response = client.get("/public/feeds/warnings.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = etree.fromstring(response.content)
    entries = feed.findall("a:entry", ATOM)
    assert [e.findtext("a:title", namespaces=ATOM) for e in entries] == [
        "临江市委办公室发布暴雨黄色预警"
    ]
    entry = entries[0]
    assert (
        entry.find("a:link[@rel='alternate']", ATOM)
        .get("href")
        .endswith(f"/public/warnings/{cast['active'].pk}/")
    )
    cap_link = entry.find("a:link[@rel='enclosure']", ATOM)
    assert cap_link.get("type") == "application/cap+xml"
    assert cap_link.get("href").endswith(f"/public/warnings/{cast['active'].pk}/cap.xml")
    assert {c.get("term") for c in entry.findall("a:category", ATOM)} == {"黄色预警", "气象灾害"}
    assert entry.findtext("a:id", namespaces=ATOM) == (
        f"urn:fenghuo:warning:{cast['active'].identifier}"
    )
    assert "影响区域：江口县" in entry.findtext("a:summary", namespaces=ATOM)


def test_an_expired_warning_leaves_the_list_and_the_feed(world, client):
    warning = issued(world)
    with clock.frozen_at(warning.ends_at + timedelta(minutes=1)):
        assert not selectors.public_warnings().exists()
        assert b"<entry>" not in client.get("/public/feeds/warnings.atom").content
        assert list(selectors.public_recently_ended()) == [warning]
    with clock.frozen_at(warning.ends_at + timedelta(days=4)):
        assert client.get(f"/public/warnings/{warning.pk}/").status_code == 404
