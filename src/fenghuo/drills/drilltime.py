"""The drill clock: drill time runs `speed` times as fast as real time from the start.

    drill time = started_at + (real time − started_at) × speed

It is derived from `core.clock.now()` and the run's row (start, speed) alone, so the web
processes and the workers agree on it on either database without sharing anything, and
real time never moves: every timestamp stored is real, and what a drill owes is shrunk
into real time instead (core.sandbox.owed). Tests pin and advance `core.clock` and the
drill clock follows at its speed.
"""

from datetime import datetime, timedelta

from django.utils import timezone

from fenghuo.core import clock
from fenghuo.drills.models import DrillRun


def minutes(run: DrillRun, at: datetime | None = None) -> float:
    """Drill minutes elapsed at real time `at` (now by default); 0 before the start."""
    if run.started_at is None:
        return 0.0
    moment = at or clock.now()
    if run.ended_at is not None and at is None:
        moment = min(moment, run.ended_at)
    seconds = max(0.0, (moment - run.started_at).total_seconds())
    return seconds * run.speed / 60


def real_at(run: DrillRun, drill_minutes: float) -> datetime:
    """The real moment at which `drill_minutes` of drill time have passed."""
    if run.started_at is None:
        raise ValueError("the run has not started")
    return run.started_at + timedelta(minutes=drill_minutes) / run.speed


def drill_datetime(run: DrillRun, at: datetime | None = None) -> datetime | None:
    """The drill's own clock reading (a wall time running at its speed)."""
    if run.started_at is None:
        return None
    return run.started_at + timedelta(minutes=minutes(run, at))


def stamp(drill_minutes: float | None) -> str:
    """T+1:05:30 — hours, minutes and seconds of drill time since the start."""
    if drill_minutes is None:
        return "—"
    total = round(drill_minutes * 60)
    sign = "−" if total < 0 else "+"
    total = abs(total)
    return f"T{sign}{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def local(moment: datetime | None) -> str:
    return f"{timezone.localtime(moment):%m-%d %H:%M:%S}" if moment else "—"
