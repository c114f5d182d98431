"""Ending the emergency: an assessment, then approval by the permitted role (configurable);
an approved end moves the event to 已结束; then a summary (shown on the event page) and
archiving through the events lifecycle; an archived record is closed."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.events import services as event_services
from fenghuo.events.models import EventStatus, TimelineKind
from fenghuo.notify.models import Message
from fenghuo.org.models import Role
from fenghuo.response import services
from fenghuo.response.models import EndRequest, LevelPlan, ResponseState, TaskState
from fenghuo.response.tasks import mark_overdue_tasks
from tests.events.world import principal
from tests.response.world import assign, file_event, start

pytestmark = pytest.mark.django_db

ASSESSMENT = "被困人员全部救出，现场明火扑灭，周边空气监测正常，影响基本消除。"


@pytest.fixture
def response(world):
    return start(world, file_event(world), level=2)


def _request(world, response, who: str = "group_office"):
    return services.request_end(principal(world, who), response, ASSESSMENT)


def test_ending_needs_an_assessment(world, response):
    with pytest.raises(ValidationError) as error:
        services.request_end(principal(world, "group_office"), response, "")
    assert error.value.message_dict == {
        "assessment": ["评估意见为必填项：请说明处置成效和影响是否已基本消除"]
    }
    response.refresh_from_db()
    assert response.state == ResponseState.ACTIVE


def test_a_request_waits_for_approval_and_tells_the_approvers(world, response):
    end = _request(world, response)
    response.refresh_from_db()
    assert response.state == ResponseState.ENDING
    told = Message.objects.filter(key=f"response:{response.pk}:end:{end.pk}", channel="inapp")
    assert {m.person.full_name for m in told} == {"周组长", "吴副组长"}
    assert response.event.timeline.filter(
        text=f"提请结束Ⅱ级应急响应。评估意见：{ASSESSMENT}"
    ).exists()
    with pytest.raises(ValidationError) as error:
        _request(world, response)
    assert error.value.message_dict == {"response": ["已提请结束，正在等待批准"]}


@pytest.mark.parametrize(
    "who", ["group_office", "member_a", "city_duty", "city_leader", "county_duty", "police"]
)
def test_only_the_permitted_role_approves(world, response, who):
    _request(world, response)
    with pytest.raises(PermissionDenied) as error:
        services.decide_end(principal(world, who), response, approve=True)
    assert "领导小组组长、领导小组副组长" in str(error.value)
    response.refresh_from_db()
    response.event.refresh_from_db()
    assert response.state == ResponseState.ENDING
    assert response.event.status == EventStatus.HANDLING


def test_approval_ends_the_response_and_the_event(world, response):
    assign(world, response)
    end = _request(world, response)
    ended = services.decide_end(
        principal(world, "group_leader"), response, approve=True, note="同意结束"
    )
    assert ended.state == ResponseState.ENDED and ended.ended_at is not None
    end.refresh_from_db()
    assert (end.decision, end.decided_by_name, end.decision_note) == (
        EndRequest.Decision.APPROVED,
        "周组长",
        "同意结束",
    )
    event = ended.event
    event.refresh_from_db()
    assert event.status == EventStatus.ENDED
    texts = list(event.timeline.values_list("text", flat=True))
    assert "批准结束Ⅱ级应急响应（尚有 1 项任务未完成）。审批意见：同意结束" in texts
    assert "状态：处置中 → 已结束。批准结束Ⅱ级应急响应" in texts
    assert AuditEntry.objects.filter(action="response.end.approve", object_id=str(response.pk))
    told = Message.objects.filter(key=f"response:{response.pk}:end:{end.pk}:decided")
    assert {m.person.full_name for m in told} == {"吴副组长", "钱主任"}  # leader and requester


def test_the_approving_role_is_configuration(world, response):
    plan = LevelPlan.objects.get(level=2)
    plan.end_roles = [Role.GROUP_OFFICE]
    plan.save()
    _request(world, response, who="city_duty")
    with pytest.raises(PermissionDenied):
        services.decide_end(principal(world, "group_leader"), response, approve=True)
    # The lifecycle's own rule (events.services.TRANSITIONS: 处置中 → 已结束 by the leaders,
    # including the group's office) is met too.
    ended = services.decide_end(principal(world, "group_office"), response, approve=True)
    assert ended.event.status == EventStatus.ENDED


def test_a_refusal_needs_a_reason_and_the_response_goes_on(world, response):
    end = _request(world, response)
    with pytest.raises(ValidationError) as error:
        services.decide_end(principal(world, "group_deputy"), response, approve=False)
    assert error.value.message_dict == {"note": ["不批准时须说明理由"]}
    services.decide_end(
        principal(world, "group_deputy"), response, approve=False, note="周边仍有泄漏风险"
    )
    response.refresh_from_db()
    end.refresh_from_db()
    assert (response.state, end.decision) == (ResponseState.ACTIVE, EndRequest.Decision.REJECTED)
    assert response.event.timeline.filter(
        text="未批准结束Ⅱ级应急响应。审批意见：周边仍有泄漏风险"
    ).exists()
    with pytest.raises(ValidationError) as error:
        services.decide_end(principal(world, "group_deputy"), response, approve=True)
    assert error.value.message_dict == {"response": ["没有待批准的结束申请"]}
    _request(world, response)  # a new request may follow
    assert response.end_requests.count() == 2


def test_summary_after_the_end_then_archive(world, response):
    with pytest.raises(ValidationError) as error:
        services.summarize(principal(world, "group_office"), response, "总结")
    assert error.value.message_dict == {"summary": ["应急响应结束后才能填写处置总结"]}
    _request(world, response)
    services.decide_end(principal(world, "group_leader"), response, approve=True)
    with pytest.raises(ValidationError) as error:
        services.summarize(principal(world, "group_office"), response, " ")
    assert error.value.message_dict == {"summary": ["处置总结为必填项"]}
    with pytest.raises(PermissionDenied):
        services.summarize(principal(world, "police"), response, "总结")
    summarized = services.summarize(
        principal(world, "group_office"), response, "1 小时内完成疏散，未发生次生事故。"
    )
    assert summarized.summary == "1 小时内完成疏散，未发生次生事故。"
    event = summarized.event
    assert event.timeline.filter(
        kind=TimelineKind.RESPONSE, text="处置总结：1 小时内完成疏散，未发生次生事故。"
    ).exists()
    event_services.change_status(principal(world, "city_duty"), event, EventStatus.ARCHIVED)
    event.refresh_from_db()
    assert event.status == EventStatus.ARCHIVED
    with pytest.raises(ValidationError) as error:
        services.summarize(principal(world, "group_office"), response, "再改")
    assert error.value.message_dict == {"event": ["事件已归档，应急响应记录不能再修改"]}


def test_an_event_still_being_verified_cannot_be_ended(world):
    """核实中 has no way to 已结束 in the events lifecycle; the approver is told why."""
    event = file_event(world)
    event.status = EventStatus.VERIFYING
    event.save()
    response = start(world, event, level=3)
    event.refresh_from_db()
    assert event.status == EventStatus.VERIFYING  # 核实中 → 处置中 is not a transition
    _request(world, response)
    with pytest.raises(ValidationError) as error:
        services.decide_end(principal(world, "group_leader"), response, approve=True)
    assert error.value.message_dict == {"event": ["事件尚在核实中，不能结束：请值班员先完成核实"]}


def test_a_new_event_is_taken_through_handling_to_ended(world):
    """A response started by someone the lifecycle does not let move the event (a group
    member) leaves it 新接报; the approver's end takes it through 处置中."""
    event = file_event(world)
    response = start(world, event, level=3, who="member_a")
    event.refresh_from_db()
    assert event.status == EventStatus.NEW
    _request(world, response, who="member_a")
    services.decide_end(principal(world, "group_deputy"), response, approve=True)
    event.refresh_from_db()
    assert event.status == EventStatus.ENDED
    statuses = event.timeline.filter(kind=TimelineKind.STATUS, text__startswith="状态")
    assert [t.text.split("。")[0] for t in statuses] == [
        "状态：新接报 → 处置中",
        "状态：处置中 → 已结束",
    ]


def test_after_the_end_tasks_are_no_longer_chased_or_added(world, response):
    task = assign(world, response, hours=1)
    _request(world, response)
    services.decide_end(principal(world, "group_leader"), response, approve=True)
    with clock.frozen_at(clock.now() + timedelta(hours=2)):
        assert mark_overdue_tasks() == 0
    with pytest.raises(ValidationError) as error:
        assign(world, response)
    assert error.value.message_dict == {"response": ["应急响应已结束，不能再下达任务"]}
    # The unit can still close its task (善后).
    done = services.set_task_state(principal(world, "police"), task, TaskState.DONE)
    assert done.state == TaskState.DONE
