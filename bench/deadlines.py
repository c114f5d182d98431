"""Deadlines: how late after its due time an obligation is marked late.

Setup (through the services): a county office with a duty officer, a bureau with a reporter
that files one report (so there is an event), then 10,000 pending obligations of that
bureau (`BENCH_DEADLINE_ROWS`) due one after another over a 60-second window
(`BENCH_DEADLINE_WINDOW`) that opens 20 s after setup, once the worker is up. A real
`fenghuo worker` runs its loops as in production (`escalation.deadlines:mark_overdue` every
0.5 s when idle); each row it marks late is announced (in-app messages to the bureau's
reporter and the office's duty officer) and put on the event's timeline, as in production.
`late_at` is written just before the batch commits, so `late_at − due_at` is how long after
its deadline a row was seen late. All rows belong to one unit and office, so each batch
is announced with one message (rows late together for the same unit are one list); rows of
many units in one batch would add a few milliseconds per unit.

Anchor, side by side in the same run on the same database: a once-a-minute cron sweep (what
simpler systems do): the same conditional UPDATE (pending and due → late, late_at = now)
at every wall-clock minute, over a copy of the same rows in a table of the same shape and
index, started at the same time. Its lateness is spread over up to a minute.

Figures: p50 / p99 / max of `late_at − due_at` for both, the goal (p99 ≤ 2 s) and the ratio
to the anchor (×p50, and p99 ÷ anchor p99 on its own row).

    .venv/bin/python bench/run.py deadlines
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/run.py deadlines
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _common import (  # noqa: E402
    Row,
    Server,
    database_label,
    env_float,
    env_int,
    fenghuo_command,
    percentile,
    print_table,
    progress,
)

NAME = "deadlines"
GOAL_P99_MS = 2000.0
LEAD_SECONDS = 30.0  # from setup to the first due time: the server and worker start meanwhile
CRON_TABLE = "bench_cron_obligation"
KEY_PREFIX = "bench:"


def rows() -> int:
    return env_int("BENCH_DEADLINE_ROWS", 10_000)


def window() -> float:
    return env_float("BENCH_DEADLINE_WINDOW", 60.0)


# --------------------------------------------------------------------------- inside Django


def setup_data() -> dict:
    """The org, one filed report, N pending obligations and their copy for the cron sweep."""
    from datetime import timedelta

    from django.db import connection

    from fenghuo.core import clock
    from fenghuo.criteria.models import EventCategory
    from fenghuo.escalation.models import Obligation, ObligationKind
    from fenghuo.events import services as event_services
    from fenghuo.events.models import Channel, ReportKind
    from fenghuo.org import services as org_services
    from fenghuo.org.models import AdminLevel, Role, UnitKind
    from fenghuo.org.policy import Principal, principal_for

    system = Principal(person_id=None, grants=(), is_superuser=True, label="基准测试")

    def unit(name, parent, code, kind, **extra):
        made = org_services.unit_create(
            system,
            parent=parent,
            name=name,
            level=AdminLevel.COUNTY,
            kind=UnitKind.objects.get(code=kind),
            division_code=code,
            **extra,
        )
        made.refresh_from_db()
        return made

    def person(username, where, role):
        made = org_services.person_create(system, username=username, full_name=username, unit=where)
        org_services.membership_grant(system, person=made, unit=where, role=role)
        return made

    office = unit("江口县委办公室", None, "990121", "gov_office", is_receiving_office=True)
    bureau = unit("江口县应急管理局", office, "990121", "emergency")
    person("duty", office, Role.DUTY_OFFICER)
    reporter = person("reporter", bureau, Role.REPORTER)
    filed = event_services.file_report(
        principal_for(reporter),
        unit=bureau,
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data={
            "title": "江口县化工园区发生爆炸",
            "category": EventCategory.objects.get(code="hazchem"),
            "occurred_at": clock.now() - timedelta(minutes=5),
            "division_code": "990121",
            "place": "江口县化工园区",
            "narrative": "江口县化工园区一车间发生爆炸，现场有人员受伤。",
            "injured": 1,
        },
    )
    count, span = rows(), window()
    start = clock.now() + timedelta(seconds=LEAD_SECONDS)
    moment = clock.now()
    Obligation.objects.bulk_create(
        (
            Obligation(
                key=f"{KEY_PREFIX}{n}",
                kind=ObligationKind.FOLLOWUP,
                event=filed.event,
                obliged_unit=bureau,
                office=office,
                sequence=n + 1,
                reason=f"基准测试第 {n + 1} 项",
                created_at=moment,
                due_at=start + timedelta(seconds=span * n / count),
            )
            for n in range(count)
        ),
        batch_size=1000,
    )
    table = Obligation._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE {CRON_TABLE} (LIKE {table} INCLUDING ALL)")
        else:
            cursor.execute(f"CREATE TABLE {CRON_TABLE} AS SELECT * FROM {table} WHERE 0")
            cursor.execute(f"CREATE INDEX {CRON_TABLE}_due ON {CRON_TABLE} (state, due_at)")
        cursor.execute(
            f"INSERT INTO {CRON_TABLE} SELECT * FROM {table} WHERE key LIKE %s",
            [f"{KEY_PREFIX}%"],
        )
    return {"rows": count, "first_due": start.timestamp(), "last_due": start.timestamp() + span}


def cron_sweeps() -> dict:
    """The anchor: at every wall-clock minute, mark due pending rows of the copy late, until
    none is left (at most three minutes after the last due time)."""
    from django.db import connection, transaction

    from fenghuo.core import clock

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {CRON_TABLE}")
        total = cursor.fetchone()[0]
    until = time.time() + LEAD_SECONDS + window() + 180
    sweeps = []
    while time.time() < until and sum(sweeps) < total:
        time.sleep(60 - time.time() % 60)  # like cron: on the minute
        moment = connection.ops.adapt_datetimefield_value(clock.now())
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {CRON_TABLE} SET state = 'late', late_at = %s"
                " WHERE state = 'pending' AND due_at <= %s",
                [moment, moment],
            )
            sweeps.append(cursor.rowcount)
    return {"sweeps": sweeps}


def lateness() -> dict:
    """Seconds from due to late for every row of both sets (a raw query over the copy maps
    its columns onto the model, so both read the same way)."""
    from fenghuo.escalation.models import Obligation

    def seconds(rows) -> list[float]:
        return [(o.late_at - o.due_at).total_seconds() for o in rows]

    mine = Obligation.objects.filter(key__startswith=KEY_PREFIX, state="late")
    copy = Obligation.objects.raw(
        f"SELECT id, due_at, late_at FROM {CRON_TABLE} WHERE state = 'late'"
    )
    first = Obligation.objects.get(key=f"{KEY_PREFIX}0")
    return {
        "worker": seconds(mine.only("due_at", "late_at")),
        "cron": seconds(copy),
        "timeline": first.event.timeline.filter(text__startswith="超时").count(),
    }


# --------------------------------------------------------------------------- the run


def _ms(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return None if value is None else value * 1000


def run() -> list[Row]:
    db = database_label()
    with Server(setup=f"{NAME}:setup_data") as server:
        data = server.data
        progress(
            f"{data['rows']} obligations due over {window():.0f} s, from "
            f"{data['first_due'] - time.time():.0f} s from now; starting `fenghuo worker`"
        )
        log = open(Path(server.env["FENGHUO_DATA_DIR"]) / "worker.log", "ab")  # noqa: SIM115
        worker = subprocess.Popen(
            [*fenghuo_command(), "worker"],
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        cron: dict = {}
        sweeper = threading.Thread(
            target=lambda: cron.update(server.call(f"{NAME}:cron_sweeps")), daemon=True
        )
        sweeper.start()
        try:
            # The cron sweep ends at the first minute after the last due time, which may be
            # a moment after it: the worker gets 15 s past the last due time in any case
            # (rows still pending then are errors).
            sweeper.join()
            time.sleep(max(0.0, data["last_due"] + 15 - time.time()))
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            log.close()
        result = server.call(f"{NAME}:lateness")
    return rows_of(db, data, result, cron)


def rows_of(db: str, data: dict, result: dict, cron: dict) -> list[Row]:
    count = data["rows"]
    late, anchor_late = result["worker"], result["cron"]
    anchor = Row(
        NAME,
        f"cron sweep once a minute, same {len(anchor_late)} rows  anchor  [{db}]",
        n=len(anchor_late),
        errors=count - len(anchor_late),
        p50_ms=_ms(anchor_late, 50),
        p99_ms=_ms(anchor_late, 99),
        note=f"sweeps marked {cron.get('sweeps', '?')} rows; lateness = late_at − due_at",
    )
    anchor.anchor = anchor
    worker = Row(
        NAME,
        f"fenghuo worker, mark_overdue loop (0.5 s idle), {count} rows over "
        f"{window():.0f} s  [{db}]",
        n=len(late),
        errors=count - len(late),
        p50_ms=_ms(late, 50),
        p99_ms=_ms(late, 99),
        anchor=anchor,
        note=f"max {_ms(late, 100) or 0:.0f} ms; {result['timeline']} 超时 timeline lines "
        f"(one per row expected); err = rows not marked late",
    )
    out = [anchor, worker]
    p99 = worker.p99_ms
    if p99 is not None:
        met = "met" if p99 <= GOAL_P99_MS else "NOT MET"
        out.append(Row(NAME, f"goal p99 ≤ {GOAL_P99_MS:.0f} ms: {p99:.0f} ms — {met}"))
    if p99 and anchor.p99_ms:
        out.append(
            Row(
                NAME,
                f"p99 ÷ anchor p99 = {p99:.0f} ÷ {anchor.p99_ms:.0f} = {p99 / anchor.p99_ms:.3f}",
            )
        )
    return out


def main() -> int:
    print(
        f"fenghuo bench · {NAME} · {rows()} obligations over {window():.0f} s · "
        f"{database_label()} · {os.cpu_count()} CPUs",
        flush=True,
    )
    print_table(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
