"""The access policy as a matrix: every role × where the object sits × its mark × action.

Expected values come from the rule table in `access_rules.py` (the policy docstring restated
as data), never from the policy itself. Principals are built from real units and
memberships with `principal_for` / `principal_for_token`.
"""

import pytest
from django.contrib.auth.models import AnonymousUser

from fenghuo.org import services
from fenghuo.org.models import DutyShift, Person, Role, Unit
from fenghuo.org.policy import ANONYMOUS, Action, Facts, Grant, can, principal_for, visible_q
from fenghuo.org.selectors import contact_facts
from tests.org.access_rules import (
    ADDRESSED,
    CHILD,
    GRANDCHILD,
    INTERNAL,
    MARK_IDS,
    MARKS,
    PARENT,
    POSITIONS,
    PUBLIC,
    RULES,
    SAME,
    SENSITIVE,
    SIBLING,
    SYSTEM,
    UNIT_POSITIONS,
    UNRELATED,
    expected,
    expected_for,
    expected_superuser,
)

# Every test here reads the module's world; the marker also makes pytest-django create the
# test database when only some of these tests are selected.
pytestmark = pytest.mark.django_db

ROLES = list(Role)
ACTIONS = list(Action)
by_mark = pytest.mark.parametrize("mark", MARKS, ids=MARK_IDS.get)
by_position = pytest.mark.parametrize("position", POSITIONS)
by_action = pytest.mark.parametrize("action", ACTIONS, ids=str)


def test_rule_table_names_every_role_and_action():
    """A new role or action must be added to the expected table before it can pass."""
    assert set(RULES) == set(Role.values)
    assert set(ACTIONS) == {"view", "change", "sign_off", "acknowledge", "administer"}


@by_action
@by_mark
@by_position
@pytest.mark.parametrize("role", ROLES, ids=str)
def test_role_matrix(world, role, position, mark, action):
    principal = world.principals[role]
    facts = world.facts(position, mark)
    assert can(principal, action, facts) is expected(RULES[role], position, mark, action)


@by_action
@by_mark
@by_position
def test_superuser_matrix(world, position, mark, action):
    principal = world.principals["superuser"]
    assert principal.is_superuser and principal.grants == ()
    facts = world.facts(position, mark)
    assert can(principal, action, facts) is expected_superuser(position, mark, action)


@by_action
@by_mark
@by_position
@pytest.mark.parametrize("how", ["none", "anonymous_user", "constant"])
def test_anonymous_matrix(world, how, position, mark, action):
    principal = {
        "none": principal_for(None),
        "anonymous_user": principal_for(AnonymousUser()),
        "constant": ANONYMOUS,
    }[how]
    # Objects without an author must not match a principal without a person.
    facts = world.facts(position, mark, author_id=None)
    assert can(principal, action, facts) is False


@by_action
@by_mark
@by_position
def test_api_token_acts_as_its_units_reporter(world, position, mark, action):
    principal = world.principals["token"]
    token, _ = world.tokens[SAME]
    assert principal.person_id is None and principal.token_id == token.pk
    assert principal.grants == (Grant(world.home.pk, world.home.path, Role.REPORTER),)
    facts = world.facts(position, mark)
    assert can(principal, action, facts) is expected_for("token", position, mark, action)


@by_action
@by_mark
@by_position
def test_author_always_sees_and_may_change_their_own(world, position, mark, action):
    """The author is a 专家 (nothing in scope, clearance 内部): authorship alone decides."""
    principal = world.principals["author"]
    mine = world.facts(position, mark, author_id=world.author.pk)
    theirs = world.facts(position, mark, author_id=world.sharee.pk)
    assert can(principal, action, mine) is (action in {Action.VIEW, Action.CHANGE})
    assert can(principal, action, theirs) is False


@by_action
@by_mark
@by_position
def test_shared_person_sees_but_does_nothing_else(world, position, mark, action):
    principal = world.principals["sharee"]
    shared = world.facts(position, mark, shared_person_ids=frozenset({world.sharee.pk}))
    elsewhere = world.facts(position, mark, shared_person_ids=frozenset({world.author.pk}))
    assert can(principal, action, shared) is (action is Action.VIEW)
    assert can(principal, action, elsewhere) is False


@by_mark
@by_position
def test_author_and_shared_do_not_extend_to_a_token(world, position, mark):
    """A token has no person: an object with an author or share list gains it nothing."""
    principal = world.principals["token"]
    facts = world.facts(
        position,
        mark,
        author_id=world.author.pk,
        shared_person_ids=frozenset({world.sharee.pk}),
    )
    assert can(principal, Action.VIEW, facts) is expected_for("token", position, mark, Action.VIEW)


def test_grants_are_not_mixed_across_units(world):
    """信息员 at HOME + 单位领导 at SIBLING: each role applies to its own unit only."""
    p = world.principals["multi"]
    sensitive_home, sensitive_sibling = (
        world.facts(SAME, SENSITIVE),
        world.facts(SIBLING, SENSITIVE),
    )
    assert can(p, Action.VIEW, world.facts(SAME, INTERNAL))
    assert not can(p, Action.VIEW, sensitive_home)  # 信息员 clearance at HOME
    assert can(p, Action.VIEW, sensitive_sibling)  # 单位领导 clearance at SIBLING
    assert can(p, Action.CHANGE, sensitive_sibling)
    assert not can(p, Action.CHANGE, sensitive_home)
    assert can(p, Action.SIGN_OFF, world.facts(SIBLING, PUBLIC))
    assert not can(p, Action.SIGN_OFF, world.facts(SAME, PUBLIC))
    assert not can(p, Action.VIEW, world.facts(CHILD, PUBLIC))  # 信息员: own unit only
    assert not can(p, Action.VIEW, world.facts(PARENT, PUBLIC))
    assert not can(p, Action.VIEW, world.facts(UNRELATED, PUBLIC))
    # Addressed to HOME, where it is only a 信息员: not received.
    assert not can(p, Action.VIEW, world.facts(ADDRESSED, PUBLIC))
    addressed_to_sibling = world.facts(
        ADDRESSED, SENSITIVE, addressed_unit_ids=frozenset({world.units[SIBLING].pk})
    )
    assert can(p, Action.VIEW, addressed_to_sibling)
    assert not can(p, Action.ACKNOWLEDGE, addressed_to_sibling)  # not a 值班员


def test_addressed_among_several_offices(world):
    officer = world.principals[Role.DUTY_OFFICER]
    facts = world.facts(
        ADDRESSED,
        SENSITIVE,
        addressed_unit_ids=frozenset({world.units[SIBLING].pk, world.home.pk}),
    )
    assert can(officer, Action.VIEW, facts) and can(officer, Action.ACKNOWLEDGE, facts)
    # Addressed to the parent office only: the child's duty officer does not receive it.
    up = world.facts(ADDRESSED, PUBLIC, addressed_unit_ids=frozenset({world.units[PARENT].pk}))
    assert not can(officer, Action.VIEW, up) and not can(officer, Action.ACKNOWLEDGE, up)


def test_principal_grants_come_from_real_memberships(world):
    home = world.home
    for role in ROLES:
        assert world.principals[role].grants == (Grant(home.pk, home.path, role),)
    assert {g.role for g in world.principals["multi"].grants} == {
        Role.REPORTER,
        Role.UNIT_LEADER,
    }


def test_membership_in_an_inactive_unit_grants_nothing(world):
    services.unit_update(SYSTEM, world.units[SIBLING], is_active=False)
    principal = principal_for(Person.objects.get(pk=world.multi.pk))
    assert principal.grants == (Grant(world.home.pk, world.home.path, Role.REPORTER),)
    assert not can(principal, Action.VIEW, world.facts(SIBLING, PUBLIC))


# --- visible_q must agree with can(VIEW) on real rows --------------------------------------

WHO = [*ROLES, "superuser", "anonymous", "token", "author", "sharee", "multi"]


def _ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


@pytest.mark.parametrize("who", WHO, ids=str)
def test_contacts_query_equals_can_view(world, who):
    principal = world.principals[who]
    people = list(Person.objects.select_related("unit"))
    assert len(people) > len(world.contacts)
    by_can = {p.pk for p in people if can(principal, Action.VIEW, contact_facts(p))}
    by_query = _ids(
        Person.objects.filter(visible_q(principal, owner="unit", mark="contact_mark", author="id"))
    )
    assert by_query == by_can
    # And both agree with the rule table for the contacts placed around HOME.
    if who in RULES or who in {"superuser", "token", "anonymous"}:
        grid = {
            p.pk
            for (position, mark), p in world.contacts.items()
            if expected_for(who, position, mark, Action.VIEW)
        }
        assert by_query & {p.pk for p in world.contacts.values()} == grid
    if principal.person_id is not None:  # everyone reads their own contact details
        assert principal.person_id in by_query
    assert (world.unitless.pk in by_query) is (who == "superuser")


@pytest.mark.parametrize("who", WHO, ids=str)
def test_roster_query_equals_can_view(world, who):
    principal = world.principals[who]
    shifts = list(DutyShift.objects.select_related("office"))
    assert len(shifts) == len(UNIT_POSITIONS)

    def facts(shift: DutyShift) -> Facts:  # rosters are internal
        return Facts(
            owner_unit_id=shift.office_id, owner_unit_path=shift.office.path, mark=INTERNAL
        )

    by_can = {s.pk for s in shifts if can(principal, Action.VIEW, facts(s))}
    by_query = _ids(
        DutyShift.objects.filter(visible_q(principal, owner="office", mark=None, author=None))
    )
    assert by_query == by_can
    if who in RULES or who in {"superuser", "token", "anonymous"}:
        assert by_query == {
            world.shifts[position].pk
            for position in UNIT_POSITIONS
            if expected_for(who, position, INTERNAL, Action.VIEW)
        }


def test_the_tree_positions_are_what_the_table_assumes(world):
    """Guard the fixture itself: the units really stand in the relations named."""
    home, units = world.home, world.units

    def parent(unit):
        return Unit.objects.get_parent(unit)

    assert parent(units[CHILD]) == home
    assert parent(units[GRANDCHILD]) == units[CHILD]
    assert parent(home) == units[PARENT]
    assert parent(units[SIBLING]) == units[PARENT]
    assert parent(units[PARENT]) is None
    assert not units[UNRELATED].path.startswith(units[PARENT].path)
