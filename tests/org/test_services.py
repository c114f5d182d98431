"""Writes of the organisation: validation named per field in Chinese, permissions, no-ops,
and who is on duty."""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.org import selectors, services
from fenghuo.org.models import (
    AdminLevel,
    ApiToken,
    DutyShift,
    Membership,
    Person,
    Role,
    Unit,
    UnitKind,
)

pytestmark = pytest.mark.django_db

T0 = timezone.make_aware(datetime(2026, 5, 1, 8, 0))
H = timedelta(hours=1)


@pytest.fixture
def org(make_unit, make_person):
    province = make_unit("服务省", level=AdminLevel.PROVINCE)
    city = make_unit("服务市", province, level=AdminLevel.CITY, is_receiving_office=True)
    county = make_unit("服务县", city)
    sibling = make_unit("邻市", province, level=AdminLevel.CITY)

    def person(name, unit, *roles):
        return make_person(name, unit, *roles, password=None)

    return {
        "province": province,
        "city": city,
        "county": county,
        "sibling": sibling,
        "admin": person("city_admin", city, Role.ADMIN),
        "officer": person("officer_a", city, Role.DUTY_OFFICER),
        "officer2": person("officer_b", city, Role.DUTY_OFFICER),
        "leader": person("leader", city, Role.UNIT_LEADER),
        "reporter": person("reporter", city, Role.REPORTER),
    }


def field_errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def assert_field_error(excinfo, field: str, model, *, contains: str | None = None):
    """The error is attached to `field`, and its message names the field in Chinese."""
    errors = field_errors(excinfo)
    assert field in errors, errors
    name = contains or str(model._meta.get_field(field).verbose_name)
    assert any(name in message for message in errors[field]), errors[field]


# --- validation ------------------------------------------------------------------------


# "１１０１０１" is what a Chinese IME types in full-width mode: \d would accept it.
@pytest.mark.parametrize("code", ["11010", "1101011", "11010a", "", "１１０１０１"])
def test_division_code_must_be_six_digits(org, system, code):
    units, entries = Unit.objects.count(), AuditEntry.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        services.unit_create(
            system,
            parent=org["city"],
            name="新县",
            level=AdminLevel.COUNTY,
            kind=UnitKind.objects.get(code="gov_office"),
            division_code=code,
        )
    assert "division_code" in field_errors(excinfo)
    if code:  # "" is the generic required-field message
        assert_field_error(excinfo, "division_code", Unit)
    assert (Unit.objects.count(), AuditEntry.objects.count()) == (units, entries)


def test_duplicate_unit_name_and_code_is_refused(org, system):
    county = org["county"]
    with pytest.raises(ValidationError):
        services.unit_create(
            system,
            parent=org["city"],
            name=county.name,
            level=AdminLevel.COUNTY,
            kind=county.kind,
            division_code=county.division_code,
        )


@pytest.mark.parametrize(
    "mobile", ["1380000000", "23800000000", "138-0000-000", "1３８００００００００"]
)
def test_mobile_must_be_a_mainland_number(org, system, mobile):
    with pytest.raises(ValidationError) as excinfo:
        services.person_create(
            system, username="bad_mobile", full_name="张三", unit=org["city"], mobile=mobile
        )
    assert_field_error(excinfo, "mobile", Person)
    assert not Person.objects.filter(username="bad_mobile").exists()


def _shift(org, principal, starts_at, ends_at, primary=None, **extra):
    return services.shift_create(
        principal,
        office=extra.pop("office", org["city"]),
        starts_at=starts_at,
        ends_at=ends_at,
        primary=primary or org["officer"],
        **extra,
    )


@pytest.mark.parametrize("length", [-H, timedelta(0)])
def test_shift_must_end_after_it_starts(org, system, length):
    with pytest.raises(ValidationError) as excinfo:
        _shift(org, system, T0, T0 + length)
    assert_field_error(excinfo, "ends_at", DutyShift)
    assert not DutyShift.objects.exists()


@pytest.mark.parametrize(
    ("start", "end"),
    [(T0 + 2 * H, T0 + 10 * H), (T0 - 2 * H, T0 + H), (T0 + H, T0 + 2 * H), (T0 - H, T0 + 9 * H)],
    ids=["tail", "head", "inside", "around"],
)
def test_overlapping_shifts_are_refused(org, system, start, end):
    _shift(org, system, T0, T0 + 8 * H)
    with pytest.raises(ValidationError) as excinfo:
        _shift(org, system, start, end, primary=org["officer2"])
    assert_field_error(excinfo, "starts_at", DutyShift)
    assert DutyShift.objects.count() == 1


def test_adjacent_shifts_and_other_offices_do_not_overlap(org, system):
    _shift(org, system, T0, T0 + 8 * H)
    _shift(org, system, T0 + 8 * H, T0 + 16 * H)  # starts when the first ends
    _shift(org, system, T0, T0 + 8 * H, office=org["county"])  # another office
    assert DutyShift.objects.count() == 3


def test_backup_must_differ_from_primary(org, system):
    with pytest.raises(ValidationError) as excinfo:
        _shift(org, system, T0, T0 + 8 * H, backup=org["officer"])
    assert_field_error(excinfo, "backup", DutyShift)


def test_all_failing_fields_are_reported_at_once(org, system):
    with pytest.raises(ValidationError) as excinfo:
        _shift(org, system, T0, T0 - H, backup=org["officer"])
    assert {"ends_at", "backup"} <= set(field_errors(excinfo))


# --- no-ops and permissions ------------------------------------------------------------


def test_granting_a_membership_twice_is_a_no_op(org, system):
    first = services.membership_grant(
        system, person=org["reporter"], unit=org["county"], role=Role.REPORTER
    )
    memberships, entries = Membership.objects.count(), AuditEntry.objects.count()
    again = services.membership_grant(
        system, person=org["reporter"], unit=org["county"], role=Role.REPORTER
    )
    assert again.pk == first.pk
    assert (Membership.objects.count(), AuditEntry.objects.count()) == (memberships, entries)


def _create_unit(principal, parent, name="下级单位"):
    return services.unit_create(
        principal,
        parent=parent,
        name=name,
        level=AdminLevel.TOWNSHIP,
        kind=UnitKind.objects.get(code="township"),
        division_code="990990",
    )


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN], ids=str)
def test_only_an_administrator_creates_units(org, make_person, principal_of, role):
    person = make_person(f"non_admin_{role}", org["city"], role, password=None)
    units, entries = Unit.objects.count(), AuditEntry.objects.count()
    with pytest.raises(PermissionDenied):
        _create_unit(principal_of(person), org["city"])
    assert (Unit.objects.count(), AuditEntry.objects.count()) == (units, entries)


@pytest.mark.parametrize(
    ("admin_at", "parent", "allowed"),
    [
        ("city", "city", True),
        ("city", "county", True),
        ("city", "province", False),  # above
        ("city", "sibling", False),  # beside
        ("county", "city", False),  # an administrator of a child, creating at its parent
        ("sibling", "county", False),  # another branch
    ],
)
def test_administrators_create_units_in_their_subtree_only(
    org, make_person, principal_of, admin_at, parent, allowed
):
    admin = make_person(f"admin_of_{admin_at}", org[admin_at], Role.ADMIN, password=None)
    principal = principal_of(admin)
    if allowed:
        unit = _create_unit(principal, org[parent])
        assert Unit.objects.get_parent(unit) == org[parent]
        assert AuditEntry.objects.order_by("-seq").first().actor_id == str(admin.pk)
    else:
        with pytest.raises(PermissionDenied):
            _create_unit(principal, org[parent])


def test_only_a_superuser_creates_top_level_units(org, principal_of, system):
    with pytest.raises(PermissionDenied):
        _create_unit(principal_of(org["admin"]), None)
    assert _create_unit(system, None).depth == 1


ADMIN_ONLY_WRITES = {
    "unit_update": lambda o: services.unit_update(o["p"], o["county"], phone="110"),
    "person_create": lambda o: services.person_create(
        o["p"], username="x_new", full_name="新人", unit=o["county"]
    ),
    "membership_grant": lambda o: services.membership_grant(
        o["p"], person=o["reporter"], unit=o["county"], role=Role.ADMIN
    ),
    "membership_revoke": lambda o: services.membership_revoke(
        o["p"], Membership.objects.get(person=o["officer"])
    ),
    "shift_create": lambda o: _shift(o, o["p"], T0, T0 + H),
    "token_issue": lambda o: services.token_issue(o["p"], unit=o["city"], name="接口"),
    "token_revoke": lambda o: services.token_revoke(o["p"], ApiToken.objects.get()),
}


@pytest.mark.parametrize("write", list(ADMIN_ONLY_WRITES))
@pytest.mark.parametrize("who", ["leader", "officer", "reporter", "sibling_admin"])
def test_non_administrators_are_refused_every_org_write(
    org, system, make_person, principal_of, write, who
):
    services.token_issue(system, unit=org["city"], name="已有接口")
    if who == "sibling_admin":
        person = make_person("sibling_admin", org["sibling"], Role.ADMIN, password=None)
    else:
        person = org[who]
    entries = AuditEntry.objects.count()
    with pytest.raises(PermissionDenied):
        ADMIN_ONLY_WRITES[write]({**org, "p": principal_of(person)})
    assert AuditEntry.objects.count() == entries


@pytest.mark.parametrize("write", list(ADMIN_ONLY_WRITES))
def test_the_administrator_of_the_unit_may_do_every_org_write(org, system, principal_of, write):
    services.token_issue(system, unit=org["city"], name="已有接口")
    entries = AuditEntry.objects.count()
    ADMIN_ONLY_WRITES[write]({**org, "p": principal_of(org["admin"])})
    assert AuditEntry.objects.count() == entries + 1


@pytest.mark.parametrize("field", ["path", "depth", "numchild"])
def test_unit_update_refuses_tree_fields(org, system, field):
    path_before = Unit.objects.get(pk=org["county"].pk).path
    with pytest.raises(ValidationError) as caught:
        services.unit_update(system, org["county"], **{field: "0001" if field == "path" else 9})
    assert field in caught.value.message_dict
    assert Unit.objects.get(pk=org["county"].pk).path == path_before


def test_an_administrator_cannot_create_a_superuser(org, principal_of):
    with pytest.raises(PermissionDenied):
        services.person_create(
            principal_of(org["admin"]),
            username="sneaky",
            full_name="越权",
            unit=org["city"],
            is_superuser=True,
        )
    assert not Person.objects.filter(username="sneaky").exists()


# --- tokens ----------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_as_a_digest(org, system):
    token, plaintext = services.token_issue(system, unit=org["city"], name="接口")
    scheme, prefix, secret = plaintext.split("_", 2)
    assert (scheme, prefix) == ("fh", token.prefix)
    assert secret not in token.digest and len(token.digest) == 64
    assert services.token_authenticate(plaintext) == token
    services.token_revoke(system, token)
    assert services.token_authenticate(plaintext) is None


def test_token_last_used_is_refreshed_at_most_once_a_minute(org, system):
    token, plaintext = services.token_issue(system, unit=org["city"], name="接口")
    with clock.frozen_at(T0):
        services.token_authenticate(plaintext)
        clock.advance(timedelta(seconds=30))
        services.token_authenticate(plaintext)
        assert ApiToken.objects.get(pk=token.pk).last_used_at == T0
        clock.advance(timedelta(seconds=31))
        services.token_authenticate(plaintext)
        assert ApiToken.objects.get(pk=token.pk).last_used_at == T0 + timedelta(seconds=61)


# --- who is on duty --------------------------------------------------------------------


def test_on_duty_is_the_shift_covering_the_moment(org, system):
    shift = _shift(org, system, T0, T0 + 8 * H, backup=org["officer2"], leader=org["leader"])
    for moment in (T0, T0 + 4 * H, T0 + 8 * H - timedelta(microseconds=1)):
        duty = selectors.on_duty(org["city"], moment)
        assert duty.shift == shift
        assert (duty.primary, duty.backup, duty.leader) == (
            org["officer"],
            org["officer2"],
            org["leader"],
        )


def test_on_duty_defaults_to_the_clock(org, system):
    _shift(org, system, T0, T0 + 8 * H, primary=org["officer2"])
    with clock.frozen_at(T0 + H):
        assert selectors.on_duty(org["city"]).primary == org["officer2"]
    with clock.frozen_at(T0 + 9 * H):
        assert selectors.on_duty(org["city"]).shift is None


def test_on_duty_falls_back_to_the_offices_duty_officers(org, system, make_person):
    _shift(org, system, T0, T0 + 8 * H, primary=org["officer2"])
    duty = selectors.on_duty(org["city"], T0 + 8 * H)  # the shift has just ended
    assert duty.shift is None and duty.leader is None
    assert (duty.primary, duty.backup) == (org["officer"], org["officer2"])  # by pk


def test_fallback_skips_inactive_officers_and_lower_units(org, make_person):
    # officer_a (the first by pk) has left; a 值班员 of the county below is not this office's.
    Person.objects.filter(pk=org["officer"].pk).update(is_active=False)
    make_person("county_officer", org["county"], Role.DUTY_OFFICER, password=None)
    duty = selectors.on_duty(org["city"], T0)
    assert (duty.primary, duty.backup) == (org["officer2"], None)


def test_on_duty_with_nobody_to_fall_back_on(org):
    duty = selectors.on_duty(org["county"], T0)
    assert (duty.shift, duty.primary, duty.backup, duty.leader) == (None, None, None, None)
