"""Grading on every report, routing to the required offices, sign-off (审签) or its bypass
(授权直报), and receipt (签收)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.escalation import selectors, services
from fenghuo.escalation.models import (
    EventGrading,
    Obligation,
    ObligationKind,
    ObligationState,
    Release,
    Route,
    RouteState,
)
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, Event, ReportKind, VerificationTask
from fenghuo.notify.models import Message
from tests.escalation.world import file_report
from tests.events.world import principal

pytestmark = pytest.mark.django_db


def _routes(report) -> dict[str, Route]:
    return {r.office.name: r for r in Route.objects.filter(report=report).select_related("office")}


def _timeline(event) -> list[str]:
    return list(event.timeline.values_list("text", flat=True))


def _messages(world, who: str, **filters) -> list[Message]:
    return list(Message.objects.filter(person=world["people"][who], channel="inapp", **filters))


def _obligations(event, kind: str, **filters) -> list[Obligation]:
    return list(Obligation.objects.filter(event=event, kind=kind, **filters).order_by("pk"))


# --- grading -------------------------------------------------------------------------------


def test_a_first_report_is_graded_recorded_and_on_the_timeline(world):
    filed = file_report(world, dead=2)
    event = Event.objects.get(pk=filed.event.pk)
    assert event.grade == 4
    (grading,) = EventGrading.objects.filter(event=event)
    assert grading.label == "一般（Ⅳ级）" and grading.trigger == "report"
    assert grading.trigger_report == filed.report
    assert "生产安全事故报告和调查处理条例" in grading.ruleset
    assert any("死亡 2 人" in reason for reason in grading.reasons)
    assert [t["level"] for t in grading.targets] == ["county", "city"]
    assert any(text.startswith("定级：一般（Ⅳ级）。") for text in _timeline(event))


def test_every_report_is_graded_but_the_timeline_speaks_only_of_changes(world):
    filed = file_report(world, dead=2)
    file_report(world, kind=ReportKind.FOLLOWUP, event=filed.event, injured=3)
    assert EventGrading.objects.filter(event=filed.event).count() == 2
    assert sum(t.startswith("定级") for t in _timeline(filed.event)) == 1


# --- sign-off ------------------------------------------------------------------------------


def test_a_grade_iv_report_waits_for_its_unit_leader(world):
    filed = file_report(world, dead=2)
    routes = _routes(filed.report)
    assert set(routes) == {"江口县委办公室", "临江市委办公室"}
    assert {r.state for r in routes.values()} == {RouteState.AWAITING_SIGNOFF}
    assert not any(r.urgent for r in routes.values())
    (signoff,) = _obligations(filed.event, ObligationKind.SIGNOFF)
    assert signoff.state == ObligationState.PENDING and signoff.obliged_unit == world["emergency"]
    # The leader is told; the offices are not, yet.
    assert _messages(world, "emergency_leader", key=f"signoff:{filed.report.pk}")
    assert not _messages(world, "county_duty") and not Obligation.objects.filter(
        kind=ObligationKind.RECEIPT
    )
    assert "待审签" in _timeline(filed.event)[-1]
    leader = principal(world, "emergency_leader")
    assert {r.pk for r in selectors.awaiting_signoff(leader)} == {r.pk for r in routes.values()}


@pytest.mark.parametrize(
    "who", ["emergency", "county_leader", "county_duty", "city_duty", "superuser"]
)
def test_only_the_reporting_units_leader_signs_off(world, who):
    filed = file_report(world, dead=2)
    route = _routes(filed.report)["江口县委办公室"]
    with pytest.raises(PermissionDenied):
        services.sign_off(principal(world, who), route)
    assert Route.objects.get(pk=route.pk).state == RouteState.AWAITING_SIGNOFF
    assert not selectors.awaiting_signoff(principal(world, who)).exists()


def test_sign_off_sends_every_route_of_the_report(world):
    filed = file_report(world, dead=2)
    route = _routes(filed.report)["临江市委办公室"]
    sent = services.sign_off(principal(world, "emergency_leader"), route, note="同意报送")
    assert len(sent) == 2
    routes = _routes(filed.report)
    for r in routes.values():
        assert r.state == RouteState.SENT and r.release == Release.SIGNED_OFF
        assert r.signed_off_by == world["people"]["emergency_leader"] and r.sent_at
    written = _obligations(filed.event, ObligationKind.WRITTEN)
    assert {o.state for o in written} == {ObligationState.MET}
    assert {o.minutes_late for o in written} == {0}
    assert _obligations(filed.event, ObligationKind.SIGNOFF)[0].state == ObligationState.MET
    receipts = _obligations(filed.event, ObligationKind.RECEIPT)
    assert {o.office.name for o in receipts} == set(routes)
    # The people on duty at each office are told (the county's shift primary; the city has
    # no shift, so its first duty officer), with the route as the reference.
    county = routes["江口县委办公室"]
    assert _messages(world, "county_duty", ref=f"route:{county.pk}")
    assert _messages(world, "city_duty", ref=f"route:{routes['临江市委办公室'].pk}")
    assert not _messages(world, "county_backup")
    assert "王局长审签" in _timeline(filed.event)[-1] and "同意报送" in _timeline(filed.event)[-1]
    actions = AuditEntry.objects.filter(action="escalation.route.sign_off").count()
    assert actions == 2
    with pytest.raises(ValidationError) as caught:
        services.sign_off(principal(world, "emergency_leader"), route)
    assert "state" in caught.value.message_dict


def test_a_grade_ii_report_bypasses_sign_off_and_the_bypass_is_recorded(world):
    filed = file_report(world, dead=12)
    routes = _routes(filed.report)
    # 重大 goes up to the national level; the tree has no national office: skipped, noted.
    assert set(routes) == {"江口县委办公室", "临江市委办公室", "江南省委办公厅"}
    for r in routes.values():
        assert r.state == RouteState.SENT and r.release == Release.URGENT and r.urgent
    assert not _obligations(filed.event, ObligationKind.SIGNOFF)
    assert not _messages(world, "emergency_leader")
    text = next(t for t in _timeline(filed.event) if t.startswith("授权直报"))
    assert "未经审签" in text and "国家级：组织树中无接报值班室，已跳过" in text
    entry = AuditEntry.objects.get(action="escalation.report.bypass")
    assert entry.object_id == str(filed.report.pk) and entry.after["release"] == "urgent"
    (message,) = _messages(world, "province_duty")
    assert message.urgent and message.subject.startswith("【紧急】待签收")


def test_a_report_marked_urgent_bypasses_sign_off_at_any_grade(world):
    filed = file_report(world, dead=1, is_urgent=True)
    assert Event.objects.get(pk=filed.event.pk).grade == 4
    routes = _routes(filed.report)
    assert {r.release for r in routes.values()} == {Release.URGENT}
    assert any("报送人标注紧急" in t for t in _timeline(filed.event))
    assert AuditEntry.objects.filter(action="escalation.report.bypass").exists()


def test_a_unit_without_a_leader_sends_at_once_and_says_why(world):
    filed = file_report(world, "environment", dead=1)
    routes = _routes(filed.report)
    assert {r.state for r in routes.values()} == {RouteState.SENT}
    assert {r.release for r in routes.values()} == {Release.NO_LEADER}
    assert "江口县生态环境局未设审签人" in _timeline(filed.event)[-1]
    assert AuditEntry.objects.filter(action="escalation.report.no_leader").exists()


def test_a_signed_off_report_needs_no_second_sign_off_to_reach_a_new_office(world):
    filed = file_report(world, dead=2)
    services.sign_off(principal(world, "emergency_leader"), _routes(filed.report)["江口县委办公室"])
    # The verified figures raise the event to 较大: the same report now also goes to the
    # province, on the strength of the sign-off it already has.
    event = Event.objects.get(pk=filed.event.pk)
    event.verified_dead = 4
    event.save()
    services.regrade(event, trigger="figures", principal=principal(world, "county_duty"))
    province = _routes(filed.report)["江南省委办公厅"]
    assert province.state == RouteState.SENT and province.release == Release.SIGNED_OFF
    assert province.signed_off_by == world["people"]["emergency_leader"]


# --- receipt -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("county_duty", True),
        ("county_backup", True),
        ("county_leader", False),  # sign-off is a leader's; receipt a duty officer's
        ("city_duty", False),  # a duty officer, but of another office
        ("other_duty", False),
        ("emergency", False),
        ("superuser", False),
    ],
)
def test_who_may_acknowledge(world, who, allowed):
    filed = file_report(world, "environment", dead=1)
    route = _routes(filed.report)["江口县委办公室"]
    if not allowed:
        with pytest.raises(PermissionDenied):
            services.acknowledge(principal(world, who), route)
        assert Route.objects.get(pk=route.pk).state == RouteState.SENT
        return
    services.acknowledge(principal(world, who), route)
    route.refresh_from_db()
    assert route.state == RouteState.ACKNOWLEDGED
    assert route.acknowledged_by == world["people"][who]
    receipt = Obligation.objects.get(key=f"receipt:{route.pk}")
    assert receipt.state == ObligationState.MET and receipt.next_step_at is None
    assert "签收：江口县委办公室值班员" in _timeline(filed.event)[-1]
    assert AuditEntry.objects.filter(action="escalation.route.acknowledge").exists()


def test_a_report_awaiting_sign_off_cannot_be_acknowledged_nor_acknowledged_twice(world):
    filed = file_report(world, dead=2)
    county = principal(world, "county_duty")
    route = _routes(filed.report)["江口县委办公室"]
    with pytest.raises(ValidationError):
        services.acknowledge(county, route)
    services.sign_off(principal(world, "emergency_leader"), route)
    services.acknowledge(county, route)
    with pytest.raises(ValidationError) as caught:
        services.acknowledge(county, route)
    assert caught.value.message_dict == {"state": ["该报告已签收"]}


def test_acknowledging_meets_the_phone_report_to_that_office(world):
    # 重大刑事案件 falls under the local template: phone in 30 minutes, written in 60.
    filed = file_report(world, "environment", category="criminal", dead=1)
    phones = {o.office.name: o for o in _obligations(filed.event, ObligationKind.PHONE)}
    assert set(phones) == {"江口县委办公室", "临江市委办公室"}
    route = _routes(filed.report)["江口县委办公室"]
    services.acknowledge(principal(world, "county_duty"), route)
    phones = {o.office.name: o for o in _obligations(filed.event, ObligationKind.PHONE)}
    assert phones["江口县委办公室"].state == ObligationState.MET
    assert phones["临江市委办公室"].state == ObligationState.PENDING


def test_a_call_taken_by_the_office_meets_the_phone_report_and_is_not_routed_back(world):
    filed = file_report(
        world, "county_duty", unit="emergency", category="criminal", dead=1, channel=Channel.PHONE
    )
    routes = _routes(filed.report)
    assert set(routes) == {"临江市委办公室"}  # the county office took the call itself
    phones = {o.office.name: o for o in _obligations(filed.event, ObligationKind.PHONE)}
    assert phones["江口县委办公室"].state == ObligationState.MET
    assert phones["江口县委办公室"].met_note == "电话报告（值班室接报记录）"


# --- the check -----------------------------------------------------------------


def test_a_follow_up_raising_the_dead_from_2_to_12_creates_obligations_and_tells_the_province(
    world,
):
    filed = file_report(world, dead=2)
    services.sign_off(principal(world, "emergency_leader"), _routes(filed.report)["江口县委办公室"])
    assert not Obligation.objects.filter(office=world["province"]).exists()

    with transaction.atomic():
        followup = file_report(world, kind=ReportKind.FOLLOWUP, event=filed.event, dead=12)
        # Inside the follow-up's own transaction: the grade, the new obligations, the route
        # and the province duty officer's notifications are all there already.
        event = Event.objects.get(pk=filed.event.pk)
        assert event.grade == 2
        written = Obligation.objects.get(
            event=event, kind=ObligationKind.WRITTEN, office=world["province"]
        )
        assert written.due_at == followup.report.received_at + timedelta(minutes=300)
        province = _routes(followup.report)["江南省委办公厅"]
        assert province.state == RouteState.SENT and province.release == Release.URGENT
        assert written.state == ObligationState.MET  # sent at once: 授权直报
        receipt = Obligation.objects.get(key=f"receipt:{province.pk}")
        assert receipt.state == ObligationState.PENDING and receipt.next_step_at is not None
        messages = _messages(world, "province_duty", ref=f"route:{province.pk}")
        assert messages and messages[0].urgent
        assert (
            Message.objects.filter(
                person=world["people"]["province_duty"], key=f"route:{province.pk}"
            ).count()
            == Message.objects.filter(key=f"route:{province.pk}").count()
        )
        texts = _timeline(event)
        assert any(t.startswith("定级上调：一般（Ⅳ级） → 重大（Ⅱ级）") for t in texts)
        # The reporting unit is told what it now owes.
        assert _messages(world, "emergency", subject__startswith="定级上调为重大")


def test_a_rolled_back_follow_up_leaves_no_obligation_and_no_notification(world):
    filed = file_report(world, "environment", dead=2)
    before = (Obligation.objects.count(), Message.objects.count(), Route.objects.count())
    with pytest.raises(RuntimeError), transaction.atomic():
        file_report(world, "environment", kind=ReportKind.FOLLOWUP, event=filed.event, dead=12)
        assert Obligation.objects.filter(office=world["province"]).exists()
        raise RuntimeError("the caller fails after filing")
    after = (Obligation.objects.count(), Message.objects.count(), Route.objects.count())
    assert after == before
    assert Event.objects.get(pk=filed.event.pk).grade == 4


# --- re-grading without a report ------------------------------------------------------------


def test_verified_figures_raise_the_grade_and_send_the_latest_report_up(world):
    filed = file_report(world, "environment", dead=2)
    task = event_services.request_verification(
        principal(world, "county_duty"),
        event=filed.event,
        assignee_unit=world["environment"],
        question="请核实死亡人数。",
        due_at=clock.now() + timedelta(hours=2),
    )
    event_services.answer_verification(
        principal(world, "environment"),
        task,
        state=VerificationTask.State.CONFIRMED,
        answer="经核实，死亡 12 人。",
        figures={"dead": 12},
    )
    event = Event.objects.get(pk=filed.event.pk)
    assert event.grade == 2
    latest = EventGrading.objects.filter(event=event).last()
    assert latest.trigger == "figures" and latest.trigger_report is None
    province = _routes(filed.report)["江南省委办公厅"]
    assert province.state == RouteState.SENT and province.release == Release.URGENT
    assert _messages(world, "province_duty", ref=f"route:{province.pk}")
    assert Obligation.objects.filter(
        event=event, kind=ObligationKind.WRITTEN, office=world["province"]
    ).exists()


def test_merging_moves_obligations_and_history_and_grades_the_whole(world):
    first = file_report(world, "environment", dead=2)
    second = file_report(
        world, "emergency", dead=1, category="flood", title="化工园区内涝", place="园区"
    )
    assert first.event.pk != second.event.pk
    moved = set(Obligation.objects.filter(event=second.event).values_list("pk", flat=True))
    event_services.merge_events(
        principal(world, "county_duty"), source=second.event, target=first.event
    )
    assert set(Obligation.objects.filter(pk__in=moved).values_list("event_id", flat=True)) == {
        first.event.pk
    }
    gradings = EventGrading.objects.filter(event=first.event)
    assert [g.trigger for g in gradings] == ["report", "report", "merge"]
