"""Four-colour warnings (预警): versions, who may issue which colour, sender codes, CAP imports.

A warning is a series of versions. The first version is drafted, approved by the leading
group, and issued; an adjustment (调整) is a NEW row that `replaces` the issued one and goes
through approval again; when it is issued the old row becomes superseded. Lifting (解除)
ends the series. Each issued version keeps the CAP identifier it was sent with, so its
export is the same document every time.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import EventCategory
from fenghuo.org.models import Unit

sender_code_validator = RegexValidator(
    r"^[0-9]{14}$",
    "发布单位代码须为 14 位数字：6 位行政区划代码 + 3 位机构代码 + 3 位内部编码 + 2 位扩展码",
)


class WarningLevel(models.IntegerChoices):
    """Ⅰ is the most serious, as with event grades; each level has its colour."""

    RED = 1, "红色（Ⅰ级）"
    ORANGE = 2, "橙色（Ⅱ级）"
    YELLOW = 3, "黄色（Ⅲ级）"
    BLUE = 4, "蓝色（Ⅳ级）"


# level → (css / English colour, Chinese colour, roman level)
COLOURS: dict[int, tuple[str, str, str]] = {
    WarningLevel.RED: ("red", "红色", "Ⅰ级"),
    WarningLevel.ORANGE: ("orange", "橙色", "Ⅱ级"),
    WarningLevel.YELLOW: ("yellow", "黄色", "Ⅲ级"),
    WarningLevel.BLUE: ("blue", "蓝色", "Ⅳ级"),
}


class WarningState(models.TextChoices):
    DRAFT = "draft", "草稿（待审批）"
    REJECTED = "rejected", "已退回"
    APPROVED = "approved", "已批准（待发布）"
    ISSUED = "issued", "生效中"
    SUPERSEDED = "superseded", "已调整（被新版本取代）"
    LIFTED = "lifted", "已解除"
    WITHDRAWN = "withdrawn", "已撤销（未发布）"


# Before issue: seen only by the issuing unit and its approvers, editable.
UNISSUED_STATES = (WarningState.DRAFT, WarningState.REJECTED, WarningState.APPROVED)
# Sent at some point: has a CAP identifier and was announced.
ISSUED_STATES = (WarningState.ISSUED, WarningState.SUPERSEDED, WarningState.LIFTED)


class IssuingRule(models.Model):
    """Which bodies may issue a colour and which leading-group roles approve it — data,
    edited in the admin. One row per colour (the defaults are a data migration)."""

    level = models.PositiveSmallIntegerField("预警级别", choices=WarningLevel.choices, unique=True)
    issuer_levels = models.JSONField(
        "可发布的单位层级", default=list, help_text="org.AdminLevel 取值，如 province、city"
    )
    approver_roles = models.JSONField(
        "审批角色", default=list, help_text="发布单位中可审批、发布、解除该级预警的领导小组角色"
    )
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "预警发布权限"
        verbose_name_plural = "预警发布权限"
        ordering = ["level"]

    def __str__(self) -> str:
        return f"{self.get_level_display()}预警"


class SenderCode(models.Model):
    """A unit's 预警信息发布单位代码 (GB/T 35965.1 annex A): ZZZZZZ DDD UUU XX — division
    code, organ code (GB/T 4657), internal code, extension. Used as the CAP sender and the
    first part of identifiers; a unit without one uses its division code + 00000000."""

    unit = models.OneToOneField(
        Unit, on_delete=models.CASCADE, related_name="warning_sender", verbose_name="单位"
    )
    code = models.CharField(
        "发布单位代码", max_length=14, unique=True, validators=[sender_code_validator]
    )

    class Meta:
        verbose_name = "预警发布单位代码"
        verbose_name_plural = "预警发布单位代码"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.unit} {self.code}"


class Warning(models.Model):
    first = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="later_versions",
        verbose_name="首个版本",
    )
    version = models.PositiveSmallIntegerField("版本", default=1)
    replaces = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replacements",
        verbose_name="调整的预警",
    )
    state = models.CharField(
        "状态", max_length=12, choices=WarningState.choices, default=WarningState.DRAFT
    )

    category = models.ForeignKey(EventCategory, on_delete=models.PROTECT, verbose_name="预警类别")
    event_name = models.CharField("预警事件", max_length=50, help_text="如：暴雨、山洪、地质灾害")
    level = models.PositiveSmallIntegerField("预警级别", choices=WarningLevel.choices)
    title = models.CharField("标题", max_length=200)
    issuing_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="warnings", verbose_name="发布单位"
    )
    area_codes = models.JSONField("影响区域（行政区划代码）", default=list)
    area_desc = models.CharField("影响区域", max_length=500)
    # GeoJSON-like shapes drawn on the map: {"type": "Polygon", "coordinates": [[[lng, lat],
    # …]]} or {"type": "Circle", "coordinates": [lng, lat], "radius_km": r}.
    geometry = models.JSONField("绘制区域", default=list, blank=True)
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("预计结束时间")
    impact = models.TextField("预计影响")
    cautions = models.TextField("警示事项")
    measures = models.TextField("应采取的措施")
    event = models.ForeignKey(
        "events.Event",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="warnings",
        verbose_name="关联事件",
    )
    is_drill = models.BooleanField("演练", default=False)
    # The drill run the warning belongs to ("" otherwise): taken from its event, or from
    # the drill that imported it; its purge removes the warning.
    drill_tag = models.CharField("演练批次", max_length=40, blank=True)
    confidentiality = models.IntegerField(
        "公开范围",
        choices=Confidentiality.choices,
        default=Confidentiality.PUBLIC,
        help_text="公开：发布到公众页面和订阅；内部：只通知有关单位",
    )
    source = models.CharField("来源", max_length=300, blank=True)

    # Fixed when the version is issued, so every export of it is the same document.
    sender = models.CharField("CAP 发送方", max_length=200, blank=True)
    identifier = models.CharField("CAP 标识", max_length=40, unique=True, null=True, blank=True)
    cancel_identifier = models.CharField(
        "解除消息 CAP 标识", max_length=40, unique=True, null=True, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="拟稿人",
    )
    created_at = models.DateTimeField("拟稿时间")
    updated_at = models.DateTimeField("修改时间")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审批人",
    )
    reviewed_at = models.DateTimeField("审批时间", null=True, blank=True)
    rejection_reason = models.TextField("退回理由", blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发布人",
    )
    issued_at = models.DateTimeField("发布时间", null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="解除人",
    )
    lifted_at = models.DateTimeField("解除时间", null=True, blank=True)
    lift_reason = models.TextField("解除说明", blank=True)

    class Meta:
        verbose_name = "预警"
        verbose_name_plural = "预警"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "ends_at"]),
            models.Index(fields=["issuing_unit", "state"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def series_id(self) -> int:
        return self.first_id or self.pk

    @property
    def colour(self) -> str:
        return COLOURS[self.level][0]

    @property
    def colour_label(self) -> str:
        return COLOURS[self.level][1]

    @property
    def level_roman(self) -> str:
        return COLOURS[self.level][2]


class WarningArea(models.Model):
    """One division code of a warning's area, with the prefix it covers ("990100" covers
    every code starting "9901"), so "which warnings cover this unit" is an indexed query."""

    warning = models.ForeignKey(Warning, on_delete=models.CASCADE, related_name="areas")
    code = models.CharField("行政区划代码", max_length=6)
    prefix = models.CharField("覆盖前缀", max_length=6, db_index=True)

    class Meta:
        verbose_name = "预警区域"
        verbose_name_plural = "预警区域"
        constraints = [
            models.UniqueConstraint(fields=["warning", "code"], name="warning_area_once"),
        ]

    def __str__(self) -> str:
        return self.code


class CapImport(models.Model):
    """An external CAP 1.2 alert taken in: what it became (a warning draft or a clue).
    (sender, identifier) is unique, so the same alert posted twice becomes one thing."""

    sender = models.CharField("发送方", max_length=200)
    identifier = models.CharField("标识", max_length=200)
    sent = models.CharField("发送时间", max_length=40)
    msg_type = models.CharField("消息类型", max_length=10)
    status = models.CharField("状态", max_length=10)
    received_at = models.DateTimeField("导入时间")
    imported_by = models.CharField("导入人", max_length=150)
    warning = models.ForeignKey(
        Warning,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="预警草稿",
    )
    report = models.ForeignKey(
        "events.Report",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="线索",
    )
    note = models.CharField("说明", max_length=500, blank=True)
    raw = models.TextField("原文")

    class Meta:
        verbose_name = "CAP 导入记录"
        verbose_name_plural = "CAP 导入记录"
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["sender", "identifier"], name="cap_import_once"),
        ]

    def __str__(self) -> str:
        return f"{self.sender} {self.identifier}"
