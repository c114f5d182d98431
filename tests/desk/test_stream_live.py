"""The stream as an ASGI server runs it (own threads, own database connections, committed
rows): it ends when the client goes away; and on PostgreSQL, a row whose transaction
commits after a later row was already streamed still reaches the desk."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.test import Client

from fenghuo.asgi import application
from fenghuo.desk.selectors import FeedReader, latest_cursor
from fenghuo.events.models import TimelineEntry, TimelineKind
from fenghuo.org.models import Person
from tests.events.world import build_world, file_first, principal
from tests.processes import uses_postgres

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

WAIT = 30


def _scope(session: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/desk/stream/",
        "raw_path": b"/desk/stream/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"cookie", f"sessionid={session}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def test_the_stream_ends_when_the_client_goes_away():
    world = build_world()
    client = Client()
    client.force_login(Person.objects.get(pk=world["people"]["county_duty"].pk))
    session = client.cookies["sessionid"].value

    async def scenario() -> list[dict]:
        opened, gone = asyncio.Event(), asyncio.Event()
        sent: list[dict] = []
        requested = False

        async def receive() -> dict:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)
            if b"event: ping" in message.get("body", b""):
                opened.set()

        served = asyncio.create_task(application(_scope(session), receive, send))
        await asyncio.wait_for(opened.wait(), WAIT)
        gone.set()
        # The application returns: no coroutine is left polling for a desk nobody reads.
        await asyncio.wait_for(served, WAIT)
        return sent

    # A thread of its own: a browser test earlier in the session may have left Playwright's
    # event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        sent = pool.submit(asyncio.run, scenario()).result()
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200


@pytest.mark.skipif(
    not uses_postgres(), reason="SQLite lets one writer in at a time: ids commit in order"
)
def test_a_row_that_commits_after_a_later_one_still_reaches_the_desk():
    world = build_world()
    earlier = file_first(world, "emergency", title="先取得编号、后提交的报告").report
    reader = FeedReader(
        principal(world, "county_duty"), world["people"]["county_duty"], latest_cursor()
    )
    holding, release = threading.Event(), threading.Event()
    outcome: list[BaseException] = []

    def slow_writer() -> None:
        # The report's arrival row takes its id now and commits only when released.
        try:
            with transaction.atomic():
                TimelineEntry.objects.create(
                    event=earlier.event,
                    at=earlier.received_at,
                    kind=TimelineKind.REPORT,
                    text="江口县应急管理局首报",
                    report=earlier,
                )
                holding.set()
                release.wait(WAIT)
        except BaseException as exc:  # reported to the test thread below
            outcome.append(exc)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert holding.wait(WAIT)
        later = file_first(
            world, "environment", title="后取得编号、先提交的报告", place="江口县城关镇人民路"
        ).report
        first_read = reader.read()
        assert [a.report.pk for a in first_read if a.key[0] == "r"] == [later.pk]
    finally:
        release.set()
        writer.join(WAIT)
    assert not outcome
    second_read = reader.read()
    assert [a.report.pk for a in second_read if a.key[0] == "r"] == [earlier.pk]
    assert reader.read() == []
