"""Report-to-alert latency: from the API accepting a report (the client has its 201) to a
local webhook sink receiving the notification for the receiving office.

Issue goal: p99 at most 1 s, at 1 and at 50 reports per second.

Setup: a province office above a city office above a county office (all receiving offices
with a duty officer), and the county's emergency bureau (no unit leader, so its reports go
up at once, without sign-off) with an API token. Every receiving office has a generic
webhook endpoint pointing at a sink in this process, which checks the HMAC signature and
notes when each notification arrived. One `fenghuo serve` (one web worker) and one
`fenghuo worker` (the outbox dispatcher polls every 0.2 s) over a fresh database.

Load: open loop, a report every 1/rate seconds whatever the server's answers (so queueing
shows), for BENCH_ALERT_SECONDS_SLOW (30) s at 1/s and BENCH_ALERT_SECONDS_FAST (10) s at
50/s, after a warm-up of 10 reports. Routing (escalation) turns each report into routes, one
per receiving office it must reach; each route's notification carries `route:<id>` as its
Idempotency-Key, and after the run the benchmark asks the database which report each
route belongs to. A report's latency is its first notification's arrival minus its 201.

Anchor, in the same run: the bench process POSTs the same kind of signed JSON straight to
the same sink at the same rate — the floor of one HTTP hop on this machine.

    .venv/bin/python bench/run.py alert_latency
    .venv/bin/python bench/alert_latency.py

The database is SQLite unless DATABASE_URL points at the local PostgreSQL (then a
dedicated database, as every benchmark). Knobs: BENCH_ALERT_RATES ("1,50"),
BENCH_ALERT_SECONDS_SLOW, BENCH_ALERT_SECONDS_FAST, BENCH_ALERT_WAIT (15 s to wait for the
last notifications).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import platform
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import httpx  # noqa: E402
from _common import (  # noqa: E402
    HOST,
    Row,
    Server,
    database_label,
    env_float,
    fenghuo_command,
    percentile,
    print_table,
    progress,
)

NAME = "alert_latency"
GOAL_P99_MS = 1000.0
SECRET = "bench-webhook-secret"
SINK_ENV = "BENCH_ALERT_SINK_URL"
WARMUP = 10


def rates() -> list[float]:
    return [float(r) for r in os.environ.get("BENCH_ALERT_RATES", "1,50").split(",") if r]


def seconds_at(rate: float) -> float:
    if rate < 10:
        return env_float("BENCH_ALERT_SECONDS_SLOW", 30.0)
    return env_float("BENCH_ALERT_SECONDS_FAST", 10.0)


# --------------------------------------------------------------------------- the sink


@dataclass
class Sink:
    """Arrival times (time.monotonic) by Idempotency-Key; bad signatures are counted."""

    arrivals: dict[str, float] = field(default_factory=dict)
    bad: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        arrived = time.monotonic()
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(self.headers.get("X-Fenghuo-Signature", ""), expected)
        sink: Sink = self.server.sink
        with sink.lock:
            if good:
                sink.arrivals.setdefault(self.headers.get("Idempotency-Key", ""), arrived)
            else:
                sink.bad += 1
        self.send_response(202 if good else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class SinkServer:
    def __init__(self) -> None:
        self.sink = Sink()
        self.httpd = ThreadingHTTPServer((HOST, 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.sink = self.sink
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.httpd.server_address[1]}"

    def __enter__(self) -> SinkServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------- inside Django


def setup_data() -> dict:
    """Runs inside Django before the server starts: the offices, their webhooks, a token."""
    from fenghuo.notify import services as notify_services
    from fenghuo.notify.models import Channel, Endpoint
    from fenghuo.org import services
    from fenghuo.org.models import AdminLevel, Role, UnitKind
    from fenghuo.org.policy import Principal

    system = Principal(person_id=None, grants=(), is_superuser=True, label="bench")
    office = UnitKind.objects.get(code="gov_office")
    sink = os.environ[SINK_ENV]
    parent = None
    offices = []
    for name, level, code in (
        ("江南省委办公厅", AdminLevel.PROVINCE, "990000"),
        ("临江市委办公室", AdminLevel.CITY, "990100"),
        ("江口县委办公室", AdminLevel.COUNTY, "990121"),
    ):
        parent = services.unit_create(
            system,
            parent=parent,
            name=name,
            level=level,
            kind=office,
            division_code=code,
            is_receiving_office=True,
        )
        parent.refresh_from_db()
        duty = services.person_create(
            system, username=f"duty_{code}", full_name=f"{name}值班员", unit=parent
        )
        services.membership_grant(system, person=duty, unit=parent, role=Role.DUTY_OFFICER)
        notify_services.save_endpoint(
            system,
            Endpoint(
                kind=Channel.WEBHOOK,
                name=f"{name}接收系统",
                unit=parent,
                url=f"{sink}/webhook/{code}",
                secret=SECRET,
            ),
        )
        offices.append(name)
    bureau = services.unit_create(
        system,
        parent=parent,
        name="江口县应急管理局",
        level=AdminLevel.COUNTY,
        kind=UnitKind.objects.get(code="emergency"),
        division_code="990121",
    )
    _row, token = services.token_issue(system, unit=bureau, name="bench 报送系统")
    return {"token": token, "offices": offices}


def route_reports() -> dict:
    """Runs inside Django after the load: which report each route (notification key) is."""
    from django.db.models import Count

    from fenghuo.escalation.models import Route
    from fenghuo.notify.models import Message

    return {
        "routes": {
            f"route:{pk}": report for pk, report in Route.objects.values_list("pk", "report_id")
        },
        "states": dict(
            Message.objects.filter(channel="webhook").values_list("state").annotate(n=Count("pk"))
        ),
    }


# --------------------------------------------------------------------------- load


PLACES = ["化工园区", "高速公路收费站", "城南农贸市场", "江口大桥", "临江码头", "北山林场"]
NOUNS = [
    ("hazchem", "危险化学品泄漏"),
    ("road_traffic", "道路交通事故"),
    ("fire", "火灾"),
    ("hazchem", "爆炸"),
]


def report_body(number: int, rng: random.Random) -> dict:
    category, noun = NOUNS[number % len(NOUNS)]
    place = f"江口县{rng.choice(PLACES)}第{number}号点位"
    occurred = datetime.now(UTC) - timedelta(minutes=rng.randint(5, 600))
    dead = rng.choice([0, 0, 1, 3, 12])
    return {
        "kind": "first",
        "title": f"{place}发生{noun}",
        "category": category,
        "occurred_at": occurred.isoformat(timespec="seconds"),
        "division_code": "990121",
        "place": place,
        "narrative": f"{place}发生{noun}，造成{dead}人死亡，现场正在处置，情况待续报（{number}）。",
        "dead": dead,
        "is_urgent": rng.random() < 0.5,
    }


@dataclass
class Run:
    accepted: dict[int, float] = field(default_factory=dict)  # report id → 201 received
    api: list[float] = field(default_factory=list)  # POST → 201, seconds
    errors: list[str] = field(default_factory=list)


async def _paced(rate: float, count: int, send) -> None:
    start = time.monotonic()
    tasks = []
    for number in range(count):
        delay = start + number / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(number)))
    await asyncio.gather(*tasks)


async def file_reports(base_url: str, token: str, rate: float, count: int, offset: int) -> Run:
    run = Run()
    rng = random.Random(int(rate * 1000) + offset)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False) as client:

        async def send(number: int) -> None:
            body = report_body(offset + number, rng)
            started = time.monotonic()
            try:
                response = await client.post(
                    "/api/reports",
                    json=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": uuid.uuid4().hex,
                    },
                )
            except httpx.HTTPError as exc:
                run.errors.append(f"{type(exc).__name__} {exc}")
                return
            if response.status_code != 201:
                run.errors.append(f"HTTP {response.status_code} {response.text[:80]!r}")
                return
            done = time.monotonic()
            run.accepted[response.json()["id"]] = done
            run.api.append(done - started)

        await _paced(rate, count, send)
    return run


async def direct_posts(sink_url: str, rate: float, count: int, offset: int) -> dict[str, float]:
    """The anchor: the same signed JSON, POSTed straight to the sink; key → time sent."""
    sent: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:

        async def send(number: int) -> None:
            key = f"anchor:{offset + number}"
            body = json.dumps({"key": key, "subject": "待签收", "body": "请签收"}).encode()
            signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            started = time.monotonic()
            await client.post(
                f"{sink_url}/anchor",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Idempotency-Key": key,
                    "X-Fenghuo-Signature": signature,
                },
            )
            sent[key] = started

        await _paced(rate, count, send)
    return sent


# --------------------------------------------------------------------------- running


def _ms(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return None if value is None else value * 1000


def _start_worker(server: Server) -> subprocess.Popen:
    log = open(Path(server.env["FENGHUO_DATA_DIR"]) / "worker.log", "ab")  # noqa: SIM115
    return subprocess.Popen(
        [*fenghuo_command(), "worker"],
        env=server.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run() -> list[Row]:
    db = database_label()
    rows: list[Row] = []
    wait_seconds = env_float("BENCH_ALERT_WAIT", 15.0)
    with SinkServer() as sink_server:
        os.environ[SINK_ENV] = sink_server.url
        try:
            with Server(setup=f"{NAME}:setup_data") as server:
                worker = _start_worker(server)
                try:
                    token = server.data["token"]
                    progress(f"warm-up: {WARMUP} reports")
                    asyncio.run(file_reports(server.base_url, token, 5, WARMUP, 10_000_000))
                    offset = 0
                    runs = []
                    for rate in rates():
                        count = max(1, round(rate * seconds_at(rate)))
                        progress(f"{count} reports at {rate:g}/s, then {count} direct POSTs")
                        filed = asyncio.run(
                            file_reports(server.base_url, token, rate, count, offset)
                        )
                        anchor = asyncio.run(direct_posts(sink_server.url, rate, count, offset))
                        runs.append((rate, count, filed, anchor))
                        offset += count
                    deadline = time.monotonic() + wait_seconds
                    expected = sum(len(f.accepted) for _, _, f, _ in runs)
                    while time.monotonic() < deadline:
                        with sink_server.sink.lock:
                            got = sum(
                                1 for k in sink_server.sink.arrivals if k.startswith("route:")
                            )
                        if got >= expected:
                            break
                        time.sleep(0.2)
                    mapping = server.call(f"{NAME}:route_reports")
                finally:
                    _stop(worker)
        finally:
            os.environ.pop(SINK_ENV, None)
        arrivals = dict(sink_server.sink.arrivals)
        bad = sink_server.sink.bad

    first: dict[int, float] = {}
    for key, report in mapping["routes"].items():
        if key in arrivals:
            first[report] = min(arrivals[key], first.get(report, float("inf")))
    for rate, count, filed, anchor in runs:
        latencies = [first[r] - at for r, at in filed.accepted.items() if r in first]
        missing = len(filed.accepted) - len(latencies)
        hops = [arrivals[k] - at for k, at in anchor.items() if k in arrivals]
        anchor_row = Row(
            NAME,
            f"anchor: direct signed POST to the sink at {rate:g}/s",
            n=len(hops),
            errors=count - len(hops),
            p50_ms=_ms(hops, 50),
            p99_ms=_ms(hops, 99),
        )
        notes = [
            f"POST /api/reports itself: p50 {_ms(filed.api, 50) or 0:.0f} ms, p99 "
            f"{_ms(filed.api, 99) or 0:.0f} ms"
        ]
        if filed.errors:
            notes.append(f"{len(filed.errors)} reports not accepted: {filed.errors[0]}")
        if missing:
            notes.append(f"{missing} accepted reports without a notification at the sink")
        row = Row(
            NAME,
            f"report 201 → webhook at {rate:g}/s  [{db}]",
            n=len(latencies),
            errors=len(filed.errors) + missing,
            p50_ms=_ms(latencies, 50),
            p99_ms=_ms(latencies, 99),
            anchor=anchor_row,
            note=" | ".join(notes),
        )
        rows += [anchor_row, row]
        if row.p99_ms is not None:
            met = "met" if row.p99_ms <= GOAL_P99_MS else "NOT MET"
            rows.append(
                Row(
                    NAME,
                    f"goal p99 ≤ {GOAL_P99_MS:.0f} ms at {rate:g}/s: {row.p99_ms:.0f} ms — {met}",
                )
            )
    rows[0].note = " | ".join(
        filter(
            None,
            [
                rows[0].note,
                f"webhook messages by state: {mapping['states']}",
                f"{bad} bad signatures at the sink" if bad else "",
            ],
        )
    )
    return rows


def main() -> int:
    print(
        f"fenghuo bench · {NAME} · rates {rates()} /s · python {platform.python_version()} · "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    rows = run()
    print()
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
