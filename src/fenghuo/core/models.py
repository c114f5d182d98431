"""Shared kernel state: confidentiality marks, the audit chain, worker heartbeats."""

from django.db import models


class Confidentiality(models.IntegerChoices):
    """Marks on content, ordered so that a clearance is "the highest mark you may read".

    Fenghuo is not for classified (涉密) material; these marks restrict access to
    unclassified but sensitive work information.
    """

    PUBLIC = 0, "公开"
    INTERNAL = 1, "内部"
    SENSITIVE = 2, "敏感"


class AuditEntry(models.Model):
    """One append-only link of the audit chain.

    `hash` covers this entry's content and `prev_hash`, so editing or deleting any row
    breaks the chain at that row; `fenghuo verify-audit` finds the first broken link.
    An entry written while another transaction held the chain's head has no `seq` (nor
    hashes) until `audit_chain_pending` links it, normally within a second.
    The actor is stored by id and name, not by foreign key, so the trail outlives people.
    """

    seq = models.BigIntegerField("序号", unique=True, null=True, blank=True)
    at = models.DateTimeField("时间")
    actor_id = models.CharField("操作人ID", max_length=64, blank=True)
    actor_name = models.CharField("操作人", max_length=150, blank=True)
    action = models.CharField("操作", max_length=100)
    object_type = models.CharField("对象类型", max_length=100)
    object_id = models.CharField("对象ID", max_length=64)
    before = models.JSONField("变更前", null=True, blank=True)
    after = models.JSONField("变更后", null=True, blank=True)
    prev_hash = models.CharField("前一哈希", max_length=64, blank=True)
    hash = models.CharField("哈希", max_length=64, blank=True)

    class Meta:
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"
        ordering = [models.F("seq").asc(nulls_last=True), "id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq or '待链接'} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise RuntimeError("审计记录只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("审计记录只能追加，不能删除")


class AuditHead(models.Model):
    """The chain's tip, one row. Whoever holds its lock appends the next links."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = "审计链头"
        verbose_name_plural = "审计链头"

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


class WorkerHeartbeat(models.Model):
    """A task worker's last sign of life; the duty desk shows a stale one as "worker down"."""

    worker_id = models.CharField("工作进程", max_length=64, unique=True)
    hostname = models.CharField("主机", max_length=255)
    pid = models.IntegerField("进程号")
    started_at = models.DateTimeField("启动时间")
    last_seen = models.DateTimeField("最后心跳")
    stopped_at = models.DateTimeField("停止时间", null=True, blank=True)

    class Meta:
        verbose_name = "工作进程心跳"
        verbose_name_plural = "工作进程心跳"

    def __str__(self) -> str:
        return f"{self.worker_id}@{self.hostname}"
