"""Drafting: the prefilled text (from the event and its current figures, never from 敏感
reports), the required parts with Chinese per-field errors, and who may draft."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.events.models import TimelineEntry, TimelineKind
from fenghuo.release import selectors, services
from fenghuo.release.models import Release, ReleaseVersion, VersionState
from tests.release.world import NARRATIVE, PARTS, SECRET, draft, file_event, principal

pytestmark = pytest.mark.django_db


def test_prefill_comes_from_the_event_and_its_current_figures(world):
    event = file_event(world)
    values = selectors.prefill(principal(world, "reporter"), event, world["em"])
    assert values["title"] == "关于江口县化工园区发生爆炸的情况通报"
    assert values["occurred_at"] == event.occurred_at
    assert values["place"] == "江口县化工园区临江化工厂"
    assert values["overview"] == NARRATIVE
    assert values["measures"] == "已疏散周边群众，封闭园区道路。"
    assert "1人死亡、4人受伤" in values["impact"]
    assert "紧急疏散转移群众500人" in values["impact"]
    assert values["contact"] == "江口县应急管理局　电话：0999-1234567"
    assert values["advice"] == ""  # advice to the public is the drafter's own words


def test_prefill_never_uses_a_sensitive_report(world):
    """The county duty officer may read the 敏感 report, but a release is for the public:
    its words, place and figures stay out of the draft."""
    event = file_event(world, sensitive=True)
    reader = principal(world, "county_duty")
    assert any(SECRET in r.narrative for r in event.reports.all())
    values = selectors.prefill(reader, event, world["county"])
    text = " ".join(str(v) for v in values.values())
    assert SECRET not in text
    assert "三号仓库" not in text
    assert "3人死亡" not in values["impact"] and "1人死亡" in values["impact"]
    assert values["place"] == "江口县化工园区临江化工厂"
    assert values["cause"] == ""


def test_a_draft_may_be_incomplete_and_submitting_names_every_missing_part(world):
    event = file_event(world)
    reporter = principal(world, "reporter")
    version = services.create_release(
        reporter, event=event, unit=world["em"], data={"title": "", "overview": "  "}
    )
    assert version.state == VersionState.DRAFT and version.number == 1
    entries = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.submit(reporter, version)
    assert caught.value.message_dict == {
        "title": ["标题为必填项"],
        "occurred_at": ["发生时间为必填项"],
        "place": ["发生地点为必填项"],
        "overview": ["事件概况为必填项"],
        "impact": ["影响范围为必填项"],
        "measures": ["应对措施为必填项"],
        "advice": ["防范建议为必填项"],
        "contact": ["联系方式为必填项"],
    }
    version.refresh_from_db()
    assert version.state == VersionState.DRAFT and version.submitted_at is None
    assert AuditEntry.objects.count() == entries  # nothing half-done


def test_the_cause_may_still_be_unknown(world):
    event = file_event(world)
    version = draft(world, event, cause="")
    services.submit(principal(world, "reporter"), version)
    assert ReleaseVersion.objects.get(pk=version.pk).state == VersionState.PENDING


def test_required_parts_are_configuration(world, settings):
    settings.FENGHUO_RELEASE_REQUIRED_FIELDS = ("title", "overview", "cause")
    event = file_event(world)
    version = draft(world, event, cause="")
    with pytest.raises(ValidationError) as caught:
        services.submit(principal(world, "reporter"), version)
    assert caught.value.message_dict == {"cause": ["原因为必填项"]}


def test_wrong_values_are_refused_at_once(world):
    event = file_event(world)
    with pytest.raises(ValidationError) as caught:
        draft(world, event, occurred_at=clock.now() + timedelta(hours=2), title="长" * 201)
    assert caught.value.message_dict == {
        "title": ["标题不能超过 200 字"],
        "occurred_at": ["发生时间不能晚于当前时间"],
    }
    assert not Release.objects.filter(event=event).exists()


def test_creating_is_audited_and_on_the_timeline(world):
    event = file_event(world)
    version = draft(world, event)
    actions = set(
        AuditEntry.objects.filter(action__startswith="release.").values_list("action", flat=True)
    )
    assert {"release.create", "release.version.create"} <= actions
    line = TimelineEntry.objects.filter(event=event, kind=TimelineKind.RELEASE).get()
    assert line.text == f"江口县应急管理局起草信息发布稿《{PARTS['title']}》（第1稿）。"
    assert line.actor_name == "reporter"
    assert version.created_by_id == world["people"]["reporter"].pk


@pytest.mark.parametrize(
    ("who", "unit", "allowed"),
    [
        ("reporter", "em", True),  # 信息员 of the issuing unit
        ("em_leader", "em", True),
        ("em_duty", "em", True),
        ("em_admin", "em", False),  # administers structure, does not write releases
        ("expert", "em", False),
        ("county_duty", "em", False),  # another unit's name
        ("county_duty", "county", True),
        ("prop_reporter", "prop", False),  # cannot see the event at all
    ],
)
def test_who_may_draft_in_whose_name(world, who, unit, allowed):
    event = file_event(world)
    reader = principal(world, who)
    create = lambda: services.create_release(  # noqa: E731
        reader, event=event, unit=world[unit], data={"title": "情况通报"}
    )
    if allowed:
        assert create().release.unit == world[unit]
    else:
        with pytest.raises(PermissionDenied):
            create()
        assert not Release.objects.filter(event=event).exists()
