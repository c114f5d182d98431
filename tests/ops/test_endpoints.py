"""The operations endpoints in process: liveness, readiness, the worker's heartbeat, the
Prometheus scrape (who may read it, and what it says about queue, outbox, obligations and
workers), request ids and the access log."""

import logging
from datetime import timedelta

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.core.services import audit_chain_pending, worker_heartbeat
from fenghuo.core.tasks import verify_audit_chain_task
from fenghuo.escalation.deadlines import mark_overdue
from fenghuo.escalation.models import Obligation, ObligationState
from fenghuo.notify import dispatch
from fenghuo.notify.models import Channel, Message
from fenghuo.ops import selectors
from tests.escalation.world import file_report, module_world
from tests.notify.conftest import make_endpoint
from tests.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The escalation tests' cast: offices, duty officers, reporters."""
    yield from module_world(django_db_blocker)


@pytest.fixture
def frozen():
    with clock.frozen_at(clock.now().replace(microsecond=0)):
        yield clock.now()


def _scrape(client: Client, **headers) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


# -- liveness, readiness, heartbeat ------------------------------------------------------


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_needs_database_migrations_and_a_live_worker(client, settings, frozen):
    settings.FENGHUO_WORKER_STALE_SECONDS = 30
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    assert body["checks"]["worker"] == {"ok": False, "detail": "后台工作进程未运行"}
    # A load balancer may leave the worker out: a web process still takes reports.
    assert client.get("/readyz?without=worker").status_code == 200

    worker_heartbeat("worker-1")
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    clock.advance(timedelta(seconds=31))
    assert client.get("/readyz").status_code == 503


def test_readyz_fails_while_a_migration_is_not_applied(client, monkeypatch):
    worker_heartbeat("worker-1")
    monkeypatch.setattr(selectors, "_migrated", False)
    latest = MigrationRecorder.Migration.objects.filter(app="release").order_by("-id").first()
    latest.delete()  # rolled back with the test
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == {
        "ok": False,
        "detail": "有 1 个数据库迁移尚未执行（fenghuo migrate）",
    }
    assert client.get("/readyz?without=worker").status_code == 503


def test_heartbeat_is_a_dead_mans_switch(client, settings, frozen):
    settings.FENGHUO_WORKER_STALE_SECONDS = 20
    response = client.get("/heartbeat")
    assert response.status_code == 503
    assert response.json()["status"] == "stale"
    assert response.json()["detail"] == "后台工作进程未运行"
    assert response.json()["newest_heartbeat_age_seconds"] is None

    worker_heartbeat("worker-1")
    clock.advance(timedelta(seconds=5))
    response = client.get("/heartbeat")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "detail": "1 个工作进程运行中",
        "workers_alive": 1,
        "newest_heartbeat_age_seconds": 5.0,
        "stale_after_seconds": 20,
    }
    assert "worker-1" not in response.content.decode()  # no ids or hosts to the outside

    clock.advance(timedelta(seconds=16))
    response = client.get("/heartbeat")
    assert response.status_code == 503 and response.json()["newest_heartbeat_age_seconds"] == 21

    worker_heartbeat("worker-1", stopping=True)  # stopped cleanly: still nobody working
    assert client.get("/heartbeat").status_code == 503


# -- /metrics -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allow", "token", "address", "authorization", "status"),
    [
        ("127.0.0.1/8,::1", "", "127.0.0.1", "", 200),
        ("127.0.0.1/8,::1", "", "::1", "", 200),
        ("127.0.0.1/8,::1", "", "10.1.2.3", "", 403),
        ("127.0.0.1/8,::1", "s3cret-token", "10.1.2.3", "Bearer s3cret-token", 200),
        ("127.0.0.1/8,::1", "s3cret-token", "10.1.2.3", "Bearer wrong", 403),
        ("127.0.0.1/8,::1", "s3cret-token", "10.1.2.3", "s3cret-token", 403),
        ("127.0.0.1/8,::1", "", "10.1.2.3", "Bearer ", 403),  # no token configured
        ("10.0.0.0/8", "", "10.1.2.3", "", 200),
        ("10.0.0.0/8", "", "127.0.0.1", "", 403),
        ("", "s3cret-token", "127.0.0.1", "", 403),
        ("", "s3cret-token", "127.0.0.1", "Bearer s3cret-token", 200),
    ],
)
def test_metrics_only_for_allowed_addresses_or_the_token(
    settings, allow, token, address, authorization, status
):
    import ipaddress

    settings.FENGHUO_METRICS_ALLOW = [
        ipaddress.ip_network(item, strict=False) for item in allow.split(",") if item
    ]
    settings.FENGHUO_METRICS_TOKEN = token
    headers = {"REMOTE_ADDR": address}
    if authorization:
        headers["HTTP_AUTHORIZATION"] = authorization
    response = Client().get("/metrics", **headers)
    assert response.status_code == status
    if status == 403:
        assert "禁止访问" in response.content.decode()
        assert b"fenghuo_" not in response.content


def test_metrics_count_requests_by_route_and_status(client):
    before = _scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no/such/page/")
    after = _scrape(client)

    def delta(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("fenghuo_http_requests_total", route="healthz", method="GET", status="200") == 2
    assert delta("fenghuo_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert delta("fenghuo_http_request_duration_seconds_count", route="healthz", method="GET") == 2
    assert delta("fenghuo_http_requests_total", route="metrics", method="GET", status="200") == 1


def test_metrics_report_queue_outbox_obligations_and_workers(client, world, frozen, settings):
    settings.FENGHUO_WORKER_STALE_SECONDS = 60
    samples = _scrape(client)
    assert _value(samples, "fenghuo_database_up") == 1
    assert _value(samples, "fenghuo_workers_alive") == 0
    assert _value(samples, "fenghuo_worker_heartbeat_age_seconds") == float("inf")
    assert _value(samples, "fenghuo_task_queue_depth", queue="default") == 0

    # Work arrives: a report (routes, obligations, notifications), tasks, a worker.
    make_endpoint(world["county"], Channel.WEBHOOK, f"http://127.0.0.1:{free_port()}/down")
    file_report(world, "environment", dead=1)
    due_task = verify_audit_chain_task.enqueue()
    verify_audit_chain_task.using(run_after=clock.now() + timedelta(hours=1)).enqueue()
    worker_heartbeat("worker-1")
    pending = Obligation.objects.filter(state=ObligationState.PENDING).count()
    webhooks = Message.objects.filter(channel=Channel.WEBHOOK).count()
    assert pending > 0 and webhooks > 0

    clock.advance(timedelta(minutes=11))  # the receipts (10 minutes) are overdue, unmarked
    samples = _scrape(client)
    assert _value(samples, "fenghuo_task_queue_depth", queue="default") == 1
    assert _value(samples, "fenghuo_task_scheduled") == 1
    # Tasks are stamped by django-tasks with the real time, not Fenghuo's clock: the age is
    # from that stamp to Fenghuo's now (not exactly 660 s: setting up took real time).
    waited = (clock.now() - due_task.enqueued_at).total_seconds()
    assert _value(samples, "fenghuo_task_oldest_due_age_seconds") == pytest.approx(waited, abs=1)
    assert _value(samples, "fenghuo_obligations", state="pending") == pending
    assert _value(samples, "fenghuo_obligations", state="late") == 0
    assert _value(samples, "fenghuo_obligation_oldest_pending_age_seconds") == 660
    assert _value(samples, "fenghuo_obligation_unmarked_overdue_seconds") >= 60
    assert _value(samples, "fenghuo_notify_outbox_depth") == webhooks
    assert (
        _value(samples, "fenghuo_notify_messages", channel="webhook", state="pending") == webhooks
    )
    assert _value(samples, "fenghuo_notify_outbox_oldest_age_seconds") == 660
    assert _value(samples, "fenghuo_workers_alive") == 0  # its heartbeat is 11 minutes old
    assert _value(samples, "fenghuo_worker_heartbeat_age_seconds") == 660

    # The worker's loops catch up: obligations marked late, the webhook tried and failed.
    late = mark_overdue()
    webhooks = Message.objects.filter(channel=Channel.WEBHOOK).count()  # lateness announced
    dispatch.Dispatcher(threads=1).drain()
    worker_heartbeat("worker-1")
    samples = _scrape(client)
    assert _value(samples, "fenghuo_obligations", state="late") == late > 0
    assert _value(samples, "fenghuo_obligations", state="pending") == pending - late
    assert _value(samples, "fenghuo_obligation_unmarked_overdue_seconds") == 0
    assert (
        _value(samples, "fenghuo_notify_messages", channel="webhook", state="retrying") == webhooks
    )
    failed = _value(
        samples, "fenghuo_notify_delivery_attempts_total", transport="Webhook", outcome="failed"
    )
    assert failed == webhooks
    assert _value(samples, "fenghuo_workers_alive") == 1
    assert _value(samples, "fenghuo_worker_heartbeat_age_seconds") == 0


def test_metrics_report_audit_entries_waiting_to_be_linked(client, frozen):
    samples = _scrape(client)
    assert _value(samples, "fenghuo_audit_unlinked_entries") == 0
    assert _value(samples, "fenghuo_audit_oldest_unlinked_age_seconds") == 0
    for n in range(2):  # as writers leave them when another transaction holds the head
        AuditEntry.objects.create(at=clock.now(), action="t", object_type="t", object_id=n)
    clock.advance(timedelta(seconds=30))
    samples = _scrape(client)
    assert _value(samples, "fenghuo_audit_unlinked_entries") == 2
    assert _value(samples, "fenghuo_audit_oldest_unlinked_age_seconds") == 30
    audit_chain_pending()
    samples = _scrape(client)
    assert _value(samples, "fenghuo_audit_unlinked_entries") == 0
    assert _value(samples, "fenghuo_audit_oldest_unlinked_age_seconds") == 0


# -- request ids and the access log ----------------------------------------------------


def test_every_response_carries_a_request_id_and_the_access_log_has_the_fields(
    client, caplog, make_unit, make_person
):
    caplog.set_level(logging.INFO, logger="fenghuo.request")
    office = make_unit("临江市委办公室", is_receiving_office=True)
    person = make_person("duty", office, "duty_officer")
    client.force_login(person)

    response = client.get("/desk/")
    assert response.status_code == 200
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    [line] = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert line.name == "fenghuo.request" and line.levelno == logging.INFO
    assert (line.method, line.path, line.route, line.status, line.user) == (
        "GET",
        "/desk/",
        "desk/",
        200,
        "duty",
    )
    assert line.duration_ms > 0
    assert line.getMessage().startswith("GET /desk/ 200 ")

    # The load balancer's id is kept when harmless, replaced when not.
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-42.a")["X-Request-ID"] == "lb-42.a"
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nInjected: yes")
    assert replaced["X-Request-ID"] != "bad id\nInjected: yes"
    assert len(replaced["X-Request-ID"]) == 32
    # Probes are logged at DEBUG only.
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and r.path == "/healthz"]


def test_lines_logged_while_serving_carry_the_request_id(client, caplog):
    caplog.set_level(logging.INFO)
    response = client.get("/no/such/page/")  # django.request warns about the 404
    request_id = response["X-Request-ID"]
    warned = [r for r in caplog.records if r.name == "django.request"]
    assert warned and all(r.request_id == request_id for r in warned)
