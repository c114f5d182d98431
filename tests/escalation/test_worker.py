"""The deadline loop in a real `fenghuo worker`: an obligation is marked late once its due
time has passed; a worker killed with SIGKILL and started again loses no overdue marking
and marks nothing twice."""

import signal

from tests.processes import Site, migrated_site_fixture, poll, site_fixture  # noqa: F401

FAST = {"FENGHUO_HEARTBEAT_SECONDS": "0.2", "FENGHUO_WORKER_INTERVAL": "0.1"}

# Verification tasks are the simplest obligations with a due time of our choosing.
SETUP = """
from datetime import timedelta
from fenghuo.core import clock
from fenghuo.escalation.models import Obligation
from fenghuo.events import services
from tests.escalation.world import build_world, file_report
from tests.events.world import principal
world = build_world()
filed = file_report(world, "environment", dead=1)
start = clock.now()
keys = []
for n in range({count}):
    task = services.request_verification(
        principal(world, "county_duty"),
        event=filed.event,
        assignee_unit=world["environment"],
        question=f"请核实第{{n + 1}}项",
        due_at=start + timedelta(seconds={first} + n * {spacing}),
    )
    keys.append(f"verification:{{task.pk}}")
result = list(Obligation.objects.filter(key__in=keys).values_list("pk", flat=True))
"""

STATES = """
from django.db.models import Count
from fenghuo.escalation.models import Obligation
result = dict(
    Obligation.objects.filter(pk__in={ids}).values_list("state").annotate(n=Count("pk"))
)
"""

CHECK = """
from django.db.models import F
from fenghuo.core import clock
from fenghuo.escalation.models import Obligation
from fenghuo.events.models import TimelineEntry
from fenghuo.notify.models import Message
rows = Obligation.objects.filter(pk__in={ids})
result = {{
    "late": rows.filter(state="late", late_at__gte=F("due_at")).count(),
    "due": rows.filter(due_at__lte=clock.now()).count(),
    "lines": TimelineEntry.objects.filter(text__startswith="超时").count(),
    "told": sorted(
        Message.objects.filter(key__startswith="late:", channel="inapp")
        .values_list("person__username", flat=True).distinct()
    ),
    # Rows that went late together are announced together: "late:<first>-<last>:<count>".
    "announced": sum(
        int(k.rsplit(":", 1)[1]) if "-" in k else 1
        for k in set(Message.objects.filter(key__startswith="late:").values_list("key", flat=True))
    ),
}}
"""


def _states(site: Site, ids: list[int]) -> dict[str, int]:
    return site.django(STATES.format(ids=ids))


def test_a_running_worker_marks_an_obligation_late_after_its_due_time(migrated_site):
    ids = migrated_site.django(SETUP.format(count=1, first=3, spacing=0))
    assert _states(migrated_site, ids) == {"pending": 1}
    migrated_site.start("worker", **FAST)
    poll(lambda: _states(migrated_site, ids) == {"late": 1}, "the obligation to be marked late")
    check = migrated_site.django(CHECK.format(ids=ids))
    assert check["late"] == 1 and check["lines"] == 1
    # The assignee's reporter and the requesting office's duty officer are told.
    assert check["told"] == ["county_duty", "environment_reporter"] and check["announced"] == 1


def test_a_killed_worker_restarted_loses_no_overdue_marking(migrated_site):
    count = 40
    # Spread over 20 s: on a loaded machine the worker may take seconds to start, and the
    # test needs obligations still pending when it is killed.
    ids = migrated_site.django(SETUP.format(count=count, first=4, spacing=0.5))
    worker = migrated_site.start("worker", **FAST)
    poll(lambda: _states(migrated_site, ids).get("late"), "the first obligations to go late")
    worker.signal(signal.SIGKILL)
    assert worker.wait() == -signal.SIGKILL

    # With no worker, the rest come due and stay pending: nothing marks them meanwhile.
    poll(
        lambda: migrated_site.django(CHECK.format(ids=ids))["due"] == count,
        "every obligation to come due",
    )
    left = _states(migrated_site, ids).get("pending", 0)
    assert left > 0, "the worker marked everything before it was killed; nothing was tested"

    migrated_site.start("worker", **FAST)
    poll(lambda: _states(migrated_site, ids) == {"late": count}, "every obligation marked late")
    check = migrated_site.django(CHECK.format(ids=ids))
    assert check["late"] == count
    assert check["lines"] == count  # one 超时 line each: nothing marked twice
    assert check["announced"] == count
