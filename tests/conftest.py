"""Shared fixtures: build small organisation trees through the real services."""

import itertools

import pytest

from fenghuo.org.models import AdminLevel, Person, Unit, UnitKind
from fenghuo.org.policy import Principal, principal_for

_codes = itertools.count(1)

SYSTEM = Principal(person_id=None, grants=(), is_superuser=True, label="测试系统")


@pytest.fixture
def system() -> Principal:
    """A superuser principal for setting up data through the services."""
    return SYSTEM


@pytest.fixture
def make_unit(db):
    from fenghuo.org import services

    def make(
        name: str,
        parent: Unit | None = None,
        *,
        level: str = AdminLevel.COUNTY,
        kind: str = "gov_office",
        division_code: str | None = None,
        **extra,
    ) -> Unit:
        code = division_code or f"{990000 + next(_codes):06d}"
        unit = services.unit_create(
            SYSTEM,
            parent=parent,
            name=name,
            level=level,
            kind=UnitKind.objects.get(code=kind),
            division_code=code,
            **extra,
        )
        unit.refresh_from_db()
        return unit

    return make


@pytest.fixture
def make_person(db):
    from fenghuo.org import services

    def make(
        username: str,
        unit: Unit,
        *roles: str,
        password: str = "pw-Fenghuo-2026",
        **extra,
    ) -> Person:
        person = services.person_create(
            SYSTEM,
            username=username,
            full_name=extra.pop("full_name", username),
            unit=unit,
            password=password,
            **extra,
        )
        for role in roles:
            services.membership_grant(SYSTEM, person=person, unit=unit, role=role)
        return Person.objects.get(pk=person.pk)

    return make


@pytest.fixture
def principal_of():
    def of(person: Person) -> Principal:
        return principal_for(Person.objects.get(pk=person.pk))

    return of


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is deliberately slow; tests hash many passwords, so use a fast hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """The suite signs in and calls the API far faster than a person; rate limits are
    switched on by the tests about them (tests/security/test_rate_limits.py)."""
    settings.FENGHUO_RATELIMITS = {}
