"""Pages of evaluation (/assess/): the ranking with its charts, a unit's scorecard and the
items behind each figure, cases and letters with their state, bulletins, findings, and an
ended event's summary. Thin: reads from `selectors` and `metrics`, writes through
`services`; creates carry a hidden per-form idempotency key."""

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import content_disposition_header, urlencode

from fenghuo.assess import documents, metrics, selectors, services
from fenghuo.assess.models import CaseKind, CaseState, FindingState, Letter, LetterState
from fenghuo.assess.periods import Period, parse
from fenghuo.core import clock
from fenghuo.documents.docx import DOCX_CONTENT_TYPE
from fenghuo.events.selectors import events_visible, reports_visible
from fenghuo.intake.services import IdempotencyConflict, idempotent
from fenghuo.org.models import Unit
from fenghuo.org.policy import Principal, principal_for

PER_PAGE = 30
NAV = "assess"


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


def _flat(exc: ValidationError) -> str:
    return "；".join(m for ms in _errors(exc).values() for m in ms)


def _file(content: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def _period(request: HttpRequest) -> tuple[Period, dict[str, list[str]]]:
    """The period asked for, or the current bi-month with the errors to show."""
    try:
        return (
            parse(
                request.GET.get("period", ""),
                request.GET.get("start", ""),
                request.GET.get("end", ""),
            ),
            {},
        )
    except ValidationError as exc:
        return Period.current(), _errors(exc)


def _period_context(request: HttpRequest, period: Period, errors: dict) -> dict[str, Any]:
    recent = Period.current().recent(6)
    return {
        "period": period,
        "period_errors": errors,
        "period_choices": list(reversed(recent)),
        "custom": not period.is_bimonth,
        "period_query": urlencode({"period": period.key}),
    }


def _columns(row: metrics.Figures, query: str) -> list[dict[str, Any]]:
    """The cells of a ranking row, each with the link to the items behind it."""
    cells = []
    for key in metrics.COLUMNS:
        if key in ("rank", "unit"):
            continue
        figure = metrics.COLUMN_FIGURE.get(key)
        link = ""
        if figure:
            link = reverse("assess-figure", args=[row.unit_id, figure]) + f"?{query}"
        cells.append({"key": key, "value": row.value(key), "link": link})
    return cells


# --- the ranking -----------------------------------------------------------------------------


@login_required
def ranking(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    period, errors = _period(request)
    offices = list(selectors.ranking_offices(principal))
    context: dict[str, Any] = {
        "nav": NAV,
        "tab": "ranking",
        "title": "考核排名",
        "offices": offices,
    }
    context.update(_period_context(request, period, errors))
    own = [
        u
        for u in selectors.units_visible(principal).filter(
            pk__in={g.unit_id for g in principal.grants}
        )
    ]
    context["own_units"] = own
    if not offices:
        return render(request, "assess/ranking.html", context)
    raw = request.GET.get("office", "")
    office = next((o for o in offices if str(o.pk) == raw), offices[0])
    rows = metrics.ranking(office, period, selectors.units_visible(principal))
    query = context["period_query"]
    context.update(
        office=office,
        keep=[("office", office.pk)],
        rows=[
            {"f": r, "cells": _columns(r, query), "url": reverse("assess-unit", args=[r.unit_id])}
            for r in rows
        ],
        headings=[h for k, h in metrics.COLUMNS.items() if k not in ("rank", "unit")],
        xlsx_query=urlencode({"office": office.pk, "period": period.key}),
        charts={
            "units": [r.unit for r in rows if r.score is not None],
            "scores": [float(r.score) for r in rows if r.score is not None],
            "timeliness": [
                float(r.timeliness) if r.timeliness is not None else None
                for r in rows
                if r.score is not None
            ],
            "cases_units": [r.unit for r in rows],
            "late": [r.late_cases for r in rows],
            "missed": [r.missed_cases for r in rows],
            "concealed": [r.concealed_cases for r in rows],
        },
        may_bulletin=selectors.may_make_bulletin(principal, office),
        bulletin_key=secrets.token_urlsafe(16),
        computed_at=clock.now(),
    )
    return render(request, "assess/ranking.html", context)


@login_required
def ranking_xlsx(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    period, errors = _period(request)
    if errors:
        return HttpResponse(
            _flat(ValidationError(errors)), status=422, content_type="text/plain; charset=utf-8"
        )
    offices = selectors.ranking_offices(principal)
    raw = request.GET.get("office", "")
    office = offices.filter(pk=int(raw)).first() if raw.isdigit() else offices.first()
    if office is None:
        raise Http404
    rows = metrics.ranking(office, period, selectors.units_visible(principal))
    title = f"{office.name}{period.label}紧急信息报送考核排名"
    content = documents.ranking_workbook(
        [r.as_dict() for r in rows],
        title=title,
        office=office.name,
        period=period.label,
        computed_at=clock.now(),
    )
    return _file(content, documents.XLSX_CONTENT_TYPE, documents.filename(title, "xlsx"))


# --- a unit ----------------------------------------------------------------------------------


@login_required
def unit_scorecard(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    unit = get_object_or_404(selectors.units_visible(principal), pk=pk)
    period, errors = _period(request)
    figures = metrics.unit_figures(unit, period)
    context: dict[str, Any] = {"nav": NAV, "tab": "ranking", "title": f"{unit.name} · 考核情况"}
    context.update(_period_context(request, period, errors))
    query = context["period_query"]
    trend = []
    for p in period.recent(6):
        f = metrics.unit_figures(unit, p)
        trend.append(
            {
                "label": p.label,
                "score": float(f.score) if f.score is not None else None,
                "timeliness": float(f.timeliness) if f.timeliness is not None else None,
            }
        )
    context.update(
        unit=unit,
        f=figures,
        cells=[
            {**cell, "heading": metrics.COLUMNS[cell["key"]]} for cell in _columns(figures, query)
        ],
        figures=[
            (name, label, reverse("assess-figure", args=[unit.pk, name]) + f"?{query}")
            for name, label in metrics.FIGURES.items()
        ],
        cases=list(selectors.cases_visible(principal).filter(unit=unit).order_by("-at")[:20]),
        letters=list(
            selectors.letters_visible(principal).filter(unit=unit).order_by("-issued_at")[:20]
        ),
        duties=list(selectors.duties_visible(principal).filter(unit=unit).order_by("-due_at")[:20]),
        charts={"trend": trend},
    )
    return render(request, "assess/unit.html", context)


@login_required
def figure(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    principal = principal_for(request.user)
    unit = get_object_or_404(selectors.units_visible(principal), pk=pk)
    if name not in metrics.FIGURES:
        raise Http404
    period, errors = _period(request)
    items = metrics.figure_items(unit, period, name)
    visible = set(
        events_visible(principal)
        .filter(pk__in={i.event_id for i in items})
        .values_list("pk", flat=True)
    )
    context: dict[str, Any] = {
        "nav": NAV,
        "tab": "ranking",
        "title": f"{unit.name} · {metrics.FIGURES[name]}",
        "unit": unit,
        "figure": name,
        "figure_label": metrics.FIGURES[name],
        "items": [(i, i.event_id in visible) for i in items],
    }
    context.update(_period_context(request, period, errors))
    return render(request, "assess/figure.html", context)


# --- cases -------------------------------------------------------------------------------------


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    cases = selectors.cases_visible(principal).order_by("-at", "-pk")
    kind, state = request.GET.get("kind", ""), request.GET.get("state", "")
    if kind in CaseKind.values:
        cases = cases.filter(kind=kind)
    if state in CaseState.values:
        cases = cases.filter(state=state)
    page = Paginator(cases, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "nav": NAV,
        "tab": "cases",
        "title": "考核问题",
        "page": page,
        "kinds": CaseKind.choices,
        "states": CaseState.choices,
        "kind": kind,
        "state": state,
        "to_decide": selectors.cases_to_decide(principal).count(),
    }
    return render(request, "assess/cases.html", context)


def _case_page(request: HttpRequest, principal: Principal, case, status: int = 200) -> HttpResponse:
    letter = Letter.objects.filter(case=case).first()
    context = {
        "nav": NAV,
        "tab": "cases",
        "title": f"{case.kind_label} · {case.unit.name}",
        "case": case,
        "obligations": [
            link.obligation
            for link in case.obligation_links.select_related("obligation", "obligation__office")
        ],
        "letter": letter,
        "may_decide": selectors.may_decide(principal, case),
        "event_visible": events_visible(principal).filter(pk=case.event_id).exists(),
        "letter_key": secrets.token_urlsafe(16),
        "reported_at": parse_datetime(case.details.get("reported_at") or ""),
    }
    return render(request, "assess/case.html", context, status=status)


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    case = get_object_or_404(selectors.cases_visible(principal), pk=pk)
    return _case_page(request, principal, case)


@login_required
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """确认 / 排除 / 函询. A refused action answers with the case page and the reason."""
    if request.method != "POST" or action not in ("confirm", "dismiss", "letter"):
        raise Http404
    principal = principal_for(request.user)
    case = get_object_or_404(selectors.cases_visible(principal), pk=pk)
    try:
        if action == "letter":
            due = request.POST.get("due_at", "").strip()
            due_at = parse_datetime(due) if due else None
            if due and due_at is None:
                raise ValidationError({"due_at": ["答复期限格式不正确"]})
            if due_at is not None and due_at.tzinfo is None:
                due_at = timezone.make_aware(due_at)

            def create() -> tuple[int, dict]:
                letter, _ = services.issue_letter(principal, case, due_at=due_at)
                return 201, {"letter": letter.pk}

            replay = idempotent(
                principal,
                request.POST.get("idempotency_key") or None,
                {"case": case.pk, "due_at": due},
                create,
            )
            messages.success(request, "函询已发出，被函询单位已收到通知。")
            return redirect("assess-letter", pk=replay.body["letter"])
        services.decide_case(
            principal, case, confirm=action == "confirm", note=request.POST.get("note", "")
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权执行此操作")
        return _case_page(request, principal, case, status=403)
    except ValidationError as exc:
        messages.error(request, _flat(exc))
        return _case_page(request, principal, case, status=422)
    except IdempotencyConflict:
        messages.info(request, "这份表单已经提交过。")
    else:
        messages.success(request, "已确认。" if action == "confirm" else "已排除。")
    return redirect("assess-case", pk=case.pk)


@login_required
def incident_new(request: HttpRequest) -> HttpResponse:
    """登记泄密事件 for a unit and an event (from the event page)."""
    principal = principal_for(request.user)
    raw = request.GET.get("event", "") or request.POST.get("event", "")
    if not raw.isdigit():
        raise Http404
    event = get_object_or_404(events_visible(principal), pk=int(raw))
    units = [
        u
        for u in Unit.objects.filter(pk__in=event.reports.values("unit_id")).order_by("path")
        if selectors.is_evaluator_of(principal, u)
    ]
    if not units:
        raise PermissionDenied("只有上级单位的值班员或领导可以登记泄密事件")
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        unit = next((u for u in units if str(u.pk) == request.POST.get("unit")), None)

        def create() -> tuple[int, dict]:
            if unit is None:
                raise ValidationError({"unit": ["请选择责任单位"]})
            case = services.record_incident(
                principal, event=event, unit=unit, description=request.POST.get("description", "")
            )
            return 201, {"case": case.pk}

        try:
            replay = idempotent(
                principal,
                request.POST.get("idempotency_key") or None,
                {k: request.POST.get(k, "") for k in ("event", "unit", "description")},
                create,
            )
        except ValidationError as exc:
            errors = _errors(exc)
        except IdempotencyConflict:
            errors = {"__all__": ["这份表单已经提交过，内容与这次不同。"]}
        else:
            messages.success(request, "泄密事件已登记。")
            return redirect("assess-case", pk=replay.body["case"])
    context = {
        "nav": NAV,
        "tab": "cases",
        "title": "登记泄密事件",
        "event": event,
        "units": units,
        "errors": errors,
        "form": request.POST,
        "key": secrets.token_urlsafe(16),
    }
    return render(request, "assess/incident.html", context, status=422 if errors else 200)


# --- letters -----------------------------------------------------------------------------------


@login_required
def letter_list(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    letters = selectors.letters_visible(principal).order_by("-issued_at", "-pk")
    state = request.GET.get("state", "")
    if state in LetterState.values:
        letters = letters.filter(state=state)
    page = Paginator(letters, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "nav": NAV,
        "tab": "letters",
        "title": "函询",
        "page": page,
        "states": LetterState.choices,
        "state": state,
        "now": clock.now(),
    }
    return render(request, "assess/letters.html", context)


def _letter_page(request, principal, letter, status: int = 200, errors=None) -> HttpResponse:
    context = {
        "nav": NAV,
        "tab": "letters",
        "title": letter.title,
        "letter": letter,
        "may_answer": selectors.may_answer(principal, letter) and letter.answered_at is None,
        "errors": errors or {},
        "form": request.POST if errors else {},
        "now": clock.now(),
    }
    return render(request, "assess/letter.html", context, status=status)


@login_required
def letter_detail(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    letter = get_object_or_404(selectors.letters_visible(principal), pk=pk)
    return _letter_page(request, principal, letter)


@login_required
def letter_answer(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    principal = principal_for(request.user)
    letter = get_object_or_404(selectors.letters_visible(principal), pk=pk)
    try:
        services.answer_letter(
            principal,
            letter,
            explanation=request.POST.get("explanation", ""),
            measures=request.POST.get("measures", ""),
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return _letter_page(request, principal, letter, status=403)
    except ValidationError as exc:
        return _letter_page(request, principal, letter, status=422, errors=_errors(exc))
    messages.success(request, "答复已提交。")
    return redirect("assess-letter", pk=letter.pk)


@login_required
def letter_docx(request: HttpRequest, pk: int) -> HttpResponse:
    letter = get_object_or_404(selectors.letters_visible(principal_for(request.user)), pk=pk)
    return _file(
        documents.render_letter(letter),
        DOCX_CONTENT_TYPE,
        documents.filename(letter.number, "docx"),
    )


# --- bulletins ---------------------------------------------------------------------------------


@login_required
def bulletin_list(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    bulletins = selectors.bulletins_visible(principal).order_by("-created_at", "-pk")
    page = Paginator(bulletins, PER_PAGE).get_page(request.GET.get("page"))
    offices = [
        o for o in selectors.ranking_offices(principal) if selectors.may_make_bulletin(principal, o)
    ]
    context: dict[str, Any] = {
        "nav": NAV,
        "tab": "bulletins",
        "title": "通报",
        "page": page,
        "offices": offices,
        "key": secrets.token_urlsafe(16),
    }
    context.update(_period_context(request, *_period(request)))
    return render(request, "assess/bulletins.html", context)


@login_required
def bulletin_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    principal = principal_for(request.user)
    raw = request.POST.get("office", "")

    def create() -> tuple[int, dict]:
        office = (
            selectors.ranking_offices(principal).filter(pk=int(raw)).first()
            if raw.isdigit()
            else None
        )
        if office is None:
            raise ValidationError({"office": ["请选择通报单位"]})
        period = parse(
            request.POST.get("period", ""),
            request.POST.get("start", ""),
            request.POST.get("end", ""),
        )
        bulletin = services.create_bulletin(principal, office=office, period=period)
        return 201, {"bulletin": bulletin.pk}

    payload = {k: request.POST.get(k, "") for k in ("office", "period", "start", "end")}
    try:
        replay = idempotent(principal, request.POST.get("idempotency_key") or None, payload, create)
    except (ValidationError, PermissionDenied) as exc:
        text = _flat(exc) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
        return redirect("assess-bulletins")
    except IdempotencyConflict:
        messages.info(request, "这份表单已经提交过。")
        return redirect("assess-bulletins")
    messages.success(request, "通报已生成，核对后可印发。")
    return redirect("assess-bulletin", pk=replay.body["bulletin"])


@login_required
def bulletin_detail(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    bulletin = get_object_or_404(selectors.bulletins_visible(principal), pk=pk)
    columns = [(k, h) for k, h in metrics.COLUMNS.items()]
    context = {
        "nav": NAV,
        "tab": "bulletins",
        "title": bulletin.title,
        "bulletin": bulletin,
        "columns": columns,
        "rows": [[row.get(k) for k, _ in columns] for row in bulletin.rows],
        "may_circulate": bulletin.circulated_at is None
        and selectors.may_make_bulletin(principal, bulletin.office),
    }
    return render(request, "assess/bulletin.html", context)


@login_required
def bulletin_circulate(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    principal = principal_for(request.user)
    bulletin = get_object_or_404(selectors.bulletins_visible(principal), pk=pk)
    try:
        services.circulate(principal, bulletin)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("assess-bulletin", pk=pk)
    messages.success(request, "通报已印发，各单位已收到通知。")
    return redirect("assess-bulletin", pk=pk)


@login_required
def bulletin_file(request: HttpRequest, pk: int, extension: str) -> HttpResponse:
    bulletin = get_object_or_404(selectors.bulletins_visible(principal_for(request.user)), pk=pk)
    if extension == "xlsx":
        content, content_type = documents.bulletin_workbook(bulletin), documents.XLSX_CONTENT_TYPE
    elif extension == "docx":
        content, content_type = documents.render_bulletin(bulletin), DOCX_CONTENT_TYPE
    else:
        raise Http404
    return _file(content, content_type, documents.filename(bulletin.title, extension))


# --- findings ----------------------------------------------------------------------------------


@login_required
def finding_list(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    findings = selectors.findings_visible(principal).order_by("-last_at", "-pk")
    state = request.GET.get("state", "")
    if state in FindingState.values:
        findings = findings.filter(state=state)
    page = Paginator(findings, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "nav": NAV,
        "tab": "findings",
        "title": "串并分析",
        "page": page,
        "states": FindingState.choices,
        "state": state,
    }
    return render(request, "assess/findings.html", context)


@login_required
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    finding = get_object_or_404(selectors.findings_visible(principal), pk=pk)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            services.review_finding(
                principal,
                finding,
                state=request.POST.get("state", ""),
                note=request.POST.get("note", ""),
            )
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            status = 403
        except ValidationError as exc:
            errors, status = _errors(exc), 422
        else:
            messages.success(request, "研判意见已保存。")
            return redirect("assess-finding", pk=pk)
    context = {
        "nav": NAV,
        "tab": "findings",
        "title": finding.title,
        "finding": finding,
        "links": selectors.finding_events(finding),
        "may_review": principal.is_superuser or bool(selectors.evaluating_units(principal)),
        "errors": errors,
        "states": [(FindingState.REVIEWED, "已研判"), (FindingState.DISMISSED, "无关联")],
    }
    return render(request, "assess/finding.html", context, status=status)


# --- adoption and the post-event summary -------------------------------------------------------


@login_required
def adopt(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    principal = principal_for(request.user)
    report = get_object_or_404(reports_visible(principal).select_related("unit"), pk=pk)
    try:
        _, created = services.adopt(principal, report, note=request.POST.get("note", ""))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, _flat(exc))
    else:
        messages.success(request, "已标记采用。" if created else "该报告已由本室采用。")
    return redirect(reverse("event-detail", args=[report.event_id]) + f"#report-{report.pk}")


@login_required
def summary(request: HttpRequest, pk: int) -> HttpResponse:
    """总结评估 of an ended event: the lessons form and the generated document."""
    principal = principal_for(request.user)
    event = get_object_or_404(events_visible(principal), pk=pk)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            services.save_lessons(principal, event, request.POST.get("lessons", ""))
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            status = 403
        except ValidationError as exc:
            errors, status = _errors(exc), 422
        else:
            messages.success(request, "经验教训已保存，将写入总结评估。")
            return redirect("assess-summary", pk=pk)
    review = selectors.event_review(event)
    context = {
        "nav": NAV,
        "title": f"总结评估 · {event.title}",
        "event": event,
        "ended": event.status in selectors.ENDED,
        "review": review,
        "lessons": request.POST.get("lessons", "")
        if errors
        else (review.lessons if review else ""),
        "may_edit": selectors.may_write_lessons(principal, event),
        "errors": errors,
    }
    return render(request, "assess/summary.html", context, status=status)


@login_required
def summary_docx(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    event = get_object_or_404(events_visible(principal), pk=pk)
    if event.status not in selectors.ENDED:
        messages.error(request, "事件结束后才能生成总结评估。")
        return redirect("assess-summary", pk=pk)
    return _file(
        documents.render_summary(event, **selectors.summary_parts(principal, event)),
        DOCX_CONTENT_TYPE,
        documents.filename(f"{event.title}总结评估", "docx"),
    )
