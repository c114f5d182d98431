"""CAP 1.2 (OASIS Common Alerting Protocol) for warnings: export and parse, with lxml.

**Identifier** (GB/T 35965.1—2018 附录 A.1.1): ``ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N`` — the
14-digit 发布单位代码 (6-digit GB/T 2260 division code, 3-digit GB/T 4657 organ code,
3-digit internal code, 2-digit extension; `SenderCode`, or the unit's division code +
``00000000`` when none is configured), the Beijing time the message was made, and a sequence
0–9 among messages of that sender in that second. The 14-digit code is also the CAP
``sender``, so ``references`` ("sender,identifier,sent") name a message unambiguously.

**Message types.** An issued first version is ``Alert``; an adjustment is ``Update`` and
references the version it replaces; lifting sends ``Cancel`` referencing the version lifted.
``status`` is ``Actual``, or ``Exercise`` for a drill; ``scope`` is ``Public`` for a public
warning and ``Restricted`` for an internal one.

**Colour → urgency / severity / certainty** (``LEVEL_CAP``). Red and orange call for action
now (Immediate); yellow and blue within hours (Expected). Severity follows the colour one to
one (Extreme, Severe, Moderate, Minor), which is also how an imported alert's colour is read
back when its headline names none. An issued warning is Likely; blue, the "watch" level,
Possible. responseType: blue Monitor, yellow Prepare, orange and red Execute, a lift AllClear.

**Categories** (``CAP_CATEGORY``): each event category maps to one CAP category (a
subcategory falls back to its parent's); our own code travels in an ``eventCode`` named
``fenghuo:category`` so a round trip keeps the exact category.

**Text.** ``description`` holds 预计影响 and 警示事项 under the markers 【预计影响】 and
【警示事项】 (read back by those markers; without them the whole text is the impact);
``instruction`` is 应采取的措施.

**Area.** One ``area``: ``areaDesc``, each drawn polygon ("lat,lon" pairs, closed) and circle
("lat,lon radius-in-km"), and a ``geocode`` named ``GB/T 2260`` per division code.

**Parsing** refuses, with a Chinese message naming the problem: anything that is not
well-formed XML, a DOCTYPE (no entities, no network), a root other than
``{urn:oasis:names:tc:emergency:cap:1.2}alert``, and anything the CAP 1.2 XSD rejects
(``schema/CAP-v1.2.xsd``, the OASIS schema).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from lxml import etree
from lxml.builder import ElementMaker

from fenghuo.alerts.models import SenderCode, Warning, WarningLevel, WarningState
from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import EventCategory
from fenghuo.org.models import Unit

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
GEOCODE_NAME = "GB/T 2260"
# Other names external systems use for the same codes.
GEOCODE_NAMES = {GEOCODE_NAME, "GB2260", "GBT2260", "GB/T2260", "ADCODE", "行政区划代码"}
CATEGORY_CODE_NAME = "fenghuo:category"
LANGUAGE = "zh-CN"
IMPACT_MARK, CAUTIONS_MARK = "【预计影响】", "【警示事项】"
RESTRICTION = "内部预警，仅限有关单位和人员，不得公开。"

# level → (urgency, severity, certainty, responseType); see the module docstring.
LEVEL_CAP: dict[int, tuple[str, str, str, str]] = {
    WarningLevel.RED: ("Immediate", "Extreme", "Likely", "Execute"),
    WarningLevel.ORANGE: ("Immediate", "Severe", "Likely", "Execute"),
    WarningLevel.YELLOW: ("Expected", "Moderate", "Likely", "Prepare"),
    WarningLevel.BLUE: ("Expected", "Minor", "Possible", "Monitor"),
}
SEVERITY_LEVEL = {severity: level for level, (_, severity, _, _) in LEVEL_CAP.items()}
COLOUR_WORDS = {"红色": WarningLevel.RED, "橙色": WarningLevel.ORANGE}
COLOUR_WORDS |= {"黄色": WarningLevel.YELLOW, "蓝色": WarningLevel.BLUE}

# Event category code → CAP category. A code not listed uses its parent's, then "Other".
CAP_CATEGORY = {
    "natural": "Geo",
    "flood": "Met",
    "weather": "Met",
    "earthquake": "Geo",
    "geological": "Geo",
    "forest_fire": "Fire",
    "accident": "Safety",
    "work_safety": "Safety",
    "hazchem": "CBRNE",
    "road_traffic": "Transport",
    "fire": "Fire",
    "construction": "Safety",
    "pollution": "Env",
    "health": "Health",
    "social": "Security",
    "opinion": "Other",
}
# CAP category → our category code, for imported alerts without our eventCode.
CATEGORY_FROM_CAP = {
    "Geo": "geological",
    "Met": "weather",
    "Safety": "accident",
    "Security": "social",
    "Rescue": "accident",
    "Fire": "fire",
    "Health": "health",
    "Env": "pollution",
    "Transport": "road_traffic",
    "Infra": "accident",
    "CBRNE": "hazchem",
    "Other": "accident",
}


class CapError(ValueError):
    """A document that is not CAP 1.2; the message says what is wrong, in Chinese."""


# --- export ------------------------------------------------------------------------------


def sender_code(unit: Unit) -> str:
    configured = SenderCode.objects.filter(unit=unit).values_list("code", flat=True).first()
    return configured or f"{unit.division_code}00000000"


def identifier_stem(sender: str, moment: datetime) -> str:
    return f"{sender}_{timezone.localtime(moment):%Y%m%d%H%M%S}_"


def cap_time(moment: datetime) -> str:
    """xs:dateTime as CAP wants it: seconds, and an explicit offset (never "Z")."""
    return timezone.localtime(moment).replace(microsecond=0).isoformat()


def cap_category(category: EventCategory) -> str:
    if category.code in CAP_CATEGORY:
        return CAP_CATEGORY[category.code]
    if category.parent_id and category.parent.code in CAP_CATEGORY:
        return CAP_CATEGORY[category.parent.code]
    return "Other"


def description_of(impact: str, cautions: str) -> str:
    return f"{IMPACT_MARK}{impact.strip()}\n{CAUTIONS_MARK}{cautions.strip()}"


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def polygon_text(ring: list[list[float]]) -> str:
    return " ".join(f"{_number(lat)},{_number(lng)}" for lng, lat in ring)


def circle_text(shape: dict[str, Any]) -> str:
    lng, lat = shape["coordinates"]
    return f"{_number(lat)},{_number(lng)} {_number(shape['radius_km'])}"


def public_url(warning: Warning) -> str:
    return settings.FENGHUO_BASE_URL.rstrip("/") + reverse("public-warning", args=[warning.pk])


def export(warning: Warning) -> bytes:
    """The CAP 1.2 document of an issued version: Alert or Update as it was sent, or the
    Cancel when it was lifted."""
    if not warning.identifier:
        raise ValueError("未发布的预警没有 CAP 文档")
    E = ElementMaker(namespace=CAP_NS, nsmap={None: CAP_NS})
    lifted = warning.state == WarningState.LIFTED
    if lifted:
        identifier, sent, msg_type = warning.cancel_identifier, warning.lifted_at, "Cancel"
        referenced: Warning | None = warning
    else:
        identifier, sent = warning.identifier, warning.issued_at
        referenced = warning.replaces
        msg_type = "Update" if referenced is not None else "Alert"
    public = warning.confidentiality == Confidentiality.PUBLIC
    parts = [
        E.identifier(identifier),
        E.sender(warning.sender),
        E.sent(cap_time(sent)),
        E.status("Exercise" if warning.is_drill else "Actual"),
        E.msgType(msg_type),
        E.scope("Public" if public else "Restricted"),
    ]
    if not public:
        parts.append(E.restriction(RESTRICTION))
    if referenced is not None:
        ref = f"{referenced.sender},{referenced.identifier},{cap_time(referenced.issued_at)}"
        parts.append(E.references(ref))
    parts.append(_info(E, warning, lifted=lifted, public=public))
    document = E.alert(*parts)
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _info(E: ElementMaker, warning: Warning, *, lifted: bool, public: bool) -> etree._Element:
    urgency, severity, certainty, response = LEVEL_CAP[warning.level]
    unit = warning.issuing_unit
    if lifted:
        headline = f"{unit.name}解除{warning.event_name}{warning.colour_label}预警"
        description, instruction, response = warning.lift_reason, "", "AllClear"
    else:
        headline = warning.title
        description = description_of(warning.impact, warning.cautions)
        instruction = warning.measures
    children = [
        E.language(LANGUAGE),
        E.category(cap_category(warning.category)),
        E.event(warning.event_name),
        E.responseType(response),
        E.urgency(urgency),
        E.severity(severity),
        E.certainty(certainty),
        E.eventCode(E.valueName(CATEGORY_CODE_NAME), E.value(warning.category.code)),
        E.effective(cap_time(warning.starts_at)),
        E.expires(cap_time(warning.ends_at)),
        E.senderName(unit.name),
        E.headline(headline),
        E.description(description),
    ]
    if instruction:
        children.append(E.instruction(instruction))
    if public:
        children.append(E.web(public_url(warning)))
    if unit.phone:
        children.append(E.contact(unit.phone))
    area = [E.areaDesc(warning.area_desc)]
    shapes = warning.geometry or []
    area += [E.polygon(polygon_text(s["coordinates"][0])) for s in shapes if s["type"] == "Polygon"]
    area += [E.circle(circle_text(s)) for s in shapes if s["type"] == "Circle"]
    area += [E.geocode(E.valueName(GEOCODE_NAME), E.value(c)) for c in warning.area_codes]
    children.append(E.area(*area))
    return E.info(*children)


# --- parsing -----------------------------------------------------------------------------


@cache
def schema() -> etree.XMLSchema:
    source = resources.files("fenghuo.alerts") / "schema" / "CAP-v1.2.xsd"
    with resources.as_file(source) as path:
        return etree.XMLSchema(etree.parse(str(path)))


@dataclass
class ParsedArea:
    desc: str
    polygons: list[str] = field(default_factory=list)
    circles: list[str] = field(default_factory=list)
    geocodes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ParsedAlert:
    identifier: str
    sender: str
    sent: str
    sent_at: datetime
    status: str
    msg_type: str
    scope: str
    references: list[tuple[str, str, str]]
    # from the zh-CN info block (else the first)
    categories: list[str] = field(default_factory=list)
    event: str = ""
    severity: str = ""
    event_codes: dict[str, str] = field(default_factory=dict)
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    web: str = ""
    areas: list[ParsedArea] = field(default_factory=list)


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _time(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CapError(f"{name} 的时间格式不正确：{text}") from None
    if timezone.is_naive(moment):
        raise CapError(f"{name} 的时间缺少时区：{text}")
    if not 1900 <= moment.year <= 2200:
        raise CapError(f"{name} 的时间超出合理范围：{text}")
    return moment


def parse(raw: bytes) -> ParsedAlert:
    """Check `raw` is a CAP 1.2 alert (well-formed, right namespace, valid by the XSD) and
    read what a warning needs from it. Raises CapError with a Chinese message."""
    if not raw or not raw.strip():
        raise CapError("文件为空：请上传 CAP 1.2 XML 文档")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise CapError(f"不是格式正确的 XML：{exc.msg}（第 {exc.lineno} 行）") from None
    if root.getroottree().docinfo.doctype:
        raise CapError("CAP 文档不得包含 DOCTYPE 声明")
    name = etree.QName(root)
    if name.namespace != CAP_NS:
        found = name.namespace or "无命名空间"
        raise CapError(f"命名空间错误：CAP 1.2 文档的命名空间应为 {CAP_NS}，收到的是 {found}")
    if name.localname != "alert":
        raise CapError(f"根元素应为 alert，收到的是 {name.localname}")
    validator = schema()
    if not validator.validate(root):
        error = validator.error_log.last_error
        message = re.sub(r"\{" + re.escape(CAP_NS) + r"\}", "", error.message)
        raise CapError(f"不符合 CAP 1.2 规范（XSD 校验未通过）：第 {error.line} 行，{message}")
    return _read(root)


def _read(root: etree._Element) -> ParsedAlert:
    ns = {"c": CAP_NS}

    def one(parent: etree._Element, tag: str) -> str:
        return _text(parent.find(f"c:{tag}", ns))

    sent = one(root, "sent")
    references = []
    for item in one(root, "references").split():
        parts = item.split(",")
        if len(parts) == 3:
            references.append((parts[0], parts[1], parts[2]))
    alert = ParsedAlert(
        identifier=one(root, "identifier"),
        sender=one(root, "sender"),
        sent=sent,
        sent_at=_time(sent, "sent"),
        status=one(root, "status"),
        msg_type=one(root, "msgType"),
        scope=one(root, "scope"),
        references=references,
    )
    infos = root.findall("c:info", ns)
    if not infos:
        return alert
    info = next((i for i in infos if one(i, "language").lower() == "zh-cn"), infos[0])
    alert.categories = [_text(c) for c in info.findall("c:category", ns)]
    alert.event = one(info, "event")
    alert.severity = one(info, "severity")
    alert.event_codes = {
        one(code, "valueName"): one(code, "value") for code in info.findall("c:eventCode", ns)
    }
    for name in ("effective", "onset", "expires"):
        text = one(info, name)
        if text:
            setattr(alert, name, _time(text, name))
    alert.sender_name = one(info, "senderName")
    alert.headline = one(info, "headline")
    alert.description = one(info, "description")
    alert.instruction = one(info, "instruction")
    alert.web = one(info, "web")
    for area in info.findall("c:area", ns):
        alert.areas.append(
            ParsedArea(
                desc=one(area, "areaDesc"),
                polygons=[_text(p) for p in area.findall("c:polygon", ns)],
                circles=[_text(c) for c in area.findall("c:circle", ns)],
                geocodes=[
                    (one(g, "valueName"), one(g, "value")) for g in area.findall("c:geocode", ns)
                ],
            )
        )
    return alert


def split_description(text: str) -> tuple[str, str]:
    """(impact, cautions) from a description written by `description_of`."""
    if CAUTIONS_MARK in text:
        before, cautions = text.split(CAUTIONS_MARK, 1)
    else:
        before, cautions = text, ""
    return before.replace(IMPACT_MARK, "", 1).strip(), cautions.strip()


def _pair(text: str, what: str) -> tuple[float, float]:
    try:
        lat, lng = (float(v) for v in text.split(","))
    except ValueError:
        raise CapError(f"{what} 的坐标格式不正确：{text[:60]}") from None
    return lat, lng


def shapes_of(alert: ParsedAlert) -> list[dict[str, Any]]:
    """The drawn polygons and circles as Fenghuo's GeoJSON-like shapes ([lng, lat])."""
    shapes: list[dict[str, Any]] = []
    for area in alert.areas:
        for text in area.polygons:
            ring = []
            for pair in text.split():
                lat, lng = _pair(pair, "polygon")
                ring.append([lng, lat])
            shapes.append({"type": "Polygon", "coordinates": [ring]})
        for text in area.circles:
            centre, _, radius = text.partition(" ")
            lat, lng = _pair(centre, "circle")
            try:
                radius_km = float(radius)
            except ValueError:
                raise CapError(f"circle 的半径格式不正确：{text[:60]}") from None
            shapes.append({"type": "Circle", "coordinates": [lng, lat], "radius_km": radius_km})
    return shapes


def level_of(alert: ParsedAlert) -> int | None:
    """The colour named in the headline or event (Chinese alerts name it), else the one the
    severity maps to."""
    for text in (alert.headline, alert.event):
        named = {level for word, level in COLOUR_WORDS.items() if word in text}
        if len(named) == 1:
            return named.pop()
    return SEVERITY_LEVEL.get(alert.severity)


def category_code_of(alert: ParsedAlert) -> str | None:
    own = alert.event_codes.get(CATEGORY_CODE_NAME)
    if own and EventCategory.objects.filter(code=own).exists():
        return own
    for name in alert.categories:
        if name in CATEGORY_FROM_CAP:
            return CATEGORY_FROM_CAP[name]
    return None


def division_codes_of(alert: ParsedAlert) -> list[str]:
    names = {n.replace(" ", "").upper() for n in GEOCODE_NAMES}
    codes: list[str] = []
    for area in alert.areas:
        for name, value in area.geocodes:
            if name.replace(" ", "").upper() in names and value not in codes:
                codes.append(value)
    return codes
