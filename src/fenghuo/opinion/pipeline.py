"""The text pipeline over one batch of validated posts, run inline by `services.ingest`.

Inline rather than in a worker loop: a post is stored already normalised, segmented,
matched and grouped, so the stream of matching posts and the preview never show a post
half done, and there is no second pass over the table. The batch costs one query for the
keys already stored, one for the scheme revision, one for the tree's dictionary key, one
for the index sync, one INSERT … ON CONFLICT DO NOTHING of the posts, one SELECT of their
ids and one INSERT of the matches; then the topics (`topics`): one read of topics changed
by others, one INSERT per new topic, and per batch a locked read, the bucket writes and one
UPDATE of the touched topics; then the warning rules of their schemes (`rules`).

Steps per post: normalise (`text.normalise`), segment (rjieba with the tree's names),
match every active scheme (`matching`), near-duplicate and repost group (`dedup`),
sentiment (the shipped model, one matrix product per batch), topic (`topics.assign`).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from fenghuo.opinion import dedup, matching, rows, rules, text, topics
from fenghuo.opinion.models import Post, PostMatch
from fenghuo.opinion.sentiment import classify_many


@dataclass
class Prepared:
    post: Post
    scheme_ids: list[int] = field(default_factory=list)


def _existing_keys(posts: Sequence[Post]) -> set[tuple[str, str]]:
    keys = {(post.platform, post.post_id) for post in posts}
    return set(rows.values_by_pairs(Post, ("platform", "post_id"), keys, ("platform", "post_id")))


def run_batch(posts: Sequence[Post], *, now: datetime) -> tuple[int, int]:
    """Process and store unsaved posts; returns (stored, duplicates)."""
    existing = _existing_keys(posts)
    fresh: list[Post] = []
    seen: set[tuple[str, str]] = set()
    for post in posts:
        key = (post.platform, post.post_id)
        if key in existing or key in seen:
            continue
        seen.add(key)
        fresh.append(post)
    if not fresh:
        return 0, len(posts)

    matcher = matching.current()
    jieba = text.SEGMENTER.segmenter()
    prepared: list[Prepared] = []
    for post in fresh:
        post.normalized_text = text.normalise(post.text)
        post.tokens = " ".join(text.tokens(post.normalized_text, jieba))
        prepared.append(Prepared(post, matcher.match(post.normalized_text)))

    index = dedup.INDEX
    items = [
        dedup.Item(
            key=post.key,
            normalized_text=post.normalized_text,
            repost_of=f"{post.platform}:{post.repost_of}" if post.repost_of else "",
        )
        for post in fresh
    ]
    with index.lock:
        index.sync()
        parents = _parent_groups([item.repost_of for item in items if item.repost_of])
        index.assign(items, parents)
    for post, item in zip(fresh, items, strict=True):
        post.dup_group = item.group
    for post, sentiment in zip(
        fresh, classify_many([p.normalized_text for p in fresh]), strict=True
    ):
        post.sentiment, post.sentiment_score = sentiment.label, round(sentiment.score, 4)

    with transaction.atomic():
        plan = topics.assign(fresh, now)
        # Only rows this call inserted: a concurrent import of the same post by another
        # process keeps its own matches.
        inserted = rows.insert_ignoring_conflicts(Post, fresh, returning=("platform", "post_id"))
        if inserted is None:  # SQLite: one writer at a time, so these are this call's rows
            inserted = Post.objects.filter(
                received_at=now, source=fresh[0].source, post_id__in=[p.post_id for p in fresh]
            ).values_list("pk", "platform", "post_id")
        ids = {(platform, post_id): pk for pk, platform, post_id in inserted}
        _insert_matches(
            [
                (pk, sid)
                for p in prepared
                if (pk := ids.get((p.post.platform, p.post.post_id)))
                for sid in p.scheme_ids
            ],
            now,
        )
        stored = [p for p in fresh if (p.platform, p.post_id) in ids]
        touched = topics.record(stored, plan, {id(p.post): p.scheme_ids for p in prepared}, now)
        rules.raise_warnings(touched, now)
    return len(ids), len(posts) - len(ids)


def _insert_matches(pairs: list[tuple[int, int]], now: datetime) -> None:
    """(post, scheme) match rows; a post matches many schemes."""
    rows.insert_columns(
        PostMatch,
        {"post": [post for post, _ in pairs], "scheme": [scheme for _, scheme in pairs]},
        {"matched_at": now},
    )


def _parent_groups(parent_keys: list[str]) -> dict[str, str]:
    """Groups of repost parents stored before the index window (or by nobody yet)."""
    pairs = {tuple(key.partition(":")[::2]) for key in parent_keys}
    return {
        f"{platform}:{post_id}": group or f"{platform}:{post_id}"
        for platform, post_id, group in rows.values_by_pairs(
            Post, ("platform", "post_id"), pairs, ("platform", "post_id", "dup_group")
        )
    }
