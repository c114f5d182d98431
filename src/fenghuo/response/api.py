"""Emergency response over the API (thin): start, change level, tasks, notes, evidence,
request and approve the end, summary. Errors: 422 with Chinese messages per field, 403
when the role is missing, 404 when the event, response or task is not visible."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from ninja import File, Router, Status, UploadedFile

from fenghuo.events import attachments
from fenghuo.org.auth import request_principal
from fenghuo.org.models import Unit
from fenghuo.org.policy import Principal
from fenghuo.response import selectors, services
from fenghuo.response.models import EndRequest, Evidence, LevelPlan, Response, Task, TaskNote
from fenghuo.response.schemas import (
    DecisionIn,
    EndRequestIn,
    EndRequestOut,
    EvidenceOut,
    LevelIn,
    LevelPlanOut,
    NoteIn,
    NoteOut,
    ResponseOut,
    StartIn,
    SummaryIn,
    TaskIn,
    TaskOut,
    TaskPatch,
)

router = Router(tags=["应急响应"])


def _response_out(principal: Principal, response: Response) -> dict:
    return {
        "id": response.pk,
        "event_id": response.event_id,
        "event_title": response.event.title,
        "office_id": response.office_id,
        "office": response.office.name,
        "level": response.level,
        "level_label": response.get_level_display(),
        "state": response.state,
        "state_label": response.get_state_display(),
        "reason": response.reason,
        "started_at": response.started_at,
        "ended_at": response.ended_at,
        "summary": response.summary,
        "summarized_at": response.summarized_at,
        "leaders": [
            {
                "person_id": leader.person_id,
                "name": str(leader.person),
                "unit_id": leader.unit_id,
                "unit": leader.unit.name,
                "role": leader.role,
                "role_label": leader.role_label,
            }
            for leader in selectors.current_leaders(response)
        ],
        "changes": [
            {
                "from_level": c.from_level,
                "to_level": c.to_level,
                "reason": c.reason,
                "at": c.at,
                "by": c.actor_name,
            }
            for c in response.changes.all()
        ],
        "end_requests": [_end_request_out(r) for r in response.end_requests.all()],
        "may_manage": selectors.may_manage(principal, response),
        "may_approve_end": selectors.may_approve_end(principal, response),
        "board_url": services.board_link(response.event_id),
    }


def _end_request_out(request: EndRequest) -> dict:
    return {
        "id": request.pk,
        "assessment": request.assessment,
        "requested_at": request.requested_at,
        "requested_by": request.requested_by_name,
        "decision": request.decision,
        "decision_label": request.get_decision_display(),
        "decided_at": request.decided_at,
        "decided_by": request.decided_by_name,
        "decision_note": request.decision_note,
    }


def _evidence_out(evidence: Evidence) -> dict:
    return {
        "id": evidence.pk,
        "name": evidence.name,
        "kind": evidence.kind,
        "content_type": evidence.content_type,
        "size": evidence.size,
        "uploaded_at": evidence.uploaded_at,
        "url": reverse("api:response_evidence", kwargs={"evidence_id": evidence.pk}),
    }


def _task_out(principal: Principal, task: Task) -> dict:
    return {
        "id": task.pk,
        "response_id": task.response_id,
        "event_id": task.response.event_id,
        "title": task.title,
        "description": task.description,
        "unit_id": task.unit_id,
        "unit": task.unit.name,
        "due_at": task.due_at,
        "state": task.state,
        "state_label": task.get_state_display(),
        "created_at": task.created_at,
        "started_at": task.started_at,
        "done_at": task.done_at,
        "overdue_at": task.overdue_at,
        "notes": [_note_out(n) for n in task.notes.all()],
        "evidence": [_evidence_out(e) for e in task.evidence.all()],
        "may_work": selectors.may_work_on(principal, task),
    }


def _note_out(note: TaskNote) -> dict:
    return {"id": note.pk, "text": note.text, "at": note.at, "author": note.actor_name}


def _aware(moment: datetime | None) -> datetime | None:
    """A time sent without an offset is local time (Asia/Shanghai by default)."""
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


def _unit(unit_id: int | None, field: str = "unit") -> Unit | None:
    if unit_id is None:
        return None
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise ValidationError({field: ["责任单位不存在"]})
    return unit


def _visible_response(principal: Principal, response_id: int) -> Response:
    return get_object_or_404(selectors.responses_visible(principal), pk=response_id)


def _visible_task(principal: Principal, task_id: int) -> Task:
    return get_object_or_404(selectors.tasks_visible(principal), pk=task_id)


@router.get("/response-levels", response=list[LevelPlanOut], summary="响应级别设置")
def list_levels(request: HttpRequest):
    return [
        {
            "level": plan.level,
            "label": plan.get_level_display(),
            "lead_roles": plan.lead_roles,
            "department_head": plan.department_head,
            "start_roles": plan.start_roles,
            "end_roles": plan.end_roles,
            "urgent": plan.urgent,
            "duties": plan.duties,
        }
        for plan in LevelPlan.objects.all()
    ]


@router.get(
    "/events/{event_id}/responses",
    response=list[ResponseOut],
    summary="事件的应急响应",
    description="最新的在前；进行中的响应至多一个。",
)
def event_responses(request: HttpRequest, event_id: int):
    principal = request_principal(request)
    event = get_object_or_404(selectors.board_events(principal), pk=event_id)
    return [_response_out(principal, r) for r in selectors.event_responses(principal, event)]


@router.post(
    "/events/{event_id}/responses",
    response={201: ResponseOut},
    summary="启动应急响应",
    description="level 为 1–4（Ⅰ–Ⅳ级）。office_id 省略时为本人可启动的、离事件最近的办公室。"
    "牵头人按响应级别设置确定并收到通知；每个事件同时只能有一个进行中的响应。",
)
def start(request: HttpRequest, event_id: int, payload: StartIn):
    principal = request_principal(request)
    event = get_object_or_404(selectors.board_events(principal), pk=event_id)
    office = _unit(payload.office_id, "office")
    response = services.start_response(
        principal, event=event, level=payload.level, reason=payload.reason, office=office
    )
    return Status(201, _response_out(principal, response))


@router.get("/responses/{response_id}", response=ResponseOut, summary="应急响应")
def get_response(request: HttpRequest, response_id: int):
    principal = request_principal(request)
    return _response_out(principal, _visible_response(principal, response_id))


@router.post(
    "/responses/{response_id}/level",
    response=ResponseOut,
    summary="提升或降低响应级别",
    description="原牵头人卸任，新级别的牵头人收到通知。",
)
def change_level(request: HttpRequest, response_id: int, payload: LevelIn):
    principal = request_principal(request)
    response = services.change_level(
        principal,
        _visible_response(principal, response_id),
        level=payload.level,
        reason=payload.reason,
    )
    return _response_out(principal, response)


@router.get("/responses/{response_id}/tasks", response=list[TaskOut], summary="响应任务")
def list_tasks(request: HttpRequest, response_id: int):
    principal = request_principal(request)
    response = _visible_response(principal, response_id)
    return [_task_out(principal, t) for t in selectors.response_tasks(principal, response)]


@router.post(
    "/responses/{response_id}/tasks",
    response={201: TaskOut},
    summary="下达响应任务",
    description="责任单位须为响应办公室或其所辖单位，时限须晚于当前时间；责任单位收到通知。",
)
def create_task(request: HttpRequest, response_id: int, payload: TaskIn):
    principal = request_principal(request)
    task = services.create_task(
        principal,
        _visible_response(principal, response_id),
        title=payload.title,
        unit=_unit(payload.unit_id),
        due_at=_aware(payload.due_at),
        description=payload.description,
    )
    return Status(201, _task_out(principal, task))


@router.patch(
    "/response-tasks/{task_id}",
    response=TaskOut,
    summary="更新响应任务",
    description="只改所传字段。title / description / unit_id / due_at：响应的指挥人员；"
    "state（in_progress 处置中 / done 已完成）与 note：另含责任单位。",
)
def update_task(request: HttpRequest, task_id: int, payload: TaskPatch):
    principal = request_principal(request)
    task = _visible_task(principal, task_id)
    sent = payload.dict(exclude_unset=True)
    content = {k: sent[k] for k in ("title", "description") if k in sent}
    with transaction.atomic():
        if content or "unit_id" in sent or "due_at" in sent:
            task = services.edit_task(
                principal,
                task,
                **content,
                unit=_unit(sent.get("unit_id")),
                due_at=_aware(sent.get("due_at")),
            )
        if sent.get("state") is not None:
            task = services.set_task_state(principal, task, sent["state"], note=payload.note)
    task.refresh_from_db()
    return _task_out(principal, task)


@router.post(
    "/response-tasks/{task_id}/notes",
    response={201: NoteOut},
    summary="记录任务进展",
)
def add_note(request: HttpRequest, task_id: int, payload: NoteIn):
    principal = request_principal(request)
    note = services.add_note(principal, _visible_task(principal, task_id), payload.text)
    return Status(201, _note_out(note))


@router.post(
    "/response-tasks/{task_id}/evidence",
    response={201: list[EvidenceOut]},
    summary="上传佐证材料",
    description="multipart 表单，字段 files 可重复。只接受图片和视频，按文件内容判断类型，"
    "不看文件名；任一文件不合格则全部不保存，422 逐一说明。同一内容重复上传返回已有材料。",
)
def upload_evidence(request: HttpRequest, task_id: int, files: File[list[UploadedFile]]):
    principal = request_principal(request)
    saved = services.add_evidence(principal, _visible_task(principal, task_id), list(files))
    return Status(201, [_evidence_out(e) for e in saved])


@router.get(
    "/response-evidence/{evidence_id}",
    response={200: None},
    url_name="response_evidence",
    summary="下载佐证材料",
    description="按所属任务的权限检查；无权查看时返回 404。",
    openapi_extra={
        "responses": {
            200: {
                "description": "文件内容",
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            },
            404: {"description": "不存在或无权查看"},
        }
    },
)
def download_evidence(request: HttpRequest, evidence_id: int):
    principal = request_principal(request)
    return attachments.response(
        get_object_or_404(selectors.evidence_visible(principal), pk=evidence_id)
    )


@router.post(
    "/responses/{response_id}/end-request",
    response={201: EndRequestOut},
    summary="提请结束应急响应",
    description="须附评估意见；批准前响应处于「待批准结束」。",
)
def request_end(request: HttpRequest, response_id: int, payload: EndRequestIn):
    principal = request_principal(request)
    end = services.request_end(
        principal, _visible_response(principal, response_id), payload.assessment
    )
    return Status(201, _end_request_out(end))


@router.post(
    "/responses/{response_id}/end-approval",
    response=ResponseOut,
    summary="审批结束应急响应",
    description="approve=true 批准：响应结束，事件转为「已结束」；"
    "approve=false 不批准（须说明理由）：响应继续。默认须领导小组组长或副组长（见响应级别设置）。",
)
def decide_end(request: HttpRequest, response_id: int, payload: DecisionIn):
    principal = request_principal(request)
    response = services.decide_end(
        principal,
        _visible_response(principal, response_id),
        approve=payload.approve,
        note=payload.note,
    )
    return _response_out(principal, response)


@router.put(
    "/responses/{response_id}/summary",
    response=ResponseOut,
    summary="处置总结",
    description="响应结束后填写或修改，显示在事件页面；事件归档后不能再改。",
)
def summarize(request: HttpRequest, response_id: int, payload: SummaryIn):
    principal = request_principal(request)
    response = services.summarize(
        principal, _visible_response(principal, response_id), payload.summary
    )
    return _response_out(principal, response)
