"""The drills API: the library and its checker, uploads, runs (idempotent), progress,
improvement items; and what a drill's warnings export as CAP."""

from datetime import timedelta

import pytest

from fenghuo.core import clock
from fenghuo.drills import services
from fenghuo.drills.models import DrillRun, Improvement, RunState, Scenario
from fenghuo.notify.models import Message
from tests.drills.acts import JSON, ok
from tests.drills.drive import Drill, client
from tests.drills.test_scenario import GOOD

pytestmark = pytest.mark.django_db


def test_library_lists_the_bundled_scenarios_to_directors_only(province):
    rows = ok(client("sheng_zhiban").get("/api/drills/scenarios"))
    assert {r["slug"] for r in rows} == {
        "chemical-plant-explosion",
        "rainstorm-flood",
        "school-food-rumour",
    }
    chemical = next(r for r in rows if r["slug"] == "chemical-plant-explosion")
    assert chemical["origin"] == "bundled" and chemical["units"]["province"] == "示范省委办公厅"
    assert ok(client("jk_xinxi").get("/api/drills/scenarios")) == []


def test_checker_names_each_problem_and_saves_nothing(province):
    browser = client("sheng_zhiban")
    answer = ok(
        browser.post(
            "/api/drills/scenarios/check",
            {"text": GOOD.replace("injured: 2", "injured: 很多")},
            content_type=JSON,
        )
    )
    assert answer["ok"] is False
    [problem] = answer["problems"]
    assert problem == {
        "line": 16,
        "column": 16,
        "path": "injections[0].report.injured",
        "message": "应为整数",
    }
    assert ok(browser.post("/api/drills/scenarios/check", {"text": GOOD}, content_type=JSON)) == {
        "ok": True,
        "title": "小演练",
        "problems": [],
    }
    assert not Scenario.objects.exists()


def test_upload_is_idempotent_by_content_and_refuses_a_bad_file(province):
    browser = client("sheng_zhiban")
    unit = province.units["示范省委办公厅"].pk
    body = {"filename": "小演练.yaml", "text": GOOD, "unit_id": unit}
    first = ok(browser.post("/api/drills/scenarios", body, content_type=JSON), 201)
    again = ok(browser.post("/api/drills/scenarios", body, content_type=JSON), 200)
    assert first["slug"] == again["slug"] and Scenario.objects.count() == 1
    bad = browser.post(
        "/api/drills/scenarios",
        {**body, "text": GOOD.replace("within: 10", "within: 0")},
        content_type=JSON,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"]["file"] == [
        "第 25 行第 72 列，预期行动 › 第 1 项 › 时限（expectations[0].within）：须大于 0"
    ]
    # A reporter may not add to the library.
    denied = client("jk_xinxi").post(
        "/api/drills/scenarios",
        {**body, "unit_id": province.units["中共江口县委办公室"].pk},
        content_type=JSON,
    )
    assert denied.status_code == 403 and Scenario.objects.count() == 1


def test_preparing_a_run_is_idempotent_and_maps_units(province):
    browser = client("sheng_zhiban")
    body = {
        "scenario": "chemical-plant-explosion",
        "unit_id": province.units["示范省委办公厅"].pk,
        "speed": 30,
        # The county office's part is played by another county's office this time.
        "units": {"county": province.units["中共青山县委办公室"].pk},
    }
    headers = {"HTTP_IDEMPOTENCY_KEY": "run-1"}
    first = ok(browser.post("/api/drills/runs", body, content_type=JSON, **headers), 201)
    again = ok(browser.post("/api/drills/runs", body, content_type=JSON, **headers), 200)
    assert first["id"] == again["id"] and DrillRun.objects.count() == 1
    participants = {p["key"]: (p["unit"], p["simulated"]) for p in first["participants"]}
    assert participants["county"] == ("中共青山县委办公室", False)
    assert participants["enterprise"] == ("临江化工集团有限公司", True)
    assert first["state"] == "prepared" and first["speed"] == 30
    conflict = browser.post("/api/drills/runs", {**body, "speed": 10}, content_type=JSON, **headers)
    assert conflict.status_code == 422
    bad = browser.post("/api/drills/runs", {**body, "speed": 0}, content_type=JSON)
    assert bad.json()["errors"] == {"speed": ["时钟倍速应大于 0、不超过 600"]}


def test_progress_runs_on_the_drill_clock(province):
    browser = client("sheng_zhiban")
    run = ok(
        browser.post(
            "/api/drills/runs",
            {
                "scenario": "chemical-plant-explosion",
                "unit_id": province.units["示范省委办公厅"].pk,
            },
            content_type=JSON,
        ),
        201,
    )
    started = ok(browser.post(f"/api/drills/runs/{run['id']}/start"))
    assert started["state"] == "running" and started["drill_clock"] == "T+0:00:00"
    drill = Drill(DrillRun.objects.get(pk=run["id"]))
    clock.advance(timedelta(seconds=90))  # 90 real seconds at ×10
    progress = ok(browser.get(f"/api/drills/runs/{run['id']}"))
    assert progress["drill_minutes"] == 15.0 and progress["drill_clock"] == "T+0:15:00"
    # No worker stepped for those 15 minutes: the three injections due meanwhile are made
    # at once, at the moment they are actually made, and their actions' clocks start then.
    drill.at(15)
    progress = ok(browser.get(f"/api/drills/runs/{run['id']}"))
    made = {i["key"]: i["done_at"] for i in progress["injections"] if i["done_at"]}
    assert list(made) == ["enterprise_first", "county_em_first", "health_first"]
    assert len(set(made.values())) == 1
    acks = [o for o in progress["scores"]["outcomes"] if o["action"] == "acknowledge"]
    assert {o["state"] for o in acks} == {"pending"}
    drill.at(26)  # ten drill minutes later nobody has signed for them
    progress = ok(browser.get(f"/api/drills/runs/{run['id']}"))
    assert {o["id"] for o in progress["scores"]["outcomes"] if o["state"] == "missed"} == {
        "province_ack_enterprise",
        "county_ack",
        "city_ack",
        "province_ack",
    }
    ended = ok(
        browser.post(f"/api/drills/runs/{run['id']}/end", {"note": "提前结束"}, content_type=JSON)
    )
    assert ended["state"] == "ended" and ended["scores"]["units"]
    # Ended early: what had not come due yet (or whose injection never came) is not scored.
    states = {o["id"]: o["state"] for o in ended["scores"]["outcomes"]}
    assert states["merge"] == "unscored"  # anchored at T+15, 20 minutes: due at T+35
    assert states["release"] == "unscored"  # its notice (T+40) never came
    province = next(u for u in ended["scores"]["units"] if u["key"] == "province")
    assert (province["expected"], province["missed"], province["unscored"]) == (8, 2, 5)
    assert province["timeliness"] == 33.3  # grading's 10 of the decided 10 + 10 + 10
    again = browser.post(f"/api/drills/runs/{run['id']}/end", {}, content_type=JSON)
    assert again.status_code == 422
    assert again.json()["errors"]["state"] == ["演练已结束，不能结束"]


def test_improvement_items_are_tracked_tasks(province):
    director = province.principal("sheng_zhiban")
    run = services.prepare_run(
        director, slug="chemical-plant-explosion", unit=province.units["示范省委办公厅"], speed=10
    )
    services.start_run(director, run)
    Drill(run).at(20)
    browser = client("sheng_zhiban")
    early = browser.post(
        f"/api/drills/runs/{run.pk}/improvements",
        {"unit_id": 1, "title": "x", "due_at": (clock.now() + timedelta(days=3)).isoformat()},
        content_type=JSON,
    )
    assert early.status_code == 422  # only after the end
    services.end_run(director, run, note="测试")
    run.refresh_from_db()
    city_ack = next(o for o in run.results["outcomes"] if o["id"] == "city_ack")
    assert city_ack["state"] == "missed"
    county = province.units["中共江口县委办公室"]
    body = {
        "unit_id": county.pk,
        "title": "县委办公室签收超时，完善值班签收提醒",
        "due_at": (clock.now() + timedelta(days=30)).isoformat(),
        "source": "county_ack",
    }
    item = ok(browser.post(f"/api/drills/runs/{run.pk}/improvements", body, content_type=JSON), 201)
    again = ok(browser.post(f"/api/drills/runs/{run.pk}/improvements", body, content_type=JSON))
    assert item["id"] == again["id"] and Improvement.objects.count() == 1
    # The county's people are told, in a real (not drill) notification.
    told = Message.objects.filter(key=f"drill-improvement:{item['id']}", channel="inapp")
    assert set(told.values_list("person__username", flat=True)) == {
        "jk_xinxi",
        "jk_zhiban",
        "jk_lingdao",
    }
    assert not told.filter(is_drill=True).exists()
    # Field errors, in Chinese; nothing saved.
    bad = browser.post(
        f"/api/drills/runs/{run.pk}/improvements",
        {
            "unit_id": province.units["中共青山市委办公室"].pk,
            "title": " ",
            "due_at": clock.now().isoformat(),
        },
        content_type=JSON,
    )
    assert bad.json()["errors"] == {
        "unit": ["中共青山市委办公室未参加本次演练"],
        "title": ["整改事项为必填项"],
        "due_at": ["整改时限须晚于当前时间"],
    }
    # The county sees its item and completes it; another unit's person cannot.
    assert [i["id"] for i in ok(client("jk_xinxi").get("/api/drills/improvements"))] == [item["id"]]
    assert ok(client("qs_zhiban").get("/api/drills/improvements")) == []
    denied = client("qs_zhiban").post(
        f"/api/drills/improvements/{item['id']}/complete", {"note": "x"}, content_type=JSON
    )
    assert denied.status_code == 404
    done = ok(
        client("jk_zhiban").post(
            f"/api/drills/improvements/{item['id']}/complete",
            {"note": "已在值班台开启提示音并调整排班"},
            content_type=JSON,
        )
    )
    assert done["state"] == "done" and done["done_note"] == "已在值班台开启提示音并调整排班"


def test_a_drill_warning_exports_as_cap_exercise(province):
    from tests.drills.acts import approve_and_issue, draft_warning

    director = province.principal("sheng_zhiban")
    run = services.prepare_run(
        director, slug="chemical-plant-explosion", unit=province.units["示范省委办公厅"], speed=10
    )
    services.start_run(director, run)
    Drill(run).at(1)
    event = run.injections.get(key="enterprise_first").outcome["event"]
    warning = draft_warning(
        client("sheng_zhiban"),
        category="hazchem",
        level=2,
        event_name="危险化学品泄漏",
        issuing_unit_id=province.units["示范省委办公厅"].pk,
        area_codes=["990121"],
        event_id=event,
    )
    approve_and_issue(client("zuzhang"), warning["id"])
    xml = client("sheng_zhiban").get(f"/api/alerts/{warning['id']}/cap.xml").content.decode()
    assert "<status>Exercise</status>" in xml
    # Not public: neither the page nor the feed.
    assert client("sheng_zhiban").get(f"/public/warnings/{warning['id']}/").status_code == 404
    run.refresh_from_db()
    assert run.state == RunState.RUNNING
