"""Who reads a response and its tasks (the event's visibility, plus the leaders and the
assigned units for their part) and who may change a task — as matrices over the cast,
through the selectors, the pages and the API."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from fenghuo.core.models import Confidentiality
from fenghuo.response import selectors, services
from fenghuo.response.models import TaskState
from tests.events.world import principal
from tests.response.world import assign, file_event, start

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64


@pytest.fixture
def scene(world):
    """A Ⅳ response (led by the city emergency department's head, who cannot see the
    event's reports) with a task for the police and one for health, with evidence."""
    response = start(world, file_event(world), level=4)
    police = assign(world, response, unit="police")
    health = assign(world, response, unit="health")
    photo = services.add_evidence(
        principal(world, "police"),
        police,
        [SimpleUploadedFile("现场.jpg", JPEG, content_type="image/jpeg")],
    )[0]
    return {"response": response, "police": police, "health": health, "photo": photo}


def _client(world, who: str) -> Client:
    client = Client()
    client.force_login(world["people"][who])
    return client


# who → (opens the board, tasks seen)
READERS = {
    "city_duty": (True, {"police", "health"}),
    "group_leader": (True, {"police", "health"}),
    "analyst": (True, {"police", "health"}),  # sees the 内部 event
    "county_duty": (True, {"police", "health"}),
    "city_em_head": (True, {"police", "health"}),  # leads it (Ⅳ), without the event's reports
    "police": (True, {"police"}),  # its own task only
    "police_leader": (True, {"police"}),
    "health": (True, {"health"}),
    "other_duty": (False, set()),  # another county
    "emergency_leader": (True, {"police", "health"}),  # its unit reported the event
}


@pytest.mark.parametrize(("who", "expected"), READERS.items())
def test_who_reads_the_board_and_which_tasks(world, scene, who, expected):
    opens, tasks = expected
    p = principal(world, who)
    seen = {t.unit.name for t in selectors.tasks_visible(p).filter(response=scene["response"])}
    assert seen == {world[u].name for u in tasks}
    event = scene["response"].event
    page = _client(world, who).get(f"/response/events/{event.pk}/")
    assert page.status_code == (200 if opens else 404)
    if opens:
        body = page.content.decode()
        assert ("江口县卫生健康局" in body) == ("health" in tasks)
    api = _client(world, who).get(f"/api/responses/{scene['response'].pk}/tasks")
    assert api.status_code == (200 if opens else 404)
    if opens:
        assert {t["unit"] for t in api.json()} == {world[u].name for u in tasks}


@pytest.mark.parametrize(
    ("who", "sees"),
    [("police", True), ("city_duty", True), ("city_em_head", True), ("health", False)],
)
def test_evidence_is_read_with_its_task(world, scene, who, sees):
    photo = scene["photo"]
    for url in (f"/response/evidence/{photo.pk}/", f"/api/response-evidence/{photo.pk}"):
        got = _client(world, who).get(url)
        assert got.status_code == (200 if sees else 404), url
        if sees:
            assert got["Content-Type"] == "image/jpeg"
            assert got["X-Content-Type-Options"] == "nosniff"
            assert b"".join(got.streaming_content) == JPEG


# who → may update the police task (state, notes, evidence)
WORKERS = {
    "police": True,  # the assigned unit's 信息员
    "police_leader": True,  # and its 单位领导
    "city_em_head": True,  # the response's leader
    "city_duty": True,  # 值班员 of the response's office
    "member_a": True,  # the leading group of the office
    "health": False,  # another unit with a task of its own
    "county_duty": False,  # an office below the response's office
    "analyst": False,
    "emergency_leader": False,
}


@pytest.mark.parametrize(("who", "may"), WORKERS.items())
def test_who_may_work_on_a_task(world, scene, who, may):
    task = scene["police"]
    p = principal(world, who)
    assert selectors.may_work_on(p, task) is may
    if may:
        services.add_note(p, task, f"{who} 的进展")
        assert services.set_task_state(p, task, TaskState.IN_PROGRESS).state == "in_progress"
    else:
        with pytest.raises(PermissionDenied):
            services.add_note(p, task, "进展")
        with pytest.raises(PermissionDenied):
            services.set_task_state(p, task, TaskState.DONE)
        assert not task.notes.exists()


@pytest.mark.parametrize(
    ("who", "may"),
    [
        ("city_duty", True),
        ("city_em_head", True),  # leads this Ⅳ response
        ("member_a", True),
        ("police", False),  # works on a task, does not manage the response
        ("county_duty", False),
        ("analyst", False),
    ],
)
def test_who_manages_the_response(world, scene, who, may):
    p = principal(world, who)
    assert selectors.may_manage(p, scene["response"]) is may
    if not may:
        with pytest.raises(PermissionDenied):
            assign(world, scene["response"], who=who)


def test_a_sensitive_event_is_hidden_from_those_without_clearance(world):
    event = file_event(world, confidentiality=Confidentiality.SENSITIVE)
    response = start(world, event, level=3)
    assert selectors.responses_visible(principal(world, "city_duty")).filter(pk=response.pk)
    analyst = principal(world, "analyst")  # reads at most 内部
    assert not selectors.responses_visible(analyst).filter(pk=response.pk).exists()
    assert _client(world, "analyst").get(f"/response/events/{event.pk}/").status_code == 404
    assert _client(world, "analyst").get(f"/api/responses/{response.pk}").status_code == 404
