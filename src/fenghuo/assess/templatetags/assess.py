"""`{% load assess %}{% event_assess event %}`: on the event page, the events that read
alike, the findings it is part of, its reports' adoption (采用, with the button for a
duty officer above the unit), the evaluation cases about it and, once it has ended, the
summary (总结评估) — all read through the assess selectors with the reader's access."""

from typing import Any

from django import template

from fenghuo.assess import selectors, services
from fenghuo.core.selectors import newest_rows
from fenghuo.events.models import Event, ReportStatus
from fenghuo.events.selectors import event_reports
from fenghuo.org.models import Unit
from fenghuo.org.policy import principal_for

register = template.Library()

# The adoption list shows the newest submitted reports (?adoption=all every one): a major
# incident's event gathers hundreds, each with its own form.
ADOPTION_SHOWN = 30


@register.inclusion_tag("assess/_event_assess.html", takes_context=True)
def event_assess(context: dict[str, Any], event: Event) -> dict[str, Any]:
    request = context["request"]
    principal = principal_for(request.user)
    adoptions: dict[int, list] = {}
    for adoption in selectors.adoptions_of(principal, event):
        adoptions.setdefault(adoption.report_id, []).append(adoption)
    rows = event_reports(principal, event).filter(status=ReportStatus.SUBMITTED)
    shown = None if request.GET.get("adoption") == "all" else ADOPTION_SHOWN
    submitted, hidden = newest_rows(rows, shown)
    offices_of = selectors.adopting_offices_of(principal, submitted)
    reports = []
    for report in submitted:
        offices = offices_of[report.pk]
        done = adoptions.get(report.pk, [])
        reports.append(
            {
                "report": report,
                "adoptions": done,
                "may_adopt": bool(offices) and offices[0].pk not in {a.office_id for a in done},
            }
        )
    units = Unit.objects.filter(pk__in=rows.values("unit_id"))
    return {
        "event": event,
        "similar": services.similar_events(principal, event),
        "findings": list(selectors.event_findings(principal, event)),
        "reports": reports,
        "adoption_hidden": hidden,
        "show_adoption": any(r["adoptions"] or r["may_adopt"] for r in reports),
        "cases": list(selectors.cases_visible(principal).filter(event=event).order_by("at", "pk")),
        "ended": event.status in selectors.ENDED,
        "may_record": any(selectors.is_evaluator_of(principal, u) for u in units),
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
