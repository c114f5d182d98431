from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema


class EvaluateIn(Schema):
    """A case to grade. Missing or wrong fields are named in the 422 answer."""

    category: str = Field("", description="事件类别代码（子类或大类），如 work_safety")
    occurred_at: datetime | None = Field(None, description="发生时间（未带时区按北京时间）")
    division_code: str = Field("", description="发生地 6 位行政区划代码")
    unit_id: int | None = Field(None, description="报送单位（决定适用哪一地区的标准）")
    dead: int | None = None
    missing: int | None = None
    seriously_injured: int | None = None
    injured: int | None = None
    economic_loss: Decimal | None = Field(None, description="直接经济损失（万元）")
    affected: int | None = None
    evacuated: int | None = None
    text: str = Field("", description="标题、地点、涉及人员、经过：用于匹配敏感词和敏感地点")
    flags: list[str] = Field(
        default_factory=list,
        description="报送人标注：sensitive_identity、sensitive_time、sensitive_place、"
        "extreme_behaviour、long_duration_crowd",
    )
    is_drill: bool = False
    at: datetime | None = Field(None, description="按此时间选用标准版本（默认为发生时间）")


class TargetOut(Schema):
    level: str
    level_label: str
    phone_minutes: int | None
    written_minutes: int
    text: str


class GradingOut(Schema):
    grade: int | None
    label: str
    reasons: list[str]
    targets: list[TargetOut]
    followup_hours: int | None
    final_days: int | None
    attention: bool
    ruleset: str
    rule_id: int | None


class FieldErrors(Schema):
    detail: str
    errors: dict[str, list[str]]
