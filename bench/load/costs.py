"""What each request type of the load scenario costs on its own: CPU, SQL, wall time.

The load run (bench/load/run.py) says the machine is saturated; this says by what. Inside
one Django process over a fresh PostgreSQL (or SQLite) database with the scenario's
organisation (bench/load/scenario.py), it files reports the way the reporting points do
(a first report of each point, then follow-ups), signs in a duty officer, and then times
every request type of the scenario one request at a time through Django's test client (no
HTTP server, no concurrency): wall time, CPU time of this process, SQL statements and their
time. Multiplied by the scenario's rates it gives the CPU the offered load needs, the
figure to set against the machine's two cores.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/load/costs.py

Knobs: --repeat N (30) requests timed per type, --reports N (600) filed before timing,
--profile TYPE one type under cProfile (wall time; with --cpu, this process's CPU only),
with the SQL it sends by sender and each template's CPU.
Not a benchmark of bench/run.py and not in the suite.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))


def _panel_timers() -> dict[str, int]:
    """The desk panels' refresh timers as the locust users keep them: read from the
    locustfile's syntax tree, not imported (importing locust patches the standard library
    with gevent)."""
    tree = ast.parse(Path(__file__).with_name("locustfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "PANELS" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise RuntimeError("no PANELS in bench/load/locustfile.py")


# Requests per second of each type in the scenario (bench/load/locustfile.py): 200 points
# acting every 10-30 s (12 % first reports), 20 officers polling every ~2 s, refreshing
# each panel on its timer and browsing every 30 s (which reloads /desk/ too).
RATES = {
    "POST /api/reports 首报": 200 / 20 * 0.12,
    "POST /api/reports 续报": 200 / 20 * 0.88,
    "poll /desk/feed/": 20 / 2,
    "page /desk/": 20 / 30,
    "page /events/": 20 / 30,
    "page /events/[id]/": 20 / 30,
    **{f"panel {name}": 20 / every for name, every in _panel_timers().items()},
}


def measure(
    repeat: int,
    reports: int,
    profile: str = "",
    *,
    cpu: bool = False,
    points: int = 200,
    officers: int = 20,
) -> dict:
    """Runs inside Django (bench/_common.in_fresh_database). With `profile` (a request
    type's name), that type only, under cProfile, and the SQL it sends. `points` and
    `officers` shrink the organisation (the suite's smoke test)."""
    from django.db import connection
    from django.test import Client
    from load.scenario import setup_org

    from fenghuo.org.models import Person

    data = setup_org(points=points, officers=officers)
    rng = random.Random(7)
    points = data["points"]
    events: dict[str, list[int]] = {}
    api = Client(HTTP_HOST="127.0.0.1")

    def first(point: dict) -> dict:
        occurred = datetime.now(UTC) - timedelta(minutes=rng.uniform(5, 90))
        place = point["unit"].split("（")[0] + "附近"
        return {
            "kind": "first",
            "title": f"{place}发生危化品泄漏事故",
            "category": "hazchem",
            "occurred_at": occurred.isoformat(timespec="seconds"),
            "division_code": point["division_code"],
            "place": place,
            "narrative": f"{place}发生危化品泄漏事故。据初步了解，造成1人受伤。",
            "dead": rng.choice([0, 0, 1]),
            "injured": rng.choice([0, 1, 3]),
        }

    def followup(point: dict) -> dict:
        return {
            "kind": "followup",
            "event_id": rng.choice(events[point["token"]]),
            "narrative": "伤员救治和现场清理工作仍在进行，有关情况将及时续报。",
            "dead": rng.randint(0, 3),
            "injured": rng.randint(0, 10),
        }

    def file(point: dict, body: dict) -> None:
        response = api.post(
            "/api/reports",
            json.dumps(body, ensure_ascii=False),
            content_type="application/json",
            headers={
                "Authorization": f"Bearer {point['token']}",
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
        if response.status_code != 201:
            raise RuntimeError(f"report: HTTP {response.status_code} {response.content[:300]!r}")
        events.setdefault(point["token"], []).append(response.json()["event_id"])

    for number in range(reports):
        point = points[number % len(points)]
        file(point, followup(point) if point["token"] in events else first(point))

    if connection.vendor == "postgresql":
        # The planner's statistics as autovacuum keeps them on a running system: without
        # them a fresh database plans for empty tables (the desk's timeline read took
        # 17 ms instead of 0.3).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    officer = Client(HTTP_HOST="127.0.0.1")
    officer.force_login(Person.objects.get(username=data["officers"][0]["username"]))
    page = officer.get("/desk/").content.decode()
    after = page.split('data-after="', 1)[1].split('"', 1)[0] if "data-after" in page else ""
    event_id = next(iter(events.values()))[0]

    def report_request(kind: str):
        def call() -> None:
            point = rng.choice(points)
            file(point, first(point) if kind == "first" else followup(point))

        return call

    def get(path: str, **headers: str):
        def call() -> None:
            response = officer.get(path, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {response.status_code}")

        return call

    calls = {
        "POST /api/reports 首报": report_request("first"),
        "POST /api/reports 续报": report_request("followup"),
        "poll /desk/feed/": get(f"/desk/feed/?after={after}", Accept="application/json"),
        "page /desk/": get("/desk/"),
        "page /events/": get("/events/"),
        "page /events/[id]/": get(f"/events/{event_id}/"),
        **{
            name: get(f"/desk/panels/{name.split()[1]}/", **{"HX-Request": "true"})
            for name in RATES
            if name.startswith("panel ")
        },
    }
    if profile:
        return _profiled(calls[profile], repeat, cpu)
    rows = []
    database_cpu = _database_cpu()
    for name, call in calls.items():
        for _ in range(3):  # warm-up: caches, first-use imports
            call()
        walls, cpus, queries, database = [], [], [], []
        for _ in range(repeat):
            count = [0]

            def counting(execute, sql, params, many, context, count=count):
                count[0] += 1
                return execute(sql, params, many, context)

            with connection.execute_wrapper(counting):
                db, cpu, wall = database_cpu(), time.process_time(), time.perf_counter()
                call()
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
                database.append(database_cpu() - db)
            queries.append(count[0])
        rows.append(
            {
                "name": name,
                "wall_ms": statistics.median(walls) * 1000,
                "cpu_ms": statistics.mean(cpus) * 1000,
                "db_cpu_ms": statistics.mean(database) * 1000,
                "sql": statistics.mean(queries),
                "rate": RATES[name],
            }
        )
    return {"database": connection.vendor, "rows": rows}


def _database_cpu():
    """A function returning the CPU seconds used so far by this database's PostgreSQL
    backends (server processes on this machine, found by the database name in their
    title); on SQLite, which runs in this process, always 0; NaN without psutil (the
    optional `bench` dependencies: the suite runs this file without them)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return lambda: 0.0
    try:
        import psutil
    except ImportError:
        return lambda: math.nan
    name = f" {connection.settings_dict['NAME']} "

    def used() -> float:
        total = 0.0
        for process in psutil.process_iter(["name", "cmdline"]):
            if process.info["name"] == "postgres" and name in " ".join(
                process.info["cmdline"] or []
            ):
                try:
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                total += times.user + times.system
        return total

    return used


def _profiled(call, repeat: int, cpu: bool = False) -> dict:
    import cProfile
    import pstats
    import re
    from collections import Counter

    from django.db import connection

    for _ in range(3):
        call()
    shapes: Counter = Counter()
    spent: Counter = Counter()
    source = str(BENCH_DIR.parent / "src") + "/"

    def shape(execute, sql, params, many, context):
        # Which of our functions sent it: the innermost frame in src/fenghuo.
        frame = sys._getframe(1)
        while frame is not None and not frame.f_code.co_filename.startswith(source):
            frame = frame.f_back
        caller = (
            f"{frame.f_code.co_filename.removeprefix(source)}:{frame.f_code.co_name}"
            if frame is not None
            else "?"
        )
        # Django names each savepoint afresh ("s<thread>_x<n>"): one shape for them all.
        text = re.sub(r'"s\d+_x\d+"', '"s…"', re.sub(r"\s+", " ", sql))
        key = (caller, text[:110])
        shapes[key] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[key] += time.perf_counter() - started

    # Each template's CPU, inclusive of the templates it includes, timed without cProfile's
    # overhead: the page types spend most of their time rendering.
    from django.template.base import Template

    rendered: Counter = Counter()
    renders: Counter = Counter()
    plain_render = Template.render

    def timed_render(template, context):
        started = time.process_time()
        try:
            return plain_render(template, context)
        finally:
            rendered[template.name] += time.process_time() - started
            renders[template.name] += 1

    # Every request of the repeat, not one: a type's requests differ (a follow-up that
    # changes its event's grade routes anew).
    Template.render = timed_render
    try:
        with connection.execute_wrapper(shape):
            for _ in range(repeat):
                call()
    finally:
        Template.render = plain_render
    # cProfile's clock is wall time by default (waits on PostgreSQL included); --cpu counts
    # only this process's CPU, the part the web processes pay for.
    profiler = cProfile.Profile(time.process_time) if cpu else cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    root = str(BENCH_DIR.parent) + "/"
    functions = sorted(
        (
            (total / repeat * 1000, own / repeat * 1000, calls / repeat, f"{file}:{line}({fn})")
            for (file, line, fn), (_p, calls, own, total, _c) in stats.items()
            if "/fenghuo/" in file or "templat" in file
        ),
        reverse=True,
    )
    own = sorted(
        (
            (own / repeat * 1000, calls / repeat, f"{file}:{line}({fn})")
            for (file, line, fn), (_p, calls, own, _t, _c) in stats.items()
        ),
        reverse=True,
    )
    return {
        "sql": [
            (f"{caller}  {sql}", n / repeat, spent[(caller, sql)] * 1000 / repeat)
            for (caller, sql), n in shapes.most_common(60)
        ],
        "functions": [(t, o, c, w.replace(root, "")) for t, o, c, w in functions[:50]],
        "own": [(o, c, w.replace(root, "")) for o, c, w in own[:30]],
        "templates": [
            (spent_s * 1000 / repeat, renders[name] / repeat, str(name))
            for name, spent_s in rendered.most_common(25)
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reports", type=int, default=600)
    parser.add_argument("--profile", default="", help="one request type, under cProfile")
    parser.add_argument("--cpu", action="store_true", help="--profile counts CPU, not wall time")
    args = parser.parse_args(argv)
    from _common import in_fresh_database

    os.environ.setdefault("FENGHUO_BENCH", "1")
    result = in_fresh_database(
        "load.costs",
        f"measure({args.repeat}, {args.reports}, {args.profile!r}, cpu={args.cpu})",
        what=f"scenario organisation, {args.reports} reports, then {args.repeat} of each request",
    )
    if args.profile:
        print("SQL per request (mean): statements, ms (wall, fetching included), sender")
        for sql, count, ms in result["sql"]:
            print(f"  {count:5.2f} {ms:7.2f}  {sql}")
        print("\nper request, each template: CPU ms (the templates it includes too), renders")
        for ms, count, name in result["templates"]:
            print(f"  {ms:7.2f} {count:7.1f}  {name}")
        print("\nper request, fenghuo and template code: total ms, own ms, calls")
        for total_ms, own_ms, calls, where in result["functions"]:
            print(f"  {total_ms:8.2f} {own_ms:7.2f} {calls:7.1f}  {where}")
        print("\nper request, any code by its own time: own ms, calls")
        for own_ms, calls, where in result["own"]:
            print(f"  {own_ms:7.2f} {calls:7.1f}  {where}")
        return 0
    print(
        f"each request type of the load scenario alone [{result['database']}], "
        f"median wall, mean CPU of the Django process, SQL statements and PostgreSQL's CPU "
        f"(PG ms, its backends') per request;\n"
        f"CPU/s = CPU × the scenario's rate (the web processes' share of the offered load; "
        f"PG/s PostgreSQL's)\n"
    )
    print(
        f"{'request':<26} {'wall ms':>8} {'CPU ms':>8} {'SQL':>6} {'PG ms':>6} {'rate/s':>7} "
        f"{'CPU/s':>7} {'PG/s':>6}"
    )
    total = database = 0.0
    for row in result["rows"]:
        load = row["cpu_ms"] * row["rate"] / 1000
        total += load
        database += row["db_cpu_ms"] * row["rate"] / 1000
        print(
            f"{row['name']:<26} {row['wall_ms']:8.1f} {row['cpu_ms']:8.1f} {row['sql']:6.1f} "
            f"{row['db_cpu_ms']:6.1f} {row['rate']:7.2f} {load:7.2f} "
            f"{row['db_cpu_ms'] * row['rate'] / 1000:6.2f}"
        )
    print(f"{'all but the opinion stream':<26} {'':>39} {total:7.2f} {database:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
