"""Routes, sign-off, receipt, obligations and escalation chains over the API (thin)."""

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router

from fenghuo.core.sandbox import drill_q
from fenghuo.escalation import selectors, services
from fenghuo.escalation.models import OPEN_STATES, EscalationTarget, Obligation, Route
from fenghuo.escalation.schemas import (
    EventGradingOut,
    ObligationOut,
    PolicyIn,
    PolicyOut,
    RouteOut,
    SignOffIn,
)
from fenghuo.events.models import Event
from fenghuo.events.selectors import events_visible
from fenghuo.org.auth import request_principal
from fenghuo.org.models import Unit
from fenghuo.org.policy import Principal

router = Router(tags=["报送路由与时限"])
MAX_ROWS = 500


def _route_out(principal: Principal, route: Route) -> dict:
    report = route.report
    return {
        "id": route.pk,
        "report_id": report.pk,
        "report_kind": report.kind_label,
        "unit": report.unit.name,
        "event_id": report.event_id,
        "event_title": report.event.title if report.event_id else "",
        "office_id": route.office_id,
        "office": route.office.name,
        "level": route.level,
        "level_label": route.get_level_display(),
        "state": route.state,
        "state_label": route.get_state_display(),
        "urgent": route.urgent,
        "release": route.release,
        "release_label": route.get_release_display() if route.release else "",
        "created_at": route.created_at,
        "signed_off_by": str(route.signed_off_by) if route.signed_off_by_id else "",
        "signed_off_at": route.signed_off_at,
        "sent_at": route.sent_at,
        "acknowledged_by": str(route.acknowledged_by) if route.acknowledged_by_id else "",
        "acknowledged_at": route.acknowledged_at,
        "may_sign_off": selectors.may_sign_off(principal, route),
        "may_acknowledge": selectors.may_acknowledge(principal, route),
    }


def _obligation_out(obligation: Obligation) -> dict:
    return {
        "id": obligation.pk,
        "key": obligation.key,
        "kind": obligation.kind,
        "kind_label": obligation.get_kind_display(),
        "title": obligation.title,
        "event_id": obligation.event_id,
        "event_title": obligation.event.title,
        "obliged_unit_id": obligation.obliged_unit_id,
        "obliged_unit": obligation.obliged_unit.name,
        "office_id": obligation.office_id,
        "office": obligation.office.name if obligation.office_id else "",
        "level": obligation.level,
        "sequence": obligation.sequence,
        "report_id": obligation.report_id,
        "reason": obligation.reason,
        "created_at": obligation.created_at,
        "due_at": obligation.due_at,
        "state": obligation.state,
        "state_label": obligation.get_state_display(),
        "late_at": obligation.late_at,
        "missed_at": obligation.missed_at,
        "met_at": obligation.met_at,
        "minutes_late": obligation.minutes_late,
        "met_note": obligation.met_note,
        "next_step_at": obligation.next_step_at,
        "escalations": obligation.escalations,
    }


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_ROWS))


@router.get(
    "/routes",
    response=list[RouteOut],
    summary="报送路由",
    description="本人可见的报送路由。awaiting=signoff 只列待本人审签的，awaiting=receipt "
    "只列待本人所在值班室签收的；state 按状态（awaiting_signoff / sent / acknowledged）筛选。"
    "演练数据不在列表中；drill=true 时只列演练数据。",
)
def list_routes(
    request: HttpRequest,
    awaiting: str | None = None,
    state: str | None = None,
    drill: bool = False,
    limit: int = 200,
):
    principal = request_principal(request)
    if awaiting == "signoff":
        routes = selectors.awaiting_signoff(principal, drill=drill)
    elif awaiting == "receipt":
        routes = selectors.awaiting_receipt(principal, drill=drill)
    else:
        routes = (
            selectors.routes_visible(principal)
            .filter(drill_q(drill, "report__"))
            .order_by("-created_at", "-pk")
        )
    if state:
        routes = routes.filter(state=state)
    return [_route_out(principal, r) for r in routes[: _limit(limit)]]


def _visible_route(principal: Principal, route_id: int) -> Route:
    return get_object_or_404(selectors.routes_visible(principal), pk=route_id)


@router.post(
    "/routes/{route_id}/sign-off",
    response=list[RouteOut],
    summary="审签",
    description="报送单位的单位领导审签报告：该报告所有待审签的路由随即报送，返回已报送的路由。",
)
def sign_off(request: HttpRequest, route_id: int, payload: SignOffIn | None = None):
    principal = request_principal(request)
    route = _visible_route(principal, route_id)
    sent = services.sign_off(principal, route, note=payload.note if payload else "")
    return [_route_out(principal, r) for r in sent]


@router.post(
    "/routes/{route_id}/acknowledge",
    response=RouteOut,
    summary="签收",
    description="接报值班室的值班员签收报告：停止该报告的签收升级，并视为已电话报告本室。",
)
def acknowledge(request: HttpRequest, route_id: int):
    principal = request_principal(request)
    route = services.acknowledge(principal, _visible_route(principal, route_id))
    return _route_out(principal, route)


@router.get(
    "/obligations",
    response=list[ObligationOut],
    summary="报送义务",
    description="scope=desk（默认）：本人所在单位须履行或应接收的未完成义务，按时限先后；"
    "scope=visible：本人可见的全部义务，可按 state（pending / met / late / missed）筛选。"
    "演练数据不在列表中；drill=true 时只列演练数据。",
)
def list_obligations(
    request: HttpRequest,
    scope: str = "desk",
    state: str | None = None,
    drill: bool = False,
    limit: int = 200,
):
    principal = request_principal(request)
    if scope == "visible":
        obligations = (
            selectors.obligations_visible(principal)
            .filter(drill_q(drill, "event__"))
            .order_by("due_at", "pk")
        )
    else:
        obligations = selectors.desk_obligations(principal, drill=drill)
    if state:
        obligations = obligations.filter(state=state)
    return [_obligation_out(o) for o in obligations[: _limit(limit)]]


def _visible_event(principal: Principal, event_id: int) -> Event:
    return get_object_or_404(events_visible(principal), pk=event_id)


@router.get(
    "/events/{event_id}/obligations", response=list[ObligationOut], summary="事件的报送义务"
)
def event_obligations(request: HttpRequest, event_id: int, open: bool = False):
    principal = request_principal(request)
    obligations = selectors.event_obligations(principal, _visible_event(principal, event_id))
    if open:
        obligations = obligations.filter(state__in=OPEN_STATES)
    return [_obligation_out(o) for o in obligations]


@router.get("/events/{event_id}/routes", response=list[RouteOut], summary="事件的报送路由")
def event_routes(request: HttpRequest, event_id: int):
    principal = request_principal(request)
    routes = selectors.event_routes(principal, _visible_event(principal, event_id))
    return [_route_out(principal, r) for r in routes]


@router.get("/events/{event_id}/gradings", response=list[EventGradingOut], summary="事件的定级记录")
def event_gradings(request: HttpRequest, event_id: int):
    principal = request_principal(request)
    return list(selectors.event_gradings(principal, _visible_event(principal, event_id)))


def _policy_out(office: Unit) -> dict:
    chain = selectors.escalation_chains([office])[office.pk]
    return {
        "office_id": office.pk,
        "office": office.name,
        "policy": chain["policy"],
        "receipt_minutes": chain["receipt_minutes"],
        "steps": chain["steps"],
        "is_default": not hasattr(office, "escalation_policy"),
    }


def _office(office_id: int) -> Unit:
    # Structure (which offices exist, how they escalate) is readable by every signed-in person.
    return get_object_or_404(Unit, pk=office_id, is_receiving_office=True)


@router.get(
    "/offices/{office_id}/escalation-policy",
    response=PolicyOut,
    summary="签收升级规则",
    description="未设置时返回默认规则（is_default=true）。通知对象："
    + "、".join(f"{t.value}（{t.label}）" for t in EscalationTarget),
)
def get_policy(request: HttpRequest, office_id: int):
    return _policy_out(_office(office_id))


@router.put(
    "/offices/{office_id}/escalation-policy",
    response=PolicyOut,
    summary="设置签收升级规则",
    description="替换值班室的签收升级规则（管理员）。已在进行中的签收仍按开始时的规则执行。",
)
def put_policy(request: HttpRequest, office_id: int, payload: PolicyIn):
    office = _office(office_id)
    services.set_policy(
        request_principal(request),
        office,
        receipt_minutes=payload.receipt_minutes,
        steps=[(s.after_minutes, s.target) for s in payload.steps],
        note=payload.note,
    )
    return _policy_out(Unit.objects.get(pk=office.pk))
