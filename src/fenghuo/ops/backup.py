"""`fenghuo backup` and `fenghuo restore`: a consistent snapshot of the database and the
data folder, and its restore into an empty installation.

Design (see docs/operations.md for the operator's side):

- **A Django-level dump, not pg_dump or a copy of the SQLite file.** Every table of every
  installed app is read through the ORM inside one snapshot and written as JSON values
  (`archive.py`). The same archive restores into SQLite or PostgreSQL, so a one-machine
  installation can move to PostgreSQL by backup and restore; nothing but Fenghuo itself is
  needed on the machine (pg_dump must match the server's major version and is often not
  installed where the application runs). The price is speed: every value goes through its
  field's conversions (measured on the shared 2-core machine under load: a 14-column table
  with JSON and dates dumps at ~8,000 rows/s and loads at ~4,500 rows/s), far below
  pg_dump; for very large installations PostgreSQL's own base backups and WAL archiving are
  the complement (docs/operations.md).
- **One snapshot.** PostgreSQL: a READ ONLY transaction at REPEATABLE READ, so every table
  and the audit chain's head are read as of one moment while writers go on. SQLite: a
  deferred read transaction on a connection of its own; in WAL mode (which settings.py
  always sets) it sees one snapshot until it ends and blocks no writer (the default
  connection's IMMEDIATE mode would take the write lock for the whole backup).
- **Tables as of the recorded migrations.** The backup stores which migrations were
  applied and reads the tables through the models of exactly that migration state
  (historical models, as migrations use). A restore migrates the empty target to that state,
  loads the rows, checks them, and only then migrates to the code's latest state, so a
  backup made before an upgrade restores after it.
- **Checked before and after.** Every member's SHA-256 is checked before anything is
  written; the rows are loaded in one transaction that is rolled back unless every table
  has the manifest's row count and the audit chain verifies up to the manifest's head.
- Files: the data folder (attachments under media/, the generated secret_key, anything
  else put there) except the SQLite database files, collected static files and hidden
  temporary files. Attachments are stored under their SHA-256 and never rewritten, so
  copying them after the snapshot gives every file the snapshot refers to.

Not in the archive: the full-text search index (raw tables derived from the reports; it is
rebuilt after the restore) and django_migrations (the manifest lists the applied ones).
"""

import base64
import contextlib
import copy
import gzip
import hashlib
import json
import os
import shutil
import socket
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils.duration import duration_string

from fenghuo.core import clock
from fenghuo.core.services import audit_chain_pending
from fenghuo.ops.archive import (
    FORMAT,
    MANIFEST,
    VERSION,
    ArchiveError,
    Reader,
    files_under,
    manifest_digest,
    reader_for,
    sha256_of,
    writer_for,
)

# progress(message, detail=False): a line for the operator; detail lines (one per table)
# are shown with -v 2.
Progress = Callable[..., None]
SNAPSHOT_ALIAS = "fenghuo_backup_snapshot"
BATCH = 1000
# The tables that show whether an installation holds data: every person's write is in
# the audit chain, and nothing else exists without units and people. Migrations fill
# other tables (categories, criteria presets …), so "no rows anywhere" is not the test.
ROOT_TABLES = {"org.Unit": "个单位", "org.Person": "名人员", "core.AuditEntry": "条审计记录"}
SECRET_KEY_FILE = "secret_key"


def _quiet(message: str, detail: bool = False) -> None:
    pass


# ---------------------------------------------------------------------------- values


def _encode(value: Any) -> Any:
    """JSON for the values a row can hold that JSON has no type for (read back per field
    by `Field.to_python`)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return duration_string(value)
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot store {type(value).__name__} in a backup")


def _db_value(field: models.Field, value: Any, connection) -> Any:
    if value is None:
        if isinstance(field, models.JSONField) and not field.null:
            return connection.ops.adapt_json_value(None, field.encoder)  # JSON null
        return None
    return field.get_db_prep_save(field.to_python(value), connection)


# ---------------------------------------------------------------------------- migration state


def _applied(connection) -> set[tuple[str, str]]:
    recorder = MigrationRecorder(connection)
    return set(recorder.applied_migrations()) if recorder.has_table() else set()


NEWER_BACKUP = (
    "备份来自更新的烽火版本：本版本没有这些数据库迁移：{names}。请用不低于备份时的版本恢复。"
)
NEWER_DATABASE = "数据库已由更新版本的烽火迁移（本版本没有这些迁移：{names}），请用该版本备份。"


def _state_models(
    nodes: set[tuple[str, str]], unknown_message: str = NEWER_BACKUP
) -> list[type[models.Model]]:
    """The concrete tables of the migration state `nodes` (historical models)."""
    if not nodes:
        return []
    loader = MigrationLoader(None, ignore_no_migrations=True)
    unknown = sorted(nodes - set(loader.graph.nodes))
    if unknown:
        names = "、".join(f"{app}.{name}" for app, name in unknown[:5])
        raise ArchiveError(
            unknown_message.format(names=names + (" 等" if len(unknown) > 5 else ""))
        )
    apps = loader.project_state(sorted(nodes)).apps
    return sorted(
        (
            model
            for model in apps.get_models(include_auto_created=True)
            if model._meta.managed and not model._meta.proxy
        ),
        key=lambda model: model._meta.label_lower,
    )


def _columns(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


# ---------------------------------------------------------------------------- data folder


def _excluded_paths() -> list[Path]:
    """What in the data folder is not data: the SQLite files, collected static files,
    the web processes' metric files, the rate limits' counting files."""
    excluded = [Path(settings.STATIC_ROOT).resolve(), Path(settings.FENGHUO_METRICS_DIR)]
    ratelimit = settings.CACHES["ratelimit"]
    if ratelimit["BACKEND"].endswith("FileBasedCache"):
        excluded.append(Path(ratelimit["LOCATION"]).resolve())
    db = settings.DATABASES[DEFAULT_DB_ALIAS]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = Path(str(db["NAME"])).resolve()
        excluded += [name.with_name(name.name + suffix) for suffix in ("", "-wal", "-shm")]
        excluded.append(name.with_name(name.name + "-journal"))
    return excluded


def _data_files(skip: list[Path]) -> Iterator[tuple[Path, str]]:
    """(path, path relative to the data folder) of every file to back up."""
    root = Path(settings.DATA_DIR).resolve()
    excluded = _excluded_paths() + [path.resolve() for path in skip]
    for path in files_under(root):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue  # temporary files (.secret_key.*, restore staging)
        resolved = path.resolve()
        if any(resolved == ex or ex in resolved.parents for ex in excluded):
            continue
        yield path, relative.as_posix()


def _media_prefix() -> str:
    media = Path(settings.MEDIA_ROOT).resolve()
    return media.relative_to(Path(settings.DATA_DIR).resolve()).as_posix()


# ---------------------------------------------------------------------------- backup


@contextmanager
def _snapshot() -> Iterator[str]:
    """A connection alias inside one read-only snapshot of the default database."""
    base = connections[DEFAULT_DB_ALIAS]
    cloned = copy.deepcopy(base.settings_dict)
    options = cloned.setdefault("OPTIONS", {})
    if base.vendor == "sqlite":
        options["transaction_mode"] = "DEFERRED"
    options.pop("pool", None)  # one connection, not a second pool
    connections.settings[SNAPSHOT_ALIAS] = cloned
    try:
        with transaction.atomic(using=SNAPSHOT_ALIAS):
            with connections[SNAPSHOT_ALIAS].cursor() as cursor:
                if base.vendor == "postgresql":
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                else:
                    # The snapshot starts at the first read of the transaction.
                    cursor.execute("SELECT count(*) FROM sqlite_master")
            yield SNAPSHOT_ALIAS
    finally:
        connections[SNAPSHOT_ALIAS].close()
        del connections[SNAPSHOT_ALIAS]
        del connections.settings[SNAPSHOT_ALIAS]


def _dump_table(
    model: type[models.Model], alias: str, path: Path, media_prefix: str, referenced: set[str]
) -> int:
    fields = _columns(model)
    file_columns = [index for index, f in enumerate(fields) if isinstance(f, models.FileField)]
    rows = (
        model._base_manager.using(alias)
        .order_by("pk")
        .values_list(*[f.attname for f in fields])
        .iterator(chunk_size=2000)
    )
    count = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=3) as out:
        for row in rows:
            out.write(json.dumps(row, default=_encode, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            for index in file_columns:
                if row[index]:
                    referenced.add(f"{media_prefix}/{row[index]}")
            count += 1
    return count


def _audit_head(alias: str) -> dict[str, Any]:
    """The chain's head in the snapshot, and how many entries in it were not linked yet
    (written while another transaction held the head; the restored worker links them)."""
    quote = connections[alias].ops.quote_name
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT seq, hash FROM {quote('core_audithead')} WHERE id = 1")  # noqa: S608
        row = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FROM {quote('core_auditentry')} WHERE seq IS NULL")  # noqa: S608
        unlinked = cursor.fetchone()[0]
    head = {"seq": row[0], "hash": row[1]} if row else {"seq": 0, "hash": "0" * 64}
    return {**head, "unlinked": unlinked}


def _version() -> str:
    try:
        return metadata.version("fenghuo")
    except metadata.PackageNotFoundError:
        return "unknown"


def create_backup(target: Path, progress: Progress = _quiet) -> dict[str, Any]:
    """Write a backup of this installation to `target` (a new folder, or a `.tar` file);
    the manifest."""
    target = Path(target).resolve()
    writer = writer_for(target)
    try:
        scratch = writer.scratch()
        media_prefix = _media_prefix()
        referenced: set[str] = set()
        tables = []
        # So the snapshot's chain covers every entry committed so far. A database not
        # migrated (yet) fails here and is reported by the snapshot below.
        with contextlib.suppress(DatabaseError):
            audit_chain_pending()
        with _snapshot() as alias:
            connection = connections[alias]
            started = clock.now()
            nodes = _applied(connection)
            if not nodes:
                raise ArchiveError(
                    "数据库尚未初始化（没有执行过 fenghuo migrate），没有可备份的数据。"
                )
            existing = set(connection.introspection.table_names())
            for model in _state_models(nodes, NEWER_DATABASE):
                if model._meta.db_table not in existing:
                    continue  # an app whose migrations never created this table
                name = f"db/{model._meta.label_lower}.jsonl.gz"
                temp = scratch / f"{model._meta.label_lower}.jsonl.gz"
                rows = _dump_table(model, alias, temp, media_prefix, referenced)
                with temp.open("rb") as handle:
                    digest = sha256_of(handle)
                tables.append(
                    {
                        "model": model._meta.label_lower,
                        "table": model._meta.db_table,
                        "columns": [f.attname for f in _columns(model)],
                        "rows": rows,
                        "file": name,
                        "sha256": digest,
                        "bytes": temp.stat().st_size,
                    }
                )
                writer.add_file(temp, name, move=True)
                if rows:
                    progress(f"  {model._meta.db_table}：{rows} 行", detail=True)
            audit = _audit_head(alias)
        progress(f"数据库快照完成：{len(tables)} 张表，{sum(t['rows'] for t in tables)} 行")

        files = []
        skip = [target, writer.partial, scratch]
        for path, relative in _data_files(skip):
            try:
                with path.open("rb") as handle:
                    digest = sha256_of(handle)
                writer.add_file(path, f"files/{relative}")
            except FileNotFoundError:
                continue  # removed while we walked (not an attachment: those never are)
            files.append({"path": relative, "sha256": digest, "bytes": path.stat().st_size})
        copied = {entry["path"] for entry in files}
        missing = sorted(referenced - copied)
        progress(f"数据文件：{len(files)} 个")
        if missing:
            progress(f"警告：数据库引用的 {len(missing)} 个附件在数据目录中不存在：{missing[:5]}")

        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": started.isoformat(),
            "fenghuo_version": _version(),
            "source": {
                "engine": connections[DEFAULT_DB_ALIAS].vendor,
                "hostname": socket.gethostname(),
            },
            "migrations": sorted([app, name] for app, name in nodes),
            "audit": audit,
            "tables": tables,
            "files": files,
            "missing_files": missing,
        }
        manifest["digest"] = manifest_digest(manifest)
        writer.add_bytes(
            json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"), MANIFEST
        )
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    return manifest


# ---------------------------------------------------------------------------- restore


@dataclass
class RestoreResult:
    tables: int
    rows: int
    files: int
    audit_seq: int
    audit_hash: str
    migrated_after: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)


def _refuse_non_empty(connection, data_files: list[str]) -> None:
    from django.apps import apps

    existing = set(connection.introspection.table_names())
    found = []
    for label, noun in ROOT_TABLES.items():
        model = apps.get_model(label)
        if model._meta.db_table in existing:
            count = model._base_manager.using(connection.alias).count()
            if count:
                found.append(f"{count} {noun}")
    if data_files:
        found.append(f"数据目录中 {len(data_files)} 个文件（如 {data_files[0]}）")
    if found:
        raise ArchiveError(
            "目标安装不是空的：已有 " + "、".join(found) + "。"
            "恢复只能在空的安装上进行（新的数据目录和新建的空数据库），以免覆盖现有数据。"
        )


def _leaves(nodes: set[tuple[str, str]], loader: MigrationLoader) -> list[tuple[str, str]]:
    """The last migration of each app within `nodes`."""
    leaves = []
    for node in nodes:
        children = loader.graph.node_map[node].children
        if not any(child in nodes and child[0] == node[0] for child in children):
            leaves.append(node)
    return sorted(leaves)


def _migrate_to(connection, nodes: set[tuple[str, str]], progress: Progress) -> None:
    """Bring an empty target to the backup's migration state (never backwards)."""
    applied = _applied(connection)
    ahead = sorted(applied - nodes)
    if ahead:
        names = "、".join(f"{app}.{name}" for app, name in ahead[:5])
        raise ArchiveError(
            f"目标数据库已执行了备份中没有的迁移（{names}），比备份更新。"
            "请在新建的空数据库上恢复（不要先执行 fenghuo migrate）：恢复程序会先迁移到备份时的"
            "版本，载入数据后再升级。"
        )
    executor = MigrationExecutor(connection)
    targets = _leaves(nodes, executor.loader)
    plan = executor.migration_plan(targets)
    if plan:
        progress(f"正在把目标数据库迁移到备份时的版本（{len(plan)} 个迁移）……")
        executor.migrate(targets, plan=plan)


def _load(
    reader: Reader, manifest: dict[str, Any], connection, progress: Progress
) -> tuple[int, int]:
    nodes = {tuple(node) for node in manifest["migrations"]}
    state = {model._meta.label_lower: model for model in _state_models(nodes)}
    existing = set(connection.introspection.table_names())
    quote = connection.ops.quote_name
    loaded = []
    with connection.cursor() as cursor:
        # Rows the target's migrations wrote (categories, presets …) give way to the backup's.
        for model in state.values():
            if model._meta.db_table in existing:
                cursor.execute(f"DELETE FROM {quote(model._meta.db_table)}")  # noqa: S608
        for entry in manifest["tables"]:
            model = state.get(entry["model"])
            if model is None or model._meta.db_table not in existing:
                raise ArchiveError(f"备份中的表 {entry['table']} 与备份记录的迁移状态不一致。")
            by_attname = {f.attname: f for f in _columns(model)}
            if sorted(entry["columns"]) != sorted(by_attname):
                raise ArchiveError(f"备份中 {entry['table']} 表的列与其迁移状态不一致。")
            fields = [by_attname[name] for name in entry["columns"]]
            sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
                quote(model._meta.db_table),
                ", ".join(quote(f.column) for f in fields),
                ", ".join(["%s"] * len(fields)),
            )
            batch: list[list[Any]] = []
            with reader.open(entry["file"]) as raw, gzip.open(raw, "rt", encoding="utf-8") as rows:
                for line in rows:
                    values = json.loads(line)
                    batch.append(
                        [_db_value(f, v, connection) for f, v in zip(fields, values, strict=True)]
                    )
                    if len(batch) >= BATCH:
                        cursor.executemany(sql, batch)
                        batch.clear()
            if batch:
                cursor.executemany(sql, batch)
            cursor.execute(f"SELECT count(*) FROM {quote(model._meta.db_table)}")  # noqa: S608
            count = cursor.fetchone()[0]
            if count != entry["rows"]:
                raise ArchiveError(
                    f"{entry['table']} 表载入 {count} 行，与备份清单记录的 {entry['rows']} 行不符。"
                )
            loaded.append(model)
            if count:
                progress(f"  {entry['table']}：{count} 行", detail=True)
        for sql in connection.ops.sequence_reset_sql(no_style(), loaded):
            cursor.execute(sql)
    return len(loaded), sum(entry["rows"] for entry in manifest["tables"])


def _check_audit(manifest: dict[str, Any]) -> None:
    from fenghuo.core.selectors import verify_audit_chain

    result = verify_audit_chain()
    if not result.ok:
        raise ArchiveError(
            f"恢复后的审计链在第 {result.broken_seq} 条断开：{result.reason}。"
            "备份中的数据被篡改或已损坏。"
        )
    expected = manifest["audit"]
    if (result.checked, result.head_hash) != (expected["seq"], expected["hash"]):
        raise ArchiveError(
            f"恢复后的审计链（{result.checked} 条，链头 {result.head_hash[:12]}）与备份清单记录的"
            f"（{expected['seq']} 条，链头 {expected['hash'][:12]}）不符。"
        )


def _stage_files(reader: Reader, manifest: dict[str, Any], staging: Path) -> None:
    for entry in manifest["files"]:
        destination = staging / entry["path"]
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with reader.open(f"files/{entry['path']}") as source, destination.open("wb") as out:
            for chunk in iter(lambda source=source: source.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != entry["sha256"]:
            raise ArchiveError(f"备份中的文件 {entry['path']} 校验和不符：文件已损坏或被替换。")


def restore_backup(source: Path, progress: Progress = _quiet) -> RestoreResult:
    """Restore the backup at `source` into this installation, which must be empty."""
    reader = reader_for(Path(source).resolve())
    root = Path(settings.DATA_DIR).resolve()
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=root))
    try:
        manifest = reader.manifest
        connection = connections[DEFAULT_DB_ALIAS]
        present = [relative for _, relative in _data_files([staging])]
        _refuse_non_empty(connection, [p for p in present if p != SECRET_KEY_FILE])
        _state_models({tuple(node) for node in manifest["migrations"]})  # a newer backup?

        progress("正在校验备份……")
        for entry in manifest["tables"]:
            reader.verify(entry["file"], entry["sha256"])
        _stage_files(reader, manifest, staging)

        nodes = {tuple(node) for node in manifest["migrations"]}
        _migrate_to(connection, nodes, progress)
        progress("正在载入数据……")
        try:
            with transaction.atomic():
                tables, rows = _load(reader, manifest, connection, progress)
                _check_audit(manifest)
        except (OSError, EOFError, zlib.error, ValueError, ValidationError, DatabaseError) as exc:
            # A damaged table file that still matches its checksum (made so on purpose), or
            # rows the database refuses: nothing was kept.
            raise ArchiveError(f"载入备份数据失败，已全部撤销：{exc}") from exc

        for entry in manifest["files"]:
            destination = root / entry["path"]
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / entry["path"], destination)
            if entry["path"] == SECRET_KEY_FILE:
                destination.chmod(0o600)
        progress(f"数据文件：{len(manifest['files'])} 个")

        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        call_command("migrate", interactive=False, verbosity=0)
        if pending:
            progress(f"已把数据升级到本版本（{len(pending)} 个迁移）")
        rebuild_search_index()
        return RestoreResult(
            tables=tables,
            rows=rows,
            files=len(manifest["files"]),
            audit_seq=manifest["audit"]["seq"],
            audit_hash=manifest["audit"]["hash"],
            migrated_after=[f"{m.app_label}.{m.name}" for m, _ in pending],
            missing_files=manifest.get("missing_files", []),
        )
    finally:
        reader.close()
        shutil.rmtree(staging, ignore_errors=True)


def rebuild_search_index() -> int:
    """The full-text index is derived from the reports and not in the archive."""
    from fenghuo.events.search import rebuild_index

    with transaction.atomic():
        return rebuild_index(DEFAULT_DB_ALIAS)
