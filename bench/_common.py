"""Shared benchmark helpers: a real server, a concurrent load loop, figures and the table.

A benchmark module (bench/<name>.py) exposes ``run() -> list[Row]``. It usually:

1. starts a server with ``Server(setup="<module>:<function>")`` — a fresh data folder, a
   fresh database (SQLite, or a dedicated PostgreSQL database when DATABASE_URL is set),
   ``fenghuo migrate``, the module's setup function run inside Django, then
   ``fenghuo serve`` with one web worker and FENGHUO_BENCH=1;
2. measures its targets together with the anchor ``GET /_bench/hello`` via ``measure()``;
3. returns rows built with ``Stats.row(..., anchor=...)``; run.py prints one table.

Only 127.0.0.1 is ever contacted. Nothing here fails on slowness: only crashes fail.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

BENCH_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
ANCHOR_PATH = "/_bench/hello"
WARMUP_SECONDS = 5.0  # at most, per target
RESULT_MARKER = "BENCH-RESULT "


# --------------------------------------------------------------------------- knobs


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


def requests_per_target() -> int:
    return env_int("BENCH_REQUESTS", 2000)


def concurrency() -> int:
    return env_int("BENCH_CONCURRENCY", 16)


def warmup_per_target() -> int:
    return env_int("BENCH_WARMUP", 100)


def time_limit_per_target() -> float:
    """Seconds one target may take in total; a slow target reports fewer requests."""
    return env_float("BENCH_TIME_LIMIT", 25.0)


def database_label() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


def progress(message: str) -> None:
    """Progress goes to stderr so stdout carries only the table."""
    print(f"  · {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Row:
    """One line of the table. Figures a benchmark does not measure stay None."""

    benchmark: str
    measurement: str
    n: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    rps: float | None = None
    anchor: Row | None = None
    note: str = ""

    @property
    def ratio_p50(self) -> float | None:
        """How many times the anchor's median latency this median latency is."""
        if self.anchor is None or not self.p50_ms or not self.anchor.p50_ms:
            return None
        return self.p50_ms / self.anchor.p50_ms

    @property
    def ratio_rps(self) -> float | None:
        """How many anchor requests one of these costs: anchor req/s ÷ req/s."""
        if self.anchor is None or not self.rps or not self.anchor.rps:
            return None
        return self.anchor.rps / self.rps


@dataclass
class Stats:
    """What a load run against one target produced."""

    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: int = 0
    elapsed: float = 0.0  # wall-clock seconds spent on this target
    requested: int = 0
    statuses: Counter = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # first few error descriptions

    @property
    def n(self) -> int:
        return len(self.latencies) + self.errors

    def p(self, q: float) -> float | None:
        value = percentile(self.latencies, q)
        return None if value is None else value * 1000

    @property
    def rps(self) -> float | None:
        return len(self.latencies) / self.elapsed if self.elapsed > 0 else None

    def merge(self, other: Stats) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.elapsed += other.elapsed
        self.requested += other.requested
        self.statuses.update(other.statuses)
        self.samples += other.samples[: max(0, 5 - len(self.samples))]

    def row(self, benchmark: str, measurement: str, anchor: Row | None = None) -> Row:
        notes = []
        if self.n < self.requested:
            notes.append(f"time limit: {self.n}/{self.requested}")
        if self.errors:
            notes.append("errors: " + "; ".join(self.samples[:3]))
        return Row(
            benchmark=benchmark,
            measurement=measurement,
            n=self.n,
            errors=self.errors,
            p50_ms=self.p(50),
            p99_ms=self.p(99),
            rps=self.rps,
            anchor=anchor,
            note=" | ".join(notes),
        )


# --------------------------------------------------------------------------- table


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


TABLE_COLUMNS = (
    ("benchmark", "<"),
    ("measurement", "<"),
    ("n", ">"),
    ("err", ">"),
    ("p50 ms", ">"),
    ("p99 ms", ">"),
    ("req/s", ">"),
    ("anchor p50", ">"),
    ("anchor p99", ">"),
    ("anchor req/s", ">"),
    ("×p50", ">"),
    ("×req/s", ">"),
)


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, align: str) -> str:
    fill = " " * max(0, width - _width(text))
    return text + fill if align == "<" else fill + text


def table_lines(rows: Sequence[Row]) -> list[str]:
    """The table as text lines; notes follow it, numbered."""
    cells = []
    notes = []
    for row in rows:
        anchor = row.anchor
        mark = ""
        if row.note:
            notes.append(row.note)
            mark = f" [{len(notes)}]"
        cells.append(
            [
                row.benchmark,
                row.measurement + mark,
                str(row.n) if row.n else "—",
                str(row.errors),
                _fmt(row.p50_ms),
                _fmt(row.p99_ms),
                _fmt(row.rps, 0),
                _fmt(anchor.p50_ms if anchor else None),
                _fmt(anchor.p99_ms if anchor else None),
                _fmt(anchor.rps if anchor else None, 0),
                _fmt(row.ratio_p50),
                _fmt(row.ratio_rps),
            ]
        )
    headers = [name for name, _ in TABLE_COLUMNS]
    widths = [max([_width(h)] + [_width(c[i]) for c in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [
            _pad(value, width, align)
            for value, width, (_, align) in zip(values, widths, TABLE_COLUMNS, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(c) for c in cells]
    out += [f"[{i}] {note}" for i, note in enumerate(notes, 1)]
    return out


def print_table(rows: Sequence[Row], file=None) -> None:
    print("\n".join(table_lines(rows)), file=file or sys.stdout, flush=True)


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _libc_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()  # looked up here: a forked child should only call it


def _die_with_parent() -> None:
    """In the server process (Linux): SIGTERM when the benchmark dies, even by SIGKILL."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG, kept across the exec into uvicorn


def fenghuo_command() -> list[str]:
    """The `fenghuo` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("fenghuo")
    return [str(script)] if script.exists() else [sys.executable, "-m", "fenghuo"]


def _fresh_database(folder: Path, bench: str) -> tuple[dict[str, str], str | None, str | None]:
    """SQLite in `folder`, or a dedicated PostgreSQL database when DATABASE_URL says so:
    (the environment for `fenghuo`, the admin URL and the database name to drop after)."""
    env = {
        **os.environ,
        "FENGHUO_DATA_DIR": str(folder),
        "DJANGO_SETTINGS_MODULE": "fenghuo.settings",
    }
    env.setdefault("FENGHUO_LOG_LEVEL", "WARNING")
    if database_label() != "postgresql":
        env.pop("DATABASE_URL", None)
        return env, None, None
    import psycopg
    from psycopg import sql

    admin_url = os.environ["DATABASE_URL"]
    name = f"fenghuo_bench_{bench}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env["DATABASE_URL"] = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    return env, admin_url, name


def _drop_fresh_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def in_fresh_database(bench: str, call: str, *, timeout: int = 1800, what: str = "") -> dict:
    """Run `call` (an expression over bench/<bench>.py, e.g. "measure(5000)") in a Django
    process over a fresh, migrated database, and return the JSON it prints after
    RESULT_MARKER. For benchmarks that time work inside Django rather than requests. The
    database is dropped and the folder removed afterwards (BENCH_KEEP=1 keeps the folder)."""
    folder = Path(tempfile.mkdtemp(prefix=f"fenghuo-bench-{bench}-"))
    admin_url = name = None
    try:
        env, admin_url, name = _fresh_database(folder, bench)
        progress(f"data folder {folder} ({database_label()})")
        subprocess.run(
            [*fenghuo_command(), "migrate", "--no-input", "--verbosity", "0"],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        function = call.split("(", 1)[0]
        code = (
            "import json, sys, django\n"
            f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
            "django.setup()\n"
            f"from {bench} import {function}\n"
            f"print({RESULT_MARKER!r} + json.dumps({call}))\n"
        )
        if what:
            progress(what)
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"{call} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
        for line in reversed(done.stdout.splitlines()):
            if line.startswith(RESULT_MARKER):
                return json.loads(line[len(RESULT_MARKER) :])
        raise RuntimeError(f"{call} printed no result:\n{done.stderr[-3000:]}")
    finally:
        if name is not None:
            _drop_fresh_database(admin_url, name)
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(folder, ignore_errors=True)


class ServerError(RuntimeError):
    pass


class Server:
    """A real `fenghuo serve` on a free port, over a fresh data folder and database.

    Use as a context manager; `base_url` and `data` (what the setup function returned) are
    available inside. On exit the server gets SIGTERM (uvicorn's graceful shutdown), the
    dedicated PostgreSQL database is dropped and the data folder removed (kept when
    BENCH_KEEP=1, for post-mortems).
    """

    def __init__(
        self,
        *,
        setup: str | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        self.setup = setup
        self.workers = workers
        self.extra_env = env or {}
        self.ready_timeout = ready_timeout
        self.data: dict = {}
        self.base_url = ""
        self.exit_code: int | None = None
        self._tmp: Path | None = None
        self._db_admin_url: str | None = None
        self._db_name: str | None = None
        self._process: subprocess.Popen | None = None
        self._log = None

    # ---- lifecycle

    def __enter__(self) -> Server:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="fenghuo-bench-"))
        self.env = self._environment()
        progress(f"data folder {self._tmp} ({database_label()})")
        self.manage("migrate", "--no-input", "--verbosity", "0")
        if self.setup:
            self.data = self.call(self.setup)
        self._launch()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    progress("server ignored SIGTERM for 15 s; killing it")
                    process.kill()
                    process.wait()
            self.exit_code = process.returncode
            if self.exit_code not in (0, -signal.SIGTERM):
                progress(f"server exited with {self.exit_code}; log tail:\n{self.log_tail()}")
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._db_name:
            self._drop_database()
        if self._tmp is not None and os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @property
    def stopped_cleanly(self) -> bool:
        return self.exit_code in (0, -signal.SIGTERM)

    # ---- helpers a benchmark may use

    def manage(self, *args: str) -> str:
        """Run a `fenghuo` command against this server's data; returns its stdout."""
        done = subprocess.run(
            [*fenghuo_command(), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise ServerError(f"fenghuo {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def call(self, target: str) -> dict:
        """Run `module:function` (a bench/ module) inside Django; returns its JSON result."""
        module, _, function = target.partition(":")
        code = (
            "import json, sys, django\n"
            f"sys.path.insert(0, {str(BENCH_DIR)!r})\n"
            "django.setup()\n"
            f"from {module} import {function} as f\n"
            f"print({RESULT_MARKER!r} + json.dumps(f()))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={**self.env, "DJANGO_SETTINGS_MODULE": "fenghuo.settings"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise ServerError(f"{target} failed:\n{done.stdout}\n{done.stderr}")
        for line in reversed(done.stdout.splitlines()):
            if line.startswith(RESULT_MARKER):
                return json.loads(line[len(RESULT_MARKER) :])
        raise ServerError(f"{target} printed no result:\n{done.stdout}\n{done.stderr}")

    def log_tail(self, lines: int = 30) -> str:
        if self._tmp is None or not (self._tmp / "server.log").exists():
            return ""
        text = (self._tmp / "server.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    # ---- internals

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("FENGHUO_HOST", "FENGHUO_PORT", "FENGHUO_WEB_WORKERS", "FENGHUO_DEBUG"):
            env.pop(name, None)
        env.update(
            FENGHUO_DATA_DIR=str(self._tmp),
            FENGHUO_BENCH="1",
            FENGHUO_LOG_LEVEL=os.environ.get("FENGHUO_LOG_LEVEL", "WARNING"),
            PYTHONUNBUFFERED="1",
        )
        if database_label() == "postgresql":
            env["DATABASE_URL"] = self._create_database(os.environ["DATABASE_URL"])
        else:
            env.pop("DATABASE_URL", None)
        env.update(self.extra_env)
        return env

    def _create_database(self, url: str) -> str:
        import psycopg
        from psycopg import sql

        self._db_admin_url = url
        name = f"fenghuo_bench_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._db_name = name
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def _drop_database(self) -> None:
        import psycopg
        from psycopg import sql

        name, self._db_name = self._db_name, None
        with psycopg.connect(self._db_admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def _launch(self) -> None:
        for _attempt in range(3):  # another process may grab the free port first
            port = free_port()
            self._log = open(self._tmp / "server.log", "ab")  # noqa: SIM115 - closed in stop()
            self._process = subprocess.Popen(
                [
                    *fenghuo_command(),
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(port),
                    "--workers",
                    str(self.workers),
                ],
                env=self.env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop the server ourselves
                preexec_fn=_die_with_parent,
            )
            self.base_url = f"http://{HOST}:{port}"
            if self._wait_ready():
                progress(f"server pid {self._process.pid} on {self.base_url}")
                return
            self._process.wait()
            self._process = None
            self._log.close()
            self._log = None
        raise ServerError(f"server did not start:\n{self.log_tail()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                if httpx.get(self.base_url + "/healthz", timeout=2).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self._process.kill()
        return False


def login(base_url: str, username: str, password: str) -> dict[str, str]:
    """Sign in through /login/ like a browser; returns the cookies to send afterwards."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        form = client.get("/login/")
        form.raise_for_status()
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        if match is None:
            raise ServerError("no CSRF token on /login/")
        done = client.post(
            "/login/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": match.group(1),
            },
        )
        if done.status_code != 302 or "sessionid" not in client.cookies:
            raise ServerError(f"login failed: HTTP {done.status_code}")
        return {name: client.cookies[name] for name in ("sessionid", "csrftoken")}


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


# --------------------------------------------------------------------------- load


@dataclass
class Target:
    """One request to repeat. `check` may inspect the body (cheaply) beyond the status."""

    name: str
    path: str
    method: str = "GET"
    # A callable gets the request number, right after `body` got it for the same request
    # (e.g. a fresh Idempotency-Key per POST). Numbers restart at 0 in every segment.
    headers: dict[str, str] | Callable[[int], dict[str, str]] = field(default_factory=dict)
    body: bytes | Callable[[int], bytes] | None = None  # a callable gets the request number
    expect: int = 200
    check: Callable[[httpx.Response], bool] | None = None


ANCHOR = Target("hello", ANCHOR_PATH, check=lambda r: r.content == b"hello")


def _no_cookies() -> httpx.Cookies:
    """A jar that stores nothing: each target sends exactly the headers it declares."""
    return httpx.Cookies(CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])))


async def _segment(
    client: httpx.AsyncClient, target: Target, count: int, workers: int, seconds: float
) -> Stats:
    stats = Stats(requested=count)
    issued = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal issued
        while issued < count and time.perf_counter() < deadline:
            number = issued
            issued += 1
            body = target.body(number) if callable(target.body) else target.body
            headers = target.headers(number) if callable(target.headers) else target.headers
            started = time.perf_counter()
            try:
                response = await client.request(
                    target.method, target.path, headers=headers, content=body
                )
            except httpx.HTTPError as exc:
                stats.errors += 1
                stats.statuses[type(exc).__name__] += 1
                if len(stats.samples) < 5:
                    stats.samples.append(f"{target.name}: {type(exc).__name__} {exc}")
                continue
            took = time.perf_counter() - started
            stats.statuses[response.status_code] += 1
            ok = response.status_code == target.expect and (
                target.check is None or target.check(response)
            )
            if ok:
                stats.latencies.append(took)
            else:
                stats.errors += 1
                if len(stats.samples) < 5:
                    stats.samples.append(
                        f"{target.name}: HTTP {response.status_code} {response.text[:80]!r}"
                    )

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    stats.elapsed = time.perf_counter() - started
    return stats


async def _measure(
    base_url: str,
    targets: Sequence[Target],
    requests: int,
    workers: int,
    warmup: int,
    rounds: int,
    seconds: float,
) -> dict[str, Stats]:
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(
        base_url=base_url,
        limits=limits,
        timeout=httpx.Timeout(30.0),
        cookies=_no_cookies(),
        follow_redirects=False,
        trust_env=False,  # never a proxy: 127.0.0.1 only
    ) as client:
        for target in targets:
            if warmup:
                await _segment(client, target, warmup, workers, min(seconds, WARMUP_SECONDS))
        results = {t.name: Stats() for t in targets}
        base, extra = divmod(requests, rounds)
        per_round = [base + (1 if i < extra else 0) for i in range(rounds)]
        for index, count in enumerate(per_round):
            # Rotate the order each round so no target always runs first or last.
            ordered = [targets[(index + j) % len(targets)] for j in range(len(targets))]
            for target in ordered:
                results[target.name].merge(
                    await _segment(client, target, count, workers, seconds / rounds)
                )
        return results


def measure(
    base_url: str,
    targets: Sequence[Target],
    *,
    requests: int | None = None,
    workers: int | None = None,
    warmup: int | None = None,
    rounds: int = 4,
    seconds: float | None = None,
) -> dict[str, Stats]:
    """Load every target with `workers` concurrent keep-alive clients.

    After a warm-up per target, the `requests` per target are split into `rounds`
    back-to-back segments, interleaving targets, so drift (page cache, CPU frequency,
    database autovacuum) spreads over all of them alike. Each target gets at most
    `seconds` in total. Returns Stats per target name.
    """
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise ValueError("target names must be unique")
    coroutine = _measure(
        base_url,
        targets,
        requests if requests is not None else requests_per_target(),
        workers if workers is not None else concurrency(),
        warmup if warmup is not None else warmup_per_target(),
        rounds,
        seconds if seconds is not None else time_limit_per_target(),
    )
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)
