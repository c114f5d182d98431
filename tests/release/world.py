"""A cast for the release tests.

示范省委办公厅 (province: 领导小组 组长 / 副组长 / 成员 / 办公室, 值班员)
├── 省委宣传部 (propaganda: 单位领导 approves for the whole province)
└── 临江市委办公室 (city, receiving office: 值班员)
    ├── 江口县委办公室 (county: 领导小组组长 of the county, 值班员, 信息员, 单位领导)
    │   └── 江口县应急管理局 (the issuing body: 信息员, 单位领导, 值班员, 管理员, 专家)
    └── 河西县委办公室 (another county: its own 领导小组办公室 and 宣传部)
        └── 河西县委宣传部

Built once per test module inside a transaction rolled back at the end; each test runs
in a savepoint of its own (pytest-django), as in tests/events.
"""

from datetime import timedelta
from typing import Any

from django.db import transaction

from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, Event, ReportKind
from fenghuo.org import services as org_services
from fenghuo.org.models import AdminLevel, Person, Role, Unit, UnitKind
from fenghuo.org.policy import Principal, principal_for
from fenghuo.release import services
from fenghuo.release.models import ReleaseVersion
from tests.conftest import SYSTEM

NARRATIVE = "11月23日9时10分，江口县化工园区临江化工厂一车间发生爆炸，消防救援队伍已到场处置。"
SECRET = "涉事企业负责人系某领导亲属"  # only in a 敏感 report: never in a release
PARTS = {
    "title": "关于江口县化工园区爆炸事故的情况通报",
    "place": "江口县化工园区临江化工厂",
    "overview": "江口县化工园区临江化工厂一车间发生爆炸，现场明火已扑灭。",
    "cause": "",
    "impact": "事故造成1人死亡、4人受伤，周边500米范围内群众已疏散。",
    "measures": "县政府已启动应急响应，消防、医疗、环保等部门在现场处置，伤员均已送医救治。",
    "advice": "请周边群众关闭门窗、减少外出，以官方发布信息为准，不信谣、不传谣。",
    "contact": "江口县应急管理局　电话：0999-1234567",
}


def _unit(name: str, parent: Unit | None, code: str, kind: str = "gov_office", **extra) -> Unit:
    unit = org_services.unit_create(
        SYSTEM,
        parent=parent,
        name=name,
        level=extra.pop("level", AdminLevel.COUNTY),
        kind=UnitKind.objects.get(code=kind),
        division_code=code,
        **extra,
    )
    unit.refresh_from_db()
    return unit


def _person(username: str, unit: Unit, *roles: str) -> Person:
    person = org_services.person_create(
        SYSTEM, username=username, full_name=username, unit=unit, password="pw-Fenghuo-2026"
    )
    for role in roles:
        org_services.membership_grant(SYSTEM, person=person, unit=unit, role=role)
    return Person.objects.get(pk=person.pk)


def build_world() -> dict[str, Any]:
    province = _unit("示范省委办公厅", None, "990000", "party_office", level=AdminLevel.PROVINCE)
    prop = _unit("中共示范省委宣传部", province, "990000", "propaganda", level=AdminLevel.PROVINCE)
    city = _unit(
        "临江市委办公室", province, "990100", level=AdminLevel.CITY, is_receiving_office=True
    )
    county = _unit("江口县委办公室", city, "990121", is_receiving_office=True)
    em = _unit("江口县应急管理局", county, "990121", "emergency", phone="0999-1234567")
    other = _unit("河西县委办公室", city, "990122", is_receiving_office=True)
    other_prop = _unit("中共河西县委宣传部", other, "990122", "propaganda")
    people = {
        "group_leader": _person("group_leader", province, Role.GROUP_LEADER),
        "group_deputy": _person("group_deputy", province, Role.GROUP_DEPUTY),
        "group_member": _person("group_member", province, Role.GROUP_MEMBER),
        "group_office": _person("group_office", province, Role.GROUP_OFFICE),
        "prov_duty": _person("prov_duty", province, Role.DUTY_OFFICER),
        "prop_leader": _person("prop_leader", prop, Role.UNIT_LEADER),
        "prop_reporter": _person("prop_reporter", prop, Role.REPORTER),
        "city_duty": _person("city_duty", city, Role.DUTY_OFFICER),
        "county_group": _person("county_group", county, Role.GROUP_LEADER),
        "county_duty": _person("county_duty", county, Role.DUTY_OFFICER),
        "county_leader": _person("county_leader", county, Role.UNIT_LEADER),
        "reporter": _person("reporter", em, Role.REPORTER),
        "em_leader": _person("em_leader", em, Role.UNIT_LEADER),
        "em_duty": _person("em_duty", em, Role.DUTY_OFFICER),
        "em_admin": _person("em_admin", em, Role.ADMIN),
        "expert": _person("expert", em, Role.EXPERT),
        "other_office": _person("other_office", other, Role.GROUP_OFFICE),
        "other_prop_leader": _person("other_prop_leader", other_prop, Role.UNIT_LEADER),
        "other_duty": _person("other_duty", other, Role.DUTY_OFFICER),
    }
    units = {
        "province": province,
        "prop": prop,
        "city": city,
        "county": county,
        "em": em,
        "other": other,
        "other_prop": other_prop,
    }
    return {**units, "people": people}


def module_world(django_db_blocker):
    """Body of a module-scoped `world` fixture: build, hand out, roll back."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def principal(world: dict, who: str) -> Principal:
    if who == "superuser":
        return SYSTEM
    return principal_for(Person.objects.get(pk=world["people"][who].pk))


def file_event(world: dict, *, sensitive: bool = False, **data: Any) -> Event:
    """The explosion, as 江口县应急管理局 reports it (1 dead, 4 injured, 500 evacuated);
    with `sensitive`, the county office adds a 敏感 report with other words and figures."""
    values = {
        "title": "江口县化工园区发生爆炸",
        "category": EventCategory.objects.get(code="hazchem"),
        "occurred_at": clock.now() - timedelta(hours=1),
        "division_code": "990121",
        "place": "江口县化工园区临江化工厂",
        "narrative": NARRATIVE,
        "measures": "已疏散周边群众，封闭园区道路。",
        "dead": 1,
        "injured": 4,
        "evacuated": 500,
        "confidentiality": Confidentiality.INTERNAL,
        **data,
    }
    filed = event_services.file_report(
        principal(world, "reporter"),
        unit=world["em"],
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data=values,
    )
    event = filed.event
    if sensitive:
        event_services.file_report(
            principal(world, "county_duty"),
            unit=world["county"],
            kind=ReportKind.FOLLOWUP,
            channel=Channel.WEB,
            event=event,
            data={
                "narrative": f"{SECRET}，现场另有3人被困。",
                "place": "临江化工厂三号仓库（内部）",
                "cause": SECRET,
                "dead": 3,
                "confidentiality": Confidentiality.SENSITIVE,
            },
        )
    return Event.objects.get(pk=event.pk)


def draft(
    world: dict, event: Event, who: str = "reporter", *, is_drill: bool = False, **parts: Any
) -> ReleaseVersion:
    """A complete first draft by `who` for 江口县应急管理局 (override any part)."""
    data = {**PARTS, "occurred_at": event.occurred_at, **parts}
    return services.create_release(
        principal(world, who), event=event, unit=world["em"], data=data, is_drill=is_drill
    )


def published(world: dict, event: Event, *, is_drill: bool = False, **parts: Any) -> ReleaseVersion:
    """A draft submitted by the reporter, approved and published by the group office."""
    version = draft(world, event, is_drill=is_drill, **parts)
    services.submit(principal(world, "reporter"), version)
    return services.approve_and_publish(principal(world, "group_office"), version)
