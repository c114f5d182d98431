"""Emergency response on an event: levels Ⅰ–Ⅳ, who leads, tasks for departments, ending.

- `LevelPlan`: per level, as configuration (admin): who leads it, who may start it, who
  approves its end, whether its notices are urgent. Defaults from the 意识形态问题紧急处置预案
  (data migration 0002).
- `Response`: one emergency response on one event, run by an office's leading group. At
  most one per event is active (响应中 or 待批准结束); ended ones stay as the record.
- `LevelChange`: the start and every raise or lower, with the leaders each one named
  (`Leader`; relieved ones keep `relieved_at`).
- `Task`: work assigned to a department with a due time; `TaskNote` its progress notes,
  `Evidence` the photos and videos uploaded for it (stored like report attachments).
- `EndRequest`: ending needs an assessment (评估意见) and the approval of the permitted role.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from fenghuo.events.models import AttachmentKind, Event
from fenghuo.org.models import Person, Role, Unit


class Level(models.IntegerChoices):
    I = 1, "Ⅰ级"  # noqa: E741 - the plan's own name for the level
    II = 2, "Ⅱ级"
    III = 3, "Ⅲ级"
    IV = 4, "Ⅳ级"


class LevelPlan(models.Model):
    """Who leads a response level, who may start it and who approves its end (预案配置).

    Roles are `org.Role` values held in the response's office (its leading group, 值班员 …)
    or, for starting and approving, in an office above it.
    """

    level = models.PositiveSmallIntegerField("响应级别", choices=Level.choices, unique=True)
    lead_roles = models.JSONField(
        "牵头角色", default=list, blank=True, help_text="响应办公室中担任这些角色的人员牵头"
    )
    department_head = models.BooleanField(
        "由涉事主管部门负责人牵头",
        default=False,
        help_text="事件类别的主管部门（办公室所辖）的单位领导牵头；无此部门时由办公室的单位领导牵头",
    )
    start_roles = models.JSONField("可启动、调整的角色", default=list)
    end_roles = models.JSONField("可批准结束的角色", default=list)
    urgent = models.BooleanField("紧急通知", default=False, help_text="启动通知标为紧急（提示音）")
    duties = models.TextField(
        "响应要求", blank=True, help_text="预案对本级响应的要求，显示在响应页面"
    )
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "响应级别设置"
        verbose_name_plural = "响应级别设置"
        ordering = ["level"]

    def __str__(self) -> str:
        return f"{self.get_level_display()}响应"


class ResponseState(models.TextChoices):
    ACTIVE = "active", "响应中"
    ENDING = "ending", "待批准结束"
    ENDED = "ended", "已结束"


OPEN_RESPONSE_STATES = (ResponseState.ACTIVE, ResponseState.ENDING)


class Response(models.Model):
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="responses", verbose_name="事件"
    )
    office = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name="响应办公室"
    )
    level = models.PositiveSmallIntegerField("响应级别", choices=Level.choices)
    state = models.CharField(
        "状态", max_length=10, choices=ResponseState.choices, default=ResponseState.ACTIVE
    )
    reason = models.TextField("启动理由")
    started_at = models.DateTimeField("启动时间")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="启动人",
    )
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    summary = models.TextField("处置总结", blank=True)
    summarized_at = models.DateTimeField("总结时间", null=True, blank=True)
    summarized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="总结人",
    )

    class Meta:
        verbose_name = "应急响应"
        verbose_name_plural = "应急响应"
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event"],
                condition=Q(state__in=["active", "ending"]),
                name="response_one_open_per_event",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event}：{self.get_level_display()}应急响应"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_RESPONSE_STATES

    @property
    def label(self) -> str:
        return f"{self.get_level_display()}应急响应"


class LevelChange(models.Model):
    """The start of a response (`from_level` empty) or a raise / lower of its level."""

    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="changes", verbose_name="应急响应"
    )
    from_level = models.PositiveSmallIntegerField(
        "原级别", choices=Level.choices, null=True, blank=True
    )
    to_level = models.PositiveSmallIntegerField("新级别", choices=Level.choices)
    reason = models.TextField("理由")
    at = models.DateTimeField("时间")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="操作人",
    )
    actor_name = models.CharField("操作人姓名", max_length=150, blank=True)

    class Meta:
        verbose_name = "响应级别变更"
        verbose_name_plural = "响应级别变更"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.response_id}: {self.from_level} → {self.to_level}"

    @property
    def verb(self) -> str:
        """启动 / 提升 / 降低."""
        if self.from_level is None:
            return "启动"
        return "提升" if self.to_level < self.from_level else "降低"

    @property
    def text(self) -> str:
        """启动Ⅲ级应急响应 / 应急响应由Ⅲ级提升为Ⅱ级."""
        to = Level(self.to_level).label
        if self.from_level is None:
            return f"启动{to}应急响应"
        return f"应急响应由{Level(self.from_level).label}{self.verb}为{to}"


class Leader(models.Model):
    """A person named to lead a response at a level (relieved when the level changes)."""

    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="leaders", verbose_name="应急响应"
    )
    change = models.ForeignKey(
        LevelChange, on_delete=models.CASCADE, related_name="leaders", verbose_name="级别变更"
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="牵头人"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="单位")
    role = models.CharField("角色", max_length=20)
    relieved_at = models.DateTimeField("卸任时间", null=True, blank=True)

    class Meta:
        verbose_name = "响应牵头人"
        verbose_name_plural = "响应牵头人"
        ordering = ["change", "pk"]

    def __str__(self) -> str:
        return f"{self.person}（{self.role_label}）"

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role in Role.values else self.role


class TaskState(models.TextChoices):
    OPEN = "open", "待办"
    IN_PROGRESS = "in_progress", "处置中"
    DONE = "done", "已完成"
    OVERDUE = "overdue", "已超时"


OPEN_TASK_STATES = (TaskState.OPEN, TaskState.IN_PROGRESS, TaskState.OVERDUE)


class Task(models.Model):
    """Work a department (the owner unit, 责任单位) must do by a due time."""

    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="tasks", verbose_name="应急响应"
    )
    title = models.CharField("任务", max_length=200)
    description = models.TextField("要求", blank=True)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="response_tasks", verbose_name="责任单位"
    )
    due_at = models.DateTimeField("完成时限")
    state = models.CharField(
        "状态", max_length=12, choices=TaskState.choices, default=TaskState.OPEN
    )
    created_at = models.DateTimeField("下达时间")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="下达人",
    )
    assigned_at = models.DateTimeField("交办时间")
    started_at = models.DateTimeField("开始处置时间", null=True, blank=True)
    done_at = models.DateTimeField("完成时间", null=True, blank=True)
    overdue_at = models.DateTimeField("标记超时时间", null=True, blank=True)

    class Meta:
        verbose_name = "响应任务"
        verbose_name_plural = "响应任务"
        ordering = ["due_at", "pk"]
        indexes = [
            # The overdue loop's scan: open rows by due time.
            models.Index(fields=["state", "due_at"], name="response_task_due_idx"),
            models.Index(fields=["unit", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.unit}：{self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_TASK_STATES


class TaskNote(models.Model):
    """A progress note (进展) on a task."""

    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="notes", verbose_name="任务"
    )
    text = models.TextField("进展情况")
    at = models.DateTimeField("时间")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="填写人",
    )
    actor_name = models.CharField("填写人姓名", max_length=150, blank=True)

    class Meta:
        verbose_name = "任务进展"
        verbose_name_plural = "任务进展"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return self.text[:40]


class Evidence(models.Model):
    """A photo or video uploaded for a task. Checked and stored like a report attachment
    (`events.attachments`: type by content, stored by SHA-256), read through the task's
    access only."""

    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="evidence", verbose_name="任务"
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
        verbose_name = "佐证材料"
        verbose_name_plural = "佐证材料"
        ordering = ["uploaded_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["task", "sha256"], name="evidence_once_per_task")
        ]

    def __str__(self) -> str:
        return self.name


class EndRequest(models.Model):
    """A request to end the emergency: the assessment, then the permitted role's decision."""

    class Decision(models.TextChoices):
        PENDING = "pending", "待批准"
        APPROVED = "approved", "已批准"
        REJECTED = "rejected", "未批准"

    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="end_requests", verbose_name="应急响应"
    )
    assessment = models.TextField("评估意见")
    requested_at = models.DateTimeField("提请时间")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="提请人",
    )
    requested_by_name = models.CharField("提请人姓名", max_length=150, blank=True)
    decision = models.CharField(
        "审批", max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审批人",
    )
    decided_by_name = models.CharField("审批人姓名", max_length=150, blank=True)
    decision_note = models.TextField("审批意见", blank=True)

    class Meta:
        verbose_name = "结束响应申请"
        verbose_name_plural = "结束响应申请"
        ordering = ["requested_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["response"],
                condition=Q(decision="pending"),
                name="end_request_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.response_id} {self.get_decision_display()}"
