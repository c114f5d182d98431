"""Notifications over the API: a signed-in person's in-app inbox, and the dead letters a
duty officer may see and re-queue."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router

from fenghuo.notify import selectors, services
from fenghuo.notify.models import Message
from fenghuo.notify.schemas import (
    DeadLetterOut,
    ErrorOut,
    InboxOut,
    ReadIn,
    ReadOut,
    RetriedOut,
)
from fenghuo.org.auth import request_principal
from fenghuo.org.models import Person

router = Router(tags=["通知"])


def _person(request: HttpRequest) -> Person:
    if request_principal(request).person_id is None:
        raise PermissionDenied("站内消息仅限登录人员查看")
    return request.user


@router.get(
    "/inbox",
    response={200: InboxOut, 403: ErrorOut},
    summary="站内消息",
    description="当前登录人员的站内消息，最新的在前；after_id 只取比它新的消息（用于轮询）。",
)
def inbox(
    request: HttpRequest, after_id: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500)
):
    person = _person(request)
    return {
        "unread": selectors.unread_count(person),
        "items": list(selectors.inbox(person, after_id=after_id, limit=limit)),
    }


@router.post("/inbox/read", response={200: ReadOut, 403: ErrorOut}, summary="标记站内消息已读")
def mark_read(request: HttpRequest, payload: ReadIn):
    person = _person(request)
    marked = services.mark_read(person, payload.ids)
    return {"marked": marked, "unread": selectors.unread_count(person)}


def _dead_letter_out(message: Message) -> dict:
    return {
        "id": message.pk,
        "channel": message.channel,
        "channel_label": message.get_channel_display(),
        "recipient": message.recipient_label,
        "unit": str(message.unit or ""),
        "subject": message.subject,
        "key": message.key,
        "ref": message.ref,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "created_at": message.created_at,
        "log": list(selectors.delivery_log(message)),
    }


@router.get(
    "/dead-letters",
    response=list[DeadLetterOut],
    summary="投递失败的通知（死信）",
    description="本单位及下级单位人员、端点的死信，仅值班员可见；每条附投递记录。",
)
def dead_letters(request: HttpRequest, limit: int = Query(100, ge=1, le=500)):
    messages = selectors.dead_letters(request_principal(request))[:limit]
    return [_dead_letter_out(m) for m in messages]


@router.post(
    "/dead-letters/{message_id}/retry",
    response={200: RetriedOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="重新投递死信",
)
def retry_dead_letter(request: HttpRequest, message_id: int):
    principal = request_principal(request)
    message = get_object_or_404(selectors.dead_letters(principal), pk=message_id)
    return services.retry_dead_letter(principal, message)
