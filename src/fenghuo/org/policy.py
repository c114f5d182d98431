"""Access control in one place: may this principal see / do this to that object?

A principal holds grants (unit, role). An object is described by `Facts`: the unit that
owns it, the offices it is addressed to, its confidentiality mark, its author and the
people it is shared with. `can()` answers for one object; `visible_q()` gives the same
answer as a query filter, so list, search and export selectors agree with detail checks.

The rules, by role:
- scope: 信息员 sees its own unit; 专家 sees only what is shared with them personally;
  every other role sees its unit and the units below it. Offices that an object is
  addressed to see it too (值班员, 单位领导 and the leading group of that office).
- clearance: 敏感 needs 单位领导, 值班员 or a leading-group role; 管理员 manages structure
  but reads at most 内部 content; everyone else reads at most 内部.
- the author always sees and may edit what they wrote (up to their own clearance is not
  required: it is theirs).
- change: the author, or a 信息员 / 单位领导 / 值班员 of the owning unit itself.
- sign off (审签): a 单位领导 of the owning unit. acknowledge (签收): a 值班员 of an
  addressed office. administer (org structure, tokens, roster): a 管理员 of the unit or
  above, or a superuser.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db.models import Q

from fenghuo.core.models import Confidentiality
from fenghuo.org.models import Membership, Role


class Action(StrEnum):
    VIEW = "view"
    CHANGE = "change"
    SIGN_OFF = "sign_off"
    ACKNOWLEDGE = "acknowledge"
    ADMINISTER = "administer"


LEADING_GROUP = frozenset(
    {Role.GROUP_LEADER, Role.GROUP_DEPUTY, Role.GROUP_MEMBER, Role.GROUP_OFFICE}
)
CLEARANCE: dict[str, int] = {
    Role.REPORTER: Confidentiality.INTERNAL,
    Role.UNIT_LEADER: Confidentiality.SENSITIVE,
    Role.DUTY_OFFICER: Confidentiality.SENSITIVE,
    Role.ANALYST: Confidentiality.INTERNAL,
    Role.EXPERT: Confidentiality.INTERNAL,
    Role.ADMIN: Confidentiality.INTERNAL,
    **{role: Confidentiality.SENSITIVE for role in LEADING_GROUP},
}
OWN_UNIT_ONLY = frozenset({Role.REPORTER})
NO_UNIT_SCOPE = frozenset({Role.EXPERT})
RECEIVES_ADDRESSED = frozenset({Role.DUTY_OFFICER, Role.UNIT_LEADER, *LEADING_GROUP})
MAY_CHANGE = frozenset({Role.REPORTER, Role.UNIT_LEADER, Role.DUTY_OFFICER})
SUPERUSER_CLEARANCE = Confidentiality.INTERNAL


@dataclass(frozen=True)
class Grant:
    unit_id: int
    unit_path: str
    role: str


@dataclass(frozen=True)
class Principal:
    """Who is asking: a person (with their grants) or a unit's API token."""

    person_id: int | None
    grants: tuple[Grant, ...]
    is_superuser: bool = False
    token_id: int | None = None
    label: str = ""

    def __str__(self) -> str:
        return self.label

    @property
    def pk(self) -> int | None:
        """The audit trail records the person behind a request."""
        return self.person_id

    def roles_in(self, unit_id: int) -> set[str]:
        return {g.role for g in self.grants if g.unit_id == unit_id}

    def has_role(self, *roles: str) -> bool:
        return any(g.role in roles for g in self.grants)


ANONYMOUS = Principal(person_id=None, grants=(), label="匿名")


@dataclass(frozen=True)
class Facts:
    """What the policy needs to know about an object."""

    owner_unit_id: int
    owner_unit_path: str
    mark: int = Confidentiality.INTERNAL
    addressed_unit_ids: frozenset[int] = field(default_factory=frozenset)
    author_id: int | None = None
    shared_person_ids: frozenset[int] = field(default_factory=frozenset)


def principal_for(person: Any) -> Principal:
    """The principal of a logged-in person (cached on the object for the request)."""
    if person is None or not getattr(person, "is_authenticated", False):
        return ANONYMOUS
    cached = getattr(person, "_fenghuo_principal", None)
    if cached is not None:
        return cached
    grants = tuple(
        Grant(m.unit_id, m.unit.path, m.role)
        for m in Membership.objects.filter(person=person, unit__is_active=True).select_related(
            "unit"
        )
    )
    principal = Principal(
        person_id=person.pk,
        grants=grants,
        is_superuser=bool(person.is_superuser),
        label=str(person),
    )
    person._fenghuo_principal = principal
    return principal


def principal_for_token(token: Any) -> Principal:
    """A unit's API token acts as that unit's reporter (信息员), nothing more."""
    unit = token.unit
    return Principal(
        person_id=None,
        grants=(Grant(unit.pk, unit.path, Role.REPORTER),),
        token_id=token.pk,
        label=f"{unit.name}（接口令牌 {token.prefix}）",
    )


def _in_scope(grant: Grant, facts: Facts) -> bool:
    if grant.role in NO_UNIT_SCOPE:
        return False
    if grant.role in OWN_UNIT_ONLY:
        return facts.owner_unit_id == grant.unit_id
    return facts.owner_unit_path.startswith(grant.unit_path)


def can(principal: Principal, action: Action, facts: Facts) -> bool:
    person = principal.person_id
    if action is Action.ADMINISTER:
        return principal.is_superuser or any(
            g.role == Role.ADMIN and facts.owner_unit_path.startswith(g.unit_path)
            for g in principal.grants
        )
    if action is Action.VIEW:
        if person is not None and (person == facts.author_id or person in facts.shared_person_ids):
            return True
        if principal.is_superuser and facts.mark <= SUPERUSER_CLEARANCE:
            return True
        return any(
            facts.mark <= CLEARANCE[g.role]
            and (
                _in_scope(g, facts)
                or (g.role in RECEIVES_ADDRESSED and g.unit_id in facts.addressed_unit_ids)
            )
            for g in principal.grants
        )
    if action is Action.CHANGE:
        if person is not None and person == facts.author_id:
            return True
        return any(
            g.role in MAY_CHANGE
            and g.unit_id == facts.owner_unit_id
            and facts.mark <= CLEARANCE[g.role]
            for g in principal.grants
        )
    if action is Action.SIGN_OFF:
        return any(
            g.role == Role.UNIT_LEADER and g.unit_id == facts.owner_unit_id
            for g in principal.grants
        )
    if action is Action.ACKNOWLEDGE:
        return any(
            g.role == Role.DUTY_OFFICER and g.unit_id in facts.addressed_unit_ids
            for g in principal.grants
        )
    raise ValueError(f"unknown action {action!r}")


def visible_q(
    principal: Principal,
    *,
    owner: str = "owner_unit",
    mark: str | None = "confidentiality",
    addressed: str | None = None,
    author: str | None = "created_by",
    shared: str | None = None,
) -> Q:
    """A filter equal to `can(principal, VIEW, facts)` for every row of a model.

    `owner` names the owning-unit relation ("" when the model is Unit itself); `addressed`
    and `shared` are multi-valued relations, so callers filtering on them use .distinct().
    """
    owner_pk = f"{owner}_id" if owner else "pk"
    owner_path = f"{owner}__path" if owner else "path"
    nothing = Q(pk__in=[])
    q = nothing

    def marked(limit: int) -> Q:
        # Without a mark field every row qualifies. That must be a real condition, not an
        # empty Q(): Q(...) | Q() drops the empty side, which hid every row from a superuser.
        return Q(**{f"{mark}__lte": limit}) if mark else Q(pk__isnull=False)

    person = principal.person_id
    if person is not None:
        if author:
            q |= Q(**{f"{author}_id" if author != "id" else "pk": person})
        if shared:
            q |= Q(**{shared: person})
    if principal.is_superuser:
        q |= marked(SUPERUSER_CLEARANCE)
    for g in principal.grants:
        limit = CLEARANCE[g.role]
        if g.role in OWN_UNIT_ONLY:
            q |= Q(**{owner_pk: g.unit_id}) & marked(limit)
        elif g.role not in NO_UNIT_SCOPE:
            q |= Q(**{f"{owner_path}__startswith": g.unit_path}) & marked(limit)
        if addressed and g.role in RECEIVES_ADDRESSED:
            q |= Q(**{addressed: g.unit_id}) & marked(limit)
    return q


def administered_q(principal: Principal, *, owner: str = "unit") -> Q:
    """Rows whose unit the principal may administer (same rule as Action.ADMINISTER)."""
    if principal.is_superuser:
        return Q()
    owner_path = f"{owner}__path" if owner else "path"
    q = Q(pk__in=[])
    for g in principal.grants:
        if g.role == Role.ADMIN:
            q |= Q(**{f"{owner_path}__startswith": g.unit_path})
    return q
