"""The issue's check with real processes: `fenghuo worker` is killed with SIGKILL in the
middle of sending 500 webhook notifications and a new worker is started; every notification
reaches the local sink, and a receiver that drops duplicates by Idempotency-Key processes
each exactly once."""

import signal

from tests.notify.conftest import SECRETS
from tests.notify.peers import HttpPeer, Sink
from tests.processes import migrated_site_fixture, poll, site_fixture  # noqa: F401

COUNT = 500
WORKER_ENV = {
    "FENGHUO_HEARTBEAT_SECONDS": "0.5",
    "FENGHUO_WORKER_INTERVAL": "0.5",
    # A short lease, so the killed worker's claims come due again soon.
    "FENGHUO_NOTIFY_LEASE_SECONDS": "3",
    "FENGHUO_NOTIFY_TIMEOUT_SECONDS": "2",
    "FENGHUO_NOTIFY_THREADS": "4",
}

ENQUEUE = """
from fenghuo.notify import services
from fenghuo.notify.models import Endpoint
from fenghuo.org import services as org_services
from fenghuo.org.models import AdminLevel, UnitKind
from fenghuo.org.policy import Principal

system = Principal(person_id=None, grants=(), is_superuser=True, label="测试")
unit = org_services.unit_create(
    system, parent=None, name="临江市委办公室", level=AdminLevel.CITY,
    kind=UnitKind.objects.get(code="gov_office"), division_code="990100",
)
services.save_endpoint(
    None, Endpoint(kind="webhook", name="接收系统", unit=unit, url={url!r}, secret={secret!r})
)
for n in range({count}):
    services.notify_unit(unit, subject=f"第 {{n}} 条紧急信息", body="请签收", key=f"alert:{{n}}")
result = unit.pk
"""

STATES = """
from django.db.models import Count
from fenghuo.notify.models import Message
result = dict(Message.objects.values_list("state").annotate(n=Count("pk")))
"""


def test_sigkill_mid_send_loses_nothing_and_duplicates_are_absorbed(migrated_site):
    sink = Sink(secrets=dict(SECRETS), delay=0.05)
    with HttpPeer(sink) as peer:
        migrated_site.django(
            ENQUEUE.format(url=f"{peer.url}/webhook", secret=SECRETS["webhook"], count=COUNT)
        )
        assert migrated_site.django(STATES) == {"pending": COUNT}

        first = migrated_site.start("worker", **WORKER_ENV)
        poll(lambda: len(sink.processed) >= 100, "the first worker to send 100", every=0.02)
        first.signal(signal.SIGKILL)
        assert first.wait() == -signal.SIGKILL
        states = migrated_site.django(STATES)
        assert states.get("delivered", 0) < COUNT, states  # killed mid-way

        second = migrated_site.start("worker", **WORKER_ENV)
        seen = []
        poll(
            lambda: seen.append(migrated_site.django(STATES)) or seen[-1] == {"delivered": COUNT},
            "every notification to be delivered",
        )
        assert second.popen.poll() is None, second.output

    expected = {f"alert:{n}" for n in range(COUNT)}
    assert set(sink.processed) == expected and len(sink.processed) == COUNT
    assert sink.rejected == []
    assert sink.count("webhook") == COUNT + sink.duplicates, (sink.duplicates, seen[-3:])
