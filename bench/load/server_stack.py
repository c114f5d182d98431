"""What the web server stack itself costs per request: `fenghuo.asgi` (Django's WSGI handler
on a2wsgi's thread pool, the event stream on the ASGI handler) against the anchor, Django's
own ASGI handler for everything (what `fenghuo serve` ran before), side by side in one run.

For each stack: one uvicorn process over a fresh SQLite data folder, a keep-alive client in
this process sending N requests one at a time to each path, and the server process's CPU
time (user + system, from /proc through psutil) divided by N. The paths touch little else:
`/healthz` (no database) and `/login/` (a template, the session and CSRF middleware), so the
difference is the stack's, not the views'. Prints CPU ms and wall ms per request and the
ratio new ÷ anchor.

    .venv/bin/python bench/load/server_stack.py            # N = 2000
    BENCH_REQUESTS=500 .venv/bin/python bench/load/server_stack.py

Needs psutil (in the optional group `bench`). Not in the suite; nothing fails on slowness.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent.parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _common import env_int, fenghuo_command, free_port, progress  # noqa: E402

PATHS = ("/healthz", "/login/")
STACKS = {
    "fenghuo.asgi (WSGI pool + ASGI stream)": ["fenghuo.asgi:application"],
    "anchor: Django's ASGI handler": ["django.core.asgi:get_asgi_application", "--factory"],
}


def _server_cpu(process: psutil.Process) -> float:
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        times = each.cpu_times()
        total += times.user + times.system
    return total


def _measure(app: list[str], env: dict[str, str], requests: int) -> dict[str, tuple[float, float]]:
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "uvicorn", *app, "--port", str(port), "--no-access-log"]
        + ["--lifespan", "off"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        process = psutil.Process(server.pid)
        deadline = time.monotonic() + 30
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        figures = {}
        for path in PATHS:
            connection = http.client.HTTPConnection("127.0.0.1", port)
            for _ in range(max(requests // 10, 50)):  # warm-up: templates, connections
                connection.request("GET", path)
                connection.getresponse().read()
            cpu, wall = _server_cpu(process), time.perf_counter()
            for _ in range(requests):
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status}")
            figures[path] = (
                1000 * (_server_cpu(process) - cpu) / requests,
                1000 * (time.perf_counter() - wall) / requests,
            )
            connection.close()
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    requests = env_int("BENCH_REQUESTS", 2000)
    folder = Path(tempfile.mkdtemp(prefix="fenghuo-bench-stack-"))
    env = {
        **os.environ,
        "FENGHUO_DATA_DIR": str(folder),
        "DJANGO_SETTINGS_MODULE": "fenghuo.settings",
        "FENGHUO_LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    try:
        subprocess.run([*fenghuo_command(), "migrate"], env=env, check=True, capture_output=True)
        results = {}
        for label, app in STACKS.items():
            progress(f"{label}: {requests} requests per path")
            results[label] = _measure(app, env, requests)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    new, anchor = (results[label] for label in STACKS)
    print(f"server CPU and wall time per request, one process, keep-alive, N = {requests}")
    print(f"{'path':<10} {'stack':<42} {'CPU ms':>8} {'wall ms':>8}")
    for path in PATHS:
        for label in STACKS:
            cpu, wall = results[label][path]
            print(f"{path:<10} {label:<42} {cpu:>8.2f} {wall:>8.2f}")
        ratio = new[path][0] / anchor[path][0]
        print(f"{path:<10} {'ratio fenghuo.asgi ÷ anchor (CPU)':<42} {ratio:>8.2f}")


if __name__ == "__main__":
    main()
