"""The escalation app's receivers of the events signals (connected in apps.ready()).

Each runs inside the transaction of the change that sent it: a report is graded, routed and
given its obligations in the same commit, or not at all.
"""

from typing import Any

from fenghuo.escalation import services
from fenghuo.escalation.models import Trigger
from fenghuo.events import signals
from fenghuo.events.models import Event, Report, VerificationTask


def on_report_submitted(sender: Any, *, report: Report, event: Event, principal: Any, **_) -> None:
    services.report_submitted(report, event, principal)


def on_figures_changed(sender: Any, *, event: Event, principal: Any, **_) -> None:
    services.regrade(event, trigger=Trigger.FIGURES, principal=principal)


def on_events_merged(sender: Any, *, source: Event, target: Event, principal: Any, **_) -> None:
    services.events_merged(source, target, principal)


def on_verification_requested(sender: Any, *, task: VerificationTask, principal: Any, **_) -> None:
    services.verification_requested(task, principal)


def on_verification_answered(sender: Any, *, task: VerificationTask, principal: Any, **_) -> None:
    services.verification_answered(task, principal)


def connect() -> None:
    uid = "fenghuo.escalation"
    signals.report_submitted.connect(on_report_submitted, dispatch_uid=f"{uid}.report")
    signals.event_figures_changed.connect(on_figures_changed, dispatch_uid=f"{uid}.figures")
    signals.events_merged.connect(on_events_merged, dispatch_uid=f"{uid}.merged")
    signals.verification_requested.connect(
        on_verification_requested, dispatch_uid=f"{uid}.verification_requested"
    )
    signals.verification_answered.connect(
        on_verification_answered, dispatch_uid=f"{uid}.verification_answered"
    )
