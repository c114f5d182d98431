"""Drill pages: the scenario library (with upload), a scenario and its run form, the runs,
a run's live page (htmx re-fetches its live part every few seconds), a drill's drafts to
take down, the results with improvement items, and the improvement items list.

Thin: reads through `drills.selectors`, writes through `drills.services`; a refused action
is a Chinese message, never a change.
"""

import secrets
from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from fenghuo.criteria.models import EventCategory
from fenghuo.documents.docx import DOCX_CONTENT_TYPE
from fenghuo.drills import documents, drilltime, scoring, selectors, services
from fenghuo.drills.models import DrillRun, RunState
from fenghuo.drills.scenario import ACTIONS, MAX_BYTES, REPORT_KINDS
from fenghuo.intake.services import IdempotencyConflict, idempotent
from fenghuo.org.models import Unit
from fenghuo.org.policy import Principal, principal_for

KINDS = {
    "report": "报告",
    "call": "来电",
    "posts": "网络帖子",
    "cap": "外部预警",
    "notice": "情况通报",
}
LIVE_SECONDS = 3


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [m for messages_ in exc.message_dict.values() for m in messages_]
    return exc.messages


def _require_any_director(principal: Principal) -> None:
    if not (principal.is_superuser or selectors.director_units(principal).exists()):
        raise PermissionDenied("只有值班员、单位领导、领导小组或管理员可以组织演练")


# --- the library ------------------------------------------------------------------------------


@login_required
def library(request: HttpRequest, problems: list[str] | None = None) -> HttpResponse:
    principal = principal_for(request.user)
    directing = principal.is_superuser or selectors.director_units(principal).exists()
    return render(
        request,
        "drills/library.html",
        {
            "nav": "drills",
            "directing": directing,
            "entries": selectors.library() if directing else [],
            "units": selectors.director_units(principal),
            "runs": list(selectors.runs_visible(principal)[:10]),
            "problems": problems or [],
        },
        status=422 if problems else 200,
    )


@login_required
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    _require_any_director(principal)
    upload_file = request.FILES.get("file")
    unit = selectors.director_units(principal).filter(pk=request.POST.get("unit") or 0).first()
    problems = []
    if upload_file is None:
        problems.append("请选择想定文件（.yaml）")
    if unit is None:
        problems.append("请选择上传单位")
    if not problems:
        try:
            text = upload_file.read(MAX_BYTES + 1).decode("utf-8")
        except UnicodeDecodeError:
            problems.append("想定文件须为 UTF-8 编码的文本")
        else:
            try:
                scenario, created = services.upload_scenario(
                    principal, unit=unit, filename=upload_file.name, text=text
                )
            except ValidationError as exc:
                problems += _messages(exc)
            else:
                verb = "已加入想定库" if created else "想定库中已有相同内容的想定"
                messages.success(request, f"《{scenario.title}》{verb}。")
                return redirect("drill-scenario", slug=scenario.slug)
    return library(request, problems)


# --- a scenario and its run form ----------------------------------------------------------


def _script_rows(spec: Any) -> list[dict[str, Any]]:
    rows = [
        {
            "at": i.at,
            "kind": KINDS[i.kind],
            "id": i.id,
            "text": _injection_text(i),
            "unit": getattr(i, "unit", None) or "、".join(getattr(i, "to", []) or []),
        }
        for i in sorted(spec.injections, key=lambda i: i.at)
    ]
    return rows


def _injection_text(injection: Any) -> str:
    if injection.kind in ("report", "call"):
        kind = REPORT_KINDS.get(getattr(injection, "report_kind", "first"))
        return f"{kind}：{injection.report.title or injection.report.narrative or ''}"
    if injection.kind == "posts":
        return f"{len(injection.posts) * injection.repeat} 条帖子：{injection.posts[0].text[:40]}"
    if injection.kind == "cap":
        return f"{injection.sender}：{injection.headline}"
    return injection.subject


@login_required
def scenario_detail(request: HttpRequest, slug: str) -> HttpResponse:
    principal = principal_for(request.user)
    _require_any_director(principal)
    entry = selectors.entry(slug)
    if entry is None:
        raise Http404("想定不存在")
    units = selectors.director_units(principal)
    errors: dict[str, list[str]] = {}
    chosen: dict[str, Unit | None] = {}
    if request.method == "POST" and entry.spec is not None:
        unit = units.filter(pk=request.POST.get("unit") or 0).first()
        for key in entry.spec.units:
            picked = request.POST.get(f"unit_{key}")
            chosen[key] = Unit.objects.filter(pk=picked).first() if picked else None
        if unit is None:
            errors["unit"] = ["请选择导调单位"]
        else:
            try:
                replay = idempotent(
                    principal,
                    request.POST.get("idempotency_key"),
                    {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"},
                    lambda: (
                        201,
                        {
                            "id": services.prepare_run(
                                principal,
                                slug=slug,
                                unit=unit,
                                speed=request.POST.get("speed", ""),
                                units=chosen,
                            ).pk
                        },
                    ),
                )
            except ValidationError as exc:
                errors = (
                    exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
                )
            except IdempotencyConflict:
                errors = {"__all__": ["该表单已提交过，请刷新页面后重试"]}
            else:
                messages.success(request, "演练已准备好，核对参演单位后即可开始。")
                return redirect("drill-run", pk=replay.body["id"])
    mapping = []
    if entry.spec is not None:
        scope = Unit.objects.filter(is_active=True)
        if not principal.is_superuser:  # the units below any unit the reader directs
            within = Q(pk__in=[])
            for director in units:
                within |= Q(path__startswith=director.path)
            scope = scope.filter(within)
        for key, unit_spec in entry.spec.units.items():
            default = Unit.objects.filter(name=unit_spec.name, is_active=True).first()
            mapping.append(
                {
                    "key": key,
                    "spec": unit_spec,
                    "chosen": (chosen.get(key) or default),
                    "choices": scope.order_by("path"),
                    "errors": errors.get(f"units.{key}", []),
                }
            )
    return render(
        request,
        "drills/scenario.html",
        {
            "nav": "drills",
            "entry": entry,
            "spec": entry.spec,
            "script": _script_rows(entry.spec) if entry.spec else [],
            "expectations": entry.spec.expectations if entry.spec else [],
            "actions": ACTIONS,
            "units": units,
            "mapping": mapping,
            "speeds": services.SPEEDS,
            "errors": errors,
            "idempotency_key": secrets.token_urlsafe(16),
        },
        status=422 if errors else 200,
    )


# --- runs -----------------------------------------------------------------------------------


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    runs = list(selectors.runs_visible(principal)[:200])
    return render(request, "drills/runs.html", {"nav": "drills", "runs": runs})


def _run(request: HttpRequest, pk: int) -> tuple[Principal, DrillRun]:
    principal = principal_for(request.user)
    return principal, get_object_or_404(selectors.runs_visible(principal), pk=pk)


def _live_context(request: HttpRequest, principal: Principal, run: DrillRun) -> dict[str, Any]:
    director = selectors.is_director(principal, run)
    context: dict[str, Any] = {
        "run": run,
        "director": director,
        "minutes": drilltime.minutes(run),
        "clock": drilltime.stamp(drilltime.minutes(run)),
        "drill_time": drilltime.drill_datetime(run),
        "live_seconds": LIVE_SECONDS,
    }
    if run.state == RunState.RUNNING:
        context["work"] = selectors.work(principal, request.user, run)
    if director and run.state == RunState.RUNNING:
        spec = services.check_scenario(run.source)
        results = scoring.evaluate(run, spec, selectors.participants(run))
        context["injections"] = [
            {
                "row": row,
                "stamp": drilltime.stamp(row.at_minutes),
                "kind": KINDS[row.kind],
                "plan": _injection_text(spec.injection(row.key)),
                "note": spec.injection(row.key).note,
            }
            for row in selectors.injections(run)
        ]
        context["outcomes"] = results.outcomes
        context["scores"] = results.units
        context["duration"] = spec.duration
    return context


@login_required
def run_page(request: HttpRequest, pk: int) -> HttpResponse:
    principal, run = _run(request, pk)
    context = _live_context(request, principal, run)
    context.update(
        nav="drills",
        participants=list(selectors.participants(run).values()),
        script_visible=selectors.may_see_script(principal, run),
    )
    return render(request, "drills/run.html", context)


@login_required
def run_live(request: HttpRequest, pk: int) -> HttpResponse:
    principal, run = _run(request, pk)
    return render(request, "drills/_live.html", _live_context(request, principal, run))


def _act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    principal, run = _run(request, pk)
    try:
        if action == "start":
            services.start_run(principal, run)
            messages.success(request, "演练已开始。")
        elif action == "end":
            services.end_run(principal, run, note=request.POST.get("note", ""))
            messages.success(request, "演练已结束，评分结果已生成。")
            return redirect("drill-results", pk=run.pk)
        else:
            services.purge_run(principal, run)
            messages.success(request, "演练数据已清除；评分结果和评估报告保留。")
            return redirect("drill-results", pk=run.pk)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权执行此操作")
    except ValidationError as exc:
        messages.error(request, "；".join(_messages(exc)))
    return redirect("drill-run", pk=run.pk)


@login_required
@require_POST
def run_start(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "start")


@login_required
@require_POST
def run_end(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "end")


@login_required
@require_POST
def run_purge(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "purge")


# --- a drill's drafts -------------------------------------------------------------------------


@login_required
def draft_confirm(request: HttpRequest, pk: int, report_id: int) -> HttpResponse:
    principal, run = _run(request, pk)
    report = selectors.draft_to_confirm(principal, run, report_id)
    if report is None:
        raise Http404("草稿不存在或无权处理")
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = {
            name: request.POST.get(name, "").strip()
            for name in ("title", "place", "narrative", "division_code")
            if request.POST.get(name, "").strip()
        }
        category = EventCategory.objects.filter(code=request.POST.get("category", "")).first()
        if category is not None:
            data["category"] = category
        try:
            result = services.confirm_draft(principal, run, report, data)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        except PermissionDenied as exc:
            errors = {"__all__": [str(exc) or "无权处理该草稿"]}
        else:
            messages.success(request, f"已记录并报送：{result.report.title}")
            return redirect("drill-run", pk=run.pk)
    return render(
        request,
        "drills/draft.html",
        {
            "nav": "drills",
            "run": run,
            "report": report,
            "categories": EventCategory.objects.order_by("sort_order", "code"),
            "errors": errors,
        },
        status=422 if errors else 200,
    )


# --- results and improvement items ----------------------------------------------------------


@login_required
def results(request: HttpRequest, pk: int) -> HttpResponse:
    principal, run = _run(request, pk)
    if run.state not in (RunState.ENDED, RunState.PURGED):
        messages.info(request, "演练结束后才有评估结果。")
        return redirect("drill-run", pk=run.pk)
    director = selectors.is_director(principal, run)
    items = list(run.improvements.select_related("unit").order_by("due_at", "pk"))
    taken = {(i.source, i.unit.name) for i in items}
    suggestions = [
        s
        for s in scoring.improvement_suggestions(run.results)
        if (s["source"], s["unit"]) not in taken
    ]
    units = {p.key: p.unit for p in selectors.participants(run).values()}
    for s in suggestions:
        s["unit_id"] = units[s["unit_key"]].pk
    return render(
        request,
        "drills/results.html",
        {
            "nav": "drills",
            "run": run,
            "director": director,
            "results": run.results,
            "states": scoring.STATES,
            "timeline": run.results.get("timeline", []),
            "items": items,
            "suggestions": suggestions if director else [],
            "participants": [p for p in selectors.participants(run).values() if not p.simulated],
            "default_due": services.default_due(),
        },
    )


@login_required
def report_docx(request: HttpRequest, pk: int) -> HttpResponse:
    _principal, run = _run(request, pk)
    if run.state not in (RunState.ENDED, RunState.PURGED):
        raise Http404("演练结束后才有评估报告")
    items = list(run.improvements.select_related("unit").order_by("due_at", "pk"))
    response = HttpResponse(documents.render_report(run, items), content_type=DOCX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        True, documents.report_filename(run)
    )
    return response


def _due(text: str) -> datetime | None:
    moment = parse_datetime(text)
    if moment is None and (day := parse_date(text)) is not None:
        moment = datetime.combine(day, time(18, 0))
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


@login_required
@require_POST
def improvement_new(request: HttpRequest, pk: int) -> HttpResponse:
    principal, run = _run(request, pk)
    unit = run.participants.filter(unit_id=request.POST.get("unit") or 0).first()
    try:
        item, created = services.create_improvement(
            principal,
            run,
            unit=unit.unit if unit else None,
            title=request.POST.get("title", ""),
            detail=request.POST.get("detail", ""),
            due_at=_due(request.POST.get("due_at", "")),
            source=request.POST.get("source", ""),
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权提出整改事项")
    except ValidationError as exc:
        messages.error(request, "整改事项未保存：" + "；".join(_messages(exc)))
    else:
        verb = "已交" if created else "此前已交"
        messages.success(request, f"整改事项{verb}{item.unit.name}：{item.title}")
    return redirect("drill-results", pk=run.pk)


@login_required
def improvements(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    items = list(selectors.improvements_visible(principal))
    rows = [
        {
            "item": item,
            "overdue": selectors.overdue(item),
            "may_complete": selectors.may_complete(principal, item),
        }
        for item in items
    ]
    return render(request, "drills/improvements.html", {"nav": "drills", "rows": rows})


@login_required
@require_POST
def improvement_complete(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    item = get_object_or_404(selectors.improvements_visible(principal), pk=pk)
    try:
        services.complete_improvement(principal, item, request.POST.get("note", ""))
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权填写整改情况")
    except ValidationError as exc:
        messages.error(request, "；".join(_messages(exc)))
    else:
        messages.success(request, f"已填写整改情况：{item.title}")
    return redirect("drill-improvements")
