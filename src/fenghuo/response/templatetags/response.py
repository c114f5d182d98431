"""`{% load response %}{% event_response event %}`: the event's emergency response on the
event page — level, state, leaders, task counts, the summary after the end, and the way to
the response board (or to start one, for whoever may) — read with the signed-in person's
access."""

from collections import Counter
from typing import Any

from django import template

from fenghuo.events.models import Event
from fenghuo.org.policy import principal_for
from fenghuo.response import selectors
from fenghuo.response.models import TaskState
from fenghuo.response.services import CLOSED_EVENT_STATES

register = template.Library()


@register.inclusion_tag("response/_event_response.html", takes_context=True)
def event_response(context: dict[str, Any], event: Event) -> dict[str, Any]:
    principal = principal_for(context["request"].user)
    responses = list(selectors.event_responses(principal, event))
    current = next((r for r in responses if r.is_open), responses[0] if responses else None)
    result: dict[str, Any] = {"event": event, "response": current}
    if current is not None:
        states = Counter(
            selectors.tasks_visible(principal)
            .filter(response=current)
            .values_list("state", flat=True)
        )
        result["leaders"] = selectors.current_leaders(current)
        result["counts"] = [
            (s.label, s.value, states[s.value]) for s in TaskState if states[s.value]
        ]
    if (current is None or not current.is_open) and event.status not in CLOSED_EVENT_STATES:
        result["may_start"] = bool(selectors.offices_to_start(principal, event))
    return result
