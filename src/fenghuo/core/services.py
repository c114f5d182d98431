"""Writes of the shared kernel: the audit chain and worker heartbeats."""

import os
import socket
from typing import Any

from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.forms.models import model_to_dict

from fenghuo.core import clock
from fenghuo.core.audit import GENESIS_HASH, digest_of, to_json_value
from fenghuo.core.models import AuditEntry, AuditHead, WorkerHeartbeat


def snapshot(obj: models.Model, exclude: tuple[str, ...] = ("password",)) -> dict[str, Any]:
    """The audited view of a model instance: its concrete fields, secrets left out."""
    data = model_to_dict(obj, fields=[f.name for f in obj._meta.concrete_fields])
    for name in exclude:
        data.pop(name, None)
    for name, value in data.items():
        if isinstance(value, FieldFile):  # a stored file is audited by its storage name
            data[name] = value.name
    return to_json_value(data)


def _actor_fields(actor: Any) -> tuple[str, str]:
    if actor is None:
        return "", "系统"
    return str(getattr(actor, "pk", "") or ""), str(actor)[:150]


def _link(entry: AuditEntry, head: AuditHead) -> None:
    """Make `entry` the chain's next link: its number, its predecessor's hash, its own."""
    entry.seq, entry.prev_hash = head.seq + 1, head.hash
    entry.hash = digest_of(entry)
    head.seq, head.hash = entry.seq, entry.hash


def _locked_head(*, wait: bool) -> AuditHead | None:
    """The head row, locked until the transaction ends; None if another transaction holds
    it and `wait` is false."""
    head = AuditHead.objects.select_for_update(skip_locked=not wait).filter(pk=1).first()
    if head is None and (wait or not AuditHead.objects.filter(pk=1).exists()):
        head, _ = AuditHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"seq": 0, "hash": GENESIS_HASH}
        )
    return head


def audit_record(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_id: Any,
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Append one entry to the chain, inside the caller's transaction.

    The head row stays locked until the caller commits, so a writer that waited for it
    would queue behind every other writing transaction (on PostgreSQL, all writes ran one
    at a time this way). So: if the head is free the entry is linked at once; if another
    transaction holds it, the entry is written unlinked (no number yet) and
    `audit_chain_pending` links it moments later. Either way a rollback takes the entry
    with it.
    """
    actor_id, actor_name = _actor_fields(actor)
    entry = AuditEntry(
        at=clock.now(),
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=to_json_value(before),
        after=to_json_value(after),
    )
    # No savepoint of its own: the entry and the head's move commit or roll back with the
    # caller's work (two statements fewer per entry; outside a transaction it opens one).
    with transaction.atomic(savepoint=False):
        head = _locked_head(wait=False)
        if head is not None:
            _link(entry, head)
        entry.save()
        if head is not None:
            head.save(update_fields=["seq", "hash"])
    return entry


def audit_chain_pending(batch_size: int = 500) -> int:
    """Link the committed entries that were written unlinked, oldest first; how many.

    The worker runs this as a loop; `verify-audit` and `backup` run it first so that they
    read a chain covering everything committed before them. It waits for the head (at most
    one writer's transaction), so a steady stream of writers cannot starve it.
    """
    linked = 0
    # Looked at first without a transaction: on SQLite a transaction takes the write lock.
    while AuditEntry.objects.filter(seq__isnull=True).exists():
        with transaction.atomic():
            head = _locked_head(wait=True)
            pending = list(AuditEntry.objects.filter(seq__isnull=True).order_by("id")[:batch_size])
            for entry in pending:
                _link(entry, head)
            if pending:
                AuditEntry.objects.bulk_update(pending, ["seq", "prev_hash", "hash"])
                head.save(update_fields=["seq", "hash"])
        linked += len(pending)
    return linked


def _label(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def audit_change(
    actor: Any, action: str, obj: models.Model, *, before: Any = None, after: Any = None
) -> AuditEntry:
    """`audit_record` for a model instance: its type and id are taken from the object."""
    return audit_record(
        actor=actor,
        action=action,
        object_type=_label(obj),
        object_id=obj.pk,
        before=before,
        after=after,
    )


def audited_save(actor: Any, obj: models.Model, *, action: str | None = None) -> models.Model:
    """Save `obj` and append its before/after to the audit chain in one transaction."""
    with transaction.atomic():
        before = None
        if obj.pk is not None:
            old = type(obj)._default_manager.filter(pk=obj.pk).first()
            before = snapshot(old) if old is not None else None
        verb = "update" if before is not None else "create"
        obj.save()
        audit_record(
            actor=actor,
            action=action or f"{_label(obj)}.{verb}",
            object_type=_label(obj),
            object_id=obj.pk,
            before=before,
            after=snapshot(obj),
        )
    return obj


def audited_delete(actor: Any, obj: models.Model, *, action: str | None = None) -> None:
    with transaction.atomic():
        before, pk = snapshot(obj), obj.pk
        obj.delete()
        audit_record(
            actor=actor,
            action=action or f"{_label(obj)}.delete",
            object_type=_label(obj),
            object_id=pk,
            before=before,
            after=None,
        )


def worker_heartbeat(worker_id: str, *, stopping: bool = False) -> WorkerHeartbeat:
    """Record that `worker_id` is alive (or stopped cleanly)."""
    moment = clock.now()
    beat, created = WorkerHeartbeat.objects.get_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": moment,
            "last_seen": moment,
        },
    )
    if not created:
        beat.last_seen = moment
        beat.stopped_at = moment if stopping else None
        beat.save(update_fields=["last_seen", "stopped_at"])
    return beat
