"""Opinion pages (thin: reads through `opinion.selectors`, writes through `opinion.services`).

Every page is for analysts (舆情分析员) and duty officers (值班员), like the posts they show;
anyone else gets 403. Schemes: the list, the editor with a live preview (htmx posts the
expression, the fragment lists which recent posts it matches or the Chinese error with its
position). The live stream polls a fragment with the posts after the last one shown.
Reports: the daily and special .docx (`opinion.reports`).
"""

import re
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fenghuo.core import clock
from fenghuo.documents.docx import DOCX_CONTENT_TYPE
from fenghuo.opinion import reports, selectors, services
from fenghuo.opinion.models import (
    Colour,
    Post,
    Scheme,
    SentimentLabel,
    TopicBucket,
    WarningState,
)
from fenghuo.org.models import Unit
from fenghuo.org.policy import Principal, principal_for
from fenghuo.org.selectors import division_points, units_with_role

PREVIEW_SCAN = 500
PREVIEW_SHOWN = 50
STREAM_ROWS = 50
TOPIC_ROWS = 100
MAP_HOURS = 24
MAP_TOPIC_LIMIT = 500
SPARK_HOURS = 24
WARNING_ROWS = 200


def _reader(request: HttpRequest) -> Principal:
    principal = principal_for(request.user)
    if not selectors.may_read_posts(principal):
        raise PermissionDenied("只有舆情分析员和值班员可以查看舆情")
    return principal


def _scheme_or_404(principal: Principal, pk: int) -> Scheme:
    scheme = selectors.schemes_visible(principal).filter(pk=pk).first()
    if scheme is None:
        raise Http404("监测方案不存在或无权访问")
    return scheme


# --- schemes ------------------------------------------------------------------------------


@login_required
def scheme_list(request: HttpRequest) -> HttpResponse:
    principal = _reader(request)
    schemes = selectors.schemes_visible(principal).order_by("-is_active", "name")
    return render(
        request,
        "opinion/schemes.html",
        {"nav": "opinion", "tab": "schemes", "schemes": schemes},
    )


@login_required
def scheme_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    principal = _reader(request)
    scheme = _scheme_or_404(principal, pk) if pk is not None else None
    units = units_with_role(principal, *services.SCHEME_ROLES).filter(is_active=True)
    values = {
        "name": scheme.name if scheme else "",
        "expression": scheme.expression if scheme else "",
        "owner_unit": scheme.owner_unit_id if scheme else (units[0].pk if units else None),
        "is_active": scheme.is_active if scheme else True,
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {
            "name": request.POST.get("name", ""),
            "expression": request.POST.get("expression", ""),
            "owner_unit": request.POST.get("owner_unit"),
            "is_active": request.POST.get("is_active") == "on",
        }
        try:
            if scheme is None:
                unit = Unit.objects.filter(pk=values["owner_unit"] or 0).first()
                if unit is None:
                    raise ValidationError({"owner_unit": ["请选择所属单位"]})
                scheme = services.scheme_create(
                    principal,
                    name=values["name"],
                    expression_text=values["expression"],
                    owner_unit=unit,
                )
            else:
                services.scheme_update(
                    principal,
                    scheme,
                    name=values["name"],
                    expression_text=values["expression"],
                    is_active=values["is_active"],
                )
            return redirect("opinion-schemes")
        except ValidationError as exc:
            errors = exc.message_dict
    return render(
        request,
        "opinion/scheme_edit.html",
        {
            "nav": "opinion",
            "tab": "schemes",
            "scheme": scheme,
            "units": units,
            "values": values,
            "errors": errors,
            "form_errors": errors.get("__all__", []),
        },
        status=422 if errors else 200,
    )


@login_required
@require_POST
def scheme_preview(request: HttpRequest) -> HttpResponse:
    """The fragment under the editor: which of the most recent posts the expression matches."""
    principal = _reader(request)
    text = request.POST.get("expression", "")
    context: dict = {"expression": text}
    if text.strip():
        recent = list(selectors.recent_posts(principal, PREVIEW_SCAN))
        try:
            matched = services.preview(text, recent)
        except ValidationError as exc:
            context["error"] = exc.message_dict.get("expression", exc.messages)[0]
        else:
            context.update(scanned=len(recent), count=len(matched), posts=matched[:PREVIEW_SHOWN])
    return render(request, "opinion/_preview.html", context)


# --- live stream --------------------------------------------------------------------------


def _stream_rows(principal: Principal, scheme: Scheme | None, after_id: int) -> list[Post]:
    return list(selectors.matching_posts(principal, scheme, after_id=after_id, limit=STREAM_ROWS))


@login_required
def stream(request: HttpRequest) -> HttpResponse:
    principal = _reader(request)
    scheme = _selected_scheme(request, principal)
    rows = _stream_rows(principal, scheme, 0)
    return render(
        request,
        "opinion/stream.html",
        {
            "nav": "opinion",
            "tab": "stream",
            "schemes": selectors.schemes_visible(principal).filter(is_active=True),
            "scheme": scheme,
            "posts": rows,
            "last_id": rows[0].pk if rows else 0,
        },
    )


@login_required
def stream_rows(request: HttpRequest) -> HttpResponse:
    """Polled by the stream page: rows newer than `after` (an out-of-band cursor update)."""
    principal = _reader(request)
    scheme = _selected_scheme(request, principal)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    rows = _stream_rows(principal, scheme, after)
    return render(
        request,
        "opinion/_stream_rows.html",
        {"posts": rows, "scheme": scheme, "last_id": rows[0].pk if rows else after},
    )


def _selected_scheme(request: HttpRequest, principal: Principal) -> Scheme | None:
    raw = request.GET.get("scheme", "")
    return _scheme_or_404(principal, int(raw)) if raw.isdecimal() else None


# --- topics -------------------------------------------------------------------------------


def _sparkline(counts: list[int], width: int = 120, height: int = 24) -> str:
    """SVG polyline points for a small trend drawn by the page itself (no chart library)."""
    top = max(counts, default=0) or 1
    step = width / max(len(counts) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{height - 1 - (n / top) * (height - 2):.1f}" for i, n in enumerate(counts)
    )


def _map_settings() -> dict[str, str]:
    return {
        "map_tile_url": settings.FENGHUO_MAP_TILE_URL,
        "map_attribution": settings.FENGHUO_MAP_ATTRIBUTION,
    }


@login_required
def topic_list(request: HttpRequest) -> HttpResponse:
    principal = _reader(request)
    division = request.GET.get("division", "").strip()
    division_error = ""
    if division and not re.fullmatch(r"[0-9]{6}", division):
        division, division_error = "", "行政区划代码应为 6 位数字，已显示全部话题"
    topics = list(selectors.topics_visible(principal, division=division)[:TOPIC_ROWS])
    recent = selectors.topics_visible(principal).filter(
        last_seen__gte=clock.now() - timedelta(hours=MAP_HOURS)
    )[:MAP_TOPIC_LIMIT]
    now = clock.now().replace(minute=0, second=0, microsecond=0)
    hours = [now - timedelta(hours=h) for h in range(SPARK_HOURS - 1, -1, -1)]
    counts: dict[int, dict] = {t.pk: {} for t in topics}
    for row in TopicBucket.objects.filter(topic__in=topics, start__gte=hours[0]).values(
        "topic_id", "start", "posts"
    ):
        counts[row["topic_id"]][row["start"]] = row["posts"]
    rows = [
        {"topic": t, "spark": _sparkline([counts[t.pk].get(h, 0) for h in hours])} for t in topics
    ]
    return render(
        request,
        "opinion/topics.html",
        {
            "nav": "opinion",
            "tab": "topics",
            "rows": rows,
            "map": selectors.division_map(recent),
            "map_hours": MAP_HOURS,
            "division": division_points([division]).get(division) if division else None,
            "division_code": division,
            "division_error": division_error,
            **_map_settings(),
        },
    )


@login_required
def topic_page(request: HttpRequest, pk: int) -> HttpResponse:
    principal = _reader(request)
    topic = selectors.topics_visible(principal, drill=None).filter(pk=pk).first()
    if topic is None:
        raise Http404("话题不存在或无权访问")
    detail = selectors.topic_detail(principal, topic)
    sentiment_labels = dict(SentimentLabel.choices)
    charts = {
        "timeline": [
            {
                "start": timezone.localtime(b["start"]).strftime("%m-%d %H:%M"),
                "posts": b["posts"],
                "negative": b["negative"],
            }
            for b in detail["timeline"]
        ],
        "sentiment": [
            {"name": sentiment_labels[label], "value": n, "label": label}
            for label, n in detail["sentiment"].items()
        ],
        "platforms": [{"name": p["label"], "value": p["posts"]} for p in detail["platforms"]],
    }
    return render(
        request,
        "opinion/topic.html",
        {
            "nav": "opinion",
            "tab": "topics",
            **detail,
            "charts": charts,
            "map": selectors.division_map([topic]),
            **_map_settings(),
        },
    )


@login_required
def warning_list(request: HttpRequest) -> HttpResponse:
    principal = _reader(request)
    warnings = selectors.opinion_warnings_visible(principal)[:WARNING_ROWS]
    return render(
        request,
        "opinion/warnings.html",
        {
            "nav": "opinion",
            "tab": "warnings",
            "warnings": warnings,
            "colours": Colour.choices,
            "open_states": (WarningState.RAISED, WarningState.CONFIRMED, WarningState.ADJUSTED),
        },
    )


@login_required
@require_POST
def warning_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """确认 / 调整级别 / 排除 an opinion warning (the services check who may)."""
    principal = _reader(request)
    warning = selectors.opinion_warnings_visible(principal, drill=None).filter(pk=pk).first()
    if warning is None:
        raise Http404("舆情预警不存在或无权访问")
    action, note = request.POST.get("action", ""), request.POST.get("note", "").strip()
    try:
        if action == "confirm":
            services.warning_confirm(principal, warning, note)
        elif action == "dismiss":
            services.warning_dismiss(principal, warning, note)
        elif action == "adjust":
            services.warning_adjust(principal, warning, request.POST.get("colour", ""), note)
        else:
            raise ValidationError({"action": ["请选择确认、调整级别或排除"]})
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, f"舆情预警已{warning.get_state_display()}。")
    return redirect("opinion-warnings")


@login_required
@require_POST
def topic_clue(request: HttpRequest, pk: int) -> HttpResponse:
    """转为线索: a clue draft for the local unit; confirming it opens a verification task."""
    principal = _reader(request)
    topic = selectors.topics_visible(principal, drill=None).filter(pk=pk).first()
    if topic is None:
        raise Http404("话题不存在或无权访问")
    try:
        result = services.topic_to_clue(
            principal, topic, clue_text=request.POST.get("text", "").strip()
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(
            request, f"已转为线索，报送{result.report.unit.name}，值班员确认后将请其核实。"
        )
    return redirect("opinion-topic", pk=topic.pk)


# --- reports ------------------------------------------------------------------------------


@login_required
def report_page(request: HttpRequest) -> HttpResponse:
    principal = _reader(request)
    today = clock.now().date()
    return render(
        request,
        "opinion/reports.html",
        {
            "nav": "opinion",
            "tab": "reports",
            "schemes": selectors.schemes_visible(principal),
            "today": today,
            "week_ago": today - timedelta(days=6),
        },
    )


@login_required
def report_download(request: HttpRequest, kind: str) -> HttpResponse:
    principal = _reader(request)
    try:
        if kind == "daily":
            document = reports.daily_report(principal, day=request.GET.get("day") or None)
        elif kind == "special":
            raw = request.GET.get("scheme", "")
            scheme = _scheme_or_404(principal, int(raw) if raw.isdecimal() else 0)
            document = reports.special_report(
                principal,
                scheme,
                start=request.GET.get("start") or None,
                end=request.GET.get("end") or None,
            )
        else:
            raise Http404("没有这种报告")
    except ValidationError as exc:
        return HttpResponse("；".join(exc.messages), status=422, content_type="text/plain")
    response = HttpResponse(document.content, content_type=DOCX_CONTENT_TYPE)
    response["Content-Disposition"] = reports.content_disposition(document.filename)
    return response
