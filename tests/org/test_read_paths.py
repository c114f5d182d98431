"""Every read path of events and reports against the rule table: the API (list, detail,
search, Word document, attachments, the event's routes, gradings, obligations and
responses), the pages (list, search, event page, attachment, the duty desk's feed) and the
public pages. One report with an attachment per position around HOME × mark; each reader
must get exactly the reports `access_rules.expected_for` allows, on every path.

Nothing is addressed to HOME here (ADDRESSED is the policy matrix's business): a report is
only ever routed up its own tree, where the subtree rule already applies.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from fenghuo.core import clock
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, ReportKind
from fenghuo.org.models import Role
from fenghuo.org.policy import Action, Grant, Principal
from tests.events.test_attachments import png
from tests.org.access_rules import MARK_IDS, MARKS, SAME, UNIT_POSITIONS, World, expected_for

pytestmark = pytest.mark.django_db

READERS = [*Role, "superuser", "token"]
WORD = "泄漏"  # in every narrative, for the searches
CATEGORIES = ["hazchem", "flood", "epidemic", "mass_incident", "fire", "food_safety"]


@pytest.fixture(scope="module")
def filed(world: World, tmp_path_factory) -> dict[tuple[str, int], dict]:
    """(position, mark) → ids of its report, event and attachment; a title token each."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    media.enable()
    out = {}
    for n, (position, mark) in enumerate((p, m) for p in UNIT_POSITIONS for m in MARKS):
        unit = world.units[position]
        reporter = Principal(
            person_id=None, grants=(Grant(unit.pk, unit.path, Role.REPORTER),), label="报送系统"
        )
        token = f"读取路径{n:02d}号"
        result = event_services.file_report(
            reporter,
            unit=unit,
            kind=ReportKind.FIRST,
            channel=Channel.API,
            data={
                "title": f"{token}{unit.name}{MARK_IDS[mark]}",
                "category": EventCategory.objects.get(code=CATEGORIES[n % len(CATEGORIES)]),
                # Three days apart: no two reports are taken for one event.
                "occurred_at": clock.now() - timedelta(days=3 * n, hours=1),
                "division_code": unit.division_code,
                "place": f"{unit.name}第{n}号地点",
                "narrative": f"{token}：某处发生{WORD}，正在处置。",
                "confidentiality": mark,
            },
        )
        [attachment] = event_services.attach_files(
            reporter, result.report, [SimpleUploadedFile(f"{token}.png", png(n))]
        )
        out[(position, mark)] = {
            "report": result.report.pk,
            "event": result.event.pk,
            "attachment": attachment.pk,
            "token": token,
        }
    assert len({ids["event"] for ids in out.values()}) == len(out), "reports were merged"
    yield out
    media.disable()


def client_for(world: World, who: str) -> Client:
    client = Client()
    if who == "token":
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.tokens[SAME][1]}"
    elif who == "superuser":
        client.force_login(world.superuser)
    else:
        client.force_login(world.role_holders[who])
    return client


def expected_keys(who: str) -> set[tuple[str, int]]:
    return {
        (position, mark)
        for position in UNIT_POSITIONS
        for mark in MARKS
        if expected_for(who, position, mark, Action.VIEW)
    }


def _ids(filed, key: str) -> dict[int, tuple[str, int]]:
    return {ids[key]: where for where, ids in filed.items()}


@pytest.mark.parametrize("who", READERS, ids=str)
def test_api_lists_and_searches(world, filed, who):
    client, expected = client_for(world, who), expected_keys(who)
    by_event = _ids(filed, "event")
    listed = client.get("/api/events?limit=500").json()
    assert {by_event[e["id"]] for e in listed if e["id"] in by_event} == expected
    found = client.get(f"/api/search?q={WORD}&page_size=100").json()
    assert {by_event[e["id"]] for e in found["results"] if e["id"] in by_event} == expected
    reports = {r["id"] for e in found["results"] for r in e["reports"]}
    assert {w for rid, w in _ids(filed, "report").items() if rid in reports} == expected


@pytest.mark.parametrize("who", READERS, ids=str)
def test_api_one_object_paths(world, filed, who):
    client, expected = client_for(world, who), expected_keys(who)
    wrong = []
    for where, ids in filed.items():
        allowed = where in expected
        paths = [
            f"/api/events/{ids['event']}",
            f"/api/reports/{ids['report']}/document.docx",
            f"/api/reports/{ids['report']}/attachments",
            f"/api/attachments/{ids['attachment']}",
        ]
        for path in paths:
            status = client.get(path).status_code
            if status != (200 if allowed else 404):
                wrong.append((where, path, status))
        # The event's escalation and response records follow the event.
        for path in ["routes", "gradings", "obligations", "responses"]:
            response = client.get(f"/api/events/{ids['event']}/{path}")
            leaked = response.status_code == 200 and response.json() and not allowed
            if leaked or (allowed and response.status_code != 200):
                wrong.append((where, path, response.status_code))
    assert wrong == []


@pytest.mark.parametrize("who", [*Role, "superuser"], ids=str)
def test_pages(world, filed, who):
    client, expected = client_for(world, who), expected_keys(who)
    by_event = _ids(filed, "event")
    for url in ["/events/", f"/events/?q={WORD}"]:
        page = client.get(url)
        assert page.status_code == 200
        shown = {by_event[r.event.pk] for r in page.context["rows"] if r.event.pk in by_event}
        assert shown == expected, url
    wrong = []
    for where, ids in filed.items():
        allowed = where in expected
        for path in [f"/events/{ids['event']}/", f"/attachments/{ids['attachment']}/"]:
            status = client.get(path).status_code
            if status != (200 if allowed else 404):
                wrong.append((where, path, status))
        page = client.get(f"/events/{ids['event']}/")
        if allowed and ids["token"] not in page.content.decode():
            wrong.append((where, "page lacks the report", page.status_code))
    assert wrong == []
    # The duty desk's feed, from the start: the reports this reader may see, and no other.
    feed = client.get("/desk/feed/?after=0-0-0").json()
    html = "".join(item["html"] for item in feed["items"])
    shown = {where for where, ids in filed.items() if ids["token"] in html}
    assert shown == expected


@pytest.mark.parametrize(
    "url",
    [
        "/public/",
        "/public/warnings/",
        "/public/releases/",
        "/public/feeds/",
        "/public/feeds/warnings.atom",
        "/public/feeds/releases.atom",
    ],
)
def test_public_pages_show_no_report(world, filed, url):
    """Nothing was released or warned about: the public sees none of it, whatever its mark."""
    response = Client().get(url)
    assert response.status_code == 200
    text = response.content.decode()
    assert [ids["token"] for ids in filed.values() if ids["token"] in text] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/events",
        "/api/search?q=泄漏",
        "/api/events/{event}",
        "/api/reports/{report}/document.docx",
        "/api/attachments/{attachment}",
    ],
)
def test_without_credentials_the_api_refuses_and_pages_send_to_sign_in(filed, path):
    ids = next(iter(filed.values()))
    assert Client().get(path.format(**ids)).status_code == 401
    page = Client().get(f"/events/{ids['event']}/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert Client().get(f"/attachments/{ids['attachment']}/").status_code == 302
