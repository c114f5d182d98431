"""Hooks for the apps above `events` (escalation, assess …), which `events` must not import.

Every signal is sent inside the transaction of the change, so a receiver's writes (grading,
obligations, outbox rows) commit or roll back with it. Receivers must not do slow I/O.
"""

from django.dispatch import Signal

# A report entered an event's record (filed, or a draft confirmed): report, event, principal.
report_submitted = Signal()
# An event's verified figures (核实数) changed: event, principal.
event_figures_changed = Signal()
# A unit was asked to verify, or answered: task, principal.
verification_requested = Signal()
verification_answered = Signal()
# `source` was merged into `target` (its reports now belong to target): source, target, principal.
events_merged = Signal()
