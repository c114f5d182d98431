"""The matching signals, one by one, on hand-written reports (no database).

Each test states what a duty officer would expect and fails if the score says otherwise.
"""

import time
from datetime import UTC, datetime, timedelta

from fenghuo.events import matching
from fenghuo.events.matching import JOIN_THRESHOLD, REVIEW_THRESHOLD, Account, Facts

T0 = datetime(2025, 3, 3, 1, 10, tzinfo=UTC)
ACCIDENT, NATURAL = 1, 2  # top-level categories
HAZCHEM, ROAD_TRAFFIC, FIRE, POLLUTION = 11, 12, 13, 14
FLOOD = 21
JIANGKOU, QINGSHI, YUNTAI = "990121", "990122", "990222"  # two counties of one city, one beyond


def said(place, title, narrative, *, category=HAZCHEM, minutes=0, division=JIANGKOU, at=None):
    lat, lon = at or (None, None)
    return Account(
        category=category,
        occurred_at=T0 + timedelta(minutes=minutes),
        division_code=division,
        place=place,
        title=title,
        narrative=narrative,
        latitude=lat,
        longitude=lon,
    )


def facts(*accounts, top=ACCIDENT):
    return Facts.of(top, accounts)


EXPLOSION = facts(
    said(
        "江口县化工园区临江化工厂",
        "江口县化工园区发生爆炸",
        "11月23日9时10分，江口县化工园区临江化工厂一车间发生爆炸，现场有人员被困。",
    ),
    said(
        "江口县化工园区临江化工厂",
        "临江化工厂车间爆炸事故",
        "临江化工厂发生爆炸事故，造成 3 人死亡，多人受伤，应急管理局已启动应急响应。",
        minutes=4,
    ),
)
CRASH = facts(
    said(
        "江口县城关镇人民路与解放路交叉口",
        "江口县城关路口两车相撞",
        "江口县城关镇人民路与解放路交叉口两辆小汽车相撞，1 人受伤。",
        category=ROAD_TRAFFIC,
        minutes=20,
    )
)
MARKET_FIRE = facts(
    said(
        "江口县河西镇农贸市场",
        "河西镇农贸市场发生火灾",
        "河西镇农贸市场一摊位起火，过火面积约 200 平方米，消防救援大队出动 5 辆消防车扑救。",
        category=FIRE,
        minutes=-30,
    )
)
WAREHOUSE_FIRE = facts(
    said(
        "江口县河西镇东方物流园",
        "东方物流园仓库起火",
        "东方物流园一仓库起火，浓烟较大，暂无人员伤亡。",
        category=FIRE,
        minutes=10,
    )
)
WINDOW = {1: EXPLOSION, 2: CRASH, 3: MARKET_FIRE, 4: WAREHOUSE_FIRE}


def best(report):
    return matching.best_match(facts(report), WINDOW)


def test_paraphrase_naming_the_plant_joins():
    event_id, found = best(
        said(
            "临江化工厂",
            "化工厂爆炸伤员救治情况",
            "临江化工厂爆炸伤员已送往县人民医院救治，其中重伤 4 人，死亡 5 人。",
            minutes=25,
        )
    )
    assert event_id == 1
    assert found.value >= JOIN_THRESHOLD, found
    # What the duty officer reads: time, area, and the words the two have in common.
    assert found.reasons[1] == "地点：同一行政区划"
    assert "临江" in found.reasons[2] and "爆炸" in found.reasons[2]


def test_another_department_another_subcategory_still_joins():
    """The environment bureau files the explosion as pollution; the words decide."""
    event_id, found = best(
        said(
            "江口县化工园区临江化工厂",
            "化工园区爆炸可能造成环境污染",
            "临江化工厂爆炸后有黄色烟雾扩散，生态环境局正在监测周边空气和水体。",
            category=POLLUTION,
            minutes=15,
        )
    )
    assert event_id == 1
    assert found.value >= JOIN_THRESHOLD, found


def test_same_county_same_hour_other_accident_is_a_new_event():
    event_id, found = best(
        said(
            "江口县S205省道K12处",
            "S205省道货车侧翻",
            "一辆货车在江口县S205省道K12处侧翻，司机受轻伤。",
            category=ROAD_TRAFFIC,
            minutes=30,
        )
    )
    assert found.value < REVIEW_THRESHOLD, (event_id, found)


def test_same_place_other_category_is_no_match():
    flood = facts(
        said(
            "江口县化工园区临江化工厂",
            "化工园区内涝",
            "暴雨导致临江化工厂厂区积水。",
            category=FLOOD,
        ),
        top=NATURAL,
    )
    found = matching.score(flood, EXPLOSION)
    assert found.value == 0 and found.reasons == ("类别不同",)


def test_same_words_thirty_hours_apart_is_no_match():
    again = facts(
        said(
            "江口县化工园区临江化工厂",
            "临江化工厂车间爆炸事故",
            "临江化工厂发生爆炸事故，造成 3 人死亡，多人受伤，应急管理局已启动应急响应。",
            minutes=30 * 60,
        )
    )
    found = matching.score(again, EXPLOSION)
    assert found.value == 0
    assert "24" in found.reasons[0]


def test_time_apart_lowers_the_score():
    def at(minutes):
        report = facts(
            said("临江化工厂", "临江化工厂爆炸", "临江化工厂车间爆炸，多人受伤。", minutes=minutes)
        )
        return matching.score(report, EXPLOSION).value

    assert at(30) > at(8 * 60) > at(20 * 60) > 0


def test_a_county_name_alone_is_not_a_match():
    """Every report from the county names it; the division code already says so."""
    event_id, found = best(
        said(
            "江口县城关镇解放路",
            "江口县解放路一商铺失火",
            "江口县城关镇解放路一家服装店失火，火势已控制。",
            category=FIRE,
            minutes=5,
        )
    )
    assert event_id != 1 or found.value < REVIEW_THRESHOLD, found


def test_the_rare_name_outweighs_the_common_words():
    """Two fires in one town: the report names the warehouse and shares more everyday fire
    vocabulary with the market fire; the name decides."""
    event_id, found = best(
        said(
            "河西镇东方物流园",
            "东方物流园火灾",
            "河西镇东方物流园发生火灾，消防救援大队出动消防车扑救，过火面积正在核实。",
            category=FIRE,
            minutes=20,
        )
    )
    assert event_id == 4
    assert found.value >= JOIN_THRESHOLD, found


def test_same_words_in_another_city_do_not_join_by_themselves():
    elsewhere = facts(
        said(
            "化工园区临江化工厂",
            "临江化工厂车间爆炸事故",
            "临江化工厂发生爆炸事故，造成 3 人死亡，多人受伤。",
            division=YUNTAI,
        )
    )
    nearby = facts(
        said(
            "化工园区临江化工厂",
            "临江化工厂车间爆炸事故",
            "临江化工厂发生爆炸事故，造成 3 人死亡，多人受伤。",
            division=QINGSHI,
        )
    )
    far, near = matching.score(elsewhere, EXPLOSION).value, matching.score(nearby, EXPLOSION).value
    assert far < JOIN_THRESHOLD
    assert near > far


def test_coordinates_decide_the_area_when_both_have_them():
    site = (27.25, 110.30)
    event = facts(said("临江化工厂", "临江化工厂爆炸", "临江化工厂车间爆炸。", at=site))

    def from_point(lat, lon):
        report = facts(said("临江化工厂", "临江化工厂爆炸", "临江化工厂车间爆炸。", at=(lat, lon)))
        return matching.score(report, event).value

    assert from_point(27.252, 110.301) > from_point(27.45, 110.30) > 0  # 0.2 km vs 22 km


def test_an_event_answers_for_every_one_of_its_reports():
    """The county office files the explosion as a chemical accident; the neighbouring
    county's environment bureau files the smoke over its side as pollution. A later report
    from that side, as pollution, finds the event without the other-subcategory or the
    other-county discount."""
    first = said("江口县化工园区临江化工厂", "临江化工厂爆炸", "临江化工厂车间爆炸，黄烟扩散。")
    across = said(
        "青石县与江口县交界处",
        "临江化工厂爆炸烟雾飘入青石县",
        "临江化工厂爆炸产生的黄色烟雾飘入青石县境内，正在监测空气质量。",
        category=POLLUTION,
        division=QINGSHI,
        minutes=20,
    )
    report = facts(
        said(
            "青石县",
            "临江化工厂爆炸烟雾监测情况",
            "受临江化工厂爆炸影响，青石县境内空气中检出异味，已加密监测。",
            category=POLLUTION,
            division=QINGSHI,
            minutes=40,
        )
    )
    one_sided = matching.score(report, facts(first)).value
    two_sided = matching.score(report, facts(first, across)).value
    assert two_sided > one_sided
    assert two_sided >= JOIN_THRESHOLD


def test_administrative_names_carry_no_weight():
    words, admin = matching.tokens("江口县长岗乡周家湾村12组发生山体滑坡")
    assert {"江口县", "江口", "长岗乡", "长岗"} <= admin
    assert {"滑坡", "山体"} <= words
    assert "县长" not in words  # 江口县长岗乡 is two names, not a county head


def test_words_every_event_shares_weigh_less_than_a_name():
    def fire(place):
        return facts(said(place, f"{place}起火", f"{place}起火，消防到场扑救。", category=FIRE))

    window = {
        1: fire("东方物流园"),
        2: fire("明珠超市"),
        3: fire("万通大酒店"),
        4: facts(said("人民路", "两车相撞", "人民路两车相撞，消防到场。", category=ROAD_TRAFFIC)),
    }
    weights = matching.Weights(fire("东方物流园"), window)
    name, kind, everywhere = (weights.weight(t, True, True) for t in ("东方", "起火", "消防"))
    assert name > kind > everywhere > 0


def test_best_match_is_the_best_of_all_scores():
    """Visiting candidates by their bound and stopping early gives the same answer as
    scoring every one."""
    reports = [
        said("临江化工厂", "化工厂爆炸", "临江化工厂爆炸。", minutes=25),
        said("河西镇东方物流园", "物流园火灾", "东方物流园起火。", category=FIRE, minutes=200),
        said("江口县", "路口车祸", "两车相撞。", category=ROAD_TRAFFIC, division=QINGSHI),
        said("青石县", "农贸市场火情", "市场起火。", category=FIRE, division=YUNTAI),
    ]
    for report in map(facts, reports):
        weights = matching.Weights(report, WINDOW)
        scores = {pk: matching.score(report, e, weights).value for pk, e in WINDOW.items()}
        event_id, found = matching.best_match(report, WINDOW)
        assert found.value == max(scores.values())
        assert event_id is None or scores[event_id] == found.value


FIRMS = [a + b for a in "恒宏鑫永华金瑞东明天隆富振盛佳同万泰通安" for b in "达远源鼎丰珠宇民和心"]


def test_best_match_is_fast_enough():
    """Three hundred open candidates: a few ms on an idle machine; the bound here is loose
    so that a busy CI box does not fail it."""
    window = {
        i: facts(
            said(
                f"江口县{firm}化工有限公司",
                f"{firm}化工储罐泄漏",
                f"{firm}化工一储罐泄漏，{i % 7} 人受伤，消防到场处置。",
                minutes=i % 600,
            )
        )
        for i, firm in enumerate(FIRMS[:300])
    }
    target = FIRMS[42]
    report = facts(said(f"{target}化工", f"{target}化工泄漏", f"{target}化工储罐泄漏，3 人受伤。"))
    matching.best_match(report, window)  # the words of every text are cached from here on
    started = time.perf_counter()
    event_id, _found = matching.best_match(report, window)
    assert time.perf_counter() - started < 0.1
    assert event_id == 42
