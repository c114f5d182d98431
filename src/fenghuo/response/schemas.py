from datetime import datetime

from ninja import Schema


class LevelPlanOut(Schema):
    level: int
    label: str
    lead_roles: list[str]
    department_head: bool
    start_roles: list[str]
    end_roles: list[str]
    urgent: bool
    duties: str


class LeaderOut(Schema):
    person_id: int
    name: str
    unit_id: int
    unit: str
    role: str
    role_label: str


class ChangeOut(Schema):
    from_level: int | None
    to_level: int
    reason: str
    at: datetime
    by: str


class EndRequestOut(Schema):
    id: int
    assessment: str
    requested_at: datetime
    requested_by: str
    decision: str
    decision_label: str
    decided_at: datetime | None
    decided_by: str
    decision_note: str


class ResponseOut(Schema):
    id: int
    event_id: int
    event_title: str
    office_id: int
    office: str
    level: int
    level_label: str
    state: str
    state_label: str
    reason: str
    started_at: datetime
    ended_at: datetime | None
    summary: str
    summarized_at: datetime | None
    leaders: list[LeaderOut]
    changes: list[ChangeOut]
    end_requests: list[EndRequestOut]
    may_manage: bool
    may_approve_end: bool
    board_url: str


class StartIn(Schema):
    level: int
    reason: str = ""
    office_id: int | None = None


class LevelIn(Schema):
    level: int
    reason: str = ""


class NoteOut(Schema):
    id: int
    text: str
    at: datetime
    author: str


class EvidenceOut(Schema):
    id: int
    name: str
    kind: str
    content_type: str
    size: int
    uploaded_at: datetime
    url: str


class TaskOut(Schema):
    id: int
    response_id: int
    event_id: int
    title: str
    description: str
    unit_id: int
    unit: str
    due_at: datetime
    state: str
    state_label: str
    created_at: datetime
    started_at: datetime | None
    done_at: datetime | None
    overdue_at: datetime | None
    notes: list[NoteOut]
    evidence: list[EvidenceOut]
    may_work: bool


class TaskIn(Schema):
    title: str = ""
    unit_id: int | None = None
    due_at: datetime | None = None
    description: str = ""


class TaskPatch(Schema):
    """Only the fields sent change. Content, unit and due time: the response's managers;
    state (in_progress / done) with an optional note: also the assigned unit."""

    title: str | None = None
    description: str | None = None
    unit_id: int | None = None
    due_at: datetime | None = None
    state: str | None = None
    note: str = ""


class NoteIn(Schema):
    text: str = ""


class EndRequestIn(Schema):
    assessment: str = ""


class DecisionIn(Schema):
    approve: bool
    note: str = ""


class SummaryIn(Schema):
    summary: str = ""


class Problem(Schema):
    detail: str
    errors: dict[str, list[str]]
