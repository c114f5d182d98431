"""Drill scenarios (演练想定): a YAML file read into checked models, with located errors.

A scenario names its units by key (mapped onto the organisation tree when a run is
prepared, by name unless the director picks another unit), a timeline of injections at
offsets in drill minutes, and the actions expected of the participating units with their
time limits. `load(text)` returns a `Scenario` or raises `ScenarioError`, whose problems
each say where in the file (line, column and the path of keys, in Chinese) and what is
wrong — every problem at once, never only the first.

    title: 化工园区爆炸事故多部门报送演练
    duration: 120                       # drill minutes; the run ends by itself then
    units:
      enterprise: {name: 临江化工集团有限公司, role: simulated}   # played by the drill
      province: 示范省委办公厅                                      # a participant
    injections:
      - id: first
        at: 0                           # minutes after the start (or "1:30")
        kind: report                    # report | call | posts | cap | notice
        unit: enterprise
        report: {title: …, category: hazchem, place: …, narrative: …, dead: 2}
    expectations:
      - id: ack
        action: acknowledge             # see ACTIONS
        unit: province
        after: first                    # counted from that injection (default: the start)
        within: 10                      # drill minutes
        points: 10

Parsing is PyYAML (safe loader; its node tree gives each value's line and column);
checking is pydantic (strict shapes, unknown keys refused), then the cross-references
(unit keys, injection ids, categories) are checked here.
"""

import re
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticError

from fenghuo.criteria.models import EventCategory
from fenghuo.events.models import EventStatus
from fenghuo.opinion.services import PLATFORM_BY_NAME

MAX_BYTES = 512 * 1024
ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,39}$"
REPORT_KINDS = {"first": "首报", "followup": "续报", "final": "终报"}
COLOURS = {"red": 1, "orange": 2, "yellow": 3, "blue": 4}
COLOUR_NAMES = {"红色": "red", "橙色": "orange", "黄色": "yellow", "蓝色": "blue"}
LEVELS = {"Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "Ⅳ": 4, "I": 1, "II": 2, "III": 3, "IV": 4}
# Expected actions: what the run observes, and which parameters each one needs.
ACTIONS = {
    "report": "报送报告",
    "confirm_draft": "记录来电或确认线索",
    "sign_off": "审签",
    "reach": "报告送达",
    "acknowledge": "签收",
    "merge": "多头报送归并",
    "grade": "定级",
    "verify_request": "发起核实",
    "verify_answer": "答复核实",
    "warning": "发布预警",
    "warning_lift": "解除预警",
    "response": "启动应急响应",
    "release": "信息发布",
    "rumour": "标记谣言",
    "status": "事件状态",
    "opinion_warning": "处理舆情预警",
    "clue": "舆情转线索",
}
# Chinese names of the keys, for the path in an error message.
LABELS = {
    "title": "标题",
    "summary": "简介",
    "duration": "演练时长",
    "units": "参演单位",
    "injections": "情况注入",
    "expectations": "预期行动",
    "name": "名称",
    "role": "角色",
    "id": "编号",
    "at": "注入时间",
    "kind": "类型",
    "unit": "单位",
    "report": "报告",
    "report_kind": "报告类型",
    "follows": "所续的注入",
    "channel": "渠道",
    "office": "接报值班室",
    "caller": "来电人",
    "phone": "来电号码",
    "posts": "帖子",
    "repeat": "重复条数",
    "text": "正文",
    "platform": "平台",
    "author": "作者",
    "sender": "发送方",
    "event": "预警事件",
    "headline": "预警标题",
    "description": "预警内容",
    "instruction": "防御指南",
    "colour": "预警级别",
    "area": "影响区域",
    "division_codes": "区划代码",
    "expires": "有效时长",
    "msg_type": "消息类型",
    "references": "所更新的注入",
    "to": "通知单位",
    "subject": "通知标题",
    "action": "行动",
    "after": "起算注入",
    "within": "时限",
    "points": "分值",
    "injection": "注入",
    "from_unit": "报送单位",
    "grade": "等级",
    "level": "级别",
    "state": "结论",
    "status": "状态",
    "category": "类别",
    "occurred": "发生时间",
    "division_code": "行政区划代码",
    "place": "地点",
    "narrative": "事件经过",
    "dead": "死亡",
    "missing": "失踪",
    "seriously_injured": "重伤",
    "injured": "受伤",
    "economic_loss": "直接经济损失",
    "affected": "受影响人数",
    "evacuated": "紧急疏散人数",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file, and where."""

    line: int | None  # 1-based
    column: int | None
    path: tuple[str | int, ...]
    message: str

    @property
    def where(self) -> str:
        parts = []
        for part in self.path:
            if isinstance(part, int):
                parts.append(f"第 {part + 1} 项")
            else:
                parts.append(LABELS.get(part, part))
        return " › ".join(parts)

    @property
    def dotted(self) -> str:
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text

    def __str__(self) -> str:
        place = f"第 {self.line} 行" if self.line else "文件"
        if self.line and self.column:
            place += f"第 {self.column} 列"
        if self.path:
            place += f"，{self.where}（{self.dotted}）"
        return f"{place}：{self.message}"


class ScenarioError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("；".join(str(p) for p in problems))
        self.problems = problems

    @property
    def messages(self) -> list[str]:
        return [str(p) for p in self.problems]


# --- the shapes ----------------------------------------------------------------------------


def _minutes(value: Any) -> Any:
    """Minutes as a number, or "H:MM" ("1:30" is 90)."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+):([0-5]\d)\s*", value)
        if match is None:
            raise ValueError("时间应为分钟数（如 15）或“时:分”（如 1:30）")
        return int(match.group(1)) * 60 + int(match.group(2))
    return value


Minutes = Annotated[float, Field(ge=0, le=7 * 24 * 60)]
Count = Annotated[int, Field(ge=0, le=100_000_000)]
Ident = Annotated[str, Field(pattern=ID_PATTERN)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UnitSpec(_Model):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Literal["participant", "simulated"] = "participant"


class ReportSpec(_Model):
    title: Annotated[str, Field(max_length=200)] | None = None
    category: str | None = None
    occurred: Annotated[float, Field(ge=-7 * 24 * 60, le=7 * 24 * 60)] = 0
    division_code: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None
    place: Annotated[str, Field(max_length=200)] | None = None
    subjects: str | None = None
    narrative: str | None = None
    cause: str | None = None
    dead: Count | None = None
    missing: Count | None = None
    seriously_injured: Count | None = None
    injured: Count | None = None
    economic_loss: Annotated[float, Field(ge=0, le=1e11)] | None = None
    affected: Count | None = None
    evacuated: Count | None = None
    measures: str | None = None
    next_steps: str | None = None
    handling_summary: str | None = None
    aftercare: str | None = None
    source: Annotated[str, Field(max_length=200)] | None = None
    is_urgent: bool = False


class _Injection(_Model):
    id: Ident
    at: Minutes
    note: str = ""

    _at = field_validator("at", mode="before")(_minutes)


class ReportInjection(_Injection):
    kind: Literal["report"]
    unit: str
    report_kind: Literal["first", "followup", "final"] = "first"
    follows: str | None = None  # the injection whose event a follow-up continues
    channel: Literal["api", "web", "email", "import"] = "api"
    report: ReportSpec


class CallInjection(_Injection):
    kind: Literal["call"]
    unit: str
    office: str | None = None
    caller: Annotated[str, Field(min_length=1, max_length=50)]
    phone: Annotated[str, Field(pattern=r"^[0-9+\-() ]{3,30}$")]
    report: ReportSpec


class PostSpec(_Model):
    text: Text
    platform: str = "weibo"
    author: Annotated[str, Field(max_length=100)] = ""
    followers: Count = 0
    verified: bool = False
    likes: Count = 0
    comments: Count = 0
    reposts: Count = 0
    views: Count = 0
    division_code: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None


class PostsInjection(_Injection):
    kind: Literal["posts"]
    posts: Annotated[list[PostSpec], Field(min_length=1, max_length=200)]
    repeat: Annotated[int, Field(ge=1, le=500)] = 1


class CapInjection(_Injection):
    kind: Literal["cap"]
    office: str
    sender: Annotated[str, Field(min_length=1, max_length=100)]
    msg_type: Literal["Alert", "Update", "Cancel"] = "Alert"
    references: str | None = None
    event: Annotated[str, Field(min_length=1, max_length=50)]
    headline: Annotated[str, Field(min_length=1, max_length=200)]
    description: Text
    instruction: str = ""
    colour: str
    category: str | None = None
    area: Annotated[str, Field(min_length=1, max_length=500)]
    division_codes: Annotated[list[Annotated[str, Field(pattern=r"^\d{6}$")]], Field(min_length=1)]
    expires: Minutes = 24 * 60

    @field_validator("colour")
    @classmethod
    def _colour(cls, value: str) -> str:
        colour = COLOUR_NAMES.get(value, value)
        if colour not in COLOURS:
            raise ValueError("预警级别只能是 blue、yellow、orange、red（或蓝色、黄色、橙色、红色）")
        return colour


class NoticeInjection(_Injection):
    kind: Literal["notice"]
    to: Annotated[list[str], Field(min_length=1)]
    subject: Annotated[str, Field(min_length=1, max_length=150)]
    text: Text
    urgent: bool = False

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


Injection = Annotated[
    ReportInjection | CallInjection | PostsInjection | CapInjection | NoticeInjection,
    Field(discriminator="kind"),
]


class Expectation(_Model):
    id: Ident
    action: Literal[tuple(ACTIONS)]  # type: ignore[valid-type]
    unit: str
    within: Annotated[float, Field(gt=0, le=7 * 24 * 60)]
    after: str | None = None
    points: Annotated[int, Field(ge=1, le=100)] = 10
    title: Annotated[str, Field(max_length=200)] | None = None
    report_kind: Literal["first", "followup", "final"] | None = None
    injection: str | None = None
    injections: list[str] | None = None
    from_unit: str | None = None
    grade: Annotated[int, Field(ge=1, le=4)] | None = None
    level: str | int | None = None
    state: str | None = None
    status: str | None = None

    _within = field_validator("within", mode="before")(_minutes)

    @property
    def label(self) -> str:
        return self.title or ACTIONS[self.action]


class Scenario(_Model):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    summary: str = ""
    duration: Annotated[float, Field(gt=0, le=7 * 24 * 60)]
    units: Annotated[dict[Ident, UnitSpec], Field(min_length=1)]
    injections: Annotated[list[Injection], Field(min_length=1)]
    expectations: list[Expectation] = []

    _duration = field_validator("duration", mode="before")(_minutes)

    @field_validator("units", mode="before")
    @classmethod
    def _unit_shorthand(cls, value: Any) -> Any:
        """`key: 单位名称` is short for `key: {name: 单位名称}`."""
        if isinstance(value, dict):
            return {k: {"name": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    def injection(self, key: str) -> Any:
        return next(i for i in self.injections if i.id == key)

    @property
    def participants(self) -> list[str]:
        return [key for key, unit in self.units.items() if unit.role == "participant"]


def warning_level(value: str | int | None) -> int | None:
    """A colour (blue … red, 蓝色 … 红色) as the warning level 4 … 1."""
    if value is None:
        return None
    return COLOURS.get(COLOUR_NAMES.get(str(value), str(value)))


def response_level(value: str | int | None) -> int | None:
    """Ⅰ … Ⅳ, I … IV or 1 … 4 as 1 … 4."""
    if value is None:
        return None
    text = str(value).strip().removesuffix("级")
    if text.isdigit() and 1 <= int(text) <= 4:
        return int(text)
    return LEVELS.get(text.upper() if text.isascii() else text)


def status_value(value: str | None) -> str | None:
    if value is None:
        return None
    for status in EventStatus:
        if value in (status.value, status.label):
            return status.value
    return None


# --- positions ------------------------------------------------------------------------------


class _Positions:
    """Line and column of every key and value of the YAML document, by path."""

    def __init__(self, node: yaml.Node | None) -> None:
        self.values: dict[tuple, yaml.Mark] = {}
        self.keys: dict[tuple, yaml.Mark] = {}
        self.duplicates: list[Problem] = []
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: tuple) -> None:
        self.values[path] = node.start_mark
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    mark = key_node.start_mark
                    self.duplicates.append(
                        Problem(mark.line + 1, mark.column + 1, (*path, key), "键重复出现")
                    )
                seen.add(key)
                self.keys[(*path, key)] = key_node.start_mark
                self._walk(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def mark(self, path: tuple, *, key: bool = False) -> yaml.Mark | None:
        if key and path in self.keys:
            return self.keys[path]
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get(())

    def problem(self, path: tuple, message: str, *, key: bool = False) -> Problem:
        mark = self.mark(path, key=key)
        return Problem(
            mark.line + 1 if mark else None, mark.column + 1 if mark else None, path, message
        )


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _data_path(data: Any, loc: tuple) -> tuple:
    """pydantic's location in the data's own terms: without the tag it adds for the
    injection's kind (the discriminator's value); a missing key ends the path."""
    path: list[Any] = []
    current, tag_skipped = data, False
    for part in loc:
        if isinstance(current, dict) and part == current.get("kind") and not tag_skipped:
            tag_skipped = True  # the tag comes first ("report" is also a field of a report)
            continue
        if _has(current, part):
            current, tag_skipped = current[part], False
        elif isinstance(part, str) and part != "[key]":
            current = None  # a missing key: point at its mapping, name the key
        else:
            continue
        path.append(part)
    return tuple(path)


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _chinese(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    messages = {
        "missing": "缺少必填项",
        "extra_forbidden": "无法识别的字段",
        "string_type": "应为文字",
        "int_type": "应为整数",
        "int_parsing": "应为整数",
        "int_from_float": "应为整数",
        "float_type": "应为数字",
        "float_parsing": "应为数字",
        "bool_type": "应为 true 或 false",
        "bool_parsing": "应为 true 或 false",
        "list_type": "应为列表",
        "dict_type": "应为键值表",
        "model_type": "应为键值表",
        "model_attributes_type": "应为键值表",
        "string_too_short": "不能为空",
        "union_tag_not_found": "缺少类型（kind）：report、call、posts、cap 或 notice",
        "string_pattern_mismatch": "格式不正确",
    }
    if kind == "invalid_key" or "[key]" in error["loc"]:
        return "键须为文字（YAML 会把 on、off、yes、no 等当作真假值，请加引号或换用别的键）"
    if kind == "literal_error" and error["loc"] and error["loc"][-1] == "action":
        return "行动只能是：" + "、".join(f"{k}（{v}）" for k, v in ACTIONS.items())
    if kind == "literal_error":
        return f"只能是：{ctx.get('expected', '')}"
    if kind == "union_tag_invalid":
        return "类型（kind）只能是 report、call、posts、cap 或 notice"
    if kind == "greater_than_equal":
        return f"不能小于 {_number(ctx.get('ge'))}"
    if kind == "greater_than":
        return f"须大于 {_number(ctx.get('gt'))}"
    if kind == "less_than_equal":
        return f"不能大于 {_number(ctx.get('le'))}"
    if kind == "string_too_long":
        return f"不能超过 {ctx.get('max_length')} 个字"
    if kind == "too_short":
        return f"至少要有 {ctx.get('min_length')} 项"
    if kind == "too_long":
        return f"最多 {ctx.get('max_length')} 项"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_pattern_mismatch" and error["loc"] and error["loc"][-1] == "id":
        return "编号须以字母开头，只含字母、数字、下划线和连字符，最长 40 个字符"
    return messages.get(kind, error["msg"])


# --- loading ------------------------------------------------------------------------------


def _parse(text: str) -> tuple[Any, _Positions]:
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ScenarioError([Problem(None, None, (), f"文件超过 {MAX_BYTES // 1024} KB")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = exc.problem or exc.context or "无法解析"
        raise ScenarioError(
            [
                Problem(
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                    (),
                    f"YAML 格式错误：{detail}",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(None, None, (), f"YAML 格式错误：{exc}")]) from None
    return data, _Positions(node)


def load(text: str) -> Scenario:
    """The scenario in `text`, or ScenarioError naming every problem and where it is."""
    data, positions = _parse(text)
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem(1, 1, (), "想定文件应是一个键值表（title、units、injections …）")]
        )
    problems = list(positions.duplicates)
    try:
        scenario = Scenario.model_validate(data)
    except PydanticError as exc:
        for error in exc.errors():
            path = _data_path(data, tuple(error["loc"]))
            key = error["type"] == "extra_forbidden"
            problems.append(positions.problem(path, _chinese(error), key=key))
        raise ScenarioError(problems) from None
    problems += _cross_check(scenario, positions)
    if problems:
        raise ScenarioError(problems)
    return scenario


def _cross_check(scenario: Scenario, positions: _Positions) -> list[Problem]:
    """What a schema cannot say: references between parts, categories, the plot."""
    problems: list[Problem] = []

    def bad(path: tuple, message: str) -> None:
        problems.append(positions.problem(path, message))

    injections = {i.id: (n, i) for n, i in enumerate(scenario.injections)}
    ids: dict[str, tuple] = {}
    for n, injection in enumerate(scenario.injections):
        if injection.id in ids:
            bad(("injections", n, "id"), f"编号“{injection.id}”重复")
        ids.setdefault(injection.id, ("injections", n))
    for n, expectation in enumerate(scenario.expectations):
        if expectation.id in ids:
            bad(("expectations", n, "id"), f"编号“{expectation.id}”重复")
        ids.setdefault(expectation.id, ("expectations", n))
    categories = set(EventCategory.objects.values_list("code", flat=True))

    def unit(path: tuple, key: str | None, *, participant: bool = False) -> None:
        if key is None:
            return
        if key not in scenario.units:
            known = "、".join(scenario.units)
            bad(path, f"未在参演单位（units）中定义的单位“{key}”，已定义：{known}")
        elif participant and scenario.units[key].role != "participant":
            bad(path, f"“{key}”是模拟单位（simulated），由演练扮演，不参加评分")

    def earlier(path: tuple, key: str | None, at: float, kinds: tuple[str, ...]) -> None:
        if key is None:
            return
        found = injections.get(key)
        if found is None:
            bad(path, f"没有编号为“{key}”的情况注入")
        elif found[1].kind not in kinds:
            bad(path, f"“{key}”不是{'或'.join(kinds)}类型的注入")
        elif found[1].at > at:
            bad(path, f"“{key}”的注入时间晚于本注入")

    for n, injection in enumerate(scenario.injections):
        here = ("injections", n)
        if injection.at > scenario.duration:
            bad(
                (*here, "at"),
                f"注入时间 {injection.at:g} 分钟超出演练时长 {scenario.duration:g} 分钟",
            )
        if injection.kind in ("report", "call"):
            unit((*here, "unit"), injection.unit)
            _check_report(injection, here, categories, bad)
        if injection.kind == "report":
            if injection.report_kind == "first" and injection.follows:
                bad((*here, "follows"), "首报不续在已有事件上；续报、终报才需要 follows")
            if injection.report_kind != "first" and not injection.follows:
                bad((*here, "follows"), "续报、终报须用 follows 指明所续的报告注入")
            earlier((*here, "follows"), injection.follows, injection.at, ("report", "call"))
        if injection.kind == "call":
            unit((*here, "office"), injection.office)
        if injection.kind == "cap":
            unit((*here, "office"), injection.office)
            if injection.category and injection.category not in categories:
                bad((*here, "category"), f"未知的事件类别代码“{injection.category}”")
            if injection.msg_type == "Alert" and injection.references:
                bad((*here, "references"), "Alert 消息不引用其他注入；Update、Cancel 才需要")
            if injection.msg_type != "Alert" and not injection.references:
                bad((*here, "references"), "Update、Cancel 消息须用 references 指明所更新的注入")
            earlier((*here, "references"), injection.references, injection.at, ("cap",))
        if injection.kind == "notice":
            for m, key in enumerate(injection.to):
                unit((*here, "to", m), key)
        if injection.kind == "posts":
            for m, post in enumerate(injection.posts):
                if not _platform(post.platform):
                    bad(
                        (*here, "posts", m, "platform"),
                        "平台只能是 weibo、wechat、news、forum、video、app、other 或其中文名",
                    )

    for n, expectation in enumerate(scenario.expectations):
        here = ("expectations", n)
        start = injections[expectation.after][1].at if expectation.after in injections else 0
        if start + expectation.within > scenario.duration:
            bad(
                (*here, "within"),
                f"时限到演练第 {start + expectation.within:g} 分钟，超出演练时长 "
                f"{scenario.duration:g} 分钟：演练结束时还没到时限",
            )
        unit((*here, "unit"), expectation.unit, participant=True)
        unit((*here, "from_unit"), expectation.from_unit)
        if expectation.after is not None and expectation.after not in injections:
            bad((*here, "after"), f"没有编号为“{expectation.after}”的情况注入")
        _check_expectation(expectation, here, injections, bad)
    return problems


def _check_report(injection: Any, here: tuple, categories: set[str], bad: Any) -> None:
    spec = injection.report
    first = injection.kind == "call" or injection.report_kind == "first"
    if first:
        for name in ("title", "category", "place", "narrative"):
            if not getattr(spec, name):
                bad((*here, "report", name), "首报须填写此项")
    elif not spec.narrative:
        bad((*here, "report", "narrative"), "续报、终报须填写事件经过")
    if injection.kind == "report" and injection.report_kind == "final":
        for name in ("cause", "handling_summary", "aftercare"):
            if not getattr(spec, name):
                bad((*here, "report", name), "终报须填写此项")
    if spec.category and spec.category not in categories:
        bad((*here, "report", "category"), f"未知的事件类别代码“{spec.category}”")


def _check_expectation(expectation: Expectation, here: tuple, injections: dict, bad: Any) -> None:
    action = expectation.action

    def need(name: str, message: str) -> None:
        if getattr(expectation, name) in (None, [], ""):
            bad((*here, name), message)

    if action == "confirm_draft":
        need("injection", "须用 injection 指明来电（call）或外部预警（cap）注入")
        found = injections.get(expectation.injection or "")
        if expectation.injection and (found is None or found[1].kind not in ("call", "cap")):
            bad((*here, "injection"), f"“{expectation.injection}”不是来电或外部预警注入")
    if action == "merge":
        need("injections", "须用 injections 列出应归并为同一事件的报告注入（至少两个）")
        keys = expectation.injections or []
        if keys and len(keys) < 2:
            bad((*here, "injections"), "至少列出两个报告注入")
        for m, key in enumerate(keys):
            found = injections.get(key)
            if found is None or found[1].kind not in ("report", "call"):
                bad((*here, "injections", m), f"“{key}”不是报告或来电注入")
    if action == "grade":
        need("grade", "须用 grade 指明应达到的等级（1 特别重大 … 4 一般）")
    if action in ("warning", "warning_lift") and warning_level(expectation.level) is None:
        bad((*here, "level"), "须用 level 指明预警级别：blue、yellow、orange 或 red")
    if action == "response" and response_level(expectation.level) is None:
        bad((*here, "level"), "须用 level 指明响应级别：Ⅰ、Ⅱ、Ⅲ 或 Ⅳ（或 1–4）")
    if action == "verify_answer" and expectation.state not in (
        None,
        "confirmed",
        "partly",
        "false",
    ):
        bad((*here, "state"), "核实结论只能是 confirmed、partly 或 false")
    if action == "release" and expectation.state not in (None, "approved", "published"):
        bad((*here, "state"), "只能是 approved（已批准）或 published（已发布）")
    if action == "opinion_warning" and expectation.state not in (None, "raised", "confirmed"):
        bad((*here, "state"), "只能是 raised（已发出）或 confirmed（已确认）")
    if action == "status":
        need("status", "须用 status 指明事件应到达的状态")
        if expectation.status and status_value(expectation.status) is None:
            choices = "、".join(f"{s.value}（{s.label}）" for s in EventStatus)
            bad((*here, "status"), f"状态只能是：{choices}")


def _platform(value: str) -> str | None:
    return PLATFORM_BY_NAME.get(value)


# --- the library ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bundled:
    slug: str
    text: str


def bundled() -> list[Bundled]:
    """The scenarios shipped with the package (drills/scenarios/*.yaml), by file name."""
    folder = resources.files("fenghuo.drills") / "scenarios"
    found = [
        Bundled(entry.name.removesuffix(".yaml"), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    ]
    return sorted(found, key=lambda b: b.slug)
