"""Intake: every channel ends in events.services.file_report; creates are idempotent."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction

from fenghuo.intake.models import IdempotencyRecord
from fenghuo.org.policy import Principal


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
    exist or neither. Two concurrent requests with one key: the second blocks on the
    unique index until the first commits, then reads its answer.
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
                record = IdempotencyRecord.objects.create(scope=scope, key=key, request_hash=digest)
                status, body = create()
                record.status_code, record.response = status, body
                record.save(update_fields=["status_code", "response"])
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
    from fenghuo.criteria.models import EventCategory

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
