"""The public front page and the list of feeds (no login). It composes the public reads of
`alerts` and `release`, so it sits at the top with urls.py. Only those selectors feed it:
issued, non-drill, public warnings and published, non-drill releases."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from fenghuo.alerts.selectors import public_warnings
from fenghuo.release.selectors import public_releases

LATEST_RELEASES = 10


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "public/index.html",
        {
            "title": "首页",
            "warnings": list(public_warnings().select_related("issuing_unit")),
            "releases": list(public_releases()[:LATEST_RELEASES]),
        },
    )


@require_GET
def feeds(request: HttpRequest) -> HttpResponse:
    return render(request, "public/feeds.html", {"title": "订阅", "nav": "feeds"})
