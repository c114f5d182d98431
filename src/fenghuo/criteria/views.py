"""The report form's live grading panel: a fragment htmx fetches as the user types."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from fenghuo.criteria import services
from fenghuo.criteria.forms import PreviewForm

PANEL = "criteria/_grading.html"


@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """POST the report form's fields; 200 with the grading (or a hint while no category is
    chosen), 422 naming fields that cannot be read. A fragment, so no login redirect: 403."""
    if not request.user.is_authenticated:
        return HttpResponse("请先登录", status=403, content_type="text/plain; charset=utf-8")
    form = PreviewForm(request.POST)
    if not form.is_valid():
        return render(request, PANEL, {"form": form}, status=422)
    if not form.has_category:
        return render(request, PANEL, {"form": form})
    facts = form.facts()
    if facts is None:
        return render(request, PANEL, {"form": form}, status=422)
    context = {"form": form, "grading": services.evaluate(facts), "assumed": form.occurred_assumed}
    return render(request, PANEL, context)
