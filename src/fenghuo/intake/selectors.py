"""Reads of intake state, through the same rules as the services that act on them."""

from django.db.models import Q, QuerySet

from fenghuo.events.models import ReportStatus
from fenghuo.intake.models import InboundMessage
from fenghuo.org.models import Role
from fenghuo.org.policy import Principal


def mail_drafts_to_confirm(principal: Principal) -> QuerySet[InboundMessage]:
    """E-mails turned into drafts that this principal, as a 值班员 of the draft's unit or an
    office above it, is to confirm or reject (the rule of `services.is_duty_officer_for`)."""
    scope = Q(pk__in=[])
    for grant in principal.grants:
        if grant.role == Role.DUTY_OFFICER:
            scope |= Q(report__unit__path__startswith=grant.unit_path)
    return (
        InboundMessage.objects.filter(
            scope, state=InboundMessage.State.DRAFTED, report__status=ReportStatus.DRAFT
        )
        .select_related("report", "report__unit", "report__category")
        .order_by("received_at", "pk")
    )
