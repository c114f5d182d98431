"""The expected access rules, written out independently of `fenghuo.org.policy`, and a
shared organisation "world" for the access tests.

The table below restates the rules of the policy module's docstring as data. Tests compare
`policy.can()` (and the read paths built on `visible_q()`) against it, so a change to the
policy that is not also a change to this table fails loudly.

Every principal in the world holds its grant in the unit called HOME. An object's position
is where its owning unit sits relative to HOME:

    province (PARENT)
    ├── city = HOME (SAME)
    │   └── county (CHILD)
    │       └── town (GRANDCHILD)
    └── sibling city (SIBLING)
    other province
    └── other city (UNRELATED; also owns the ADDRESSED object, which is addressed to HOME)
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count

from django.utils import timezone

from fenghuo.core.models import Confidentiality
from fenghuo.org import services
from fenghuo.org.models import AdminLevel, ApiToken, DutyShift, Person, Role, Unit, UnitKind
from fenghuo.org.policy import Action, Facts, Principal, principal_for, principal_for_token

SYSTEM = Principal(person_id=None, grants=(), is_superuser=True, label="测试系统")

PUBLIC, INTERNAL, SENSITIVE = (
    Confidentiality.PUBLIC,
    Confidentiality.INTERNAL,
    Confidentiality.SENSITIVE,
)
MARKS = [PUBLIC, INTERNAL, SENSITIVE]
MARK_IDS = {PUBLIC: "public", INTERNAL: "internal", SENSITIVE: "sensitive"}

SAME, CHILD, GRANDCHILD, PARENT, SIBLING, UNRELATED, ADDRESSED = (
    "same",
    "child",
    "grandchild",
    "parent",
    "sibling",
    "unrelated",
    "addressed",
)
POSITIONS = [SAME, CHILD, GRANDCHILD, PARENT, SIBLING, UNRELATED, ADDRESSED]
# Positions backed by a unit of their own (ADDRESSED reuses UNRELATED's unit).
UNIT_POSITIONS = [SAME, CHILD, GRANDCHILD, PARENT, SIBLING, UNRELATED]

# Scope names → the positions they cover.
OWN, SUBTREE, NONE = "own unit", "unit and below", "nothing"
SCOPE = {OWN: {SAME}, SUBTREE: {SAME, CHILD, GRANDCHILD}, NONE: set()}


@dataclass(frozen=True)
class RoleRule:
    scope: str  # which owning units the role reads by position
    addressed: bool  # also reads what is addressed to its unit
    clearance: int  # highest mark it may read (and change)
    change: bool  # may change objects owned by its own unit
    sign_off: bool  # 审签 objects owned by its own unit
    acknowledge: bool  # 签收 objects addressed to its unit
    administer: bool  # org structure, tokens, roster of its unit and below


R = RoleRule
# fmt: off
RULES: dict[str, RoleRule] = {
    #                    scope    addressed clearance  change sign_off ack    administer
    Role.REPORTER:     R(OWN,     False,    INTERNAL,  True,  False,   False, False),
    Role.UNIT_LEADER:  R(SUBTREE, True,     SENSITIVE, True,  True,    False, False),
    Role.DUTY_OFFICER: R(SUBTREE, True,     SENSITIVE, True,  False,   True,  False),
    Role.GROUP_LEADER: R(SUBTREE, True,     SENSITIVE, False, False,   False, False),
    Role.GROUP_DEPUTY: R(SUBTREE, True,     SENSITIVE, False, False,   False, False),
    Role.GROUP_MEMBER: R(SUBTREE, True,     SENSITIVE, False, False,   False, False),
    Role.GROUP_OFFICE: R(SUBTREE, True,     SENSITIVE, False, False,   False, False),
    Role.ANALYST:      R(SUBTREE, False,    INTERNAL,  False, False,   False, False),
    Role.EXPERT:       R(NONE,    False,    INTERNAL,  False, False,   False, False),
    Role.ADMIN:        R(SUBTREE, False,    INTERNAL,  False, False,   False, True),
}
# fmt: on
# A superuser (系统管理员) administers everything and reads up to 内部 everywhere, but holds no
# unit role: it does not change, sign off or acknowledge content.
SUPERUSER_CLEARANCE = INTERNAL
ALL_POSITIONS = set(POSITIONS)


def expected(rule: RoleRule, position: str, mark: int, action: Action) -> bool:
    """What `rule` allows on an object at `position` with `mark`."""
    readable = mark <= rule.clearance
    if action is Action.VIEW:
        return readable and (
            position in SCOPE[rule.scope] or (position == ADDRESSED and rule.addressed)
        )
    if action is Action.CHANGE:
        return rule.change and position == SAME and readable
    if action is Action.SIGN_OFF:
        return rule.sign_off and position == SAME
    if action is Action.ACKNOWLEDGE:
        return rule.acknowledge and position == ADDRESSED
    if action is Action.ADMINISTER:
        return rule.administer and position in SCOPE[SUBTREE]
    raise AssertionError(action)


def expected_superuser(position: str, mark: int, action: Action) -> bool:
    if action is Action.VIEW:
        return mark <= SUPERUSER_CLEARANCE
    return action is Action.ADMINISTER


def expected_for(who: str, position: str, mark: int, action: Action) -> bool:
    """`who` is a role, "token" (acts as HOME's 信息员), "superuser" or "anonymous"."""
    if who == "superuser":
        return expected_superuser(position, mark, action)
    if who == "anonymous":
        return False
    if who == "token":
        return expected(RULES[Role.REPORTER], position, mark, action)
    return expected(RULES[who], position, mark, action)


# ---------------------------------------------------------------------------------------
# The world: real units, people, memberships, shifts and tokens, made through the services.

_mobiles = count(13800000001)


@dataclass
class World:
    units: dict[str, Unit]  # position → owning unit (UNIT_POSITIONS)
    role_holders: dict[str, Person]  # role → a person holding only that role, at HOME
    superuser: Person
    author: Person  # 专家 at HOME: nothing in scope, so only authorship can grant access
    sharee: Person  # 专家 at HOME, the person objects are shared with
    multi: Person  # 信息员 at HOME and 单位领导 at SIBLING
    contacts: dict[tuple[str, int], Person]  # (position, mark) → a contact there
    unitless: Person  # a contact with no unit
    shifts: dict[str, DutyShift]  # position → a shift of that office
    tokens: dict[str, tuple[ApiToken, str]]  # position → (token of that unit, plaintext)
    principals: dict[str, Principal] = field(default_factory=dict)

    @property
    def home(self) -> Unit:
        return self.units[SAME]

    def facts(self, position: str, mark: int, **extra) -> Facts:
        if position == ADDRESSED:
            unit = self.units[UNRELATED]
            extra.setdefault("addressed_unit_ids", frozenset({self.home.pk}))
        else:
            unit = self.units[position]
        return Facts(owner_unit_id=unit.pk, owner_unit_path=unit.path, mark=mark, **extra)


def _unit(name: str, parent: Unit | None, level: str, code: str, kind: str = "gov_office"):
    unit = services.unit_create(
        SYSTEM,
        parent=parent,
        name=name,
        level=level,
        kind=UnitKind.objects.get(code=kind),
        division_code=code,
        is_receiving_office=True,
    )
    unit.refresh_from_db()
    return unit


def _person(username: str, unit: Unit | None, *roles: str, **extra) -> Person:
    extra.setdefault("mobile", str(next(_mobiles)))
    if unit is None:
        person = Person(username=username, full_name=username, **extra)
        person.set_unusable_password()
        person.save()
        return person
    person = services.person_create(
        SYSTEM, username=username, full_name=extra.pop("full_name", username), unit=unit, **extra
    )
    for role in roles:
        services.membership_grant(SYSTEM, person=person, unit=unit, role=role)
    return Person.objects.get(pk=person.pk)


def build_world() -> World:
    """Build the tree and everyone in it; call inside a transaction the caller rolls back."""
    province = _unit("甲省", None, AdminLevel.PROVINCE, "310000")
    home = _unit("甲省乙市", province, AdminLevel.CITY, "310100")
    county = _unit("乙市丙县", home, AdminLevel.COUNTY, "310101")
    town = _unit("丙县丁镇", county, AdminLevel.TOWNSHIP, "310101", kind="township")
    sibling = _unit("甲省戊市", province, AdminLevel.CITY, "310200")
    other_province = _unit("庚省", None, AdminLevel.PROVINCE, "320000")
    other_city = _unit("庚省辛市", other_province, AdminLevel.CITY, "320100")
    # Adding sorted siblings may renumber earlier paths: read every unit back.
    units = {
        SAME: home,
        CHILD: county,
        GRANDCHILD: town,
        PARENT: province,
        SIBLING: sibling,
        UNRELATED: other_city,
    }
    for unit in units.values():
        unit.refresh_from_db()

    role_holders = {role: _person(f"holder_{role}", home, role) for role in Role}
    superuser = _person("root", home, is_superuser=True, is_staff=True)
    author = _person("author", home, Role.EXPERT)
    sharee = _person("sharee", home, Role.EXPERT)
    multi = _person("multi", home, Role.REPORTER)
    services.membership_grant(SYSTEM, person=multi, unit=sibling, role=Role.UNIT_LEADER)
    contacts = {
        (position, mark): _person(
            f"contact_{position}_{MARK_IDS[mark]}", units[position], contact_mark=mark
        )
        for position in UNIT_POSITIONS
        for mark in MARKS
    }
    unitless = _person("unitless", None)
    start = timezone.make_aware(datetime(2026, 3, 1, 8, 0))
    shifts = {
        position: services.shift_create(
            SYSTEM,
            office=units[position],
            starts_at=start,
            ends_at=start + timedelta(hours=24),
            primary=contacts[(position, INTERNAL)],
            backup=contacts[(position, PUBLIC)],
        )
        for position in UNIT_POSITIONS
    }
    tokens = {
        position: services.token_issue(SYSTEM, unit=units[position], name=f"{position} 接口")
        for position in UNIT_POSITIONS
    }
    world = World(
        units=units,
        role_holders=role_holders,
        superuser=superuser,
        author=author,
        sharee=sharee,
        multi=multi,
        contacts=contacts,
        unitless=unitless,
        shifts=shifts,
        tokens=tokens,
    )
    fresh = Person.objects.get
    world.principals = {
        **{role: principal_for(fresh(pk=p.pk)) for role, p in role_holders.items()},
        "superuser": principal_for(fresh(pk=superuser.pk)),
        "author": principal_for(fresh(pk=author.pk)),
        "sharee": principal_for(fresh(pk=sharee.pk)),
        "multi": principal_for(fresh(pk=multi.pk)),
        "anonymous": principal_for(None),
        "token": principal_for_token(
            ApiToken.objects.select_related("unit").get(pk=tokens[SAME][0].pk)
        ),
    }
    return world
