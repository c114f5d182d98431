"""The report form and the event pages through Django's test client: who sees what,
Chinese per-field errors that change nothing, one report per form key, drafts, and the
event page's actions."""

import re
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.criteria.models import EventCategory
from fenghuo.events import services
from fenghuo.events.models import (
    Channel,
    Event,
    EventStatus,
    MergeCandidate,
    Report,
    ReportKind,
    ReportStatus,
    TimelineEntry,
    TimelineKind,
)
from fenghuo.org.policy import principal_for

pytestmark = pytest.mark.django_db

NARRATIVE = "11月23日9时10分，江口县化工园区临江化工厂一车间发生爆炸，现场有人员被困。"


def _when(hours: float = 1) -> str:
    """A time `hours` ago as the form's datetime-local input sends it."""
    return timezone.localtime(clock.now() - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def _form(unit, **values) -> dict[str, str]:
    data = {
        "idempotency_key": uuid.uuid4().hex,
        "unit": str(unit.pk),
        "kind": "first",
        "title": "江口县化工园区发生爆炸",
        "category": str(EventCategory.objects.get(code="hazchem").pk),
        "occurred_at": _when(),
        "division_code": "990121",
        "place": "江口县化工园区临江化工厂",
        "narrative": NARRATIVE,
        "dead": "1",
        "injured": "4",
        "confidentiality": "1",
        "reliability": "preliminary",
        "submit": "1",
    }
    data.update({k: str(v) for k, v in values.items()})
    return data


def _file(
    person,
    unit,
    title,
    *,
    category="hazchem",
    place="江口县化工园区临江化工厂",
    narrative=NARRATIVE,
    hours=2,
    **data,
):
    return services.file_report(
        principal_for(person),
        unit=unit,
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data={
            "title": title,
            "category": EventCategory.objects.get(code=category),
            "occurred_at": clock.now() - timedelta(hours=hours),
            "division_code": "990121",
            "place": place,
            "narrative": f"{title}。{narrative}",
            **data,
        },
    )


@pytest.fixture
def two_events(county_tree):
    """An explosion reported by the health department and an unrelated road accident
    reported by the police: different units, different events."""
    people = county_tree["people"]
    blast = _file(people["health"], county_tree["health"], "临江化工厂爆炸伤员救治", dead=2)
    crash = _file(
        people["public_security"],
        county_tree["public_security"],
        "省道 S205 两车相撞",
        category="road_traffic",
        place="江口县省道 S205 线 12 公里处",
        narrative="一辆货车与一辆客车在省道 S205 线相撞，交警已到场疏导交通。",
        hours=30,
    )
    assert blast.event.pk != crash.event.pk
    return blast.event, crash.event


def test_list_shows_only_the_events_the_reader_may_see(client, county_tree, two_events):
    blast, crash = two_events
    client.force_login(county_tree["people"]["health"])
    response = client.get(reverse("event-list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert blast.title in page
    assert crash.title not in page
    # Graded on filing by the criteria (1 dead at a chemical plant: 一般, Ⅳ级, blue).
    assert 'class="grade grade-4"' in page and "Ⅳ级" in page

    # The city's duty officer sees both, with a report count each.
    client.force_login(county_tree["people"]["duty"])
    page = client.get(reverse("event-list")).content.decode()
    assert blast.title in page and crash.title in page
    assert "共 2 个事件" in page


def test_list_filters_by_status_category_division_and_text(client, county_tree, two_events):
    blast, crash = two_events
    client.force_login(county_tree["people"]["duty"])
    url = reverse("event-list")

    def titles(**params) -> set[str]:
        page = client.get(url, params).content.decode()
        return {t for t in (blast.title, crash.title) if t in page}

    assert titles(category="road_traffic") == {crash.title}
    assert titles(category="accident") == {blast.title, crash.title}  # top category: both
    assert titles(division="990100") == {blast.title, crash.title}  # the city and below
    assert titles(division="990122") == set()
    assert titles(q="伤员救治") == {blast.title}
    services.change_status(principal_for(county_tree["people"]["duty"]), crash, "verifying")
    assert titles(status="verifying") == {crash.title}
    assert titles(status="new") == {blast.title}
    # Dates of the crash (30 hours ago), not of "today": the test must not depend on the
    # hour it runs at (between midnight and 06:00 Beijing time, "yesterday" missed it).
    crash_day = timezone.localdate(crash.occurred_at)
    assert titles(since=crash_day) == {blast.title, crash.title}
    assert titles(since=crash_day + timedelta(days=1)) == {blast.title}
    assert titles(until=crash_day - timedelta(days=1)) == set()


def test_list_shows_grade_colours(client, county_tree, two_events):
    blast, crash = two_events
    Event.objects.filter(pk=blast.pk).update(grade=1)
    Event.objects.filter(pk=crash.pk).update(grade=4)
    client.force_login(county_tree["people"]["duty"])
    page = client.get(reverse("event-list")).content.decode()
    assert re.search(r'class="grade grade-1"[^>]*>Ⅰ级<', page)
    assert re.search(r'class="grade grade-4"[^>]*>Ⅳ级<', page)


def test_detail_of_an_event_the_reader_may_not_see_is_404(client, county_tree, two_events):
    blast, crash = two_events
    client.force_login(county_tree["people"]["health"])
    assert client.get(reverse("event-detail", args=[blast.pk])).status_code == 200
    assert client.get(reverse("event-detail", args=[crash.pk])).status_code == 404
    # Nor can the reader act on it or file a follow-up to it.
    assert client.get(reverse("report-new"), {"event": crash.pk}).status_code == 404
    response = client.post(reverse("event-status", args=[crash.pk]), {"to": "verifying"})
    assert response.status_code == 404
    crash.refresh_from_db()
    assert crash.status == EventStatus.NEW


def test_pages_need_a_login(client, two_events):
    blast, _ = two_events
    for url in (
        reverse("event-list"),
        reverse("event-detail", args=[blast.pk]),
        reverse("report-new"),
        reverse("merge-queue"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_form_errors_name_the_fields_in_chinese_and_create_nothing(client, county_tree):
    client.force_login(county_tree["people"]["county"])
    reports, events, audit = (
        Report.objects.count(),
        Event.objects.count(),
        AuditEntry.objects.count(),
    )
    data = _form(county_tree["county"], title="", narrative="  ", place="", dead="三")
    response = client.post(reverse("report-new"), data)

    assert response.status_code == 422
    page = response.content.decode()
    assert "提交的内容有误，没有保存" in page
    # Each message sits with its field: the service's rules ...
    for name, message in [
        ("title", "标题为必填项"),
        ("narrative", "事件经过为必填项"),
        ("place", "地点为必填项"),
    ]:
        block = re.search(rf'<div id="err-{name}">(.*?)</div>', page, re.S)
        assert block is not None, name
        assert message in block.group(1)
    # ... and the form's own, for a number that is no number, at the same time.
    assert re.search(r'<div id="err-dead">.*整数.*</div>', page, re.S)
    assert 'aria-invalid="true"' in page
    # What was typed is kept.
    assert 'value="990121"' in page
    assert 'value="三"' in page
    # Nothing was saved anywhere.
    assert Report.objects.count() == reports
    assert Event.objects.count() == events
    assert AuditEntry.objects.count() == audit


def test_a_future_time_is_the_service_message(client, county_tree):
    client.force_login(county_tree["people"]["county"])
    response = client.post(
        reverse("report-new"), _form(county_tree["county"], occurred_at=_when(-3))
    )
    assert response.status_code == 422
    assert "发生时间不能晚于当前时间" in response.content.decode()
    assert not Report.objects.exists()


def test_a_first_report_creates_an_event_and_lands_on_its_page(client, county_tree):
    client.force_login(county_tree["people"]["county"])
    response = client.post(reverse("report-new"), _form(county_tree["county"]), follow=True)
    report = Report.objects.get()
    assert report.status == ReportStatus.SUBMITTED
    assert report.channel == Channel.WEB
    assert report.dead == 1 and report.injured == 4
    assert report.created_by == county_tree["people"]["county"]
    assert response.redirect_chain[-1][0] == (
        reverse("event-detail", args=[report.event_id]) + f"#report-{report.pk}"
    )
    page = response.content.decode()
    assert "首报已报送" in page
    assert "江口县化工园区发生爆炸" in page
    assert "江口县委办公室" in page


def test_resubmitting_the_same_form_key_creates_one_report(client, county_tree):
    client.force_login(county_tree["people"]["county"])
    data = _form(county_tree["county"])
    first = client.post(reverse("report-new"), data)
    again = client.post(reverse("report-new"), data)  # a double click, or 重新提交 after back

    assert Report.objects.count() == 1
    assert Event.objects.count() == 1
    assert TimelineEntry.objects.filter(kind=TimelineKind.REPORT).count() == 1
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert "没有重复报送" in client.get(again["Location"]).content.decode()

    # The same key with different content is refused, and nothing is filed.
    changed = client.post(reverse("report-new"), {**data, "dead": "2"})
    assert changed.status_code == 422
    assert "已经提交过" in changed.content.decode()
    assert Report.objects.count() == 1
    # A new form (a new key) files a second report.
    client.post(reverse("report-new"), {**data, "idempotency_key": uuid.uuid4().hex})
    assert Report.objects.count() == 2


def test_every_rendered_form_has_its_own_key(client, county_tree):
    client.force_login(county_tree["people"]["county"])
    keys = {
        re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)
        for page in (client.get(reverse("report-new")).content.decode() for _ in range(3))
    }
    assert len(keys) == 3


def test_draft_then_submit(client, county_tree):
    client.force_login(county_tree["people"]["county"])
    data = _form(county_tree["county"], narrative="", save_draft="1")
    del data["submit"]
    response = client.post(reverse("report-new"), data)

    draft = Report.objects.get()
    assert draft.status == ReportStatus.DRAFT
    assert draft.event is None
    assert response["Location"] == reverse("report-edit", args=[draft.pk])
    assert not Event.objects.exists() and not TimelineEntry.objects.exists()

    # The draft reopens with what was saved, and is listed on the form page.
    page = client.get(response["Location"]).content.decode()
    assert "编辑草稿" in page and 'value="江口县化工园区发生爆炸"' in page
    assert (
        reverse("report-edit", args=[draft.pk])
        in client.get(reverse("report-new")).content.decode()
    )

    # Saved again with a figure cleared: still a draft, figure gone.
    edit = reverse("report-edit", args=[draft.pk])
    again = _form(county_tree["county"], narrative="", dead="", save_draft="1")
    del again["submit"]
    client.post(edit, again)
    draft.refresh_from_db()
    assert draft.status == ReportStatus.DRAFT and draft.dead is None

    # 报送 with the narrative still missing: the service's error, still a draft.
    response = client.post(edit, _form(county_tree["county"], narrative=""))
    assert response.status_code == 422
    assert "事件经过为必填项" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ReportStatus.DRAFT

    # Completed and submitted: the same report, now filed on a new event.
    response = client.post(edit, _form(county_tree["county"], dead="2"))
    draft.refresh_from_db()
    assert draft.status == ReportStatus.SUBMITTED
    assert draft.narrative == NARRATIVE and draft.dead == 2
    assert Report.objects.count() == 1
    assert response["Location"].startswith(reverse("event-detail", args=[draft.event_id]))
    assert (
        TimelineEntry.objects.filter(
            event=draft.event, report=draft, kind=TimelineKind.REPORT
        ).count()
        == 1
    )
    # A submitted report is no longer editable as a draft.
    assert client.get(edit).status_code == 404


def test_a_draft_needs_a_category_and_a_time(client, county_tree):
    client.force_login(county_tree["people"]["county"])
    data = _form(county_tree["county"], category="", occurred_at="", save_draft="1")
    del data["submit"]
    response = client.post(reverse("report-new"), data)
    assert response.status_code == 422
    page = response.content.decode()
    assert "事件类别为必填项" in page or "类别为必填项" in page
    assert "发生时间为必填项" in page
    assert not Report.objects.exists()


def test_follow_up_from_the_event_page(client, county_tree):
    people = county_tree["people"]
    client.force_login(people["county"])
    client.post(reverse("report-new"), _form(county_tree["county"]))
    event = Event.objects.get()

    page = client.get(reverse("event-detail", args=[event.pk])).content.decode()
    followup_url = f"{reverse('report-new')}?event={event.pk}&amp;kind=followup"
    assert followup_url in page

    form_page = client.get(reverse("report-new"), {"event": event.pk, "kind": "followup"})
    html = form_page.content.decode()
    assert event.title in html
    assert re.search(r'value="followup"[^>]*checked', html)
    assert re.search(r'name="injured" value="4"', html)  # the unit's last figures carried over

    data = {
        "idempotency_key": uuid.uuid4().hex,
        "unit": str(county_tree["county"].pk),
        "kind": "followup",
        "narrative": "被困人员已全部救出，伤员送县人民医院救治。",
        "cause": "初步判断为反应釜超压。",
        "dead": "2",
        "injured": "6",
        "confidentiality": "1",
        "reliability": "confirmed",
        "submit": "1",
    }
    response = client.post(f"{reverse('report-new')}?event={event.pk}", data, follow=True)
    followup = Report.objects.get(kind=ReportKind.FOLLOWUP)
    assert followup.event_id == event.pk
    assert followup.kind_label == "续报一"
    assert followup.title == event.title  # inherited from the event
    page = response.content.decode()
    assert "续报一已报送" in page
    # The chain and the timeline show both reports, first report first.
    chain = page.split('id="reports"')[1].split('id="timeline"')[0]
    assert chain.index("首报") < chain.index("续报一")
    timeline = page.split('id="timeline"')[1]
    assert timeline.index("首报") < timeline.index("续报一")
    # The current figures follow the unit's latest report.
    assert re.search(r'data-figure="dead".*?class="num current">2<', page, re.S)


def test_a_follow_up_draft_stays_out_of_the_timeline(client, county_tree):
    client.force_login(county_tree["people"]["county"])
    client.post(reverse("report-new"), _form(county_tree["county"]))
    event = Event.objects.get()
    data = {
        "idempotency_key": uuid.uuid4().hex,
        "unit": str(county_tree["county"].pk),
        "kind": "followup",
        "narrative": "续报草稿",
        "confidentiality": "1",
        "reliability": "preliminary",
        "save_draft": "1",
    }
    response = client.post(f"{reverse('report-new')}?event={event.pk}", data)
    draft = Report.objects.get(status=ReportStatus.DRAFT)
    assert response["Location"] == reverse("report-edit", args=[draft.pk])
    assert draft.event_id == event.pk
    reports_on_timeline = TimelineEntry.objects.filter(event=event, kind=TimelineKind.REPORT)
    assert reports_on_timeline.count() == 1  # only the first report

    # Submitted from the draft page: now on the timeline, numbered 续报一.
    submit = {k: v for k, v in data.items() if k != "save_draft"}
    client.post(
        reverse("report-edit", args=[draft.pk]),
        {**submit, "idempotency_key": uuid.uuid4().hex, "submit": "1"},
    )
    draft.refresh_from_db()
    assert draft.status == ReportStatus.SUBMITTED
    assert draft.kind_label == "续报一"
    assert reports_on_timeline.count() == 2


def test_a_long_timeline_shows_its_newest_entries_and_the_rest_on_request(
    client, county_tree, two_events
):
    from fenghuo.events.views import TIMELINE_SHOWN

    blast, _crash = two_events
    start = clock.now()
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            event=blast,
            at=start + timedelta(minutes=i),
            kind=TimelineKind.NOTE,
            text=f"记录#{i:03d}#",
        )
        for i in range(TIMELINE_SHOWN + 5)
    )
    total = TimelineEntry.objects.filter(event=blast).count()
    client.force_login(county_tree["people"]["health"])

    timeline = client.get(reverse("event-detail", args=[blast.pk])).content.decode()
    timeline = timeline.split('id="timeline"')[1]
    shown = re.findall(r"记录#(\d+)#", timeline)
    assert shown == [f"{i:03d}" for i in range(5, TIMELINE_SHOWN + 5)]  # newest, in order
    assert f"较早的 {total - TIMELINE_SHOWN} 条记录未显示" in timeline
    assert "临江化工厂爆炸伤员救治" not in timeline  # the first report's line is among them

    everything = client.get(reverse("event-detail", args=[blast.pk]), {"timeline": "all"})
    timeline = everything.content.decode().split('id="timeline"')[1]
    assert len(re.findall(r"记录#\d+#", timeline)) == TIMELINE_SHOWN + 5
    assert "未显示" not in timeline and "临江化工厂爆炸伤员救治" in timeline


def test_a_long_chain_shows_its_first_and_newest_reports_and_the_rest_on_request(
    client, county_tree, monkeypatch
):
    from fenghuo.assess.templatetags import assess as adoption_tags
    from fenghuo.events import views
    from fenghuo.events.views import CHAIN_NEWEST

    people, county = county_tree["people"], county_tree["county"]
    first = _file(people["county"], county, "江口县化工园区发生爆炸", dead=1)
    event = first.event
    followups = [
        services.file_report(
            principal_for(people["county"]),
            unit=county,
            kind=ReportKind.FOLLOWUP,
            channel=Channel.WEB,
            event=event,
            data={"narrative": f"续报情况第{i}次。", "dead": i},
        ).report
        for i in range(2, CHAIN_NEWEST + 6)  # a chain of CHAIN_NEWEST + 5 reports
    ]
    health = services.file_report(
        principal_for(people["health"]),
        unit=county_tree["health"],
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        event=event,
        data={"narrative": "伤员救治情况。", "injured": 3},
    ).report
    client.force_login(people["duty"])
    url = reverse("event-detail", args=[event.pk])

    def shown(page: str) -> tuple[list[int], str]:
        chain = page.split('id="reports"')[1].split('id="timeline"')[0]
        return [int(pk) for pk in re.findall(r'<li id="report-(\d+)"', chain)], chain

    page = client.get(url).content.decode()
    ids, chain = shown(page)
    county_ids = [first.report.pk] + [r.pk for r in followups]
    newest = county_ids[-CHAIN_NEWEST:]
    assert ids == [first.report.pk, *newest, health.pk]  # first, then the newest, in order
    assert f"中间 {len(county_ids) - CHAIN_NEWEST - 1} 份报告未显示" in chain
    assert chain.count("未显示") == 1  # the one-report chain is whole
    # The counts and the figures are of every report, not of those shown.
    assert f"{len(county_ids) + 1} 份，来自 2 个单位" in page
    last_dead = followups[-1].dead
    row = re.search(r'data-figure="dead">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'<td class="num">(.*?)</td>', row)[0] == str(last_dead)  # county's

    ids, chain = shown(client.get(url, {"reports": "all"}).content.decode())
    assert ids == [*county_ids, health.pk]
    assert "未显示" not in chain

    # Past the page's budget of reports, the units that reported later are left out
    # whole, and said so; their figures stay in the table.
    monkeypatch.setattr(views, "REPORTS_SHOWN", 3)
    page = client.get(url).content.decode()
    ids, chain = shown(page)
    assert ids == [first.report.pk, *newest]
    assert "另有 1 个单位的 1 份报告未显示" in chain
    assert "江口县卫生健康局" in page.split('id="figures"')[1].split('id="reports"')[0]
    ids, chain = shown(client.get(url, {"reports": "all"}).content.decode())
    assert ids == [*county_ids, health.pk]

    # The adoption list (the city's duty officer may adopt every one): the newest reports.
    monkeypatch.setattr(adoption_tags, "ADOPTION_SHOWN", 3)

    def adoptable(query: dict) -> tuple[list[int], str]:
        page = client.get(url, query).content.decode()
        section = page.split('id="adoption"')[1].split("</section>")[0]
        return [int(pk) for pk in re.findall(r'id="adoption-(\d+)"', section)], section

    every = [*county_ids, health.pk]
    ids, section = adoptable({})
    assert ids == every[-3:]
    assert f"较早的 {len(every) - 3} 份报告未显示" in section
    ids, section = adoptable({"adoption": "all"})
    assert ids == every and "未显示" not in section


def test_figures_from_several_units_side_by_side_with_the_conflict(client, county_tree):
    people = county_tree["people"]
    first = _file(people["county"], county_tree["county"], "江口县化工园区发生爆炸", dead=3)
    services.file_report(
        principal_for(people["health"]),
        unit=county_tree["health"],
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        event=first.event,
        data={"narrative": "伤员救治情况，死亡 5 人。", "dead": 5},
    )
    client.force_login(people["duty"])
    page = client.get(reverse("event-detail", args=[first.event.pk])).content.decode()
    figures = page.split('id="figures"')[1].split('id="reports"')[0]
    assert "江口县委办公室" in figures and "江口县卫生健康局" in figures
    row = re.search(r'<tr class="conflict" data-figure="dead">(.*?)</tr>', figures, re.S)
    assert row is not None
    assert ">3<" in row.group(1) and ">5<" in row.group(1)
    assert "数字不一致" in row.group(1)
    # Neither is the department responsible for a chemical accident (应急管理), so the
    # highest reported figure is current, and says so.
    assert re.search(r'class="num current">5<span class="basis">各单位报送最高值', row.group(1))
    assert "死亡（江口县委办公室 3、江口县卫生健康局 5）" in figures


def test_the_event_page_reads_the_same_statements_however_many_units_report(client, county_tree):
    """The figures table loads a part of each unit's latest report: a field the page reads
    that was left out would cost a statement per unit. And grading's figures (read without
    models) are the table's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fenghuo.events.selectors import current_figures, figures_table, latest_per_unit

    people = county_tree["people"]
    event = _file(people["county"], county_tree["county"], "江口县化工园区发生爆炸", dead=3).event
    client.force_login(people["duty"])
    url = reverse("event-detail", args=[event.pk])

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    client.get(url)  # first-use caches
    one_unit = statements()
    for key, dead, injured in (("health", 5, 2), ("public_security", 4, None), ("emergency", 2, 7)):
        services.file_report(
            principal_for(people[key]),
            unit=county_tree[key],
            kind=ReportKind.FIRST,
            channel=Channel.WEB,
            event=event,
            data={"narrative": "现场情况。", "dead": dead, "injured": injured},
        )
    assert statements() == one_unit
    page = client.get(url).content.decode()
    figures = page.split('id="figures"')[1].split('id="reports"')[0]
    assert all(county_tree[k].name in figures for k in ("health", "public_security", "emergency"))
    table = figures_table(event, latest_per_unit(event))
    assert current_figures(event) == table.current
    # 应急管理 is responsible for a chemical accident: its figures are current.
    assert table.current["dead"] == 2 and table.current["injured"] == 7


def test_status_actions_follow_the_transitions_and_the_viewer(client, county_tree, two_events):
    blast, _ = two_events
    people = county_tree["people"]
    url = reverse("event-detail", args=[blast.pk])

    # A reporter may file follow-ups but change no status.
    client.force_login(people["health"])
    page = client.get(url).content.decode()
    assert "续报" in page and "终报" in page
    assert 'name="to"' not in page
    response = client.post(reverse("event-status", args=[blast.pk]), {"to": "verifying"})
    assert response.status_code == 302
    blast.refresh_from_db()
    assert blast.status == EventStatus.NEW
    assert "无权" in client.get(url).content.decode()

    # The duty officer above sees the transitions allowed from 新接报 and takes one.
    client.force_login(people["duty"])
    page = client.get(url).content.decode()
    offered = set(re.findall(r'name="to" value="(\w+)"', page))
    assert offered == {"verifying", "verified", "false", "handling"}
    client.post(reverse("event-status", args=[blast.pk]), {"to": "verifying"})
    blast.refresh_from_db()
    assert blast.status == EventStatus.VERIFYING
    page = client.get(url).content.decode()
    assert "核实中" in page
    assert set(re.findall(r'name="to" value="(\w+)"', page)) == {"verified", "false"}
    # A transition the lifecycle does not allow is refused with the service's message.
    client.post(reverse("event-status", args=[blast.pk]), {"to": "archived"})
    blast.refresh_from_db()
    assert blast.status == EventStatus.VERIFYING
    assert "不能从「核实中」变更为「已归档」" in client.get(url).content.decode()


def test_merge_and_split_from_the_event_page(client, county_tree, two_events):
    blast, crash = two_events
    people = county_tree["people"]
    client.force_login(people["duty"])
    page = client.get(reverse("event-detail", args=[crash.pk])).content.decode()
    assert f'<option value="{blast.pk}">' in page

    response = client.post(reverse("event-merge", args=[crash.pk]), {"target": blast.pk})
    assert response["Location"] == reverse("event-detail", args=[blast.pk])
    assert not Event.objects.filter(pk=crash.pk).exists()
    assert blast.reports.count() == 2

    police = Report.objects.get(unit=county_tree["public_security"])
    response = client.post(reverse("event-split", args=[blast.pk]), {"reports": [police.pk]})
    police.refresh_from_db()
    assert police.event_id != blast.pk
    assert response["Location"] == reverse("event-detail", args=[police.event_id])

    # A reporter cannot merge: refused with a message, nothing moves.
    client.force_login(people["health"])
    client.post(reverse("event-merge", args=[blast.pk]), {"target": police.event_id})
    assert Event.objects.filter(pk=blast.pk).exists()
    assert Report.objects.get(pk=police.pk).event_id == police.event_id


def test_merge_queue_lists_candidates_and_decides(client, county_tree, two_events):
    blast, crash = two_events
    people = county_tree["people"]
    report = crash.reports.get()
    candidate = MergeCandidate.objects.create(
        report=report, candidate=blast, score=0.62, reasons=["发生时间相近", "地点相近"]
    )
    client.force_login(people["duty"])
    page = client.get(reverse("merge-queue")).content.decode()
    assert "62%" in page and "发生时间相近" in page
    assert report.title in page and blast.title in page
    assert "合并" in page and "不是同一事件" in page
    assert "可能是同一事件（1）" in client.get(reverse("event-list")).content.decode()

    client.post(reverse("merge-decide", args=[candidate.pk]), {"decision": "separate"})
    candidate.refresh_from_db()
    assert candidate.decision == MergeCandidate.Decision.SEPARATE
    assert "没有待确认" in client.get(reverse("merge-queue")).content.decode()

    # Asked again (a fresh candidate), this time it is the same event.
    MergeCandidate.objects.filter(pk=candidate.pk).delete()
    other = MergeCandidate.objects.create(report=report, candidate=blast, score=0.6, reasons=[])
    client.post(reverse("merge-decide", args=[other.pk]), {"decision": "merge"})
    other.refresh_from_db()
    assert other.decision == MergeCandidate.Decision.MERGED
    assert Report.objects.get(pk=report.pk).event_id == blast.pk

    # The reporter who filed a report sees it in the queue but cannot decide it.
    own = _file(
        people["public_security"],
        county_tree["public_security"],
        "江口县城区人员聚集",
        category="mass_incident",
        place="江口县人民广场",
        narrative="约 30 人在县人民广场聚集，公安局已派员到场。",
        hours=80,
    )
    pending = MergeCandidate.objects.create(
        report=own.report, candidate=blast, score=0.5, reasons=[]
    )
    client.force_login(people["public_security"])
    assert "由上级值班员确认" in client.get(reverse("merge-queue")).content.decode()
    client.post(reverse("merge-decide", args=[pending.pk]), {"decision": "merge"})
    pending.refresh_from_db()
    assert pending.decision == MergeCandidate.Decision.PENDING
    assert Report.objects.get(pk=own.report.pk).event_id == own.event.pk

    # Someone who cannot see the report gets a 404 for the decision.
    third = _file(
        people["environment"],
        county_tree["environment"],
        "江口河出现死鱼",
        category="pollution",
        place="江口河下游",
        narrative="江口河下游河段出现大面积死鱼，生态环境局正在取样监测。",
        hours=60,
    )
    hidden = MergeCandidate.objects.create(
        report=third.report, candidate=blast, score=0.55, reasons=[]
    )
    client.force_login(people["health"])
    assert (
        client.post(reverse("merge-decide", args=[hidden.pk]), {"decision": "merge"}).status_code
        == 404
    )


def test_nav_links_open_the_real_pages(client, county_tree):
    client.force_login(county_tree["people"]["county"])
    page = client.get(reverse("duty-desk")).content.decode()
    for name in ("event-list", "report-new", "warning-list", "release-list", "opinion-topics"):
        assert f'href="{reverse(name)}"' in page
    # The old "under construction" placeholder pages are gone.
    for slug in ("events", "reports", "alerts", "release", "opinion"):
        assert client.get(f"/area/{slug}/").status_code == 404


def test_someone_without_a_reporting_role_is_told_so(client, county_tree, make_person):
    from fenghuo.org.models import Role

    analyst = make_person("analyst_only", county_tree["city"], Role.ANALYST)
    client.force_login(analyst)
    response = client.get(reverse("report-new"))
    assert response.status_code == 403
    assert "没有可以报送信息的单位" in response.content.decode()
    response = client.post(reverse("report-new"), _form(county_tree["city"]))
    assert response.status_code == 403
    assert not Report.objects.exists()


def test_a_unit_the_reporter_does_not_belong_to_is_refused(client, county_tree):
    client.force_login(county_tree["people"]["county"])
    response = client.post(reverse("report-new"), _form(county_tree["health"]))
    assert response.status_code == 422
    assert "无权以该单位名义报送" in response.content.decode()
    assert not Report.objects.exists()


def test_a_draft_can_be_deleted_by_its_unit(client, county_tree):
    client.force_login(county_tree["people"]["county"])
    data = _form(county_tree["county"], save_draft="1")
    del data["submit"]
    client.post(reverse("report-new"), data)
    draft = Report.objects.get()
    edit = client.get(reverse("report-edit", args=[draft.pk])).content.decode()
    assert reverse("report-discard", args=[draft.pk]) in edit

    # Another unit's reporter cannot reach it.
    client.force_login(county_tree["people"]["health"])
    assert client.post(reverse("report-discard", args=[draft.pk])).status_code == 404
    assert Report.objects.filter(pk=draft.pk).exists()

    client.force_login(county_tree["people"]["county"])
    response = client.post(reverse("report-discard", args=[draft.pk]))
    assert response["Location"] == reverse("report-new")
    assert not Report.objects.exists()
    assert AuditEntry.objects.filter(action="events.report.discard").count() == 1


def test_a_key_still_being_filed_answers_without_filing_again(client, county_tree):
    """A record whose first request has not finished has no answer yet: the page says
    so and files nothing (the first request will)."""
    from fenghuo.intake import services as intake_services
    from fenghuo.intake.models import IdempotencyRecord

    person = county_tree["people"]["county"]
    client.force_login(person)
    data = _form(county_tree["county"])
    payload = {
        "form": {k: [v] for k, v in sorted(data.items())},
        "files": [],
        "draft": None,
        "event": None,
    }
    IdempotencyRecord.objects.create(
        scope=f"person:{person.pk}",
        key=data["idempotency_key"],
        request_hash=intake_services.request_digest(payload),
        response={},
    )
    response = client.post(reverse("report-new"), data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("event-list")
    assert "正在提交" in response.content.decode()
    assert not Report.objects.exists()
