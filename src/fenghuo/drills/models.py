"""Drills (演练): uploaded scenarios, runs, their injections and participants, and the
improvement items a run leaves behind.

A run snapshots its scenario's text when it is prepared, so editing or deleting a scenario
never changes a run. Its `tag` marks every row of drill data it causes in the other apps
(see core/sandbox.py); its injections are rows with their real due time, the durable
state the worker's loop advances; its results are frozen when it ends, so a purge of its
data leaves the score table, the timeline and the report intact.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from fenghuo.org.models import Unit


class Scenario(models.Model):
    """A scenario uploaded by a director (the bundled ones are package files)."""

    slug = models.SlugField("标识", max_length=60, unique=True)
    title = models.CharField("名称", max_length=200)
    source = models.TextField("想定文件（YAML）")
    digest = models.CharField("内容摘要", max_length=64, unique=True)
    owner_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name="上传单位"
    )
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
        verbose_name = "演练想定"
        verbose_name_plural = "演练想定"
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class RunState(models.TextChoices):
    PREPARED = "prepared", "待开始"
    RUNNING = "running", "进行中"
    ENDED = "ended", "已结束"
    PURGED = "purged", "已结束（演练数据已清除）"


class DrillRun(models.Model):
    tag = models.CharField("演练批次", max_length=40, unique=True)
    scenario_slug = models.CharField("想定", max_length=60)
    title = models.CharField("名称", max_length=200)
    source = models.TextField("想定文件（快照）")
    speed = models.FloatField("时钟倍速", help_text="1 为实时；10 表示演练时间比实际快 10 倍")
    state = models.CharField(
        "状态", max_length=10, choices=RunState.choices, default=RunState.PREPARED
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name="导调单位"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="导调人",
    )
    created_at = models.DateTimeField("创建时间")
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    end_note = models.CharField("结束说明", max_length=200, blank=True)
    purged_at = models.DateTimeField("清除时间", null=True, blank=True)
    purged = models.JSONField("清除的数据", default=dict, blank=True)
    # Frozen at the end: the score table, each expectation's outcome, the timeline.
    results = models.JSONField("评分结果", default=dict, blank=True)

    class Meta:
        verbose_name = "演练"
        verbose_name_plural = "演练"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state"], name="drill_run_state_idx")]

    def __str__(self) -> str:
        return f"{self.title}（{self.get_state_display()}）"


class Participant(models.Model):
    """A scenario unit key mapped onto a unit of the tree for one run."""

    run = models.ForeignKey(
        DrillRun, on_delete=models.CASCADE, related_name="participants", verbose_name="演练"
    )
    key = models.CharField("想定中的单位", max_length=40)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="单位")
    simulated = models.BooleanField("模拟单位", default=False, help_text="由演练扮演，不参加评分")

    class Meta:
        verbose_name = "参演单位"
        verbose_name_plural = "参演单位"
        ordering = ["run", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="drill_participant_once"),
        ]

    def __str__(self) -> str:
        return f"{self.key} = {self.unit}"


class Injection(models.Model):
    """One injection of a run: due at `due_at` (real time), done once (`done_at`)."""

    run = models.ForeignKey(
        DrillRun, on_delete=models.CASCADE, related_name="injections", verbose_name="演练"
    )
    key = models.CharField("编号", max_length=40)
    position = models.PositiveIntegerField("顺序")
    kind = models.CharField("类型", max_length=10)
    at_minutes = models.FloatField("注入时间（演练分钟）")
    due_at = models.DateTimeField("应注入时间", null=True, blank=True)
    done_at = models.DateTimeField("注入时间", null=True, blank=True)
    outcome = models.JSONField("结果", default=dict, blank=True)
    note = models.CharField("说明", max_length=500, blank=True)
    failed = models.BooleanField("注入失败", default=False)

    class Meta:
        verbose_name = "情况注入"
        verbose_name_plural = "情况注入"
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="drill_injection_once"),
        ]
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(done_at__isnull=True), name="drill_injection_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.key}"


class ImprovementState(models.TextChoices):
    OPEN = "open", "待整改"
    DONE = "done", "已整改"


class Improvement(models.Model):
    """An improvement item (整改事项) a drill leaves: a tracked task for one unit."""

    run = models.ForeignKey(
        DrillRun, on_delete=models.PROTECT, related_name="improvements", verbose_name="演练"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name="整改单位"
    )
    source = models.CharField(
        "依据", max_length=40, blank=True, help_text="预期行动编号；手工添加的为空"
    )
    title = models.CharField("整改事项", max_length=200)
    detail = models.TextField("要求", blank=True)
    due_at = models.DateTimeField("整改时限")
    state = models.CharField(
        "状态", max_length=8, choices=ImprovementState.choices, default=ImprovementState.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="提出人",
    )
    created_at = models.DateTimeField("提出时间")
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="完成人",
    )
    done_at = models.DateTimeField("完成时间", null=True, blank=True)
    done_note = models.TextField("整改情况", blank=True)

    class Meta:
        verbose_name = "整改事项"
        verbose_name_plural = "整改事项"
        ordering = ["due_at", "pk"]
        constraints = [
            # One item per expectation and unit: turning a suggestion into a task twice
            # (a retry, a double click) makes one.
            models.UniqueConstraint(
                fields=["run", "unit", "source"],
                condition=~Q(source=""),
                name="drill_improvement_once",
            ),
        ]
        indexes = [models.Index(fields=["unit", "state"], name="drill_improvement_unit")]

    def __str__(self) -> str:
        return f"{self.unit}：{self.title}"
