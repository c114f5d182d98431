"""Near-duplicate and repost groups on a generated set: pairwise precision and recall."""

import itertools
import random

from fenghuo.opinion import services
from fenghuo.opinion.models import Post
from tests.opinion.conftest import post

PLACES = ["临江市", "东山市", "西河县", "南岭镇", "北湖区", "青山县", "白沙镇", "红岩市"]
EVENTS = ["化工厂爆炸", "燃气泄漏", "山体滑坡", "桥梁垮塌", "暴雨内涝", "仓库火灾", "客车侧翻"]
FILLER = "现场有大量浓烟群众正在疏散有关部门已经赶赴现场处置伤亡情况正在核实中请大家注意安全"


def originals(rng: random.Random, n: int) -> list[str]:
    texts = []
    for i in range(n):
        words = rng.sample(FILLER, 24)
        texts.append(
            f"{rng.choice(PLACES)}{rng.choice(EVENTS)}，编号{i}，"
            + "".join(words)
            + f"。{i * 7919}"
        )
    return texts


def variant(rng: random.Random, text: str) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return f"#突发# {text} @网友{rng.randrange(1000)}"
    if kind == 1:
        return "转发：" + text + "！！"
    if kind == 2:
        cut = rng.randrange(len(text) // 2, len(text))
        return text[:cut] + "……"
    return text.replace("，", " , ")[:-3] + "（原文）"


def test_near_duplicate_precision_and_recall(db):
    rng = random.Random(6)
    truth: dict[str, int] = {}
    items = []
    for cluster, text in enumerate(originals(rng, 150)):
        members = [text] + [variant(rng, text) for _ in range(rng.randrange(0, 4))]
        for j, member in enumerate(members):
            key = f"{cluster}-{j}"
            truth[key] = cluster
            items.append(post(key, member))
    rng.shuffle(items)
    # A repost with entirely different words joins its parent's group.
    items.append(post("r1", "太可怕了，大家小心", repost_of=items[0]["post_id"]))
    truth["r1"] = truth[items[0]["post_id"]]
    result = services.ingest(items, source="generated")
    assert result.stored == len(items)

    group = dict(Post.objects.values_list("post_id", "dup_group"))
    tp = fp = fn = 0
    for a, b in itertools.combinations(truth, 2):
        same_truth, same_found = truth[a] == truth[b], group[a] == group[b]
        tp += same_truth and same_found
        fp += same_found and not same_truth
        fn += same_truth and not same_found
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"near-duplicates: precision {precision:.3f} recall {recall:.3f} pairs {tp + fn}")
    assert precision >= 0.9 and recall >= 0.9
    assert group["r1"] == group[items[0]["post_id"]]


def test_a_later_batch_joins_groups_of_earlier_posts(db):
    text = "临江市化工厂发生爆炸，现场浓烟滚滚，周边群众已紧急疏散，伤亡情况正在核实"
    services.ingest([post("a", text)], source="first")
    services.ingest(
        [post("b", "#转# " + text), post("c", "东山市今日天气晴朗适合出行")], source="x"
    )
    group = dict(Post.objects.values_list("post_id", "dup_group"))
    assert group["b"] == group["a"] == "weibo:a"
    assert group["c"] == "weibo:c"
