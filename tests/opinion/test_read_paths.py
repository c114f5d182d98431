"""Schemes and topics on every read path — the API, the scheme and topic pages, the stream
filtered by a scheme, the special report (.docx) of a scheme — agree with
`schemes_visible` / `topics_visible`."""

import pytest

from fenghuo.opinion import selectors, services
from fenghuo.opinion.models import Topic
from fenghuo.org import services as org_services
from fenghuo.org.policy import principal_for, principal_for_token
from tests.conftest import SYSTEM
from tests.opinion.conftest import post
from tests.read_paths import disagreements, signed_in, with_token

pytestmark = pytest.mark.django_db
READERS = ["province_analyst", "city_analyst", "other_analyst", "city_duty", "city_reporter"]


@pytest.fixture
def schemes(world):
    analyst = principal_for(world.province_analyst)
    made = [
        services.scheme_create(analyst, name=name, expression_text=text, owner_unit=unit)
        for name, text, unit in [
            ("省级方案", "示范省 AND 暴雨", world.province),
            ("临江方案", "临江市 AND 爆炸", world.city),
            ("东山方案", "东山市 AND 暴雨", world.other),
        ]
    ]
    services.ingest([post("1", "临江市化工厂爆炸"), post("2", "东山市暴雨成灾")], source="test")
    return made


@pytest.mark.parametrize("who", [*READERS, "token"])
def test_every_read_path_agrees_with_the_selectors(world, schemes, who):
    if who == "token":
        token, plaintext = org_services.token_issue(SYSTEM, unit=world.city, name="市系统")
        client, reader = with_token(plaintext), principal_for_token(token)
    else:
        person = getattr(world, who)
        client, reader = signed_in(person), principal_for(person)
    ours = {s.pk for s in schemes}
    expected = set(
        selectors.schemes_visible(reader).filter(pk__in=ours).values_list("pk", flat=True)
    )
    listed = client.get("/api/opinion/schemes")
    ids = {s["id"] for s in listed.json()} if listed.status_code == 200 else set()
    assert listed.status_code in (200, 403) and ids & ours == expected
    topics = list(Topic.objects.all())
    assert topics
    seen_topics = set(selectors.topics_visible(reader).values_list("pk", flat=True))
    wrong = disagreements(client, topics, seen_topics, ["/api/opinion/topics/{pk}"])
    if who != "token":
        # The opinion pages are for analysts and duty officers (403 for other roles, whatever
        # they may see); to those, a scheme they may not see does not exist.
        page = client.get("/opinion/schemes/")
        admitted = page.status_code == 200
        ok, refused = ((200,), (404,)) if admitted else ((403,), (403,))
        if admitted:
            assert {s.pk for s in page.context["schemes"]} & ours == expected
        paths = [
            "/opinion/schemes/{pk}/",
            "/opinion/stream/?scheme={pk}",
            "/opinion/reports/special.docx?scheme={pk}",
        ]
        wrong += disagreements(
            client, schemes, expected, paths, ok=lambda s: s in ok, refused=refused
        )
        wrong += disagreements(
            client,
            topics,
            seen_topics,
            ["/opinion/topics/{pk}/"],
            ok=lambda s: s in ok,
            refused=refused,
        )
    assert wrong == []
