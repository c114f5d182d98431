"""Who reads and who acts: drafts only to the issuing unit and its approvers; issued
warnings to the issuer's units and below, the units below or above it, and the units of the
area, up to their clearance. "A user without the approval role cannot issue a red warning
(API and page)", and a small matrix of who may approve, issue and lift."""

import pytest
from django.core.exceptions import PermissionDenied

from fenghuo.alerts import selectors, services
from fenghuo.alerts.models import Warning, WarningLevel, WarningState
from fenghuo.core.models import Confidentiality
from fenghuo.notify.models import Message
from tests.alerts.world import draft, issued, principal

pytestmark = pytest.mark.django_db


def _sees(world, who: str, warning: Warning) -> bool:
    return selectors.visible_warning(principal(world, who), warning.pk) is not None


def _red(world) -> Warning:
    warning = draft(world, "prov_duty", level=WarningLevel.RED, issuing_unit=world["province"])
    services.approve(principal(world, "prov_leader"), warning)
    return warning


DRAFT_READERS = {"city_duty", "city_leader", "city_office", "city_member"}
NOT_DRAFT_READERS = {
    "city_reporter",
    "city_analyst",
    "city_expert",
    "county_duty",
    "prov_leader",
    "prov_duty",
    "sea_duty",
}


def test_drafts_are_seen_by_the_issuing_unit_and_its_approvers_only(world):
    warning = draft(world)
    for who in DRAFT_READERS:
        assert _sees(world, who, warning), who
    for who in NOT_DRAFT_READERS:
        assert not _sees(world, who, warning), who
    assert not _sees(world, "superuser", warning)


@pytest.mark.parametrize(
    "who,sees",
    [
        ("city_duty", True),  # the issuing unit
        ("city_reporter", True),
        ("prov_duty", True),  # above the issuer
        ("county_duty", True),  # below the issuer, and in the area
        ("bureau_duty", True),
        ("other_duty", True),  # below the issuer, outside the area
        ("sea_duty", False),  # another city, outside the area
        ("city_expert", False),  # experts see only what is shared with them
        ("superuser", True),
    ],
)
def test_issued_warnings_are_seen_by_the_units_concerned(world, who, sees):
    warning = issued(world)
    assert _sees(world, who, warning) is sees


def test_units_of_the_area_see_a_warning_issued_elsewhere(world):
    # The province issues for 临海市: its duty officer sees it through the area only.
    warning = issued(
        world,
        "prov_duty",
        "prov_leader",
        level=WarningLevel.ORANGE,
        issuing_unit=world["province"],
        area_codes=["990200"],
    )
    assert _sees(world, "sea_duty", warning)
    other = issued(world, area_codes=["990121"])  # the city's, for 江口县
    assert not _sees(world, "sea_duty", other)


def test_a_sensitive_warning_needs_the_clearance(world):
    warning = issued(world, confidentiality=Confidentiality.SENSITIVE)
    assert _sees(world, "county_duty", warning)  # 值班员: cleared for 敏感
    assert not _sees(world, "city_reporter", warning)  # 信息员: up to 内部
    assert not _sees(world, "superuser", warning)


def test_without_the_approval_role_a_red_warning_cannot_be_issued_through_the_api(world, client):
    warning = _red(world)
    for who in ("prov_office", "prov_member", "prov_duty", "city_leader"):
        client.force_login(world["people"][who])
        response = client.post(f"/api/alerts/{warning.pk}/issue")
        expected = 404 if who == "city_leader" else 403  # the city cannot even see the draft
        assert response.status_code == expected, (who, response.content)
    warning.refresh_from_db()
    assert warning.state == WarningState.APPROVED and warning.identifier is None
    assert not Message.objects.exists()

    client.force_login(world["people"]["prov_deputy"])
    response = client.post(f"/api/alerts/{warning.pk}/issue")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "issued"


def test_without_the_approval_role_a_red_warning_cannot_be_issued_through_the_page(world, client):
    warning = _red(world)
    client.force_login(world["people"]["prov_office"])
    page = client.get(f"/alerts/{warning.pk}/").content.decode()
    assert f"/alerts/{warning.pk}/issue/" not in page  # no button offered
    response = client.post(f"/alerts/{warning.pk}/issue/", follow=True)
    assert "无权发布暴雨红色预警：需发布单位的审批角色" in response.content.decode()
    warning.refresh_from_db()
    assert warning.state == WarningState.APPROVED and not Message.objects.exists()

    client.force_login(world["people"]["prov_leader"])
    assert f"/alerts/{warning.pk}/issue/" in client.get(f"/alerts/{warning.pk}/").content.decode()
    response = client.post(f"/alerts/{warning.pk}/issue/", follow=True)
    assert "已发布" in response.content.decode()
    warning.refresh_from_db()
    assert warning.state == WarningState.ISSUED


@pytest.mark.parametrize(
    "who,level,may",
    [
        ("city_leader", WarningLevel.YELLOW, True),
        ("city_office", WarningLevel.YELLOW, True),
        ("city_member", WarningLevel.YELLOW, False),
        ("city_duty", WarningLevel.YELLOW, False),
        ("prov_leader", WarningLevel.YELLOW, False),  # not the issuing unit
        ("prov_leader", WarningLevel.RED, True),
        ("prov_deputy", WarningLevel.RED, True),
        ("prov_office", WarningLevel.RED, False),
        ("prov_duty", WarningLevel.RED, False),
    ],
)
def test_who_may_approve_issue_and_lift(world, who, level, may):
    if level == WarningLevel.RED:
        warning = draft(world, "prov_duty", level=level, issuing_unit=world["province"])
        approver = "prov_leader"
    else:
        warning = draft(world, level=level)
        approver = "city_leader"
    actor = principal(world, who)
    if not may:
        with pytest.raises(PermissionDenied):
            services.approve(actor, warning)
        services.approve(principal(world, approver), warning)
        with pytest.raises(PermissionDenied):
            services.issue(actor, warning)
        services.issue(principal(world, approver), warning)
        with pytest.raises(PermissionDenied):
            services.lift(actor, warning, "结束")
        assert warning.state == WarningState.ISSUED
    else:
        services.approve(actor, warning)
        services.issue(actor, warning)
        services.lift(actor, warning, "结束")
        assert warning.state == WarningState.LIFTED


def test_the_approval_queue_lists_what_the_reader_may_decide(world):
    yellow = draft(world)
    approved = draft(world, event_name="山洪")
    services.approve(principal(world, "city_leader"), approved)
    red = draft(world, "prov_duty", level=WarningLevel.RED, issuing_unit=world["province"])
    assert set(selectors.approval_queue(principal(world, "city_office"))) == {yellow, approved}
    assert selectors.approval_queue(principal(world, "prov_leader")) == [red]
    assert selectors.approval_queue(principal(world, "prov_office")) == []
    assert selectors.approval_queue(principal(world, "city_duty")) == []
