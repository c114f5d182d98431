"""Bulk import of first reports (首报) from .xlsx or .csv: reading, column mapping,
value conversion, and the template. The writes are in `services.import_reports`.

The file: one sheet (the first) or one CSV table; the first non-empty row is the header,
every later non-empty row one report. Column names are Chinese, in any order; a trailing
"*" (the template marks required columns so) and spaces are ignored, and full-width or
half-width brackets are alike. CSV is read as UTF-8 (with or without BOM); a file Excel
saved as "CSV" in GBK/GB18030 is recognised too.

| 列名 | 必填 | 内容 |
| --- | --- | --- |
| 标题 | 是 | 不超过 200 字 |
| 类别 | 是 | 类别名称或代码，如 危险化学品事故 / hazchem（见模板“类别”表） |
| 发生时间 | 是 | 2026-11-23 09:10、2026/11/23 9:10、2026年11月23日9时10分 或 Excel 日期时间 |
| 行政区划代码 | 是 | 6 位数字（GB/T 2260） |
| 地点 | 是 | |
| 事件经过 | 是 | |
| 纬度、经度 | 否 | 小数 |
| 涉及人员/主体、原因、已采取措施、下一步工作、信息来源 | 否 | 文字 |
| 死亡、失踪、重伤、受伤、受影响人数、紧急疏散人数 | 否 | 不小于 0 的整数（可带“人”） |
| 直接经济损失（万元） | 否 | 不小于 0 的数字，单位万元 |
| 可靠程度 | 否 | 已核实 / 初步核实 / 未核实（默认初步核实） |
| 密级 | 否 | 公开 / 内部 / 敏感（默认内部） |
| 紧急 | 否 | 是 / 否 |
| 接报时间 | 否 | 补录时填原接报时间；不填为导入时间 |

Which columns are required follows the first-report rules in `events.services`
(`FENGHUO_REPORT_REQUIRED_FIELDS` can change them); the template marks them.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone

from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import EventCategory
from fenghuo.events.models import Reliability, ReportKind
from fenghuo.events.services import required_fields

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    kind: str  # text | code | int | decimal | float | datetime | category | choice | bool
    help: str = ""
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("标题", "title", "text", "不超过 200 字", ("事件标题", "事件名称")),
    Column("类别", "category", "category", "类别名称或代码，见“类别”表", ("事件类别",)),
    Column("发生时间", "occurred_at", "datetime", "如 2026-11-23 09:10", ("事发时间",)),
    Column("行政区划代码", "division_code", "code", "6 位数字（GB/T 2260）", ("区划代码",)),
    Column("地点", "place", "text", "", ("发生地点", "事发地点")),
    Column("纬度", "latitude", "float", "小数，如 28.1956"),
    Column("经度", "longitude", "float", "小数，如 112.9723"),
    Column("涉及人员/主体", "subjects", "text", "", ("涉及人员", "涉及主体")),
    Column("事件经过", "narrative", "text", "", ("基本情况", "事件概况")),
    Column("原因", "cause", "text", "首报可暂不填写", ("事件原因",)),
    Column("死亡", "dead", "int", "人数"),
    Column("失踪", "missing", "int", "人数"),
    Column("重伤", "seriously_injured", "int", "人数"),
    Column("受伤", "injured", "int", "人数"),
    Column("直接经济损失（万元）", "economic_loss", "decimal", "单位：万元", ("直接经济损失",)),
    Column("受影响人数", "affected", "int", "人数"),
    Column("紧急疏散人数", "evacuated", "int", "人数", ("疏散人数",)),
    Column("已采取措施", "measures", "text", "", ("采取措施", "处置措施")),
    Column("下一步工作", "next_steps", "text"),
    Column("信息来源", "source", "text"),
    Column("可靠程度", "reliability", "choice", "已核实 / 初步核实 / 未核实"),
    Column("密级", "confidentiality", "choice", "公开 / 内部 / 敏感"),
    Column("紧急", "is_urgent", "bool", "是 / 否"),
    Column("接报时间", "received_at", "datetime", "补录时填原接报时间；不填为导入时间"),
)
BY_FIELD = {c.field: c for c in COLUMNS}
CHOICES: dict[str, dict[str, Any]] = {
    "reliability": {
        **{label: value for value, label in Reliability.choices},
        **{value: value for value, _ in Reliability.choices},
    },
    "confidentiality": {
        **{label: value for value, label in Confidentiality.choices},
        **{str(value): value for value, _ in Confidentiality.choices},
    },
}
TRUE_WORDS = {"是", "y", "yes", "true", "1", "√", "紧急"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "×", ""}
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y年%m月%d日%H时%M分",
    "%Y年%m月%d日 %H时%M分",
    "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H时",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
)


def normalise_header(text: Any) -> str:
    value = str(text or "").replace("(", "（").replace(")", "）")
    return re.sub(r"[\s*＊]", "", value)


_HEADERS = {normalise_header(c.header): c for c in COLUMNS}
_HEADERS |= {normalise_header(a): c for c in COLUMNS for a in c.aliases}


@dataclass(frozen=True)
class RowError:
    row: int | None  # the row number as the spreadsheet shows it; None: the whole file
    column: str  # the Chinese column name, "" for the whole row or file
    field: str  # the report field, "" for the whole row or file
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class Table:
    columns: list[Column | None]
    rows: list[tuple[int, list[Any]]]
    errors: list[RowError]


def limits() -> tuple[int, int]:
    return (
        int(getattr(settings, "FENGHUO_IMPORT_MAX_BYTES", MAX_BYTES)),
        int(getattr(settings, "FENGHUO_IMPORT_MAX_ROWS", MAX_ROWS)),
    )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _csv_rows(content: bytes) -> list[list[Any]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("gb18030")
    return [list(row) for row in csv.reader(io.StringIO(text, newline=""))]


def read_table(filename: str, content: bytes) -> Table:
    """The header mapped to columns and the non-empty data rows, or file-level errors."""
    max_bytes, max_rows = limits()
    name = filename.lower()
    if len(content) > max_bytes:
        return Table([], [], [RowError(None, "", "", f"文件超过 {max_bytes // 1024 // 1024} MB")])
    try:
        if name.endswith(".xlsx") or (not name.endswith(".csv") and content[:4] == b"PK\x03\x04"):
            raw_rows = _xlsx_rows(content)
        elif name.endswith(".csv"):
            raw_rows = _csv_rows(content)
        elif name.endswith(".xls"):
            return Table([], [], [RowError(None, "", "", "不支持旧版 .xls 文件，请另存为 .xlsx")])
        else:
            return Table([], [], [RowError(None, "", "", "仅支持 .xlsx 和 .csv 文件")])
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, csv.Error, UnicodeDecodeError):
        message = "无法读取文件，请使用导入模板（.xlsx）或 .csv"
        return Table([], [], [RowError(None, "", "", message)])

    numbered = [
        (number, row)
        for number, row in enumerate(raw_rows, start=1)
        if any(not _blank(cell) for cell in row)
    ]
    if not numbered:
        return Table([], [], [RowError(None, "", "", "文件是空的")])
    header_row, header = numbered[0]
    errors: list[RowError] = []
    columns: list[Column | None] = []
    seen: dict[str, str] = {}
    for cell in header:
        if _blank(cell):
            columns.append(None)
            continue
        column = _HEADERS.get(normalise_header(cell))
        if column is None:
            errors.append(RowError(header_row, str(cell).strip(), "", f"无法识别的列：{cell}"))
        elif column.field in seen:
            errors.append(
                RowError(header_row, str(cell).strip(), column.field, f"列重复：{column.header}")
            )
        else:
            seen[column.field] = str(cell).strip()
        columns.append(column)
    for field in required_fields(ReportKind.FIRST):
        if field not in seen and field in BY_FIELD:
            header_text = BY_FIELD[field].header
            errors.append(RowError(header_row, header_text, field, f"缺少必填列：{header_text}"))
    rows = numbered[1:]
    if not rows and not errors:
        errors.append(RowError(header_row, "", "", "文件中没有数据行"))
    if len(rows) > max_rows:
        message = f"一次最多导入 {max_rows} 行，本文件有 {len(rows)} 行"
        errors.append(RowError(None, "", "", message))
    return Table(columns, rows, errors)


# --- values ---------------------------------------------------------------------------


class _Bad(ValueError):
    pass


def _aware(moment: datetime) -> datetime:
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, date):
        return _aware(datetime.combine(value, time()))
    text = " ".join(str(value).split())
    for pattern in DATETIME_FORMATS:
        try:
            return _aware(datetime.strptime(text, pattern))
        except ValueError:
            continue
    try:
        return _aware(datetime.fromisoformat(text))
    except ValueError:
        raise _Bad("{label}格式不正确，应如 2026-11-23 09:10") from None


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Bad("{label}须为不小于 0 的整数")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = re.sub(r"\s|人|名", "", str(value))
        if not re.fullmatch(r"-?\d+", text):
            raise _Bad("{label}须为不小于 0 的整数")
        number = int(text)
    if number < 0:
        raise _Bad("{label}须为不小于 0 的整数")
    return number


def _to_decimal(value: Any) -> Decimal:
    try:
        number = Decimal(str(value).replace(",", "").replace("万元", "").strip())
    except InvalidOperation:
        raise _Bad("{label}须为不小于 0 的数字（单位万元）") from None
    if not number.is_finite() or number < 0:
        raise _Bad("{label}须为不小于 0 的数字（单位万元）")
    return number


def _to_float(value: Any) -> float:
    try:
        return float(str(value).strip())
    except ValueError:
        raise _Bad("{label}须为数字") from None


def _to_code(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _to_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value).strip()


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _to_text(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise _Bad("{label}应填“是”或“否”")


def _category(value: Any, categories: dict[str, Any]) -> Any:
    key = normalise_header(_to_text(value)).replace(">", "›")
    found = categories.get(key) or categories.get(key.split("›")[-1])
    if found is None:
        raise _Bad(f"未知的事件类别：{_to_text(value)}")
    return found


def category_lookup() -> dict[str, Any]:
    """Category by code, by name and by "上级›名称" (all normalised like headers)."""
    lookup: dict[str, Any] = {}
    for category in EventCategory.objects.select_related("parent"):
        lookup[normalise_header(category.code)] = category
        lookup[normalise_header(category.code.lower())] = category
        lookup.setdefault(normalise_header(category.name), category)
        lookup[normalise_header(str(category))] = category
    return lookup


CONVERTERS = {
    "text": _to_text,
    "code": _to_code,
    "int": _to_int,
    "decimal": _to_decimal,
    "float": _to_float,
    "datetime": _to_datetime,
    "bool": _to_bool,
}


def convert_row(
    columns: list[Column | None], cells: list[Any], categories: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Model values for `file_report` and per-field errors (messages in Chinese)."""
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for column, value in zip(columns, cells, strict=False):
        if column is None or _blank(value):
            continue
        label = column.header
        try:
            if column.kind == "category":
                data[column.field] = _category(value, categories)
            elif column.kind == "choice":
                text = _to_text(value)
                if text not in CHOICES[column.field]:
                    raise _Bad(f"{{label}}应为：{column.help}")
                data[column.field] = CHOICES[column.field][text]
            else:
                data[column.field] = CONVERTERS[column.kind](value)
        except _Bad as exc:
            errors.setdefault(column.field, []).append(str(exc).replace("{label}", label))
    return data, errors


# --- the template ---------------------------------------------------------------------

TEMPLATE_NOTES = (
    "每行一份首报；第一行为列名，列的顺序可以调整，不需要的可选列可以删除。",
    "文件有错误时默认一行也不导入，并列出每个错误的行号和列名；也可选择“只导入无误的行”。",
    "同一文件重复导入不会产生重复报告；已导入过的行再次出现时自动跳过。",
    "请勿填写涉密信息。",
)
WIDE_FIELDS = {"narrative", "measures", "cause", "next_steps", "subjects"}


def template_workbook() -> bytes:
    """An .xlsx with the header row (required columns marked *), drop-down lists, the
    column explanations and the category list."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    required = set(required_fields(ReportKind.FIRST))
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "报告"
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FDE2E1")
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(
            row=1, column=index, value=column.header + ("*" if column.field in required else "")
        )
        cell.font = bold
        cell.alignment = Alignment(horizontal="center")
        if column.field in required:
            cell.fill = required_fill
        letter = get_column_letter(index)
        width = 40 if column.field in WIDE_FIELDS else max(12, len(column.header) * 2 + 4)
        sheet.column_dimensions[letter].width = width
        if column.kind == "datetime":
            sheet.column_dimensions[letter].number_format = "yyyy-mm-dd hh:mm"
        if column.kind == "code":
            sheet.column_dimensions[letter].number_format = "@"  # text: keeps the 6 digits
        choices = {
            "reliability": [label for _, label in Reliability.choices],
            "confidentiality": [label for _, label in Confidentiality.choices],
            "is_urgent": ["是", "否"],
        }.get(column.field)
        if choices:
            validation = DataValidation(
                type="list", formula1=f'"{",".join(choices)}"', allow_blank=True
            )
            validation.add(f"{letter}2:{letter}1001")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"

    help_sheet = workbook.create_sheet("填写说明")
    help_sheet.append(["列名", "必填", "说明"])
    for column in COLUMNS:
        help_sheet.append([column.header, "是" if column.field in required else "否", column.help])
    help_sheet.append([])
    for line in TEMPLATE_NOTES:
        help_sheet.append(["", "", line])
    for cell in help_sheet[1]:
        cell.font = bold
    help_sheet.column_dimensions["A"].width = 22
    help_sheet.column_dimensions["B"].width = 8
    help_sheet.column_dimensions["C"].width = 70

    category_sheet = workbook.create_sheet("类别")
    category_sheet.append(["名称", "代码", "上级类别"])
    for cell in category_sheet[1]:
        cell.font = bold
    for category in EventCategory.objects.select_related("parent"):
        category_sheet.append(
            [category.name, category.code, category.parent.name if category.parent_id else ""]
        )
    category_sheet.column_dimensions["A"].width = 24
    category_sheet.column_dimensions["B"].width = 18
    category_sheet.column_dimensions["C"].width = 16
    count = category_sheet.max_row
    category_index = next(i for i, c in enumerate(COLUMNS, start=1) if c.field == "category")
    letter = get_column_letter(category_index)
    validation = DataValidation(type="list", formula1=f"=类别!$A$2:$A${count}", allow_blank=True)
    validation.add(f"{letter}2:{letter}1001")
    sheet.add_data_validation(validation)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
