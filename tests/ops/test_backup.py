"""`fenghuo backup` and `fenghuo restore`, run as real processes on real databases: the
issue's check (a backup of a used installation restored into an empty one gives the same
rows in every table and a chain `fenghuo verify-audit` passes), consistency while writers
go on, SQLite ↔ PostgreSQL, and every refusal with its Chinese message."""

import gzip
import json
import re
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fenghuo.ops.archive import manifest_digest, sha256_of
from tests.events.test_attachments import png
from tests.processes import (  # noqa: F401 - fixtures
    Site,
    _site,
    migrated_site_fixture,
    poll,
    site_fixture,
    uses_postgres,
)

COUNTS = """
from django.apps import apps
result = {
    m._meta.db_table: m._base_manager.count()
    for m in apps.get_models(include_auto_created=True)
    if m._meta.managed and not m._meta.proxy
}
"""

ATTACH = """
from django.core.files.uploadedfile import SimpleUploadedFile
from fenghuo.events import services
from fenghuo.events.models import Report
from fenghuo.org.policy import principal_for
report = Report.objects.filter(created_by__isnull=False).order_by("pk").first()
upload = SimpleUploadedFile("现场.png", bytes.fromhex({content!r}))
[attachment] = services.attach_files(principal_for(report.created_by), report, [upload])
result = attachment.file.name
"""

# Writes go on in the restored installation: ids continue past the restored ones.
WRITE_AFTER = """
from fenghuo.core.services import audit_record
from fenghuo.org import services
from fenghuo.org.models import AdminLevel, UnitKind
from fenghuo.org.policy import Principal
system = Principal(person_id=None, grants=(), is_superuser=True, label="测试")
unit = services.unit_create(
    system, parent=None, name="恢复后新建的单位", level=AdminLevel.CITY,
    kind=UnitKind.objects.get(code="gov_office"), division_code="990900",
)
audit_record(actor=None, action="after.restore", object_type="test", object_id=1, after={})
result = unit.pk
"""

SEARCH_ROWS = """
from django.db import connection
from fenghuo.events.models import Report
table = "events_report_fts" if connection.vendor == "sqlite" else "events_report_search"
with connection.cursor() as cursor:
    cursor.execute(f"SELECT count(*) FROM {table}")
    result = [cursor.fetchone()[0], Report.objects.count()]
"""

# A writer behind the backup's back: each step one audited change (entry + head) committed.
WRITER = """
import time
from pathlib import Path
from fenghuo.core.services import audit_record
stop, deadline, n = Path({stop!r}), time.monotonic() + 150, 0
while not stop.exists() and time.monotonic() < deadline:
    audit_record(actor=None, action="load", object_type="test", object_id=n, after={{"n": n}})
    n += 1
print("WRITER-DONE", n, flush=True)
"""


# What a served request leaves: a rate-limit count (files in the data folder on SQLite).
RATELIMIT_HIT = """
from django.core.cache import caches
caches["ratelimit"].set("api:hit", 1)
result = 1
"""


@pytest.fixture
def empty_site(tmp_path: Path) -> Iterator[Site]:
    """A second installation: a new data folder and a new, empty database."""
    folder = tmp_path / "target"
    folder.mkdir()
    yield from _site(folder)


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    """An installation on SQLite, whatever database the suite runs on."""
    folder = tmp_path / "sqlite"
    (folder / "data").mkdir(parents=True)
    site = Site(folder / "data", None)
    try:
        yield site
    finally:
        site.cleanup()


def _ok(done, what: str) -> str:
    assert done.returncode == 0, f"{what}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _refused(done) -> str:
    assert done.returncode != 0, done.stdout
    return done.stderr


def _used(site: Site) -> str:
    """Demo data, plus an attachment; the attachment's storage name."""
    _ok(site.call("seed-demo"), "seed-demo")
    return site.django(ATTACH.format(content=png(7).hex()))


def _head(site: Site) -> str:
    out = _ok(site.call("verify-audit"), "verify-audit")
    return re.search(r"链头哈希 ([0-9a-f]{64})", out)[1]


def _media(site: Site) -> dict[str, bytes]:
    root = site.data_dir / "media"
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _read_manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _write_manifest(folder: Path, manifest: dict) -> None:
    manifest["digest"] = manifest_digest(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")


@pytest.mark.parametrize("form", ["folder", "tar"])
def test_restore_into_an_empty_installation_gives_identical_counts(
    migrated_site, empty_site, tmp_path, form
):
    attachment = _used(migrated_site)
    counting_files = not uses_postgres()  # on PostgreSQL the counts are in a table
    if counting_files:
        # Served requests leave rate-limit counting files: neither backed up nor a reason
        # to call the target not empty.
        migrated_site.django(RATELIMIT_HIT)
        empty_site.django(RATELIMIT_HIT)
        assert any((empty_site.data_dir / "ratelimit").iterdir())
    archive = tmp_path / ("backup.tar" if form == "tar" else "backup")
    out = _ok(migrated_site.call("backup", str(archive)), "backup")
    assert "备份完成" in out
    assert archive.is_file() if form == "tar" else (archive / "manifest.json").is_file()
    assert archive.stat().st_mode & 0o077 == 0  # the owner's only: it holds every secret
    if form == "tar":
        with tarfile.open(archive) as tar:
            assert f"files/media/{attachment}" in tar.getnames()
            assert not any("ratelimit" in name for name in tar.getnames())
    counts = migrated_site.django(COUNTS)
    assert counts["org_unit"] > 10 and counts["events_attachment"] == 1

    out = _ok(empty_site.call("restore", str(archive)), "restore")
    assert "恢复完成" in out and "校验通过" in out

    assert empty_site.django(COUNTS) == counts
    assert _head(empty_site) == _head(migrated_site)
    assert _media(empty_site) == _media(migrated_site) != {}
    assert (empty_site.data_dir / "secret_key").read_text() == (
        migrated_site.data_dir / "secret_key"
    ).read_text()
    assert (empty_site.data_dir / "secret_key").stat().st_mode & 0o077 == 0
    indexed, reports = empty_site.django(SEARCH_ROWS)
    assert indexed == reports > 0
    # The restored installation takes new writes: sequences and the chain go on.
    assert empty_site.django(WRITE_AFTER) > 0
    _head(empty_site)


@pytest.mark.parametrize("direction", ["sqlite-to-postgresql", "postgresql-to-sqlite"])
def test_a_backup_moves_between_sqlite_and_postgresql(site, sqlite_site, tmp_path, direction):
    if not uses_postgres():
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL suite")
    source, target = (sqlite_site, site) if direction.startswith("sqlite") else (site, sqlite_site)
    source.migrate()
    _used(source)
    archive = tmp_path / "move.tar"
    _ok(source.call("backup", str(archive)), "backup")
    _ok(target.call("restore", str(archive)), "restore")
    assert target.django(COUNTS) == source.django(COUNTS)
    assert _head(target) == _head(source)
    assert _media(target) == _media(source)
    assert target.django(WRITE_AFTER) > 0


def test_a_backup_taken_while_writers_commit_is_one_consistent_snapshot(
    migrated_site, empty_site, tmp_path
):
    stop = tmp_path / "stop-writer"
    writer = migrated_site.start("shell", "-c", WRITER.format(stop=str(stop)))
    entries = "from fenghuo.core.models import AuditEntry\nresult = AuditEntry.objects.count()"
    poll(lambda: migrated_site.django(entries) >= 200, "the writer to get going")
    before = migrated_site.django(entries)
    archive = tmp_path / "busy"
    try:
        _ok(migrated_site.call("backup", str(archive)), "backup")
    finally:
        stop.touch()
    writer.wait_for(r"WRITER-DONE (\d+)")
    after = migrated_site.django(entries)
    audit = _read_manifest(archive)["audit"]
    seq = audit["seq"]
    assert before <= seq < after  # taken in the middle of the writes
    rows = {t["table"]: t["rows"] for t in _read_manifest(archive)["tables"]}
    # Every entry in the snapshot is either linked (up to the head) or counted as unlinked.
    assert rows["core_auditentry"] == seq + audit["unlinked"]

    _ok(empty_site.call("restore", str(archive)), "restore")
    assert empty_site.django(entries) == rows["core_auditentry"]
    _head(empty_site)  # verify-audit links what was unlinked, and the chain holds


def test_restore_refuses_a_non_empty_installation(migrated_site, empty_site, tmp_path):
    _used(migrated_site)
    archive = tmp_path / "backup"
    _ok(migrated_site.call("backup", str(archive)), "backup")
    counts = migrated_site.django(COUNTS)

    error = _refused(migrated_site.call("restore", str(archive)))
    assert "目标安装不是空的" in error and "个单位" in error and "条审计记录" in error
    assert migrated_site.django(COUNTS) == counts

    # An empty database but attachments left in the data folder: refused too.
    (empty_site.data_dir / "media" / "attachments").mkdir(parents=True)
    (empty_site.data_dir / "media" / "attachments" / "old.png").write_bytes(png(1))
    error = _refused(empty_site.call("restore", str(archive)))
    assert "目标安装不是空的" in error and "media/attachments/old.png" in error


def test_restore_refuses_damaged_or_mismatched_archives(migrated_site, empty_site, tmp_path):
    migrated_site.django(
        "from fenghuo.core.services import audit_record\n"
        "for n in range(5):\n"
        "    audit_record(actor=None, action='t', object_type='t', object_id=n, after={'n': n})\n"
    )
    good = tmp_path / "good"
    _ok(migrated_site.call("backup", str(good)), "backup")
    units = "from fenghuo.org.models import Unit\nresult = Unit.objects.count()"

    def variant(name: str) -> Path:
        copy = tmp_path / name
        shutil.copytree(good, copy)
        return copy

    def refused(archive: Path) -> str:
        return _refused(empty_site.call("restore", str(archive)))

    # Not a backup at all.
    (tmp_path / "empty").mkdir()
    assert "不是烽火备份" in refused(tmp_path / "empty")
    (tmp_path / "random.tar").write_bytes(b"not a tar file" * 100)
    assert "不是烽火备份或已损坏" in refused(tmp_path / "random.tar")
    assert "不存在" in refused(tmp_path / "nowhere")

    # A table file damaged on disk: its checksum no longer matches.
    damaged = variant("damaged")
    table = damaged / "db" / "core.auditentry.jsonl.gz"
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0xFF
    table.write_bytes(bytes(data))
    assert "db/core.auditentry.jsonl.gz 校验和不符" in refused(damaged)

    # A missing member.
    missing = variant("missing")
    (missing / "db" / "org.unit.jsonl.gz").unlink()
    assert "缺少 db/org.unit.jsonl.gz" in refused(missing)

    # The manifest edited by hand (its digest no longer matches).
    edited = variant("edited")
    manifest = _read_manifest(edited)
    manifest["audit"]["seq"] = 1
    (edited / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    assert "清单被修改或已损坏" in refused(edited)

    # A backup from a newer version: a migration this code does not have.
    newer = variant("newer")
    manifest = _read_manifest(newer)
    manifest["migrations"].append(["core", "9999_from_the_future"])
    _write_manifest(newer, manifest)
    error = refused(newer)
    assert "备份来自更新的烽火版本" in error and "core.9999_from_the_future" in error

    # A truncated tar file.
    whole = tmp_path / "whole.tar"
    _ok(migrated_site.call("backup", str(whole)), "backup")
    cut = tmp_path / "cut.tar"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert re.search("不是烽火备份|已损坏|不完整", refused(cut))

    assert not _has_tables(empty_site)  # checked before anything was written

    # Consistent checksums, tampered content: an audit entry rewritten and its file's
    # checksum recomputed. The load is rolled back, and the target stays empty.
    tampered = variant("tampered")
    table = tampered / "db" / "core.auditentry.jsonl.gz"
    manifest = _read_manifest(tampered)
    columns = next(t["columns"] for t in manifest["tables"] if t["model"] == "core.auditentry")
    lines = gzip.decompress(table.read_bytes()).decode().splitlines()
    row = json.loads(lines[2])
    row[columns.index("action")] = "tampered"
    lines[2] = json.dumps(row, ensure_ascii=False)
    table.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    with table.open("rb") as handle:
        next(t for t in manifest["tables"] if t["model"] == "core.auditentry")["sha256"] = (
            sha256_of(handle)
        )
    _write_manifest(tampered, manifest)
    error = refused(tampered)
    assert "审计链在第 3 条断开" in error and "被篡改" in error
    assert empty_site.django(units) == 0
    entries = "from fenghuo.core.models import AuditEntry\nresult = AuditEntry.objects.count()"
    assert empty_site.django(entries) == 0

    # Rows missing from a table whose checksum was recomputed: counts disagree.
    short = variant("short")
    table = short / "db" / "core.auditentry.jsonl.gz"
    manifest = _read_manifest(short)
    lines = gzip.decompress(table.read_bytes()).decode().splitlines()
    table.write_bytes(gzip.compress(("\n".join(lines[:-1]) + "\n").encode()))
    with table.open("rb") as handle:
        next(t for t in manifest["tables"] if t["model"] == "core.auditentry")["sha256"] = (
            sha256_of(handle)
        )
    _write_manifest(short, manifest)
    assert "core_auditentry 表载入 4 行，与备份清单记录的 5 行不符" in refused(short)
    assert empty_site.django(entries) == 0

    # The good one still restores into the same target after all these refusals.
    _ok(empty_site.call("restore", str(good)), "restore")
    assert empty_site.django(entries) == 5
    _head(empty_site)


def _has_tables(site: Site) -> bool:
    return "org_unit" in site.django(
        "from django.db import connection\nresult = connection.introspection.table_names()"
    )


def test_backup_refuses_an_existing_target_and_an_uninitialised_database(site, tmp_path):
    (tmp_path / "exists").mkdir()
    error = _refused(site.call("backup", str(tmp_path / "exists")))
    assert "已存在" in error
    error = _refused(site.call("backup", str(tmp_path / "new")))
    assert "数据库尚未初始化" in error
    assert not (tmp_path / "new").exists() and not (tmp_path / "new.partial").exists()
