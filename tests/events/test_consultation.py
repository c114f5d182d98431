"""Consultation (会商): asking departments and experts, their answers, the conclusion, and
how an invited expert reads the event."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from fenghuo.core import clock
from fenghuo.core.models import AuditEntry, Confidentiality
from fenghuo.events import selectors, services
from fenghuo.events.models import Consultation, ConsultationAnswer, TimelineKind
from tests.events.world import file_first, module_world, principal

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    yield from module_world(django_db_blocker)


def _consult(world, who="city_duty", *, event=None, units=("health",), experts=("expert",)):
    if event is None:
        event = file_first(world).event
    return services.request_consultation(
        principal(world, who),
        event=event,
        question="爆炸后黄色烟雾是否有毒，周边群众是否需要转移？",
        units=[world[u] for u in units],
        experts=[world["people"][p] for p in experts],
        due_at=clock.now() + timedelta(hours=1),
    )


def _timeline(event):
    return list(
        event.timeline.filter(kind=TimelineKind.CONSULTATION).values_list("text", flat=True)
    )


# --- asking -----------------------------------------------------------------------------

REQUESTERS = {
    "city_duty": True,
    "county_duty": True,
    "superuser": True,
    "other_duty": False,
    "environment": False,  # the reporting unit's reporter
    "county_leader": False,
    "group_leader": False,
    "expert": False,
    "analyst": False,
}


@pytest.mark.parametrize(("who", "allowed"), REQUESTERS.items())
def test_who_may_request_consultation(world, who, allowed):
    event = file_first(world).event
    if allowed:
        consultation = _consult(world, who, event=event)
        assert list(consultation.units.all()) == [world["health"]]
    else:
        with pytest.raises(PermissionDenied):
            _consult(world, who, event=event)
        assert not Consultation.objects.exists()


def test_request_goes_on_the_timeline_and_the_audit_chain(world):
    consultation = _consult(world, units=("health", "public_security"), experts=("expert",))
    (text,) = _timeline(consultation.event)
    assert text.startswith("发起会商：爆炸后黄色烟雾是否有毒")
    assert "会商部门：江口县卫生健康局、江口县公安局" in text and "专家：王化工" in text
    entry = AuditEntry.objects.get(action="events.consultation.request")
    assert entry.object_id == str(consultation.pk)
    assert entry.after["experts"] == [world["people"]["expert"].pk]


def test_request_errors_are_named(world):
    event = file_first(world).event
    with pytest.raises(ValidationError) as caught:
        services.request_consultation(
            principal(world, "city_duty"), event=event, question="", units=[], experts=[]
        )
    assert set(caught.value.message_dict) == {"question", "units"}
    with pytest.raises(ValidationError) as caught:
        _consult(world, event=event, experts=("analyst",))  # not in the expert pool
    assert caught.value.message_dict == {"experts": ["analyst不在专家库中"]}
    # An expert-pool profile without the 专家 role is in the pool too.
    assert _consult(world, event=event, units=(), experts=("pool_expert",)).pk
    assert Consultation.objects.count() == 1


# --- answering --------------------------------------------------------------------------

ANSWERERS = {
    "expert": True,  # invited expert
    "health": True,  # 信息员 of an invited department
    "health_leader": True,
    "health_admin": False,  # administers, does not speak for the department
    "other_expert": False,  # in the pool, not invited
    "pool_expert": False,
    "environment": False,  # the reporting unit, not invited
    "city_duty": False,  # asked the question, does not answer it
    "superuser": False,
}


@pytest.mark.parametrize(("who", "allowed"), ANSWERERS.items())
def test_who_may_answer_consultation(world, who, allowed):
    consultation = _consult(world)
    text = "黄色烟雾为二氧化氮，建议下风向 1 公里内群众暂时转移。"
    if allowed:
        answer = services.answer_consultation(principal(world, who), consultation, text=text)
        assert answer.author == world["people"][who]
        expected_unit = world["health"] if who.startswith("health") else None
        assert answer.unit == expected_unit
    else:
        with pytest.raises(PermissionDenied):
            services.answer_consultation(principal(world, who), consultation, text=text)
        assert not ConsultationAnswer.objects.exists()


def test_answers_and_conclusion_land_on_the_timeline(world):
    consultation = _consult(world)
    services.answer_consultation(
        principal(world, "expert"), consultation, text="烟雾为二氧化氮，浓度正在下降。"
    )
    services.answer_consultation(
        principal(world, "health"), consultation, text="已派出疾控人员现场监测。"
    )
    with pytest.raises(PermissionDenied):  # a reporter does not close
        services.close_consultation(principal(world, "health"), consultation, conclusion="x")
    services.close_consultation(
        principal(world, "county_duty"),  # not the requester, but on duty over the event
        consultation,
        conclusion="烟雾无持续危害，下风向群众暂时转移，监测持续到数值正常。",
    )
    texts = _timeline(consultation.event)
    assert texts[1] == "会商意见（专家王化工）：烟雾为二氧化氮，浓度正在下降。"
    assert texts[2] == "会商意见（江口县卫生健康局）：已派出疾控人员现场监测。"
    assert texts[3].startswith("会商结论：烟雾无持续危害")
    consultation.refresh_from_db()
    assert consultation.closed_at is not None
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions[-3:] == [
        "events.consultation.answer",
        "events.consultation.answer",
        "events.consultation.close",
    ]

    # Closed: no more answers, no second conclusion.
    with pytest.raises(ValidationError) as caught:
        services.answer_consultation(principal(world, "expert"), consultation, text="补充")
    assert caught.value.message_dict == {"consultation": ["会商已结束"]}
    with pytest.raises(ValidationError):
        services.close_consultation(principal(world, "city_duty"), consultation, conclusion="y")


def test_blank_answer_and_conclusion_are_refused(world):
    consultation = _consult(world)
    with pytest.raises(ValidationError) as caught:
        services.answer_consultation(principal(world, "expert"), consultation, text=" ")
    assert caught.value.message_dict == {"text": ["意见为必填项"]}
    with pytest.raises(ValidationError) as caught:
        services.close_consultation(principal(world, "city_duty"), consultation, conclusion="")
    assert caught.value.message_dict == {"conclusion": ["会商结论为必填项"]}


# --- how invited people read the event --------------------------------------------------


def test_an_invited_expert_reads_the_event_while_the_consultation_is_open(world):
    filed = file_first(world)
    secret = file_first(
        world,
        "emergency",
        mark=Confidentiality.SENSITIVE,
        narrative="江口县化工园区临江化工厂爆炸，企业负责人已被控制。",
    )
    assert secret.event.pk == filed.event.pk
    expert = principal(world, "expert")
    assert not selectors.events_visible(expert).exists()
    assert not selectors.can_view_report(expert, filed.report)

    consultation = _consult(world, event=filed.event, units=())
    assert list(selectors.events_visible(expert)) == [filed.event]
    assert list(selectors.event_reports(expert, filed.event)) == [filed.report]
    assert selectors.can_view_report(expert, filed.report)
    # The 敏感 report stays hidden: an invitation does not lift the mark.
    assert not selectors.can_view_report(expert, secret.report)
    # Another expert of the pool sees nothing.
    assert not selectors.events_visible(principal(world, "other_expert")).exists()
    assert list(selectors.consultations_invited(expert)) == [consultation]

    services.close_consultation(principal(world, "city_duty"), consultation, conclusion="结论")
    assert not selectors.events_visible(expert).exists()
    assert not selectors.can_view_report(expert, filed.report)


def test_an_invited_department_reads_the_event_within_its_clearance(world):
    filed = file_first(world)
    secret = file_first(world, "emergency", mark=Confidentiality.SENSITIVE)
    _consult(world, event=filed.event, experts=())
    health, leader = principal(world, "health"), principal(world, "health_leader")
    assert set(selectors.event_reports(health, filed.event)) == {filed.report}
    assert set(selectors.event_reports(leader, filed.event)) == {filed.report, secret.report}
    assert not selectors.events_visible(principal(world, "public_security")).exists()


# --- API --------------------------------------------------------------------------------


def _client(world, who) -> Client:
    client = Client()
    client.force_login(world["people"][who])
    return client


def _post(client, url, body):
    return client.post(url, json.dumps(body, default=str), content_type="application/json")


def test_api_consultation_round_trip(world):
    filed = file_first(world)
    url = f"/api/events/{filed.event.pk}/consultations"
    body = {
        "question": "烟雾是否有毒？",
        "unit_ids": [world["health"].pk],
        "expert_ids": [world["people"]["expert"].pk],
    }
    expert = _client(world, "expert")
    assert expert.get(f"/api/events/{filed.event.pk}").status_code == 404
    assert _post(_client(world, "environment"), url, body).status_code == 403
    bad = _post(_client(world, "city_duty"), url, {**body, "expert_ids": [0]})
    assert bad.status_code == 422 and "expert_ids" in bad.json()["errors"]
    not_pooled = _post(
        _client(world, "city_duty"),
        url,
        {**body, "expert_ids": [world["people"]["analyst"].pk]},
    )
    assert not_pooled.status_code == 422 and "expert_ids" in not_pooled.json()["errors"]

    created = _post(_client(world, "city_duty"), url, body)
    assert created.status_code == 201, created.content
    consultation = created.json()
    assert consultation["units"] == ["江口县卫生健康局"] and consultation["experts"] == ["王化工"]

    # The invited expert now reads the event and its report, and finds the consultation.
    detail = expert.get(f"/api/events/{filed.event.pk}")
    assert detail.status_code == 200
    assert [r["id"] for r in detail.json()["reports"]] == [filed.report.pk]
    assert expert.get(f"/api/reports/{filed.report.pk}/document.docx").status_code == 200
    assert [c["id"] for c in expert.get("/api/consultations").json()] == [consultation["id"]]

    answers_url = f"/api/consultations/{consultation['id']}/answers"
    answered = _post(expert, answers_url, {"text": "二氧化氮，建议转移下风向群众。"})
    assert answered.status_code == 201, answered.content
    assert answered.json()["author"] == "王化工" and answered.json()["unit"] is None
    # Cannot see it at all: 404; sees the event (reported it) but was not invited: 403.
    assert _post(_client(world, "public_security"), answers_url, {"text": "x"}).status_code == 404
    assert _post(_client(world, "environment"), answers_url, {"text": "x"}).status_code == 403
    assert _post(_client(world, "county_duty"), answers_url, {"text": "x"}).status_code == 403

    close_url = f"/api/consultations/{consultation['id']}/close"
    assert _post(expert, close_url, {"conclusion": "x"}).status_code == 403
    closed = _post(_client(world, "city_duty"), close_url, {"conclusion": "下风向群众暂时转移。"})
    assert closed.status_code == 200, closed.content
    assert closed.json()["conclusion"] == "下风向群众暂时转移。"
    assert [a["text"] for a in closed.json()["answers"]] == ["二氧化氮，建议转移下风向群众。"]
    late = _post(expert, answers_url, {"text": "补充"})
    assert late.status_code == 422 and late.json()["errors"] == {"consultation": ["会商已结束"]}
    # The expert keeps the consultation and its conclusion, but no longer reads the event.
    mine = expert.get("/api/consultations").json()
    assert mine[0]["conclusion"] == "下风向群众暂时转移。"
    assert expert.get(f"/api/events/{filed.event.pk}").status_code == 404
    timeline = _client(world, "city_duty").get(f"/api/events/{filed.event.pk}").json()["timeline"]
    assert [t["text"] for t in timeline if t["kind"] == "consultation"][-1] == (
        "会商结论：下风向群众暂时转移。"
    )
