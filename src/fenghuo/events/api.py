"""Events over the API: list, detail with figures and timeline, status changes."""

from django.db.models import Count
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router

from fenghuo.events import selectors, services
from fenghuo.events.models import Event
from fenghuo.events.schemas import EventDetail, EventOut, StatusIn
from fenghuo.org.auth import request_principal

router = Router(tags=["事件"])


def _brief(event: Event, report_count: int) -> dict:
    return {
        "id": event.pk,
        "title": event.title,
        "category": str(event.category),
        "status": event.status,
        "status_label": event.get_status_display(),
        "grade": event.grade,
        "occurred_at": event.occurred_at,
        "division_code": event.division_code,
        "place": event.place,
        "report_count": report_count,
    }


@router.get("/events", response=list[EventOut], summary="事件列表")
def list_events(request: HttpRequest, status: str | None = None, limit: int = 100):
    events = (
        selectors.events_visible(request_principal(request))
        .select_related("category", "category__parent")
        .annotate(n=Count("reports"))
        .order_by("-occurred_at")
    )
    if status:
        events = events.filter(status=status)
    return [_brief(e, e.n) for e in events[: max(1, min(limit, 500))]]


def _visible_event(request: HttpRequest, event_id: int) -> Event:
    principal = request_principal(request)
    return get_object_or_404(
        selectors.events_visible(principal).select_related("category", "category__parent"),
        pk=event_id,
    )


@router.get("/events/{event_id}", response=EventDetail, summary="事件详情")
def event_detail(request: HttpRequest, event_id: int):
    principal = request_principal(request)
    event = _visible_event(request, event_id)
    reports = list(selectors.event_reports(principal, event))
    table = selectors.figures_table(event, reports)
    return {
        **_brief(event, len(reports)),
        "sources": [
            {
                "unit": s.unit.name,
                "report_id": s.report.pk,
                "report_kind": s.report.kind_label,
                "values": s.values,
            }
            for s in table.sources
        ],
        "current": table.current,
        "basis": table.basis,
        "conflicts": table.conflicts,
        "reports": [
            {
                "id": r.pk,
                "kind_label": r.kind_label,
                "unit": r.unit.name,
                "received_at": r.received_at,
                "title": r.title,
                "narrative": r.narrative,
            }
            for r in reports
        ],
        "timeline": list(event.timeline.all()),
    }


@router.post("/events/{event_id}/status", response=EventOut, summary="变更事件状态")
def change_status(request: HttpRequest, event_id: int, payload: StatusIn):
    event = _visible_event(request, event_id)
    services.change_status(request_principal(request), event, payload.status, payload.note)
    return _brief(event, event.reports.count())
