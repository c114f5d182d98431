"""Search over the API: GET /api/search — events with their matching reports, paginated."""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.dateparse import parse_date, parse_datetime
from ninja import Router, Schema

from fenghuo.criteria.models import EventCategory
from fenghuo.events import search
from fenghuo.org.auth import request_principal
from fenghuo.org.models import Unit

router = Router(tags=["检索"])


class SearchReportOut(Schema):
    id: int
    kind_label: str
    unit: str
    title: str
    place: str
    occurred_at: datetime
    status: str
    confidentiality: str
    snippet: str
    score: float


class SearchEventOut(Schema):
    id: int
    title: str
    category: str
    status: str
    status_label: str
    grade: int | None
    occurred_at: datetime
    division_code: str
    place: str
    score: float
    match_count: int
    reports: list[SearchReportOut]


class SearchOut(Schema):
    q: str
    terms: list[str]
    total: int
    page: int
    page_size: int
    results: list[SearchEventOut]


def _moment(name: str, value: str | None) -> date | datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value) if "T" in value or " " in value else parse_date(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({name: ["时间格式应为 2026-11-23 或 2026-11-23T09:00:00+08:00"]})
    return parsed


def _report(hit: search.ReportHit, terms: tuple[str, ...]) -> dict:
    report = hit.report
    return {
        "id": report.pk,
        "kind_label": report.kind_label,
        "unit": report.unit.name,
        "title": report.title,
        "place": report.place,
        "occurred_at": report.occurred_at,
        "status": report.status,
        "confidentiality": report.get_confidentiality_display(),
        "snippet": search.snippet(report.narrative, terms),
        "score": hit.score,
    }


@router.get("/search", response=SearchOut, summary="全文检索事件与报告")
def search_events(
    request: HttpRequest,
    q: str = "",
    since: str | None = None,
    until: str | None = None,
    division: str | None = None,
    category: str | None = None,
    grade: int | None = None,
    unit: int | None = None,
    status: str | None = None,
    drill: bool = False,
    page: int = 1,
    page_size: int = 20,
):
    """中文分词全文检索：q 中每个词都须出现（标题、地点、经过、原因、措施等）。

    筛选：since / until（发生时间，日期或日期时间）、division（行政区划代码或其前缀，
    如 990100 或 9901 表示该市及以下）、category（类别代码，含子类）、grade（事件等级）、
    unit（报送单位编号，含下级单位）、status（报告状态 draft / submitted，或事件状态）。
    只返回当前用户有权查看的报告及其事件。q 为空时按发生时间倒序列出筛选结果。
    演练数据不在结果中；drill=true 时只检索演练数据。
    """
    errors: dict[str, list[str]] = {}
    filters: dict = {
        "since": _moment("since", since),
        "until": _moment("until", until),
        "grade": grade,
        "status": status or None,
        "drill": drill,
    }
    if division:
        filters["division_prefix"] = search.division_prefix_of(division)
    if category:
        found = EventCategory.objects.filter(code=category).first()
        if found is None:
            errors["category"] = [f"没有代码为 {category} 的事件类别"]
        filters["category"] = found
    if unit is not None:
        found_unit = Unit.objects.filter(pk=unit).first()
        if found_unit is None:
            errors["unit"] = [f"没有编号为 {unit} 的单位"]
        filters["unit"] = found_unit
    if errors:
        raise ValidationError(errors)
    page = max(1, page)
    page_size = max(1, min(page_size, search.MAX_PAGE_SIZE))
    try:
        result = search.search_events(
            request_principal(request),
            q,
            offset=(page - 1) * page_size,
            limit=page_size,
            **filters,
        )
    except ValueError as exc:
        raise ValidationError({"__all__": [str(exc)]}) from exc
    return {
        "q": q,
        "terms": list(result.terms),
        "total": result.total,
        "page": page,
        "page_size": page_size,
        "results": [
            {
                "id": hit.event.pk,
                "title": hit.event.title,
                "category": str(hit.event.category),
                "status": hit.event.status,
                "status_label": hit.event.get_status_display(),
                "grade": hit.event.grade,
                "occurred_at": hit.event.occurred_at,
                "division_code": hit.event.division_code,
                "place": hit.event.place,
                "score": hit.score,
                "match_count": hit.match_count,
                "reports": [_report(r, result.terms) for r in hit.reports],
            }
            for hit in result.items
        ],
    }
