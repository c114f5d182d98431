"""The events signals response listens to (connected in `apps.ready()`)."""

from typing import Any

from fenghuo.events import signals
from fenghuo.events.models import Event
from fenghuo.response import services


def on_events_merged(sender: Any, *, source: Event, target: Event, **_: Any) -> None:
    services.events_merged(source, target)


def connect() -> None:
    signals.events_merged.connect(on_events_merged, dispatch_uid="fenghuo.response.merged")
