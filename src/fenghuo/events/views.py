"""Event pages: the list, the event page with its actions, the merge review queue.

Thin: every read goes through `events.selectors` (or `events.search`, which filters by
the same policy), every write through `events.services`. An event the reader may not see
is a 404; an action the reader may not take is a Chinese message, never a change.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from fenghuo.core.sandbox import same_as
from fenghuo.core.selectors import newest_rows
from fenghuo.events import attachments, search, selectors, services
from fenghuo.events.forms import EventFilterForm
from fenghuo.events.models import FIGURES, Event, EventStatus, Report, ReportStatus
from fenghuo.org.models import Role, Unit
from fenghuo.org.policy import Principal, principal_for
from fenghuo.org.selectors import units_with_role

PAGE_SIZE = 50
# Grade → (label, seriousness, CSS class): Ⅰ red, Ⅱ orange, Ⅲ yellow, Ⅳ blue.
GRADES = {
    1: ("Ⅰ级", "特别重大", "grade-1"),
    2: ("Ⅱ级", "重大", "grade-2"),
    3: ("Ⅲ级", "较大", "grade-3"),
    4: ("Ⅳ级", "一般", "grade-4"),
}
UNGRADED = ("待定级", "", "grade-none")
REPORTING_ROLES = (Role.REPORTER, Role.UNIT_LEADER, Role.DUTY_OFFICER)
MERGE_WINDOW = timedelta(days=7)
# The event page shows the newest entries of the timeline; the rest on request
# (?timeline=all): a major incident's event gathers a few lines per report, thousands in
# all, and the page's cost grew with every one.
TIMELINE_SHOWN = 100
# The report chains show each unit's first report and its newest CHAIN_NEWEST, and the
# chains of the units that reported first up to REPORTS_SHOWN reports in all; the rest on
# request (?reports=all). A major incident's event gathers hundreds of reports from dozens
# of units, and each one rendered cost the page ~2 ms; the figures table still shows
# every unit's latest figures.
CHAIN_NEWEST = 4
REPORTS_SHOWN = 40


def grade_badge(event: Event) -> dict[str, str]:
    label, meaning, css = GRADES.get(event.grade or 0, UNGRADED)
    return {"label": label, "meaning": meaning, "css": css}


def _allowed(principal: Principal, event: Event, roles: tuple[str, ...]) -> bool:
    try:
        services.require_event_role(principal, event, roles)
    except PermissionDenied:
        return False
    return True


def _messages_of(exc: ValidationError) -> str:
    return "；".join(exc.messages)


def _docx_url(report_id: int) -> str | None:
    """The Word export of a report, if the API offers it."""
    try:
        return reverse("api:report_document", kwargs={"report_id": report_id})
    except NoReverseMatch:
        return None


# --- the list ---------------------------------------------------------------------------


@dataclass
class EventRow:
    event: Event
    grade: dict[str, str]
    report_count: int
    latest_report_at: Any


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    form = EventFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    q = ""
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        q = data["q"].strip()
        filters = {
            "status": data["status"] or None,
            "category": data["category"] or None,
            "division_prefix": search.division_prefix_of(data["division"])
            if data["division"]
            else None,
            "since": data["since"],
            "until": data["until"],
            # Drill events stay out of the real list; this switch shows them alone.
            "drill": bool(data["drill"]),
        }
    try:
        page_number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page_number = 1
    result = search.search_events(
        principal, q, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE, **filters
    )
    events = [hit.event for hit in result.items]
    stats = selectors.event_report_stats(principal, [e.pk for e in events])
    rows = [
        EventRow(
            e,
            grade_badge(e),
            stats.get(e.pk, {}).get("count", 0),
            stats.get(e.pk, {}).get("latest"),
        )
        for e in events
    ]
    pages = Paginator(range(result.total), PAGE_SIZE)
    page = pages.get_page(page_number)
    query = request.GET.copy()
    query.pop("page", None)
    is_duty = principal.has_role(Role.DUTY_OFFICER) or principal.is_superuser
    return render(
        request,
        "events/event_list.html",
        {
            "nav": "events",
            "form": form,
            "rows": rows,
            "total": result.total,
            "terms": result.terms,
            "q": q,
            "page": page,
            "query": query.urlencode(),
            "is_duty": is_duty,
            "queue_count": selectors.merge_queue(principal).count() if is_duty else 0,
            "may_report": units_with_role(principal, *REPORTING_ROLES).exists(),
        },
    )


# --- the event page -----------------------------------------------------------------------


@dataclass
class FigureRow:
    name: str
    label: str
    cells: list[Any]  # one value per source unit, in the order of `sources`
    current: Any
    basis: str
    conflict: bool


def _figure_rows(table: selectors.FiguresTable) -> list[FigureRow]:
    return [
        FigureRow(
            name,
            label,
            [source.values[name] for source in table.sources],
            table.current[name],
            table.basis[name],
            name in table.conflicts,
        )
        for name, label in FIGURES.items()
    ]


@dataclass(frozen=True)
class Chain:
    """One unit's reports on the page in order (首报 → 续报一 → … → 终报), with `hidden`
    of them left out after the first."""

    unit: Unit
    reports: list[Report]
    hidden: int


@dataclass(frozen=True)
class ChainPlan:
    shown: list[tuple[list[int], int]]  # per unit: ids to show, how many left out
    submitted: int  # submitted reports of every unit
    units: int  # units with a report
    units_left_out: int  # units whose chains are not shown at all
    reports_left_out: int  # their reports


def _chain_plan(reports: QuerySet[Report], everything: bool) -> ChainPlan:
    """Which reports the chains show, read from ids alone (a long chain costs the page
    only its ids): units in the order they first reported, each unit's first report and
    its newest CHAIN_NEWEST, until REPORTS_SHOWN; or all."""
    by_unit: dict[int, list[int]] = {}
    submitted = 0
    for pk, unit_id, status in reports.values_list("pk", "unit_id", "status"):
        by_unit.setdefault(unit_id, []).append(pk)
        submitted += status == ReportStatus.SUBMITTED
    shown: list[tuple[list[int], int]] = []
    budget = REPORTS_SHOWN
    left_units = left_reports = 0
    for ids in by_unit.values():
        if not everything and budget <= 0:
            left_units += 1
            left_reports += len(ids)
            continue
        if everything or len(ids) <= CHAIN_NEWEST + 1:
            chosen, hidden = ids, 0
        else:
            chosen, hidden = [ids[0], *ids[-CHAIN_NEWEST:]], len(ids) - CHAIN_NEWEST - 1
        shown.append((chosen, hidden))
        budget -= len(chosen)
    return ChainPlan(shown, submitted, len(by_unit), left_units, left_reports)


def _chains(plan: ChainPlan, reports: dict[int, Report]) -> list[Chain]:
    chains = []
    for ids, hidden in plan.shown:
        shown = [reports[pk] for pk in ids if pk in reports]
        if shown:
            chains.append(Chain(shown[0].unit, shown, hidden))
    return chains


def _visible_event(principal: Principal, pk: int) -> Event:
    return get_object_or_404(
        selectors.events_visible(principal).select_related("category", "category__parent"),
        pk=pk,
    )


def _timeline(request: HttpRequest, principal: Principal, event: Event) -> dict[str, Any]:
    """The timeline entries to show, oldest first, and how many older ones are left out."""
    shown = None if request.GET.get("timeline") == "all" else TIMELINE_SHOWN
    timeline, hidden = newest_rows(selectors.event_timeline(principal, event), shown)
    return {"timeline": timeline, "timeline_hidden": hidden}


@login_required
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    event = _visible_event(principal, pk)
    visible = selectors.event_reports(principal, event)
    plan = _chain_plan(visible, request.GET.get("reports") == "all")
    reports = list(
        visible.filter(pk__in=[pk for ids, _ in plan.shown for pk in ids]).prefetch_related(
            "attachments"
        )
    )
    own_units = {u.pk for u in units_with_role(principal, *REPORTING_ROLES)}
    for report in reports:
        report.may_attach = report.unit_id in own_units and report.status == ReportStatus.SUBMITTED
        values = {n: getattr(report, n) for n in FIGURES if getattr(report, n) is not None}
        report.figure_summary = services.figures_text(values)
        submitted_report = report.status == ReportStatus.SUBMITTED
        report.docx_url = _docx_url(report.pk) if submitted_report else None
    table = selectors.figures_table(event, selectors.latest_per_unit(event, visible))
    conflicts = [
        (FIGURES[name], "、".join(f"{unit} {value}" for unit, value in values))
        for name, values in table.conflicts.items()
    ]
    transitions = [
        (to, EventStatus(to).label)
        for to, roles in services.TRANSITIONS.get(event.status, {}).items()
        if _allowed(principal, event, roles)
    ]
    is_duty = _allowed(principal, event, (Role.DUTY_OFFICER,))
    merge_targets: list[Event] = []
    if is_duty:
        merge_targets = list(
            selectors.events_visible(principal)
            .filter(same_as(event))
            .exclude(pk=event.pk)
            .exclude(status__in=[EventStatus.ARCHIVED])
            .filter(
                occurred_at__gte=event.occurred_at - MERGE_WINDOW,
                occurred_at__lte=event.occurred_at + MERGE_WINDOW,
            )
            .order_by("-occurred_at")[:50]
        )
    return render(
        request,
        "events/event_detail.html",
        {
            "nav": "events",
            "title": event.title,
            "event": event,
            "grade": grade_badge(event),
            "chains": _chains(plan, {r.pk: r for r in reports}),
            "chain_plan": plan,
            "sources": table.sources,
            "figure_rows": _figure_rows(table),
            "conflicts": conflicts,
            **_timeline(request, principal, event),
            "transitions": transitions,
            "is_duty": is_duty,
            "merge_targets": merge_targets,
            "may_report": units_with_role(principal, *REPORTING_ROLES).exists()
            and event.status != EventStatus.ARCHIVED,
        },
    )


@login_required
@require_POST
def event_status(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    event = _visible_event(principal, pk)
    to = request.POST.get("to", "")
    if to not in EventStatus.values:
        messages.error(request, "请选择要变更的状态")
        return redirect("event-detail", pk=pk)
    try:
        services.change_status(principal, event, to, note=request.POST.get("note", "")[:500])
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权对该事件执行此操作")
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, f"事件状态已变更为「{EventStatus(to).label}」。")
    return redirect("event-detail", pk=pk)


@login_required
@require_POST
def event_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge this event into another one the reader can see (this one is then gone)."""
    principal = principal_for(request.user)
    event = _visible_event(principal, pk)
    raw = request.POST.get("target", "").strip()
    target = (
        selectors.events_visible(principal).filter(pk=int(raw)).first() if raw.isdecimal() else None
    )
    if target is None:
        messages.error(request, "请选择要并入的事件")
        return redirect("event-detail", pk=pk)
    try:
        services.merge_events(
            principal, source=event, target=target, note=request.POST.get("note", "")[:500]
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权合并这两个事件")
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, f"已将事件「{event.title}」并入本事件。")
        return redirect("event-detail", pk=target.pk)
    return redirect("event-detail", pk=pk)


@login_required
@require_POST
def event_split(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the selected reports (and their follow-ups) out into a new event."""
    principal = principal_for(request.user)
    event = _visible_event(principal, pk)
    ids = [int(v) for v in request.POST.getlist("reports") if v.isdecimal()]
    chosen = list(selectors.event_reports(principal, event).filter(pk__in=ids))
    try:
        new_event = services.split_reports(
            principal, event=event, reports=chosen, note=request.POST.get("note", "")[:500]
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权拆分该事件")
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, f"已拆分出 {len(chosen)} 份报告，另立为新事件。")
        return redirect("event-detail", pk=new_event.pk)
    return redirect("event-detail", pk=pk)


# --- the merge review queue ("可能是同一事件") ---------------------------------------------


@login_required
def merge_queue(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    candidates = list(selectors.merge_queue(principal).select_related("report__event"))
    rows = [
        {
            "candidate": c,
            "percent": round(c.score * 100),
            "may_decide": _allowed(principal, c.candidate, (Role.DUTY_OFFICER,)),
        }
        for c in candidates
    ]
    return render(request, "events/merge_queue.html", {"nav": "events", "rows": rows})


@login_required
@require_POST
def merge_decide(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    # Drill candidates are decided from the drill's page through this same view.
    candidate = get_object_or_404(selectors.merge_queue(principal, drill=None), pk=pk)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("merge-queue")
    same_event = request.POST.get("decision") == "merge"
    # The service checks the role on every path but one (moving a report out of an event
    # that has others); the page asks the same question first, so no path is unchecked.
    if not _allowed(principal, candidate.candidate, (Role.DUTY_OFFICER,)):
        messages.error(request, "只有上级值班员可以确认是否为同一事件")
        return redirect(back)
    try:
        services.decide_merge_candidate(principal, candidate, same_event=same_event)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权处理该疑似同一事件")
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        if same_event:
            messages.success(
                request,
                f"已将「{candidate.report.title}」并入事件「{candidate.candidate.title}」。",
            )
        else:
            messages.success(request, f"已确认「{candidate.report.title}」与候选事件不是同一事件。")
    return redirect(back)


@login_required
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    return attachments.response(get_object_or_404(selectors.attachments_visible(principal), pk=pk))


@login_required
@require_POST
def report_attachments(request: HttpRequest, pk: int) -> HttpResponse:
    """补充附件: more files for a report the user's unit already filed."""
    principal = principal_for(request.user)
    report = get_object_or_404(
        selectors.reports_visible(principal).select_related("unit", "event"), pk=pk
    )
    files = request.FILES.getlist("attachments")
    if not files:
        messages.error(request, "请选择要上传的附件")
    else:
        try:
            saved = services.attach_files(principal, report, files)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, "附件未保存：" + _messages_of(exc))
        else:
            messages.success(request, f"已上传 {len(saved)} 个附件。")
    if report.event_id is None:
        return redirect("event-list")
    return redirect(f"{reverse('event-detail', args=[report.event_id])}#report-{report.pk}")
