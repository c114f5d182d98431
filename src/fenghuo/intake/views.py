"""The web report form (网页填报): first reports, and 续报 / 终报 / 补报 from an event.

Thin: reads come from `events.selectors`, writes from `events.services` (and the draft
services next to them); the field rules are the service's, shown next to each field.
A hidden per-form key makes a double click or a resubmission file one report.
"""

import hashlib
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from fenghuo.core import clock
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, Event, Report, ReportKind, ReportStatus
from fenghuo.events.selectors import event_reports, events_visible, reports_visible
from fenghuo.intake import services
from fenghuo.intake.forms import ReportForm, initial_from_report
from fenghuo.org.models import Role, Unit
from fenghuo.org.policy import Principal, principal_for
from fenghuo.org.selectors import units_with_role

# Who files reports for their own unit through the form (as events.services allows).
REPORTING_ROLES = (Role.REPORTER, Role.UNIT_LEADER, Role.DUTY_OFFICER)
OUTCOME_NOTES = {
    "new_event": "已建立新事件。",
    "joined": "系统判断与已有事件为同一事件，已并入。",
    "review": "系统发现可能相同的事件，已提交值班员确认。",
    "followup": "",
}


def reporting_units(principal: Principal) -> list[Unit]:
    return list(units_with_role(principal, *REPORTING_ROLES).filter(is_active=True))


def _web_drafts(principal: Principal, units: list[Unit]):
    return (
        reports_visible(principal)
        .filter(status=ReportStatus.DRAFT, channel=Channel.WEB, unit__in=units)
        .select_related("unit", "event")
        .order_by("-received_at", "-pk")
    )


def _event_from_query(request: HttpRequest, principal: Principal) -> Event | None:
    raw = request.GET.get("event", "").strip()
    if not raw:
        return None
    if not raw.isdecimal():
        raise Http404
    return get_object_or_404(events_visible(principal), pk=int(raw))


def _initial(
    request: HttpRequest, principal: Principal, units: list[Unit], event: Event | None
) -> dict[str, Any]:
    initial: dict[str, Any] = {"unit": units[0].pk if units else None}
    if event is None:
        initial["kind"] = ReportKind.FIRST
        return initial
    # From an event: continue this unit's chain, carrying its latest figures forward so a
    # 续报 that only adds progress does not blank the unit's figures.
    earlier = [
        r
        for r in event_reports(principal, event)
        if r.unit_id == initial["unit"] and r.status == ReportStatus.SUBMITTED
    ]
    wanted = request.GET.get("kind", "")
    if wanted in ReportKind.values:
        initial["kind"] = wanted
    else:
        initial["kind"] = ReportKind.FOLLOWUP if earlier else ReportKind.FIRST
    if earlier:
        latest = earlier[-1]
        for name in ReportForm.FIGURE_FIELDS:
            initial[name] = getattr(latest, name)
        initial["source"] = latest.source
        initial["reliability"] = latest.reliability
        initial["confidentiality"] = latest.confidentiality
    return initial


def _dry_run_errors(form: ReportForm, event: Event | None) -> dict[str, list[str]]:
    """What the service would also say about the fields that could be read, so a form
    with an unreadable number still names every missing element at once. Nothing is saved."""
    cleaned = getattr(form, "cleaned_data", {})
    unit = cleaned.get("unit")
    report = Report(
        kind=cleaned.get("kind") or ReportKind.FIRST,
        channel=Channel.WEB,
        received_at=clock.now(),
        event=event,
    )
    if unit is not None:
        report.unit = unit
    for name, value in form.report_data().items():
        if value is not None:
            setattr(report, name, value)
    if event is not None:
        for name in event_services.INHERITED_FIELDS:
            attr = "category_id" if name == "category" else name
            if getattr(report, attr, None) in (None, ""):
                setattr(report, name, getattr(event, name))
    try:
        event_services.validate_report(report)
    except ValidationError as exc:
        return {k: v for k, v in exc.message_dict.items() if k not in form.errors}
    return {}


def _payload(request: HttpRequest, draft: Report | None, event: Event | None) -> dict:
    """What the key stands for: the posted fields, the files' content, which button,
    draft and event."""
    fields = {
        k: request.POST.getlist(k) for k in sorted(request.POST) if k != "csrfmiddlewaretoken"
    }
    return {
        "form": fields,
        "files": [_digest(f) for f in request.FILES.getlist("attachments")],
        "draft": draft.pk if draft else None,
        "event": event.pk if event else None,
    }


def _digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _save(
    principal: Principal,
    form: ReportForm,
    *,
    save_draft: bool,
    draft: Report | None,
    event: Event | None,
    files: list[UploadedFile],
) -> tuple[int, dict[str, Any]]:
    """One filing, with its attachments, through the services (one transaction); returns
    what the idempotency record keeps."""
    data = form.report_data()
    unit, kind = form.cleaned_data["unit"], form.cleaned_data["kind"]
    if draft is None:
        if save_draft:
            errors = event_services.draft_errors(data, event=event)
            if errors:
                raise ValidationError(errors)
        result = event_services.file_report(
            principal,
            unit=unit,
            kind=kind,
            channel=Channel.WEB,
            data=data,
            event=event,
            draft=save_draft,
        )
        report, outcome = result.report, result.outcome
        event_id = result.event.pk if result.event else None
        if files:
            event_services.attach_files(principal, report, files, at_filing=True)
    else:
        report = event_services.update_draft(
            principal, draft, data, unit=unit, kind=kind, event=event
        )
        outcome, event_id = "draft", event.pk if event else None
        if files:
            event_services.attach_files(principal, report, files, at_filing=True)
        if not save_draft:
            result = event_services.confirm_draft(principal, report, {}, kind=kind, event=event)
            report, outcome, event_id = result.report, result.outcome, result.event.pk
    return 201, {
        "report": report.pk,
        "event": event_id,
        "outcome": outcome,
        "draft": save_draft,
        "label": report.kind_label,
    }


@login_required
def report_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """GET: an empty form (or a saved draft); POST: 报送 or 保存草稿."""
    principal = principal_for(request.user)
    units = reporting_units(principal)
    draft = None
    if pk is not None:
        draft = get_object_or_404(
            _web_drafts(principal, units or []).select_related("category"), pk=pk
        )
        event = draft.event
    else:
        event = _event_from_query(request, principal)
    context: dict[str, Any] = {"nav": "reports", "event": event, "draft": draft}
    if not units:
        context["no_units"] = True
        return render(request, "intake/report_form.html", context, status=403)

    attachment_errors: list[str] = []
    files = request.FILES.getlist("attachments")
    if request.method == "POST":
        form = ReportForm(request.POST, units=units, event=event)
        save_draft = "save_draft" in request.POST
        if not form.is_valid():
            form.add_service_errors({} if save_draft else _dry_run_errors(form, event))
        else:
            try:
                replay = services.idempotent(
                    principal,
                    form.cleaned_data["idempotency_key"] or None,
                    _payload(request, draft, event),
                    lambda: _save(
                        principal,
                        form,
                        save_draft=save_draft,
                        draft=draft,
                        event=event,
                        files=files,
                    ),
                )
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
                attachment_errors = errors.pop("attachments", [])
                if not save_draft:
                    errors = {**_dry_run_errors(form, event), **errors}
                form.add_service_errors(errors)
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or "无权以该单位名义报送")
            except services.IdempotencyConflict:
                form.add_error(
                    None,
                    "这份表单已经提交过，内容与这次不同。"
                    "请核对后再次提交（将作为一份新的报告），或到事件页面查看已报送的内容。",
                )
            else:
                return _after_save(request, replay)
        # Errors: nothing was saved. A fresh key lets the corrected form be submitted.
        form.data = form.data.copy()
        form.data["idempotency_key"] = ReportForm.new_key()
    else:
        initial = (
            initial_from_report(draft) if draft else _initial(request, principal, units, event)
        )
        initial["idempotency_key"] = ReportForm.new_key()
        form = ReportForm(initial=initial, units=units, event=event)

    form.mark_invalid()
    kind = (form.data.get("kind") if form.is_bound else form.initial.get("kind")) or "first"
    required = set(event_services.required_fields(kind)) if kind in ReportKind.values else set()
    form.mark_required(required)
    errors_shown = bool(form.errors or attachment_errors)
    context.update(
        form=form,
        attachment_errors=attachment_errors,
        attachment_limits=settings.FENGHUO_ATTACHMENT_MAX_MB,
        files_lost=bool(files) and errors_shown,
        required=required,
        drafts=[] if draft else list(_web_drafts(principal, units)[:20]),
        title="续报" if event else "报送",
    )
    return render(request, "intake/report_form.html", context, status=422 if errors_shown else 200)


def _after_save(request: HttpRequest, replay: services.Replay) -> HttpResponse:
    body = replay.body
    if "report" not in body:
        # The same form is being filed by a request that has not finished yet.
        messages.info(request, "这份表单正在提交，没有重复报送。请稍后在事件列表中查看。")
        return redirect("event-list")
    if replay.replayed:
        messages.info(request, "这份表单已经提交过，没有重复报送。")
    if body["draft"]:
        if not replay.replayed:
            messages.success(request, "草稿已保存。草稿不会报送，也不进入事件时间线。")
        return redirect("report-edit", pk=body["report"])
    if not replay.replayed:
        note = OUTCOME_NOTES.get(body["outcome"], "")
        messages.success(request, f"{body['label']}已报送。{note}".strip())
    url = reverse("event-detail", args=[body["event"]])
    return redirect(f"{url}#report-{body['report']}")


@login_required
@require_POST
def discard_draft(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    draft = get_object_or_404(_web_drafts(principal, reporting_units(principal)), pk=pk)
    try:
        with transaction.atomic():
            event_services.discard_draft(principal, draft, "网页填报人删除草稿")
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权处理该草稿")
        return redirect("report-edit", pk=pk)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("report-new")
    messages.success(request, "草稿已删除。")
    return redirect("report-new")
