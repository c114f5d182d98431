"""Reads of the outbox: a person's in-app inbox, dead letters for the duty officers who
must act on them, and a message's delivery log."""

from django.db.models import Q, QuerySet

from fenghuo.core import clock
from fenghuo.core.sandbox import DrillFilter, drill_q
from fenghuo.notify.models import OPEN_STATES, Channel, DeliveryAttempt, Message, State
from fenghuo.org.models import Person, Role
from fenghuo.org.policy import Principal


def inbox(
    person: Person, *, after_id: int = 0, limit: int = 50, drill: DrillFilter = None
) -> QuerySet[Message]:
    """The person's in-app messages with id > after_id, newest first (the desk polls or
    streams with the highest id it has). `drill=False` leaves drill messages out (the desk
    does; a drill's own pages show them)."""
    return Message.objects.filter(
        drill_q(drill),
        person=person,
        channel=Channel.INAPP,
        state=State.DELIVERED,
        pk__gt=after_id,
    ).order_by("-pk")[: max(0, min(limit, 500))]


def unread_count(person: Person, *, drill: DrillFilter = None) -> int:
    return Message.objects.filter(
        drill_q(drill),
        person=person,
        channel=Channel.INAPP,
        state=State.DELIVERED,
        read_at__isnull=True,
    ).count()


def _dead_letter_scope(principal: Principal) -> Q:
    """值班员 of the recipient's unit (the person's, or the endpoint's) or of a unit above."""
    if principal.is_superuser:
        return Q(pk__isnull=False)
    scope = Q(pk__in=[])
    for grant in principal.grants:
        if grant.role == Role.DUTY_OFFICER:
            scope |= Q(unit__path__startswith=grant.unit_path)
    return scope


def dead_letters(principal: Principal) -> QuerySet[Message]:
    """Messages that could not be delivered after the last attempt, newest first."""
    return (
        Message.objects.filter(_dead_letter_scope(principal), state=State.DEAD)
        .select_related("person", "endpoint", "unit")
        .order_by("-pk")
    )


def may_handle_dead_letter(principal: Principal, message: Message) -> bool:
    return dead_letters(principal).filter(pk=message.pk).exists()


def due_channels() -> set[str]:
    """Channels with a message due now: one read, so an idle dispatcher takes no write lock
    (on SQLite every transaction does, and the web process is waiting for it)."""
    return set(
        Message.objects.filter(
            state__in=OPEN_STATES,
            next_attempt_at__lte=clock.now(),
        )
        .values_list("channel", flat=True)
        .distinct()
    )


def delivery_log(message: Message) -> QuerySet[DeliveryAttempt]:
    """Every attempt at sending the message, oldest first. Callers reach the message through
    `inbox` or `dead_letters`, which check access."""
    return DeliveryAttempt.objects.filter(message=message).order_by("at", "pk")
