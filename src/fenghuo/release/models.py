"""Public information release (信息发布): a release per event and issuing body, and its
versions.

A `Release` is one body's public account of one event over time; each `ReleaseVersion`
is one text of it. A version is written as a draft, submitted for review, approved (or
returned with a reason) and published. An update is a new version whose draft starts from
the published text; the public page shows the latest published version with the earlier
published ones as its history. Drafts, versions under review and returned versions are
never public, nor is anything of a drill (`Release.is_drill`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from fenghuo.events.models import Event
from fenghuo.org.models import Unit


class VersionState(models.TextChoices):
    DRAFT = "draft", "草稿"
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "已退回"
    PUBLISHED = "published", "已发布"


# A release has at most one version in these states: the one being worked on.
OPEN_STATES = (VersionState.DRAFT, VersionState.PENDING, VersionState.APPROVED)


class Release(models.Model):
    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, related_name="releases", verbose_name="事件"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, verbose_name="发布单位")
    is_drill = models.BooleanField("演练", default=False, help_text="演练发布从不对外公开")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="起草人",
    )
    created_at = models.DateTimeField("建立时间")
    # The version the public sees; set when a version is published.
    current = models.ForeignKey(
        "ReleaseVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="当前公开版本",
    )
    first_published_at = models.DateTimeField("首次发布时间", null=True, blank=True)
    last_published_at = models.DateTimeField("最近发布时间", null=True, blank=True)

    class Meta:
        verbose_name = "信息发布"
        verbose_name_plural = "信息发布"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["is_drill", "last_published_at"])]

    def __str__(self) -> str:
        return f"{self.unit} · {self.event}"


class ReleaseVersion(models.Model):
    """One text of a release: the required parts, who wrote, reviewed and published it."""

    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="versions", verbose_name="信息发布"
    )
    number = models.PositiveSmallIntegerField("版本号")
    # Numbered among the published versions only (第1版, 第2版 … on the public page).
    edition = models.PositiveSmallIntegerField("发布版次", null=True, blank=True)
    based_on = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="据以修改的版本",
    )
    state = models.CharField(
        "状态", max_length=10, choices=VersionState.choices, default=VersionState.DRAFT
    )

    title = models.CharField("标题", max_length=200, blank=True)
    occurred_at = models.DateTimeField("发生时间", null=True, blank=True)
    place = models.CharField("发生地点", max_length=200, blank=True)
    cause = models.TextField("原因", blank=True, help_text="已查明的原因；尚未查明的留空")
    overview = models.TextField("事件概况", blank=True)
    impact = models.TextField("影响范围", blank=True)
    measures = models.TextField("应对措施", blank=True)
    advice = models.TextField("防范建议", blank=True)
    contact = models.CharField("联系方式", max_length=200, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="起草人",
    )
    created_at = models.DateTimeField("起草时间")
    updated_at = models.DateTimeField("修改时间")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="送审人",
    )
    submitted_at = models.DateTimeField("送审时间", null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审核人",
    )
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    review_note = models.TextField("审核意见", blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发布人",
    )
    published_at = models.DateTimeField("发布时间", null=True, blank=True)

    class Meta:
        verbose_name = "发布稿版本"
        verbose_name_plural = "发布稿版本"
        ordering = ["release", "number"]
        constraints = [
            models.UniqueConstraint(fields=["release", "number"], name="release_version_number"),
            models.UniqueConstraint(
                fields=["release", "edition"],
                condition=Q(edition__isnull=False),
                name="release_version_edition",
            ),
            # One version in the works per release, so two updates never race each other.
            models.UniqueConstraint(
                fields=["release"],
                condition=Q(state__in=[s.value for s in OPEN_STATES]),
                name="release_one_open_version",
            ),
        ]
        indexes = [models.Index(fields=["state", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.title or '（无标题）'}（第{self.number}稿）"

    @property
    def label(self) -> str:
        """第2版 for a published version, 第3稿 for any other."""
        if self.edition:
            return f"第{self.edition}版"
        return f"第{self.number}稿"
