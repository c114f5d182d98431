"""The events signals alerts listens to (connected in `apps.ready()`)."""

from typing import Any

from fenghuo.alerts import services
from fenghuo.events import signals
from fenghuo.events.models import Event


def on_events_merged(
    sender: Any, *, source: Event, target: Event, principal: Any, **_: Any
) -> None:
    services.events_merged(principal, source, target)


def connect() -> None:
    signals.events_merged.connect(on_events_merged, dispatch_uid="fenghuo.alerts.merged")
