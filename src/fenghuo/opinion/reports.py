"""Opinion reports as Word documents: 舆情日报 (one day, all posts) and 舆情专报 (one scheme,
a date range), with the trend and sentiment charts rendered as images by matplotlib.

Sections: 总体情况 (summary), 声量与情感走势 (trend chart), 热点话题, 负面与风险信息,
应对建议 (templated from the figures). Reads go through `opinion.selectors`, so a report
holds only what its reader may see; callers need no further check.

Charts need a CJK font: Debian's fonts-noto-cjk (NotoSansCJK-Regular.ttc) is registered with
matplotlib once; without it the charts use English axis labels and the report says so.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

import matplotlib
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone
from django.utils.dateparse import parse_date
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm
from matplotlib import font_manager
from matplotlib.figure import Figure

from fenghuo.core import clock
from fenghuo.documents import docx as official
from fenghuo.events.models import chinese_numeral
from fenghuo.opinion import selectors
from fenghuo.opinion.models import Platform, Post, Scheme, SentimentLabel
from fenghuo.org.policy import Principal

CJK_FONT_FILES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
)
CJK_FAMILY = "Noto Sans CJK SC"
HOT_TOPICS = 10
RISK_POSTS = 10
SPECIAL_MAX_DAYS = 92
NO_FONT_NOTE = "（说明：服务器未安装中文字体 Noto Sans CJK，图表中的文字以英文显示。）"


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes


def _register_cjk_font() -> bool:
    """True when matplotlib can draw Chinese (the font is registered once per process)."""
    if any(f.name == CJK_FAMILY for f in font_manager.fontManager.ttflist):
        return True
    found = [path for path in CJK_FONT_FILES if path.exists()]
    for path in found:
        font_manager.fontManager.addfont(str(path))
    return bool(found)


def content_disposition(filename: str) -> str:
    return f"attachment; filename=\"opinion-report.docx\"; filename*=UTF-8''{quote(filename)}"


def _day(value: date | str | None, name: str) -> date:
    if value is None:
        return clock.now().date()
    if isinstance(value, date):
        return value
    parsed = parse_date(value)
    if parsed is None:
        raise ValidationError({name: ["日期格式应为 2026-11-23"]})
    return parsed


def _moment(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), clock.now().tzinfo)


# --- figures ------------------------------------------------------------------------------


@dataclass
class Figures:
    title: str
    period: str
    start: datetime
    end: datetime
    hourly: bool
    posts: QuerySet[Post]
    scheme: Scheme | None = None

    def total(self) -> int:
        return self.posts.count()

    def sentiment(self) -> dict[str, int]:
        counts = dict(self.posts.values_list("sentiment").annotate(n=Count("pk")).order_by())
        return {label.value: counts.get(label.value, 0) for label in SentimentLabel}

    def platforms(self) -> list[tuple[str, int]]:
        labels = dict(Platform.choices)
        rows = self.posts.values_list("platform").annotate(n=Count("pk")).order_by("-n")
        return [(labels.get(p, p), n) for p, n in rows]

    def trend(self) -> list[tuple[datetime, int, int]]:
        """(bucket start, posts, negative) for every bucket of the period, empty ones too."""
        trunc = TruncHour if self.hourly else TruncDay
        rows = (
            self.posts.annotate(bucket=trunc("published_at", tzinfo=self.start.tzinfo))
            .values("bucket")
            .annotate(n=Count("pk"), neg=Count("pk", filter=Q(sentiment=SentimentLabel.NEGATIVE)))
            .order_by("bucket")
        )
        found = {
            timezone.localtime(r["bucket"], self.start.tzinfo): (r["n"], r["neg"]) for r in rows
        }
        step = timedelta(hours=1) if self.hourly else timedelta(days=1)
        out, moment = [], self.start
        while moment < self.end:
            posts, negative = found.get(moment, (0, 0))
            out.append((moment, posts, negative))
            moment += step
        return out

    def risk_posts(self) -> list[Post]:
        return list(
            self.posts.filter(sentiment=SentimentLabel.NEGATIVE)
            .annotate(engagement=F("likes") + F("comments") + F("reposts"))
            .order_by("-engagement", "-published_at")[:RISK_POSTS]
        )


def _figures(principal: Principal, figures: Figures) -> Figures:
    if not selectors.may_read_posts(principal):
        raise PermissionDenied("只有舆情分析员和值班员可以生成舆情报告")
    return figures


# --- charts -------------------------------------------------------------------------------


def _png(fig: Figure) -> bytes:
    # A bare Figure (no pyplot): no global state, safe in threads, drawn by Agg.
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
    return buffer.getvalue()


def trend_chart(figures: Figures, chinese: bool) -> bytes:
    trend = figures.trend()
    fmt = "%H时" if figures.hourly else "%m-%d"
    if not chinese:
        fmt = "%H:00" if figures.hourly else "%m-%d"
    labels = [timezone.localtime(m).strftime(fmt) for m, _, _ in trend]
    fig = Figure(figsize=(7.5, 3.2))
    ax = fig.subplots()
    ax.plot(labels, [p for _, p, _ in trend], marker="o", label="帖子数" if chinese else "posts")
    ax.plot(
        labels,
        [n for _, _, n in trend],
        marker="o",
        color="#c62828",
        label="负面" if chinese else "negative",
    )
    ax.set_ylabel("条" if chinese else "posts")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)
    every = max(1, len(labels) // 12)
    ax.set_xticks(range(0, len(labels), every), labels[::every], rotation=45, fontsize=8)
    return _png(fig)


def sentiment_chart(sentiment: dict[str, int], chinese: bool) -> bytes:
    names = dict(SentimentLabel.choices) if chinese else {s.value: s.value for s in SentimentLabel}
    colours = {"negative": "#c62828", "neutral": "#9e9e9e", "positive": "#2e7d32"}
    shown = [(label, n) for label, n in sentiment.items() if n]
    fig = Figure(figsize=(4, 3.2))
    ax = fig.subplots()
    if shown:
        ax.pie(
            [n for _, n in shown],
            labels=[names[label] for label, _ in shown],
            colors=[colours[label] for label, _ in shown],
            autopct="%1.0f%%",
            startangle=90,
        )
    else:
        ax.text(0.5, 0.5, "无数据" if chinese else "no data", ha="center", va="center")
        ax.axis("off")
    return _png(fig)


# --- document -----------------------------------------------------------------------------


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "0%"


def _picture(doc, png: bytes, width_mm: float) -> None:
    doc.add_picture(BytesIO(png), width=Mm(width_mm))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER


def recommendations(total: int, negative: int, hot: list, warnings: list) -> list[str]:
    """应对建议, templated from the figures: the more negative and bursting, the firmer."""
    lines = []
    share = negative / total if total else 0.0
    bursting = [t for t in hot if t.stage == "bursting" or t.is_burst]
    if warnings:
        lines.append(
            f"本期共发出舆情预警{len(warnings)}条，请相关单位逐条核实、及时确认或排除，"
            "确认属实的按预案启动应对。"
        )
    if bursting:
        names = "、".join(f"“{t.title}”" for t in bursting[:3])
        lines.append(
            f"{names}等话题处于爆发阶段，建议加密监测频次，由属地单位尽快核实并发布权威信息。"
        )
    if share >= 0.3:
        lines.append(
            f"负面信息占比{share:.0%}，处于较高水平，建议主动回应社会关切，防止负面情绪扩散。"
        )
    elif negative:
        lines.append(f"负面信息{negative}条（占比{share:.0%}），建议持续关注，做好回应口径准备。")
    if not lines:
        lines.append("本期舆情总体平稳，建议保持日常监测。")
    return lines


def _render(principal: Principal, figures: Figures, kind: str) -> Document:
    chinese = _register_cjk_font()
    total = figures.total()
    sentiment = figures.sentiment()
    negative = sentiment[SentimentLabel.NEGATIVE]
    topics = selectors.topics_visible(principal).filter(
        last_seen__gte=figures.start, first_seen__lt=figures.end
    )
    warnings = selectors.opinion_warnings_visible(principal).filter(
        raised_at__gte=figures.start, raised_at__lt=figures.end
    )
    if figures.scheme is not None:
        topics = topics.filter(schemes=figures.scheme)
        warnings = warnings.filter(scheme=figures.scheme)
    hot = list(topics[:HOT_TOPICS])
    warnings = list(warnings)

    doc = official.new_document(title=figures.title, author="烽火")
    official.add_masthead(doc, kind)
    official.add_red_rule(official.add_text(doc, figures.period, align=WD_ALIGN_PARAGRAPH.CENTER))
    official.add_title(doc, figures.title)

    sections = 0

    def heading(text: str) -> None:
        nonlocal sections
        sections += 1
        official.add_heading(doc, f"{chinese_numeral(sections)}、{text}")

    heading("总体情况")
    platforms = "、".join(f"{name}{n}条" for name, n in figures.platforms()) or "无"
    official.add_body(
        doc,
        f"{figures.period}，共监测到相关信息{total}条，其中负面{negative}条"
        f"（占比{_share(negative, total)}）、中性{sentiment[SentimentLabel.NEUTRAL]}条、"
        f"正面{sentiment[SentimentLabel.POSITIVE]}条。来源分布：{platforms}。"
        f"形成话题{len(hot)}个，发出舆情预警{len(warnings)}条。",
    )

    heading("声量与情感走势")
    official.add_body(doc, "信息量和负面信息量走势见图1，情感分布见图2。")
    style = (
        {"font.sans-serif": [CJK_FAMILY, "DejaVu Sans"], "axes.unicode_minus": False}
        if chinese
        else {}
    )
    with matplotlib.rc_context({"font.family": "sans-serif", **style}):
        trend_png = trend_chart(figures, chinese)
        sentiment_png = sentiment_chart(sentiment, chinese)
    _picture(doc, trend_png, 150)
    official.add_text(doc, "图1　信息量走势", align=WD_ALIGN_PARAGRAPH.CENTER, size="小四")
    _picture(doc, sentiment_png, 90)
    official.add_text(doc, "图2　情感分布", align=WD_ALIGN_PARAGRAPH.CENTER, size="小四")
    if not chinese:
        official.add_body(doc, NO_FONT_NOTE)

    heading("热点话题")
    if hot:
        for number, topic in enumerate(hot, start=1):
            keywords = "、".join(topic.keywords[:5])
            official.add_body(
                doc,
                f"{number}. {topic.title}：热度{topic.heat:.1f}，{topic.get_stage_display()}阶段，"
                f"相关信息{topic.post_count}条，负面占比{topic.negative_share:.0%}"
                + (f"；关键词：{keywords}" if keywords else "")
                + "。",
            )
    else:
        official.add_body(doc, "本期未形成热点话题。")

    heading("负面与风险信息")
    for warning in warnings:
        official.add_body(
            doc,
            f"【{warning.get_colour_display()}预警】{warning.topic.title}"
            f"（{warning.scheme.name}，{warning.get_state_display()}）："
            + ("；".join(warning.reasons) or "—")
            + "。",
        )
    risk = figures.risk_posts()
    for post in risk:
        text = " ".join(post.text.split())
        excerpt = text[:80] + ("……" if len(text) > 80 else "")
        official.add_body(
            doc,
            f"{post.get_platform_display()}“{post.author or '匿名'}”"
            f"（{timezone.localtime(post.published_at):%m月%d日%H:%M}）：{excerpt}",
        )
    if not warnings and not risk:
        official.add_body(doc, "本期未发现明显负面和风险信息。")

    heading("应对建议")
    for line in recommendations(total, negative, hot, warnings):
        official.add_body(doc, line)

    official.add_signature(doc, "舆情监测组", clock.now())
    return Document(
        filename=f"{figures.title}.docx".replace("/", "-"), content=official.to_bytes(doc)
    )


def daily_report(principal: Principal, day: date | str | None = None) -> Document:
    """舆情日报 of `day` (today by default): every post the reader sees, hour by hour."""
    day = _day(day, "day")
    start = _moment(day)
    end = start + timedelta(days=1)
    posts = selectors.posts_visible(principal).filter(published_at__gte=start, published_at__lt=end)
    figures = _figures(
        principal,
        Figures(
            title=f"舆情日报（{day.year}年{day.month}月{day.day}日）",
            period=f"{day.year}年{day.month}月{day.day}日",
            start=start,
            end=end,
            hourly=True,
            posts=posts,
        ),
    )
    return _render(principal, figures, "舆情日报")


def special_report(
    principal: Principal,
    scheme: Scheme,
    start: date | str | None = None,
    end: date | str | None = None,
) -> Document:
    """舆情专报 of one scheme the reader sees, from `start` to `end` inclusive (the last seven
    days by default), day by day."""
    if not selectors.schemes_visible(principal).filter(pk=scheme.pk).exists():
        raise PermissionDenied("无权查看该监测方案")
    last = _day(end, "end")
    first = _day(start, "start") if start is not None else last - timedelta(days=6)
    if first > last:
        raise ValidationError({"start": ["开始日期不能晚于结束日期"]})
    if (last - first).days >= SPECIAL_MAX_DAYS:
        raise ValidationError({"start": [f"专报时间跨度不能超过 {SPECIAL_MAX_DAYS} 天"]})
    since, until = _moment(first), _moment(last + timedelta(days=1))
    posts = selectors.posts_visible(principal).filter(
        matches__scheme=scheme, published_at__gte=since, published_at__lt=until
    )
    period = f"{first.year}年{first.month}月{first.day}日至{last.year}年{last.month}月{last.day}日"
    figures = _figures(
        principal,
        Figures(
            title=f"关于“{scheme.name}”的舆情专报",
            period=period,
            start=since,
            end=until,
            hourly=False,
            posts=posts,
            scheme=scheme,
        ),
    )
    return _render(principal, figures, "舆情专报")
