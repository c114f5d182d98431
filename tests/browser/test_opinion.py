"""The issue's check: a browser opens the topic page and sees its charts render (ECharts
served locally, nothing fetched from outside the machine, no console error)."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from fenghuo.core import clock
from fenghuo.opinion import services
from fenghuo.opinion.models import Topic
from fenghuo.org.models import AdminLevel, Division, Role

pytestmark = pytest.mark.browser


@pytest.fixture
def topic(make_unit, make_person):
    city = make_unit("临江市应急管理局", level=AdminLevel.CITY, division_code="990100")
    make_person("analyst", city, Role.ANALYST)
    Division.objects.create(code="990100", name="临江市", latitude=30.35, longitude=112.2)
    Division.objects.create(code="990121", name="江口县", latitude=30.12, longitude=111.98)
    services.ingest(
        [
            {
                "platform": platform,
                "post_id": str(n),
                "text": f"临江市化工厂爆炸，现场浓烟，群众疏散{n}",
                "author": f"作者{n % 3}",
                "division_code": "990121" if n % 2 else "990100",
                "published_at": (clock.now() - timedelta(hours=n % 4)).isoformat(),
            }
            for n, platform in enumerate(["weibo", "news", "weibo", "forum", "wechat", "weibo"])
        ],
        source="test",
    )
    return Topic.objects.order_by("-post_count").first()


def test_topic_page_charts_render(page: Page, login, live_server, topic, snapshot):
    errors: list[str] = []
    requests: list[str] = []
    # The browser's own favicon request is no error of the page.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requests.append(request.url))
    login(page, "analyst")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="舆情").click()
    page.get_by_role("link", name=topic.title).first.click()
    expect(page.get_by_role("heading", name=topic.title, level=1)).to_be_visible()
    for chart in ("chart-timeline", "chart-sentiment", "chart-platforms"):
        expect(page.locator(f"#{chart} svg").first).to_be_visible()
    # The bars and lines are drawn, not just an empty canvas.
    assert page.locator("#chart-timeline svg path").count() > 0
    assert page.locator("#chart-platforms svg path").count() > 0
    # The map by division: one circle per division, drawn by Leaflet without any tiles.
    topic_map = page.locator(".division-map")
    expect(topic_map).to_have_attribute("data-markers", "2")
    assert topic_map.locator(".leaflet-overlay-pane path").count() == 2
    snapshot(page, "opinion-topic")
    assert errors == []
    local = urlsplit(live_server.url).netloc
    assert all(urlsplit(url).netloc == local for url in requests if url.startswith("http"))


def test_topic_list_map_leads_to_a_divisions_topics(page: Page, login, live_server, topic):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, "analyst")
    page.goto(f"{live_server.url}/opinion/")
    topic_map = page.locator(".division-map")
    expect(topic_map).to_have_attribute("data-markers", "2")
    # The county's circle: its popup names the division and links to its topics.
    topic_map.locator(".leaflet-overlay-pane path").last.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("条帖子")
    popup.get_by_role("link", name="只看该地区的话题").click()
    expect(page.get_by_text("的话题 · 显示全部")).to_be_visible()
    expect(page.get_by_role("link", name=topic.title)).to_be_visible()
    assert errors == []
