"""The backup archive: a folder, or the same folder as one uncompressed tar file.

    manifest.json                         what is inside, with counts and checksums
    db/<app>.<model>.jsonl.gz             one table: a JSON array of column values per line
    files/<path in the data folder>       attachments and the other files of the data folder

The tables are written in a portable form (JSON values, not one database's dump format),
so a backup of a SQLite installation restores into PostgreSQL and back. The tar form is
uncompressed because the table files are already gzip-compressed and attachments (images,
video) do not compress; uncompressed, the restore can seek to each member.

The manifest carries its own digest (SHA-256 of its canonical JSON without the digest), so
an edited or truncated manifest is refused like a damaged table file.
"""

import hashlib
import io
import json
import os
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

FORMAT = "fenghuo-backup"
VERSION = 1
MANIFEST = "manifest.json"
TAR_SUFFIXES = (".tar",)


class ArchiveError(Exception):
    """A backup that cannot be written or read; the message is for the operator (Chinese)."""


def sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def manifest_digest(manifest: dict[str, Any]) -> str:
    body = {key: value for key, value in manifest.items() if key != "digest"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_tar_path(path: Path) -> bool:
    return path.name.endswith(TAR_SUFFIXES)


# ---------------------------------------------------------------------------- writing


class Writer:
    """Writes an archive under `<target>.partial`, renamed to `target` when complete, so an
    interrupted backup never leaves something that looks finished."""

    def __init__(self, target: Path) -> None:
        if target.exists():
            raise ArchiveError(f"备份目标 {target} 已存在，请换一个新的文件名或文件夹名。")
        if not target.parent.is_dir():
            raise ArchiveError(f"备份目标所在的文件夹 {target.parent} 不存在。")
        self.target = target
        self.partial = target.with_name(target.name + ".partial")
        if self.partial.exists():  # left by an interrupted backup
            self._remove(self.partial)

    def scratch(self) -> Path:
        """A folder for temporary files beside the target (same file system)."""
        path = self.target.with_name(self.target.name + ".scratch")
        path.mkdir(exist_ok=True)
        return path

    def add_file(self, source: Path, name: str, *, move: bool = False) -> None:
        raise NotImplementedError

    def add_bytes(self, data: bytes, name: str) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        shutil.rmtree(self.target.with_name(self.target.name + ".scratch"), ignore_errors=True)
        self.partial.rename(self.target)

    def abort(self) -> None:
        shutil.rmtree(self.target.with_name(self.target.name + ".scratch"), ignore_errors=True)
        self._remove(self.partial)

    @staticmethod
    def _remove(path: Path) -> None:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


class FolderWriter(Writer):
    def __init__(self, target: Path) -> None:
        super().__init__(target)
        self.partial.mkdir(mode=0o700)  # everything, keys included: for its owner only

    def add_file(self, source: Path, name: str, *, move: bool = False) -> None:
        destination = self.partial / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if move:
            source.rename(destination)
        else:
            shutil.copyfile(source, destination)

    def add_bytes(self, data: bytes, name: str) -> None:
        destination = self.partial / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)


class TarWriter(Writer):
    def __init__(self, target: Path) -> None:
        super().__init__(target)
        self.tar = tarfile.open(self.partial, "w", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        os.chmod(self.partial, 0o600)  # everything, keys included: for its owner only

    def add_file(self, source: Path, name: str, *, move: bool = False) -> None:
        info = self.tar.gettarinfo(str(source), arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        with source.open("rb") as handle:
            self.tar.addfile(info, handle)
        if move:
            source.unlink()

    def add_bytes(self, data: bytes, name: str) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o600
        self.tar.addfile(info, io.BytesIO(data))

    def finish(self) -> None:
        self.tar.close()
        super().finish()

    def abort(self) -> None:
        self.tar.close()
        super().abort()


def writer_for(target: Path) -> Writer:
    return TarWriter(target) if is_tar_path(target) else FolderWriter(target)


# ---------------------------------------------------------------------------- reading


class Reader:
    """Reads an archive written by `Writer`, checking what it reads against the manifest."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.manifest = self._read_manifest()

    def open(self, name: str) -> IO[bytes]:
        raise NotImplementedError

    def names(self) -> set[str]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def _read_manifest(self) -> dict[str, Any]:
        try:
            with self.open(MANIFEST) as handle:
                manifest = json.loads(handle.read().decode("utf-8"))
        except (KeyError, FileNotFoundError):
            raise ArchiveError(f"{self.source} 不是烽火备份：找不到 {MANIFEST}。") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ArchiveError(f"备份清单 {MANIFEST} 已损坏，无法读取：{exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ArchiveError(f"{self.source} 不是烽火备份：清单格式不符。")
        if manifest.get("version") != VERSION:
            raise ArchiveError(
                f"备份格式版本为 {manifest.get('version')}，本程序只能读取版本 {VERSION}。"
            )
        if manifest.get("digest") != manifest_digest(manifest):
            raise ArchiveError(f"备份清单 {MANIFEST} 的校验值不符：清单被修改或已损坏。")
        return manifest

    def verify(self, name: str, expected: str) -> None:
        """Refuse a member whose SHA-256 is not the manifest's."""
        try:
            with self.open(name) as handle:
                actual = sha256_of(handle)
        except (KeyError, FileNotFoundError):
            raise ArchiveError(f"备份不完整：缺少 {name}。") from None
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise ArchiveError(f"备份中的 {name} 无法读取（已损坏）：{exc}") from None
        if actual != expected:
            raise ArchiveError(f"备份中的 {name} 校验和不符：文件已损坏或被替换。")


class FolderReader(Reader):
    def open(self, name: str) -> IO[bytes]:
        return (self.source / name).open("rb")

    def names(self) -> set[str]:
        return {
            path.relative_to(self.source).as_posix()
            for path in self.source.rglob("*")
            if path.is_file()
        }


class TarReader(Reader):
    def __init__(self, source: Path) -> None:
        try:
            self.tar = tarfile.open(source, "r:")  # noqa: SIM115 - closed by close()
        except (tarfile.TarError, OSError) as exc:
            raise ArchiveError(f"{source} 不是烽火备份或已损坏：{exc}") from None
        try:
            super().__init__(source)
        except ArchiveError:
            self.tar.close()
            raise

    def open(self, name: str) -> IO[bytes]:
        try:
            member = self.tar.getmember(name)
        except tarfile.TarError as exc:
            raise ArchiveError(f"备份文件已损坏：{exc}") from None
        handle = self.tar.extractfile(member)
        if handle is None:
            raise KeyError(name)
        return handle

    def names(self) -> set[str]:
        return {member.name for member in self.tar.getmembers() if member.isfile()}

    def close(self) -> None:
        self.tar.close()


def reader_for(source: Path) -> Reader:
    if not source.exists():
        raise ArchiveError(f"备份 {source} 不存在。")
    if source.is_dir():
        return FolderReader(source)
    return TarReader(source)


def files_under(root: Path) -> Iterator[Path]:
    """Every regular file under `root`, in a stable order."""
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path
