"""Intake state: idempotency records for every create that can be retried, received
e-mail, and bulk-import batches."""

from django.conf import settings
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


class InboundMessage(models.Model):
    """An e-mail received by the platform, kept whole before anything is made of it.

    The Message-ID is unique, so a redelivered message (the sender's server retrying after
    a lost reply) finds its first copy instead of making a second draft. The raw message
    is kept too: the draft is only what could be parsed, the message is the evidence.
    """

    class State(models.TextChoices):
        NEW = "new", "新收到"
        DRAFTED = "drafted", "已生成草稿"
        CONFIRMED = "confirmed", "已确认报送"
        REJECTED = "rejected", "不予采用"

    message_id = models.CharField("邮件标识（Message-ID）", max_length=255, unique=True)
    envelope_from = models.CharField("信封发件人", max_length=320, blank=True)
    recipients = models.JSONField("收件人", default=list)
    from_header = models.CharField("发件人", max_length=500, blank=True)
    from_name = models.CharField("发件人姓名", max_length=200, blank=True)
    from_address = models.CharField("发件地址", max_length=320, blank=True)
    subject = models.CharField("主题", max_length=500, blank=True)
    body = models.TextField("正文", blank=True)
    sent_at = models.DateTimeField("发信时间（信头）", null=True, blank=True)
    received_at = models.DateTimeField("接收时间")
    size = models.PositiveIntegerField("大小（字节）")
    raw = models.BinaryField("原始邮件")
    attachments = models.JSONField(
        "附件", default=list, help_text="每个附件的文件名、类型、大小和 SHA-256；内容在原始邮件中"
    )
    peer = models.CharField("来源地址", max_length=100, blank=True)
    sender_person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="识别出的发件人",
    )
    sender_known = models.BooleanField("发件人已识别", default=False)
    unit = models.ForeignKey(
        "org.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="归属单位",
        help_text="已识别发件人的单位；未识别时为收件的值班室",
    )
    report = models.ForeignKey(
        "events.Report",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="报告草稿",
    )
    provisional_fields = models.JSONField(
        "待确认字段", default=list, help_text="草稿中系统推测填写、须值班员确认的字段"
    )
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.NEW)
    note = models.TextField("处理说明", blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="处理人",
    )
    decided_at = models.DateTimeField("处理时间", null=True, blank=True)

    class Meta:
        verbose_name = "收到的邮件"
        verbose_name_plural = "收到的邮件"
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["state", "received_at"])]

    def __str__(self) -> str:
        return f"{self.from_header or self.from_address}：{self.subject[:40]}"


class ImportBatch(models.Model):
    """One committed bulk import. The same file (by SHA-256) for the same unit is imported
    once: importing it again returns this batch and creates nothing."""

    unit = models.ForeignKey(
        "org.Unit", on_delete=models.PROTECT, related_name="+", verbose_name="报送单位"
    )
    filename = models.CharField("文件名", max_length=255)
    content_hash = models.CharField("文件摘要（SHA-256）", max_length=64)
    size = models.PositiveIntegerField("大小（字节）")
    only_valid = models.BooleanField("仅导入无误的行", default=False)
    total_rows = models.PositiveIntegerField("数据行数", default=0)
    imported = models.PositiveIntegerField("导入行数", default=0)
    skipped = models.PositiveIntegerField("跳过行数", default=0)
    errors = models.JSONField("错误", default=list)
    notes = models.JSONField("说明", default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="导入人",
    )
    created_at = models.DateTimeField("导入时间")

    class Meta:
        verbose_name = "批量导入"
        verbose_name_plural = "批量导入"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "content_hash"], name="import_file_once"),
        ]

    def __str__(self) -> str:
        return f"{self.filename}（{self.imported} 行）"


class ImportedRow(models.Model):
    """A row that became a report. Its fingerprint (the row's values) is unique per unit,
    so a corrected file imported after a partial import adds only the rows it lacked."""

    batch = models.ForeignKey(
        ImportBatch, on_delete=models.CASCADE, related_name="rows", verbose_name="批次"
    )
    unit = models.ForeignKey(
        "org.Unit", on_delete=models.PROTECT, related_name="+", verbose_name="报送单位"
    )
    row_number = models.PositiveIntegerField("行号")
    fingerprint = models.CharField("行摘要", max_length=64)
    report = models.ForeignKey(
        "events.Report",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="报告",
    )

    class Meta:
        verbose_name = "导入的行"
        verbose_name_plural = "导入的行"
        ordering = ["batch", "row_number"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "fingerprint"], name="import_row_once"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}#{self.row_number}"
