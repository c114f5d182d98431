"""Prometheus metrics (prometheus_client), served at /metrics.

Two kinds, chosen by where the truth lives:

- **Per process**, counted as requests pass: HTTP requests by route, method and status and
  their latency. `fenghuo serve` runs several web processes on one machine; it points
  prometheus_client's multiprocess mode at a folder of its own (PROMETHEUS_MULTIPROC_DIR,
  see cli.py), where each process writes its counters, so a scrape answered by any one of
  them sums them all. Each machine is its own scrape target.
- **Installation-wide, read from the database at scrape time** (`selectors.figures`): task
  queue depth, outbox depth and deliveries by outcome, obligations, worker heartbeats. The
  work happens in worker processes, on any machine, that serve no HTTP; the rows are the
  truth, so every web process gives the same figures and nothing is lost when a process
  restarts. A handful of indexed counts per scrape.
"""

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from fenghuo.escalation.models import ObligationState
from fenghuo.notify.models import State
from fenghuo.ops import selectors

_requests_registry = CollectorRegistry()
REQUESTS = Counter(
    "fenghuo_http_requests",
    "HTTP requests, by URL route, method and status code",
    ["route", "method", "status"],
    registry=_requests_registry,
)
LATENCY = Histogram(
    "fenghuo_http_request_duration_seconds",
    "Time to the response (to its first byte for streams), by URL route and method",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=_requests_registry,
)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class DatabaseCollector(Collector):
    """The installation's state, read when Prometheus scrapes."""

    def describe(self) -> list[Metric]:
        return []  # figures come from the database; nothing to read at registration

    def collect(self) -> Iterator[Metric]:
        try:
            figures = selectors.figures()
        except Exception:  # a scrape must still answer: the database is the news
            yield _gauge("fenghuo_database_up", "1 when the database answered the scrape", 0)
            return
        yield _gauge("fenghuo_database_up", "1 when the database answered the scrape", 1)

        queues = GaugeMetricFamily(
            "fenghuo_task_queue_depth", "Tasks due to run and not yet taken", labels=["queue"]
        )
        for queue, count in sorted({"default": 0, **figures["tasks_due"]}.items()):
            queues.add_metric([queue], count)
        yield queues
        yield _gauge(
            "fenghuo_task_scheduled",
            "Tasks waiting for their run_after time (durable timers)",
            figures["tasks_scheduled"],
        )
        yield _gauge(
            "fenghuo_task_oldest_due_age_seconds",
            "Age of the oldest task due and not yet taken (0 when none)",
            figures["tasks_oldest_due"],
        )

        messages = GaugeMetricFamily(
            "fenghuo_notify_messages",
            "Outbox messages by channel and state (pending, sending, retrying, delivered, dead)",
            labels=["channel", "state"],
        )
        for (channel, state), count in sorted(figures["messages"].items()):
            messages.add_metric([channel, state], count)
        yield messages
        yield _gauge(
            "fenghuo_notify_outbox_depth",
            "Messages still to be delivered (pending, sending or retrying)",
            figures["outbox_depth"],
        )
        yield _gauge(
            "fenghuo_notify_outbox_oldest_age_seconds",
            "Age of the oldest message still to be delivered (0 when none)",
            figures["outbox_oldest"],
        )
        yield _gauge(
            "fenghuo_notify_dead_letters",
            "Messages that failed for good (dead letters shown on the duty desk)",
            sum(n for (_, state), n in figures["messages"].items() if state == State.DEAD),
        )
        attempts = CounterMetricFamily(
            "fenghuo_notify_delivery_attempts",
            "Delivery attempts by transport and outcome (delivered, failed)",
            labels=["transport", "outcome"],
        )
        for (transport, outcome), count in sorted(figures["attempts"].items()):
            attempts.add_metric([transport, outcome], count)
        yield attempts

        obligations = GaugeMetricFamily(
            "fenghuo_obligations",
            "Reporting obligations by state (pending, late, missed, met)",
            labels=["state"],
        )
        for state in ObligationState.values:
            obligations.add_metric([state], figures["obligations"].get(state, 0))
        yield obligations
        yield _gauge(
            "fenghuo_obligation_oldest_pending_age_seconds",
            "Age of the oldest pending obligation (0 when none)",
            figures["obligation_oldest_pending"],
        )
        yield _gauge(
            "fenghuo_obligation_unmarked_overdue_seconds",
            "How long the most overdue obligation has waited to be marked late (0 when none); "
            "more than a few seconds means the deadline loop is not running",
            figures["obligation_unmarked_overdue"],
        )

        yield _gauge(
            "fenghuo_audit_unlinked_entries",
            "Audit entries written while another transaction held the chain's head, not yet "
            "linked by a worker (not protected by the chain until then)",
            figures["audit_unlinked"],
        )
        yield _gauge(
            "fenghuo_audit_oldest_unlinked_age_seconds",
            "Age of the oldest audit entry not yet linked (0 when none); more than a few "
            "seconds means no worker is linking",
            figures["audit_oldest_unlinked"],
        )

        yield _gauge(
            "fenghuo_workers_alive",
            "Workers whose heartbeat is fresher than FENGHUO_WORKER_STALE_SECONDS",
            figures["workers_alive"],
        )
        age = figures["worker_newest_age"]
        yield _gauge(
            "fenghuo_worker_heartbeat_age_seconds",
            "Seconds since the freshest worker heartbeat (+Inf when no worker is known)",
            float("inf") if age is None else age,
        )


_scrape_registry: CollectorRegistry | None = None


def exposition(accept: str) -> tuple[bytes, str]:
    """The body and content type a scrape gets (the format its Accept header asks for:
    OpenMetrics, else Prometheus text 0.0.4)."""
    global _scrape_registry
    if _scrape_registry is None:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # every web process's counters
        else:
            registry = _requests_registry
        registry.register(DatabaseCollector())
        _scrape_registry = registry
    encoder, content_type = choose_encoder(accept)
    return encoder(_scrape_registry), content_type
