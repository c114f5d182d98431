"""Reporting criteria as data. For now: the event categories every report carries."""

from django.db import models

from fenghuo.org.models import UnitKind


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
