"""Response tasks: assigned to a department with a due time (the unit is told), state,
progress notes and evidence (photos and video, type by content) on the event timeline; the
overdue loop step marks and announces late tasks once; a later due time reopens them."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from fenghuo.core import clock
from fenghuo.core.loops import load
from fenghuo.core.models import AuditEntry
from fenghuo.events.models import TimelineKind
from fenghuo.notify.models import Message
from fenghuo.response import services
from fenghuo.response.models import Evidence, TaskNote, TaskState
from fenghuo.response.tasks import mark_overdue_tasks
from tests.events.world import principal
from tests.response.world import assign, file_event, start

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


@pytest.fixture
def frozen():
    with clock.frozen_at(clock.now()):
        yield clock.now()


@pytest.fixture
def response(world):
    return start(world, file_event(world), level=2)


def _lines(event) -> list[str]:
    return list(event.timeline.filter(kind=TimelineKind.RESPONSE).values_list("text", flat=True))


def test_a_task_goes_to_its_unit_with_a_due_time(world, response, frozen):
    task = assign(world, response)
    assert (task.unit, task.state, task.due_at) == (
        world["police"],
        TaskState.OPEN,
        frozen + timedelta(hours=2),
    )
    told = Message.objects.filter(key=f"response:{response.pk}:task:{task.pk}", channel="inapp")
    assert {(m.person.full_name, m.urgent) for m in told} == {
        ("公安信息员", True),
        ("赵局长", True),
    }
    assert "封控现场、疏散周边群众" in told[0].subject
    assert _lines(response.event)[-1].startswith(
        "下达响应任务「封控现场、疏散周边群众」（江口县公安局），时限"
    )
    assert AuditEntry.objects.filter(action="response.task.create", object_id=str(task.pk)).exists()


def test_a_new_task_is_checked_field_by_field(world, response, frozen):
    with pytest.raises(ValidationError) as error:
        services.create_task(
            principal(world, "city_duty"), response, title="", unit=None, due_at=None
        )
    assert error.value.message_dict == {
        "title": ["任务内容为必填项"],
        "unit": ["请选择责任单位"],
        "due_at": ["完成时限为必填项"],
    }
    with pytest.raises(ValidationError) as error:
        services.create_task(
            principal(world, "city_duty"),
            response,
            title="核查",
            unit=world["police"],
            due_at=frozen - timedelta(minutes=1),
        )
    assert error.value.message_dict["due_at"] == ["完成时限须晚于当前时间"]
    assert not response.tasks.exists()


def test_a_task_goes_only_to_units_of_the_office(world, frozen):
    response = start(world, file_event(world), level=3, who="county_duty")
    with pytest.raises(ValidationError) as error:
        assign(world, response, unit="city_em", who="county_duty")
    assert error.value.message_dict == {"unit": ["责任单位须为江口县委办公室或其所辖单位"]}
    assert assign(world, response, unit="police", who="county_duty").unit == world["police"]


def test_the_unit_reports_progress_and_completes_it(world, response, frozen):
    task = assign(world, response)
    police = principal(world, "police")
    clock.advance(timedelta(minutes=10))
    services.set_task_state(police, task, TaskState.IN_PROGRESS, note="警力已到场")
    note = services.add_note(police, task, "警戒线已设置，疏散 320 人")
    clock.advance(timedelta(minutes=30))
    done = services.set_task_state(police, task, TaskState.DONE)
    assert (done.state, done.started_at, done.done_at) == (
        TaskState.DONE,
        frozen + timedelta(minutes=10),
        frozen + timedelta(minutes=40),
    )
    assert list(task.notes.values_list("text", flat=True)) == ["警力已到场", note.text]
    assert _lines(response.event)[-3:] == [
        "响应任务「封控现场、疏散周边群众」（江口县公安局）：待办 → 处置中。警力已到场",
        "响应任务「封控现场、疏散周边群众」（江口县公安局）进展：警戒线已设置，疏散 320 人",
        "响应任务「封控现场、疏散周边群众」（江口县公安局）：处置中 → 已完成",
    ]
    # Reopening a completed task is for the response's managers, not the unit.
    with pytest.raises(PermissionDenied):
        services.set_task_state(police, task, TaskState.IN_PROGRESS)
    reopened = services.set_task_state(principal(world, "city_duty"), task, TaskState.IN_PROGRESS)
    assert (reopened.state, reopened.done_at) == (TaskState.IN_PROGRESS, None)


def test_state_and_note_errors_are_chinese_per_field(world, response):
    task = assign(world, response)
    police = principal(world, "police")
    for state, message in [
        (TaskState.OVERDUE, "「已超时」由系统按完成时限标记，不能手工设置"),
        ("", "请选择任务状态：处置中或已完成"),
        (TaskState.OPEN, "请选择任务状态：处置中或已完成"),
    ]:
        with pytest.raises(ValidationError) as error:
            services.set_task_state(police, task, state)
        assert error.value.message_dict == {"state": [message]}
    with pytest.raises(ValidationError) as error:
        services.add_note(police, task, "  ")
    assert error.value.message_dict == {"text": ["进展情况为必填项"]}
    assert not TaskNote.objects.filter(task=task).exists()


def test_evidence_photos_and_video_land_on_the_timeline(world, response):
    task = assign(world, response)
    saved = services.add_evidence(
        principal(world, "police"), task, [upload("现场.jpg", JPEG), upload("航拍.mp4", MP4)]
    )
    assert [(e.name, e.kind, e.content_type) for e in saved] == [
        ("现场.jpg", "image", "image/jpeg"),
        ("航拍.mp4", "video", "video/mp4"),
    ]
    assert saved[0].file.read() == JPEG
    assert _lines(response.event)[-1] == (
        "响应任务「封控现场、疏散周边群众」（江口县公安局）上传佐证材料：现场.jpg、航拍.mp4"
    )
    # The same content again is the evidence already there, and no new timeline line.
    again = services.add_evidence(principal(world, "police"), task, [upload("现场2.jpg", JPEG)])
    assert [e.pk for e in again] == [saved[0].pk]
    assert Evidence.objects.filter(task=task).count() == 2
    assert len(_lines(response.event)) == 3  # start, task, one upload


def test_a_program_renamed_jpg_is_refused_and_so_is_the_good_file_with_it(world, response):
    task = assign(world, response)
    with pytest.raises(ValidationError) as error:
        services.add_evidence(
            principal(world, "police"),
            task,
            [upload("现场.jpg", EXE), upload("好的.jpg", JPEG), upload("说明.pdf", PDF)],
        )
    messages = error.value.message_dict["files"]
    assert messages[0].startswith("现场.jpg：不支持的文件类型（内容为 exe 格式）")
    assert messages[1] == "说明.pdf：佐证材料只接受图片和视频（该文件为文档）"
    assert not Evidence.objects.exists()
    assert not any("佐证" in line for line in _lines(response.event))


def test_the_overdue_step_marks_announces_and_notes_each_task_once(world, response, frozen):
    late = assign(world, response, hours=1)
    later = assign(world, response, unit="health", hours=3)
    done = assign(world, response, hours=1)
    services.set_task_state(principal(world, "police"), done, TaskState.DONE)
    assert mark_overdue_tasks() == 0
    clock.advance(timedelta(minutes=61))
    assert mark_overdue_tasks() == 1
    assert mark_overdue_tasks() == 0  # a second run changes nothing
    late.refresh_from_db()
    later.refresh_from_db()
    done.refresh_from_db()
    assert (late.state, late.overdue_at) == (TaskState.OVERDUE, clock.now())
    assert (later.state, done.state) == (TaskState.OPEN, TaskState.DONE)
    key = f"response:{response.pk}:task:{late.pk}:overdue:{int(late.due_at.timestamp())}"
    told = Message.objects.filter(key=key, channel="inapp")
    assert {m.person.full_name for m in told} == {"公安信息员", "赵局长", "吴副组长"}
    assert all(m.urgent for m in told)
    overdue = response.event.timeline.filter(text__startswith="响应任务超时").get()
    assert overdue.kind == TimelineKind.RESPONSE
    assert "江口县公安局未在" in overdue.text and overdue.actor_name == "系统"


def test_an_overdue_task_can_be_completed_or_given_a_later_due_time(world, response, frozen):
    task = assign(world, response, hours=1)
    clock.advance(timedelta(hours=2))
    mark_overdue_tasks()
    task.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        services.set_task_state(principal(world, "police"), task, TaskState.IN_PROGRESS)
    assert error.value.message_dict == {
        "state": ["任务已超时：可标记为已完成，或由指挥人员调整完成时限"]
    }
    with pytest.raises(PermissionDenied):  # the unit cannot move its own deadline
        services.edit_task(
            principal(world, "police"), task, due_at=clock.now() + timedelta(hours=1)
        )
    edited = services.edit_task(
        principal(world, "city_duty"), task, due_at=clock.now() + timedelta(hours=1)
    )
    assert (edited.state, edited.overdue_at) == (TaskState.OPEN, None)
    key = f"response:{response.pk}:task:{task.pk}:due:{int(edited.due_at.timestamp())}"
    assert Message.objects.filter(key=key, person__full_name="公安信息员").exists()
    assert "完成时限" in _lines(response.event)[-1]
    clock.advance(timedelta(hours=2))
    assert mark_overdue_tasks() == 1  # overdue again, announced again under a new key
    assert (
        Message.objects.filter(key__contains=f"task:{task.pk}:overdue:")
        .values("key")
        .distinct()
        .count()
        == 2
    )


def test_reassigning_tells_the_new_unit(world, response, frozen):
    task = assign(world, response)
    moved = services.edit_task(principal(world, "group_deputy"), task, unit=world["health"])
    assert moved.unit == world["health"]
    assert Message.objects.filter(
        key__startswith=f"response:{response.pk}:task:{task.pk}:assigned:{world['health'].pk}:",
        person__username="health_reporter",
    ).exists()
    assert _lines(response.event)[-1] == (
        "调整响应任务「封控现场、疏散周边群众」：责任单位 江口县公安局 → 江口县卫生健康局"
    )


def test_the_loop_is_registered_for_the_worker(settings):
    path = "fenghuo.response.tasks:mark_overdue_tasks"
    assert path in settings.FENGHUO_WORKER_LOOPS
    assert load(path) is mark_overdue_tasks
