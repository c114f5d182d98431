"""Fault script: PostgreSQL restarted and crashed, several times, in the middle of a load of
report submissions; clients retry with their Idempotency-Keys.

    .venv/bin/python bench/faults/pg_restart.py                 # 600 reports, 4 restarts
    .venv/bin/python bench/faults/pg_restart.py --reports 2000 --restarts 6 --down 20

Never the machine's shared PostgreSQL: a private throwaway cluster (tests/ops/pgcluster.py:
initdb into a temporary folder, pg_ctl start on a free port, as the `postgres` OS user when
run as root; binaries from FENGHUO_PG_BIN, /usr/lib/postgresql/15/bin). The scenario of
tests/ops/killing.py: `fenghuo serve` and `fenghuo worker` on it, client threads filing
reports through the API; alternately `pg_ctl restart -m fast` and a crash (`pg_ctl stop -m
immediate`, `--down` seconds down, start), each after another share of the load. Web and
worker are never restarted: they must ride it out. It prints progress, then one line
starting `lost=… duplicated=…`, and exits 1 unless both are 0 and neither process exited.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

from _faults import progress

from tests.ops import pgcluster
from tests.ops.killing import run_pg_restarts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=600, help="reports filed (600)")
    parser.add_argument("--threads", type=int, default=8, help="client threads (8)")
    parser.add_argument("--restarts", type=int, default=4, help="restarts and crashes (4)")
    parser.add_argument("--down", type=float, default=10.0, help="seconds down per crash (10)")
    args = parser.parse_args()
    if why := pgcluster.missing():
        print(f"cannot run: {why}", file=sys.stderr)
        return 2

    say = progress()

    cluster = pgcluster.PrivateCluster()
    folder = Path(tempfile.mkdtemp(prefix="fenghuo-pgrestart-"))
    site = None
    try:
        cluster.start()
        say(f"private PostgreSQL cluster on port {cluster.port} in {cluster.folder}")
        url = cluster.create_database(f"fenghuo_{uuid.uuid4().hex[:8]}")
        site = pgcluster.ClusterSite(folder, url)
        site.migrate()
        result = run_pg_restarts(
            site,
            cluster,
            reports=args.reports,
            threads=args.threads,
            restarts=args.restarts,
            down_seconds=args.down,
            deadline=600,
            say=say,
        )
    finally:
        if site is not None:
            site.cleanup()
        cluster.destroy()
    print(result.summary(), flush=True)
    good = (result.lost, result.duplicated) == (0, 0) and not result.refused
    return 0 if good and not result.exited else 1


if __name__ == "__main__":
    sys.exit(main())
