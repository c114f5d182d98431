"""Public-opinion monitoring: posts from connectors and imports, monitoring schemes, feeds.

Fenghuo does not crawl. A post arrives once per (platform, platform post id); importing it
again is a no-op. Topics, heat and opinion warnings come later and will hang off posts and
schemes by nullable foreign keys.
"""

from django.conf import settings
from django.db import models

from fenghuo.org.models import Unit


class Platform(models.TextChoices):
    NEWS = "news", "新闻网站"
    WEIBO = "weibo", "微博"
    WECHAT = "wechat", "微信"
    FORUM = "forum", "论坛"
    VIDEO = "video", "短视频"
    APP = "app", "新闻客户端"
    OTHER = "other", "其他"


class Post(models.Model):
    platform = models.CharField("平台", max_length=16, choices=Platform.choices)
    post_id = models.CharField("平台帖子编号", max_length=128)
    author = models.CharField("作者", max_length=100, blank=True)
    author_followers = models.PositiveIntegerField("作者粉丝数", default=0)
    author_verified = models.BooleanField("作者已认证", default=False)
    text = models.TextField("正文")
    normalized_text = models.TextField("规范化正文")
    tokens = models.TextField("分词", blank=True, help_text="空格分隔，供主题和检索使用")
    url = models.URLField("链接", max_length=500, blank=True)
    published_at = models.DateTimeField("发布时间")
    division_code = models.CharField("行政区划代码", max_length=6, blank=True)
    likes = models.PositiveIntegerField("点赞数", default=0)
    comments = models.PositiveIntegerField("评论数", default=0)
    reposts = models.PositiveIntegerField("转发数", default=0)
    views = models.PositiveIntegerField("阅读数", default=0)
    repost_of = models.CharField("转发自（平台帖子编号）", max_length=128, blank=True)
    is_drill = models.BooleanField("演练", default=False)
    source = models.CharField("来源通道", max_length=100)
    received_at = models.DateTimeField("接收时间")
    dup_group = models.CharField(
        "相似组", max_length=150, blank=True, help_text="组内第一条帖子的“平台:编号”"
    )
    schemes = models.ManyToManyField(
        "Scheme", through="PostMatch", related_name="posts", verbose_name="命中方案"
    )

    class Meta:
        verbose_name = "帖子"
        verbose_name_plural = "帖子"
        constraints = [
            models.UniqueConstraint(fields=["platform", "post_id"], name="opinion_post_unique"),
        ]
        indexes = [
            models.Index(fields=["-received_at"], name="opinion_post_received"),
            models.Index(fields=["dup_group"], name="opinion_post_dup_group"),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.post_id}"

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.post_id}"


class Scheme(models.Model):
    """A monitoring scheme (监测方案): an expression over words, owned by a unit."""

    name = models.CharField("名称", max_length=100)
    expression = models.TextField(
        "表达式", help_text="如：(示范省 OR 临江市) AND (爆炸 OR 泄漏) NOT 演习"
    )
    owner_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="opinion_schemes", verbose_name="所属单位"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="opinion_schemes",
        verbose_name="负责人",
        null=True,
        blank=True,
    )
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间")
    updated_at = models.DateTimeField("修改时间")

    class Meta:
        verbose_name = "监测方案"
        verbose_name_plural = "监测方案"
        ordering = ["owner_unit", "name"]

    def __str__(self) -> str:
        return self.name


class PostMatch(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="matches")
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="matches")
    matched_at = models.DateTimeField("命中时间")

    class Meta:
        verbose_name = "方案命中"
        verbose_name_plural = "方案命中"
        constraints = [
            models.UniqueConstraint(fields=["post", "scheme"], name="opinion_match_unique"),
        ]
        indexes = [models.Index(fields=["scheme", "-matched_at"], name="opinion_match_scheme")]

    def __str__(self) -> str:
        return f"{self.scheme_id} ← {self.post_id}"


class SchemeRevision(models.Model):
    """One row whose token changes with every scheme write (see matching.py)."""

    token = models.CharField("版本标记", max_length=32)

    class Meta:
        verbose_name = "方案版本标记"
        verbose_name_plural = "方案版本标记"

    def __str__(self) -> str:
        return self.token


class Feed(models.Model):
    """An RSS/Atom news feed polled by the worker loop `opinion.feeds:poll_feeds`."""

    name = models.CharField("名称", max_length=100)
    url = models.URLField("地址", max_length=500, unique=True)
    platform = models.CharField(
        "平台", max_length=16, choices=Platform.choices, default=Platform.NEWS
    )
    interval_seconds = models.PositiveIntegerField("轮询间隔（秒）", default=300)
    is_active = models.BooleanField("启用", default=True)
    next_poll_at = models.DateTimeField("下次轮询", null=True, blank=True)
    last_polled_at = models.DateTimeField("上次轮询", null=True, blank=True)
    last_error = models.CharField("上次错误", max_length=500, blank=True)
    etag = models.CharField(max_length=200, blank=True)
    modified = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = "新闻源"
        verbose_name_plural = "新闻源"
        indexes = [models.Index(fields=["is_active", "next_poll_at"], name="opinion_feed_due")]

    def __str__(self) -> str:
        return self.name


class WebhookConnector(models.Model):
    """A generic inbound webhook: `POST /api/opinion/webhook/<slug>`, signed with `secret`.

    `mapping` maps post fields to dotted paths in the sender's JSON, e.g.
    {"post_id": "id", "text": "content.body", "author": "user.name"}; unmapped fields are
    read under their own name.
    """

    slug = models.SlugField("标识", max_length=50, unique=True)
    name = models.CharField("名称", max_length=100)
    secret = models.CharField("签名密钥", max_length=200)
    platform = models.CharField(
        "默认平台", max_length=16, choices=Platform.choices, default=Platform.OTHER
    )
    mapping = models.JSONField("字段映射", default=dict, blank=True)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "推送接口"
        verbose_name_plural = "推送接口"

    def __str__(self) -> str:
        return self.name
