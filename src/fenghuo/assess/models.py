"""Evaluation of reporting units, accountability, pattern analysis and the post-event review.

- `AreaDuty`: an event in a unit's area that the unit must report because of the event's
  grading (属地报告责任), with its deadline; the row is the durable timer. Missed by the
  deadline, it opens a missed-report case (漏报).
- `Case`: one accountability matter about one unit and one event — 迟报, 漏报, 瞒报 or a
  confidentiality incident (泄密) — open until a person confirms or dismisses it.
  `CaseObligation` links it to the escalation obligations behind it.
- `FigureCheck`: what a unit reported against a verified figure (核实数), written when the
  figures are verified; the source of accuracy and of concealment suspicions.
- `Adoption`: a receiving office used a unit's report (采用).
- `Letter` (函询) to a unit for a confirmed case, answered in the system by a deadline,
  from a `LetterTemplate`.
- `Bulletin` (通报): a period's ranking of the units under an office, frozen when made,
  circulated through the outbox; `BulletinRecipient` the units it goes to.
- `Finding` (串并分析): events of one category recurring at one place within a window, or
  similar by text; `FindingEvent` its events; `EventKey` each event's place key and words,
  and the analysis queue.
- `EventReview`: the lessons (经验教训) people write for an ended event's summary.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import EventCategory
from fenghuo.escalation.models import EventGrading, Obligation
from fenghuo.events.models import Event, Report
from fenghuo.org.models import Unit


class DutyState(models.TextChoices):
    PENDING = "pending", "待报告"
    MET = "met", "已按时报告"
    MISSED = "missed", "漏报"
    CANCELLED = "cancelled", "已撤销"


class AreaDuty(models.Model):
    """An event in `unit`'s area that its grading obliges `unit` to report, though another
    unit (or a clue from opinion monitoring) brought it in. Met by a report from `unit` or
    a unit below it by `due_at`; otherwise missed (漏报) at `due_at`, and a case opens. A
    report after the deadline is recorded (`met_at`, `minutes_late`) but the row stays
    missed."""

    key = models.CharField("唯一键", max_length=80, unique=True)
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="area_duties", verbose_name="事件"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name="责任单位"
    )
    grading = models.ForeignKey(
        EventGrading,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="依据定级",
    )
    offices = models.JSONField("须报送至", default=list)
    reason = models.TextField("依据")
    known_at = models.DateTimeField("起算时间")
    due_at = models.DateTimeField("时限")
    created_at = models.DateTimeField("生成时间")
    state = models.CharField(
        "状态", max_length=10, choices=DutyState.choices, default=DutyState.PENDING
    )
    missed_at = models.DateTimeField("标记漏报时间", null=True, blank=True)
    met_at = models.DateTimeField("报告时间", null=True, blank=True)
    minutes_late = models.PositiveIntegerField("逾期分钟数", null=True, blank=True)
    report = models.ForeignKey(
        Report,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="该单位的报告",
    )
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "属地报告责任"
        verbose_name_plural = "属地报告责任"
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["state", "due_at"], name="area_duty_due_idx"),
            models.Index(fields=["unit", "due_at"]),
            models.Index(fields=["event", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.event} · {self.get_state_display()}"


class CaseKind(models.TextChoices):
    LATE = "late", "迟报"
    MISSED = "missed", "漏报"
    CONCEALED = "concealed", "瞒报"
    CONFIDENTIALITY = "confidentiality", "泄密事件"


class CaseState(models.TextChoices):
    OPEN = "open", "待确认"
    CONFIRMED = "confirmed", "已确认"
    DISMISSED = "dismissed", "已排除"
    # A late case still open when the same unit's report on the same event was found
    # missed: the missed case carries it on, so one lapse is not counted twice.
    MERGED = "merged", "已并入漏报"


class Case(models.Model):
    """One accountability matter: a unit and an event, of one kind.

    Counted (see assess.metrics): 迟报, 漏报 and 泄密 unless dismissed or merged; 瞒报
    only once a person confirmed it — until then it is a suspicion (疑似瞒报).
    """

    key = models.CharField("唯一键", max_length=80, unique=True)
    kind = models.CharField("类型", max_length=16, choices=CaseKind.choices)
    state = models.CharField(
        "状态", max_length=10, choices=CaseState.choices, default=CaseState.OPEN
    )
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="assess_cases", verbose_name="事件"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="assess_cases", verbose_name="责任单位"
    )
    office = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="考核单位",
        help_text="责任单位之上最近的接报值班室",
    )
    report = models.ForeignKey(
        Report,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="所涉报告",
    )
    at = models.DateTimeField("计入时间", help_text="错过的时限、核实时间或事件发生的时间")
    opened_at = models.DateTimeField("立案时间")
    summary = models.TextField("情况")
    details = models.JSONField("明细", default=dict, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="登记人",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="认定人",
    )
    decided_at = models.DateTimeField("认定时间", null=True, blank=True)
    decision_note = models.TextField("认定意见", blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="并入",
    )

    class Meta:
        verbose_name = "考核问题"
        verbose_name_plural = "考核问题"
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["unit", "at"]),
            models.Index(fields=["kind", "state"]),
            models.Index(fields=["event", "unit"]),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.get_kind_display()}：{self.event}"

    @property
    def kind_label(self) -> str:
        """疑似瞒报 until a person confirms it: nothing is called concealment before that."""
        if self.kind == CaseKind.CONCEALED and self.state != CaseState.CONFIRMED:
            return "疑似瞒报"
        return self.get_kind_display()


class CaseObligation(models.Model):
    """An escalation obligation behind a late or missed case."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="obligation_links", verbose_name="问题"
    )
    obligation = models.ForeignKey(
        Obligation, on_delete=models.CASCADE, related_name="+", verbose_name="报送义务"
    )

    class Meta:
        verbose_name = "问题所涉义务"
        verbose_name_plural = "问题所涉义务"
        constraints = [
            models.UniqueConstraint(fields=["case", "obligation"], name="case_obligation_once")
        ]

    def __str__(self) -> str:
        return f"{self.case_id} ← {self.obligation_id}"


class FigureCheck(models.Model):
    """A unit's latest account of one figure against the verified value, as of the
    verification (核实). `within_margin`: accurate; `under` beyond the margin: a
    concealment suspicion."""

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="+", verbose_name="事件"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="单位")
    report = models.ForeignKey(
        Report, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    figure = models.CharField("数字项", max_length=20)
    reported = models.DecimalField("报送数", max_digits=14, decimal_places=2)
    verified = models.DecimalField("核实数", max_digits=14, decimal_places=2)
    margin = models.DecimalField("允许误差", max_digits=14, decimal_places=2)
    within_margin = models.BooleanField("在误差内")
    under = models.BooleanField("少报超出误差")
    checked_at = models.DateTimeField("核对时间")

    class Meta:
        verbose_name = "数字核对"
        verbose_name_plural = "数字核对"
        ordering = ["-checked_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "unit", "figure"], name="figure_check_once_per_figure"
            )
        ]
        indexes = [models.Index(fields=["unit", "checked_at"])]

    def __str__(self) -> str:
        return f"{self.unit} {self.figure} {self.reported}/{self.verified}"


class Adoption(models.Model):
    """采用: a receiving office used this report (in its own report to a higher level, a
    briefing …). Marked by a duty officer of that office."""

    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="adoptions", verbose_name="报告"
    )
    office = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name="采用单位"
    )
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="采用人",
    )
    adopted_at = models.DateTimeField("采用时间")
    note = models.CharField("用途", max_length=200, blank=True)

    class Meta:
        verbose_name = "报告采用"
        verbose_name_plural = "报告采用"
        ordering = ["-adopted_at"]
        constraints = [
            models.UniqueConstraint(fields=["report", "office"], name="adoption_once_per_office")
        ]

    def __str__(self) -> str:
        return f"{self.office}采用{self.report}"


PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
# What a letter template may say, filled in when a letter is issued.
PLACEHOLDERS = {
    "单位": "被函询单位",
    "发函单位": "发函的值班室",
    "文号": "函询文号",
    "事件": "事件名称",
    "事件时间": "事件发生时间",
    "事件地点": "事件发生地点",
    "问题": "迟报 / 漏报 / 瞒报 / 泄密事件",
    "情况": "问题情况（系统生成的说明）",
    "答复期限": "答复期限",
}


def template_errors(text: str) -> list[str]:
    unknown = sorted({name for name in PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})
    return [f"未知的占位符：{{{{{name}}}}}" for name in unknown]


class LetterTemplate(models.Model):
    """The text of an inquiry letter (函询), with placeholders such as {{单位}}, {{事件}},
    {{问题}}, {{答复期限}}. The default one is used unless a case's issuer picks another."""

    name = models.CharField("模板名称", max_length=60, unique=True)
    title = models.CharField("标题", max_length=200)
    body = models.TextField(
        "正文",
        help_text="每行一段。可用占位符："
        + "、".join(f"{{{{{k}}}}}（{v}）" for k, v in PLACEHOLDERS.items()),
    )
    answer_days = models.PositiveIntegerField("答复期限（天）", default=5)
    is_default = models.BooleanField("默认模板", default=False)

    class Meta:
        verbose_name = "函询模板"
        verbose_name_plural = "函询模板"
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_template"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        for name in ("title", "body"):
            found = template_errors(getattr(self, name) or "")
            if found:
                errors[name] = found
        if errors:
            raise ValidationError(errors)


class LetterState(models.TextChoices):
    SENT = "sent", "待答复"
    OVERDUE = "overdue", "逾期未答复"
    ANSWERED = "answered", "已答复"


class Letter(models.Model):
    """函询: sent to a unit for a confirmed case; answered in the system with a written
    explanation and rectification measures by `due_at`. Overdue ones are chased."""

    case = models.OneToOneField(
        Case, on_delete=models.PROTECT, related_name="letter", verbose_name="问题"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="assess_letters", verbose_name="被函询单位"
    )
    office = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name="发函单位"
    )
    year = models.PositiveSmallIntegerField("年度")
    sequence = models.PositiveIntegerField("序号")
    number = models.CharField("文号", max_length=60)
    title = models.CharField("标题", max_length=200)
    body = models.TextField("正文")
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发函人",
    )
    issued_at = models.DateTimeField("发函时间")
    due_at = models.DateTimeField("答复期限")
    state = models.CharField(
        "状态", max_length=10, choices=LetterState.choices, default=LetterState.SENT
    )
    overdue_at = models.DateTimeField("逾期时间", null=True, blank=True)
    next_chase_at = models.DateTimeField("下次催办时间", null=True, blank=True)
    chases = models.PositiveSmallIntegerField("催办次数", default=0)
    explanation = models.TextField("情况说明", blank=True)
    measures = models.TextField("整改措施", blank=True)
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
        verbose_name = "函询"
        verbose_name_plural = "函询"
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["office", "year", "sequence"], name="letter_number_once"
            )
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="letter_due_idx"),
            models.Index(fields=["state", "next_chase_at"], name="letter_chase_idx"),
            models.Index(fields=["unit", "due_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def answered_late(self) -> bool:
        return self.answered_at is not None and self.answered_at > self.due_at


class Bulletin(models.Model):
    """通报: the ranking of the units under `office` for a period, frozen when made (the
    rows, cases and findings as JSON), so the circulated files never change."""

    office = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name="通报单位"
    )
    period_start = models.DateField("起始日期")
    period_end = models.DateField("截止日期")
    period_label = models.CharField("考核期", max_length=60)
    year = models.PositiveSmallIntegerField("年度")
    sequence = models.PositiveIntegerField("期号")
    title = models.CharField("标题", max_length=200)
    mark = models.IntegerField(
        "密级", choices=Confidentiality.choices, default=Confidentiality.INTERNAL
    )
    rows = models.JSONField("排名", default=list)
    cases = models.JSONField("问题清单", default=list)
    findings = models.JSONField("串并分析", default=list)
    computed_at = models.DateTimeField("统计时间")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="制作人",
    )
    created_at = models.DateTimeField("制作时间")
    circulated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="印发人",
    )
    circulated_at = models.DateTimeField("印发时间", null=True, blank=True)

    class Meta:
        verbose_name = "通报"
        verbose_name_plural = "通报"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["office", "year", "sequence"], name="bulletin_number_once"
            )
        ]

    def __str__(self) -> str:
        return self.title


class BulletinRecipient(models.Model):
    bulletin = models.ForeignKey(
        Bulletin, on_delete=models.CASCADE, related_name="recipients", verbose_name="通报"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="单位")

    class Meta:
        verbose_name = "通报对象"
        verbose_name_plural = "通报对象"
        constraints = [
            models.UniqueConstraint(fields=["bulletin", "unit"], name="bulletin_recipient_once")
        ]

    def __str__(self) -> str:
        return f"{self.bulletin_id} → {self.unit_id}"


class PlaceKind(models.TextChoices):
    ROAD = "road", "路段"
    FACILITY = "facility", "场所设施"
    DIVISION = "division", "行政区划"


class EventKey(models.Model):
    """What pattern analysis reads of an event: its place key (road section, facility or
    division) and its words, refreshed whenever a report enters it; `analysed_at` null
    queues the event for the analysis loop."""

    event = models.OneToOneField(
        Event, on_delete=models.CASCADE, related_name="assess_key", verbose_name="事件"
    )
    place_kind = models.CharField("地点类型", max_length=10, choices=PlaceKind.choices)
    place_key = models.CharField("地点键", max_length=120)
    place_label = models.CharField("地点", max_length=200)
    words = models.JSONField("词", default=list)
    queued_at = models.DateTimeField("排队时间")
    analysed_at = models.DateTimeField("分析时间", null=True, blank=True)

    class Meta:
        verbose_name = "事件特征"
        verbose_name_plural = "事件特征"
        indexes = [
            models.Index(fields=["place_key"]),
            models.Index(
                fields=["queued_at"],
                condition=Q(analysed_at__isnull=True),
                name="event_key_queue_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.place_key}"


class FindingKind(models.TextChoices):
    PLACE = "place", "同地同类多发"
    TEXT = "text", "相似事件"


class FindingState(models.TextChoices):
    OPEN = "open", "待研判"
    REVIEWED = "reviewed", "已研判"
    DISMISSED = "dismissed", "无关联"


class Finding(models.Model):
    """串并分析: linked events worth a second look (快后冷思考)."""

    kind = models.CharField("类型", max_length=10, choices=FindingKind.choices)
    state = models.CharField(
        "状态", max_length=10, choices=FindingState.choices, default=FindingState.OPEN
    )
    category = models.ForeignKey(
        EventCategory, on_delete=models.PROTECT, related_name="+", verbose_name="类别"
    )
    place_kind = models.CharField("地点类型", max_length=10, blank=True)
    place_key = models.CharField("地点键", max_length=120, blank=True)
    place_label = models.CharField("地点", max_length=200, blank=True)
    title = models.CharField("标题", max_length=200)
    summary = models.TextField("说明")
    window_days = models.PositiveIntegerField("时间窗口（天）")
    first_at = models.DateTimeField("最早发生")
    last_at = models.DateTimeField("最近发生")
    event_count = models.PositiveIntegerField("事件数")
    created_at = models.DateTimeField("发现时间")
    updated_at = models.DateTimeField("更新时间")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="研判人",
    )
    reviewed_at = models.DateTimeField("研判时间", null=True, blank=True)
    review_note = models.TextField("研判意见", blank=True)

    class Meta:
        verbose_name = "串并分析"
        verbose_name_plural = "串并分析"
        ordering = ["-last_at", "-pk"]
        indexes = [
            models.Index(fields=["kind", "category", "place_key"]),
            models.Index(fields=["state", "last_at"]),
        ]

    def __str__(self) -> str:
        return self.title


class FindingEvent(models.Model):
    finding = models.ForeignKey(
        Finding, on_delete=models.CASCADE, related_name="links", verbose_name="串并分析"
    )
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="finding_links", verbose_name="事件"
    )
    similarity = models.FloatField("相似度", null=True, blank=True)
    added_at = models.DateTimeField("加入时间")

    class Meta:
        verbose_name = "串并事件"
        verbose_name_plural = "串并事件"
        ordering = ["event__occurred_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["finding", "event"], name="finding_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.finding_id} · {self.event_id}"


class EventReview(models.Model):
    """总结评估: what people write for an ended event (lessons learned), printed in the
    generated summary beside the timeline, response times and figures."""

    event = models.OneToOneField(
        Event, on_delete=models.CASCADE, related_name="assess_review", verbose_name="事件"
    )
    lessons = models.TextField("经验教训", blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="填写人",
    )
    updated_at = models.DateTimeField("填写时间")

    class Meta:
        verbose_name = "总结评估"
        verbose_name_plural = "总结评估"

    def __str__(self) -> str:
        return f"{self.event}总结评估"
