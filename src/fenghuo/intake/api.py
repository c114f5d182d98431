"""Report intake over the API: a unit's token plus an Idempotency-Key header; bulk import
of .xlsx / .csv files and its template."""

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from ninja import File, Form, Header, Router, Status, UploadedFile

from fenghuo.events import services as event_services
from fenghuo.events.models import Channel
from fenghuo.events.selectors import events_visible
from fenghuo.intake import importer, selectors, services
from fenghuo.intake.schemas import (
    DraftConfirmIn,
    DraftRejectIn,
    FieldErrors,
    ImportOut,
    MailDraftOut,
    ReportCreated,
    ReportIn,
)
from fenghuo.org.auth import request_principal
from fenghuo.org.models import Unit

router = Router(tags=["报送"])


@router.post(
    "/reports",
    response={
        201: ReportCreated,
        200: ReportCreated,
        403: FieldErrors,
        409: FieldErrors,
        422: FieldErrors,
    },
    summary="报送报告（首报/续报/终报/补报）",
    description="同一 Idempotency-Key 重复提交时返回第一次的结果，不会产生第二份报告。",
)
def create_report(
    request: HttpRequest,
    payload: ReportIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=128),
):
    principal = request_principal(request)
    raw = payload.dict(exclude_unset=True)

    def create() -> tuple[int, dict]:
        data, errors = services.resolve_references(raw)
        unit = _reporting_unit(principal, raw.get("unit_id"), errors)
        event = None
        if raw.get("event_id") is not None:
            event = events_visible(principal).filter(pk=raw["event_id"]).first()
            if event is None:
                errors["event_id"] = ["事件不存在或无权访问"]
        if errors:
            raise ValidationError(errors)
        result = event_services.file_report(
            principal,
            unit=unit,
            kind=payload.kind,
            channel=Channel.API,
            data=data,
            event=event,
        )
        return 201, {
            "id": result.report.pk,
            "event_id": result.event.pk if result.event else None,
            "kind": result.report.kind,
            "kind_label": result.report.kind_label,
            "outcome": result.outcome,
            "score": result.score,
        }

    try:
        replay = services.idempotent(principal, idempotency_key, raw, create)
    except services.IdempotencyConflict:
        return Status(
            409,
            {
                "detail": "该幂等键已用于内容不同的请求",
                "errors": {"Idempotency-Key": ["同一幂等键只能对应同一份报告"]},
            },
        )
    return Status(200 if replay.replayed else replay.status_code, replay.body)


def _reporting_unit(principal, unit_id: int | None, errors: dict) -> Unit | None:
    own = [g.unit_id for g in principal.grants]
    if unit_id is None:
        if len(set(own)) == 1:
            return Unit.objects.get(pk=own[0])
        errors["unit_id"] = ["请指明报送单位"]
        return None
    unit = Unit.objects.filter(pk=unit_id, is_active=True).first()
    if unit is None:
        errors["unit_id"] = ["报送单位不存在"]
    return unit


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post(
    "/reports/import",
    # 422: the file's errors by row (ImportOut), or a request without a file (FieldErrors)
    response={201: ImportOut, 200: ImportOut, 403: FieldErrors, 422: ImportOut | FieldErrors},
    summary="批量导入报告（.xlsx / .csv）",
    description=(
        "上传按导入模板填写的 .xlsx 或 .csv 文件（multipart，字段 file），每行一份首报。"
        "文件有任何错误时一行也不导入，返回 422 和每个错误的行号、列名；"
        "only_valid=true 时只导入无误的行。同一文件重复导入返回 200 和第一次的结果，不产生新报告。"
    ),
)
def import_reports(
    request: HttpRequest,
    file: File[UploadedFile],
    unit_id: int | None = Form(None, description="报送单位；令牌调用时为令牌所属单位"),
    only_valid: bool = Form(False, description="只导入无误的行"),
):
    principal = request_principal(request)
    errors: dict[str, list[str]] = {}
    unit = _reporting_unit(principal, unit_id, errors)
    name = file.name or "upload"
    max_bytes, _ = importer.limits()
    if unit is None or (file.size or 0) > max_bytes:
        message = errors.get("unit_id", [f"文件超过 {max_bytes // 1024 // 1024} MB"])[0]
        field = "unit_id" if unit is None else ""
        body = services.ImportResult(None, name, 0, 0, 0, committed=False)
        body.errors = [{"row": None, "column": "", "field": field, "message": message}]
        return Status(422, body.as_dict())
    result = services.import_reports(
        principal, unit=unit, filename=name, content=file.read(), only_valid=only_valid
    )
    if not result.committed:
        return Status(422, result.as_dict())
    return Status(200 if result.replayed else 201, result.as_dict())


@router.get(
    "/reports/import-template",
    response={200: None},
    summary="下载批量导入模板（.xlsx）",
    description="第一行为列名（带 * 为必填），另附“填写说明”和“类别”两张表。",
    openapi_extra={"responses": {200: {"content": {XLSX_TYPE: {}}, "description": "模板文件"}}},
)
def import_template(request: HttpRequest):
    response = HttpResponse(importer.template_workbook(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename="烽火报告导入模板.xlsx"
    )
    return response


# --- e-mail drafts awaiting a duty officer ------------------------------------------------


@router.get("/intake/mail-drafts", response=list[MailDraftOut], summary="待确认的邮件报告草稿")
def mail_drafts(request: HttpRequest):
    return [
        {
            "report_id": m.report_id,
            "message_id": m.message_id,
            "from_header": m.from_header,
            "subject": m.subject,
            "received_at": m.received_at,
            "unit": m.report.unit.name,
            "title": m.report.title,
            "narrative": m.report.narrative,
            "provisional_fields": m.provisional_fields,
        }
        for m in selectors.mail_drafts_to_confirm(request_principal(request))
    ]


def _mail_draft(request: HttpRequest, report_id: int):
    message = (
        selectors.mail_drafts_to_confirm(request_principal(request))
        .filter(report_id=report_id)
        .first()
    )
    if message is None:
        raise Http404("草稿不存在或无权处理")
    return message.report


@router.post(
    "/intake/mail-drafts/{report_id}/confirm",
    response={200: ReportCreated, 403: FieldErrors, 422: FieldErrors},
    summary="确认邮件草稿并报送",
)
def confirm_mail_draft(request: HttpRequest, report_id: int, payload: DraftConfirmIn):
    report = _mail_draft(request, report_id)
    data = payload.dict(exclude_unset=True)
    kind = data.pop("kind", None)
    for name in ("event_id", "unit_id"):
        data.pop(name, None)
    result = services.confirm_intake_draft(request_principal(request), report, data, kind=kind)
    return {
        "id": result.report.pk,
        "event_id": result.event.pk if result.event else None,
        "kind": result.report.kind,
        "kind_label": result.report.kind_label,
        "outcome": result.outcome,
        "score": result.score,
    }


@router.post(
    "/intake/mail-drafts/{report_id}/reject",
    response={204: None, 403: FieldErrors, 422: FieldErrors},
    summary="邮件草稿不予采用",
)
def reject_mail_draft(request: HttpRequest, report_id: int, payload: DraftRejectIn):
    report = _mail_draft(request, report_id)
    services.reject_intake_draft(request_principal(request), report, payload.reason)
    return Status(204, None)
