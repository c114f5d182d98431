"""Intake state: idempotency records for every create that can be retried."""

from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to a create, kept so a retry with the same key gets it again.

    `scope` is who sent it (a token or a person), so two units can never collide on a key.
    `request_hash` catches a key reused for different content.
    """

    scope = models.CharField("调用方", max_length=64)
    key = models.CharField("幂等键", max_length=128)
    request_hash = models.CharField("请求摘要", max_length=64)
    status_code = models.PositiveSmallIntegerField("响应状态", default=201)
    response = models.JSONField("响应内容", default=dict)
    created_at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = "幂等记录"
        verbose_name_plural = "幂等记录"
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_once"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
