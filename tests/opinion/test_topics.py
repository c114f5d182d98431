"""Sentiment and topics in the pipeline: clustering purity, keywords, heat, stage, bursts."""

import random
from datetime import timedelta

import pytest
from django.db import transaction

from fenghuo.core import clock
from fenghuo.opinion import services, topics
from fenghuo.opinion.models import Post, Stage, Topic, TopicBucket

from .conftest import post

pytestmark = pytest.mark.django_db

PLACES = ["临江市", "东山市", "西河县", "南岭镇", "北湖区", "青山县"]
EVENTS = {
    "chem": (
        "化工厂",
        "爆炸",
        [
            "厂区围墙倒塌",
            "冲击波很强",
            "玻璃全被震碎",
            "危化品储罐起火",
            "爆炸声传出几公里",
            "厂房屋顶掀翻",
            "工人被送往医院",
            "空气有刺鼻气味",
        ],
    ),
    "gas": (
        "燃气管道",
        "泄漏",
        [
            "闻到很重的燃气味",
            "抢修人员正在作业",
            "已经关闭总阀门",
            "居民被要求疏散",
            "楼道里不能开火",
            "燃气公司封锁路口",
            "管道被施工挖断",
            "小区暂停供气",
        ],
    ),
    "slide": (
        "山体",
        "滑坡",
        [
            "泥石冲下公路",
            "两间民房被掩埋",
            "道路中断无法通行",
            "搜救犬已经进场",
            "山上还有落石",
            "村民连夜转移",
            "挖掘机正在清理",
            "雨水还在下个不停",
        ],
    ),
    "flood": (
        "暴雨",
        "内涝",
        [
            "积水没过膝盖",
            "车辆被淹熄火",
            "排涝泵车到了",
            "地下车库进水",
            "地铁站临时关闭",
            "商铺门口堆沙袋",
            "公交线路停运",
            "下水道冒水",
        ],
    ),
    "fire": (
        "仓库",
        "火灾",
        [
            "火势蔓延很快",
            "十几辆消防车赶到",
            "黑烟遮住半边天",
            "过火面积很大",
            "仓库里堆满纸箱",
            "附近工厂紧急疏散",
            "火苗窜出屋顶",
            "凌晨开始起火",
        ],
    ),
}
FILLER = [
    "现场照片在评论区",
    "大家注意安全",
    "官方还没有通报",
    "求转发扩散",
    "刚刚路过看到",
    "我朋友就住在旁边",
    "希望没有人受伤",
    "早上出门就听说了",
    "有知道情况的吗",
    "太吓人了",
    "交警在路口指挥",
    "家里人都没事",
]


def generated(rng: random.Random, n: int) -> list[tuple[str, dict]]:
    """(truth, post) pairs: each truth is one place and one kind of event."""
    truths = [(place, kind) for place in PLACES[:4] for kind in EVENTS]
    rows = []
    for i in range(n):
        place, kind = rng.choice(truths)
        thing, verb, details = EVENTS[kind]
        parts = [*rng.sample(details, 3), *rng.sample(FILLER, 2)]
        rng.shuffle(parts)
        text = f"{place}{thing}{verb}，{'，'.join(parts)}"
        rows.append((f"{place}/{kind}", post(f"g{i}", text, likes=rng.randint(0, 50))))
    return rows


def test_posts_get_sentiment_and_topics_in_the_pipeline():
    services.ingest(
        [
            post("1", "临江市化工厂爆炸，救援很及时，感谢消防员"),
            post("2", "临江市化工厂爆炸，到现在都没人管，太气人了"),
        ],
        source="test",
    )
    first, second = Post.objects.order_by("post_id")
    assert first.sentiment == "positive" and first.sentiment_score > 0
    assert second.sentiment == "negative" and second.sentiment_score < 0
    assert first.topic_id is not None and first.topic_id == second.topic_id
    topic = first.topic
    assert topic.post_count == 2 and topic.negative_count == 1 and topic.negative_share == 0.5
    assert "化工厂" in topic.keywords and "爆炸" in topic.keywords
    assert not {"的", "了", "网友"} & set(topic.keywords)


def test_topic_purity_on_a_generated_set():
    rng = random.Random(6)
    rows = generated(rng, 600)
    services.ingest([p for _, p in rows], source="test")
    truth = {p["post_id"]: label for label, p in rows}
    clusters: dict[int, list[str]] = {}
    for post_id, topic_id in Post.objects.values_list("post_id", "topic_id"):
        clusters.setdefault(topic_id, []).append(truth[post_id])
    majority = sum(max(labels.count(x) for x in set(labels)) for labels in clusters.values())
    purity = majority / len(rows)
    assert purity >= 0.9, purity
    # Not one topic per post either: 20 true topics, at most a few times as many clusters.
    assert len(clusters) <= 60, len(clusters)


def test_near_duplicates_join_their_groups_topic():
    text = "西河县仓库火灾，黑烟很大，消防车已经到了"
    services.ingest(
        [post("a", text), post("b", text + "！！"), post("c", "完全无关的一条")], source="t"
    )
    a, b, c = Post.objects.order_by("post_id")
    assert a.dup_group == b.dup_group and a.topic_id == b.topic_id != c.topic_id


def test_burst_stage_heat_and_buckets():
    moment = clock.now().replace(microsecond=0)
    with clock.frozen_at(moment):
        # A quiet day: one post an hour about the flood, for ten hours.
        quiet = [
            post(
                f"q{h}",
                f"北湖区暴雨内涝，积水{h}厘米",
                published_at=(moment - timedelta(hours=h, minutes=30)).isoformat(),
            )
            for h in range(10)
        ]
        services.ingest(quiet, source="t")
        topic = Topic.objects.get()
        assert topic.stage == Stage.FORMING and not topic.is_burst
        calm_heat = topic.heat

        burst = [
            post(
                f"b{i}",
                f"北湖区暴雨内涝，地下车库被淹，车辆被淹{i}辆",
                published_at=(moment - timedelta(minutes=i)).isoformat(),
                reposts=20,
                author_followers=100_000,
            )
            for i in range(12)
        ]
        services.ingest(burst, source="t")
    topic.refresh_from_db()
    assert topic.post_count == 22 and topic.is_burst and topic.stage == Stage.BURSTING
    assert topic.heat > calm_heat
    assert sum(TopicBucket.objects.filter(topic=topic).values_list("posts", flat=True)) == 22

    with clock.frozen_at(moment + timedelta(hours=5)):
        services.ingest(
            [
                post(
                    "late",
                    "北湖区暴雨内涝，积水退了",
                    published_at=(moment + timedelta(hours=5)).isoformat(),
                )
            ],
            source="t",
        )
    topic.refresh_from_db()
    assert topic.stage == Stage.FADING and not topic.is_burst


def test_a_quiet_topic_fades_without_a_new_post():
    moment = clock.now().replace(microsecond=0)
    with clock.frozen_at(moment):
        burst = [
            post(
                f"b{i}",
                f"青山县山体滑坡，泥石冲下公路，道路中断{i}处",
                published_at=(moment - timedelta(minutes=i)).isoformat(),
            )
            for i in range(12)
        ]
        services.ingest(burst, source="t")
        assert topics.sweep_quiet() == 0  # just touched by a batch
    topic = Topic.objects.get()
    assert topic.is_burst and topic.stage == Stage.BURSTING
    burst_heat = topic.heat

    with clock.frozen_at(moment + timedelta(minutes=30)):
        assert topics.sweep_quiet() == 1  # still within the hour: it stays bursting
        assert topics.sweep_quiet() == 0  # refreshed a moment ago
    topic.refresh_from_db()
    assert topic.stage == Stage.BURSTING

    with clock.frozen_at(moment + timedelta(hours=2)):
        assert topics.sweep_quiet() == 1
    topic.refresh_from_db()
    assert topic.stage == Stage.FADING and not topic.is_burst
    assert topic.heat < burst_heat  # the growth part of the heat is gone
    assert topic.post_count == 12

    with clock.frozen_at(moment + timedelta(hours=3)):
        assert topics.sweep_quiet() == 0  # faded topics are left alone


def test_a_rolled_back_batch_leaves_no_phantom_topic():
    """The topic index is process state: a topic created in a transaction that rolled back
    must not catch the next post (it would point at a row that does not exist)."""
    text = "南岭镇仓库火灾，浓烟很大，消防正在扑救"
    recent = clock.now().isoformat()  # inside the index's active window
    with pytest.raises(RuntimeError), transaction.atomic():
        services.ingest([post("x1", text, published_at=recent)], source="t")
        raise RuntimeError("the caller's transaction fails after the batch")
    assert not Topic.objects.exists()
    services.ingest([post("x2", text + "！", published_at=recent)], source="t")
    stored = Post.objects.get()
    assert Topic.objects.filter(pk=stored.topic_id).exists()
    assert TopicBucket.objects.get().topic_id == stored.topic_id


def test_few_posts_stay_latent():
    services.ingest([post("1", "青山县山体滑坡，道路中断")], source="t")
    assert Topic.objects.get().stage == Stage.LATENT
