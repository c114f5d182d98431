"""Organisation pages: the unit tree, the contacts directory, the sign-in lockout page."""

import math
from dataclasses import dataclass, field
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from fenghuo.org import selectors
from fenghuo.org.models import Unit
from fenghuo.org.policy import principal_for


@dataclass
class TreeNode:
    unit: Unit
    children: list["TreeNode"] = field(default_factory=list)


def nest(units: list[Unit]) -> list[TreeNode]:
    """Turn units in tree (path) order into nested nodes.

    A unit whose parent is not in the list (an inactive parent) is shown at the top level
    rather than dropped.
    """
    by_path: dict[str, TreeNode] = {}
    roots: list[TreeNode] = []
    for unit in units:
        node = TreeNode(unit)
        by_path[unit.path] = node
        parent = by_path.get(unit.path[: -Unit.steplen])
        (parent.children if parent is not None else roots).append(node)
    return roots


@login_required
def unit_tree(request: HttpRequest) -> HttpResponse:
    units = list(selectors.unit_tree())
    return render(
        request,
        "org/unit_tree.html",
        {"nav": "org", "roots": nest(units), "count": len(units)},
    )


@login_required
def contacts(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:50]
    rows = selectors.contacts(principal_for(request.user), search=query)
    return render(request, "org/contacts.html", {"nav": "org", "rows": rows, "q": query})


def locked_out(request: HttpRequest, *args: Any) -> HttpResponse:
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE): 429 with Retry-After, in Chinese.

    The lockout lasts the whole cool-off from the last failure, so that is the wait."""
    seconds = int(get_cool_off(request).total_seconds())
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": max(1, math.ceil(seconds / 60)), "failures": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
