"""Routing up the hierarchy, sign-off and receipt, obligations with deadlines, escalation.

- `EventGrading`: every evaluation of an event against the reporting criteria, in order.
- `Route`: one report on its way to one receiving office: awaiting sign-off (审签), sent,
  acknowledged (签收).
- `Obligation`: one thing a unit owes by a deadline (phone / written report to a level,
  follow-up n, final report, verification answer, receipt, sign-off). Rows are the durable
  timers: the worker's loop marks due rows late and runs the escalation steps of receipts.
- `EscalationPolicy` / `EscalationStep`: per office, who is chased when a receipt waits.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from fenghuo.events.models import Event, Report, VerificationTask, chinese_numeral
from fenghuo.org.models import AdminLevel, Unit


class Trigger(models.TextChoices):
    REPORT = "report", "报告"
    FIGURES = "figures", "核实数变化"
    MERGE = "merge", "事件合并"


class EventGrading(models.Model):
    """One evaluation of an event (its current figures and the triggering report's text)."""

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="gradings", verbose_name="事件"
    )
    at = models.DateTimeField("定级时间")
    grade = models.PositiveSmallIntegerField("等级", null=True, blank=True)
    label = models.CharField("等级名称", max_length=40)
    reasons = models.JSONField("依据", default=list)
    targets = models.JSONField("报送层级与时限", default=list)
    followup_hours = models.PositiveIntegerField("续报间隔（小时）", null=True, blank=True)
    final_days = models.PositiveIntegerField("终报时限（日）", null=True, blank=True)
    attention = models.BooleanField("预警关注", default=False)
    ruleset = models.CharField("适用标准", max_length=200, blank=True)
    rule_id = models.IntegerField("规则", null=True, blank=True)
    trigger = models.CharField("触发", max_length=10, choices=Trigger.choices)
    trigger_report = models.ForeignKey(
        Report,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="触发报告",
    )

    class Meta:
        verbose_name = "事件定级"
        verbose_name_plural = "事件定级"
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["event", "at"])]

    def __str__(self) -> str:
        return f"{self.event_id} {self.label}"


class RouteState(models.TextChoices):
    AWAITING_SIGNOFF = "awaiting_signoff", "待审签"
    SENT = "sent", "已报送，待签收"
    ACKNOWLEDGED = "acknowledged", "已签收"


class Release(models.TextChoices):
    """Why a report left its unit."""

    SIGNED_OFF = "signed_off", "单位领导审签"
    URGENT = "urgent", "授权直报（紧急信息，免审签）"
    NO_LEADER = "no_leader", "本单位未设单位领导，直接报送"
    PHONE = "phone", "电话接报"


class Route(models.Model):
    """One report on its way to one receiving office."""

    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="routes", verbose_name="报告"
    )
    office = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name="接报值班室"
    )
    level = models.CharField("层级", max_length=16, choices=AdminLevel.choices)
    state = models.CharField("状态", max_length=20, choices=RouteState.choices)
    urgent = models.BooleanField("紧急", default=False)
    created_at = models.DateTimeField("生成时间")
    release = models.CharField("报送依据", max_length=12, choices=Release.choices, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审签人",
    )
    signed_off_at = models.DateTimeField("审签时间", null=True, blank=True)
    sent_at = models.DateTimeField("报送时间", null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="签收人",
    )
    acknowledged_at = models.DateTimeField("签收时间", null=True, blank=True)

    class Meta:
        verbose_name = "报送路由"
        verbose_name_plural = "报送路由"
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["report", "office"], name="route_once_per_office"),
        ]
        indexes = [models.Index(fields=["office", "state"]), models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.report_id} → {self.office}（{self.get_state_display()}）"


class ObligationKind(models.TextChoices):
    PHONE = "phone", "电话报告"
    WRITTEN = "written", "书面报告"
    FOLLOWUP = "followup", "续报"
    FINAL = "final", "终报"
    VERIFICATION = "verification", "核实答复"
    RECEIPT = "receipt", "签收"
    SIGNOFF = "signoff", "审签"


class ObligationState(models.TextChoices):
    PENDING = "pending", "待履行"
    MET = "met", "已履行"
    LATE = "late", "已超时"
    MISSED = "missed", "漏报"


OPEN_STATES = (ObligationState.PENDING, ObligationState.LATE)


class Obligation(models.Model):
    """One thing a unit owes by a deadline; the row is the durable timer.

    pending → met (on time, or `minutes_late` > 0 when met after its due time: 迟报)
    pending → late (the worker found it overdue) → met (with `minutes_late`) or missed
    (still not met a grace period after due, or when the event ended: 漏报).
    A receipt (签收) carries the office's escalation chain, snapshotted when it starts.
    """

    key = models.CharField("唯一键", max_length=120, unique=True)
    kind = models.CharField("类型", max_length=12, choices=ObligationKind.choices)
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="obligations", verbose_name="事件"
    )
    obliged_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name="责任单位"
    )
    office = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="报送对象",
    )
    level = models.CharField("层级", max_length=16, choices=AdminLevel.choices, blank=True)
    sequence = models.PositiveSmallIntegerField("续报序号", default=0)
    report = models.ForeignKey(
        Report,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="相关报告",
    )
    route = models.ForeignKey(
        Route,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="obligations",
        verbose_name="报送路由",
    )
    task = models.ForeignKey(
        VerificationTask,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="核实任务",
    )
    reason = models.TextField("依据")
    created_at = models.DateTimeField("生成时间")
    due_at = models.DateTimeField("时限")
    state = models.CharField(
        "状态", max_length=10, choices=ObligationState.choices, default=ObligationState.PENDING
    )
    late_at = models.DateTimeField("标记超时时间", null=True, blank=True)
    missed_at = models.DateTimeField("标记漏报时间", null=True, blank=True)
    met_at = models.DateTimeField("履行时间", null=True, blank=True)
    minutes_late = models.PositiveIntegerField("迟报分钟数", null=True, blank=True)
    met_note = models.CharField("履行情况", max_length=200, blank=True)
    # Escalation (receipts only): the office's chain as it was when the receipt started.
    chain = models.JSONField("升级链（快照）", null=True, blank=True)
    chain_step = models.PositiveSmallIntegerField("下一升级步骤", default=0)
    next_step_at = models.DateTimeField("下次升级时间", null=True, blank=True)
    escalations = models.JSONField("已执行的升级", default=list, blank=True)

    class Meta:
        verbose_name = "报送义务"
        verbose_name_plural = "报送义务"
        ordering = ["due_at", "pk"]
        indexes = [
            # The worker's scans: due pending rows, late rows past the grace period.
            models.Index(fields=["state", "due_at"], name="obligation_due_idx"),
            models.Index(
                fields=["next_step_at"],
                condition=Q(next_step_at__isnull=False),
                name="obligation_escalation_idx",
            ),
            models.Index(fields=["event", "obliged_unit", "kind"]),
            models.Index(fields=["obliged_unit", "state"]),
            models.Index(fields=["office", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.obliged_unit} {self.get_kind_display()} {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def title(self) -> str:
        """书面报告至临江市委办公室 / 续报二 / 签收 …"""
        kind = self.get_kind_display()
        if self.kind == ObligationKind.FOLLOWUP and self.sequence:
            kind = f"续报{chinese_numeral(self.sequence)}"
        if self.kind in (ObligationKind.PHONE, ObligationKind.WRITTEN) and self.office_id:
            return f"{kind}至{self.office.name}"
        return kind


class EscalationTarget(models.TextChoices):
    PRIMARY = "primary", "再次提醒主班"
    BACKUP = "backup", "备班"
    LEADER = "leader", "带班领导（或本室单位领导）"
    SUPERIOR = "superior", "上一级值班室"


class EscalationPolicy(models.Model):
    """How an office chases a receipt nobody acknowledged (签收升级链)."""

    office = models.OneToOneField(
        Unit,
        on_delete=models.CASCADE,
        related_name="escalation_policy",
        verbose_name="值班室",
        limit_choices_to={"is_receiving_office": True},
    )
    receipt_minutes = models.PositiveIntegerField(
        "签收时限（分钟）", default=10, help_text="报告送达后须在此时间内签收，否则记为超时"
    )
    note = models.CharField("备注", max_length=200, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "签收升级规则"
        verbose_name_plural = "签收升级规则"

    def __str__(self) -> str:
        return f"{self.office}签收升级规则"


class EscalationStep(models.Model):
    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.CASCADE, related_name="steps", verbose_name="规则"
    )
    after_minutes = models.PositiveIntegerField(
        "送达后未签收（分钟）", help_text="自报告送达起计算，逐级递增"
    )
    target = models.CharField("通知对象", max_length=12, choices=EscalationTarget.choices)

    class Meta:
        verbose_name = "升级步骤"
        verbose_name_plural = "升级步骤"
        ordering = ["policy", "after_minutes", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "after_minutes", "target"], name="escalation_step_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.after_minutes} 分钟 → {self.get_target_display()}"
