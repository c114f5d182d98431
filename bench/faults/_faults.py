"""What the fault scripts share: the import path, a fresh site, timestamped progress.

Imported first by each script (`bench/faults/` is on the path as the script's folder):
it puts the repository, `bench/` and `src/` on `sys.path`, since the scenarios live in
`tests/ops/` and the database helpers in `bench/_common.py`.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
for path in (REPO, REPO / "bench", REPO / "src"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from _common import _drop_fresh_database, _fresh_database  # noqa: E402

from tests.processes import Site  # noqa: E402


def progress() -> Callable[[str], None]:
    """A `say(line)` that prints each line with the seconds since it was made."""
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:7.1f} s] {line}", flush=True)

    return say


@contextmanager
def fresh_site(name: str, say: Callable[[str], None]) -> Iterator[Site]:
    """A migrated site over a temporary folder and a fresh database (SQLite, or its own
    PostgreSQL database when DATABASE_URL is set); all of it removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"fenghuo-{name}-"))
    env, admin_url, database = _fresh_database(folder, name)
    site = Site(folder, env.get("DATABASE_URL"))
    try:
        say(f"database: {'PostgreSQL' if database else 'SQLite'} in {folder}")
        site.migrate()
        yield site
    finally:
        site.cleanup()
        if database:
            _drop_fresh_database(admin_url, database)
        shutil.rmtree(folder, ignore_errors=True)
