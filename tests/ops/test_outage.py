"""Fault test: the SMTP server and a webhook receiver are down, then back — every
notification arrives exactly once at each sink, none is lost, none goes dead. Compressed
here (a 10-second outage, retries every 0.5–2 s); bench/faults/smtp_webhook_outage.py runs
the same scenario for minutes with the production retry settings."""

from tests.ops.outage import run_outage
from tests.processes import migrated_site_fixture, site_fixture  # noqa: F401 - fixtures


def test_smtp_and_webhook_down_then_back_lose_and_duplicate_nothing(migrated_site):
    result = run_outage(
        migrated_site,
        before=40,
        during=20,
        outage_seconds=10,
        worker_env={
            "FENGHUO_NOTIFY_BACKOFF_SECONDS": "0.5",
            "FENGHUO_NOTIFY_BACKOFF_CAP_SECONDS": "2",
            "FENGHUO_NOTIFY_MAX_ATTEMPTS": "100",
            "FENGHUO_NOTIFY_TIMEOUT_SECONDS": "2",
            "FENGHUO_HEARTBEAT_SECONDS": "0.5",
            "FENGHUO_WORKER_INTERVAL": "0.5",
        },
        deadline=120,
    )
    print(result.summary())
    # The outage was real: both transports failed and retried while the peers were away.
    assert result.failed_attempts.get("Email", 0) > 0, result.summary()
    assert result.failed_attempts.get("Webhook", 0) > 0, result.summary()
    assert (result.lost, result.duplicated, result.dead) == (0, 0, 0), result.summary()
