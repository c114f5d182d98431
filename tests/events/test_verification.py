"""Verification (核实): who may ask, who may answer, and what an answer does to the event."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from fenghuo.core import clock
from fenghuo.core.models import AuditEntry, Confidentiality
from fenghuo.criteria.models import EventCategory
from fenghuo.events import selectors, services
from fenghuo.events.models import (
    Event,
    EventStatus,
    Report,
    TimelineKind,
    VerificationTask,
)
from fenghuo.org import services as org_services
from tests.events.world import file_first, module_world, principal

pytestmark = pytest.mark.django_db

State = VerificationTask.State


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    yield from module_world(django_db_blocker)


def _ask(world, who="city_duty", *, unit="emergency", event=None, report=None, hours=2):
    if event is None:
        filed = file_first(world)
        event, report = filed.event, filed.report
    return services.request_verification(
        principal(world, who),
        event=event,
        assignee_unit=world[unit],
        question="网传化工园区爆炸造成多人死亡，请核实伤亡情况。",
        due_at=clock.now() + timedelta(hours=hours),
        report=report,
    )


# --- who may ask ------------------------------------------------------------------------

REQUESTERS = {
    "city_duty": True,  # 值班员 of an office above the reporting unit
    "county_duty": True,
    "superuser": True,
    "other_duty": False,  # 值班员 of another county
    "county": False,  # the county office's reporter
    "environment": False,  # the reporting unit's own reporter
    "emergency_leader": False,
    "county_leader": False,
    "group_leader": False,
    "analyst": False,
    "expert": False,
}


@pytest.mark.parametrize(("who", "allowed"), REQUESTERS.items())
def test_who_may_request_verification(world, who, allowed):
    filed = file_first(world)
    if allowed:
        task = _ask(world, who, event=filed.event, report=filed.report)
        assert task.state == State.OPEN
    else:
        with pytest.raises(PermissionDenied):
            _ask(world, who, event=filed.event, report=filed.report)
        assert not VerificationTask.objects.exists()
        assert Event.objects.get().status == EventStatus.NEW


def test_only_units_within_the_office_tree_may_be_asked(world):
    filed = file_first(world)
    with pytest.raises(PermissionDenied):
        _ask(world, "county_duty", unit="other", event=filed.event)
    assert _ask(world, "city_duty", unit="other", event=filed.event).assignee_unit == world["other"]


# --- what asking does -------------------------------------------------------------------


def test_request_moves_new_event_to_verifying_with_timeline_and_audit(world):
    task = _ask(world)
    event = Event.objects.get()
    assert event.status == EventStatus.VERIFYING
    asked = event.timeline.get(kind=TimelineKind.VERIFICATION).text
    assert "请江口县应急管理局核实" in asked and "请核实伤亡情况" in asked
    last = event.timeline.last()
    assert last.kind == TimelineKind.STATUS and "新接报 → 核实中" in last.text
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"events.verification.request", "events.event.status"} <= actions
    assert AuditEntry.objects.get(action="events.verification.request").object_id == str(task.pk)


def test_request_leaves_a_later_status_alone(world):
    filed = file_first(world)
    services.change_status(principal(world, "city_duty"), filed.event, EventStatus.HANDLING)
    _ask(world, event=filed.event)
    assert Event.objects.get().status == EventStatus.HANDLING


def test_request_errors_are_named_and_nothing_is_saved(world):
    filed = file_first(world)
    with pytest.raises(ValidationError) as caught:
        services.request_verification(
            principal(world, "city_duty"),
            event=filed.event,
            assignee_unit=world["emergency"],
            question="  ",
            due_at=clock.now() - timedelta(minutes=1),
        )
    assert set(caught.value.message_dict) == {"question", "due_at"}
    assert not VerificationTask.objects.exists()
    assert Event.objects.get(pk=filed.event.pk).status == EventStatus.NEW


def test_report_from_another_event_is_refused(world):
    filed = file_first(world)
    elsewhere = file_first(
        world,
        "public_security",
        title="江口县城关路口两车相撞",
        place="江口县城关镇人民路与解放路交叉口",
        narrative="两辆小汽车相撞，1 人受伤。",
        category=EventCategory.objects.get(code="road_traffic"),
    )
    assert elsewhere.event.pk != filed.event.pk
    with pytest.raises(ValidationError) as caught:
        _ask(world, event=filed.event, report=elsewhere.report)
    assert caught.value.message_dict == {"report": ["所涉报告不属于该事件"]}


# --- who may answer ---------------------------------------------------------------------

ANSWERERS = {
    "emergency": True,  # 信息员 of the assignee unit
    "emergency_leader": True,
    "emergency_duty": True,
    "emergency_admin": False,  # administers the unit, does not speak for it
    "environment": False,  # the reporting unit
    "county_duty": False,  # above the assignee, not the assignee
    "city_duty": False,
    "superuser": False,
    "expert": False,
}


@pytest.mark.parametrize(("who", "allowed"), ANSWERERS.items())
def test_who_may_answer_verification(world, who, allowed):
    task = _ask(world)
    answer = {"state": State.CONFIRMED, "answer": "经现场核实，确有爆炸，死亡 3 人。"}
    if allowed:
        services.answer_verification(principal(world, who), task, **answer)
        task.refresh_from_db()
        assert task.state == State.CONFIRMED
        assert task.answered_by_id == world["people"][who].pk
    else:
        with pytest.raises(PermissionDenied):
            services.answer_verification(principal(world, who), task, **answer)
        task.refresh_from_db()
        assert task.state == State.OPEN


def test_a_unit_token_may_answer_for_its_unit(world, system):
    from fenghuo.org.policy import principal_for_token

    token, _ = org_services.token_issue(system, unit=world["emergency"], name="应急局系统")
    task = _ask(world)
    services.answer_verification(
        principal_for_token(token), task, state=State.PARTLY, answer="部分属实"
    )
    task.refresh_from_db()
    assert task.state == State.PARTLY and task.answered_by is None


# --- what answering does ----------------------------------------------------------------


def test_confirmed_answer_verifies_event_and_figures_lead(world):
    filed = file_first(world, dead=5, injured=2)
    file_first(world, "emergency", dead=3, injured=8)  # joins the same event, other figures
    task = _ask(world, event=filed.event, report=filed.report)
    services.answer_verification(
        principal(world, "emergency"),
        task,
        state=State.CONFIRMED,
        answer="经现场核实，爆炸造成 4 人死亡、9 人受伤。",
        figures={"dead": 4, "injured": 9, "economic_loss": Decimal("120.5")},
    )
    event = Event.objects.get(pk=filed.event.pk)
    assert event.status == EventStatus.VERIFIED
    assert (event.verified_dead, event.verified_injured) == (4, 9)
    assert event.verified_economic_loss == Decimal("120.50")
    reports = list(Report.objects.filter(event=event).select_related("unit"))
    table = selectors.figures_table(event, reports)
    assert table.current["dead"] == 4 and table.basis["dead"] == "核实数"
    assert table.current["injured"] == 9 and table.basis["injured"] == "核实数"
    assert table.current["missing"] is None and table.basis["missing"] == "尚无数据"
    # The units' own figures stay visible side by side.
    assert sorted(v for _, v in table.conflicts["dead"]) == [3, 5]

    texts = [t for k, t in event.timeline.values_list("kind", "text")]
    assert any("江口县应急管理局核实结论：属实" in t and "死亡 4" in t for t in texts)
    assert texts[-1] == "状态：核实中 → 已核实（依据江口县应急管理局核实结论）"
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions[-2:] == ["events.verification.answer", "events.event.verified"]


def test_false_answer_marks_a_rumour_and_keeps_everything(world):
    task = _ask(world)
    event = task.event
    before = event.timeline.count()
    services.answer_verification(
        principal(world, "emergency_leader"),
        task,
        state=State.FALSE,
        answer="经核实，化工园区未发生爆炸，系网民将外地旧视频重新发布。",
    )
    event.refresh_from_db()
    assert event.status == EventStatus.FALSE
    assert event.get_status_display() == "不实（谣言）"
    assert Report.objects.filter(event=event).count() == 1
    assert event.timeline.count() == before + 2
    assert selectors.events_visible(principal(world, "city_duty")).filter(pk=event.pk).exists()
    # A rumour can still be archived by the duty officer.
    services.change_status(principal(world, "city_duty"), event, EventStatus.ARCHIVED)
    with pytest.raises(ValidationError) as caught:
        _ask(world, event=event)
    assert "event" in caught.value.message_dict


def test_a_later_confirmation_clears_the_rumour_mark(world):
    first = _ask(world)
    emergency = principal(world, "emergency")
    services.answer_verification(emergency, first, state=State.FALSE, answer="未发生爆炸")
    second = _ask(world, unit="public_security", event=first.event)
    assert Event.objects.get().status == EventStatus.FALSE  # asking again changes nothing
    services.answer_verification(
        principal(world, "public_security"), second, state=State.CONFIRMED, answer="现场确有爆炸"
    )
    event = Event.objects.get()
    assert event.status == EventStatus.VERIFIED
    answers = event.timeline.filter(kind=TimelineKind.VERIFICATION, text__contains="核实结论")
    assert [t.split("。")[0] for t in answers.values_list("text", flat=True)] == [
        "江口县应急管理局核实结论：不实（谣言）",
        "江口县公安局核实结论：属实",
    ]


def test_partly_true_sets_figures_and_leaves_status_to_the_duty_officer(world):
    task = _ask(world)
    services.answer_verification(
        principal(world, "emergency"),
        task,
        state=State.PARTLY,
        answer="确有爆炸，但无人死亡，2 人轻伤。",
        figures={"dead": 0, "injured": 2},
    )
    event = Event.objects.get()
    assert event.status == EventStatus.VERIFYING
    assert (event.verified_dead, event.verified_injured) == (0, 2)
    table = selectors.figures_table(event, list(event.reports.all()))
    assert table.current["dead"] == 0 and table.basis["dead"] == "核实数"


def test_answer_errors_are_named_and_nothing_changes(world):
    task = _ask(world)
    with pytest.raises(ValidationError) as caught:
        services.answer_verification(
            principal(world, "emergency"),
            task,
            state="maybe",
            answer="",
            figures={"dead": -1, "injured": 2.5, "cats": 3, "economic_loss": "1.234"},
        )
    errors = caught.value.message_dict
    assert set(errors) == {
        "state",
        "answer",
        "figures.dead",
        "figures.injured",
        "figures.cats",
        "figures.economic_loss",
    }
    assert errors["figures.injured"] == ["受伤须为整数"]
    task.refresh_from_db()
    event = Event.objects.get()
    assert task.state == State.OPEN and event.verified_injured is None
    assert event.status == EventStatus.VERIFYING


def test_a_task_is_answered_once(world):
    task = _ask(world)
    emergency = principal(world, "emergency")
    services.answer_verification(emergency, task, state="confirmed", answer="属实")
    with pytest.raises(ValidationError) as caught:
        services.answer_verification(emergency, task, state="false", answer="x")
    assert caught.value.message_dict["state"] == ["该核实任务已经答复"]
    assert Event.objects.get().status == EventStatus.VERIFIED


# --- reading ----------------------------------------------------------------------------


def test_assigned_and_overdue_selectors_follow_the_clock(world):
    with clock.frozen_at(clock.now()):
        soon = _ask(world, hours=1)
        later = _ask(world, event=soon.event, hours=5)
        elsewhere = _ask(world, event=soon.event, unit="health", hours=1)
        emergency = principal(world, "emergency")
        assert set(selectors.verifications_assigned(emergency)) == {soon, later}
        assert not selectors.verifications_assigned(principal(world, "public_security")).exists()
        assert not selectors.overdue_verifications(emergency).exists()

        clock.advance(timedelta(hours=2))
        assert list(selectors.overdue_verifications(principal(world, "health"))) == [elsewhere]
        mine = selectors.overdue_verifications(emergency).filter(assignee_unit=world["emergency"])
        assert list(mine) == [soon]
        city = principal(world, "city_duty")
        assert set(selectors.overdue_verifications(city)) == {soon, elsewhere}
        services.answer_verification(emergency, soon, state="confirmed", answer="属实")
        assert list(selectors.overdue_verifications(city)) == [elsewhere]
        # Another county's duty officer sees none of it.
        assert not selectors.verifications_visible(principal(world, "other_duty")).exists()


def test_the_assignee_reads_the_report_while_the_task_is_open(world):
    filed = file_first(world)
    emergency = principal(world, "emergency")
    assert not selectors.can_view_report(emergency, filed.report)
    task = _ask(world, event=filed.event, report=filed.report)
    assert selectors.can_view_report(emergency, filed.report)
    assert list(selectors.event_reports(emergency, filed.event)) == [filed.report]
    assert selectors.events_visible(emergency).filter(pk=filed.event.pk).exists()
    # Not the units that were not asked.
    assert not selectors.can_view_report(principal(world, "health"), filed.report)
    services.answer_verification(emergency, task, state="confirmed", answer="属实")
    assert not selectors.can_view_report(emergency, filed.report)
    assert not selectors.reports_visible(emergency).filter(pk=filed.report.pk).exists()


def test_being_asked_does_not_lift_the_confidentiality_mark(world):
    filed = file_first(world, mark=Confidentiality.SENSITIVE)
    _ask(world, event=filed.event, report=filed.report)
    assert not selectors.can_view_report(principal(world, "emergency"), filed.report)
    assert selectors.can_view_report(principal(world, "emergency_leader"), filed.report)
    assert selectors.reports_visible(principal(world, "emergency_leader")).filter(
        pk=filed.report.pk
    )


# --- API --------------------------------------------------------------------------------


def _client(world, who) -> Client:
    client = Client()
    client.force_login(world["people"][who])
    return client


def _post(client, url, body):
    return client.post(url, json.dumps(body, default=str), content_type="application/json")


def test_api_request_answer_and_list(world):
    filed = file_first(world)
    url = f"/api/events/{filed.event.pk}/verifications"
    body = {
        "assignee_unit_id": world["emergency"].pk,
        "question": "请核实伤亡情况",
        "due_at": (clock.now() + timedelta(hours=2)).isoformat(),
        "report_id": filed.report.pk,
    }
    assert _post(_client(world, "county"), url, body).status_code == 404  # cannot see it
    assert _post(_client(world, "environment"), url, body).status_code == 403
    created = _post(_client(world, "city_duty"), url, body)
    assert created.status_code == 201, created.content
    task = created.json()
    assert task["assignee_unit"] == "江口县应急管理局" and task["state"] == "open"
    assert task["overdue"] is False

    bad = _post(_client(world, "city_duty"), url, {**body, "assignee_unit_id": 0, "question": ""})
    assert bad.status_code == 422
    assert "assignee_unit_id" in bad.json()["errors"]

    mine = _client(world, "emergency").get("/api/verifications").json()
    assert [t["id"] for t in mine] == [task["id"]]
    assert _client(world, "health").get("/api/verifications").json() == []
    visible = _client(world, "city_duty").get("/api/verifications?scope=visible").json()
    assert [t["id"] for t in visible] == [task["id"]]

    answer_url = f"/api/verifications/{task['id']}/answer"
    answer = {"state": "confirmed", "answer": "属实", "figures": {"dead": 3, "injured": 5}}
    assert _post(_client(world, "health"), answer_url, answer).status_code == 404
    assert _post(_client(world, "city_duty"), answer_url, answer).status_code == 403
    wrong = _post(_client(world, "emergency"), answer_url, {**answer, "figures": {"dead": -2}})
    assert wrong.status_code == 422
    assert "figures.dead" in wrong.json()["errors"]
    done = _post(_client(world, "emergency"), answer_url, answer)
    assert done.status_code == 200, done.content
    assert done.json()["state_label"] == "属实"
    detail = _client(world, "city_duty").get(f"/api/events/{filed.event.pk}").json()
    assert detail["status"] == "verified"
    assert detail["current"]["dead"] == 3 and detail["basis"]["dead"] == "核实数"


def test_api_overdue_list(world):
    with clock.frozen_at(clock.now()):
        task = _ask(world, hours=1)
        client = _client(world, "emergency")
        assert client.get("/api/verifications?overdue=true").json() == []
        clock.advance(timedelta(hours=3))
        overdue = client.get("/api/verifications?overdue=true").json()
        assert [t["id"] for t in overdue] == [task.pk] and overdue[0]["overdue"] is True
