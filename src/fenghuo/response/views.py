"""The response board (应急响应看板) of an event and its actions. Thin: reads through
`selectors`, writes through `services`. A refused action is a Chinese message; a form the
service found wanting comes back (422) with each message next to its field."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from fenghuo.core import clock
from fenghuo.events import attachments
from fenghuo.events.models import Event
from fenghuo.events.views import grade_badge
from fenghuo.org.models import Unit
from fenghuo.org.policy import Principal, principal_for
from fenghuo.response import selectors, services
from fenghuo.response.forms import (
    BoardForm,
    DecisionForm,
    EndRequestForm,
    LevelForm,
    NoteForm,
    StartForm,
    StateForm,
    SummaryForm,
    TaskForm,
)
from fenghuo.response.models import LevelPlan, Response, ResponseState, Task


def _task_units(response: Response):
    return Unit.objects.filter(path__startswith=response.office.path, is_active=True).order_by(
        "path"
    )


def _task_forms(principal: Principal, task: Task, manager: bool, bound: dict) -> None:
    prefix = f"t{task.pk}"
    task.may_work = manager or selectors.may_work_on(principal, task)
    task.state_form = bound.get(f"state-{task.pk}") or StateForm(prefix=prefix)
    task.note_form = bound.get(f"note-{task.pk}") or NoteForm(prefix=prefix)
    task.evidence_form = bound.get(f"evidence-{task.pk}") or BoardForm(prefix=prefix)
    if manager:
        task.edit_form = bound.get(f"edit-{task.pk}") or TaskForm(
            prefix=f"e{task.pk}",
            units=_task_units(task.response),
            initial={
                "title": task.title,
                "unit": task.unit_id,
                "due_at": task.due_at,
                "description": task.description,
            },
        )


def _render_board(
    request: HttpRequest,
    principal: Principal,
    event: Event,
    *,
    bound: dict[str, BoardForm] | None = None,
) -> HttpResponse:
    bound = bound or {}
    responses = list(selectors.event_responses(principal, event))
    current = next((r for r in responses if r.is_open), responses[0] if responses else None)
    context: dict[str, Any] = {
        "nav": "events",
        "title": f"应急响应 · {event.title}",
        "event": event,
        "grade": grade_badge(event),
        "response": current,
        "earlier": [r for r in responses if r is not current],
        "server_now": clock.now(),
    }
    if current is None or not current.is_open:
        offices = (
            selectors.offices_to_start(principal, event)
            if event.status not in services.CLOSED_EVENT_STATES
            else []
        )
        if offices:
            context["start_form"] = bound.get("start") or StartForm(
                offices=offices, initial={"office": offices[0].pk}
            )
    if current is not None:
        manager = selectors.may_manage(principal, current)
        tasks = list(selectors.response_tasks(principal, current))
        for task in tasks:
            _task_forms(principal, task, manager, bound)
        context.update(
            plan=LevelPlan.objects.filter(level=current.level).first(),
            leaders=selectors.current_leaders(current),
            changes=list(current.changes.all()),
            end_requests=list(current.end_requests.all()),
            tasks=tasks,
            may_manage=manager,
            may_approve=current.state == ResponseState.ENDING
            and selectors.may_approve_end(principal, current),
        )
        if manager and current.state == ResponseState.ACTIVE:
            context["level_form"] = bound.get("level") or LevelForm()
            context["task_form"] = bound.get("task") or TaskForm(units=_task_units(current))
            context["end_form"] = bound.get("end") or EndRequestForm()
        if context["may_approve"]:
            context["decision_form"] = bound.get("decision") or DecisionForm()
        if manager and current.state == ResponseState.ENDED:
            context["summary_form"] = bound.get("summary") or SummaryForm(
                initial={"summary": current.summary}
            )
    for form in bound.values():
        form.mark_invalid()
    return render(request, "response/board.html", context, status=422 if bound else 200)


def _board_event(principal: Principal, pk: int) -> Event:
    return get_object_or_404(selectors.board_events(principal), pk=pk)


def _board_url(event_id: int, anchor: str = "") -> str:
    url = reverse("response-board", args=[event_id])
    return f"{url}#{anchor}" if anchor else url


@login_required
def board(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    return _render_board(request, principal, _board_event(principal, pk))


def _act(
    request: HttpRequest,
    principal: Principal,
    event: Event,
    form: BoardForm,
    name: str,
    call: Callable[[dict[str, Any]], Any],
    done: str,
    anchor: str = "",
) -> HttpResponse:
    """Run `call` with the parsed form; on the service's errors show the form again."""
    if form.is_valid():
        try:
            call(form.cleaned_data)
        except PermissionDenied as exc:
            messages.error(request, str(exc) or "无权执行此操作")
            return redirect(_board_url(event.pk, anchor))
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            form.add_service_errors(errors)
        else:
            messages.success(request, done)
            return redirect(_board_url(event.pk, anchor))
    return _render_board(request, principal, event, bound={name: form})


def _response(principal: Principal, pk: int) -> Response:
    return get_object_or_404(selectors.responses_visible(principal), pk=pk)


def _task(principal: Principal, pk: int) -> Task:
    return get_object_or_404(selectors.tasks_visible(principal), pk=pk)


@login_required
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    event = _board_event(principal, pk)
    form = StartForm(request.POST, offices=selectors.offices_to_start(principal, event))
    return _act(
        request,
        principal,
        event,
        form,
        "start",
        lambda data: services.start_response(
            principal,
            event=event,
            level=data["level"],
            reason=data["reason"],
            office=data["office"],
        ),
        "已启动应急响应，牵头人已收到通知。",
    )


@login_required
@require_POST
def change_level(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    response = _response(principal, pk)
    return _act(
        request,
        principal,
        response.event,
        LevelForm(request.POST),
        "level",
        lambda data: services.change_level(
            principal, response, level=data["level"], reason=data["reason"]
        ),
        "已调整响应级别，新的牵头人已收到通知。",
    )


@login_required
@require_POST
def create_task(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    response = _response(principal, pk)
    return _act(
        request,
        principal,
        response.event,
        TaskForm(request.POST, units=_task_units(response)),
        "task",
        lambda data: services.create_task(
            principal,
            response,
            title=data["title"],
            unit=data["unit"],
            due_at=data["due_at"],
            description=data["description"],
        ),
        "已下达任务，责任单位已收到通知。",
        "tasks",
    )


@login_required
@require_POST
def edit_task(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    task = _task(principal, pk)
    form = TaskForm(request.POST, prefix=f"e{task.pk}", units=_task_units(task.response))
    return _act(
        request,
        principal,
        task.response.event,
        form,
        f"edit-{task.pk}",
        lambda data: services.edit_task(
            principal,
            task,
            title=data["title"],
            description=data["description"],
            unit=data["unit"],
            due_at=data["due_at"],
        ),
        "任务已调整。",
        f"task-{task.pk}",
    )


@login_required
@require_POST
def task_state(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    task = _task(principal, pk)
    return _act(
        request,
        principal,
        task.response.event,
        StateForm(request.POST, prefix=f"t{task.pk}"),
        f"state-{task.pk}",
        lambda data: services.set_task_state(principal, task, data["state"], note=data["note"]),
        "任务状态已更新。",
        f"task-{task.pk}",
    )


@login_required
@require_POST
def task_note(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    task = _task(principal, pk)
    return _act(
        request,
        principal,
        task.response.event,
        NoteForm(request.POST, prefix=f"t{task.pk}"),
        f"note-{task.pk}",
        lambda data: services.add_note(principal, task, data["text"]),
        "已记录进展。",
        f"task-{task.pk}",
    )


@login_required
@require_POST
def task_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    task = _task(principal, pk)
    files = request.FILES.getlist(f"t{task.pk}-files")
    return _act(
        request,
        principal,
        task.response.event,
        BoardForm(request.POST, prefix=f"t{task.pk}"),
        f"evidence-{task.pk}",
        lambda data: services.add_evidence(principal, task, files),
        f"已上传 {len(files)} 个文件。",
        f"task-{task.pk}",
    )


@login_required
def evidence(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    item = get_object_or_404(selectors.evidence_visible(principal), pk=pk)
    return attachments.response(item)


@login_required
@require_POST
def end_request(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    response = _response(principal, pk)
    return _act(
        request,
        principal,
        response.event,
        EndRequestForm(request.POST),
        "end",
        lambda data: services.request_end(principal, response, data["assessment"]),
        "已提请结束应急响应，等待批准。",
    )


@login_required
@require_POST
def end_decision(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    response = _response(principal, pk)
    return _act(
        request,
        principal,
        response.event,
        DecisionForm(request.POST),
        "decision",
        lambda data: services.decide_end(
            principal, response, approve=data["decision"] == "approve", note=data["note"]
        ),
        "已审批结束申请。",
    )


@login_required
@require_POST
def summary(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    response = _response(principal, pk)
    return _act(
        request,
        principal,
        response.event,
        SummaryForm(request.POST),
        "summary",
        lambda data: services.summarize(principal, response, data["summary"]),
        "处置总结已保存。",
    )
