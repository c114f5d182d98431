"""The issue's check: a browser opens the topic page and sees its charts render (ECharts
served locally, nothing fetched from outside the machine, no console error)."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from fenghuo.opinion import services
from fenghuo.opinion.models import Topic
from fenghuo.org.models import AdminLevel, Role

pytestmark = pytest.mark.browser


@pytest.fixture
def topic(make_unit, make_person):
    city = make_unit("临江市应急管理局", level=AdminLevel.CITY, division_code="990100")
    make_person("analyst", city, Role.ANALYST)
    services.ingest(
        [
            {
                "platform": platform,
                "post_id": str(n),
                "text": f"临江市化工厂爆炸，现场浓烟，群众疏散{n}",
                "author": f"作者{n % 3}",
                "published_at": f"2026-11-23T{9 + n % 4:02d}:10:00+08:00",
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
    snapshot(page, "opinion-topic")
    assert errors == []
    local = urlsplit(live_server.url).netloc
    assert all(urlsplit(url).netloc == local for url in requests if url.startswith("http"))
