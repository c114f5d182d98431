"""The event page shows the event's releases and 起草信息发布 to whoever may draft."""

import pytest
from django.test import Client

from fenghuo.org.models import Person
from tests.release.world import build_world, draft, file_event, published

pytestmark = pytest.mark.django_db


def _page(world, who: str, event) -> str:
    client = Client()
    client.force_login(Person.objects.get(pk=world["people"][who].pk))
    response = client.get(f"/events/{event.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_event_page_lists_releases_and_offers_drafting():
    world = build_world()
    event = file_event(world)
    version = published(world, event)
    pending = draft(world, file_event(world))
    html = _page(world, "reporter", event)
    assert f"/releases/{version.release_id}/" in html and "已发布" in html
    assert f"/releases/new/?event={event.pk}" in html
    # A duty officer above reads the event and may draft for the city, but does not see
    # another unit's draft; an administrator reads the event and drafts nothing.
    city = _page(world, "city_duty", pending.release.event)
    assert f"/releases/{pending.release_id}/" not in city
    assert f"/releases/new/?event={pending.release.event_id}" in city
    assert "/releases/new/" not in _page(world, "em_admin", event)
