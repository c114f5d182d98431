"""Units, people, roles, the duty roster, the expert pool and per-unit API tokens."""

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from treebeard.mp_tree import MP_Node

from fenghuo.core.models import Confidentiality

# [0-9], not \d: \d also matches full-width digits (１１０１０１), which an IME in full-width
# mode produces and which no lookup by code would then match.
division_code_validator = RegexValidator(r"^[0-9]{6}$", "行政区划代码须为 6 位数字（GB/T 2260）")
mobile_validator = RegexValidator(r"^1[0-9]{10}$", "手机号须为 11 位数字，以 1 开头")


class AdminLevel(models.TextChoices):
    NATIONAL = "national", "国家"
    PROVINCE = "province", "省"
    CITY = "city", "市"
    COUNTY = "county", "县"
    TOWNSHIP = "township", "乡镇"


class UnitKind(models.Model):
    """Kinds of unit (党委办公厅, 应急管理, 媒体 …) are data, so offices can add their own."""

    code = models.SlugField("代码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=50, unique=True)
    sort_order = models.PositiveIntegerField("排序", default=100)

    class Meta:
        verbose_name = "单位类型"
        verbose_name_plural = "单位类型"
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Division(models.Model):
    """An administrative division (GB/T 2260 code) and a point to place it on a map, added
    or corrected by an office (towns, development zones, renamed counties, the demo
    province's 99 codes). The nationwide table of provinces, cities and counties ships as
    `org/data/divisions.csv` and is read from there (`org.selectors.division_points`); a
    row here takes precedence over the shipped one with the same code."""

    code = models.CharField(
        "行政区划代码", max_length=6, primary_key=True, validators=[division_code_validator]
    )
    name = models.CharField("名称", max_length=50)
    latitude = models.FloatField("纬度")
    longitude = models.FloatField("经度")

    class Meta:
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Unit(MP_Node):
    """A node of the organisation tree (materialised path: subtree reads are one LIKE)."""

    name = models.CharField("单位名称", max_length=100)
    short_name = models.CharField("简称", max_length=50, blank=True)
    level = models.CharField("行政层级", max_length=16, choices=AdminLevel.choices)
    kind = models.ForeignKey(UnitKind, on_delete=models.PROTECT, verbose_name="单位类型")
    division_code = models.CharField(
        "行政区划代码", max_length=6, validators=[division_code_validator]
    )
    is_direct_point = models.BooleanField("信息直报点", default=False)
    is_receiving_office = models.BooleanField(
        "接报值班室", default=False, help_text="接收下级报送并安排值班的办公室（值班室/信息处）"
    )
    phone = models.CharField("值班电话", max_length=30, blank=True)
    email = models.EmailField("值班邮箱", blank=True)
    is_active = models.BooleanField("启用", default=True)

    node_order_by = ["division_code", "name"]

    class Meta:
        verbose_name = "单位"
        verbose_name_plural = "单位"
        constraints = [
            models.UniqueConstraint(fields=["division_code", "name"], name="unit_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    REPORTER = "reporter", "信息员"
    UNIT_LEADER = "unit_leader", "单位领导"
    DUTY_OFFICER = "duty_officer", "值班员"
    GROUP_LEADER = "group_leader", "领导小组组长"
    GROUP_DEPUTY = "group_deputy", "领导小组副组长"
    GROUP_MEMBER = "group_member", "领导小组成员"
    GROUP_OFFICE = "group_office", "领导小组办公室"
    ANALYST = "analyst", "舆情分析员"
    EXPERT = "expert", "专家"
    ADMIN = "admin", "管理员"


class Person(AbstractUser):
    """Anyone Fenghuo knows: a login, a contact, or both (contacts get no usable password)."""

    full_name = models.CharField("姓名", max_length=50)
    unit = models.ForeignKey(
        "Unit",
        on_delete=models.PROTECT,
        related_name="people",
        verbose_name="所在单位",
        null=True,
        blank=True,
    )
    title = models.CharField("职务", max_length=50, blank=True)
    mobile = models.CharField("手机", max_length=11, blank=True, validators=[mobile_validator])
    office_phone = models.CharField("办公电话", max_length=30, blank=True)
    wecom_id = models.CharField("企业微信ID", max_length=64, blank=True)
    dingtalk_id = models.CharField("钉钉ID", max_length=64, blank=True)
    feishu_id = models.CharField("飞书ID", max_length=64, blank=True)
    contact_mark = models.IntegerField(
        "联系方式密级",
        choices=Confidentiality.choices,
        default=Confidentiality.INTERNAL,
        help_text="手机号等联系方式的可见范围",
    )

    class Meta:
        verbose_name = "人员"
        verbose_name_plural = "人员"

    def __str__(self) -> str:
        return self.full_name or self.username


class Membership(models.Model):
    """A person's role in a unit; one person may hold several roles in several units."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="memberships", verbose_name="人员"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="memberships", verbose_name="单位"
    )
    role = models.CharField("角色", max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = "角色任职"
        verbose_name_plural = "角色任职"
        constraints = [
            models.UniqueConstraint(fields=["person", "unit", "role"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.unit} · {self.get_role_display()}"


class DutyShift(models.Model):
    """One shift of an office's duty roster (值班表): who is notified when."""

    office = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="shifts", verbose_name="值班单位"
    )
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("结束时间")
    primary = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="primary_shifts", verbose_name="主班"
    )
    backup = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="backup_shifts",
        verbose_name="备班",
        null=True,
        blank=True,
    )
    leader = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="leader_shifts",
        verbose_name="带班领导",
        null=True,
        blank=True,
    )
    note = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        verbose_name = "值班班次"
        verbose_name_plural = "值班表"
        ordering = ["office", "starts_at"]
        indexes = [models.Index(fields=["office", "starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"


class Specialty(models.Model):
    name = models.CharField("专业领域", max_length=50, unique=True)

    class Meta:
        verbose_name = "专业领域"
        verbose_name_plural = "专业领域"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Expert(models.Model):
    """A member of the expert pool (专家库) who answers consultation requests (会商)."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, related_name="expert_profile", verbose_name="人员"
    )
    affiliation = models.CharField("工作单位", max_length=100)
    specialties = models.ManyToManyField(Specialty, verbose_name="专业领域", blank=True)
    note = models.CharField("备注", max_length=200, blank=True)
    is_active = models.BooleanField("在库", default=True)

    class Meta:
        verbose_name = "专家"
        verbose_name_plural = "专家库"

    def __str__(self) -> str:
        return f"{self.person}（{self.affiliation}）"


class ApiToken(models.Model):
    """A unit's API credential. Only a SHA-256 digest is kept; the token is shown once.

    Tokens are 256-bit random strings, so a fast digest is enough (no password stretching);
    the prefix finds the row without scanning.
    """

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="api_tokens", verbose_name="单位"
    )
    name = models.CharField("用途", max_length=100)
    prefix = models.CharField("前缀", max_length=16, unique=True)
    digest = models.CharField("摘要", max_length=64)
    created_by = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="创建人"
    )
    created_at = models.DateTimeField("创建时间")
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)

    class Meta:
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"
        ordering = ["unit", "-created_at"]

    def __str__(self) -> str:
        return f"{self.unit} · {self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
