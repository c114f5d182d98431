"""Warnings over the API (thin): list, detail, drafts, approval, issue, adjust, lift, CAP.

Creates (a draft, an adjustment) take an Idempotency-Key like report intake: the same key
again returns the first answer and creates nothing.
"""

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Header, Router, Status

from fenghuo.alerts import cap, selectors, services
from fenghuo.alerts.models import Warning, WarningState
from fenghuo.alerts.schemas import CapImportOut, FieldErrors, ReasonIn, WarningIn, WarningOut
from fenghuo.intake.services import IdempotencyConflict, idempotent
from fenghuo.org.auth import request_principal
from fenghuo.org.policy import Principal

router = Router(tags=["预警"])
MAX_ROWS = 500
MAX_CAP_BYTES = 1024 * 1024
CAP_TYPE = "application/cap+xml"
ERRORS = {403: FieldErrors, 404: FieldErrors, 409: FieldErrors, 422: FieldErrors}


def warning_out(warning: Warning) -> dict:
    return {
        "id": warning.pk,
        "series_id": warning.series_id,
        "version": warning.version,
        "replaces_id": warning.replaces_id,
        "state": warning.state,
        "state_label": warning.get_state_display(),
        "category": warning.category.code,
        "category_name": warning.category.name,
        "level": warning.level,
        "colour": warning.colour,
        "level_label": warning.get_level_display(),
        "event_name": warning.event_name,
        "title": warning.title,
        "issuing_unit_id": warning.issuing_unit_id,
        "issuing_unit": warning.issuing_unit.name,
        "area_codes": warning.area_codes,
        "area_desc": warning.area_desc,
        "geometry": warning.geometry,
        "starts_at": warning.starts_at,
        "ends_at": warning.ends_at,
        "impact": warning.impact,
        "cautions": warning.cautions,
        "measures": warning.measures,
        "event_id": warning.event_id,
        "is_drill": warning.is_drill,
        "confidentiality": warning.confidentiality,
        "identifier": warning.identifier,
        "cancel_identifier": warning.cancel_identifier,
        "created_at": warning.created_at,
        "reviewed_at": warning.reviewed_at,
        "rejection_reason": warning.rejection_reason,
        "issued_at": warning.issued_at,
        "lifted_at": warning.lifted_at,
        "lift_reason": warning.lift_reason,
        "source": warning.source,
    }


def _data(payload: WarningIn) -> dict:
    raw = payload.dict(exclude_unset=True)
    renames = {"issuing_unit_id": "issuing_unit", "event_id": "event"}
    return {renames.get(k, k): v for k, v in raw.items()}


def _visible(principal: Principal, warning_id: int) -> Warning:
    warning = selectors.visible_warning(principal, warning_id)
    if warning is None:
        raise Http404("预警不存在或无权访问")
    return warning


def _conflict() -> Status:
    return Status(
        409,
        {
            "detail": "该幂等键已用于内容不同的请求",
            "errors": {"Idempotency-Key": ["同一幂等键只能对应同一次创建"]},
        },
    )


def _create(request: HttpRequest, key: str | None, payload: dict, make) -> Status:
    principal = request_principal(request)

    def create() -> tuple[int, dict]:
        return 201, {"id": make(principal).pk}

    try:
        replay = idempotent(principal, key, payload, create)
    except IdempotencyConflict:
        return _conflict()
    warning = Warning.objects.select_related("issuing_unit", "category").get(pk=replay.body["id"])
    return Status(200 if replay.replayed else replay.status_code, warning_out(warning))


@router.get("/alerts", response=list[WarningOut], summary="预警列表")
def list_warnings(
    request: HttpRequest, state: str | None = None, active: bool = False, limit: int = 200
):
    """本人可见的预警：生效中、已调整、已解除的按单位和区域可见；草稿只对发布单位和审批人可见。"""
    rows = selectors.warnings_visible(request_principal(request)).order_by("-updated_at", "-pk")
    if state:
        rows = rows.filter(state=state)
    if active:
        rows = rows.filter(state=WarningState.ISSUED)
    return [warning_out(w) for w in rows[: max(1, min(limit, MAX_ROWS))]]


@router.post(
    "/alerts",
    response={201: WarningOut, 200: WarningOut, **ERRORS},
    summary="拟制预警（草稿）",
    description="同一 Idempotency-Key 重复提交时返回第一次的结果，不会产生第二份草稿。",
)
def create_warning(
    request: HttpRequest,
    payload: WarningIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=128),
):
    data = _data(payload)
    return _create(
        request,
        idempotency_key,
        {"op": "create", **payload.dict(exclude_unset=True)},
        lambda principal: services.create_warning(principal, data),
    )


@router.get("/alerts/{int:warning_id}", response={200: WarningOut, **ERRORS}, summary="预警详情")
def get_warning(request: HttpRequest, warning_id: int):
    return warning_out(_visible(request_principal(request), warning_id))


@router.put(
    "/alerts/{int:warning_id}",
    response={200: WarningOut, **ERRORS},
    summary="修改未发布的预警",
    description="已批准的预警修改后需重新审批。",
)
def update_warning(request: HttpRequest, warning_id: int, payload: WarningIn):
    principal = request_principal(request)
    warning = _visible(principal, warning_id)
    return warning_out(services.update_warning(principal, warning, _data(payload)))


def _act(request: HttpRequest, warning_id: int, action) -> dict:
    principal = request_principal(request)
    return warning_out(action(principal, _visible(principal, warning_id)))


@router.post(
    "/alerts/{int:warning_id}/approve", response={200: WarningOut, **ERRORS}, summary="批准预警"
)
def approve(request: HttpRequest, warning_id: int):
    return _act(request, warning_id, services.approve)


@router.post(
    "/alerts/{int:warning_id}/reject", response={200: WarningOut, **ERRORS}, summary="退回"
)
def reject(request: HttpRequest, warning_id: int, payload: ReasonIn):
    return _act(request, warning_id, lambda p, w: services.reject(p, w, payload.reason))


@router.post("/alerts/{int:warning_id}/issue", response={200: WarningOut, **ERRORS}, summary="发布")
def issue(request: HttpRequest, warning_id: int):
    return _act(request, warning_id, services.issue)


@router.post("/alerts/{int:warning_id}/lift", response={200: WarningOut, **ERRORS}, summary="解除")
def lift(request: HttpRequest, warning_id: int, payload: ReasonIn):
    return _act(request, warning_id, lambda p, w: services.lift(p, w, payload.reason))


@router.post(
    "/alerts/{int:warning_id}/withdraw", response={200: WarningOut, **ERRORS}, summary="撤销草稿"
)
def withdraw(request: HttpRequest, warning_id: int):
    return _act(request, warning_id, services.withdraw)


@router.post(
    "/alerts/{int:warning_id}/adjust",
    response={201: WarningOut, 200: WarningOut, **ERRORS},
    summary="调整预警（新版本草稿）",
    description="未给出的字段沿用原预警；新版本经批准、发布后取代原预警。支持 Idempotency-Key。",
)
def adjust(
    request: HttpRequest,
    warning_id: int,
    payload: WarningIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=128),
):
    warning = _visible(request_principal(request), warning_id)
    data = _data(payload)
    return _create(
        request,
        idempotency_key,
        {"op": "adjust", "warning": warning_id, **payload.dict(exclude_unset=True)},
        lambda principal: services.adjust(principal, warning, data),
    )


@router.get(
    "/alerts/{int:warning_id}/cap.xml",
    response={200: None, **ERRORS},
    summary="导出 CAP 1.2 XML",
    description="已发布的版本：Alert（首次发布）或 Update（调整）；已解除的为 Cancel。",
    openapi_extra={"responses": {200: {"content": {CAP_TYPE: {}}, "description": "CAP 1.2"}}},
    url_name="warning_cap",
)
def export_cap(request: HttpRequest, warning_id: int):
    warning = _visible(request_principal(request), warning_id)
    if not warning.identifier:
        return Status(422, {"detail": "未发布的预警没有 CAP 文档", "errors": {}})
    response = HttpResponse(cap.export(warning), content_type=f"{CAP_TYPE}; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{warning.identifier}.xml"'
    return response


@router.post(
    "/alerts/cap",
    response={201: CapImportOut, 200: CapImportOut, **ERRORS},
    summary="导入外部 CAP 1.2 预警",
    description=(
        "请求体为 CAP 1.2 XML（Content-Type: application/cap+xml 或 application/xml），"
        "或 multipart 表单的 file 字段。发送方是本系统单位且有权拟制时生成预警草稿，否则登记为"
        "线索；格式错误、命名空间错误或不符合 CAP 1.2 XSD 时返回 422，不产生任何数据。"
        "同一条 CAP 消息（发送方 + 标识）重复导入返回 200 和第一次的结果。"
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                CAP_TYPE: {"schema": {"type": "string"}},
                "application/xml": {"schema": {"type": "string"}},
            }
        }
    },
)
def import_cap(request: HttpRequest):
    upload = request.FILES.get("file")
    raw = upload.read(MAX_CAP_BYTES + 1) if upload is not None else request.body
    if len(raw) > MAX_CAP_BYTES:
        return Status(422, {"detail": "文件过大", "errors": {"file": ["CAP 文档不得超过 1 MB"]}})
    outcome = services.import_cap(request_principal(request), raw)
    return Status(
        200 if outcome.replayed else 201,
        {
            "kind": outcome.kind,
            "warning_id": outcome.warning.pk if outcome.warning else None,
            "report_id": outcome.report.pk if outcome.report else None,
            "note": outcome.note,
            "replayed": outcome.replayed,
        },
    )
