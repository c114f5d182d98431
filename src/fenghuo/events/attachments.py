"""Checking and storing report attachments.

The type is read from the content (magic numbers, via the `filetype` library: pure Python,
no libmagic to install), never from the file name or the browser's Content-Type: a program
renamed to 现场.jpg is refused. Only the formats a duty office opens are accepted; plain
text has no magic number, so a .txt is accepted when it decodes as UTF-8 or GB 18030.
"""

import hashlib
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO

import filetype
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.http import FileResponse

from fenghuo.events.models import Attachment

# extension as `filetype` names it → (kind, MIME type we serve it with)
ACCEPTED: dict[str, tuple[str, str]] = {
    "jpg": ("image", "image/jpeg"),
    "png": ("image", "image/png"),
    "gif": ("image", "image/gif"),
    "webp": ("image", "image/webp"),
    "heic": ("image", "image/heic"),
    "bmp": ("image", "image/bmp"),
    "tif": ("image", "image/tiff"),
    "mp3": ("audio", "audio/mpeg"),
    "m4a": ("audio", "audio/mp4"),
    "wav": ("audio", "audio/wav"),
    "amr": ("audio", "audio/amr"),  # phone recorders
    "aac": ("audio", "audio/aac"),
    "ogg": ("audio", "audio/ogg"),
    "flac": ("audio", "audio/flac"),
    "mp4": ("video", "video/mp4"),
    "mov": ("video", "video/quicktime"),
    "m4v": ("video", "video/x-m4v"),
    "3gp": ("video", "video/3gpp"),
    "avi": ("video", "video/x-msvideo"),
    "mkv": ("video", "video/x-matroska"),
    "webm": ("video", "video/webm"),
    "wmv": ("video", "video/x-ms-wmv"),
    "flv": ("video", "video/x-flv"),
    "pdf": ("document", "application/pdf"),
    "doc": ("document", "application/msword"),
    "docx": (
        "document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "xls": ("document", "application/vnd.ms-excel"),
    "xlsx": ("document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "ppt": ("document", "application/vnd.ms-powerpoint"),
    "pptx": (
        "document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    "odt": ("document", "application/vnd.oasis.opendocument.text"),
    "ods": ("document", "application/vnd.oasis.opendocument.spreadsheet"),
    "rtf": ("document", "application/rtf"),
    "txt": ("document", "text/plain; charset=utf-8"),
}
KIND_NAMES = {"image": "图片", "audio": "音频", "video": "视频", "document": "文档"}
SNIFF_BYTES = 8192
TEXT_PROBE_BYTES = 1 << 20


class Refused(ValueError):
    """The file cannot be accepted; the message says why, in Chinese."""


@dataclass(frozen=True)
class Checked:
    name: str
    kind: str
    content_type: str
    size: int
    sha256: str
    extension: str


def clean_name(name: str) -> str:
    """The file's own name without any folder part, at most 200 characters."""
    base = PurePath((name or "").replace("\\", "/")).name.strip() or "附件"
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 199 - len(ext)] + dot + ext) if dot and len(ext) < 20 else base[:200]
    return base


def _is_text(stream: IO[bytes]) -> bool:
    stream.seek(0)
    data = stream.read(TEXT_PROBE_BYTES)
    if b"\x00" in data:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False


def check(stream: IO[bytes], name: str, size: int) -> Checked:
    """Type by content, size by kind, digest; raises Refused with the reason."""
    display = clean_name(name)
    if size <= 0:
        raise Refused(f"{display}：文件为空")
    stream.seek(0)
    guess = filetype.guess(stream.read(SNIFF_BYTES))
    extension = guess.extension if guess else ""
    if not extension and display.lower().endswith(".txt") and _is_text(stream):
        extension = "txt"
    if extension not in ACCEPTED:
        shown = f"（内容为 {extension} 格式）" if extension else ""
        raise Refused(
            f"{display}：不支持的文件类型{shown}。可上传图片、音频、视频、PDF/Word/Excel 等文档"
        )
    kind, content_type = ACCEPTED[extension]
    limit_mb = settings.FENGHUO_ATTACHMENT_MAX_MB[kind]
    if size > limit_mb * 1024 * 1024:
        raise Refused(f"{display}：{KIND_NAMES[kind]}不能超过 {limit_mb} MB")
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    stream.seek(0)
    return Checked(display, kind, content_type, size, digest.hexdigest(), extension)


def store(stream: IO[bytes], checked: Checked) -> str:
    """Write the content under its digest (once) and return the storage name."""
    path = f"attachments/{checked.sha256[:2]}/{checked.sha256}.{checked.extension}"
    if not default_storage.exists(path):
        stream.seek(0)
        saved = default_storage.save(path, File(stream))
        if saved != path:  # a concurrent upload of the same content won the race
            default_storage.delete(saved)
    return path


def response(attachment: Attachment) -> FileResponse:
    """Pictures, sound and video open in the browser; documents download. The type is the
    one the content was checked as, and nosniff keeps the browser to it."""
    inline = attachment.kind in ("image", "audio", "video")
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not inline,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
