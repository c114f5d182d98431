"""Bulk import from .xlsx and .csv: all or nothing unless asked, row-and-column errors,
re-import is a no-op, and the API with its template."""

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from fenghuo.core import clock
from fenghuo.events.models import Channel, Report, ReportStatus
from fenghuo.intake.api import XLSX_TYPE
from fenghuo.intake.models import ImportBatch, ImportedRow
from fenghuo.intake.services import import_reports
from fenghuo.org import services as org_services
from fenghuo.org.policy import principal_for

pytestmark = pytest.mark.django_db

HEADER = ["标题", "类别", "发生时间", "行政区划代码", "地点", "事件经过", "死亡", "受伤",
          "直接经济损失（万元）", "密级"]  # fmt: skip


# One moment for the whole module: rows built twice must be equal, even across a minute.
BASE = timezone.localtime(clock.now()).replace(tzinfo=None, second=0, microsecond=0)


def _rows():
    """Three reports from a county's monthly log: different events, different days."""
    base = BASE
    return [
        ["城关镇民房火灾", "火灾事故", base - timedelta(days=3), 990121, "城关镇东街",
         "民房起火，1 人受伤。", 0, 1, 12.5, "内部"],
        ["G320 国道两车相撞", "road_traffic", base - timedelta(days=2), "990121", "G320 国道 K15",
         "两车相撞，2 人死亡。", 2, 3, "", "公开"],
        ["江口水库死鱼", "环境污染和生态破坏", base - timedelta(days=1), 990121, "江口水库",
         "水库出现大面积死鱼。", "", "", 3, ""],
    ]  # fmt: skip


def _xlsx(rows, header=HEADER):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv(rows, header=HEADER, encoding="utf-8-sig"):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v for v in row]
        )
    return buffer.getvalue().encode(encoding)


def _bad_rows():
    rows = _rows()
    rows[1][1] = "交通"  # no such category
    rows[1][4] = ""  # 地点 missing
    rows[1][6] = "两个"  # not a number
    return rows


def _reporter(tree):
    return principal_for(tree["people"]["county_reporter"])


@pytest.mark.parametrize("make", [_xlsx, _csv])
def test_one_bad_row_imports_nothing_and_names_row_and_column(tree, make):
    result = import_reports(
        _reporter(tree), unit=tree["county"], filename=f"log.{make.__name__[1:]}",
        content=make(_bad_rows()),
    )  # fmt: skip
    assert not result.committed and result.imported == 0 and result.batch_id is None
    assert {(e["row"], e["column"], e["field"]) for e in result.errors} == {
        (3, "类别", "category"),
        (3, "死亡", "dead"),
        (3, "地点", "place"),
    }
    messages = {e["field"]: e["message"] for e in result.errors}
    assert messages == {
        "category": "未知的事件类别：交通",
        "dead": "死亡须为不小于 0 的整数",
        "place": "地点为必填项",
    }
    assert not Report.objects.exists() and not ImportBatch.objects.exists()


@pytest.mark.parametrize("make", [_xlsx, _csv])
def test_only_valid_imports_good_rows_and_reimport_is_a_no_op(tree, make):
    content = make(_bad_rows())
    name = f"log.{make.__name__[1:]}"
    result = import_reports(
        _reporter(tree), unit=tree["county"], filename=name, content=content, only_valid=True
    )
    assert result.committed and not result.replayed
    assert (result.total_rows, result.imported, result.skipped) == (3, 2, 0)
    assert {e["row"] for e in result.errors} == {3}
    reports = Report.objects.order_by("pk")
    assert [r.title for r in reports] == ["城关镇民房火灾", "江口水库死鱼"]
    assert all(r.channel == Channel.IMPORT and r.status == ReportStatus.SUBMITTED for r in reports)
    assert all(r.event_id for r in reports)
    fire = reports[0]
    assert fire.division_code == "990121" and str(fire.economic_loss) == "12.50"
    assert fire.unit == tree["county"] and fire.created_by == tree["people"]["county_reporter"]
    assert result.report_ids == [r.pk for r in reports]

    again = import_reports(
        _reporter(tree), unit=tree["county"], filename=name, content=content, only_valid=True
    )
    assert again.replayed and again.batch_id == result.batch_id
    assert again.report_ids == result.report_ids and again.errors == result.errors
    assert Report.objects.count() == 2 and ImportBatch.objects.count() == 1

    # The corrected file: only the fixed row is new; the other two are recognised.
    fixed = import_reports(
        _reporter(tree), unit=tree["county"], filename=name, content=make(_rows())
    )
    assert fixed.committed and (fixed.imported, fixed.skipped) == (1, 2)
    assert [n["row"] for n in fixed.notes] == [2, 4]
    assert Report.objects.count() == 3 and ImportedRow.objects.count() == 3


def test_same_rows_in_xlsx_and_csv_are_the_same_rows(tree):
    import_reports(_reporter(tree), unit=tree["county"], filename="a.xlsx", content=_xlsx(_rows()))
    second = import_reports(
        _reporter(tree), unit=tree["county"], filename="a.csv", content=_csv(_rows())
    )
    assert second.committed and second.imported == 0 and second.skipped == 3
    assert Report.objects.count() == 3


def test_gbk_csv_saved_by_excel(tree):
    rows = _rows()[:1]
    result = import_reports(
        _reporter(tree), unit=tree["county"], filename="旧系统导出.CSV",
        content=_csv(rows, encoding="gb18030"),
    )  # fmt: skip
    assert result.imported == 1, result.errors
    report = Report.objects.get()
    assert report.title == "城关镇民房火灾" and report.category.code == "fire"
    assert report.occurred_at == timezone.make_aware(rows[0][2])


def test_file_level_problems(tree):
    reporter = _reporter(tree)
    unknown = import_reports(
        reporter, unit=tree["county"], filename="x.xlsx",
        content=_xlsx(_rows(), header=[*HEADER[:-1], "保密等级"]), only_valid=True,
    )  # fmt: skip
    assert not unknown.committed
    assert unknown.errors == [
        {"row": 1, "column": "保密等级", "field": "", "message": "无法识别的列：保密等级"}
    ]
    missing = import_reports(
        reporter, unit=tree["county"], filename="x.csv",
        content=_csv([r[1:] for r in _rows()], header=HEADER[1:]),
    )  # fmt: skip
    assert [e["message"] for e in missing.errors] == ["缺少必填列：标题"]
    for filename, content, message in [
        ("x.xls", b"\xd0\xcf\x11\xe0", "不支持旧版 .xls 文件，请另存为 .xlsx"),
        ("x.xlsx", b"PK\x03\x04 broken", "无法读取文件，请使用导入模板（.xlsx）或 .csv"),
        ("x.csv", _csv([]), "文件中没有数据行"),
        ("x.pdf", b"%PDF", "仅支持 .xlsx 和 .csv 文件"),
    ]:
        result = import_reports(reporter, unit=tree["county"], filename=filename, content=content)
        assert [e["message"] for e in result.errors] == [message], filename
    assert not Report.objects.exists() and not ImportBatch.objects.exists()


def test_import_needs_the_right_to_report_for_the_unit(tree):
    with pytest.raises(PermissionDenied):
        import_reports(
            principal_for(tree["people"]["bureau_reporter"]),
            unit=tree["county"],
            filename="a.xlsx",
            content=_xlsx(_rows()),
        )


# --- the API -------------------------------------------------------------------------------


@pytest.fixture
def token(tree, system):
    _, plaintext = org_services.token_issue(system, unit=tree["county"], name="县级报送系统")
    return {"Authorization": f"Bearer {plaintext}"}


def _upload(client, headers, content, name="log.xlsx", **form):
    upload = SimpleUploadedFile(name, content)
    return client.post("/api/reports/import", {"file": upload, **form}, headers=headers)


def test_api_import_all_or_nothing_then_valid_rows_then_replay(client, token):
    content = _xlsx(_bad_rows())
    refused = _upload(client, token, content)
    assert refused.status_code == 422, refused.content
    body = refused.json()
    assert body["committed"] is False and body["imported"] == 0
    assert {(e["row"], e["column"]) for e in body["errors"]} == {
        (3, "类别"),
        (3, "地点"),
        (3, "死亡"),
    }
    assert not Report.objects.exists()

    partial = _upload(client, token, content, only_valid="true")
    assert partial.status_code == 201 and partial.json()["imported"] == 2

    replay = _upload(client, token, content, only_valid="true")
    assert replay.status_code == 200 and replay.json()["replayed"] is True
    assert replay.json()["report_ids"] == partial.json()["report_ids"]
    assert Report.objects.count() == 2


def test_api_unit_must_be_one_the_caller_may_report_for(client, token, tree):
    response = _upload(client, token, _xlsx(_rows()), unit_id=str(tree["city"].pk))
    assert response.status_code == 403
    missing = _upload(client, token, _xlsx(_rows()), unit_id="999999")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "unit_id"


def test_template_downloads_and_round_trips(client, token):
    response = client.get("/api/reports/import-template", headers=token)
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["报告", "填写说明", "类别"]
    header = [cell.value for cell in workbook["报告"][1]]
    assert header[:6] == ["标题*", "类别*", "发生时间*", "行政区划代码*", "地点*", "纬度"]
    assert "直接经济损失（万元）" in header and "事件经过*" in header
    assert any(row[1].value == "hazchem" for row in workbook["类别"].iter_rows(min_row=2))

    # Fill the template the way an office would, and import it.
    sheet = workbook["报告"]
    values = {
        "标题*": "江口县化工园区发生爆炸",
        "类别*": "危险化学品事故",
        "发生时间*": timezone.localtime(clock.now()).replace(tzinfo=None) - timedelta(hours=2),
        "行政区划代码*": "990121",
        "地点*": "江口县化工园区",
        "事件经过*": "一车间发生爆炸。",
        "死亡": 3,
        "紧急": "是",
        "可靠程度": "已核实",
    }
    sheet.append([values.get(h) for h in header])
    buffer = io.BytesIO()
    workbook.save(buffer)
    imported = _upload(client, token, buffer.getvalue(), name="模板.xlsx")
    assert imported.status_code == 201, imported.json()
    report = Report.objects.get()
    assert report.is_urgent and report.reliability == "confirmed" and report.dead == 3
