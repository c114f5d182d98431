"""Who sees which versions and who may approve and publish: a matrix over the cast, and
the issue's check — a user without the approval role cannot publish (API and page)."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from fenghuo.release import selectors, services
from fenghuo.release.models import ReleaseVersion, VersionState
from tests.release.world import draft, file_event, principal, published

pytestmark = pytest.mark.django_db

# who: (sees drafts and versions under review, sees published versions, may approve)
MATRIX = {
    "reporter": (True, True, False),  # the drafting unit
    "em_leader": (True, True, False),
    "em_duty": (True, True, False),
    "em_admin": (False, True, False),  # sees the event, is no drafter
    "expert": (False, False, False),  # sees only what is shared with them
    "county_leader": (False, True, False),  # a unit leader, not of a propaganda unit
    "county_duty": (False, True, False),
    "county_group": (True, True, True),  # the county's leading group
    "city_duty": (False, True, False),
    "group_leader": (True, True, True),  # the province's leading group
    "group_deputy": (True, True, True),
    "group_office": (True, True, True),
    "group_member": (False, True, False),  # 成员 do not approve releases
    "prov_duty": (False, True, False),
    "prop_leader": (True, True, True),  # the provincial propaganda department
    "prop_reporter": (False, False, False),
    "other_office": (False, False, False),  # another county's leading group office
    "other_prop_leader": (False, False, False),  # another county's propaganda department
    "other_duty": (False, False, False),
    "superuser": (False, True, False),  # reads up to 内部, approves nothing
}


@pytest.fixture
def versions(world):
    event = file_event(world)
    shown = published(world, event)
    pending = draft(world, file_event(world, title="江口县城区内涝", place="江口县城关镇"))
    services.submit(principal(world, "reporter"), pending)
    return shown, pending


@pytest.mark.parametrize("who", MATRIX)
def test_visibility_and_approval_matrix(world, versions, who):
    shown, pending = versions
    sees_drafts, sees_published, approves = MATRIX[who]
    reader = principal(world, who)
    visible = set(selectors.versions_visible(reader).values_list("pk", flat=True))
    assert (pending.pk in visible) is sees_drafts
    assert (shown.pk in visible) is sees_published
    releases = set(selectors.releases_visible(reader).values_list("pk", flat=True))
    assert (pending.release_id in releases) is sees_drafts
    assert selectors.may_approve(reader, pending.release) is approves
    in_queue = selectors.approval_queue(reader).filter(pk=pending.pk).exists()
    assert in_queue is approves
    if approves:
        services.approve(reader, pending)
        services.publish(reader, pending)
        assert ReleaseVersion.objects.get(pk=pending.pk).state == VersionState.PUBLISHED
    else:
        with pytest.raises(PermissionDenied):
            services.approve(reader, pending)
        assert ReleaseVersion.objects.get(pk=pending.pk).state == VersionState.PENDING


def _client(world, who: str) -> Client:
    client = Client()
    client.force_login(world["people"][who])
    return client


def _approved(world) -> ReleaseVersion:
    version = draft(world, file_event(world))
    services.submit(principal(world, "reporter"), version)
    return services.approve(principal(world, "group_office"), version)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("reporter", 403),  # the author: sees it, may not publish it
        ("em_leader", 403),  # the issuing unit's leader
        ("group_member", 404),  # a 成员 of the leading group does not even see the draft
        ("county_duty", 404),
    ],
)
def test_without_the_approval_role_nobody_publishes_over_the_api(world, who, status):
    version = _approved(world)
    client = _client(world, who)
    for step in ("publish", "approve", "reject"):
        response = client.post(
            f"/api/releases/versions/{version.pk}/{step}",
            json.dumps({"reason": "不同意"}),
            content_type="application/json",
        )
        assert response.status_code == status, step
    if status == 403:
        assert "无权" in response.json()["detail"]
    assert ReleaseVersion.objects.get(pk=version.pk).state == VersionState.APPROVED
    assert client.get("/public/releases/").content.decode().count("情况通报") == 0


@pytest.mark.parametrize("who", ["reporter", "em_leader", "group_member"])
def test_without_the_approval_role_nobody_publishes_from_the_page(world, who):
    version = _approved(world)
    client = _client(world, who)
    page = client.get(f"/releases/{version.release_id}/")
    if page.status_code == 200:
        assert "发布</button>" not in page.content.decode()  # no button to press …
    response = client.post(f"/releases/versions/{version.pk}/publish/")  # … nor a way round
    assert response.status_code in (403, 404)
    if response.status_code == 403:
        assert "无权发布信息" in response.content.decode()
    assert ReleaseVersion.objects.get(pk=version.pk).state == VersionState.APPROVED


def test_an_approver_publishes_over_the_api_and_from_the_page(world):
    first, second = _approved(world), _approved(world)
    response = _client(world, "group_leader").post(f"/api/releases/versions/{first.pk}/publish")
    assert response.status_code == 200 and response.json()["state"] == "published"
    response = _client(world, "prop_leader").post(f"/releases/versions/{second.pk}/publish/")
    assert response.status_code == 302
    assert ReleaseVersion.objects.get(pk=second.pk).state == VersionState.PUBLISHED


def test_renderings_of_a_draft_follow_its_visibility(world, versions):
    _, pending = versions
    for who, status in (("reporter", 200), ("prop_leader", 200), ("county_duty", 404)):
        client = _client(world, who)
        assert client.get(f"/api/releases/versions/{pending.pk}/texts").status_code == status
        url = f"/releases/versions/{pending.pk}/press-release.docx"
        assert client.get(url).status_code == status, who
        assert client.get(f"/releases/{pending.release_id}/").status_code == status
