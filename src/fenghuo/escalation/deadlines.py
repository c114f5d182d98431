"""The durable deadline checks: polling-loop steps run by `fenghuo worker`.

`mark_overdue` marks pending obligations whose due time has passed as late (and late ones
past the grace period, or of an ended event, as missed); `run_escalations` runs the next
step of every receipt whose step time has come. Both take a batch of due rows with row
locks (PostgreSQL: SKIP LOCKED, so parallel workers share the work; SQLite: one writer at a
time) and change them with conditional UPDATEs, so a step that runs twice, or in two workers
at once, changes and announces each row once. The rows are the state: a worker killed
mid-batch rolls its batch back and the next step picks the same rows up again.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from fenghuo.core import clock
from fenghuo.core.sandbox import marks, owed
from fenghuo.escalation.models import (
    EscalationTarget,
    Obligation,
    ObligationKind,
    ObligationState,
)
from fenghuo.escalation.services import (
    BATCH,
    ENDED_STATUSES,
    MISSED_AFTER_MINUTES,
    event_link,
    when_text,
)
from fenghuo.events.models import TimelineEntry, TimelineKind
from fenghuo.notify.services import notify_people, notify_unit
from fenghuo.org.models import Person, Role, Unit
from fenghuo.org.selectors import OnDuty, on_duty

SYSTEM = "系统"


def _claim(condition: Q, batch: int) -> list[Obligation]:
    return list(
        Obligation.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(condition)
        .select_related("event", "obliged_unit", "office", "report")
        .order_by("due_at", "pk")[:batch]
    )


class _People:
    """Who to tell, looked up once per batch (many rows share units and offices)."""

    def __init__(self) -> None:
        self._duty: dict[int, OnDuty] = {}
        self._unit: dict[int, list[Person]] = {}

    def duty(self, office: Unit) -> OnDuty:
        if office.pk not in self._duty:
            self._duty[office.pk] = on_duty(office)
        return self._duty[office.pk]

    def load_units(self, unit_ids: set[int]) -> None:
        wanted = unit_ids - self._unit.keys()
        for unit_id in wanted:
            self._unit[unit_id] = []
        if not wanted:
            return
        rows = Person.objects.filter(
            memberships__unit_id__in=wanted,
            memberships__role__in=(Role.REPORTER, Role.UNIT_LEADER),
            is_active=True,
        ).values_list("memberships__unit_id", "pk")
        ids = defaultdict(set)
        for unit_id, person_id in rows:
            ids[unit_id].add(person_id)
        people = Person.objects.in_bulk({p for s in ids.values() for p in s})
        for unit_id, person_ids in ids.items():
            self._unit[unit_id] = [people[p] for p in sorted(person_ids)]

    def unit(self, unit_id: int) -> list[Person]:
        return self._unit.get(unit_id, [])


def _late_text(obligation: Obligation) -> str:
    return (
        f"超时：{obligation.obliged_unit.name}未在{when_text(obligation.due_at)}前完成"
        f"{obligation.title}（{obligation.reason}）。"
    )


def _announce_late(group: list[Obligation], people: _People) -> None:
    """Tell the obliged unit (its reporters and leaders, its robots) and the office's duty
    officer. One message per group of rows that went late together for the same unit and
    office: after an outage a unit gets one list, not hundreds of messages. A row is in
    exactly one committed batch, so the key (first id, last id, count) is never reused."""
    first = group[0]
    unit = first.obliged_unit
    recipients = [] if first.kind == ObligationKind.RECEIPT else list(people.unit(unit.pk))
    if first.office is not None:
        primary = people.duty(first.office).primary
        if primary is not None:
            recipients.append(primary)
    if len(group) == 1:
        subject = f"超时提醒：{unit.name}{first.title}"
        body = f"{first.event.title}。{_late_text(first)}"
        key = f"late:{first.pk}"
    else:
        titles = "；".join(f"{o.title}（{when_text(o.due_at)}）" for o in group[:5])
        more = f"等 {len(group)} 项" if len(group) > 5 else ""
        subject = f"超时提醒：{unit.name} {len(group)} 项报送义务已超时"
        body = f"{unit.name}未按时完成：{titles}{more}。"
        key = f"late:{first.pk}-{group[-1].pk}:{len(group)}"
    one_event = len({o.event_id for o in group}) == 1
    message = {
        "subject": subject,
        "body": body,
        "key": key,
        "link": event_link(first.event_id) if one_event else reverse("duty-desk"),
        "ref": f"obligation:{first.pk}",
        "urgent": True,
        **marks(first.event),
    }
    notify_people(recipients, **message)
    notify_unit(unit, **message)


def mark_overdue(batch: int = BATCH) -> int:
    """One step of the deadline loop: due pending rows → late (announced to the obliged
    unit and the office's duty officer); late rows past the grace period or of an ended
    event → missed. Returns how many rows changed."""
    return _mark_late(batch) + _mark_missed(batch)


def _mark_late(batch: int) -> int:
    with transaction.atomic():
        rows = _claim(Q(state=ObligationState.PENDING, due_at__lte=clock.now()), batch)
        if not rows:
            return 0
        people = _People()
        people.load_units({o.obliged_unit_id for o in rows})
        groups: dict[tuple, list[Obligation]] = defaultdict(list)
        for obligation in rows:
            receipt = obligation.kind == ObligationKind.RECEIPT
            # A drill's rows are never announced together with real ones.
            key = (obligation.obliged_unit_id, obligation.office_id, receipt)
            groups[(*key, obligation.event.is_drill, obligation.event.drill_tag)].append(obligation)
        for group in groups.values():
            _announce_late(group, people)
        # Marked last, just before the commit, so `late_at` says when it became visible.
        # The claimed rows are locked (PostgreSQL) or this is the only writer (SQLite), so
        # they are still pending; the condition keeps a rerun harmless all the same.
        moment = clock.now()
        Obligation.objects.filter(
            pk__in=[o.pk for o in rows], state=ObligationState.PENDING
        ).update(state=ObligationState.LATE, late_at=moment)
        TimelineEntry.objects.bulk_create(
            TimelineEntry(
                event_id=o.event_id,
                at=moment,
                kind=TimelineKind.STATUS,
                text=_late_text(o),
                actor_name=SYSTEM,
                report=o.report,
            )
            for o in rows
        )
    return len(rows)


def _mark_missed(batch: int) -> int:
    moment = clock.now()
    grace = timedelta(
        minutes=getattr(settings, "FENGHUO_MISSED_AFTER_MINUTES", MISSED_AFTER_MINUTES)
    )
    with transaction.atomic():
        rows = _claim(
            Q(state=ObligationState.LATE)
            & (Q(due_at__lte=moment - grace) | Q(event__status__in=ENDED_STATUSES)),
            batch,
        )
        if not rows:
            return 0
        Obligation.objects.filter(pk__in=[o.pk for o in rows], state=ObligationState.LATE).update(
            state=ObligationState.MISSED, missed_at=moment, next_step_at=None
        )
        TimelineEntry.objects.bulk_create(
            TimelineEntry(
                event_id=o.event_id,
                at=moment,
                kind=TimelineKind.STATUS,
                text=f"漏报：{o.obliged_unit.name}{o.title}逾期未完成"
                f"（时限{when_text(o.due_at)}）。",
                actor_name=SYSTEM,
                report=o.report,
            )
            for o in rows
        )
    return len(rows)


# --- escalation --------------------------------------------------------------------------


def _superior_duty(office: Unit) -> list[Person]:
    parent = office.get_parent()
    while parent is not None and not parent.is_receiving_office:
        parent = parent.get_parent()
    if parent is None:
        return []
    primary = on_duty(parent).primary
    return [primary] if primary is not None else []


def step_recipients(target: str, office: Unit) -> list[Person]:
    """Who an escalation step reaches, resolved when the step runs (shifts change)."""
    duty = on_duty(office)
    if target == EscalationTarget.PRIMARY:
        return [duty.primary] if duty.primary else []
    if target == EscalationTarget.BACKUP:
        return [duty.backup] if duty.backup else []
    if target == EscalationTarget.LEADER:
        if duty.leader is not None:
            return [duty.leader]
        return list(
            Person.objects.filter(
                memberships__unit=office, memberships__role=Role.UNIT_LEADER, is_active=True
            ).order_by("pk")
        )
    if target == EscalationTarget.SUPERIOR:
        return _superior_duty(office)
    return []


def run_escalations(batch: int = 100) -> int:
    """One step of the escalation loop: every open receipt whose next step time has come
    runs that step (notify the backup, the leader …) and moves to the next one."""
    moment = clock.now()
    with transaction.atomic():
        rows = list(
            Obligation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                kind=ObligationKind.RECEIPT,
                state__in=(ObligationState.PENDING, ObligationState.LATE),
                next_step_at__lte=moment,
            )
            .select_related("event", "office", "report", "report__unit")
            .order_by("next_step_at", "pk")[:batch]
        )
        handled = 0
        for obligation in rows:
            handled += _escalate(obligation, moment)
    return handled


def _escalate(obligation: Obligation, moment: datetime) -> int:
    steps: list[dict[str, Any]] = obligation.chain["steps"]
    index = obligation.chain_step
    step = steps[index]
    following = steps[index + 1] if index + 1 < len(steps) else None
    drill_tag = obligation.event.drill_tag
    next_at = (
        obligation.created_at + owed(timedelta(minutes=following["after_minutes"]), drill_tag)
        if following
        else None
    )
    people = step_recipients(step["target"], obligation.office)
    label = EscalationTarget(step["target"]).label
    names = "、".join(str(p) for p in people) or "无人可通知"
    log = [
        *obligation.escalations,
        {
            "step": index,
            "at": moment.isoformat(),
            "target": step["target"],
            "people": [str(p) for p in people],
        },
    ]
    # Conditional: a second run of the same step (another worker, a retry) changes nothing.
    if not Obligation.objects.filter(
        pk=obligation.pk, chain_step=index, next_step_at__isnull=False
    ).update(chain_step=index + 1, next_step_at=next_at, escalations=log):
        return 0
    report = obligation.report
    what = f"{report.unit.name}{report.kind_label}" if report else "报告"
    text = (
        f"签收升级：{obligation.office.name} {step['after_minutes']} 分钟未签收{what}，"
        f"已通知{label}（{names}）。"
    )
    notify_people(
        people,
        subject=f"【升级】{obligation.office.name}未签收：{what}",
        body=f"{obligation.event.title}。{text}请督促签收。",
        key=f"escalation:{obligation.pk}:{index}",
        link=event_link(obligation.event_id),
        ref=f"obligation:{obligation.pk}",
        urgent=True,
        **marks(obligation.event),
    )
    TimelineEntry.objects.create(
        event_id=obligation.event_id,
        at=moment,
        kind=TimelineKind.STATUS,
        text=text,
        actor_name=SYSTEM,
        report=report,
    )
    return 1
