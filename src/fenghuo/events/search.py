"""Chinese full-text search over reports and events, always through the access policy.

Text is segmented with rjieba (the same segmentation as `jieba.lcut`, much faster) and
normalised the same way for documents and queries: NFKC (full-width → half-width), lower
case, and each token cut into runs of letters and decimal digits — punctuation and symbols
never reach the database's query syntax.

- Documents are segmented in jieba's search mode, which adds the words inside long words
  (发生爆炸 → 发生, 爆炸, 发生爆炸; 化工厂 → 化工, 工厂, 化工厂). Queries are segmented in
  precise mode, so every query term of a text is among that text's index terms.
- The index holds one row per report (title, place and body — the other free-text fields —
  as space-joined terms) and is written by `index_report()` inside the transaction that
  writes the report. It holds no event id, so merging and splitting events leave it alone.
  On SQLite it is an FTS5 table (`events_report_fts`, rowid = report id, ranked by bm25);
  on PostgreSQL a table (`events_report_search`) with a generated tsvector over the same
  terms in the 'simple' configuration, a GIN index, ranked by ts_rank.
- A query matches reports holding every term (FTS5: each term a quoted phrase; PostgreSQL:
  plainto_tsquery with the terms as a parameter). Matches are joined in SQL with
  `reports_visible(principal)` and the filters, so nothing the searcher may not read is
  matched, counted, ranked or returned. Events are found through their visible matching
  reports only.
- `fenghuo reindex_search` rebuilds the whole index.

Limits: a word is found where the document's segmentation produced it, so a lone character
or a fragment segmentation never yields (化工园 of 化工园区) finds nothing. Rank statistics
(bm25's document frequencies) are computed over the whole index; only matching is filtered.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Generic, TypeVar

import rjieba
from django.db import NotSupportedError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from fenghuo.core.sandbox import DrillFilter, drill_q
from fenghuo.criteria.models import EventCategory
from fenghuo.events.models import Event, EventStatus, Report, ReportStatus
from fenghuo.events.selectors import reports_visible
from fenghuo.org.models import Unit
from fenghuo.org.policy import Principal

SQLITE_TABLE = "events_report_fts"
POSTGRES_TABLE = "events_report_search"
# The free-text fields indexed besides title and place.
BODY_FIELDS = (
    "subjects",
    "narrative",
    "cause",
    "measures",
    "next_steps",
    "handling_summary",
    "aftercare",
    "source",
)
# Relative weight of a match in title, place and body (FTS5 bm25 column weights; the
# PostgreSQL document gives them tsvector weights A, B and C).
BM25_WEIGHTS = (4.0, 2.0, 1.0)
MAX_QUERY_TERMS = 32
MAX_PAGE_SIZE = 100
REPORTS_PER_EVENT = 5

_SPACES = re.compile(r"\s+")
T = TypeVar("T")


# ---------------------------------------------------------------------------- segmentation


def _runs(token: str) -> Iterator[str]:
    """Runs of letters (any script) and decimal digits in a token, lower-cased."""
    run: list[str] = []
    for char in token:
        category = unicodedata.category(char)
        if category[0] == "L" or category == "Nd":
            run.append(char)
        elif run:
            yield "".join(run).lower()
            run = []
    if run:
        yield "".join(run).lower()


def index_terms(text: str | None) -> list[str]:
    """The terms a document is indexed under: search-mode segmentation, normalised."""
    if not text:
        return []
    text = unicodedata.normalize("NFKC", text)
    return [run for token in rjieba.cut_for_search(text) for run in _runs(token)]


def query_terms(text: str | None) -> list[str]:
    """The terms of a query: precise-mode segmentation, normalised, each once, in order."""
    if not text:
        return []
    text = unicodedata.normalize("NFKC", text)
    seen: dict[str, None] = {}
    for token in rjieba.cut(text):
        for run in _runs(token):
            seen.setdefault(run, None)
    return list(seen)[:MAX_QUERY_TERMS]


def document_of(report: Any) -> tuple[str, str, str]:
    """(title, place, body) of a report as space-joined index terms.

    Reads attributes only, so a migration may pass historical model instances.
    """
    body = "\n".join(getattr(report, name, "") or "" for name in BODY_FIELDS)
    return (
        " ".join(index_terms(report.title)),
        " ".join(index_terms(report.place)),
        " ".join(index_terms(body)),
    )


def fts5_match(terms: Iterable[str]) -> str:
    """An FTS5 MATCH expression requiring every term: each a quoted string, so no operator,
    column filter or bracket in user text means anything to FTS5."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


# ---------------------------------------------------------------------------- the index


def batched(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to `size` items (itertools.batched arrives with Python 3.12)."""
    chunk: list[T] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _vendor(connection: BaseDatabaseWrapper) -> str:
    if connection.vendor not in ("sqlite", "postgresql"):
        raise NotSupportedError(f"全文检索不支持 {connection.vendor} 数据库")
    return connection.vendor


def write_documents(
    connection: BaseDatabaseWrapper,
    rows: Iterable[tuple[int, tuple[str, str, str]]],
    *,
    batch: int = 500,
) -> int:
    """Insert or replace index rows (report id, document); the number written."""
    vendor = _vendor(connection)
    count = 0
    with connection.cursor() as cursor:
        for chunk in batched(rows, batch):
            params = [[pk, title, place, body] for pk, (title, place, body) in chunk]
            if vendor == "sqlite":
                cursor.executemany(
                    f"DELETE FROM {SQLITE_TABLE} WHERE rowid = %s",  # noqa: S608
                    [[row[0]] for row in params],
                )
                cursor.executemany(
                    f"INSERT INTO {SQLITE_TABLE} (rowid, title, place, body) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s)",
                    params,
                )
            else:
                cursor.executemany(
                    f"INSERT INTO {POSTGRES_TABLE} (report_id, title, place, body) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (report_id) DO UPDATE SET "
                    "title = EXCLUDED.title, place = EXCLUDED.place, body = EXCLUDED.body",
                    params,
                )
            count += len(params)
    return count


def index_report(report: Report) -> None:
    """Bring the index row of `report` up to date. Call it inside the transaction that
    writes the report, so the two commit or roll back together. Drill reports are not
    indexed: ranking weighs every indexed document (SQLite's bm25), so a drill's reports
    would move the scores of real searches; drills are listed on their own pages."""
    if report.is_drill:
        return
    connection = connections[report._state.db or "default"]
    write_documents(connection, [(report.pk, document_of(report))])


def unindex_reports(ids: Iterable[int], using: str = "default") -> None:
    """Remove the index rows of reports about to be deleted (a drill's purge)."""
    connection = connections[using]
    column = "rowid" if _vendor(connection) == "sqlite" else "report_id"
    table = SQLITE_TABLE if connection.vendor == "sqlite" else POSTGRES_TABLE
    with connection.cursor() as cursor:
        for chunk in batched(ids, 500):
            cursor.executemany(
                f"DELETE FROM {table} WHERE {column} = %s",  # noqa: S608 - constant names
                [[pk] for pk in chunk],
            )


def clear_index(connection: BaseDatabaseWrapper) -> None:
    table = SQLITE_TABLE if _vendor(connection) == "sqlite" else POSTGRES_TABLE
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - a constant table name


def rebuild_index(using: str = "default", *, batch: int = 500) -> int:
    """Drop every index row and index every report again; the number of reports."""
    connection = connections[using]
    clear_index(connection)
    reports = (
        Report.objects.using(using)
        .filter(is_drill=False)
        .only("pk", "title", "place", *BODY_FIELDS)
    )
    count = write_documents(
        connection,
        ((r.pk, document_of(r)) for r in reports.iterator(chunk_size=batch)),
        batch=batch,
    )
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}) VALUES ('optimize')")  # noqa: S608
    return count


# ---------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class ReportHit:
    report: Report
    score: float  # higher is better; 0 when browsing without a query


@dataclass(frozen=True)
class EventHit:
    event: Event
    score: float  # the best score of its matching reports
    match_count: int  # its visible reports that match
    reports: list[ReportHit]  # the best of them, at most REPORTS_PER_EVENT


@dataclass(frozen=True)
class SearchPage(Generic[T]):
    terms: tuple[str, ...]
    total: int
    offset: int
    limit: int
    items: list[T]


def division_prefix_of(code: str) -> str:
    """The prefix that selects a division and everything below it: 990100 → 9901."""
    code = code.strip()
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def _start(moment: date | datetime) -> datetime:
    if isinstance(moment, datetime):
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
    return timezone.make_aware(datetime.combine(moment, time.min))


def _candidates(
    principal: Principal,
    *,
    since: date | datetime | None,
    until: date | datetime | None,
    division_prefix: str | None,
    category: EventCategory | str | None,
    grade: int | None,
    unit: Unit | int | None,
    status: str | None,
    drill: DrillFilter = False,
) -> QuerySet[Report]:
    """The reports the principal may read that pass the filters.

    since / until bound the report's time of occurrence (a date `until` includes that
    day); category includes its subcategories; unit includes the units below it; grade is
    the event's; status is a report status (draft / submitted) or an event status; drill
    data is left out unless `drill` asks for it (core.sandbox.drill_q).
    """
    reports = reports_visible(principal).filter(drill_q(drill))
    if since is not None:
        reports = reports.filter(occurred_at__gte=_start(since))
    if until is not None:
        if isinstance(until, datetime):
            reports = reports.filter(occurred_at__lte=_start(until))
        else:
            reports = reports.filter(occurred_at__lt=_start(until + timedelta(days=1)))
    if division_prefix:
        if not re.fullmatch(r"\d{1,6}", division_prefix):
            raise ValueError("行政区划代码前缀应为 1–6 位数字")
        reports = reports.filter(division_code__startswith=division_prefix)
    if category is not None:
        if isinstance(category, str):
            category = EventCategory.objects.get(code=category)
        reports = reports.filter(Q(category=category) | Q(category__parent=category))
    if grade is not None:
        reports = reports.filter(event__grade=grade)
    if unit is not None:
        # The stored path, not the instance's: inserting a sibling in a sorted tree moves
        # the paths of the nodes after it.
        path = Unit.objects.values_list("path", flat=True).get(pk=getattr(unit, "pk", unit))
        reports = reports.filter(unit__path__startswith=path)
    if status:
        if status in ReportStatus.values:
            reports = reports.filter(status=status)
        elif status in EventStatus.values:
            reports = reports.filter(event__status=status)
        else:
            raise ValueError(f"未知的状态：{status}")
    return reports


def _matches_sql(connection: BaseDatabaseWrapper, terms: list[str]) -> tuple[str, list[Any]]:
    """SELECT report_id, score of every indexed report holding all terms."""
    if _vendor(connection) == "sqlite":
        # LIMIT -1 (no limit) keeps SQLite from flattening this into the outer query, where
        # bm25() would land in an aggregate and fail ("unable to use function bm25").
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        sql = (
            f"SELECT rowid AS report_id, -bm25({SQLITE_TABLE}, {weights}) AS score "  # noqa: S608
            f"FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH %s LIMIT -1"
        )
        return sql, [fts5_match(terms)]
    sql = (
        "SELECT s.report_id AS report_id, ts_rank(s.document, q.query) AS score "  # noqa: S608
        f"FROM {POSTGRES_TABLE} s, plainto_tsquery('simple', %s) AS q(query) "
        "WHERE s.document @@ q.query"
    )
    return sql, [" ".join(terms)]


def _joined(
    candidates: QuerySet[Report], terms: list[str]
) -> tuple[BaseDatabaseWrapper, str, list[Any]]:
    """FROM … of the matches joined with the candidate reports, as `m` and `c`."""
    connection = connections[candidates.db]
    match_sql, match_params = _matches_sql(connection, terms)
    visible = candidates.order_by().values("id", "event_id")
    visible_sql, visible_params = visible.query.get_compiler(using=candidates.db).as_sql()
    sql = f"({match_sql}) m INNER JOIN ({visible_sql}) c ON c.id = m.report_id"
    return connection, sql, [*match_params, *visible_params]


def _fetch(connection: BaseDatabaseWrapper, sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Past any real result list; a larger offset (page 10^30 in a URL) overflows the database's
# integer (SQLite: "datatype mismatch", PostgreSQL: out of range) instead of finding nothing.
MAX_OFFSET = 10**9


def _page(offset: int, limit: int) -> tuple[int, int]:
    return min(max(0, int(offset)), MAX_OFFSET), max(1, min(int(limit), MAX_PAGE_SIZE))


def _reports_by_id(ids: Iterable[int]) -> dict[int, Report]:
    return {
        r.pk: r
        for r in Report.objects.filter(pk__in=list(ids)).select_related(
            "unit", "category", "category__parent", "event"
        )
    }


def search_reports(
    principal: Principal,
    q: str | None,
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    division_prefix: str | None = None,
    category: EventCategory | str | None = None,
    grade: int | None = None,
    unit: Unit | int | None = None,
    status: str | None = None,
    drill: DrillFilter = False,
    offset: int = 0,
    limit: int = 20,
) -> SearchPage[ReportHit]:
    """Reports the principal may read holding every term of `q`, best first.

    A blank `q` browses the filtered reports, latest first; a `q` without any searchable
    term (only punctuation) finds nothing.
    """
    offset, limit = _page(offset, limit)
    candidates = _candidates(
        principal,
        since=since,
        until=until,
        division_prefix=division_prefix,
        category=category,
        grade=grade,
        unit=unit,
        status=status,
        drill=drill,
    )
    terms = query_terms(q)
    if not terms:
        if q and q.strip():
            return SearchPage((), 0, offset, limit, [])
        ordered = candidates.select_related("unit", "category", "category__parent", "event")
        ordered = ordered.order_by("-occurred_at", "-pk")
        items = [ReportHit(r, 0.0) for r in ordered[offset : offset + limit]]
        return SearchPage((), candidates.count(), offset, limit, items)
    connection, joined, params = _joined(candidates, terms)
    (total,) = _fetch(connection, f"SELECT COUNT(*) FROM {joined}", params)[0]  # noqa: S608
    rows = _fetch(
        connection,
        f"SELECT m.report_id, m.score FROM {joined} "  # noqa: S608 - parameters only
        "ORDER BY m.score DESC, m.report_id DESC LIMIT %s OFFSET %s",
        [*params, limit, offset],
    )
    reports = _reports_by_id(pk for pk, _ in rows)
    items = [ReportHit(reports[pk], float(score)) for pk, score in rows if pk in reports]
    return SearchPage(tuple(terms), total, offset, limit, items)


def search_events(
    principal: Principal,
    q: str | None,
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    division_prefix: str | None = None,
    category: EventCategory | str | None = None,
    grade: int | None = None,
    unit: Unit | int | None = None,
    status: str | None = None,
    drill: DrillFilter = False,
    offset: int = 0,
    limit: int = 20,
) -> SearchPage[EventHit]:
    """Events with at least one report the principal may read that matches `q` and the
    filters, best first, each with its best matching reports (visible ones only)."""
    offset, limit = _page(offset, limit)
    candidates = _candidates(
        principal,
        since=since,
        until=until,
        division_prefix=division_prefix,
        category=category,
        grade=grade,
        unit=unit,
        status=status,
        drill=drill,
    ).filter(event__isnull=False)
    terms = query_terms(q)
    if not terms:
        if q and q.strip():
            return SearchPage((), 0, offset, limit, [])
        return _browse_events(candidates, offset, limit)
    connection, joined, params = _joined(candidates, terms)
    (total,) = _fetch(
        connection,
        f"SELECT COUNT(DISTINCT c.event_id) FROM {joined}",  # noqa: S608
        params,
    )[0]
    page = _fetch(
        connection,
        f"SELECT c.event_id, MAX(m.score) AS best, COUNT(*) FROM {joined} "  # noqa: S608
        "GROUP BY c.event_id ORDER BY best DESC, c.event_id DESC LIMIT %s OFFSET %s",
        [*params, limit, offset],
    )
    event_ids = [row[0] for row in page]
    per_event: dict[int, list[tuple[int, float]]] = {pk: [] for pk in event_ids}
    if event_ids:
        marks = ", ".join(["%s"] * len(event_ids))
        for report_id, score, event_id in _fetch(
            connection,
            f"SELECT m.report_id, m.score, c.event_id FROM {joined} "  # noqa: S608
            f"WHERE c.event_id IN ({marks}) ORDER BY m.score DESC, m.report_id DESC",
            [*params, *event_ids],
        ):
            if len(per_event[event_id]) < REPORTS_PER_EVENT:
                per_event[event_id].append((report_id, float(score)))
    reports = _reports_by_id(pk for hits in per_event.values() for pk, _ in hits)
    events = _events_by_id(event_ids)
    items = [
        EventHit(
            events[event_id],
            float(best),
            count,
            [ReportHit(reports[pk], score) for pk, score in per_event[event_id] if pk in reports],
        )
        for event_id, best, count in page
        if event_id in events
    ]
    return SearchPage(tuple(terms), total, offset, limit, items)


def _events_by_id(ids: Iterable[int]) -> dict[int, Event]:
    return {
        e.pk: e
        for e in Event.objects.filter(pk__in=list(ids)).select_related(
            "category", "category__parent"
        )
    }


def _browse_events(candidates: QuerySet[Report], offset: int, limit: int) -> SearchPage[EventHit]:
    events = Event.objects.filter(pk__in=candidates.values("event_id"))
    total = events.count()
    page = list(
        events.select_related("category", "category__parent").order_by("-occurred_at", "-pk")[
            offset : offset + limit
        ]
    )
    # Counted in the database and only the newest few read per event: an event of a major
    # incident has hundreds of reports, and the page shows five.
    in_page = candidates.filter(event__in=page)
    counts = dict(
        in_page.order_by()
        .values("event_id")
        .annotate(n=Count("pk", distinct=True))
        .values_list("event_id", "n")
    )
    newest = [F("occurred_at").desc(), F("pk").desc()]
    per_event: dict[int, list[Report]] = {e.pk: [] for e in page}
    for report in (
        in_page.annotate(rank=Window(RowNumber(), partition_by=F("event_id"), order_by=newest))
        .filter(rank__lte=REPORTS_PER_EVENT)
        .select_related("unit", "category", "category__parent", "event")
        .order_by(*newest)
    ):
        per_event[report.event_id].append(report)
    items = [
        EventHit(e, 0.0, counts.get(e.pk, 0), [ReportHit(r, 0.0) for r in per_event[e.pk]])
        for e in page
    ]
    return SearchPage((), total, offset, limit, items)


def snippet(text: str, terms: Iterable[str], width: int = 80) -> str:
    """A short excerpt of `text` around the first place a term occurs."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "")).strip()
    lowered = text.lower()
    found = [i for i in (lowered.find(t) for t in terms if t) if i >= 0]
    start = max(0, min(found) - width // 4) if found else 0
    excerpt = text[start : start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(text) else ""
    return f"{prefix}{excerpt}{suffix}"
