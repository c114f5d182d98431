"""Pattern analysis (串并分析): events of one category recurring at one place within the
window become one finding linking them; events that read alike become a finding too;
"similar events" on every event page; findings on the duty desk and in the bulletin."""

from datetime import timedelta

import pytest
from django.test import Client

from fenghuo.assess import patterns
from fenghuo.assess.models import Finding, FindingKind
from fenghuo.assess.tasks import assess_due
from fenghuo.core import clock
from fenghuo.org.models import Person
from tests.assess.world import at, report

pytestmark = pytest.mark.django_db

ROAD = "江口县G205国道"
FIRES = [
    ("幸福小区", "居民在楼道内给电动自行车充电时电池起火，浓烟进入楼道，消防已扑灭。"),
    ("阳光花园", "居民在楼道内给电动自行车充电时电池起火，浓烟蔓延楼道，消防到场扑灭。"),
    ("东湖苑", "居民在楼道内给电动自行车充电时电池起火，浓烟进入住户，消防已扑灭。"),
]


def client_of(world, who: str) -> Client:
    client = Client()
    client.force_login(Person.objects.get(pk=world["people"][who].pk))
    return client


def analyse(moment) -> None:
    with clock.frozen_at(moment):
        while assess_due():
            pass


# What the police write differs from one accident to the next.
NARRATIVES = [
    "一辆重型货车与小客车追尾，小客车驾驶员受伤送医。",
    "摩托车在弯道处侧滑倒地，驾驶人当场死亡。",
    "两辆小型轿车会车时相撞，交警已疏导交通。",
    "一辆农用三轮车翻入路边沟渠，车上一人受伤。",
    "大客车避让行人时撞上护栏，部分乘客轻伤。",
    "货车刹车失灵冲出路面，司机被困后获救。",
]
_next = iter(range(1000))


def accident(world, when, km: str, **data):
    narrative = NARRATIVES[next(_next) % len(NARRATIVES)]
    return report(
        world,
        "police",
        received=when,
        place=f"{ROAD}{km}处",
        title=f"{ROAD}{km}处发生交通事故",
        narrative=narrative,
        **data,
    ).event


@pytest.mark.parametrize(
    ("place", "kind", "key", "label"),
    [
        ("江口县G205国道K123+500处", "road", "road:G205:K120-130", "G205国道K120—K130段"),
        ("G205国道K128", "road", "road:G205:K120-130", "G205国道K120—K130段"),
        ("江口县G318国道江口镇段", "road", "road:G318:江口镇", "G318国道江口镇段"),
        ("沪渝高速K1234处", "road", "road:沪渝高速:K1230-1240", "沪渝高速K1230—K1240段"),
        ("江口县化工园区临江化工厂一车间", "facility", "facility:990121:临江化工厂", "临江化工厂"),
        ("临江市城关区幸福小区3栋", "facility", "facility:990121:幸福小区", "幸福小区"),
        ("江口县长岗乡周家湾村", "division", "division:990121", "行政区划 990121"),
    ],
)
def test_place_keys(place, kind, key, label):
    assert patterns.place_of(place, "990121") == patterns.Place(kind, key, label)


def test_three_accidents_on_one_road_section_in_sixty_days_make_one_finding(world):
    first = accident(world, at(1, 1, 9), "K123+500")
    second = accident(world, at(1, 20, 9), "K128")
    elsewhere = accident(world, at(2, 1, 9), "K150")  # another section
    analyse(at(2, 1, 10))
    assert not Finding.objects.exists()  # two are not a pattern yet
    third = accident(world, at(2, 15, 9), "K121")
    analyse(at(2, 15, 10))
    finding = Finding.objects.get()
    assert finding.kind == FindingKind.PLACE
    assert set(finding.links.values_list("event_id", flat=True)) == {
        first.pk,
        second.pk,
        third.pk,
    }
    assert finding.title == "G205国道K120—K130段：60日内发生3起道路交通事故"
    assert (finding.first_at, finding.last_at, finding.event_count) == (
        first.occurred_at,
        third.occurred_at,
        3,
    )
    assert elsewhere.pk not in set(finding.links.values_list("event_id", flat=True))
    # Analysing again (a new report on an event, a second worker) adds nothing.
    report(world, "county", received=at(2, 15, 11), event=third, place=f"{ROAD}K121处")
    analyse(at(2, 15, 12))
    assert Finding.objects.count() == 1 and finding.links.count() == 3
    # A fourth within the window joins the same finding.
    fourth = accident(world, at(3, 1, 9), "K125")
    analyse(at(3, 1, 10))
    assert Finding.objects.count() == 1
    assert finding.links.count() == 4 and fourth.pk in finding.links.values_list(
        "event_id", flat=True
    )
    # Far outside the window: no finding of its own, none extended.
    accident(world, at(7, 1, 9), "K124")
    analyse(at(7, 1, 10))
    assert Finding.objects.count() == 1 and finding.links.count() == 4


def test_events_that_read_alike_make_a_text_finding(world):
    events = []
    for day, (place, narrative) in enumerate(FIRES, start=1):
        events.append(
            report(
                world,
                "county",
                received=at(1, day * 5, 20),
                category="fire",
                place=f"江口县{place}",
                title=f"江口县{place}电动自行车充电起火",
                narrative=narrative,
                dead=None,
            ).event
        )
        analyse(at(1, day * 5, 21))
    finding = Finding.objects.get(kind=FindingKind.TEXT)
    assert set(finding.links.values_list("event_id", flat=True)) == {e.pk for e in events}
    assert finding.title.startswith("相似事件：") and finding.title.endswith("等3起")
    similarities = [link.similarity for link in finding.links.all()]
    assert all(s is not None and s >= 0.5 for s in similarities)


def test_similar_events_on_the_event_page_and_over_the_api(world):
    first = accident(world, at(1, 1, 9), "K123+500")
    second = accident(world, at(1, 20, 9), "K128")
    unrelated = report(
        world,
        "county",
        received=at(1, 25, 9),
        category="fire",
        place="江口县临江化工厂",
        title="江口县临江化工厂仓库起火",
        narrative="化工厂仓库起火，消防正在处置。",
        dead=None,
    ).event
    analyse(at(1, 25, 10))
    client = client_of(world, "city_duty")
    similar = client.get(f"/api/events/{first.pk}/similar").json()
    assert [s["event_id"] for s in similar] == [second.pk]
    page = client.get(f"/events/{first.pk}/").content.decode()
    assert f'href="/events/{second.pk}/"' in page.split('id="similar-events"')[1]
    assert f'href="/events/{unrelated.pk}/"' not in page.split('id="similar-events"')[1]
    # Only events the reader may see: the other county sees neither.
    assert client_of(world, "other_duty").get(f"/api/events/{first.pk}/similar").status_code == 404


def test_findings_on_the_desk_reviewed_and_in_the_bulletin(world):
    for day, km in ((1, "K123"), (10, "K128"), (20, "K121")):
        accident(world, at(1, day, 9), km)
    analyse(at(1, 20, 10))
    finding = Finding.objects.get()
    desk = client_of(world, "city_duty").get("/desk/panels/assess/").content.decode()
    assert finding.title in desk
    # The other county sees none of the three accidents: no finding on its desk.
    other = client_of(world, "other_duty").get("/desk/panels/assess/").content.decode()
    assert finding.title not in other
    client = client_of(world, "county_duty")
    refused = client.post(
        f"/api/assess/findings/{finding.pk}/review",
        {"state": "reviewed", "note": ""},
        content_type="application/json",
    )
    assert refused.status_code == 422 and refused.json()["errors"] == {"note": ["研判意见为必填项"]}
    done = client.post(
        f"/api/assess/findings/{finding.pk}/review",
        {"state": "reviewed", "note": "该路段弯道视距不足，建议增设警示标志"},
        content_type="application/json",
    )
    assert done.json()["state_label"] == "已研判"
    with clock.frozen_at(at(2, 1, 9)):
        bulletin = client_of(world, "city_duty").post(
            "/api/assess/bulletins",
            {"office_id": world["city"].pk, "period": "2026-01"},
            content_type="application/json",
        )
    assert [f["title"] for f in bulletin.json()["findings"]] == [finding.title]
    # A fourth accident reopens the reviewed finding: there is something new to look at.
    accident(world, at(1, 25, 9), "K126")
    analyse(at(1, 25, 10))
    finding.refresh_from_db()
    assert (finding.state, finding.event_count) == ("open", 4)
    assert timedelta(0) < finding.last_at - finding.first_at < timedelta(days=60)


FINDING_READERS = {
    "city_duty": True,
    "province_duty": True,
    "county_duty": True,
    "county_leader": True,
    "analyst": True,
    "police": True,  # it reported all three
    "emergency": False,  # a reporter of another unit sees none of the three
    "county": False,
    "other_duty": False,
    "media": False,
    "expert": False,
}


@pytest.mark.parametrize(("who", "reads"), FINDING_READERS.items())
def test_a_finding_is_read_by_whoever_sees_all_its_events(world, who, reads):
    for day, km in ((1, "K123"), (10, "K128"), (20, "K121")):
        accident(world, at(1, day, 9), km)
    analyse(at(1, 20, 10))
    finding = Finding.objects.get()
    client = client_of(world, who)
    status = 200 if reads else 404
    assert client.get(f"/assess/findings/{finding.pk}/").status_code == status
    assert client.get(f"/api/assess/findings/{finding.pk}").status_code == status
    assert (finding.pk in {f["id"] for f in client.get("/api/assess/findings").json()}) == reads
    assert (finding.title in client.get("/assess/findings/").content.decode()) == reads
