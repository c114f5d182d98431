"""Reporting criteria as data: event categories, rule sets per jurisdiction and version,
their rules (thresholds, results per grade) and sensitivity factors."""

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from fenghuo.org.models import AdminLevel, Unit, UnitKind

division_prefix_validator = RegexValidator(
    r"^[0-9]{2,6}$", "行政区划代码须为 2–6 位数字（代码前缀）"
)


class EventCategory(models.Model):
    """Category and subcategory of an event (自然灾害 › 地质灾害 …), as data.

    `responsible_kind` names the kind of department whose figures count first when units
    disagree (e.g. 卫生健康 for a public-health event).
    """

    code = models.SlugField("代码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=50)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name="上级类别",
    )
    responsible_kind = models.ForeignKey(
        UnitKind,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name="主管部门类型",
    )
    sort_order = models.PositiveIntegerField("排序", default=100)

    class Meta:
        verbose_name = "事件类别"
        verbose_name_plural = "事件类别"
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.parent.name} › {self.name}" if self.parent_id else self.name

    @property
    def top(self) -> "EventCategory":
        return self.parent if self.parent_id else self


# The figures a rule can test, as `fenghuo.events.models.FIGURES` names them (criteria sits
# below events, so it keeps its own copy; a test checks the two agree): name → (label, unit).
FIGURES: dict[str, tuple[str, str]] = {
    "dead": ("死亡", "人"),
    "missing": ("失踪", "人"),
    "seriously_injured": ("重伤", "人"),
    "injured": ("受伤", "人"),
    "economic_loss": ("直接经济损失", "万元"),
    "affected": ("受影响", "人"),
    "evacuated": ("紧急疏散", "人"),
}
FIGURE_CHOICES = [(name, f"{label}（{unit}）") for name, (label, unit) in FIGURES.items()]


def plain_number(value: Decimal | int) -> str:
    """12 for 12, 12.00 and Decimal("12"); 0.5 stays 0.5: figures as people write them."""
    return format(Decimal(value).normalize(), "f")


def split_words(text: str) -> list[str]:
    """Words as an administrator types them: separated by 、，, ; spaces or new lines."""
    return [w for w in re.split(r"[\s、，,；;]+", text or "") if w]


class Grade(models.IntegerChoices):
    """1 is the most severe, as in the regulations (Ⅰ级 = 特别重大)."""

    I = 1, "特别重大（Ⅰ级）"  # noqa: E741
    II = 2, "重大（Ⅱ级）"
    III = 3, "较大（Ⅲ级）"
    IV = 4, "一般（Ⅳ级）"


# The levels a report can be required to reach, bottom up.
TARGET_LEVELS = [
    (AdminLevel.COUNTY.value, "县级"),
    (AdminLevel.CITY.value, "市级"),
    (AdminLevel.PROVINCE.value, "省级"),
    (AdminLevel.NATIONAL.value, "国家级"),
]


class FactorKind(models.TextChoices):
    """Also the names of the reporter's flags that trigger the factor directly."""

    IDENTITY = "sensitive_identity", "敏感身份"
    TIME = "sensitive_time", "敏感时间"
    PLACE = "sensitive_place", "敏感地点"
    BEHAVIOUR = "extreme_behaviour", "极端行为"
    CROWD = "long_duration_crowd", "持续时间长、聚集人数多"


class FactorEffect(models.TextChoices):
    RAISE = "raise", "提高一级"
    ATTENTION = "attention", "预警关注"


class RuleSet(models.Model):
    """One version of a body of reporting criteria (《…》) for a jurisdiction.

    Versions of one criteria share `code`; the version in force at a moment is the enabled
    one with the latest `effective_from` not after it. Edits are made on a copy
    (`services.copy_as_new_version`), so events graded earlier stay explained by theirs.
    """

    code = models.SlugField("标准代码", max_length=60, help_text="同一标准的各版本共用此代码")
    version = models.PositiveIntegerField("版本", default=1)
    name = models.CharField(
        "标准名称", max_length=100, help_text="不含书名号，如：生产安全事故报告和调查处理条例"
    )
    jurisdiction = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="criteria_rulesets",
        verbose_name="适用范围",
        help_text="适用于该单位及其下级单位报送的事件；留空表示全国通用。范围越具体越优先。",
    )
    effective_from = models.DateTimeField("施行时间", help_text="按事件发生时间选用当时施行的版本")
    is_active = models.BooleanField(
        "启用", default=True, help_text="未启用的版本（如草稿）不参与定级"
    )
    basis = models.TextField("依据与说明", blank=True)
    copied_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="copies",
        verbose_name="复制自",
    )

    class Meta:
        verbose_name = "报送标准"
        verbose_name_plural = "报送标准"
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="ruleset_unique_version"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"《{self.name}》 第{self.version}版"


class Rule(models.Model):
    """The criteria of one rule set for one category (a subcategory's rule beats its top
    category's; a rule without a category catches every category no other rule covers)."""

    ruleset = models.ForeignKey(
        RuleSet, on_delete=models.CASCADE, related_name="rules", verbose_name="报送标准"
    )
    category = models.ForeignKey(
        EventCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rules",
        verbose_name="事件类别",
        help_text="留空：适用于本标准中没有专门规则的其他所有类别",
    )
    base_grade = models.PositiveSmallIntegerField(
        "基础等级",
        choices=Grade.choices,
        null=True,
        blank=True,
        help_text="未达到任何分级标准时的等级；留空表示未达标准的不必报送",
    )
    note = models.CharField("依据条款", max_length=200, blank=True)

    class Meta:
        verbose_name = "定级规则"
        verbose_name_plural = "定级规则"
        ordering = ["ruleset", "category__sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["ruleset", "category"], name="rule_unique_category"),
            models.UniqueConstraint(
                fields=["ruleset"],
                condition=models.Q(category__isnull=True),
                name="rule_one_catch_all",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ruleset} · {self.category or '其他类别'}"


class Threshold(models.Model):
    """ "Figure ≥ minimum" reaches the grade (以上 inclusive); a band's upper end (以下,
    exclusive) is the next grade's minimum."""

    rule = models.ForeignKey(
        Rule, on_delete=models.CASCADE, related_name="thresholds", verbose_name="规则"
    )
    grade = models.PositiveSmallIntegerField("等级", choices=Grade.choices)
    figure = models.CharField("指标", max_length=20, choices=FIGURE_CHOICES)
    minimum = models.DecimalField(
        "下限（含）", max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )

    class Meta:
        verbose_name = "数量标准"
        verbose_name_plural = "数量标准"
        ordering = ["rule", "grade", "figure"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "grade", "figure"], name="threshold_unique_figure"
            ),
        ]

    def __str__(self) -> str:
        label, unit = FIGURES[self.figure]
        return f"{label} ≥ {plain_number(self.minimum)} {unit} → {self.get_grade_display()}"


class GradeResult(models.Model):
    """Follow-up and final-report deadlines for one grade of a rule."""

    rule = models.ForeignKey(
        Rule, on_delete=models.CASCADE, related_name="results", verbose_name="规则"
    )
    grade = models.PositiveSmallIntegerField("等级", choices=Grade.choices)
    followup_hours = models.PositiveIntegerField(
        "续报间隔（小时）", null=True, blank=True, help_text="每隔多少小时续报一次，直至终报"
    )
    final_days = models.PositiveIntegerField("终报时限（天）", null=True, blank=True)

    class Meta:
        verbose_name = "续报与终报时限"
        verbose_name_plural = "续报与终报时限"
        ordering = ["rule", "grade"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "grade"], name="result_unique_grade"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} · {self.get_grade_display()}"


class Target(models.Model):
    """A level a report of this grade must reach, and how fast (counted from when the event
    became known). Levels are listed one by one, so a rule can skip levels (直报)."""

    rule = models.ForeignKey(
        Rule, on_delete=models.CASCADE, related_name="targets", verbose_name="规则"
    )
    grade = models.PositiveSmallIntegerField("等级", choices=Grade.choices)
    level = models.CharField("报送至", max_length=16, choices=TARGET_LEVELS)
    phone_minutes = models.PositiveIntegerField(
        "电话报告时限（分钟）", null=True, blank=True, help_text="留空表示不要求电话报告"
    )
    written_minutes = models.PositiveIntegerField("书面报告时限（分钟）")

    class Meta:
        verbose_name = "报送层级与时限"
        verbose_name_plural = "报送层级与时限"
        ordering = ["rule", "grade", "written_minutes"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "grade", "level"], name="target_unique_level"),
        ]

    def __str__(self) -> str:
        return f"{self.get_grade_display()} → {self.get_level_display()}"


class SensitivityFactor(models.Model):
    """A qualitative factor of a rule set: raises the grade one level, or marks the event
    for pre-warning attention (预警关注). One per kind and rule set."""

    ruleset = models.ForeignKey(
        RuleSet, on_delete=models.CASCADE, related_name="factors", verbose_name="报送标准"
    )
    kind = models.CharField("因素", max_length=24, choices=FactorKind.choices)
    effect = models.CharField("作用", max_length=12, choices=FactorEffect.choices)
    words = models.TextField(
        "关键词",
        blank=True,
        help_text="敏感身份、极端行为：出现在标题、地点、涉及人员或经过中即命中；"
        "以顿号、逗号、空格或换行分隔",
    )
    min_affected = models.PositiveIntegerField(
        "聚集人数下限", null=True, blank=True, help_text="持续聚集：受影响人数达到此数即命中"
    )
    use_holidays = models.BooleanField(
        "法定节假日和调休", default=True, help_text="敏感时间：含法定节假日及其调休日"
    )
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "敏感因素"
        verbose_name_plural = "敏感因素"
        ordering = ["ruleset", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["ruleset", "kind"], name="factor_unique_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}（{self.get_effect_display()}）"

    def clean(self) -> None:
        if self.kind in (FactorKind.IDENTITY, FactorKind.BEHAVIOUR) and not split_words(self.words):
            raise ValidationError({"words": ["请填写至少一个关键词"]})


class SensitiveDate(models.Model):
    """A sensitive day or period of a rule set, beside the public holidays."""

    ruleset = models.ForeignKey(
        RuleSet, on_delete=models.CASCADE, related_name="dates", verbose_name="报送标准"
    )
    name = models.CharField("名称", max_length=60)
    starts_on = models.DateField("开始日期")
    ends_on = models.DateField("结束日期", null=True, blank=True, help_text="留空表示仅一天")
    every_year = models.BooleanField("每年", default=False, help_text="每年同月同日")

    class Meta:
        verbose_name = "敏感日期"
        verbose_name_plural = "敏感日期"
        ordering = ["ruleset", "starts_on"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": ["结束日期不能早于开始日期"]})
        span = (self.ends_on - self.starts_on).days if self.ends_on and self.starts_on else 0
        if self.every_year and span > 365:
            raise ValidationError({"ends_on": ["每年重复的时段不能超过一年"]})


class SensitivePlace(models.Model):
    """A sensitive place of a rule set: by name in the report's text, or by division code."""

    ruleset = models.ForeignKey(
        RuleSet, on_delete=models.CASCADE, related_name="places", verbose_name="报送标准"
    )
    name = models.CharField("地点名称", max_length=60, help_text="出现在地点、标题或经过中即命中")
    division_code = models.CharField(
        "行政区划代码",
        max_length=6,
        blank=True,
        validators=[division_prefix_validator],
        help_text="可选：2–6 位，事件发生地代码以此开头即命中（如 1101 表示整个市）",
    )

    class Meta:
        verbose_name = "敏感地点"
        verbose_name_plural = "敏感地点"
        ordering = ["ruleset", "name"]

    def __str__(self) -> str:
        return self.name


class Revision(models.Model):
    """One row whose token changes with every criteria write: processes compare it with
    the token their cached rule sets were built from."""

    token = models.CharField("版本标记", max_length=32)

    class Meta:
        verbose_name = "标准版本标记"
        verbose_name_plural = "标准版本标记"

    def __str__(self) -> str:
        return self.token
