"""`{% load escalation %}{% event_routes event %}{% event_obligations event %}`: an event's
routes (with 审签 / 签收 buttons for whoever may) and obligations, read through the
escalation selectors with the signed-in person's access."""

from typing import Any

from django import template

from fenghuo.escalation import selectors
from fenghuo.events.models import Event
from fenghuo.org.policy import principal_for

register = template.Library()


@register.inclusion_tag("escalation/_event_routes.html", takes_context=True)
def event_routes(context: dict[str, Any], event: Event) -> dict[str, Any]:
    request = context["request"]
    principal = principal_for(request.user)
    routes = list(selectors.event_routes(principal, event))
    for route in routes:
        route.may_sign_off = selectors.may_sign_off(principal, route)
        route.may_acknowledge = selectors.may_acknowledge(principal, route)
    return {"routes": routes, "request": request, "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("escalation/_event_obligations.html", takes_context=True)
def event_obligations(context: dict[str, Any], event: Event) -> dict[str, Any]:
    principal = principal_for(context["request"].user)
    return {"obligations": list(selectors.event_obligations(principal, event))}
