"""Drill data: how every app marks it, filters it out and shrinks its deadlines.

A drill (演练) runs on the real system, so its rows live beside real ones. Every row of
drill data carries `is_drill = True`; the rows of one drill run also carry the run's
`drill_tag` (events, reports, posts, topics, notifications), which keeps two runs apart and
lets a run's data be found and purged. Lists, counts, statistics and public pages read
`drill_q(False)`: real data only.

An accelerated drill (×10 …) keeps every timestamp real and shrinks every duration owed
inside it instead: "phone within 30 minutes" is due 3 real minutes after the report in a
×10 run, so the existing deadline loops, countdowns and the desk work unchanged and real
time never moves. `owed(delta, drill_tag)` is that shrinking; the drills app (at the top of
the stack) registers the resolver from a tag to its run's speed, so core never imports it.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db.models import Q

# False: real data only; True: drill data only; a tag: that run's data; None: everything.
DrillFilter = bool | str | None

_speed_of: Callable[[str], float] | None = None


def drill_q(drill: DrillFilter = False, prefix: str = "") -> Q:
    """A filter on the `is_drill` / `drill_tag` fields (under `prefix`, e.g. "event__")."""
    if drill is None:
        return Q()
    if drill is True:
        return Q(**{f"{prefix}is_drill": True})
    if drill is False or drill == "":
        return Q(**{f"{prefix}is_drill": False})
    return Q(**{f"{prefix}drill_tag": drill})


def same_as(obj: Any, prefix: str = "") -> Q:
    """Rows of the same kind as `obj`: real with real, a drill run's with that run's."""
    return Q(
        **{
            f"{prefix}is_drill": bool(getattr(obj, "is_drill", False)),
            f"{prefix}drill_tag": getattr(obj, "drill_tag", "") or "",
        }
    )


def set_speed_resolver(resolver: Callable[[str], float] | None) -> None:
    """Register how a drill tag maps to its run's speed (the drills app does, at start)."""
    global _speed_of
    _speed_of = resolver


def speed(drill_tag: str) -> float:
    """How many drill seconds pass per real second in the run tagged `drill_tag` (1 for
    real data, an unknown tag or no resolver)."""
    if not drill_tag or _speed_of is None:
        return 1.0
    value = _speed_of(drill_tag)
    return value if value and value > 0 else 1.0


def owed(delta: timedelta, drill_tag: str = "") -> timedelta:
    """The real time a duration owed inside a drill takes: `delta` ÷ the run's speed."""
    factor = speed(drill_tag)
    return delta if factor == 1.0 else delta / factor


def marks(obj: Any) -> dict[str, Any]:
    """The drill marks of `obj` (an event, a report, a topic …) as notify's keyword
    arguments, so a notification about drill data is prefixed 【演练】 and tagged."""
    return {
        "is_drill": bool(getattr(obj, "is_drill", False)),
        "drill_tag": getattr(obj, "drill_tag", "") or "",
    }
