"""Who may direct a drill, who sees it, and who sees its script: a matrix of roles at
several places in the tree, over the pages and the API, before, during and after a run."""

import pytest

from fenghuo.core.sandbox import drill_q
from fenghuo.drills import selectors, services
from fenghuo.drills.models import RunState
from fenghuo.org.models import Person
from fenghuo.org.policy import principal_for
from tests.drills.acts import JSON
from tests.drills.drive import Drill, client

pytestmark = pytest.mark.django_db

# username: (may direct the province's run, takes part in it (chemical), sees the script
# while it runs)
MATRIX = {
    "sheng_zhiban": (True, True, True),  # 值班员 of the directing office
    "zuzhang": (True, True, True),  # 领导小组组长 there
    "admin": (True, True, True),  # 管理员 (and superuser)
    "chengyuan": (False, True, False),  # 领导小组成员: takes part, does not direct
    "lj_zhiban": (False, True, False),  # a participating city office, below the director
    "jk_xinxi": (False, True, False),  # a participating county office's 信息员
    "yuqing": (False, False, False),  # an analyst of a unit that does not take part
    "qs_zhiban": (False, False, False),  # another city's duty officer
    "zhuanjia": (False, False, False),  # an expert
}


@pytest.fixture
def run(province):
    director = province.principal("sheng_zhiban")
    return services.prepare_run(
        director, slug="chemical-plant-explosion", unit=province.units["示范省委办公厅"], speed=10
    )


@pytest.mark.parametrize("username", MATRIX)
def test_who_sees_and_directs_a_run(run, username):
    directs, takes_part, sees_script = MATRIX[username]
    principal = principal_for(Person.objects.get(username=username))
    browser = client(username)
    assert selectors.may_direct(principal, run.unit) is directs
    # Prepared: only directors know of it.
    assert browser.get(f"/api/drills/runs/{run.pk}").status_code == (200 if directs else 404)
    assert browser.get(f"/drills/runs/{run.pk}/").status_code == (200 if directs else 404)
    start = browser.post(f"/api/drills/runs/{run.pk}/start")
    assert start.status_code == (200 if directs else 404)
    if not directs:
        services.start_run(principal_for(Person.objects.get(username="sheng_zhiban")), run)
    Drill(run).at(1)

    answer = browser.get(f"/api/drills/runs/{run.pk}")
    assert answer.status_code == (200 if takes_part or directs else 404)
    if answer.status_code == 200:
        body = answer.json()
        assert (body["injections"] is not None) is sees_script
        assert (body["scores"] is not None) is sees_script
        page = browser.get(f"/drills/runs/{run.pk}/").content.decode()
        assert ('id="live-scores"' in page) is sees_script
        assert ('id="live-injections"' in page) is sees_script
    ended = browser.post(f"/api/drills/runs/{run.pk}/end", {"note": "x"}, content_type=JSON)
    assert ended.status_code == (200 if directs else 403 if takes_part else 404)
    if not directs:
        services.end_run(principal_for(Person.objects.get(username="sheng_zhiban")), run)
    run.refresh_from_db()
    assert run.state == RunState.ENDED
    # Ended: everyone who took part sees the results and the report.
    answer = browser.get(f"/api/drills/runs/{run.pk}")
    if takes_part or directs:
        assert answer.json()["scores"]["units"]
        assert browser.get(f"/drills/runs/{run.pk}/results/").status_code == 200
        assert browser.get(f"/drills/runs/{run.pk}/report.docx").status_code == 200
    else:
        assert answer.status_code == 404
        assert browser.get(f"/drills/runs/{run.pk}/report.docx").status_code == 404
    purge = browser.post(f"/api/drills/runs/{run.pk}/purge")
    assert purge.status_code == (200 if directs else 403 if takes_part else 404)


def test_a_run_maps_units_only_within_its_directing_unit(province):
    city_duty = province.principal("lj_zhiban")
    with pytest.raises(Exception) as refused:
        services.prepare_run(
            city_duty,
            slug="chemical-plant-explosion",
            unit=province.units["中共临江市委办公室"],
            speed=10,
        )
    messages = refused.value.message_dict
    assert messages["units.province"] == [
        "示范省委办公厅不在导调单位中共临江市委办公室的管辖范围内"
    ]
    assert messages["units.enterprise"] == [
        "临江化工集团有限公司不在导调单位中共临江市委办公室的管辖范围内"
    ]
    # And a city duty officer cannot run a drill in the province's name at all.
    answer = client("lj_zhiban").post(
        "/api/drills/runs",
        {"scenario": "chemical-plant-explosion", "unit_id": province.units["示范省委办公厅"].pk},
        content_type=JSON,
    )
    assert answer.status_code == 403


def test_participants_see_their_drill_work_and_nothing_of_others(run, province):
    services.start_run(province.principal("sheng_zhiban"), run)
    Drill(run).at(7)
    city = province.principal("lj_zhiban")
    work = selectors.work(city, Person.objects.get(username="lj_zhiban"), run)
    assert [r.report.unit.name for r in work.awaiting_receipt] == ["江口县应急管理局"]
    assert work.events and all(e.drill_tag == run.tag for e in work.events)
    # The same routes are not on the real desk lists (which hold the demo's real ones).
    assert not (
        selectors.escalation_selectors.awaiting_receipt(city).filter(report__is_drill=True).exists()
    )
    assert (
        not selectors.escalation_selectors.awaiting_receipt(city, drill=run.tag)
        .filter(drill_q(False, "report__"))
        .exists()
    )
    page = client("lj_zhiban").get(f"/drills/runs/{run.pk}/").content.decode()
    assert "待签收" in page and "江口县应急管理局" in page
    # Another city's duty officer has nothing to do in it and cannot open it.
    assert client("qs_zhiban").get(f"/drills/runs/{run.pk}/live/").status_code == 404
