"""Topics: incremental clustering, keywords, heat, lifecycle stage and bursts.

Clustering. A post's vector is TF-IDF over its tokens (IDF from jieba's shipped table;
stop words, single characters and numbers out; place names, i.e. rare words ending in an
administrative suffix such as 市 or 镇, weighted `PLACE_BOOST` times), L2-normalised.
Each topic keeps a running centroid (the sum of its posts' vectors, cut to its
`TOP_TERMS` heaviest terms). A new post joins the topic of its near-duplicate group if
the group has one; otherwise the topic whose centroid is most similar (cosine ≥
`THRESHOLD`) among the topics seen in the last `ACTIVE` (found through an inverted index
term → topics); otherwise it opens a new topic. Nothing is ever re-clustered. Drill posts
only join topics of their own drill run, real posts only real topics. The index is per
process and reads the topics other processes changed before each batch (`Index.sync`).

Counters per topic and time bucket (`TopicBucket`, `BUCKET` wide, by publication time) are
incremented for the posts a batch stored; the figures below are recomputed for the topics
the batch touched, from the buckets of the last `BASELINE` + 1 windows.

    c  = posts in the current window (the `WINDOW` up to now)
    μ, σ = mean and standard deviation of posts per window over the up to `BASELINE`
           previous windows since the topic appeared (0 when there are none)
    growth = c / max(μ, 1)

    heat = 10 · ln(1 + E) · (1 + min(3, max(0, c − μ) / (μ + 1)))
      E = Σ over the topic's posts of a · (1 + likes + 2·comments + 3·reposts + views/100)
      a = 1 + log10(1 + followers) / 2 + 0.5 if the author is verified   (author weight)

    burst: c ≥ MIN_BURST and c > μ + K · max(σ, √μ, 1)   (√μ: the Poisson floor, so a quiet
           topic's baseline of 0 or 1 post does not make every post a burst)

    stage: 爆发 on a burst; 潜伏 while the topic has fewer than FORMING posts; 形成 while
           c > 0, c ≥ μ and c ≥ half the topic's peak window; 消退 otherwise.

A batch recomputes the figures of the topics it touches; the worker loop `sweep_quiet`
recomputes those of forming or bursting topics no batch has touched for a bucket's width, so
a topic nobody posts about any more fades (消退) and its burst ends on time.
"""

import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from django.db import transaction
from jieba.analyse.tfidf import DEFAULT_IDF, IDFLoader

from fenghuo.core import clock
from fenghuo.opinion import rows
from fenghuo.opinion.models import Post, SentimentLabel, Stage, Topic, TopicBucket

THRESHOLD = 0.5
ACTIVE = timedelta(days=3)
BUCKET = timedelta(minutes=10)
WINDOW = timedelta(hours=1)
BASELINE = 24
K = 3.0
MIN_BURST = 5
FORMING = 5
TOP_TERMS = 60
KEYWORDS = 8
PLACE_BOOST = 2.0
ADMIN_SUFFIXES = frozenset("省市县区镇乡村")
PLACE_MIN_IDF = 8.5  # the name before the suffix must be rarer than everyday words
CANDIDATE_TERMS = 8  # a post looks up topics through its heaviest terms only
_STOP_TEXT = """
    的 了 是 在 和 有 也 都 就 不 人 我 你 他 她 它 们 这 那 一个 没有 我们 你们 他们 大家
    这个 那个 这里 那里 这样 那样 什么 怎么 为什么 还是 已经 正在 现在 今天 昨天 刚才 听说
    据说 网友 网传 表示 称 视频 图片 转发 评论 微博 回复 真的 希望 感觉 觉得 可能 应该 因为
    所以 但是 而且 如果 然后 自己 一下 一些 这些 那些 还有 没有 不是 就是 还是 可以 知道
    发生 目前 相关 有关 进行 情况 问题 消息 记者 报道 附近 大量 很多 非常 十分 特别 一直
    """
STOP_WORDS = frozenset(_STOP_TEXT.split())


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    loader = IDFLoader(DEFAULT_IDF)
    return loader.idf_freq, loader.median_idf


def _term(word: str) -> bool:
    return len(word) >= 2 and word not in STOP_WORDS and not word.replace(".", "").isdigit()


def _places(tokens: Sequence[str]) -> list[str]:
    """Tokens with a following administrative suffix joined back ("南岭", "镇" → "南岭镇")."""
    joined: list[str] = []
    for word in tokens:
        if word in ADMIN_SUFFIXES and joined and len(joined[-1]) >= 2:
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def _place(word: str, idf: dict[str, float], median: float) -> bool:
    """A rare name with an administrative suffix (临江市, 南岭镇), not 小区 or 评论区."""
    return (
        len(word) >= 3
        and word[-1] in ADMIN_SUFFIXES
        and idf.get(word[:-1], median) >= PLACE_MIN_IDF
    )


@lru_cache(maxsize=262_144)  # words repeat across posts; the checks are per word
def _weight(word: str) -> float:
    """A word's IDF weight in a post vector (place names boosted), 0 for a non-term."""
    if not _term(word):
        return 0.0
    idf, median = _idf()
    return idf.get(word, median) * (PLACE_BOOST if _place(word, idf, median) else 1.0)


def vector(tokens: Sequence[str]) -> dict[str, float]:
    """L2-normalised TF-IDF of a post's tokens; place names weigh `PLACE_BOOST` times more,
    so the same kind of event in two places makes two topics."""
    # Most posts have no administrative suffix as a token of its own: nothing to join.
    words = tokens if ADMIN_SUFFIXES.isdisjoint(tokens) else _places(tokens)
    weights = {word: n * weight for word, n in Counter(words).items() if (weight := _weight(word))}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {word: w / norm for word, w in weights.items()} if norm else {}


def _top(weights: dict[str, float], n: int) -> dict[str, float]:
    if len(weights) <= n:
        return weights
    return dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:n])


def keywords(centroid: dict[str, float]) -> list[str]:
    return list(_top(centroid, KEYWORDS))


@dataclass
class Entry:
    centroid: dict[str, float]  # running sum
    norm: float
    last_seen: datetime
    sandbox: tuple[bool, str]  # (is_drill, drill_tag): real posts never join drill topics


class Index:
    """The active topics' centroids of this process, with an inverted index term → topics."""

    def __init__(self) -> None:
        self.entries: dict[int, Entry] = {}
        self.postings: dict[str, set[int]] = {}
        self.synced_at: datetime | None = None
        # Topics this process created whose batch may yet have rolled back: a post must
        # never join a topic that does not exist (see `sync`).
        self.unconfirmed: set[int] = set()
        self.lock = threading.Lock()

    def put(
        self,
        pk: int,
        centroid: dict[str, float],
        last_seen: datetime,
        sandbox: tuple[bool, str],
    ) -> None:
        old = self.entries.get(pk)
        if old is not None:
            for term in old.centroid:
                self.postings.get(term, set()).discard(pk)
        centroid = dict(centroid)  # the index's own: `grow` changes it in place
        norm = math.sqrt(sum(w * w for w in centroid.values()))
        self.entries[pk] = Entry(centroid, norm, last_seen, sandbox)
        for term in centroid:
            self.postings.setdefault(term, set()).add(pk)

    def grow(self, pk: int, vec: dict[str, float]) -> None:
        """Add a post's vector to a topic's centroid. It is cut back to `TOP_TERMS` only
        when it has doubled: sorting it after every post cost more than the rest of the
        assignment (bench/opinion); `record` cuts it at the end of the batch anyway."""
        entry = self.entries[pk]
        centroid = entry.centroid
        for term, w in vec.items():
            if term not in centroid:
                self.postings.setdefault(term, set()).add(pk)
                centroid[term] = w
            else:
                centroid[term] += w
        if len(centroid) > 2 * TOP_TERMS:
            self.put(pk, _top(centroid, TOP_TERMS), entry.last_seen, entry.sandbox)
        else:
            entry.norm = math.sqrt(sum(w * w for w in centroid.values()))

    def evict(self, before: datetime) -> None:
        for pk in [pk for pk, e in self.entries.items() if e.last_seen < before]:
            self.drop(pk)

    def drop(self, pk: int) -> None:
        for term in self.entries.pop(pk).centroid:
            self.postings.get(term, set()).discard(pk)

    def sync(self, now: datetime) -> None:
        """Take in the active topics changed since the last sync (by any process), and
        forget the topics this process created in a transaction that rolled back."""
        if self.unconfirmed:
            stored = set(Topic.objects.filter(pk__in=self.unconfirmed).values_list("pk", flat=True))
            for pk in self.unconfirmed - stored:
                if pk in self.entries:
                    self.drop(pk)
            self.unconfirmed.clear()
        rows = Topic.objects.filter(last_seen__gte=now - ACTIVE)
        if self.synced_at is not None:
            rows = rows.filter(updated_at__gte=self.synced_at)
        for pk, centroid, last_seen, drill, tag in rows.values_list(
            "pk", "centroid", "last_seen", "is_drill", "drill_tag"
        ):
            self.put(pk, centroid, last_seen, (drill, tag))
        self.evict(now - ACTIVE)
        self.synced_at = now

    def best(self, vec: dict[str, float], sandbox: tuple[bool, str]) -> tuple[int | None, float]:
        terms = _top(vec, CANDIDATE_TERMS)
        candidates = set().union(*(self.postings.get(term, ()) for term in terms)) if terms else ()
        best, best_score = None, 0.0
        for pk in candidates:
            entry = self.entries[pk]
            if entry.sandbox != sandbox or not entry.norm:
                continue
            score = sum(w * entry.centroid.get(t, 0.0) for t, w in vec.items()) / entry.norm
            if score > best_score or (score == best_score and best is not None and pk < best):
                best, best_score = pk, score
        return best, best_score


INDEX = Index()


@dataclass
class Figures:
    """A touched topic's window figures, for the warning rules."""

    window_posts: int
    mean: float
    growth: float
    burst: bool


@dataclass
class Plan:
    vectors: dict[int, dict[str, float]] = field(default_factory=dict)  # id(post) → vector
    created: set[int] = field(default_factory=set)


def _title(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    for stop in "。！？!?":
        first = first.split(stop)[0]
    return first[:60] or text[:60]


Sandbox = tuple[bool, str]  # (is_drill, drill_tag): real posts never join drill topics


def _group_topics(posts: Sequence[Post]) -> dict[tuple[str, Sandbox], int]:
    """The topic of each near-duplicate group, for each kind of post in the batch (real, or
    one drill run's). The group's first post, whose key names the group, gives its own
    kind's topic (reading every member of a large group cost more than the rest of the
    step); only a group that also holds another kind (a drill copying a real post) is read
    in full, for the kinds the first post does not give."""
    wanted = {(p.dup_group, (p.is_drill, p.drill_tag)) for p in posts if p.dup_group}
    firsts = {tuple(group.partition(":")[::2]) for group, _ in wanted}
    found: dict[tuple[str, Sandbox], int] = {}
    for platform, post_id, topic_id, drill, tag in rows.values_by_pairs(
        Post,
        ("platform", "post_id"),
        firsts,
        ("platform", "post_id", "topic_id", "is_drill", "drill_tag"),
    ):
        if topic_id is not None:
            found[(f"{platform}:{post_id}", (drill, tag))] = topic_id
    other_kinds = {group for group, _ in wanted - found.keys()}
    for group, topic_id, drill, tag in (
        Post.objects.filter(dup_group__in=other_kinds, topic__isnull=False)
        .values_list("dup_group", "topic_id", "is_drill", "drill_tag")
        .distinct()
    ):
        found.setdefault((group, (drill, tag)), topic_id)
    return found


def assign(posts: Sequence[Post], now: datetime) -> Plan:
    """Set `topic_id` on each unsaved post; new topics are inserted here."""
    plan = Plan()
    group_topics = _group_topics(posts)
    with INDEX.lock:
        INDEX.sync(now)
        for post in posts:
            vec = vector(post.tokens.split())
            plan.vectors[id(post)] = vec
            sandbox = (post.is_drill, post.drill_tag)
            pk = group_topics.get((post.dup_group, sandbox))
            if pk is None:
                best, score = INDEX.best(vec, sandbox)
                pk = best if score >= THRESHOLD else None
            if pk is None:
                topic = Topic.objects.create(
                    title=_title(post.text),
                    first_seen=post.published_at,
                    last_seen=post.published_at,
                    is_drill=post.is_drill,
                    drill_tag=post.drill_tag,
                    division_code=post.division_code,
                    updated_at=now,
                )
                pk = topic.pk
                plan.created.add(pk)
                INDEX.unconfirmed.add(pk)
                INDEX.put(pk, {}, post.published_at, sandbox)
            if pk in INDEX.entries:
                INDEX.grow(pk, vec)  # later posts of the batch see this one at once
            post.topic_id = pk
            if post.dup_group:
                group_topics[(post.dup_group, sandbox)] = pk
    return plan


def author_weight(followers: int, verified: bool) -> float:
    return 1 + math.log10(1 + followers) / 2 + (0.5 if verified else 0.0)


def engagement(post: Post) -> float:
    return author_weight(post.author_followers, post.author_verified) * (
        1 + post.likes + 2 * post.comments + 3 * post.reposts + post.views / 100
    )


def bucket_start(moment: datetime) -> datetime:
    seconds = int(BUCKET.total_seconds())
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=moment.tzinfo)


def figures(windows: list[int], current: int) -> tuple[float, float, bool]:
    """(μ, σ, burst) of the current window's count against the previous windows' counts."""
    mean = sum(windows) / len(windows) if windows else 0.0
    std = math.sqrt(sum((n - mean) ** 2 for n in windows) / len(windows)) if windows else 0.0
    burst = current >= MIN_BURST and current > mean + K * max(std, math.sqrt(mean), 1.0)
    return mean, std, burst


def stage(post_count: int, current: int, mean: float, peak: int, burst: bool) -> str:
    if burst:
        return Stage.BURSTING
    if post_count < FORMING:
        return Stage.LATENT
    if current > 0 and current >= mean and current >= peak / 2:
        return Stage.FORMING
    return Stage.FADING


def record(
    posts: Sequence[Post], plan: Plan, scheme_ids: dict[int, list[int]], now: datetime
) -> dict[int, Figures]:
    """Count the stored posts into their topics and recompute the touched topics' figures.

    `scheme_ids` maps id(post) to the schemes it matched. Runs inside the batch's
    transaction; the touched topics are locked (in id order) so concurrent batches add up.
    """
    by_topic: dict[int, list[Post]] = {}
    for post in posts:
        by_topic.setdefault(post.topic_id, []).append(post)
    if not by_topic:
        return {}
    topics = list(Topic.objects.select_for_update().filter(pk__in=by_topic).order_by("pk"))

    increments: dict[tuple[int, datetime], list[int]] = {}
    for pk, members in by_topic.items():
        for post in members:
            counts = increments.setdefault((pk, bucket_start(post.published_at)), [0, 0, 0])
            counts[0] += 1
            counts[1] += post.sentiment == SentimentLabel.NEGATIVE
            counts[2] += post.likes + post.comments + post.reposts
    # A superset (every listed topic × every listed start) is one cheap query; an OR of a
    # condition per pair cost milliseconds to build.
    candidates = TopicBucket.objects.filter(
        topic_id__in=by_topic, start__in={start for _, start in increments}
    )
    existing = {(b.topic_id, b.start): b for b in candidates if (b.topic_id, b.start) in increments}
    changed, fresh = [], []
    for (pk, start), (n, negative, interactions) in increments.items():
        bucket = existing.get((pk, start))
        if bucket is None:
            fresh.append(
                TopicBucket(
                    topic_id=pk, start=start, posts=n, negative=negative, interactions=interactions
                )
            )
        else:
            bucket.posts += n
            bucket.negative += negative
            bucket.interactions += interactions
            changed.append(bucket)
    rows.update_fields(TopicBucket, changed, ["posts", "negative", "interactions"])
    TopicBucket.objects.bulk_create(fresh)

    history = _history(by_topic, now)

    result: dict[int, Figures] = {}
    links = []
    for topic in topics:
        members = by_topic[topic.pk]
        centroid = dict(topic.centroid)
        divisions = Counter(topic.divisions)
        for post in members:
            for term, w in plan.vectors.get(id(post), {}).items():
                centroid[term] = centroid.get(term, 0.0) + w
            if post.division_code:
                divisions[post.division_code] += 1
            links.extend((topic.pk, sid) for sid in scheme_ids.get(id(post), ()))
        topic.centroid = _top(centroid, TOP_TERMS)
        topic.centroid_posts += len(members)
        topic.keywords = keywords(topic.centroid)
        topic.divisions = dict(divisions)
        if divisions:
            topic.division_code = max(divisions.items(), key=lambda kv: (kv[1], kv[0]))[0]
        topic.post_count += len(members)
        topic.negative_count += sum(p.sentiment == SentimentLabel.NEGATIVE for p in members)
        topic.negative_share = topic.negative_count / topic.post_count
        topic.interactions += sum(p.likes + p.comments + p.reposts for p in members)
        topic.engagement += sum(engagement(p) for p in members)
        topic.first_seen = min([topic.first_seen, *(p.published_at for p in members)])
        topic.last_seen = max([topic.last_seen, *(p.published_at for p in members)])

        result[topic.pk] = _refresh(topic, history.get(topic.pk, []), now)

    rows.update_fields(
        Topic,
        topics,
        [
            "centroid",
            "centroid_posts",
            "keywords",
            "divisions",
            "division_code",
            "post_count",
            "negative_count",
            "negative_share",
            "interactions",
            "engagement",
            "first_seen",
            "last_seen",
            "peak_posts",
            "is_burst",
            "stage",
            "heat",
            "updated_at",
        ],
    )
    if links:
        # Inserted with the known pairs skipped by the unique constraint: reading a busy
        # topic's links first cost more (it can have hundreds) than the conflicts do.
        pairs = sorted(set(links))
        rows.insert_columns(
            Topic.schemes.through,
            {"topic": [t for t, _ in pairs], "scheme": [s for _, s in pairs]},
        )
    with INDEX.lock:
        for topic in topics:
            INDEX.put(topic.pk, topic.centroid, topic.last_seen, (topic.is_drill, topic.drill_tag))
    return result


def _history(topic_ids: Iterable[int], now: datetime) -> dict[int, list[tuple[datetime, int]]]:
    """(bucket start, posts) of each topic over the windows its figures look at."""
    horizon = now - WINDOW * (BASELINE + 1)
    history: dict[int, list[tuple[datetime, int]]] = {}
    for pk, start, n in TopicBucket.objects.filter(
        topic_id__in=topic_ids, start__gt=horizon - BUCKET
    ).values_list("topic_id", "start", "posts"):
        history.setdefault(pk, []).append((start, n))
    return history


def _refresh(topic: Topic, history: list[tuple[datetime, int]], now: datetime) -> Figures:
    """Recompute a topic's window figures, burst, stage and heat as of `now`."""
    current, windows = _windows(history, topic.first_seen, now)
    mean, _, burst = figures(windows, current)
    topic.peak_posts = max(topic.peak_posts, current)
    topic.is_burst = burst
    topic.stage = stage(topic.post_count, current, mean, topic.peak_posts, burst)
    growth_boost = min(3.0, max(0.0, current - mean) / (mean + 1))
    topic.heat = round(10 * math.log1p(topic.engagement) * (1 + growth_boost), 2)
    topic.updated_at = now
    return Figures(current, mean, current / max(mean, 1.0), burst)


SWEEP_BATCH = 200


def sweep_quiet(batch: int = SWEEP_BATCH) -> int:
    """A worker-loop step (`FENGHUO_WORKER_LOOPS`): forming or bursting topics that no batch
    has touched for a bucket's width get their figures recomputed, so a topic nobody posts
    about any more fades (消退) and its burst ends without waiting for a new post. Claimed
    with row locks (SKIP LOCKED on PostgreSQL, so parallel workers share them); a second
    run of the same step finds them fresh and does nothing. Returns how many it refreshed."""
    now = clock.now()
    with transaction.atomic():
        quiet = list(
            Topic.objects.select_for_update(skip_locked=True)
            .filter(stage__in=(Stage.FORMING, Stage.BURSTING), updated_at__lt=now - BUCKET)
            .order_by("updated_at", "pk")[:batch]
        )
        if not quiet:
            return 0
        history = _history([topic.pk for topic in quiet], now)
        for topic in quiet:
            _refresh(topic, history.get(topic.pk, []), now)
        rows.update_fields(Topic, quiet, ["peak_posts", "is_burst", "stage", "heat", "updated_at"])
    return len(quiet)


def _windows(
    buckets: list[tuple[datetime, int]], first_seen: datetime, now: datetime
) -> tuple[int, list[int]]:
    """Posts in the current window and in each full previous window since `first_seen`.

    Window i (1 = the hour before the current one) holds the buckets ending in
    (now − (i+1)·WINDOW, now − i·WINDOW]: bucket by bucket, i = ⌊(now − end) / WINDOW⌋."""
    current = sum(n for start, n in buckets if now - WINDOW < start + BUCKET and start <= now)
    full = (now - bucket_start(first_seen)) // WINDOW - 1  # windows since the first bucket
    windows = [0] * max(0, min(BASELINE, full))
    for start, n in buckets:
        end = start + BUCKET
        if end <= now and 1 <= (i := (now - end) // WINDOW) <= len(windows):
            windows[i - 1] += n
    return current, windows
