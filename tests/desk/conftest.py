"""Fixtures of the duty-desk tests: the events world (tests/events/world.py), built once per
module and rolled back at the end; each test runs in a savepoint of its own."""

import pytest

from tests.events.world import module_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    yield from module_world(django_db_blocker)
