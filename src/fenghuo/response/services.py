"""Every write of emergency response: start, raise / lower, tasks, progress, evidence, the
end (assessment, then approval) and the summary.

Each write goes on the event's timeline (kind 应急响应) and the audit chain, and the people
it concerns are told through the outbox, all in the write's transaction. Who may do what
is in `selectors` (its docstring lists the rules). Notification keys start with
`response:<id>:`.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from fenghuo.core import clock
from fenghuo.core.sandbox import marks
from fenghuo.core.services import audit_change, snapshot
from fenghuo.events import attachments
from fenghuo.events import services as event_services
from fenghuo.events.models import Event, EventStatus, TimelineEntry, TimelineKind
from fenghuo.events.selectors import ANSWERING_ROLES
from fenghuo.notify.services import notify_people, notify_unit
from fenghuo.org.models import Membership, Person, Role, Unit
from fenghuo.org.policy import Principal
from fenghuo.response import selectors
from fenghuo.response.models import (
    OPEN_RESPONSE_STATES,
    OPEN_TASK_STATES,
    EndRequest,
    Evidence,
    Leader,
    Level,
    LevelChange,
    LevelPlan,
    Response,
    ResponseState,
    Task,
    TaskNote,
    TaskState,
)

# A response cannot start on an event in these states.
CLOSED_EVENT_STATES = (EventStatus.ENDED, EventStatus.ARCHIVED, EventStatus.FALSE)
# Evidence is what the scene looks like: photos and video (other files go with reports).
EVIDENCE_KINDS = ("image", "video")
SYSTEM = "系统"


def when_text(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.month}月{local.day}日{local.hour}时{local.minute:02d}分"


def board_link(event_id: int) -> str:
    return reverse("response-board", args=[event_id])


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _timeline(event: Event, text: str, principal: Any) -> TimelineEntry:
    return TimelineEntry.objects.create(
        event=event,
        at=clock.now(),
        kind=TimelineKind.RESPONSE,
        text=text,
        actor_name=str(principal) if principal is not None else SYSTEM,
    )


def _role_labels(roles: Iterable[str]) -> str:
    return "、".join(Role(r).label for r in roles if r in Role.values)


def _check_not_archived(event: Event, errors: dict[str, list[str]]) -> None:
    if event.status == EventStatus.ARCHIVED:
        errors.setdefault("event", []).append("事件已归档，应急响应记录不能再修改")


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


# --- who leads -------------------------------------------------------------------------


def responsible_department(office: Unit, event: Event) -> Unit | None:
    """The department of the event category's responsible kind (主管部门) under the office:
    the nearest to the office, preferring one in the event's own division."""
    category = event.category
    kind_id = category.responsible_kind_id or (
        category.parent.responsible_kind_id if category.parent_id else None
    )
    if kind_id is None:
        return None
    candidates = Unit.objects.filter(
        path__startswith=office.path, kind_id=kind_id, is_active=True
    ).exclude(pk=office.pk)
    return min(
        candidates,
        key=lambda u: (u.depth, u.division_code != event.division_code, u.path),
        default=None,
    )


def _members(unit: Unit, roles: list[str]) -> list[Membership]:
    rows = Membership.objects.filter(
        unit=unit, role__in=roles, person__is_active=True
    ).select_related("person", "unit")
    return sorted(rows, key=lambda m: (roles.index(m.role), m.person_id))


def resolve_leaders(plan: LevelPlan, office: Unit, event: Event) -> list[Membership]:
    """Who leads `plan`'s level for `office` on `event`, as the memberships that make them
    leaders: the office's people in the plan's lead roles, then (when the plan says so)
    the responsible department's 单位领导, else the office's own 单位领导. A person is
    named once."""
    found = _members(office, list(plan.lead_roles)) if plan.lead_roles else []
    if plan.department_head:
        department = responsible_department(office, event)
        heads = _members(department, [Role.UNIT_LEADER]) if department else []
        found += heads or _members(office, [Role.UNIT_LEADER])
    seen: set[int] = set()
    named = []
    for membership in found:
        if membership.person_id not in seen:
            seen.add(membership.person_id)
            named.append(membership)
    return named


def _name_leaders(response: Response, change: LevelChange, plan: LevelPlan) -> list[Leader]:
    return [
        Leader.objects.create(
            response=response, change=change, person=m.person, unit=m.unit, role=m.role
        )
        for m in resolve_leaders(plan, response.office, response.event)
    ]


def _leaders_text(leaders: list[Leader]) -> str:
    if not leaders:
        return "未找到牵头人（请在组织机构中设置领导小组及相关单位领导）"
    return "、".join(
        f"{leader.person}（{leader.unit.name}{leader.role_label}）" for leader in leaders
    )


def _notify_leaders(
    response: Response, leaders: list[Leader], change: LevelChange, plan: LevelPlan
) -> None:
    event = response.event
    notify_people(
        [leader.person for leader in leaders],
        subject=f"【{response.label}】{event.title}",
        body=f"{response.office.name}{change.text}，请您牵头处置。理由：{change.reason}"
        + (f"\n响应要求：{plan.duties}" if plan.duties else ""),
        key=f"response:{response.pk}:level:{change.pk}",
        link=board_link(event.pk),
        ref=f"response:{response.pk}",
        urgent=plan.urgent,
        **marks(event),
    )


def _lock_event(event: Event) -> Event:
    return (
        Event.objects.select_for_update(of=("self",))
        .select_related("category", "category__parent")
        .get(pk=event.pk)
    )


def _lock(response: Response) -> Response:
    return (
        Response.objects.select_for_update(of=("self",))
        .select_related("event", "office")
        .get(pk=response.pk)
    )


@transaction.atomic
def start_response(
    principal: Principal,
    *,
    event: Event,
    level: int | None,
    reason: str,
    office: Unit | None = None,
) -> Response:
    """Start a response level (Ⅰ–Ⅳ) on an event, in the name of an office (the nearest
    one where the principal may start it, unless named). The plan's leaders are named and
    notified; a newly received or verified event moves to 处置中 when the principal may
    move it. One open response per event: the event row is locked while checking."""
    if level not in Level.values:
        raise ValidationError({"level": ["请选择响应级别（Ⅰ–Ⅳ级）"]})
    plan = selectors.plan_for(level)
    event = _lock_event(event)
    offices = selectors.start_offices(principal, event, plan)
    if not offices:
        raise PermissionDenied(
            f"启动{Level(level).label}应急响应须由事件报送单位所属办公室（或上级）的"
            f"{_role_labels(plan.start_roles)}操作"
        )
    errors: dict[str, list[str]] = {}
    if office is None:
        office = offices[0]
    elif office.pk not in {o.pk for o in offices}:
        errors["office"] = ["您不能以该办公室的名义启动应急响应"]
    if _blank(reason):
        errors["reason"] = ["启动理由为必填项"]
    if event.status in CLOSED_EVENT_STATES:
        errors.setdefault("event", []).append(
            f"事件状态为「{event.get_status_display()}」，不能启动应急响应"
        )
    current = selectors.open_response(event)
    if current is not None:
        errors.setdefault("event", []).append(
            f"该事件已在{current.label}中，请调整级别而不是重新启动"
        )
    _raise(errors)
    moment = clock.now()
    response = Response.objects.create(
        event=event,
        office=office,
        level=level,
        reason=reason.strip(),
        started_at=moment,
        started_by_id=principal.person_id,
    )
    change = LevelChange.objects.create(
        response=response,
        to_level=level,
        reason=response.reason,
        at=moment,
        by_id=principal.person_id,
        actor_name=str(principal),
    )
    leaders = _name_leaders(response, change, plan)
    _timeline(
        event,
        f"{office.name}启动{response.label}。牵头：{_leaders_text(leaders)}。理由：{response.reason}",
        principal,
    )
    audit_change(
        principal,
        "response.start",
        response,
        after={**snapshot(response), "leaders": [leader.person_id for leader in leaders]},
    )
    _notify_leaders(response, leaders, change, plan)
    to_handling = event_services.TRANSITIONS.get(event.status, {}).get(EventStatus.HANDLING)
    if to_handling and selectors.event_role_allows(principal, event, to_handling):
        event_services.change_status(
            principal, event, EventStatus.HANDLING, note=f"已启动{response.label}"
        )
    return response


@transaction.atomic
def change_level(
    principal: Principal, response: Response, *, level: int | None, reason: str
) -> Response:
    """Raise or lower the level: the current leaders are relieved, the new level's leaders
    named and notified (those relieved are told too)."""
    if level not in Level.values:
        raise ValidationError({"level": ["请选择响应级别（Ⅰ–Ⅳ级）"]})
    plan = selectors.plan_for(level)
    response = _lock(response)
    if not selectors.holds_over(principal, plan.start_roles, response.office):
        raise PermissionDenied(
            f"调整为{Level(level).label}应急响应须由{response.office.name}（或上级）的"
            f"{_role_labels(plan.start_roles)}操作"
        )
    errors: dict[str, list[str]] = {}
    if response.state == ResponseState.ENDED:
        errors["level"] = ["应急响应已结束，不能调整级别"]
    elif response.state == ResponseState.ENDING:
        errors["level"] = ["已提请结束应急响应，请先审批结束申请"]
    elif level == response.level:
        errors["level"] = [f"当前已是{response.label}"]
    if _blank(reason):
        errors["reason"] = ["调整理由为必填项"]
    _check_not_archived(response.event, errors)
    _raise(errors)
    before = snapshot(response)
    moment = clock.now()
    previous = selectors.current_leaders(response)
    Leader.objects.filter(response=response, relieved_at__isnull=True).update(relieved_at=moment)
    change = LevelChange.objects.create(
        response=response,
        from_level=response.level,
        to_level=level,
        reason=reason.strip(),
        at=moment,
        by_id=principal.person_id,
        actor_name=str(principal),
    )
    response.level = level
    response.save(update_fields=["level"])
    leaders = _name_leaders(response, change, plan)
    _timeline(
        response.event,
        f"{change.text}（{response.office.name}）。牵头：{_leaders_text(leaders)}。理由：{change.reason}",
        principal,
    )
    audit_change(
        principal,
        "response.level",
        response,
        before={**before, "leaders": [leader.person_id for leader in previous]},
        after={**snapshot(response), "leaders": [leader.person_id for leader in leaders]},
    )
    _notify_leaders(response, leaders, change, plan)
    staying = {leader.person_id for leader in leaders}
    notify_people(
        [leader.person for leader in previous if leader.person_id not in staying],
        subject=f"【应急响应调整】{response.event.title}",
        body=f"应急响应已调整为{response.label}，您不再牵头本次响应。理由：{change.reason}",
        key=f"response:{response.pk}:relieved:{change.pk}",
        link=board_link(response.event_id),
        ref=f"response:{response.pk}",
        **marks(response.event),
    )
    return response


# --- tasks -----------------------------------------------------------------------------


def _require_manager(principal: Principal, response: Response) -> None:
    if not selectors.may_manage(principal, response):
        raise PermissionDenied("只有本次应急响应的牵头人、领导小组成员和值班员可以执行此操作")


def _require_worker(principal: Principal, task: Task) -> None:
    if not selectors.may_work_on(principal, task):
        raise PermissionDenied("只有责任单位和本次应急响应的指挥人员可以更新该任务")


def _check_unit(response: Response, unit: Unit | None, errors: dict[str, list[str]]) -> None:
    if unit is None:
        errors["unit"] = ["请选择责任单位"]
    elif not unit.path.startswith(response.office.path):
        errors["unit"] = [f"责任单位须为{response.office.name}或其所辖单位"]
    elif not unit.is_active:
        errors["unit"] = ["责任单位已停用"]


def _check_due(due_at: datetime | None, errors: dict[str, list[str]]) -> None:
    if due_at is None:
        errors["due_at"] = ["完成时限为必填项"]
    elif due_at <= clock.now():
        errors["due_at"] = ["完成时限须晚于当前时间"]


def unit_people(unit_id: int) -> list[Person]:
    """Who speaks for a unit on its tasks: its 信息员, 单位领导 and 值班员."""
    return list(
        Person.objects.filter(
            memberships__unit_id=unit_id, memberships__role__in=ANSWERING_ROLES, is_active=True
        )
        .distinct()
        .order_by("pk")
    )


def _notify_assigned(task: Task, key: str, subject: str) -> None:
    response = task.response
    message = {
        "subject": f"{subject}：{task.title}",
        "body": f"{response.event.title}（{response.label}）。{task.unit.name}须于"
        f"{when_text(task.due_at)}前完成：{task.title}。{task.description}".strip(),
        "key": key,
        "link": board_link(response.event_id),
        "ref": f"response:{response.pk}",
        "urgent": selectors.plan_for(response.level).urgent,
        **marks(response.event),
    }
    notify_people(unit_people(task.unit_id), **message)
    notify_unit(task.unit, **message)


def _task_text(task: Task) -> str:
    return f"响应任务「{task.title}」（{task.unit.name}）"


@transaction.atomic
def create_task(
    principal: Principal,
    response: Response,
    *,
    title: str,
    unit: Unit | None,
    due_at: datetime | None,
    description: str = "",
) -> Task:
    """Assign a task to a department (a unit in the office's tree) with a due time; the
    unit's people and robots are told."""
    response = _lock(response)
    _require_manager(principal, response)
    errors: dict[str, list[str]] = {}
    if not response.is_open:
        errors["response"] = ["应急响应已结束，不能再下达任务"]
    if _blank(title):
        errors["title"] = ["任务内容为必填项"]
    _check_unit(response, unit, errors)
    _check_due(due_at, errors)
    _check_not_archived(response.event, errors)
    _raise(errors)
    moment = clock.now()
    task = Task.objects.create(
        response=response,
        title=title.strip(),
        description=(description or "").strip(),
        unit=unit,
        due_at=due_at,
        created_at=moment,
        created_by_id=principal.person_id,
        assigned_at=moment,
    )
    _timeline(
        response.event,
        f"下达{_task_text(task)}，时限{when_text(task.due_at)}"
        + (f"：{task.description}" if task.description else ""),
        principal,
    )
    audit_change(principal, "response.task.create", task, after=snapshot(task))
    _notify_assigned(task, f"response:{response.pk}:task:{task.pk}", "应急响应任务")
    return task


def _lock_task(task: Task) -> Task:
    return (
        Task.objects.select_for_update(of=("self",))
        .select_related("response", "response__event", "response__office", "unit")
        .get(pk=task.pk)
    )


@transaction.atomic
def edit_task(
    principal: Principal,
    task: Task,
    *,
    title: str | None = None,
    description: str | None = None,
    unit: Unit | None = None,
    due_at: datetime | None = None,
) -> Task:
    """Change a task's content, owner unit or due time (the response's managers). A new
    unit is told of the task, the same unit of a new due time; an overdue task given a
    later due time is open again."""
    task = _lock_task(task)
    response = task.response
    _require_manager(principal, response)
    errors: dict[str, list[str]] = {}
    if not response.is_open:
        errors["response"] = ["应急响应已结束，任务不能再调整"]
    if title is not None and _blank(title):
        errors["title"] = ["任务内容为必填项"]
    if unit is not None:
        _check_unit(response, unit, errors)
    if due_at is not None:
        _check_due(due_at, errors)
    _check_not_archived(response.event, errors)
    _raise(errors)
    before = snapshot(task)
    changes = []
    moment = clock.now()
    if title is not None and title.strip() != task.title:
        changes.append(f"任务内容「{task.title}」→「{title.strip()}」")
        task.title = title.strip()
    if description is not None:
        task.description = description.strip()
    new_unit = unit is not None and unit.pk != task.unit_id
    if new_unit:
        changes.append(f"责任单位 {task.unit.name} → {unit.name}")
        task.unit, task.assigned_at = unit, moment
    new_due = due_at is not None and due_at != task.due_at
    if new_due:
        changes.append(f"完成时限 {when_text(task.due_at)} → {when_text(due_at)}")
        task.due_at = due_at
        if task.state == TaskState.OVERDUE:
            task.state = TaskState.IN_PROGRESS if task.started_at else TaskState.OPEN
            task.overdue_at = None
    task.save()
    if changes:
        _timeline(response.event, f"调整响应任务「{task.title}」：{'；'.join(changes)}", principal)
    audit_change(principal, "response.task.update", task, before=before, after=snapshot(task))
    if new_unit:
        key = f"response:{response.pk}:task:{task.pk}:assigned:{unit.pk}:{int(moment.timestamp())}"
        _notify_assigned(task, key, "应急响应任务")
    elif new_due:
        key = f"response:{response.pk}:task:{task.pk}:due:{int(task.due_at.timestamp())}"
        _notify_assigned(task, key, "任务时限调整")
    return task


@transaction.atomic
def set_task_state(principal: Principal, task: Task, state: str, *, note: str = "") -> Task:
    """处置中 or 已完成, by the assigned unit or a manager, with an optional progress note.
    已超时 is the system's (the due time passed); an overdue task can still be completed.
    A completed task is reopened (处置中) only by a manager."""
    task = _lock_task(task)
    _require_worker(principal, task)
    errors: dict[str, list[str]] = {}
    if state == TaskState.OVERDUE:
        errors["state"] = ["「已超时」由系统按完成时限标记，不能手工设置"]
    elif state not in (TaskState.IN_PROGRESS, TaskState.DONE):
        errors["state"] = ["请选择任务状态：处置中或已完成"]
    elif state == task.state:
        errors["state"] = [f"任务已是「{task.get_state_display()}」"]
    elif state == TaskState.IN_PROGRESS and task.state == TaskState.OVERDUE:
        errors["state"] = ["任务已超时：可标记为已完成，或由指挥人员调整完成时限"]
    elif task.state == TaskState.DONE and not selectors.may_manage(principal, task.response):
        raise PermissionDenied("已完成的任务只能由本次应急响应的指挥人员重新打开")
    _check_not_archived(task.response.event, errors)
    _raise(errors)
    before = snapshot(task)
    previous = task.get_state_display()
    moment = clock.now()
    task.state = state
    task.started_at = task.started_at or moment
    task.done_at = moment if state == TaskState.DONE else None
    task.save(update_fields=["state", "started_at", "done_at"])
    note = (note or "").strip()
    if note:
        TaskNote.objects.create(
            task=task,
            text=note,
            at=moment,
            author_id=principal.person_id,
            actor_name=str(principal),
        )
    text = f"{_task_text(task)}：{previous} → {task.get_state_display()}"
    _timeline(task.response.event, f"{text}。{note}" if note else text, principal)
    audit_change(
        principal,
        "response.task.state",
        task,
        before=before,
        after={**snapshot(task), "note": note},
    )
    return task


@transaction.atomic
def add_note(principal: Principal, task: Task, text: str) -> TaskNote:
    """A progress note (进展) on a task, by the assigned unit or a manager."""
    task = _lock_task(task)
    _require_worker(principal, task)
    errors: dict[str, list[str]] = {}
    if _blank(text):
        errors["text"] = ["进展情况为必填项"]
    _check_not_archived(task.response.event, errors)
    _raise(errors)
    note = TaskNote.objects.create(
        task=task,
        text=text.strip(),
        at=clock.now(),
        author_id=principal.person_id,
        actor_name=str(principal),
    )
    _timeline(task.response.event, f"{_task_text(task)}进展：{note.text}", principal)
    audit_change(principal, "response.note.add", note, after=snapshot(note))
    return note


@transaction.atomic
def add_evidence(principal: Principal, task: Task, files: list[File]) -> list[Evidence]:
    """Photos and videos for a task, checked by content (`events.attachments`: a program
    renamed .jpg is refused) and stored by digest. All or nothing: one refused file refuses
    them all, each named. The same content again is the evidence already there."""
    task = _lock_task(task)
    _require_worker(principal, task)
    errors: dict[str, list[str]] = {}
    messages, checked = [], []
    for upload in files:
        try:
            result = attachments.check(upload, upload.name or "", upload.size)
        except attachments.Refused as exc:
            messages.append(str(exc))
            continue
        if result.kind not in EVIDENCE_KINDS:
            messages.append(
                f"{result.name}：佐证材料只接受图片和视频（该文件为{attachments.KIND_NAMES[result.kind]}）"
            )
            continue
        checked.append((upload, result))
    if not files:
        messages.append("请选择要上传的图片或视频")
    if messages:
        errors["files"] = messages
    _check_not_archived(task.response.event, errors)
    _raise(errors)
    existing = {e.sha256: e for e in task.evidence.all()}
    moment = clock.now()
    added = []
    for upload, c in checked:
        if c.sha256 in existing:
            continue
        evidence = Evidence.objects.create(
            task=task,
            file=attachments.store(upload, c),
            name=c.name,
            kind=c.kind,
            content_type=c.content_type,
            size=c.size,
            sha256=c.sha256,
            uploaded_by_id=principal.person_id,
            uploaded_at=moment,
        )
        existing[c.sha256] = evidence
        audit_change(principal, "response.evidence.add", evidence, after=snapshot(evidence))
        added.append(evidence)
    if added:
        names = "、".join(e.name for e in added)
        _timeline(task.response.event, f"{_task_text(task)}上传佐证材料：{names}", principal)
    return [existing[c.sha256] for _upload, c in checked]


# --- the end ---------------------------------------------------------------------------


def _office_people(office: Unit, roles: list[str]) -> list[Person]:
    return [m.person for m in _members(office, roles)]


@transaction.atomic
def request_end(principal: Principal, response: Response, assessment: str) -> EndRequest:
    """提请结束: the assessment (评估判断) that the emergency is under control; the
    office's people who may approve the end are told."""
    response = _lock(response)
    _require_manager(principal, response)
    errors: dict[str, list[str]] = {}
    if response.state == ResponseState.ENDING:
        errors["response"] = ["已提请结束，正在等待批准"]
    elif response.state == ResponseState.ENDED:
        errors["response"] = ["应急响应已结束"]
    if _blank(assessment):
        errors["assessment"] = ["评估意见为必填项：请说明处置成效和影响是否已基本消除"]
    _check_not_archived(response.event, errors)
    _raise(errors)
    before = snapshot(response)
    request = EndRequest.objects.create(
        response=response,
        assessment=assessment.strip(),
        requested_at=clock.now(),
        requested_by_id=principal.person_id,
        requested_by_name=str(principal),
    )
    response.state = ResponseState.ENDING
    response.save(update_fields=["state"])
    _timeline(
        response.event, f"提请结束{response.label}。评估意见：{request.assessment}", principal
    )
    audit_change(
        principal, "response.end.request", response, before=before, after=snapshot(response)
    )
    plan = selectors.plan_for(response.level)
    notify_people(
        _office_people(response.office, list(plan.end_roles)),
        subject=f"【请批准结束应急响应】{response.event.title}",
        body=f"{principal}提请结束{response.label}。评估意见：{request.assessment}",
        key=f"response:{response.pk}:end:{request.pk}",
        link=board_link(response.event_id),
        ref=f"response:{response.pk}",
        **marks(response.event),
    )
    return request


def _end_event(principal: Principal, response: Response) -> None:
    """An approved end moves the event to 已结束 through the events lifecycle (via 处置中
    when the event never got there); an event already ended or archived, or found untrue,
    keeps its status."""
    event = response.event
    note = f"批准结束{response.label}"
    if event.status in (EventStatus.NEW, EventStatus.VERIFIED):
        event_services.change_status(principal, event, EventStatus.HANDLING, note=note)
    if event.status == EventStatus.HANDLING:
        event_services.change_status(principal, event, EventStatus.ENDED, note=note)


@transaction.atomic
def decide_end(
    principal: Principal, response: Response, *, approve: bool, note: str = ""
) -> Response:
    """Approve (the response ends and the event moves to 已结束) or refuse (with a reason;
    the response goes on) the pending end request. Only the level's end roles may."""
    response = _lock(response)
    request = response.end_requests.filter(decision=EndRequest.Decision.PENDING).first()
    if response.state != ResponseState.ENDING or request is None:
        raise ValidationError({"response": ["没有待批准的结束申请"]})
    plan = selectors.plan_for(response.level)
    if not selectors.may_approve_end(principal, response):
        raise PermissionDenied(
            f"结束{response.label}须经{response.office.name}（或上级）的"
            f"{_role_labels(plan.end_roles)}批准"
        )
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if not approve and not note:
        errors["note"] = ["不批准时须说明理由"]
    if approve and response.event.status == EventStatus.VERIFYING:
        errors["event"] = ["事件尚在核实中，不能结束：请值班员先完成核实"]
    _check_not_archived(response.event, errors)
    _raise(errors)
    before = snapshot(response)
    moment = clock.now()
    request.decision = EndRequest.Decision.APPROVED if approve else EndRequest.Decision.REJECTED
    request.decided_at = moment
    request.decided_by_id = principal.person_id
    request.decided_by_name = str(principal)
    request.decision_note = note
    request.save()
    suffix = f"。审批意见：{note}" if note else ""
    if approve:
        response.state = ResponseState.ENDED
        response.ended_at = moment
        response.save(update_fields=["state", "ended_at"])
        unfinished = response.tasks.filter(state__in=OPEN_TASK_STATES).count()
        left = f"（尚有 {unfinished} 项任务未完成）" if unfinished else ""
        _timeline(response.event, f"批准结束{response.label}{left}{suffix}", principal)
    else:
        response.state = ResponseState.ACTIVE
        response.save(update_fields=["state"])
        _timeline(response.event, f"未批准结束{response.label}{suffix}", principal)
    audit_change(
        principal,
        "response.end.approve" if approve else "response.end.reject",
        response,
        before=before,
        after={**snapshot(response), "request": request.pk, "note": note},
    )
    recipients = [leader.person for leader in selectors.current_leaders(response)]
    if request.requested_by_id:
        recipients.append(request.requested_by)
    decided = "已批准结束" if approve else "未批准结束"
    notify_people(
        recipients,
        subject=f"【{decided}应急响应】{response.event.title}",
        body=f"{principal}{decided}{response.label}{suffix}",
        key=f"response:{response.pk}:end:{request.pk}:decided",
        link=board_link(response.event_id),
        ref=f"response:{response.pk}",
        **marks(response.event),
    )
    if approve:
        _end_event(principal, response)
    return response


@transaction.atomic
def summarize(principal: Principal, response: Response, summary: str) -> Response:
    """处置总结 after the end: a short text shown on the event page (can be revised until
    the event is archived)."""
    response = _lock(response)
    _require_manager(principal, response)
    errors: dict[str, list[str]] = {}
    if response.state != ResponseState.ENDED:
        errors["summary"] = ["应急响应结束后才能填写处置总结"]
    elif _blank(summary):
        errors["summary"] = ["处置总结为必填项"]
    _check_not_archived(response.event, errors)
    _raise(errors)
    before = snapshot(response)
    verb = "修改处置总结" if response.summary else "处置总结"
    response.summary = summary.strip()
    response.summarized_at = clock.now()
    response.summarized_by_id = principal.person_id
    response.save(update_fields=["summary", "summarized_at", "summarized_by"])
    _timeline(response.event, f"{verb}：{response.summary}", principal)
    audit_change(principal, "response.summary", response, before=before, after=snapshot(response))
    return response


# --- merging events ----------------------------------------------------------------------


def events_merged(source: Event, target: Event) -> None:
    """The merged event's responses move to the target, which keeps one open response:
    two events both under response cannot be merged until one response ends."""
    moving = Response.objects.filter(event=source)
    if (
        moving.filter(state__in=OPEN_RESPONSE_STATES).exists()
        and Response.objects.filter(event=target, state__in=OPEN_RESPONSE_STATES).exists()
    ):
        raise ValidationError(
            {"target": ["两个事件都在应急响应中，不能合并：请先结束其中一个事件的应急响应"]}
        )
    moving.update(event=target)


# --- drill data ------------------------------------------------------------------------------


@transaction.atomic
def close_drill(drill_tag: str, note: str) -> int:
    """A drill run ended: its open responses end with it (so no overdue loop chases drill
    tasks afterwards), noted on each event's timeline. Only responses of events carrying
    the tag. Returns how many were ended."""
    if not drill_tag:
        raise ValueError("close_drill needs a drill tag")
    moment = clock.now()
    responses = list(
        Response.objects.select_for_update(of=("self",))
        .filter(event__drill_tag=drill_tag, event__is_drill=True, state__in=OPEN_RESPONSE_STATES)
        .select_related("event")
    )
    for response in responses:
        response.state, response.ended_at = ResponseState.ENDED, moment
        response.save(update_fields=["state", "ended_at"])
        _timeline(response.event, f"{note}：{response.label}随演练结束。", None)
    return len(responses)
