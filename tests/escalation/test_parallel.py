"""Two deadline steps at once on PostgreSQL: SKIP LOCKED shares the due rows between them,
and each row is marked late and announced exactly once."""

from datetime import timedelta

import pytest

from fenghuo.core import clock
from fenghuo.escalation.deadlines import mark_overdue
from fenghuo.escalation.models import Obligation, ObligationKind, ObligationState
from fenghuo.events.models import TimelineEntry
from fenghuo.notify.models import Message
from tests.escalation.world import build_world, file_report
from tests.processes import uses_postgres
from tests.threads import at_once

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not uses_postgres(), reason="row locks with SKIP LOCKED: PostgreSQL"),
]

COUNT = 300


def test_two_steps_in_parallel_threads_mark_each_row_once():
    world = build_world()
    filed = file_report(world, "environment", dead=1)
    moment = clock.now()
    Obligation.objects.bulk_create(
        Obligation(
            key=f"test:{n}",
            kind=ObligationKind.FOLLOWUP,
            event=filed.event,
            obliged_unit=world["environment"],
            office=world["county"],
            sequence=n,
            reason=f"第 {n} 项",
            created_at=moment,
            due_at=moment - timedelta(seconds=COUNT - n),
        )
        for n in range(COUNT)
    )

    def worker() -> int:
        handled = 0
        while done := mark_overdue(batch=25):
            handled += done
        return handled

    handled = at_once(worker, 2)
    assert sum(handled) == COUNT  # every row counted by exactly one of the two
    ours = Obligation.objects.filter(key__startswith="test:")
    assert ours.filter(state=ObligationState.LATE).count() == COUNT
    lines = TimelineEntry.objects.filter(event=filed.event, text__startswith="超时")
    assert lines.count() == COUNT
    # Rows that went late together are announced together: "late:<first>-<last>:<count>".
    keys = set(Message.objects.filter(key__startswith="late:").values_list("key", flat=True))
    assert sum(int(k.rsplit(":", 1)[1]) if "-" in k else 1 for k in keys) == COUNT
