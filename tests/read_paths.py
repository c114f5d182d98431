"""Read-path agreement: every way of reading an object (API list and detail, documents,
pages) shows a reader exactly what the app's selector grants. The selectors themselves are
checked against each app's rules by its own access matrix; this catches a path that reads
around them."""

from collections.abc import Callable, Iterable
from typing import Any

from django.test import Client

from fenghuo.org.models import Person


def signed_in(person: Person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def with_token(plaintext: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")


def disagreements(
    client: Client,
    objects: Iterable[Any],
    expected: set[int],
    paths: Iterable[str],
    *,
    ok: Callable[[int], bool] = lambda status: status == 200,
    refused: tuple[int, ...] = (404,),
) -> list[tuple[int, str, int]]:
    """(object id, path, status) wherever a one-object path answers otherwise than its
    visibility says: `ok(status)` for a visible object, one of `refused` for any other
    (404 by default: an object one may not see does not exist for them)."""
    wrong = []
    for obj in objects:
        for path in paths:
            status = client.get(path.format(pk=obj.pk)).status_code
            if (obj.pk in expected and not ok(status)) or (
                obj.pk not in expected and status not in refused
            ):
                wrong.append((obj.pk, path, status))
    return wrong
