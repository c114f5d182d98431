"""Events over the API: list, detail with figures and timeline, status changes."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from ninja import File, Router, Status, UploadedFile

from fenghuo.core import clock
from fenghuo.core.sandbox import drill_q
from fenghuo.documents.docx import DOCX_CONTENT_TYPE
from fenghuo.events import attachments, documents, selectors, services
from fenghuo.events.models import Attachment, Consultation, Event, VerificationTask
from fenghuo.events.schemas import (
    AttachmentError,
    AttachmentOut,
    ConsultationAnswerIn,
    ConsultationAnswerOut,
    ConsultationCloseIn,
    ConsultationIn,
    ConsultationOut,
    EventDetail,
    EventOut,
    StatusIn,
    VerificationAnswerIn,
    VerificationIn,
    VerificationOut,
)
from fenghuo.org.auth import request_principal
from fenghuo.org.models import Person, Unit

router = Router(tags=["事件"])


def _brief(event: Event, report_count: int) -> dict:
    return {
        "id": event.pk,
        "is_drill": event.is_drill,
        "title": event.title,
        "category": str(event.category),
        "status": event.status,
        "status_label": event.get_status_display(),
        "grade": event.grade,
        "occurred_at": event.occurred_at,
        "division_code": event.division_code,
        "place": event.place,
        "report_count": report_count,
    }


@router.get(
    "/events",
    response=list[EventOut],
    summary="事件列表",
    description="演练事件不在列表中；drill=true 时只列演练事件。",
)
def list_events(
    request: HttpRequest, status: str | None = None, drill: bool = False, limit: int = 100
):
    principal = request_principal(request)
    events = (
        selectors.events_visible(principal)
        .filter(drill_q(drill))
        .select_related("category", "category__parent")
        .order_by("-occurred_at")
    )
    if status:
        events = events.filter(status=status)
    page = list(events[: max(1, min(limit, 500))])
    # Counted over the reports this reader may see: the total would tell of the others.
    stats = selectors.event_report_stats(principal, [e.pk for e in page])
    return [_brief(e, stats.get(e.pk, {}).get("count", 0)) for e in page]


def _visible_event(request: HttpRequest, event_id: int) -> Event:
    principal = request_principal(request)
    return get_object_or_404(
        selectors.events_visible(principal).select_related("category", "category__parent"),
        pk=event_id,
    )


@router.get("/events/{event_id}", response=EventDetail, summary="事件详情")
def event_detail(request: HttpRequest, event_id: int):
    principal = request_principal(request)
    event = _visible_event(request, event_id)
    reports = list(selectors.event_reports(principal, event))
    table = selectors.figures_table(event, reports)
    return {
        **_brief(event, len(reports)),
        "sources": [
            {
                "unit": s.unit.name,
                "report_id": s.report.pk,
                "report_kind": s.report.kind_label,
                "values": s.values,
            }
            for s in table.sources
        ],
        "current": table.current,
        "basis": table.basis,
        "conflicts": table.conflicts,
        "reports": [
            {
                "id": r.pk,
                "kind_label": r.kind_label,
                "unit": r.unit.name,
                "received_at": r.received_at,
                "title": r.title,
                "narrative": r.narrative,
            }
            for r in reports
        ],
        "timeline": list(selectors.event_timeline(principal, event)),
    }


@router.post("/events/{event_id}/status", response=EventOut, summary="变更事件状态")
def change_status(request: HttpRequest, event_id: int, payload: StatusIn):
    event = _visible_event(request, event_id)
    services.change_status(request_principal(request), event, payload.status, payload.note)
    return _brief(event, selectors.event_reports(request_principal(request), event).count())


# --- Verification (核实) and consultation (会商) ------------------------------------------


@contextmanager
def _payload_names(**names: str) -> Iterator[None]:
    """Report a service's field errors under the payload's field names (unit → unit_id)."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        errors = {names.get(key, key): messages for key, messages in exc.message_dict.items()}
        raise ValidationError(errors) from exc


def _verification_out(task: VerificationTask) -> dict:
    return {
        "id": task.pk,
        "event_id": task.event_id,
        "event_title": task.event.title,
        "report_id": task.report_id,
        "assignee_unit_id": task.assignee_unit_id,
        "assignee_unit": task.assignee_unit.name,
        "question": task.question,
        "due_at": task.due_at,
        "requested_by": str(task.requested_by) if task.requested_by_id else "",
        "requested_at": task.requested_at,
        "state": task.state,
        "state_label": task.get_state_display(),
        "answer": task.answer,
        "answered_by": str(task.answered_by) if task.answered_by_id else "",
        "answered_at": task.answered_at,
        "overdue": task.state == VerificationTask.State.OPEN and task.due_at < clock.now(),
    }


@router.post(
    "/events/{event_id}/verifications",
    response={201: VerificationOut},
    summary="发起核实",
    description="请所辖单位在时限内核实事件或其中一份报告；新接报的事件转为「核实中」。",
)
def post_verification(request: HttpRequest, event_id: int, payload: VerificationIn):
    principal = request_principal(request)
    event = _visible_event(request, event_id)
    errors: dict[str, list[str]] = {}
    unit = Unit.objects.filter(pk=payload.assignee_unit_id).first()
    if unit is None:
        errors["assignee_unit_id"] = ["核实单位不存在"]
    report = None
    if payload.report_id is not None:
        report = selectors.event_reports(principal, event).filter(pk=payload.report_id).first()
        if report is None:
            errors["report_id"] = ["报告不存在或不属于该事件"]
    if errors:
        raise ValidationError(errors)
    with _payload_names(assignee_unit="assignee_unit_id", report="report_id"):
        task = services.request_verification(
            principal,
            event=event,
            assignee_unit=unit,
            question=payload.question,
            due_at=payload.due_at,
            report=report,
        )
    return Status(201, _verification_out(task))


@router.post(
    "/verifications/{task_id}/answer",
    response=VerificationOut,
    summary="答复核实",
    description="核实单位答复结论（confirmed 属实 / partly 部分属实 / false 不实）和核实情况，"
    "可附核实数（figures: dead, missing, seriously_injured, injured, economic_loss, "
    "affected, evacuated）。",
)
def post_verification_answer(request: HttpRequest, task_id: int, payload: VerificationAnswerIn):
    principal = request_principal(request)
    task = get_object_or_404(selectors.verifications_visible(principal), pk=task_id)
    task = services.answer_verification(
        principal, task, state=payload.state, answer=payload.answer, figures=payload.figures
    )
    return _verification_out(task)


@router.get(
    "/verifications",
    response=list[VerificationOut],
    summary="核实任务",
    description="scope=assigned：交给本人所在单位核实的任务（默认）；scope=visible："
    "本人可见的全部核实任务。overdue=true 只列超过时限仍未答复的。"
    "演练数据不在列表中；drill=true 时只列演练的核实任务。",
)
def list_verifications(
    request: HttpRequest,
    scope: Literal["assigned", "visible"] = "assigned",
    overdue: bool = False,
    state: str | None = None,
    drill: bool = False,
    limit: int = 200,
):
    principal = request_principal(request)
    if overdue:
        tasks = selectors.overdue_verifications(principal)
        if scope == "assigned":
            tasks = tasks.filter(pk__in=selectors.verifications_assigned(principal).values("pk"))
    elif scope == "assigned":
        tasks = selectors.verifications_assigned(principal)
    else:
        tasks = selectors.verifications_visible(principal)
    tasks = tasks.filter(drill_q(drill, "event__"))
    if state:
        tasks = tasks.filter(state=state)
    tasks = tasks.order_by("due_at", "pk")[: max(1, min(limit, 500))]
    return [_verification_out(t) for t in tasks]


def _consultation_out(consultation: Consultation) -> dict:
    return {
        "id": consultation.pk,
        "event_id": consultation.event_id,
        "event_title": consultation.event.title,
        "question": consultation.question,
        "requested_by": str(consultation.requested_by) if consultation.requested_by_id else "",
        "requested_at": consultation.requested_at,
        "due_at": consultation.due_at,
        "units": [u.name for u in consultation.units.all()],
        "experts": [str(p) for p in consultation.experts.all()],
        "answers": [_consultation_answer_out(a) for a in consultation.answers.all()],
        "conclusion": consultation.conclusion,
        "closed_at": consultation.closed_at,
    }


def _consultation_answer_out(answer) -> dict:
    return {
        "id": answer.pk,
        "author": str(answer.author),
        "unit": answer.unit.name if answer.unit_id else None,
        "text": answer.text,
        "answered_at": answer.answered_at,
    }


def _visible_consultation(request: HttpRequest, consultation_id: int) -> Consultation:
    return get_object_or_404(
        selectors.consultations_visible(request_principal(request)), pk=consultation_id
    )


@router.post(
    "/events/{event_id}/consultations",
    response={201: ConsultationOut},
    summary="发起会商",
    description="把拿不准的情况交有关部门（unit_ids）和/或专家库中的专家（expert_ids）会商。",
)
def post_consultation(request: HttpRequest, event_id: int, payload: ConsultationIn):
    principal = request_principal(request)
    event = _visible_event(request, event_id)
    errors: dict[str, list[str]] = {}
    units = list(Unit.objects.filter(pk__in=payload.unit_ids))
    if len(units) != len(set(payload.unit_ids)):
        errors["unit_ids"] = ["会商部门不存在"]
    experts = list(Person.objects.filter(pk__in=payload.expert_ids))
    if len(experts) != len(set(payload.expert_ids)):
        errors["expert_ids"] = ["专家不存在"]
    if errors:
        raise ValidationError(errors)
    with _payload_names(units="unit_ids", experts="expert_ids"):
        consultation = services.request_consultation(
            principal,
            event=event,
            question=payload.question,
            units=units,
            experts=experts,
            due_at=payload.due_at,
        )
    return Status(201, _consultation_out(consultation))


@router.post(
    "/consultations/{consultation_id}/answers",
    response={201: ConsultationAnswerOut},
    summary="发表会商意见",
)
def post_consultation_answer(
    request: HttpRequest, consultation_id: int, payload: ConsultationAnswerIn
):
    consultation = _visible_consultation(request, consultation_id)
    answer = services.answer_consultation(
        request_principal(request), consultation, text=payload.text
    )
    return Status(201, _consultation_answer_out(answer))


@router.post(
    "/consultations/{consultation_id}/close",
    response=ConsultationOut,
    summary="结束会商并记录结论",
)
def post_consultation_close(
    request: HttpRequest, consultation_id: int, payload: ConsultationCloseIn
):
    consultation = _visible_consultation(request, consultation_id)
    services.close_consultation(
        request_principal(request), consultation, conclusion=payload.conclusion
    )
    return _consultation_out(consultation)


@router.get(
    "/consultations",
    response=list[ConsultationOut],
    summary="会商",
    description="scope=invited：邀请本人或本人所在单位的会商（默认）；scope=visible：本人可见的全部会商。"
    "演练数据不在列表中；drill=true 时只列演练的会商。",
)
def list_consultations(
    request: HttpRequest,
    scope: Literal["invited", "visible"] = "invited",
    open_only: bool = False,
    drill: bool = False,
    limit: int = 100,
):
    principal = request_principal(request)
    if scope == "invited":
        consultations = selectors.consultations_invited(principal)
    else:
        consultations = selectors.consultations_visible(principal)
    consultations = consultations.filter(drill_q(drill, "event__"))
    if open_only:
        consultations = consultations.filter(closed_at__isnull=True)
    consultations = consultations.prefetch_related(
        "units", "experts", "answers__author", "answers__unit"
    ).order_by("-requested_at", "-pk")[: max(1, min(limit, 500))]
    return [_consultation_out(c) for c in consultations]


# --- Documents ------------------------------------------------------------------------


@router.get(
    "/reports/{report_id}/document.docx",
    summary="导出信息专报（Word）",
    description="按公文格式（GB/T 9704）生成首报/续报/终报的 Word 文档；无权查看的报告返回 404。",
    openapi_extra={
        "responses": {
            200: {
                "description": "Word 文档",
                "content": {DOCX_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            },
            404: {"description": "报告不存在或无权查看"},
        }
    },
)
def report_document(request: HttpRequest, report_id: int):
    report = get_object_or_404(
        selectors.reports_visible(request_principal(request)).select_related(
            "unit", "created_by", "previous", "category"
        ),
        pk=report_id,
    )
    response = HttpResponse(documents.render_report(report), content_type=DOCX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        True, documents.document_filename(report)
    )
    return response


def attachment_out(attachment: Attachment) -> dict:
    return {
        "id": attachment.pk,
        "report_id": attachment.report_id,
        "name": attachment.name,
        "kind": attachment.kind,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "uploaded_at": attachment.uploaded_at,
        "url": f"/api/attachments/{attachment.pk}",
    }


@router.get(
    "/reports/{report_id}/attachments",
    response=list[AttachmentOut],
    summary="报告的附件",
    description="无权查看该报告时返回 404。",
)
def list_attachments(request: HttpRequest, report_id: int):
    principal = request_principal(request)
    report = get_object_or_404(selectors.reports_visible(principal), pk=report_id)
    return [attachment_out(a) for a in report.attachments.all()]


@router.post(
    "/reports/{report_id}/attachments",
    response={201: list[AttachmentOut], 403: AttachmentError, 422: AttachmentError},
    summary="为本单位的报告上传附件",
    description=(
        "multipart 表单，字段 files 可重复。按文件内容判断类型（图片、音频、视频、文档），"
        "不看文件名；任一文件不合格则全部不保存，422 逐一说明。同一内容重复上传返回已有附件。"
    ),
)
def upload_attachments(request: HttpRequest, report_id: int, files: File[list[UploadedFile]]):
    principal = request_principal(request)
    report = get_object_or_404(
        selectors.reports_visible(principal).select_related("unit", "event"), pk=report_id
    )
    try:
        saved = services.attach_files(principal, report, list(files))
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc), "errors": {}})
    return Status(201, [attachment_out(a) for a in saved])


@router.get(
    "/attachments/{attachment_id}",
    response={200: None},
    summary="下载附件",
    description="按所属报告的权限和密级检查；无权查看时返回 404。",
    openapi_extra={
        "responses": {
            200: {
                "description": "附件内容",
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            },
            404: {"description": "附件不存在或无权查看"},
        }
    },
)
def download_attachment(request: HttpRequest, attachment_id: int):
    attachment = get_object_or_404(
        selectors.attachments_visible(request_principal(request)), pk=attachment_id
    )
    return attachments.response(attachment)
