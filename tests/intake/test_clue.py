"""The hook opinion monitoring calls: a clue becomes an unverified draft."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fenghuo.events.models import Channel, Reliability, Report, ReportStatus
from fenghuo.intake import services
from fenghuo.org.policy import principal_for

pytestmark = pytest.mark.django_db

URL = "https://weibo.example.com/status/4912345678"
TEXT = "网传江口县城关镇一小区发生燃气爆炸，多人受伤\n多名网友发布现场视频，称有浓烟。"


def test_analyst_turns_a_clue_into_an_unverified_draft(tree):
    analyst = principal_for(tree["people"]["analyst"])
    result = services.report_from_clue(
        analyst, unit=tree["county"], clue_text=TEXT, source_url=URL, data={"place": "城关镇"}
    )
    report = result.report
    assert report.channel == Channel.CLUE and report.status == ReportStatus.DRAFT
    assert report.reliability == Reliability.UNVERIFIED and report.event is None
    assert report.unit == tree["county"] and report.created_by == tree["people"]["analyst"]
    assert report.title == "网传江口县城关镇一小区发生燃气爆炸，多人受伤"
    assert URL in report.narrative and URL in report.source
    assert report.category.code == "online_opinion" and report.place == "城关镇"

    # A duty officer verifies and submits it like any draft.
    duty = principal_for(tree["people"]["county_duty"])
    confirmed = services.confirm_intake_draft(
        duty, report, {"category": "hazchem", "division_code": "990121"}
    )
    assert confirmed.report.status == ReportStatus.SUBMITTED and confirmed.event is not None


def test_clue_needs_text_a_valid_link_and_the_right_person(tree):
    analyst = principal_for(tree["people"]["analyst"])
    with pytest.raises(ValidationError) as invalid:
        services.report_from_clue(
            analyst, unit=tree["county"], clue_text=" ", source_url="weibo 上看到的", data={}
        )
    assert set(invalid.value.message_dict) == {"clue_text", "source_url"}
    with pytest.raises(PermissionDenied):
        services.report_from_clue(
            principal_for(tree["people"]["bureau_reporter"]),
            unit=tree["county"],
            clue_text=TEXT,
            source_url=URL,
            data={},
        )
    assert not Report.objects.exists()
