"""Building the drills' world through the real services."""

from dataclasses import dataclass

from fenghuo.opinion import services as opinion_services
from fenghuo.opinion.models import WarningRule
from fenghuo.org import demo as org_demo
from fenghuo.org import services as org_services
from fenghuo.org.models import Person, Role, Unit
from fenghuo.org.policy import Principal, principal_for

SEEDER = Principal(person_id=None, grants=(), is_superuser=True, label="测试")
PASSWORD = "pw-Fenghuo-2026"
EXPRESSION = "(示范省 OR 临江 OR 江口 OR 青山) AND (爆炸 OR 中毒 OR 学校 OR 暴雨 OR 洪水)"


@dataclass
class World:
    units: dict[str, Unit]
    people: dict[str, Person]

    def principal(self, username: str) -> Principal:
        return principal_for(Person.objects.get(username=username))


def _person(username: str, name: str, unit: Unit, role: str) -> Person:
    person = org_services.person_create(
        SEEDER, username=username, full_name=name, unit=unit, password=PASSWORD
    )
    org_services.membership_grant(SEEDER, person=person, unit=unit, role=role)
    return person


def build() -> World:
    org_demo.seed(days=2)
    units = {u.name: u for u in Unit.objects.all()}
    # The demo city office has no leading group: yellow and blue warnings are the city's.
    _person("lj_zuzhang", "陈市组长", units["中共临江市委办公室"], Role.GROUP_LEADER)
    _person("lj_ban", "马市办", units["中共临江市委办公室"], Role.GROUP_OFFICE)
    # The cyberspace office watches the province's posts (the demo has the analyst only).
    scheme = opinion_services.scheme_create(
        principal_for(Person.objects.get(username="yuqing")),
        name="全省突发事件监测",
        expression_text=EXPRESSION,
        owner_unit=units["中共示范省委网信办"],
    )
    WarningRule.objects.create(scheme=scheme, colour="yellow", min_posts=15)
    WarningRule.objects.create(scheme=scheme, colour="orange", min_posts=30, min_negative_share=0.5)
    for person in Person.objects.all():
        person.set_password(PASSWORD)
        person.save(update_fields=["password"])
    people = {p.username: p for p in Person.objects.all()}
    return World(units, people)
