"""Building the drills' world through the real services."""

from dataclasses import dataclass

from fenghuo import demo
from fenghuo.org.demo import DEMO_PASSWORD as PASSWORD
from fenghuo.org.models import Person, Unit
from fenghuo.org.policy import Principal, principal_for

__all__ = ["PASSWORD", "World", "build"]


@dataclass
class World:
    units: dict[str, Unit]
    people: dict[str, Person]

    def principal(self, username: str) -> Principal:
        return principal_for(Person.objects.get(username=username))


def build() -> World:
    """The demo as `fenghuo seed-demo` loads it: the province, its people (the city's
    leading group too, which issues yellow and blue warnings), two real reports — one of
    them about the very plant the chemical drill explodes — and the opinion scheme."""
    demo.seed()
    units = {u.name: u for u in Unit.objects.all()}
    return World(units, {p.username: p for p in Person.objects.all()})
