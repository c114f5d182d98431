"""Review and publication: submit → approve (or return with a reason) → publish, by the
permitted roles (configuration), each step audited, on the timeline and announced."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fenghuo.core.models import AuditEntry
from fenghuo.events.models import TimelineEntry, TimelineKind
from fenghuo.notify.models import Channel, Message
from fenghuo.release import selectors, services
from fenghuo.release.models import Release, ReleaseVersion, VersionState
from tests.release.world import PARTS, draft, file_event, principal

pytestmark = pytest.mark.django_db

TITLE = f"《{PARTS['title']}》"


def _inbox(version: ReleaseVersion, step: str) -> set[str]:
    return set(
        Message.objects.filter(
            key=f"release-version:{version.pk}:{step}", channel=Channel.INAPP
        ).values_list("person__username", flat=True)
    )


def _actions(version: ReleaseVersion) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="release.releaseversion", object_id=str(version.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def _timeline(event) -> list[str]:
    return list(
        TimelineEntry.objects.filter(event=event, kind=TimelineKind.RELEASE)
        .order_by("at", "pk")
        .values_list("text", flat=True)
    )


def test_submit_approve_publish(world):
    event = file_event(world)
    version = draft(world, event)
    services.submit(principal(world, "reporter"), version)
    version.refresh_from_db()
    assert version.state == VersionState.PENDING
    assert version.submitted_by == world["people"]["reporter"]
    # Every approver of the issuing unit hears of it (the county's and the province's
    # leading groups, the provincial propaganda department), nobody else.
    assert _inbox(version, "submitted") == {
        "group_leader",
        "group_deputy",
        "group_office",
        "prop_leader",
        "county_group",
    }

    services.approve(principal(world, "group_deputy"), version, "同意发布")
    version.refresh_from_db()
    assert version.state == VersionState.APPROVED
    assert (version.reviewed_by.username, version.review_note) == ("group_deputy", "同意发布")
    assert _inbox(version, "approved") == {"reporter"}
    assert version.release.current is None  # approved is not yet public

    services.publish(principal(world, "group_deputy"), version)
    version.refresh_from_db()
    release = Release.objects.get(pk=version.release_id)
    assert version.state == VersionState.PUBLISHED and version.edition == 1
    assert release.current == version
    assert release.first_published_at == release.last_published_at == version.published_at
    assert _inbox(version, "published") == {"reporter"}

    assert _actions(version) == [
        "release.version.create",
        "release.version.submit",
        "release.version.approve",
        "release.version.publish",
    ]
    assert AuditEntry.objects.filter(action="release.publish", object_id=str(release.pk)).exists()
    assert _timeline(event) == [
        f"江口县应急管理局起草信息发布稿{TITLE}（第1稿）。",
        f"信息发布稿{TITLE}（第1稿）提交审核。",
        f"信息发布稿{TITLE}（第1稿）审核通过。",
        f"公开发布{TITLE}（江口县应急管理局，第1版）。",
    ]


def test_reject_needs_a_reason_and_keeps_the_version(world):
    event = file_event(world)
    version = draft(world, event)
    services.submit(principal(world, "reporter"), version)
    office = principal(world, "group_office")
    with pytest.raises(ValidationError) as caught:
        services.reject(office, version, "  ")
    assert caught.value.message_dict == {"reason": ["退回理由为必填项"]}
    services.reject(office, version, "伤亡数字与核实数不一致，请核对")
    version.refresh_from_db()
    assert version.state == VersionState.REJECTED
    assert version.review_note == "伤亡数字与核实数不一致，请核对"
    assert version.title == PARTS["title"]  # kept as it was
    assert _inbox(version, "rejected") == {"reporter"}
    assert _timeline(event)[-1] == (
        f"信息发布稿{TITLE}（第1稿）被退回：伤亡数字与核实数不一致，请核对"
    )
    assert _actions(version)[-1] == "release.version.reject"
    with pytest.raises(ValidationError):
        services.publish(office, version)  # never published


def test_an_approved_version_may_still_be_returned(world):
    event = file_event(world)
    version = draft(world, event)
    services.submit(principal(world, "reporter"), version)
    services.approve(principal(world, "group_office"), version)
    services.reject(principal(world, "group_leader"), version, "暂缓发布")
    assert ReleaseVersion.objects.get(pk=version.pk).state == VersionState.REJECTED


def test_steps_in_the_wrong_order_are_refused(world):
    event = file_event(world)
    version = draft(world, event)
    office = principal(world, "group_office")
    with pytest.raises(ValidationError) as caught:
        services.approve(office, version)
    assert caught.value.message_dict == {"state": ["该稿当前状态为「草稿」，不能批准"]}
    with pytest.raises(ValidationError):
        services.publish(office, version)  # not approved
    services.submit(principal(world, "reporter"), version)
    with pytest.raises(ValidationError):
        services.submit(principal(world, "reporter"), version)  # twice
    with pytest.raises(ValidationError):
        services.update_draft(principal(world, "reporter"), version, {"title": "改"})  # frozen
    services.approve_and_publish(office, version)
    with pytest.raises(ValidationError):
        services.approve(principal(world, "group_leader"), version)


def test_nobody_reviews_their_own_draft(world):
    """The leading group's office may write a release for its own unit, but someone else
    with the approval role must approve it."""
    event = file_event(world)
    office = principal(world, "county_group")
    version = services.create_release(
        office, event=event, unit=world["county"], data={**PARTS, "occurred_at": event.occurred_at}
    )
    services.submit(office, version)
    assert not selectors.approval_queue(office).filter(pk=version.pk).exists()
    with pytest.raises(PermissionDenied):
        services.approve(office, version)
    assert selectors.approval_queue(principal(world, "group_leader")).filter(pk=version.pk).exists()
    services.approve(principal(world, "group_leader"), version)


def test_approvers_are_configuration(world, settings):
    """Only the 组长 approves here: the office and the propaganda leader no longer do."""
    settings.FENGHUO_RELEASE_APPROVERS = [
        {"roles": ["group_leader"], "unit_kinds": [], "reach": "unit"}
    ]
    event = file_event(world)
    version = draft(world, event)
    services.submit(principal(world, "reporter"), version)
    assert _inbox(version, "submitted") == {"group_leader", "county_group"}
    for who in ("group_office", "prop_leader"):
        with pytest.raises(PermissionDenied):
            services.approve(principal(world, who), version)
    services.approve(principal(world, "group_leader"), version)


def test_a_drill_is_marked_on_the_timeline_and_in_messages(world):
    event = file_event(world)
    version = draft(world, event, is_drill=True)
    services.submit(principal(world, "reporter"), version)
    services.approve_and_publish(principal(world, "group_office"), version)
    lines = _timeline(event)
    assert all(line.startswith("【演练】") for line in lines)
    assert lines[-1].endswith("（演练，不对外公开）。")
    subjects = Message.objects.filter(key__startswith=f"release-version:{version.pk}:")
    assert subjects.exists() and all(m.is_drill for m in subjects)
    assert all(m.subject.startswith("【演练】") for m in subjects)
