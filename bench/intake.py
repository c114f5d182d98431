"""Filing reports through the HTTP API on PostgreSQL, against pgbench on the same database.

Issue goal: at 32 concurrent clients, p99 under 150 ms, and reports per second at least a
tenth of pgbench's single-row INSERT transactions per second (the bound for one durable
transaction per report) measured on the same database in the same run.

One `fenghuo serve` (one web worker, as every benchmark) over a dedicated PostgreSQL
database. DATABASE_URL must point at the local server; when it is not set, this benchmark
uses postgres://postgres@127.0.0.1:5432/postgres (and says so). A DATABASE_URL that is not
PostgreSQL runs the HTTP part on SQLite, without the pgbench anchor.

Setup: two cities and seven counties of a fictitious province, an emergency-management
bureau in each with its own API token (9 tokens). Load: 32 concurrent keep-alive clients
POST /api/reports with `Authorization: Bearer` and a fresh `Idempotency-Key` each; after a
warm-up (its reports are counted in the database check, not in the figures) 3000 requests
(or 60 s) in rounds interleaved with the web server's ceiling, GET /_bench/hello. The
bodies are generated (seeded): about 70 % first reports of new events in 12 categories
across the counties, with occurrence times spread over the past 20 days; about 15 % first
reports by the city bureau about an event a county already reported (reworded: matching
should join them or flag them for review); about 15 % follow-ups (续报) of an event the
same token filed. Every response must be 201.

Then, in the same run and on the same database, pgbench: a custom script of one
single-row INSERT into a scratch table, 32 clients, 2 threads, 20 s; its tps is the
anchor (×req/s column: pgbench tps ÷ reports/s, so the goal is ×req/s ≤ 10). Latencies of
pgbench come from its per-transaction log (-l).

Last, a sanity check: reports in the database equal the 201 responses (warm-up included),
and the events created.

    .venv/bin/python bench/run.py intake       within the harness's table
    .venv/bin/python bench/intake.py           standalone (prints the load average too)
    .venv/bin/python bench/intake.py --profile 300
                                               the request path under cProfile, in-process

Knobs: BENCH_INTAKE_REQUESTS (3000), BENCH_INTAKE_SECONDS (60), BENCH_INTAKE_CLIENTS (32),
BENCH_INTAKE_WARMUP (100), BENCH_INTAKE_PGBENCH_SECONDS (20), BENCH_INTAKE_WEB_WORKERS (1).
When the time limit hits first, `n` is smaller and a note says so. The server uses its
PostgreSQL connection pool (see bench/README.md); do not combine with FENGHUO_CONN_MAX_AGE > 0:
under the ASGI server every request runs in a thread of its own, persistent connections pile
up, and PostgreSQL (max_connections) refuses new clients — for every user of the shared
server, not only this benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _common import (  # noqa: E402
    ANCHOR,
    Row,
    Server,
    Target,
    database_label,
    env_int,
    measure,
    percentile,
    print_table,
    progress,
)

NAME = "intake"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
LOCAL_HOSTS = {"", "127.0.0.1", "localhost", "::1"}
SEED = 20261123
GOAL_RATIO = 0.1  # reports/s ÷ pgbench tps
GOAL_P99_MS = 150.0
SPREAD_DAYS = 20  # occurrence times of generated events: within the past N days
SCRATCH_TABLE = "bench_pgbench_insert"
BEIJING = timezone(timedelta(hours=8))


def requests() -> int:
    return env_int("BENCH_INTAKE_REQUESTS", 3000)


def seconds() -> float:
    return float(env_int("BENCH_INTAKE_SECONDS", 60))


def clients() -> int:
    return env_int("BENCH_INTAKE_CLIENTS", 32)


def warmup() -> int:
    return env_int("BENCH_INTAKE_WARMUP", 100)


def pgbench_seconds() -> int:
    return env_int("BENCH_INTAKE_PGBENCH_SECONDS", 20)


def web_workers() -> int:
    return env_int("BENCH_INTAKE_WEB_WORKERS", 1)


# --------------------------------------------------------------------------- the province

CITIES = {
    "临江市": ("990100", {"江口县": "990121", "青石县": "990122", "柳河县": "990123",
                         "白沙县": "990124"}),
    "云州市": ("990200", {"龙泉县": "990221", "云台县": "990222", "石门县": "990223"}),
}  # fmt: skip
COUNTY_CITY = {county: city for city, (_, counties) in CITIES.items() for county in counties}
TOWNS = [
    "城关镇", "河西镇", "石桥镇", "新店镇", "桃源乡", "马坪镇", "黄岭乡", "清溪镇", "大河镇",
    "双龙镇", "长岗乡", "柏树镇", "金鸡镇", "高峰镇", "水口镇", "沙湾镇", "东岳镇", "白马镇",
]  # fmt: skip
FIRMS = ["恒达", "宏远", "鑫源", "永安", "华兴", "金鼎", "瑞丰", "东方", "明珠", "天宇", "隆盛",
         "富民", "振兴", "盛达", "佳和", "万通", "泰和", "通达", "安泰", "嘉禾"]  # fmt: skip
ROADS = ["G318国道", "G209国道", "S205省道", "S312省道", "沪渝高速", "银昆高速", "县道X012"]
RIVERS = ["清水河", "白龙江", "桃花溪", "黑水河"]
MOUNTAINS = ["凤凰山", "大青山", "老君山", "鸡公岭"]
ESTATES = ["幸福小区", "阳光花园", "锦绣家园", "翠湖苑", "江景花园", "金色家园"]
STREETS = ["人民路", "解放路", "建设路", "中山路", "滨江路", "新华街", "朝阳路"]
SURNAMES = ["张", "李", "王", "刘", "陈", "杨", "赵", "黄", "周", "吴"]

# category code → (nouns, how a site is named, what the responders do)
KINDS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "hazchem": (("爆炸事故", "危化品泄漏事故", "爆燃事故"), "{firm}化工有限公司",
                "消防、应急、环保部门已到场处置，周边群众已疏散"),
    "work_safety": (("机械伤害事故", "高处坠落事故", "物体打击事故"), "{firm}机械有限公司",
                    "应急管理局已派员赶赴现场，企业已停产"),
    "road_traffic": (("交通事故", "多车相撞事故", "客车侧翻事故"), "{road}{town}段",
                     "交警已封闭事故路段，伤员已送医救治"),
    "fire": (("火灾", "居民楼火灾", "火情"), "{town}{estate}{n}栋",
             "消防救援队伍已到场扑救，火势已得到控制"),
    "construction": (("坍塌事故", "脚手架坍塌事故", "施工安全事故"), "{firm}花园二期项目工地",
                     "住建、应急部门已到场，正在搜救被困人员"),
    "pollution": (("水污染事件", "河道污染", "突发环境事件"), "{river}{town}段",
                  "环保部门已设置监测点位，下游取水口已暂停取水"),
    "flood": (("山洪灾害", "暴雨洪涝", "洪涝灾害"), "{town}{surname}家湾村",
              "已转移受威胁群众，抢险队伍正在加固堤坝"),
    "geological": (("山体滑坡", "滑坡灾害", "泥石流"), "{town}{surname}家坪村{n}组",
                   "自然资源部门已到场排查，危险区群众已撤离"),
    "forest_fire": (("森林火灾", "山火", "林区火情"), "{mountain}林区",
                    "已组织专业扑火队伍上山扑救"),
    "food_safety": (("疑似食物中毒事件", "食物中毒", "群体性食源性疾病"), "{town}中心小学食堂",
                    "卫健、市场监管部门已到场，患者已送医，留样已封存"),
    "mass_incident": (("群体性聚集事件", "人员聚集", "聚集讨薪事件"), "{firm}置业有限公司售楼部",
                      "公安、信访部门已到场劝导，现场秩序平稳"),
    "criminal": (("持刀伤人案件", "故意伤害案件", "抢劫案件"), "{town}{street}",
                 "公安机关已到场，嫌疑人已被控制"),
}  # fmt: skip


def setup_data() -> dict:
    """Runs inside Django (Server.call): a bureau per city and county, each with a token."""
    from fenghuo.org import services
    from fenghuo.org.models import AdminLevel, UnitKind
    from fenghuo.org.policy import Principal

    system = Principal(person_id=None, grants=(), is_superuser=True, label="bench")
    emergency = UnitKind.objects.get(code="emergency")
    units = []
    for city, (city_code, counties) in CITIES.items():
        city_unit = services.unit_create(
            system,
            parent=None,
            name=f"{city}应急管理局",
            level=AdminLevel.CITY,
            kind=emergency,
            division_code=city_code,
            is_receiving_office=True,
        )
        units.append((city_unit, city, None))
        for county, code in counties.items():
            unit = services.unit_create(
                system,
                parent=city_unit,
                name=f"{county}应急管理局",
                level=AdminLevel.COUNTY,
                kind=emergency,
                division_code=code,
            )
            units.append((unit, city, county))
    tokens = []
    for unit, city, county in units:
        _row, token = services.token_issue(system, unit=unit, name="bench 报送系统")
        tokens.append({"token": token, "unit": unit.name, "city": city, "county": county})
    return {"tokens": tokens}


def count_rows() -> dict:
    """Runs inside Django after the load: what the database holds."""
    from fenghuo.events.models import Event, MergeCandidate, Report
    from fenghuo.intake.models import IdempotencyRecord

    return {
        "reports": Report.objects.count(),
        "events": Event.objects.count(),
        "reviews": MergeCandidate.objects.count(),
        "idempotency": IdempotencyRecord.objects.count(),
    }


def profile_requests() -> dict:
    """Runs inside Django (Server.call): POST reports through Django's test client, one at
    a time in this process, under cProfile; returns the top functions by own and total time.

    Same database, same generated bodies, same middleware and Ninja stack as the server,
    without uvicorn and without concurrency. BENCH_INTAKE_PROFILE = number of requests.
    """
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client

    from fenghuo.org import services
    from fenghuo.org.models import Unit
    from fenghuo.org.policy import Principal

    count = int(os.environ.get("BENCH_INTAKE_PROFILE") or 300)
    system = Principal(person_id=None, grants=(), is_superuser=True, label="bench")
    tokens = []
    for unit in Unit.objects.order_by("path"):
        _row, token = services.token_issue(system, unit=unit, name="bench profile")
        county = unit.name.removesuffix("应急管理局")
        city = county if county in CITIES else COUNTY_CITY[county]
        tokens.append(
            {"token": token, "city": city, "county": None if county in CITIES else county}
        )
    bodies = Bodies(tokens, seed=SEED + 1)
    client = Client(HTTP_HOST="127.0.0.1")

    def post(number: int) -> None:
        body = bodies.body(number)
        headers = {k: v for k, v in bodies.headers(number).items() if k != "Content-Type"}
        response = client.post(
            "/api/reports", body, content_type="application/json", headers=headers
        )
        if response.status_code != 201 or not bodies.record(
            response.json(), headers["Authorization"]
        ):
            raise RuntimeError(f"HTTP {response.status_code}: {response.content[:300]!r}")

    for number in range(min(100, count)):  # warm-up: imports, caches, some events
        post(number)

    # Unprofiled pass: wall time per request, and the SQL it sends.
    statements: dict[str, list[float]] = defaultdict(list)

    def capture(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements[_sql_shape(sql)].append(time.perf_counter() - started)

    walls = []
    cpu = time.process_time()
    with connection.execute_wrapper(capture):
        for number in range(count):
            started = time.perf_counter()
            post(number)
            walls.append(time.perf_counter() - started)
    cpu = time.process_time() - cpu
    queries = sum(len(v) for v in statements.values())

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for number in range(count):
        post(number)
    profiler.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    root = str(BENCH_DIR.parent)

    def where(key) -> str:
        filename, line, function = key
        filename = filename.replace(root + "/", "").replace(sys.prefix + "/", "")
        return f"{filename}:{line}({function})"

    entries = [
        {
            "where": where(key),
            "calls": calls,
            "own_ms": own / count * 1000,
            "total_ms": total / count * 1000,
        }
        for key, (_prim, calls, own, total, _callers) in stats.stats.items()
    ]
    own = [e for e in entries if "fenghuo/" in e["where"] and "site-packages" not in e["where"]]
    plumbing = re.compile(r"\((connect|get_new_connection|init_connection_state|commit|close)\)$")
    own += [
        e for e in entries if "django/db/backends" in e["where"] and plumbing.search(e["where"])
    ]
    return {
        "requests": count,
        "database": connection.vendor,
        "wall_p50_ms": _ms(walls, 50),
        "wall_p99_ms": _ms(walls, 99),
        "wall_mean_ms": sum(walls) / count * 1000,
        "cpu_ms": cpu / count * 1000,
        "queries_per_request": queries / count,
        "sql_ms_per_request": sum(map(sum, statements.values())) / count * 1000,
        "sql": sorted(
            (
                {"shape": shape, "per_request": len(v) / count, "ms": sum(v) / count * 1000}
                for shape, v in statements.items()
            ),
            key=lambda e: -e["ms"],
        )[:20],
        "profiled_ms_per_request": elapsed / count * 1000,
        "by_own": sorted(entries, key=lambda e: -e["own_ms"])[:25],
        "by_total": sorted(entries, key=lambda e: -e["total_ms"])[:40],
        "fenghuo": sorted(own, key=lambda e: -e["total_ms"])[:45],
        "outcomes": dict(bodies.outcomes),
    }


def _sql_shape(sql: str) -> str:
    """SELECT/INSERT/UPDATE/DELETE and the first table, e.g. `SELECT events_event`."""
    verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?([\w.]+)"?', sql, re.IGNORECASE)
    lock = " FOR UPDATE" if re.search(r"FOR\s+(NO KEY\s+)?UPDATE", sql, re.IGNORECASE) else ""
    return f"{verb} {table.group(1) if table else ''}{lock}".strip()


# --------------------------------------------------------------------------- the bodies


class Bodies:
    """Generates request bodies and headers, and keeps what the responses said.

    `body(number)` picks the next report and its token; `headers(number)` (called right
    after, for the same request) gives that token and a fresh Idempotency-Key.
    """

    def __init__(self, tokens: list[dict], seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.county_token = {t["county"]: t["token"] for t in tokens if t["county"]}
        self.city_token = {t["city"]: t["token"] for t in tokens if not t["county"]}
        self.now = datetime.now(UTC)
        self.events: list[dict] = []  # generated events (what really happened)
        self.filed: dict[str, list[int]] = defaultdict(list)  # token → event ids it filed
        self.pending: dict[int, dict[str, str]] = {}
        self.sent = Counter()  # kind of body → requests sent
        self.created = 0  # 201 responses, warm-up included
        self.outcomes = Counter()

    # ---- the three kinds of body

    def _new_event(self) -> dict:
        rng = self.rng
        county = rng.choice(list(COUNTY_CITY))
        category = rng.choice(list(KINDS))
        nouns, site, _ = KINDS[category]
        town = rng.choice(TOWNS)
        place = site.format(
            firm=rng.choice(FIRMS),
            road=rng.choice(ROADS),
            town=town,
            estate=rng.choice(ESTATES),
            n=rng.randint(1, 18),
            river=rng.choice(RIVERS),
            surname=rng.choice(SURNAMES),
            mountain=rng.choice(MOUNTAINS),
            street=rng.choice(STREETS),
        )
        event = {
            "county": county,
            "category": category,
            "noun": rng.choice(nouns),
            "town": town,
            "place": place,
            "occurred_at": self.now - timedelta(minutes=rng.uniform(30, SPREAD_DAYS * 1440)),
            "dead": rng.choice([0, 0, 0, 1, 1, 2, 3, 5]),
            "injured": rng.choice([0, 1, 2, 3, 4, 6, 8, 12]),
            "lat": round(27.0 + rng.uniform(0, 1.8), 5),
            "lon": round(110.0 + rng.uniform(0, 2.0), 5),
        }
        self.events.append(event)
        return event

    def _first(self, event: dict, *, by_city: bool) -> tuple[str, dict]:
        rng = self.rng
        county, city = event["county"], COUNTY_CITY[event["county"]]
        _, _, measures = KINDS[event["category"]]
        occurred = event["occurred_at"]
        if by_city:  # another unit's view of the same event: other words, other minutes
            occurred += timedelta(minutes=rng.randint(-40, 40))
            title = f"{county}{event['place']}发生{event['noun']}"
            place = f"{city}{county}{event['town']}{event['place']}"
            token = self.city_token[city]
        else:
            title = f"{county}{event['town']}{event['place']}发生{event['noun']}"
            place = f"{county}{event['town']}{event['place']}"
            token = self.county_token[county]
        local = occurred.astimezone(BEIJING)
        casualties = (
            f"造成{event['dead']}人死亡、{event['injured']}人受伤"
            if event["dead"]
            else f"造成{event['injured']}人受伤"
            if event["injured"]
            else "暂无人员伤亡报告"
        )
        sentences = [
            f"{local:%m月%d日%H时%M分}许，{place}发生{event['noun']}",
            f"据初步了解，{casualties}",
            f"{measures}",
        ]
        if by_city:
            sentences[1:] = reversed(sentences[1:])
        body = {
            "kind": "first",
            "title": title,
            "category": event["category"],
            "occurred_at": occurred.astimezone(BEIJING).isoformat(timespec="seconds"),
            "division_code": CITIES[city][1][county],
            "place": place,
            "narrative": "。".join(sentences) + "。",
            "dead": event["dead"],
            "injured": event["injured"],
        }
        if rng.random() < 0.6:
            body["latitude"], body["longitude"] = event["lat"], event["lon"]
        return token, body

    def _followup(self, token: str, event_id: int) -> dict:
        rng = self.rng
        return {
            "kind": "followup",
            "event_id": event_id,
            "narrative": rng.choice(
                [
                    "伤员救治和现场清理工作仍在进行，有关情况将及时续报。",
                    "经进一步核实，现场搜救已结束，伤亡人数有所变化。",
                    "事故原因正在调查中，善后工作有序开展。",
                ]
            ),
            "dead": rng.randint(0, 4),
            "injured": rng.randint(0, 10),
        }

    # ---- what the load loop calls

    def body(self, number: int) -> bytes:
        roll = self.rng.random()
        if roll < 0.15 and self.events:
            kind = "city"
            token, body = self._first(self.rng.choice(self.events[-200:]), by_city=True)
        elif roll < 0.30 and any(self.filed.values()):
            kind = "followup"
            token = self.rng.choice([t for t, ids in self.filed.items() if ids])
            body = self._followup(token, self.rng.choice(self.filed[token][-50:]))
        else:
            kind = "new"
            token, body = self._first(self._new_event(), by_city=False)
        self.sent[kind] += 1
        self.pending[number] = {
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": str(uuid.uuid4()),
            "Content-Type": "application/json",
        }
        return json.dumps(body, ensure_ascii=False).encode()

    def headers(self, number: int) -> dict[str, str]:
        return self.pending.pop(number)

    def check(self, response) -> bool:
        """Called by the load loop for every 201: a cheap check of the body."""
        try:
            data = response.json()
        except ValueError:
            return False
        return self.record(data, response.request.headers["Authorization"])

    def record(self, data: dict, authorization: str) -> bool:
        """Remember what a 201 said (the event, for follow-ups of the same token)."""
        if "id" not in data or "event_id" not in data:
            return False
        self.created += 1
        self.outcomes[data.get("outcome", "?")] += 1
        if data["event_id"] is not None:
            self.filed[authorization.removeprefix("Bearer ")].append(data["event_id"])
        return True


# --------------------------------------------------------------------------- pgbench


def find_pgbench(server_major: int | None) -> str | None:
    """pgbench of the server's major version if installed, else the newest, else PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pgbench"),
        key=lambda p: int(re.search(r"/(\d+)/bin/", p).group(1)),
    )
    for path in found:
        if server_major is not None and f"/{server_major}/bin/" in path:
            return path
    return found[-1] if found else shutil.which("pgbench")


def run_pgbench(database_url: str, *, clients: int, threads: int, duration: int) -> dict:
    """Single-row INSERTs into a scratch table of the benchmark database; tps and latencies."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        major = conn.info.server_version // 10000
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCRATCH_TABLE} ("
            " id bigserial PRIMARY KEY, unit_id integer NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now(), payload text NOT NULL)"
        )
    binary = find_pgbench(major)
    if binary is None:
        raise RuntimeError("pgbench not found (it comes with the PostgreSQL server package)")
    parts = urlsplit(database_url)
    folder = Path(tempfile.mkdtemp(prefix="fenghuo-bench-pgbench-"))
    try:
        script = folder / "insert.sql"
        script.write_text(
            "\\set unit random(1, 1000)\n"
            f"INSERT INTO {SCRATCH_TABLE} (unit_id, payload) "
            "VALUES (:unit, '江口县化工园区发生爆炸');\n",
            encoding="utf-8",
        )
        env = {**os.environ, "PGCLIENTENCODING": "UTF8"}
        if parts.password:
            env["PGPASSWORD"] = unquote(parts.password)
        argv = [
            binary,
            "--no-vacuum",
            "--file",
            str(script),
            "--client",
            str(clients),
            "--jobs",
            str(threads),
            "--time",
            str(duration),
            "--log",
            "--log-prefix",
            str(folder / "txn"),
            "--host",
            parts.hostname or "127.0.0.1",
            "--port",
            str(parts.port or 5432),
            "--username",
            unquote(parts.username or "postgres"),
            unquote(parts.path.lstrip("/")),
        ]
        progress(f"pgbench: {' '.join(argv[1:])}")
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=duration + 120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"pgbench failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        tps = re.search(r"^tps = ([0-9.]+)", done.stdout, re.MULTILINE)
        count = re.search(r"actually processed: (\d+)", done.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
        if tps is None or count is None:
            raise RuntimeError(f"no tps in pgbench output:\n{done.stdout}")
        latencies = []  # seconds
        for log in folder.glob("txn.*"):
            for line in log.read_text().splitlines():
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    latencies.append(int(fields[2]) / 1e6)
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(f"SELECT count(*) FROM {SCRATCH_TABLE}").fetchone()[0]  # noqa: S608
        return {
            "binary": binary,
            "tps": float(tps.group(1)),
            "transactions": int(count.group(1)),
            "failed": int(failed.group(1)) if failed else 0,
            "latencies": latencies,
            "rows": rows,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- running


@contextlib.contextmanager
def _database_url():
    """DATABASE_URL for this benchmark only: the local PostgreSQL unless told otherwise."""
    original = os.environ.get("DATABASE_URL")
    note = ""
    if not original:
        os.environ["DATABASE_URL"] = DEFAULT_DATABASE_URL
        note = f"DATABASE_URL not set: using {DEFAULT_DATABASE_URL}"
        progress(note)
    elif database_label() == "postgresql":
        host = urlsplit(original).hostname or ""
        if host not in LOCAL_HOSTS:
            raise RuntimeError(f"DATABASE_URL must point at the local PostgreSQL, not {host!r}")
    try:
        yield note
    finally:
        if original is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = original


def _ms(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return None if value is None else value * 1000


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def run() -> list[Row]:
    with _database_url() as url_note:
        db = database_label()
        with Server(
            setup=f"{NAME}:setup_data",
            workers=web_workers(),
        ) as server:
            bodies = Bodies(server.data["tokens"])
            report = Target(
                "report",
                "/api/reports",
                method="POST",
                headers=bodies.headers,
                body=bodies.body,
                expect=201,
                check=bodies.check,
            )
            progress(
                f"{clients()} clients: {requests()} POST /api/reports (at most {seconds():.0f} s)"
                f" interleaved with GET {ANCHOR.path}, after {warmup()} warm-up each"
            )
            stats = measure(
                server.base_url,
                [ANCHOR, report],
                requests=requests(),
                workers=clients(),
                warmup=warmup(),
                seconds=seconds(),
            )
            counts = server.call(f"{NAME}:count_rows")
            pgbench = None
            if db == "postgresql":
                pgbench = run_pgbench(
                    server.env["DATABASE_URL"],
                    clients=clients(),
                    threads=2,
                    duration=pgbench_seconds(),
                )
    return rows_of(db, stats, bodies, counts, pgbench, server, url_note)


def rows_of(db, stats, bodies, counts, pgbench, server, url_note) -> list[Row]:
    rows: list[Row] = []
    anchor = None
    if pgbench is not None:
        anchor = Row(
            NAME,
            f"pgbench single-row INSERT, {clients()} clients, -j 2, "
            f"{pgbench_seconds()} s  anchor  [{db}]",
            n=pgbench["transactions"],
            errors=pgbench["failed"],
            p50_ms=_ms(pgbench["latencies"], 50),
            p99_ms=_ms(pgbench["latencies"], 99),
            rps=pgbench["tps"],
            note=f"{pgbench['binary']}; tps without connection time; latencies from its "
            f"-l log; {pgbench['rows']} rows in the scratch table",
        )
        anchor.anchor = anchor
        rows.append(anchor)
    hello = stats["hello"].row(
        NAME, f"GET {ANCHOR.path}  web server ceiling, {clients()} clients  [{db}]", anchor=anchor
    )
    rows.append(hello)
    workers = f"{web_workers()} web worker" + ("s" if web_workers() != 1 else "")
    filed = stats["report"].row(
        NAME, f"POST /api/reports  {clients()} clients, {workers}  [{db}]", anchor=anchor
    )
    sent = ", ".join(f"{k} {v}" for k, v in sorted(bodies.sent.items()))
    filed.note = " | ".join(
        filter(None, [filed.note, f"bodies sent (warm-up included): {sent}", url_note])
    )
    rows.append(filed)

    p99 = filed.p99_ms
    if p99 is not None:
        rows.append(
            Row(NAME, f"goal p99 < {GOAL_P99_MS:.0f} ms: {p99:.0f} ms — {_met(p99 < GOAL_P99_MS)}")
        )
    if anchor is not None and filed.rps:
        ratio = filed.rps / anchor.rps
        rows.append(
            Row(
                NAME,
                f"goal reports/s ÷ pgbench tps ≥ {GOAL_RATIO}: {filed.rps:.0f} ÷ {anchor.rps:.0f}"
                f" = {ratio:.3f} — {_met(ratio >= GOAL_RATIO)}",
            )
        )
    lost = counts["reports"] - bodies.created
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(bodies.outcomes.items()))
    rows.append(
        Row(
            NAME,
            f"check: {counts['reports']} reports in the database, {bodies.created} answered 201;"
            f" {counts['events']} events",
            n=counts["reports"],
            errors=abs(lost),
            note=f"err = |reports in the database − 201 responses| (warm-up included); "
            f"outcomes: {outcomes}; {counts['reviews']} merge reviews; "
            f"{counts['idempotency']} idempotency records",
        )
    )
    if not server.stopped_cleanly:
        rows[0].note += f" | server exit code {server.exit_code} on SIGTERM"
    return rows


def _load() -> str:
    try:
        return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "load ?"


def profile(count: int) -> int:
    """`--profile N`: the request path under cProfile in one Django process (no server load)."""
    os.environ["BENCH_INTAKE_PROFILE"] = str(count)
    with _database_url(), Server(setup=f"{NAME}:setup_data") as server:
        result = server.call(f"{NAME}:profile_requests")
    print(
        f"{result['requests']} POST /api/reports one after another through Django's test "
        f"client [{result['database']}], after 100 warm-up; outcomes {result['outcomes']}\n"
        f"unprofiled: p50 {result['wall_p50_ms']:.1f} ms, p99 {result['wall_p99_ms']:.1f} ms, "
        f"mean {result['wall_mean_ms']:.1f} ms per request, of which {result['cpu_ms']:.1f} ms "
        f"CPU in this process; "
        f"{result['queries_per_request']:.1f} SQL statements taking "
        f"{result['sql_ms_per_request']:.1f} ms (commits not included)\n"
        f"under cProfile: {result['profiled_ms_per_request']:.1f} ms per request"
    )
    print("\nSQL per request (unprofiled pass):\n  count      ms  statement")
    for e in result["sql"]:
        print(f"  {e['per_request']:5.2f}  {e['ms']:6.2f}  {e['shape']}")
    for title, key in (
        ("own time", "by_own"),
        ("cumulative time", "by_total"),
        ("cumulative time, fenghuo code and connection handling", "fenghuo"),
    ):
        print(f"\nper request under cProfile, by {title}:\n   own ms  total ms   calls  where")
        for e in result[key]:
            print(f"  {e['own_ms']:7.2f}  {e['total_ms']:8.2f}  {e['calls']:6d}  {e['where']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--profile", type=int, metavar="N", help="profile N requests in-process instead"
    )
    args = parser.parse_args(argv)
    if args.profile:
        return profile(args.profile)
    print(
        f"fenghuo bench · {NAME} · {clients()} clients · {requests()} reports (≤ {seconds():.0f} s)"
        f" · python {platform.python_version()} · {os.cpu_count()} CPUs · {_load()}",
        flush=True,
    )
    rows = run()
    print()
    print_table(rows)
    print(f"after: {_load()} (figures from a busy machine are noisy; compare the ratios)")
    print("×p50 = p50 ÷ anchor p50 · ×req/s = pgbench tps ÷ req/s (goal: ×req/s ≤ 10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
