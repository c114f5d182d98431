"""The major-event load scenario (issue 9, item 5): locust against a real server on PostgreSQL.

200 direct reporting points filing and following up, 20 duty officers on the duty desk and
the opinion stream at 500 posts per second, for ten minutes (users: bench/load/locustfile.py;
organisation: bench/load/scenario.py). Goals: no errors; p99 under 300 ms on pages and
under 150 ms on report submission, on this 2-core machine.

What it does:
1. a fresh PostgreSQL database (bench/_common.Server: `fenghuo_bench_<pid>_<hex>`, dropped
   afterwards), `fenghuo migrate`, the organisation built inside Django (no demo data);
2. `fenghuo serve --workers 4` (why 4 on 2 cores: below) and one `fenghuo worker`;
3. locust headless in its own process (`locust -f bench/load/locustfile.py --headless`),
   all 225 users spawned within ~10 s, for --minutes;
4. prints total throughput, per request type n / p50 / p99 / req/s / errors (exact
   nearest-rank percentiles over every request, the ramp-up included), a verdict per goal,
   the load average and the CPU split between the web processes, their opinion processes,
   the worker, locust and the rest of the machine (locust shares the 2 cores: the figures
   are pessimistic), and the rows in the database after the run.

Why 4 web processes on 2 cores: a page (the event page ~150 ms, the desk ~80 ms of pure
Python) holds its process's GIL, and a report landing in the same process waits for the
GIL after each of its ~60 SQL round trips (the convoy effect: a thread giving up the GIL
for I/O gets it back only at the CPU-bound thread's next switch interval). With more
processes than cores the kernel schedules them preemptively and fairly. The opinion
stream's batches (~100 ms each) no longer run in the web processes at all: `fenghuo serve`
hands them to a lower-priority process of each (opinion/offload.py), shown apart in the
CPU split below. The cost is memory (~400 MB per web process, ~450 MB per opinion
process) and 4 connection pools (FENGHUO_DB_POOL_SIZE, 10 each: 40 connections of
PostgreSQL's default 100, plus one per opinion process). `--web-workers` changes it.

Server settings for the run (environment of `fenghuo serve`, not code): production rate
limits stay on — each reporting point has its own token (1200/min API limit, it files ~3),
the opinion feeder sends 60 calls/min — except the sign-in limit per address
(FENGHUO_RATELIMIT_LOGIN, 30/min), raised to 600/min because all 20 officers sign in from
the load generator's one address within seconds, where in reality they sit at 20 desks.
Login lockout (django-axes) is unchanged: every sign-in is correct.

    make load                                  10 minutes, PostgreSQL at 127.0.0.1:5432
    make load LOAD_MINUTES=2
    .venv/bin/python bench/load/run.py --minutes 1 --web-workers 2

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is only used to create
and drop the run's own database. Exit code: 0 when locust ran (goals met or not), 1 when the
run itself failed (the server did not start, locust crashed). BENCH_KEEP=1 keeps the data
folder with server.log, worker.log and locust's CSV files.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _common import Server, fenghuo_command, percentile, progress  # noqa: E402

LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
SPAWN_RATE = 25
GOAL_PAGE_P99_MS = 300.0
GOAL_REPORT_P99_MS = 150.0
SERVER_ENV = {
    "FENGHUO_RATELIMIT_LOGIN": "600/m",
    "FENGHUO_LOG_LEVEL": "WARNING",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes",
        type=float,
        default=float(os.environ.get("LOAD_MINUTES") or 10),
        help="length of the load (default LOAD_MINUTES or 10)",
    )
    parser.add_argument("--web-workers", type=int, default=4, help="web processes (4)")
    parser.add_argument("--spawn-rate", type=float, default=SPAWN_RATE)
    parser.add_argument(
        "--points", type=int, default=200, help="reporting points filing (200; at most 200)"
    )
    parser.add_argument("--officers", type=int, default=20, help="duty officers (20)")
    parser.add_argument(
        "--posts-per-second",
        type=int,
        default=500,
        help="the opinion stream, in feeders of 100 posts/s (500; 0 = none)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="seconds at the start left out of the latencies: the ramp-up, and each web "
        "process loading its dictionaries and models on first use (default: 60, or a "
        "quarter of a shorter run)",
    )
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- CPU and load


class CpuMeter:
    """CPU seconds used by process trees between start() and stop(), and the machine's."""

    def __init__(self, pids: dict[str, int]) -> None:
        import psutil

        self.psutil = psutil
        self.pids = pids
        self.before: dict[str, float] = {}
        self.after: dict[str, float] = {}
        self.loads: list[tuple[float, float, float]] = []

    def _tree(self, pid: int) -> tuple[float, float]:
        """CPU seconds of a process tree: the processes spawned by its children apart — the
        web processes' opinion processes (opinion/offload.py; the web processes themselves
        are spawned by the root) — and the rest."""
        psutil = self.psutil
        spawned = rest = 0.0
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                try:
                    times = process.cpu_times()
                    if process.ppid() != pid and "spawn_main" in " ".join(process.cmdline()):
                        spawned += times.user + times.system
                    else:
                        rest += times.user + times.system
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        return rest, spawned

    def _machine(self) -> float:
        times = self.psutil.cpu_times()
        return times.user + times.nice + times.system + times.irq + times.softirq

    def sample(self) -> dict[str, float]:
        values: dict[str, float] = {}
        for name, pid in self.pids.items():
            values[name], spawned = self._tree(pid)
            if spawned:
                values[f"{name}'s opinion processes"] = spawned
        values["machine"] = self._machine()
        values["wall"] = time.monotonic()
        return values

    def start(self) -> None:
        self.before = self.sample()

    def lines(self) -> list[str]:
        wall = self.after["wall"] - self.before["wall"]
        cores = self.psutil.cpu_count() or 1
        used = {
            name: self.after[name] - self.before.get(name, 0.0)
            for name in self.after
            if name != "wall"
        }
        ours = sum(v for k, v in used.items() if k != "machine")
        used["other (not this run)"] = max(0.0, used["machine"] - ours)
        parts = [
            f"{name} {value / wall * 100:.0f} %"
            for name, value in used.items()
            if name != "machine"
        ]
        return [
            f"CPU over the run ({cores} cores = {cores * 100} %; % of one core): "
            + ", ".join(parts)
            + f"; machine {used['machine'] / wall * 100:.0f} % of {cores * 100} %",
        ]


class WaitSampler:
    """What the run's PostgreSQL connections are doing, sampled every few seconds: how many
    are running, idle in a transaction, or waiting for a lock, and on which statement. A
    load that queues shows here whether it waits for CPU (active, no wait) or for a row."""

    def __init__(self, admin_url: str, database: str) -> None:
        import psycopg

        self.conn = psycopg.connect(admin_url, autocommit=True)
        self.database = database
        self.samples = 0
        self.states: dict[str, int] = defaultdict(int)
        self.locks: dict[str, int] = defaultdict(int)

    def sample(self) -> None:
        rows = self.conn.execute(
            "SELECT state, wait_event_type, wait_event,"
            " left(regexp_replace(query, '\\s+', ' ', 'g'), 110)"
            " FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database,),
        ).fetchall()
        self.samples += 1
        for state, wait_type, wait, query in rows:
            if wait_type == "Lock":
                self.states["waiting for a lock"] += 1
                self.locks[f"{wait}: {query}"] += 1
            elif state == "active":
                self.states["running"] += 1
            elif state and state.startswith("idle in transaction"):
                self.states["idle in transaction"] += 1
            else:
                self.states["idle"] += 1

    def lines(self) -> list[str]:
        if not self.samples:
            return []
        n = self.samples
        out = [
            f"PostgreSQL connections of this run, mean over {n} samples: "
            + ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(self.states.items()))
        ]
        for what, count in sorted(self.locks.items(), key=lambda kv: -kv[1])[:3]:
            out.append(f"  waiting {count / n:.1f} on {what}")
        return out

    def close(self) -> None:
        self.conn.close()


def load_line(loads: list[tuple[float, float, float]]) -> str:
    one = [sample[0] for sample in loads]
    return (
        f"load average (1 min) at start {one[0]:.2f}, during the run mean "
        f"{sum(one) / len(one):.2f} max {max(one):.2f}, at end {one[-1]:.2f}"
    )


# --------------------------------------------------------------------------- the run


def start_worker(server: Server) -> subprocess.Popen:
    log = open(server._tmp / "worker.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [*fenghuo_command(), "worker"],
        env=server.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_locust(server: Server, args: argparse.Namespace, feeders: int, meter_pids: dict) -> dict:
    minutes, spawn_rate = args.minutes, args.spawn_rate
    users = args.points + args.officers + feeders
    folder = server._tmp
    data_file = folder / "load-data.json"
    data_file.write_text(json.dumps(server.data), encoding="utf-8")
    results_file = folder / "load-results.json"
    seconds = max(10, round(minutes * 60))
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        server.base_url,
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "15",
        "--csv",
        str(folder / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {
        **os.environ,
        "LOAD_DATA": str(data_file),
        "LOAD_RESULTS": str(results_file),
        "LOAD_OPINION_FEEDERS": str(feeders),
        "LOAD_POINTS": str(args.points),
        "LOAD_OFFICERS": str(args.officers),
    }
    log = open(folder / "locust.log", "wb")  # noqa: SIM115
    progress(f"locust: {users} users for {seconds} s, {server.base_url}")
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(LOCUSTFILE.parent)
    )
    meter = CpuMeter({**meter_pids, "locust": process.pid})
    waits = WaitSampler(server._db_admin_url, server._db_name)
    meter.loads.append(os.getloadavg())
    time.sleep(1.0)
    meter.start()
    started = time.monotonic()
    wall_started = time.time()
    next_note = started + 60
    last = meter.before
    while process.poll() is None:
        time.sleep(2.0)
        meter.loads.append(os.getloadavg())
        with contextlib.suppress(Exception):  # a diagnostic: never fails the run
            waits.sample()
        if process.poll() is None:
            # Sampled while locust is alive: its CPU time is gone once it exits.
            last = meter.sample()
        if time.monotonic() >= next_note:
            next_note += 60
            progress(f"{(time.monotonic() - started) / 60:.0f} min, load {os.getloadavg()[0]:.2f}")
    log.close()
    waits.close()
    meter.after = last
    elapsed = meter.after["wall"] - meter.before["wall"]
    if not results_file.exists():
        raise RuntimeError(
            f"locust exited {process.returncode} without results:\n"
            + (folder / "locust.log").read_text(errors="replace")[-4000:]
        )
    results = json.loads(results_file.read_text(encoding="utf-8"))
    results["elapsed"] = elapsed
    results["meter"] = meter
    results["waits"] = waits
    results["exit"] = process.returncode
    results["started"] = wall_started
    return results


def classify(name: str) -> str:
    if name.startswith("page "):
        return "page"
    if name.startswith("POST /api/reports"):
        return "report"
    return "other"


def report(results: dict, counts: dict, args: argparse.Namespace, feeders: int) -> list[str]:
    samples: dict[str, list[list[float]]] = results["latencies"]  # name → [start, ms]
    errors: dict[str, int] = results["errors"]
    elapsed = results["elapsed"]
    cutoff = results["started"] + args.warmup
    steady = elapsed - args.warmup
    latencies = {name: [ms for t, ms in pairs if t >= cutoff] for name, pairs in samples.items()}
    names = sorted(set(samples) | set(errors), key=lambda n: (classify(n), n))
    width = max(len(n) for n in names) + 2
    lines = [
        f"load scenario: {args.points} reporting points, {args.officers} duty officers, "
        f"{feeders} opinion feeders ({feeders * 100} posts/s) for {args.minutes:g} min on "
        f"PostgreSQL; {args.web_workers} web processes + 1 worker",
        f"latencies and req/s over the last {steady:.0f} s (the first {args.warmup:.0f} s "
        "are warm-up); err over the whole run",
        "",
        f"{'request':<{width}}{'n':>8}{'err':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'req/s':>8}",
    ]
    total = total_all = total_errors = 0
    for name in names:
        good = latencies.get(name, [])
        bad = errors.get(name, 0)
        total += len(good)
        total_all += len(samples.get(name, [])) + bad
        total_errors += bad
        p50, p99 = percentile(good, 50), percentile(good, 99)
        lines.append(
            f"{name:<{width}}{len(good):>8}{bad:>6}"
            f"{_ms(p50):>9}{_ms(p99):>9}{_ms(max(good) if good else None):>9}"
            f"{len(good) / steady:>8.1f}"
        )
    lines.append(f"{'all':<{width}}{total:>8}{total_errors:>6}{'':>27}{total / steady:>8.1f}")
    for name, texts in results.get("samples", {}).items():
        for text in texts:
            lines.append(f"  error {name}: {text}")
    posts = counts.get("posts", 0)
    lines += [
        "",
        f"throughput: {total / steady:.1f} requests/s after warm-up; whole run {total_all} "
        f"requests in {elapsed:.0f} s; {counts.get('reports', 0)} reports "
        f"({counts.get('reports', 0) / elapsed:.1f}/s) in {counts.get('events', 0)} events; "
        f"{posts} posts stored ({posts / elapsed:.0f}/s, offered {feeders * 100}/s)",
    ]

    def pooled(kind: str) -> list[float]:
        return [v for n, vs in latencies.items() if classify(n) == kind for v in vs]

    pages, reports = pooled("page"), pooled("report")
    page_p99, report_p99 = percentile(pages, 99), percentile(reports, 99)
    lines += [
        _verdict("pages p99 < 300 ms", page_p99, GOAL_PAGE_P99_MS, len(pages)),
        _verdict("report submission p99 < 150 ms", report_p99, GOAL_REPORT_P99_MS, len(reports)),
        f"goal  errors = 0: {total_errors} errors — {'met' if total_errors == 0 else 'NOT met'}",
        "      (pages: /desk/, /events/, /events/[id]/; panels and the feed poll are "
        "fragments, shown above but not in the page goal)",
    ]
    return lines


def _verdict(label: str, value: float | None, goal: float, n: int) -> str:
    if value is None:
        return f"goal  {label}: no successful requests — NOT met"
    met = "met" if value < goal else "NOT met"
    return f"goal  {label}: p99 {value:.0f} ms over {n} requests — {met}"


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.warmup is None:
        args.warmup = min(60.0, args.minutes * 60 / 4)
    feeders = max(0, round(args.posts_per_second / 100))
    args.points = max(0, min(args.points, 200))  # one token each: the scenario has 200
    args.officers = max(0, min(args.officers, 20))
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not url.startswith(("postgres://", "postgresql://")):
        print("the load scenario runs on PostgreSQL: set DATABASE_URL to one", file=sys.stderr)
        return 1
    os.environ["DATABASE_URL"] = url
    loads_before = os.getloadavg()
    progress(f"load average before: {loads_before[0]:.2f} {loads_before[1]:.2f}")
    started = time.monotonic()
    with Server(
        setup="load.scenario:setup_org",
        workers=args.web_workers,
        env=SERVER_ENV,
        ready_timeout=120,
    ) as server:
        progress(f"organisation built in {time.monotonic() - started:.0f} s (incl. migrate)")
        worker = start_worker(server)
        try:
            results = run_locust(
                server,
                args,
                feeders,
                {"server": server._process.pid, "worker": worker.pid},
            )
            counts = server.call("load.scenario:count_rows")
        finally:
            stop_process(worker)
        if not server._process or server._process.poll() is not None:
            progress("the server died during the run:\n" + server.log_tail())
    lines = report(results, counts, args, feeders)
    lines += ["", *results["meter"].lines(), load_line(results["meter"].loads)]
    lines += results["waits"].lines()
    if results["exit"] not in (0, 1):  # locust exits 1 when any request failed
        lines.append(f"locust exited {results['exit']}")
    print("\n".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
