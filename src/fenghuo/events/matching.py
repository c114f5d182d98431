"""Is this report about an event we already have? Scores a report against candidates.

Pure functions over plain values, so the merge benchmark and the tests can drive them
without a database. The score combines four signals, each in [0, 1]:
- time: how close the two occurrence times are;
- place: same division code, same city, or distance when both have coordinates;
- text: overlap of the Chinese character bigrams of place, title and narrative;
- category: a different top-level category rules a match out.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# A report joins an event at or above JOIN; between REVIEW and JOIN a duty officer decides.
JOIN_THRESHOLD = 0.26
REVIEW_THRESHOLD = 0.18
# Events further apart in time than this are not candidates at all.
CANDIDATE_WINDOW = timedelta(hours=24)

# Text gates the score: two reports with nothing in common are different events however
# close in time and place (a traffic accident beside a plant explosion). Place and time
# then scale how much the shared words count.
BASE, PLACE_WEIGHT, TIME_WEIGHT = 0.45, 0.35, 0.20
OTHER_SUBCATEGORY = 0.8
_NOT_HAN_OR_WORD = re.compile(r"[^\w]+")
# Words every report repeats; they say nothing about which event it is.
STOP_BIGRAMS = frozenset(
    {"发生", "报告", "情况", "目前", "现场", "事件", "有关", "部门", "工作", "进行", "已经", "人员"}
)


@dataclass(frozen=True)
class Facts:
    """What matching needs to know about a report or an event."""

    category_top: int
    category: int
    occurred_at: datetime
    division_code: str
    text: str
    latitude: float | None = None
    longitude: float | None = None
    bigrams: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def of(cls, **values) -> "Facts":
        return cls(**values, bigrams=bigrams(values["text"]))


@dataclass(frozen=True)
class Score:
    value: float
    reasons: tuple[str, ...]


def bigrams(text: str) -> frozenset[str]:
    grams: set[str] = set()
    for chunk in _NOT_HAN_OR_WORD.split(text.lower()):
        grams.update(chunk[i : i + 2] for i in range(len(chunk) - 1))
    return frozenset(grams - STOP_BIGRAMS)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def time_signal(a: datetime, b: datetime) -> float:
    hours = abs((a - b).total_seconds()) / 3600
    if hours <= 2:
        return 1.0
    return max(0.0, 1 - (hours - 2) / 10)


def place_signal(a: Facts, b: Facts) -> tuple[float, str]:
    if None not in (a.latitude, a.longitude, b.latitude, b.longitude):
        km = distance_km(a.latitude, a.longitude, b.latitude, b.longitude)
        if km <= 1:
            return 1.0, f"相距 {km:.1f} 公里"
        if km <= 5:
            return 0.6, f"相距 {km:.1f} 公里"
        return (0.0 if km > 20 else 0.3), f"相距 {km:.0f} 公里"
    if a.division_code == b.division_code:
        return 1.0, "同一行政区划"
    if a.division_code[:4] == b.division_code[:4]:
        return 0.5, "同一地市"
    return 0.0, "不同地区"


def text_signal(a: Facts, b: Facts) -> float:
    """Overlap coefficient: a short report inside a longer one still counts fully."""
    if not a.bigrams or not b.bigrams:
        return 0.0
    return len(a.bigrams & b.bigrams) / min(len(a.bigrams), len(b.bigrams))


def score(report: Facts, event: Facts) -> Score:
    if report.category_top != event.category_top:
        return Score(0.0, ("类别不同",))
    if abs(report.occurred_at - event.occurred_at) > CANDIDATE_WINDOW:
        return Score(0.0, ("发生时间相差超过 24 小时",))
    t = time_signal(report.occurred_at, event.occurred_at)
    p, place_reason = place_signal(report, event)
    x = text_signal(report, event)
    value = x * (BASE + PLACE_WEIGHT * p + TIME_WEIGHT * t)
    if report.category != event.category:
        value *= OTHER_SUBCATEGORY
    reasons = (
        f"时间接近度 {t:.2f}",
        f"地点：{place_reason}",
        f"文字相似度 {x:.2f}",
    )
    return Score(round(value, 4), reasons)


def best_match(report: Facts, events: dict[int, Facts]) -> tuple[int | None, Score]:
    best_id, best = None, Score(0.0, ())
    for event_id, facts in events.items():
        candidate = score(report, facts)
        if candidate.value > best.value:
            best_id, best = event_id, candidate
    return best_id, best
