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


class SourceFiguresOut(Schema):
    unit: str
    report_id: int
    report_kind: str
    values: dict[str, int | Decimal | None]


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
