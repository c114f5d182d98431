from datetime import datetime
from decimal import Decimal

from ninja import Schema


class EventOut(Schema):
    id: int
    title: str
    category: str
    status: str
    status_label: str
    grade: int | None
    occurred_at: datetime
    division_code: str
    place: str
    report_count: int
    is_drill: bool = False


class SourceFiguresOut(Schema):
    unit: str
    report_id: int
    report_kind: str
    values: dict[str, int | Decimal | None]


class AttachmentOut(Schema):
    id: int
    report_id: int
    name: str
    kind: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    url: str


class AttachmentError(Schema):
    detail: str
    errors: dict[str, list[str]]


class ReportBrief(Schema):
    id: int
    kind_label: str
    unit: str
    received_at: datetime
    title: str
    narrative: str


class TimelineOut(Schema):
    at: datetime
    kind: str
    text: str
    actor_name: str


class EventDetail(EventOut):
    sources: list[SourceFiguresOut]
    current: dict[str, int | Decimal | None]
    basis: dict[str, str]
    conflicts: dict[str, list[tuple[str, int | Decimal]]]
    reports: list[ReportBrief]
    timeline: list[TimelineOut]


class StatusIn(Schema):
    status: str
    note: str = ""


class VerificationIn(Schema):
    assignee_unit_id: int
    question: str
    due_at: datetime
    report_id: int | None = None


class VerificationAnswerIn(Schema):
    state: str
    answer: str
    figures: dict[str, Decimal | None] | None = None


class VerificationOut(Schema):
    id: int
    event_id: int
    event_title: str
    report_id: int | None
    assignee_unit_id: int
    assignee_unit: str
    question: str
    due_at: datetime
    requested_by: str
    requested_at: datetime
    state: str
    state_label: str
    answer: str
    answered_by: str
    answered_at: datetime | None
    overdue: bool


class ConsultationIn(Schema):
    question: str
    unit_ids: list[int] = []
    expert_ids: list[int] = []
    due_at: datetime | None = None


class ConsultationAnswerIn(Schema):
    text: str


class ConsultationCloseIn(Schema):
    conclusion: str


class ConsultationAnswerOut(Schema):
    id: int
    author: str
    unit: str | None
    text: str
    answered_at: datetime


class ConsultationOut(Schema):
    id: int
    event_id: int
    event_title: str
    question: str
    requested_by: str
    requested_at: datetime
    due_at: datetime | None
    units: list[str]
    experts: list[str]
    answers: list[ConsultationAnswerOut]
    conclusion: str
    closed_at: datetime | None
