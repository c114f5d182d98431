"""Opinion pipeline: posts per second through normalise → segment → match 1,000 schemes →
near-duplicate groups → sentiment → topics (heat, buckets, warning rules) → stored in
batches, on one process, with peak memory.

Anchors on the same generated posts in the same run and process: plain `jieba.lcut` (what
most Python opinion tools segment with) and a bare bulk load of the raw posts (PostgreSQL
`COPY`; on SQLite one `executemany` INSERT, SQLite having no COPY).

    .venv/bin/python bench/opinion.py                 SQLite (or DATABASE_URL's PostgreSQL)
    .venv/bin/python bench/opinion.py --posts 50000
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _common import (  # noqa: E402
    Row,
    database_label,
    in_fresh_database,
    print_table,
)

NAME = "opinion"
GOAL = 0.4
POSTS = 20_000
SCHEMES = 1_000
PLACES = ["临江市", "东山市", "西河县", "南岭镇", "北湖区", "青山县", "白沙镇", "示范省"]
EVENTS = ["化工厂爆炸", "燃气泄漏", "山体滑坡", "桥梁垮塌", "暴雨内涝", "仓库火灾", "客车侧翻"]
CHATTER = [
    "现场有大量浓烟，群众正在疏散",
    "有关部门已经赶赴现场处置",
    "伤亡情况正在核实中",
    "希望大家都平安",
    "听说附近的路已经封了",
    "這裡的情況很嚴重",
    "官方还没有通报",
]


def generate(n: int, seed: int = 6) -> list[dict]:
    rng = random.Random(seed)
    posts: list[dict] = []
    for i in range(n):
        if posts and rng.random() < 0.2:
            text = "转发：" + rng.choice(posts[-200:])["text"]
        else:
            text = (
                f"{rng.choice(PLACES)}{rng.choice(EVENTS)}，"
                + "，".join(rng.sample(CHATTER, 3))
                + f"。#{i}"
            )
        posts.append(
            {
                "platform": rng.choice(["weibo", "wechat", "forum", "news"]),
                "post_id": str(i),
                "text": text,
                "published_at": "2026-11-23T09:10:00+08:00",
                "likes": rng.randrange(1000),
            }
        )
    return posts


def measure(n: int) -> dict:
    """Inside Django, on a migrated empty database."""
    import jieba
    from django.db import connection

    from fenghuo.core import clock
    from fenghuo.core.services import audit_record  # noqa: F401 - loads the app registry
    from fenghuo.opinion import matching, services
    from fenghuo.opinion.models import Scheme
    from fenghuo.org.models import AdminLevel, Unit, UnitKind

    kind = UnitKind.objects.first() or UnitKind.objects.create(code="gov", name="政府")
    unit = Unit.add_root(
        name="示范省应急管理厅", level=AdminLevel.PROVINCE, kind=kind, division_code="990000"
    )
    now = clock.now()
    Scheme.objects.bulk_create(
        Scheme(
            name=f"方案{i}",
            expression=(
                f"({PLACES[i % 8]} OR 地名{i}) AND ({EVENTS[i % 7][-2:]} OR 事件{i}) NOT 演习{i}"
            ),
            owner_unit=unit,
            created_at=now,
            updated_at=now,
        )
        for i in range(SCHEMES)
    )
    matching.bump_revision()
    posts = generate(n)
    texts = [p["text"] for p in posts]

    jieba.lcut("预热")
    start = time.perf_counter()
    for text in texts:
        jieba.lcut(text)
    jieba_seconds = time.perf_counter() - start

    rows = [(p["platform"], p["post_id"], p["text"], p["published_at"]) for p in posts]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_raw (platform text, post_id text, body text, published text)"
        )
        start = time.perf_counter()
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(
                "COPY bench_raw (platform, post_id, body, published) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany("INSERT INTO bench_raw VALUES (%s, %s, %s, %s)", rows)
        copy_seconds = time.perf_counter() - start

    services.ingest(generate(200, seed=99), source="warm-up")  # dictionary, automaton, index
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = services.ingest(posts, source="bench")
    pipeline_seconds = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from fenghuo.opinion.models import Post, PostMatch

    return {
        "n": n,
        "stored": result.stored,
        "errors": len(result.errors),
        "matches": PostMatch.objects.count(),
        "groups": Post.objects.values("dup_group").distinct().count(),
        "jieba": jieba_seconds,
        "copy": copy_seconds,
        "pipeline": pipeline_seconds,
        "peak_rss_mb": rss_after / 1024,
        "rss_growth_mb": (rss_after - rss_before) / 1024,
    }


def run_database(n: int) -> dict:
    return in_fresh_database(
        "opinion", f"measure({n})", what=f"{n} posts through the pipeline, {SCHEMES} schemes"
    )


def rows_of(result: dict) -> list[Row]:
    db = database_label()
    n = result["n"]
    jieba_row = Row(NAME, "jieba.lcut alone  anchor", n=n, rps=n / result["jieba"])
    copy_row = Row(
        NAME,
        f"bare bulk load of the raw posts ({'COPY' if db == 'postgresql' else 'executemany'})",
        n=n,
        rps=n / result["copy"],
    )
    pipeline = Row(
        NAME,
        f"pipeline: normalise, segment, {SCHEMES} schemes, near-dup, sentiment, topics  [{db}]",
        n=n,
        errors=result["errors"],
        rps=n / result["pipeline"],
        anchor=jieba_row,
        note=(
            f"peak RSS {result['peak_rss_mb']:.0f} MB (+{result['rss_growth_mb']:.0f} MB during "
            f"the run); {result['matches']} matches, {result['groups']} groups"
        ),
    )
    return [jieba_row, copy_row, pipeline]


def run() -> list[Row]:
    return rows_of(run_database(int(os.environ.get("BENCH_OPINION_POSTS", POSTS))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=POSTS)
    args = parser.parse_args(argv)
    result = run_database(args.posts)
    print(f"fenghuo bench · {NAME} · {args.posts} posts · {SCHEMES} schemes")
    print_table(rows_of(result))
    ratio = (args.posts / result["pipeline"]) / (args.posts / result["jieba"])
    print(
        f"pipeline ÷ plain jieba posts per second: {ratio:.2f} (goal ≥ {GOAL}: "
        + ("met" if ratio >= GOAL else "NOT MET")
        + ")."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
