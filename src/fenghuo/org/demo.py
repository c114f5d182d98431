"""The demo province (示范省): a fictional organisation with people for every role.

Division codes start with 99, which GB/T 2260 does not assign, so demo data can never be
mistaken for a real place.
"""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from fenghuo.core import clock
from fenghuo.org import services
from fenghuo.org.models import AdminLevel, Division, Person, Role, Specialty, Unit, UnitKind
from fenghuo.org.policy import Principal

DEMO_PASSWORD = "Fenghuo@2026"
SEEDER = Principal(person_id=None, grants=(), is_superuser=True, label="演示数据")

# One row per unit reads better than wrapped tuples.
# fmt: off
# (key, parent key, name, level, kind, division code, direct point, receiving office, phone)
UNITS = [
    ("prov", None, "示范省委办公厅", AdminLevel.PROVINCE, "party_office", "990000", False, True, "0990-1000000"),
    ("prov_gov", "prov", "示范省人民政府办公厅", AdminLevel.PROVINCE, "gov_office", "990000", False, True, "0990-1000001"),
    ("prov_em", "prov", "示范省应急管理厅", AdminLevel.PROVINCE, "emergency", "990000", False, False, "0990-1000002"),
    ("prov_ps", "prov", "示范省公安厅", AdminLevel.PROVINCE, "public_security", "990000", False, False, ""),
    ("prov_health", "prov", "示范省卫生健康委员会", AdminLevel.PROVINCE, "health", "990000", False, False, ""),
    ("prov_env", "prov", "示范省生态环境厅", AdminLevel.PROVINCE, "environment", "990000", False, False, ""),
    ("prov_tr", "prov", "示范省交通运输厅", AdminLevel.PROVINCE, "transport", "990000", False, False, ""),
    ("prov_edu", "prov", "示范省教育厅", AdminLevel.PROVINCE, "education", "990000", False, False, ""),
    ("prov_prop", "prov", "中共示范省委宣传部", AdminLevel.PROVINCE, "propaganda", "990000", False, False, ""),
    ("prov_cac", "prov", "中共示范省委网信办", AdminLevel.PROVINCE, "cyberspace", "990000", False, False, ""),
    ("media", "prov", "示范日报社", AdminLevel.PROVINCE, "media", "990000", True, False, ""),
    ("univ", "prov", "示范大学", AdminLevel.PROVINCE, "university", "990000", True, False, ""),
    ("chem", "prov", "临江化工集团有限公司", AdminLevel.CITY, "enterprise", "990100", True, False, "0990-2300000"),
    ("lj", "prov", "中共临江市委办公室", AdminLevel.CITY, "party_office", "990100", False, True, "0990-2000000"),
    ("lj_em", "lj", "临江市应急管理局", AdminLevel.CITY, "emergency", "990100", False, False, ""),
    ("lj_ps", "lj", "临江市公安局", AdminLevel.CITY, "public_security", "990100", False, False, ""),
    ("lj_health", "lj", "临江市卫生健康委员会", AdminLevel.CITY, "health", "990100", False, False, ""),
    ("lj_env", "lj", "临江市生态环境局", AdminLevel.CITY, "environment", "990100", False, False, ""),
    ("lj_cg", "lj", "中共临江市城关区委办公室", AdminLevel.COUNTY, "party_office", "990102", False, True, ""),
    ("jk", "lj", "中共江口县委办公室", AdminLevel.COUNTY, "party_office", "990121", False, True, "0990-2100000"),
    ("jk_em", "jk", "江口县应急管理局", AdminLevel.COUNTY, "emergency", "990121", False, False, ""),
    ("jk_town", "jk", "江口县江口镇人民政府", AdminLevel.TOWNSHIP, "township", "990121", False, False, ""),
    ("qs", "prov", "中共青山市委办公室", AdminLevel.CITY, "party_office", "990200", False, True, "0990-3000000"),
    ("qs_em", "qs", "青山市应急管理局", AdminLevel.CITY, "emergency", "990200", False, False, ""),
    ("qs_county", "qs", "中共青山县委办公室", AdminLevel.COUNTY, "party_office", "990221", False, True, ""),
]

# (username, full name, unit key, title, roles, staff/superuser)
PEOPLE = [
    ("admin", "系统管理员", "prov", "系统管理员", [Role.ADMIN], True),
    ("sheng_zhiban", "王值守", "prov", "值班员", [Role.DUTY_OFFICER], False),
    ("sheng_zhiban2", "李备勤", "prov", "值班员", [Role.DUTY_OFFICER], False),
    ("sheng_lingdao", "赵主任", "prov", "办公厅副主任", [Role.UNIT_LEADER], False),
    ("zuzhang", "周组长", "prov", "领导小组组长", [Role.GROUP_LEADER], False),
    ("fuzuzhang", "吴副组长", "prov", "领导小组副组长", [Role.GROUP_DEPUTY], False),
    ("chengyuan", "郑成员", "prov", "领导小组成员", [Role.GROUP_MEMBER], False),
    ("bangongshi", "钱秘书", "prov", "领导小组办公室主任", [Role.GROUP_OFFICE], False),
    ("yuqing", "孙舆情", "prov_cac", "舆情分析员", [Role.ANALYST], False),
    ("zhuanjia", "冯专家", "univ", "教授", [Role.EXPERT], False),
    ("sheng_yj", "陈应急", "prov_em", "信息员", [Role.REPORTER], False),
    ("lj_zhiban", "刘值班", "lj", "值班员", [Role.DUTY_OFFICER], False),
    ("lj_zhiban2", "杨值班", "lj", "值班员", [Role.DUTY_OFFICER], False),
    ("lj_lingdao", "黄秘书长", "lj", "市委副秘书长", [Role.UNIT_LEADER], False),
    ("lj_zuzhang", "陈组长", "lj", "市委副书记（领导小组组长）", [Role.GROUP_LEADER], False),
    ("lj_bangongshi", "马秘书", "lj", "市领导小组办公室主任", [Role.GROUP_OFFICE], False),
    ("lj_yj", "林信息", "lj_em", "信息员", [Role.REPORTER], False),
    ("lj_yj_lingdao", "何局长", "lj_em", "局长", [Role.UNIT_LEADER], False),
    ("jk_xinxi", "张信息", "jk", "信息员", [Role.REPORTER], False),
    ("jk_zhiban", "高值班", "jk", "值班员", [Role.DUTY_OFFICER], False),
    ("jk_lingdao", "马主任", "jk", "县委办主任", [Role.UNIT_LEADER], False),
    ("huagong", "罗安全", "chem", "安全环保部信息员", [Role.REPORTER], False),
    ("qs_zhiban", "郭值班", "qs", "值班员", [Role.DUTY_OFFICER], False),
]

# fmt: on

# The demo divisions' map points (code, name, latitude, longitude): fictional places, like
# their 99 codes, so that maps by division have somewhere to put the demo's posts.
DIVISIONS = [
    ("990000", "示范省", 30.60, 112.40),
    ("990100", "临江市", 30.35, 112.20),
    ("990102", "城关区", 30.38, 112.26),
    ("990121", "江口县", 30.12, 111.98),
    ("990200", "青山市", 30.92, 112.78),
    ("990221", "青山县", 31.06, 112.96),
]

# Receiving office → (primary, backup) usernames for alternating shifts.
ROSTER = {
    "prov": ("sheng_zhiban", "sheng_zhiban2", "sheng_lingdao"),
    "lj": ("lj_zhiban", "lj_zhiban2", "lj_lingdao"),
    "jk": ("jk_zhiban", None, "jk_lingdao"),
    "qs": ("qs_zhiban", None, None),
}


def already_seeded() -> bool:
    return Unit.objects.filter(division_code="990000", name=UNITS[0][2]).exists()


@transaction.atomic
def seed(days: int = 7) -> dict[str, int]:
    """Create the demo province; does nothing if it is already there."""
    if already_seeded():
        return {"units": 0, "people": 0, "shifts": 0}
    for code, name, latitude, longitude in DIVISIONS:
        Division.objects.update_or_create(
            code=code, defaults={"name": name, "latitude": latitude, "longitude": longitude}
        )
    kinds = {k.code: k for k in UnitKind.objects.all()}
    units: dict[str, Unit] = {}
    for key, parent, name, level, kind, code, direct, receiving, phone in UNITS:
        units[key] = services.unit_create(
            SEEDER,
            parent=units[parent] if parent else None,
            name=name,
            level=level,
            kind=kinds[kind],
            division_code=code,
            is_direct_point=direct,
            is_receiving_office=receiving,
            phone=phone,
        )
        units[key].refresh_from_db()

    people: dict[str, Person] = {}
    for number, (username, full_name, unit_key, title, roles, superuser) in enumerate(PEOPLE, 1):
        person = services.person_create(
            SEEDER,
            username=username,
            full_name=full_name,
            unit=units[unit_key],
            password=DEMO_PASSWORD,
            title=title,
            mobile=f"139000{number:05d}",
            email=f"{username}@demo.fenghuo.invalid",
            is_staff=superuser,
            is_superuser=superuser,
        )
        for role in roles:
            services.membership_grant(SEEDER, person=person, unit=units[unit_key], role=role)
        people[username] = person

    specialties = [Specialty.objects.get_or_create(name=n)[0] for n in ("危险化学品", "公共卫生")]
    services.expert_create(
        SEEDER, person=people["zhuanjia"], affiliation="示范大学化工学院", specialties=specialties
    )

    shifts = 0
    today = timezone.localtime(clock.now()).date()
    tz = timezone.get_current_timezone()
    for office_key, (primary, backup, leader) in ROSTER.items():
        start = datetime.combine(today - timedelta(days=1), time(8, 0), tzinfo=tz)
        for index in range(days * 2 + 2):
            first, second = (primary, backup) if index % 2 == 0 or not backup else (backup, primary)
            services.shift_create(
                SEEDER,
                office=units[office_key],
                starts_at=start,
                ends_at=start + timedelta(hours=12),
                primary=people[first],
                backup=people[second] if second else None,
                leader=people[leader] if leader else None,
                note="白班" if index % 2 == 0 else "夜班",
            )
            start += timedelta(hours=12)
            shifts += 1
    return {"units": len(units), "people": len(people), "shifts": shifts}
