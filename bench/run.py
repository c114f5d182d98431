"""Run the benchmarks and print one table (`make bench`).

    bench/run.py                 every bench/*.py except run.py and _helpers
    bench/run.py web_shell ...   only the named ones
    bench/run.py --list          list them

Each benchmark module exposes `run() -> list[Row]` (see bench/_common.py). The exit code is
non-zero only when a benchmark crashes (or a name is unknown): slowness never fails.
Figures are for comparison on one machine, against the anchor measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _common import (  # noqa: E402
    Row,
    concurrency,
    database_label,
    print_table,
    requests_per_target,
    warmup_per_target,
)


def discover() -> list[str]:
    return sorted(
        path.stem
        for path in BENCH_DIR.glob("*.py")
        if path.stem != "run" and not path.stem.startswith("_")
    )


def _load() -> str:
    """The 1-minute load average: other work on the machine skews every figure."""
    try:
        return f"load {os.getloadavg()[0]:.1f}"
    except OSError:
        return "load ?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list benchmarks and exit")
    parser.add_argument("--requests", type=int, help="requests per target (BENCH_REQUESTS)")
    parser.add_argument("--concurrency", type=int, help="concurrent clients (BENCH_CONCURRENCY)")
    args = parser.parse_args(argv)

    available = discover()
    if args.list:
        print("\n".join(available))
        return 0
    unknown = [name for name in args.names if name not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(available)}")
        return 2
    if args.requests is not None:
        os.environ["BENCH_REQUESTS"] = str(args.requests)
    if args.concurrency is not None:
        os.environ["BENCH_CONCURRENCY"] = str(args.concurrency)

    print(
        f"fenghuo bench · db {database_label()} · {requests_per_target()} requests/target · "
        f"{concurrency()} clients · warm-up {warmup_per_target()} · "
        f"python {platform.python_version()} · {os.cpu_count()} CPUs · {_load()}",
        flush=True,
    )
    rows: list[Row] = []
    crashed: list[str] = []
    for name in args.names or available:
        print(f"▶ {name}", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            module = importlib.import_module(name)
            rows += list(module.run())
        except Exception:  # a crash is reported and fails the run; the rest still run
            traceback.print_exc()
            crashed.append(name)
            rows.append(Row(benchmark=name, measurement="CRASHED (traceback above)"))
        print(f"  {name}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)

    print()
    print_table(rows)
    print(f"after: {_load()} (figures from a busy machine are noisy; compare the ratios)")
    print("×p50 = p50 ÷ anchor p50 · ×req/s = anchor req/s ÷ req/s (both: times the anchor)")
    if crashed:
        print(f"crashed: {', '.join(crashed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
