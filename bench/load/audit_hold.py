"""How long a report holds the audit chain's head row: the load scenario's bottleneck, alone.

Files reports one at a time through Django's test client (same middleware and API stack as
the server, no concurrency, no HTTP) over a fresh migrated database with the scenario's
organisation (10 points), and times each request in full and from its
`SELECT … core_audithead … FOR UPDATE` to the end. Every audited writing transaction waits
for that row, so 1000 ÷ (held ms) is the most reports per second the whole installation can
commit, however many processes and cores serve it.

    .venv/bin/python bench/load/audit_hold.py     (DATABASE_URL: default local postgres)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))


def measure(count: int = 120, warmup: int = 20) -> dict:
    """Runs inside Django (in_fresh_database): per report kind, medians of total and held ms."""
    from django.db import connection
    from django.test import Client
    from load.scenario import setup_org

    data = setup_org(points=10, officers=1)
    client = Client(HTTP_HOST="127.0.0.1")
    marks: dict[str, float] = {}

    def watch(execute, sql, params, many, context):
        if "core_audithead" in sql and "FOR UPDATE" in sql and "lock" not in marks:
            marks["lock"] = time.perf_counter()
        marks["queries"] = marks.get("queries", 0) + 1
        return execute(sql, params, many, context)

    events: dict[str, int] = {}
    rows = []
    for i in range(count + warmup):
        point = data["points"][i % len(data["points"])]
        if point["token"] in events and i % 4:
            body = {
                "kind": "followup",
                "event_id": events[point["token"]],
                "narrative": "现场处置仍在进行，有关情况将及时续报。",
                "injured": i % 5,
            }
        else:
            body = {
                "kind": "first",
                "title": f"城关镇第{i}号仓库发生火灾",
                "category": "fire",
                "occurred_at": "2026-12-06T08:00:00+08:00",
                "division_code": point["division_code"],
                "place": f"城关镇第{i}号仓库",
                "narrative": "上午8时许，城关镇仓库发生火灾，消防已到场处置。",
                "injured": 1,
            }
        marks.clear()
        started = time.perf_counter()
        with connection.execute_wrapper(watch):
            response = client.post(
                "/api/reports",
                json.dumps(body, ensure_ascii=False),
                content_type="application/json",
                headers={
                    "Authorization": f"Bearer {point['token']}",
                    "Idempotency-Key": str(uuid.uuid4()),
                },
            )
        ended = time.perf_counter()
        if response.status_code != 201:
            raise RuntimeError(f"HTTP {response.status_code}: {response.content[:300]!r}")
        events.setdefault(point["token"], response.json()["event_id"])
        if i >= warmup:
            held = ended - marks.get("lock", ended)
            rows.append((body["kind"], ended - started, held, marks.get("queries", 0)))
    result = {}
    for kind in ("first", "followup"):
        chosen = [r for r in rows if r[0] == kind]
        result[kind] = {
            "n": len(chosen),
            "total_ms": statistics.median(r[1] for r in chosen) * 1000,
            "held_ms": statistics.median(r[2] for r in chosen) * 1000,
            "queries": statistics.median(r[3] for r in chosen),
        }
    return result


def main() -> int:
    import os

    from _common import in_fresh_database

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    result = in_fresh_database("load.audit_hold", "measure()", what="filing reports")
    for kind, row in result.items():
        print(
            f"{kind:<9} n={row['n']:<4} request {row['total_ms']:.1f} ms (median), "
            f"audit head held {row['held_ms']:.1f} ms ({row['held_ms'] / row['total_ms']:.0%}), "
            f"{row['queries']:.0f} queries; at most {1000 / row['held_ms']:.0f} such reports/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
