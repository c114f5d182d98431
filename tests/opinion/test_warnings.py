"""Opinion warnings from scheme thresholds, the analyst's decisions, and topic → clue."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fenghuo.core import clock
from fenghuo.events.models import VerificationTask
from fenghuo.intake.services import confirm_intake_draft
from fenghuo.notify.models import Message
from fenghuo.opinion import selectors, services
from fenghuo.opinion.models import Colour, OpinionWarning, Topic, WarningRule, WarningState
from fenghuo.org.policy import principal_for

from .conftest import post

pytestmark = pytest.mark.django_db


def burst(moment, prefix: str, n: int) -> list[dict]:
    return [
        post(
            f"{prefix}{i}",
            f"临江市化工厂爆炸，厂区浓烟，第{i}段现场视频，到现在没人管太气人了",
            published_at=(moment - timedelta(minutes=i)).isoformat(),
            division_code="990100",
            url=f"https://weibo.example.com/{prefix}{i}",
        )
        for i in range(n)
    ]


@pytest.fixture
def scheme(world):
    scheme = services.scheme_create(
        principal_for(world.city_analyst),
        name="临江危化",
        expression_text="(示范省 OR 临江市) AND (爆炸 OR 泄漏) NOT 演习",
        owner_unit=world.city,
    )
    WarningRule.objects.create(scheme=scheme, colour=Colour.YELLOW, min_posts=3)
    WarningRule.objects.create(
        scheme=scheme, colour=Colour.RED, min_posts=10, sensitive_words="爆炸，死亡"
    )
    return scheme


def test_a_burst_raises_a_warning_and_its_clue_reaches_the_local_unit(world, scheme):
    """A burst of posts about one topic raises a warning through the outbox, and the clue
    it turns into reaches the local unit as a verification task."""
    moment = clock.now().replace(microsecond=0)
    with clock.frozen_at(moment):
        services.ingest(burst(moment, "a", 12), source="test")
    warning = OpinionWarning.objects.get()
    topic = warning.topic
    assert topic.is_burst and topic.post_count == 12 and topic.division_code == "990100"
    assert warning.scheme == scheme and warning.colour == Colour.RED
    assert any("爆炸" in reason for reason in warning.reasons)
    notified = Message.objects.filter(key=f"opinion-warning:{warning.pk}:red")
    assert {m.person for m in notified} == {world.city_analyst, world.city_duty}

    # The same burst does not raise twice, nor a lower colour.
    with clock.frozen_at(moment + timedelta(minutes=1)):
        services.ingest(burst(moment, "b", 5), source="test")
    assert OpinionWarning.objects.count() == 1

    analyst = principal_for(world.city_analyst)
    result = services.topic_to_clue(analyst, topic)
    assert result.report.unit == world.city and result.report.event is None
    with pytest.raises(ValidationError):
        services.topic_to_clue(analyst, topic)

    confirmed = confirm_intake_draft(
        principal_for(world.city_duty), result.report, {"place": "临江市化工园区"}
    )
    topic.refresh_from_db()
    assert topic.event == confirmed.event
    task = VerificationTask.objects.get(event=confirmed.event)
    assert task.assignee_unit == world.city and topic.title in task.question


def test_analyst_confirms_adjusts_or_dismisses(world, scheme):
    moment = clock.now().replace(microsecond=0)
    with clock.frozen_at(moment):
        services.ingest(burst(moment, "a", 4), source="test")
    warning = OpinionWarning.objects.get()
    assert warning.colour == Colour.YELLOW and warning.state == WarningState.RAISED

    analyst = principal_for(world.city_analyst)
    with pytest.raises(PermissionDenied):  # another city's analyst does not see the scheme
        services.warning_confirm(principal_for(world.other_analyst), warning)
    with pytest.raises(PermissionDenied):
        services.warning_confirm(principal_for(world.city_reporter), warning)

    services.warning_confirm(analyst, warning, note="已核")
    adjusted = services.warning_adjust(analyst, warning, Colour.ORANGE, note="涉及伤亡")
    assert adjusted.colour == Colour.ORANGE and adjusted.state == WarningState.ADJUSTED
    assert adjusted.decided_by == world.city_analyst
    assert Message.objects.filter(key=f"opinion-warning:{warning.pk}:orange").exists()
    with pytest.raises(ValidationError):
        services.warning_adjust(analyst, warning, "purple")
    services.warning_dismiss(analyst, warning)
    with pytest.raises(ValidationError):
        services.warning_confirm(analyst, warning)


def test_selectors_enforce_access(world, scheme):
    moment = clock.now().replace(microsecond=0)
    with clock.frozen_at(moment):
        services.ingest(burst(moment, "a", 4), source="test")
    topic = Topic.objects.get()
    city, other = principal_for(world.city_analyst), principal_for(world.other_analyst)
    reporter = principal_for(world.city_reporter)

    assert list(selectors.topics_visible(city)) == [topic]
    assert not selectors.topics_visible(reporter).exists()
    with pytest.raises(PermissionDenied):
        selectors.topic_detail(reporter, topic)
    detail = selectors.topic_detail(city, topic)
    assert sum(b["posts"] for b in detail["timeline"]) == 4
    assert sum(detail["sentiment"].values()) == 4
    assert detail["platforms"] == [{"platform": "weibo", "label": "微博", "posts": 4}]
    assert len(detail["representative"]) >= 1 and detail["keywords"]

    assert selectors.opinion_warnings_visible(city).count() == 1
    assert selectors.opinion_warnings_visible(other).count() == 0
    assert len(selectors.matching_posts(city)) == 4
    assert len(selectors.matching_posts(other)) == 0
    newest = selectors.matching_posts(city, scheme=scheme)[0]
    assert not selectors.matching_posts(city, after_id=newest.pk).exists()
    assert selectors.division_counts(city, moment - timedelta(hours=1))[0]["division_code"] == (
        "990100"
    )
    assert selectors.division_counts(reporter, moment - timedelta(hours=1)) == []


def test_topics_warnings_and_clue_over_the_api(world, scheme, client):
    moment = clock.now().replace(microsecond=0)
    with clock.frozen_at(moment):
        services.ingest(burst(moment, "a", 4), source="test")
    warning, topic = OpinionWarning.objects.get(), Topic.objects.get()

    client.force_login(world.city_reporter)
    assert client.get("/api/opinion/topics").json() == []
    assert client.get(f"/api/opinion/topics/{topic.pk}").status_code == 404
    client.force_login(world.other_analyst)  # another city's analyst: not this scheme
    assert client.get("/api/opinion/warnings").json() == []

    client.force_login(world.city_analyst)
    assert [t["id"] for t in client.get("/api/opinion/topics").json()] == [topic.pk]
    assert client.get(f"/api/opinion/topics/{topic.pk}").json()["post_count"] == 4
    assert [w["id"] for w in client.get("/api/opinion/warnings").json()] == [warning.pk]
    decide = f"/api/opinion/warnings/{warning.pk}/decision"
    bad = client.post(decide, {"action": "ignore"}, content_type="application/json")
    assert bad.status_code == 422 and "action" in bad.json()["errors"]
    adjusted = client.post(
        decide, {"action": "adjust", "colour": "orange"}, content_type="application/json"
    )
    assert adjusted.status_code == 200 and adjusted.json()["colour"] == "orange"
    clue = client.post(
        f"/api/opinion/topics/{topic.pk}/clue", {"text": ""}, content_type="application/json"
    )
    assert clue.status_code == 201 and clue.json()["unit_id"] == world.city.pk


def test_warning_and_clue_actions_on_the_pages(world, scheme, client):
    moment = clock.now().replace(microsecond=0)
    with clock.frozen_at(moment):
        services.ingest(burst(moment, "a", 4), source="test")
    warning, topic = OpinionWarning.objects.get(), Topic.objects.get()

    client.force_login(world.other_analyst)  # does not see this scheme's warnings
    assert (
        client.post(f"/opinion/warnings/{warning.pk}/decide/", {"action": "confirm"}).status_code
        == 404
    )
    client.force_login(world.city_analyst)
    page = client.get("/opinion/warnings/").content.decode()
    assert f"/opinion/warnings/{warning.pk}/decide/" in page
    client.post(
        f"/opinion/warnings/{warning.pk}/decide/",
        {"action": "adjust", "colour": "orange", "note": "涉及伤亡"},
    )
    warning.refresh_from_db()
    assert (warning.colour, warning.state, warning.note) == ("orange", "adjusted", "涉及伤亡")
    bad = client.post(f"/opinion/warnings/{warning.pk}/decide/", {"action": "x"}, follow=True)
    assert "请选择确认、调整级别或排除" in bad.content.decode()

    assert (
        f"/opinion/topics/{topic.pk}/clue/"
        in client.get(f"/opinion/topics/{topic.pk}/").content.decode()
    )
    done = client.post(f"/opinion/topics/{topic.pk}/clue/", follow=True).content.decode()
    assert "已转为线索" in done
    topic.refresh_from_db()
    assert topic.clue_report is not None and topic.clue_report.unit == world.city
