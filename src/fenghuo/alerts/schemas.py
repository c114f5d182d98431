from datetime import datetime
from typing import Any

from ninja import Field, Schema


class WarningIn(Schema):
    """A draft. Codes and ids are resolved by the service, which names every bad field."""

    category: str | None = Field(None, description="事件类别代码，如 weather、geological")
    level: int | None = Field(None, description="1 红色（Ⅰ级）、2 橙色、3 黄色、4 蓝色（Ⅳ级）")
    event_name: str | None = Field(None, description="预警事件，如 暴雨")
    title: str | None = Field(None, description="标题；不填时自动生成")
    issuing_unit_id: int | None = Field(None, description="发布单位")
    area_codes: list[str] | None = Field(None, description="影响区域的 6 位行政区划代码")
    area_desc: str | None = Field(None, description="影响区域名称；不填时按区划代码生成")
    geometry: Any = Field(
        None,
        description='绘制区域：[{"type": "Polygon", "coordinates": [[[经度, 纬度], …]]}, '
        '{"type": "Circle", "coordinates": [经度, 纬度], "radius_km": 5}]',
    )
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    impact: str | None = Field(None, description="预计影响")
    cautions: str | None = Field(None, description="警示事项")
    measures: str | None = Field(None, description="应采取的措施")
    event_id: int | None = Field(None, description="关联事件")
    is_drill: bool | None = None
    confidentiality: int | None = Field(None, description="0 公开（默认）、1 内部、2 敏感")


class ReasonIn(Schema):
    reason: str = ""


class WarningOut(Schema):
    id: int
    series_id: int
    version: int
    replaces_id: int | None
    state: str
    state_label: str
    category: str
    category_name: str
    level: int
    colour: str
    level_label: str
    event_name: str
    title: str
    issuing_unit_id: int
    issuing_unit: str
    area_codes: list[str]
    area_desc: str
    geometry: list[dict[str, Any]]
    starts_at: datetime
    ends_at: datetime
    impact: str
    cautions: str
    measures: str
    event_id: int | None
    is_drill: bool
    confidentiality: int
    identifier: str | None
    cancel_identifier: str | None
    created_at: datetime
    reviewed_at: datetime | None
    rejection_reason: str
    issued_at: datetime | None
    lifted_at: datetime | None
    lift_reason: str
    source: str


class CapImportOut(Schema):
    kind: str = Field(description="warning：生成预警草稿；clue：登记为线索")
    warning_id: int | None
    report_id: int | None
    note: str
    replayed: bool


class FieldErrors(Schema):
    detail: str
    errors: dict[str, list[str]]
