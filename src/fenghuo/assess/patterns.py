"""Pattern analysis (串并分析), the pure part: where an event happened, as a key that
recurring events share, and how alike two events read.

**Place key**, from the place as reported (the first that applies):
1. a road section — a numbered road (G318, S205, X012 …, with 国道/省道/县道/高速 or not)
   or a named expressway/road (沪渝高速, 滨江大道); with a kilometre mark (K123+500) the
   section is the `FENGHUO_ASSESS_PATTERNS["road_section_km"]`-kilometre stretch it falls
   in (K120—K130), else a named stretch (江口镇段), else the road within the division;
2. a facility — the most specific name ending in a facility word (化工厂, 煤矿, 医院, 学校,
   小区, 码头 …), after the administrative names at the front (江口县化工园区临江化工厂
   → 临江化工厂), within the division (人民医院 is in every county);
3. the division (行政区划代码).
It is a heuristic over free text: two reports that name the same place differently
(G318 at K12 and "江口镇段") get different keys, and the finding then waits for more.

**Words and similarity**: the words of an event's title, place and report narratives
(rjieba, the merge matcher's `tokens`: boilerplate, numbers and administrative names
dropped), compared by TF-IDF cosine over the candidate events (scikit-learn), so words
every event uses weigh little.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fenghuo.events.matching import tokens

ROAD_CODE = re.compile(r"(?<![A-Za-z0-9])([GSXYZgsxyz]\d{1,4})(?![0-9])(国道|省道|县道|乡道|高速)?")
ROAD_NAME = re.compile(r"([\u4e00-\u9fff]{2,8}?(?:高速公路|高速|快速路|大道|公路|国道|省道))")
KILOMETRE = re.compile(r"[Kk]\s*(\d{1,4})(?:\s*\+\s*(\d{1,3}))?")
STRETCH = re.compile(r"([\u4e00-\u9fff]{2,6}?(?:镇|乡|街道|村|段))段?")
ADMIN_PREFIX = re.compile(
    r"^(?:[\u4e00-\u9fff]{2,6}?(?:省|自治区|市|自治州|州|盟|县|(?<![小园景社校厂矿营])区|旗|镇|乡|街道))+"
)
FACILITY = re.compile(
    r"([\u4e00-\u9fff0-9]{2,16}?(?:化工厂|加油站|煤矿|矿井|矿|工厂|分厂|厂|公司|集团|"
    r"园区|学校|小学|中学|大学|学院|幼儿园|医院|卫生院|市场|商场|超市|小区|车站|火车站|"
    r"高铁站|汽车站|码头|港口|电站|水库|景区|广场|大桥|隧道|仓库|工地))"
)
ROAD_KIND = {"G": "国道", "S": "省道", "X": "县道", "Y": "乡道", "Z": "专用公路"}


@dataclass(frozen=True)
class Place:
    kind: str  # "road" | "facility" | "division"
    key: str
    label: str


def place_of(place: str, division_code: str, *, section_km: int = 10) -> Place:
    """The place key of an event (see the module docstring)."""
    text = re.sub(r"\s+", "", place or "")
    road = _road(text, division_code, section_km)
    if road is not None:
        return road
    body = ADMIN_PREFIX.sub("", text)
    names = FACILITY.findall(body)
    if names:
        name = names[-1]
        # Names like 人民医院 or 第一中学 repeat from county to county: keyed per division.
        return Place("facility", f"facility:{division_code}:{name}", name)
    return Place("division", f"division:{division_code}", f"行政区划 {division_code}")


def _road(text: str, division_code: str, section_km: int) -> Place | None:
    coded = ROAD_CODE.search(text)
    if coded is not None:
        code = coded.group(1).upper()
        road, label = code, f"{code}{coded.group(2) or ROAD_KIND.get(code[0], '')}"
        rest = text[coded.end() :]
    else:
        named = ROAD_NAME.search(ADMIN_PREFIX.sub("", text))
        if named is None:
            return None
        road = label = named.group(1)
        rest = text[text.find(road) + len(road) :]
    km = KILOMETRE.search(rest)
    if km is not None:
        low = int(km.group(1)) // section_km * section_km
        high = low + section_km
        return Place("road", f"road:{road}:K{low}-{high}", f"{label}K{low}—K{high}段")
    stretch = STRETCH.match(rest)
    if stretch is not None:
        name = stretch.group(1).removesuffix("段")
        return Place("road", f"road:{road}:{name}", f"{label}{name}段")
    return Place("road", f"road:{road}@{division_code}", f"{label}（{division_code}）")


def words_of(*texts: str) -> list[str]:
    """The distinctive words of some texts, sorted (administrative names left out: the
    place key speaks for the place)."""
    found: set[str] = set()
    for text in texts:
        if text:
            words, admin = tokens(text)
            found |= words - admin
    return sorted(found)


def similarities(words: Sequence[str], others: Sequence[Sequence[str]]) -> list[float]:
    """Cosine similarity of `words` to each of `others`, TF-IDF weighted over them all."""
    if not words or not others:
        return [0.0] * len(others)
    documents = [list(words), *(list(o) for o in others)]
    if not any(documents[1:]):
        return [0.0] * len(others)
    # Imported on first use: scikit-learn takes seconds to import, which every process
    # loading the assess app (web, worker, migrate) need not pay.
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=lambda doc: doc, sublinear_tf=True)
    matrix = vectorizer.fit_transform(documents)  # rows are L2-normalised
    return [float(value) for value in (matrix[1:] @ matrix[0].T).toarray().ravel()]
