"""Reading a received e-mail: headers, plain-text body, attachment metadata, and the
report fields a duty officer would otherwise copy out by hand.

Pure functions, no database: `services.receive_message` stores what these return.

Recognised in the subject and body (全角或半角冒号均可):
    时间：2026年11月23日9时10分 / 11月23日9时10分 / 2026-11-23 09:10 / 9时10分
    地点：江口县化工园区            类别：危险化学品事故（名称或代码）
    行政区划代码：990121            联系电话：0731-12345678
    死亡：3人 / 3人死亡 / 造成三人死亡（失踪、重伤、受伤同样）
The category is otherwise guessed from keywords (爆炸 → 危险化学品事故 …); a guessed
category, and a time of occurrence that had to be assumed, are "provisional": the duty
officer must confirm them before the draft is submitted.
"""

import email
import email.policy
import email.utils
import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.html import strip_tags

# Messages larger than this are refused at the SMTP DATA stage (552) and never stored.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def max_bytes() -> int:
    configured = getattr(settings, "FENGHUO_MAIL_MAX_BYTES", None)
    return int(configured or os.environ.get("FENGHUO_MAIL_MAX_BYTES", DEFAULT_MAX_BYTES))


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    from_header: str
    from_name: str
    from_address: str
    subject: str
    body: str
    sent_at: datetime | None
    attachments: list[dict[str, Any]] = field(default_factory=list)


def normalise_message_id(value: str | None, raw: bytes) -> str:
    """The Message-ID without spaces; a message without one gets a digest of its bytes,
    so a redelivery of the very same message is still recognised."""
    value = "".join((value or "").split())
    if not value:
        return f"<sha256.{hashlib.sha256(raw).hexdigest()}@fenghuo.invalid>"
    if len(value) > 255:
        return f"<sha256.{hashlib.sha256(value.encode()).hexdigest()}@fenghuo.invalid>"
    return value


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("gb18030", errors="replace")
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = strip_tags(re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", content))
    return content


def attachment_parts(raw: bytes) -> list[tuple[str, bytes]]:
    """(file name, content) of each attachment of a stored raw message."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return [
        (part.get_filename() or "附件", part.get_payload(decode=True) or b"")
        for part in message.iter_attachments()
    ]


def parse_message(raw: bytes) -> ParsedMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    from_header = str(message.get("From", "") or "")
    name, address = email.utils.parseaddr(from_header)
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = _text_of(body_part) if body_part is not None else ""
    attachments = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        attachments.append(
            {
                "filename": part.get_filename() or "",
                "content_type": part.get_content_type(),
                "size": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
            }
        )
    sent_at = None
    if message.get("Date"):
        try:
            sent_at = email.utils.parsedate_to_datetime(str(message["Date"]))
            if timezone.is_naive(sent_at):
                sent_at = timezone.make_aware(sent_at)
        except (TypeError, ValueError):
            sent_at = None
    return ParsedMail(
        message_id=normalise_message_id(message.get("Message-ID"), raw),
        from_header=from_header[:500],
        from_name=name[:200],
        from_address=address.strip().lower()[:320],
        subject=" ".join(str(message.get("Subject", "") or "").split())[:500],
        body=body.replace("\r\n", "\n").strip(),
        sent_at=sent_at,
        attachments=attachments,
    )


# --- report fields from free text ---------------------------------------------------------

_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CN_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = r"(\d+|[零〇一二两三四五六七八九十百]+)"
FIGURE_WORDS = {"dead": "死亡", "missing": "失踪", "seriously_injured": "重伤", "injured": "受伤"}

# Keyword → category code, most specific first. Only ever a suggestion.
CATEGORY_KEYWORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("森林火灾", "草原火灾", "山火"), "forest_fire"),
    (("爆炸", "危化", "化工", "泄漏", "危险化学品"), "hazchem"),
    (("火灾", "起火", "着火", "失火"), "fire"),
    (("车祸", "相撞", "交通事故", "追尾", "侧翻", "撞车"), "road_traffic"),
    (("地震",), "earthquake"),
    (("滑坡", "泥石流", "塌方", "崩塌", "地面塌陷"), "geological"),
    (("洪水", "洪涝", "内涝", "溃堤", "决口", "干旱"), "flood"),
    (("暴雨", "台风", "冰雹", "暴雪", "大风", "雷电", "寒潮"), "weather"),
    (("坍塌", "脚手架", "施工"), "construction"),
    (("煤矿", "矿井", "透水", "冒顶", "生产安全"), "work_safety"),
    (("污染", "排污", "水华", "死鱼"), "pollution"),
    (("疫情", "传染", "感染"), "epidemic"),
    (("食物中毒", "食品安全"), "food_safety"),
    (("中毒",), "poisoning"),
    (("聚集", "上访", "围堵", "群体性"), "mass_incident"),
    (("命案", "凶杀", "持刀", "抢劫", "枪击"), "criminal"),
    (("学校", "校园", "学生"), "campus"),
    (("外籍", "涉外", "外国"), "foreign"),
    (("网传", "网帖", "舆情"), "online_opinion"),
)
# When no keyword fits, the draft still needs a category (a report cannot be stored
# without one): this one, marked provisional. Override with the setting of the same name.
FENGHUO_DRAFT_FALLBACK_CATEGORY = "accident"


def chinese_number(text: str) -> int | None:
    """3 / 三 / 十二 / 二十 / 一百零五 → int; None if it is not a number."""
    if text.isdecimal():
        return int(text)
    total, current = 0, 0
    for char in text:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def _labelled(text: str, *labels: str) -> str | None:
    pattern = rf"^[ \t]*(?:{'|'.join(labels)})[ \t]*[:：][ \t]*(.+?)[ \t]*$"
    match = re.search(pattern, text, re.MULTILINE)
    return match.group(1).strip() if match else None


def _figure(text: str, word: str) -> int | None:
    for pattern in (
        rf"{word}[ \t]*[:：]?[ \t]*{_NUMBER}[ \t]*(?:人|名)",
        rf"{word}[ \t]*[:：][ \t]*{_NUMBER}",
        rf"{_NUMBER}[ \t]*(?:人|名)[ \t]*{word}",
    ):
        match = re.search(pattern, text)
        if match:
            value = chinese_number(match.group(1))
            if value is not None:
                return value
    return None


def parse_time(text: str, reference: datetime) -> datetime | None:
    """A stated time in the local zone. Without a year, the latest such time not after
    `reference`; without a date, `reference`'s day (or the day before)."""
    text = text.strip()
    local = timezone.localtime(reference)
    patterns = (
        r"(?P<y>\d{4})\s*[年\-/.]\s*(?P<m>\d{1,2})\s*[月\-/.]\s*(?P<d>\d{1,2})\s*日?",
        r"(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日",
    )
    year = month = day = None
    rest = text
    for pattern in patterns:
        match = re.search(pattern, text)
        if match:
            parts = match.groupdict()
            year = int(parts["y"]) if parts.get("y") else None
            month, day = int(parts["m"]), int(parts["d"])
            rest = text[match.end() :]
            break
    clock_match = re.search(r"(?P<h>\d{1,2})\s*(?:时|点|:|：)\s*(?:(?P<min>\d{1,2})\s*分?)?", rest)
    if month is None and clock_match is None:
        return None
    hour = int(clock_match.group("h")) if clock_match else 0
    minute = int(clock_match.group("min") or 0) if clock_match else 0
    if re.search(r"下午|晚上|晚", text) and hour < 12:
        hour += 12
    try:
        if month is None:
            moment = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if moment > local:
                moment -= timedelta(days=1)
            return moment
        moment = local.replace(
            year=year or local.year,
            month=month,
            day=day,
            hour=hour,
            minute=minute,
            second=0,
            microsecond=0,
        )
        if year is None and moment > local + timedelta(days=1):
            moment = moment.replace(year=moment.year - 1)
        return moment
    except ValueError:
        return None


def guess_category(text: str) -> str | None:
    for words, code in CATEGORY_KEYWORDS:
        if any(word in text for word in words):
            return code
    return None


def clean_subject(subject: str) -> str:
    return _REPLY_PREFIX.sub("", subject).strip()


def draft_fields(subject: str, body: str, received_at: datetime) -> dict[str, Any]:
    """What can be read from a message: report fields, "occurred_at" only when stated,
    the stated category (name or code) under "category_code" and a keyword guess under
    "category_guess"."""
    text = f"{subject}\n{body}"
    fields: dict[str, Any] = {"title": clean_subject(subject)[:200], "narrative": body}
    stated_time = _labelled(body, "时间", "发生时间", "事发时间")
    occurred = parse_time(stated_time, received_at) if stated_time else None
    if occurred is not None:
        fields["occurred_at"] = occurred
    place = _labelled(body, "地点", "发生地点", "事发地点")
    if place:
        fields["place"] = place[:200]
    code = _labelled(body, "行政区划代码", "区划代码")
    if code and re.fullmatch(r"\d{6}", code):
        fields["division_code"] = code
    category = _labelled(body, "类别", "事件类别")
    if category:
        fields["category_code"] = category
    fields["category_guess"] = guess_category(text)
    phone = re.search(r"(?:联系电话|电话|手机)[ \t]*[:：]?[ \t]*(\+?\d[\d\- ]{4,28}\d)", body)
    if phone:
        fields["caller_phone"] = phone.group(1)
    for name, word in FIGURE_WORDS.items():
        value = _figure(text, word)
        if value is not None:
            fields[name] = value
    return fields
