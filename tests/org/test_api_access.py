"""Read paths of the organisation API, as a matrix over who is asking.

Requests go through Django's test client and the real authentication: a session for a
person, `Authorization: Bearer fh_…` for a unit's token. Expected values come from the rule
table in `access_rules.py`.
"""

import pytest
from django.test import Client

from fenghuo.org import services
from fenghuo.org.models import ApiToken, Person, Role
from fenghuo.org.policy import Action
from tests.org.access_rules import (
    CHILD,
    GRANDCHILD,
    INTERNAL,
    MARKS,
    SAME,
    SCOPE,
    SUBTREE,
    SYSTEM,
    UNIT_POSITIONS,
    UNRELATED,
    World,
    expected_for,
)

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/org/me",
    "/api/org/units",
    "/api/org/contacts",
    "/api/org/roster",
    "/api/org/tokens",
]
READERS = [*Role, "superuser", "token"]


def client_for(world: World, who: str) -> Client:
    client = Client()
    if who == "token":
        _, plaintext = world.tokens[SAME]
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {plaintext}"
    elif who == "superuser":
        client.force_login(world.superuser)
    else:
        client.force_login(world.role_holders[who])
    return client


def get_ok(client: Client, url: str) -> list | dict:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("who", READERS, ids=str)
def test_contacts_show_mobile_only_where_permitted(world, who):
    rows = {r["person_id"]: r for r in get_ok(client_for(world, who), "/api/org/contacts")}
    wrong = []
    for (position, mark), person in world.contacts.items():
        row = rows[person.pk]  # everyone is listed: names and office phones are not secret
        allowed = expected_for(who, position, mark, Action.VIEW)
        shown = row["mobile"] == person.mobile and row["details_visible"] is True
        hidden = row["mobile"] == "" and row["details_visible"] is False
        if not (shown if allowed else hidden):
            wrong.append((position, mark, allowed, row["mobile"]))
    assert wrong == []
    assert (rows[world.unitless.pk]["mobile"] != "") is (who == "superuser")
    if who != "token":  # a person always sees their own number
        me = world.superuser if who == "superuser" else world.role_holders[who]
        assert rows[me.pk]["mobile"] == me.mobile


def test_contacts_search_keeps_the_filter(world):
    client = client_for(world, Role.REPORTER)
    rows = get_ok(client, "/api/org/contacts?q=contact_child")
    assert {r["full_name"] for r in rows} == {
        f"contact_child_{m}" for m in ("public", "internal", "sensitive")
    }
    assert all(r["mobile"] == "" for r in rows)  # a 信息员 reads its own unit only


@pytest.mark.parametrize("who", READERS, ids=str)
def test_roster_lists_only_shifts_in_scope(world, who):
    rows = get_ok(client_for(world, who), "/api/org/roster")
    expected = {
        world.shifts[position].pk
        for position in UNIT_POSITIONS
        if expected_for(who, position, INTERNAL, Action.VIEW)
    }
    assert {r["id"] for r in rows} == expected
    assert len(rows) == len(expected)


@pytest.mark.parametrize("who", READERS, ids=str)
def test_tokens_listed_only_to_administrators_of_the_unit_or_above(world, who):
    rows = get_ok(client_for(world, who), "/api/org/tokens")
    expected = {
        world.tokens[position][0].pk
        for position in UNIT_POSITIONS
        if expected_for(who, position, INTERNAL, Action.ADMINISTER)
    }
    assert {r["id"] for r in rows} == expected
    assert all("digest" not in r for r in rows)
    if who == Role.ADMIN:
        assert expected == {world.tokens[p][0].pk for p in SCOPE[SUBTREE]}
    elif who == "superuser":
        assert len(expected) == len(UNIT_POSITIONS)
    else:
        assert expected == set()


def test_administrator_of_a_lower_unit_does_not_see_tokens_above(world, make_person):
    """An administrator of the county sees the county's and the town's tokens only."""
    admin = make_person("county_admin", world.units[CHILD], Role.ADMIN)
    client = Client()
    client.force_login(admin)
    rows = get_ok(client, "/api/org/tokens")
    assert {r["id"] for r in rows} == {
        world.tokens[CHILD][0].pk,
        world.tokens[GRANDCHILD][0].pk,
    }


def test_token_identifies_as_its_unit(world):
    me = get_ok(client_for(world, "token"), "/api/org/me")
    token, _ = world.tokens[SAME]
    assert me["token_id"] == token.pk and me["person_id"] is None
    assert me["roles"] == [{"unit_id": world.home.pk, "unit": world.home.name, "role": "reporter"}]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_revoked_token_is_refused(world, url):
    token, plaintext = world.tokens[UNRELATED]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert client.get(url).status_code == 200  # the same token works until revoked
    services.token_revoke(SYSTEM, ApiToken.objects.get(pk=token.pk))
    assert client.get(url).status_code == 401


@pytest.mark.parametrize("url", ENDPOINTS)
def test_unauthenticated_requests_are_refused(url):
    assert Client().get(url).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer fh_deadbeef_not-the-secret",
        "Bearer nonsense",
        "Bearer ",
        "Token {plaintext}",
        "Bearer {wrong_secret}",
        "Bearer {wrong_scheme}",
    ],
)
def test_malformed_or_forged_tokens_are_refused(world, header):
    _, plaintext = world.tokens[SAME]
    scheme, prefix, secret = plaintext.split("_", 2)
    value = header.format(
        plaintext=plaintext,
        wrong_secret=f"{scheme}_{prefix}_{secret[:-2]}xx",
        wrong_scheme=f"xx_{prefix}_{secret}",
    )
    client = Client(HTTP_AUTHORIZATION=value)
    assert client.get("/api/org/contacts").status_code == 401


def test_token_of_a_deactivated_unit_is_refused(world):
    _, plaintext = world.tokens[SAME]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert client.get("/api/org/me").status_code == 200
    services.unit_update(SYSTEM, world.home, is_active=False)
    assert client.get("/api/org/me").status_code == 401


def test_a_deactivated_persons_session_is_refused(world):
    client = client_for(world, Role.DUTY_OFFICER)
    assert client.get("/api/org/contacts").status_code == 200
    Person.objects.filter(pk=world.role_holders[Role.DUTY_OFFICER].pk).update(is_active=False)
    assert client.get("/api/org/contacts").status_code == 401


def test_token_from_unit_a_cannot_list_tokens(world):
    """Even its own unit's tokens stay hidden: a token acts as a 信息员, not an administrator."""
    _, plaintext = world.tokens[SAME]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert get_ok(client, "/api/org/tokens") == []


def test_sensitive_contact_hidden_from_administrator_of_its_unit(world):
    """管理员 manages structure but reads at most 内部, even in the unit it administers."""
    rows = {r["person_id"]: r for r in get_ok(client_for(world, Role.ADMIN), "/api/org/contacts")}
    for mark in MARKS:
        person = world.contacts[(SAME, mark)]
        assert (rows[person.pk]["mobile"] == person.mobile) is (mark <= INTERNAL)
