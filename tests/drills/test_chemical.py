"""The bundled chemical-plant scenario end to end on the ×10 clock: three departments report
one explosion, the county, city and province offices act (some late, one not at all)
through the API and the pages, and the run scores them."""

from datetime import timedelta

import pytest

from fenghuo.core import clock
from fenghuo.drills import services
from fenghuo.drills.models import RunState
from fenghuo.escalation.models import Route
from fenghuo.events.models import Event, Report
from tests.drills.drive import Drill, client

pytestmark = pytest.mark.django_db


def _route(office: str, unit: str, kind: str = "first") -> Route:
    return Route.objects.get(
        office__name=office, report__unit__name=unit, report__kind=kind, report__is_drill=True
    )


def _receipt_id(browser, unit: str) -> int:
    """The participant finds the route on their list of drill routes awaiting receipt."""
    rows = browser.get("/api/routes?awaiting=receipt&drill=true").json()
    return next(r["id"] for r in rows if r["unit"] == unit)


def test_chemical_plant_scenario_scores_every_unit(province):
    world = province
    director = world.principal("sheng_zhiban")
    run = services.prepare_run(
        director, slug="chemical-plant-explosion", unit=world.units["示范省委办公厅"], speed=10
    )
    services.start_run(director, run)
    drill = Drill(run)
    sheng, jk, lj = client("sheng_zhiban"), client("jk_zhiban"), client("lj_zhiban")

    drill.at(0)  # the enterprise reports: 3 dead, straight to the province (no leader)
    main = Report.objects.get(drill_tag=run.tag, unit__name="临江化工集团有限公司").event
    assert main.is_drill and main.drill_tag == run.tag and main.grade == 3

    drill.at(4)
    route = _receipt_id(sheng, "临江化工集团有限公司")
    assert sheng.post(f"/api/routes/{route}/acknowledge").status_code == 200

    drill.at(11)  # the county bureau's report (T+6) went to the county, city and province
    route = _receipt_id(jk, "江口县应急管理局")
    assert jk.post(f"/api/routes/{route}/acknowledge").status_code == 200

    drill.at(14)  # the province takes it on its page
    route = _route("示范省委办公厅", "江口县应急管理局")
    answer = sheng.post(
        f"/escalation/routes/{route.pk}/acknowledge/", {"next": f"/drills/runs/{run.pk}/"}
    )
    assert answer.status_code == 302

    drill.at(20)  # the city is late (14 minutes against 10)
    route = _receipt_id(lj, "江口县应急管理局")
    assert lj.post(f"/api/routes/{route}/acknowledge").status_code == 200

    drill.at(27)  # the hospital's report (T+15) opened an event of its own: merged by hand
    health = Report.objects.get(drill_tag=run.tag, unit__name="临江市卫生健康委员会").event
    assert health.pk != main.pk
    answer = sheng.post(f"/events/{health.pk}/merge/", {"target": main.pk})
    assert answer.status_code == 302 and not Event.objects.filter(pk=health.pk).exists()

    drill.at(38)  # the county office's follow-up, asked for by the notice at T+20
    answer = jk.post(
        "/api/reports",
        {
            "kind": "followup",
            "event_id": main.pk,
            "unit_id": world.units["中共江口县委办公室"].pk,
            "narrative": "县委办公室续报：搜救工作持续进行，已疏散周边群众 1200 人。",
            "evacuated": 1200,
        },
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    followup = Report.objects.get(pk=answer.json()["id"])
    assert followup.is_drill and followup.drill_tag == run.tag

    drill.at(52)  # the province starts a level Ⅲ response (notice at T+40)
    answer = sheng.post(
        f"/api/events/{main.pk}/responses",
        {"level": 3, "reason": "化工园区爆炸，下风向有刺激性气体"},
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content

    drill.at(55)  # … and drafts an orange warning about the event
    answer = sheng.post(
        "/api/alerts",
        {
            "category": "hazchem",
            "level": 2,
            "event_name": "危险化学品泄漏",
            "issuing_unit_id": world.units["示范省委办公厅"].pk,
            "area_codes": ["990121"],
            "starts_at": clock.now().isoformat(),
            "ends_at": (clock.now() + timedelta(hours=6)).isoformat(),
            "impact": "化工园区下风向 3 公里范围空气中有刺激性气体。",
            "cautions": "下风向群众关闭门窗，减少外出。",
            "measures": "园区周边学校停课，群众听从指挥有序转移。",
            "event_id": main.pk,
        },
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    warning = answer.json()
    assert warning["is_drill"] is True  # a warning about a drill event is a drill warning

    drill.at(62)  # the county leader signs off late: the follow-up reaches the province late
    route = _route("示范省委办公厅", "中共江口县委办公室", "followup")
    answer = client("jk_lingdao").post(
        f"/api/routes/{route.pk}/sign-off", content_type="application/json"
    )
    assert answer.status_code == 200, answer.content

    drill.at(65)
    zuzhang = client("zuzhang")
    assert zuzhang.post(f"/api/alerts/{warning['id']}/approve").status_code == 200
    assert zuzhang.post(f"/api/alerts/{warning['id']}/issue").status_code == 200

    drill.at(119)
    assert run.state == RunState.RUNNING
    drill.at(120)  # the loop ends the drill when its time is up
    assert run.state == RunState.ENDED and run.end_note == "演练时间到"

    outcomes = {o["id"]: (o["state"], o["minutes"]) for o in run.results["outcomes"]}
    assert outcomes == {
        "province_ack_enterprise": ("on_time", 4.0),
        "county_ack": ("on_time", 5.0),
        "city_ack": ("late", 14.0),
        "province_ack": ("on_time", 8.0),
        "merge": ("on_time", 12.0),
        "grading": ("on_time", 0.0),  # graded 较大 by the enterprise's 3 dead already
        "county_followup": ("on_time", 18.0),
        "county_signoff": ("late", 42.0),
        "county_reach_province": ("late", 42.0),
        "response": ("on_time", 12.0),
        "warning": ("on_time", 25.0),
        "release": ("missed", None),
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
# Obligations are the receipts each office owed for the routes that reached it (and the
# county's own follow-up: its sign-off and written reports to the city and province):
# - province: enterprise (T+0, signed for at T+4) and county bureau (T+6, at T+14) on
#   time; the hospital's report, the bureau's follow-up and the county's never → 2/5;
# - county: the bureau's first report (T+11) on time, its follow-up never; its own
#   follow-up signed off within the 30 minutes and sent to city and province → 4/5;
# - city: the bureau's report late (T+20, due T+16), three others never → ½/4.
# Scores: province 50%·80 + 30%·40 + 20%·87.5 = 69.5; county 50%·83.3 + 30%·80 + 20%·100
# = 85.7; city 50%·50 + 30%·12.5 + 20%·100 = 48.75.
EXPECTED_TABLE = {
    "county": (3, 2, 1, 0, 5, 4, 0, 83.3, 80.0, 100.0, 85.7),
    "city": (1, 0, 1, 0, 4, 0, 1, 50.0, 12.5, 100.0, 48.8),
    "province": (8, 6, 1, 1, 5, 2, 0, 80.0, 40.0, 87.5, 69.5),
}
