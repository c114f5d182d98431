"""Fault script: SIGKILL of the web process and of the worker, several times, in the middle
of a load of report submissions through the API and the notifications they cause.

    .venv/bin/python bench/faults/kill_processes.py                  # 600 reports, 3 rounds
    .venv/bin/python bench/faults/kill_processes.py --reports 2000 --threads 8 --rounds 5
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/faults/...

The scenario of tests/ops/killing.py (which the test suite runs with one kill of each):
`fenghuo serve` and `fenghuo worker` over a fresh database (SQLite in a temporary folder,
or a dedicated PostgreSQL database under DATABASE_URL, dropped afterwards); client threads
file reports with their own Idempotency-Keys and retry each key until answered; every
round kills the web process (a new one on the same port) and then the worker (a new one),
each after another share of the load. Filing a report routes it to the county office, whose
webhook (a local sink that checks signatures and drops duplicates by key) must receive its
notification. It prints progress, then one line starting `lost=… duplicated=…`, and exits
1 unless both are 0. Not part of `make bench` (bench/run.py only runs bench/*.py).
"""

from __future__ import annotations

import argparse
import sys

from _faults import fresh_site, progress

from tests.ops.killing import run_kills


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=600, help="reports filed (600)")
    parser.add_argument("--threads", type=int, default=8, help="client threads (8)")
    parser.add_argument("--rounds", type=int, default=3, help="web + worker kills (3)")
    args = parser.parse_args()

    say = progress()
    with fresh_site("kill", say) as site:
        result = run_kills(
            site,
            reports=args.reports,
            threads=args.threads,
            rounds=args.rounds,
            deadline=600,
            say=say,
        )
    print(result.summary(), flush=True)
    return 0 if (result.lost, result.duplicated) == (0, 0) and not result.refused else 1


if __name__ == "__main__":
    sys.exit(main())
