"""Demo data for a first look: the demo province (org.demo) plus a few reports filed
through the real services, so grading, routing, obligations and the duty desk have
something to show, and online posts through the opinion pipeline. Composes every app, so it
sits at the top like urls.py and api.py."""

from datetime import timedelta

from django.db import transaction

from fenghuo.core import clock
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, ReportKind
from fenghuo.opinion import services as opinion_services
from fenghuo.org import demo as org_demo
from fenghuo.org.models import Person, Unit
from fenghuo.org.policy import principal_for

# (reporter username, unit name, minutes ago, fields)
REPORTS = [
    (
        "huagong",
        "临江化工集团有限公司",
        40,
        {
            "title": "临江化工集团江口分厂发生爆炸",
            "category": "hazchem",
            "division_code": "990121",
            "place": "江口县化工园区临江化工集团江口分厂三车间",
            "subjects": "三车间当班工人",
            "narrative": "三车间反应釜发生爆炸并引发火情，现场有人员被困，消防救援队伍已到场处置。",
            "dead": 3,
            "injured": 8,
            "measures": "已疏散周边群众，封闭园区道路，医疗救护组已到场。",
            "source": "企业安全环保部现场报告",
        },
    ),
    (
        "jk_xinxi",
        "中共江口县委办公室",
        25,
        {
            "title": "江口县G318国道江口镇段两车相撞",
            "category": "road_traffic",
            "division_code": "990121",
            "place": "江口县G318国道江口镇段",
            "narrative": "一辆货车与一辆小客车相撞，交警已封闭事故路段，伤员已送医救治。",
            "dead": 1,
            "injured": 2,
            "source": "县交警大队",
        },
    ),
]


# (platform, minutes ago, division code, author followers, text): online posts about the
# demo's events, so the opinion pages (topics, charts, the map by division) show something.
POSTS = [
    (
        "weibo",
        38,
        "990121",
        1200,
        "江口县化工园区传来巨响，临江化工厂那边冒起很高的黑烟，窗户都在震",
    ),
    ("weibo", 36, "990121", 300, "江口县化工厂爆炸了？黑烟好大，附近的朋友注意安全"),
    ("video", 35, "990121", 56000, "实拍江口县化工园区爆炸现场，浓烟滚滚，消防车一辆接一辆赶过去"),
    ("weibo", 33, "990121", 80, "江口化工厂爆炸，听说有人被困，太吓人了，希望都平安"),
    (
        "forum",
        31,
        "990121",
        15,
        "化工园区离小区才两公里，爆炸这么大，空气里一股刺鼻气味，到底有没有毒",
    ),
    ("wechat", 30, "990121", 9000, "江口县化工园区一企业发生爆炸，应急、消防等部门已赶赴现场处置"),
    ("weibo", 28, "990121", 40, "江口化工厂又出事了，去年就有人投诉过，监管到底在干什么"),
    ("news", 26, "990100", 250000, "临江市江口县化工园区发生爆炸事故，伤亡情况正在核实中"),
    ("weibo", 24, "990121", 600, "江口县爆炸现场附近道路已经封闭，大家绕行，不要围观"),
    ("weibo", 22, "990102", 120, "城关区也能看到江口那边的黑烟，化工厂爆炸的消息是真的吗"),
    ("weibo", 20, "990121", 35, "G318国道江口镇段两车相撞，路堵了好长一段"),
    ("forum", 18, "990121", 10, "G318江口段车祸，交警已经在现场，大家出行注意"),
    ("weibo", 15, "990221", 900, "青山县今天空气不错，周末去青山水库走走"),
]


@transaction.atomic
def seed() -> dict[str, int]:
    """The demo province and its first reports; nothing when already there."""
    counts = org_demo.seed()
    if not counts["units"]:
        return {**counts, "reports": 0, "posts": 0}
    now = clock.now()
    for username, unit_name, minutes, fields in REPORTS:
        person = Person.objects.get(username=username)
        data = {**fields, "category": EventCategory.objects.get(code=fields["category"])}
        data["occurred_at"] = now - timedelta(minutes=minutes + 15)
        event_services.file_report(
            principal_for(person),
            unit=Unit.objects.get(name=unit_name),
            kind=ReportKind.FIRST,
            channel=Channel.WEB,
            data=data,
            received_at=now - timedelta(minutes=minutes),
        )
    opinion_services.ingest(
        (
            {
                "platform": platform,
                "post_id": f"demo-{number}",
                "text": text,
                "published_at": (now - timedelta(minutes=minutes)).isoformat(),
                "division_code": division,
                "author": f"网友{number:03d}",
                "author_followers": followers,
            }
            for number, (platform, minutes, division, followers, text) in enumerate(POSTS, 1)
        ),
        source="演示数据",
    )
    return {**counts, "reports": len(REPORTS), "posts": len(POSTS)}
