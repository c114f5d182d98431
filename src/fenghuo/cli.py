"""The `fenghuo` command.

fenghuo run            migrate, load demo data into an empty database, start web + worker
fenghuo serve          the web server alone (production: several behind a balancer)
fenghuo worker         a task worker alone (production: several, on PostgreSQL)
fenghuo seed-demo      load the demo province
fenghuo verify-audit   check the audit chain, report the first broken link
fenghuo backup PATH    a consistent backup (database, data folder, audit head) to a new
                       folder, or to one file when PATH ends in .tar
fenghuo restore PATH   restore a backup into an empty installation, then verify it
fenghuo mail-receiver  receive e-mailed reports over SMTP (FENGHUO_SMTP_HOST/_PORT)
fenghuo reindex-search rebuild the Chinese full-text index of reports
fenghuo <django command> …   any Django management command (migrate, createsuperuser …)

run and serve listen on --host / --port (or FENGHUO_HOST / FENGHUO_PORT; 127.0.0.1:8000).
run stops on Ctrl-C or SIGTERM: the worker finishes the task in hand, then both children
exit; if either child dies, run stops the other and exits 1 with a message.
"""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fenghuo.settings")
    import django

    django.setup()


def _serve_argv(host: str, port: str, workers: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "fenghuo.asgi:application",
        "--host",
        host,
        "--port",
        port,
        "--workers",
        workers,
        "--no-access-log",
        "--lifespan",
        "off",
        "--timeout-graceful-shutdown",
        "5",
    ]


def _option(args: list[str], name: str, env: str, default: str) -> str:
    if name in args:
        return args[args.index(name) + 1]
    return os.environ.get(env, default)


def _metrics_dir(port: str) -> None:
    """prometheus_client's multiprocess mode for this server's web processes: they write
    their request counters to files in one folder, so /metrics answered by any of them
    sums them all. Emptied at each start (counters restart with the server, as Prometheus
    expects). The folder must be on local disk (FENGHUO_METRICS_DIR)."""
    from fenghuo.settings import FENGHUO_METRICS_DIR

    folder = FENGHUO_METRICS_DIR / f"serve-{port}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def serve(args: list[str]) -> int:
    port = _option(args, "--port", "FENGHUO_PORT", "8000")
    argv = _serve_argv(
        _option(args, "--host", "FENGHUO_HOST", "127.0.0.1"),
        port,
        _option(args, "--workers", "FENGHUO_WEB_WORKERS", "1"),
    )
    _metrics_dir(port)
    # The opinion stream's batches in a lower-priority process of each web process
    # (opinion/offload.py), so reports do not wait behind them.
    os.environ.setdefault("FENGHUO_OPINION_PROCESSES", "1")
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with uvicorn
    return 0


# How long `run` waits for its children to stop after asking them to.
STOP_TIMEOUT = float(os.environ.get("FENGHUO_STOP_TIMEOUT", "15"))
# How long `run` waits for the web server to accept connections.
START_TIMEOUT = float(os.environ.get("FENGHUO_START_TIMEOUT", "60"))


def _die_with_parent() -> None:
    """In a child of `run`: exit when `run` does, even if it is killed (Linux)."""
    parent = os.environ.pop("FENGHUO_RUN_PID", None)  # not inherited by grandchildren
    if not parent:
        return
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # PR_SET_PDEATHSIG, kept on exec
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    if os.getppid() != int(parent):  # `run` died before prctl took effect
        sys.exit(1)


def _spawn(argv: list[str]) -> subprocess.Popen:
    # A process group of its own: Ctrl-C in the terminal reaches `run` alone, which then
    # stops each child exactly once (a second signal would abort the worker's task).
    env = {**os.environ, "FENGHUO_RUN_PID": str(os.getpid())}
    return subprocess.Popen(argv, env=env, process_group=0)  # noqa: S603 - our own argv


def _connect_target(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104


def _port_in_use(host: str, port: int) -> bool:
    try:
        with socket.create_connection((_connect_target(host), port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_for_port(host: str, port: int, children: dict, signals: list[int]) -> bool:
    """True once something accepts on host:port; False if a child dies or we are stopped."""
    target = _connect_target(host)
    deadline = time.monotonic() + START_TIMEOUT
    while not signals and time.monotonic() < deadline:
        if any(child.poll() is not None for child in children.values()):
            return False
        try:
            with socket.create_connection((target, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _stop_children(children: dict, signals: list[int]) -> list[str]:
    """SIGTERM each live child, wait, then SIGKILL the stragglers; names of those killed."""
    asked = len(signals)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and len(signals) == asked:  # a new signal: kill now
        if all(child.poll() is not None for child in children.values()):
            break
        time.sleep(0.1)
    killed = []
    for name, child in children.items():
        if child.poll() is None:
            child.kill()
            killed.append(name)
        child.wait()
    return killed


def run(args: list[str]) -> int:
    """The embedded default: one command, web server and worker as two children."""
    signals: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        signals.append(signum)

    _setup()
    from django.core.management import call_command
    from django.db import connections

    from fenghuo.org.models import Unit

    host = _option(args, "--host", "FENGHUO_HOST", "127.0.0.1")
    port = _option(args, "--port", "FENGHUO_PORT", "8000")
    if _port_in_use(host, int(port)):
        print(
            f"端口 {port} 已被占用（烽火是否已在运行？）；可用 FENGHUO_PORT 或 --port 换一个端口。",
            file=sys.stderr,
            flush=True,
        )
        return 1
    try:
        print("烽火正在准备数据库……", flush=True)
        call_command("migrate", interactive=False, verbosity=0)
        if not Unit.objects.exists():
            print("数据库为空，正在载入演示数据……", flush=True)
            call_command("seed_demo")
    except KeyboardInterrupt:
        print("已取消。", file=sys.stderr, flush=True)
        return 130
    finally:
        connections.close_all()  # the children open their own

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    children = {
        "网页服务": _spawn(
            [sys.executable, "-m", "fenghuo", "serve", "--host", host, "--port", port]
        ),
        "后台任务": _spawn([sys.executable, "-m", "fenghuo", "worker"]),
    }
    print(
        "，".join(f"{name}进程号 {child.pid}" for name, child in children.items()),
        flush=True,
    )
    failed: list[str] = []
    if _wait_for_port(host, int(port), children, signals):
        print(f"烽火已启动：http://{host}:{port}/  （按 Ctrl-C 停止）", flush=True)
        while not signals and all(child.poll() is None for child in children.values()):
            time.sleep(0.2)
    elif not signals and all(child.poll() is None for child in children.values()):
        print(f"网页服务在 {START_TIMEOUT:g} 秒内未能在 {host}:{port} 上就绪", file=sys.stderr)
        failed.append("网页服务")
    for name, child in children.items():
        if not signals and child.poll() is not None:
            print(
                f"{name}进程意外退出（退出码 {child.returncode}），烽火随之停止。",
                file=sys.stderr,
                flush=True,
            )
            failed.append(name)
    if signals:
        print("正在停止烽火……", flush=True)
    killed = _stop_children(children, signals)
    for name, child in children.items():
        if name in killed:
            print(f"{name}进程未能按时退出，已强制结束。", file=sys.stderr, flush=True)
        elif name not in failed and child.returncode not in (0, -signal.SIGTERM):
            print(
                f"{name}进程停止时出错（退出码 {child.returncode}）。", file=sys.stderr, flush=True
            )
            failed.append(name)
    if failed or killed:
        return 1
    print("烽火已停止。", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    _die_with_parent()
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = args[0], args[1:]
    if command == "run":
        return run(rest)
    if command == "serve":
        return serve(rest)
    _setup()
    from django.core.management import execute_from_command_line

    # `fenghuo seed-demo` is Django's `seed_demo`: hyphens read better on a command line.
    execute_from_command_line(["fenghuo", command.replace("-", "_"), *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
