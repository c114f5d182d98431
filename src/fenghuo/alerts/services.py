"""Every write of warnings: drafts, approval, issue, adjustment, lifting, CAP import.

Lifecycle of one version::

    draft ──approve──▶ approved ──issue──▶ issued ──(a later version issued)──▶ superseded
      ▲ │                  │                  └──lift──▶ lifted
      │ └──reject──▶ rejected
      └──── edit (from rejected or approved: approval must be given again)
    draft / rejected / approved ──withdraw──▶ withdrawn

Who (defaults; the colour rules are `IssuingRule` rows edited in the admin):
- drafts and adjustments: a 值班员, 单位领导 or leading-group member of the issuing unit (or
  the unit's own API token: a unit's system may submit drafts, never approve them);
- which unit may issue a colour: `IssuingRule.issuer_levels` (red and orange a province or
  national body; yellow and blue a city or county);
- approve, reject, issue and lift: `IssuingRule.approver_roles` held in the issuing unit
  (red and orange 领导小组组长 / 副组长; yellow and blue also 领导小组办公室).

Issuing notifies, through the outbox in the same transaction (key
``warning:<series>:<version>``): the person on duty (`org.selectors.on_duty`) at every unit
whose division code lies in the area, those units' robots and webhooks, and the issuing
unit's leading group. An adjustment notifies every recipient of the new version: those the
replaced version did not reach get it as a new warning ("发布"), those it reached as an
update ("调整", with what changed), and those no longer in the area are told so. Lifting
tells everyone the last version reached.
"""

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from fenghuo.alerts import cap
from fenghuo.alerts.models import (
    COLOURS,
    UNISSUED_STATES,
    CapImport,
    IssuingRule,
    SenderCode,
    Warning,
    WarningArea,
    WarningLevel,
    WarningState,
)
from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from fenghuo.core.services import audit_change, snapshot
from fenghuo.criteria.models import EventCategory
from fenghuo.events.models import Event, Report, TimelineEntry, TimelineKind
from fenghuo.events.selectors import events_visible
from fenghuo.intake.services import CLUE_ROLES, report_from_clue
from fenghuo.notify.models import Message
from fenghuo.notify.services import notify_people, notify_unit
from fenghuo.org.models import AdminLevel, Person, Role, Unit
from fenghuo.org.policy import LEADING_GROUP, Principal
from fenghuo.org.selectors import on_duty

DRAFTER_ROLES = frozenset({Role.DUTY_OFFICER, Role.UNIT_LEADER, *LEADING_GROUP})
FIELDS = (
    "category",
    "level",
    "event_name",
    "title",
    "issuing_unit",
    "area_codes",
    "area_desc",
    "geometry",
    "starts_at",
    "ends_at",
    "impact",
    "cautions",
    "measures",
    "event",
    "is_drill",
    "confidentiality",
)
REQUIRED = {
    "category": "预警类别为必填项",
    "event_name": "预警事件为必填项（如：暴雨、山洪、地质灾害）",
    "level": "预警级别为必填项",
    "issuing_unit": "发布单位为必填项",
    "area_codes": "影响区域须至少填写一个行政区划代码",
    "starts_at": "开始时间为必填项",
    "ends_at": "预计结束时间为必填项",
    "impact": "预计影响为必填项",
    "cautions": "警示事项为必填项",
    "measures": "应采取的措施为必填项",
}
MAX_LENGTH = {"event_name": 50, "title": 200, "area_desc": 500}
LABELS = {
    "event_name": "预警事件",
    "title": "标题",
    "area_desc": "影响区域",
}
MAX_SHAPES, MAX_POINTS, MAX_RADIUS_KM = 20, 2000, 2000
URGENT_LEVEL = WarningLevel.ORANGE  # orange and red notifications are urgent
# Office names → area names for a default areaDesc ("江口县委办公室" → "江口县").
OFFICE_SUFFIXES = ("人民政府办公厅", "人民政府办公室", "人民政府", "委办公厅", "委办公室")
IMPORT_PLACEHOLDER = "（CAP 原文未提供，请补充）"
IMPORT_DEFAULT_DURATION = timedelta(hours=24)


# --- who may do what ----------------------------------------------------------------------


def rule_for(level: int) -> IssuingRule | None:
    return IssuingRule.objects.filter(level=level).first()


def may_draft(principal: Principal, unit: Unit) -> bool:
    """A drafting role in the unit itself, or the unit's own API token."""
    return any(
        g.unit_id == unit.pk and (g.role in DRAFTER_ROLES or principal.token_id is not None)
        for g in principal.grants
    )


def approver_roles(level: int) -> frozenset[str]:
    rule = rule_for(level)
    return frozenset(rule.approver_roles) if rule else frozenset()


def may_approve(principal: Principal, warning: Warning) -> bool:
    """Approve, reject, issue and lift: an approver role for the colour in the issuing unit.
    An API token never approves: approval is a person's act."""
    if principal.person_id is None:
        return False
    return bool(principal.roles_in(warning.issuing_unit_id) & approver_roles(warning.level))


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _require_state(warning: Warning, states: Iterable[str], message: str) -> None:
    if warning.state not in states:
        raise ValidationError({"state": [message]})


def level_label(level: int) -> str:
    colour, roman = COLOURS[level][1], COLOURS[level][2]
    return f"{colour}（{roman}）"


# --- reading input ------------------------------------------------------------------------


def area_prefix(code: str) -> str:
    """The division-code prefix a code covers: "990000" → "99", "990100" → "9901"."""
    while code.endswith("00"):
        code = code[:-2]
    return code


def units_in_area(codes: Iterable[str]) -> list[Unit]:
    q = Q(pk__in=[])
    for code in codes:
        q |= Q(division_code__startswith=area_prefix(code))
    return list(Unit.objects.filter(q, is_active=True).order_by("path"))


def _area_name(code: str) -> str:
    unit = Unit.objects.filter(division_code=code, is_active=True).order_by("depth", "path").first()
    if unit is None:
        return code
    name = unit.name
    for suffix in OFFICE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _codes(value: Any) -> tuple[list[str], list[str]]:
    """(codes, errors) from a list or a string separated by commas, spaces or 、."""
    if isinstance(value, str):
        items = re.split(r"[\s,，、;；]+", value)
    elif isinstance(value, list | tuple) or value is None:
        items = list(value or [])
    else:
        return [], ["影响区域须为行政区划代码的列表"]
    codes, bad = [], []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if re.fullmatch(r"[0-9]{6}", text):
            if text not in codes:
                codes.append(text)
        else:
            bad.append(text[:20])
    errors = [f"行政区划代码须为 6 位数字（GB/T 2260）：{'、'.join(bad)}"] if bad else []
    return codes, errors


def _number(value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("坐标须为数字")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"坐标 {value} 超出范围")
    return round(number, 6)


def _point(value: Any) -> list[float]:
    if not isinstance(value, list | tuple) or len(value) < 2:
        raise ValueError("每个点须为 [经度, 纬度]")
    return [_number(value[0], -180, 180), _number(value[1], -90, 90)]


def shapes(value: Any) -> list[dict[str, Any]]:
    """Validate and normalise drawn shapes (rounded to 6 decimals, rings closed). Accepts
    the stored list, one shape, a GeoJSON FeatureCollection / Feature, or JSON text."""
    if value in (None, "", [], {}):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("不是有效的 JSON") from None
    if isinstance(value, dict):
        if value.get("type") == "FeatureCollection":
            value = [f.get("geometry") for f in value.get("features") or []]
        elif value.get("type") == "Feature":
            value = [value.get("geometry")]
        else:
            value = [value]
    if not isinstance(value, list):
        raise ValueError("须为图形列表")
    if len(value) > MAX_SHAPES:
        raise ValueError(f"最多 {MAX_SHAPES} 个图形")
    result = []
    for shape in value:
        if not isinstance(shape, dict):
            raise ValueError("图形须为对象")
        kind = shape.get("type")
        if kind == "Polygon":
            rings = shape.get("coordinates")
            if not isinstance(rings, list) or not rings or not isinstance(rings[0], list):
                raise ValueError("多边形须有坐标环")
            ring = [_point(p) for p in rings[0][:MAX_POINTS]]
            if ring and ring[0] != ring[-1]:
                ring.append(list(ring[0]))
            if len({tuple(p) for p in ring}) < 3:
                raise ValueError("多边形至少需要 3 个不同的点")
            result.append({"type": "Polygon", "coordinates": [ring]})
        elif kind == "Circle":
            centre = _point(shape.get("coordinates"))
            radius = shape.get("radius_km")
            if isinstance(radius, bool) or not isinstance(radius, int | float):
                raise ValueError("圆的半径（公里）须为数字")
            if not math.isfinite(radius) or not 0 < radius <= MAX_RADIUS_KM:
                raise ValueError(f"圆的半径须大于 0 且不超过 {MAX_RADIUS_KM} 公里")
            result.append(
                {"type": "Circle", "coordinates": centre, "radius_km": round(float(radius), 3)}
            )
        else:
            raise ValueError("只支持多边形（Polygon）和圆（Circle）")
    return result


def _moment(value: Any) -> datetime | None:
    if isinstance(value, str):
        value = parse_datetime(value.strip()) if value.strip() else None
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValueError
    # Whole seconds, as CAP carries them: an exported warning imports back equal.
    value = value.replace(microsecond=0)
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _apply(principal: Principal, warning: Warning, data: dict[str, Any]) -> dict[str, list[str]]:
    """Set the given fields on `warning`, turning codes and ids into objects; Chinese
    errors per field for what cannot be read."""
    errors: dict[str, list[str]] = {}
    for name in FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name == "category":
            if value and not isinstance(value, EventCategory):
                found = EventCategory.objects.filter(code=str(value)).first()
                if found is None:
                    errors[name] = [f"未知的预警类别：{str(value)[:40]}"]
                value = found
            warning.category = value or None
        elif name == "level":
            if value in (None, ""):
                warning.level = None
            elif str(value).isdecimal() and int(value) in WarningLevel.values:
                warning.level = int(value)
            else:
                errors[name] = ["预警级别须为 1（红色）、2（橙色）、3（黄色）、4（蓝色）之一"]
        elif name == "issuing_unit":
            if value not in (None, "") and not isinstance(value, Unit):
                found = None
                if str(value).isdecimal():
                    found = Unit.objects.filter(pk=value, is_active=True).first()
                if found is None:
                    errors[name] = ["发布单位不存在"]
                value = found
            warning.issuing_unit = value or None
        elif name == "area_codes":
            warning.area_codes, bad = _codes(value)
            if bad:
                errors[name] = bad
        elif name == "geometry":
            try:
                warning.geometry = shapes(value)
            except ValueError as exc:
                errors[name] = [f"绘制区域格式不正确：{exc}"]
        elif name in ("starts_at", "ends_at"):
            try:
                setattr(warning, name, _moment(value))
            except ValueError:
                errors[name] = ["时间格式不正确"]
        elif name == "event":
            if value not in (None, ""):
                pk = value.pk if isinstance(value, Event) else value
                found = None
                if str(pk).isdecimal():
                    found = events_visible(principal).filter(pk=pk).first()
                if found is None:
                    errors[name] = ["关联事件不存在或无权访问"]
                value = found
            warning.event = value or None
        elif name == "is_drill":
            warning.is_drill = bool(value)
        elif name == "confidentiality":
            if value in (None, ""):
                warning.confidentiality = Confidentiality.PUBLIC
            elif str(value).isdecimal() and int(value) in Confidentiality.values:
                warning.confidentiality = int(value)
            else:
                errors[name] = ["公开范围须为 0（公开）、1（内部）或 2（敏感）"]
        else:
            setattr(warning, name, str(value or "").strip())
    return errors


def validate(warning: Warning, errors: dict[str, list[str]] | None = None) -> None:
    """Every rule about a warning's content, as one ValidationError naming each field."""
    errors = dict(errors or {})
    for name, message in REQUIRED.items():
        attr = f"{name}_id" if name in ("category", "issuing_unit") else name
        if name not in errors and getattr(warning, attr, None) in (None, "", []):
            errors[name] = [message]
    for name, limit in MAX_LENGTH.items():
        if name not in errors and len(getattr(warning, name) or "") > limit:
            errors[name] = [f"{LABELS[name]}不得超过 {limit} 字"]
    if (
        warning.starts_at
        and warning.ends_at
        and warning.ends_at <= warning.starts_at
        and "ends_at" not in errors
    ):
        errors["ends_at"] = ["预计结束时间须晚于开始时间"]
    if warning.level and warning.issuing_unit_id and "level" not in errors:
        message = issuer_error(warning.issuing_unit, warning.level)
        if message:
            errors["level"] = [message]
    if errors:
        raise ValidationError(errors)


def errors_in(principal: Principal, data: dict[str, Any]) -> dict[str, list[str]]:
    """What `create_warning` would say about `data`, saving nothing: the editor shows it
    beside the fields it could read when others could not be read at all."""
    warning = Warning(state=WarningState.DRAFT)
    errors = _apply(principal, warning, data)
    _complete(warning)
    try:
        validate(warning, errors)
    except ValidationError as exc:
        return exc.message_dict
    return {}


def issuer_error(unit: Unit, level: int) -> str:
    """Why `unit` may not issue a warning of `level` ("" when it may)."""
    colour = COLOURS[level][1]
    rule = rule_for(level)
    if rule is None:
        return f"尚未配置{colour}预警的发布权限，请管理员在「预警发布权限」中设置"
    if unit.level in rule.issuer_levels:
        return ""
    labels = dict(AdminLevel.choices)
    allowed = "、".join(f"{labels.get(lv, lv)}级" for lv in rule.issuer_levels) or "（无）"
    return (
        f"{colour}预警须由{allowed}单位发布；{unit.name}是{unit.get_level_display()}级单位，"
        "请改由上级单位发布或调整预警级别"
    )


def _auto_title(warning: Warning) -> str:
    if not (warning.issuing_unit_id and warning.event_name and warning.level):
        return ""
    return f"{warning.issuing_unit.name}发布{warning.event_name}{COLOURS[warning.level][1]}预警"


def _auto_area(warning: Warning) -> str:
    return "、".join(_area_name(c) for c in warning.area_codes)[:500]


def _defaults(warning: Warning) -> tuple[str, str]:
    """The title and area names as they would be generated now (see `_complete`)."""
    return _auto_title(warning), _auto_area(warning) if warning.area_codes else ""


def _complete(warning: Warning, before: tuple[str, str] = ("", "")) -> None:
    """Defaults that follow from the content: the title and the area's names, when left
    blank or still as generated before this change (so 黄色 → 橙色 renames the title); a
    warning about a drill event is a drill warning of that drill (never public)."""
    if warning.event_id and warning.event.is_drill:
        warning.is_drill, warning.drill_tag = True, warning.event.drill_tag
    if not warning.title or warning.title == before[0]:
        warning.title = _auto_title(warning)
    if warning.area_codes and (not warning.area_desc or warning.area_desc == before[1]):
        warning.area_desc = _auto_area(warning)


def _save_areas(warning: Warning) -> None:
    WarningArea.objects.filter(warning=warning).delete()
    WarningArea.objects.bulk_create(
        WarningArea(warning=warning, code=code, prefix=area_prefix(code))
        for code in warning.area_codes
    )


def _timeline(warning: Warning, principal: Any, text: str) -> None:
    if warning.event_id:
        TimelineEntry.objects.create(
            event_id=warning.event_id,
            at=clock.now(),
            kind=TimelineKind.WARNING,
            text=text,
            actor_name=str(principal) if principal is not None else "系统",
        )


def _label(warning: Warning) -> str:
    return f"{warning.event_name}{warning.colour_label}预警"


# --- drafts -------------------------------------------------------------------------------


def create_warning(
    principal: Principal, data: dict[str, Any], *, replaces: Warning | None = None
) -> Warning:
    """A new draft (版本 1), or with `replaces` an adjustment of an issued warning."""
    moment = clock.now()
    warning = Warning(
        state=WarningState.DRAFT,
        created_by_id=principal.person_id,
        created_at=moment,
        updated_at=moment,
        source=str(data.get("source", ""))[:300],
    )
    before = ("", "")
    if replaces is not None:
        for name in (*FIELDS, "drill_tag"):
            setattr(warning, name, getattr(replaces, name))
        before = _defaults(warning)
    errors = _apply(principal, warning, data)
    if warning.issuing_unit_id and not may_draft(principal, warning.issuing_unit):
        raise PermissionDenied("无权以该单位名义拟制预警")
    _complete(warning, before)
    validate(warning, errors)
    with transaction.atomic():
        if replaces is not None:
            warning.first_id = replaces.series_id
            warning.replaces = replaces
            latest = Warning.objects.filter(first_id=replaces.series_id).order_by("-version")
            warning.version = latest.values_list("version", flat=True).first() + 1
        warning.save()
        if replaces is None:
            warning.first = warning
            warning.save(update_fields=["first"])
        _save_areas(warning)
        if replaces is None:
            audit_change(principal, "alerts.warning.create", warning, after=snapshot(warning))
            _timeline(warning, principal, f"拟制预警：{warning.title}（待审批）")
        else:
            audit_change(
                principal,
                "alerts.warning.adjust",
                warning,
                after={**snapshot(warning), "replaces": replaces.pk},
            )
            _timeline(
                warning,
                principal,
                f"拟制预警调整稿（第 {warning.version} 版）：{warning.title}（待审批）",
            )
    return warning


def update_warning(principal: Principal, warning: Warning, data: dict[str, Any]) -> Warning:
    """Edit a version before it is issued; an approved one needs approval again."""
    _require_state(warning, UNISSUED_STATES, "已发布的预警不能修改，请使用「调整」发布新版本")
    _require(may_draft(principal, warning.issuing_unit), "无权修改该预警")
    before = snapshot(warning)
    generated = _defaults(warning)
    errors = _apply(principal, warning, data)
    if warning.issuing_unit_id and not may_draft(principal, warning.issuing_unit):
        raise PermissionDenied("无权以该单位名义拟制预警")
    _complete(warning, generated)
    validate(warning, errors)
    with transaction.atomic():
        warning.state = WarningState.DRAFT
        warning.reviewed_by, warning.reviewed_at = None, None
        warning.updated_at = clock.now()
        warning.save()
        _save_areas(warning)
        audit_change(
            principal, "alerts.warning.update", warning, before=before, after=snapshot(warning)
        )
    return warning


def adjust(principal: Principal, warning: Warning, data: dict[str, Any]) -> Warning:
    """调整: a new version of an issued warning, as a draft that needs approval; the issued
    one stays in force until the new version is issued."""
    _require_state(warning, (WarningState.ISSUED,), "只有生效中的预警可以调整")
    if warning.replacements.filter(state__in=UNISSUED_STATES).exists():
        raise ValidationError({"state": ["该预警已有未发布的调整稿，请先处理该调整稿"]})
    return create_warning(principal, data, replaces=warning)


def withdraw(principal: Principal, warning: Warning) -> Warning:
    _require_state(warning, UNISSUED_STATES, "只有未发布的预警可以撤销")
    _require(
        may_draft(principal, warning.issuing_unit) or may_approve(principal, warning),
        "无权撤销该预警",
    )
    return _transition(principal, warning, WarningState.WITHDRAWN, "withdraw", "撤销预警草稿")


def _transition(
    principal: Principal, warning: Warning, state: str, verb: str, line: str, **changes: Any
) -> Warning:
    with transaction.atomic():
        before = snapshot(warning)
        warning.state = state
        warning.updated_at = clock.now()
        for name, value in changes.items():
            setattr(warning, name, value)
        warning.save()
        audit_change(
            principal, f"alerts.warning.{verb}", warning, before=before, after=snapshot(warning)
        )
        _timeline(warning, principal, f"{line}：{warning.title}")
    return warning


# --- approval -----------------------------------------------------------------------------


def approve(principal: Principal, warning: Warning) -> Warning:
    _require_state(warning, (WarningState.DRAFT,), "只有待审批的预警可以批准")
    _require(may_approve(principal, warning), f"无权批准{_label(warning)}：需发布单位的审批角色")
    validate(warning)  # the rules may have changed since the draft was written
    return _transition(
        principal,
        warning,
        WarningState.APPROVED,
        "approve",
        "批准预警",
        reviewed_by_id=principal.person_id,
        reviewed_at=clock.now(),
        rejection_reason="",
    )


def reject(principal: Principal, warning: Warning, reason: str) -> Warning:
    _require_state(warning, (WarningState.DRAFT, WarningState.APPROVED), "该预警不在审批中")
    _require(may_approve(principal, warning), f"无权退回{_label(warning)}：需发布单位的审批角色")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["请填写退回理由"]})
    return _transition(
        principal,
        warning,
        WarningState.REJECTED,
        "reject",
        f"退回预警（{reason}）",
        reviewed_by_id=principal.person_id,
        reviewed_at=clock.now(),
        rejection_reason=reason,
    )


# --- issue, lift ----------------------------------------------------------------------------


def _identifier(sender: str, moment: datetime) -> tuple[str, datetime]:
    """The next free GB/T 35965.1 identifier for `sender` at `moment` (sequence 0–9; a
    sender's eleventh message in one second moves to the next second)."""
    while True:
        stem = cap.identifier_stem(sender, moment)
        taken = set(
            Warning.objects.filter(identifier__startswith=stem).values_list("identifier", flat=True)
        ) | set(
            Warning.objects.filter(cancel_identifier__startswith=stem).values_list(
                "cancel_identifier", flat=True
            )
        )
        for n in range(10):
            if f"{stem}{n}" not in taken:
                return f"{stem}{n}", moment
        moment += timedelta(seconds=1)


def _stamp(warning: Warning, field: str, moment: datetime) -> datetime:
    """Give `warning` an identifier in `field`, retrying if a concurrent writer took it."""
    sender = warning.sender or cap.sender_code(warning.issuing_unit)
    for _attempt in range(20):
        identifier, at = _identifier(sender, moment.replace(microsecond=0))
        try:
            with transaction.atomic():
                row = Warning.objects.filter(pk=warning.pk)
                row.update(**{field: identifier, "sender": sender})
        except IntegrityError:
            continue
        setattr(warning, field, identifier)
        warning.sender = sender
        return at
    raise IntegrityError("无法分配 CAP 标识")


def issue(principal: Principal, warning: Warning) -> Warning:
    """Issue an approved version: it gets its CAP identifier, the version it replaces is
    superseded, and every recipient is notified — all in one transaction."""
    _require_state(warning, (WarningState.APPROVED,), "只有已批准的预警可以发布")
    _require(may_approve(principal, warning), f"无权发布{_label(warning)}：需发布单位的审批角色")
    moment = clock.now()
    if warning.ends_at <= moment:
        raise ValidationError({"ends_at": ["预计结束时间已过，不能发布，请修改后重新审批"]})
    with transaction.atomic():
        previous = None
        if warning.replaces_id:
            previous = Warning.objects.select_for_update().get(pk=warning.replaces_id)
            if previous.state != WarningState.ISSUED:
                raise ValidationError({"state": ["所调整的预警已被调整或解除，不能发布本版本"]})
        before = snapshot(warning)
        at = _stamp(warning, "identifier", moment)
        warning.state = WarningState.ISSUED
        warning.issued_by_id, warning.issued_at = principal.person_id, at
        warning.updated_at = moment
        warning.save()
        audit_change(
            principal, "alerts.warning.issue", warning, before=before, after=snapshot(warning)
        )
        if previous is not None:
            old = snapshot(previous)
            previous.state, previous.updated_at = WarningState.SUPERSEDED, moment
            previous.save(update_fields=["state", "updated_at"])
            audit_change(
                principal,
                "alerts.warning.supersede",
                previous,
                before=old,
                after={**snapshot(previous), "superseded_by": warning.pk},
            )
            _timeline(warning, principal, f"调整预警：{_changes(previous, warning)}")
        else:
            _timeline(warning, principal, f"发布预警：{warning.title}")
        _announce(warning, previous)
    return warning


def lift(principal: Principal, warning: Warning, reason: str) -> Warning:
    _require_state(warning, (WarningState.ISSUED,), "只有生效中的预警可以解除")
    _require(may_approve(principal, warning), f"无权解除{_label(warning)}：需发布单位的审批角色")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["请填写解除说明"]})
    moment = clock.now()
    with transaction.atomic():
        before = snapshot(warning)
        at = _stamp(warning, "cancel_identifier", moment)
        warning.state = WarningState.LIFTED
        warning.lifted_by_id, warning.lifted_at = principal.person_id, at
        warning.lift_reason = reason
        warning.updated_at = moment
        warning.save()
        audit_change(
            principal, "alerts.warning.lift", warning, before=before, after=snapshot(warning)
        )
        _timeline(warning, principal, f"解除预警（{reason}）：{warning.title}")
        _announce_lift(warning)
    return warning


# --- notifications ------------------------------------------------------------------------


def audience(warning: Warning) -> tuple[list[Person], list[Unit]]:
    """Who a version reaches: the person on duty at each unit in its area, those units (for
    their robots), and the issuing unit's leading group."""
    units = units_in_area(warning.area_codes)
    people: dict[int, Person] = {}
    for unit in units:
        duty = on_duty(unit)
        if duty.primary is not None:
            people[duty.primary.pk] = duty.primary
    group = Person.objects.filter(
        memberships__unit=warning.issuing_unit,
        memberships__role__in=LEADING_GROUP,
        is_active=True,
    ).distinct()
    for person in group:
        people[person.pk] = person
    return list(people.values()), units


def notification_key(warning: Warning, suffix: str = "") -> str:
    return f"warning:{warning.series_id}:{warning.version}{suffix}"


def _reached(warning: Warning) -> tuple[set[int], set[int]]:
    """(person ids, unit ids) the version's announcement was written for, from the outbox."""
    rows = Message.objects.filter(key=notification_key(warning)).values_list(
        "person_id", "endpoint_id", "unit_id"
    )
    people = {p for p, _e, _u in rows if p is not None}
    units = {u for _p, e, u in rows if e is not None and u is not None}
    return people, units


def _when(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y年%m月%d日%H:%M}"


def _body(warning: Warning) -> str:
    return (
        f"{warning.issuing_unit.name}于{_when(warning.issued_at)}发布{warning.event_name}"
        f"{level_label(warning.level)}预警。\n"
        f"影响区域：{warning.area_desc}\n"
        f"起止时间：{_when(warning.starts_at)} 至 {_when(warning.ends_at)}\n"
        f"预计影响：{warning.impact}\n"
        f"警示事项：{warning.cautions}\n"
        f"应采取的措施：{warning.measures}"
    )


def _changes(old: Warning, new: Warning) -> str:
    parts = []
    if old.level != new.level:
        parts.append(f"级别由{level_label(old.level)}调整为{level_label(new.level)}")
    if old.issuing_unit_id != new.issuing_unit_id:
        parts.append(f"发布单位由{old.issuing_unit.name}改为{new.issuing_unit.name}")
    if old.area_codes != new.area_codes or old.area_desc != new.area_desc:
        parts.append(f"影响区域调整为{new.area_desc}")
    if old.ends_at != new.ends_at:
        parts.append(f"预计结束时间调整为{_when(new.ends_at)}")
    return "；".join(parts) or "内容更新"


def _announce(warning: Warning, previous: Warning | None) -> None:
    people, units = audience(warning)
    seen_people, seen_units = _reached(previous) if previous else (set(), set())
    common = {
        "key": notification_key(warning),
        "link": reverse("warning-detail", args=[warning.pk]),
        "ref": f"warning:{warning.pk}",
        "urgent": warning.level <= URGENT_LEVEL,
        "is_drill": warning.is_drill,
        "drill_tag": warning.drill_tag,
    }
    body = _body(warning)
    issued = {"subject": f"预警发布：{warning.title}", "body": body}
    updated = {
        "subject": f"预警调整：{warning.title}",
        "body": f"{_changes(previous, warning)}。\n{body}" if previous else body,
    }
    notify_people([p for p in people if p.pk not in seen_people], **issued, **common)
    notify_people([p for p in people if p.pk in seen_people], **updated, **common)
    for unit in units:
        notify_unit(unit, **(updated if unit.pk in seen_units else issued), **common)
    if previous is None:
        return
    # Recipients the adjusted warning no longer concerns hear that it changed, too.
    gone = {
        "subject": f"预警调整：{warning.title}（不再涉及贵单位）",
        "body": f"{_changes(previous, warning)}。调整后的预警不再涉及贵单位或贵地区。",
    }
    now_people, now_units = {p.pk for p in people}, {u.pk for u in units}
    notify_people(
        Person.objects.filter(pk__in=seen_people - now_people, is_active=True), **gone, **common
    )
    for unit in Unit.objects.filter(pk__in=seen_units - now_units):
        notify_unit(unit, **gone, **common)


def _announce_lift(warning: Warning) -> None:
    people, units = audience(warning)
    seen_people, seen_units = _reached(warning)
    message = {
        "subject": f"预警解除：{warning.title}",
        "body": (
            f"{warning.issuing_unit.name}于{_when(warning.lifted_at)}解除{warning.event_name}"
            f"{level_label(warning.level)}预警（影响区域：{warning.area_desc}）。\n"
            f"{warning.lift_reason}"
        ),
        "key": notification_key(warning, ":lift"),
        "link": reverse("warning-detail", args=[warning.pk]),
        "ref": f"warning:{warning.pk}",
        "is_drill": warning.is_drill,
        "drill_tag": warning.drill_tag,
    }
    everyone = {p.pk: p for p in people}
    for person in Person.objects.filter(pk__in=seen_people - set(everyone), is_active=True):
        everyone[person.pk] = person
    notify_people(everyone.values(), **message)
    for unit in {u.pk: u for u in [*units, *Unit.objects.filter(pk__in=seen_units)]}.values():
        notify_unit(unit, **message)


def events_merged(principal: Any, source: Event, target: Event) -> None:
    """A merged event's warnings follow its reports to the target (before the source is
    deleted, which would otherwise unlink them)."""
    ids = list(Warning.objects.filter(event=source).values_list("pk", flat=True))
    if not ids:
        return
    Warning.objects.filter(pk__in=ids).update(event=target)
    audit_change(
        principal,
        "alerts.warning.relink",
        target,
        after={"from_event": source.pk, "warnings": ids},
    )


# --- CAP import ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOutcome:
    kind: str  # "warning" (a draft) or "clue"
    warning: Warning | None
    report: Report | None
    note: str
    replayed: bool = False


REFUSED_STATUS = {
    "Test": "该 CAP 消息的状态为 Test（测试），不予导入",
    "System": "该 CAP 消息的状态为 System（系统消息），不予导入",
    "Draft": "该 CAP 消息的状态为 Draft（草稿），不予导入",
}
REFUSED_TYPES = {
    "Ack": "该 CAP 消息是回执（Ack），不是预警，不予导入",
    "Error": "该 CAP 消息是错误通知（Error），不是预警，不予导入",
}


def import_cap(principal: Principal, raw: bytes, *, drill_tag: str = "") -> ImportOutcome:
    """An external CAP 1.2 alert becomes a warning draft when its sender is a unit of the
    tree (by `SenderCode`, else by senderName and division code) and the importer may draft
    for that unit; otherwise — or when no valid draft can be made of it — a clue for the
    unit of its area (`intake.services.report_from_clue`), for a duty officer to verify.
    An invalid document creates nothing (ValidationError on "file"); the same alert
    (sender, identifier) imported again returns what it became the first time. A drill
    injects its exercise alerts with its `drill_tag`: what they become belongs to the drill."""
    try:
        alert = cap.parse(raw)
    except cap.CapError as exc:
        raise ValidationError({"file": [str(exc)]}) from None
    if alert.status in REFUSED_STATUS:
        raise ValidationError({"file": [REFUSED_STATUS[alert.status]]})
    if alert.msg_type in REFUSED_TYPES:
        raise ValidationError({"file": [REFUSED_TYPES[alert.msg_type]]})
    if not alert.event and not alert.headline:
        raise ValidationError({"file": ["该 CAP 消息没有预警内容（info），不予导入"]})
    existing = _replay(alert)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return _import(principal, alert, raw, drill_tag)
    except IntegrityError:
        existing = _replay(alert)  # the same alert, imported concurrently
        if existing is None:
            raise
        return existing


def _replay(alert: cap.ParsedAlert) -> ImportOutcome | None:
    record = (
        CapImport.objects.filter(sender=alert.sender[:200], identifier=alert.identifier[:200])
        .select_related("warning", "report")
        .first()
    )
    if record is None:
        return None
    kind = "warning" if record.warning_id else "clue"
    return ImportOutcome(kind, record.warning, record.report, record.note, replayed=True)


def _sender_unit(alert: cap.ParsedAlert) -> Unit | None:
    code = SenderCode.objects.filter(code=alert.sender).select_related("unit").first()
    if code is not None and code.unit.is_active:
        return code.unit
    if not alert.sender_name:
        return None
    named = Unit.objects.filter(name=alert.sender_name, is_active=True)
    if re.match(r"[0-9]{6}", alert.sender):
        named = named.filter(division_code=alert.sender[:6])
    found = list(named[:2])
    return found[0] if len(found) == 1 else None


def _import(
    principal: Principal, alert: cap.ParsedAlert, raw: bytes, drill_tag: str = ""
) -> ImportOutcome:
    unit = _sender_unit(alert)
    warning, note = None, ""
    if alert.msg_type == "Cancel":
        note = "外部预警的解除消息，已登记为线索"
    elif unit is None:
        note = "发送方不是本系统中的单位，已登记为线索"
    elif not may_draft(principal, unit):
        note = f"无权以{unit.name}名义拟制预警，已登记为线索"
    else:
        try:
            with transaction.atomic():
                warning = _draft_from(principal, unit, alert, drill_tag)
        except ValidationError as exc:
            messages = "；".join(exc.messages)
            note = f"未能生成预警草稿（{messages}），已登记为线索"[:500]
    report = None if warning is not None else _clue_from(principal, alert, note, drill_tag)
    record = CapImport.objects.create(
        sender=alert.sender[:200],
        identifier=alert.identifier[:200],
        sent=alert.sent[:40],
        msg_type=alert.msg_type,
        status=alert.status,
        received_at=clock.now(),
        imported_by=str(principal)[:150],
        warning=warning,
        report=report,
        note=note,
        raw=raw.decode("utf-8", errors="replace"),
    )
    audit_change(
        principal,
        "alerts.cap.import",
        record,
        after={
            "sender": record.sender,
            "identifier": record.identifier,
            "warning": warning.pk if warning else None,
            "report": report.pk if report else None,
            "note": note,
        },
    )
    return ImportOutcome("warning" if warning else "clue", warning, report, note)


def _draft_from(
    principal: Principal, unit: Unit, alert: cap.ParsedAlert, drill_tag: str = ""
) -> Warning:
    impact, cautions = cap.split_description(alert.description)
    starts = alert.effective or alert.onset or alert.sent_at
    area_desc = "、".join(a.desc for a in alert.areas if a.desc)
    try:
        geometry = cap.shapes_of(alert)
    except cap.CapError as exc:
        raise ValidationError({"geometry": [str(exc)]}) from None
    data = {
        "category": cap.category_code_of(alert) or "",
        "level": cap.level_of(alert),
        "event_name": alert.event[:50],
        "title": alert.headline[:200],
        "issuing_unit": unit,
        "area_codes": cap.division_codes_of(alert) or [unit.division_code],
        "area_desc": area_desc[:500],
        "geometry": geometry,
        "starts_at": starts,
        "ends_at": alert.expires or starts + IMPORT_DEFAULT_DURATION,
        "impact": impact or IMPORT_PLACEHOLDER,
        "cautions": cautions or IMPORT_PLACEHOLDER,
        "measures": alert.instruction or IMPORT_PLACEHOLDER,
        "is_drill": alert.status == "Exercise" or bool(drill_tag),
        "confidentiality": (
            Confidentiality.PUBLIC if alert.scope == "Public" else Confidentiality.INTERNAL
        ),
        "source": f"CAP 导入：{alert.sender} {alert.identifier}",
    }
    if alert.msg_type == "Update":
        for _sender, identifier, _sent in alert.references:
            old = Warning.objects.filter(identifier=identifier, state=WarningState.ISSUED).first()
            if old is not None and may_draft(principal, unit):
                return _tagged(adjust(principal, old, data), drill_tag)
    return _tagged(create_warning(principal, data), drill_tag)


def _tagged(warning: Warning, drill_tag: str) -> Warning:
    if drill_tag and warning.drill_tag != drill_tag:
        warning.drill_tag = drill_tag
        warning.save(update_fields=["drill_tag"])
    return warning


def _may_file_clue(principal: Principal, unit: Unit) -> bool:
    """What `report_from_clue` allows, to pick a unit it will accept."""
    return any(
        (g.role in CLUE_ROLES and unit.path.startswith(g.unit_path))
        or (g.unit_id == unit.pk and g.role in (Role.REPORTER, Role.UNIT_LEADER, Role.DUTY_OFFICER))
        for g in principal.grants
    )


def _clue_unit(principal: Principal, codes: list[str]) -> Unit:
    """The shallowest unit of the alert's area the importer may file a clue for, else the
    importer's own unit."""
    for unit in Unit.objects.filter(division_code__in=codes, is_active=True).order_by(
        "depth", "path"
    ):
        if _may_file_clue(principal, unit):
            return unit
    for unit in Unit.objects.filter(
        pk__in=[g.unit_id for g in principal.grants], is_active=True
    ).order_by("depth", "path"):
        if _may_file_clue(principal, unit):
            return unit
    raise PermissionDenied("无权导入外部预警：需值班员、舆情分析员或信息员角色")


def _clue_from(
    principal: Principal, alert: cap.ParsedAlert, note: str, drill_tag: str = ""
) -> Report:
    codes = [c for c in cap.division_codes_of(alert) if re.fullmatch(r"[0-9]{6}", c)]
    unit = _clue_unit(principal, codes)
    areas = "、".join(a.desc for a in alert.areas if a.desc)
    text = "\n".join(
        line
        for line in (
            f"外部预警（CAP {alert.msg_type}）：{alert.headline or alert.event}",
            f"发送方：{alert.sender_name or alert.sender}；标识：{alert.identifier}；"
            f"发送时间：{alert.sent}",
            f"影响区域：{areas}" if areas else "",
            alert.description,
            f"防御指南：{alert.instruction}" if alert.instruction else "",
            f"（{note}）" if note else "",
        )
        if line
    )
    source_url = alert.web
    try:
        URLValidator(schemes=("http", "https"))(source_url)
    except ValidationError:
        source_url = ""
    data: dict[str, Any] = {
        "title": (alert.headline or alert.event or "外部预警")[:200],
        "occurred_at": alert.effective or alert.sent_at,
        "division_code": codes[0] if codes else unit.division_code,
        "place": (areas or unit.name)[:200],
        # An exercise alert stays drill data when it becomes a clue.
        "is_drill": alert.status == "Exercise" or bool(drill_tag),
        "drill_tag": drill_tag,
    }
    category = cap.category_code_of(alert)
    if category:
        data["category"] = category
    return report_from_clue(
        principal, unit=unit, clue_text=text, source_url=source_url[:500], data=data
    ).report


# --- drill data ------------------------------------------------------------------------------


@transaction.atomic
def purge_drill(drill_tag: str) -> int:
    """Delete a drill run's warnings (every version) and its CAP import records."""
    if not drill_tag:
        raise ValueError("purge_drill needs a drill tag")
    warnings = Warning.objects.filter(
        Q(drill_tag=drill_tag) | Q(event__drill_tag=drill_tag, event__is_drill=True),
        is_drill=True,
    )
    ids = set(warnings.values_list("pk", flat=True))
    ids |= set(Warning.objects.filter(first_id__in=ids).values_list("pk", flat=True))
    CapImport.objects.filter(
        Q(warning_id__in=ids) | Q(report__drill_tag=drill_tag, report__is_drill=True)
    ).delete()
    rows = Warning.objects.filter(pk__in=ids)
    rows.update(replaces=None, first=None)  # versions protect each other
    rows.delete()
    return len(ids)
