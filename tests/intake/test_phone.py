"""Phone reports: a duty officer records a call on the caller's behalf."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fenghuo.core import clock
from fenghuo.events.models import Channel, Event, Report, ReportStatus, TimelineKind
from fenghuo.intake.services import record_phone_report
from fenghuo.org.policy import principal_for

pytestmark = pytest.mark.django_db

DATA = {
    "title": "江口县城关镇一居民楼起火",
    "category": "fire",
    "division_code": "990121",
    "place": "江口县城关镇人民路 18 号",
    "narrative": "来电称人民路 18 号居民楼三楼起火，浓烟较大，已拨打 119。",
    "injured": 1,
}


def _record(tree, who, unit, **overrides):
    called_at = clock.now() - timedelta(minutes=10)
    kwargs = {
        "unit": tree[unit],
        "caller_name": "张建国",
        "caller_phone": "0731-8888 1234",
        "called_at": called_at,
        "data": {**DATA, "occurred_at": called_at - timedelta(minutes=15)},
    } | overrides
    return record_phone_report(principal_for(tree["people"][who]), **kwargs), called_at


def test_duty_officer_above_records_a_call_for_a_unit(tree):
    result, called_at = _record(tree, "county_duty", "bureau")
    report = result.report
    assert report.channel == Channel.PHONE and report.status == ReportStatus.SUBMITTED
    assert report.unit == tree["bureau"]
    assert (report.caller_name, report.caller_phone) == ("张建国", "0731-8888 1234")
    assert report.received_at == called_at  # timeliness counts from the call
    assert report.created_by == tree["people"]["county_duty"]
    assert report.category.code == "fire" and report.injured == 1
    assert result.outcome == "new_event" and Event.objects.count() == 1
    assert "电话报告" in Event.objects.get().timeline.get(kind=TimelineKind.REPORT).text


@pytest.mark.parametrize("who", ["city_duty", "bureau_duty"])
def test_office_at_or_above_may_record(tree, who):
    result, _ = _record(tree, who, "bureau")
    assert result.report.pk


@pytest.mark.parametrize(("who", "unit"), [("bureau_reporter", "bureau"), ("county_duty", "city")])
def test_others_may_not(tree, who, unit):
    with pytest.raises(PermissionDenied):
        _record(tree, who, unit)
    assert not Report.objects.exists()


def test_every_missing_field_named_and_nothing_saved(tree):
    with pytest.raises(ValidationError) as invalid:
        _record(
            tree,
            "county_duty",
            "bureau",
            caller_phone="",
            data={k: v for k, v in DATA.items() if k != "narrative"}
            | {"occurred_at": clock.now() - timedelta(hours=1)},
        )
    errors = invalid.value.message_dict
    assert errors["caller_phone"] == ["来电号码为必填项"]
    assert errors["narrative"] == ["事件经过为必填项"]
    assert not Report.objects.exists()


def test_our_checks_alone_still_undo_the_report(tree):
    """The report itself is valid, only the call's time is wrong: nothing is kept."""
    with pytest.raises(ValidationError) as invalid:
        _record(tree, "county_duty", "bureau", called_at=clock.now() + timedelta(hours=2))
    assert invalid.value.message_dict == {"called_at": ["来电时间不能晚于当前时间"]}
    assert not Report.objects.exists() and not Event.objects.exists()


def test_bad_number_and_unknown_category(tree):
    with pytest.raises(ValidationError) as invalid:
        _record(
            tree,
            "county_duty",
            "bureau",
            caller_phone="打不通",
            data={**DATA, "category": "no-such", "occurred_at": clock.now()},
        )
    errors = invalid.value.message_dict
    assert "caller_phone" in errors and errors["category"] == ["未知的事件类别：no-such"]
