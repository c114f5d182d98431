"""The `fenghuo` command, run as a real process."""

import os
import signal
import socket
import urllib.request

from tests.processes import (  # noqa: F401 - fixtures
    Proc,
    Site,
    free_port,
    migrated_site_fixture,
    pid_alive,
    poll,
    site_fixture,
)

# urllib honours http_proxy; the tests only ever talk to 127.0.0.1 directly.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))

APPEND_ENTRIES = """
from fenghuo.core.services import audit_record
for n in range(3):
    audit_record(actor=None, action="t", object_type="t", object_id=n, after={"n": n})
"""

# An edit made behind the application's back, straight in the database.
TAMPER = """
from django.db import connection
from fenghuo.core.models import AuditEntry
table = connection.ops.quote_name(AuditEntry._meta.db_table)
with connection.cursor() as cursor:
    cursor.execute(f"UPDATE {table} SET action = 'tampered' WHERE seq = 2")
"""


def test_help_prints_usage(site):
    for args in (["--help"], []):
        done = site.call(*args)
        assert done.returncode == 0
        assert "fenghuo run" in done.stdout
        assert "fenghuo verify-audit" in done.stdout


def test_django_commands_pass_through(site):
    done = site.call("check")
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout

    done = site.call("no-such-command")
    assert done.returncode != 0
    assert "Unknown command" in done.stderr, done.stderr


def test_verify_audit_passes_on_a_clean_chain(migrated_site):
    migrated_site.django(APPEND_ENTRIES)
    done = migrated_site.call("verify-audit")
    assert done.returncode == 0, done.stderr
    assert "审计链完好：共 3 条" in done.stdout


def test_verify_audit_fails_on_a_broken_chain(migrated_site):
    migrated_site.django(APPEND_ENTRIES)
    migrated_site.django(TAMPER)
    done = migrated_site.call("verify-audit")
    assert done.returncode != 0, done.stdout
    assert "审计链在第 2 条断开" in done.stderr, done.stderr
    assert "被修改" in done.stderr, done.stderr


# -- fenghuo run ------------------------------------------------------------------------

HEARTBEAT_OF = """
from fenghuo.core.models import WorkerHeartbeat
beat = WorkerHeartbeat.objects.filter(pid={pid}).first()
result = beat and {{"stopped": beat.stopped_at is not None}}
"""


def _start_run(site: Site, port: int) -> tuple[Proc, int, int]:
    """`fenghuo run` up and serving; (process, web server pid, worker pid)."""
    proc = site.start(
        "run",
        FENGHUO_PORT=str(port),
        FENGHUO_HEARTBEAT_SECONDS="0.5",
        FENGHUO_START_TIMEOUT="150",  # a loaded CI machine; healthy starts take seconds
    )
    pids = proc.wait_for(r"网页服务进程号 (\d+)，后台任务进程号 (\d+)")
    web_pid, worker_pid = int(pids[1]), int(pids[2])
    proc.extra_pids += [web_pid, worker_pid]  # killed in teardown if still there
    proc.wait_for(rf"烽火已启动：http://127\.0\.0\.1:{port}/")
    return proc, web_pid, worker_pid


def _get(url: str) -> tuple[int, str]:
    with _http.open(url, timeout=30) as response:
        return response.status, response.read().decode("utf-8")


def test_run_on_an_empty_data_folder_serves_and_stops_on_ctrl_c(site):
    port = free_port()
    proc, web_pid, worker_pid = _start_run(site, port)
    assert "正在载入演示数据" in proc.output

    status, page = _get(f"http://127.0.0.1:{port}/login/")
    assert status == 200
    assert "登录" in page
    assert site.django("from fenghuo.org.models import Unit\nresult = Unit.objects.count()") > 0
    poll(lambda: site.django(HEARTBEAT_OF.format(pid=worker_pid)), "the worker's heartbeat")

    proc.signal(signal.SIGINT)  # what Ctrl-C sends
    assert proc.wait() == 0, proc.output
    assert "烽火已停止" in proc.output
    assert not pid_alive(web_pid)
    assert not pid_alive(worker_pid)
    assert site.django(HEARTBEAT_OF.format(pid=worker_pid)) == {"stopped": True}

    # A second start keeps the data: no second load of the demo, same stop on SIGTERM.
    again, web_pid, worker_pid = _start_run(site, port)
    assert "正在载入演示数据" not in again.output
    again.signal(signal.SIGTERM)
    assert again.wait() == 0, again.output
    assert not pid_alive(web_pid)
    assert not pid_alive(worker_pid)


def test_run_stops_with_a_message_when_its_worker_dies(site):
    proc, web_pid, worker_pid = _start_run(site, free_port())

    os.kill(worker_pid, signal.SIGKILL)
    assert proc.wait() == 1, proc.output
    assert "后台任务进程意外退出" in proc.output
    assert not pid_alive(web_pid)


def test_children_do_not_outlive_a_killed_run(site):
    proc, web_pid, worker_pid = _start_run(site, free_port())

    proc.signal(signal.SIGKILL)
    proc.wait()
    poll(lambda: not pid_alive(web_pid) and not pid_alive(worker_pid), "the children to exit")


def test_run_refuses_a_port_in_use(site):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = site.call("run", FENGHUO_PORT=str(port))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"端口 {port} 已被占用" in done.stderr, done.stderr
