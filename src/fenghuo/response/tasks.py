"""The overdue check for response tasks: a polling-loop step run by `fenghuo worker`
(`FENGHUO_WORKER_LOOPS["fenghuo.response.tasks:mark_overdue_tasks"]`).

Its own loop rather than escalation's obligations: an `Obligation` is a reporting duty
(phone, written, follow-up … each met by a report or a receipt), its kinds and keys are
escalation's, and its late/missed life ends in 漏报 statistics. A response task is met by
the unit saying it is done, and overdue is one of its own visible states. The row is the
timer, as with obligations: open tasks whose due time has passed are claimed with row
locks (PostgreSQL: SKIP LOCKED, so parallel workers share them; SQLite: one writer),
announced, and marked with a conditional UPDATE, so a step that runs twice changes and
announces each task once; a killed worker's batch rolls back and is taken again.
"""

from django.db import transaction

from fenghuo.core import clock
from fenghuo.core.sandbox import marks
from fenghuo.events.models import TimelineEntry, TimelineKind
from fenghuo.notify.services import notify_people, notify_unit
from fenghuo.response import selectors
from fenghuo.response.models import OPEN_RESPONSE_STATES, Task, TaskState
from fenghuo.response.services import SYSTEM, board_link, unit_people, when_text

BATCH = 200


def _overdue_text(task: Task) -> str:
    return f"响应任务超时：{task.unit.name}未在{when_text(task.due_at)}前完成「{task.title}」。"


def _announce(task: Task) -> None:
    """The assigned unit (its people and robots) and the response's leaders."""
    response = task.response
    leaders = [leader.person for leader in selectors.current_leaders(response)]
    message = {
        "subject": f"任务超时：{task.unit.name}「{task.title}」",
        "body": f"{response.event.title}（{response.label}）。{_overdue_text(task)}",
        "key": f"response:{response.pk}:task:{task.pk}:overdue:{int(task.due_at.timestamp())}",
        "link": board_link(response.event_id),
        "ref": f"response:{response.pk}",
        "urgent": True,
        **marks(response.event),
    }
    notify_people([*unit_people(task.unit_id), *leaders], **message)
    notify_unit(task.unit, **message)


def mark_overdue_tasks(batch: int = BATCH) -> int:
    """One step: open or in-progress tasks of open responses past their due time become
    已超时, announced and noted on the timeline. Returns how many tasks changed."""
    moment = clock.now()
    with transaction.atomic():
        rows = list(
            Task.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                state__in=(TaskState.OPEN, TaskState.IN_PROGRESS),
                due_at__lte=moment,
                response__state__in=OPEN_RESPONSE_STATES,
            )
            .select_related("response", "response__event", "response__office", "unit")
            .order_by("due_at", "pk")[:batch]
        )
        if not rows:
            return 0
        for task in rows:
            _announce(task)
        # Conditional: still open (locked on PostgreSQL; the only writer on SQLite), so a
        # rerun or a second worker changes nothing.
        marked = Task.objects.filter(
            pk__in=[t.pk for t in rows], state__in=(TaskState.OPEN, TaskState.IN_PROGRESS)
        ).update(state=TaskState.OVERDUE, overdue_at=clock.now())
        TimelineEntry.objects.bulk_create(
            TimelineEntry(
                event_id=task.response.event_id,
                at=moment,
                kind=TimelineKind.RESPONSE,
                text=_overdue_text(task),
                actor_name=SYSTEM,
            )
            for task in rows
        )
    return marked
