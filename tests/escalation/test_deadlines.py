"""Obligations as durable timers: met on time or late (with minutes), marked late by the
worker's loop step, missed after the grace period or when the event ends; follow-ups,
final reports and verification answers; a lower grade cancels nothing."""

from datetime import timedelta

import pytest

from fenghuo.core import clock
from fenghuo.escalation import services
from fenghuo.escalation.deadlines import mark_overdue
from fenghuo.escalation.models import Obligation, ObligationKind, ObligationState, Route
from fenghuo.events import services as event_services
from fenghuo.events.models import Event, EventStatus, ReportKind, VerificationTask
from fenghuo.notify.models import Message
from tests.escalation.world import file_report
from tests.events.world import principal

pytestmark = pytest.mark.django_db

State = ObligationState


@pytest.fixture
def frozen():
    with clock.frozen_at(clock.now()):
        yield clock.now()


def _get(event, kind: str, **filters) -> Obligation:
    return Obligation.objects.get(event=event, kind=kind, **filters)


def _late_lines(event) -> list[str]:
    return list(event.timeline.filter(text__startswith="超时").values_list("text", flat=True))


def test_met_late_records_the_minutes_and_on_time_records_none(world, frozen):
    filed = file_report(world, dead=2)
    clock.advance(timedelta(minutes=45))
    route = Route.objects.filter(report=filed.report).first()
    services.sign_off(principal(world, "emergency_leader"), route)
    signoff = _get(filed.event, ObligationKind.SIGNOFF)
    assert (signoff.state, signoff.minutes_late) == (State.MET, 15)  # 30 minutes allowed
    assert signoff.met_at == frozen + timedelta(minutes=45)
    written = _get(filed.event, ObligationKind.WRITTEN, office=world["county"])
    assert (written.state, written.minutes_late) == (State.MET, 0)  # 60 minutes allowed


def test_the_loop_step_marks_due_rows_late_once_and_tells_both_sides(world, frozen):
    filed = file_report(world, "environment", dead=1)  # no leader: sent, receipts start
    assert mark_overdue() == 0
    clock.advance(timedelta(minutes=9))
    assert mark_overdue() == 0
    clock.advance(timedelta(minutes=2))
    assert mark_overdue() == 2  # the county's and the city's receipts (10 minutes)
    receipts = Obligation.objects.filter(event=filed.event, kind=ObligationKind.RECEIPT)
    assert {(o.state, o.late_at) for o in receipts} == {(State.LATE, clock.now())}
    county = receipts.get(office=world["county"])
    late = Message.objects.filter(key=f"late:{county.pk}", channel="inapp")
    assert [m.person.username for m in late] == ["county_duty"]
    assert len(_late_lines(filed.event)) == 2
    counts = (Message.objects.count(), filed.event.timeline.count())

    # Running again (a retry, a second worker) changes and announces nothing more.
    assert mark_overdue() == 0
    assert (Message.objects.count(), filed.event.timeline.count()) == counts


def test_a_late_unit_obligation_is_announced_to_the_unit_and_the_office(world, frozen):
    filed = file_report(world, dead=2)  # awaits sign-off: written report to the county due in 1 h
    clock.advance(timedelta(minutes=61))
    mark_overdue()
    written = _get(filed.event, ObligationKind.WRITTEN, office=world["county"])
    assert written.state == State.LATE
    told = set(
        Message.objects.filter(key=f"late:{written.pk}", channel="inapp").values_list(
            "person__username", flat=True
        )
    )
    assert told == {"emergency_reporter", "emergency_leader", "county_duty"}
    # Met afterwards: met, with the minutes it was late.
    services.sign_off(
        principal(world, "emergency_leader"), Route.objects.filter(report=filed.report).first()
    )
    written.refresh_from_db()
    assert (written.state, written.minutes_late) == (State.MET, 1)


def test_late_becomes_missed_after_the_grace_period_and_stays_missed(world, frozen, settings):
    settings.FENGHUO_MISSED_AFTER_MINUTES = 60
    filed = file_report(world, "environment", dead=1)
    clock.advance(timedelta(minutes=11))
    mark_overdue()
    county = _get(filed.event, ObligationKind.RECEIPT, office=world["county"])
    assert county.state == State.LATE
    clock.advance(timedelta(minutes=50))  # 61 minutes after due: not yet
    assert mark_overdue() == 0
    clock.advance(timedelta(minutes=10))
    assert mark_overdue() == 2
    county.refresh_from_db()
    assert county.state == State.MISSED and county.missed_at == clock.now()
    assert filed.event.timeline.filter(text__startswith="漏报").count() == 2
    # Acknowledged at last: still 漏报, but when it was finally done is kept.
    services.acknowledge(principal(world, "county_duty"), county.route)
    county.refresh_from_db()
    assert county.state == State.MISSED and county.minutes_late == 61


def test_late_obligations_of_an_ended_event_are_missed(world, frozen):
    filed = file_report(world, "environment", dead=1)
    clock.advance(timedelta(minutes=11))
    mark_overdue()
    event = Event.objects.get(pk=filed.event.pk)
    event_services.change_status(principal(world, "county_duty"), event, EventStatus.HANDLING)
    event_services.change_status(principal(world, "county_leader"), event, EventStatus.ENDED)
    assert mark_overdue() == 2
    states = dict(
        Obligation.objects.filter(event=event).values_list("kind", "state").order_by("kind")
    )
    assert states[ObligationKind.RECEIPT] == State.MISSED
    # Not yet due when the event ended: still owed (the final report comes after the end).
    assert states[ObligationKind.FINAL] == State.PENDING


def test_follow_ups_every_k_hours_until_the_final_report(world, frozen):
    filed = file_report(world, "environment", dead=1)
    first = _get(filed.event, ObligationKind.FOLLOWUP)
    assert (first.sequence, first.due_at) == (1, frozen + timedelta(hours=24))
    assert first.title == "续报一"
    clock.advance(timedelta(hours=2))
    file_report(world, "environment", kind=ReportKind.FOLLOWUP, event=filed.event, injured=4)
    first.refresh_from_db()
    assert (first.state, first.minutes_late) == (State.MET, 0)
    second = _get(filed.event, ObligationKind.FOLLOWUP, sequence=2)
    assert second.due_at == frozen + timedelta(hours=26)
    clock.advance(timedelta(hours=28))  # 续报二 is 4 hours late, and the final report comes
    file_report(
        world,
        "environment",
        kind=ReportKind.FINAL,
        event=filed.event,
        cause="储罐阀门老化泄漏遇明火引发爆炸。",
        handling_summary="明火已扑灭，伤员均已送医。",
        aftercare="善后工作由县政府牵头开展。",
    )
    second.refresh_from_db()
    assert (second.state, second.minutes_late) == (State.MET, 240)
    final = _get(filed.event, ObligationKind.FINAL)
    assert final.state == State.MET and final.met_note == "已终报"
    assert not Obligation.objects.filter(kind=ObligationKind.FOLLOWUP, sequence=3).exists()


def test_a_verification_answer_is_an_obligation_met_by_the_answer(world, frozen):
    filed = file_report(world, "environment", dead=1)
    task = event_services.request_verification(
        principal(world, "county_duty"),
        event=filed.event,
        assignee_unit=world["environment"],
        question="请核实伤亡人数。",
        due_at=frozen + timedelta(hours=2),
    )
    obligation = Obligation.objects.get(key=f"verification:{task.pk}")
    assert obligation.kind == ObligationKind.VERIFICATION
    assert (obligation.due_at, obligation.office, obligation.obliged_unit) == (
        task.due_at,
        world["county"],
        world["environment"],
    )
    clock.advance(timedelta(minutes=30))
    event_services.answer_verification(
        principal(world, "environment"),
        task,
        state=VerificationTask.State.CONFIRMED,
        answer="经核实，1 人死亡。",
    )
    obligation.refresh_from_db()
    assert obligation.state == State.MET and obligation.met_note == "已答复：属实"


def test_a_lower_grade_keeps_the_obligations_already_due(world, frozen):
    filed = file_report(world, dead=12)  # 重大: to the province at once
    clock.advance(timedelta(minutes=11))
    mark_overdue()
    province = _get(filed.event, ObligationKind.RECEIPT, office=world["province"])
    assert province.state == State.LATE
    owed_to_province = Obligation.objects.filter(office=world["province"]).count()

    followup = file_report(world, kind=ReportKind.FOLLOWUP, event=filed.event, dead=2)
    event = Event.objects.get(pk=filed.event.pk)
    assert event.grade == 4
    province.refresh_from_db()
    assert province.state == State.LATE  # still owed, still late
    assert Obligation.objects.filter(office=world["province"]).count() == owed_to_province
    text = event.timeline.filter(text__startswith="定级下调").get().text
    assert "重大（Ⅱ级） → 一般（Ⅳ级）" in text and "已产生的报送义务不撤销" in text
    # The follow-up itself goes only where 一般 requires, and waits for sign-off again.
    offices = set(Route.objects.filter(report=followup.report).values_list("office", "state"))
    assert offices == {
        (world["county"].pk, "awaiting_signoff"),
        (world["city"].pk, "awaiting_signoff"),
    }


def test_rows_late_together_for_one_unit_are_announced_as_one_list(world, frozen):
    filed = file_report(world, "environment", dead=1)
    tasks = [
        event_services.request_verification(
            principal(world, "county_duty"),
            event=filed.event,
            assignee_unit=world["environment"],
            question=f"请核实第 {n} 项。",
            due_at=frozen + timedelta(minutes=5 + n),
        )
        for n in range(3)
    ]
    clock.advance(timedelta(minutes=9))
    assert mark_overdue() == 3
    ids = sorted(Obligation.objects.filter(task__in=tasks).values_list("pk", flat=True))
    (message,) = Message.objects.filter(
        person=world["people"]["county_duty"], channel="inapp", key__startswith="late:"
    )
    assert message.key == f"late:{ids[0]}-{ids[-1]}:3"
    assert message.subject == "超时提醒：江口县生态环境局 3 项报送义务已超时"
    assert message.body.count("核实答复") == 3
    assert len(_late_lines(filed.event)) == 3  # the timeline keeps one line per row
