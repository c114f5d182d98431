"""The organisation of the load scenario, built inside Django (no HTTP), and its counts.

A city's 24-hour duty office (市委市政府总值班室, a receiving office) with 20 duty officers
on today's roster, and 200 direct reporting points (直报点) below it — townships, hospitals,
schools, enterprises, police stations and transport stations across ten fictitious
counties — each with a reporter account (信息员) and an API token of its own, as a unit's
reporting system would have. The opinion stream pushes with the duty office's own token (its
monitoring vendor's feeder), matched against 40 monitoring schemes of the office.

`setup_org()` is called by `bench/load/run.py` through `bench/_common.Server(setup=...)` and
by the smoke test in tests/bench; both get the same JSON (usernames, passwords, tokens).
"""

from __future__ import annotations

from datetime import timedelta

CITY = "示范市"
CITY_CODE = "990100"
COUNTIES = [
    ("江口县", "990121"), ("青石县", "990122"), ("柳河县", "990123"), ("白沙县", "990124"),
    ("龙泉县", "990125"), ("云台县", "990126"), ("石门县", "990127"), ("桃源县", "990128"),
    ("金沙县", "990129"), ("凤凰县", "990130"),
]  # fmt: skip
# (unit kind code, level, how a reporting point of that kind is named)
POINT_KINDS = [
    ("township", "township", "{county}{town}人民政府"),
    ("health", "county", "{county}第{n}人民医院"),
    ("education", "county", "{county}第{n}中学"),
    ("enterprise", "county", "{county}{firm}化工有限公司"),
    ("public_security", "township", "{county}公安局{town}派出所"),
    ("transport", "county", "{county}{town}客运站"),
]
TOWNS = [
    "城关镇", "河西镇", "石桥镇", "新店镇", "桃源乡", "马坪镇", "黄岭乡", "清溪镇", "大河镇",
    "双龙镇", "长岗乡", "柏树镇", "金鸡镇", "高峰镇", "水口镇", "沙湾镇", "东岳镇", "白马镇",
]  # fmt: skip
FIRMS = ["恒达", "宏远", "鑫源", "永安", "华兴", "金鼎", "瑞丰", "东方", "明珠", "天宇"]
EVENT_WORDS = "(爆炸 OR 泄漏 OR 火灾 OR 坍塌 OR 滑坡 OR 事故 OR 中毒 OR 洪水)"
POINTS = 200
DUTY_OFFICERS = 20
SCHEMES = 40
PASSWORD = "Load-test-passw0rd!"


def point_names(count: int = POINTS) -> list[tuple[str, str, str, str]]:
    """(name, unit kind, level, county division code) of each reporting point, distinct."""
    points = []
    for i in range(count):
        county, code = COUNTIES[i % len(COUNTIES)]
        kind, level, pattern = POINT_KINDS[(i // len(COUNTIES)) % len(POINT_KINDS)]
        n = i // (len(COUNTIES) * len(POINT_KINDS)) + 1
        name = pattern.format(
            county=county,
            town=TOWNS[(i // len(COUNTIES) + n) % len(TOWNS)],
            n=n,
            firm=FIRMS[n % len(FIRMS)],
        )
        points.append((f"{name}（直报点{i + 1:03d}）", kind, level, code))
    return points


def setup_org(points: int = POINTS, officers: int = DUTY_OFFICERS) -> dict:
    """Runs inside Django over a migrated, empty database; returns what the load needs."""
    from fenghuo.core import clock
    from fenghuo.opinion import services as opinion_services
    from fenghuo.org import services
    from fenghuo.org.models import AdminLevel, Role, UnitKind
    from fenghuo.org.policy import Principal

    system = Principal(person_id=None, grants=(), is_superuser=True, label="load")
    kinds = {k.code: k for k in UnitKind.objects.all()}
    office = services.unit_create(
        system,
        parent=None,
        name=f"{CITY}委市政府总值班室",
        level=AdminLevel.CITY,
        kind=kinds["gov_office"],
        division_code=CITY_CODE,
        is_receiving_office=True,
    )
    duty = []
    for i in range(officers):
        person = services.person_create(
            system,
            username=f"duty{i + 1:02d}",
            full_name=f"值班员{i + 1:02d}",
            unit=office,
            password=PASSWORD,
        )
        services.membership_grant(system, person=person, unit=office, role=Role.DUTY_OFFICER)
        duty.append(person)
    now = clock.now()
    services.shift_create(
        system,
        office=office,
        starts_at=now - timedelta(hours=12),
        ends_at=now + timedelta(hours=12),
        primary=duty[0],
        backup=duty[1] if len(duty) > 1 else None,
    )
    tokens = []
    for i, (name, kind, level, code) in enumerate(point_names(points)):
        unit = services.unit_create(
            system,
            parent=office,
            name=name,
            level=level,
            kind=kinds[kind],
            division_code=code,
        )
        reporter = services.person_create(
            system, username=f"point{i + 1:03d}", full_name=f"信息员{i + 1:03d}", unit=unit
        )
        services.membership_grant(system, person=reporter, unit=unit, role=Role.REPORTER)
        _row, token = services.token_issue(system, unit=unit, name="直报系统")
        tokens.append({"token": token, "unit": name, "division_code": code})
    for i in range(SCHEMES):
        county, _code = COUNTIES[i % len(COUNTIES)]
        town = TOWNS[i % len(TOWNS)]
        opinion_services.scheme_create(
            system,
            name=f"{county}{town}突发事件监测",
            expression_text=f"({county} OR {town}) AND {EVENT_WORDS} NOT 演习",
            owner_unit=office,
        )
    _row, feeder = services.token_issue(system, unit=office, name="舆情监测接入")
    return {
        "points": tokens,
        "officers": [{"username": p.username, "password": PASSWORD} for p in duty],
        "opinion_token": feeder,
        "counties": [name for name, _ in COUNTIES],
    }


def count_rows() -> dict:
    """Runs inside Django after the load: what the database holds."""
    from fenghuo.events.models import Event, Report
    from fenghuo.intake.models import IdempotencyRecord
    from fenghuo.opinion.models import Post

    return {
        "reports": Report.objects.count(),
        "events": Event.objects.count(),
        "idempotency": IdempotencyRecord.objects.count(),
        "posts": Post.objects.count(),
    }
