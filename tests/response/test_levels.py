"""Starting a response names who leads it per the plan (configuration, not code), notifies
them through the outbox, goes on the timeline and the audit chain; raising or lowering is a
recorded change with the new leaders notified; one open response per event; who may start."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from fenghuo.core.models import AuditEntry
from fenghuo.events import services as event_services
from fenghuo.events.models import EventStatus, TimelineKind
from fenghuo.notify.models import Message
from fenghuo.org.models import Person, Role
from fenghuo.response import services
from fenghuo.response.models import LevelChange, LevelPlan, Response, ResponseState
from fenghuo.response.selectors import current_leaders
from tests.events.world import principal
from tests.response.world import file_event, start

pytestmark = pytest.mark.django_db


def _names(response: Response) -> list[str]:
    return [str(leader.person) for leader in current_leaders(response)]


def _inbox(response: Response, suffix: str) -> dict[str, bool]:
    """In-app messages of one notification key: recipient → urgent."""
    return dict(
        Message.objects.filter(key=f"response:{response.pk}:{suffix}", channel="inapp").values_list(
            "person__full_name", "urgent"
        )
    )


@pytest.mark.parametrize(
    ("level", "leaders"),
    [
        (1, ["周组长", "郑成员", "王成员"]),  # the group leader with all members
        (2, ["吴副组长"]),  # a deputy leader
        (3, ["钱主任"]),  # the office director
        (4, ["何局长"]),  # the head of hazchem's responsible department under the office
    ],
)
def test_each_level_is_led_as_the_plan_says(world, level, leaders):
    response = start(world, file_event(world), level=level)
    assert response.office == world["city"]  # the city duty officer's office
    assert _names(response) == leaders
    change = LevelChange.objects.get(response=response)
    inbox = _inbox(response, f"level:{change.pk}")
    assert set(inbox) == set(leaders)
    assert set(inbox.values()) == {level <= 2}  # urgent for Ⅰ and Ⅱ


def test_level_four_falls_back_to_the_offices_own_leader(world):
    """A category whose responsible kind has no department under the office."""
    response = start(world, file_event(world, category="flood", title="江口县城内涝"), level=4)
    assert _names(response) == ["市委秘书长"]


def test_leaders_come_from_the_configuration(world):
    plan = LevelPlan.objects.get(level=3)
    plan.lead_roles = [Role.GROUP_OFFICE, Role.GROUP_DEPUTY]
    plan.department_head = True
    plan.save()
    response = start(world, file_event(world), level=3)
    assert _names(response) == ["钱主任", "吴副组长", "何局长"]


def test_the_office_is_the_starters_own(world):
    """A county duty officer starts in the county's name: its leading group is empty, so
    the timeline says no leader was found."""
    event = file_event(world)
    response = start(world, event, level=3, who="county_duty")
    assert response.office == world["county"]
    assert _names(response) == []
    assert "未找到牵头人" in event.timeline.filter(kind=TimelineKind.RESPONSE).get().text


def test_starting_is_on_the_timeline_and_the_audit_chain_and_moves_the_event(world):
    event = file_event(world)
    response = start(world, event, level=2)
    lines = list(event.timeline.filter(kind=TimelineKind.RESPONSE).values_list("text", flat=True))
    assert lines == [
        "临江市委办公室启动Ⅱ级应急响应。牵头：吴副组长（临江市委办公室领导小组副组长）。"
        "理由：现场仍有人员被困"
    ]
    entry = AuditEntry.objects.get(action="response.start", object_id=str(response.pk))
    assert entry.after["level"] == 2 and entry.after["leaders"] == [
        world["people"]["group_deputy"].pk
    ]
    event.refresh_from_db()
    assert event.status == EventStatus.HANDLING
    assert event.timeline.filter(text__startswith="状态：新接报 → 处置中").exists()


def test_one_open_response_per_event(world):
    event = file_event(world)
    start(world, event, level=3)
    with pytest.raises(ValidationError) as error:
        start(world, event, level=2, who="group_leader")
    assert error.value.message_dict["event"] == [
        "该事件已在Ⅲ级应急响应中，请调整级别而不是重新启动"
    ]
    assert Response.objects.filter(event=event).count() == 1


def test_missing_reason_and_level_are_named_per_field(world):
    event = file_event(world)
    with pytest.raises(ValidationError) as error:
        services.start_response(principal(world, "city_duty"), event=event, level=None, reason="")
    assert error.value.message_dict == {"level": ["请选择响应级别（Ⅰ–Ⅳ级）"]}
    with pytest.raises(ValidationError) as error:
        services.start_response(principal(world, "city_duty"), event=event, level=3, reason=" ")
    assert error.value.message_dict == {"reason": ["启动理由为必填项"]}
    assert not Response.objects.filter(event=event).exists()


@pytest.mark.parametrize(
    ("who", "may"),
    [
        ("city_duty", True),
        ("group_leader", True),
        ("group_deputy", True),
        ("member_a", True),
        ("group_office", True),
        ("county_duty", True),  # the county office is above the reporting unit too
        ("other_duty", False),  # another county
        ("city_leader", False),  # 单位领导 is not a starting role
        ("analyst", False),
        ("emergency", False),  # the reporter itself
        ("police", False),
    ],
)
def test_who_may_start(world, who, may):
    event = file_event(world)
    if may:
        assert start(world, event, level=3, who=who).state == ResponseState.ACTIVE
    else:
        with pytest.raises(PermissionDenied):
            start(world, event, level=3, who=who)
        assert not Response.objects.filter(event=event).exists()


def test_start_roles_are_configuration_per_level(world):
    plan = LevelPlan.objects.get(level=1)
    plan.start_roles = [Role.GROUP_LEADER]
    plan.save()
    event = file_event(world)
    with pytest.raises(PermissionDenied) as error:
        start(world, event, level=1, who="city_duty")
    assert "领导小组组长" in str(error.value)
    assert start(world, event, level=1, who="group_leader").level == 1


def test_an_office_outside_the_starters_reach_is_refused(world):
    event = file_event(world)
    with pytest.raises(ValidationError) as error:
        start(world, event, level=3, who="county_duty", office=world["city"])
    assert error.value.message_dict == {"office": ["您不能以该办公室的名义启动应急响应"]}


def test_no_response_on_an_ended_event(world):
    event = file_event(world)
    event.status = EventStatus.ENDED
    event.save()
    with pytest.raises(ValidationError) as error:
        start(world, event, level=3)
    assert error.value.message_dict["event"] == ["事件状态为「已结束」，不能启动应急响应"]


def test_raising_and_lowering_are_recorded_and_the_new_leaders_told(world):
    event = file_event(world)
    response = start(world, event, level=3)
    raised = services.change_level(
        principal(world, "group_leader"), response, level=1, reason="死亡人数上升"
    )
    assert raised.level == 1
    assert _names(raised) == ["周组长", "郑成员", "王成员"]
    change = LevelChange.objects.filter(response=response).last()
    assert (change.from_level, change.to_level, change.verb) == (3, 1, "提升")
    assert _inbox(response, f"level:{change.pk}") == {
        "周组长": True,
        "郑成员": True,
        "王成员": True,
    }
    assert set(_inbox(response, f"relieved:{change.pk}")) == {"钱主任"}
    lowered = services.change_level(
        principal(world, "city_duty"), response, level=2, reason="被困人员已救出"
    )
    assert _names(lowered) == ["吴副组长"]
    lines = list(event.timeline.filter(kind=TimelineKind.RESPONSE).values_list("text", flat=True))
    assert lines[1].startswith("应急响应由Ⅲ级提升为Ⅰ级（临江市委办公室）。牵头：周组长")
    assert lines[2].startswith("应急响应由Ⅰ级降低为Ⅱ级（临江市委办公室）。牵头：吴副组长")
    assert lines[2].endswith("理由：被困人员已救出")
    audit = AuditEntry.objects.filter(action="response.level", object_id=str(response.pk))
    assert [(a.before["level"], a.after["level"]) for a in audit] == [(3, 1), (1, 2)]
    # Relieved leaders stay on record with when they stood down.
    assert response.leaders.filter(relieved_at__isnull=False).count() == 4


def test_changing_the_level_needs_a_new_level_a_reason_and_the_role(world):
    response = start(world, file_event(world), level=3)
    with pytest.raises(ValidationError) as error:
        services.change_level(principal(world, "city_duty"), response, level=3, reason="")
    assert error.value.message_dict == {
        "level": ["当前已是Ⅲ级应急响应"],
        "reason": ["调整理由为必填项"],
    }
    for who in ("county_duty", "analyst", "police"):  # the county is below the city office
        with pytest.raises(PermissionDenied):
            services.change_level(principal(world, who), response, level=2, reason="升级")
    response.refresh_from_db()
    assert response.level == 3


def test_merging_moves_the_response_but_not_two_open_ones(world):
    source = file_event(world)
    target = file_event(world, category="flood", title="江口县城内涝", place="江口县城")
    assert source.pk != target.pk
    duty = principal(world, "city_duty")
    response = start(world, source, level=3)
    start(world, target, level=2)
    with pytest.raises(ValidationError) as error:
        event_services.merge_events(duty, source=source, target=target)
    assert error.value.message_dict == {
        "target": ["两个事件都在应急响应中，不能合并：请先结束其中一个事件的应急响应"]
    }
    Response.objects.filter(event=target).delete()
    event_services.merge_events(duty, source=source, target=target)
    response.refresh_from_db()
    assert response.event_id == target.pk


def test_the_plan_is_edited_in_the_admin_and_audited(world):
    admin = Person.objects.create_superuser("root", "root@example.org", "pw", full_name="管理员")
    client = Client()
    client.force_login(admin)
    plan = LevelPlan.objects.get(level=3)
    url = f"/admin/response/levelplan/{plan.pk}/change/"
    assert "领导小组办公室" in client.get(url).content.decode()
    form = {
        "start_roles": [Role.GROUP_LEADER, Role.DUTY_OFFICER],
        "end_roles": [Role.GROUP_LEADER],
        "duties": plan.duties,
    }
    refused = client.post(url, form)  # neither lead roles nor the department head
    assert refused.status_code == 200
    assert "请选择牵头角色，或勾选由涉事主管部门负责人牵头" in refused.content.decode()
    saved = client.post(url, {**form, "lead_roles": [Role.GROUP_DEPUTY], "urgent": "on"})
    assert saved.status_code == 302
    plan.refresh_from_db()
    assert (plan.lead_roles, plan.urgent) == ([Role.GROUP_DEPUTY], True)
    entry = AuditEntry.objects.filter(action="response.levelplan.update").last()
    assert entry.before["lead_roles"] == ["group_office"]
    assert entry.after["lead_roles"] == ["group_deputy"]
    assert client.get("/admin/response/levelplan/add/").status_code == 403
    assert _names(start(world, file_event(world), level=3)) == ["吴副组长"]


def test_a_unit_administrator_reads_the_plan_but_does_not_change_it(world, make_person):
    person = make_person("city_admin", world["city"], Role.ADMIN, is_staff=True)
    client = Client()
    client.force_login(person)
    plan = LevelPlan.objects.get(level=1)
    page = client.get(f"/admin/response/levelplan/{plan.pk}/change/")
    assert page.status_code == 200 and 'name="lead_roles"' not in page.content.decode()
    client.post(f"/admin/response/levelplan/{plan.pk}/change/", {"start_roles": ["admin"]})
    plan.refresh_from_db()
    assert plan.start_roles != ["admin"]
