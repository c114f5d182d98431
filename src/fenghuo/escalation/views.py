"""Page actions on routes: sign off (审签) and acknowledge (签收). Thin: the service decides.

The fragments that show an event's routes and obligations (with these buttons) are
rendered by the `escalation` template tags, for the event page and the desk to include.
"""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from fenghuo.escalation import selectors, services
from fenghuo.escalation.models import Route
from fenghuo.org.policy import Principal, principal_for


def _back(request: HttpRequest, route: Route) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    if route.report.event_id:
        return redirect("event-detail", pk=route.report.event_id)
    return redirect("duty-desk")


def _act(
    request: HttpRequest, pk: int, action: Callable[[Principal, Route], object], done: str
) -> HttpResponse:
    principal = principal_for(request.user)
    route = get_object_or_404(selectors.routes_visible(principal), pk=pk)
    try:
        action(principal, route)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权执行此操作")
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, done.format(route=route))
    return _back(request, route)


@login_required
@require_POST
def sign_off(request: HttpRequest, pk: int) -> HttpResponse:
    note = request.POST.get("note", "")[:200]
    return _act(
        request,
        pk,
        lambda principal, route: services.sign_off(principal, route, note=note),
        "已审签，{route.report.kind_label}已报送。",
    )


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        services.acknowledge,
        "已签收{route.report.unit.name}{route.report.kind_label}。",
    )
