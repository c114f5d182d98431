"""Demo data for a first look: the demo province (org.demo) plus a few reports filed
through the real services, so grading, routing, obligations and the duty desk have
something to show, and an opinion monitoring scheme, so the bundled drill scenarios run
against the demo as they are. Composes every app, so it sits at the top like urls.py and
api.py."""

from datetime import timedelta

from django.db import transaction

from fenghuo.core import clock
from fenghuo.core.services import audited_save
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, ReportKind
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
        return {**counts, "reports": 0}
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
    seed_opinion()
    return {**counts, "reports": len(REPORTS)}
