"""Run one piece of work in several threads at once, for tests of concurrent writers.

Each thread has its own database connection (Django opens one per thread) and closes it
when done, so a PostgreSQL test database is never left with a session that blocks its drop.
"""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def at_once(work: Callable[[], T], count: int, timeout: float = 120.0) -> list[T]:
    """Start `work` in `count` threads released together; returns their results in the
    order they finished. Fails the test if any thread raised or did not end in time."""
    start = threading.Barrier(count)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            results.append(work())
        except BaseException as exc:  # reported by the test's own thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not [t for t in threads if t.is_alive()], f"a thread ran past {timeout} s"
    assert not errors, errors
    return results
