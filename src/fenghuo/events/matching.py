"""Is this report about an event we already have? Scores a report against candidates.

Pure functions over plain values, so the merge benchmark and the tests can drive them
without a database. A report and an open event are both `Facts`, built from `Account`s —
what one report says: subcategory, occurrence time, division code, place, title, narrative,
coordinates. An event has one account per report, so it answers for every unit's view: any
of its subcategories, division codes, times and points can match.

Words. Place, title and narrative are segmented with rjieba (search mode, runs of single
characters rejoined); numbers, one-character words and a short list of reporting boilerplate
are dropped. Administrative names — counties, cities, towns, townships (江口县, 长岗乡), found
by their suffix where an address starts or continues or as one segment, with their stems and
fragments (江口, 关镇) — weigh nothing: the area signal below covers them, and otherwise
every report of a county would resemble every other.

Weights, learned from the candidate window. N candidate events; df(t) events whose words
contain t; M of them share a subcategory with the report, sdf(t) of those contain t. The
event being scored is left out of its own statistics (leave-one-out):

    w(t) = ln((N + 1) / (df(t) + 1)) · (1 + ln((M + 1) / (sdf(t) + 1)))

so a word every event in the area uses is worth little, and a word every event of this kind
uses (化工, 泄漏 among chemical accidents) is worth less than the plant's name.

Text, both ways. An event keeps, per word, its support s(t): the share of its reports that
use it (in place or title only: k(t)). A plant's name is in most of them; one department's
boilerplate in one. With ω(t) = 1 for the report's place and title words, 0.2 for words only
in its narrative:

    forward  = Σ_{t∈report} ω(t)·w(t)·s(t) / Σ_{t∈report} ω(t)·w(t)     (report found in event)
    backward = Σ_{t∈event} w(t)·k(t)·[t∈report] / Σ_{t∈event} w(t)·k(t)  (event found in report)
    text     = √(forward · backward)

Conflict. The heaviest place-or-title word of the report that the event never uses, and the
heaviest (support-weighted) of the event's that the report never uses — two different plant
names — as a share of the weight of a word unseen in the window: conflict = trust ·
min(mine, theirs) / w(unseen), where trust = min(1, (N − 1) / 10): in a window of a few
events every word looks rare, and names cannot be told from common words yet.

Area, in [0, 1]: when both sides have coordinates, 1 / (1 + (d / 3 km)²) for the closest
pair; otherwise 1 for a shared division code, 0.5 for the same city (first four digits), else
0. × 0.3 when both name towns and none in common.

Time, in [0, 1]: closest pair of occurrence times; 1 within 3 h, then linear to 0 at 12 h.
Candidates more than 24 h apart (CANDIDATE_WINDOW), or of another top-level category, score 0.

    score = text · (0.15 + 0.85·area) · (0.25 + 0.75·time) · (0.8 if no subcategory in common)
                 · (1 − 0.5·conflict)

At or above JOIN_THRESHOLD the report joins the best event; between REVIEW_THRESHOLD and
JOIN a new event is made and a duty officer is asked "可能是同一事件", with the reasons: hours
apart, area, text similarity and the heaviest shared words, another subcategory, names that
disagree. Below REVIEW, a new event. `best_match` visits candidates from the highest score
their time, area and subcategory allow (text 1, no conflict) and stops once that bound is
below the best score found: the same answer as scoring all, sooner. `bench/merge.py`
measures the result (pairwise precision and recall, both ≥ 0.95).
"""

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

# A report joins an event at or above JOIN; between REVIEW and JOIN a duty officer decides.
JOIN_THRESHOLD = 0.26
REVIEW_THRESHOLD = 0.18
# Events further apart in time than this are not candidates at all.
CANDIDATE_WINDOW = timedelta(hours=24)

NARRATIVE_WEIGHT = 0.2  # a word only in the narrative, against one in place or title
PLACE_FLOOR = 0.15  # what is left of the score when the areas have nothing in common
SAME_CITY = 0.5
OTHER_TOWN = 0.3
KM_HALF = 3.0  # distance at which the area signal is one half
TIME_FLOOR = 0.25
TIME_FULL_HOURS, TIME_ZERO_HOURS = 3.0, 12.0
OTHER_SUBCATEGORY = 0.8
CONFLICT_WEIGHT = 0.5
CONFLICT_TRUST_EVENTS = 10

_SINGLE_HAN = re.compile(r"^[\u4e00-\u9fff]$")
_WORD = re.compile(r"^[\w\u4e00-\u9fff]+$")
_NUMBER = re.compile(r"^[0-9.]+$")
ADMIN_SUFFIXES = ("省", "市", "县", "州", "盟", "旗", "镇", "乡", "街道")
TOWN_SUFFIXES = ("镇", "乡", "街道")
# A county, town or township name where an address starts or right after another one:
# 江口县长岗乡周家湾村 → 江口县, 长岗乡 (the segmenter alone makes 县长 and 岗乡 of it).
_ADMIN_NAME = re.compile(
    r"(?:(?<=^)|(?<=[^\u4e00-\u9fff])|(?<=[省市县区镇乡]))[\u4e00-\u9fff]{2,3}?(?:县|镇|乡)"
)
# Words every report repeats; they say nothing about which event it is.
STOP_WORDS = frozenset(
    """
    发生 报告 情况 目前 现场 事件 事故 有关 部门 工作 进行 已经 人员 正在 相关 开展 组织
    处置 工作人员 我局 我县 我镇 上午 下午 晚上 凌晨 今日 今天 昨日 昨天 左右 初步 了解
    核实 进一步 全力 立即 迅速 赶赴 到场 及时 续报 据报 接报 报送 后续 其中 暂无 造成
    导致 出现 一起 一名 一辆 多名 据悉 获悉 附近 位于 区域 周边 方面 要求 负责 同志 领导
    主要 第一 时间 具体 原因 调查 之中 仍在 持续 有序 稳定 工作组 关于
    """.split()  # noqa: SIM905 - a word list reads better as text
)


@dataclass(frozen=True)
class Account:
    """What one report says, as matching reads it."""

    category: int
    occurred_at: datetime
    division_code: str
    place: str
    title: str
    narrative: str
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, eq=False)
class Facts:
    """A report (one account) or an event (one account per report), ready to score."""

    category_top: int
    categories: frozenset[int]
    times: tuple[datetime, ...]
    divisions: frozenset[str]
    points: tuple[tuple[float, float], ...]
    words: frozenset[str]
    key: frozenset[str]  # words of place and title
    support: Mapping[str, float]  # word → share of the accounts using it
    key_support: Mapping[str, float]  # the same, in place and title only
    admin: frozenset[str]  # administrative names and their stems
    towns: frozenset[str]

    @classmethod
    def of(cls, category_top: int, accounts: Iterable[Account]) -> "Facts":
        accounts = list(accounts)
        support: Counter[str] = Counter()
        key_support: Counter[str] = Counter()
        admin: set[str] = set()
        for account in accounts:
            place, place_admin = tokens(account.place)
            title, title_admin = tokens(account.title)
            narrative, narrative_admin = tokens(account.narrative)
            support.update(place | title | narrative)
            key_support.update(place | title)
            admin |= place_admin | title_admin | narrative_admin
        count = len(accounts) or 1
        return cls(
            category_top=category_top,
            categories=frozenset(a.category for a in accounts),
            times=tuple(a.occurred_at for a in accounts),
            divisions=frozenset(a.division_code for a in accounts),
            points=tuple(
                (a.latitude, a.longitude)
                for a in accounts
                if a.latitude is not None and a.longitude is not None
            ),
            words=frozenset(support),
            key=frozenset(key_support),
            support={t: n / count for t, n in support.items()},
            key_support={t: n / count for t, n in key_support.items()},
            admin=frozenset(admin),
            towns=frozenset(t for t in admin if len(t) >= 3 and t.endswith(TOWN_SUFFIXES)),
        )


@dataclass(frozen=True)
class Score:
    value: float
    reasons: tuple[str, ...]


@lru_cache(maxsize=1)
def _segmenter():
    """rjieba, loaded on first use: its dictionary takes about a second to load, which
    every process importing the events app (migrate, shell, workers) need not pay."""
    import rjieba

    return rjieba


@lru_cache(maxsize=8192)
def tokens(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(words, administrative names with their stems and fragments) of one text."""
    text = text.lower()
    names = set(_ADMIN_NAME.findall(text))
    pieces = _segmenter().cut_for_search(_ADMIN_NAME.sub(" ", text))
    found: set[str] = set(names)
    run: list[str] = []  # consecutive one-character pieces: 沪 渝 → 沪渝
    for index, piece in enumerate([*pieces, ""]):
        if _SINGLE_HAN.match(piece):
            if piece in "县镇乡" and not run and index and len(pieces[index - 1]) >= 2:
                names.add(pieces[index - 1] + piece)  # 新店 镇 → 新店镇
                found.add(pieces[index - 1] + piece)
            else:
                run.append(piece)
            continue
        if len(run) >= 2:
            found.add("".join(run))
        run = []
        if len(piece) >= 2 and _WORD.match(piece) and not _NUMBER.match(piece):
            found.add(piece)
    found -= STOP_WORDS
    names |= {t for t in found if len(t) >= 3 and t.endswith(ADMIN_SUFFIXES)}
    admin = names | {n[:-1] for n in names} | {t for t in found if any(t in n for n in names)}
    return frozenset(found), frozenset(admin)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def hours_apart(report: Facts, event: Facts) -> float:
    """Between the closest pair of occurrence times (an event has one per report)."""
    return min(
        (abs((a - b).total_seconds()) / 3600 for a in report.times for b in event.times),
        default=math.inf,
    )


def time_signal(hours: float) -> float:
    if hours <= TIME_FULL_HOURS:
        return 1.0
    return max(0.0, 1 - (hours - TIME_FULL_HOURS) / (TIME_ZERO_HOURS - TIME_FULL_HOURS))


def area_signal(report: Facts, event: Facts) -> tuple[float, str]:
    if report.points and event.points:
        km = min(distance_km(*a, *b) for a in report.points for b in event.points)
        area, reason = 1 / (1 + (km / KM_HALF) ** 2), f"相距 {km:.1f} 公里"
    elif report.divisions & event.divisions:
        area, reason = 1.0, "同一行政区划"
    elif {d[:4] for d in report.divisions} & {d[:4] for d in event.divisions}:
        area, reason = SAME_CITY, "同一地市"
    else:
        area, reason = 0.0, "不同地区"
    if report.towns and event.towns and not report.towns & event.towns:
        area, reason = area * OTHER_TOWN, f"{reason}，乡镇不同"
    return area, reason


class Weights:
    """How much each word tells, learned from the candidate events of one report."""

    def __init__(self, report: Facts, events: Mapping[int, Facts]):
        self.report = report
        self.n = len(events)
        self.m = 0  # candidates sharing a subcategory with the report
        self.df: Counter[str] = Counter()
        self.sub_df: Counter[str] = Counter()
        admin = set(report.admin)
        for facts in events.values():
            self.df.update(facts.words)
            if facts.categories & report.categories:
                self.m += 1
                self.sub_df.update(facts.words)
            admin |= facts.admin
        self.admin = frozenset(admin)
        self._memo: tuple[dict[str, float], ...] = ({}, {}, {}, {})
        self._report_total: dict[bool, float] = {}

    def weight(self, token: str, in_event: bool, same_kind: bool = False) -> float:
        """w(t), leaving out the scored event: `in_event` if it uses the word, `same_kind`
        if it shares a subcategory with the report."""
        memo = self._memo[2 * in_event + same_kind]
        found = memo.get(token)
        if found is None:
            if token in self.admin:
                found = 0.0
            else:
                df = max(self.df[token] - in_event, 0)
                m = max(self.m - same_kind, 0)
                sdf = max(self.sub_df[token] - (in_event and same_kind), 0)
                found = math.log((self.n + 1) / (df + 1)) * (1 + math.log((m + 1) / (sdf + 1)))
            memo[token] = found
        return found

    def unseen(self, same_kind: bool) -> float:
        """The weight of a word no candidate uses."""
        m = max(self.m - same_kind, 0)
        return math.log(self.n + 1) * (1 + math.log(m + 1))

    def emphasis(self, token: str) -> float:
        """ω(t): the report's place and title words count fully, its narrative's less."""
        return 1.0 if token in self.report.key else NARRATIVE_WEIGHT

    def report_total(self, same_kind: bool) -> float:
        """Σ ω(t)·w(t) over the report's words, as if the scored event used none of them."""
        found = self._report_total.get(same_kind)
        if found is None:
            found = sum(
                self.emphasis(t) * self.weight(t, False, same_kind) for t in self.report.words
            )
            self._report_total[same_kind] = found
        return found


@dataclass(frozen=True)
class Signals:
    hours: float
    area: float
    area_reason: str
    same_kind: bool
    forward: float
    backward: float
    conflict: float
    conflict_words: str

    @property
    def text(self) -> float:
        return math.sqrt(self.forward * self.backward)


def _bound(report: Facts, event: Facts) -> tuple[float, float, float, str, bool] | None:
    """The signals that need no words — hours apart, area, same subcategory — and the
    highest score they allow (text 1, no conflict); None for no candidate at all."""
    if report.category_top != event.category_top:
        return None
    hours = hours_apart(report, event)
    if hours > CANDIDATE_WINDOW.total_seconds() / 3600:
        return None
    same_kind = bool(report.categories & event.categories)
    area, reason = area_signal(report, event)
    bound = (PLACE_FLOOR + (1 - PLACE_FLOOR) * area) * (
        TIME_FLOOR + (1 - TIME_FLOOR) * time_signal(hours)
    )
    return bound * (1.0 if same_kind else OTHER_SUBCATEGORY), hours, area, reason, same_kind


def signals(report: Facts, event: Facts, w: Weights) -> Signals | None:
    bound = _bound(report, event)
    if bound is None:
        return None
    _, hours, area, area_reason, same_kind = bound
    # forward: only the shared words change the report's total from "none shared".
    total, found = w.report_total(same_kind), 0.0
    support = event.support
    for token in report.words & event.words:
        inside, outside = w.weight(token, True, same_kind), w.weight(token, False, same_kind)
        emphasis = w.emphasis(token)
        total += emphasis * (inside - outside)
        found += emphasis * inside * support[token]
    forward = found / total if total else 0.0
    # backward, and the heaviest of the event's words the report never uses.
    total = found = theirs = 0.0
    their_word = ""
    words = report.words
    for token, share in event.key_support.items():
        value = w.weight(token, True, same_kind) * share
        total += value
        if token in words:
            found += value
        elif value > theirs:
            theirs, their_word = value, token
    backward = found / total if total else 0.0
    mine, my_word = 0.0, ""
    for token in report.key:
        if token not in event.words:
            value = w.weight(token, False, same_kind)
            if value > mine:
                mine, my_word = value, token
    trust = min(1.0, max(w.n - 1, 0) / CONFLICT_TRUST_EVENTS)
    unseen = w.unseen(same_kind)
    clash = trust * min(mine, theirs) / unseen if unseen else 0.0
    return Signals(
        hours, area, area_reason, same_kind, forward, backward, clash, f"{my_word} / {their_word}"
    )


def combine(s: Signals) -> float:
    value = s.text
    value *= PLACE_FLOOR + (1 - PLACE_FLOOR) * s.area
    value *= TIME_FLOOR + (1 - TIME_FLOOR) * time_signal(s.hours)
    value *= 1.0 if s.same_kind else OTHER_SUBCATEGORY
    return value * (1 - CONFLICT_WEIGHT * s.conflict)


def explain(report: Facts, event: Facts, w: Weights, s: Signals) -> tuple[str, ...]:
    """What the duty officer reads next to "可能是同一事件"."""
    shared = sorted(
        (t for t in report.words & event.words if w.weight(t, True, s.same_kind) > 0),
        key=lambda t: (-w.weight(t, True, s.same_kind) * event.support[t], t),
    )
    reasons = [
        f"发生时间相差 {s.hours:.1f} 小时",
        f"地点：{s.area_reason}",
        f"文字相似度 {s.text:.2f}" + (f"（共同要素：{'、'.join(shared[:5])}）" if shared else ""),
    ]
    if not s.same_kind:
        reasons.append("子类别不同")
    if s.conflict >= 0.5:
        reasons.append(f"名称不一致：{s.conflict_words}")
    return tuple(reasons)


def score(report: Facts, event: Facts, weights: Weights | None = None) -> Score:
    """The score of one candidate, with the reasons a duty officer reads. Without
    `weights`, the event alone is the window: every word weighs the same."""
    if report.category_top != event.category_top:
        return Score(0.0, ("类别不同",))
    if hours_apart(report, event) > CANDIDATE_WINDOW.total_seconds() / 3600:
        return Score(0.0, ("发生时间相差超过 24 小时",))
    w = weights or Weights(report, {0: event})
    s = signals(report, event, w)
    return Score(round(combine(s), 4), explain(report, event, w, s))


def best_match(report: Facts, events: Mapping[int, Facts]) -> tuple[int | None, Score]:
    """The best candidate among `events` (the window), with its score and reasons.

    Candidates are visited from the highest score their time, area and subcategory allow;
    once that bound falls below the best score found, no later candidate can beat it."""
    w = Weights(report, events)
    bounds = []
    for order, (event_id, facts) in enumerate(events.items()):
        found = _bound(report, facts)
        if found is not None:
            bounds.append((-found[0], order, event_id))
    bounds.sort()
    best_id, best_value, best_signals = None, 0.0, None
    for negative_bound, _order, event_id in bounds:
        if -negative_bound <= best_value:
            break
        s = signals(report, events[event_id], w)
        value = combine(s)
        if value > best_value:
            best_id, best_value, best_signals = event_id, value, s
    if best_id is None:
        return None, Score(0.0, ())
    reasons = explain(report, events[best_id], w, best_signals)
    return best_id, Score(round(best_value, 4), reasons)
