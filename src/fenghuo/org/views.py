"""Organisation pages: the unit tree and the contacts directory."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from fenghuo.org import selectors
from fenghuo.org.policy import principal_for


@login_required
def unit_tree(request: HttpRequest) -> HttpResponse:
    return render(request, "org/unit_tree.html", {"nav": "org", "units": selectors.unit_tree()})


@login_required
def contacts(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:50]
    rows = selectors.contacts(principal_for(request.user), search=query)
    return render(request, "org/contacts.html", {"nav": "org", "rows": rows, "q": query})
