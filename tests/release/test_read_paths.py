"""Releases and their versions on every read path — API list and detail, texts, the press
release (.docx), the staff list and pages, the public pages and feed — agree with
`releases_visible` / `versions_visible` and the public rule."""

import pytest

from fenghuo.release import selectors, services
from fenghuo.release.models import Release
from tests.read_paths import disagreements, signed_in
from tests.release.test_access import MATRIX
from tests.release.world import draft, file_event, principal, published

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(world):
    shown = published(world, file_event(world))
    drill = published(
        world, file_event(world, title="江口县演练事件", place="演练场"), is_drill=True
    )
    pending = draft(world, file_event(world, title="江口县城区内涝", place="江口县城关镇"))
    services.submit(principal(world, "reporter"), pending)
    hidden = draft(world, file_event(world, title="江口县山体滑坡", place="江口县青山镇"))
    return [shown, drill, pending, hidden]


@pytest.mark.parametrize("who", [w for w in MATRIX if w != "superuser"])
def test_every_staff_read_path_agrees_with_the_selectors(world, versions, who):
    client, reader = signed_in(world["people"][who]), principal(world, who)
    ours = {v.pk for v in versions}
    releases = [v.release for v in versions]
    seen_versions = set(
        selectors.versions_visible(reader).filter(pk__in=ours).values_list("pk", flat=True)
    )
    seen_releases = set(
        selectors.releases_visible(reader)
        .filter(pk__in=[r.pk for r in releases])
        .values_list("pk", flat=True)
    )
    listed = {r["id"] for r in client.get("/api/releases?limit=500").json()}
    assert listed & {r.pk for r in releases} == seen_releases
    page = client.get("/releases/")
    assert {release.pk for release, _ in page.context["rows"]} & {
        r.pk for r in releases
    } == seen_releases
    wrong = disagreements(
        client, releases, seen_releases, ["/api/releases/{pk}", "/releases/{pk}/"]
    )
    wrong += disagreements(
        client,
        versions,
        seen_versions,
        [
            "/api/releases/versions/{pk}/texts",
            "/api/releases/versions/{pk}/press-release.docx",
            "/releases/versions/{pk}/texts/",
            "/releases/versions/{pk}/press-release.docx",
        ],
    )
    assert wrong == []


def test_the_public_reads_published_real_releases_only(world, versions):
    shown, drill, pending, hidden = versions
    expected = {shown.release_id}
    assert set(selectors.public_releases().values_list("pk", flat=True)) == expected
    releases = list(Release.objects.filter(pk__in=[v.release_id for v in versions]))
    for client in (signed_in(world["people"]["reporter"]), signed_in(world["people"]["expert"])):
        assert disagreements(client, releases, expected, ["/public/releases/{pk}/"]) == []
    text = (
        signed_in(world["people"]["expert"]).get("/public/releases/").content.decode()
        + signed_in(world["people"]["expert"]).get("/public/feeds/releases.atom").content.decode()
    )
    for version in (drill, pending, hidden):
        assert f"/public/releases/{version.release_id}/" not in text
        assert version.title not in text or version.title == shown.title
