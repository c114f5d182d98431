"""Opinion pipeline: posts per second through normalise → segment → match 1,000 schemes →
near-duplicate groups → sentiment → topics (heat, buckets, warning rules) → stored in
batches, with peak memory, on one worker process and on several.

Anchors on the same generated posts in the same run and process: plain `jieba.lcut` (what
most Python opinion tools segment with), timed batch by batch in turn with the pipeline so
that other load on the machine weighs on both alike, and a bare bulk load of the raw posts
(PostgreSQL `COPY`; on SQLite one `executemany` INSERT, SQLite having no COPY).

Two sets of 1,000 schemes, each measured in a fresh database:
- regional (the goal's case): like a province's units each watching their own area — 100
  city schemes `(city OR its 9 counties) AND (event words) NOT 演习` and 900 county schemes
  `county AND (event words) NOT (演习 OR 演练)`; a post about a county matches its county's
  and its city's scheme (about 2 matches per post).
- overlapping (a worst case kept from the first version): 8 places × 7 events spread over
  1,000 schemes, so a post matches about 18 of them and writes 18 match rows.

Workers: the same posts split between W processes (forked after warm-up, each ingesting its
share in batches of 1,000 through `services.ingest`), timed from the start signal until the
last finishes. On SQLite the single writer serialises the transactions; PostgreSQL is the
case where more workers should mean more posts per second.

    .venv/bin/python bench/opinion.py                 SQLite (or DATABASE_URL's PostgreSQL)
    .venv/bin/python bench/opinion.py --posts 50000 --workers 1 2
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
WORKERS = (1, 2)
BATCH = 1_000
# The overlapping set's vocabulary.
PLACES = ["临江市", "东山市", "西河县", "南岭镇", "北湖区", "青山县", "白沙镇", "示范省"]
EVENTS = ["化工厂爆炸", "燃气泄漏", "山体滑坡", "桥梁垮塌", "暴雨内涝", "仓库火灾", "客车侧翻"]
EVENT_WORDS = "(爆炸 OR 泄漏 OR 滑坡 OR 垮塌 OR 内涝 OR 火灾 OR 侧翻)"
CHATTER = [
    "现场有大量浓烟，群众正在疏散",
    "有关部门已经赶赴现场处置",
    "伤亡情况正在核实中",
    "希望大家都平安",
    "听说附近的路已经封了",
    "這裡的情況很嚴重",
    "官方还没有通报",
]
SYLLABLES = "安宁平和清远长乐永丰新城东阳西岭南华北川河源临江青山白水桃花金沙云溪凤凰龙泉"


def region_names() -> list[tuple[str, list[str]]]:
    """100 made-up cities with 9 counties each, all names distinct."""
    pairs = [a + b for a in SYLLABLES for b in SYLLABLES if a != b]
    random.Random(3).shuffle(pairs)
    cities = []
    for c in range(100):
        counties = [pairs[100 + c * 9 + k] + "县" for k in range(9)]
        cities.append((pairs[c] + "市", counties))
    return cities


def scheme_expressions(kind: str) -> list[str]:
    if kind == "overlapping":
        return [
            f"({PLACES[i % 8]} OR 地名{i}) AND ({EVENTS[i % 7][-2:]} OR 事件{i}) NOT 演习{i}"
            for i in range(SCHEMES)
        ]
    expressions = []
    for city, counties in region_names():
        expressions.append(f"({' OR '.join([city, *counties])}) AND {EVENT_WORDS} NOT 演习")
        expressions.extend(f"{county} AND {EVENT_WORDS} NOT (演习 OR 演练)" for county in counties)
    return expressions


def generate(n: int, kind: str = "regional", seed: int = 6, prefix: str = "") -> list[dict]:
    rng = random.Random(seed)
    cities = region_names()
    posts: list[dict] = []
    for i in range(n):
        if posts and rng.random() < 0.2:
            text = "转发：" + rng.choice(posts[-200:])["text"]
        else:
            if kind == "overlapping":
                place = rng.choice(PLACES)
            else:
                city, counties = rng.choice(cities)
                place = (city if rng.random() < 0.5 else "") + rng.choice(counties)
            text = f"{place}{rng.choice(EVENTS)}，" + "，".join(rng.sample(CHATTER, 3)) + f"。#{i}"
        posts.append(
            {
                "platform": rng.choice(["weibo", "wechat", "forum", "news"]),
                "post_id": f"{prefix}{i}",
                "text": text,
                "published_at": "2026-11-23T09:10:00+08:00",
                "likes": rng.randrange(1000),
            }
        )
    return posts


def _ingest_share(posts: list[dict], start_at: float) -> None:
    """A forked worker: wait for the common start, then ingest its share in batches."""
    from fenghuo.opinion import services

    while time.time() < start_at:
        time.sleep(0.001)
    for i in range(0, len(posts), BATCH):
        services.ingest(posts[i : i + BATCH], source="bench")


def measure(n: int, kind: str = "regional", workers: int = 1) -> dict:
    """Inside Django, on a migrated empty database."""
    import multiprocessing

    import jieba
    from django.db import connection, connections

    from fenghuo.core import clock, heap
    from fenghuo.core.services import audit_record  # noqa: F401 - loads the app registry
    from fenghuo.opinion import matching, services
    from fenghuo.opinion.models import Post, PostMatch, Scheme, Topic
    from fenghuo.org.models import AdminLevel, Unit, UnitKind

    kind_row = UnitKind.objects.first() or UnitKind.objects.create(code="gov", name="政府")
    unit = Unit.add_root(
        name="示范省应急管理厅", level=AdminLevel.PROVINCE, kind=kind_row, division_code="990000"
    )
    now = clock.now()
    Scheme.objects.bulk_create(
        Scheme(name=f"方案{i}", expression=source, owner_unit=unit, created_at=now, updated_at=now)
        for i, source in enumerate(scheme_expressions(kind))
    )
    matching.bump_revision()
    posts = generate(n, kind)

    jieba.lcut("预热")
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

    # As the web and worker processes do at the end of start-up (fenghuo.core.heap), so
    # that full collections skip Django, the anchor's dictionary and the generated posts.
    heap.settle()
    # Dictionary, automaton, sentiment model and indexes warm before the clock starts.
    services.ingest(generate(200, kind, seed=99, prefix="warm-"), source="warm-up")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    jieba_seconds = pipeline_seconds = 0.0
    errors = 0
    for i in range(0, len(posts), BATCH):
        # Anchor and pipeline take turns on each batch, so a busy machine slows both alike.
        batch = posts[i : i + BATCH]
        start = time.perf_counter()
        for post in batch:
            jieba.lcut(post["text"])
        jieba_seconds += time.perf_counter() - start
        if workers == 1:
            start = time.perf_counter()
            errors += len(services.ingest(batch, source="bench").errors)
            pipeline_seconds += time.perf_counter() - start
    if workers == 1:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    else:
        # Each forked worker opens its own connections: none, and no pool, may be inherited.
        connections.close_all()
        for wrapper in connections.all():
            if hasattr(wrapper, "close_pool"):
                wrapper.close_pool()
        context = multiprocessing.get_context("fork")
        start_at = time.time() + 1.0
        shares = [posts[w::workers] for w in range(workers)]
        processes = [
            context.Process(target=_ingest_share, args=(share, start_at)) for share in shares
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        pipeline_seconds = time.time() - start_at
        errors = sum(process.exitcode != 0 for process in processes)
        peak = max(rss_before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)

    return {
        "n": n,
        "kind": kind,
        "workers": workers,
        "stored": Post.objects.filter(source="bench").count(),
        "errors": errors,
        "matches": PostMatch.objects.filter(post__source="bench").count(),
        "groups": Post.objects.filter(source="bench").values("dup_group").distinct().count(),
        "topics": Topic.objects.count(),
        "jieba": jieba_seconds,
        "copy": copy_seconds,
        "pipeline": pipeline_seconds,
        "peak_rss_mb": peak / 1024,
    }


def run_database(n: int, kind: str, workers: int) -> dict:
    return in_fresh_database(
        "opinion",
        f"measure({n}, {kind!r}, {workers})",
        what=f"{n} posts, {SCHEMES} {kind} schemes, {workers} worker(s)",
    )


def rows_of(results: list[dict]) -> list[Row]:
    db = database_label()
    rows: list[Row] = []
    for result in results:
        n = result["n"]
        label = f"{result['kind']}, {result['workers']} worker(s)"
        jieba_row = Row(NAME, f"jieba.lcut alone  anchor ({label})", n=n, rps=n / result["jieba"])
        load = "COPY" if db == "postgresql" else "executemany"
        copy_row = Row(
            NAME, f"bare bulk load of the raw posts ({load})", n=n, rps=n / result["copy"]
        )
        pipeline = Row(
            NAME,
            f"pipeline, {SCHEMES} {label}  [{db}]",
            n=n,
            errors=result["errors"] + (n - result["stored"]),
            rps=n / result["pipeline"],
            anchor=jieba_row,
            note=(
                f"{label}: peak RSS {result['peak_rss_mb']:.0f} MB; {result['stored']} stored, "
                f"{result['matches'] / max(result['stored'], 1):.1f} matches per post, "
                f"{result['groups']} groups, {result['topics']} topics; "
                f"pipeline ÷ jieba {jieba_row.rps and (n / result['pipeline']) / jieba_row.rps:.2f}"
            ),
        )
        rows += [jieba_row, copy_row, pipeline]
    return rows


def configurations(workers: tuple[int, ...]) -> list[tuple[str, int]]:
    return [("regional", w) for w in workers] + [("overlapping", 1)]


def run() -> list[Row]:
    n = int(os.environ.get("BENCH_OPINION_POSTS", POSTS))
    return rows_of([run_database(n, kind, w) for kind, w in configurations(WORKERS)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=POSTS)
    parser.add_argument("--workers", type=int, nargs="+", default=list(WORKERS))
    parser.add_argument("--only", choices=["regional", "overlapping"])
    args = parser.parse_args(argv)
    configs = [c for c in configurations(tuple(args.workers)) if args.only in (None, c[0])]
    results = [run_database(args.posts, kind, w) for kind, w in configs]
    print(f"fenghuo bench · {NAME} · {args.posts} posts · {SCHEMES} schemes")
    print_table(rows_of(results))
    for result in results:
        ratio = result["jieba"] / result["pipeline"]
        print(
            f"{result['kind']}, {result['workers']} worker(s): pipeline ÷ plain jieba posts per "
            f"second {ratio:.2f} (goal ≥ {GOAL}: " + ("met" if ratio >= GOAL else "NOT MET") + ")."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
