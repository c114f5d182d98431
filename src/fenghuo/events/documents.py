"""信息专报: one report as a Word document in official layout (首报 / 续报 / 终报 / 补报).

Callers check access first (a report is rendered only for someone who may read it, see
`selectors.reports_visible`); this module only lays the report out.
"""

import re
from decimal import Decimal

from fenghuo.core.models import Confidentiality
from fenghuo.documents import docx as official
from fenghuo.events.models import Report, ReportKind, chinese_numeral
from fenghuo.org.models import Membership, Role

MASTHEAD = "信息专报"
CASUALTIES = {
    "dead": "{}人死亡",
    "missing": "{}人失踪",
    "seriously_injured": "{}人重伤",
    "injured": "{}人受伤",
}


def document_title(report: Report) -> str:
    """关于江口县化工园区发生爆炸的首报 / 续报一 / 终报."""
    subject = report.title.strip().removeprefix("关于")
    return f"关于{subject}的{report.kind_label}"


def signer_name(report: Report) -> str:
    """签发人: the reporting unit's leader, when the unit has one on record."""
    leader = (
        Membership.objects.filter(unit=report.unit, role=Role.UNIT_LEADER, person__is_active=True)
        .select_related("person")
        .order_by("pk")
        .first()
    )
    return str(leader.person) if leader is not None else ""


def _number(value: int | Decimal) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def figures_sentence(report: Report) -> str:
    """截至报告时，造成3人死亡、5人受伤；直接经济损失约120万元。"""
    known = {name: getattr(report, name) for name in CASUALTIES}
    known = {name: value for name, value in known.items() if value is not None}
    clauses = []
    people = [CASUALTIES[name].format(value) for name, value in known.items() if value]
    if people:
        clauses.append("造成" + "、".join(people))
    elif known:
        clauses.append("未造成人员伤亡")
    if report.economic_loss is not None:
        clauses.append(f"直接经济损失约{_number(report.economic_loss)}万元")
    if report.affected is not None:
        clauses.append(f"受影响群众{report.affected}人")
    if report.evacuated is not None:
        clauses.append(f"紧急疏散{report.evacuated}人")
    if not clauses:
        return "人员伤亡和经济损失情况正在核查，有关情况将及时续报。"
    return "截至报告时，" + "；".join(clauses) + "。"


def _lines(label: str, text: str) -> list[str]:
    """The first line of `text` after "label：", then the other lines as paragraphs."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    return [f"{label}：{lines[0]}", *lines[1:]] if label else lines


def _opening(report: Report) -> str:
    previous = report.previous
    if report.kind == ReportKind.FOLLOWUP and previous is not None:
        sent = previous.submitted_at or previous.received_at
        return (
            f"{report.unit.name}已于{official.chinese_datetime(sent)}报送"
            f"{previous.kind_label}，现将有关进展续报如下。"
        )
    if report.kind == ReportKind.FINAL:
        return "现将事件处置情况终报如下。"
    if report.kind == ReportKind.SUPPLEMENT:
        return "现将有关情况补报如下。"
    return ""


def _sections(report: Report) -> list[tuple[str, list[str]]]:
    final = report.kind == ReportKind.FINAL
    basic = [
        f"事发时间：{official.chinese_datetime(report.occurred_at)}。",
        f"事发地点：{report.place}。",
        *_lines("涉及人员", report.subjects),
        *_lines("事件经过", report.narrative),
    ]
    if not final:
        basic.extend(_lines("初步原因", report.cause) or ["事件原因正在调查核实中。"])
    source = report.source.strip() or report.unit.name
    basic.append(f"信息来源：{source}；可靠程度：{report.get_reliability_display()}。")
    sections = [("基本情况", basic), ("人员伤亡和损失情况", [figures_sentence(report)])]
    if final:
        sections.append(("事件原因", _lines("", report.cause)))
        sections.append(("处置情况", _lines("", report.handling_summary)))
    if report.measures.strip() or not final:
        sections.append(("已采取的措施", _lines("", report.measures) or ["有关措施将及时续报。"]))
    if final:
        sections.append(("善后工作", _lines("", report.aftercare)))
    if report.next_steps.strip():
        sections.append(("下一步工作", _lines("", report.next_steps)))
    return [(heading, lines) for heading, lines in sections if lines]


def render_report(report: Report) -> bytes:
    """The 信息专报 for `report` as .docx bytes."""
    unit = report.unit
    title = document_title(report)
    doc = official.new_document(title=title, author=unit.name)

    if report.confidentiality in (Confidentiality.INTERNAL, Confidentiality.SENSITIVE):
        official.add_mark(doc, report.get_confidentiality_display())
    if report.is_urgent:
        official.add_mark(doc, "特急")
    official.add_masthead(doc, MASTHEAD)
    signer = signer_name(report)
    plain = {"role": "body"}
    official.add_red_rule(
        official.add_left_right(
            doc,
            [(unit.name, plain)],
            [("签发人：", plain), (signer, {"role": "subheading"})]
            if signer
            else [("签发人：", plain), ("\u3000" * 4, {"role": "body", "underline": True})],
        )
    )
    official.add_title(doc, title)

    opening = _opening(report)
    if opening:
        official.add_body(doc, opening)
    for number, (heading, lines) in enumerate(_sections(report), start=1):
        official.add_heading(doc, f"{chinese_numeral(number)}、{heading}")
        for line in lines:
            official.add_body(doc, line)
    if report.kind != ReportKind.FINAL:
        official.add_body(doc, "我们将密切关注事态发展，有关情况及时续报。")

    # 附件说明 (GB/T 9704 7.3.4): after the body, before the signature; the files
    # themselves stay in Fenghuo, readable with the report's clearance.
    names = [a.name for a in report.attachments.all()]
    for number, name in enumerate(names, start=1):
        prefix = "附件：" if number == 1 else "\u3000\u3000\u3000"
        official.add_body(doc, f"{prefix}{number}. {name}" if len(names) > 1 else f"附件：{name}")

    official.add_signature(doc, unit.name, report.submitted_at or report.received_at)
    contact = []
    if report.created_by_id is not None:
        contact.append(f"联系人：{report.created_by}")
    if unit.phone:
        contact.append(f"联系电话：{unit.phone}")
    if contact:
        official.add_text(doc, "（" + "；".join(contact) + "）", indent=True)
    return official.to_bytes(doc)


def document_filename(report: Report) -> str:
    """江口县委办公室-首报-江口县化工园区发生爆炸.docx (no characters file systems refuse)."""
    name = f"{report.unit.name}-{report.kind_label}-{report.title}"
    name = re.sub(r'[\\/:*?"<>|\s]+', "", name)[:80]
    return f"{name}.docx"
