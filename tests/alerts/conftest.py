import pytest

from tests.alerts.world import module_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    yield from module_world(django_db_blocker)


@pytest.fixture(autouse=True)
def _in_app_only(settings):
    """In-app messages only, so outbox counts are the recipients."""
    settings.FENGHUO_NOTIFY_CHAIN = []
