"""Public-opinion monitoring: posts from connectors and imports, monitoring schemes, feeds.

Fenghuo does not crawl. A post arrives once per (platform, platform post id); importing it
again is a no-op. The pipeline gives each post a sentiment and a topic (`Topic`, clustered
incrementally, with per-hour counters in `TopicBucket`); per-scheme `WarningRule` rows raise
four-colour `OpinionWarning`s on topics.
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


class SentimentLabel(models.TextChoices):
    NEGATIVE = "negative", "负面"
    NEUTRAL = "neutral", "中性"
    POSITIVE = "positive", "正面"


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
    # The drill run that injected the post ("" otherwise; see core/sandbox.py).
    drill_tag = models.CharField("演练批次", max_length=40, blank=True)
    source = models.CharField("来源通道", max_length=100)
    received_at = models.DateTimeField("接收时间")
    dup_group = models.CharField(
        "相似组", max_length=150, blank=True, help_text="组内第一条帖子的“平台:编号”"
    )
    sentiment = models.CharField(
        "情感倾向", max_length=8, choices=SentimentLabel.choices, blank=True
    )
    sentiment_score = models.FloatField("情感得分", default=0.0, help_text="正面概率减负面概率")
    topic = models.ForeignKey(
        "Topic",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="posts",
        verbose_name="话题",
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
    # No single-column indexes: the unique (post, scheme) and the (scheme, time) indexes
    # serve every lookup, and each index is one more write per match row.
    # No foreign-key constraints in the database either: a match row is derived data, written
    # only by the pipeline in the transaction that inserts its post, and PostgreSQL checked
    # both keys of every row at commit, two checks per match, ~5 % of the pipeline's time
    # (bench/opinion). Deleting a post or a scheme still deletes its matches (Django's
    # CASCADE); a match left pointing at a scheme deleted meanwhile joins to nothing.
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="matches", db_index=False, db_constraint=False
    )
    scheme = models.ForeignKey(
        Scheme,
        on_delete=models.CASCADE,
        related_name="matches",
        db_index=False,
        db_constraint=False,
    )
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


class Stage(models.TextChoices):
    LATENT = "latent", "潜伏"
    FORMING = "forming", "形成"
    BURSTING = "bursting", "爆发"
    FADING = "fading", "消退"


class Colour(models.TextChoices):
    """Opinion warning colours, in rising order of severity."""

    BLUE = "blue", "蓝色"
    YELLOW = "yellow", "黄色"
    ORANGE = "orange", "橙色"
    RED = "red", "红色"


COLOUR_RANK = {c.value: i for i, c in enumerate(Colour)}


class Topic(models.Model):
    """A cluster of posts about one matter (see `topics.py` for clustering, heat, stage)."""

    title = models.CharField("标题", max_length=120)
    keywords = models.JSONField("关键词", default=list, blank=True)
    first_seen = models.DateTimeField("首次出现")
    last_seen = models.DateTimeField("最近出现")
    post_count = models.PositiveIntegerField("帖子数", default=0)
    negative_count = models.PositiveIntegerField("负面帖子数", default=0)
    negative_share = models.FloatField("负面占比", default=0.0)
    interactions = models.PositiveBigIntegerField("互动量", default=0)
    engagement = models.FloatField("加权互动量", default=0.0, help_text="见 topics.py 热度公式")
    peak_posts = models.PositiveIntegerField("单时段最多帖子数", default=0)
    heat = models.FloatField("热度", default=0.0)
    stage = models.CharField("阶段", max_length=10, choices=Stage.choices, default=Stage.LATENT)
    is_burst = models.BooleanField("正在突发", default=False)
    division_code = models.CharField("行政区划代码", max_length=6, blank=True)
    schemes = models.ManyToManyField(
        Scheme, related_name="topics", blank=True, verbose_name="命中方案"
    )
    is_drill = models.BooleanField("演练", default=False)
    # A topic holds the posts of one drill run only (or real posts only).
    drill_tag = models.CharField("演练批次", max_length=40, blank=True)
    clue_report = models.ForeignKey(
        "events.Report",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opinion_topics",
        verbose_name="线索报告",
    )
    event = models.ForeignKey(
        "events.Event",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opinion_topics",
        verbose_name="事件",
    )
    # Running centroid: token → summed TF-IDF weight, `centroid_posts` posts in the sum.
    centroid = models.JSONField("质心", default=dict, blank=True)
    centroid_posts = models.PositiveIntegerField(default=0)
    divisions = models.JSONField("区划计数", default=dict, blank=True)
    updated_at = models.DateTimeField("更新时间")

    class Meta:
        verbose_name = "话题"
        verbose_name_plural = "话题"
        indexes = [
            models.Index(fields=["-last_seen"], name="opinion_topic_recent"),
            models.Index(fields=["-heat"], name="opinion_topic_heat"),
        ]

    def __str__(self) -> str:
        return self.title


class TopicBucket(models.Model):
    """Counters of one topic in one time bucket (`topics.BUCKET`, an hour)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="buckets")
    start = models.DateTimeField("开始时间")
    posts = models.PositiveIntegerField("帖子数", default=0)
    negative = models.PositiveIntegerField("负面帖子数", default=0)
    interactions = models.PositiveBigIntegerField("互动量", default=0)

    class Meta:
        verbose_name = "话题时段计数"
        verbose_name_plural = "话题时段计数"
        ordering = ["topic", "start"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "start"], name="opinion_bucket_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.topic_id} @ {self.start:%Y-%m-%d %H:%M}"


class WarningRule(models.Model):
    """One colour's thresholds for one scheme; every threshold that is set must hold.

    Volume and growth are over the topic's last window (`topics.WINDOW`); growth is the
    window's posts over the mean of the previous windows.
    """

    scheme = models.ForeignKey(
        Scheme, on_delete=models.CASCADE, related_name="warning_rules", verbose_name="监测方案"
    )
    colour = models.CharField("预警级别", max_length=8, choices=Colour.choices)
    min_posts = models.PositiveIntegerField("窗口内帖子数不少于", null=True, blank=True)
    min_growth = models.FloatField("增长倍数不少于", null=True, blank=True)
    min_negative_share = models.FloatField("负面占比不少于", null=True, blank=True)
    sensitive_words = models.TextField(
        "敏感词", blank=True, help_text="以空格或逗号分隔；话题帖子含其一即满足"
    )
    min_author_followers = models.PositiveIntegerField(
        "有影响力作者粉丝数不少于", null=True, blank=True, help_text="或为认证作者"
    )
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "舆情预警阈值"
        verbose_name_plural = "舆情预警阈值"
        constraints = [
            models.UniqueConstraint(fields=["scheme", "colour"], name="opinion_rule_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.scheme} {self.get_colour_display()}"


class WarningState(models.TextChoices):
    RAISED = "raised", "已发出"
    CONFIRMED = "confirmed", "已确认"
    ADJUSTED = "adjusted", "已调整"
    DISMISSED = "dismissed", "已排除"


class OpinionWarning(models.Model):
    scheme = models.ForeignKey(
        Scheme, on_delete=models.CASCADE, related_name="warnings", verbose_name="监测方案"
    )
    topic = models.ForeignKey(
        Topic, on_delete=models.CASCADE, related_name="warnings", verbose_name="话题"
    )
    colour = models.CharField("预警级别", max_length=8, choices=Colour.choices)
    raised_colour = models.CharField("发出时级别", max_length=8, choices=Colour.choices)
    reasons = models.JSONField("原因", default=list)
    state = models.CharField(
        "状态", max_length=10, choices=WarningState.choices, default=WarningState.RAISED
    )
    is_drill = models.BooleanField("演练", default=False)
    raised_at = models.DateTimeField("发出时间")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opinion_warnings_decided",
        verbose_name="处理人",
    )
    decided_at = models.DateTimeField("处理时间", null=True, blank=True)
    note = models.CharField("处理说明", max_length=500, blank=True)

    class Meta:
        verbose_name = "舆情预警"
        verbose_name_plural = "舆情预警"
        constraints = [
            # The same burst never raises twice: one warning per scheme, topic and colour.
            models.UniqueConstraint(
                fields=["scheme", "topic", "raised_colour"], name="opinion_warning_unique"
            ),
        ]
        indexes = [models.Index(fields=["-raised_at"], name="opinion_warning_recent")]

    def __str__(self) -> str:
        return f"{self.get_colour_display()}舆情预警：{self.topic}"
