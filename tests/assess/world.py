"""A cast and a period for the evaluation tests.

江南省委办公厅 (province office: 值班员)
├── 江南日报社 (a province newspaper, direct reporting point: 信息员; outside the city)
└── 临江市委办公室 (city office: 值班员, 单位领导, 领导小组组长, 舆情分析员, 管理员, 专家)
    ├── 临江日报社 (media, a direct reporting point: 信息员)
    ├── 临江大学 (a direct reporting point that reports nothing)
    ├── 江口县委办公室 (county office: 值班员, 单位领导, 信息员)
    │   ├── 江口县公安局 (信息员 only: its reports go at once; responsible for road accidents)
    │   └── 江口县应急管理局 (信息员, 单位领导: its reports wait for sign-off)
    └── 河西县委办公室 (another county office: 值班员, 信息员; no leader)

`build_period` files, through the real services and with the clock pinned, a January–
February 2026 of known on-time, late and missing reports (see its docstring for the
expected figures). Criteria are data: the city's own criteria (a catch-all rule, grade Ⅳ
→ county in 60 minutes and city in 120, Ⅲ (3 dead) → also the province in 240, no
follow-ups) keep the obligations to the written reports, so every figure can be counted
by hand.
"""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from fenghuo.assess import services as assess_services
from fenghuo.assess.tasks import assess_due
from fenghuo.core import clock
from fenghuo.criteria import services as criteria_services
from fenghuo.criteria.models import EventCategory
from fenghuo.escalation import services as escalation_services
from fenghuo.escalation.deadlines import mark_overdue
from fenghuo.escalation.models import Route
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, Event, ReportKind, VerificationTask
from fenghuo.org.models import AdminLevel, Role
from tests.conftest import SYSTEM
from tests.events.world import _person, _unit, principal

CST = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 2, 20, 12, 0, tzinfo=CST)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


def build_world() -> dict[str, Any]:
    province = _unit(
        "江南省委办公厅", None, "990000", level=AdminLevel.PROVINCE, is_receiving_office=True
    )
    province_media = _unit(
        "江南日报社",
        province,
        "990000",
        kind="media",
        level=AdminLevel.PROVINCE,
        is_direct_point=True,
    )
    city = _unit(
        "临江市委办公室", province, "990100", level=AdminLevel.CITY, is_receiving_office=True
    )
    media = _unit(
        "临江日报社", city, "990100", kind="media", level=AdminLevel.CITY, is_direct_point=True
    )
    university = _unit(
        "临江大学", city, "990100", kind="university", level=AdminLevel.CITY, is_direct_point=True
    )
    county = _unit("江口县委办公室", city, "990121", is_receiving_office=True)
    police = _unit("江口县公安局", county, "990121", kind="public_security")
    emergency = _unit("江口县应急管理局", county, "990121", kind="emergency")
    other = _unit("河西县委办公室", city, "990122", is_receiving_office=True)
    people = {
        "province_duty": _person("province_duty", province, Role.DUTY_OFFICER),
        "province_media": _person("province_media_reporter", province_media, Role.REPORTER),
        "city_duty": _person("city_duty", city, Role.DUTY_OFFICER, full_name="市值班"),
        "city_leader": _person("city_leader", city, Role.UNIT_LEADER),
        "group_leader": _person("group_leader", city, Role.GROUP_LEADER),
        "analyst": _person("analyst", city, Role.ANALYST),
        "city_admin": _person("city_admin", city, Role.ADMIN),
        "expert": _person("expert", city, Role.EXPERT),
        "media": _person("media_reporter", media, Role.REPORTER),
        "university": _person("university_reporter", university, Role.REPORTER),
        "county_duty": _person("county_duty", county, Role.DUTY_OFFICER),
        "county_leader": _person("county_leader", county, Role.UNIT_LEADER),
        "county": _person("county_reporter", county, Role.REPORTER),
        "police": _person("police_reporter", police, Role.REPORTER, full_name="警信息"),
        "emergency": _person("emergency_reporter", emergency, Role.REPORTER),
        "emergency_leader": _person("emergency_leader", emergency, Role.UNIT_LEADER),
        "other_duty": _person("other_duty", other, Role.DUTY_OFFICER),
        "other": _person("other_reporter", other, Role.REPORTER),
    }
    ruleset = criteria_services.ruleset_create(
        SYSTEM,
        code="lj-test",
        name="临江市紧急信息报送标准（测试）",
        effective_from=datetime(2025, 1, 1, tzinfo=CST),
        jurisdiction=city,
    )
    criteria_services.rule_set_up(
        SYSTEM,
        ruleset,
        None,
        base_grade=4,
        thresholds={3: {"dead": 3}},
        targets={
            4: [("county", None, 60), ("city", None, 120)],
            3: [("county", None, 60), ("city", None, 120), ("province", None, 240)],
        },
    )
    return {
        "province": province,
        "province_media": province_media,
        "city": city,
        "media": media,
        "university": university,
        "county": county,
        "police": police,
        "emergency": emergency,
        "other": other,
        "people": people,
    }


def module_world(django_db_blocker, *, period: bool = False):
    with django_db_blocker.unblock(), transaction.atomic():
        world = build_world()
        if period:
            world.update(build_period(world))
        yield world
        transaction.set_rollback(True)


def report(
    world: dict,
    who: str,
    *,
    received: datetime,
    occurred: datetime | None = None,
    event: Event | None = None,
    category: str = "road_traffic",
    kind: str = ReportKind.FIRST,
    **data: Any,
):
    """`who` files a report for their own unit at `received` (the clock pinned there)."""
    values: dict[str, Any] = {
        "title": "江口县发生一起道路交通事故",
        "category": EventCategory.objects.get(code=category),
        "occurred_at": occurred or received - timedelta(minutes=30),
        "division_code": "990121",
        "place": "江口县城关镇解放路口",
        "subjects": "小客车驾乘人员",
        "narrative": "一辆小客车与电动车相撞，伤员已送医，交警已到场处置。",
        "dead": 1,
        **data,
    }
    values = {k: v for k, v in values.items() if v is not None}
    unit = world["people"][who].unit
    with clock.frozen_at(received):
        return event_services.file_report(
            principal(world, who),
            unit=unit,
            kind=kind,
            channel=Channel.WEB,
            data=values,
            event=event,
            received_at=received,
        )


def run_loops(moment: datetime) -> None:
    """The worker's steps at `moment`: deadlines, then assess."""
    with clock.frozen_at(moment):
        while mark_overdue():
            pass
        while assess_due():
            pass


def sign_off(world: dict, who: str, filed, moment: datetime) -> None:
    with clock.frozen_at(moment):
        route = Route.objects.filter(report=filed.report).first()
        escalation_services.sign_off(principal(world, who), route)


def build_period(world: dict) -> dict[str, Any]:
    """January–February 2026, figures as of NOW (20 February 12:00), ranked under the city:

    | unit | duties due (on time/late/missed) | first-report minutes | complete | other |
    | 临江日报社 | 1 (1/0/0) | 20 | 1/1 | — → 100.0 |
    | 江口县委办公室 | 4 (3/0/1) | 110, 60 | 2/2 | 漏报 1 (a late case merged into it) → 78.3 |
    | 河西县委办公室 | 1 (1/0/0) | 10 | 0/1 | → 66.7 |
    | 江口县公安局 | 9 (7/0/2) | 30, 120, 20 | 3/3 | accuracy 0/1, adopted 1, 漏报 2, 瞒报 1,
      letter answered late 1 → 43.9 |
    | 江口县应急管理局 | 2 (1/1/0) | 60 | 0/1 | 迟报 1, 泄密 1 → 26.3 |
    | 临江大学 | — | — | — | no activity: no score, last |
    """
    p = {}
    # E1, 5 January: the police report at once (no leader): both written reports on time.
    e1 = report(
        world,
        "police",
        received=at(1, 5, 10),
        occurred=at(1, 5, 9, 30),
        place="江口县城关镇解放路口",
    )
    p["e1"] = e1
    with clock.frozen_at(at(1, 5, 11)):
        assess_services.adopt(principal(world, "city_duty"), e1.report, note="编入《值班快报》")

    # E2, 12 January: the emergency bureau's report waits for its leader, who signs off at
    # 10:30 — the county's written report (due 10:00) 30 minutes late, the city's on time.
    # The police, responsible for road accidents there, never report it: 漏报 at 10:00.
    e2 = report(
        world,
        "emergency",
        received=at(1, 12, 9),
        occurred=at(1, 12, 8),
        place="江口县长岗乡S205线",
        subjects="",
    )
    sign_off(world, "emergency_leader", e2, at(1, 12, 10, 30))
    run_loops(at(1, 12, 11))
    with clock.frozen_at(at(1, 12, 12)):
        assess_services.record_incident(
            principal(world, "city_duty"),
            event=e2.event,
            unit=world["emergency"],
            description="将首报内容转发至工作群，未按内部信息管理",
        )
    p["e2"] = e2

    # E3, 20 January: the newspaper reports first (14:20). The county office (due 16:20)
    # reports at 15:50, signed off at 16:00; the police (due 15:20) only at 16:00: 漏报.
    e3 = report(
        world,
        "media",
        received=at(1, 20, 14, 20),
        occurred=at(1, 20, 14),
        place="江口县新店镇G318国道K1205处",
    )
    run_loops(at(1, 20, 15, 30))
    county = report(
        world,
        "county",
        received=at(1, 20, 15, 50),
        occurred=at(1, 20, 14),
        event=e3.event,
        place="江口县新店镇G318国道K1205处",
    )
    sign_off(world, "county_leader", county, at(1, 20, 16))
    report(
        world,
        "police",
        received=at(1, 20, 16),
        occurred=at(1, 20, 14),
        event=e3.event,
        place="江口县新店镇G318国道K1205处",
    )
    run_loops(at(1, 20, 17))
    p["e3"] = e3

    # E4, 3 February, in the other county: its office reports at once, without subjects.
    e4 = report(
        world,
        "other",
        received=at(2, 3, 9, 10),
        occurred=at(2, 3, 9),
        division_code="990122",
        place="河西县河滨路",
        title="河西县发生一起道路交通事故",
        subjects="",
    )
    p["e4"] = e4

    # E5, 10 February: the police report 1 dead; the county, asked to verify, finds 3. The
    # grade rises to Ⅲ (the police now owe the province too) and a concealment suspicion
    # opens, confirmed the next morning; the inquiry letter is answered a day late.
    e5 = report(
        world,
        "police",
        received=at(2, 10, 10),
        occurred=at(2, 10, 9, 40),
        place="江口县G205国道K12处",
        title="江口县G205国道发生交通事故",
    )
    with clock.frozen_at(at(2, 10, 10, 30)):
        task = event_services.request_verification(
            principal(world, "city_duty"),
            event=e5.event,
            assignee_unit=world["county"],
            question="请核实死亡人数",
            due_at=at(2, 10, 14),
        )
    with clock.frozen_at(at(2, 10, 11)):
        event_services.answer_verification(
            principal(world, "county_duty"),
            VerificationTask.objects.get(pk=task.pk),
            state=VerificationTask.State.CONFIRMED,
            answer="经核实，死亡3人",
            figures={"dead": 3},
        )
    suspicion = e5.event.assess_cases.get(kind="concealed")
    with clock.frozen_at(at(2, 11, 8)):
        assess_services.decide_case(
            principal(world, "city_duty"), suspicion, confirm=True, note="核实数明显高于报送数"
        )
    with clock.frozen_at(at(2, 11, 9)):
        letter, _ = assess_services.issue_letter(
            principal(world, "city_duty"), suspicion, due_at=at(2, 12, 9)
        )
    run_loops(at(2, 12, 10))
    with clock.frozen_at(at(2, 13, 10)):
        assess_services.answer_letter(
            principal(world, "police"),
            letter,
            explanation="首报时仅掌握1人死亡，后续未及时续报",
            measures="建立伤亡人数核对制度",
        )
    p.update(e5=e5, suspicion=suspicion, letter=letter, task=task)

    # E8, 15 February: the county office reports (a campus incident: no department is
    # responsible), its leader never signs off: the city's written report goes late (12:00),
    # then missed a day later; the late case merges into the missed one.
    e8 = report(
        world,
        "county",
        received=at(2, 15, 10),
        occurred=at(2, 15, 9),
        category="campus",
        place="江口县第一中学",
        title="江口县第一中学发生学生冲突",
        dead=None,
    )
    run_loops(at(2, 15, 12, 30))
    run_loops(at(2, 16, 12, 30))
    run_loops(NOW)
    p["e8"] = e8
    return p


EXPECTED = [
    {
        "unit": "临江日报社",
        "rank": 1,
        "score": 100.0,
        "timeliness": 100.0,
        "due": 1,
        "on_time": 1,
        "late": 0,
        "missed": 0,
        "median_delay": 20.0,
        "p90_delay": 20.0,
        "completeness": 100.0,
        "followups": None,
        "accuracy": None,
        "reports": 1,
        "adopted": 0,
        "late_cases": 0,
        "missed_cases": 0,
        "concealed_cases": 0,
        "suspected_cases": 0,
        "confidentiality_cases": 0,
        "letters": 0,
        "letters_overdue": 0,
    },
    {
        "unit": "江口县委办公室",
        "rank": 2,
        "score": 78.3,
        "timeliness": 75.0,
        "due": 4,
        "on_time": 3,
        "late": 0,
        "missed": 1,
        "median_delay": 85.0,
        "p90_delay": 105.0,
        "completeness": 100.0,
        "followups": None,
        "accuracy": None,
        "reports": 2,
        "adopted": 0,
        "late_cases": 0,
        "missed_cases": 1,
        "concealed_cases": 0,
        "suspected_cases": 0,
        "confidentiality_cases": 0,
        "letters": 0,
        "letters_overdue": 0,
    },
    {
        "unit": "河西县委办公室",
        "rank": 3,
        "score": 66.7,
        "timeliness": 100.0,
        "due": 1,
        "on_time": 1,
        "late": 0,
        "missed": 0,
        "median_delay": 10.0,
        "p90_delay": 10.0,
        "completeness": 0.0,
        "followups": None,
        "accuracy": None,
        "reports": 1,
        "adopted": 0,
        "late_cases": 0,
        "missed_cases": 0,
        "concealed_cases": 0,
        "suspected_cases": 0,
        "confidentiality_cases": 0,
        "letters": 0,
        "letters_overdue": 0,
    },
    {
        "unit": "江口县公安局",
        "rank": 4,
        "score": 43.9,
        "timeliness": 77.8,
        "due": 9,
        "on_time": 7,
        "late": 0,
        "missed": 2,
        "median_delay": 30.0,
        "p90_delay": 102.0,
        "completeness": 100.0,
        "followups": None,
        "accuracy": 0.0,
        "reports": 3,
        "adopted": 1,
        "late_cases": 0,
        "missed_cases": 2,
        "concealed_cases": 1,
        "suspected_cases": 0,
        "confidentiality_cases": 0,
        "letters": 1,
        "letters_overdue": 1,
    },
    {
        "unit": "江口县应急管理局",
        "rank": 5,
        "score": 26.3,
        "timeliness": 50.0,
        "due": 2,
        "on_time": 1,
        "late": 1,
        "missed": 0,
        "median_delay": 60.0,
        "p90_delay": 60.0,
        "completeness": 0.0,
        "followups": None,
        "accuracy": None,
        "reports": 1,
        "adopted": 0,
        "late_cases": 1,
        "missed_cases": 0,
        "concealed_cases": 0,
        "suspected_cases": 0,
        "confidentiality_cases": 1,
        "letters": 0,
        "letters_overdue": 0,
    },
    {
        "unit": "临江大学",
        "rank": None,
        "score": None,
        "timeliness": None,
        "due": 0,
        "on_time": 0,
        "late": 0,
        "missed": 0,
        "median_delay": None,
        "p90_delay": None,
        "completeness": None,
        "followups": None,
        "accuracy": None,
        "reports": 0,
        "adopted": 0,
        "late_cases": 0,
        "missed_cases": 0,
        "concealed_cases": 0,
        "suspected_cases": 0,
        "confidentiality_cases": 0,
        "letters": 0,
        "letters_overdue": 0,
    },
]
