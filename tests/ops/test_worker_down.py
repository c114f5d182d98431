"""The worker's dead-man's switch with real processes: `fenghuo serve` and `fenghuo worker`
logging JSON lines; the worker is killed with SIGKILL (it cannot say goodbye) and, within
a minute, the duty desk shows "后台工作进程未运行" and /heartbeat answers 503; a new worker
clears both. The JSON lines carry the request id, user, path, status and duration of each
request, and the worker's loops say what they handled."""

import json
import re
import signal

import httpx

from tests.notify.conftest import SECRETS
from tests.notify.peers import HttpPeer, Sink
from tests.processes import (  # noqa: F401 - fixtures
    Proc,
    Site,
    free_port,
    migrated_site_fixture,
    poll,
    site_fixture,
)

WORKER_DOWN = "后台工作进程未运行"
PASSWORD = "pw-Fenghuo-2026"
ENV = {
    "FENGHUO_LOG_FORMAT": "json",
    "FENGHUO_WORKER_STALE_SECONDS": "3",
    "FENGHUO_HEARTBEAT_SECONDS": "0.5",
    "FENGHUO_WORKER_INTERVAL": "0.5",
}

SETUP = """
from fenghuo.notify import services as notify_services
from fenghuo.notify.models import Endpoint
from fenghuo.org import services
from fenghuo.org.models import AdminLevel, Role, UnitKind
from fenghuo.org.policy import Principal
system = Principal(person_id=None, grants=(), is_superuser=True, label="测试")
office = services.unit_create(
    system, parent=None, name="临江市委办公室", level=AdminLevel.CITY,
    kind=UnitKind.objects.get(code="gov_office"), division_code="990100",
    is_receiving_office=True,
)
person = services.person_create(
    system, username="duty", full_name="王值班", unit=office, password={password!r}
)
services.membership_grant(system, person=person, unit=office, role=Role.DUTY_OFFICER)
notify_services.save_endpoint(
    None, Endpoint(kind="webhook", name="接收系统", unit=office, url={url!r}, secret={secret!r})
)
for n in range(3):
    notify_services.notify_unit(office, subject=f"第 {{n}} 条", body="请签收", key=f"k:{{n}}")
result = office.pk
"""


def _json_lines(proc: Proc) -> list[dict]:
    """Every line the process printed, each of which must be a JSON object."""
    lines = [line for line in proc.snapshot() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
    return parsed


def _login(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, trust_env=False, timeout=30)
    form = client.get("/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    answer = client.post(
        "/login/",
        data={"username": "duty", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert answer.status_code == 302, answer.text
    return client


def test_a_killed_worker_shows_on_the_desk_and_the_heartbeat_within_a_minute(migrated_site):
    sink = Sink(secrets=dict(SECRETS))
    with HttpPeer(sink) as peer:
        migrated_site.django(
            SETUP.format(password=PASSWORD, url=f"{peer.url}/webhook", secret=SECRETS["webhook"])
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        web = migrated_site.start("serve", "--port", str(port), **ENV)
        worker = migrated_site.start("worker", **ENV)
        http = httpx.Client(base_url=base, trust_env=False, timeout=30)

        def status(path: str) -> int:
            try:
                return http.get(path).status_code
            except httpx.TransportError:
                return 0  # not listening yet

        poll(lambda: status("/healthz") == 200, "the web server")
        poll(lambda: status("/heartbeat") == 200, "the worker's first heartbeat")
        poll(lambda: len(sink.processed) == 3, "the worker to deliver the notifications")

        desk = _login(base)
        page = desk.get("/desk/")
        assert page.status_code == 200 and "值班台" in page.text
        assert WORKER_DOWN not in page.text
        request_id = page.headers["X-Request-ID"]

        # The dead-man's switch: SIGKILL leaves a heartbeat row that just goes stale.
        worker.signal(signal.SIGKILL)
        worker.wait()
        # How soon they show it is measured by bench/faults/worker_down.py, not asserted here.
        poll(lambda: status("/heartbeat") == 503, "/heartbeat to report the worker")
        poll(lambda: WORKER_DOWN in desk.get("/desk/").text, "the desk's warning")
        answer = http.get("/heartbeat").json()
        assert answer["status"] == "stale" and answer["detail"] == WORKER_DOWN
        assert answer["newest_heartbeat_age_seconds"] > 3
        readiness = http.get("/readyz")
        assert readiness.status_code == 503
        assert readiness.json()["checks"]["worker"] == {"ok": False, "detail": WORKER_DOWN}
        assert "fenghuo_workers_alive 0.0" in http.get("/metrics").text

        # A new worker: both clear.
        migrated_site.start("worker", **ENV)
        poll(lambda: status("/heartbeat") == 200, "the new worker's heartbeat", timeout=60)
        assert WORKER_DOWN not in desk.get("/desk/").text

    # JSON lines: the desk request as the access log saw it …
    web_lines = _json_lines(web)
    served = [line for line in web_lines if line.get("request_id") == request_id]
    [access] = [line for line in served if line["logger"] == "fenghuo.request"]
    assert access["level"] == "INFO"
    assert (access["user"], access["method"], access["path"], access["status"]) == (
        "duty",
        "GET",
        "/desk/",
        200,
    )
    assert access["duration_ms"] > 0 and access["time"] and access["process"]
    assert any(line["logger"].startswith("uvicorn") for line in web_lines)
    # … and what the worker's loops did, before it was killed.
    worker_lines = _json_lines(worker)
    delivered = [
        line for line in worker_lines if line.get("loop") == "fenghuo.notify.dispatch:deliver_due"
    ]
    assert delivered and sum(line["handled"] for line in delivered) >= 3
    assert all(line["message"].startswith("后台循环") for line in delivered)
