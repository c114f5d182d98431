"""Processes killed (or the database restarted) in the middle of a load of report
submissions and the notifications they cause: the scenario machinery shared by
tests/ops/test_kill_processes.py, tests/ops/test_pg_restart.py (compressed) and
bench/faults/kill_processes.py, bench/faults/pg_restart.py (longer, several faults).

The site: 江口县委办公室, a receiving office with a generic webhook pointing at a local sink
(tests/notify/peers.Sink, which checks the HMAC signature and keeps each Idempotency-Key),
and 江口县应急管理局 under it, with no unit leader (its reports go up at once) and an API
token. Filing a report routes it to the office; the route's notification is an outbox row
the worker delivers to the sink with `route:<id>` as its Idempotency-Key.

The load: `threads` clients POST /api/reports, each report with its own Idempotency-Key
(also written into the title, so stored reports can be counted per key without trusting
the idempotency table), retrying the same key and body on a connection error, a timeout, a
5xx or a 429 until a 2xx answers. The caller injects the faults (`Load.acked` tells how far
the load is). `tally` then waits for the outbox to drain and counts:

- lost: keys submitted (at least one attempt) with no stored report, separately keys
  acknowledged 2xx with no stored report; stored reports whose notification never reached
  the sink (no route, or a route key the sink never saw);
- duplicated: stored reports beyond one per key; raw redeliveries (the sink got a route key
  more than once — a receiver that drops duplicates by key absorbs these); after dedup,
  notifications beyond one per report and office (distinct keys for the same thing, which
  no receiver could absorb).
"""

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tests.notify.peers import HttpPeer, Sink
from tests.processes import Proc, Site, answers_healthz, free_port, poll

SECRET = "kill-webhook-secret"
KEY_MARK = re.compile(r"〔(fk-[0-9a-z-]+)〕")

# Short settings so a killed worker's claims come due again in seconds, and the client's
# own request rate is never what the test measures (the API's limit is per token).
WORKER_ENV = {
    "FENGHUO_HEARTBEAT_SECONDS": "0.5",
    "FENGHUO_WORKER_INTERVAL": "0.5",
    "FENGHUO_NOTIFY_LEASE_SECONDS": "3",
    "FENGHUO_NOTIFY_TIMEOUT_SECONDS": "2",
    "FENGHUO_NOTIFY_BACKOFF_SECONDS": "0.5",
    "FENGHUO_NOTIFY_BACKOFF_CAP_SECONDS": "2",
    "FENGHUO_NOTIFY_MAX_ATTEMPTS": "100",
}
WEB_ENV = {"FENGHUO_RATELIMIT_API": "100000/m"}

SETUP = """
from fenghuo.notify import services as notify_services
from fenghuo.notify.models import Endpoint
from fenghuo.org import services
from fenghuo.org.models import AdminLevel, Role, UnitKind
from fenghuo.org.policy import Principal
system = Principal(person_id=None, grants=(), is_superuser=True, label="故障测试")
office = services.unit_create(
    system, parent=None, name="江口县委办公室", level=AdminLevel.COUNTY,
    kind=UnitKind.objects.get(code="gov_office"), division_code="990121",
    is_receiving_office=True,
)
duty = services.person_create(system, username="duty", full_name="王值班", unit=office)
services.membership_grant(system, person=duty, unit=office, role=Role.DUTY_OFFICER)
notify_services.save_endpoint(
    None, Endpoint(kind="webhook", name="接收系统", unit=office, url={url!r}, secret={secret!r})
)
bureau = services.unit_create(
    system, parent=office, name="江口县应急管理局", level=AdminLevel.COUNTY,
    kind=UnitKind.objects.get(code="emergency"), division_code="990121",
)
_row, token = services.token_issue(system, unit=bureau, name="故障测试报送系统")
result = token
"""

TALLY = """
from django.db.models import Count
from fenghuo.escalation.models import Route
from fenghuo.events.models import Report
from fenghuo.notify.models import Message
result = {
    "reports": list(Report.objects.filter(title__contains="〔fk-").values_list("pk", "title")),
    "routes": list(Route.objects.values_list("pk", "report_id", "office_id")),
    "states": {
        f"{channel}:{state}": n
        for channel, state, n in Message.objects.exclude(channel="inapp")
        .values_list("channel", "state").annotate(n=Count("pk")).order_by()
    },
}
"""

PLACES = ["化工园区", "高速公路收费站", "城南农贸市场", "江口大桥", "临江码头", "北山林场"]
KINDS = [("hazchem", "危险化学品泄漏"), ("road_traffic", "道路交通事故"), ("fire", "火灾")]


def report_body(key: str, number: int) -> dict:
    """The same body for every retry of `key`; distinct places keep reports apart."""
    category, noun = KINDS[number % len(KINDS)]
    place = f"江口县{PLACES[number % len(PLACES)]}第{number}号点位"
    return {
        "kind": "first",
        "title": f"{place}发生{noun}〔{key}〕",
        "category": category,
        "occurred_at": "2026-11-23T09:10:00+08:00",
        "division_code": "990121",
        "place": place,
        "narrative": f"{place}发生{noun}，造成3人死亡，现场正在处置，情况待续报。",
        "dead": 3,
        "is_urgent": True,
    }


@dataclass
class Load:
    """Client threads filing reports through the API, each key retried until answered."""

    base_url: str
    token: str
    keys: list[str]
    threads: int = 4
    timeout: float = 10.0
    submitted: set[str] = field(default_factory=set)
    acked: dict[str, int] = field(default_factory=dict)  # key → report id
    refused: dict[str, str] = field(default_factory=dict)  # key → 4xx answer (a bug)
    retries: Counter = field(default_factory=Counter)  # why a request was retried
    lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> "Load":
        for index in range(self.threads):
            mine = self.keys[index :: self.threads]
            thread = threading.Thread(target=self._client, args=(mine,), daemon=True)
            thread.start()
            self._workers.append(thread)
        return self

    def _client(self, keys: list[str]) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base_url, trust_env=False, timeout=self.timeout) as http:
            for key in keys:
                body = report_body(key, int(key.rsplit("-", 1)[1]))
                while not self._stop.is_set():
                    with self.lock:
                        self.submitted.add(key)
                    try:
                        answer = http.post(
                            "/api/reports", json=body, headers={**headers, "Idempotency-Key": key}
                        )
                    except httpx.TransportError as exc:
                        self._retry(type(exc).__name__)
                        continue
                    if answer.status_code in (200, 201):
                        with self.lock:
                            self.acked[key] = answer.json()["id"]
                        break
                    if answer.status_code >= 500 or answer.status_code == 429:
                        self._retry(f"HTTP {answer.status_code}")
                        continue
                    with self.lock:
                        self.refused[key] = f"{answer.status_code} {answer.text[:200]}"
                    break

    def _retry(self, why: str) -> None:
        with self.lock:
            self.retries[why] += 1
        time.sleep(0.1)

    @property
    def done(self) -> int:
        with self.lock:
            return len(self.acked) + len(self.refused)

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._workers:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._stop.set()  # clients still retrying give up: their keys count as submitted
        for thread in self._workers:
            thread.join(30)


@dataclass
class FaultResult:
    what: str
    keys: int
    submitted: int
    acked: int
    stored: int
    lost_submitted: int  # keys tried at least once, no stored report
    lost_acked: int  # keys answered 2xx, no stored report
    lost_notifications: int  # stored reports whose notification never reached the sink
    duplicated_stored: int  # stored reports beyond one per key
    redeliveries: int  # raw: the sink got a route key more than once (absorbed by key)
    duplicated_after_dedup: int  # notifications beyond one per report and office
    refused: dict[str, str]
    retries: dict[str, int]
    states: dict[str, int]
    faults: list[str]
    seconds: float
    exited: list[str] = field(default_factory=list)  # processes that died on their own

    @property
    def lost(self) -> int:
        return self.lost_submitted + self.lost_acked + self.lost_notifications

    @property
    def duplicated(self) -> int:
        return self.duplicated_stored + self.duplicated_after_dedup

    def summary(self) -> str:
        return (
            f"lost={self.lost} duplicated={self.duplicated} ({self.what}: keys={self.keys} "
            f"submitted={self.submitted} acked={self.acked} stored={self.stored}; lost: "
            f"submitted={self.lost_submitted} acked={self.lost_acked} "
            f"notifications={self.lost_notifications}; duplicated: stored="
            f"{self.duplicated_stored} notifications after dedup={self.duplicated_after_dedup}, "
            f"raw redeliveries absorbed by key={self.redeliveries}; refused={len(self.refused)}; "
            f"client retries={dict(self.retries)}; outbox={self.states}; "
            f"faults: {', '.join(self.faults)}; processes that exited on their own: "
            f"{', '.join(self.exited) or 'none'}; {self.seconds:.0f} s)"
        )


class Scenario:
    """The sink, the site's data, and the web and worker processes that can be killed."""

    def __init__(self, site: Site, say: Callable[[str], None] = lambda line: None) -> None:
        self.site = site
        self.say = say
        self.sink = Sink(secrets={"webhook": SECRET})
        self.peer = HttpPeer(self.sink).__enter__()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.web: Proc | None = None
        self.worker: Proc | None = None
        self.faults: list[str] = []
        self.started = time.monotonic()
        try:
            self.token = site.django(SETUP.format(url=f"{self.peer.url}/webhook", secret=SECRET))
        except BaseException:
            self.peer.__exit__(None, None, None)
            raise

    def start_web(self) -> None:
        self.web = self.site.start("serve", "--port", str(self.port), **WEB_ENV)
        poll(lambda: answers_healthz(self.base_url), "the web server to answer /healthz", every=0.1)

    def start_worker(self) -> None:
        self.worker = self.site.start("worker", **WORKER_ENV)
        self.worker.wait_for("已启动")

    def kill_web(self) -> None:
        """SIGKILL the web process mid-load and start a new one on the same port."""
        assert self.web is not None
        self.web.cleanup()  # SIGKILL, then reap
        self.faults.append(f"web SIGKILL at {self.sink_progress()}")
        self.say(f"web killed ({self.sink_progress()})")
        self.start_web()

    def kill_worker(self) -> None:
        """SIGKILL the worker mid-load and start a new one."""
        assert self.worker is not None
        self.worker.cleanup()
        self.faults.append(f"worker SIGKILL at {self.sink_progress()}")
        self.say(f"worker killed ({self.sink_progress()})")
        self.start_worker()

    def sink_progress(self) -> str:
        return f"{len(self.sink.processed)} notifications received"

    def load(self, count: int, threads: int, prefix: str = "fk") -> Load:
        keys = [f"{prefix}-{n}" for n in range(count)]
        return Load(self.base_url, self.token, keys, threads=threads).start()

    def tally(self, load: Load, deadline: float) -> FaultResult:
        """Wait for every stored report's notification to be delivered, then count."""

        def drained():
            data = self.site.django(TALLY)
            states = data["states"]
            pending = {k: n for k, n in states.items() if not k.endswith(":delivered")}
            routes = {f"route:{pk}" for pk, _report, _office in data["routes"]}
            return data if not pending and routes <= set(self.sink.processed) else None

        try:
            data = poll(drained, "the outbox to drain", timeout=deadline, every=0.5)
        except pytest.fail.Exception:
            data = self.site.django(TALLY)  # count what there is; the figures say what failed
            self.say(f"the outbox did not drain: {data['states']}")
        return self._count(load, data)

    def _count(self, load: Load, data: dict) -> FaultResult:
        per_key = Counter()
        report_ids: set[int] = set()
        for pk, title in data["reports"]:
            if match := KEY_MARK.search(title):
                per_key[match[1]] += 1
                report_ids.add(pk)
        routes_of: dict[int, list[str]] = {}
        per_office = Counter()
        for pk, report, office in data["routes"]:
            routes_of.setdefault(report, []).append(f"route:{pk}")
            per_office[(report, office)] += 1
        seen = set(self.sink.processed)
        unnotified = sum(
            1 for pk in report_ids if not any(key in seen for key in routes_of.get(pk, []))
        )
        undelivered_routes = sum(
            1 for keys in routes_of.values() for key in keys if key not in seen
        )
        return FaultResult(
            what="",
            keys=len(load.keys),
            submitted=len(load.submitted),
            acked=len(load.acked),
            stored=sum(per_key.values()),
            lost_submitted=len(load.submitted - set(per_key)),
            lost_acked=len(set(load.acked) - set(per_key)),
            lost_notifications=max(unnotified, undelivered_routes),
            duplicated_stored=sum(n - 1 for n in per_key.values() if n > 1),
            redeliveries=self.sink.duplicates,
            duplicated_after_dedup=sum(n - 1 for n in per_office.values() if n > 1),
            refused=dict(load.refused),
            retries=dict(load.retries),
            states=data["states"],
            faults=list(self.faults),
            seconds=time.monotonic() - self.started,
        )

    def close(self) -> None:
        self.peer.__exit__(None, None, None)
        for proc in (self.web, self.worker):
            if proc is not None:
                proc.cleanup()


def run_kills(
    site: Site,
    *,
    reports: int,
    threads: int,
    rounds: int,
    deadline: float,
    say: Callable[[str], None] = lambda line: None,
) -> FaultResult:
    """`rounds` times during the load: SIGKILL the web process (a new one on the same
    port), then the worker (a new one), each after another share of reports was answered."""
    scenario = Scenario(site, say)
    try:
        scenario.start_web()
        scenario.start_worker()
        load = scenario.load(reports, threads)
        step = reports / (2 * rounds + 1)
        for n in range(rounds):
            for kill, share in ((scenario.kill_web, 2 * n + 1), (scenario.kill_worker, 2 * n + 2)):
                poll(lambda s=share: load.done >= s * step, "the load to go on", every=0.02)
                kill()
        load.wait(deadline)
        say(f"load done: {len(load.acked)} acknowledged, retries {dict(load.retries)}")
        result = scenario.tally(load, deadline)
    finally:
        scenario.close()
    result.what = f"{rounds} web + {rounds} worker SIGKILLs"
    return result


def run_pg_restarts(
    site: Site,
    cluster,
    *,
    reports: int,
    threads: int,
    restarts: int,
    down_seconds: float,
    deadline: float,
    say: Callable[[str], None] = lambda line: None,
) -> FaultResult:
    """`restarts` times during the load, the private PostgreSQL cluster under `site`
    (tests/ops/pgcluster.PrivateCluster) goes away: alternately `pg_ctl restart -m fast`, and
    a crash (`pg_ctl stop -m immediate`, `down_seconds` down, then start). The web process
    and the worker are not restarted: they must ride it out."""
    scenario = Scenario(site, say)
    try:
        scenario.start_web()
        scenario.start_worker()
        web, worker = scenario.web, scenario.worker
        load = scenario.load(reports, threads)
        step = reports / (restarts + 1)
        for n in range(restarts):
            poll(lambda s=n + 1: load.done >= s * step, "the load to go on", every=0.02)
            if n % 2 == 0:
                cluster.restart()
                what = "pg_ctl restart -m fast"
            else:
                cluster.crash()
                time.sleep(down_seconds)
                cluster.start()
                what = f"pg_ctl stop -m immediate, {down_seconds:g} s down, start"
            scenario.faults.append(f"{what} at {len(load.acked)} acked")
            say(f"{what} ({len(load.acked)} acknowledged, {scenario.sink_progress()})")
        load.wait(deadline)
        say(f"load done: {len(load.acked)} acknowledged, retries {dict(load.retries)}")
        result = scenario.tally(load, deadline)
        result.exited = [
            f"{name} (exit {proc.popen.poll()})"
            for name, proc in (("web", web), ("worker", worker))
            if proc.popen.poll() is not None
        ]
    finally:
        scenario.close()
    result.what = f"{restarts} PostgreSQL restarts/crashes"
    return result
