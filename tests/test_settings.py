"""Settings read from the environment, imported in fresh processes."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from django.conf import settings as django_settings

from tests.processes import DEADLINE, REPO

SHOW = """
import json
from fenghuo import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "secret_key": s.SECRET_KEY,
    "engine": db["ENGINE"],
    "name": str(db["NAME"]),
    "host": db.get("HOST"),
    "port": db.get("PORT"),
    "user": db.get("USER"),
    "options": db.get("OPTIONS", {}),
    "allowed_hosts": s.ALLOWED_HOSTS,
    "heartbeat": s.FENGHUO_HEARTBEAT_SECONDS,
    "stale": s.FENGHUO_WORKER_STALE_SECONDS,
    "chain": s.FENGHUO_NOTIFY_CHAIN,
}))
"""

ISOLATE = {
    "SECRET_KEY",
    "DATABASE_URL",
    "FENGHUO_ALLOWED_HOSTS",
    "FENGHUO_EMAIL_HOST",
    "FENGHUO_NOTIFY_SMS",
    "FENGHUO_NOTIFY_CHAIN",
}


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ISOLATE}
    env["FENGHUO_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def _start(data_dir: Path, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SHOW],
        env=_env(data_dir, **extra),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen) -> dict:
    try:
        out, err = proc.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode == 0, err
    return json.loads(out)


def _show(data_dir: Path, **extra: str) -> dict:
    return _finish(_start(data_dir, **extra))


def test_secret_key_is_generated_private_and_kept(tmp_path):
    first = _show(tmp_path)
    key_file = tmp_path / "secret_key"
    assert len(first["secret_key"]) >= 50
    assert key_file.read_text().strip() == first["secret_key"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert _show(tmp_path)["secret_key"] == first["secret_key"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".secret_key")] == []


def test_processes_starting_together_agree_on_one_key(tmp_path):
    procs = [_start(tmp_path) for _ in range(6)]
    keys = {_finish(proc)["secret_key"] for proc in procs}
    assert keys == {(tmp_path / "secret_key").read_text().strip()}


def test_secret_key_from_the_environment_wins(tmp_path):
    assert _show(tmp_path, SECRET_KEY="from-the-environment")["secret_key"] == (
        "from-the-environment"
    )
    assert not (tmp_path / "secret_key").exists()


def test_default_database_is_sqlite_in_the_data_folder_with_wal(tmp_path):
    shown = _show(tmp_path)
    assert shown["engine"] == "django.db.backends.sqlite3"
    assert shown["name"] == str(tmp_path.resolve() / "fenghuo.sqlite3")
    assert "journal_mode=WAL" in shown["options"]["init_command"]
    assert shown["options"]["transaction_mode"] == "IMMEDIATE"


def test_database_url_selects_postgresql(tmp_path):
    shown = _show(tmp_path, DATABASE_URL="postgres://fh@127.0.0.1:5432/fenghuo_prod")
    assert shown["engine"] == "django.db.backends.postgresql"
    assert (shown["name"], shown["host"], shown["port"], shown["user"]) == (
        "fenghuo_prod",
        "127.0.0.1",
        5432,
        "fh",
    )
    # A pool of connections per process (a connect per request costs a backend fork).
    assert shown["options"] == {"pool": {"min_size": 1, "max_size": 10, "timeout": 30.0}}
    sized = _show(
        tmp_path,
        DATABASE_URL="postgres://fh@127.0.0.1:5432/fenghuo_prod",
        FENGHUO_DB_POOL_SIZE="4",
    )
    assert sized["options"]["pool"]["max_size"] == 4
    unpooled = _show(
        tmp_path, DATABASE_URL="postgres://fh@127.0.0.1:5432/fenghuo_prod", FENGHUO_DB_POOL="0"
    )
    assert unpooled["options"] == {}


def test_hosts_and_worker_timings_come_from_the_environment(tmp_path):
    shown = _show(
        tmp_path,
        FENGHUO_ALLOWED_HOSTS="duty.example.gov.cn, 10.0.0.5",
        FENGHUO_HEARTBEAT_SECONDS="0.5",
        FENGHUO_WORKER_STALE_SECONDS="30",
    )
    assert shown["allowed_hosts"] == ["duty.example.gov.cn", "10.0.0.5"]
    assert (shown["heartbeat"], shown["stale"]) == (0.5, 30)
    assert _show(tmp_path)["allowed_hosts"] == ["127.0.0.1", "localhost", "[::1]"]


def test_chinese_language_and_beijing_time():
    assert django_settings.LANGUAGE_CODE == "zh-hans"
    assert django_settings.TIME_ZONE == "Asia/Shanghai"
    assert django_settings.USE_TZ


def test_default_notification_chain_follows_what_is_configured(tmp_path):
    """Unconfigured channels are not tried (no dead letters on a fresh demo); an explicit
    chain is honoured as written."""
    assert _show(tmp_path)["chain"] == []
    assert _show(tmp_path, FENGHUO_EMAIL_HOST="mail.gov.cn")["chain"] == ["email"]
    sms = '{"provider": "http", "url": "http://sms.gov.cn/send"}'
    assert _show(tmp_path, FENGHUO_EMAIL_HOST="mail.gov.cn", FENGHUO_NOTIFY_SMS=sms)["chain"] == [
        "email",
        "sms",
    ]
    assert _show(tmp_path, FENGHUO_NOTIFY_CHAIN="sms")["chain"] == ["sms"]
