"""A cast for the response tests.

临江市委办公室 (city office: 值班员, 单位领导; the leading group: 组长, 副组长, 成员 ×2,
│              办公室主任; 舆情分析员)
├── 临江市应急管理局 (the city's emergency department: 单位领导 — hazchem's 主管部门)
├── 江口县委办公室 (county office: 值班员, 单位领导)
│   ├── 江口县应急管理局 (信息员, 单位领导: reports the explosion)
│   ├── 江口县公安局 (信息员, 单位领导: gets tasks)
│   └── 江口县卫生健康局 (信息员: another department)
└── 河西县委办公室 (another county: 值班员)

Built once per test module inside a transaction rolled back at the end (as in
tests/events/world.py, whose helpers it uses); each test runs in a savepoint of its own.
"""

from datetime import timedelta
from typing import Any

from django.db import transaction

from fenghuo.core import clock
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, Event, ReportKind
from fenghuo.org.models import AdminLevel, Role
from fenghuo.response import services
from fenghuo.response.models import Response, Task
from tests.events.world import _person, _unit, principal

NARRATIVE = "江口县化工园区临江化工厂一车间发生爆炸，现场有人员被困，消防已到场处置。"


def build_world() -> dict[str, Any]:
    city = _unit("临江市委办公室", None, "990100", level=AdminLevel.CITY, is_receiving_office=True)
    city_em = _unit("临江市应急管理局", city, "990100", kind="emergency", level=AdminLevel.CITY)
    county = _unit("江口县委办公室", city, "990121", is_receiving_office=True)
    other = _unit("河西县委办公室", city, "990122", is_receiving_office=True)
    emergency = _unit("江口县应急管理局", county, "990121", kind="emergency")
    police = _unit("江口县公安局", county, "990121", kind="public_security")
    health = _unit("江口县卫生健康局", county, "990121", kind="health")
    people = {
        "city_duty": _person("city_duty", city, Role.DUTY_OFFICER, full_name="市值班"),
        "city_leader": _person("city_leader", city, Role.UNIT_LEADER, full_name="市委秘书长"),
        "group_leader": _person("group_leader", city, Role.GROUP_LEADER, full_name="周组长"),
        "group_deputy": _person("group_deputy", city, Role.GROUP_DEPUTY, full_name="吴副组长"),
        "member_a": _person("member_a", city, Role.GROUP_MEMBER, full_name="郑成员"),
        "member_b": _person("member_b", city, Role.GROUP_MEMBER, full_name="王成员"),
        "group_office": _person("group_office", city, Role.GROUP_OFFICE, full_name="钱主任"),
        "analyst": _person("analyst", city, Role.ANALYST),
        "city_em_head": _person("city_em_head", city_em, Role.UNIT_LEADER, full_name="何局长"),
        "county_duty": _person("county_duty", county, Role.DUTY_OFFICER, full_name="县值班"),
        "county_leader": _person("county_leader", county, Role.UNIT_LEADER, full_name="马主任"),
        "other_duty": _person("other_duty", other, Role.DUTY_OFFICER),
        "emergency": _person("emergency_reporter", emergency, Role.REPORTER, full_name="李信息"),
        "emergency_leader": _person("emergency_leader", emergency, Role.UNIT_LEADER),
        "police": _person("police_reporter", police, Role.REPORTER, full_name="公安信息员"),
        "police_leader": _person("police_leader", police, Role.UNIT_LEADER, full_name="赵局长"),
        "health": _person("health_reporter", health, Role.REPORTER),
    }
    return {
        "city": city,
        "city_em": city_em,
        "county": county,
        "other": other,
        "emergency": emergency,
        "police": police,
        "health": health,
        "people": people,
    }


def module_world(django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def file_event(
    world: dict, who: str = "emergency", category: str = "hazchem", **data: Any
) -> Event:
    """A first report by `who` for their own unit, twenty minutes after the fact."""
    values = {
        "title": "江口县化工园区发生爆炸",
        "category": EventCategory.objects.get(code=category),
        "occurred_at": clock.now() - timedelta(minutes=20),
        "division_code": "990121",
        "place": "江口县化工园区临江化工厂",
        "narrative": NARRATIVE,
        **data,
    }
    return event_services.file_report(
        principal(world, who),
        unit=world[who],
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data=values,
    ).event


def start(
    world: dict, event: Event, level: int = 3, who: str = "city_duty", **kwargs: Any
) -> Response:
    return services.start_response(
        principal(world, who), event=event, level=level, reason="现场仍有人员被困", **kwargs
    )


def assign(
    world: dict, response: Response, unit: str = "police", hours: int = 2, who: str = "city_duty"
) -> Task:
    return services.create_task(
        principal(world, who),
        response,
        title="封控现场、疏散周边群众",
        unit=world[unit],
        due_at=clock.now() + timedelta(hours=hours),
        description="设置警戒线，疏散半径 1 公里",
    )
