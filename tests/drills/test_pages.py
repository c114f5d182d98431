"""The drill pages through Django's test client: library and upload (errors with their
lines), a scenario and its run form, the live page, taking down a call, the results with
improvement items, the desk's link to a running drill."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fenghuo.drills import services
from fenghuo.drills.models import DrillRun, Improvement, RunState, Scenario
from fenghuo.events.models import Report
from tests.drills.drive import Drill, client
from tests.drills.test_scenario import GOOD

pytestmark = pytest.mark.django_db

CALL = """\
title: 来电演练
duration: 30
units:
  bureau: {name: 江口县应急管理局, role: simulated}
  county: 中共江口县委办公室
injections:
  - id: call
    at: 2
    kind: call
    unit: bureau
    office: county
    caller: 李主任
    phone: 0990-2100001
    report:
      title: 江口镇一仓库起火
      category: fire
      place: 江口县江口镇
      narrative: 江口镇一仓库起火，消防已出动。
expectations:
  - {id: take, action: confirm_draft, unit: county, injection: call, after: call, within: 5}
"""


def test_library_upload_and_errors_with_their_lines(province):
    browser = client("sheng_zhiban")
    page = browser.get("/drills/")
    assert page.status_code == 200
    html = page.content.decode()
    for title in (
        "临江化工集团江口分厂爆炸事故多部门报送演练",
        "临江市暴雨洪涝分级预警与应急响应演练",
    ):
        assert title in html
    unit = province.units["示范省委办公厅"].pk
    bad = browser.post(
        "/drills/scenarios/upload/",
        {
            "unit": unit,
            "file": SimpleUploadedFile("bad.yaml", GOOD.replace("at: 0", "at: -5").encode()),
        },
    )
    assert bad.status_code == 422
    assert (
        "第 8 行第 9 列，情况注入 › 第 1 项 › 注入时间（injections[0].at）：不能小于 0"
        in bad.content.decode()
    )
    assert not Scenario.objects.exists()
    good = browser.post(
        "/drills/scenarios/upload/",
        {"unit": unit, "file": SimpleUploadedFile("小演练.yaml", GOOD.encode())},
    )
    assert good.status_code == 302
    scenario = Scenario.objects.get()
    assert good["Location"] == f"/drills/scenarios/{scenario.slug}/"
    assert "小演练" in browser.get("/drills/").content.decode()
    # Someone without a directing role sees no library and may not upload.
    reporter = client("jk_xinxi")
    assert "组织演练需要" in reporter.get("/drills/").content.decode()
    assert reporter.post("/drills/scenarios/upload/", {"unit": unit}).status_code == 403


def test_a_run_from_the_scenario_page_to_the_results(province):
    browser = client("sheng_zhiban")
    page = browser.get("/drills/scenarios/chemical-plant-explosion/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "多部门报送演练" in html and "三个部门的报告归并为同一事件" in html
    assert client("lj_zhiban").get("/drills/scenarios/chemical-plant-explosion/").status_code == 200
    assert client("jk_xinxi").get("/drills/scenarios/chemical-plant-explosion/").status_code == 403
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    form = {
        "idempotency_key": key,
        "unit": province.units["示范省委办公厅"].pk,
        "speed": "10",
        "unit_county": province.units["中共江口县委办公室"].pk,
    }
    answer = browser.post("/drills/scenarios/chemical-plant-explosion/", form)
    assert answer.status_code == 302
    again = browser.post("/drills/scenarios/chemical-plant-explosion/", form)  # a double click
    assert again["Location"] == answer["Location"] and DrillRun.objects.count() == 1
    run = DrillRun.objects.get()
    assert browser.post(f"/drills/runs/{run.pk}/start/").status_code == 302
    Drill(run).at(7)
    live = browser.get(f"/drills/runs/{run.pk}/live/").content.decode()
    assert 'id="drill-clock">T+0:07:00<' in live
    assert "县应急管理局首报，伤亡数字与企业不一致" in live  # the director sees the script
    # The desk shows a link to the running drill, and none of its work.
    desk = browser.get("/desk/").content.decode()
    assert (
        f'href="/drills/runs/{run.pk}/"' in desk
        and "江口县化工园区临江化工集团江口分厂爆炸事故" not in desk
    )
    Drill(run).at(17)  # the receipts were due at T+16; nobody signed
    answer = browser.post(f"/drills/runs/{run.pk}/end/", {"note": "演示结束"})
    assert answer["Location"] == f"/drills/runs/{run.pk}/results/"
    results = browser.get(answer["Location"]).content.decode()
    assert "评分" in results and "省委办公厅签收企业直报" in results and "演示结束" in results
    assert "建议整改（据评分）" in results
    answer = browser.post(
        f"/drills/runs/{run.pk}/improvements/",
        {
            "source": "city_ack",
            "unit": province.units["中共临江市委办公室"].pk,
            "title": "市委办公室签收未完成",
            "due_at": "2026-12-31",
        },
    )
    assert answer.status_code == 302 and Improvement.objects.filter(source="city_ack").count() == 1
    items = client("lj_zhiban").get("/drills/improvements/").content.decode()
    assert "市委办公室签收未完成" in items
    item = Improvement.objects.get()
    client("lj_zhiban").post(f"/drills/improvements/{item.pk}/complete/", {"note": "已整改"})
    item.refresh_from_db()
    assert item.state == "done"
    document = browser.get(f"/drills/runs/{run.pk}/report.docx")
    assert document["Content-Type"].startswith("application/vnd.openxmlformats")
    assert browser.post(f"/drills/runs/{run.pk}/purge/").status_code == 302
    run.refresh_from_db()
    assert run.state == RunState.PURGED
    assert "演练数据已于" in browser.get(f"/drills/runs/{run.pk}/results/").content.decode()


def test_a_call_is_taken_down_on_the_drill_page(province):
    director = province.principal("sheng_zhiban")
    scenario, _ = services.upload_scenario(
        director, unit=province.units["示范省委办公厅"], filename="call.yaml", text=CALL
    )
    run = services.prepare_run(
        director, slug=scenario.slug, unit=province.units["示范省委办公厅"], speed=10
    )
    services.start_run(director, run)
    Drill(run).at(3)
    draft = Report.objects.get(drill_tag=run.tag)
    assert (draft.status, draft.channel, draft.caller_name) == ("draft", "phone", "李主任")
    county = client("jk_zhiban")
    page = county.get(f"/drills/runs/{run.pk}/").content.decode()
    assert f'href="/drills/runs/{run.pk}/drafts/{draft.pk}/"' in page and "记录来电" in page
    # The county's duty officer was told the phone is ringing (a drill message).
    assert "【演练】来电：李主任" in page
    wrong = county.post(f"/drills/runs/{run.pk}/drafts/{draft.pk}/", {"division_code": "99012x"})
    assert wrong.status_code == 422 and "行政区划代码" in wrong.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"
    answer = county.post(
        f"/drills/runs/{run.pk}/drafts/{draft.pk}/",
        {"title": "江口镇一仓库起火", "category": "fire", "place": "江口县江口镇东街"},
    )
    assert answer.status_code == 302
    draft.refresh_from_db()
    assert (
        draft.status == "submitted" and draft.place == "江口县江口镇东街" and draft.event.is_drill
    )
    # Someone who is not a duty officer above the caller cannot take it down.
    assert client("qs_zhiban").get(f"/drills/runs/{run.pk}/drafts/{draft.pk}/").status_code == 404
    Drill(run).at(30)
    run.refresh_from_db()
    [outcome] = run.results["outcomes"]
    assert (outcome["state"], outcome["minutes"]) == ("on_time", 1.0)


def test_drill_events_stay_out_of_the_event_list_unless_asked_for(province):
    director = province.principal("sheng_zhiban")
    run = services.prepare_run(
        director, slug="chemical-plant-explosion", unit=province.units["示范省委办公厅"], speed=10
    )
    services.start_run(director, run)
    Drill(run).at(1)
    drill_event = Report.objects.get(drill_tag=run.tag).event
    browser = client("sheng_zhiban")
    listing = browser.get("/events/").content.decode()
    assert f'id="event-{drill_event.pk}"' not in listing
    assert "临江化工集团江口分厂发生爆炸" in listing  # the demo's real event about the plant
    drills = browser.get("/events/?drill=on").content.decode()
    assert (
        f'id="event-{drill_event.pk}"' in drills and '<span class="tag drill">演练</span>' in drills
    )
    assert "共 1 个事件" in drills
    assert [e["id"] for e in browser.get("/api/events?drill=true").json()] == [drill_event.pk]
    assert drill_event.pk not in [e["id"] for e in browser.get("/api/events").json()]
    page = browser.get(f"/events/{drill_event.pk}/").content.decode()
    assert "演练事件：本事件属于演练" in page
