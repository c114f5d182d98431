"""Demo data for a first look: the demo province (org.demo) plus a few reports filed
through the real services, so grading, routing, obligations and the duty desk have
something to show, and a few from the days before (a late sign-off, an accident nobody
local reported, a verified death toll above the reported one, an adopted report), so the
evaluation pages (考核) have something to rank; an opinion monitoring scheme, so the
bundled drill scenarios run against the demo as they are, and online posts through the
opinion pipeline. Composes every app, so it sits at the top like urls.py and api.py."""

from datetime import datetime, timedelta

from django.db import transaction

from fenghuo.assess import services as assess_services
from fenghuo.core import clock
from fenghuo.core.services import audited_save
from fenghuo.criteria.models import EventCategory
from fenghuo.escalation import services as escalation_services
from fenghuo.escalation.models import Route
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, ReportKind, VerificationTask
from fenghuo.opinion import services as opinion_services
from fenghuo.opinion.models import WarningRule
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


# Reports of the days before, for the evaluation pages: (reporter, unit, hours ago, fields).
HISTORY = [
    (
        "lj_yj",
        "临江市应急管理局",
        72,
        {
            "title": "临江市城关区幸福小区电动自行车充电起火",
            "category": "fire",
            "division_code": "990102",
            "place": "临江市城关区幸福小区5栋楼道",
            "subjects": "5栋居民",
            "narrative": "居民在楼道内给电动自行车充电时电池起火，浓烟进入楼道，"
            "消防已扑灭，疏散居民40人。",
            "injured": 2,
            "evacuated": 40,
            "source": "市消防救援支队",
        },
    ),
    (
        "huagong",
        "临江化工集团有限公司",
        48,
        {
            "title": "江口县S205省道化工集团运输车侧翻",
            "category": "road_traffic",
            "division_code": "990121",
            "place": "江口县S205省道K36处",
            "subjects": "集团危化品运输车驾驶员",
            "narrative": "集团一辆空载运输车在弯道侧翻，驾驶员被困后获救，送医途中死亡。",
            "dead": 1,
            "source": "集团车队",
        },
    ),
]


def _history(now: datetime) -> int:
    """The days before: the city emergency bureau's fire report signed off 3½ hours late
    (迟报), adopted by the city office and closed by a final report; the 城关区 office,
    where it burned, never reported it. The chemical group's accident in 江口, which
    neither the county office nor the city police reported, and which the group never
    followed up (漏报 once the worker runs), verified at 2 dead against the 1 reported (a
    concealment suspicion for the province office to confirm)."""
    filed_count = 0
    for username, unit_name, hours, fields in HISTORY:
        person = Person.objects.get(username=username)
        data = {**fields, "category": EventCategory.objects.get(code=fields["category"])}
        received = now - timedelta(hours=hours)
        data["occurred_at"] = received - timedelta(minutes=20)
        with clock.frozen_at(received):
            filed = event_services.file_report(
                principal_for(person),
                unit=Unit.objects.get(name=unit_name),
                kind=ReportKind.FIRST,
                channel=Channel.WEB,
                data=data,
            )
        filed_count += 1
        if username == "lj_yj":
            with clock.frozen_at(received + timedelta(hours=6, minutes=30)):
                route = Route.objects.filter(report=filed.report).first()
                escalation_services.sign_off(
                    principal_for(Person.objects.get(username="lj_yj_lingdao")), route
                )
            with clock.frozen_at(received + timedelta(hours=8)):
                assess_services.adopt(
                    principal_for(Person.objects.get(username="lj_zhiban")),
                    filed.report,
                    note="编入《值班信息》",
                )
            with clock.frozen_at(received + timedelta(hours=30)):
                event_services.file_report(
                    principal_for(person),
                    unit=filed.report.unit,
                    kind=ReportKind.FINAL,
                    channel=Channel.WEB,
                    event=filed.event,
                    data={
                        "narrative": "火情已扑灭，受伤居民经治疗已出院。",
                        "cause": "电动自行车电池在楼道内充电时短路起火。",
                        "handling_summary": "消防救援到场扑灭明火，疏散居民40人。",
                        "aftercare": "开展小区电动自行车充电隐患排查。",
                    },
                )
            filed_count += 1
        else:
            officer = principal_for(Person.objects.get(username="sheng_zhiban"))
            with clock.frozen_at(received + timedelta(hours=3)):
                task = event_services.request_verification(
                    officer,
                    event=filed.event,
                    assignee_unit=Unit.objects.get(name="中共江口县委办公室"),
                    question="请核实死亡人数",
                    due_at=received + timedelta(hours=6),
                )
            with clock.frozen_at(received + timedelta(hours=4)):
                event_services.answer_verification(
                    principal_for(Person.objects.get(username="jk_zhiban")),
                    VerificationTask.objects.get(pk=task.pk),
                    state=VerificationTask.State.CONFIRMED,
                    answer="经核实，共有2人死亡（随车押运员抢救无效）",
                    figures={"dead": 2},
                )
    return filed_count


# The cyberspace office's scheme over the province's places and kinds of emergency, with
# thresholds for yellow and orange opinion warnings (the school-rumour drill needs them).
SCHEME = (
    "全省突发事件监测",
    "(示范省 OR 临江 OR 江口 OR 青山) AND (爆炸 OR 中毒 OR 学校 OR 暴雨 OR 洪水)",
)
WARNING_RULES = [
    {"colour": "yellow", "min_posts": 15},
    {"colour": "orange", "min_posts": 30, "min_negative_share": 0.5},
]


def seed_opinion() -> None:
    """The demo's monitoring scheme and its warning thresholds (audited like the admin)."""
    analyst = Person.objects.get(username="yuqing")
    name, expression = SCHEME
    scheme = opinion_services.scheme_create(
        principal_for(analyst),
        name=name,
        expression_text=expression,
        owner_unit=analyst.unit,
    )
    for rule in WARNING_RULES:
        audited_save(org_demo.SEEDER, WarningRule(scheme=scheme, **rule))


@transaction.atomic
def seed() -> dict[str, int]:
    """The demo province and its first reports; nothing when already there."""
    counts = org_demo.seed()
    if not counts["units"]:
        return {**counts, "reports": 0, "posts": 0}
    now = clock.now()
    earlier = _history(now)
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
    seed_opinion()
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
    return {**counts, "reports": len(REPORTS) + earlier, "posts": len(POSTS)}
