"""API shapes of the in-app inbox and the dead letters."""

from datetime import datetime

from ninja import Field, Schema


class InboxItem(Schema):
    id: int
    subject: str
    body: str
    link: str
    ref: str
    urgent: bool
    is_drill: bool
    created_at: datetime
    read_at: datetime | None


class InboxOut(Schema):
    unread: int
    items: list[InboxItem] = Field(description="最新的在前；下次以最大 id 作为 after_id 轮询")


class ReadIn(Schema):
    ids: list[int] = Field(description="要标记为已读的站内消息 id；他人的消息被忽略")


class ReadOut(Schema):
    marked: int
    unread: int


class AttemptOut(Schema):
    at: datetime
    transport: str
    outcome: str
    error_code: str
    detail: str
    duration_ms: int


class DeadLetterOut(Schema):
    id: int
    channel: str
    channel_label: str
    recipient: str
    unit: str
    subject: str
    key: str
    ref: str
    attempts: int
    last_error: str
    created_at: datetime
    log: list[AttemptOut]


class RetriedOut(Schema):
    id: int
    state: str
    next_attempt_at: datetime | None


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}
