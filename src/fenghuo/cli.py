"""The `fenghuo` command.

fenghuo run            migrate, load demo data into an empty database, start web + worker
fenghuo serve          the web server alone (production: several behind a balancer)
fenghuo worker         a task worker alone (production: several, on PostgreSQL)
fenghuo seed-demo      load the demo province
fenghuo verify-audit   check the audit chain, report the first broken link
fenghuo <django command> …   any Django management command (migrate, createsuperuser …)
"""

import os
import signal
import subprocess
import sys
import time

ALIASES = {"seed-demo": "seed_demo", "verify-audit": "verify_audit"}


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
        "--timeout-graceful-shutdown",
        "5",
    ]


def _option(args: list[str], name: str, env: str, default: str) -> str:
    if name in args:
        return args[args.index(name) + 1]
    return os.environ.get(env, default)


def serve(args: list[str]) -> int:
    argv = _serve_argv(
        _option(args, "--host", "FENGHUO_HOST", "127.0.0.1"),
        _option(args, "--port", "FENGHUO_PORT", "8000"),
        _option(args, "--workers", "FENGHUO_WEB_WORKERS", "1"),
    )
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with uvicorn
    return 0


def run(args: list[str]) -> int:
    """The embedded default: one command, web and worker in one process group."""
    _setup()
    from django.core.management import call_command

    from fenghuo.org.models import Unit

    call_command("migrate", interactive=False, verbosity=0)
    if not Unit.objects.exists():
        call_command("seed_demo")
    host = _option(args, "--host", "FENGHUO_HOST", "127.0.0.1")
    port = _option(args, "--port", "FENGHUO_PORT", "8000")
    children = [
        subprocess.Popen(_serve_argv(host, port, "1")),  # noqa: S603
        subprocess.Popen([sys.executable, "-m", "fenghuo", "worker"]),  # noqa: S603
    ]
    print(f"烽火已启动：http://{host}:{port}/  （按 Ctrl-C 停止）", flush=True)

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
    return 1 if failed and not stopping else 0


def main(argv: list[str] | None = None) -> int:
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

    execute_from_command_line(["fenghuo", ALIASES.get(command, command), *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
