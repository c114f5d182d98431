"""The duty desk and the shell's area pages (thin: reads come from selectors)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from fenghuo.core.selectors import worker_statuses
from fenghuo.org.policy import principal_for
from fenghuo.org.selectors import on_duty, units_with_role

# Areas of the navigation shell that later work fills in: slug → title.
AREAS = {
    "alerts": _("预警"),
    "release": _("信息发布"),
    "opinion": _("舆情"),
    "assess": _("考核"),
    "drills": _("演练"),
}


@login_required
def duty_desk(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    offices = units_with_role(principal)
    duty = [(office, on_duty(office)) for office in offices if office.is_receiving_office]
    workers = worker_statuses()
    return render(
        request,
        "desk/duty_desk.html",
        {
            "nav": "desk",
            "duty": duty,
            "workers": workers,
            "worker_down": not any(w.alive for w in workers),
        },
    )


@login_required
def area(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in AREAS:
        raise Http404
    return render(request, "desk/area.html", {"nav": slug, "title": AREAS[slug]})
