"""API shapes of evaluation, cases, letters, bulletins, findings and summaries."""

from datetime import date, datetime

from ninja import Field, Schema


class PeriodOut(Schema):
    key: str
    label: str
    start: date
    end: date


class RowOut(Schema):
    unit_id: int
    rank: int | None
    unit: str
    score: float | None
    timeliness: float | None = Field(description="按时报送率（%）")
    due: int = Field(description="应履行的报送义务（含属地报告责任）")
    on_time: int
    late: int = Field(description="超时履行或逾期未履行的义务")
    missed: int = Field(description="漏报的义务")
    median_delay: float | None = Field(description="首报用时中位数（分钟）")
    p90_delay: float | None = Field(description="首报用时第90百分位（分钟）")
    completeness: float | None = Field(description="首报要素齐全率（%）")
    followups: float | None = Field(description="续报、终报按时率（%）")
    accuracy: float | None = Field(description="数字准确率（%）")
    reports: int
    adopted: int
    late_cases: int
    missed_cases: int
    concealed_cases: int = Field(description="经认定的瞒报")
    suspected_cases: int = Field(description="疑似瞒报（待认定，不计入）")
    confidentiality_cases: int
    letters: int
    letters_overdue: int


class RankingOut(Schema):
    office_id: int
    office: str
    period: PeriodOut
    computed_at: datetime
    rows: list[RowOut]


class TrendOut(Schema):
    period: PeriodOut
    score: float | None
    timeliness: float | None


class ScorecardOut(Schema):
    unit_id: int
    unit: str
    period: PeriodOut
    figures: RowOut
    trend: list[TrendOut]


class ItemOut(Schema):
    at: datetime
    event_id: int
    event_title: str
    what: str
    outcome: str
    outcome_label: str
    detail: str
    link: str


class CaseIn(Schema):
    event_id: int
    unit_id: int
    description: str = Field(description="泄密事件的情况说明")
    report_id: int | None = None
    at: datetime | None = Field(None, description="发生时间；省略为当前时间")


class CaseDecisionIn(Schema):
    note: str = ""


class ObligationRefOut(Schema):
    id: int
    title: str
    due_at: datetime
    state_label: str
    met_at: datetime | None
    minutes_late: int | None


class CaseOut(Schema):
    id: int
    kind: str
    kind_label: str
    state: str
    state_label: str
    event_id: int
    event_title: str
    unit_id: int
    unit: str
    office: str
    at: datetime
    opened_at: datetime
    summary: str
    details: dict
    decided_by: str
    decided_at: datetime | None
    decision_note: str
    letter_id: int | None
    obligations: list[ObligationRefOut]
    may_decide: bool


class LetterIn(Schema):
    due_at: datetime | None = Field(None, description="答复期限；省略为模板规定的天数")
    template_id: int | None = None


class AnswerIn(Schema):
    explanation: str = Field("", description="情况说明")
    measures: str = Field("", description="整改措施")


class LetterOut(Schema):
    id: int
    case_id: int
    number: str
    title: str
    body: str
    unit_id: int
    unit: str
    office: str
    issued_by: str
    issued_at: datetime
    due_at: datetime
    state: str
    state_label: str
    chases: int
    explanation: str
    measures: str
    answered_by: str
    answered_at: datetime | None
    answered_late: bool
    may_answer: bool


class AdoptIn(Schema):
    office_id: int | None = Field(None, description="采用单位；省略为本人值班的最近一级值班室")
    note: str = ""


class AdoptionOut(Schema):
    id: int
    report_id: int
    office_id: int
    office: str
    adopted_by: str
    adopted_at: datetime
    note: str


class BulletinIn(Schema):
    office_id: int
    period: str = Field("", description="考核期：YYYY-MM（所在的两个月），或 起始~截止")
    start: str = ""
    end: str = ""


class BulletinOut(Schema):
    id: int
    office_id: int
    office: str
    year: int
    sequence: int
    title: str
    period_label: str
    period_start: date
    period_end: date
    computed_at: datetime
    created_at: datetime
    circulated_at: datetime | None
    rows: list[dict]
    cases: list[dict]
    findings: list[dict]
    may_circulate: bool


class FindingEventOut(Schema):
    event_id: int
    title: str
    occurred_at: datetime
    place: str
    similarity: float | None


class FindingOut(Schema):
    id: int
    kind: str
    kind_label: str
    state: str
    state_label: str
    title: str
    summary: str
    category: str
    place: str
    first_at: datetime
    last_at: datetime
    event_count: int
    review_note: str
    events: list[FindingEventOut]


class FindingReviewIn(Schema):
    state: str = Field(description="reviewed（已研判）或 dismissed（无关联）")
    note: str = ""


class SimilarOut(Schema):
    event_id: int
    title: str
    occurred_at: datetime
    place: str
    similarity: float


class DutyOut(Schema):
    id: int
    event_id: int
    event_title: str
    unit_id: int
    unit: str
    reason: str
    known_at: datetime
    due_at: datetime
    state: str
    state_label: str
    met_at: datetime | None
    minutes_late: int | None


class LessonsIn(Schema):
    lessons: str = ""


class LessonsOut(Schema):
    event_id: int
    lessons: str
    updated_by: str
    updated_at: datetime | None
    may_edit: bool
