"""Organisation pages: the unit tree and the contacts directory."""

from dataclasses import dataclass, field

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
