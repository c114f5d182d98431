"""The one clock Fenghuo reads, so tests and drills can move time.

Every rule that compares against "now" (deadlines, escalations, shifts) must call
`clock.now()` instead of `timezone.now()`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone

_frozen: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    if _frozen is not None:
        return _frozen
    return timezone.now() + _offset


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Pin the clock to `moment` (tests); `advance` moves the pinned time."""
    global _frozen
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous


def advance(delta: timedelta) -> None:
    """Move the clock forward: the pinned moment if frozen, else an offset."""
    global _frozen, _offset
    if _frozen is not None:
        _frozen += delta
    else:
        _offset += delta
