"""The outbox's delivery loop: `deliver_due` is a polling step of `fenghuo worker`
(FENGHUO_WORKER_LOOPS, see core/loops.py).

Each step records the sends that finished, then claims due messages (services.claim_due
commits the claim before anything is sent) and hands them to a small thread pool per lane —
e-mail, SMS, HTTP (robots and webhooks) — so a hanging SMTP server never holds up the
webhooks. Senders touch no database; results are recorded by the loop's own thread, each
in its own transaction.

At-least-once: a worker killed mid-send leaves its claims in `sending`; when their lease
expires they are due again and sent again with the same key, which receivers use to drop
the duplicate. Claims are row-locked (PostgreSQL: SKIP LOCKED), so several workers never
send one message twice on their own.
"""

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from django.conf import settings

from fenghuo.core import clock
from fenghuo.notify import selectors, services
from fenghuo.notify.models import Channel
from fenghuo.notify.services import Claim, Result
from fenghuo.notify.transports import TRANSPORTS, TransportError

logger = logging.getLogger("fenghuo.notify")

QUEUE_DEPTH = 4  # claims in flight per sending thread
LANES: dict[str, tuple[str, ...]] = {
    "email": (Channel.EMAIL,),
    "sms": (Channel.SMS,),
    "http": (
        Channel.WEBHOOK,
        Channel.WECOM_ROBOT,
        Channel.DINGTALK_ROBOT,
        Channel.FEISHU_ROBOT,
    ),
}


def send(claim: Claim) -> Result:
    """Send one claimed message (in a pool thread); never raises."""
    out = claim.out
    transport = TRANSPORTS[out.channel]
    started_at = clock.now()
    began = time.monotonic()
    try:
        detail = transport.send(out)
    except TransportError as exc:
        return Result(
            ok=False,
            transport=type(transport).__name__,
            started_at=started_at,
            duration_ms=round((time.monotonic() - began) * 1000),
            code=exc.code,
            detail=exc.detail,
            permanent=exc.permanent,
        )
    except Exception as exc:  # a bug in a transport must fail the attempt, not the loop
        logger.exception("通知 %s 发送时出错", out.id)
        return Result(
            ok=False,
            transport=type(transport).__name__,
            started_at=started_at,
            duration_ms=round((time.monotonic() - began) * 1000),
            code="error",
            detail=f"{type(exc).__name__}: {exc}",
        )
    return Result(
        ok=True,
        transport=type(transport).__name__,
        started_at=started_at,
        duration_ms=round((time.monotonic() - began) * 1000),
        detail=detail,
    )


class Dispatcher:
    """Claims, sends and records; one per worker loop thread."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or settings.FENGHUO_NOTIFY_THREADS
        self.pools = {
            lane: ThreadPoolExecutor(self.threads, thread_name_prefix=f"fenghuo-send-{lane}")
            for lane in LANES
        }
        self.in_flight: dict[Future, tuple[str, Claim]] = {}

    def _busy(self, lane: str) -> int:
        return sum(1 for name, _ in self.in_flight.values() if name == lane)

    def _reap(self) -> int:
        done = [(self.in_flight.pop(f)[1], f.result()) for f in list(self.in_flight) if f.done()]
        if done:
            services.record_results(done)
        for claim, result in done:
            if not result.ok:
                logger.warning("通知 %s 发送失败：%s %s", claim.out.id, result.code, result.detail)
        return len(done)

    def _wait(self, timeout: float) -> None:
        if self.in_flight:
            wait(list(self.in_flight), timeout=timeout, return_when=FIRST_COMPLETED)

    def step(self, wait_seconds: float = 0.2) -> int:
        """Record finished sends, claim what is due into free slots; how many rows moved."""
        handled = self._reap()
        claimed = 0
        due = selectors.due_channels()
        # Claims queue beyond the threads (fewer, larger claims: on SQLite each is a write
        # lock the web process also waits for), but not so far that a hanging peer leaves
        # a claim waiting until its lease expires (4 timeouts « the lease).
        for lane, channels in LANES.items():
            free = QUEUE_DEPTH * self.threads - self._busy(lane)
            if free <= 0 or not due.intersection(channels):
                continue
            for claim in services.claim_due(channels, free):
                self.in_flight[self.pools[lane].submit(send, claim)] = (lane, claim)
                claimed += 1
        if not claimed and not handled and self.in_flight:
            self._wait(wait_seconds)
            handled = self._reap()
        return handled + claimed

    def drain(self, timeout: float = 60.0) -> int:
        """Step until nothing is due and nothing is in flight (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        total = 0
        while time.monotonic() < deadline:
            moved = self.step()
            total += moved
            if not moved and not self.in_flight:
                break
        return total


_local = threading.local()


def dispatcher() -> Dispatcher:
    """The calling thread's dispatcher (the worker runs the loop in one thread)."""
    if getattr(_local, "dispatcher", None) is None:
        _local.dispatcher = Dispatcher()
    return _local.dispatcher


def deliver_due() -> int:
    """The worker's polling step (FENGHUO_WORKER_LOOPS)."""
    return dispatcher().step()
