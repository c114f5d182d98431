"""Scenario files: the bundled ones load; a faulty file gets every problem at once, each
with its line, column and path in Chinese; nothing is saved."""

import pytest

from fenghuo.drills.scenario import ScenarioError, bundled, load, response_level, warning_level

pytestmark = pytest.mark.django_db

GOOD = """\
title: 小演练
duration: 60
units:
  county: 中共江口县委办公室
  bureau: {name: 江口县应急管理局, role: simulated}
injections:
  - id: first
    at: 0
    kind: report
    unit: bureau
    report:
      title: 某地发生火灾
      category: fire
      place: 江口县某厂
      narrative: 某厂仓库起火。
      injured: 2
  - id: later
    at: "0:30"
    kind: report
    unit: bureau
    report_kind: followup
    follows: first
    report: {narrative: 火已扑灭。}
expectations:
  - {id: ack, action: acknowledge, unit: county, after: first, within: 10}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load(text)
    return caught.value.messages


def test_the_bundled_scenarios_load():
    slugs = {b.slug: load(b.text) for b in bundled()}
    assert set(slugs) == {"chemical-plant-explosion", "rainstorm-flood", "school-food-rumour"}
    chemical = slugs["chemical-plant-explosion"]
    assert chemical.participants == ["county", "city", "province"]
    assert {i.kind for i in slugs["rainstorm-flood"].injections} >= {"cap", "report", "notice"}
    assert {i.kind for i in slugs["school-food-rumour"].injections} >= {"posts", "notice"}


def test_a_good_file_and_its_shorthands():
    scenario = load(GOOD)
    assert scenario.units["county"].role == "participant"  # `key: 名称` is a participant
    assert scenario.injection("later").at == 30  # "0:30" is thirty minutes
    assert scenario.expectations[0].label == "签收"


def test_a_yaml_syntax_error_names_its_line():
    [message] = problems_of("title: 演练\nunits: [a, b\nduration: 3\n")
    assert message.startswith("第 3 行") and "YAML 格式错误" in message


def test_every_problem_is_named_with_its_place_at_once():
    text = GOOD.replace("      injured: 2", "      injured: -2").replace(
        "    unit: bureau\n    report_kind", "    unit: nobody\n    report_kind"
    )
    text = text.replace("  - {id: ack, action: acknowledge,", "  - {id: ack, action: greet,")
    text += "colour: red\n"
    messages = problems_of(text)
    assert any(
        m.startswith("第 16 行") and "情况注入 › 第 1 项 › 报告 › 受伤" in m and "不能小于 0" in m
        for m in messages
    ), messages
    assert any(
        m.startswith("第 26 行") and "colour" in m and "无法识别的字段" in m for m in messages
    )
    assert any("预期行动 › 第 1 项 › 行动" in m and "只能是" in m for m in messages), messages
    assert len(messages) == 3  # the unknown unit is checked once the shapes are right


def test_references_are_checked_with_their_place():
    text = GOOD.replace("    unit: bureau\n    report_kind", "    unit: nobody\n    report_kind")
    text = text.replace("after: first", "after: second").replace("follows: first", "follows: gone")
    text = text.replace("unit: county, after", "unit: bureau, after")
    messages = problems_of(text)
    assert any(
        m.startswith("第 20 行") and "未在参演单位（units）中定义的单位“nobody”" in m
        for m in messages
    ), messages
    assert any(m.startswith("第 22 行") and "没有编号为“gone”的情况注入" in m for m in messages)
    assert any("没有编号为“second”的情况注入" in m for m in messages)
    assert any("“bureau”是模拟单位" in m for m in messages)


def test_content_rules_a_schema_cannot_say():
    text = GOOD.replace("      category: fire", "      category: volcano").replace(
        "      narrative: 某厂仓库起火。\n", ""
    )
    text = text.replace("    follows: first\n", "").replace('at: "0:30"', "at: 90")
    messages = problems_of(text)
    assert any("未知的事件类别代码“volcano”" in m for m in messages)
    assert any("事件经过" in m and "首报须填写此项" in m for m in messages)
    assert any("续报、终报须用 follows 指明所续的报告注入" in m for m in messages)
    assert any("注入时间 90 分钟超出演练时长 60 分钟" in m for m in messages)


def test_duplicate_keys_and_ids():
    text = GOOD.replace("duration: 60\n", "duration: 60\nduration: 70\n").replace(
        "  - id: later", "  - id: first"
    )
    messages = problems_of(text)
    assert any(m.startswith("第 3 行") and "键重复出现" in m for m in messages)
    assert any("编号“first”重复" in m for m in messages)


def test_yaml_booleans_as_keys_are_explained():
    """YAML 1.1 reads `on:` as true: the message says so instead of a riddle."""
    messages = problems_of(GOOD.replace("follows: first", "on: first"))
    assert any("on、off、yes、no" in m for m in messages), messages


def test_expectations_need_their_parameters():
    text = GOOD.replace(
        "  - {id: ack, action: acknowledge, unit: county, after: first, within: 10}",
        "  - {id: w, action: warning, unit: county, within: 10}\n"
        "  - {id: r, action: response, unit: county, within: 10, level: V}\n"
        "  - {id: m, action: merge, unit: county, within: 10, injections: [first]}\n"
        "  - {id: c, action: confirm_draft, unit: county, within: 10, injection: first}",
    )
    messages = problems_of(text)
    assert any("须用 level 指明预警级别" in m for m in messages)
    assert any("须用 level 指明响应级别" in m for m in messages)
    assert any("至少列出两个报告注入" in m for m in messages)
    assert any("“first”不是来电或外部预警注入" in m for m in messages)


def test_not_a_mapping_and_too_large():
    assert "应是一个键值表" in problems_of("- 只是一个列表\n")[0]
    assert "文件超过" in problems_of("title: x\n" + "#" * 600_000)[0]


@pytest.mark.parametrize(
    ("value", "level"), [("red", 1), ("橙色", 2), ("yellow", 3), ("蓝色", 4), ("purple", None)]
)
def test_warning_levels(value, level):
    assert warning_level(value) == level


@pytest.mark.parametrize(("value", "level"), [("Ⅰ", 1), ("II", 2), (3, 3), ("Ⅳ级", 4), ("V", None)])
def test_response_levels(value, level):
    assert response_level(value) == level
