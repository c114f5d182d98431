from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field


class ProblemOut(Schema):
    line: int | None
    column: int | None
    path: str
    message: str


class CheckIn(Schema):
    text: str = Field(description="想定文件（YAML）全文")


class CheckOut(Schema):
    ok: bool
    title: str = ""
    problems: list[ProblemOut] = []


class ScenarioIn(Schema):
    filename: str = Field("scenario.yaml", max_length=200)
    text: str
    unit_id: int = Field(description="上传单位（须有导调权限）")


class ScenarioOut(Schema):
    slug: str
    title: str
    summary: str
    duration: float
    origin: str  # bundled | uploaded
    injections: int
    expectations: int
    units: dict[str, str]


class RunIn(Schema):
    scenario: str = Field(description="想定标识（slug）")
    unit_id: int = Field(description="导调单位")
    speed: float = Field(10, description="时钟倍速：1 为实时，10 表示快 10 倍")
    units: dict[str, int] = Field(
        default_factory=dict, description="想定中的单位 → 组织机构中的单位编号（不填则按名称对应）"
    )


class ParticipantOut(Schema):
    key: str
    unit_id: int
    unit: str
    simulated: bool


class InjectionOut(Schema):
    key: str
    kind: str
    at_minutes: float
    due_at: datetime | None
    done_at: datetime | None
    note: str
    failed: bool


class RunOut(Schema):
    id: int
    tag: str
    title: str
    scenario: str
    state: str
    state_label: str
    speed: float
    unit: str
    started_at: datetime | None
    ended_at: datetime | None
    drill_minutes: float
    drill_clock: str
    participants: list[ParticipantOut]
    # Directors only while the drill runs; everyone after the end.
    injections: list[InjectionOut] | None = None
    scores: dict[str, Any] | None = None


class EndIn(Schema):
    note: str = ""


class DrillDraftConfirmIn(Schema):
    category: str | None = None
    title: str | None = None
    place: str | None = None
    narrative: str | None = None
    occurred_at: datetime | None = None
    division_code: str | None = None


class ImprovementIn(Schema):
    unit_id: int
    title: str
    detail: str = ""
    due_at: datetime
    source: str = Field("", description="所依据的预期行动编号（由评分建议转为整改事项时填写）")


class ImprovementOut(Schema):
    id: int
    run_id: int
    run: str
    unit: str
    title: str
    detail: str
    due_at: datetime
    state: str
    state_label: str
    overdue: bool
    done_at: datetime | None
    done_note: str


class CompleteIn(Schema):
    note: str
