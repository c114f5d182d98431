"""Fixtures of the org tests."""

import pytest
from django.db import transaction

from tests.org.access_rules import World, build_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> World:
    """One organisation world per test module, built once and rolled back at the end.

    Tests that touch the database still request `db`: each runs in a savepoint inside this
    module-wide transaction, so nothing one test writes is seen by the next.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)
