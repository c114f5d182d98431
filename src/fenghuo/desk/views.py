"""The duty desk and the shell's area pages (thin: reads come from selectors).

The desk is one page with a live feed and panels. The feed arrives over Server-Sent
Events from `desk_stream` (an async view under uvicorn: an open desk waits in the event
loop and reads the database once a second), with `desk_feed` as the plain polling fallback
for networks whose proxies cut streams. Panels are fragments the page re-fetches with htmx
(`desk_panel`), on a timer and whenever something arrives. Why this design:
docs/architecture.md, "The duty desk (live)".
"""

import asyncio
import json
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from fenghuo.assess import selectors as assess_selectors
from fenghuo.core import clock
from fenghuo.core.selectors import first_rows, worker_statuses
from fenghuo.desk import selectors
from fenghuo.desk.selectors import Arrival, Cursor, FeedReader, Item, Notice
from fenghuo.drills import drilltime
from fenghuo.drills import selectors as drill_selectors
from fenghuo.escalation import selectors as escalation_selectors
from fenghuo.notify import selectors as notify_selectors
from fenghuo.org.models import Role
from fenghuo.org.policy import Principal, principal_for
from fenghuo.org.selectors import on_duty, units_with_role

# Areas of the navigation shell that later work fills in: slug → title.
# Grade → (label, seriousness); CSS class grade-N: Ⅰ red, Ⅱ orange, Ⅲ yellow, Ⅳ blue.
GRADES = {
    1: (_("Ⅰ级"), _("特别重大")),
    2: (_("Ⅱ级"), _("重大")),
    3: (_("Ⅲ级"), _("较大")),
    4: (_("Ⅳ级"), _("一般")),
}
UNGRADED = (_("待定级"), "")
# How often an open stream looks for new rows, and how long it may stay silent before it
# sends a ping (which also carries the resume position, and lets the page notice a proxy
# that holds the stream back).
POLL_SECONDS = 1.0
PING_SECONDS = 10.0
# A stream ends after this long and the browser reconnects at once (Last-Event-ID): the
# sign-in and the reader's roles are checked afresh, a revoked session does not stream on.
STREAM_SECONDS = 600.0
# How long the browser waits before reconnecting a dropped stream.
RETRY_MILLISECONDS = 2000
FEED_LENGTH = 20
PANEL_LENGTH = 20
EVENT_LIST_LENGTH = 30
MAP_POINTS = 500


def grade_badge(grade: int | None) -> dict[str, Any]:
    label, meaning = GRADES.get(grade or 0, UNGRADED)
    return {"label": label, "meaning": meaning, "css": f"grade-{grade or 'none'}"}


# --- panels: each a fragment of the page, also served alone for htmx to refresh ----------


def _duty_panel(request: HttpRequest, principal: Principal) -> dict[str, Any]:
    offices = units_with_role(principal)
    return {"duty": [(office, on_duty(office)) for office in offices if office.is_receiving_office]}


def _workers_panel(request: HttpRequest, principal: Principal) -> dict[str, Any]:
    workers = worker_statuses()
    return {"workers": workers, "worker_down": not any(w.alive for w in workers)}


def _events_panel(request: HttpRequest, principal: Principal) -> dict[str, Any]:
    counts = selectors.events_by_grade(principal)
    events = selectors.active_events(principal)
    points = [
        {
            "id": e.pk,
            "title": e.title,
            "lat": e.latitude,
            "lng": e.longitude,
            "grade": e.grade,
            "label": str(grade_badge(e.grade)["label"]),
            "url": reverse("event-detail", args=[e.pk]),
        }
        for e in events.filter(latitude__isnull=False, longitude__isnull=False)[:MAP_POINTS]
    ]
    return {
        "grade_counts": [(grade_badge(g), counts[g], g) for g in (1, 2, 3, 4, None)],
        "active_total": sum(counts.values()),
        "active_events": [(e, grade_badge(e.grade)) for e in events[:EVENT_LIST_LENGTH]],
        "map_points": points,
        "unmapped": sum(counts.values()) - len(points),
    }


def _obligations_panel(request: HttpRequest, principal: Principal) -> dict[str, Any]:
    obligations, total = first_rows(
        escalation_selectors.desk_obligations(principal).select_related("route"), PANEL_LENGTH
    )
    return {"obligations": obligations, "obligations_total": total}


def _routes_panel(request: HttpRequest, principal: Principal) -> dict[str, Any]:
    signoff, signoff_total = first_rows(
        escalation_selectors.awaiting_signoff(principal), PANEL_LENGTH
    )
    receipt, receipt_total = first_rows(
        escalation_selectors.awaiting_receipt(principal), PANEL_LENGTH
    )
    return {
        "is_leader": principal.has_role(Role.UNIT_LEADER),
        "is_duty": principal.has_role(Role.DUTY_OFFICER),
        "awaiting_signoff": signoff,
        "signoff_total": signoff_total,
        "awaiting_receipt": receipt,
        "receipt_total": receipt_total,
    }


def _dead_letters_panel(request: HttpRequest, principal: Principal) -> dict[str, Any]:
    letters = notify_selectors.dead_letters(principal)
    return {
        "sees_dead_letters": principal.is_superuser or principal.has_role(Role.DUTY_OFFICER),
        "dead_letters": list(letters[:PANEL_LENGTH]),
        "dead_letters_total": letters.count(),
    }


def _inbox_panel(request: HttpRequest, principal: Principal) -> dict[str, Any]:
    person = request.user
    return {
        "notices": [_notice_row(n) for n in selectors.recent_notices(person, PANEL_LENGTH)],
        "unread": notify_selectors.unread_count(person, drill=False),
    }


def _drills_panel(request: HttpRequest, principal: Principal) -> dict[str, Any]:
    """Drills under way that the reader directs or takes part in: a link to each (their
    work is on the drill's page, never mixed into the real panels), and to directors the
    injections that failed."""
    runs = list(drill_selectors.running_for(principal)[:5])
    return {
        "drills": [(run, drilltime.stamp(drilltime.minutes(run))) for run in runs],
        "drill_failures": list(drill_selectors.failed_injections(principal)[:5]),
    }


def _assess_panel(request: HttpRequest, principal: Principal) -> dict[str, Any]:
    """Evaluation items someone must act on: cases to confirm or dismiss (evaluators),
    inquiry letters to answer (the unit), and new pattern-analysis findings."""
    cases = assess_selectors.cases_to_decide(principal)
    letters = assess_selectors.letters_to_answer(principal)
    findings = assess_selectors.findings_visible(principal).filter(state="open")
    return {
        "cases_to_decide": list(cases[:PANEL_LENGTH]),
        "cases_total": cases.count(),
        "letters_to_answer": list(letters[:PANEL_LENGTH]),
        "letters_total": letters.count(),
        "open_findings": list(findings.order_by("-last_at", "-pk")[:PANEL_LENGTH]),
        "findings_total": findings.count(),
    }


PANELS: dict[str, Callable[[HttpRequest, Principal], dict[str, Any]]] = {
    "duty": _duty_panel,
    "workers": _workers_panel,
    "events": _events_panel,
    "obligations": _obligations_panel,
    "routes": _routes_panel,
    "dead-letters": _dead_letters_panel,
    "inbox": _inbox_panel,
    "assess": _assess_panel,
    "drills": _drills_panel,
}


@login_required
def duty_desk(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    arrivals, start = selectors.desk_start(principal, request.user, FEED_LENGTH)
    context: dict[str, Any] = {
        "nav": "desk",
        "arrivals": [_arrival_row(a) for a in arrivals],
        "feed_after": start,
        "map_tile_url": settings.FENGHUO_MAP_TILE_URL,
        "map_attribution": settings.FENGHUO_MAP_ATTRIBUTION,
        "server_now": clock.now(),
    }
    for panel in PANELS.values():
        context.update(panel(request, principal))
    return render(request, "desk/duty_desk.html", context)


@login_required
def desk_panel(request: HttpRequest, name: str) -> HttpResponse:
    if name not in PANELS:
        raise Http404
    context = PANELS[name](request, principal_for(request.user))
    context.update(server_now=clock.now(), standalone=True)
    return render(request, f"desk/panels/{name}.html", context)


# --- the feed ---------------------------------------------------------------------------


def _arrival_row(arrival: Arrival) -> dict[str, Any]:
    grade = arrival.event.grade if arrival.event is not None else None
    return {"a": arrival, "grade": grade_badge(grade)}


def _notice_row(notice: Notice) -> dict[str, Any]:
    return {"n": notice}


class RenderedItems:
    """The feed's items as HTML, rendered once per distinct content and language.

    Every open desk reads the same arrivals, and each poll asks again for the lookback
    window's, so rendering each item per reader and per poll was a third of a poll's CPU. The
    key holds every value desk/arrival.html and desk/notice.html read (a template that
    reads a new one must add it here), so a changed grade or a message marked read is a
    new key, never a stale row. What the reader may see is decided before, by the selectors.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._html: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()

    def html(self, item: Item, language: str) -> str:
        key = (language, *_content(item))
        with self._lock:
            found = self._html.get(key)
            if found is not None:
                self._html.move_to_end(key)
                return found
        if isinstance(item, Notice):
            found = render_to_string("desk/notice.html", {"row": _notice_row(item)})
        else:
            found = render_to_string("desk/arrival.html", {"row": _arrival_row(item)})
        with self._lock:
            self._html[key] = found
            while len(self._html) > self.size:
                self._html.popitem(last=False)
        return found


def _content(item: Item) -> tuple:
    if isinstance(item, Notice):
        m = item.message
        return (item.key, m.pk, m.urgent, m.read_at is None, m.created_at, m.is_drill, m.link,
                m.subject, m.body)  # fmt: skip
    r = item.report
    return (item.key, item.is_draft, item.event.pk if item.event else None,
            item.event.grade if item.event else None, item.at, r.pk, r.kind, r.sequence,
            r.channel, r.is_urgent, r.confidentiality, r.title, r.unit.name)  # fmt: skip


RENDERED = RenderedItems()


def _item(item: Item, language: str) -> dict[str, Any]:
    kind = "notice" if isinstance(item, Notice) else "arrival"
    html = RENDERED.html(item, language)
    return {"key": item.key, "kind": kind, "alarm": item.alarm, "html": html}


def _read(reader: FeedReader, language: str) -> list[dict[str, Any]]:
    with translation.override(language):
        return [_item(item, language) for item in reader.read()]


def _start(request: HttpRequest, user: Any) -> FeedReader:
    after = (
        Cursor.parse(request.headers.get("Last-Event-ID"))
        or Cursor.parse(request.GET.get("after"))
        or selectors.latest_cursor()
    )
    return FeedReader(principal_for(user), user, after)


@login_required
def desk_feed(request: HttpRequest) -> JsonResponse:
    """The polling fallback: what arrived after `?after=`, and the position to ask from
    next. The page asks again from the position it held a lookback ago (see
    `desk.selectors`) and drops what it already shows."""
    reader = _start(request, request.user)
    items = _read(reader, translation.get_language())
    return JsonResponse({"cursor": str(reader.cursor), "items": items})


# Set when the server is asked to stop: open streams end at once, instead of holding the
# shutdown until uvicorn's graceful timeout cancels them.
_stopping = threading.Event()
_watching = False


def _watch_for_shutdown() -> None:
    """Chain onto the process's SIGTERM / SIGINT handlers (the server's own, installed
    when it started) so that a stop request also ends the open streams."""
    global _watching
    if _watching or threading.current_thread() is not threading.main_thread():
        return
    _watching = True
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)

        def handler(num: int, frame: Any, previous: Any = previous) -> None:
            _stopping.set()
            if callable(previous):
                previous(num, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(num, signal.SIG_DFL)
                signal.raise_signal(num)

        signal.signal(signum, handler)


def _message(event: str, floor: Cursor, data: Any) -> str:
    return f"id: {floor}\nevent: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _read_and_release(reader: FeedReader, language: str) -> list[dict[str, Any]]:
    """One poll of a stream. The connection goes back (to the pool, on PostgreSQL) after
    each poll: a desk open for ten minutes must not hold a connection all that time."""
    try:
        return _read(reader, language)
    finally:
        if not connection.in_atomic_block:  # (a test's transaction is not ours to end)
            connection.close()


async def _events(reader: FeedReader, language: str) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MILLISECONDS}\n" + _message("ping", reader.floor, {})
    quiet_since = opened = time.monotonic()
    while not _stopping.is_set() and time.monotonic() - opened < STREAM_SECONDS:
        items = await sync_to_async(_read_and_release)(reader, language)
        if items:
            yield "".join(_message(item["kind"], reader.floor, item) for item in items)
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= PING_SECONDS:
            yield _message("ping", reader.floor, {})
            quiet_since = time.monotonic()
        await asyncio.sleep(POLL_SECONDS)


@login_required
async def desk_stream(request: HttpRequest) -> HttpResponse:
    """Server-Sent Events: each arrival the reader may see, within about a second.

    Resumes from Last-Event-ID (the browser sends it when it reconnects) or `?after=`.
    Ends when the client goes away (Django cancels the response when the ASGI server
    reports the disconnect) or the server stops. Only under ASGI: a WSGI server would
    tie up a thread per desk, so there the answer is 204, which tells the browser not to
    reconnect, and the page polls `desk_feed` instead.
    """
    if not isinstance(request, ASGIRequest):
        return HttpResponse(status=204)
    reader = await sync_to_async(_start)(request, await request.auser())
    _watch_for_shutdown()
    response = StreamingHttpResponse(
        _events(reader, translation.get_language()), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
