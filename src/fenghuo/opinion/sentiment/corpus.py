"""Generates the templated part of the labelled corpus: data/train.tsv and data/test_generated.tsv.

    python -m fenghuo.opinion.sentiment.corpus

Sentences are sentence frames × domain vocabulary (places, incidents, responders, what is
praised or blamed) with negation and degree words mixed in. The held-out file is made from
frames that the training file never uses (different phrasings of the same meanings) and
from some words that only it uses (``HELD_OUT_*``), so its accuracy measures more than
memorised frames. Its limits: it is still generated text, shorter and cleaner than real
posts; data/test_handwritten.tsv (written by hand, not generated) is the closer check.
The seed is fixed: running this again writes the same files.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
SEED = 20240606
TRAIN_SIZE = 4800
TEST_SIZE = 1200

PLACES = [
    "临江市",
    "示范省",
    "江口县",
    "青山镇",
    "东湖区",
    "化工园区",
    "城西街道",
    "高新区",
    "北站",
    "滨海新区",
    "南山村",
    "老城区",
    "开发区",
    "河口乡",
    "市中心",
    "我们小区",
    "学校附近",
]
INCIDENTS = [
    "爆炸",
    "火灾",
    "燃气泄漏",
    "山体滑坡",
    "洪水",
    "内涝",
    "地震",
    "交通事故",
    "楼房坍塌",
    "踩踏",
    "食物中毒",
    "危化品泄漏",
    "桥梁垮塌",
    "森林火灾",
    "台风",
    "暴雨",
    "泥石流",
    "疫情",
    "停水",
    "停电",
    "煤矿透水",
    "溺水事故",
]
RESPONDERS = [
    "消防员",
    "救援队",
    "医护人员",
    "武警官兵",
    "志愿者",
    "民警",
    "社区工作人员",
    "蓝天救援队",
    "电力工人",
    "抢险队员",
    "乡镇干部",
    "应急队伍",
]
AUTHORITIES = [
    "应急管理局",
    "市政府",
    "有关部门",
    "街道办",
    "县委县政府",
    "卫健委",
    "住建局",
    "交通部门",
    "当地政府",
    "官方",
    "物业",
    "供电公司",
    "自来水公司",
]
WORK = [
    "救援",
    "处置",
    "回应",
    "通报",
    "信息发布",
    "物资发放",
    "安置工作",
    "人员转移",
    "隐患排查",
    "医疗救治",
    "道路抢修",
    "供水恢复",
    "疏散",
    "善后工作",
    "搜救",
]
POS_ADJ = ["及时", "迅速", "到位", "专业", "透明", "给力", "高效", "有序", "周到", "负责", "细致"]
NEG_ADJ = ["慢", "混乱", "敷衍", "拖拉", "迟缓", "糟糕", "冷漠", "草率", "滞后", "拖沓"]
DEGREE = ["很", "非常", "特别", "十分", "太", "真的", "极其", "相当", "超级", "挺"]
WEAK_DEGREE = ["有点", "稍微有点", "有些", "略微"]
NEGATION = ["不", "一点都不", "一点也不", "并不", "根本不", "完全不", "不太", "不够"]
PRAISE = [
    "辛苦了",
    "好样的",
    "太感动了",
    "致敬最美逆行者",
    "点赞",
    "你们是英雄",
    "谢谢你们",
    "感谢一路守护",
    "向你们致敬",
    "真的很暖心",
]
BLAME = [
    "太让人失望了",
    "心寒",
    "简直离谱",
    "气死人了",
    "寒心啊",
    "无语了",
    "太不负责任了",
    "这是草菅人命",
    "能不能给个说法",
    "真是糊涂",
]
FEAR = ["好害怕", "太吓人了", "吓死了", "担心家里人", "心里很慌", "真的好可怕"]
RELIEF = ["终于放心了", "总算松了口气", "谢天谢地", "大家都平安", "心里踏实了"]
RUMOUR_POS = ["辟谣了，大家别信谣", "官方澄清了，谣言不攻自破", "原来是谣言，放心了"]
EMOTE_POS = ["[赞]", "[心]", "[抱抱]", "[鼓掌]", "", "", ""]
EMOTE_NEG = ["[怒]", "[泪]", "[衰]", "[抓狂]", "", "", ""]
TIMES = ["今天上午", "昨晚", "凌晨3时许", "14时20分左右", "今日下午", "6月5日", "当天傍晚"]
NUMBERS = ["2", "3", "5", "十余", "数十", "上百", "1200"]

# Words that appear only in the held-out file: the lexicon knows them, training text does not.
HELD_OUT_POS = ["果断", "得力", "靠谱", "稳妥"]
HELD_OUT_NEG = ["推诿", "冷血", "失职", "稀烂"]
HELD_OUT_PLACES = ["西岭县", "望江区", "红旗镇"]

# Each frame: (label, text with {slots}).  Training frames and held-out frames never overlap.
TRAIN_FRAMES = [
    ("positive", "{work}{deg}{pos}，{praise}{ep}"),
    ("positive", "{place}{incident}，{responder}{praise}！{ep}"),
    ("positive", "{authority}这次{work}{deg}{pos}，{praise}"),
    ("positive", "看到{responder}冒着危险冲在前面，{praise}"),
    ("positive", "{place}的{work}{deg}{pos}，{relief}"),
    ("positive", "{responder}连夜奋战，{work}{deg}{pos}{ep}"),
    ("positive", "{work}一点也不{neg}，{authority}{deg}{pos}"),
    ("positive", "{rumour_pos}，{authority}回应{deg}{pos}"),
    ("positive", "被困的{number}名群众全部获救，{relief}{ep}"),
    ("positive", "{authority}的{work}并不{neg}，反而{deg}{pos}"),
    ("negative", "{work}{deg}{neg}，{blame}{en}"),
    ("negative", "{work}{negation}{pos}，{blame}"),
    ("negative", "{place}{incident}都过去{number}个小时了，{authority}还没人管，{blame}"),
    ("negative", "{authority}的{work}{negation}{pos}，老百姓{fear}"),
    ("negative", "{place}又发生{incident}，{fear}{en}"),
    ("negative", "打了好几次电话都没人接，{authority}{deg}{neg}{en}"),
    ("negative", "说是{work}{pos}，其实{deg}{neg}，{blame}"),
    ("negative", "{authority}一直在推，{work}{weak}{neg}，{blame}"),
    ("negative", "{place}{incident}死了{number}个人，{authority}却{negation}{pos}{en}"),
    ("negative", "我们{place}的{work}{weak}{neg}，希望{authority}重视一下"),
    ("neutral", "{time}，{place}发生{incident}，{responder}已赶赴现场处置。"),
    ("neutral", "据{authority}通报，{place}{incident}造成{number}人受伤，原因正在调查中。"),
    ("neutral", "{authority}发布通知：{place}明天起开展{work}，请市民留意。"),
    ("neutral", "有没有人知道{place}现在什么情况？听说发生了{incident}"),
    ("neutral", "转发：{authority}关于{place}{incident}的情况说明"),
    ("neutral", "{time}{place}{incident}，目前{work}正在进行中，具体情况待核实。"),
    ("neutral", "{authority}召开新闻发布会，介绍{place}{incident}的{work}情况。"),
    ("neutral", "{place}{incident}最新消息：已转移群众{number}人，{work}持续进行。"),
    ("neutral", "请问{place}到火车站的路还能走吗？"),
    ("neutral", "{time}{place}启动防汛四级应急响应，{authority}提醒注意出行安全。"),
    ("neutral", "{place}{incident}现场图，拍摄于{time}，{responder}还在忙。"),
    ("neutral", "{authority}提示：受{incident}影响，{place}部分路段实行交通管制。"),
    ("neutral", "想问一下{place}的安置点在哪里？家里有老人需要过去"),
    ("neutral", "截至{time}，{place}{incident}已造成{number}人遇难，{number}人失联。"),
    ("neutral", "{place}{incident}涉事企业负责人已被控制，{authority}成立调查组。"),
    ("neutral", "这个消息是真的吗？{place}{incident}有没有官方通报"),
    ("neutral", "{authority}将于明天召开会议，部署{place}{incident}的{work}。"),
    ("positive", "{authority}{time}就发了通报，{work}{deg}{pos}，这次值得肯定"),
    ("positive", "家里老人被{responder}背了出来，全家人都很感激，{praise}"),
    ("positive", "原以为要等很久，没想到{work}这么{pos}，{relief}"),
    ("positive", "{responder}在雨里站了一夜，{praise}，注意安全{ep}"),
    ("negative", "{incident}都发生{number}天了，{work}还没有动静，{authority}到底管不管"),
    ("negative", "{authority}说的和现场视频完全对不上，{blame}"),
    ("negative", "电话永远占线，{work}没人负责，老百姓{fear}{en}"),
    ("negative", "又是“正在调查”，上次{place}{incident}到现在也没结果，{blame}"),
    ("negative", "出了事就删帖，{authority}越捂越让人怀疑{en}"),
]
TEST_FRAMES = [
    ("positive", "不得不说，{place}这次的{work}真是{pos}{ep}"),
    ("positive", "为{responder}点个赞，{work}做得{deg}{pos}"),
    ("positive", "{incident}发生后{authority}马上就到了，{work}{deg}{pos}，{relief}"),
    ("positive", "本来很担心，结果{work}{deg}{pos}，{praise}"),
    ("positive", "{responder}守了一整夜，大家都平安，{praise}{ep}"),
    ("positive", "现场秩序一点都不{neg}，{responder}{deg}{pos}"),
    ("negative", "都几天了{work}还是{deg}{neg}，{blame}{en}"),
    ("negative", "说好的{work}呢？{negation}{pos}，{blame}"),
    ("negative", "{place}{incident}，{authority}的反应{deg}{neg}，{fear}"),
    ("negative", "{authority}你们的{work}{negation}{pos}，群众意见很大{en}"),
    ("negative", "别再拿“正在处理”糊弄人了，{work}{deg}{neg}"),
    ("negative", "家就在{place}，{incident}之后{fear}，{authority}{negation}{pos}"),
    ("neutral", "【{place}{incident}】{time}，{authority}组织{responder}开展{work}。"),
    ("neutral", "{place}{incident}相关情况：伤者{number}人已送医，{work}有序推进。"),
    ("neutral", "求问：{place}附近现在还有{incident}的影响吗？"),
    ("neutral", "{authority}：{place}{incident}的原因正在进一步调查。"),
    ("neutral", "{time}，{authority}通报{place}{incident}处置进展，共出动{responder}{number}人。"),
    ("neutral", "关注{place}{incident}的后续{work}情况。"),
]


def _fill(frame: str, rng: random.Random, held_out: bool) -> str:
    pos = POS_ADJ + (HELD_OUT_POS if held_out else [])
    neg = NEG_ADJ + (HELD_OUT_NEG if held_out else [])
    places = PLACES + (HELD_OUT_PLACES if held_out else [])
    slots = {
        "place": places,
        "incident": INCIDENTS,
        "responder": RESPONDERS,
        "authority": AUTHORITIES,
        "work": WORK,
        "pos": pos,
        "neg": neg,
        "deg": DEGREE,
        "weak": WEAK_DEGREE,
        "negation": NEGATION,
        "praise": PRAISE,
        "blame": BLAME,
        "fear": FEAR,
        "relief": RELIEF,
        "rumour_pos": RUMOUR_POS,
        "ep": EMOTE_POS,
        "en": EMOTE_NEG,
        "time": TIMES,
        "number": NUMBERS,
    }
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(slots[m.group(1)]), frame)


def generate(
    frames: list[tuple[str, str]], size: int, rng: random.Random, held_out: bool
) -> list[tuple[str, str]]:
    seen: set[str] = set()
    rows: list[tuple[str, str]] = []
    while len(rows) < size:
        label, frame = rng.choice(frames)
        text = _fill(frame, rng, held_out)
        if text not in seen:
            seen.add(text)
            rows.append((label, text))
    return rows


def write(path: Path, rows: list[tuple[str, str]]) -> None:
    path.write_text("".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")


def build() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, held-out) rows: the same every time, for the fixed seed."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible corpus, not a secret
    train = generate(TRAIN_FRAMES, TRAIN_SIZE, rng, held_out=False)
    test = generate(TEST_FRAMES, TEST_SIZE, rng, held_out=True)
    train_texts = {text for _, text in train}
    return train, [row for row in test if row[1] not in train_texts]


def main() -> None:
    train, test = build()
    write(DATA_DIR / "train.tsv", train)
    write(DATA_DIR / "test_generated.tsv", test)
    print(f"train.tsv: {len(train)} rows, test_generated.tsv: {len(test)} rows")


if __name__ == "__main__":
    main()
