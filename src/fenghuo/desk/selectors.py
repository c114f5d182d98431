"""Reads for the duty desk, gathered from the other apps' selectors.

The desk's live feed carries three kinds of item, each with its own id sequence:
- a report entering an event's record (filed, or a draft confirmed): its `TimelineEntry`
  of kind 报告;
- a draft arriving from a channel, for a duty officer to confirm (a clue from opinion
  monitoring, an e-mailed report);
- an in-app message to the reader (`notify` writes it; the desk is its live delivery).
The position in the feed is one id per kind, a `Cursor`.

Drill data never reaches the desk: its reports, drafts, events and in-app messages are
left out here (a drill's own pages show them), and the panels read the real-only selectors.

Ids are handed out when a row is inserted, not when its transaction commits: on PostgreSQL
a transaction holding id 10 can commit after one holding id 11. A reader that only asked
for ids above the highest it has seen would skip 10 for ever, so `FeedReader` asks again,
for `LOOKBACK_SECONDS`, about ids above the position it held that long ago, and drops
those it has already handed out. Reports and drafts are read through
`events.selectors.reports_visible`, messages through `notify.selectors.inbox`, so the desk
shows exactly what the policy lets the reader see.
"""

import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Self

from django.db import connection
from django.db.models import Count, F, QuerySet

from fenghuo.core.models import Confidentiality
from fenghuo.core.sandbox import drill_q
from fenghuo.events.models import (
    Channel,
    Event,
    EventStatus,
    Report,
    ReportStatus,
    TimelineEntry,
    TimelineKind,
)
from fenghuo.events.selectors import events_visible, reports_visible
from fenghuo.notify import selectors as notify_selectors
from fenghuo.notify.models import Message
from fenghuo.org.models import Person
from fenghuo.org.policy import Principal

# Drafts from these channels wait for a duty officer to confirm them; drafts saved on the
# web form are their author's unfinished work and stay off the desk.
ARRIVING_DRAFT_CHANNELS = (Channel.CLUE, Channel.EMAIL)
# Grade Ⅱ (重大) and above sound an alarm on the desk (1 = Ⅰ … 4 = Ⅳ).
ALARM_GRADE = 2
# How long a late commit may trail the ids around it and still reach an open desk.
LOOKBACK_SECONDS = 30.0
# The most arrivals one read hands out; the rest follow on the next read.
READ_LIMIT = 50
# Events in these states are over and leave the desk.
CLOSED_STATUSES = (EventStatus.ENDED, EventStatus.ARCHIVED, EventStatus.FALSE)


# Item kinds of the feed: key prefix → the `Cursor` field that orders them.
KINDS = {"r": "entry", "d": "draft", "m": "message"}


@dataclass(frozen=True)
class Cursor:
    """A position in the feed: the last report timeline entry, the last arriving draft and
    the last in-app message."""

    entry: int = 0
    draft: int = 0
    message: int = 0

    def __str__(self) -> str:
        return f"{self.entry}-{self.draft}-{self.message}"

    @classmethod
    def parse(cls, text: str | None) -> Self | None:
        """The cursor written by `str()`, or None for anything else."""
        parts = (text or "").strip().split("-")
        if len(parts) != 3 or not all(part.isdecimal() for part in parts):
            return None
        return cls(*(int(part) for part in parts))

    def of(self, kind: str) -> int:
        return getattr(self, KINDS[kind])

    def advanced(self, other: "Cursor") -> "Cursor":
        return Cursor(*(max(self.of(k), other.of(k)) for k in KINDS))


@dataclass(frozen=True)
class Arrival:
    """A report that entered the record, or a draft that waits to be confirmed."""

    key: str  # "r<timeline entry id>" or "d<report id>"
    report: Report
    event: Event | None
    is_draft: bool

    @property
    def at(self) -> datetime:
        return self.report.submitted_at or self.report.received_at

    @property
    def sensitive(self) -> bool:
        return self.report.confidentiality >= Confidentiality.SENSITIVE

    @property
    def alarm(self) -> bool:
        grade = self.event.grade if self.event is not None else None
        return not self.is_draft and grade is not None and grade <= ALARM_GRADE


@dataclass(frozen=True)
class Notice:
    """An in-app message to the reader (notify writes it; this is its live delivery)."""

    key: str  # "m<message id>"
    message: Message

    @property
    def at(self) -> datetime:
        return self.message.created_at

    @property
    def alarm(self) -> bool:
        return self.message.urgent


Item = Arrival | Notice


def _id(item: Item) -> int:
    return int(item.key[1:])


def _entries(principal: Principal) -> QuerySet[TimelineEntry]:
    return TimelineEntry.objects.filter(
        kind=TimelineKind.REPORT,
        report__in=reports_visible(principal).filter(drill_q(False)),
    ).select_related("report", "report__unit", "report__event")


def _drafts(principal: Principal) -> QuerySet[Report]:
    return (
        reports_visible(principal)
        .filter(drill_q(False), status=ReportStatus.DRAFT, channel__in=ARRIVING_DRAFT_CHANNELS)
        .select_related("unit", "event")
    )


def _of_entry(entry: TimelineEntry) -> Arrival:
    return Arrival(f"r{entry.pk}", entry.report, entry.report.event, is_draft=False)


def _of_draft(report: Report) -> Arrival:
    return Arrival(f"d{report.pk}", report, report.event, is_draft=True)


def _notices(person: Person | None, after_id: int, limit: int) -> list[Notice]:
    if person is None:  # a unit's API token has no inbox
        return []
    return [
        Notice(f"m{m.pk}", m)
        for m in notify_selectors.inbox(person, after_id=after_id, limit=limit, drill=False)
    ]


def latest_cursor() -> Cursor:
    """The newest id of each table the feed reads (any row: a position needs no more, and
    an unfiltered max is one index probe), in one statement: every poll of every open desk
    asks."""
    quote = connection.ops.quote_name
    # The models' own table and column names, quoted: nothing from a request.
    maxima = [
        (quote(model._meta.pk.column), quote(model._meta.db_table))
        for model in (TimelineEntry, Report, Message)
    ]
    sql = "SELECT " + ", ".join(f"(SELECT MAX({c}) FROM {t})" for c, t in maxima)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        entry, draft, message = cursor.fetchone()
    return Cursor(entry or 0, draft or 0, message or 0)


def items_after(
    principal: Principal,
    person: Person | None,
    after: Cursor,
    *,
    skip: frozenset[str] = frozenset(),
    limit: int = READ_LIMIT,
) -> list[Item]:
    """What the principal may see past `after`, oldest first, leaving out the keys in
    `skip`; at most `limit` of each kind (the oldest of reports and drafts, the newest of
    messages, as the inbox hands them out)."""
    skipped = {kind: [int(k[1:]) for k in skip if k[0] == kind] for kind in KINDS}
    entries = (
        _entries(principal)
        .filter(pk__gt=after.entry)
        .exclude(pk__in=skipped["r"])
        .order_by("pk")[:limit]
    )
    drafts = (
        _drafts(principal)
        .filter(pk__gt=after.draft)
        .exclude(pk__in=skipped["d"])
        .order_by("pk")[:limit]
    )
    notices = [
        n for n in _notices(person, after.message, limit + len(skipped["m"])) if n.key not in skip
    ][:limit]
    found: list[Item] = [_of_entry(e) for e in entries]
    found += [_of_draft(r) for r in drafts]
    found += notices
    return sorted(found, key=lambda item: (item.at, item.key))


def recent_notices(person: Person | None, limit: int = 20) -> list[Notice]:
    """The person's newest in-app messages, newest first."""
    return _notices(person, 0, limit)


def desk_start(
    principal: Principal, person: Person | None, limit: int = 20
) -> tuple[list[Arrival], Cursor]:
    """The newest arrivals a freshly opened desk shows, newest first, and the cursor its
    live feed starts from: just below the oldest item the page shows of each kind (its
    in-app messages being `recent_notices(person, limit)`), so that rows committed while
    the page was drawn are not skipped; the page drops the ones it already shows."""
    top = latest_cursor()
    arrivals = [_of_entry(e) for e in _entries(principal).order_by("-pk")[:limit]]
    arrivals += [_of_draft(r) for r in _drafts(principal).order_by("-pk")[:limit]]
    arrivals.sort(key=lambda a: (a.at, a.key), reverse=True)
    arrivals = arrivals[:limit]
    shown: list[Item] = [*arrivals, *recent_notices(person, limit)]
    start = Cursor(
        *(
            min(ids) - 1 if (ids := [_id(i) for i in shown if i.key[0] == kind]) else top.of(kind)
            for kind in KINDS
        )
    )
    return arrivals, start


class FeedReader:
    """The live feed of one open desk: each `read()` returns what was not handed out yet,
    once each, including rows whose transaction committed after later ids had already been
    read (see the module's docstring)."""

    def __init__(
        self,
        principal: Principal,
        person: Person | None,
        after: Cursor,
        lookback: float = LOOKBACK_SECONDS,
    ) -> None:
        self.principal = principal
        self.person = person
        self.cursor = after
        self.lookback = lookback
        self._history: deque[tuple[float, Cursor]] = deque([(time.monotonic(), after)])
        self._delivered: set[str] = set()

    @property
    def floor(self) -> Cursor:
        """Where a reader starting afresh must begin to miss nothing: the position held
        `lookback` seconds ago. The desk's stream sends it as the SSE event id."""
        return self._history[0][1]

    def read(self) -> list[Item]:
        moment = time.monotonic()
        while len(self._history) > 1 and moment - self._history[1][0] >= self.lookback:
            self._history.popleft()
        floor = self.floor
        self._delivered = {k for k in self._delivered if int(k[1:]) > floor.of(k[0])}
        # The newest ids first, then the rows: whatever is committed below those ids now is
        # in this read; whatever commits later is within the lookback.
        top = latest_cursor()
        found = items_after(self.principal, self.person, floor, skip=frozenset(self._delivered))
        self._delivered.update(item.key for item in found)
        reached = []
        for kind in KINDS:
            ids = [_id(item) for item in found if item.key[0] == kind]
            # A kind that filled its limit may have more waiting below `top`.
            reached.append(max(ids) if len(ids) >= READ_LIMIT else max([top.of(kind), *ids]))
        self.cursor = self.cursor.advanced(Cursor(*reached))
        if self.cursor != self._history[-1][1]:
            self._history.append((moment, self.cursor))
        return found


# --- panels -------------------------------------------------------------------------------


def active_events(principal: Principal) -> QuerySet[Event]:
    """Events the principal may see that are not over, most serious first (ungraded last)."""
    return (
        events_visible(principal)
        .filter(drill_q(False))
        .exclude(status__in=CLOSED_STATUSES)
        .select_related("category")
        .order_by(F("grade").asc(nulls_last=True), "-occurred_at", "pk")
    )


def events_by_grade(principal: Principal) -> dict[int | None, int]:
    """How many active events of each grade (None: not yet graded)."""
    counts: dict[int | None, int] = {1: 0, 2: 0, 3: 0, 4: 0, None: 0}
    rows = active_events(principal).order_by().values("grade").annotate(n=Count("pk"))
    for row in rows:
        counts[row["grade"]] = row["n"]
    return counts
