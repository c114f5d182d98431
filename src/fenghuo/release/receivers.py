"""The events signals release listens to (connected in apps.ready)."""

from typing import Any

from fenghuo.events import signals
from fenghuo.events.models import Event
from fenghuo.release import services


def on_events_merged(sender: Any, *, source: Event, target: Event, principal: Any, **_) -> None:
    services.events_merged(source, target, principal)


def connect() -> None:
    signals.events_merged.connect(on_events_merged, dispatch_uid="fenghuo.release.merged")
