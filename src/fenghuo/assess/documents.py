"""Files of evaluation: the ranking and the bulletin as .xlsx (openpyxl) and the bulletin,
an inquiry letter and an ended event's summary as .docx in official layout
(`documents.docx`, GB/T 9704).

Callers check access first; this module only lays things out. The .xlsx carries the same
numbers as the pages (the same rows: percentages and minutes with one decimal), so a
spreadsheet and the page never disagree.
"""

import re
from collections.abc import Iterable
from datetime import datetime
from io import BytesIO
from typing import Any

from django.utils import timezone
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from fenghuo.assess.metrics import COLUMNS
from fenghuo.assess.models import Bulletin, EventReview, Letter
from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import Grade
from fenghuo.documents import docx as official
from fenghuo.escalation.models import Obligation
from fenghuo.events.models import Event, chinese_numeral

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MASTHEAD = "紧急信息报送工作通报"
# The bulletin's Word table: the columns that fit a page.
DOCX_COLUMNS = (
    "rank",
    "unit",
    "score",
    "timeliness",
    "completeness",
    "followups",
    "accuracy",
    "adopted",
    "late_cases",
    "missed_cases",
    "concealed_cases",
)
CASE_HEADINGS = ("单位", "问题", "事件", "计入时间", "情况", "状态")
FINDING_HEADINGS = ("类型", "标题", "类别", "地点", "事件数", "最早发生", "最近发生", "状态")


def filename(text: str, extension: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "", text)[:80] + f".{extension}"


def _local(value: str | datetime) -> str:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _cell(value: Any) -> Any:
    return "—" if value is None else value


# --- spreadsheets ----------------------------------------------------------------------


def _sheet(book: Workbook, title: str, headings: Iterable[str], rows: Iterable[Iterable[Any]]):
    sheet = book.create_sheet(title)
    sheet.append(list(headings))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        sheet.append(list(row))
    for index, column in enumerate(sheet.columns, start=1):
        width = max(len(str(c.value or "")) for c in column)
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(8, width * 2))
    sheet.freeze_panes = "A2"
    return sheet


def ranking_workbook(
    rows: list[dict[str, Any]],
    *,
    title: str,
    office: str,
    period: str,
    computed_at: datetime,
    cases: list[dict[str, Any]] = (),
    findings: list[dict[str, Any]] = (),
) -> bytes:
    """排名 (one row per unit, the ranking's columns), 问题清单, 串并分析 and 说明."""
    book = Workbook()
    book.remove(book.active)
    _sheet(
        book,
        "排名",
        COLUMNS.values(),
        ([_cell(row[key]) for key in COLUMNS] for row in rows),
    )
    _sheet(
        book,
        "问题清单",
        CASE_HEADINGS,
        (
            [
                c["unit"],
                c["kind_label"],
                c["event_title"],
                _local(c["at"]),
                c["summary"],
                c["state_label"],
            ]
            for c in cases
        ),
    )
    _sheet(
        book,
        "串并分析",
        FINDING_HEADINGS,
        (
            [
                f["kind_label"],
                f["title"],
                f["category"],
                f["place"],
                f["count"],
                _local(f["first_at"]),
                _local(f["last_at"]),
                f["state_label"],
            ]
            for f in findings
        ),
    )
    _sheet(
        book,
        "说明",
        ("项目", "内容"),
        [
            ("标题", title),
            ("考核单位", office),
            ("考核期", period),
            ("统计时间", _local(computed_at)),
            (
                "口径",
                "百分比和分钟数保留一位小数；“—”表示本期无此项数据。"
                "瞒报只计经认定的；疑似瞒报不计入。",
            ),
        ],
    )
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def bulletin_workbook(bulletin: Bulletin) -> bytes:
    return ranking_workbook(
        bulletin.rows,
        title=bulletin.title,
        office=bulletin.office.name,
        period=bulletin.period_label,
        computed_at=bulletin.computed_at,
        cases=bulletin.cases,
        findings=bulletin.findings,
    )


# --- Word --------------------------------------------------------------------------------


def _table(doc, headings: Iterable[str], rows: Iterable[Iterable[Any]], size: str = "五号"):
    headings = list(headings)
    table = doc.add_table(rows=1, cols=len(headings))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, headings, strict=True):
        paragraph = cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        official.style_run(paragraph.add_run(str(text)), "heading", size)
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            official.style_run(paragraph.add_run(str(_cell(value))), "body", size)
    return table


def _head(doc, masthead: str, left: str, right: str) -> None:
    official.add_masthead(doc, masthead)
    plain = {"role": "body"}
    official.add_red_rule(official.add_left_right(doc, [(left, plain)], [(right, plain)]))


def render_bulletin(bulletin: Bulletin) -> bytes:
    doc = official.new_document(title=bulletin.title, author=bulletin.office.name)
    if bulletin.mark >= Confidentiality.INTERNAL:
        official.add_mark(doc, bulletin.get_mark_display())
    _head(
        doc,
        MASTHEAD,
        bulletin.office.name,
        f"{bulletin.year}年第{bulletin.sequence}期",
    )
    official.add_title(doc, bulletin.title)
    rows = bulletin.rows
    official.add_body(
        doc,
        f"现将{bulletin.period_label}各单位紧急信息报送情况通报如下（统计截至"
        f"{official.chinese_datetime(bulletin.computed_at)}）。",
    )
    number = 0

    def heading(text: str) -> None:
        nonlocal number
        number += 1
        official.add_heading(doc, f"{chinese_numeral(number)}、{text}")

    heading("总体情况")
    due = sum(r.get("due") or 0 for r in rows)
    on_time = sum(r.get("on_time") or 0 for r in rows)
    share = f"{on_time * 100 / due:.1f}%" if due else "—"
    totals = {
        k: sum(r.get(k) or 0 for r in rows)
        for k in (
            "late_cases",
            "missed_cases",
            "concealed_cases",
            "confidentiality_cases",
            "adopted",
        )
    }
    official.add_body(
        doc,
        f"本期参加考核单位 {len(rows)} 个，应履行报送义务 {due} 项，按时 {on_time} 项，"
        f"按时报送率 {share}；报送信息被采用 {totals['adopted']} 篇。发生迟报 "
        f"{totals['late_cases']} 起、漏报 {totals['missed_cases']} 起、瞒报 "
        f"{totals['concealed_cases']} 起、泄密事件 {totals['confidentiality_cases']} 起。",
    )
    heading("排名情况")
    _table(
        doc,
        [COLUMNS[k].replace("（%）", "%") for k in DOCX_COLUMNS],
        ([row[k] for k in DOCX_COLUMNS] for row in rows),
    )
    if bulletin.cases:
        heading("存在的问题")
        for case in bulletin.cases:
            official.add_body(doc, f"{case['unit']}：{case['kind_label']}。{case['summary']}。")
    if bulletin.findings:
        heading("串并分析")
        for finding in bulletin.findings:
            official.add_body(
                doc,
                f"{finding['title']}（{_local(finding['first_at'])}至{_local(finding['last_at'])}，"
                f"{finding['state_label']}）。",
            )
    heading("工作要求")
    official.add_body(
        doc,
        "各单位要对照通报查找不足，压实信息报送责任，严格落实首报、续报、终报时限要求，"
        "杜绝迟报、漏报、瞒报；对本期被函询的问题，要按期书面说明情况并落实整改。",
    )
    official.add_signature(doc, bulletin.office.name, bulletin.created_at)
    return official.to_bytes(doc)


def render_letter(letter: Letter) -> bytes:
    doc = official.new_document(title=letter.title, author=letter.office.name)
    _head(doc, letter.office.name, "", letter.number)
    official.add_title(doc, letter.title)
    lines = [line.strip() for line in letter.body.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if index == 0 and line.endswith("："):
            official.add_text(doc, line)  # 主送机关: flush left
        else:
            official.add_body(doc, line)
    official.add_body(doc, f"答复期限：{official.chinese_datetime(letter.due_at)}前。")
    official.add_signature(doc, letter.office.name, letter.issued_at)
    if letter.answered_at is not None:
        official.add_heading(doc, "附：答复")
        official.add_body(
            doc,
            f"答复时间：{official.chinese_datetime(letter.answered_at)}"
            f"{'（逾期）' if letter.answered_late else ''}。",
        )
        official.add_body(doc, f"情况说明：{letter.explanation}")
        official.add_body(doc, f"整改措施：{letter.measures}")
    return official.to_bytes(doc)


def _outcome(o: Obligation) -> str:
    if o.met_at is None:
        return o.get_state_display()
    late = f"，逾期 {o.minutes_late} 分钟" if o.minutes_late else "，按时"
    return f"{official.chinese_datetime(o.met_at)}{late}"


def render_summary(
    event: Event,
    *,
    timeline: Iterable[Any],
    obligations: Iterable[Obligation],
    duties: Iterable[Any],
    figures: list[tuple[str, list[tuple[str, Any, Any]], Any]],
    review: EventReview | None,
    author: str,
) -> bytes:
    """总结评估: overview, timeline, each unit's times against its obligations, figures as
    first reported and as verified, and the lessons people wrote (or room for them)."""
    title = f"关于{event.title}的总结评估"
    doc = official.new_document(title=title, author=author)
    official.add_mark(doc, "内部")
    official.add_title(doc, title)

    official.add_heading(doc, "一、事件概况")
    official.add_body(
        doc,
        f"{official.chinese_datetime(event.occurred_at)}，{event.place or event.division_code}"
        f"发生{event.title}（{event.category}，"
        f"{'定级' + Grade(event.grade).label if event.grade else '未定级'}）。"
        f"首报时间{official.chinese_datetime(event.first_reported_at)}，"
        f"目前状态：{event.get_status_display()}。",
    )

    official.add_heading(doc, "二、处置时间线")
    for entry in timeline:
        official.add_body(doc, f"{official.chinese_datetime(entry.at)}　{entry.text}")

    official.add_heading(doc, "三、各单位报送时效")
    rows = [
        (o.obliged_unit.name, o.title, official.chinese_datetime(o.due_at), _outcome(o))
        for o in obligations
    ]
    rows += [
        (
            d.unit.name,
            "属地报告",
            official.chinese_datetime(d.due_at),
            f"{d.get_state_display()}"
            + (f"（{official.chinese_datetime(d.met_at)}报告）" if d.met_at else ""),
        )
        for d in duties
    ]
    if rows:
        _table(doc, ("单位", "报送义务", "时限", "履行情况"), rows)
    else:
        official.add_body(doc, "本事件没有报送时限记录。")

    official.add_heading(doc, "四、伤亡与损失：首报与核实")
    if figures:
        for label, per_unit, verified in figures:
            told = "；".join(
                f"{unit}首报 {_cell(first)}、最新 {_cell(latest)}"
                for unit, first, latest in per_unit
            )
            official.add_body(doc, f"{label}：{told or '各单位未报送'}；核实数 {_cell(verified)}。")
    else:
        official.add_body(doc, "各单位未报送伤亡与损失数字。")

    official.add_heading(doc, "五、经验教训")
    lessons = (review.lessons if review is not None else "").strip()
    if lessons:
        official.add_body(doc, lessons)
    else:
        official.add_body(doc, "（待填写：发现的问题、原因分析、改进措施。）")
        for _ in range(4):
            doc.add_paragraph()
    official.add_signature(doc, author, clock.now())
    return official.to_bytes(doc)
