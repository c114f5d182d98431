"""The overdue loop in a real `fenghuo worker`: a response task is marked overdue once its
due time has passed, announced to its unit and the response's leader, and noted once."""

from tests.processes import Site, migrated_site_fixture, poll, site_fixture  # noqa: F401

FAST = {"FENGHUO_HEARTBEAT_SECONDS": "0.2", "FENGHUO_WORKER_INTERVAL": "0.1"}

SETUP = """
from datetime import timedelta
from fenghuo.core import clock
from fenghuo.response import services
from tests.events.world import principal
from tests.response.world import build_world, file_event, start
world = build_world()
response = start(world, file_event(world), level=2)
task = services.create_task(
    principal(world, "city_duty"),
    response,
    title="封控现场",
    unit=world["police"],
    due_at=clock.now() + timedelta(seconds=3),
)
result = task.pk
"""

CHECK = """
from fenghuo.events.models import TimelineEntry
from fenghuo.notify.models import Message
from fenghuo.response.models import Task
task = Task.objects.get(pk={pk})
result = {{
    "state": task.state,
    "after_due": task.overdue_at is not None and task.overdue_at >= task.due_at,
    "lines": TimelineEntry.objects.filter(text__startswith="响应任务超时").count(),
    "told": sorted(
        Message.objects.filter(key__contains=":overdue:", channel="inapp")
        .values_list("person__username", flat=True)
    ),
}}
"""


def test_a_running_worker_marks_a_task_overdue_after_its_due_time(migrated_site: Site):
    pk = migrated_site.django(SETUP)
    assert migrated_site.django(CHECK.format(pk=pk))["state"] == "open"
    migrated_site.start("worker", **FAST)
    poll(
        lambda: migrated_site.django(CHECK.format(pk=pk))["state"] == "overdue",
        "the task to be marked overdue",
    )
    check = migrated_site.django(CHECK.format(pk=pk))
    assert check["after_due"] and check["lines"] == 1
    assert check["told"] == ["group_deputy", "police_leader", "police_reporter"]
