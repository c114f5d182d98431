"""Warnings on every read path — API list and detail, CAP export, the staff list and page,
the public pages and CAP documents — agree with `warnings_visible` / the public rule."""

import pytest

from fenghuo.alerts import selectors, services
from fenghuo.alerts.models import Warning, WarningLevel
from fenghuo.core.models import Confidentiality
from fenghuo.org import services as org_services
from fenghuo.org.policy import principal_for_token
from tests.alerts.world import draft, issued, principal
from tests.conftest import SYSTEM
from tests.read_paths import disagreements, signed_in, with_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def warnings(world) -> list[Warning]:
    county = world["county"]
    lifted = issued(world, area_codes=["990121"], confidentiality=Confidentiality.PUBLIC)
    services.lift(principal(world, "city_leader"), lifted, reason="雨势减弱")
    return [
        draft(world),  # unissued: the drafting unit and approvers only
        issued(world, confidentiality=Confidentiality.PUBLIC),
        issued(world, confidentiality=Confidentiality.INTERNAL),
        issued(world, confidentiality=Confidentiality.SENSITIVE),
        issued(world, confidentiality=Confidentiality.PUBLIC, is_drill=True),
        issued(
            world,
            "prov_duty",
            "prov_leader",
            issuing_unit=world["province"],
            level=WarningLevel.RED,
            area_codes=["990200"],  # the seaside city, not this city's tree
            confidentiality=Confidentiality.INTERNAL,
        ),
        draft(world, "county_duty", issuing_unit=county),
        lifted,
    ]


READERS = [
    "prov_leader",
    "prov_duty",
    "city_leader",
    "city_member",
    "city_duty",
    "city_reporter",
    "city_analyst",
    "city_expert",
    "county_duty",
    "county_reporter",
    "bureau_duty",
    "other_duty",
    "sea_duty",
    "token",
]


@pytest.mark.parametrize("who", READERS)
def test_every_staff_read_path_agrees_with_the_selector(world, warnings, who):
    if who == "token":
        token, plaintext = org_services.token_issue(SYSTEM, unit=world["county"], name="县系统")
        client, reader = with_token(plaintext), principal_for_token(token)
    else:
        client, reader = signed_in(world["people"][who]), principal(world, who)
    ours = {w.pk for w in warnings}
    expected = set(
        selectors.warnings_visible(reader).filter(pk__in=ours).values_list("pk", flat=True)
    )
    assert {w["id"] for w in client.get("/api/alerts?limit=500").json()} & ours == expected
    wrong = disagreements(client, warnings, expected, ["/api/alerts/{pk}"])
    # CAP: an issued version exports, an unissued one is refused with 422 — never to a
    # reader who may not see it (404).
    wrong += disagreements(
        client, warnings, expected, ["/api/alerts/{pk}/cap.xml"], ok=lambda s: s in (200, 422)
    )
    if who != "token":
        shown = {w.pk for w in client.get("/alerts/?tab=all").context["rows"]}
        assert shown & ours == expected
        wrong += disagreements(client, warnings, expected, ["/alerts/{pk}/"])
    assert wrong == []


def test_the_public_reads_only_issued_public_real_warnings(world, warnings):
    """Restated independently: issued (or lately lifted), 公开, not a drill."""
    expected = {
        w.pk
        for w in Warning.objects.filter(pk__in=[w.pk for w in warnings])
        if w.state in ("issued", "lifted")
        and w.confidentiality == Confidentiality.PUBLIC
        and not w.is_drill
    }
    assert expected  # the cast has some
    client = signed_in(world["people"]["city_duty"])  # signed in or not: the same
    for anyone in (client, with_token("nonsense"), signed_in(world["people"]["city_expert"])):
        wrong = disagreements(
            anyone, warnings, expected, ["/public/warnings/{pk}/", "/public/warnings/{pk}/cap.xml"]
        )
        assert wrong == []
    feed = client.get("/public/feeds/warnings.atom").content.decode()
    listed = client.get("/public/warnings/").content.decode()
    for warning in warnings:
        if warning.pk not in expected:
            assert f"/public/warnings/{warning.pk}/" not in feed + listed
