"""The desk's Server-Sent Events stream, read through Django's async test client: a report
filed while the stream is open arrives on it, only for readers who may see it; a
reconnecting browser resumes from Last-Event-ID; under WSGI the page is told to poll."""

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient, Client

from fenghuo.core.models import Confidentiality
from fenghuo.desk.selectors import Cursor, latest_cursor
from fenghuo.events.models import Event, TimelineEntry, TimelineKind
from fenghuo.notify import services as notify_services
from fenghuo.org.models import Person
from tests.events.world import file_first

pytestmark = pytest.mark.django_db

TITLE = "江口县化工园区临江化工厂发生爆炸"
WAIT = 30  # seconds; a healthy stream answers within about one


def _parse(chunk: bytes | str) -> list[dict]:
    """The SSE messages in a chunk: [{"id", "event", "data"}]."""
    text = chunk.decode() if isinstance(chunk, bytes) else chunk
    messages = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":"
        )
        if "event" in fields:
            fields["data"] = json.loads(fields.get("data") or "null")
            messages.append(fields)
    return messages


async def _next_messages(chunks: AsyncIterator, event: str) -> list[dict]:
    """Read the stream until a chunk brings messages of type `event`."""
    while True:
        found = [
            m for m in _parse(await asyncio.wait_for(anext(chunks), WAIT)) if m["event"] == event
        ]
        if found:
            return found


def _stream(world, who: str, body, headers: dict | None = None) -> None:
    """Open the stream as `who` and run `body(response, chunks)` against it."""

    async def scenario() -> None:
        client = AsyncClient()
        await client.aforce_login(await Person.objects.aget(pk=world["people"][who].pk))
        response = await client.get("/desk/stream/", headers=headers or {})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/event-stream")
        assert response["Cache-Control"] == "no-cache"
        chunks = aiter(response.streaming_content)
        try:
            await body(response, chunks)
        finally:
            await chunks.aclose()

    async_to_sync(scenario)()


def test_a_report_filed_while_the_desk_is_open_arrives_on_the_stream(world):
    async def body(response, chunks) -> None:
        (hello,) = _parse(await asyncio.wait_for(anext(chunks), WAIT))
        assert hello["event"] == "ping"
        start = Cursor.parse(hello["id"])
        filed = await sync_to_async(file_first)(world, "emergency", title=TITLE, dead=12)
        arrivals = await _next_messages(chunks, "arrival")
        entry = await TimelineEntry.objects.aget(report=filed.report, kind=TimelineKind.REPORT)
        assert [m["data"]["key"] for m in arrivals] == [f"r{entry.pk}"]
        data = arrivals[0]["data"]
        assert data["kind"] == "arrival" and TITLE in data["html"]
        event = await Event.objects.aget(pk=filed.event.pk)
        assert data["alarm"] is (event.grade is not None and event.grade <= 2)
        # The id is where a reconnecting browser resumes: never past what it was sent.
        assert Cursor.parse(arrivals[0]["id"]).entry <= entry.pk and start.entry < entry.pk

    _stream(world, "county_duty", body)


# A report each reader may see, filed after the one under test: once it has arrived, the
# stream has had its chance to carry the first (it reads every visible row in id order).
MARKERS = {
    "county_duty": ("environment", "environment"),
    "analyst": ("environment", "environment"),
    "emergency": ("emergency", "emergency"),
    "environment": ("environment", "environment"),
    "other_duty": ("other_duty", "other"),
}


@pytest.mark.parametrize(
    ("who", "mark", "sees"),
    [
        ("county_duty", Confidentiality.SENSITIVE, True),  # 值班员 of the office above
        ("analyst", Confidentiality.SENSITIVE, False),  # 内部 clearance
        ("analyst", Confidentiality.INTERNAL, True),
        ("emergency", Confidentiality.INTERNAL, True),  # its own unit
        ("environment", Confidentiality.INTERNAL, False),  # a sibling bureau's reporter
        ("other_duty", Confidentiality.INTERNAL, False),  # another county's office
    ],
)
def test_the_stream_carries_only_what_the_reader_may_see(world, who, mark, sees):
    marker_by, marker_unit = MARKERS[who]

    async def body(response, chunks) -> None:
        await asyncio.wait_for(anext(chunks), WAIT)  # the opening ping
        await sync_to_async(file_first)(world, "emergency", title=TITLE, mark=mark)
        await sync_to_async(file_first)(world, marker_by, unit=marker_unit, title="值班记录")
        seen: list[str] = []
        while not any("值班记录" in html for html in seen):
            seen += [m["data"]["html"] for m in await _next_messages(chunks, "arrival")]
        assert any(TITLE in html for html in seen) is sees

    _stream(world, who, body)


def test_in_app_messages_arrive_on_the_stream_urgent_ones_with_the_alarm(world):
    people = world["people"]

    async def body(response, chunks) -> None:
        await asyncio.wait_for(anext(chunks), WAIT)
        sent = await sync_to_async(notify_services.notify_people)(
            [people["county_duty"], people["city_duty"]],
            subject="【紧急】请立即签收",
            body="江口县应急管理局首报已报送，请签收。",
            key="desk-test-1",
            urgent=True,
        )
        (notice,) = await _next_messages(chunks, "notice")
        mine = [m for m in sent if m.person_id == people["county_duty"].pk and m.channel == "inapp"]
        assert notice["data"]["key"] == f"m{mine[0].pk}"
        assert notice["data"]["alarm"] is True and "请立即签收" in notice["data"]["html"]

    _stream(world, "county_duty", body)


def test_a_reconnecting_browser_resumes_from_last_event_id(world):
    before = latest_cursor()
    file_first(world, "emergency", title=TITLE)

    async def body(response, chunks) -> None:
        arrivals = await _next_messages(chunks, "arrival")
        assert any(TITLE in m["data"]["html"] for m in arrivals)

    # What was filed while the browser was away comes first.
    _stream(world, "county_duty", body, headers={"Last-Event-ID": str(before)})


def test_under_wsgi_the_page_is_told_to_poll_instead(world):
    client = Client()
    client.force_login(world["people"]["county_duty"])
    response = client.get("/desk/stream/")
    assert response.status_code == 204  # EventSource gives up; the page polls /desk/feed/
