"""The events signals assess listens to (connected in apps.ready()).

Each runs inside the transaction of the change. Assess is installed after escalation, so
its receivers run after escalation's: the event is already graded when area duties are
planned from its grading.
"""

from typing import Any

from fenghuo.assess import services
from fenghuo.events import signals
from fenghuo.events.models import Event, Report


def on_report_submitted(sender: Any, *, report: Report, event: Event, **_) -> None:
    counted = services.is_counted(event)  # one question for both
    services.report_entered(report, event, counted=counted)
    services.plan_area_duties(event, counted=counted)
    services.queue_event(event)


def on_figures_changed(sender: Any, *, event: Event, **_) -> None:
    services.check_figures(event)
    services.plan_area_duties(event)  # a higher grade may oblige more units


def on_events_merged(sender: Any, *, source: Event, target: Event, **_) -> None:
    services.events_merged(source, target)


def connect() -> None:
    uid = "fenghuo.assess"
    signals.report_submitted.connect(on_report_submitted, dispatch_uid=f"{uid}.report")
    signals.event_figures_changed.connect(on_figures_changed, dispatch_uid=f"{uid}.figures")
    signals.events_merged.connect(on_events_merged, dispatch_uid=f"{uid}.merged")
