"""Drills over the API: the scenario library (with a checker that names each problem's
line), runs (prepare, start, end, purge, progress, results, report), a drill's drafts,
and improvement items. Thin: the services decide, the selectors read."""

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from ninja import Router, Status

from fenghuo.documents.docx import DOCX_CONTENT_TYPE
from fenghuo.drills import documents, drilltime, scoring, selectors, services
from fenghuo.drills.models import DrillRun, Improvement, RunState
from fenghuo.drills.scenario import ScenarioError, load
from fenghuo.drills.schemas import (
    CheckIn,
    CheckOut,
    CompleteIn,
    DrillDraftConfirmIn,
    EndIn,
    ImprovementIn,
    ImprovementOut,
    RunIn,
    RunOut,
    ScenarioIn,
    ScenarioOut,
)
from fenghuo.intake.services import IdempotencyConflict, idempotent
from fenghuo.org.auth import request_principal
from fenghuo.org.models import Unit
from fenghuo.org.policy import Principal

router = Router(tags=["演练"])


def _scenario_out(entry: selectors.Entry) -> dict:
    spec = entry.spec
    return {
        "slug": entry.slug,
        "title": spec.title,
        "summary": spec.summary,
        "duration": spec.duration,
        "origin": entry.origin,
        "injections": len(spec.injections),
        "expectations": len(spec.expectations),
        "units": {key: unit.name for key, unit in spec.units.items()},
    }


@router.get("/scenarios", response=list[ScenarioOut], summary="想定库")
def list_scenarios(request: HttpRequest):
    principal = request_principal(request)
    if not (principal.is_superuser or selectors.director_units(principal).exists()):
        return []
    return [_scenario_out(e) for e in selectors.library() if e.spec is not None]


@router.post("/scenarios/check", response=CheckOut, summary="检查想定文件")
def check_scenario(request: HttpRequest, payload: CheckIn):
    """逐项列出想定文件的问题（行号、列号、位置、原因）；不保存任何内容。"""
    try:
        spec = load(payload.text)
    except ScenarioError as exc:
        return {
            "ok": False,
            "problems": [
                {"line": p.line, "column": p.column, "path": p.dotted, "message": p.message}
                for p in exc.problems
            ],
        }
    return {"ok": True, "title": spec.title, "problems": []}


@router.post("/scenarios", response={200: ScenarioOut, 201: ScenarioOut}, summary="上传想定")
def upload_scenario(request: HttpRequest, payload: ScenarioIn):
    """同一内容再次上传返回已有的想定（200）。"""
    principal = request_principal(request)
    unit = Unit.objects.filter(pk=payload.unit_id, is_active=True).first()
    if unit is None:
        raise ValidationError({"unit_id": ["单位不存在"]})
    scenario, created = services.upload_scenario(
        principal, unit=unit, filename=payload.filename, text=payload.text
    )
    entry = selectors.entry(scenario.slug)
    return Status(201 if created else 200, _scenario_out(entry))


def _run_out(principal: Principal, run: DrillRun) -> dict:
    script = selectors.may_see_script(principal, run)
    scores = None
    if script and run.state != RunState.PREPARED:
        if run.state == RunState.RUNNING:
            spec = services.check_scenario(run.source)
            scores = scoring.evaluate(run, spec, selectors.participants(run)).as_json()
        else:
            scores = {k: v for k, v in run.results.items() if k != "timeline"}
    minutes = drilltime.minutes(run)
    return {
        "id": run.pk,
        "tag": run.tag,
        "title": run.title,
        "scenario": run.scenario_slug,
        "state": run.state,
        "state_label": run.get_state_display(),
        "speed": run.speed,
        "unit": run.unit.name,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "drill_minutes": round(minutes, 2),
        "drill_clock": drilltime.stamp(minutes),
        "participants": [
            {"key": p.key, "unit_id": p.unit_id, "unit": p.unit.name, "simulated": p.simulated}
            for p in selectors.participants(run).values()
        ],
        "injections": list(selectors.injections(run)) if script else None,
        "scores": scores,
    }


def _visible_run(request: HttpRequest, run_id: int) -> DrillRun:
    return get_object_or_404(selectors.runs_visible(request_principal(request)), pk=run_id)


@router.get("/runs", response=list[RunOut], summary="演练列表")
def list_runs(request: HttpRequest, limit: int = 50):
    principal = request_principal(request)
    runs = selectors.runs_visible(principal)[: max(1, min(limit, 200))]
    return [_run_out(principal, run) for run in runs]


@router.post("/runs", response={201: RunOut, 200: RunOut}, summary="准备演练")
def prepare_run(request: HttpRequest, payload: RunIn):
    """按想定准备一次演练（尚未开始）。带 Idempotency-Key 时重复提交只准备一次。"""
    principal = request_principal(request)
    unit = Unit.objects.filter(pk=payload.unit_id, is_active=True).first()
    if unit is None:
        raise ValidationError({"unit_id": ["导调单位不存在"]})
    chosen = dict(Unit.objects.in_bulk(list(payload.units.values())))
    mapping = {key: chosen.get(unit_id) for key, unit_id in payload.units.items()}
    missing = [key for key, unit in mapping.items() if unit is None]
    if missing:
        raise ValidationError({f"units.{key}": ["单位不存在"] for key in missing})

    def create() -> tuple[int, dict]:
        run = services.prepare_run(
            principal, slug=payload.scenario, unit=unit, speed=payload.speed, units=mapping
        )
        return 201, {"id": run.pk}

    try:
        replay = idempotent(
            principal,
            request.headers.get("Idempotency-Key"),
            payload.dict(),
            create,
        )
    except IdempotencyConflict:
        raise ValidationError({"Idempotency-Key": ["该幂等键已用于不同的请求"]}) from None
    run = DrillRun.objects.get(pk=replay.body["id"])
    return Status(200 if replay.replayed else 201, _run_out(principal, run))


@router.get("/runs/{run_id}", response=RunOut, summary="演练进展")
def run_detail(request: HttpRequest, run_id: int):
    """演练时钟、参演单位；导调人员另见注入和实时评分（参演人员在演练结束后可见）。"""
    return _run_out(request_principal(request), _visible_run(request, run_id))


@router.post("/runs/{run_id}/start", response=RunOut, summary="开始演练")
def start_run(request: HttpRequest, run_id: int):
    principal = request_principal(request)
    run = services.start_run(principal, _visible_run(request, run_id))
    return _run_out(principal, run)


@router.post("/runs/{run_id}/end", response=RunOut, summary="结束演练")
def end_run(request: HttpRequest, run_id: int, payload: EndIn | None = None):
    principal = request_principal(request)
    run = services.end_run(
        principal, _visible_run(request, run_id), note=payload.note if payload else ""
    )
    return _run_out(principal, run)


@router.post("/runs/{run_id}/purge", response=RunOut, summary="清除演练数据")
def purge_run(request: HttpRequest, run_id: int):
    """删除本次演练在各模块产生的演练数据；评分结果、评估报告和整改事项保留。"""
    principal = request_principal(request)
    run = services.purge_run(principal, _visible_run(request, run_id))
    return _run_out(principal, run)


def _ended(request: HttpRequest, run_id: int) -> DrillRun:
    run = _visible_run(request, run_id)
    if run.state not in (RunState.ENDED, RunState.PURGED):
        raise ValidationError({"state": ["演练结束后才有评估结果"]})
    return run


@router.get("/runs/{run_id}/report.docx", summary="演练评估报告（Word）")
def report_docx(request: HttpRequest, run_id: int):
    run = _ended(request, run_id)
    items = list(run.improvements.select_related("unit").order_by("due_at", "pk"))
    response = HttpResponse(documents.render_report(run, items), content_type=DOCX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        True, documents.report_filename(run)
    )
    return response


@router.post(
    "/runs/{run_id}/drafts/{report_id}/confirm",
    response={200: dict, 403: dict, 422: dict},
    summary="记录演练来电 / 确认演练线索",
)
def confirm_draft(request: HttpRequest, run_id: int, report_id: int, payload: DrillDraftConfirmIn):
    principal = request_principal(request)
    run = _visible_run(request, run_id)
    report = selectors.draft_to_confirm(principal, run, report_id)
    if report is None:
        raise Http404("草稿不存在或无权处理")
    result = services.confirm_draft(principal, run, report, payload.dict(exclude_none=True))
    return {"report_id": result.report.pk, "event_id": result.event.pk, "outcome": result.outcome}


def _improvement_out(item: Improvement) -> dict:
    return {
        "id": item.pk,
        "run_id": item.run_id,
        "run": item.run.title,
        "unit": item.unit.name,
        "title": item.title,
        "detail": item.detail,
        "due_at": item.due_at,
        "state": item.state,
        "state_label": item.get_state_display(),
        "overdue": selectors.overdue(item),
        "done_at": item.done_at,
        "done_note": item.done_note,
    }


@router.post(
    "/runs/{run_id}/improvements",
    response={201: ImprovementOut, 200: ImprovementOut},
    summary="提出整改事项",
)
def create_improvement(request: HttpRequest, run_id: int, payload: ImprovementIn):
    """把评分发现的问题（source = 预期行动编号）或导调人员的意见转为整改单位的整改事项。"""
    principal = request_principal(request)
    run = _ended(request, run_id)
    unit = Unit.objects.filter(pk=payload.unit_id).first()
    item, created = services.create_improvement(
        principal,
        run,
        unit=unit,
        title=payload.title,
        detail=payload.detail,
        due_at=payload.due_at,
        source=payload.source,
    )
    return Status(201 if created else 200, _improvement_out(item))


@router.get("/improvements", response=list[ImprovementOut], summary="整改事项")
def list_improvements(request: HttpRequest, state: str | None = None):
    items = selectors.improvements_visible(request_principal(request))
    if state:
        items = items.filter(state=state)
    return [_improvement_out(item) for item in items[:500]]


@router.post("/improvements/{item_id}/complete", response=ImprovementOut, summary="填写整改情况")
def complete_improvement(request: HttpRequest, item_id: int, payload: CompleteIn):
    principal = request_principal(request)
    item = get_object_or_404(selectors.improvements_visible(principal), pk=item_id)
    return _improvement_out(services.complete_improvement(principal, item, payload.note))
