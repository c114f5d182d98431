from datetime import datetime
from typing import Any

from ninja import Schema


class RouteOut(Schema):
    id: int
    report_id: int
    report_kind: str
    unit: str
    event_id: int | None
    event_title: str
    office_id: int
    office: str
    level: str
    level_label: str
    state: str
    state_label: str
    urgent: bool
    release: str
    release_label: str
    created_at: datetime
    signed_off_by: str
    signed_off_at: datetime | None
    sent_at: datetime | None
    acknowledged_by: str
    acknowledged_at: datetime | None
    may_sign_off: bool
    may_acknowledge: bool


class SignOffIn(Schema):
    note: str = ""


class ObligationOut(Schema):
    id: int
    key: str
    kind: str
    kind_label: str
    title: str
    event_id: int
    event_title: str
    obliged_unit_id: int
    obliged_unit: str
    office_id: int | None
    office: str
    level: str
    sequence: int
    report_id: int | None
    reason: str
    created_at: datetime
    due_at: datetime
    state: str
    state_label: str
    late_at: datetime | None
    missed_at: datetime | None
    met_at: datetime | None
    minutes_late: int | None
    met_note: str
    next_step_at: datetime | None
    escalations: list[dict[str, Any]]


class EventGradingOut(Schema):
    at: datetime
    grade: int | None
    label: str
    reasons: list[str]
    targets: list[dict[str, Any]]
    followup_hours: int | None
    final_days: int | None
    attention: bool
    ruleset: str
    trigger: str
    trigger_report_id: int | None


class StepIn(Schema):
    after_minutes: int
    target: str


class PolicyIn(Schema):
    receipt_minutes: int
    steps: list[StepIn]
    note: str = ""


class PolicyOut(Schema):
    office_id: int
    office: str
    policy: str
    receipt_minutes: int
    steps: list[StepIn]
    is_default: bool
