"""The per-process concurrency limit in front of Django (fenghuo.asgi): at most
FENGHUO_WEB_CONCURRENCY requests run at once, the rest wait their turn in order, reports
being filed first; streams
and liveness endpoints are not held back. And which handler serves what: plain requests
the WSGI handler in a thread pool, the event stream the ASGI handler."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

from fenghuo.asgi import ConcurrencyLimit, Handlers, application


class Recorder:
    """An ASGI app that takes a while and notes how many of its calls overlap."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.order: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        self.order.append(scope["path"])
        await asyncio.sleep(0.02)
        self.running -= 1


def _run(app, paths: list[str]) -> None:
    async def main() -> None:
        await asyncio.gather(*(app({"type": "http", "path": p}, None, None) for p in paths))

    # A thread of its own: browser tests earlier in the run leave an event loop running in
    # this one (Playwright's sync API), and asyncio.run refuses to nest.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, main()).result()


def test_no_more_than_the_limit_run_at_once_and_all_are_served_in_order():
    inner = Recorder()
    paths = [f"/api/reports?n={i}" for i in range(10)]
    _run(ConcurrencyLimit(inner, 3), paths)
    assert inner.most == 3
    assert inner.order == paths


def test_reports_being_filed_are_admitted_before_other_waiting_requests():
    inner = Recorder()
    requests = [
        ("GET", "/events/1/"),  # runs at once
        ("GET", "/events/2/"),
        ("GET", "/desk/feed/"),
        ("POST", "/api/reports"),
        ("GET", "/api/reports"),  # reading reports is not filing one
        ("POST", "/reports/new/"),
    ]

    async def main() -> None:
        limit = ConcurrencyLimit(inner, 1)
        await asyncio.gather(
            *(limit({"type": "http", "method": m, "path": p}, None, None) for m, p in requests)
        )
        assert limit.running == 0

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, main()).result()
    assert inner.order == [
        "/events/1/", "/api/reports", "/reports/new/", "/events/2/", "/desk/feed/", "/api/reports"
    ]  # fmt: skip
    assert inner.most == 1


def test_a_request_cancelled_while_waiting_gives_up_its_place():
    inner = Recorder()

    async def main() -> None:
        limit = ConcurrencyLimit(inner, 1)
        scope = {"type": "http", "method": "GET"}
        first = asyncio.create_task(limit({**scope, "path": "/a/"}, None, None))
        await asyncio.sleep(0)
        gone = asyncio.create_task(limit({**scope, "path": "/gone/"}, None, None))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.gather(first, limit({**scope, "path": "/b/"}, None, None))
        assert gone.cancelled()
        assert limit.running == 0

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, main()).result()
    assert inner.order == ["/a/", "/b/"]


def test_streams_and_liveness_are_not_held_back():
    inner = Recorder()
    _run(ConcurrencyLimit(inner, 1), ["/desk/stream/", "/healthz", "/heartbeat", "/metrics"])
    assert inner.most == 4


def test_a_limit_of_zero_turns_it_off():
    inner = Recorder()
    _run(ConcurrencyLimit(inner, 0), [f"/events/{i}/" for i in range(6)])
    assert inner.most == 6


def test_plain_requests_go_to_the_thread_pool_and_the_stream_to_the_asgi_handler():
    pool, stream = Recorder(), Recorder()
    app = Handlers(pool, stream)
    _run(app, ["/events/1/", "/api/reports", "/healthz", "/desk/stream/", "/desk/feed/"])
    assert pool.order == ["/events/1/", "/api/reports", "/healthz", "/desk/feed/"]
    assert stream.order == ["/desk/stream/"]


def test_the_served_application_answers_a_plain_request_through_the_pool():
    """`fenghuo.asgi.application` end to end for a request that needs no database: the
    WSGI handler in a pool thread, the answer sent back through the event loop."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/healthz",
        "raw_path": b"/healthz",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, application(scope, receive, send)).result()
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert json.loads(body)["status"] == "ok"
