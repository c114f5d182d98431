"""Reads of responses, tasks and evidence, each through the access policy, and the
questions "may this principal start / manage / work on / approve …".

Who reads a response and its tasks: whoever may see the event (`events.selectors.
events_visible`: the policy's unit scope and clearance), and beyond that — as a verification
task puts a report in front of the unit asked — the people named to lead the response
(a department head may lead without seeing the event's reports) and the units a task is
assigned to (their 信息员, 单位领导 and 值班员 see their own tasks). Neither sees the event's
reports through this: only the response, its tasks and their evidence.

Who acts (roles as `org.Role` values; "at or above" = in that unit or a unit above it):
- start a level: a role in that level's `LevelPlan.start_roles` (default: the leading
  group and 值班员) in an office at or above a unit that reported the event; the response
  is that office's. Raise / lower: the new level's start roles at or above the office.
- manage (assign and adjust tasks, request the end, summarise): the response's current
  leaders, or the current level's start roles at or above the office.
- work on a task (state, progress notes, evidence): managers, and the assigned unit's
  信息员 / 单位领导 / 值班员 (also through the unit's API token).
- approve the end: the current level's `LevelPlan.end_roles` (default 组长 / 副组长) at or
  above the office.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet

from fenghuo.events import services as event_services
from fenghuo.events.models import Event
from fenghuo.events.selectors import ANSWERING_ROLES, events_visible
from fenghuo.org.models import Unit
from fenghuo.org.policy import Principal
from fenghuo.response.models import (
    OPEN_RESPONSE_STATES,
    Evidence,
    Leader,
    Level,
    LevelPlan,
    Response,
    Task,
)


def plan_for(level: int) -> LevelPlan:
    plan = LevelPlan.objects.filter(level=level).first()
    if plan is None:
        label = Level(level).label if level in Level.values else str(level)
        raise ValidationError({"level": [f"{label}响应尚未配置（系统管理 › 响应级别设置）"]})
    return plan


def holds_over(principal: Principal, roles: list[str], unit: Unit) -> bool:
    """Does the principal hold one of `roles` in `unit` or in a unit above it?"""
    return principal.is_superuser or any(
        g.role in roles and unit.path.startswith(g.unit_path) for g in principal.grants
    )


def _answering_units(principal: Principal) -> set[int]:
    return {g.unit_id for g in principal.grants if g.role in ANSWERING_ROLES}


def event_role_allows(principal: Principal, event: Event, roles: tuple[str, ...]) -> bool:
    """The events app's own rule for status changes (roles at or above a reporting unit)."""
    try:
        event_services.require_event_role(principal, event, roles)
    except PermissionDenied:
        return False
    return True


def start_offices(principal: Principal, event: Event, plan: LevelPlan) -> list[Unit]:
    """Offices in whose name the principal may start `plan`'s level on `event`, nearest to
    the event first: units at or above a reporting unit where they hold a start role (a
    superuser: every receiving office at or above one)."""
    paths = list(event.reports.values_list("unit__path", flat=True))
    if principal.is_superuser:
        ids = {
            pk
            for pk, path in Unit.objects.filter(is_receiving_office=True).values_list("pk", "path")
            if any(p.startswith(path) for p in paths)
        }
    else:
        ids = {
            g.unit_id
            for g in principal.grants
            if g.role in plan.start_roles and any(p.startswith(g.unit_path) for p in paths)
        }
    return list(Unit.objects.filter(pk__in=ids, is_active=True).order_by("-depth", "path"))


def offices_to_start(principal: Principal, event: Event) -> list[Unit]:
    """Offices in whose name the principal may start some level (nearest first)."""
    offices: dict[int, Unit] = {}
    for plan in LevelPlan.objects.all():
        for office in start_offices(principal, event, plan):
            offices.setdefault(office.pk, office)
    return sorted(offices.values(), key=lambda u: (-u.depth, u.path))


def current_leaders(response: Response) -> list[Leader]:
    return list(
        response.leaders.filter(relieved_at__isnull=True)
        .select_related("person", "unit")
        .order_by("pk")
    )


def may_manage(principal: Principal, response: Response) -> bool:
    if principal.person_id is not None and any(
        leader.person_id == principal.person_id for leader in current_leaders(response)
    ):
        return True
    return holds_over(principal, plan_for(response.level).start_roles, response.office)


def may_work_on(principal: Principal, task: Task) -> bool:
    return task.unit_id in _answering_units(principal) or may_manage(principal, task.response)


def may_approve_end(principal: Principal, response: Response) -> bool:
    return holds_over(principal, plan_for(response.level).end_roles, response.office)


def _led_by(principal: Principal) -> QuerySet[Leader]:
    return Leader.objects.filter(person_id=principal.person_id)


def responses_visible(principal: Principal) -> QuerySet[Response]:
    q = Q(event__in=events_visible(principal))
    q |= Q(pk__in=Task.objects.filter(unit_id__in=_answering_units(principal)).values("response"))
    if principal.person_id is not None:
        q |= Q(pk__in=_led_by(principal).values("response"))
    return Response.objects.filter(q).select_related("event", "office")


def tasks_visible(principal: Principal) -> QuerySet[Task]:
    """Tasks of responses on events the principal sees or leads, and tasks assigned to the
    units the principal answers for."""
    q = Q(response__event__in=events_visible(principal))
    q |= Q(unit_id__in=_answering_units(principal))
    if principal.person_id is not None:
        q |= Q(response__in=_led_by(principal).values("response"))
    return Task.objects.filter(q).select_related("response", "response__event", "unit")


def evidence_visible(principal: Principal) -> QuerySet[Evidence]:
    """Evidence is read with its task's access, never on its own."""
    return Evidence.objects.filter(task__in=tasks_visible(principal)).select_related("task")


def board_events(principal: Principal) -> QuerySet[Event]:
    """Events whose response board the principal may open."""
    return Event.objects.filter(
        Q(pk__in=events_visible(principal).values("pk"))
        | Q(pk__in=responses_visible(principal).values("event"))
    ).select_related("category", "category__parent")


def open_response(event: Event) -> Response | None:
    return (
        Response.objects.filter(event=event, state__in=OPEN_RESPONSE_STATES)
        .select_related("office")
        .first()
    )


def event_responses(principal: Principal, event: Event) -> QuerySet[Response]:
    """The event's responses the principal may read, the open one first, then the latest."""
    return responses_visible(principal).filter(event=event).order_by("-started_at", "-pk")


def response_tasks(principal: Principal, response: Response) -> QuerySet[Task]:
    return (
        tasks_visible(principal)
        .filter(response=response)
        .prefetch_related("notes", "evidence")
        .order_by("due_at", "pk")
    )
