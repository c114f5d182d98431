"""Missed reports (漏报): an event in a unit's area, which its grading obliges the unit to
report, brought in by another unit (or a clue) and not reported by the unit by its
deadline. Not when the grade stays below what makes the unit owe anything."""

from datetime import timedelta

import pytest

from fenghuo.assess import metrics
from fenghuo.assess.models import AreaDuty, Case, CaseKind, DutyState
from fenghuo.assess.periods import Period
from fenghuo.assess.tasks import assess_due
from fenghuo.core import clock
from fenghuo.core.loops import load
from fenghuo.events import services as event_services
from fenghuo.events.models import EventStatus
from fenghuo.intake.services import confirm_intake_draft, report_from_clue
from fenghuo.notify.models import Message
from tests.assess.world import at, report
from tests.events.world import principal

pytestmark = pytest.mark.django_db

START = at(1, 20, 14, 20)


def _duties(event) -> dict[str, AreaDuty]:
    return {d.unit.name: d for d in AreaDuty.objects.filter(event=event).select_related("unit")}


def test_a_missed_case_opens_when_another_unit_reports_and_the_deadline_passes(world):
    # The city's newspaper reports a road accident in 江口 (grade Ⅳ under the city's
    # criteria: county 60 minutes, city 120). The county office owes the city; the county
    # police, responsible for road accidents, owe the county and the city.
    filed = report(world, "media", received=START, occurred=START - timedelta(minutes=20))
    duties = _duties(filed.event)
    assert set(duties) == {"江口县委办公室", "江口县公安局"}
    assert duties["江口县委办公室"].due_at == START + timedelta(minutes=120)
    assert duties["江口县公安局"].due_at == START + timedelta(minutes=60)
    assert "须于 120 分钟内报告临江市委办公室" in duties["江口县委办公室"].reason
    # Each is told at once that it must report, and by when.
    told = Message.objects.filter(key=f"area-duty:{duties['江口县委办公室'].pk}", channel="inapp")
    assert {m.person.username for m in told} == {"county_duty", "county_leader", "county_reporter"}

    with clock.frozen_at(START + timedelta(minutes=59)):
        assess_due()
    assert not Case.objects.filter(event=filed.event).exists()
    with clock.frozen_at(START + timedelta(minutes=61)):
        assess_due()
    case = Case.objects.get(event=filed.event)
    assert (case.kind, case.unit, case.state) == (CaseKind.MISSED, world["police"], "open")
    assert case.at == START + timedelta(minutes=60)
    assert case.office == world["county"]  # the office above that evaluates it
    with clock.frozen_at(START + timedelta(minutes=121)):
        assess_due()
        assess_due()  # a second run (another worker, a retry) adds nothing
    missed = Case.objects.filter(event=filed.event, kind=CaseKind.MISSED)
    assert {c.unit.name for c in missed} == {"江口县公安局", "江口县委办公室"}
    county_case = missed.get(unit=world["county"])
    # The unit and the duty officer of the office above it are told (once).
    told = Message.objects.filter(key=f"case:{county_case.pk}:opened", channel="inapp")
    assert sorted(m.person.username for m in told) == [
        "city_duty",
        "county_duty",
        "county_leader",
        "county_reporter",
    ]
    assert filed.event.timeline.filter(text__startswith="漏报：江口县委办公室辖区内").count() == 1
    # It counts as the unit's missed duty and missed case in the period.
    with clock.frozen_at(START + timedelta(hours=3)):
        figures = metrics.unit_figures(world["county"], Period.bimonth(START.date()))
    assert (figures.due, figures.missed, figures.missed_cases) == (1, 1, 1)


def test_a_report_in_time_from_the_unit_or_below_it_meets_the_duty(world):
    filed = report(world, "media", received=START)
    # The county police report within their hour; their report passes through the county
    # office, which therefore has reported too.
    report(world, "police", received=START + timedelta(minutes=50), event=filed.event)
    duties = _duties(filed.event)
    assert {d.state for d in duties.values()} == {DutyState.MET}
    assert duties["江口县公安局"].minutes_late == 0
    with clock.frozen_at(START + timedelta(hours=3)):
        assess_due()
    assert not Case.objects.filter(event=filed.event).exists()


def test_a_report_after_the_deadline_is_recorded_on_the_missed_duty(world):
    filed = report(world, "media", received=START)
    # The worker has not run yet when the police report, ten minutes late: missed at its
    # deadline all the same, and the late report is kept on the row and the case.
    report(world, "police", received=START + timedelta(minutes=70), event=filed.event)
    duty = _duties(filed.event)["江口县公安局"]
    assert (duty.state, duty.minutes_late) == (DutyState.MISSED, 10)
    case = Case.objects.get(event=filed.event, unit=world["police"])
    assert case.details["minutes_late"] == 10 and case.details["reported_at"]


def test_no_duty_when_the_grade_is_below_the_units_threshold(world):
    # A province newspaper reports (the national criteria apply to it): one dead is 一般
    # (Ⅳ) — county and city. The city office owes nobody above it for that: no duty.
    one = report(world, "province_media", received=START, dead=1)
    assert one.event.grade == 4
    assert set(_duties(one.event)) == {"江口县委办公室", "江口县公安局"}
    # Three dead is 较大 (Ⅲ): the province must be told, so the city office owes it now.
    three = report(
        world,
        "province_media",
        received=START + timedelta(days=3),
        dead=3,
        place="江口县长岗乡X012县道",
    )
    assert three.event.grade == 3
    duties = _duties(three.event)
    assert set(duties) == {"江口县委办公室", "江口县公安局", "临江市委办公室"}
    assert duties["临江市委办公室"].offices == [
        {
            "office_id": world["province"].pk,
            "office": "江南省委办公厅",
            "level": "province",
            "written_minutes": 300,
        }
    ]
    # No grade at all (below every threshold of every criteria): nobody owes anything.
    ungraded = report(
        world,
        "province_media",
        received=START + timedelta(days=6),
        category="mass_incident",
        dead=None,
        place="江口县城关镇广场",
        title="江口县城关镇广场有群众聚集",
    )
    assert ungraded.event.grade is None
    assert not AreaDuty.objects.filter(event=ungraded.event).exists()


def test_a_rising_grade_obliges_from_when_it_rose(world):
    one = report(world, "province_media", received=START, dead=1)
    assert "临江市委办公室" not in _duties(one.event)
    with clock.frozen_at(START + timedelta(hours=2)):
        task = event_services.request_verification(
            principal(world, "province_duty"),
            event=one.event,
            assignee_unit=world["county"],
            question="请核实伤亡",
            due_at=START + timedelta(hours=4),
        )
    with clock.frozen_at(START + timedelta(hours=3)):
        event_services.answer_verification(
            principal(world, "county_duty"),
            task,
            state="confirmed",
            answer="死亡3人",
            figures={"dead": 3},
        )
    duty = _duties(one.event)["临江市委办公室"]
    assert duty.known_at == START + timedelta(hours=3)
    assert duty.due_at == START + timedelta(hours=3, minutes=300)


def test_a_clue_in_the_units_name_is_not_its_report(world):
    with clock.frozen_at(START):
        draft = report_from_clue(
            principal(world, "analyst"),
            unit=world["county"],
            clue_text="网传江口县城关镇解放路口发生车祸，有人员伤亡",
            source_url="https://weibo.example/1",
            data={"division_code": "990121", "place": "江口县城关镇解放路口"},
        )
        filed = confirm_intake_draft(principal(world, "county_duty"), draft.report, {})
    duties = _duties(filed.event)
    # The catch-all criteria grade an online-opinion clue Ⅳ; the county did not report it.
    assert duties["江口县委办公室"].state == DutyState.PENDING


def test_an_event_found_false_cancels_its_duties(world):
    filed = report(world, "media", received=START)
    with clock.frozen_at(START + timedelta(minutes=30)):
        event_services.change_status(
            principal(world, "city_duty"), filed.event, EventStatus.FALSE, note="谣言"
        )
    with clock.frozen_at(START + timedelta(hours=3)):
        assess_due()
    assert {d.state for d in _duties(filed.event).values()} == {DutyState.CANCELLED}
    assert not Case.objects.filter(event=filed.event).exists()


def test_merging_moves_the_duties_and_a_report_on_the_other_event_meets_them(world):
    filed = report(world, "media", received=START)
    # The police report the same accident, but it opens an event of its own.
    own = report(
        world,
        "police",
        received=START + timedelta(minutes=20),
        place="江口县某处",
        title="江口县某处发生车祸",
        narrative="两车相撞",
    )
    assert own.event.pk != filed.event.pk
    with clock.frozen_at(START + timedelta(minutes=40)):
        event_services.merge_events(
            principal(world, "city_duty"), source=own.event, target=filed.event
        )
    duties = _duties(filed.event)
    assert duties["江口县公安局"].state == DutyState.MET
    assert duties["江口县委办公室"].state == DutyState.MET  # the police are below it


def test_the_loop_is_registered_for_the_worker(settings):
    path = "fenghuo.assess.tasks:assess_due"
    assert path in settings.FENGHUO_WORKER_LOOPS
    assert load(path) is assess_due
