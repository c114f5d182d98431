"""A release version rendered for each channel: the public page's sections, a press
release in official layout (.docx), and short texts for Weibo and WeChat.

Limits chosen (characters, each counted as one — Chinese, Latin, digit, punctuation and
every character of a link alike; Weibo itself counts two Latin characters as one and a
link as a fixed length, so a text that fits here fits there too):

| text | limit | why |
| --- | --- | --- |
| Weibo long post | 2000 | a Weibo post's length limit |
| Weibo short version | 140 | the classic post, shown whole in the timeline and for reposting |
| WeChat title | 64 | an official-account article title |
| WeChat summary | 120 | the article's digest (摘要), shown on the share card |
| WeChat body | 20000 | an official-account article body |

A text that does not fit is cut where it reads cleanly — at the end of a sentence, else of
a clause, never inside a number or a Latin word, never after an opening bracket — and ends
with "……"; the Weibo texts and the WeChat body then still end with the link to the full
release on the public pages.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from fenghuo.core import clock
from fenghuo.documents import docx as official
from fenghuo.events.models import chinese_numeral
from fenghuo.release.models import Release, ReleaseVersion, VersionState

WEIBO_LONG_LIMIT = 2000
WEIBO_SHORT_LIMIT = 140
WECHAT_TITLE_LIMIT = 64
WECHAT_SUMMARY_LIMIT = 120
WECHAT_BODY_LIMIT = 20_000

ELLIPSIS = "……"
SENTENCE_ENDS = "。！？；!?;"
CLAUSE_ENDS = "，、：,:"
OPENING = "（《【“‘(["
CLOSING = {"（": "）", "《": "》", "【": "】", "“": "”", "‘": "’", "(": ")", "[": "]"}
_ALNUM = re.compile(r"[0-9A-Za-z.%]")
_TRAILING = re.compile(r"[\s，、：；,:;（《【“‘(\[]+$")

SECTION_HEADINGS = ("事件概况", "影响范围", "应对措施", "防范建议")


def public_url(release: Release) -> str:
    """The release's page on the public site, absolute (FENGHUO_PUBLIC_BASE_URL, else
    FENGHUO_BASE_URL)."""
    base = getattr(settings, "FENGHUO_PUBLIC_BASE_URL", "") or settings.FENGHUO_BASE_URL
    return base.rstrip("/") + reverse("public-release", args=[release.pk])


# --- clean truncation ------------------------------------------------------------------


def _unclosed(text: str) -> int:
    """Index of the first opening bracket not closed in `text`, or -1."""
    stack: list[int] = []
    for index, char in enumerate(text):
        if char in CLOSING:
            stack.append(index)
        elif stack and char == CLOSING[text[stack[-1]]]:
            stack.pop()
    return stack[0] if stack else -1


def clip(text: str, limit: int) -> str:
    """`text` whole if it has at most `limit` characters; else its longest clean beginning
    followed by "……", `limit` characters at most in all."""
    text = text.strip()
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    if room <= 0:
        return ELLIPSIS[:limit]
    head = text[:room]
    for ends in (SENTENCE_ENDS, CLAUSE_ENDS):
        cut = max(head.rfind(mark) for mark in ends)
        if cut >= room // 2:
            head = head[:cut]  # the mark goes: "……" stands in for it
            break
    else:
        # A hard cut: never inside a number or a Latin word ("12" cut to "1" lies).
        while head and _ALNUM.match(head[-1]) and _ALNUM.match(text[len(head)]):
            head = head[:-1]
    opened = _unclosed(head)
    if opened >= 0:
        head = head[:opened]
    head = _TRAILING.sub("", head)
    return head + ELLIPSIS


def fit(text: str, limit: int, link: str = "", label: str = "详情", sep: str = "") -> str:
    """`text` followed by `sep` and "label：link", clipped so that the whole has at most
    `limit` characters; the link is kept whole (left out only if it alone would not fit)."""
    tail = f"{sep}{label}：{link}" if link else ""
    if len(tail) + len(ELLIPSIS) > limit:
        tail = ""
    return clip(text, limit - len(tail)) + tail


# --- the parts as text ---------------------------------------------------------------------


def paragraphs(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def when_where(version: ReleaseVersion) -> str:
    """时间：2026年11月23日9时10分；地点：江口县化工园区。"""
    parts = []
    if version.occurred_at:
        parts.append(f"时间：{official.chinese_datetime(version.occurred_at)}")
    if version.place:
        parts.append(f"地点：{version.place}")
    return "；".join(parts) + "。" if parts else ""


def cause_line(version: ReleaseVersion) -> str:
    cause = " ".join(paragraphs(version.cause))
    if not cause:
        return "事件原因正在调查中。"
    return f"原因：{cause}" if cause[-1] in SENTENCE_ENDS else f"原因：{cause}。"


def sections(version: ReleaseVersion) -> list[tuple[str, list[str]]]:
    """The four parts of a release, each with its paragraphs, in the seed's order:
    概况 (time, place, what happened, cause as known), 影响范围, 应对措施, 防范建议."""
    overview = [line for line in (when_where(version),) if line]
    overview += paragraphs(version.overview) + [cause_line(version)]
    parts = (overview, paragraphs(version.impact), paragraphs(version.measures))
    parts += (paragraphs(version.advice),)
    return [
        (heading, lines) for heading, lines in zip(SECTION_HEADINGS, parts, strict=True) if lines
    ]


def _sentence(lines: list[str]) -> str:
    """Paragraphs run together as one line of a post."""
    joined = ""
    for line in lines:
        joined += line if not joined or joined[-1] in SENTENCE_ENDS else "。" + line
    return joined


def plain_text(version: ReleaseVersion) -> str:
    """The whole release as plain text (the Weibo long post's body, before fitting)."""
    blocks = []
    for heading, lines in sections(version):
        text = _sentence(lines)
        blocks.append(text if heading == "事件概况" else f"{heading}：{text}")
    if version.contact:
        blocks.append(f"联系方式：{version.contact}")
    return "\n".join(blocks)


# --- Weibo and WeChat --------------------------------------------------------------------


@dataclass(frozen=True)
class Texts:
    weibo_long: str
    weibo_short: str
    wechat_title: str
    wechat_summary: str
    wechat_body: str
    link: str

    def lengths(self) -> dict[str, tuple[int, int]]:
        """text name → (length, limit)."""
        return {
            "weibo_long": (len(self.weibo_long), WEIBO_LONG_LIMIT),
            "weibo_short": (len(self.weibo_short), WEIBO_SHORT_LIMIT),
            "wechat_title": (len(self.wechat_title), WECHAT_TITLE_LIMIT),
            "wechat_summary": (len(self.wechat_summary), WECHAT_SUMMARY_LIMIT),
            "wechat_body": (len(self.wechat_body), WECHAT_BODY_LIMIT),
        }


def texts(version: ReleaseVersion) -> Texts:
    release = version.release
    link = public_url(release)
    unit = release.unit.name
    title = version.title.strip() or "（无标题）"
    headline = f"【{clip(title, 60)}】"
    summary_source = _sentence([when_where(version), *paragraphs(version.overview)])
    weibo_long = fit(
        f"{headline}{plain_text(version)}\n（{unit}）", WEIBO_LONG_LIMIT, link, sep="\n"
    )
    weibo_short = fit(f"{headline}{summary_source}", WEIBO_SHORT_LIMIT, link)
    body_blocks = []
    for heading, lines in sections(version):
        body_blocks.append(f"{heading}\n" + "\n".join(lines))
    if version.contact:
        body_blocks.append(f"联系方式：{version.contact}")
    body_blocks.append(f"（来源：{unit}）")
    wechat_body = fit(
        "\n\n".join(body_blocks), WECHAT_BODY_LIMIT, link, label="阅读原文", sep="\n\n"
    )
    return Texts(
        weibo_long=weibo_long,
        weibo_short=weibo_short,
        wechat_title=clip(title, WECHAT_TITLE_LIMIT),
        wechat_summary=clip(summary_source, WECHAT_SUMMARY_LIMIT),
        wechat_body=wechat_body,
        link=link,
    )


# --- the press release (.docx) -------------------------------------------------------------

MASTHEAD = "新闻通稿"


def render_press_release(version: ReleaseVersion) -> bytes:
    """新闻通稿 in official layout (GB/T 9704 helpers): masthead, issuing body and
    edition over the red rule, title, the four parts under 一、二、三、四, contact and
    signature. A version not (yet) published carries the mark 送审稿 or 草稿; a drill
    carries 演练."""
    release = version.release
    unit = release.unit.name
    title = version.title or "（无标题）"
    doc = official.new_document(title=title, author=unit)
    if release.is_drill:
        official.add_mark(doc, "演练")
    if version.state != VersionState.PUBLISHED:
        official.add_mark(doc, "草稿" if version.state == VersionState.DRAFT else "送审稿")
    official.add_masthead(doc, MASTHEAD)
    plain = {"role": "body"}
    official.add_red_rule(official.add_left_right(doc, [(unit, plain)], [(version.label, plain)]))
    official.add_title(doc, title)
    for number, (heading, lines) in enumerate(sections(version), start=1):
        official.add_heading(doc, f"{chinese_numeral(number)}、{heading}")
        for line in lines:
            official.add_body(doc, line)
    if version.contact:
        official.add_body(doc, f"联系方式：{version.contact}")
    official.add_signature(doc, unit, version.published_at or clock.now())
    official.add_text(doc, f"全文见：{public_url(release)}", size="四号")
    return official.to_bytes(doc)


def press_release_filename(version: ReleaseVersion) -> str:
    """江口县应急管理局-新闻通稿-第1版-关于….docx (no characters file systems refuse)."""
    name = f"{version.release.unit.name}-{MASTHEAD}-{version.label}-{version.title}"
    return re.sub(r'[\\/:*?"<>|\s]+', "", name)[:80] + ".docx"
