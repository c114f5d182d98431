"""The event aggregate: an event, the reports that describe it, and its timeline.

Reports live here rather than in `intake` because the event owns them: merging and
splitting move reports between events, an event's figures and visibility derive from its
reports. `intake` holds the channels that turn input into reports.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import EventCategory
from fenghuo.org.models import Unit, division_code_validator

# The figures a report carries, in display order: field name → label.
FIGURES = {
    "dead": "死亡",
    "missing": "失踪",
    "seriously_injured": "重伤",
    "injured": "受伤",
    "economic_loss": "直接经济损失（万元）",
    "affected": "受影响人数",
    "evacuated": "紧急疏散人数",
}


class EventStatus(models.TextChoices):
    NEW = "new", "新接报"
    VERIFYING = "verifying", "核实中"
    VERIFIED = "verified", "已核实"
    FALSE = "false", "不实（谣言）"
    HANDLING = "handling", "处置中"
    ENDED = "ended", "已结束"
    ARCHIVED = "archived", "已归档"


class Event(models.Model):
    title = models.CharField("事件名称", max_length=200)
    category = models.ForeignKey(EventCategory, on_delete=models.PROTECT, verbose_name="类别")
    occurred_at = models.DateTimeField("发生时间")
    division_code = models.CharField(
        "行政区划代码", max_length=6, validators=[division_code_validator]
    )
    place = models.CharField("地点", max_length=200)
    latitude = models.FloatField("纬度", null=True, blank=True)
    longitude = models.FloatField("经度", null=True, blank=True)
    status = models.CharField(
        "状态", max_length=16, choices=EventStatus.choices, default=EventStatus.NEW
    )
    grade = models.PositiveSmallIntegerField("等级", null=True, blank=True)
    # Verified figures (核实数), entered when a unit's verification answer is accepted.
    verified_dead = models.PositiveIntegerField("核实死亡", null=True, blank=True)
    verified_missing = models.PositiveIntegerField("核实失踪", null=True, blank=True)
    verified_seriously_injured = models.PositiveIntegerField("核实重伤", null=True, blank=True)
    verified_injured = models.PositiveIntegerField("核实受伤", null=True, blank=True)
    verified_economic_loss = models.DecimalField(
        "核实直接经济损失（万元）", max_digits=14, decimal_places=2, null=True, blank=True
    )
    verified_affected = models.PositiveIntegerField("核实受影响人数", null=True, blank=True)
    verified_evacuated = models.PositiveIntegerField("核实疏散人数", null=True, blank=True)
    first_reported_at = models.DateTimeField("首报时间")
    # Drill data (演练): never counted, listed or published as real; the tag names the drill
    # run it belongs to (see core/sandbox.py). Taken from the report that opened the event.
    is_drill = models.BooleanField("演练", default=False)
    drill_tag = models.CharField("演练批次", max_length=40, blank=True)
    created_at = models.DateTimeField("建立时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "事件"
        verbose_name_plural = "事件"
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["occurred_at"]),
            models.Index(fields=["division_code", "occurred_at"]),
            models.Index(fields=["status"]),
            models.Index(fields=["is_drill", "occurred_at"], name="event_drill_idx"),
            models.Index(
                fields=["drill_tag"], condition=~Q(drill_tag=""), name="event_drill_tag_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ReportKind(models.TextChoices):
    FIRST = "first", "首报"
    FOLLOWUP = "followup", "续报"
    FINAL = "final", "终报"
    SUPPLEMENT = "supplement", "补报"


class Channel(models.TextChoices):
    WEB = "web", "网页填报"
    API = "api", "接口报送"
    EMAIL = "email", "电子邮件"
    PHONE = "phone", "电话报告"
    IMPORT = "import", "批量导入"
    CLUE = "clue", "舆情线索"


class Reliability(models.TextChoices):
    CONFIRMED = "confirmed", "已核实"
    PRELIMINARY = "preliminary", "初步核实"
    UNVERIFIED = "unverified", "未核实"


class ReportStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已报送"


class Report(models.Model):
    """One report from one unit: 首报, 续报 (numbered), 终报 or 补报."""

    event = models.ForeignKey(
        Event,
        on_delete=models.PROTECT,
        related_name="reports",
        verbose_name="事件",
        null=True,
        blank=True,
    )
    kind = models.CharField("报告类型", max_length=12, choices=ReportKind.choices)
    sequence = models.PositiveSmallIntegerField(
        "续报序号", default=0, help_text="续报一、续报二……在同一单位同一事件内编号"
    )
    previous = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="followups",
        verbose_name="前一报告",
    )
    status = models.CharField(
        "状态", max_length=12, choices=ReportStatus.choices, default=ReportStatus.SUBMITTED
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, verbose_name="报送单位")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name="填报人",
    )
    channel = models.CharField("渠道", max_length=10, choices=Channel.choices)
    caller_name = models.CharField("来电人", max_length=50, blank=True)
    caller_phone = models.CharField("来电号码", max_length=30, blank=True)
    received_at = models.DateTimeField("接报时间")
    submitted_at = models.DateTimeField("报送时间", null=True, blank=True)

    title = models.CharField("标题", max_length=200)
    category = models.ForeignKey(EventCategory, on_delete=models.PROTECT, verbose_name="类别")
    occurred_at = models.DateTimeField("发生时间")
    division_code = models.CharField(
        "行政区划代码", max_length=6, validators=[division_code_validator]
    )
    place = models.CharField("地点", max_length=200)
    latitude = models.FloatField("纬度", null=True, blank=True)
    longitude = models.FloatField("经度", null=True, blank=True)
    subjects = models.TextField("涉及人员/主体", blank=True)
    narrative = models.TextField("事件经过")
    cause = models.TextField("原因", blank=True)

    dead = models.PositiveIntegerField("死亡", null=True, blank=True)
    missing = models.PositiveIntegerField("失踪", null=True, blank=True)
    seriously_injured = models.PositiveIntegerField("重伤", null=True, blank=True)
    injured = models.PositiveIntegerField("受伤", null=True, blank=True)
    economic_loss = models.DecimalField(
        "直接经济损失（万元）", max_digits=14, decimal_places=2, null=True, blank=True
    )
    affected = models.PositiveIntegerField("受影响人数", null=True, blank=True)
    evacuated = models.PositiveIntegerField("紧急疏散人数", null=True, blank=True)

    measures = models.TextField("已采取措施", blank=True)
    next_steps = models.TextField("下一步工作", blank=True)
    handling_summary = models.TextField("处置情况", blank=True)
    aftercare = models.TextField("善后工作", blank=True)
    source = models.CharField("信息来源", max_length=200, blank=True)
    reliability = models.CharField(
        "可靠程度", max_length=12, choices=Reliability.choices, default=Reliability.PRELIMINARY
    )
    confidentiality = models.IntegerField(
        "密级", choices=Confidentiality.choices, default=Confidentiality.INTERNAL
    )
    is_urgent = models.BooleanField("紧急", default=False)
    # The reporter's marks of qualitative factors the criteria weigh (sensitive identity,
    # extreme behaviour, long duration with crowds …): criteria.models.FactorKind values.
    flags = models.JSONField("报送人标注", default=list, blank=True)
    # Drill data (演练): a report on an event always has the event's marks.
    is_drill = models.BooleanField("演练", default=False)
    drill_tag = models.CharField("演练批次", max_length=40, blank=True)

    class Meta:
        verbose_name = "报告"
        verbose_name_plural = "报告"
        ordering = ["received_at", "pk"]
        indexes = [
            models.Index(fields=["event", "unit", "received_at"]),
            models.Index(fields=["occurred_at"]),
            models.Index(fields=["division_code"]),
            models.Index(
                fields=["drill_tag"], condition=~Q(drill_tag=""), name="report_drill_tag_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind_label}：{self.title}"

    @property
    def kind_label(self) -> str:
        """首报 / 续报一 / 续报二 … / 终报 / 补报."""
        if self.kind == ReportKind.FOLLOWUP and self.sequence:
            return f"续报{chinese_numeral(self.sequence)}"
        return self.get_kind_display()


def chinese_numeral(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    return str(n)


class TimelineKind(models.TextChoices):
    REPORT = "report", "报告"
    STATUS = "status", "状态变更"
    MERGE = "merge", "合并/拆分"
    NOTE = "note", "备注"
    VERIFICATION = "verification", "核实"
    CONSULTATION = "consultation", "会商"
    WARNING = "warning", "预警"
    RESPONSE = "response", "应急响应"
    RELEASE = "release", "信息发布"


class TimelineEntry(models.Model):
    """One line of an event's ordered record. Later apps (warnings, releases) add theirs."""

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="timeline", verbose_name="事件"
    )
    at = models.DateTimeField("时间")
    kind = models.CharField("类型", max_length=16, choices=TimelineKind.choices)
    text = models.TextField("内容")
    actor_name = models.CharField("操作人", max_length=150, blank=True)
    report = models.ForeignKey(
        Report, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="报告"
    )

    class Meta:
        verbose_name = "时间线"
        verbose_name_plural = "时间线"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.text[:30]}"


class MergeCandidate(models.Model):
    """ "可能是同一事件": a report in the grey zone awaiting a duty officer's decision."""

    class Decision(models.TextChoices):
        PENDING = "pending", "待确认"
        MERGED = "merged", "已合并"
        SEPARATE = "separate", "确认为不同事件"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, verbose_name="报告")
    candidate = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="+", verbose_name="候选事件"
    )
    score = models.FloatField("相似度")
    reasons = models.JSONField("依据", default=list)
    decision = models.CharField(
        "处理", max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    decided_at = models.DateTimeField("处理时间", null=True, blank=True)

    class Meta:
        verbose_name = "疑似同一事件"
        verbose_name_plural = "疑似同一事件"
        constraints = [
            models.UniqueConstraint(fields=["report", "candidate"], name="merge_candidate_once"),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} ~ {self.candidate_id} ({self.score:.2f})"


class VerificationTask(models.Model):
    """核实: a duty officer asks a unit to verify a report or clue by a deadline."""

    class State(models.TextChoices):
        OPEN = "open", "待核实"
        CONFIRMED = "confirmed", "属实"
        PARTLY = "partly", "部分属实"
        FALSE = "false", "不实（谣言）"

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="verifications", verbose_name="事件"
    )
    report = models.ForeignKey(
        Report, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="所涉报告"
    )
    assignee_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, verbose_name="核实单位")
    question = models.TextField("核实事项")
    due_at = models.DateTimeField("核实时限")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发起人",
    )
    requested_at = models.DateTimeField("发起时间")
    state = models.CharField("结论", max_length=10, choices=State.choices, default=State.OPEN)
    answer = models.TextField("核实情况", blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="答复人",
    )
    answered_at = models.DateTimeField("答复时间", null=True, blank=True)

    class Meta:
        verbose_name = "核实任务"
        verbose_name_plural = "核实任务"
        ordering = ["due_at"]

    def __str__(self) -> str:
        return f"{self.assignee_unit} 核实：{self.question[:30]}"


class Consultation(models.Model):
    """会商: a question about an uncertain report put to departments or experts."""

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="consultations", verbose_name="事件"
    )
    question = models.TextField("会商事项")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发起人",
    )
    requested_at = models.DateTimeField("发起时间")
    due_at = models.DateTimeField("答复时限", null=True, blank=True)
    units = models.ManyToManyField(Unit, blank=True, verbose_name="会商部门")
    experts = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="consultations", verbose_name="专家"
    )
    conclusion = models.TextField("会商结论", blank=True)
    closed_at = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        verbose_name = "会商"
        verbose_name_plural = "会商"
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return self.question[:40]


class ConsultationAnswer(models.Model):
    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="answers", verbose_name="会商"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="答复人"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, verbose_name="答复单位"
    )
    text = models.TextField("意见")
    answered_at = models.DateTimeField("答复时间")

    class Meta:
        verbose_name = "会商意见"
        verbose_name_plural = "会商意见"
        ordering = ["answered_at"]

    def __str__(self) -> str:
        return f"{self.author}：{self.text[:30]}"


class AttachmentKind(models.TextChoices):
    IMAGE = "image", "图片"
    AUDIO = "audio", "音频"
    VIDEO = "video", "视频"
    DOCUMENT = "document", "文档"


class Attachment(models.Model):
    """A file that came with a report: photos of the scene, a call recording, a video,
    a document. Readable by whoever may read the report, through a checked view only.

    Files are stored by content (`attachments/<sha256[:2]>/<sha256>`), so the same upload
    retried, or a rolled-back filing, never leaves a second copy; the type is what the
    content says it is, not what its name claims (see events/attachments.py).
    """

    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="attachments", verbose_name="报告"
    )
    file = models.FileField("文件", upload_to="attachments/", max_length=200)
    name = models.CharField("文件名", max_length=200)
    kind = models.CharField("类型", max_length=10, choices=AttachmentKind.choices)
    content_type = models.CharField("内容类型", max_length=100)
    size = models.PositiveBigIntegerField("大小（字节）")
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="上传人",
    )
    uploaded_at = models.DateTimeField("上传时间")

    class Meta:
        verbose_name = "附件"
        verbose_name_plural = "附件"
        ordering = ["uploaded_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["report", "sha256"], name="attachment_once_per_report")
        ]

    def __str__(self) -> str:
        return self.name
