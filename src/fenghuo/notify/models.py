"""The notification outbox: one message per (recipient, channel), its delivery attempts, the
endpoints (group robots, webhooks) bound to units, and per-person channel chains.

A message is written in the transaction of the change that causes it and delivered later by
the worker (`dispatch.deliver_due`). Its `key` is the idempotency key the receiver sees
(Message-ID, OutId, Idempotency-Key …): the same key for the same recipient and channel is
one row, so whoever retries a notification never makes a second one.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    # A person's channels.
    INAPP = "inapp", "站内消息"
    EMAIL = "email", "电子邮件"
    SMS = "sms", "短信"
    # A unit's endpoints.
    WECOM_ROBOT = "wecom_robot", "企业微信群机器人"
    DINGTALK_ROBOT = "dingtalk_robot", "钉钉群机器人"
    FEISHU_ROBOT = "feishu_robot", "飞书群机器人"
    WEBHOOK = "webhook", "通用 Webhook"


PERSON_CHANNELS = (Channel.EMAIL, Channel.SMS)
ENDPOINT_CHANNELS = (
    Channel.WECOM_ROBOT,
    Channel.DINGTALK_ROBOT,
    Channel.FEISHU_ROBOT,
    Channel.WEBHOOK,
)


class State(models.TextChoices):
    PENDING = "pending", "待发送"
    SENDING = "sending", "发送中"
    DELIVERED = "delivered", "已送达"
    RETRYING = "retrying", "失败待重试"
    DEAD = "dead", "投递失败（死信）"


# States of a message still to be sent (a `sending` one is due again when its lease ends).
OPEN_STATES = (State.PENDING, State.RETRYING, State.SENDING)


class Endpoint(models.Model):
    """A unit's group robot or webhook: where notify_unit sends, besides nobody's inbox."""

    kind = models.CharField(
        "类型", max_length=20, choices=[(c.value, c.label) for c in ENDPOINT_CHANNELS]
    )
    name = models.CharField("名称", max_length=100)
    unit = models.ForeignKey(
        "org.Unit", on_delete=models.CASCADE, related_name="notify_endpoints", verbose_name="单位"
    )
    url = models.URLField("地址", max_length=500)
    secret = models.CharField(
        "签名密钥",
        max_length=200,
        blank=True,
        help_text="钉钉/飞书机器人的加签密钥，或通用 Webhook 的 HMAC 密钥；企业微信机器人不需要",
    )
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "通知端点"
        verbose_name_plural = "通知端点"
        ordering = ["unit", "name"]

    def __str__(self) -> str:
        return f"{self.unit} · {self.name}（{self.get_kind_display()}）"


class PersonChain(models.Model):
    """A person's own order of external channels, overriding FENGHUO_NOTIFY_CHAIN."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notify_chain",
        verbose_name="人员",
    )
    channels = models.JSONField(
        "渠道顺序", default=list, help_text='依次尝试的渠道，例如 ["sms", "email"]'
    )

    class Meta:
        verbose_name = "个人通知渠道"
        verbose_name_plural = "个人通知渠道"

    def __str__(self) -> str:
        return f"{self.person}：{' → '.join(self.channels)}"


class Message(models.Model):
    """One notification to one recipient (a person or an endpoint) on one channel."""

    channel = models.CharField("渠道", max_length=20, choices=Channel.choices)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notify_messages",
        verbose_name="接收人",
    )
    endpoint = models.ForeignKey(
        Endpoint,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name="端点",
    )
    # The recipient's unit (the person's, or the endpoint's): who may see it as a dead letter.
    unit = models.ForeignKey(
        "org.Unit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="所属单位",
    )
    address = models.CharField("地址", max_length=320, blank=True, help_text="邮箱或手机号")
    subject = models.CharField("标题", max_length=200)
    body = models.TextField("正文", blank=True)
    link = models.CharField("链接", max_length=300, blank=True)
    urgent = models.BooleanField("紧急", default=False)
    is_drill = models.BooleanField("演练", default=False)
    # The drill run a drill message belongs to ("" otherwise): its purge removes it.
    drill_tag = models.CharField("演练批次", max_length=40, blank=True, db_index=True)
    key = models.CharField("幂等键", max_length=200)
    ref = models.CharField("关联对象", max_length=100, blank=True, db_index=True)
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField("已尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试时间", null=True, blank=True)
    lease_until = models.DateTimeField("租约到期", null=True, blank=True)
    last_error = models.CharField("最近错误", max_length=500, blank=True)
    created_at = models.DateTimeField("创建时间")
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        verbose_name = "通知消息"
        verbose_name_plural = "通知消息"
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "channel", "key"],
                condition=Q(person__isnull=False),
                name="notify_person_message_once",
            ),
            models.UniqueConstraint(
                fields=["endpoint", "channel", "key"],
                condition=Q(endpoint__isnull=False),
                name="notify_endpoint_message_once",
            ),
            models.CheckConstraint(
                condition=Q(person__isnull=True, endpoint__isnull=False)
                | Q(person__isnull=False, endpoint__isnull=True),
                name="notify_one_recipient",
            ),
        ]
        indexes = [
            # The dispatcher's scan: only rows still to be sent are in it.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "retrying", "sending"]),
                name="notify_due_idx",
            ),
            models.Index(fields=["person", "channel", "-id"], name="notify_inbox_idx"),
            models.Index(fields=["state", "-id"], name="notify_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.recipient_label}：{self.subject}"

    @property
    def recipient_label(self) -> str:
        return str(self.person or self.endpoint or "")


class DeliveryAttempt(models.Model):
    """One try at sending a message: what the transport answered, and how long it took."""

    class Outcome(models.TextChoices):
        DELIVERED = "delivered", "成功"
        FAILED = "failed", "失败"

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attempt_log", verbose_name="消息"
    )
    at = models.DateTimeField("时间")
    transport = models.CharField("通道", max_length=40)
    outcome = models.CharField("结果", max_length=10, choices=Outcome.choices)
    error_code = models.CharField(
        "错误码", max_length=80, blank=True, help_text="如 http:502、smtp:421、timeout、refused"
    )
    detail = models.CharField("详情", max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField("耗时（毫秒）", default=0)

    class Meta:
        verbose_name = "投递记录"
        verbose_name_plural = "投递记录"
        ordering = ["message", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.message_id} {self.at:%Y-%m-%d %H:%M:%S} {self.outcome} {self.error_code}"
