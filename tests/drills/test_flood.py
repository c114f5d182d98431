"""The bundled rainstorm-and-flood scenario end to end on the ×10 clock: staged exercise
CAP alerts from the weather service, a town's reports, warnings issued and adjusted, a
response started and raised, a release; the run scores the county, city and province."""

import pytest

from fenghuo.drills import services
from fenghuo.drills.models import Injection, RunState
from fenghuo.escalation.models import Route
from fenghuo.events.models import Report
from tests.drills.acts import JSON, approve_and_issue, draft_warning, ok, publish_release
from tests.drills.drive import Drill, client

pytestmark = pytest.mark.django_db


def test_rainstorm_flood_scenario_scores_staged_warnings_and_response(province):
    world = province
    director = world.principal("sheng_zhiban")
    run = services.prepare_run(
        director, slug="rainstorm-flood", unit=world.units["示范省委办公厅"], speed=10
    )
    services.start_run(director, run)
    drill = Drill(run)
    city, city_lead = client("lj_zhiban"), client("lj_zuzhang")
    sheng, zuzhang = client("sheng_zhiban"), client("zuzhang")
    lj = world.units["中共临江市委办公室"]

    drill.at(0)  # the weather service's blue signal: an exercise CAP alert, a clue for the city
    blue_draft = Injection.objects.get(run=run, key="cap_blue").outcome["draft"]
    draft = Report.objects.get(pk=blue_draft)
    assert (draft.is_drill, draft.drill_tag, draft.channel) == (True, run.tag, "clue")

    drill.at(6)  # the city's duty officer confirms it on the drill's page
    answer = city.post(f"/drills/runs/{run.pk}/drafts/{blue_draft}/", {"category": "weather"})
    assert answer.status_code == 302
    weather_event = Report.objects.get(pk=blue_draft).event
    assert weather_event.is_drill and weather_event.drill_tag == run.tag
    assert not Route.objects.filter(report_id=blue_draft).exists()  # below the threshold

    drill.at(20)
    blue = draft_warning(
        city,
        category="weather",
        level=4,
        event_name="暴雨",
        issuing_unit_id=lj.pk,
        area_codes=["990100"],
        event_id=weather_event.pk,
    )
    drill.at(24)
    issued = approve_and_issue(city_lead, blue["id"])
    assert issued["is_drill"] is True and issued["state"] == "issued"

    drill.at(45)  # the county signs for the town's report (T+30) late
    route = Route.objects.get(
        office__name="中共江口县委办公室",
        report__unit__name="江口县江口镇人民政府",
        report__kind="first",
    )
    ok(client("jk_zhiban").post(f"/api/routes/{route.pk}/acknowledge"))
    flood = route.report.event

    drill.at(50)
    response = ok(
        sheng.post(
            f"/api/events/{flood.pk}/responses",
            {"level": 4, "reason": "江口镇积水转移群众"},
            content_type=JSON,
        ),
        201,
    )

    drill.at(80)  # the yellow signal came at T+40: the city adjusts late
    yellow = ok(city.post(f"/api/alerts/{blue['id']}/adjust", {"level": 3}, content_type=JSON), 201)
    approve_and_issue(city_lead, yellow["id"])

    drill.at(90)  # orange (T+75): a province warning about the flood
    orange = draft_warning(
        sheng,
        category="flood",
        level=2,
        event_name="暴雨洪涝",
        issuing_unit_id=world.units["示范省委办公厅"].pk,
        area_codes=["990121"],
        event_id=flood.pk,
    )
    drill.at(95)  # the province raises its response to level Ⅱ (notice at T+80)
    ok(
        sheng.post(
            f"/api/responses/{response['id']}/level",
            {"level": 2, "reason": "江口河可能发生超保证水位洪水"},
            content_type=JSON,
        )
    )
    drill.at(98)
    approve_and_issue(zuzhang, orange["id"])

    drill.at(110)  # the city's release about the flood (follow-up at T+60)
    published = publish_release(city, city_lead, flood.pk, lj.pk, "临江市防汛工作情况通报")
    assert published["state"] == "published"

    drill.at(150)
    assert run.state == RunState.ENDED

    outcomes = {o["id"]: (o["state"], o["minutes"]) for o in run.results["outcomes"]}
    assert outcomes == {
        "city_confirm_blue": ("on_time", 6.0),
        "city_blue": ("on_time", 24.0),
        "county_ack_town": ("late", 15.0),
        "province_response_iv": ("on_time", 20.0),
        "city_yellow": ("late", 40.0),
        "province_orange": ("on_time", 23.0),
        "province_response_ii": ("on_time", 15.0),
        "city_release": ("on_time", 50.0),
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
# Obligations: each office's receipts of the town's first report (T+30, due T+40) and its
# follow-up (T+60, due T+70); only the county signed for one, late (T+45). The weather
# clue the city confirmed graded below the reporting threshold: no route, nothing owed.
# Timeliness: city 10 + 15 + 7.5 (yellow late) + 10 of 50 = 85%; county 5 of 10.
# Scores: city 50%·85 + 30%·0 + 20%·100 = 62.5; county 50%·50 + 30%·25 + 20%·100 = 52.5;
# province 50%·100 + 30%·0 + 20%·100 = 70.
EXPECTED_TABLE = {
    "county": (1, 0, 1, 0, 2, 0, 1, 50.0, 25.0, 100.0, 52.5),
    "city": (4, 3, 1, 0, 2, 0, 0, 85.0, 0.0, 100.0, 62.5),
    "province": (3, 3, 0, 0, 2, 0, 0, 100.0, 0.0, 100.0, 70.0),
}
