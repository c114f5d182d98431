"""Reads of routes, obligations and gradings, each through the access policy.

A route is seen like its report (unit scope, clearance, author), and also by the office it
is addressed to. An obligation is seen by whoever sees its event and has the obliged unit
in scope or is the office it is owed to. The desk calls `desk_obligations`,
`awaiting_signoff` and `awaiting_receipt`; the event page `event_routes` and
`event_obligations`.
"""

from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from fenghuo.core.sandbox import DrillFilter, drill_q
from fenghuo.escalation.models import (
    OPEN_STATES,
    EscalationPolicy,
    EscalationTarget,
    EventGrading,
    Obligation,
    Route,
    RouteState,
)
from fenghuo.events.models import Event
from fenghuo.events.selectors import events_visible, facts_of_report
from fenghuo.org.models import Role, Unit
from fenghuo.org.policy import Action, Facts, Principal, can, visible_q

# FENGHUO_ESCALATION_DEFAULT: the chain of an office without an EscalationPolicy.
DEFAULT_ESCALATION: dict[str, Any] = {
    "policy": "默认签收升级规则",
    "receipt_minutes": 10,
    "steps": [
        {"after_minutes": 10, "target": EscalationTarget.BACKUP.value},
        {"after_minutes": 20, "target": EscalationTarget.LEADER.value},
    ],
}


def route_facts(route: Route) -> Facts:
    """The report's facts, addressed to the route's office (who may acknowledge it)."""
    base = facts_of_report(route.report)
    return Facts(
        owner_unit_id=base.owner_unit_id,
        owner_unit_path=base.owner_unit_path,
        mark=base.mark,
        addressed_unit_ids=frozenset({route.office_id}),
        author_id=base.author_id,
    )


def routes_visible(principal: Principal) -> QuerySet[Route]:
    return Route.objects.filter(
        visible_q(
            principal,
            owner="report__unit",
            mark="report__confidentiality",
            addressed="office",
            author="report__created_by",
        )
    ).select_related("report", "report__unit", "report__event", "office", "signed_off_by")


def obligations_visible(principal: Principal) -> QuerySet[Obligation]:
    return Obligation.objects.filter(
        visible_q(principal, owner="obliged_unit", mark=None, addressed="office", author=None),
        Q(event__in=events_visible(principal)),
    ).select_related("event", "obliged_unit", "office", "report")


def _units(principal: Principal, *roles: str) -> set[int]:
    return {g.unit_id for g in principal.grants if not roles or g.role in roles}


def desk_obligations(principal: Principal, *, drill: DrillFilter = False) -> QuerySet[Obligation]:
    """Open obligations the principal's units owe or are owed, soonest due first (the desk
    counts down to `due_at`). Units where the principal reports, signs off or is on duty:
    an analyst or an administrator at an office has no obligations to watch. Real ones
    only, unless `drill` asks for a drill's (its page shows them)."""
    units = _units(principal, Role.REPORTER, Role.UNIT_LEADER, Role.DUTY_OFFICER)
    return (
        obligations_visible(principal)
        .filter(drill_q(drill, "event__"), state__in=OPEN_STATES)
        .filter(Q(obliged_unit_id__in=units) | Q(office_id__in=units))
        .order_by("due_at", "pk")
    )


def awaiting_signoff(principal: Principal, *, drill: DrillFilter = False) -> QuerySet[Route]:
    """Routes waiting for this unit leader's sign-off (审签), oldest first. A report going
    to several offices has a route per office; signing off one releases them all."""
    return (
        routes_visible(principal)
        .filter(
            drill_q(drill, "report__"),
            state=RouteState.AWAITING_SIGNOFF,
            report__unit_id__in=_units(principal, Role.UNIT_LEADER),
        )
        .order_by("created_at", "pk")
    )


def awaiting_receipt(principal: Principal, *, drill: DrillFilter = False) -> QuerySet[Route]:
    """Routes sent to an office where the principal is a duty officer, not yet
    acknowledged (签收), oldest first."""
    return (
        routes_visible(principal)
        .filter(
            drill_q(drill, "report__"),
            state=RouteState.SENT,
            office_id__in=_units(principal, Role.DUTY_OFFICER),
        )
        .order_by("sent_at", "pk")
    )


def event_obligations(principal: Principal, event: Event) -> QuerySet[Obligation]:
    return obligations_visible(principal).filter(event=event).order_by("due_at", "pk")


def event_routes(principal: Principal, event: Event) -> QuerySet[Route]:
    return routes_visible(principal).filter(report__event=event).order_by("created_at", "pk")


def event_gradings(principal: Principal, event: Event) -> QuerySet[EventGrading]:
    """The grading history of an event the principal may see (empty otherwise)."""
    return EventGrading.objects.filter(event__in=events_visible(principal), event=event).order_by(
        "at", "pk"
    )


def may_sign_off(principal: Principal, route: Route) -> bool:
    return route.state == RouteState.AWAITING_SIGNOFF and can(
        principal, Action.SIGN_OFF, route_facts(route)
    )


def may_acknowledge(principal: Principal, route: Route) -> bool:
    return route.state == RouteState.SENT and can(principal, Action.ACKNOWLEDGE, route_facts(route))


def escalation_chains(offices: list[Unit]) -> dict[int, dict[str, Any]]:
    """The escalation chain of each office as it is now (the snapshot a receipt keeps)."""
    default = getattr(settings, "FENGHUO_ESCALATION_DEFAULT", DEFAULT_ESCALATION)
    chains = {o.pk: {**default, "steps": list(default["steps"])} for o in offices}
    policies = EscalationPolicy.objects.filter(office__in=offices).prefetch_related("steps")
    for policy in policies:
        chains[policy.office_id] = {
            "policy": str(policy),
            "receipt_minutes": policy.receipt_minutes,
            "steps": [
                {"after_minutes": s.after_minutes, "target": s.target}
                for s in sorted(policy.steps.all(), key=lambda s: (s.after_minutes, s.pk))
            ],
        }
    return chains
