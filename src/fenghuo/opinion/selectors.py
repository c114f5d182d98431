"""Reads of the opinion app, through the access policy.

Posts are open-source material: any analyst (舆情分析员) or duty officer (值班员) reads
all of them, whatever their unit; other roles read none. Topics are made of posts and are
read the same way. Schemes belong to their owner's unit: `policy.visible_q` gives that unit
and the units above it (and the owner); an opinion warning is read with its scheme.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Max, Q, QuerySet

from fenghuo.core.sandbox import DrillFilter, drill_q
from fenghuo.opinion.models import (
    OpinionWarning,
    Platform,
    Post,
    PostMatch,
    Scheme,
    SentimentLabel,
    Topic,
)
from fenghuo.org.models import Role
from fenghuo.org.policy import Principal, visible_q
from fenghuo.org.selectors import division_points

POST_READERS = frozenset({Role.ANALYST, Role.DUTY_OFFICER})
REPRESENTATIVE = 5
TOP_AUTHORS = 10
MAP_TOPICS = 5  # topics named in a map point's popup


def may_read_posts(principal: Principal) -> bool:
    return principal.is_superuser or any(g.role in POST_READERS for g in principal.grants)


def posts_visible(principal: Principal, *, drill: DrillFilter = False) -> QuerySet[Post]:
    """Posts the principal may read: real ones unless `drill` asks for a drill's, so the
    stream, the statistics and the reports never count drill posts."""
    if not may_read_posts(principal):
        return Post.objects.none()
    return Post.objects.filter(drill_q(drill))


def recent_posts(principal: Principal, limit: int) -> QuerySet[Post]:
    return posts_visible(principal).order_by("-received_at", "-pk")[:limit]


def schemes_visible(principal: Principal) -> QuerySet[Scheme]:
    q = visible_q(principal, owner="owner_unit", mark=None, author="owner")
    return Scheme.objects.filter(q).select_related("owner_unit", "owner")


def matching_posts(
    principal: Principal, scheme: Scheme | None = None, after_id: int = 0, limit: int = 50
) -> QuerySet[Post]:
    """The live stream: posts with id > `after_id` matching `scheme` (or any scheme the
    principal sees), newest first, at most `limit` (1–500)."""
    schemes = schemes_visible(principal)
    if scheme is not None:
        schemes = schemes.filter(pk=scheme.pk)
    post_ids = PostMatch.objects.filter(scheme__in=schemes.values("pk")).values("post_id")
    return (
        posts_visible(principal)
        .filter(pk__gt=after_id, pk__in=post_ids)
        .order_by("-pk")[: max(1, min(limit, 500))]
    )


def topics_visible(
    principal: Principal, *, drill: DrillFilter = False, division: str = ""
) -> QuerySet[Topic]:
    """Topics, hottest first (heat, then most recent): real ones unless `drill` asks for a
    drill's (`drill=None` for one topic by id, whichever kind it is). With `division`, the
    topics whose main division is that code or below it (a city's code takes in its
    counties), or with posts from that code."""
    if not may_read_posts(principal):
        return Topic.objects.none()
    topics = Topic.objects.filter(drill_q(drill)).order_by("-heat", "-last_seen", "-pk")
    if division:
        # "990100" → "9901": a city's or province's code takes in the divisions below it.
        prefix = division[:2] if division.endswith("0000") else division
        prefix = prefix[:4] if prefix.endswith("00") else prefix
        topics = topics.filter(Q(division_code__startswith=prefix) | Q(divisions__has_key=division))
    return topics


def division_map(topics: Iterable[Topic]) -> dict[str, Any]:
    """The posts of `topics` by division, for a map: {"points": [{"code", "name", "lat",
    "lng", "posts", "negative_share", "topics": [{"id", "title", "posts"}] (the most posts
    first)}], "unplaced": posts with no division code or one the gazetteer cannot place}.
    A point is the division's own or, for a code missing from the gazetteer, its city's or
    province's (`org.selectors.division_points`); several codes on one point add up. A
    topic's negative share is spread over its divisions in proportion to their posts."""
    topics = list(topics)
    located = division_points(code for t in topics for code in t.divisions)
    points: dict[str, dict[str, Any]] = {}
    unplaced = 0
    for topic in topics:
        for code, posts in topic.divisions.items():
            point = located.get(code)
            if point is None:
                unplaced += posts
                continue
            entry = points.setdefault(
                point.code,
                {
                    "code": point.code,
                    "name": point.name,
                    "lat": point.latitude,
                    "lng": point.longitude,
                    "posts": 0,
                    "negative": 0.0,
                    "topics": {},
                },
            )
            entry["posts"] += posts
            entry["negative"] += posts * topic.negative_share
            entry["topics"][topic.pk] = entry["topics"].get(topic.pk, 0) + posts
        unplaced += max(0, topic.post_count - sum(topic.divisions.values()))
    titles = {t.pk: t.title for t in topics}
    result = []
    for entry in sorted(points.values(), key=lambda e: (-e["posts"], e["code"])):
        ranked = sorted(entry.pop("topics").items(), key=lambda kv: (-kv[1], kv[0]))
        negative = entry.pop("negative")
        result.append(
            entry
            | {
                "negative_share": round(negative / entry["posts"], 3) if entry["posts"] else 0,
                "topics": [
                    {"id": pk, "title": titles[pk], "posts": n} for pk, n in ranked[:MAP_TOPICS]
                ],
            }
        )
    return {"points": result, "unplaced": unplaced}


def topic_detail(principal: Principal, topic: Topic) -> dict[str, Any]:
    """What the topic page shows:

    {"topic": Topic, "keywords": [str], "timeline": [{"start", "posts", "negative",
    "interactions"}], "sentiment": {"negative": n, "neutral": n, "positive": n},
    "platforms": [{"platform", "label", "posts"}], "authors": [{"author", "posts",
    "followers", "verified"}], "representative": [Post], "schemes": [Scheme visible],
    "warnings": [OpinionWarning visible]}.
    """
    if not topics_visible(principal, drill=None).filter(pk=topic.pk).exists():
        raise PermissionDenied("无权查看该话题")
    posts = Post.objects.filter(topic=topic)
    sentiment = {label.value: 0 for label in SentimentLabel}
    for label, n in posts.values_list("sentiment").annotate(n=Count("pk")).order_by():
        if label in sentiment:
            sentiment[label] = n
    labels = dict(Platform.choices)
    platforms = [
        {"platform": p, "label": labels.get(p, p), "posts": n}
        for p, n in posts.values_list("platform").annotate(n=Count("pk")).order_by("-n", "platform")
    ]
    authors = [
        {
            "author": row["author"],
            "posts": row["n"],
            "followers": row["f"],
            "verified": row["v"] > 0,
        }
        for row in posts.exclude(author="")
        .values("author")
        .annotate(
            n=Count("pk"), f=Max("author_followers"), v=Count("pk", filter=Q(author_verified=True))
        )
        .order_by("-n", "-f", "author")[:TOP_AUTHORS]
    ]
    # The most engaging post of each near-duplicate group, so copies do not crowd the list.
    representative: list[Post] = []
    groups: set[str] = set()
    for post in posts.annotate(engagement=F("likes") + F("comments") + F("reposts")).order_by(
        "-engagement", "published_at", "pk"
    )[:200]:
        if post.dup_group in groups:
            continue
        groups.add(post.dup_group)
        representative.append(post)
        if len(representative) >= REPRESENTATIVE:
            break
    return {
        "topic": topic,
        "keywords": list(topic.keywords),
        "timeline": list(
            topic.buckets.order_by("start").values("start", "posts", "negative", "interactions")
        ),
        "sentiment": sentiment,
        "platforms": platforms,
        "authors": authors,
        "representative": representative,
        "schemes": list(schemes_visible(principal).filter(topics=topic)),
        "warnings": list(opinion_warnings_visible(principal, drill=None).filter(topic=topic)),
    }


def opinion_warnings_visible(
    principal: Principal, *, drill: DrillFilter = False
) -> QuerySet[OpinionWarning]:
    """Warnings of the schemes the principal sees, newest first (real ones unless `drill`
    asks for a drill's)."""
    if not may_read_posts(principal):
        return OpinionWarning.objects.none()
    return (
        OpinionWarning.objects.filter(
            drill_q(drill, "topic__"), scheme__in=schemes_visible(principal).values("pk")
        )
        .select_related("scheme", "topic", "decided_by")
        .order_by("-raised_at", "-pk")
    )


def division_counts(principal: Principal, since: datetime) -> list[dict[str, Any]]:
    """Posts per division code published since `since`, for the map:
    [{"division_code", "posts", "negative"}], most posts first; posts without a code left out."""
    rows = (
        posts_visible(principal)
        .filter(published_at__gte=since)
        .exclude(division_code="")
        .values("division_code")
        .annotate(
            posts=Count("pk"),
            negative=Count("pk", filter=Q(sentiment=SentimentLabel.NEGATIVE)),
        )
        .order_by("-posts", "division_code")
    )
    return list(rows)
