"""Every write to the organisation: units, people, roles, roster, experts, API tokens.

Each write checks permission through the policy, validates, saves and appends to the
audit chain in one transaction.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from fenghuo.core import clock
from fenghuo.core.services import audit_change, audit_record, audited_save, snapshot
from fenghuo.org.models import (
    ApiToken,
    DutyShift,
    Expert,
    Membership,
    Person,
    Specialty,
    Unit,
    UnitKind,
)
from fenghuo.org.policy import Action, Facts, Principal, can

TOKEN_PREFIX = "fh"
# last_used_at is a convenience for administrators; writing it on every call would put a
# write on every API read, so it is refreshed at most this often.
TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)


def unit_facts(unit: Unit) -> Facts:
    return Facts(owner_unit_id=unit.pk, owner_unit_path=unit.path)


def require(principal: Principal, action: Action, facts: Facts) -> None:
    if not can(principal, action, facts):
        raise PermissionDenied("无权执行此操作")


def _clean(obj: Any, **kwargs: Any) -> None:
    """Model validation; raises ValidationError with messages per field, in Chinese."""
    obj.full_clean(**kwargs)


UNIT_EDITABLE_FIELDS = frozenset(
    {
        "name",
        "short_name",
        "level",
        "kind",
        "division_code",
        "is_direct_point",
        "is_receiving_office",
        "phone",
        "email",
        "is_active",
    }
)


@transaction.atomic
def unit_create(
    principal: Principal,
    *,
    parent: Unit | None,
    name: str,
    level: str,
    kind: UnitKind,
    division_code: str,
    **extra: Any,
) -> Unit:
    if parent is None:
        if not principal.is_superuser:
            raise PermissionDenied("只有系统管理员可以创建顶级单位")
    else:
        require(principal, Action.ADMINISTER, unit_facts(parent))
    unit = Unit(name=name, level=level, kind=kind, division_code=division_code, **extra)
    _clean(unit, exclude=["path", "depth", "numchild"])
    if parent is None:
        unit = Unit.objects.add_root(instance=unit)
    else:
        unit = Unit.objects.add_child(parent, instance=unit)
    audit_change(
        principal,
        "org.unit.create",
        unit,
        after=snapshot(unit),
    )
    return unit


@transaction.atomic
def unit_update(principal: Principal, unit: Unit, **changes: Any) -> Unit:
    """Change a unit's own attributes; its place in the tree changes only by a move."""
    require(principal, Action.ADMINISTER, unit_facts(unit))
    refused = set(changes) - UNIT_EDITABLE_FIELDS
    if refused:
        raise ValidationError({name: ["该字段不能在此修改"] for name in sorted(refused)})
    for name, value in changes.items():
        setattr(unit, name, value)
    _clean(unit, exclude=["path", "depth", "numchild"])
    return audited_save(principal, unit)


@transaction.atomic
def person_create(
    principal: Principal,
    *,
    username: str,
    full_name: str,
    unit: Unit,
    password: str | None = None,
    **extra: Any,
) -> Person:
    require(principal, Action.ADMINISTER, unit_facts(unit))
    if extra.get("is_superuser") and not principal.is_superuser:
        # A unit's administrator must not mint an account that bypasses the whole policy.
        raise PermissionDenied("只有系统管理员可以创建系统管理员账号")
    person = Person(username=username, full_name=full_name, unit=unit, **extra)
    if password:
        person.set_password(password)
    else:
        person.set_unusable_password()  # a contact only, until an administrator sets one
    _clean(person, exclude=["password"])
    return audited_save(principal, person, action="org.person.create")


@transaction.atomic
def membership_grant(principal: Principal, *, person: Person, unit: Unit, role: str) -> Membership:
    require(principal, Action.ADMINISTER, unit_facts(unit))
    existing = Membership.objects.filter(person=person, unit=unit, role=role).first()
    if existing is not None:
        return existing  # granting twice is a no-op, not an error
    membership = Membership(person=person, unit=unit, role=role)
    _clean(membership)
    return audited_save(principal, membership, action="org.membership.grant")


@transaction.atomic
def membership_revoke(principal: Principal, membership: Membership) -> None:
    require(principal, Action.ADMINISTER, unit_facts(membership.unit))
    before = snapshot(membership)
    pk = membership.pk
    membership.delete()
    audit_record(
        actor=principal,
        action="org.membership.revoke",
        object_type="org.membership",
        object_id=pk,
        before=before,
    )


@transaction.atomic
def shift_create(
    principal: Principal,
    *,
    office: Unit,
    starts_at: datetime,
    ends_at: datetime,
    primary: Person,
    backup: Person | None = None,
    leader: Person | None = None,
    note: str = "",
) -> DutyShift:
    require(principal, Action.ADMINISTER, unit_facts(office))
    shift = DutyShift(
        office=office,
        starts_at=starts_at,
        ends_at=ends_at,
        primary=primary,
        backup=backup,
        leader=leader,
        note=note,
    )
    shift_validate(shift)
    return audited_save(principal, shift, action="org.shift.create")


def shift_validate(shift: DutyShift) -> None:
    """Field-by-field errors for a shift: order of times, distinct people, no overlap."""
    errors: dict[str, list[str]] = {}
    if shift.starts_at and shift.ends_at and shift.ends_at <= shift.starts_at:
        errors.setdefault("ends_at", []).append("结束时间必须晚于开始时间")
    if shift.backup_id and shift.backup_id == shift.primary_id:
        errors.setdefault("backup", []).append("备班不能与主班为同一人")
    if shift.starts_at and shift.ends_at and shift.office_id:
        overlapping = DutyShift.objects.filter(
            office_id=shift.office_id, starts_at__lt=shift.ends_at, ends_at__gt=shift.starts_at
        ).exclude(pk=shift.pk)
        if overlapping.exists():
            errors.setdefault("starts_at", []).append("开始时间与本单位已有班次重叠")
    if errors:
        raise ValidationError(errors)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@transaction.atomic
def token_issue(principal: Principal, *, unit: Unit, name: str) -> tuple[ApiToken, str]:
    """Create a token for `unit`; returns the row and the plaintext, shown only once."""
    require(principal, Action.ADMINISTER, unit_facts(unit))
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        unit=unit,
        name=name,
        prefix=prefix,
        digest=_digest(secret),
        created_by_id=principal.person_id,
        created_at=clock.now(),
    )
    _clean(token)
    audited_save(principal, token, action="org.token.issue")
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


@transaction.atomic
def token_revoke(principal: Principal, token: ApiToken) -> ApiToken:
    require(principal, Action.ADMINISTER, unit_facts(token.unit))
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        audited_save(principal, token, action="org.token.revoke")
    return token


def token_authenticate(plaintext: str) -> ApiToken | None:
    """The active token behind `plaintext`, or None. Constant-time digest comparison."""
    try:
        scheme, prefix, secret = plaintext.split("_", 2)
    except ValueError:
        return None
    if scheme != TOKEN_PREFIX:
        return None
    token = (
        ApiToken.objects.select_related("unit")
        .filter(prefix=prefix, revoked_at__isnull=True, unit__is_active=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.digest, _digest(secret)):
        return None
    moment = clock.now()
    if token.last_used_at is None or moment - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=moment)
        token.last_used_at = moment
    return token


@transaction.atomic
def expert_create(
    principal: Principal,
    *,
    person: Person,
    affiliation: str,
    specialties: list[Specialty],
    note: str = "",
) -> Expert:
    """Add a person to the expert pool (专家库)."""
    if person.unit is not None:
        require(principal, Action.ADMINISTER, unit_facts(person.unit))
    elif not principal.is_superuser:
        raise PermissionDenied("无权执行此操作")
    expert = Expert(person=person, affiliation=affiliation, note=note)
    _clean(expert)
    audited_save(principal, expert, action="org.expert.create")
    expert.specialties.set(specialties)
    return expert
