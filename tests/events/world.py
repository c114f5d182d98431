"""A cast for the verification, consultation and document tests.

临江市委办公室 (city office: 值班员, 领导小组组长, 舆情分析员, 专家 …)
├── 江口县委办公室 (county office) ── 应急管理局 / 生态环境局 / 卫生健康局 / 公安局
└── 河西县委办公室 (another county office, for "outside the tree")

Built once per test module inside a transaction that is rolled back at the end (see
`module_world`); each test runs in a savepoint of its own, as in tests/org.
"""

from datetime import timedelta
from typing import Any

from django.db import transaction

from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services
from fenghuo.events.models import Channel, ReportKind
from fenghuo.org import services as org_services
from fenghuo.org.models import AdminLevel, Person, Role, Unit, UnitKind
from fenghuo.org.policy import principal_for
from tests.conftest import SYSTEM

NARRATIVE = (
    "11月23日9时10分，江口县化工园区临江化工厂一车间发生爆炸，现场有人员被困，消防已到场处置。"
)


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


def _person(username: str, unit: Unit, *roles: str, full_name: str = "") -> Person:
    person = org_services.person_create(
        SYSTEM, username=username, full_name=full_name or username, unit=unit
    )
    for role in roles:
        org_services.membership_grant(SYSTEM, person=person, unit=unit, role=role)
    return Person.objects.get(pk=person.pk)


def build_world() -> dict[str, Any]:
    city = _unit("临江市委办公室", None, "990100", level=AdminLevel.CITY, is_receiving_office=True)
    county = _unit("江口县委办公室", city, "990121", is_receiving_office=True, phone="0999-1234567")
    other = _unit("河西县委办公室", city, "990122", is_receiving_office=True)
    depts = {
        "emergency": _unit("江口县应急管理局", county, "990121", kind="emergency"),
        "environment": _unit("江口县生态环境局", county, "990121", kind="environment"),
        "health": _unit("江口县卫生健康局", county, "990121", kind="health"),
        "public_security": _unit("江口县公安局", county, "990121", kind="public_security"),
    }
    people = {
        "county": _person("county_reporter", county, Role.REPORTER, full_name="陈信息"),
        "city_duty": _person("city_duty", city, Role.DUTY_OFFICER),
        **{key: _person(f"{key}_reporter", unit, Role.REPORTER) for key, unit in depts.items()},
        "county_duty": _person("county_duty", county, Role.DUTY_OFFICER),
        "county_leader": _person("county_leader", county, Role.UNIT_LEADER, full_name="张县"),
        "other_duty": _person("other_duty", other, Role.DUTY_OFFICER),
        "group_leader": _person("group_leader", city, Role.GROUP_LEADER),
        "analyst": _person("analyst", city, Role.ANALYST),
        "emergency_leader": _person(
            "emergency_leader", depts["emergency"], Role.UNIT_LEADER, full_name="李应急"
        ),
        "emergency_duty": _person("emergency_duty", depts["emergency"], Role.DUTY_OFFICER),
        "emergency_admin": _person("emergency_admin", depts["emergency"], Role.ADMIN),
        "health_leader": _person("health_leader", depts["health"], Role.UNIT_LEADER),
        "health_admin": _person("health_admin", depts["health"], Role.ADMIN),
        "expert": _person("expert", city, Role.EXPERT, full_name="王化工"),
        "pool_expert": _person("pool_expert", city, full_name="赵环境"),
        "other_expert": _person("other_expert", city, Role.EXPERT),
    }
    org_services.expert_create(
        SYSTEM, person=people["pool_expert"], affiliation="省环境科学研究院", specialties=[]
    )
    return {"city": city, "county": county, "other": other, **depts, "people": people}


def module_world(django_db_blocker):
    """Body of a module-scoped `world` fixture: build, hand out, roll back."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def file_first(
    world: dict,
    who: str = "environment",
    *,
    unit: str | None = None,
    mark: int = Confidentiality.INTERNAL,
    **data: Any,
):
    """A first report by `who` for `unit` (their own by default), one hour ago."""
    values = {
        "title": "江口县化工园区发生爆炸",
        "category": EventCategory.objects.get(code="hazchem"),
        "occurred_at": clock.now() - timedelta(hours=1),
        "division_code": "990121",
        "place": "江口县化工园区临江化工厂",
        "narrative": NARRATIVE,
        "confidentiality": mark,
        **data,
    }
    return services.file_report(
        principal(world, who),
        unit=world[unit or who],
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data=values,
    )


def principal(world: dict, who: str):
    if who == "superuser":
        return SYSTEM
    return principal_for(Person.objects.get(pk=world["people"][who].pk))
