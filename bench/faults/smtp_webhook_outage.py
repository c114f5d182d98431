"""Fault script: the SMTP server and a webhook receiver down for several minutes, then back.

    .venv/bin/python bench/faults/smtp_webhook_outage.py                 # 5-minute outage
    .venv/bin/python bench/faults/smtp_webhook_outage.py --minutes 10 --before 300 --during 200
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/faults/...

The scenario of tests/ops/outage.py (which the test suite runs compressed into seconds)
with the production retry settings: FENGHUO_NOTIFY_BACKOFF_SECONDS 10 s doubling per
attempt, FENGHUO_NOTIFY_MAX_ATTEMPTS 8 — unless they are set in the environment. One
`fenghuo worker` over a fresh database (SQLite in a temporary folder, or a dedicated
PostgreSQL database under DATABASE_URL, dropped afterwards); the peers are an aiosmtpd
server and a local HTTP sink on 127.0.0.1. It prints progress, then one line starting
`lost=… duplicated=…`, and exits 1 unless both are 0 and nothing went dead.

With the default retry settings a message's eighth and last attempt comes about 21 minutes
after its first failure: a longer outage turns the rest into dead letters (shown on the duty
desk, re-queued from there). After the peers return, the last message waits for its next
retry, at most about as long again as it had been failing. Not part of `make bench`
(bench/run.py only runs bench/*.py).
"""

from __future__ import annotations

import argparse
import os
import sys

from _faults import fresh_site, progress

from tests.ops.outage import run_outage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="outage length (5)")
    parser.add_argument("--before", type=int, default=200, help="notifications before (200)")
    parser.add_argument("--during", type=int, default=100, help="written during it (100)")
    args = parser.parse_args()

    outage = args.minutes * 60
    say = progress()
    with fresh_site("outage", say) as site:
        result = run_outage(
            site,
            before=args.before,
            during=args.during,
            outage_seconds=outage,
            worker_env={
                key: os.environ[key]
                for key in ("FENGHUO_NOTIFY_BACKOFF_SECONDS", "FENGHUO_NOTIFY_MAX_ATTEMPTS")
                if key in os.environ
            },
            deadline=2 * outage + 300,
            say=say,
        )
    print(result.summary(), flush=True)
    return 0 if (result.lost, result.duplicated, result.dead) == (0, 0, 0) else 1


if __name__ == "__main__":
    sys.exit(main())
