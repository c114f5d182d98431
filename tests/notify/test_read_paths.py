"""Messages on every read path — the inbox API and the desk's inbox panel, the dead-letter
API and the desk's dead-letter panel — agree with `selectors.inbox` (each person's own) and
`selectors.dead_letters`."""

import pytest

from fenghuo.notify import selectors, services
from fenghuo.notify.models import Message
from fenghuo.org.policy import principal_for
from tests.notify.test_access import dead  # noqa: F401 - fixture
from tests.read_paths import signed_in

pytestmark = pytest.mark.django_db
READERS = ["county_duty", "county_reporter", "city_duty", "other_duty", "no_address"]


@pytest.mark.parametrize("who", READERS)
def test_every_read_path_agrees_with_the_selectors(org, dead, who):  # noqa: F811
    people = org["people"]
    for n, person in enumerate(people.values()):
        services.notify_people([person], subject=f"站内消息{n}号", body="正文", key=f"m{n}")
    person = people[who]
    client, reader = signed_in(person), principal_for(person)

    own = set(selectors.inbox(person, limit=500).values_list("pk", flat=True))
    assert own and all(m.person_id == person.pk for m in Message.objects.filter(pk__in=own))
    api = {m["id"] for m in client.get("/api/notify/inbox?limit=500").json()["items"]}
    assert api == own
    panel = client.get("/desk/panels/inbox/").content.decode()
    for n, other in enumerate(people.values()):
        assert (f"站内消息{n}号" in panel) is (other == person)

    letters = set(selectors.dead_letters(reader).values_list("pk", flat=True))
    listed = {m["id"] for m in client.get("/api/notify/dead-letters").json()}
    assert listed == letters
    shown = client.get("/desk/panels/dead-letters/").content.decode()
    for message in Message.objects.filter(state="dead"):
        assert (f'data-message="{message.pk}"' in shown) is (message.pk in letters)
