"""A response, its tasks and their evidence on every read path — the event's responses,
the response, its tasks, evidence over the API and the page, the board — agree with
`responses_visible` / `tasks_visible` / `evidence_visible`."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fenghuo.response import selectors, services
from tests.events.world import principal
from tests.read_paths import disagreements, signed_in
from tests.response.test_access import JPEG, READERS
from tests.response.world import assign, file_event, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(world):
    response = start(world, file_event(world), level=4)
    tasks = {unit: assign(world, response, unit=unit) for unit in ("police", "health")}
    evidence = [
        services.add_evidence(
            principal(world, unit),
            task,
            [SimpleUploadedFile(f"{unit}.jpg", JPEG + unit.encode(), content_type="image/jpeg")],
        )[0]
        for unit, task in tasks.items()
    ]
    return response, list(tasks.values()), evidence


@pytest.mark.parametrize("who", [*READERS, "member_a"])
def test_every_read_path_agrees_with_the_selectors(world, scene, who):
    response, tasks, evidence = scene
    client, reader = signed_in(world["people"][who]), principal(world, who)
    sees_response = selectors.responses_visible(reader).filter(pk=response.pk).exists()
    seen_tasks = set(
        selectors.tasks_visible(reader).filter(response=response).values_list("pk", flat=True)
    )
    seen_evidence = set(
        selectors.evidence_visible(reader)
        .filter(pk__in=[e.pk for e in evidence])
        .values_list("pk", flat=True)
    )
    listed = client.get(f"/api/events/{response.event_id}/responses")
    assert listed.status_code in (200, 404)  # 404: the event itself is not theirs to see
    ids = {r["id"] for r in listed.json()} if listed.status_code == 200 else set()
    assert (response.pk in ids) is sees_response
    wrong = disagreements(
        client,
        [response],
        {response.pk} if sees_response else set(),
        ["/api/responses/{pk}", "/api/responses/{pk}/tasks"],
    )
    wrong += disagreements(
        client,
        [response.event],
        {response.event_id} if sees_response else set(),
        ["/response/events/{pk}/"],
    )
    wrong += disagreements(
        client, evidence, seen_evidence, ["/api/response-evidence/{pk}", "/response/evidence/{pk}/"]
    )
    assert wrong == []
    if sees_response:
        api_tasks = {t["id"] for t in client.get(f"/api/responses/{response.pk}/tasks").json()}
        assert api_tasks == seen_tasks
    # Evidence of a task the reader cannot see is never readable.
    for item in evidence:
        if item.task_id not in seen_tasks:
            assert item.pk not in seen_evidence
