"""Reads of the organisation, each filtered through the access policy."""

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from django.db.models import Q, QuerySet

from fenghuo.core import clock
from fenghuo.org.models import ApiToken, Division, DutyShift, Membership, Person, Role, Unit
from fenghuo.org.policy import (
    Action,
    Facts,
    Principal,
    administered_q,
    can,
    visible_q,
)

DATA_DIR = Path(__file__).resolve().parent / "data"


def unit_tree() -> QuerySet[Unit]:
    """The whole organisation tree in tree order. Structure is not confidential: every
    signed-in person may see which units exist and their duty phones."""
    return Unit.objects.get_tree().filter(is_active=True).select_related("kind")


def units_administered(principal: Principal) -> QuerySet[Unit]:
    return Unit.objects.filter(administered_q(principal, owner="")).order_by("path")


def units_with_role(principal: Principal, *roles: str) -> QuerySet[Unit]:
    ids = [g.unit_id for g in principal.grants if not roles or g.role in roles]
    return Unit.objects.filter(pk__in=ids).order_by("path")


def contact_facts(person: Person) -> Facts:
    unit = person.unit
    return Facts(
        owner_unit_id=unit.pk if unit else 0,
        owner_unit_path=unit.path if unit else "",
        mark=person.contact_mark,
        author_id=person.pk,
    )


@dataclass(frozen=True)
class Contact:
    """A row of the contacts directory; private details blank where not permitted."""

    person_id: int
    full_name: str
    title: str
    unit_name: str
    office_phone: str
    mobile: str
    details_visible: bool


def contacts(principal: Principal, *, search: str = "") -> list[Contact]:
    """The contacts directory: names, titles and office phones for everyone signed in;
    mobile numbers only where the policy lets the reader see that person's details."""
    people = Person.objects.filter(is_active=True).select_related("unit").order_by("unit__path")
    if search:
        people = people.filter(Q(full_name__contains=search) | Q(unit__name__contains=search))
    readable = set(
        Person.objects.filter(
            visible_q(principal, owner="unit", mark="contact_mark", author="id")
        ).values_list("pk", flat=True)
    )
    return [
        Contact(
            person_id=p.pk,
            full_name=p.full_name,
            title=p.title,
            unit_name=p.unit.name if p.unit else "",
            office_phone=p.office_phone,
            mobile=p.mobile if p.pk in readable else "",
            details_visible=p.pk in readable,
        )
        for p in people
    ]


def shifts_visible(principal: Principal) -> QuerySet[DutyShift]:
    """Roster rows of offices in the reader's scope (rosters are internal)."""
    return (
        DutyShift.objects.filter(visible_q(principal, owner="office", mark=None, author=None))
        .select_related("office", "primary", "backup", "leader")
        .order_by("office__path", "starts_at")
    )


@dataclass(frozen=True)
class OnDuty:
    shift: DutyShift | None
    primary: Person | None
    backup: Person | None
    leader: Person | None


def on_duty(office: Unit, at: datetime | None = None) -> OnDuty:
    """Who is on duty at `office` at `at` (default now). Used by notification routing.

    With no shift covering the moment, the office's duty officers are the fallback:
    a report must never find nobody to notify.
    """
    moment = at or clock.now()
    shift = (
        DutyShift.objects.filter(office=office, starts_at__lte=moment, ends_at__gt=moment)
        .select_related("primary", "backup", "leader")
        .first()
    )
    if shift is not None:
        return OnDuty(shift, shift.primary, shift.backup, shift.leader)
    officers = list(
        Person.objects.filter(
            memberships__unit=office, memberships__role=Role.DUTY_OFFICER, is_active=True
        ).order_by("pk")
    )
    return OnDuty(
        None, officers[0] if officers else None, officers[1] if len(officers) > 1 else None, None
    )


def tokens_visible(principal: Principal) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(administered_q(principal)).select_related("unit", "created_by")


def memberships_of(person: Person) -> QuerySet[Membership]:
    return Membership.objects.filter(person=person).select_related("unit").order_by("unit__path")


def may_administer(principal: Principal, unit: Unit) -> bool:
    return can(
        principal, Action.ADMINISTER, Facts(owner_unit_id=unit.pk, owner_unit_path=unit.path)
    )


@dataclass(frozen=True)
class Point:
    code: str  # the division the point belongs to (maybe a parent of the one asked for)
    name: str
    latitude: float
    longitude: float


@cache
def shipped_divisions() -> dict[str, Point]:
    """The nationwide table shipped with the package (see org/data/README.md), read once:
    3,218 rows, kept out of the database so that it costs no migration or test flush."""
    with (DATA_DIR / "divisions.csv").open(encoding="utf-8") as f:
        return {
            row["code"]: Point(
                row["code"], row["name"], float(row["latitude"]), float(row["longitude"])
            )
            for row in csv.DictReader(f)
        }


def division_points(codes: Iterable[str]) -> dict[str, Point]:
    """A map point for each division code: its own, else its city's ("xxxx00"), else its
    province's ("xx0000"), so a county missing from the tables still lands in the right
    place; the office's own `Division` rows first, then the shipped table. Codes with none
    of these are left out."""
    wanted = {code for code in codes if code}
    candidates = {c for code in wanted for c in (code, code[:4] + "00", code[:2] + "0000")}
    known = shipped_divisions() | {
        d.code: Point(d.code, d.name, d.latitude, d.longitude)
        for d in Division.objects.filter(code__in=candidates)
    }
    points = {}
    for code in wanted:
        for candidate in (code, code[:4] + "00", code[:2] + "0000"):
            if candidate in known:
                points[code] = known[candidate]
                break
    return points
