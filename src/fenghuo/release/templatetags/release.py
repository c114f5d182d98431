"""`{% load release %}{% event_releases event %}`: an event's releases on its page, with
their state, and 起草信息发布 for whoever may draft, read through the release selectors."""

from typing import Any

from django import template

from fenghuo.events.models import Event
from fenghuo.org.policy import principal_for
from fenghuo.release import selectors

register = template.Library()


@register.inclusion_tag("release/_event_releases.html", takes_context=True)
def event_releases(context: dict[str, Any], event: Event) -> dict[str, Any]:
    principal = principal_for(context["request"].user)
    releases = list(selectors.releases_visible(principal).filter(event=event).order_by("pk"))
    return {
        "event": event,
        "releases": releases,
        "may_draft": selectors.drafting_units(principal).exists(),
    }
