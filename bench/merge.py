"""Automatic merging of reports into events: pairwise precision and recall.

A deterministic generator (seeded) writes reports about a few hundred events in a
fictitious province of two cities and seven counties, the way several units would: the
county office, emergency management, environment, health, public security, the fire
brigade, the township, transport, market supervision, the media, city-level bureaus. Each
unit sees its own side of the event and says it in its own words: title and narrative from
templates with synonyms and shuffled sentences, the place with or without county and town,
the plant or road under its full name, a short name or only "一化工企业", an occurrence time
off by minutes to a few hours, figures that disagree. Around the events it puts distractors:
another accident in the same county the same hour, another fire in the same town, the same
kind of event in the neighbouring county (on the same national road, the same river), the
same site again a day later.

The reports are filed in the order they arrive through the real service,
`fenghuo.events.services.file_report`, on a fresh database (SQLite in a temporary folder;
a dedicated PostgreSQL database when DATABASE_URL points at PostgreSQL), so matching sees
exactly what production sees: `event_facts_for_matching` and `matching.best_match`.

Figures:
- pairwise precision: of the report pairs Fenghuo put in one event, the share that are
  about one event; recall: of the pairs about one event, the share Fenghuo put together.
  Goal: both ≥ 0.95. A report in the grey zone counts as not merged (it makes a new
  event) — the duty officer's review, counted separately, may still merge it;
- reviews: MergeCandidates created ("可能是同一事件"), and how many point at the right event;
- time per first report through `file_report` (validation, matching, event, timeline,
  audit), and per call of `matching.best_match` alone, against the anchor: filing a 续报
  into a known event, the same service without matching, timed alongside (one every few
  reports) so that load on the machine falls on both alike.

    .venv/bin/python bench/merge.py              the table (database run)
    .venv/bin/python bench/merge.py --memory     matching only, events kept in memory
    .venv/bin/python bench/merge.py --seed 7     another generated set
    .venv/bin/python bench/merge.py --errors 20  list wrongly merged / split reports
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _common import (  # noqa: E402
    Row,
    database_label,
    in_fresh_database,
    percentile,
    print_table,
)

NAME = "merge"
SEED = 20251123
PRIMARY_EVENTS = 200
GOAL = 0.95
# Everything happens in a fixed past week (Beijing time), so a run is the same on any day.
START = datetime(2025, 3, 3, 0, 0, tzinfo=UTC) - timedelta(hours=8)
DAYS = 6

# --------------------------------------------------------------------------- the world

PROVINCE = ("江南省", "990000")
CITIES = {
    "临江市": ("9901", ["江口县", "青石县", "柳河县", "白沙县"]),
    "云州市": ("9902", ["龙泉县", "云台县", "石门县"]),
}
NEIGHBOURS = {
    "江口县": ["青石县", "柳河县"],
    "青石县": ["江口县", "柳河县", "石门县"],
    "柳河县": ["江口县", "青石县", "白沙县"],
    "白沙县": ["柳河县", "龙泉县"],
    "龙泉县": ["白沙县", "云台县"],
    "云台县": ["龙泉县", "石门县"],
    "石门县": ["云台县", "青石县"],
}
TOWN_POOL = [
    "河西镇", "石桥镇", "新店镇", "桃源乡", "马坪镇", "黄岭乡", "清溪镇", "大河镇",
    "双龙镇", "长岗乡", "柏树镇", "金鸡镇", "高峰镇", "水口镇", "沙湾镇", "东岳镇",
    "观音桥镇", "白马镇", "天星乡", "龙潭镇", "永兴镇", "望江镇", "青龙镇", "太平镇",
    "河西镇", "太平镇", "新店镇",
]  # fmt: skip
# Roads, rivers and mountains that cross county lines: the same name in several counties.
NATIONAL_ROADS = {
    "G318国道": ["江口县", "青石县", "柳河县"],
    "G209国道": ["白沙县", "龙泉县", "云台县"],
    "S205省道": ["江口县", "白沙县", "柳河县"],
    "S312省道": ["青石县", "石门县", "云台县"],
    "沪渝高速": ["江口县", "青石县", "柳河县"],
    "银昆高速": ["龙泉县", "云台县", "石门县"],
}
RIVERS = {
    "清水河": ["江口县", "柳河县", "青石县"],
    "白龙江": ["白沙县", "龙泉县"],
    "桃花溪": ["云台县", "石门县"],
    "黑水河": ["青石县", "石门县"],
}
MOUNTAINS = {
    "凤凰山": ["江口县", "青石县"],
    "大青山": ["柳河县", "白沙县"],
    "老君山": ["龙泉县", "云台县"],
    "鸡公岭": ["石门县", "青石县"],
}
STREETS = ["人民路", "解放路", "建设路", "中山路", "滨江路", "新华街", "朝阳路", "文化路"]
FIRM_PREFIXES = [
    "恒达", "宏远", "鑫源", "永安", "华兴", "金鼎", "瑞丰", "东方", "新华", "明珠", "天宇",
    "隆盛", "富民", "振兴", "盛达", "佳和", "同心", "万通", "兴旺", "泰和", "通达", "安泰",
    "金山", "银河", "北辰", "宏达", "嘉禾", "远航", "广源", "德信",
]  # fmt: skip
ESTATES = ["幸福小区", "阳光花园", "锦绣家园", "翠湖苑", "江景花园", "金色家园", "和谐小区"]
SURNAMES = ["张", "李", "王", "刘", "陈", "杨", "赵", "黄", "周", "吴", "何", "罗"]
VILLAGE_SUFFIX = ["家湾村", "家坪村", "家沟村", "家坝村", "家庄村"]
COMMON_VILLAGES = ["新民村", "红星村", "团结村", "胜利村", "光明村"]


@dataclass(frozen=True)
class County:
    name: str
    stem: str
    code: str
    city: str
    towns: tuple[str, ...]
    lat: float
    lon: float


@dataclass(frozen=True)
class Site:
    """A place an event happens at: its names (canonical first), town and coordinates."""

    kind: str
    names: tuple[str, ...]
    generic: str  # how a report says it without naming it: 一化工企业
    town: str
    lat: float
    lon: float
    extra: tuple[tuple[str, str], ...] = ()

    def get(self, key: str) -> str:
        return dict(self.extra).get(key, "")


def build_world(rng: random.Random) -> dict[str, County]:
    counties = {}
    pool = list(TOWN_POOL)
    rng.shuffle(pool)
    for c_index, (city, (prefix, names)) in enumerate(CITIES.items()):
        for index, name in enumerate(names, start=1):
            towns = ["城关镇"]
            while len(towns) < 4:
                town = pool.pop()
                if town not in towns:
                    towns.append(town)
            counties[name] = County(
                name=name,
                stem=name[:-1],
                code=f"{prefix}{20 + index}",
                city=city,
                towns=tuple(towns),
                lat=27.0 + c_index * 0.6 + index * 0.25,
                lon=110.0 + index * 0.3,
            )
    return counties


def _near(rng: random.Random, lat: float, lon: float, km: float) -> tuple[float, float]:
    return (
        round(lat + rng.uniform(-km, km) / 111, 5),
        round(lon + rng.uniform(-km, km) / 100, 5),
    )


def make_site(rng: random.Random, kind: str, county: County, town: str) -> Site:
    """A new site of `kind` in `town` of `county`."""
    lat, lon = _near(rng, county.lat, county.lon, 15)
    firm = rng.choice(FIRM_PREFIXES)
    town_stem = town[:-1]
    if kind == "chem_plant":
        names = (f"{firm}化工有限公司", f"{firm}化工厂", f"{firm}化工", f"{firm}公司")
        if rng.random() < 0.5:
            names += (f"{county.stem}化工园区{firm}化工",)
        return Site(
            kind, names, rng.choice(["一化工企业", "一家化工厂", "某化工公司"]), town, lat, lon
        )
    if kind == "mine":
        names = (f"{firm}煤业有限公司{town_stem}煤矿", f"{firm}煤矿", f"{town_stem}{firm}煤矿")
        return Site(kind, names, rng.choice(["一煤矿", "辖区内一煤矿"]), town, lat, lon)
    if kind == "factory":
        product = rng.choice(["机械", "纺织", "建材", "造纸", "食品", "木业", "铸造"])
        names = (f"{firm}{product}有限公司", f"{firm}{product}厂", f"{firm}公司")
        return Site(kind, names, f"一{product}企业", town, lat, lon, (("product", product),))
    if kind == "road":
        here = [r for r, where in NATIONAL_ROADS.items() if county.name in where]
        if here and rng.random() < 0.55:
            road = rng.choice(here)
            km = rng.randint(12, 1980)
            marker = f"K{km}+{rng.randrange(0, 1000, 50):03d}"
            names = (f"{road}{marker}处", f"{road}{town_stem}段", road, f"{road}{county.stem}段")
            return Site(kind, names, "辖区道路", town, lat, lon, (("road", road),))
        if rng.random() < 0.5:
            a, b = rng.sample(STREETS, 2)
            names = (f"{town}{a}与{b}交叉口", f"{a}与{b}交叉路口", f"{a}{b}路口")
            return Site(kind, names, "城区一路口", town, lat, lon, (("road", a),))
        road = f"县道X{rng.randint(1, 60):03d}"
        names = (f"{road}{town_stem}段", f"{road}{rng.choice(SURNAMES)}家湾路段", road)
        return Site(kind, names, "乡村道路", town, lat, lon, (("road", road),))
    if kind == "building":
        sort = rng.choice(["residence", "market", "warehouse", "restaurant", "shop", "ktv"])
        if sort == "residence":
            estate = rng.choice(ESTATES)
            block = rng.randint(1, 18)
            names = (f"{town}{estate}{block}栋", f"{estate}{block}栋", estate)
            generic, what = "一居民楼", "居民楼"
        elif sort == "market":
            names = (f"{town_stem}农贸市场", f"{town}农贸市场", f"{town_stem}菜市场")
            generic, what = "一农贸市场", "市场摊位"
        elif sort == "warehouse":
            names = (f"{firm}物流园仓库", f"{firm}物流仓库", f"{firm}物流园")
            generic, what = "一物流仓库", "仓库"
        elif sort == "restaurant":
            names = (f"{firm}大酒店", f"{firm}酒店", f"{firm}饭店")
            generic, what = "一餐饮店", "后厨"
        elif sort == "shop":
            street = rng.choice(STREETS)
            names = (f"{town}{street}{firm}超市", f"{firm}超市", f"{street}{firm}超市")
            generic, what = "一商铺", "超市"
        else:
            names = (f"{firm}KTV", f"{firm}歌城", f"{firm}娱乐会所")
            generic, what = "一娱乐场所", "包厢"
        return Site(kind, names, generic, town, lat, lon, (("what", what), ("sort", sort)))
    if kind == "construction":
        project = rng.choice(
            [
                f"{firm}花园二期",
                f"{county.stem}县人民医院新院区",
                f"{town_stem}污水处理厂",
                f"{firm}商业广场",
                f"{town_stem}安置小区",
                f"{firm}大厦",
            ]
        )
        names = (f"{project}项目工地", f"{project}建设工地", f"{project}工地", project)
        return Site(kind, names, "一建筑工地", town, lat, lon)
    if kind == "river":
        here = [r for r, where in RIVERS.items() if county.name in where] or list(RIVERS)
        river = rng.choice(here)
        village = _village(rng)
        names = (f"{river}{town_stem}段", f"{river}{village}段", f"{village}附近{river}", river)
        return Site(kind, names, "辖区河段", town, lat, lon, (("river", river), ("v", village)))
    if kind == "village":
        village = _village(rng)
        group = rng.randint(1, 12)
        names = (
            f"{town}{village}{group}组",
            f"{village}{group}组",
            f"{town_stem}{village}",
            village,
        )
        return Site(kind, names, "一村组", town, lat, lon, (("village", village),))
    if kind == "mountain":
        here = [m for m, where in MOUNTAINS.items() if county.name in where] or list(MOUNTAINS)
        mountain = rng.choice(here)
        village = _village(rng)
        names = (
            f"{mountain}{town_stem}林区",
            f"{town}{village}{mountain}",
            mountain,
            f"{mountain}林区",
        )
        return Site(kind, names, "辖区林地", town, lat, lon, (("mountain", mountain),))
    if kind == "canteen":
        sort = rng.choice(["school", "banquet", "factory"])
        if sort == "school":
            school = rng.choice(
                [
                    f"{town_stem}中心小学",
                    f"{town_stem}中学",
                    f"{county.stem}实验小学",
                    f"{county.stem}县第二中学",
                ]
            )
            names = (f"{school}食堂", school, f"{school}学生食堂")
            generic = "一学校"
        elif sort == "banquet":
            village = _village(rng)
            host = rng.choice(SURNAMES)
            names = (f"{town}{village}{host}姓村民家宴", f"{village}村民{host}某家", f"{village}")
            generic = "一农村家宴"
        else:
            names = (f"{firm}电子厂职工食堂", f"{firm}电子厂", f"{firm}公司食堂")
            generic = "一企业食堂"
        return Site(kind, names, generic, town, lat, lon, (("sort", sort),))
    if kind == "firm":
        names = (f"{firm}置业有限公司", f"{firm}置业", f"{firm}公司")
        return Site(kind, names, "一房地产企业", town, lat, lon)
    if kind == "street":
        street = rng.choice(STREETS)
        names = (f"{town}{street}", f"{street}步行街", f"{street}{rng.randint(1, 300)}号附近")
        return Site(kind, names, "城区街道", town, lat, lon, (("street", street),))
    raise ValueError(kind)


def _village(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(COMMON_VILLAGES)
    return rng.choice(SURNAMES) + rng.choice(VILLAGE_SUFFIX)


# --------------------------------------------------------------------------- events

# kind → (category code, kinds of site, units that report it with a weight)
KINDS: dict[str, tuple[str, tuple[str, ...], dict[str, float]]] = {
    "explosion": ("hazchem", ("chem_plant",), {
        "party_office": 1, "emergency": 1, "environment": 0.8, "health": 0.8,
        "public_security": 0.6, "fire": 0.7, "township": 0.5, "media": 0.5,
        "city_emergency": 0.4, "city_media": 0.3}),
    "leak": ("hazchem", ("chem_plant",), {
        "party_office": 0.9, "emergency": 1, "environment": 1, "health": 0.5,
        "fire": 0.6, "township": 0.5, "media": 0.4, "city_emergency": 0.3}),
    "mine": ("work_safety", ("mine",), {
        "party_office": 1, "emergency": 1, "health": 0.6, "public_security": 0.4,
        "township": 0.6, "media": 0.3, "city_emergency": 0.5}),
    "factory": ("work_safety", ("factory",), {
        "party_office": 0.8, "emergency": 1, "health": 0.6, "township": 0.6,
        "public_security": 0.3}),
    "traffic": ("road_traffic", ("road",), {
        "public_security": 1, "transport": 0.8, "health": 0.6, "party_office": 0.8,
        "township": 0.4, "media": 0.4, "emergency": 0.4, "city_media": 0.2}),
    "fire": ("fire", ("building",), {
        "fire": 1, "party_office": 0.8, "emergency": 0.8, "health": 0.5,
        "public_security": 0.5, "township": 0.6, "media": 0.5, "city_media": 0.2}),
    "construction": ("construction", ("construction",), {
        "party_office": 0.9, "emergency": 1, "health": 0.6, "public_security": 0.5,
        "township": 0.5, "media": 0.4}),
    "pollution": ("pollution", ("river",), {
        "environment": 1, "party_office": 0.8, "water": 0.7, "township": 0.7, "media": 0.5,
        "city_media": 0.3}),
    "flood": ("flood", ("village",), {
        "water": 1, "party_office": 1, "emergency": 0.9, "township": 0.9, "media": 0.5,
        "natural_resources": 0.3}),
    "landslide": ("geological", ("village",), {
        "natural_resources": 1, "emergency": 0.9, "party_office": 1, "township": 0.9,
        "media": 0.4, "health": 0.3}),
    "forest_fire": ("forest_fire", ("mountain",), {
        "emergency": 1, "fire": 0.8, "party_office": 1, "township": 0.8, "media": 0.5,
        "natural_resources": 0.6}),
    "poisoning": ("food_safety", ("canteen",), {
        "health": 1, "market": 0.9, "party_office": 0.9, "education": 0.5, "township": 0.6,
        "media": 0.5}),
    "mass": ("mass_incident", ("firm",), {
        "public_security": 1, "party_office": 1, "township": 0.6, "media": 0.4}),
    "crime": ("criminal", ("street",), {
        "public_security": 1, "party_office": 0.8, "health": 0.6, "media": 0.6,
        "township": 0.3}),
}  # fmt: skip
KIND_WEIGHTS = {
    "explosion": 6, "leak": 4, "mine": 4, "factory": 4, "traffic": 14, "fire": 10,
    "construction": 5, "pollution": 4, "flood": 4, "landslide": 4, "forest_fire": 3,
    "poisoning": 5, "mass": 4, "crime": 4,
}  # fmt: skip
TOP = {
    "hazchem": "accident", "work_safety": "accident", "road_traffic": "accident",
    "fire": "accident", "construction": "accident", "pollution": "accident",
    "flood": "natural", "geological": "natural", "forest_fire": "natural",
    "food_safety": "health", "poisoning": "health", "mass_incident": "social",
    "criminal": "social",
}  # fmt: skip
# Another unit may file the same event under a neighbouring subcategory.
ALT_CATEGORY = {
    ("explosion", "environment"): "pollution",
    ("explosion", "fire"): "fire",
    ("explosion", "city_emergency"): "work_safety",
    ("leak", "environment"): "pollution",
    ("construction", "emergency"): "work_safety",
    ("landslide", "water"): "flood",
    ("flood", "natural_resources"): "geological",
    ("poisoning", "health"): "poisoning",
}
SPREADS = {"forest_fire", "flood", "pollution"}  # may be reported from both sides of a line


@dataclass
class EventSpec:
    id: int
    kind: str
    county: County
    town: str
    site: Site
    at: datetime
    dead: int
    injured: int
    missing: int
    details: dict[str, str | int]
    role: str = "primary"
    related: int | None = None
    other_county: County | None = None  # a border event: reported from both counties


@dataclass
class ReportSpec:
    event: int
    role: str
    unit: str
    unit_kind: str
    received_at: datetime
    occurred_at: datetime
    category: str
    division_code: str
    place: str
    title: str
    narrative: str
    dead: int | None = None
    injured: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    extra: dict = field(default_factory=dict)


def _details(rng: random.Random, kind: str, site: Site) -> dict[str, str | int]:
    if kind == "explosion":
        return {
            "part": rng.choice(
                ["合成车间", "二号车间", "储罐区", "反应釜", "包装车间", "原料仓库", "三车间"]
            ),
            "smoke": rng.choice(["黄色烟雾", "黑色浓烟", "白色烟雾"]),
        }
    if kind == "leak":
        return {
            "gas": rng.choice(["液氨", "氯气", "硫化氢", "盐酸", "甲醛", "苯"]),
            "part": rng.choice(["储罐", "管道阀门", "槽车", "输送管线"]),
        }
    if kind == "mine":
        return {
            "how": rng.choice(["冒顶", "透水", "瓦斯爆炸", "运输跑车", "片帮"]),
            "face": rng.choice(["3102工作面", "二采区", "1205综采工作面", "主运输巷"]),
        }
    if kind == "factory":
        return {"how": rng.choice(["机械伤害", "高处坠落", "物体打击", "触电", "粉尘燃爆"])}
    if kind == "traffic":
        a, b = rng.sample(
            [
                "货车",
                "小轿车",
                "大客车",
                "面包车",
                "摩托车",
                "电动自行车",
                "重型半挂车",
                "SUV",
                "油罐车",
                "校车",
            ],
            2,
        )
        return {
            "a": a,
            "b": b,
            "how": rng.choice(["相撞", "追尾", "侧翻", "刮擦后翻入边沟", "迎面相撞"]),
        }
    if kind == "fire":
        return {"area": rng.choice([20, 50, 80, 120, 200, 350, 600])}
    if kind == "construction":
        return {
            "how": rng.choice(
                ["脚手架坍塌", "塔吊倒塌", "基坑坍塌", "模板支撑体系坍塌", "施工升降机坠落"]
            )
        }
    if kind == "pollution":
        return {
            "sign": rng.choice(["大量死鱼", "水体发黑发臭", "水面漂浮油污", "河水变红"]),
            "length": rng.choice([1, 2, 3, 5, 8]),
        }
    if kind == "flood":
        return {"houses": rng.choice([12, 30, 46, 80, 150]), "moved": rng.choice([60, 120, 300])}
    if kind == "landslide":
        return {"volume": rng.choice([3000, 8000, 20000, 50000]), "houses": rng.randint(1, 9)}
    if kind == "forest_fire":
        return {"area": rng.choice([10, 30, 50, 120, 300]), "men": rng.choice([80, 150, 300, 500])}
    if kind == "poisoning":
        return {"ill": rng.randint(8, 90), "sign": rng.choice(["呕吐腹泻", "恶心头晕", "腹痛发热"])}
    if kind == "mass":
        return {
            "crowd": rng.choice([30, 50, 80, 120, 200]),
            "why": rng.choice(
                ["讨要拖欠工资", "反映房屋质量问题", "要求退还购房定金", "对拆迁补偿不满"]
            ),
            "where": rng.choice(["县政府门口", "售楼部", "项目部门前", "镇政府门口"]),
        }
    if kind == "crime":
        return {"weapon": rng.choice(["持刀", "持械", "驾车"]), "why": "纠纷"}
    return {}


def _figures(rng: random.Random, kind: str) -> tuple[int, int, int]:
    """Dead, injured, missing (or trapped) as verified later."""
    if kind in ("pollution", "mass"):
        return 0, 0, 0
    if kind == "poisoning":
        return 0, 0, 0
    if kind in ("flood", "landslide"):
        return rng.choice([0, 0, 1, 2, 3]), rng.randint(0, 4), rng.choice([0, 0, 1, 2, 4])
    if kind == "forest_fire":
        return 0, rng.choice([0, 0, 1]), 0
    if kind == "crime":
        return rng.choice([0, 0, 1, 2]), rng.choice([1, 2, 3, 4]), 0
    dead = rng.choice([0, 0, 1, 1, 2, 3, 4, 6, 9])
    injured = rng.choice([0, 1, 2, 3, 5, 8, 12, 20])
    missing = rng.choice([0, 0, 0, 1, 3]) if kind in ("mine", "explosion", "construction") else 0
    return dead, injured, missing


def _moment(rng: random.Random) -> datetime:
    """Mostly daytime, any day of the week."""
    day = rng.randrange(DAYS)
    hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2] + [4] * 16 + [2, 2])[0]
    return START + timedelta(days=day, hours=hour, minutes=rng.randrange(60))


def _distractor(rng, world, new, same_top, base: EventSpec, relation: int) -> EventSpec | None:
    shift = timedelta(minutes=rng.randint(-60, 60))
    if relation == 0:  # same county, same hour, another kind of the same class
        others = [k for k in same_top[TOP[KINDS[base.kind][0]]] if k != base.kind]
        others = others or [k for k in KINDS if k != base.kind]
        town = base.town if rng.random() < 0.6 else rng.choice(base.county.towns)
        return new(
            rng.choice(others),
            base.county,
            town,
            base.at + shift,
            role="same county, other kind",
            related=base.id,
        )
    if relation == 1:  # same town, same kind, another site, within three hours
        shift = timedelta(minutes=rng.choice([-1, 1]) * rng.randint(10, 180))
        return new(
            base.kind,
            base.county,
            base.town,
            base.at + shift,
            role="same town, same kind",
            related=base.id,
        )
    if relation == 2:  # neighbouring county, same kind, same hour (same road or river)
        county = world[rng.choice(NEIGHBOURS[base.county.name])]
        road = base.site.get("road")
        if base.kind == "traffic" and county.name in NATIONAL_ROADS.get(road, ()):
            town = rng.choice(county.towns)
            marker = f"K{rng.randint(12, 1980)}+{rng.randrange(0, 1000, 50):03d}"
            site = Site(
                "road",
                (f"{road}{marker}处", f"{road}{town[:-1]}段", road, f"{road}{county.stem}段"),
                "辖区道路",
                town,
                *_near(rng, county.lat, county.lon, 15),
                (("road", road),),
            )
            return new(
                base.kind,
                county,
                town,
                base.at + shift,
                site=site,
                check=False,
                role="neighbouring county, same kind",
                related=base.id,
            )
        return new(
            base.kind,
            county,
            rng.choice(county.towns),
            base.at + shift,
            role="neighbouring county, same kind",
            related=base.id,
        )
    # the same site again, a day or so later
    later = timedelta(hours=rng.uniform(20, 40))
    return new(
        base.kind,
        base.county,
        base.town,
        base.at + later,
        site=base.site,
        check=False,
        role="same site, a day later",
        related=base.id,
    )


def generate_events(seed: int = SEED) -> tuple[dict[str, County], list[EventSpec]]:
    rng = random.Random(seed)
    world = build_world(rng)
    names = list(world)
    kinds, weights = zip(*KIND_WEIGHTS.items(), strict=True)
    events: list[EventSpec] = []

    def identity(kind: str, county: County, site: Site) -> set[str]:
        """What tells one event from another for a careful reader: the site's names, and the
        road, river, mountain or village within one county."""
        found = {f"{TOP[KINDS[kind][0]]}:{name}" for name in site.names}
        for key in ("mountain", "river", "village", "road"):
            if site.get(key):
                found.add(f"{TOP[KINDS[kind][0]]}:{county.name}:{site.get(key)}")
        return found

    def clashes(kind, county, site, at) -> bool:
        mine = identity(kind, county, site)
        return any(
            abs(other.at - at) < timedelta(hours=30)
            and mine & identity(other.kind, other.county, other.site)
            for other in events
        )

    def new(kind, county, town, at, site=None, check=True, **more) -> EventSpec | None:
        """A new event, unless every site tried is one an event nearby in time already has
        (two fires on one mountain the same afternoon are one fire for any reader)."""
        for _attempt in range(30):
            candidate = site or make_site(rng, rng.choice(KINDS[kind][1]), county, town)
            if not check or not clashes(kind, county, candidate, at):
                break
            if site is not None:
                return None
        else:
            return None
        dead, injured, missing = _figures(rng, kind)
        event = EventSpec(
            len(events),
            kind,
            county,
            town,
            candidate,
            at,
            dead,
            injured,
            missing,
            _details(rng, kind, candidate),
            **more,
        )
        shared = candidate.get("mountain") or candidate.get("river")
        if kind in SPREADS and shared and rng.random() < 0.3:
            across = MOUNTAINS.get(shared) or RIVERS.get(shared)
            sides = [c for c in NEIGHBOURS[county.name] if c in across]
            if sides:
                event.other_county = world[rng.choice(sides)]
        events.append(event)
        return event

    while len(events) < PRIMARY_EVENTS:
        county = world[rng.choice(names)]
        new(rng.choices(kinds, weights)[0], county, rng.choice(county.towns), _moment(rng))

    # Distractors, each next to one primary event.
    primaries = list(events)
    same_top = defaultdict(list)
    for kind, (category, _sites, _units) in KINDS.items():
        same_top[TOP[category]].append(kind)
    bases = rng.sample(primaries, PRIMARY_EVENTS // 2)  # each primary gets one at most
    for index, base in enumerate(bases):
        relation = index % 4
        for _attempt in range(20):
            if _distractor(rng, world, new, same_top, base, relation) is not None:
                break
    return world, events


# --------------------------------------------------------------------------- reports

CITY_UNITS = ("city_emergency", "city_media")


def unit_name(kind: str, county: County, town: str) -> str:
    city = county.city
    return {
        "party_office": f"{county.name}委办公室",
        "emergency": f"{county.name}应急管理局",
        "environment": f"{city}生态环境局{county.stem}分局",
        "health": f"{county.name}卫生健康局",
        "public_security": f"{county.name}公安局",
        "fire": f"{county.name}消防救援大队",
        "township": f"{county.name}{town}人民政府",
        "media": f"{county.name}融媒体中心",
        "transport": f"{county.name}交通运输局",
        "water": f"{county.name}水利局",
        "natural_resources": f"{county.name}自然资源局",
        "market": f"{county.name}市场监督管理局",
        "education": f"{county.name}教育局",
        "city_emergency": f"{city}应急管理局",
        "city_media": f"{city[:-1]}日报社",
    }[kind]


# The kind of unit (org.UnitKind code) behind each reporting role.
UNIT_KIND_CODE = {
    "party_office": "party_office",
    "fire": "other",
    "city_emergency": "emergency",
    "city_media": "media",
}

NOUN = {
    "explosion": ["爆炸事故", "爆炸", "爆燃事故"],
    "leak": ["{gas}泄漏事故", "危化品泄漏事故", "{gas}泄漏"],
    "mine": ["{how}事故", "煤矿事故", "井下{how}事故"],
    "factory": ["{how}事故", "生产安全事故", "工亡事故"],
    "traffic": ["交通事故", "道路交通事故", "车祸"],
    "fire": ["火灾", "火灾事故", "火情"],
    "construction": ["{how}事故", "施工安全事故", "坍塌事故"],
    "pollution": ["水污染事件", "河道污染", "突发环境事件"],
    "flood": ["洪涝灾害", "山洪灾害", "暴雨洪涝"],
    "landslide": ["山体滑坡", "滑坡灾害", "地质灾害"],
    "forest_fire": ["森林火灾", "山火", "林区火情"],
    "poisoning": ["疑似食物中毒事件", "食物中毒", "群体性食源性疾病"],
    "mass": ["群体性聚集事件", "聚集上访事件", "人员聚集"],
    "crime": ["伤人案件", "刑事案件", "{weapon}伤人事件"],
}
WHAT = {
    "explosion": [
        "{ref}{part}发生爆炸",
        "{ref}突发爆炸事故，{part}受损严重",
        "{ref}发生一起爆燃事故",
        "{ref}{part}发生闪爆，并伴有{smoke}",
        "{ref}传出巨响，随后冒出{smoke}",
    ],
    "leak": [
        "{ref}{part}发生{gas}泄漏",
        "{ref}一{part}破裂，导致{gas}外泄",
        "{ref}出现{gas}泄漏险情",
        "{ref}在装卸作业时{part}发生泄漏，泄漏物为{gas}",
    ],
    "mine": [
        "{ref}{face}发生{how}事故",
        "{ref}井下发生{how}",
        "{ref}{face}突发{how}，有工人被困井下",
        "{ref}在生产过程中发生{how}",
    ],
    "factory": [
        "{ref}一名工人在作业时发生{how}",
        "{ref}发生一起{how}事故",
        "{ref}生产车间发生{how}",
    ],
    "traffic": [
        "{ref}一辆{a}与一辆{b}{how}",
        "{ref}发生一起{a}与{b}{how}的交通事故",
        "一辆{a}行驶至{ref}时与{b}{how}",
        "{ref}发生交通事故，一辆{b}与{a}{how}",
        "{ref}两车{how}",
    ],
    "fire": [
        "{ref}{what}起火",
        "{ref}发生火灾，过火面积约{area}平方米",
        "{ref}突发火情，{what}浓烟滚滚",
        "{ref}{what}失火",
        "{ref}着火，火势较大",
    ],
    "construction": [
        "{ref}发生{how}",
        "{ref}施工过程中突发{how}事故",
        "{ref}{how}，有工人被埋压",
    ],
    "pollution": [
        "{ref}出现{sign}现象",
        "群众反映{ref}{sign}，受影响河段长约{length}公里",
        "{ref}疑似遭受污染，{sign}",
    ],
    "flood": [
        "受强降雨影响，{ref}山洪暴发，{houses}户房屋进水",
        "{ref}遭受洪涝灾害，河水漫堤",
        "{ref}因暴雨引发内涝，大片农田被淹",
        "持续强降雨导致{ref}发生洪水，部分房屋倒塌",
    ],
    "landslide": [
        "{ref}发生山体滑坡，滑坡体约{volume}立方米",
        "{ref}突发山体垮塌，{houses}户房屋被掩埋",
        "连续降雨导致{ref}发生滑坡",
        "{ref}后山垮塌，泥石冲入民房",
    ],
    "forest_fire": [
        "{ref}发生森林火灾",
        "{ref}突发山火，过火面积约{area}亩",
        "{ref}林地起火，火势向山顶蔓延",
        "{ref}燃起大火，浓烟可见",
    ],
    "poisoning": [
        "{ref}多名就餐人员出现{sign}症状",
        "{ref}发生一起疑似食物中毒事件，{ill}人就医",
        "{ref}就餐后{ill}人陆续出现{sign}",
    ],
    "mass": [
        "{crowd}余名群众在{where}聚集，{why}",
        "{ref}部分人员因{why}在{where}聚集",
        "因{why}，约{crowd}人聚集在{ref}{where}",
    ],
    "crime": [
        "{ref}发生一起{weapon}伤人案件",
        "一男子在{ref}{weapon}行凶",
        "{ref}因{why}引发{weapon}伤人",
    ],
}
FOCUS = {
    "party_office": [
        "县委县政府主要领导已赶赴现场指挥处置",
        "已成立现场指挥部，统筹做好救援和善后工作",
        "接报后第一时间向县主要领导报告",
        "县委常委、常务副县长带队赶赴现场",
        "县里已组织相关部门全力开展处置",
    ],
    "emergency": [
        "已启动{level}级应急响应",
        "局主要负责同志带领工作组赶赴现场指导救援",
        "已协调调集救援力量开展搜救",
        "已责令相关企业全面停产排查隐患",
        "应急、消防等部门正在开展救援",
    ],
    "environment": [
        "已在周边布设{n}个监测点位开展应急监测",
        "对下游水质开展监测，暂未发现超标",
        "已对沿岸排污口开展排查，取样送检",
        "消防废水已引入应急池，防止次生污染",
        "初步判断与上游企业排放有关",
    ],
    "health": [
        "伤员已送往{hospital}救治",
        "{hospital}已组织专家会诊，开通绿色通道",
        "已调派{k}辆救护车到场转运伤员",
        "{hospital}收治相关患者，其中{s}人病情较重",
    ],
    "public_security": [
        "已对现场实施警戒和交通管制",
        "相关责任人已被控制",
        "公安民警正在进行现场勘查",
        "已抽调警力维护现场秩序，防止事态扩大",
        "犯罪嫌疑人已被抓获，案件正在侦办",
    ],
    "fire": [
        "出动{k}辆消防车、{n}名指战员到场处置",
        "明火已被扑灭，正在清理现场",
        "消防救援人员已搜救出被困群众{s}人",
    ],
    "township": [
        "镇党委政府已组织疏散周边群众",
        "镇主要负责人已赶到现场",
        "正在逐户排查受损情况",
        "已将受影响群众临时安置",
    ],
    "media": [
        "据现场目击者称，当时听到巨大声响",
        "网络上已有相关视频传播，引发网民关注",
        "记者赶到现场时，救援人员正在紧张施救",
        "据附近居民反映，事发突然",
    ],
    "transport": [
        "已安排养护人员清理路面，设置绕行提示",
        "事故路段单向放行，预计两小时后恢复通行",
    ],
    "water": [
        "河道水位已超警戒{x}米",
        "已组织巡堤查险，转移群众{moved}人",
    ],
    "natural_resources": [
        "已派出地质专家现场调查，划定危险区",
        "对周边地质灾害隐患点开展排查",
    ],
    "market": [
        "已对涉事食堂采取控制措施，封存剩余食品",
        "对食品原料进行抽样送检",
    ],
    "education": [
        "学校已暂停用餐服务，并向家长通报情况",
        "已派工作组进驻学校",
    ],
    "city_emergency": [
        "市应急管理局已派出工作组赶赴{county}",
        "市局已调度相关救援力量支援",
    ],
    "city_media": [
        "据{county}官方消息",
        "本报记者从{county}有关部门获悉",
    ],
}
# Lines that only make sense for some kinds of event.
_PLANTS = {"explosion", "leak", "mine", "factory", "construction"}
FOCUS_KINDS = {
    "已责令相关企业全面停产排查隐患": _PLANTS,
    "已在周边布设{n}个监测点位开展应急监测": {"explosion", "leak", "pollution", "fire"},
    "已对沿岸排污口开展排查，取样送检": {"pollution", "leak"},
    "消防废水已引入应急池，防止次生污染": {"explosion", "leak", "fire"},
    "初步判断与上游企业排放有关": {"pollution"},
    "相关责任人已被控制": _PLANTS | {"traffic", "fire", "poisoning"},
    "犯罪嫌疑人已被抓获，案件正在侦办": {"crime"},
    "已对现场实施警戒和交通管制": _PLANTS | {"traffic", "fire", "crime", "landslide"},
    "消防救援人员已搜救出被困群众{s}人": _PLANTS | {"fire", "traffic", "flood", "landslide"},
    "正在逐户排查受损情况": {"explosion", "flood", "landslide", "fire", "forest_fire"},
    "据现场目击者称，当时听到巨大声响": _PLANTS | {"traffic", "landslide"},
    "记者赶到现场时，救援人员正在紧张施救": _PLANTS | {"traffic", "fire", "landslide", "flood"},
    "已派出地质专家现场调查，划定危险区": {"landslide", "flood"},
    "对周边地质灾害隐患点开展排查": {"landslide", "flood"},
    "伤员已送往{hospital}救治": set(KINDS) - {"poisoning", "pollution", "mass"},
    "已调派{k}辆救护车到场转运伤员": set(KINDS) - {"pollution", "mass"},
}
FOCUS["natural_resources"].append("已组织林业专业扑火队伍上山扑救")
FOCUS_KINDS["已组织林业专业扑火队伍上山扑救"] = {"forest_fire"}
FOCUS_TITLE = {
    "health": "伤员救治情况",
    "environment": "环境应急监测情况",
    "public_security": "现场管控情况",
    "fire": "灭火救援情况",
    "transport": "道路通行情况",
    "market": "食品安全处置情况",
}
CLOSING = [
    "有关情况将及时续报。",
    "后续情况正在进一步核实。",
    "现场处置工作仍在进行中。",
    "具体原因正在调查中。",
    "",
]
HOSPITALS = ["{county}人民医院", "{county}中医院", "{city}第一人民医院", "{town}卫生院"]


def _time_phrase(rng: random.Random, at: datetime) -> str:
    local = at + timedelta(hours=8)
    ampm = (
        "凌晨"
        if local.hour < 6
        else "上午"
        if local.hour < 12
        else "下午"
        if local.hour < 18
        else "晚上"
    )
    h12 = local.hour if local.hour <= 12 else local.hour - 12
    return rng.choice(
        [
            f"{local.month}月{local.day}日{local.hour}时{local.minute}分许，",
            f"{local.day}日{local.hour}时{local.minute}分，",
            f"{local.day}日{ampm}{h12}时许，",
            f"{local.hour}:{local.minute:02d}左右，",
            f"今日{ampm}{h12}点多，",
            f"{local.month}月{local.day}日{ampm}，",
        ]
    )


def _place(rng: random.Random, event: EventSpec, county: County, *, narrative: bool) -> str:
    """How one report names the place: more or less of county, town and site."""
    site, town = event.site, event.town
    if county is not event.county:  # the other side of a border: own county, shared name
        shared = site.get("mountain") or site.get("river") or site.names[-1]
        return rng.choice([f"{county.name}{shared}", f"{county.stem}境内{shared}", shared])
    names = site.names
    roll = rng.random()
    if roll < 0.25:
        return (
            f"{county.name}{town}{names[0]}"
            if not names[0].startswith(town)
            else f"{county.name}{names[0]}"
        )
    if roll < 0.45:
        alias = rng.choice(names[1:] or names)
        return alias if alias.startswith(town) else f"{town}{alias}"
    if roll < 0.65:
        return rng.choice(names)
    if roll < 0.78:
        return f"{rng.choice([county.name, county.stem])}{rng.choice(names[1:] or names)}"
    if roll < 0.90 or not narrative:
        return f"{rng.choice([county.name, ''])}{rng.choice([town, town[:-1]])}{site.generic}"
    return f"{county.name}{town}"


def _reported(rng: random.Random, value: int) -> int | None:
    roll = rng.random()
    if roll < 0.12:
        return None
    if roll < 0.65 or value == 0:
        return value
    if roll < 0.88:
        return max(0, value - rng.randint(1, 2))
    return value + 1


def _figures_phrase(rng: random.Random, dead: int | None, injured: int | None, missing: int):
    parts = []
    if dead is None and injured is None:
        return rng.choice(["伤亡情况正在核实中", "人员伤亡情况暂不清楚", ""])
    if dead == 0 and injured == 0:
        return rng.choice(["暂无人员伤亡", "未造成人员伤亡", "暂未发现人员伤亡"])
    if dead:
        parts.append(rng.choice([f"造成{dead}人死亡", f"{dead}人遇难", f"已确认死亡{dead}人"]))
    if injured:
        parts.append(rng.choice([f"{injured}人受伤", f"{injured}人不同程度受伤", f"伤{injured}人"]))
    if missing:
        parts.append(
            rng.choice([f"{missing}人被困", f"{missing}人失联", f"仍有{missing}人下落不明"])
        )
    return "，".join(parts)


def render_report(
    rng: random.Random, event: EventSpec, role: str, county: County, first: bool
) -> ReportSpec:
    kind, site = event.kind, event.site
    town = event.town if county is event.county else rng.choice(county.towns)
    fields = {
        **{k: str(v) for k, v in event.details.items()},
        "what": site.get("what") or "房屋",
        "town": town,
        "county": county.name,
        "level": rng.choice(["三", "四", "Ⅲ", "Ⅳ"]),
        "n": str(rng.randint(3, 40)),
        "k": str(rng.randint(2, 12)),
        "s": str(rng.randint(1, 6)),
        "x": f"{rng.uniform(0.2, 1.8):.1f}",
        "moved": str(event.details.get("moved", rng.randint(20, 200))),
        "hospital": rng.choice(HOSPITALS).format(county=county.name, city=county.city, town=town),
        "ill": str(event.details.get("ill", "")),
    }
    # Occurrence time: most units agree within minutes, some are off by an hour or more.
    roll = rng.random()
    if roll < 0.7:
        offset = rng.gauss(0, 8)
    elif roll < 0.92:
        offset = rng.uniform(-60, 60)
    else:
        offset = rng.uniform(-180, 120)
    occurred = event.at + timedelta(minutes=round(offset / 5) * 5 if rng.random() < 0.5 else offset)
    occurred = occurred.replace(second=0, microsecond=0)
    # Arrival: the first unit within the hour, others over the next hours, media later.
    delay = rng.uniform(5, 45) if first else rng.uniform(15, 60) + rng.expovariate(1 / 90)
    if role in ("media", "city_media"):
        delay += rng.uniform(30, 180)
    received = event.at + timedelta(minutes=delay)
    occurred = min(occurred, received - timedelta(minutes=1))

    ref = _place(rng, event, county, narrative=True)
    place = _place(rng, event, county, narrative=False)
    what = rng.choice(WHAT[kind]).format(ref=ref, **fields)
    dead = _reported(rng, event.dead)
    injured = _reported(rng, event.injured)
    figures = (
        ""
        if kind in ("pollution", "mass", "poisoning", "forest_fire")
        else (_figures_phrase(rng, dead, injured, event.missing if rng.random() < 0.6 else 0))
    )
    if kind in ("pollution", "mass", "poisoning"):
        dead = injured = None
    lines = [f for f in FOCUS[role] if kind in FOCUS_KINDS.get(f, KINDS)] or ["已组织力量开展处置"]
    focus = rng.sample(lines, k=min(len(lines), rng.choice([1, 1, 2])))
    focus_text = "，".join(f.format(**fields) for f in focus)
    opening = _time_phrase(rng, occurred) if rng.random() < 0.85 else ""
    sentences = [opening + what + ("，" + figures if figures else "") + "。", focus_text + "。"]
    if rng.random() < 0.3:
        sentences.reverse()
        sentences[0] = rng.choice(["接报后，", "据报，", ""]) + sentences[0]
    narrative = "".join(sentences) + rng.choice(CLOSING)

    noun = rng.choice(NOUN[kind]).format(**fields)
    short = _place(rng, event, county, narrative=False)
    if rng.random() < 0.35:
        short = rng.choice(site.names[1:] or site.names)
    titles = [
        f"{short}{noun}",
        f"{short}发生{noun}",
        f"关于{short}{noun}的报告",
        f"{short}{noun}情况",
    ]
    if role in FOCUS_TITLE:
        titles.append(f"{short}{noun}{FOCUS_TITLE[role]}")
    title = rng.choice(titles)

    category = ALT_CATEGORY.get((kind, role), KINDS[kind][0])
    if (kind, role) in ALT_CATEGORY and rng.random() < 0.4:
        category = KINDS[kind][0]
    division = county.code
    if role in CITY_UNITS and rng.random() < 0.25:
        division = county.code[:4] + "00"
    latitude = longitude = None
    if rng.random() < 0.25:
        latitude, longitude = _near(rng, site.lat, site.lon, 0.5)
    return ReportSpec(
        event=event.id,
        role=event.role,
        unit=unit_name(role, county, town),
        unit_kind=role,
        received_at=received,
        occurred_at=occurred,
        category=category,
        division_code=division,
        place=place[:200],
        title=title[:200],
        narrative=narrative,
        dead=dead,
        injured=injured,
        latitude=latitude,
        longitude=longitude,
    )


def generate(seed: int = SEED) -> tuple[list[EventSpec], list[ReportSpec]]:
    """The events and their reports, in the order the reports arrive."""
    world, events = generate_events(seed)
    rng = random.Random(seed + 1)
    reports = []
    for event in events:
        units = KINDS[event.kind][2]
        count = (
            rng.choice([3, 4, 5, 5, 6, 6, 7, 8]) if event.role == "primary" else rng.randint(2, 5)
        )
        roles = _weighted_sample(rng, units, min(count, len(units)))
        if "party_office" in units and "party_office" not in roles:
            roles[-1] = "party_office"
        for index, role in enumerate(roles):
            county = event.county
            if event.other_county and role not in CITY_UNITS and index % 3 == 2:
                county = event.other_county
            reports.append(render_report(rng, event, role, county, first=index == 0))
    reports.sort(key=lambda r: (r.received_at, r.event))
    return events, reports


def _weighted_sample(rng: random.Random, weights: dict[str, float], k: int) -> list[str]:
    pool = dict(weights)
    chosen = []
    while len(chosen) < k and pool:
        pick = rng.choices(list(pool), weights=list(pool.values()))[0]
        chosen.append(pick)
        del pool[pick]
    return chosen


# --------------------------------------------------------------------------- figures


def pairwise(truth: list[int], predicted: list[int]) -> dict[str, float | int]:
    """Pairwise precision and recall of a clustering against the truth."""

    def pairs(counts) -> int:
        return sum(n * (n - 1) // 2 for n in counts)

    together = pairs(Counter(zip(truth, predicted, strict=True)).values())
    merged = pairs(Counter(predicted).values())
    same = pairs(Counter(truth).values())
    return {
        "precision": together / merged if merged else 1.0,
        "recall": together / same if same else 1.0,
        "true_pairs": same,
        "merged_pairs": merged,
        "wrong_pairs": merged - together,
        "missed_pairs": same - together,
    }


def wrong_pairs_by_relation(
    events: list[EventSpec], truth: list[int], predicted: list[int]
) -> Counter:
    """Wrongly merged pairs, by how the two events relate (which distractor fooled us)."""
    related = {}
    for event in events:
        if event.related is not None:
            related[frozenset((event.id, event.related))] = event.role
    found: Counter = Counter()
    groups = defaultdict(list)
    for t, p in zip(truth, predicted, strict=True):
        groups[p].append(t)
    for members in groups.values():
        per_event = Counter(members)
        ids = sorted(per_event)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                role = related.get(frozenset((a, b)), "unrelated")
                found[role] += per_event[a] * per_event[b]
    return found


# --------------------------------------------------------------------------- streaming


def _category_ids() -> tuple[dict[str, int], dict[str, int]]:
    codes = sorted(TOP)
    tops = sorted(set(TOP.values()))
    return {c: i + 100 for i, c in enumerate(codes)}, {t: i + 1 for i, t in enumerate(tops)}


def stream_memory(reports: list[ReportSpec]) -> dict:
    """Matching only: the events live in memory, their facts built the way
    `events.selectors.event_facts_for_matching` builds them (one `Account` per report; the
    window found by the first report's occurrence time, as `Event.occurred_at`). For quick
    experiments and other seeds; the benchmark itself files through the database."""
    from fenghuo.events import matching

    category_id, top_id = _category_ids()
    events: dict[int, dict] = {}
    facts_of: dict[int, matching.Facts] = {}  # rebuilt when an event gains a report
    predicted, outcomes, reviews, timings, sizes = [], [], [], [], []
    for report in reports:
        top = top_id[TOP[report.category]]
        candidates = {
            pk: facts_of[pk]
            for pk, e in events.items()
            if e["top"] == top
            and abs(e["occurred_at"] - report.occurred_at) <= matching.CANDIDATE_WINDOW
        }
        account = matching.Account(
            category=category_id[report.category],
            occurred_at=report.occurred_at,
            division_code=report.division_code,
            place=report.place,
            title=report.title,
            narrative=report.narrative,
            latitude=report.latitude,
            longitude=report.longitude,
        )
        facts = matching.Facts.of(top, [account])
        started = time.perf_counter()
        best_id, best = matching.best_match(facts, candidates)
        timings.append(time.perf_counter() - started)
        sizes.append(len(candidates))
        if best_id is not None and best.value >= matching.JOIN_THRESHOLD:
            pk, outcome = best_id, "joined"
        else:
            pk = len(events) + 1
            events[pk] = {
                "top": top,
                "occurred_at": report.occurred_at,
                "accounts": [],
                "truth": [],
            }
            outcome = "new_event"
            if best_id is not None and best.value >= matching.REVIEW_THRESHOLD:
                outcome = "review"
                reviews.append(report.event in events[best_id]["truth"])
        event = events[pk]
        event["accounts"].append(account)
        event["truth"].append(report.event)
        facts_of[pk] = matching.Facts.of(top, event["accounts"])
        predicted.append(pk)
        outcomes.append([outcome, best.value, best_id])
    return {
        "predicted": predicted,
        "outcomes": outcomes,
        "reviews": reviews,
        "match_seconds": timings,
        "candidates": sizes,
    }


def stream_database(seed: int = SEED) -> dict:
    """Runs inside Django on a fresh database: the org tree through the org services, then
    every report through `events.services.file_report`, in the order they arrive."""
    from fenghuo.criteria.models import EventCategory
    from fenghuo.events import services
    from fenghuo.events.models import Channel, MergeCandidate, ReportKind
    from fenghuo.org import services as org
    from fenghuo.org.models import AdminLevel, Person, Role, UnitKind
    from fenghuo.org.policy import Principal, principal_for

    _events, reports = generate(seed)
    world = {county.name: county for county in generate_events(seed)[0].values()}
    system = Principal(person_id=None, grants=(), is_superuser=True, label="bench")
    kinds = {k.code: k for k in UnitKind.objects.all()}
    categories = {c.code: c for c in EventCategory.objects.all()}
    units: dict[str, object] = {}

    def unit(name, parent, level, kind, code, receiving=False):
        if name not in units:
            units[name] = org.unit_create(
                system,
                parent=parent,
                name=name,
                level=level,
                kind=kinds[kind],
                division_code=code,
                is_receiving_office=receiving,
            )
        return units[name]

    root = unit(
        f"{PROVINCE[0]}委办公厅", None, AdminLevel.PROVINCE, "party_office", PROVINCE[1], True
    )
    by_name: dict[str, object] = {}
    for county in world.values():
        city = unit(
            f"{county.city}委办公室",
            root,
            AdminLevel.CITY,
            "party_office",
            county.code[:4] + "00",
            True,
        )
        office = unit(
            f"{county.name}委办公室", city, AdminLevel.COUNTY, "party_office", county.code, True
        )
        for role in set(UNIT_KIND_CODE) | {r for k in KINDS.values() for r in k[2]}:
            towns = county.towns if role == "township" else (county.towns[0],)
            for town in towns:
                name = unit_name(role, county, town)
                if role in CITY_UNITS:
                    by_name[name] = unit(
                        name, city, AdminLevel.CITY, UNIT_KIND_CODE[role], county.code[:4] + "00"
                    )
                elif role == "township":
                    by_name[name] = unit(name, office, AdminLevel.TOWNSHIP, "township", county.code)
                elif role != "party_office":
                    by_name[name] = unit(
                        name, office, AdminLevel.COUNTY, UNIT_KIND_CODE.get(role, role), county.code
                    )
                else:
                    by_name[name] = office
    person = org.person_create(system, username="bench-duty", full_name="值班员", unit=root)
    org.membership_grant(system, person=person, unit=root, role=Role.DUTY_OFFICER)
    principal = principal_for(Person.objects.get(pk=person.pk))

    # The anchor, timed alongside so load on the machine falls on both alike: the same
    # service filing a 续报 into a known event — no matching. The event is an online-opinion
    # one, a category no generated report has, so it is never anyone's candidate.
    anchor_unit = by_name[unit_name("party_office", next(iter(world.values())), "")]
    anchor = services.file_report(
        principal,
        unit=anchor_unit,
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data={
            "title": "基准测试锚点事件",
            "category": categories["online_opinion"],
            "occurred_at": START,
            "division_code": anchor_unit.division_code,
            "place": "基准测试",
            "narrative": "仅用于计时的锚点事件。",
        },
        received_at=START,
    ).event
    every = max(1, len(reports) // 200)

    # Instruments: how long reading the candidates and matching take, over how many.
    match_seconds, facts_seconds, sizes = [], [], []
    original_match, original_facts = services.matching.best_match, services.event_facts_for_matching

    def timed_best_match(report, candidates):
        started = time.perf_counter()
        found = original_match(report, candidates)
        match_seconds.append(time.perf_counter() - started)
        sizes.append(len(candidates))
        return found

    def timed_facts(*args, **kwargs):
        started = time.perf_counter()
        found = original_facts(*args, **kwargs)
        facts_seconds.append(time.perf_counter() - started)
        return found

    services.matching.best_match = timed_best_match
    services.event_facts_for_matching = timed_facts
    predicted, outcomes, reviews, file_seconds, followup_seconds = [], [], [], [], []
    truth_of_event: dict[int, list[int]] = defaultdict(list)
    try:
        for index, report in enumerate(reports):
            data = {
                "title": report.title,
                "category": categories[report.category],
                "occurred_at": report.occurred_at,
                "division_code": report.division_code,
                "place": report.place,
                "narrative": report.narrative,
                "dead": report.dead,
                "injured": report.injured,
                "latitude": report.latitude,
                "longitude": report.longitude,
            }
            started = time.perf_counter()
            result = services.file_report(
                principal,
                unit=by_name[report.unit],
                kind=ReportKind.FIRST,
                channel=Channel.PHONE,
                data=data,
                received_at=report.received_at,
            )
            file_seconds.append(time.perf_counter() - started)
            if result.outcome == "review":
                candidate = MergeCandidate.objects.get(report=result.report).candidate_id
                reviews.append(report.event in truth_of_event[candidate])
            truth_of_event[result.event.pk].append(report.event)
            predicted.append(result.event.pk)
            outcomes.append([result.outcome, result.score, None])
            if index % every == 0:
                started = time.perf_counter()
                services.file_report(
                    principal,
                    unit=anchor_unit,
                    kind=ReportKind.FOLLOWUP,
                    channel=Channel.PHONE,
                    data={"narrative": "情况无变化，有关情况将及时续报。"},
                    event=anchor,
                )
                followup_seconds.append(time.perf_counter() - started)
    finally:
        services.matching.best_match = original_match
        services.event_facts_for_matching = original_facts
    return {
        "predicted": predicted,
        "outcomes": outcomes,
        "reviews": reviews,
        "match_seconds": match_seconds,
        "facts_seconds": facts_seconds,
        "candidates": sizes,
        "file_seconds": file_seconds,
        "followup_seconds": followup_seconds,
    }


# --------------------------------------------------------------------------- running


def run_database(seed: int = SEED) -> dict:
    """A fresh database, `fenghuo migrate`, then `stream_database` in a Django process."""
    return in_fresh_database(
        "merge",
        f"stream_database({seed})",
        timeout=1200,
        what="filing the reports through events.services.file_report",
    )


def _ms(seconds: list[float], q: float) -> float | None:
    value = percentile(seconds, q)
    return None if value is None else value * 1000


def summarise(events: list[EventSpec], reports: list[ReportSpec], result: dict) -> dict:
    truth = [r.event for r in reports]
    figures = pairwise(truth, result["predicted"])
    outcomes = Counter(o[0] for o in result["outcomes"])
    return {
        **figures,
        "events": len(events),
        "primary_events": sum(e.role == "primary" for e in events),
        "reports": len(reports),
        "outcomes": dict(outcomes),
        "predicted_events": len(set(result["predicted"])),
        "reviews": len(result["reviews"]),
        "reviews_right": sum(result["reviews"]),
        "wrong_by_relation": dict(wrong_pairs_by_relation(events, truth, result["predicted"])),
        "candidates_mean": sum(result["candidates"]) / max(1, len(result["candidates"])),
        "candidates_max": max(result["candidates"], default=0),
    }


def rows_of(summary: dict, result: dict) -> list[Row]:
    db = database_label() if "file_seconds" in result else "memory"
    met = summary["precision"] >= GOAL and summary["recall"] >= GOAL
    mark = "met" if met else "NOT MET"
    rows = []
    anchor = None
    if "followup_seconds" in result:
        anchor = Row(
            NAME,
            f"file_report 续报 into a known event, no matching  anchor  [{db}]",
            n=len(result["followup_seconds"]),
            p50_ms=_ms(result["followup_seconds"], 50),
            p99_ms=_ms(result["followup_seconds"], 99),
        )
        anchor.anchor = anchor
        rows.append(anchor)
        rows.append(
            Row(
                NAME,
                f"file_report 首报, matched against open events  [{db}]",
                n=len(result["file_seconds"]),
                p50_ms=_ms(result["file_seconds"], 50),
                p99_ms=_ms(result["file_seconds"], 99),
                anchor=anchor,
            )
        )
    if "facts_seconds" in result:
        rows.append(
            Row(
                NAME,
                "event_facts_for_matching: the candidates read and tokenised",
                n=len(result["facts_seconds"]),
                p50_ms=_ms(result["facts_seconds"], 50),
                p99_ms=_ms(result["facts_seconds"], 99),
                anchor=anchor,
            )
        )
    rows.append(
        Row(
            NAME,
            f"matching.best_match alone ({summary['candidates_mean']:.0f} candidates on average, "
            f"at most {summary['candidates_max']})",
            n=len(result["match_seconds"]),
            p50_ms=_ms(result["match_seconds"], 50),
            p99_ms=_ms(result["match_seconds"], 99),
            anchor=anchor,
        )
    )
    wrong = ", ".join(f"{k} {v}" for k, v in sorted(summary["wrong_by_relation"].items()))
    rows.append(
        Row(
            NAME,
            f"pairwise precision {summary['precision']:.3f}  (goal ≥ {GOAL}: {mark})",
            n=summary["merged_pairs"],
            errors=summary["wrong_pairs"],
            note="n = report pairs put in one event, err = pairs about two events"
            + (f" ({wrong})" if wrong else ""),
        )
    )
    rows.append(
        Row(
            NAME,
            f"pairwise recall {summary['recall']:.3f}  (goal ≥ {GOAL}: {mark})",
            n=summary["true_pairs"],
            errors=summary["missed_pairs"],
            note="n = report pairs about one event, err = pairs left apart (grey zone included)",
        )
    )
    rows.append(
        Row(
            NAME,
            f"grey zone: {summary['reviews']} reviews 可能是同一事件, "
            f"{summary['reviews_right']} pointing at the right event",
            n=summary["reports"],
            note=f"{summary['reports']} reports about {summary['events']} events "
            f"({summary['primary_events']} + {summary['events'] - summary['primary_events']} "
            f"distractors) → {summary['predicted_events']} events; "
            + ", ".join(f"{k} {v}" for k, v in sorted(summary["outcomes"].items())),
        )
    )
    return rows


def run() -> list[Row]:
    events, reports = generate(SEED)
    result = run_database(SEED)
    return rows_of(summarise(events, reports, result), result)


def print_errors(reports: list[ReportSpec], result: dict, limit: int) -> None:
    """Reports filed into another event's cluster, and reports that started a new event
    although their event already had one."""
    first_truth: dict[int, int] = {}
    seen: dict[int, int] = {}
    shown = Counter()
    for index, (report, pk) in enumerate(zip(reports, result["predicted"], strict=True)):
        outcome, score, _ = result["outcomes"][index]
        first_truth.setdefault(pk, report.event)
        if first_truth[pk] != report.event and shown["wrong"] < limit:
            shown["wrong"] += 1
            other = next(r for r, p in zip(reports, result["predicted"], strict=False) if p == pk)
            print(
                f"WRONG JOIN {score:.3f} [{report.role}] {report.place} | {report.title} | "
                f"{report.narrative}\n    into [{other.role}] {other.place} | {other.title}"
            )
        elif report.event in seen and seen[report.event] != pk and shown["split"] < limit:
            shown["split"] += 1
            other = next(
                r
                for r, p in zip(reports, result["predicted"], strict=False)
                if p == seen[report.event]
            )
            print(
                f"SPLIT {outcome} {score:.3f} [{report.role}] {report.category} "
                f"{report.division_code} {report.place} | {report.title} | {report.narrative}\n"
                f"    from {other.category} {other.division_code} {other.place} | {other.title}"
            )
        seen.setdefault(report.event, pk)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--memory", action="store_true", help="matching only, no database")
    parser.add_argument("--errors", type=int, default=0, help="list up to N mistakes of each kind")
    args = parser.parse_args(argv)
    events, reports = generate(args.seed)
    if args.memory:
        src = BENCH_DIR.parent / "src"
        if str(src) not in sys.path:
            sys.path.insert(0, str(src))
        result = stream_memory(reports)
    else:
        result = run_database(args.seed)
    summary = summarise(events, reports, result)
    if args.errors:
        print_errors(reports, result, args.errors)
    print(
        f"fenghuo bench · {NAME} · seed {args.seed} · {summary['reports']} reports about "
        f"{summary['events']} events ({summary['primary_events']} + "
        f"{summary['events'] - summary['primary_events']} distractors)"
    )
    print_table(rows_of(summary, result))
    met = summary["precision"] >= GOAL and summary["recall"] >= GOAL
    print(
        f"goal: pairwise precision and recall both ≥ {GOAL} — "
        f"precision {summary['precision']:.3f}, recall {summary['recall']:.3f}: "
        + ("met" if met else "NOT MET")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
