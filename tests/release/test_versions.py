"""Updates are new versions: the draft of an update starts from the published text, one
version is in the works at a time, and the history keeps every published version."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from fenghuo.core import clock
from fenghuo.events import services as event_services
from fenghuo.events.models import Event
from fenghuo.release import selectors, services
from fenghuo.release.models import Release, ReleaseVersion, VersionState
from tests.release.world import PARTS, draft, file_event, principal, published

pytestmark = pytest.mark.django_db


def test_an_update_starts_from_the_published_text(world):
    event = file_event(world)
    first = published(world, event)
    reporter = principal(world, "reporter")
    update = services.new_version(reporter, first.release)
    assert (update.number, update.state, update.based_on) == (2, VersionState.DRAFT, first)
    for name in services.CONTENT_FIELDS:
        assert getattr(update, name) == getattr(first, name), name
    services.update_draft(
        reporter,
        update,
        {"title": "关于江口县化工园区爆炸事故的续报", "impact": "事故造成2人死亡、4人受伤。"},
    )
    services.submit(reporter, update)
    services.approve_and_publish(principal(world, "group_leader"), update)

    release = Release.objects.get(pk=first.release_id)
    assert release.current.pk == update.pk
    assert release.first_published_at == first.published_at
    assert release.last_published_at == ReleaseVersion.objects.get(pk=update.pk).published_at
    history = selectors.public_history(release)
    assert [(v.edition, v.title) for v in history] == [
        (2, "关于江口县化工园区爆炸事故的续报"),
        (1, PARTS["title"]),
    ]
    assert history[1].impact == PARTS["impact"]  # the earlier text is kept as it was


def test_history_never_shows_drafts_or_returned_versions(world):
    event = file_event(world)
    first = published(world, event)
    reporter, leader = principal(world, "reporter"), principal(world, "group_leader")
    returned = services.new_version(reporter, first.release)
    services.update_draft(reporter, returned, {"title": "未经核实的续报"})
    services.submit(reporter, returned)
    services.reject(leader, returned, "数字未经核实")
    revised = services.new_version(reporter, first.release, based_on=returned)
    assert revised.title == "未经核实的续报" and revised.number == 3  # revised from its own text
    services.update_draft(reporter, revised, {"title": "关于爆炸事故的续报"})
    services.submit(reporter, revised)
    services.approve_and_publish(leader, revised)
    working = services.new_version(reporter, first.release)
    assert working.title == "关于爆炸事故的续报"  # from the published text, not the returned

    release = Release.objects.get(pk=first.release_id)
    assert [(v.number, v.edition) for v in selectors.public_history(release)] == [(3, 2), (1, 1)]
    states = dict(release.versions.values_list("number", "state"))
    assert states == {
        1: VersionState.PUBLISHED,
        2: VersionState.REJECTED,
        3: VersionState.PUBLISHED,
        4: VersionState.DRAFT,
    }


def test_one_version_in_the_works_at_a_time(world):
    event = file_event(world)
    first = published(world, event)
    reporter = principal(world, "reporter")
    services.new_version(reporter, first.release)
    with pytest.raises(ValidationError) as caught:
        services.new_version(reporter, first.release)
    assert caught.value.message_dict == {
        "__all__": ["本发布已有未完成的第2稿（草稿），请先处理该稿"]
    }
    # The database holds the rule too, whatever path a write takes.
    moment = clock.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReleaseVersion.objects.create(
            release=first.release, number=9, created_at=moment, updated_at=moment
        )


def test_only_published_or_returned_versions_are_revised(world):
    event = file_event(world)
    version = draft(world, event)
    other = draft(world, file_event(world, title="江口县另一起事故", place="江口县城"))
    reporter = principal(world, "reporter")
    services.submit(reporter, version)
    services.reject(principal(world, "group_office"), version, "重写")
    with pytest.raises(ValidationError) as caught:
        services.new_version(reporter, version.release, based_on=other)
    assert caught.value.message_dict == {"based_on": ["只能据本发布已发布或已退回的稿件修改"]}
    revised = services.new_version(reporter, version.release)  # the returned one, by default
    assert revised.based_on_id == version.pk and revised.title == version.title


def test_releases_follow_their_event_into_a_merge(world):
    source = file_event(world)
    # Reported as a separate event (days apart, so matching does not join them).
    target = file_event(world, occurred_at=clock.now() - timedelta(days=3))
    assert target.pk != source.pk
    version = published(world, source)
    event_services.merge_events(principal(world, "county_duty"), source=source, target=target)
    assert not Event.objects.filter(pk=source.pk).exists()
    release = Release.objects.get(pk=version.release_id)
    assert release.event_id == target.pk
    assert selectors.public_releases().filter(pk=release.pk).exists()
