"""Report intake over the API: a unit's token plus an Idempotency-Key header."""

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Header, Router, Status

from fenghuo.events import services as event_services
from fenghuo.events.models import Channel
from fenghuo.events.selectors import events_visible
from fenghuo.intake import services
from fenghuo.intake.schemas import FieldErrors, ReportCreated, ReportIn
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
