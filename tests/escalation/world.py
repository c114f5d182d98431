"""A cast for the routing, obligation and escalation tests: a province above the city.

江南省委办公厅 (province office: 值班员)
└── 临江市委办公室 (city office: 值班员 ×2, 单位领导, 领导小组组长, 舆情分析员, 管理员)
    ├── 江口县委办公室 (county office: 值班员 ×2 on a shift with a 带班领导)
    │   ├── 江口县应急管理局 (信息员, 单位领导: its reports need sign-off)
    │   └── 江口县生态环境局 (信息员 only: no leader, so its reports go at once)
    └── 河西县委办公室 (another county, for "outside the tree")

Built once per test module inside a transaction rolled back at the end, like
tests/events/world.py (whose helpers it uses); each test runs in a savepoint of its own.
"""

from datetime import timedelta
from typing import Any

from django.db import transaction

from fenghuo.core import clock
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, Event, ReportKind
from fenghuo.org import services as org_services
from fenghuo.org.models import AdminLevel, Role
from tests.conftest import SYSTEM
from tests.events.world import _person, _unit, principal

NARRATIVE = "江口县化工园区临江化工厂一车间发生爆炸，现场有人员被困，消防已到场处置。"


def build_world() -> dict[str, Any]:
    province = _unit(
        "江南省委办公厅", None, "990000", level=AdminLevel.PROVINCE, is_receiving_office=True
    )
    city = _unit(
        "临江市委办公室", province, "990100", level=AdminLevel.CITY, is_receiving_office=True
    )
    county = _unit("江口县委办公室", city, "990121", is_receiving_office=True)
    other = _unit("河西县委办公室", city, "990122", is_receiving_office=True)
    emergency = _unit("江口县应急管理局", county, "990121", kind="emergency")
    environment = _unit("江口县生态环境局", county, "990121", kind="environment")
    people = {
        "province_duty": _person("province_duty", province, Role.DUTY_OFFICER, full_name="省值班"),
        "city_duty": _person("city_duty", city, Role.DUTY_OFFICER, full_name="市值班"),
        "city_backup": _person("city_backup", city, Role.DUTY_OFFICER, full_name="市备班"),
        "city_leader": _person("city_leader", city, Role.UNIT_LEADER, full_name="市领导"),
        "group_leader": _person("group_leader", city, Role.GROUP_LEADER),
        "analyst": _person("analyst", city, Role.ANALYST),
        "city_admin": _person("city_admin", city, Role.ADMIN),
        "county_duty": _person("county_duty", county, Role.DUTY_OFFICER, full_name="县主班"),
        "county_backup": _person("county_backup", county, Role.DUTY_OFFICER, full_name="县备班"),
        "county_leader": _person("county_leader", county, Role.UNIT_LEADER, full_name="县带班"),
        "other_duty": _person("other_duty", other, Role.DUTY_OFFICER),
        "emergency": _person("emergency_reporter", emergency, Role.REPORTER, full_name="李信息"),
        "emergency_leader": _person(
            "emergency_leader", emergency, Role.UNIT_LEADER, full_name="王局长"
        ),
        "environment": _person("environment_reporter", environment, Role.REPORTER),
    }
    moment = clock.now()
    org_services.shift_create(
        SYSTEM,
        office=county,
        starts_at=moment - timedelta(days=2),
        ends_at=moment + timedelta(days=2),
        primary=people["county_duty"],
        backup=people["county_backup"],
        leader=people["county_leader"],
    )
    return {
        "province": province,
        "city": city,
        "county": county,
        "other": other,
        "emergency": emergency,
        "environment": environment,
        "people": people,
    }


def module_world(django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def file_report(
    world: dict,
    who: str = "emergency",
    *,
    unit: str | None = None,
    kind: str = ReportKind.FIRST,
    event: Event | None = None,
    category: str = "hazchem",
    channel: str = Channel.WEB,
    **data: Any,
):
    """A report by `who` for `unit` (their own by default); a first report unless told."""
    values: dict[str, Any] = {"narrative": NARRATIVE, **data}
    if kind == ReportKind.FIRST:
        values = {
            "title": "江口县化工园区发生爆炸",
            "category": EventCategory.objects.get(code=category),
            "occurred_at": clock.now() - timedelta(minutes=20),
            "division_code": "990121",
            "place": "江口县化工园区临江化工厂",
            **values,
        }
    return event_services.file_report(
        principal(world, who),
        unit=world[unit or who],
        kind=kind,
        channel=channel,
        data=values,
        event=event,
    )
