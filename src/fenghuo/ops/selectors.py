"""Reads for the operations endpoints: readiness checks and the figures behind /metrics.

Every figure is read from the database when asked, so any web process answers for the
whole installation (several web processes and workers on several machines share nothing
else). Each query is an indexed count or a MIN over a partial or state index.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Min, Q
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.core.selectors import worker_statuses
from fenghuo.escalation.models import Obligation, ObligationState
from fenghuo.notify.models import OPEN_STATES, DeliveryAttempt, Message


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def database_check() -> Check:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure to reach it is the answer
        return Check(False, f"数据库无法连接：{type(exc).__name__}")
    return Check(True, "数据库可连接")


_migrated = False  # once applied, migrations do not come undone under a running process


def migrations_check() -> Check:
    global _migrated
    if _migrated:
        return Check(True, "数据库迁移已全部执行")
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return Check(False, f"无法读取迁移状态：{type(exc).__name__}")
    if plan:
        return Check(False, f"有 {len(plan)} 个数据库迁移尚未执行（fenghuo migrate）")
    _migrated = True
    return Check(True, "数据库迁移已全部执行")


@dataclass(frozen=True)
class WorkerHealth:
    alive: int
    newest_age: float | None  # seconds since the freshest heartbeat; None: no worker known

    @property
    def ok(self) -> bool:
        return self.alive > 0


def worker_health() -> WorkerHealth:
    statuses = worker_statuses()
    moment = clock.now()
    ages = [(moment - status.last_seen).total_seconds() for status in statuses]
    return WorkerHealth(
        alive=sum(1 for status in statuses if status.alive),
        newest_age=max(min(ages), 0.0) if ages else None,
    )


def worker_check() -> Check:
    try:
        health = worker_health()
    except Exception as exc:
        return Check(False, f"无法读取工作进程心跳：{type(exc).__name__}")
    if health.ok:
        return Check(True, f"{health.alive} 个工作进程运行中")
    return Check(False, "后台工作进程未运行")


def _age(moment: datetime | None, now: datetime) -> float:
    return max((now - moment).total_seconds(), 0.0) if moment else 0.0


def figures() -> dict[str, Any]:
    """What /metrics reports from the database, at this moment."""
    now = clock.now()
    ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    due = Q(run_after=get_date_max()) | Q(run_after__lte=now)
    open_messages = Message.objects.filter(state__in=OPEN_STATES)
    pending = Obligation.objects.filter(state=ObligationState.PENDING)
    workers = worker_health()
    unlinked = AuditEntry.objects.filter(seq__isnull=True).aggregate(n=Count("pk"), t=Min("at"))
    return {
        "tasks_due": dict(
            ready.filter(due).values_list("queue_name").annotate(n=Count("pk")).order_by()
        ),
        "tasks_scheduled": ready.exclude(due).count(),
        "tasks_oldest_due": _age(ready.filter(due).aggregate(t=Min("enqueued_at"))["t"], now),
        "messages": {
            (channel, state): n
            for channel, state, n in Message.objects.values_list("channel", "state")
            .annotate(n=Count("pk"))
            .order_by()
        },
        "outbox_depth": open_messages.count(),
        "outbox_oldest": _age(open_messages.aggregate(t=Min("created_at"))["t"], now),
        "attempts": {
            (transport, outcome): n
            for transport, outcome, n in DeliveryAttempt.objects.values_list("transport", "outcome")
            .annotate(n=Count("pk"))
            .order_by()
        },
        "obligations": dict(
            Obligation.objects.values_list("state").annotate(n=Count("pk")).order_by()
        ),
        "obligation_oldest_pending": _age(pending.aggregate(t=Min("created_at"))["t"], now),
        "obligation_unmarked_overdue": _age(
            pending.filter(due_at__lte=now).aggregate(t=Min("due_at"))["t"], now
        ),
        "workers_alive": workers.alive,
        "worker_newest_age": workers.newest_age,
        "audit_unlinked": unlinked["n"],
        "audit_oldest_unlinked": _age(unlinked["t"], now),
    }
