import pytest

from fenghuo.core import clock
from tests.assess.world import NOW, module_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The cast alone."""
    yield from module_world(django_db_blocker)


@pytest.fixture(scope="module")
def period(django_db_setup, django_db_blocker):
    """The cast with January–February 2026 filed (see world.build_period)."""
    yield from module_world(django_db_blocker, period=True)


@pytest.fixture
def at_now():
    """The clock pinned where the period's figures are read (20 February 2026, noon)."""
    with clock.frozen_at(NOW):
        yield NOW
