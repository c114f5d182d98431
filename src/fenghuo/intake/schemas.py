"""API shapes for filing reports. Fields are optional here on purpose: the service
validates them and answers with one Chinese message per missing or wrong field."""

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema


class ReportIn(Schema):
    kind: str = Field(
        "first", description="first 首报 / followup 续报 / final 终报 / supplement 补报"
    )
    event_id: int | None = Field(None, description="续报、终报、补报所属的事件")
    unit_id: int | None = Field(None, description="报送单位；令牌调用时为令牌所属单位")
    title: str | None = None
    category: str | None = Field(None, description="事件类别代码，如 hazchem、road_traffic")
    occurred_at: datetime | None = None
    division_code: str | None = None
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    subjects: str | None = None
    narrative: str | None = None
    cause: str | None = None
    dead: int | None = Field(None, ge=0)
    missing: int | None = Field(None, ge=0)
    seriously_injured: int | None = Field(None, ge=0)
    injured: int | None = Field(None, ge=0)
    economic_loss: Decimal | None = Field(None, ge=0, description="万元")
    affected: int | None = Field(None, ge=0)
    evacuated: int | None = Field(None, ge=0)
    measures: str | None = None
    next_steps: str | None = None
    handling_summary: str | None = None
    aftercare: str | None = None
    source: str | None = None
    reliability: str | None = None
    confidentiality: int | None = Field(None, ge=0, le=2, description="0 公开 / 1 内部 / 2 敏感")
    is_urgent: bool | None = None
    flags: list[str] | None = Field(
        None,
        description="报送人标注的敏感因素：sensitive_identity 敏感身份 / "
        "sensitive_time 敏感时间 / sensitive_place 敏感地点 / extreme_behaviour 极端行为 / "
        "long_duration_crowd 持续时间长、聚集人数多",
    )


class ReportCreated(Schema):
    id: int
    event_id: int | None
    kind: str
    kind_label: str
    outcome: str = Field(
        description="new_event 新事件 / joined 并入已有事件 / review 待确认 / followup"
    )
    score: float


class FieldErrors(Schema):
    detail: str
    errors: dict[str, list[str]]


class ImportRowError(Schema):
    row: int | None = Field(description="表格中的行号（列名所在行为第 1 行）；空表示整个文件")
    column: str = Field(description="中文列名；空表示整行或整个文件")
    field: str = Field(description="报告字段名")
    message: str


class ImportNote(Schema):
    row: int
    message: str


class ImportOut(Schema):
    batch_id: int | None = Field(description="导入批次；未导入时为空")
    filename: str
    total_rows: int
    imported: int
    skipped: int = Field(description="已导入过或与前面行相同而跳过的行数")
    committed: bool = Field(description="是否已导入（有错误且未选择只导入无误的行时为 false）")
    replayed: bool = Field(description="同一文件此前已导入，本次未做任何改动")
    errors: list[ImportRowError]
    notes: list[ImportNote]
    report_ids: list[int]


class MailDraftOut(Schema):
    report_id: int
    message_id: str
    from_header: str
    subject: str
    received_at: datetime
    unit: str
    title: str
    narrative: str
    provisional_fields: list[str] = Field(description="系统推测、须值班员确认后填写的字段")


class DraftConfirmIn(ReportIn):
    """The fields the duty officer completes; category by its code."""


class DraftRejectIn(Schema):
    reason: str
