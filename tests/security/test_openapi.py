"""The spec documents every error the API gives, in one shape, and no two schemas share a
component name (one would silently replace the other in the spec)."""

import importlib
import pkgutil

import pytest
from django.test import Client
from ninja import Schema

import fenghuo

pytestmark = pytest.mark.django_db


def test_every_operation_documents_the_common_errors():
    spec = Client().get("/api/openapi.json").json()
    error = spec["components"]["schemas"]["ApiError"]
    assert set(error["required"]) == {"detail"} and "errors" in error["properties"]
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            needed = {"400", "403", "404", "413", "422", "429"}
            if operation.get("security"):
                needed.add("401")
            if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", [])):
                needed.add("409")
            if needed - codes:
                missing.append((method, path, sorted(needed - codes)))
    assert missing == []


def _schemas() -> dict[str, set[str]]:
    for module in pkgutil.walk_packages(fenghuo.__path__, "fenghuo."):
        if module.name.endswith((".api", ".schemas")):
            importlib.import_module(module.name)
    seen: dict[str, set[str]] = {}
    stack = list(Schema.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("fenghuo."):
            seen.setdefault(cls.__name__, set()).add(
                str(sorted(cls.model_json_schema().get("properties", {}).items()))
            )
    return seen


def test_no_two_different_schemas_share_a_name():
    clashes = {name for name, shapes in _schemas().items() if len(shapes) > 1}
    assert clashes == set()
