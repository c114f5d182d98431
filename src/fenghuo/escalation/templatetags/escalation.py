"""`{% load escalation %}{% event_routes event %}{% event_obligations event %}`: an event's
routes (with 审签 / 签收 buttons for whoever may) and obligations, read through the
escalation selectors with the signed-in person's access.

Each shows its newest rows (obligations: the open ones first) and says how many it
leaves out (`?routes=all`, `?obligations=all` show every one): a major incident's event
gathers a few routes and obligations per report, and rendering hundreds of rows was most
of its page's cost."""

from typing import Any

from django import template

from fenghuo.core.selectors import newest_rows
from fenghuo.escalation import selectors
from fenghuo.escalation.models import OPEN_STATES
from fenghuo.events.models import Event
from fenghuo.org.policy import principal_for

register = template.Library()

ROUTES_SHOWN = 50
OBLIGATIONS_SHOWN = 50


@register.inclusion_tag("escalation/_event_routes.html", takes_context=True)
def event_routes(context: dict[str, Any], event: Event) -> dict[str, Any]:
    request = context["request"]
    principal = principal_for(request.user)
    shown = None if request.GET.get("routes") == "all" else ROUTES_SHOWN
    routes, hidden = newest_rows(selectors.event_routes(principal, event), shown)
    for route in routes:
        route.may_sign_off = selectors.may_sign_off(principal, route)
        route.may_acknowledge = selectors.may_acknowledge(principal, route)
    return {
        "routes": routes,
        "hidden": hidden,
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("escalation/_event_obligations.html", takes_context=True)
def event_obligations(context: dict[str, Any], event: Event) -> dict[str, Any]:
    """Up to OBLIGATIONS_SHOWN: the open ones soonest due first (what someone still
    owes), then the newest closed ones; shown in order of due time."""
    request = context["request"]
    rows = selectors.event_obligations(principal_for(request.user), event)
    if request.GET.get("obligations") == "all":
        return {"obligations": list(rows), "hidden": 0}
    shown = list(rows.filter(state__in=OPEN_STATES)[:OBLIGATIONS_SHOWN])
    if len(shown) < OBLIGATIONS_SHOWN:
        closed = rows.exclude(state__in=OPEN_STATES)
        shown += newest_rows(closed, OBLIGATIONS_SHOWN - len(shown))[0]
    hidden = rows.count() - len(shown) if len(shown) == OBLIGATIONS_SHOWN else 0
    return {"obligations": sorted(shown, key=lambda o: (o.due_at, o.pk)), "hidden": hidden}
