"""Official-document (公文) layout for Word files, after GB/T 9704-2012《党政机关公文格式》.

- A4; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm (版心 156 mm × 225 mm);
- 正文 3号仿宋_GB2312 on a fixed 28.95 pt line (22 lines a page);
- 标题 2号小标宋; 一级标题 3号黑体; 二级标题 3号楷体; 密级 and 紧急程度 3号黑体, top left;
- 发文机关标志 in red 小标宋, a red 分隔线 the width of the text block under the 版头;
- 页码 4号宋体 "— 1 —" in the footer: odd pages on the right, even pages on the left, one
  character in from the edge of the text block;
- 成文日期 in Arabic numerals ("2026年11月23日", as the 2012 edition has it), or in Chinese
  numerals for documents that still use them.

Fonts are named as Chinese offices have them installed (方正小标宋简体, 仿宋_GB2312 …), set as
the east-Asian font of every run (`w:rFonts w:eastAsia`). Each is also registered in the
document's font table with an alternative name (`w:altName`) — Noto Serif CJK SC or
Noto Sans CJK SC, which Debian ships in fonts-noto-cjk — so a machine without the official
fonts substitutes a matching face instead of a random one. `FENGHUO_DOCUMENT_FONTS`
(role → font name, e.g. {"body": "仿宋"}) renames a role's font for a deployment.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from io import BytesIO

from django.conf import settings
from django.utils import timezone
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml import etree

from fenghuo.core import clock

# 字号 → points (GB/T 9704 and every office template use these names).
SIZES: dict[str, float] = {
    "初号": 42,
    "小初": 36,
    "一号": 26,
    "小一": 24,
    "二号": 22,
    "小二": 18,
    "三号": 16,
    "小三": 15,
    "四号": 14,
    "小四": 12,
    "五号": 10.5,
}
PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGINS = {"top": Mm(37), "bottom": Mm(35), "left": Mm(28), "right": Mm(26)}
TEXT_WIDTH = Mm(210 - 28 - 26)  # 156 mm
# 225 mm of text block / 22 lines.
LINE = Pt(28.95)
RED = RGBColor(0xFF, 0x00, 0x00)
EM_DASH = "—"  # 一字线 around the page number


@dataclass(frozen=True)
class Face:
    name: str  # the official font, as installed on Chinese office machines
    fallback: str  # its stand-in where it is missing (Noto CJK, shipped with Debian)
    family: str  # font-table family hint: roman (serif) or swiss (sans)


FACES: dict[str, Face] = {
    "title": Face("方正小标宋简体", "Noto Serif CJK SC", "roman"),
    "body": Face("仿宋_GB2312", "Noto Serif CJK SC", "roman"),
    "heading": Face("黑体", "Noto Sans CJK SC", "swiss"),
    "subheading": Face("楷体_GB2312", "Noto Serif CJK SC", "roman"),
    "page_number": Face("宋体", "Noto Serif CJK SC", "roman"),
}


def face(role: str) -> Face:
    base = FACES[role]
    renamed = getattr(settings, "FENGHUO_DOCUMENT_FONTS", {}).get(role)
    return Face(renamed, base.fallback, base.family) if renamed else base


# --- dates ---------------------------------------------------------------------------

_HANZI_DIGITS = "〇一二三四五六七八九"


def _hanzi_number(n: int) -> str:
    if n < 10:
        return _HANZI_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _HANZI_DIGITS[tens]) + "十" + (_HANZI_DIGITS[ones] if ones else "")


def _local_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def chinese_date(value: date | datetime, *, hanzi: bool = False) -> str:
    """2026年11月23日 (GB/T 9704-2012), or 二〇二六年十一月二十三日 with `hanzi`."""
    d = _local_date(value)
    if hanzi:
        year = "".join(_HANZI_DIGITS[int(c)] for c in str(d.year))
        return f"{year}年{_hanzi_number(d.month)}月{_hanzi_number(d.day)}日"
    return f"{d.year}年{d.month}月{d.day}日"


def chinese_datetime(value: datetime) -> str:
    """2026年11月23日9时10分, in local time."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{chinese_date(local)}{local.hour}时{local.minute:02d}分"


# --- fonts ---------------------------------------------------------------------------


def _set_fonts(r_pr, name: str) -> None:
    """Name `name` for every script of a run (east-Asian included), dropping theme fonts,
    which would otherwise win over the explicit names."""
    fonts = r_pr.get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)
    fonts.set(qn("w:hint"), "eastAsia")


def style_run(
    run: Run,
    role: str = "body",
    size: str = "三号",
    *,
    bold: bool = False,
    color: RGBColor | None = None,
    underline: bool = False,
) -> Run:
    _set_fonts(run._r.get_or_add_rPr(), face(role).name)
    run.font.size = Pt(SIZES[size])
    run.font.bold = bold or None
    run.font.underline = underline or None
    if color is not None:
        run.font.color.rgb = color
    return run


def _register_fonts(doc: DocxDocument) -> None:
    """Add the official fonts to word/fontTable.xml with their Noto stand-ins."""
    part = doc.part.part_related_by(RT.FONT_TABLE)
    root = etree.fromstring(part.blob)  # noqa: S320 — python-docx's own template part
    known = {f.get(qn("w:name")) for f in root.findall(qn("w:font"))}
    for role in FACES:
        f = face(role)
        if f.name in known:
            continue
        known.add(f.name)
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), f.name)
        for tag, value in (
            ("w:altName", f.fallback),
            ("w:charset", "86"),  # GB2312_CHARSET
            ("w:family", f.family),
            ("w:pitch", "variable"),
        ):
            etree.SubElement(font, qn(tag)).set(qn("w:val"), value)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _set_defaults(doc: DocxDocument) -> None:
    body = face("body").name
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    r_pr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(r_pr, body)
    for tag in ("w:sz", "w:szCs"):
        element = r_pr.find(qn(tag))
        if element is not None:
            element.set(qn("w:val"), str(int(SIZES["三号"] * 2)))
    lang = r_pr.find(qn("w:lang"))
    if lang is not None:
        lang.set(qn("w:val"), "zh-CN")
        lang.set(qn("w:eastAsia"), "zh-CN")
    theme_lang = doc.settings.element.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:eastAsia"), "zh-CN")

    normal = doc.styles["Normal"]
    _set_fonts(normal.element.get_or_add_rPr(), body)
    normal.font.size = Pt(SIZES["三号"])
    fmt = normal.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE
    fmt.widow_control = True


# --- page ----------------------------------------------------------------------------


def add_field(paragraph: Paragraph, instruction: str, placeholder: str, **style) -> None:
    """A complex field (e.g. PAGE) whose result Word computes; `placeholder` shows until
    it does."""

    def run_with(tag: str, **attrs: str) -> None:
        run = style_run(paragraph.add_run(), **style)
        element = OxmlElement(tag)
        for key, value in attrs.items():
            element.set(qn(key), value)
        run._r.append(element)
        if tag == "w:instrText":
            element.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            element.text = f" {instruction} "

    run_with("w:fldChar", **{"w:fldCharType": "begin"})
    run_with("w:instrText")
    run_with("w:fldChar", **{"w:fldCharType": "separate"})
    style_run(paragraph.add_run(placeholder), **style)
    run_with("w:fldChar", **{"w:fldCharType": "end"})


def _page_numbers(doc: DocxDocument) -> None:
    """The page number "— 1 —" in 4号宋体: odd pages right, even pages left, one character in."""
    doc.settings.odd_and_even_pages_header_footer = True
    section = doc.sections[0]
    one_char = Pt(SIZES["四号"])
    style = {"role": "page_number", "size": "四号"}
    for footer, align in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        paragraph = footer.paragraphs[0]
        paragraph.alignment = align
        fmt = paragraph.paragraph_format
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
        if align == WD_ALIGN_PARAGRAPH.RIGHT:
            fmt.right_indent = one_char
        else:
            fmt.left_indent = one_char
        style_run(paragraph.add_run(f"{EM_DASH} "), **style)
        add_field(paragraph, "PAGE", "1", **style)
        style_run(paragraph.add_run(f" {EM_DASH}"), **style)


# Characters XML 1.0 cannot carry (C0 controls but tab and newlines, lone surrogates,
# U+FFFE/U+FFFF): python-docx refuses them, and a report or a post may well hold some.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` without the characters a Word document cannot hold."""
    return _NOT_XML.sub("", text)


def new_document(*, title: str = "", author: str = "") -> DocxDocument:
    """An empty A4 document in official layout: margins, default fonts, page numbers."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = MARGINS["top"], MARGINS["bottom"]
    section.left_margin, section.right_margin = MARGINS["left"], MARGINS["right"]
    section.header_distance = Mm(15)
    # The page number sits about 7 mm below the text block.
    section.footer_distance = Mm(22)
    _set_defaults(doc)
    _register_fonts(doc)
    _page_numbers(doc)
    props = doc.core_properties
    title, author = xml_text(title), xml_text(author)
    props.title, props.author, props.last_modified_by = title, author, author
    props.language = "zh-CN"
    props.created = props.modified = clock.now().astimezone(UTC)
    props.revision = 1
    props.comments = props.subject = props.keywords = ""
    return doc


# --- content -------------------------------------------------------------------------


def add_text(
    doc: DocxDocument,
    text: str = "",
    *,
    role: str = "body",
    size: str = "三号",
    align: WD_ALIGN_PARAGRAPH | None = None,
    indent: bool = False,
    bold: bool = False,
    color: RGBColor | None = None,
    exact_line: bool = True,
    keep_with_next: bool = False,
) -> Paragraph:
    """One paragraph of one run; `indent` = 首行缩进二字."""
    paragraph = doc.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    fmt = paragraph.paragraph_format
    if indent:
        fmt.first_line_indent = Pt(SIZES[size] * 2)
    if not exact_line:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    fmt.keep_with_next = keep_with_next or None
    if text:
        style_run(paragraph.add_run(xml_text(text)), role, size, bold=bold, color=color)
    return paragraph


def add_mark(doc: DocxDocument, text: str) -> Paragraph:
    """密级 or 紧急程度: 3号黑体, top left of the first page."""
    return add_text(doc, text, role="heading", size="三号")


def add_masthead(doc: DocxDocument, text: str, size: str = "小初") -> Paragraph:
    """发文机关标志: red 小标宋, centred."""
    paragraph = add_text(
        doc,
        text,
        role="title",
        size=size,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        color=RED,
        exact_line=False,
    )
    paragraph.paragraph_format.space_before = Pt(SIZES["三号"])
    paragraph.paragraph_format.space_after = Pt(SIZES["三号"])
    return paragraph


def add_red_rule(paragraph: Paragraph, width_pt: float = 1.5) -> Paragraph:
    """The red 分隔线 under the 版头, as the bottom border of `paragraph`."""
    p_pr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), str(int(width_pt * 8)))  # eighths of a point
    bottom.set(qn("w:space"), "4")
    bottom.set(qn("w:color"), "FF0000")
    borders.append(bottom)
    p_pr.insert_element_before(borders, *_AFTER_PBDR)
    return paragraph


# The elements that follow w:pBdr in CT_PPr's schema sequence.
_AFTER_PBDR = tuple(
    f"w:{tag}"
    for tag in [
        *("shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap", "overflowPunct"),
        *("topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd"),
        *("snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents"),
        *("suppressOverlap", "jc", "textDirection", "textAlignment", "textboxTightWrap"),
        *("outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange"),
    ]
)


def add_left_right(
    doc: DocxDocument,
    left: list[tuple[str, dict]],
    right: list[tuple[str, dict]],
) -> Paragraph:
    """One line with text at the left edge and text at the right edge of the text block
    (e.g. 报送单位 … 签发人). Each part is (text, style_run keyword arguments)."""
    paragraph = doc.add_paragraph()
    paragraph.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)
    for text, style in left:
        style_run(paragraph.add_run(xml_text(text)), **style)
    style_run(paragraph.add_run("\t"))
    for text, style in right:
        style_run(paragraph.add_run(xml_text(text)), **style)
    return paragraph


def add_title(doc: DocxDocument, text: str) -> Paragraph:
    """标题: 2号小标宋, centred, a blank line above and below."""
    paragraph = add_text(doc, text, role="title", size="二号", align=WD_ALIGN_PARAGRAPH.CENTER)
    fmt = paragraph.paragraph_format
    fmt.space_before = fmt.space_after = LINE
    fmt.line_spacing = Pt(SIZES["二号"] * 1.5)
    return paragraph


def add_heading(doc: DocxDocument, text: str, level: int = 1) -> Paragraph:
    """一级标题 "一、" in 黑体, 二级标题 "（一）" in 楷体; indented like the body."""
    role = "heading" if level == 1 else "subheading"
    return add_text(doc, text, role=role, indent=True, keep_with_next=True)


def add_body(doc: DocxDocument, text: str) -> list[Paragraph]:
    """Body text: one 3号仿宋 paragraph per line of `text`, each indented two characters."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [add_text(doc, line, indent=True) for line in lines]


def add_signature(doc: DocxDocument, unit: str, when: date | datetime) -> None:
    """落款: the issuing unit and the date, right of centre, four characters in."""
    doc.add_paragraph()
    for text in (unit, chinese_date(when)):
        paragraph = add_text(doc, text, align=WD_ALIGN_PARAGRAPH.RIGHT)
        paragraph.paragraph_format.right_indent = Pt(SIZES["三号"] * 4)


def to_bytes(doc: DocxDocument) -> bytes:
    buffer = BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
