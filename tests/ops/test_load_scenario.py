"""The load scenario's parts that can break without anyone running `make load` (which
needs locust, an optional dependency the suite does not install): the organisation it
builds, and the endpoints and panel timers its locustfile names. No timing here.

The locustfile is read as text (its syntax tree), not imported: importing locust
monkey-patches the standard library with gevent for the rest of the test process."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from fenghuo.api import unknown_path
from fenghuo.desk.views import PANELS as DESK_PANELS
from fenghuo.opinion.models import Scheme
from fenghuo.org.models import Membership, Role, Unit
from fenghuo.org.services import token_authenticate

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"
DESK_TEMPLATE = ROOT / "src" / "fenghuo" / "desk" / "templates" / "desk" / "duty_desk.html"


def _scenario(name: str = "scenario"):
    spec = importlib.util.spec_from_file_location(
        f"load_{name}", ROOT / "bench" / "load" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _locust_tree() -> ast.Module:
    return ast.parse(LOCUSTFILE.read_text(encoding="utf-8"))


def _panels() -> dict[str, int]:
    for node in ast.walk(_locust_tree()):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "PANELS" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("no PANELS in the locustfile")


@pytest.mark.django_db
def test_setup_builds_the_organisation_the_users_need():
    scenario = _scenario()
    data = scenario.setup_org(points=12, officers=3)

    office = Unit.objects.get(is_receiving_office=True, depth=1)
    assert len(data["points"]) == 12
    assert len({p["token"] for p in data["points"]}) == 12
    for point in data["points"]:
        token = token_authenticate(point["token"])
        assert token is not None and token.unit.name == point["unit"]
        assert Unit.objects.get_parent(token.unit) == office
        assert Membership.objects.filter(unit=token.unit, role=Role.REPORTER).exists()
    assert token_authenticate(data["opinion_token"]).unit == office
    assert Scheme.objects.filter(owner_unit=office, is_active=True).count() == scenario.SCHEMES
    for officer in data["officers"]:
        client = Client()  # signs in through the form, as the locust officers do
        answer = client.post(
            "/login/", {"username": officer["username"], "password": officer["password"]}
        )
        assert answer.status_code == 302
        assert client.get("/desk/").status_code == 200
    assert scenario.count_rows() == {"reports": 0, "events": 0, "idempotency": 0, "posts": 0}


@pytest.mark.django_db
def test_the_cost_table_times_every_request_type_of_the_scenario():
    """bench/load/costs.py: every request type the locust users send, answered (it raises
    on a wrong status) and measured, on a small organisation. No timing is judged."""
    costs = _scenario("costs")
    assert {n.removeprefix("panel ") for n in costs.RATES if n.startswith("panel ")} == set(
        _panels()
    )
    result = costs.measure(2, 30, points=12, officers=2)
    rows = {row["name"]: row for row in result["rows"]}
    assert set(rows) == set(costs.RATES)
    assert all(row["sql"] > 0 and row["cpu_ms"] > 0 for row in rows.values())


@pytest.mark.django_db
def test_the_profile_of_one_request_type_names_its_sql_senders_and_templates():
    """costs.py --profile: the SQL each request sent, by the function of ours that sent
    it, and each template's CPU."""
    costs = _scenario("costs")
    result = costs.measure(2, 30, "page /events/[id]/", points=12, officers=2)
    senders = {sql.split("  ", 1)[0] for sql, _count, _ms in result["sql"]}
    assert "fenghuo/events/views.py:_visible_event" in senders
    templates = {name: renders for _ms, renders, name in result["templates"]}
    assert templates["events/event_detail.html"] == 1.0


@pytest.mark.django_db
def test_the_profile_counts_every_savepoint_as_one_shape():
    costs = _scenario("costs")
    result = costs.measure(2, 30, "POST /api/reports 续报", points=12, officers=2)
    savepoints = [(sql, count) for sql, count, _ms in result["sql"] if "SAVEPOINT" in sql]
    assert ('fenghuo/intake/api.py:create  SAVEPOINT "s…"', 1.0) in savepoints


def test_point_names_are_distinct_for_two_hundred():
    names = [name for name, *_ in _scenario().point_names(200)]
    assert len(set(names)) == 200


def test_locustfile_paths_are_real_endpoints():
    tree = _locust_tree()
    pieces = {  # the literal parts of f-strings are not paths of their own
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    paths = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and id(node) not in pieces
        and isinstance(node.value, str)
        and re.fullmatch(r"/[\w/-]*/?", node.value)
    }
    assert {"/api/reports", "/api/opinion/posts", "/desk/", "/desk/feed/", "/events/"} <= paths
    for path in [*paths, "/events/1/", *(f"/desk/panels/{name}/" for name in _panels())]:
        try:
            match = resolve(path)
        except Resolver404:
            pytest.fail(f"the locustfile requests {path}, which no URL serves")
        assert match.func is not unknown_path, path


def test_panel_timers_follow_the_desk_page():
    """The officers re-fetch each panel as often as the page's hx-trigger says."""
    template = DESK_TEMPLATE.read_text(encoding="utf-8")
    on_page = {
        name: int(seconds)
        for name, seconds in re.findall(
            r"url 'desk-panel' '([\w-]+)' %\}\" hx-trigger=\"every (\d+)s", template
        )
    }
    assert on_page, "no panel timers found in duty_desk.html"
    assert _panels() == on_page
    assert set(on_page) <= set(DESK_PANELS)
