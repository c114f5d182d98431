"""Uploads are judged by their content, not their name, and served so a browser cannot be
made to run them (tests/events/test_attachments.py has the basics: an .exe named .jpg,
limits per kind and per report, clearance)."""

import io
import zipfile

import pytest

from fenghuo.events.models import Attachment
from tests.events.test_attachments import EXE, PDF, bearer, file_report, png, upload

pytestmark = pytest.mark.django_db

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
SCRIPT = b"#!/bin/sh\nrm -rf /\n"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.exe", EXE)
    return buffer.getvalue()


def _post(client, world, *files):
    report = file_report(world)
    return client.post(
        f"/api/reports/{report.pk}/attachments",
        {"files": list(files)},
        headers=bearer(world["token"]),
    )


@pytest.mark.parametrize(
    ("name", "content", "seen_as"),
    [
        ("现场.png", HTML, ""),
        ("现场.jpg", SVG, ""),
        ("情况说明.pdf", EXE, "exe"),
        ("情况说明.docx", _zip(), "zip"),
        ("录音.mp3", ELF, "elf"),
        ("视频.mp4", SCRIPT, ""),
        ("页面.html", HTML, ""),
        ("图.svg", SVG, ""),
    ],
)
def test_content_that_is_not_what_its_name_says_is_refused(client, world, name, content, seen_as):
    response = _post(client, world, upload(name, content))
    assert response.status_code == 422
    [message] = response.json()["errors"]["attachments"]
    assert message.startswith(f"{name}：不支持的文件类型")
    assert (f"（内容为 {seen_as} 格式）" in message) is bool(seen_as)
    assert not Attachment.objects.exists()


def test_markup_named_txt_is_kept_as_plain_text_and_downloaded(client, world):
    """Text is the one kind without magic numbers: it is served as text/plain, as a download,
    under a sandboxing policy of its own, so even a browser that sniffed would run nothing."""
    response = _post(client, world, upload("笔录.txt", HTML))
    assert response.status_code == 201, response.content
    [saved] = response.json()
    assert saved["content_type"] == "text/plain; charset=utf-8"
    served = client.get(saved["url"], headers=bearer(world["token"]))
    assert served["Content-Type"] == "text/plain; charset=utf-8"
    assert served["Content-Disposition"].startswith("attachment")
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_a_picture_keeps_its_type_whatever_it_is_called(client, world):
    response = _post(client, world, upload("看我.html", png()))
    assert response.status_code == 201
    [saved] = response.json()
    served = client.get(saved["url"], headers=bearer(world["token"]))
    assert served["Content-Type"] == "image/png"
    assert served["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_folder_parts_of_a_name_are_dropped_and_storage_is_by_digest(client, world):
    response = _post(client, world, upload("../../../etc/cron.d/现场.png", png(7)))
    assert response.status_code == 201
    attachment = Attachment.objects.get()
    assert attachment.name == "现场.png"
    assert attachment.file.name.startswith("attachments/") and ".." not in attachment.file.name


def test_size_over_the_kinds_limit_is_refused_over_the_api(client, world, settings):
    settings.FENGHUO_ATTACHMENT_MAX_MB = {"image": 1, "audio": 1, "video": 1, "document": 1}
    big = PDF + b"%" * (1024 * 1024)
    response = _post(client, world, upload("大文件.pdf", big), upload("小图.png", png()))
    assert response.status_code == 422
    assert response.json()["errors"]["attachments"] == ["大文件.pdf：文档不能超过 1 MB"]
    assert not Attachment.objects.exists()  # the good file is not kept either


def test_an_empty_file_is_refused(client, world):
    response = _post(client, world, upload("空.png", b""))
    assert response.status_code == 422
    assert response.json()["errors"]["attachments"][0].startswith("空.png：")
