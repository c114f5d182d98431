"""Helpers for tests that run `fenghuo` as real processes against a real database.

Each test gets its own database: a SQLite file in its own data folder, or, when the suite
runs on PostgreSQL, a database of its own on the same server (named after the suite's test
database, so parallel suites with different FENGHUO_TEST_DB_NAME never collide), dropped
afterwards. Processes talk to 127.0.0.1 only; every wait has a deadline; every process a
test starts is killed in teardown if it is still there.
"""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings

VENV_BIN = Path(sys.executable).parent
FENGHUO = str(VENV_BIN / "fenghuo") if (VENV_BIN / "fenghuo").exists() else None
REPO = Path(__file__).resolve().parent.parent

# Generous: these bound waits on a loaded CI machine; a healthy run takes a fraction.
DEADLINE = 180.0


def fenghuo_argv(*args: str) -> list[str]:
    """The console script when installed, else `python -m fenghuo`."""
    return [FENGHUO, *args] if FENGHUO else [sys.executable, "-m", "fenghuo", *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_alive(pid: int) -> bool:
    """True while `pid` is a running (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def poll(check: Callable[[], Any], what: str, timeout: float = DEADLINE, every: float = 0.2):
    """Call `check` until it returns something truthy (returned), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:g}s waiting for {what}")
        time.sleep(every)


def answers_healthz(base_url: str) -> bool:
    """True once a server at `base_url` answers its liveness endpoint."""
    try:
        return httpx.get(f"{base_url}/healthz", trust_env=False, timeout=5).is_success
    except httpx.TransportError:
        return False


def uses_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


class Proc:
    """A child process whose merged stdout/stderr is collected line by line."""

    def __init__(self, argv: list[str], env: dict[str, str], stdin=subprocess.DEVNULL) -> None:
        self.argv = argv
        self.lines: list[str] = []
        self.extra_pids: list[int] = []  # grandchildren to clean up in teardown
        self._changed = threading.Condition()
        self.popen = subprocess.Popen(
            argv,
            env=env,
            cwd=REPO,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self.pid = self.popen.pid
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for line in self.popen.stdout:
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        except ValueError:
            # cleanup() closed the pipe while a grandchild still held its end open (a web
            # process's opinion process lingers up to a second after its parent is killed).
            pass
        with self._changed:
            self._changed.notify_all()

    def snapshot(self) -> list[str]:
        with self._changed:
            return list(self.lines)

    def wait_for_change(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = DEADLINE) -> re.Match:
        """The first output line matching `pattern`; fails if the process ends without one."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if match := regex.search(line):
                        return match
                seen = len(self.lines)
                if not self._reader.is_alive():
                    pytest.fail(
                        f"{self.argv} exited ({self.popen.poll()}) without printing "
                        f"{pattern!r}:\n{self.output_unlocked()}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(
                        f"gave up after {timeout:g}s waiting for {pattern!r} from {self.argv}:\n"
                        f"{self.output_unlocked()}"
                    )
                self._changed.wait(min(left, 0.5))

    def output_unlocked(self) -> str:
        return "\n".join(self.lines)

    def wait(self, timeout: float = DEADLINE) -> int:
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.argv} still running after {timeout:g}s:\n{self.output}")
        self._reader.join(10)
        return code

    def signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def cleanup(self) -> None:
        for pid in [*self.extra_pids, self.pid]:
            if pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(30)
        if self.popen.stdout:
            self.popen.stdout.close()


PROBE = """
import json, sys, traceback
import django
django.setup()
from django.db import close_old_connections
for line in sys.stdin:
    namespace = {"result": None}
    try:
        exec(json.loads(line), namespace)
        reply = "RESULT:" + json.dumps(namespace["result"], default=str)
    except BaseException:
        reply = "ERROR:" + json.dumps(traceback.format_exc())
    finally:
        close_old_connections()
    print(reply, flush=True)
"""


class Probe:
    """A Django process on the site's database that runs snippets of code for a test.

    One process for many queries: polling through it costs a query, not a Django start.
    """

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = Proc([sys.executable, "-c", PROBE], env, stdin=subprocess.PIPE)
        self._answered = 0

    def run(self, code: str, timeout: float) -> Any:
        self.proc.popen.stdin.write(json.dumps(code) + "\n")
        self.proc.popen.stdin.flush()
        self._answered += 1
        deadline = time.monotonic() + timeout
        while True:
            replies = [
                line for line in self.proc.snapshot() if line.startswith(("RESULT:", "ERROR:"))
            ]
            if len(replies) >= self._answered:
                reply = replies[self._answered - 1]
                break
            if self.proc.popen.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the probe did not answer {code!r}:\n{self.proc.output}")
            self.proc.wait_for_change(0.5)
        if reply.startswith("ERROR:"):
            pytest.fail(f"{code}\n{json.loads(reply.removeprefix('ERROR:'))}")
        return json.loads(reply.removeprefix("RESULT:"))

    def close(self) -> None:
        self.proc.popen.stdin.close()
        self.proc.cleanup()


class Site:
    """One data folder and one database, and ways to run `fenghuo` against them."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.procs: list[Proc] = []
        self._probe: Probe | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "SECRET_KEY", "FENGHUO_TEST_DB_NAME", "FENGHUO_PORT"}
            and not key.startswith("FENGHUO_TEST_")
        }
        env.update(
            FENGHUO_DATA_DIR=str(self.data_dir),
            DJANGO_SETTINGS_MODULE="fenghuo.settings",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            FENGHUO_LOG_LEVEL="INFO",
        )
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(extra)
        return env

    def start(self, *args: str, **env: str) -> Proc:
        proc = Proc(fenghuo_argv(*args), self.env(**env))
        self.procs.append(proc)
        return proc

    def call(self, *args: str, timeout: float = DEADLINE, **env: str):
        """Run `fenghuo *args` to completion; the CompletedProcess."""
        return subprocess.run(
            fenghuo_argv(*args),
            env=self.env(**env),
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def migrate(self) -> None:
        done = self.call("migrate", "--no-input", "-v", "0")
        assert done.returncode == 0, done.stdout + done.stderr

    def django(self, code: str, timeout: float = DEADLINE) -> Any:
        """Run `code` in this site's probe (one Django process); it must set `result`."""
        if self._probe is None:
            self._probe = Probe(self.env())
        return self._probe.run(code, timeout)

    def cleanup(self) -> None:
        if self._probe is not None:
            self._probe.close()
        for proc in self.procs:
            proc.cleanup()


def _pg_admin():
    import psycopg

    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def _pg_url(name: str) -> str:
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _pg_test_db_base() -> str:
    db = settings.DATABASES["default"]
    return (db.get("TEST") or {}).get("NAME") or f"test_{db['NAME']}"


def _site(tmp_path: Path) -> Iterator[Site]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    name = None
    if uses_postgres():
        name = f"{_pg_test_db_base()}_{uuid.uuid4().hex[:8]}"[:63]
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    site = Site(data_dir, _pg_url(name) if name else None)
    try:
        yield site
    finally:
        site.cleanup()
        if name:
            with _pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Registered under the names `site` and `migrated_site`; import the *_fixture names.
@pytest.fixture(name="site")
def site_fixture(tmp_path: Path) -> Iterator[Site]:
    """An empty data folder and an empty database (not migrated)."""
    yield from _site(tmp_path)


@pytest.fixture(name="migrated_site")
def migrated_site_fixture(site: Site) -> Site:
    site.migrate()
    return site
