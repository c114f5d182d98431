"""Opinion warning rules: a scheme's thresholds raise four-colour warnings on its topics.

After each batch, for every topic the batch touched and every scheme its posts matched, the
scheme's active `WarningRule`s are checked; a rule holds when every threshold it sets holds:

- volume: posts in the topic's current window (`topics.WINDOW`) ≥ `min_posts`;
- growth: those posts over the mean of the previous windows (at least 1) ≥ `min_growth`;
- negative share: the topic's negative posts over all its posts ≥ `min_negative_share`;
- sensitive words: one of the topic's posts contains one of the words;
- influential authors: one of the topic's posts is by a verified author or one with at
  least `min_author_followers` followers.

The highest colour that holds is raised as an `OpinionWarning`, but only above every colour
already raised for that scheme and topic: the same burst never raises twice (the unique
constraint on scheme, topic and colour backs this up), and it may only climb. The scheme
owner unit's analysts and duty officers are notified through the outbox (key per warning and
colour), in the batch's transaction.
"""

import re
from datetime import datetime

from django.db.models import Q
from django.urls import reverse

from fenghuo.notify.services import notify_people
from fenghuo.opinion.models import (
    COLOUR_RANK,
    Colour,
    OpinionWarning,
    Post,
    Topic,
    WarningRule,
)
from fenghuo.opinion.text import normalise
from fenghuo.opinion.topics import Figures
from fenghuo.org.models import Person, Role

NOTIFIED_ROLES = (Role.ANALYST, Role.DUTY_OFFICER)
_SPLIT = re.compile(r"[\s,，、;；]+")


def sensitive_words(rule: WarningRule) -> list[str]:
    return [w for w in (normalise(x) for x in _SPLIT.split(rule.sensitive_words)) if w]


def reasons(rule: WarningRule, topic: Topic, figures: Figures) -> list[str] | None:
    """The Chinese reasons the rule holds for, or None when one of its thresholds fails."""
    found: list[str] = []
    if rule.min_posts is not None:
        if figures.window_posts < rule.min_posts:
            return None
        found.append(f"近一小时帖子 {figures.window_posts} 条（阈值 {rule.min_posts}）")
    if rule.min_growth is not None:
        if figures.growth < rule.min_growth:
            return None
        found.append(f"增长 {figures.growth:.1f} 倍（阈值 {rule.min_growth:g}）")
    if rule.min_negative_share is not None:
        if topic.negative_share < rule.min_negative_share:
            return None
        found.append(f"负面占比 {topic.negative_share:.0%}（阈值 {rule.min_negative_share:.0%}）")
    posts = Post.objects.filter(topic=topic)
    words = sensitive_words(rule)
    if words:
        hits = [w for w in words if posts.filter(normalized_text__contains=w).exists()]
        if not hits:
            return None
        found.append(f"含敏感词：{'、'.join(hits)}")
    if rule.min_author_followers is not None:
        author = (
            posts.filter(
                Q(author_verified=True) | Q(author_followers__gte=rule.min_author_followers)
            )
            .order_by("-author_followers")
            .values_list("author", "author_followers")
            .first()
        )
        if author is None:
            return None
        found.append(f"有影响力作者参与：{author[0] or '匿名'}（粉丝 {author[1]}）")
    return found or None


def raise_warnings(touched: dict[int, Figures], now: datetime) -> list[OpinionWarning]:
    """Check the rules of the touched topics' schemes; raise and notify new warnings."""
    if not touched:
        return []
    rules = list(
        WarningRule.objects.filter(
            is_active=True, scheme__is_active=True, scheme__topics__in=list(touched)
        )
        .select_related("scheme__owner_unit")
        .distinct()
    )
    if not rules:
        return []
    topics = Topic.objects.in_bulk(list(touched))
    raised_before: dict[tuple[int, int], int] = {}
    for s, t, c in OpinionWarning.objects.filter(topic_id__in=list(touched)).values_list(
        "scheme_id", "topic_id", "raised_colour"
    ):
        raised_before[(s, t)] = max(raised_before.get((s, t), -1), COLOUR_RANK[c])
    linked = set(
        Topic.schemes.through.objects.filter(topic_id__in=list(touched)).values_list(
            "topic_id", "scheme_id"
        )
    )
    raised: list[OpinionWarning] = []
    by_scheme: dict[int, list[WarningRule]] = {}
    for rule in rules:
        by_scheme.setdefault(rule.scheme_id, []).append(rule)
    for topic_id, figures in sorted(touched.items()):
        topic = topics[topic_id]
        for scheme_id, scheme_rules in sorted(by_scheme.items()):
            if (topic_id, scheme_id) not in linked:
                continue
            floor = raised_before.get((scheme_id, topic_id), -1)
            for rule in sorted(scheme_rules, key=lambda r: -COLOUR_RANK[r.colour]):
                if COLOUR_RANK[rule.colour] <= floor:
                    break
                found = reasons(rule, topic, figures)
                if found:
                    raised.append(_raise(rule, topic, found, now))
                    break
    return raised


def _raise(rule: WarningRule, topic: Topic, found: list[str], now: datetime) -> OpinionWarning:
    warning = OpinionWarning.objects.create(
        scheme=rule.scheme,
        topic=topic,
        colour=rule.colour,
        raised_colour=rule.colour,
        reasons=found,
        is_drill=topic.is_drill,
        raised_at=now,
    )
    notify(warning)
    return warning


def notify(warning: OpinionWarning) -> None:
    """Tell the scheme owner unit's analysts and duty officers (key per warning and colour)."""
    scheme = warning.scheme
    people = Person.objects.filter(
        is_active=True,
        memberships__unit=scheme.owner_unit,
        memberships__role__in=NOTIFIED_ROLES,
    ).distinct()
    colour = Colour(warning.colour).label
    notify_people(  # notify prefixes 【演练】 itself for drills
        people,
        subject=f"{colour}舆情预警：{warning.topic.title}",
        body=f"监测方案「{scheme.name}」话题「{warning.topic.title}」："
        + "；".join(warning.reasons),
        key=f"opinion-warning:{warning.pk}:{warning.colour}",
        link=reverse("opinion-topic", args=[warning.topic_id]),
        ref=f"opinion.OpinionWarning:{warning.pk}",
        urgent=warning.colour in (Colour.ORANGE, Colour.RED),
        is_drill=warning.is_drill,
        drill_tag=warning.topic.drill_tag,
    )
