"""A private, throwaway PostgreSQL cluster that a fault test may restart and crash.

The machine's shared PostgreSQL serves other suites, so it is never restarted: this is an
`initdb` into a temporary folder and a `pg_ctl start` on a free port of 127.0.0.1 (trust
auth, user postgres). initdb refuses to run as root, so as root the binaries run as the
`postgres` OS user (runuser) on a folder it owns.
"""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.processes import DEADLINE, Probe, Site, free_port

PG_BIN = Path(os.environ.get("FENGHUO_PG_BIN", "/usr/lib/postgresql/15/bin"))


def missing() -> str | None:
    """Why a private cluster cannot be made here, or None."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        return f"PostgreSQL server binaries not found in {PG_BIN} (FENGHUO_PG_BIN)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no `postgres` OS user to run initdb as"
        if not shutil.which("runuser"):
            return "running as root without runuser to run initdb as `postgres`"
    return None


class PrivateCluster:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="fenghuo-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )

    def _run(self, binary: str, *args: str, timeout: float = 120) -> None:
        argv = [str(PG_BIN / binary), *args]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.folder,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")

    def _ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", *args)

    @property
    def options(self) -> str:
        return f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"

    def start(self) -> None:
        self._ctl("-o", self.options, "start")

    def restart(self) -> None:
        """A clean restart: `pg_ctl restart -m fast` (sessions are cut, transactions roll back)."""
        self._ctl("-o", self.options, "-m", "fast", "restart")

    def crash(self) -> None:
        """`pg_ctl stop -m immediate`: no checkpoint; the next start recovers from the WAL."""
        self._ctl("-m", "immediate", "stop")

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):  # not running
            self._ctl("-m", "immediate", "stop")

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class ClusterSite(Site):
    """A Site on a private cluster. Its probe (the test's own queries) connects afresh for
    each query, without a pool: a pooled connection would be cut by the restarts the test
    itself causes, and fail the test's bookkeeping rather than the product."""

    def django(self, code: str, timeout: float = DEADLINE) -> Any:
        if self._probe is None:
            self._probe = Probe(self.env(FENGHUO_DB_POOL="0"))
        return self._probe.run(code, timeout)
