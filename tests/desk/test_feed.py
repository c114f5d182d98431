"""The desk's feed through the page and the polling endpoint: who sees which report, clues
to confirm, confirmed drafts, the alarm for grade Ⅱ and above, and the
cursor that resumes a feed without skipping or repeating anything."""

import pytest
from django.test import Client

from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import EventCategory
from fenghuo.desk.selectors import Cursor, FeedReader, latest_cursor
from fenghuo.events.models import Channel, Event, ReportKind, TimelineEntry, TimelineKind
from fenghuo.events.services import file_report
from fenghuo.intake import services as intake_services
from fenghuo.org.models import Person
from tests.events.world import file_first, principal

pytestmark = pytest.mark.django_db

CLUE = "网传江口县城关镇一小区发生燃气爆炸，多人受伤\n多名网友发布现场视频，称有浓烟。"
TITLES = {
    "bureau": "应急管理局报告：化工园区爆炸",
    "sensitive": "卫生健康局敏感报告：涉事人员身份特殊",
    "other": "河西县委办公室报告：河西县道路塌陷",
}
# Who sees which of the three reports on the desk (feed and page alike).
MATRIX = {
    "emergency": {"bureau"},  # 信息员: its own unit only
    "environment": set(),  # 信息员 of a sibling bureau
    "health": {"sensitive"},  # the author of a 敏感 report
    "county": set(),  # the county office's 信息员: own unit, not the units below
    "emergency_duty": {"bureau"},
    "county_duty": {"bureau", "sensitive"},  # 值班员: the office's subtree, 敏感 cleared
    "county_leader": {"bureau", "sensitive"},
    "other_duty": {"other"},  # another county's office
    "city_duty": {"bureau", "sensitive", "other"},
    "group_leader": {"bureau", "sensitive", "other"},
    "analyst": {"bureau", "other"},  # 内部 clearance: no 敏感
    "emergency_admin": {"bureau"},
    "health_admin": set(),  # 管理员 reads at most 内部
    "expert": set(),  # only what is shared with them
}


def _client(world, who: str) -> Client:
    client = Client()
    client.force_login(Person.objects.get(pk=world["people"][who].pk))
    return client


def _feed(client: Client, after: str = "0-0-0") -> dict:
    response = client.get("/desk/feed/", {"after": after})
    assert response.status_code == 200
    return response.json()


def _arrivals_on_page(page: str) -> str:
    return page.split('<ol class="arrivals"', 1)[1].split("</ol>", 1)[0]


def _file_three(world) -> None:
    file_first(world, "emergency", title=TITLES["bureau"])
    file_first(world, "health", title=TITLES["sensitive"], mark=Confidentiality.SENSITIVE)
    file_first(
        world,
        "other_duty",
        unit="other",
        title=TITLES["other"],
        place="河西县城关镇人民路",
        division_code="990122",
    )


@pytest.mark.parametrize(("who", "sees"), MATRIX.items())
def test_who_sees_which_report_on_the_desk(world, who, sees):
    _file_three(world)
    client = _client(world, who)
    items = [i for i in _feed(client)["items"] if i["kind"] == "arrival"]
    assert {
        name for name, title in TITLES.items() if any(title in i["html"] for i in items)
    } == sees
    assert len(items) == len(sees)
    feed = _arrivals_on_page(client.get("/desk/").content.decode())
    assert {name for name, title in TITLES.items() if title in feed} == sees


def test_each_arrival_once_in_order_and_the_cursor_resumes_after_it(world):
    client = _client(world, "city_duty")
    start = _feed(client)["cursor"]
    first = file_first(world, "emergency", title=TITLES["bureau"])
    body = _feed(client, start)
    arrivals = [i for i in body["items"] if i["kind"] == "arrival"]
    entry = TimelineEntry.objects.get(report=first.report, kind=TimelineKind.REPORT)
    assert [i["key"] for i in arrivals] == [f"r{entry.pk}"]
    assert TITLES["bureau"] in arrivals[0]["html"]
    assert Cursor.parse(body["cursor"]).entry >= entry.pk

    # Asked again from the new cursor: nothing new, nothing repeated.
    assert [i for i in _feed(client, body["cursor"])["items"] if i["kind"] == "arrival"] == []
    # A follow-up is a new arrival of its own.
    followup = file_report(
        principal(world, "emergency"),
        unit=world["emergency"],
        kind=ReportKind.FOLLOWUP,
        channel=Channel.WEB,
        data={"narrative": "现场被困人员已全部救出。", "injured": 4},
        event=first.event,
    )
    later = [i for i in _feed(client, body["cursor"])["items"] if i["kind"] == "arrival"]
    entry = TimelineEntry.objects.get(report=followup.report, kind=TimelineKind.REPORT)
    assert [i["key"] for i in later] == [f"r{entry.pk}"]
    assert "续报一" in later[0]["html"]


def test_clues_arrive_to_be_confirmed_and_web_drafts_do_not(world):
    duty = _client(world, "county_duty")
    start = _feed(duty)["cursor"]
    clue = intake_services.report_from_clue(
        principal(world, "analyst"),
        unit=world["county"],
        clue_text=CLUE,
        source_url="https://weibo.example.com/status/4912345678",
        data={"place": "江口县城关镇"},
    ).report
    file_report(
        principal(world, "emergency"),
        unit=world["emergency"],
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data={
            "title": "应急管理局未完成的草稿",
            "category": EventCategory.objects.get(code="hazchem"),
            "occurred_at": clock.now(),
            "division_code": "990121",
            "place": "江口县化工园区",
            "narrative": "尚未核实。",
        },
        draft=True,
    )

    items = [i for i in _feed(duty, start)["items"] if i["kind"] == "arrival"]
    assert [i["key"] for i in items] == [f"d{clue.pk}"]
    assert "舆情线索" in items[0]["html"] and "待确认" in items[0]["html"]
    assert items[0]["alarm"] is False
    # The author's own unfinished web draft stays off the desk, even their own.
    assert "未完成的草稿" not in str(_feed(_client(world, "emergency"), start)["items"])

    # Confirmed, the clue enters the record: a second arrival, as a report.
    after_clue = _feed(duty, start)["cursor"]
    intake_services.confirm_intake_draft(
        principal(world, "county_duty"), clue, {"category": "hazchem", "division_code": "990121"}
    )
    items = [i for i in _feed(duty, after_clue)["items"] if i["kind"] == "arrival"]
    entry = TimelineEntry.objects.get(report=clue, kind=TimelineKind.REPORT)
    assert [i["key"] for i in items] == [f"r{entry.pk}"]
    assert "待确认" not in items[0]["html"] and "首报" in items[0]["html"]


@pytest.mark.parametrize(("grade", "alarm"), [(1, True), (2, True), (3, False), (4, False)])
def test_grade_two_and_above_sound_the_alarm(world, grade, alarm):
    client = _client(world, "city_duty")
    start = _feed(client)["cursor"]
    filed = file_first(world, "emergency", title=TITLES["bureau"])
    # The grade is the criteria's business; here it is set to each value in turn.
    Event.objects.filter(pk=filed.event.pk).update(grade=grade)
    (item,) = [i for i in _feed(client, start)["items"] if i["kind"] == "arrival"]
    assert item["alarm"] is alarm
    assert f"grade-{grade}" in item["html"]
    assert ("arrival alarm" in item["html"]) is alarm


def test_an_item_shows_its_current_grade_and_read_state_however_often_it_is_read(world):
    """The feed renders an item once per content and shares it between readers
    (desk.views.RenderedItems): a changed grade or a message read must show at once."""
    from fenghuo.notify.models import Message
    from fenghuo.notify.services import notify_people

    client = _client(world, "city_duty")
    start = _feed(client)["cursor"]
    filed = file_first(world, "emergency", title=TITLES["bureau"])
    person = Person.objects.get(pk=world["people"]["city_duty"].pk)
    notify_people([person], subject="请核实化工园区爆炸", body="速报", key="feed-cache-test")
    for grade in (4, 2, 4, 1):
        Event.objects.filter(pk=filed.event.pk).update(grade=grade)
        items = _feed(client, start)["items"]
        (arrival,) = [i for i in items if i["kind"] == "arrival"]
        assert f"grade-{grade}" in arrival["html"] and arrival["alarm"] is (grade <= 2)
    (same,) = [
        i for i in _feed(_client(world, "county_duty"), start)["items"] if i["kind"] == "arrival"
    ]
    assert same["html"] == arrival["html"]  # another reader, the same row
    (notice,) = [i for i in items if "请核实化工园区爆炸" in i["html"]]
    assert "unread" in notice["html"]
    Message.objects.filter(key="feed-cache-test").update(read_at=clock.now())
    (notice,) = [i for i in _feed(client, start)["items"] if "请核实化工园区爆炸" in i["html"]]
    assert "unread" not in notice["html"]


def test_a_fresh_desk_starts_its_feed_below_what_it_shows(world):
    file_first(world, "emergency", title=TITLES["bureau"])
    client = _client(world, "city_duty")
    page = client.get("/desk/").content.decode()
    after = page.split('data-after="', 1)[1].split('"', 1)[0]
    # Resuming from the page's position hands out again what the page shows (the page
    # drops duplicates), so a row that committed while the page was drawn is not lost.
    items = _feed(client, after)["items"]
    keys = [i["key"] for i in items if i["kind"] == "arrival"]
    assert len(keys) == 1 and f'id="arrival-{keys[0]}"' in page


def test_a_reader_hands_out_each_row_once_however_often_it_reads(world):
    start = latest_cursor()
    reader = FeedReader(
        principal(world, "city_duty"), world["people"]["city_duty"], start, lookback=3600
    )
    assert reader.read() == []
    file_first(world, "emergency", title=TITLES["bureau"])
    first = [a for a in reader.read() if a.key[0] == "r"]
    assert [a.report.title for a in first] == [TITLES["bureau"]]
    assert reader.cursor.entry >= int(first[0].key[1:])
    # Within the lookback the reader asks again from where it was, and repeats nothing.
    assert reader.floor == start
    assert reader.read() == [] and reader.read() == []


def test_past_the_lookback_the_reader_moves_its_floor_up(world):
    start = latest_cursor()
    reader = FeedReader(
        principal(world, "city_duty"), world["people"]["city_duty"], start, lookback=0
    )
    file_first(world, "emergency", title=TITLES["bureau"])
    assert [a.report.title for a in reader.read() if a.key[0] == "r"] == [TITLES["bureau"]]
    assert reader.read() == []
    assert reader.floor == reader.cursor and reader.floor.entry > start.entry


def test_cursor_text_round_trips_and_rubbish_is_refused():
    assert Cursor.parse(str(Cursor(12, 3, 40))) == Cursor(12, 3, 40)
    for rubbish in ["", "12", "1-2", "a-b-c", "1-2-3-4", "-1-2-3", None]:
        assert Cursor.parse(rubbish) is None


def test_a_bad_position_falls_back_to_now(world):
    file_first(world, "emergency", title=TITLES["bureau"])
    body = _feed(_client(world, "city_duty"), "rubbish")
    assert [i for i in body["items"] if i["kind"] == "arrival"] == []
    assert Cursor.parse(body["cursor"]) == latest_cursor()


def test_signed_out_visitors_get_nothing(client):
    for url in ["/desk/", "/desk/feed/", "/desk/stream/", "/desk/panels/events/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
