"""The drill report (演练评估报告) in official-document layout: the drill, the score table,
each expected action, the timeline and the improvement items. Built from the results
frozen when the run ended, so it is the same after the drill's data has been purged."""

import re
from datetime import datetime
from typing import Any

from django.utils import timezone
from docx.document import Document as DocxDocument
from docx.enum.text import WD_LINE_SPACING

from fenghuo.documents import docx as official
from fenghuo.drills.models import DrillRun, Improvement
from fenghuo.drills.scoring import STATES, improvement_suggestions

SCORE_HEADERS = (
    "单位",
    "预期行动",
    "按时",
    "超时",
    "未完成",
    "不计分",
    "平均用时（分）",
    "报送义务",
    "时效",
    "履职",
    "完成",
    "总分",
)


def _number(value: Any, suffix: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:g}{suffix}"


def _table(doc: DocxDocument, headers: tuple[str, ...], rows: list[list[str]]) -> None:
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        _cell(cell, text, "heading")
    for values in rows:
        for cell, text in zip(table.add_row().cells, values, strict=True):
            _cell(cell, str(text), "body")


def _cell(cell: Any, text: str, role: str) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE  # not the body's 28.95 pt
    official.style_run(paragraph.add_run(text), role=role, size="五号")


def _when(text: str | None) -> str:
    if not text:
        return "—"
    return f"{timezone.localtime(datetime.fromisoformat(text)):%H:%M:%S}"


def render_report(run: DrillRun, improvements: list[Improvement]) -> bytes:
    results = run.results
    unit = run.unit.name
    doc = official.new_document(title=f"{run.title}评估报告", author=unit)
    official.add_mark(doc, "演练")
    official.add_title(doc, f"{run.title}评估报告")

    official.add_heading(doc, "一、演练概况")
    speed = "实时" if run.speed == 1 else f"加速 ×{run.speed:g}"
    started = official.chinese_datetime(run.started_at) if run.started_at else "—"
    ended = official.chinese_datetime(run.ended_at) if run.ended_at else "—"
    official.add_body(
        doc,
        f"{unit}组织，{started}开始，{ended}结束（{run.end_note or '—'}）。时钟{speed}，"
        f"演练时间共 {results.get('drill_minutes', 0):g} 分钟。"
        "演练数据均标记为演练，不计入实际统计、考核和公开发布。",
    )
    participants = [
        f"{p.unit.name}{'（模拟）' if p.simulated else ''}"
        for p in run.participants.select_related("unit")
    ]
    official.add_body(doc, f"参演单位：{'、'.join(participants)}。")

    official.add_heading(doc, "二、评分")
    official.add_body(
        doc,
        "总分 = 时效 50% + 履职 30% + 完成 20%（无该项的单位按其余两项折算）。"
        "时效：按时完成得全部分值，超时完成得一半；"
        "履职：演练事件中本单位报送义务按时履行的比例（逾期履行计一半）；"
        "完成：预期行动完成的比例。",
    )
    rows = []
    for row in results.get("units", []):
        obligations = (
            f"{row['obligations_on_time']}/{row['obligations']}（逾期{row['obligations_late']}）"
            if row["obligations"]
            else "—"
        )
        rows.append(
            [
                row["unit"],
                str(row["expected"]),
                str(row["on_time"]),
                str(row["late"]),
                str(row["missed"]),
                str(row.get("unscored", 0)),
                _number(row["mean_minutes"]),
                obligations,
                _number(row["timeliness"], "%"),
                _number(row["obligation_rate"], "%"),
                _number(row["completeness"], "%"),
                _number(row["score"]),
            ]
        )
    _table(doc, SCORE_HEADERS, rows)

    official.add_heading(doc, "三、预期行动完成情况")
    _table(
        doc,
        ("行动", "单位", "时限（分）", "用时（分）", "结果"),
        [
            [o["label"], o["unit"], _number(o["within"]), _number(o["minutes"]), STATES[o["state"]]]
            for o in results.get("outcomes", [])
        ],
    )

    official.add_heading(doc, "四、时间线")
    _table(
        doc,
        ("演练时间", "实际时间", "类别", "内容"),
        [
            [item["stamp"], _when(item["at"]), item["kind"], item["text"]]
            for item in results.get("timeline", [])
        ],
    )

    official.add_heading(doc, "五、整改事项")
    if improvements:
        for number, item in enumerate(improvements, start=1):
            due = official.chinese_date(item.due_at)
            state = item.get_state_display()
            official.add_body(doc, f"{number}. {item.unit.name}：{item.title}（{due}前，{state}）")
    suggested = [
        s
        for s in improvement_suggestions(results)
        if not any(i.source == s["source"] for i in improvements)
    ]
    for s in suggested:
        official.add_body(doc, f"建议：{s['unit']}：{s['title']}")
    if not improvements and not suggested:
        official.add_body(doc, "各参演单位均按时完成预期行动，无整改事项。")

    official.add_signature(doc, unit, run.ended_at or run.created_at)
    return official.to_bytes(doc)


def report_filename(run: DrillRun) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "", f"{run.title}-评估报告")[:80] + ".docx"
