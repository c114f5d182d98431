"""Intake: every channel ends in events.services.file_report; creates are idempotent.

Channels here: the REST API (api.py, with `idempotent`), e-mail (`receive_message` →
a draft for a duty officer), phone (`record_phone_report`), bulk files (`import_reports`)
and opinion-monitoring clues (`report_from_clue`). Drafts are confirmed or rejected with
`confirm_intake_draft` / `reject_intake_draft`.
"""

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from fenghuo.core import clock
from fenghuo.core.services import audit_change
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, Event, Reliability, Report, ReportKind
from fenghuo.intake import importer, mail
from fenghuo.intake.models import IdempotencyRecord, ImportBatch, ImportedRow, InboundMessage
from fenghuo.org.models import Person, Role, Unit
from fenghuo.org.policy import Grant, Principal

logger = logging.getLogger("fenghuo.intake")


class IdempotencyConflict(Exception):
    """The key was used before for a different request."""


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def principal_scope(principal: Principal) -> str:
    if principal.token_id is not None:
        return f"token:{principal.token_id}"
    return f"person:{principal.person_id}"


def request_digest(payload: Any) -> str:
    canonical = json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def idempotent(
    principal: Principal,
    key: str | None,
    payload: Any,
    create: Callable[[], tuple[int, dict[str, Any]]],
) -> Replay:
    """Run `create` once per (caller, key): the same key again returns the first answer.

    The record is written in the same transaction as what `create` writes, so either both
    exist or neither; it is inserted after `create`, whole (one statement, not an insert
    and an update). Two concurrent requests with one key: the second's insert blocks on
    the unique index until the first commits, fails, rolls back what its `create` wrote,
    and reads the first one's answer.
    """
    if not key:
        status, body = transaction.atomic(create)()
        return Replay(status, body, False)
    scope, digest = principal_scope(principal), request_digest(payload)
    for _attempt in range(2):
        existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if existing is not None:
            if existing.request_hash != digest:
                raise IdempotencyConflict(key)
            return Replay(existing.status_code, existing.response, True)
        try:
            with transaction.atomic():
                status, body = create()
                IdempotencyRecord.objects.create(
                    scope=scope, key=key, request_hash=digest, status_code=status, response=body
                )
            return Replay(status, body, False)
        except IntegrityError:
            if not IdempotencyRecord.objects.filter(scope=scope, key=key).exists():
                raise  # not a key race: a real integrity error from `create`
            # another request with this key committed first: loop round and replay it
    raise IdempotencyConflict(key)


def resolve_references(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Turn codes and ids from a channel (API, form, import row) into model values.

    Returns the data for `file_report` and field errors in Chinese; unknown categories,
    events or units are errors on their own field rather than a crash.
    """
    data = {k: v for k, v in raw.items() if v is not None and k not in {"category", "event_id"}}
    errors: dict[str, list[str]] = {}
    code = raw.get("category")
    if code:
        category = EventCategory.objects.filter(code=code).select_related("parent").first()
        if category is None:
            errors["category"] = [f"未知的事件类别：{code}"]
        else:
            data["category"] = category
    return data, errors


# --- who may act for a unit through a channel --------------------------------------------


def is_duty_officer_for(principal: Principal, unit: Unit) -> bool:
    """A 值班员 of the unit itself or of an office above it."""
    return any(
        g.role == Role.DUTY_OFFICER and unit.path.startswith(g.unit_path) for g in principal.grants
    )


def _channel_principal(unit: Unit, *, person_id: int | None, label: str) -> Principal:
    """What a channel files as: the unit's 信息员 (like its API token), with the person
    behind the input, if known, as the author."""
    return Principal(
        person_id=person_id, grants=(Grant(unit.pk, unit.path, Role.REPORTER),), label=label
    )


def _model_values(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """`data` as file_report takes it; a category may also be given by its code."""
    if isinstance(data.get("category"), str):
        return resolve_references(data)
    return {k: v for k, v in data.items() if v is not None}, {}


def _merge_errors(errors: dict[str, list[str]], exc: ValidationError) -> None:
    """Add the service's errors; a field that already has ours (an unknown category code)
    does not also get "为必填项"."""
    items = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for name, messages in items.items():
        if name not in errors:
            errors[name] = list(messages)


# --- e-mail --------------------------------------------------------------------------------

MAIL_RECEIVER = Principal(person_id=None, grants=(), label="邮件接收服务")


class MessageTooLarge(ValueError):
    """The raw message exceeds FENGHUO_MAIL_MAX_BYTES."""


def receive_message(
    raw: bytes,
    *,
    envelope_from: str = "",
    recipients: list[str] | tuple[str, ...] = (),
    peer: str = "",
) -> tuple[InboundMessage, bool]:
    """Store one received e-mail durably, then make a draft report of it.

    Returns (message, created). The same Message-ID again returns the first copy and
    creates nothing; a copy whose draft could not be made before gets another try. The
    message is committed before the draft is attempted, so a draft that fails (a bug, a
    missing office) never loses the message: it stays "新收到" with the reason noted.
    """
    limit = mail.max_bytes()
    if len(raw) > limit:
        raise MessageTooLarge(f"邮件大小 {len(raw)} 字节，超过上限 {limit} 字节")
    parsed = mail.parse_message(raw)
    message = InboundMessage.objects.filter(message_id=parsed.message_id).first()
    created = False
    if message is None:
        try:
            with transaction.atomic():
                message = InboundMessage.objects.create(
                    message_id=parsed.message_id,
                    envelope_from=envelope_from[:320],
                    recipients=[str(r).strip().lower() for r in recipients],
                    from_header=parsed.from_header,
                    from_name=parsed.from_name,
                    from_address=parsed.from_address,
                    subject=parsed.subject,
                    body=parsed.body,
                    sent_at=parsed.sent_at,
                    received_at=clock.now(),
                    size=len(raw),
                    raw=raw,
                    attachments=parsed.attachments,
                    peer=peer[:100],
                )
                audit_change(
                    MAIL_RECEIVER,
                    "intake.message.receive",
                    message,
                    after={
                        "message_id": message.message_id,
                        "from": message.from_header,
                        "to": message.recipients,
                        "subject": message.subject,
                        "size": message.size,
                    },
                )
            created = True
        except IntegrityError:
            message = InboundMessage.objects.filter(message_id=parsed.message_id).first()
            if message is None:
                raise
    if message.state == InboundMessage.State.NEW:
        try:
            message = draft_from_message(message)
        except Exception as exc:  # the message is safe; the draft can be retried
            logger.exception("邮件 %s 未能生成报告草稿", message.message_id)
            InboundMessage.objects.filter(pk=message.pk).update(note=f"生成草稿失败：{exc}"[:500])
            message.refresh_from_db()
    return message, created


def _identify_sender(address: str) -> tuple[Person | None, Unit | None]:
    """The person (Person.email) or unit (Unit.email) an address belongs to."""
    if not address:
        return None, None
    person = (
        Person.objects.filter(email__iexact=address, is_active=True)
        .select_related("unit")
        .order_by("pk")
        .first()
    )
    if person is not None:
        unit = person.unit if person.unit_id and person.unit.is_active else None
        if unit is None:
            membership = (
                person.memberships.filter(unit__is_active=True)
                .select_related("unit")
                .order_by("pk")
                .first()
            )
            unit = membership.unit if membership else None
        return person, unit
    unit = (
        Unit.objects.filter(email__iexact=address, is_active=True).order_by("depth", "path").first()
    )
    return None, unit


def _receiving_office(recipients: list[str]) -> Unit | None:
    """The office the message was addressed to (its Unit.email), else the top receiving
    office of the tree."""
    for address in recipients:
        unit = (
            Unit.objects.filter(email__iexact=address, is_active=True)
            .order_by("-is_receiving_office", "depth", "path")
            .first()
        )
        if unit is not None:
            return unit
    return (
        Unit.objects.filter(is_active=True, is_receiving_office=True)
        .order_by("depth", "path")
        .first()
    )


def _draft_category(fields: dict[str, Any]) -> tuple[EventCategory | None, bool]:
    """(category, provisional): a stated category is taken as given; otherwise the
    keyword guess or the fallback, which the duty officer must confirm."""
    lookup = importer.category_lookup()
    stated = fields.get("category_code")
    if stated:
        found = lookup.get(importer.normalise_header(stated))
        if found is not None:
            return found, False
    guess = fields.get("category_guess")
    fallback = getattr(
        settings, "FENGHUO_DRAFT_FALLBACK_CATEGORY", mail.FENGHUO_DRAFT_FALLBACK_CATEGORY
    )
    for code in (guess, fallback):
        if code and importer.normalise_header(code) in lookup:
            return lookup[importer.normalise_header(code)], True
    top = EventCategory.objects.filter(parent__isnull=True).order_by("sort_order", "code").first()
    return top, True


@transaction.atomic
def draft_from_message(message: InboundMessage) -> InboundMessage:
    """Make the draft report of a stored message (state 新收到 → 已生成草稿).

    The draft belongs to the sender's unit when the From address is a known person's or
    unit's; otherwise to the office the message was sent to, with the sender shown as
    the caller and the source, and reliability 未核实. The sender's identity is only a
    claim (From can be forged): that is why it is a draft a duty officer confirms.
    """
    message = InboundMessage.objects.select_for_update().get(pk=message.pk)
    if message.state != InboundMessage.State.NEW:
        return message
    person, unit = _identify_sender(message.from_address)
    known = person is not None or unit is not None
    if unit is None:
        unit = _receiving_office(message.recipients)
    if unit is None:
        message.note = "未能确定归属单位：发件人未登记，收件地址也不属于任何单位"
        message.save(update_fields=["note"])
        return message
    fields = mail.draft_fields(message.subject, message.body, message.received_at)
    category, category_guessed = _draft_category(fields)
    provisional = ["category"] if category_guessed else []
    if "occurred_at" not in fields:
        fields["occurred_at"] = message.received_at
        provisional.append("occurred_at")
    sender = message.from_header or message.from_address or message.envelope_from or "未知发件人"
    data = {
        name: fields[name]
        for name in ("title", "narrative", "place", "division_code", "occurred_at")
        if fields.get(name) not in (None, "")
    }
    data |= {name: fields[name] for name in mail.FIGURE_WORDS if name in fields}
    data |= {
        "category": category,
        "source": f"电子邮件：{sender}"[:200],
        "reliability": Reliability.PRELIMINARY if known else Reliability.UNVERIFIED,
    }
    filer = _channel_principal(
        unit,
        person_id=person.pk if person else None,
        label=f"邮件接收（{message.from_address or sender}）"[:150],
    )
    result = event_services.file_report(
        filer,
        unit=unit,
        kind=ReportKind.FIRST,
        channel=Channel.EMAIL,
        data=data,
        received_at=message.received_at,
        draft=True,
        caller_name=(message.from_name or message.from_address or sender)[:50],
        caller_phone=fields.get("caller_phone", "")[:30],
    )
    refused = _attach_mail_files(filer, result.report, bytes(message.raw))
    message.report = result.report
    message.unit = unit
    message.sender_person = person
    message.sender_known = known
    message.provisional_fields = provisional
    message.state = InboundMessage.State.DRAFTED
    notes = [] if known else ["发件人未登记，请核实来源"]
    if refused:
        notes.append("以下附件未转存（原件仍在邮件中）：" + "；".join(refused))
    message.note = "。".join(notes)
    message.save()
    return message


def _attach_mail_files(filer: Principal, report: Report, raw: bytes) -> list[str]:
    """Each attachment the checks accept goes onto the draft; one refused file (say a
    program) must not cost the others or the draft, so each is tried alone."""
    refused = []
    for name, content in mail.attachment_parts(raw):
        try:
            event_services.attach_files(
                filer, report, [ContentFile(content, name=name)], at_filing=True
            )
        except ValidationError as exc:
            refused.extend(exc.message_dict.get("attachments", exc.messages))
    return refused


# --- confirming or rejecting a draft (e-mail, clue) ----------------------------------------


@transaction.atomic
def confirm_intake_draft(
    principal: Principal,
    report: Report,
    data: dict[str, Any],
    *,
    kind: str | None = None,
    event: Event | None = None,
) -> event_services.FilingResult:
    """A duty officer completes and submits a draft that came in through a channel.

    Fields the system guessed (an e-mail's category, an assumed time) must be given in
    `data`; the e-mail is then marked 已确认报送. A category may be given by its code.
    """
    if not is_duty_officer_for(principal, report.unit):
        raise PermissionDenied("只有本级或上级值班室的值班员可以确认草稿")
    message = InboundMessage.objects.select_for_update().filter(report=report).first()
    values, errors = _model_values(data)
    if errors:
        raise ValidationError(errors)
    result = event_services.confirm_draft(
        principal,
        report,
        values,
        kind=kind,
        event=event,
        must_supply=tuple(message.provisional_fields) if message else (),
    )
    if message is not None:
        message.state = InboundMessage.State.CONFIRMED
        message.decided_by_id = principal.person_id
        message.decided_at = clock.now()
        message.save(update_fields=["state", "decided_by", "decided_at"])
    return result


@transaction.atomic
def reject_intake_draft(principal: Principal, report: Report, reason: str) -> None:
    """A duty officer declines a draft (not a report, a duplicate, spam): the draft is
    deleted, the e-mail kept as 不予采用 with the reason."""
    if not is_duty_officer_for(principal, report.unit):
        raise PermissionDenied("只有本级或上级值班室的值班员可以处理草稿")
    if not (reason or "").strip():
        raise ValidationError({"reason": ["请说明不予采用的理由"]})
    message = InboundMessage.objects.select_for_update().filter(report=report).first()
    event_services.discard_draft(principal, report, reason.strip())
    if message is not None:
        message.state = InboundMessage.State.REJECTED
        message.note = reason.strip()
        message.decided_by_id = principal.person_id
        message.decided_at = clock.now()
        message.save(update_fields=["state", "note", "decided_by", "decided_at"])


# --- phone / hotline -----------------------------------------------------------------------

PHONE_PATTERN = re.compile(r"[0-9+\-() ]{3,30}")


def record_phone_report(
    principal: Principal,
    *,
    unit: Unit,
    caller_name: str,
    caller_phone: str,
    called_at: datetime | None,
    data: dict[str, Any],
    kind: str = ReportKind.FIRST,
    event: Event | None = None,
) -> event_services.FilingResult:
    """A duty officer records a report telephoned in (电话报告) on the caller's behalf.

    The report is the unit's; the call's time is its time of receipt, which is what
    timeliness is measured against. Only a 值班员 of the unit or of an office above it.
    """
    if not is_duty_officer_for(principal, unit):
        raise PermissionDenied("只有本级或上级值班室的值班员可以记录电话报告")
    caller_name, caller_phone = (caller_name or "").strip(), (caller_phone or "").strip()
    values, errors = _model_values(data)
    if not caller_name:
        errors.setdefault("caller_name", []).append("来电人为必填项")
    if not caller_phone:
        errors.setdefault("caller_phone", []).append("来电号码为必填项")
    elif not PHONE_PATTERN.fullmatch(caller_phone):
        errors.setdefault("caller_phone", []).append("来电号码只能包含数字、空格和 + - ( )")
    if called_at is None:
        errors.setdefault("called_at", []).append("来电时间为必填项")
    else:
        if timezone.is_naive(called_at):
            called_at = timezone.make_aware(called_at)
        if called_at > clock.now() + timedelta(minutes=5):
            errors.setdefault("called_at", []).append("来电时间不能晚于当前时间")
    with transaction.atomic():
        try:
            result = event_services.file_report(
                principal,
                unit=unit,
                kind=kind,
                channel=Channel.PHONE,
                data=values,
                event=event,
                received_at=called_at,
                caller_name=caller_name,
                caller_phone=caller_phone,
            )
        except ValidationError as exc:
            _merge_errors(errors, exc)
        if errors:
            raise ValidationError(errors)  # undoes the report if only our checks failed
    return result


# --- clues from opinion monitoring ---------------------------------------------------------

CLUE_ROLES = (Role.DUTY_OFFICER, Role.ANALYST)


def report_from_clue(
    principal: Principal,
    *,
    unit: Unit,
    clue_text: str,
    source_url: str,
    data: dict[str, Any],
) -> event_services.FilingResult:
    """A clue from opinion monitoring becomes a draft report (channel 舆情线索, reliability
    未核实) for a duty officer to verify and confirm. Called by the opinion app.

    `unit` is the unit the clue concerns; an analyst or duty officer of that unit or an
    office above it may do this. Without a category the clue is filed as 网络舆情事件, and
    without a time as now; the source link is kept in the source and the narrative.
    """
    if not (
        any(g.role in CLUE_ROLES and unit.path.startswith(g.unit_path) for g in principal.grants)
        or event_services._may_report_for(principal, unit)
    ):
        raise PermissionDenied("无权为该单位登记舆情线索")
    clue_text, source_url = (clue_text or "").strip(), (source_url or "").strip()
    values, errors = _model_values(data)
    if not clue_text:
        errors.setdefault("clue_text", []).append("线索内容为必填项")
    if source_url:
        try:
            URLValidator(schemes=("http", "https"))(source_url)
        except ValidationError:
            errors.setdefault("source_url", []).append("来源链接格式不正确")
    if errors:
        raise ValidationError(errors)
    first_line = clue_text.splitlines()[0].strip()
    values.setdefault("title", first_line[:60])
    narrative = values.get("narrative") or clue_text
    values["narrative"] = f"{narrative}\n\n来源链接：{source_url}" if source_url else narrative
    values.setdefault("source", f"网络舆情线索：{source_url or '无链接'}"[:200])
    values.setdefault("occurred_at", clock.now())
    if "category" not in values:
        values["category"] = (
            EventCategory.objects.filter(code="online_opinion").first()
            or EventCategory.objects.order_by("sort_order", "code").first()
        )
    values["reliability"] = Reliability.UNVERIFIED
    filer = _channel_principal(unit, person_id=principal.person_id, label=str(principal))
    return event_services.file_report(
        filer, unit=unit, kind=ReportKind.FIRST, channel=Channel.CLUE, data=values, draft=True
    )


# --- bulk import -----------------------------------------------------------------------------


@dataclass
class ImportResult:
    batch_id: int | None
    filename: str
    total_rows: int
    imported: int
    skipped: int
    committed: bool
    replayed: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    report_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of_batch(cls, batch: ImportBatch, *, replayed: bool) -> "ImportResult":
        return cls(
            batch_id=batch.pk,
            filename=batch.filename,
            total_rows=batch.total_rows,
            imported=batch.imported,
            skipped=batch.skipped,
            committed=True,
            replayed=replayed,
            errors=batch.errors,
            notes=batch.notes,
            report_ids=list(
                batch.rows.exclude(report=None)
                .order_by("row_number")
                .values_list("report_id", flat=True)
            ),
        )


class _RollBack(Exception):
    pass


def _fingerprint(data: dict[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, EventCategory):
            return value.code
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        return value

    return request_digest({name: plain(value) for name, value in data.items()})


def _row_errors(row: int, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    out = []
    for name, messages in errors.items():
        column = importer.BY_FIELD.get(name)
        for text in messages:
            out.append(
                importer.RowError(
                    row, column.header if column else "", "" if name == "__all__" else name, text
                ).as_dict()
            )
    return out


def _check_the_rest(unit: Unit, data: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """A row with unreadable values still gets every other error named, by the same
    validation filing uses (on a report that is never saved)."""
    report = Report(kind=ReportKind.FIRST, unit=unit, channel=Channel.IMPORT)
    report.received_at = data.get("received_at") or clock.now()
    for name, value in data.items():
        if name in event_services.DATA_FIELDS:
            setattr(report, name, value)
    try:
        event_services.validate_report(report)
    except ValidationError as exc:
        _merge_errors(errors, exc)


def import_reports(
    principal: Principal,
    *,
    unit: Unit,
    filename: str,
    content: bytes,
    only_valid: bool = False,
) -> ImportResult:
    """Import first reports from an .xlsx or .csv file for `unit` (see `importer`).

    All in one transaction. A file with any error imports nothing and lists every error
    (row, column, message), unless `only_valid`: then the rows without errors are
    imported and the others listed. The same file again (same SHA-256, same unit)
    returns the first import and creates nothing; a row already imported from another
    file is skipped, so a corrected file adds only what was missing.
    """
    if not event_services._may_report_for(principal, unit):
        raise PermissionDenied("无权以该单位名义报送")
    digest = hashlib.sha256(content).hexdigest()
    existing = ImportBatch.objects.filter(unit=unit, content_hash=digest).first()
    if existing is not None:
        return ImportResult.of_batch(existing, replayed=True)
    table = importer.read_table(filename, content)
    if table.errors:
        return ImportResult(
            None,
            filename,
            len(table.rows),
            0,
            0,
            committed=False,
            errors=[e.as_dict() for e in table.errors],
        )
    categories = importer.category_lookup()
    errors: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    report_ids: list[int] = []
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                unit=unit,
                filename=filename[:255],
                content_hash=digest,
                size=len(content),
                only_valid=only_valid,
                total_rows=len(table.rows),
                created_by_id=principal.person_id,
                created_at=clock.now(),
            )
            seen: dict[str, int] = {}
            for number, cells in table.rows:
                data, row_errors = importer.convert_row(table.columns, cells, categories)
                if row_errors:
                    _check_the_rest(unit, data, row_errors)
                    errors += _row_errors(number, row_errors)
                    continue
                fingerprint = _fingerprint(data)
                if fingerprint in seen:
                    notes.append(
                        {"row": number, "message": f"与第 {seen[fingerprint]} 行相同，跳过"}
                    )
                    continue
                seen[fingerprint] = number
                earlier = ImportedRow.objects.filter(unit=unit, fingerprint=fingerprint).first()
                if earlier is not None:
                    where = f"批次 {earlier.batch_id} 第 {earlier.row_number} 行"
                    notes.append({"row": number, "message": f"已于{where}导入过，跳过"})
                    continue
                received_at = data.pop("received_at", None)
                if received_at is not None and received_at > clock.now() + timedelta(minutes=5):
                    message = "接报时间不能晚于当前时间"
                    errors.append(
                        importer.RowError(number, "接报时间", "received_at", message).as_dict()
                    )
                    continue
                try:
                    result = event_services.file_report(
                        principal,
                        unit=unit,
                        kind=ReportKind.FIRST,
                        channel=Channel.IMPORT,
                        data=data,
                        received_at=received_at,
                    )
                except ValidationError as exc:
                    errors += _row_errors(number, exc.message_dict)
                    continue
                ImportedRow.objects.create(
                    batch=batch,
                    unit=unit,
                    row_number=number,
                    fingerprint=fingerprint,
                    report=result.report,
                )
                report_ids.append(result.report.pk)
            if errors and not only_valid:
                raise _RollBack
            batch.imported, batch.skipped = len(report_ids), len(notes)
            batch.errors, batch.notes = errors, notes
            batch.save(update_fields=["imported", "skipped", "errors", "notes"])
            audit_change(
                principal,
                "intake.import",
                batch,
                after={
                    "unit": unit.pk,
                    "filename": batch.filename,
                    "sha256": digest,
                    "imported": batch.imported,
                    "skipped": batch.skipped,
                    "errors": len(errors),
                },
            )
    except _RollBack:
        return ImportResult(
            None, filename, len(table.rows), 0, 0, committed=False, errors=errors, notes=notes
        )
    except IntegrityError:
        existing = ImportBatch.objects.filter(unit=unit, content_hash=digest).first()
        if existing is None:
            raise
        return ImportResult.of_batch(existing, replayed=True)  # a concurrent import won
    return ImportResult.of_batch(batch, replayed=False)
