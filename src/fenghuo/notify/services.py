"""Every write of the outbox: enqueueing notifications (cheap, inside the caller's
transaction), the dispatcher's claims and results, fallback to a person's next channel,
read marks, re-queueing dead letters, and channel configuration.

Lifecycle of an external message:

    pending ──claim──▶ sending ──ok──▶ delivered
       ▲                  │ fail
       │                  ├──▶ retrying ──(backoff elapsed)──▶ claimed again
       │                  └──▶ dead            (last attempt, or a permanent error)
       └── lease expired (the worker died mid-send): due again, same key

A claimed row's `next_attempt_at` is its lease expiry, so one indexed condition
(`state in pending/retrying/sending and next_attempt_at <= now`) finds everything due.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F

from fenghuo.core import clock
from fenghuo.core.services import audit_change, snapshot
from fenghuo.notify.models import (
    OPEN_STATES,
    PERSON_CHANNELS,
    Channel,
    DeliveryAttempt,
    Endpoint,
    Message,
    PersonChain,
    State,
)
from fenghuo.notify.selectors import may_handle_dead_letter
from fenghuo.notify.transports import InApp, Outgoing
from fenghuo.org.models import Person, Unit
from fenghuo.org.policy import Principal

DRILL_PREFIX = "【演练】"


def address_for(person: Person, channel: str) -> str:
    """The person's address on an external channel ("" when they have none)."""
    return {Channel.EMAIL: person.email, Channel.SMS: person.mobile}.get(channel, "") or ""


def chain_of(person: Person, preference: list[str] | None = None) -> list[str]:
    """The person's external channels in order, keeping those they have an address for."""
    order = preference or settings.FENGHUO_NOTIFY_CHAIN
    return [c for c in order if c in PERSON_CHANNELS and address_for(person, c)]


def _subject(subject: str, is_drill: bool) -> str:
    subject = subject.strip()
    if is_drill and not subject.startswith(DRILL_PREFIX):
        subject = DRILL_PREFIX + subject
    return subject[: Message._meta.get_field("subject").max_length]


def _enqueue(rows: list[Message], lookup: dict) -> list[Message]:
    """Insert `rows`, keeping any existing row with the same (recipient, channel, key), and
    return the stored rows in the order given."""
    if not rows:
        return []
    Message.objects.bulk_create(rows, ignore_conflicts=True)
    stored = {
        (m.person_id, m.endpoint_id, m.channel): m
        for m in Message.objects.filter(
            key=rows[0].key, channel__in={r.channel for r in rows}, **lookup
        )
    }
    return [stored[(r.person_id, r.endpoint_id, r.channel)] for r in rows]


def _common(
    subject: str,
    body: str,
    key: str,
    link: str,
    ref: str,
    urgent: bool,
    is_drill: bool,
    drill_tag: str = "",
) -> dict:
    if not key:
        raise ValidationError({"key": ["通知必须带幂等键"]})
    is_drill = is_drill or bool(drill_tag)  # a drill run's message is a drill message
    return {
        "subject": _subject(subject, is_drill),
        "body": body.strip(),
        "key": key,
        "link": link,
        "ref": ref,
        "urgent": urgent,
        "is_drill": is_drill,
        "drill_tag": drill_tag,
        "created_at": clock.now(),
    }


def notify_people(
    people: Iterable[Person],
    *,
    subject: str,
    body: str,
    key: str,
    link: str = "",
    ref: str = "",
    urgent: bool = False,
    is_drill: bool = False,
    drill_tag: str = "",
) -> list[Message]:
    """For each person an in-app message (delivered at once: the row is the delivery) and
    a pending message on the first channel of their chain. Idempotent by key: the same key
    for the same person and channel returns the existing row. No network; a few INSERTs."""
    people = list({p.pk: p for p in people}.values())
    if not people:
        return []
    common = _common(subject, body, key, link, ref, urgent, is_drill, drill_tag)
    moment = common["created_at"]
    preferences = dict(
        PersonChain.objects.filter(person__in=people).values_list("person_id", "channels")
    )
    rows = []
    for person in people:
        inapp = Message(channel=Channel.INAPP, person=person, unit_id=person.unit_id, **common)
        InApp().deliver(inapp, moment)
        rows.append(inapp)
        chain = chain_of(person, preferences.get(person.pk))
        if chain:
            rows.append(_external(person, chain[0], common))
    return _enqueue(rows, {"person__in": people})


def _external(person: Person, channel: str, common: dict) -> Message:
    return Message(
        channel=channel,
        person=person,
        unit_id=person.unit_id,
        address=address_for(person, channel),
        state=State.PENDING,
        next_attempt_at=common["created_at"],
        **common,
    )


def notify_unit(
    unit: Unit,
    *,
    subject: str,
    body: str,
    key: str,
    link: str = "",
    ref: str = "",
    urgent: bool = False,
    is_drill: bool = False,
    drill_tag: str = "",
) -> list[Message]:
    """A message to each active endpoint (group robot, webhook) of the unit — not to its
    people (notify_people does that). Idempotent by key, like notify_people."""
    common = _common(subject, body, key, link, ref, urgent, is_drill, drill_tag)
    endpoints = list(Endpoint.objects.filter(unit=unit, is_active=True))
    rows = [
        Message(
            channel=endpoint.kind,
            endpoint=endpoint,
            unit=unit,
            state=State.PENDING,
            next_attempt_at=common["created_at"],
            **common,
        )
        for endpoint in endpoints
    ]
    return _enqueue(rows, {"endpoint__in": endpoints})


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class Claim:
    out: Outgoing
    lease: datetime


@dataclass(frozen=True)
class Result:
    ok: bool
    transport: str
    started_at: datetime
    duration_ms: int
    code: str = ""
    detail: str = ""
    permanent: bool = False


def claim_due(channels: Iterable[str], limit: int) -> list[Claim]:
    """Take up to `limit` due messages on `channels`: mark them sending with a lease and
    commit, so no other worker takes them until the lease expires. On PostgreSQL rows
    locked by another worker's claim are skipped; SQLite serialises claims (IMMEDIATE)."""
    moment = clock.now()
    lease = moment + timedelta(seconds=settings.FENGHUO_NOTIFY_LEASE_SECONDS)
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state__in=OPEN_STATES, next_attempt_at__lte=moment, channel__in=channels)
            .select_related("endpoint")
            .order_by("next_attempt_at", "pk")[:limit]
        )
        if not rows:
            return []
        Message.objects.filter(pk__in=[m.pk for m in rows]).update(
            state=State.SENDING,
            lease_until=lease,
            next_attempt_at=lease,
            attempts=F("attempts") + 1,
        )
    return [Claim(_outgoing(m), lease) for m in rows]


def _outgoing(message: Message) -> Outgoing:
    endpoint = message.endpoint
    return Outgoing(
        id=message.pk,
        channel=message.channel,
        address=message.address,
        subject=message.subject,
        body=message.body,
        link=message.link,
        key=message.key,
        ref=message.ref,
        urgent=message.urgent,
        is_drill=message.is_drill,
        created_at=message.created_at,
        url=endpoint.url if endpoint else "",
        secret=endpoint.secret if endpoint else "",
    )


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failed ones: base · 2^(n-1), capped."""
    seconds = settings.FENGHUO_NOTIFY_BACKOFF_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.FENGHUO_NOTIFY_BACKOFF_CAP_SECONDS))


def record_results(results: Iterable[tuple[Claim, Result]]) -> list[Message | None]:
    """Log each attempt and move its message on: delivered, retrying (with backoff) or
    dead; one transaction for the batch (SQLite has one writer: fewer, larger writes). If
    a lease expired and another worker took the message meanwhile, only the log row is
    written (None in its place). A person's first failure on a channel starts the next
    channel at once."""
    with transaction.atomic():
        return [_record(claim, result) for claim, result in results]


def _record(claim: Claim, result: Result) -> Message | None:
    moment = clock.now()
    DeliveryAttempt.objects.create(
        message_id=claim.out.id,
        at=result.started_at,
        transport=result.transport,
        outcome=(
            DeliveryAttempt.Outcome.DELIVERED if result.ok else DeliveryAttempt.Outcome.FAILED
        ),
        error_code=result.code[:80],
        detail=result.detail[:500],
        duration_ms=result.duration_ms,
    )
    message = (
        Message.objects.select_for_update()
        .filter(pk=claim.out.id, state=State.SENDING, lease_until=claim.lease)
        .first()
    )
    if message is None:
        return None
    message.lease_until = None
    if result.ok:
        message.state, message.delivered_at = State.DELIVERED, moment
        message.next_attempt_at, message.last_error = None, ""
    else:
        message.last_error = f"{result.code} {result.detail}".strip()[:500]
        if result.permanent or message.attempts >= settings.FENGHUO_NOTIFY_MAX_ATTEMPTS:
            message.state, message.next_attempt_at = State.DEAD, None
        else:
            message.state = State.RETRYING
            message.next_attempt_at = moment + backoff(message.attempts)
    message.save(
        update_fields=["state", "delivered_at", "next_attempt_at", "lease_until", "last_error"]
    )
    if not result.ok and message.attempts == 1 and message.person_id:
        _fall_back(message)
    return message


def _fall_back(failed: Message) -> Message | None:
    """The next channel of the person's chain gets the same notification (same key)."""
    person = failed.person
    preference = PersonChain.objects.filter(person=person).values_list("channels", flat=True)
    chain = chain_of(person, preference.first())
    following = chain[chain.index(failed.channel) + 1 :] if failed.channel in chain else []
    if not following:
        return None
    common = {
        field: getattr(failed, field)
        for field in ("subject", "body", "key", "link", "ref", "urgent", "is_drill", "drill_tag")
    }
    common["created_at"] = clock.now()
    return _enqueue([_external(person, following[0], common)], {"person": person})[0]


# --------------------------------------------------------------------------- people's actions


def mark_read(person: Person, ids: Iterable[int]) -> int:
    """Mark the person's own in-app messages read; others' ids are ignored. How many."""
    return Message.objects.filter(
        person=person, channel=Channel.INAPP, pk__in=list(ids), read_at__isnull=True
    ).update(read_at=clock.now())


def retry_dead_letter(principal: Principal, message: Message) -> Message:
    """A duty officer re-queues a dead letter: due now, with a full set of attempts."""
    if message.state != State.DEAD:
        raise ValidationError({"state": ["只有投递失败的消息可以重新投递"]})
    if not may_handle_dead_letter(principal, message):
        raise PermissionDenied("无权重新投递该消息")
    with transaction.atomic():
        before = snapshot(message)
        message.state, message.attempts = State.PENDING, 0
        message.next_attempt_at = clock.now()
        message.save(update_fields=["state", "attempts", "next_attempt_at"])
        audit_change(
            principal, "notify.message.retry", message, before=before, after=snapshot(message)
        )
        return message


def save_endpoint(actor: object, endpoint: Endpoint) -> Endpoint:
    """Create or change an endpoint (admin), audited without its secret."""
    endpoint.full_clean()
    with transaction.atomic():
        old = Endpoint.objects.filter(pk=endpoint.pk).first() if endpoint.pk else None
        before = snapshot(old, exclude=("secret",)) if old else None
        endpoint.save()
        after = snapshot(endpoint, exclude=("secret",))
        after["secret_changed"] = old is None or old.secret != endpoint.secret
        action = "notify.endpoint.update" if old else "notify.endpoint.create"
        audit_change(actor, action, endpoint, before=before, after=after)
    return endpoint


def delete_endpoint(actor: object, endpoint: Endpoint) -> None:
    with transaction.atomic():
        before, pk = snapshot(endpoint, exclude=("secret",)), endpoint.pk
        endpoint.delete()
        endpoint.pk = pk
        audit_change(actor, "notify.endpoint.delete", endpoint, before=before)


def send_test(actor: Person, endpoint: Endpoint) -> Message:
    """The admin's "发送测试消息": one message to the endpoint, audited."""
    moment = clock.now()
    with transaction.atomic():
        [message] = _enqueue(
            [
                Message(
                    channel=endpoint.kind,
                    endpoint=endpoint,
                    unit_id=endpoint.unit_id,
                    subject="烽火测试消息",
                    body=f"这是一条来自烽火平台的测试消息，发送人：{actor}。收到即表示该端点配置正确。",
                    key=f"test:{endpoint.pk}:{moment.timestamp():.6f}",
                    ref=f"endpoint:{endpoint.pk}",
                    state=State.PENDING,
                    next_attempt_at=moment,
                    created_at=moment,
                )
            ],
            {"endpoint": endpoint},
        )
        audit_change(actor, "notify.endpoint.test", endpoint, after={"message": message.pk})
    return message


def purge_drill(drill_tag: str) -> int:
    """Delete the messages of a drill run (its purge); their delivery log goes with them.
    Real messages are never touched: the tag is only ever set on drill messages."""
    if not drill_tag:
        raise ValueError("purge_drill needs a drill tag")
    _, deleted = Message.objects.filter(drill_tag=drill_tag, is_drill=True).delete()
    return deleted.get("notify.Message", 0)


def validate_chain(channels: object) -> None:
    allowed = {c.value for c in PERSON_CHANNELS}
    if (
        not isinstance(channels, list)
        or any(c not in allowed for c in channels)
        or len(set(channels)) != len(channels)
    ):
        labels = "、".join(f"{c.value}（{c.label}）" for c in PERSON_CHANNELS)
        raise ValidationError({"channels": [f"渠道须为列表，取值只能是 {labels}，且不能重复"]})


def set_person_chain(actor: Person | Principal, person: Person, channels: list[str]) -> PersonChain:
    """Set a person's channel order (audited); unknown or repeated channels are refused."""
    validate_chain(channels)
    with transaction.atomic():
        chain, _ = PersonChain.objects.get_or_create(person=person)
        before = snapshot(chain)
        chain.channels = list(channels)
        chain.save(update_fields=["channels"])
        audit_change(actor, "notify.chain.set", chain, before=before, after=snapshot(chain))
    return chain
