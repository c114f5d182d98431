"""The RSS/Atom connector: the worker loop `poll_feeds` fetches due feeds.

A due feed (active, `next_poll_at` passed or never polled) is claimed with a row lock
(`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL) and its next poll time moved on by its
interval before the claim commits, so parallel workers never fetch one feed twice and a
worker killed mid-fetch only delays that feed by one interval. The fetch sends the stored
ETag / Last-Modified, so an unchanged feed costs a 304. Entries become posts of the feed's
platform (post id: the entry's id, else its link) through `services.ingest`, which makes
re-reading the same entries harmless.
"""

import logging
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import feedparser
import httpx
from django.db import transaction
from django.db.models import Q

from fenghuo.core import clock
from fenghuo.opinion import services
from fenghuo.opinion.models import Feed

logger = logging.getLogger("fenghuo.opinion")
BATCH = 5
TIMEOUT = 20.0
_TAGS = re.compile(r"<[^>]+>")


def _claim(now: datetime) -> list[Feed]:
    with transaction.atomic():
        due = list(
            Feed.objects.select_for_update(skip_locked=True)
            .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now), is_active=True)
            .order_by("next_poll_at", "pk")[:BATCH]
        )
        for feed in due:
            feed.next_poll_at = now + timedelta(seconds=feed.interval_seconds)
            feed.save(update_fields=["next_poll_at"])
    return due


def _plain(html: str) -> str:
    return unescape(_TAGS.sub(" ", html or "")).strip()


def entry_post(feed: Feed, entry: feedparser.FeedParserDict) -> dict:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    title, summary = _plain(entry.get("title", "")), _plain(entry.get("summary", ""))
    post = {
        "platform": feed.platform,
        "post_id": (entry.get("id") or entry.get("link") or "")[:128],
        "text": f"{title}\n{summary}".strip() if summary != title else title,
        "url": entry.get("link", "")[:500],
        "author": (entry.get("author") or feed.name)[:100],
    }
    if parsed:
        post["published_at"] = datetime(*parsed[:6], tzinfo=UTC).isoformat()
    return post


def poll(feed: Feed) -> services.IngestResult | None:
    """Fetch one feed and ingest its entries (None when unchanged or on error)."""
    headers = {"User-Agent": "Fenghuo/1 (+feed poller)"}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.modified:
        headers["If-Modified-Since"] = feed.modified
    result = None
    error = ""
    try:
        response = httpx.get(feed.url, headers=headers, timeout=TIMEOUT, follow_redirects=True)
        if response.status_code != 304:
            response.raise_for_status()
            parsed = feedparser.parse(response.content)
            if parsed.bozo and not parsed.entries:
                raise ValueError(f"无法解析：{parsed.get('bozo_exception')}")
            result = services.ingest(
                (entry_post(feed, entry) for entry in parsed.entries), source=f"feed:{feed.pk}"
            )
            feed.etag = response.headers.get("ETag", "")[:200]
            feed.modified = response.headers.get("Last-Modified", "")[:100]
    except (httpx.HTTPError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        logger.warning("新闻源 %s 轮询失败：%s", feed.url, error)
    feed.last_polled_at = clock.now()
    feed.last_error = error
    feed.save(update_fields=["etag", "modified", "last_polled_at", "last_error"])
    return result


def poll_feeds() -> int:
    """Worker loop step: poll the feeds that are due; returns how many were polled."""
    feeds = _claim(clock.now())
    for feed in feeds:
        poll(feed)
    return len(feeds)
