"""Report attachments: type by content, size by kind, all or nothing, one copy per content,
and read only with the report's clearance — through the API, the form and the event page."""

import io
import struct
import uuid
import zlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from docx import Document

from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services
from fenghuo.events.models import Attachment, Channel, Report, ReportKind, TimelineEntry
from fenghuo.org import services as org_services
from fenghuo.org.models import AdminLevel, Role
from fenghuo.org.policy import principal_for

pytestmark = pytest.mark.django_db


def png(seed: int = 0) -> bytes:
    """A real 1×1 PNG; `seed` changes the pixel, so the content (and digest) differs."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes([0, seed % 256, 0, 0]))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
WAV = b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + b"\x00" * 40


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(make_unit, make_person, system):
    city = make_unit(
        "临江市委办公室", level=AdminLevel.CITY, division_code="990100", is_receiving_office=True
    )
    county = make_unit("江口县委办公室", city, division_code="990121", is_receiving_office=True)
    bureau = make_unit("江口县应急管理局", county, kind="emergency", division_code="990121")
    other = make_unit("江口县卫生健康局", county, kind="health", division_code="990121")
    people = {
        "reporter": make_person("yjj_reporter", bureau, Role.REPORTER),
        "city_duty": make_person("city_duty", city, Role.DUTY_OFFICER),
        "city_analyst": make_person("city_analyst", city, Role.ANALYST),
        "other_reporter": make_person("health_reporter", other, Role.REPORTER),
    }
    _, token = org_services.token_issue(system, unit=bureau, name="应急局报送系统")
    _, other_token = org_services.token_issue(system, unit=other, name="卫健局报送系统")
    return {"bureau": bureau, "people": people, "token": token, "other_token": other_token}


def file_report(world, **data):
    reporter = world["people"]["reporter"]
    return services.file_report(
        principal_for(reporter),
        unit=world["bureau"],
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data={
            "title": "江口县化工园区发生爆炸",
            "category": EventCategory.objects.get(code="hazchem"),
            "occurred_at": clock.now() - timedelta(hours=1),
            "division_code": "990121",
            "place": "江口县化工园区临江化工厂",
            "narrative": "一车间发生爆炸，现场有人员被困。",
            **data,
        },
    ).report


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- the API


def test_unit_uploads_and_reads_back_through_the_api(client, world):
    report = file_report(world)
    response = client.post(
        f"/api/reports/{report.pk}/attachments",
        {"files": [upload("现场.png", png()), upload("情况说明.pdf", PDF)]},
        headers=bearer(world["token"]),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(a["name"], a["kind"], a["content_type"]) for a in body] == [
        ("现场.png", "image", "image/png"),
        ("情况说明.pdf", "document", "application/pdf"),
    ]
    listed = client.get(f"/api/reports/{report.pk}/attachments", headers=bearer(world["token"]))
    assert [a["id"] for a in listed.json()] == [a["id"] for a in body]

    picture = client.get(body[0]["url"], headers=bearer(world["token"]))
    assert picture.status_code == 200
    assert picture["Content-Type"] == "image/png"
    assert picture["X-Content-Type-Options"] == "nosniff"
    assert b"".join(picture.streaming_content) == png()
    document = client.get(body[1]["url"], headers=bearer(world["token"]))
    assert document["Content-Disposition"].startswith("attachment")


def test_type_is_read_from_the_content_not_the_name(client, world):
    """A program renamed 现场.jpg is refused, and so is the good file sent with it."""
    report = file_report(world)
    response = client.post(
        f"/api/reports/{report.pk}/attachments",
        {"files": [upload("现场.jpg", EXE), upload("现场2.png", png())]},
        headers=bearer(world["token"]),
    )
    assert response.status_code == 422
    errors = response.json()["errors"]["attachments"]
    assert len(errors) == 1 and errors[0].startswith(
        "现场.jpg：不支持的文件类型（内容为 exe 格式）"
    )
    assert not Attachment.objects.exists()


def test_a_picture_named_txt_is_still_a_picture_and_text_needs_no_magic(world):
    report = file_report(world)
    reporter = principal_for(world["people"]["reporter"])
    saved = services.attach_files(
        reporter,
        report,
        [upload("看起来是文本.txt", png()), upload("值班记录.txt", "接报：化工厂爆炸".encode())],
    )
    assert [(a.kind, a.content_type) for a in saved] == [
        ("image", "image/png"),
        ("document", "text/plain; charset=utf-8"),
    ]
    with pytest.raises(services.ValidationError) as refused:
        services.attach_files(reporter, report, [upload("假图片.jpg", "只是文字".encode())])
    assert "假图片.jpg：不支持的文件类型" in refused.value.message_dict["attachments"][0]


def test_size_limit_is_per_kind(world, settings):
    settings.FENGHUO_ATTACHMENT_MAX_MB = {"image": 1, "audio": 50, "video": 300, "document": 50}
    report = file_report(world)
    reporter = principal_for(world["people"]["reporter"])
    big_picture = png() + b"\x00" * (1024 * 1024)
    with pytest.raises(services.ValidationError) as refused:
        services.attach_files(reporter, report, [upload("大图.png", big_picture)])
    assert refused.value.message_dict["attachments"] == ["大图.png：图片不能超过 1 MB"]
    big_recording = WAV + b"\x00" * (1024 * 1024)
    assert services.attach_files(reporter, report, [upload("录音.wav", big_recording)])[0].kind == (
        "audio"
    )


def test_the_same_content_twice_is_one_attachment(client, world):
    report = file_report(world)
    send = [upload("现场.png", png())]
    first = client.post(
        f"/api/reports/{report.pk}/attachments", {"files": send}, headers=bearer(world["token"])
    ).json()
    again = client.post(
        f"/api/reports/{report.pk}/attachments",
        {"files": [upload("重传.png", png())]},
        headers=bearer(world["token"]),
    ).json()
    assert again[0]["id"] == first[0]["id"]
    assert Attachment.objects.count() == 1


def test_count_limit_per_report(world, settings):
    settings.FENGHUO_ATTACHMENTS_PER_REPORT = 2
    report = file_report(world)
    reporter = principal_for(world["people"]["reporter"])
    services.attach_files(reporter, report, [upload("1.png", png(1)), upload("2.png", png(2))])
    with pytest.raises(services.ValidationError) as refused:
        services.attach_files(reporter, report, [upload("3.png", png(3))])
    assert refused.value.message_dict["attachments"] == ["每份报告最多 2 个附件（已有 2 个）"]


def test_only_the_filing_unit_adds_files(client, world):
    report = file_report(world)
    other = client.post(
        f"/api/reports/{report.pk}/attachments",
        {"files": [upload("x.png", png())]},
        headers=bearer(world["other_token"]),
    )
    assert other.status_code == 404  # cannot even see the report
    client.force_login(world["people"]["city_analyst"])
    reader = client.post(
        f"/api/reports/{report.pk}/attachments", {"files": [upload("x.png", png())]}
    )
    assert reader.status_code == 403  # may read it, may not add to another unit's report
    client.force_login(world["people"]["city_duty"])  # files on a unit's behalf (phone)
    duty = client.post(
        f"/api/reports/{report.pk}/attachments", {"files": [upload("录音.wav", WAV)]}
    )
    assert duty.status_code == 201
    assert list(Attachment.objects.values_list("name", flat=True)) == ["录音.wav"]


# ---------------------------------------------------------------- who may read


@pytest.mark.parametrize(
    ("mark", "who", "status"),
    [
        (Confidentiality.INTERNAL, "reporter", 200),
        (Confidentiality.INTERNAL, "city_duty", 200),
        (Confidentiality.INTERNAL, "city_analyst", 200),
        (Confidentiality.INTERNAL, "other_reporter", 404),
        (Confidentiality.SENSITIVE, "reporter", 200),
        (Confidentiality.SENSITIVE, "city_duty", 200),
        (Confidentiality.SENSITIVE, "city_analyst", 404),
        (Confidentiality.SENSITIVE, "other_reporter", 404),
    ],
)
def test_attachment_is_read_with_the_reports_clearance(client, world, mark, who, status):
    report = file_report(world, confidentiality=mark)
    reporter = principal_for(world["people"]["reporter"])
    attachment = services.attach_files(reporter, report, [upload("现场.png", png())])[0]
    client.force_login(world["people"][who])
    assert client.get(reverse("attachment", args=[attachment.pk])).status_code == status
    assert client.get(f"/api/attachments/{attachment.pk}").status_code == status
    listed = client.get(f"/api/reports/{report.pk}/attachments")
    assert listed.status_code == status


# ---------------------------------------------------------------- pages and documents


def _form(world, **values) -> dict:
    occurred = timezone.localtime(clock.now() - timedelta(hours=1))
    return {
        "idempotency_key": uuid.uuid4().hex,
        "unit": str(world["bureau"].pk),
        "kind": "first",
        "title": "江口县化工园区发生爆炸",
        "category": str(EventCategory.objects.get(code="hazchem").pk),
        "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M"),
        "division_code": "990121",
        "place": "江口县化工园区临江化工厂",
        "narrative": "一车间发生爆炸，现场有人员被困。",
        "confidentiality": "1",
        "reliability": "preliminary",
        "submit": "1",
        **values,
    }


def test_form_files_a_report_with_its_attachments(client, world):
    client.force_login(world["people"]["reporter"])
    data = _form(world, attachments=[upload("现场.png", png()), upload("说明.pdf", PDF)])
    response = client.post(reverse("report-new"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    report = Report.objects.get()
    assert sorted(report.attachments.values_list("name", flat=True)) == ["现场.png", "说明.pdf"]
    page = client.get(response["Location"]).content.decode()
    for attachment in report.attachments.all():
        assert reverse("attachment", args=[attachment.pk]) in page


def test_form_with_a_bad_file_saves_nothing_and_says_so_at_the_field(client, world):
    client.force_login(world["people"]["reporter"])
    data = _form(world, attachments=[upload("现场.jpg", EXE)])
    response = client.post(reverse("report-new"), data)
    assert response.status_code == 422
    page = response.content.decode()
    assert 'href="#field-attachments"' in page
    assert "现场.jpg：不支持的文件类型" in page
    assert "附件需要重新选择" in page
    assert not Report.objects.exists() and not Attachment.objects.exists()


def test_later_files_are_noted_on_the_timeline(client, world):
    report = file_report(world)
    client.force_login(world["people"]["reporter"])
    response = client.post(
        reverse("report-attachments", args=[report.pk]),
        {"attachments": [upload("补充照片.png", png(7))]},
    )
    assert response.status_code == 302
    line = TimelineEntry.objects.filter(event=report.event, report=report).last()
    assert line.text == "江口县应急管理局为首报补充附件：补充照片.png"
    client.force_login(world["people"]["city_analyst"])
    refused = client.post(
        reverse("report-attachments", args=[report.pk]),
        {"attachments": [upload("x.png", png(8))]},
    )
    assert refused.status_code == 302
    assert report.attachments.count() == 1


def test_word_document_lists_the_attachments(client, world):
    report = file_report(world)
    reporter = principal_for(world["people"]["reporter"])
    services.attach_files(reporter, report, [upload("现场.png", png()), upload("说明.pdf", PDF)])
    client.force_login(world["people"]["reporter"])
    response = client.get(f"/api/reports/{report.pk}/document.docx")
    text = [p.text for p in Document(io.BytesIO(response.content)).paragraphs]
    assert "附件：1. 现场.png" in text
    assert any(t.endswith("2. 说明.pdf") for t in text)
