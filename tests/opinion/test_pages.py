"""The opinion pages: who may open them, the scheme editor and its live preview, the live
stream's polling endpoint and the topic page's data."""

import json
import re

import pytest
from django.urls import reverse

from fenghuo.core import clock
from fenghuo.opinion import selectors, services
from fenghuo.opinion.models import Scheme, Topic
from fenghuo.org.models import Division
from fenghuo.org.policy import principal_for
from tests.opinion.conftest import post

PAGES = [
    ("opinion-topics", []),
    ("opinion-stream", []),
    ("opinion-warnings", []),
    ("opinion-schemes", []),
    ("opinion-scheme-new", []),
    ("opinion-reports", []),
]


@pytest.fixture
def posts(world):
    services.ingest(
        [
            post("1", "臨江市化工廠爆炸，現場濃煙", author="临江日报", author_followers=90000),
            post("2", "临江市化工厂爆炸后有群众被疏散", author="路人甲"),
            post("3", "临江市爆炸演习今天举行"),
            post("4", "东山市暴雨", platform="news"),
        ],
        source="test",
    )


@pytest.fixture
def scheme(world):
    return services.scheme_create(
        principal_for(world.city_analyst),
        name="临江危化",
        expression_text="临江市 AND (爆炸 OR 泄漏) NOT 演习",
        owner_unit=world.city,
    )


@pytest.mark.parametrize(("name", "args"), PAGES)
@pytest.mark.parametrize(
    ("who", "status"),
    [("city_analyst", 200), ("city_duty", 200), ("city_reporter", 403), (None, 302)],
)
def test_pages_are_for_analysts_and_duty_officers(world, client, name, args, who, status):
    if who:
        client.force_login(getattr(world, who))
    answer = client.get(reverse(name, args=args))
    assert answer.status_code == status
    if status == 200:
        assert "监测方案" in answer.content.decode()


def test_nav_leads_to_the_topic_list(world, client):
    client.force_login(world.city_analyst)
    page = client.get(reverse("duty-desk")).content.decode()
    assert f'href="{reverse("opinion-topics")}"' in page


def test_scheme_editor_creates_and_edits_a_scheme(world, client):
    client.force_login(world.city_analyst)
    answer = client.post(
        reverse("opinion-scheme-new"),
        {
            "name": "临江危化",
            "expression": "临江市 and (爆炸 or 泄漏)",
            "owner_unit": world.city.pk,
        },
    )
    assert answer.status_code == 302
    scheme = Scheme.objects.get(name="临江危化")
    assert scheme.expression == "临江市 AND (爆炸 OR 泄漏)"
    assert scheme.owner_unit == world.city
    listing = client.get(reverse("opinion-schemes")).content.decode()
    assert "临江危化" in listing
    answer = client.post(
        reverse("opinion-scheme-edit", args=[scheme.pk]),
        {"name": "临江危化品", "expression": "临江市 AND 泄漏"},
    )
    assert answer.status_code == 302
    scheme.refresh_from_db()
    assert (scheme.name, scheme.expression, scheme.is_active) == (
        "临江危化品",
        "临江市 AND 泄漏",
        False,
    )


def test_scheme_editor_shows_the_error_with_its_position(world, client):
    client.force_login(world.city_analyst)
    answer = client.post(
        reverse("opinion-scheme-new"),
        {"name": "坏表达式", "expression": "(临江市 AND", "owner_unit": world.city.pk},
    )
    assert answer.status_code == 422
    assert "第 9 个字符处" in answer.content.decode()
    assert not Scheme.objects.exists()


def test_scheme_of_another_unit_is_not_editable(world, client, scheme):
    client.force_login(world.other_analyst)
    assert client.get(reverse("opinion-scheme-edit", args=[scheme.pk])).status_code == 404
    client.force_login(world.province_analyst)
    assert client.get(reverse("opinion-scheme-edit", args=[scheme.pk])).status_code == 200


def test_preview_lists_the_matching_recent_posts(world, client, posts):
    client.force_login(world.city_duty)
    answer = client.post(
        reverse("opinion-scheme-preview"), {"expression": "临江市 AND 爆炸 NOT 演习"}
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "在最近 4 条帖子中命中 2 条" in html
    assert "臨江市化工廠爆炸" in html and "爆炸演习" not in html


def test_preview_shows_a_chinese_error_with_its_position(world, client, posts):
    client.force_login(world.city_analyst)
    answer = client.post(reverse("opinion-scheme-preview"), {"expression": "(临江市 AND"})
    assert answer.status_code == 200
    assert "表达式有误" in answer.content.decode()
    assert "第 9 个字符处" in answer.content.decode()


def test_preview_refuses_a_reporter(world, client, posts):
    client.force_login(world.city_reporter)
    answer = client.post(reverse("opinion-scheme-preview"), {"expression": "临江市"})
    assert answer.status_code == 403


def _ids(html: str) -> list[str]:
    return re.findall(r'id="post-(\d+)"', html)


def test_stream_shows_matching_posts_and_polls_newer_ones(world, client, scheme, posts):
    client.force_login(world.city_analyst)
    page = client.get(reverse("opinion-stream"), {"scheme": scheme.pk}).content.decode()
    shown = _ids(page)
    assert len(shown) == 2
    last = max(map(int, shown))
    rows = client.get(reverse("opinion-stream-rows"), {"scheme": scheme.pk, "after": last})
    assert _ids(rows.content.decode()) == []
    assert f'value="{last}"' in rows.content.decode()
    services.ingest([post("5", "临江市仓库泄漏"), post("6", "东山市泄漏")], source="test")
    rows = client.get(reverse("opinion-stream-rows"), {"scheme": scheme.pk, "after": last})
    html = rows.content.decode()
    new = _ids(html)
    assert len(new) == 1 and "临江市仓库泄漏" in html
    assert f'value="{new[0]}"' in html  # the cursor moves on


def test_stream_of_an_invisible_scheme_is_refused(world, client, scheme, posts):
    client.force_login(world.other_analyst)
    answer = client.get(reverse("opinion-stream-rows"), {"scheme": scheme.pk})
    assert answer.status_code == 404
    # Without a scheme, the stream holds only matches of schemes the reader sees.
    assert _ids(client.get(reverse("opinion-stream-rows")).content.decode()) == []


def test_topic_page_shows_its_data(world, client, scheme, posts):
    topic = Topic.objects.filter(posts__post_id="1").get()
    client.force_login(world.city_analyst)
    listing = client.get(reverse("opinion-topics")).content.decode()
    assert reverse("opinion-topic", args=[topic.pk]) in listing
    assert "<polyline" in listing
    answer = client.get(reverse("opinion-topic", args=[topic.pk]))
    assert answer.status_code == 200
    html = answer.content.decode()
    charts = json.loads(
        re.search(r'<script id="topic-charts" type="application/json">(.*?)</script>', html, re.S)[
            1
        ]
    )
    detail = selectors.topic_detail(principal_for(world.city_analyst), topic)
    assert sum(b["posts"] for b in charts["timeline"]) == topic.post_count > 0
    assert sum(s["value"] for s in charts["sentiment"]) == topic.post_count
    assert {s["name"] for s in charts["sentiment"]} == {"负面", "中性", "正面"}
    assert charts["platforms"] == [
        {"name": p["label"], "value": p["posts"]} for p in detail["platforms"]
    ]
    for keyword in detail["keywords"][:3]:
        assert keyword in html
    for author in detail["authors"]:
        assert author["author"] in html
    assert 'id="chart-timeline"' in html and "vendor/echarts/echarts.min.js" in html


def test_topic_page_refuses_a_reporter(world, client, posts):
    topic = Topic.objects.first()
    client.force_login(world.city_reporter)
    assert client.get(reverse("opinion-topic", args=[topic.pk])).status_code == 403


def _json_script(html: str, element_id: str):
    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S
    )
    return json.loads(found[1])


@pytest.fixture
def placed_posts(world):
    Division.objects.create(code="990100", name="临江市", latitude=30.35, longitude=112.2)
    Division.objects.create(code="990121", name="江口县", latitude=30.12, longitude=111.98)
    recent = clock.now().isoformat()
    services.ingest(
        [
            post("p1", "江口县化工厂爆炸，浓烟很大", division_code="990121", published_at=recent),
            post(
                "p2", "江口县化工厂爆炸，听说有人受伤", division_code="990121", published_at=recent
            ),
            post("p3", "临江市区也能看到江口的浓烟", division_code="990100", published_at=recent),
            post("p4", "东山市今天暴雨，多处积水", division_code="990200", published_at=recent),
            post("p5", "北湖区公园今天人很多", published_at=recent),
        ],
        source="test",
    )


def test_topic_list_maps_posts_by_division(world, client, placed_posts):
    client.force_login(world.city_analyst)
    html = client.get(reverse("opinion-topics")).content.decode()
    points = {p["code"]: p for p in _json_script(html, "topics-map-points")}
    assert points["990121"]["posts"] == 2 and points["990121"]["name"] == "江口县"
    assert (points["990121"]["lat"], points["990121"]["lng"]) == (30.12, 111.98)
    assert points["990100"]["posts"] == 1
    topic_titles = {t["title"] for t in points["990121"]["topics"]}
    assert topic_titles <= set(Topic.objects.values_list("title", flat=True))
    # 990200 has no point (nor has 990000), and p5 has no division: both are counted aside.
    assert "990200" not in points
    assert "另有 2 条帖子没有行政区划或无法定位" in html
    assert "vendor/leaflet/leaflet.js" in html and "opinion/map.js" in html


def test_topic_list_filters_by_division(world, client, placed_posts):
    client.force_login(world.city_analyst)
    jiangkou = Topic.objects.get(posts__post_id="p1")
    dongshan = Topic.objects.get(posts__post_id="p4")
    html = client.get(reverse("opinion-topics"), {"division": "990121"}).content.decode()
    assert reverse("opinion-topic", args=[jiangkou.pk]) in html
    assert reverse("opinion-topic", args=[dongshan.pk]) not in html
    assert "只看 <strong>江口县</strong>（990121）的话题" in html
    # A city's code takes in its counties.
    html = client.get(reverse("opinion-topics"), {"division": "990100"}).content.decode()
    assert reverse("opinion-topic", args=[jiangkou.pk]) in html
    assert reverse("opinion-topic", args=[dongshan.pk]) not in html
    # A malformed code is named and ignored: every topic is listed.
    answer = client.get(reverse("opinion-topics"), {"division": "99'01"})
    html = answer.content.decode()
    assert answer.status_code == 200 and "行政区划代码应为 6 位数字" in html
    assert reverse("opinion-topic", args=[dongshan.pk]) in html


def test_topic_page_maps_its_divisions(world, client, placed_posts):
    topic = Topic.objects.get(posts__post_id="p1")
    client.force_login(world.city_analyst)
    html = client.get(reverse("opinion-topic", args=[topic.pk])).content.decode()
    points = _json_script(html, "topic-map-points")
    assert sum(p["posts"] for p in points) == sum(topic.divisions.values()) > 0
    assert {p["topics"][0]["id"] for p in points} == {topic.pk}
