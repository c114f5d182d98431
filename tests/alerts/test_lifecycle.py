"""Draft → approved → issued → adjusted (a new version) → lifted; every step audited and on
the linked event's timeline; the colour rules and approver roles as configuration; Chinese
field errors."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fenghuo.alerts import services
from fenghuo.alerts.models import IssuingRule, Warning, WarningLevel, WarningState
from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.core.selectors import verify_audit_chain
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services as event_services
from fenghuo.events.models import TimelineEntry, TimelineKind
from fenghuo.org.models import Role
from tests.alerts.world import content, draft, issued, principal
from tests.events.world import file_first

pytestmark = pytest.mark.django_db


def _actions(warning: Warning) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="alerts.warning", object_id=str(warning.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_a_warning_goes_through_its_whole_life(world):
    event = file_first(world, "county_reporter", unit="county", title="江口县普降暴雨").event
    leader = principal(world, "city_leader")

    warning = draft(world, event=event.pk)
    assert warning.state == WarningState.DRAFT
    assert warning.version == 1 and warning.series_id == warning.pk
    assert warning.title == "临江市委办公室发布暴雨黄色预警"
    assert warning.area_desc == "江口县"  # from the unit tree: "江口县委办公室" without the office
    assert warning.identifier is None

    services.approve(leader, warning)
    assert warning.state == WarningState.APPROVED and warning.reviewed_by_id == leader.person_id
    services.issue(leader, warning)
    warning.refresh_from_db()
    assert warning.state == WarningState.ISSUED and warning.issued_at is not None
    assert warning.identifier.startswith("99010000000000_")

    # 调整: a new version; the first stays in force until the new one is issued.
    province_office = principal(world, "prov_office")
    adjusted = services.adjust(
        province_office,
        warning,
        {"level": WarningLevel.ORANGE, "issuing_unit": world["province"]},
    )
    assert adjusted.pk != warning.pk
    assert (adjusted.version, adjusted.replaces_id, adjusted.series_id) == (
        2,
        warning.pk,
        warning.pk,
    )
    assert adjusted.title == "江南省委办公厅发布暴雨橙色预警"  # the generated title follows
    assert adjusted.impact == warning.impact and adjusted.event_id == event.pk
    warning.refresh_from_db()
    assert warning.state == WarningState.ISSUED

    province_leader = principal(world, "prov_leader")
    services.approve(province_leader, adjusted)
    services.issue(province_leader, adjusted)
    warning.refresh_from_db()
    assert warning.state == WarningState.SUPERSEDED
    assert adjusted.state == WarningState.ISSUED

    with pytest.raises(ValidationError) as error:
        services.lift(province_leader, adjusted, "")
    assert error.value.message_dict == {"reason": ["请填写解除说明"]}
    services.lift(province_leader, adjusted, "降雨已经结束，解除暴雨橙色预警。")
    adjusted.refresh_from_db()
    assert adjusted.state == WarningState.LIFTED and adjusted.cancel_identifier

    assert _actions(warning) == [
        "alerts.warning.create",
        "alerts.warning.approve",
        "alerts.warning.issue",
        "alerts.warning.supersede",
    ]
    assert _actions(adjusted) == [
        "alerts.warning.adjust",
        "alerts.warning.approve",
        "alerts.warning.issue",
        "alerts.warning.lift",
    ]
    assert verify_audit_chain().ok
    lines = list(event.timeline.filter(kind=TimelineKind.WARNING).values_list("text", flat=True))
    assert lines[0] == "拟制预警：临江市委办公室发布暴雨黄色预警（待审批）"
    assert lines[1:3] == [
        "批准预警：临江市委办公室发布暴雨黄色预警",
        "发布预警：临江市委办公室发布暴雨黄色预警",
    ]
    assert lines[3].startswith("拟制预警调整稿（第 2 版）")
    assert "级别由黄色（Ⅲ级）调整为橙色（Ⅱ级）" in lines[5]
    assert lines[-1].startswith("解除预警（降雨已经结束")


def test_unlinked_warnings_write_no_timeline(world):
    before = TimelineEntry.objects.count()
    warning = issued(world)
    assert warning.event_id is None
    assert TimelineEntry.objects.count() == before


def test_missing_and_wrong_fields_are_named_in_chinese(world):
    with pytest.raises(ValidationError) as error:
        services.create_warning(principal(world, "city_duty"), {"issuing_unit": world["city"]})
    assert error.value.message_dict == {
        "category": ["预警类别为必填项"],
        "event_name": ["预警事件为必填项（如：暴雨、山洪、地质灾害）"],
        "level": ["预警级别为必填项"],
        "area_codes": ["影响区域须至少填写一个行政区划代码"],
        "starts_at": ["开始时间为必填项"],
        "ends_at": ["预计结束时间为必填项"],
        "impact": ["预计影响为必填项"],
        "cautions": ["警示事项为必填项"],
        "measures": ["应采取的措施为必填项"],
    }
    moment = clock.now()
    with pytest.raises(ValidationError) as error:
        draft(
            world,
            category="no-such",
            level=7,
            area_codes="990121, 99012X",
            ends_at=moment - timedelta(hours=1),
            geometry=[{"type": "Polygon", "coordinates": [[[200, 30], [121, 31], [121, 30]]]}],
        )
    errors = error.value.message_dict
    assert errors["category"] == ["未知的预警类别：no-such"]
    assert errors["level"] == ["预警级别须为 1（红色）、2（橙色）、3（黄色）、4（蓝色）之一"]
    assert errors["area_codes"] == ["行政区划代码须为 6 位数字（GB/T 2260）：99012X"]
    assert errors["ends_at"] == ["预计结束时间须晚于开始时间"]
    assert errors["geometry"] == ["绘制区域格式不正确：坐标 200 超出范围"]
    assert not Warning.objects.exists()


def test_drawn_shapes_are_normalised(world):
    warning = draft(
        world,
        geometry={
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[121.1234567, 30.1], [121.5, 30.1], [121.5, 30.6]]],
                    },
                }
            ],
        },
    )
    assert warning.geometry == [
        {
            "type": "Polygon",
            "coordinates": [[[121.123457, 30.1], [121.5, 30.1], [121.5, 30.6], [121.123457, 30.1]]],
        }
    ]


def test_which_body_may_issue_which_colour_is_configuration(world):
    # Defaults: a city issues yellow and blue, not red or orange.
    with pytest.raises(ValidationError) as error:
        draft(world, level=WarningLevel.RED)
    assert error.value.message_dict["level"] == [
        "红色预警须由国家级、省级单位发布；临江市委办公室是市级单位，请改由上级单位发布或调整预警级别"
    ]
    # The province issues red but not yellow.
    assert draft(world, "prov_office", level=WarningLevel.RED, issuing_unit=world["province"])
    with pytest.raises(ValidationError):
        draft(world, "prov_office", issuing_unit=world["province"])

    # An administrator lets cities issue orange: now the city may, the county still not red.
    rule = IssuingRule.objects.get(level=WarningLevel.ORANGE)
    rule.issuer_levels = [*rule.issuer_levels, "city"]
    rule.save()
    assert draft(world, level=WarningLevel.ORANGE).level == WarningLevel.ORANGE

    # A rule that was removed lets nobody issue that colour.
    IssuingRule.objects.filter(level=WarningLevel.BLUE).delete()
    with pytest.raises(ValidationError) as error:
        draft(world, level=WarningLevel.BLUE)
    assert "尚未配置蓝色预警的发布权限" in error.value.message_dict["level"][0]


def test_which_roles_approve_is_configuration(world):
    yellow = draft(world)
    # 领导小组办公室 approves yellow by default, 成员 does not.
    with pytest.raises(PermissionDenied):
        services.approve(principal(world, "city_member"), yellow)
    services.approve(principal(world, "city_office"), yellow)

    red = draft(world, "prov_duty", level=WarningLevel.RED, issuing_unit=world["province"])
    with pytest.raises(PermissionDenied, match="无权批准暴雨红色预警"):
        services.approve(principal(world, "prov_office"), red)
    rule = IssuingRule.objects.get(level=WarningLevel.RED)
    rule.approver_roles = [*rule.approver_roles, Role.GROUP_OFFICE]
    rule.save()
    services.approve(principal(world, "prov_office"), red)
    assert red.state == WarningState.APPROVED


def test_a_leader_of_another_unit_cannot_approve(world):
    warning = draft(world)
    with pytest.raises(PermissionDenied):
        services.approve(principal(world, "prov_leader"), warning)  # not the issuing unit
    with pytest.raises(PermissionDenied):
        services.approve(principal(world, "sea_leader"), warning)


def test_reject_edit_and_approve_again(world):
    warning = draft(world)
    leader = principal(world, "city_leader")
    with pytest.raises(ValidationError) as error:
        services.reject(leader, warning, " ")
    assert error.value.message_dict == {"reason": ["请填写退回理由"]}
    services.reject(leader, warning, "影响区域应包括河西县")
    assert warning.state == WarningState.REJECTED
    with pytest.raises(ValidationError):
        services.approve(leader, warning)  # a rejected draft is edited first

    services.update_warning(
        principal(world, "city_duty"), warning, {"area_codes": ["990121", "990122"]}
    )
    warning.refresh_from_db()
    assert warning.state == WarningState.DRAFT
    assert warning.area_desc == "江口县、河西县"  # the generated names follow the codes
    assert sorted(warning.areas.values_list("prefix", flat=True)) == ["990121", "990122"]
    services.approve(leader, warning)

    # Editing an approved warning needs approval again.
    services.update_warning(principal(world, "city_duty"), warning, {"event_name": "大暴雨"})
    warning.refresh_from_db()
    assert warning.state == WarningState.DRAFT and warning.reviewed_by_id is None
    assert warning.title == "临江市委办公室发布大暴雨黄色预警"


def test_issued_warnings_are_not_edited_but_adjusted(world):
    warning = issued(world)
    with pytest.raises(ValidationError) as error:
        services.update_warning(principal(world, "city_duty"), warning, {"event_name": "x"})
    assert "调整" in error.value.messages[0]
    first = services.adjust(principal(world, "city_duty"), warning, {"area_codes": ["990100"]})
    with pytest.raises(ValidationError, match="已有未发布的调整稿"):
        services.adjust(principal(world, "city_duty"), warning, {})
    services.withdraw(principal(world, "city_duty"), first)
    second = services.adjust(principal(world, "city_duty"), warning, {})
    assert second.version == 3  # the withdrawn draft kept number 2


def test_an_adjustment_of_a_superseded_warning_cannot_be_issued(world):
    warning = issued(world)
    leader = principal(world, "city_leader")
    first = services.adjust(principal(world, "city_duty"), warning, {"event_name": "大暴雨"})
    services.approve(leader, first)
    services.issue(leader, first)
    # A stale approved adjustment of the old version (made before it was superseded).
    stale = Warning.objects.get(pk=first.pk)
    stale.pk = None
    stale.state, stale.identifier, stale.replaces = WarningState.APPROVED, None, warning
    stale.save()
    with pytest.raises(ValidationError, match="已被调整或解除"):
        services.issue(leader, stale)


def test_a_warning_past_its_end_cannot_be_issued(world):
    warning = draft(world)
    leader = principal(world, "city_leader")
    services.approve(leader, warning)
    with (
        clock.frozen_at(warning.ends_at + timedelta(minutes=1)),
        pytest.raises(ValidationError) as error,
    ):
        services.issue(leader, warning)
    assert error.value.message_dict == {"ends_at": ["预计结束时间已过，不能发布，请修改后重新审批"]}


def test_only_drafting_roles_of_the_issuing_unit_draft(world):
    with pytest.raises(PermissionDenied, match="无权以该单位名义拟制预警"):
        draft(world, "city_reporter")
    with pytest.raises(PermissionDenied):
        services.create_warning(
            principal(world, "city_duty"), content(world, issuing_unit=world["province"])
        )


def test_warnings_follow_their_event_into_a_merge(world):
    # Different top categories, so the matcher never joins them by itself.
    source = file_first(
        world, "county_reporter", unit="county", title="江口县暴雨", category=_category("weather")
    ).event
    target = file_first(world, "bureau_duty", unit="bureau").event
    assert source.pk != target.pk
    warning = draft(world, event=source.pk)
    event_services.merge_events(principal(world, "city_duty"), source=source, target=target)
    warning.refresh_from_db()
    assert warning.event_id == target.pk
    assert AuditEntry.objects.filter(action="alerts.warning.relink").exists()


def _category(code: str) -> EventCategory:
    return EventCategory.objects.get(code=code)
