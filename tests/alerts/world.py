"""A cast for the warning tests: a province, two cities, counties and a bureau.

江南省委办公厅 990000 (province: 领导小组组长, 副组长, 办公室, 成员, 值班员)
├── 临江市委办公室 990100 (city: 组长, 办公室, 成员, 值班员, 信息员, 舆情分析员, 专家)
│   ├── 江口县委办公室 990121 (county: 值班员, 信息员; a webhook robot)
│   │   └── 江口县应急管理局 990121 (值班员)
│   └── 河西县委办公室 990122 (county: 值班员)
└── 临海市委办公室 990200 (another city, outside every area used here: 值班员, 组长)

Built once per module in a transaction rolled back at the end, like tests/events/world.py;
each test runs in a savepoint of its own.
"""

from datetime import timedelta
from typing import Any

from django.db import transaction

from fenghuo.alerts import services
from fenghuo.alerts.models import Warning, WarningLevel
from fenghuo.core import clock
from fenghuo.notify.models import Channel, Endpoint
from fenghuo.org.models import AdminLevel, Role
from tests.events.world import _person, _unit, principal

__all__ = ["build_world", "draft", "issued", "module_world", "principal"]


def build_world() -> dict[str, Any]:
    province = _unit(
        "江南省委办公厅", None, "990000", level=AdminLevel.PROVINCE, is_receiving_office=True
    )
    city = _unit(
        "临江市委办公室", province, "990100", level=AdminLevel.CITY, is_receiving_office=True
    )
    county = _unit("江口县委办公室", city, "990121", is_receiving_office=True)
    bureau = _unit("江口县应急管理局", county, "990121", kind="emergency")
    other = _unit("河西县委办公室", city, "990122", is_receiving_office=True)
    seaside = _unit(
        "临海市委办公室", province, "990200", level=AdminLevel.CITY, is_receiving_office=True
    )
    people = {
        "prov_leader": _person("prov_leader", province, Role.GROUP_LEADER, full_name="省组长"),
        "prov_deputy": _person("prov_deputy", province, Role.GROUP_DEPUTY, full_name="省副组长"),
        "prov_office": _person("prov_office", province, Role.GROUP_OFFICE, full_name="省办公室"),
        "prov_member": _person("prov_member", province, Role.GROUP_MEMBER, full_name="省成员"),
        "prov_duty": _person("prov_duty", province, Role.DUTY_OFFICER, full_name="省值班"),
        "city_leader": _person("city_leader", city, Role.GROUP_LEADER, full_name="市组长"),
        "city_office": _person("city_office", city, Role.GROUP_OFFICE, full_name="市办公室"),
        "city_member": _person("city_member", city, Role.GROUP_MEMBER, full_name="市成员"),
        "city_duty": _person("city_duty", city, Role.DUTY_OFFICER, full_name="市值班"),
        "city_reporter": _person("city_reporter", city, Role.REPORTER, full_name="市信息员"),
        "city_analyst": _person("city_analyst", city, Role.ANALYST, full_name="市分析员"),
        "city_expert": _person("city_expert", city, Role.EXPERT, full_name="市专家"),
        "county_duty": _person("county_duty", county, Role.DUTY_OFFICER, full_name="县值班"),
        "county_reporter": _person("county_reporter", county, Role.REPORTER),
        "bureau_duty": _person("bureau_duty", bureau, Role.DUTY_OFFICER, full_name="局值班"),
        "other_duty": _person("other_duty", other, Role.DUTY_OFFICER, full_name="河西值班"),
        "sea_duty": _person("sea_duty", seaside, Role.DUTY_OFFICER, full_name="临海值班"),
        "sea_leader": _person("sea_leader", seaside, Role.GROUP_LEADER, full_name="临海组长"),
    }
    robot = Endpoint.objects.create(
        kind=Channel.WEBHOOK, name="县值班群", unit=county, url="http://127.0.0.1:9/hook"
    )
    return {
        "province": province,
        "city": city,
        "county": county,
        "bureau": bureau,
        "other": other,
        "seaside": seaside,
        "robot": robot,
        "people": people,
    }


def module_world(django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def content(world: dict, **data: Any) -> dict[str, Any]:
    """A complete rainstorm warning for 江口县, issued by the city (yellow)."""
    moment = clock.now()
    return {
        "category": "weather",
        "event_name": "暴雨",
        "level": WarningLevel.YELLOW,
        "issuing_unit": world["city"],
        "area_codes": ["990121"],
        "starts_at": moment,
        "ends_at": moment + timedelta(hours=24),
        "impact": "预计未来24小时江口县将出现暴雨，局地大暴雨，累计雨量可达150毫米。",
        "cautions": "山区可能发生山洪、泥石流；城市低洼地带易积水。",
        "measures": "停止户外集体活动；危险地带人员撤离；注意防范城市内涝。",
        **data,
    }


def draft(world: dict, who: str = "city_duty", **data: Any) -> Warning:
    return services.create_warning(principal(world, who), content(world, **data))


def issued(world: dict, who: str = "city_duty", approver: str = "city_leader", **data) -> Warning:
    """A draft by `who`, approved and issued by `approver`."""
    warning = draft(world, who, **data)
    services.approve(principal(world, approver), warning)
    return services.issue(principal(world, approver), warning)
