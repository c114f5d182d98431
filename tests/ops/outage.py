"""The SMTP server and a webhook receiver go down, then come back: the scenario shared by
tests/ops/test_outage.py (compressed into well under a minute with short retry settings)
and bench/faults/smtp_webhook_outage.py (a real outage of several minutes with the
production retry settings).

A duty officer (e-mail) and the office's webhook each get one notification per key
`outage:<n>`. A batch goes out with both peers up; they are stopped while the worker is in
the middle of sending it; a second batch is written during the outage; the peers come back
on the same ports after `outage_seconds`. Every message must then arrive: the e-mail sink
(aiosmtpd) sees each key in its X-Fenghuo-Key header, the webhook sink keeps each
Idempotency-Key. `lost` counts keys a sink never received, `duplicated` deliveries beyond
one per key (a receiver would drop them by key; this outage should make none, since a
refused connection delivers nothing).
"""

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from tests.notify.peers import HttpPeer, Sink, SmtpPeer
from tests.processes import Site, poll

SECRET = "outage-webhook-secret"

SETUP = """
from django.conf import settings
from fenghuo.notify import services as notify_services
from fenghuo.notify.models import Endpoint
from fenghuo.org import services
from fenghuo.org.models import AdminLevel, Role, UnitKind
from fenghuo.org.policy import Principal
system = Principal(person_id=None, grants=(), is_superuser=True, label="故障测试")
office = services.unit_create(
    system, parent=None, name="临江市委办公室", level=AdminLevel.CITY,
    kind=UnitKind.objects.get(code="gov_office"), division_code="990100",
    is_receiving_office=True,
)
person = services.person_create(
    system, username="duty", full_name="王值班", unit=office, email="wang@linjiang.gov.cn"
)
services.membership_grant(system, person=person, unit=office, role=Role.DUTY_OFFICER)
notify_services.save_endpoint(
    None, Endpoint(kind="webhook", name="接收系统", unit=office, url={url!r}, secret={secret!r})
)
result = office.pk
"""

ENQUEUE = """
from django.conf import settings
from fenghuo.notify import services
from fenghuo.org.models import Person, Unit
settings.FENGHUO_NOTIFY_CHAIN = ["email"]
office, person = Unit.objects.get(pk={office}), Person.objects.get(username="duty")
for n in range({start}, {stop}):
    key, subject = f"outage:{{n}}", f"第 {{n}} 条紧急信息"
    services.notify_people([person], subject=subject, body="请签收", key=key)
    services.notify_unit(office, subject=subject, body="请签收", key=key)
result = {stop} - {start}
"""

STATES = """
from django.db.models import Count
from fenghuo.notify.models import Message
result = {
    f"{channel}:{state}": n
    for channel, state, n in Message.objects.exclude(channel="inapp")
    .values_list("channel", "state").annotate(n=Count("pk")).order_by()
}
"""

FAILURES = """
from django.db.models import Count
from fenghuo.notify.models import DeliveryAttempt
result = dict(
    DeliveryAttempt.objects.filter(outcome="failed")
    .values_list("transport").annotate(n=Count("pk")).order_by()
)
"""


@dataclass
class OutageResult:
    notifications: int  # per sink
    lost_email: int
    lost_webhook: int
    duplicated_email: int
    duplicated_webhook: int
    failed_attempts: dict[str, int]
    dead: int
    outage_seconds: float
    recovery_seconds: float  # from the peers' return to the last delivery

    @property
    def lost(self) -> int:
        return self.lost_email + self.lost_webhook

    @property
    def duplicated(self) -> int:
        return self.duplicated_email + self.duplicated_webhook

    def summary(self) -> str:
        return (
            f"lost={self.lost} duplicated={self.duplicated} "
            f"(notifications={self.notifications} per sink; e-mail lost={self.lost_email} "
            f"duplicated={self.duplicated_email}; webhook lost={self.lost_webhook} "
            f"duplicated={self.duplicated_webhook}; dead={self.dead}; failed attempts during "
            f"the outage={self.failed_attempts}; outage {self.outage_seconds:.0f} s, all "
            f"delivered {self.recovery_seconds:.1f} s after the peers came back)"
        )


def run_outage(
    site: Site,
    *,
    before: int,
    during: int,
    outage_seconds: float,
    worker_env: dict[str, str],
    deadline: float,
    say: Callable[[str], None] = lambda line: None,
) -> OutageResult:
    """Run the scenario on a migrated `site`; `deadline` bounds the wait for recovery."""
    total = before + during
    smtp = SmtpPeer()
    smtp.start()
    sink = Sink(secrets={"webhook": SECRET}, delay=0.02)  # a receiver that takes its time
    http = HttpPeer(sink).__enter__()
    worker = None
    try:
        office = site.django(SETUP.format(url=f"{http.url}/webhook", secret=SECRET))
        site.django(ENQUEUE.format(office=office, start=0, stop=before))
        env = {
            "FENGHUO_EMAIL_HOST": "127.0.0.1",
            "FENGHUO_EMAIL_PORT": str(smtp.port),
            "FENGHUO_NOTIFY_CHAIN": "email",
            **worker_env,
        }
        worker = site.start("worker", **env)
        poll(lambda: len(sink.processed) >= before // 2, "the worker to be half-way", every=0.02)

        say(f"peers down after {len(sink.processed)} webhooks, {len(smtp.messages)} e-mails")
        smtp.stop()
        http.__exit__(None, None, None)
        down_at = time.monotonic()
        site.django(ENQUEUE.format(office=office, start=before, stop=total))
        while time.monotonic() - down_at < outage_seconds:
            states = site.django(STATES)
            if any(key.endswith(":dead") for key in states):
                raise AssertionError(f"dead letters during the outage: {states}")
            say(f"  outage {time.monotonic() - down_at:.0f} s: {states}")
            time.sleep(min(30.0, max(outage_seconds / 10, 1.0)))
        failures = site.django(FAILURES)

        smtp.start()
        http = HttpPeer(sink, port=http.port).__enter__()
        back_at = time.monotonic()
        say(f"peers back after {back_at - down_at:.0f} s")
        done = {"email:delivered": total, "webhook:delivered": total}
        poll(
            lambda: site.django(STATES) == done,
            "every notification to be delivered",
            timeout=deadline,
            every=0.5,
        )
        recovered = time.monotonic() - back_at
        states = site.django(STATES)
    finally:
        smtp.stop()
        http.__exit__(None, None, None)
        if worker is not None:
            worker.cleanup()

    expected = {f"outage:{n}" for n in range(total)}
    mail_keys = Counter(message["key"] for message in smtp.messages)
    return OutageResult(
        notifications=total,
        lost_email=len(expected - set(mail_keys)),
        lost_webhook=len(expected - set(sink.accepted_keys)),
        duplicated_email=sum(n - 1 for n in mail_keys.values() if n > 1),
        duplicated_webhook=sum(n - 1 for n in sink.accepted_keys.values() if n > 1),
        failed_attempts=failures,
        dead=sum(n for key, n in states.items() if key.endswith(":dead")),
        outage_seconds=outage_seconds,
        recovery_seconds=recovered,
    )
