"""API shapes for public information release. The parts are optional here on purpose: a
draft may be incomplete, and submitting it answers with one Chinese message per missing
part."""

from datetime import datetime

from ninja import Field, Schema


class ContentIn(Schema):
    title: str | None = Field(None, description="标题")
    occurred_at: datetime | None = Field(None, description="发生时间（概况）")
    place: str | None = Field(None, description="发生地点（概况）")
    cause: str | None = Field(None, description="已查明的原因（概况）；未查明的留空")
    overview: str | None = Field(None, description="事件概况")
    impact: str | None = Field(None, description="影响范围")
    measures: str | None = Field(None, description="应对措施")
    advice: str | None = Field(None, description="防范建议（对公众）")
    contact: str | None = Field(None, description="联系方式")


class ReleaseIn(ContentIn):
    event_id: int
    unit_id: int | None = Field(None, description="发布单位；只有一个可起草单位时可省略")
    is_drill: bool = Field(False, description="演练：从不对外公开")
    prefill: bool = Field(True, description="未给出的部分按事件及其当前数字预填（不使用敏感报告）")


class NewVersionIn(Schema):
    based_on: int | None = Field(
        None, description="据以修改的稿件（已发布或已退回）；省略时为当前公开版本"
    )


class ReviewIn(Schema):
    note: str = ""


class RejectIn(Schema):
    reason: str = ""


class VersionOut(Schema):
    id: int
    release_id: int
    number: int
    edition: int | None
    label: str
    state: str
    state_label: str
    based_on: int | None
    title: str
    occurred_at: datetime | None
    place: str
    cause: str
    overview: str
    impact: str
    measures: str
    advice: str
    contact: str
    created_by: str
    created_at: datetime
    submitted_by: str
    submitted_at: datetime | None
    reviewed_by: str
    reviewed_at: datetime | None
    review_note: str
    published_by: str
    published_at: datetime | None
    missing: dict[str, list[str]]


class ReleaseOut(Schema):
    id: int
    event_id: int
    unit_id: int
    unit: str
    is_drill: bool
    created_at: datetime
    current_version_id: int | None
    first_published_at: datetime | None
    last_published_at: datetime | None
    public_url: str
    may_edit: bool
    may_approve: bool
    versions: list[VersionOut]


class LengthOut(Schema):
    length: int
    limit: int


class TextsOut(Schema):
    weibo_long: str
    weibo_short: str
    wechat_title: str
    wechat_summary: str
    wechat_body: str
    link: str
    lengths: dict[str, LengthOut]


class PrefillOut(ContentIn):
    pass
