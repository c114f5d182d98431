"""The bundled school food-poisoning rumour scenario end to end on the ×10 clock: a burst
of drill posts raises an opinion warning, the analyst confirms it, the province's duty
office turns the topic into a clue, the city confirms the clue and answers the
verification (untrue), the event is marked a rumour, the province's release comes late."""

import pytest

from fenghuo.drills import services
from fenghuo.drills.models import RunState
from fenghuo.events.models import EventStatus, Report, VerificationTask
from fenghuo.opinion.models import OpinionWarning, Topic
from tests.drills.acts import JSON, ok, publish_release
from tests.drills.drive import Drill, client

pytestmark = pytest.mark.django_db


def test_school_rumour_scenario_scores_the_opinion_chain(province):
    world = province
    director = world.principal("sheng_zhiban")
    run = services.prepare_run(
        director, slug="school-food-rumour", unit=world.units["示范省委办公厅"], speed=10
    )
    services.start_run(director, run)
    drill = Drill(run)
    analyst, city = client("yuqing"), client("lj_zhiban")

    drill.at(12)  # the burst (T+10) raised a drill opinion warning for the analysts
    warnings = ok(analyst.get("/api/opinion/warnings"))
    assert warnings == []  # the real list stays real
    warning = OpinionWarning.objects.get(topic__drill_tag=run.tag)
    assert warning.is_drill and warning.colour == "yellow"
    ok(
        analyst.post(
            f"/api/opinion/warnings/{warning.pk}/decision",
            {"action": "confirm", "note": "演练：确认"},
            content_type=JSON,
        )
    )

    drill.at(18)  # the province's duty office turns the topic into a clue for the city
    clue = ok(
        client("sheng_zhiban").post(
            f"/api/opinion/topics/{warning.topic_id}/clue", {}, content_type=JSON
        ),
        201,
    )
    draft = Report.objects.get(pk=clue["report_id"])
    assert (draft.is_drill, draft.drill_tag) == (True, run.tag)

    drill.at(25)  # the city confirms the clue: an event, and a verification task for itself
    confirmed = ok(
        city.post(
            f"/api/drills/runs/{run.pk}/drafts/{draft.pk}/confirm",
            {"category": "food_safety", "place": "临江市实验小学"},
            content_type=JSON,
        )
    )
    task = VerificationTask.objects.get(event_id=confirmed["event_id"])

    drill.at(50)  # after the notice (T+35): untrue, and the event is marked a rumour
    ok(
        city.post(
            f"/api/verifications/{task.pk}/answer",
            {
                "state": "false",
                "answer": "经市教育局、市场监管局核实，当日无学生身体不适，网传图片为外地旧闻。",
            },
            content_type=JSON,
        )
    )
    task.event.refresh_from_db()
    assert task.event.status == EventStatus.FALSE

    drill.at(85)  # the province's 辟谣 comes 50 minutes after the notice (45 allowed)
    published = publish_release(
        client("sheng_zhiban"),
        client("zuzhang"),
        task.event_id,
        world.units["示范省委办公厅"].pk,
        "关于网传临江市实验小学学生食物中毒的情况说明",
    )
    assert published["state"] == "published"

    drill.at(90)
    assert run.state == RunState.ENDED
    assert Topic.objects.filter(drill_tag=run.tag, clue_report=draft).exists()

    outcomes = {o["id"]: (o["state"], o["minutes"]) for o in run.results["outcomes"]}
    assert outcomes == {
        "cac_confirm": ("on_time", 2.0),
        "province_clue": ("on_time", 8.0),
        "city_verify_request": ("on_time", 15.0),
        "city_verify": ("on_time", 15.0),
        "rumour": ("on_time", 15.0),
        "province_release": ("late", 50.0),
    }
    table = {
        row["key"]: (
            row["expected"],
            row["on_time"],
            row["late"],
            row["missed"],
            row["obligations"],
            row["obligations_on_time"],
            row["obligations_late"],
            row["timeliness"],
            row["obligation_rate"],
            row["completeness"],
            row["score"],
        )
        for row in run.results["units"]
    }
    assert table == EXPECTED_TABLE


# unit: (expected actions, on time, late, missed, obligations, on time, late,
#        timeliness %, obligations %, completeness %, score)
# The city owed its verification answer (met at T+50, well within its two hours shrunk
# to 12 real minutes) and the sign-off of the clue it confirmed, which its leader never
# gave (so the report never reached the province, which owed nothing): 1/2.
# Province: 15 (clue) + 10 (release late, half of 20) of 35 = 71.4%; no obligations, so
# 50%·71.4 + 20%·100 over 70% = 79.6. The cyberspace office: one action on time, 100.
EXPECTED_TABLE = {
    "cac": (1, 1, 0, 0, 0, 0, 0, 100.0, None, 100.0, 100.0),
    "city": (3, 3, 0, 0, 2, 1, 0, 100.0, 50.0, 100.0, 85.0),
    "province": (2, 1, 1, 0, 0, 0, 0, 71.4, None, 100.0, 79.6),
}
