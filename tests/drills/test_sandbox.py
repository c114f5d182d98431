"""The sandbox: after a drill — and after its data is purged — real data, real statistics,
the staff lists and search, the desk's counts, the obligation lists, the opinion figures
and the public pages and feeds are exactly as they were before it. Drill reports and real
reports about the same plant never end up in one event."""

import re
from datetime import timedelta
from io import BytesIO

import pytest
from django.forms.models import model_to_dict
from django.test import Client
from docx import Document

from fenghuo.alerts.models import Warning
from fenghuo.assess.models import AreaDuty, Case, FigureCheck, Finding
from fenghuo.core import clock
from fenghuo.criteria.models import EventCategory
from fenghuo.desk import selectors as desk_selectors
from fenghuo.drills import documents, services
from fenghuo.drills.models import RunState
from fenghuo.escalation import selectors as escalation_selectors
from fenghuo.escalation.models import EventGrading, Obligation, Route
from fenghuo.events import services as event_services
from fenghuo.events.models import Channel, Event, Report, ReportKind, TimelineEntry
from fenghuo.notify import selectors as notify_selectors
from fenghuo.notify.models import Message
from fenghuo.opinion import selectors as opinion_selectors
from fenghuo.opinion import services as opinion_services
from fenghuo.opinion.models import OpinionWarning, Post, Topic
from fenghuo.org.models import Person
from fenghuo.org.policy import principal_for
from fenghuo.release.models import Release, ReleaseVersion
from fenghuo.response.models import Response
from tests.drills.acts import JSON, approve_and_issue, draft_warning, ok, publish_release
from tests.drills.drive import Drill, client

pytestmark = pytest.mark.django_db

PLANT = {
    "title": "临江化工集团江口分厂发生爆炸",
    "category": "hazchem",
    "division_code": "990121",
    "place": "江口县化工园区临江化工集团江口分厂三车间",
    "narrative": "三车间反应釜发生爆炸并引发火情，现场有人员被困，消防救援队伍已到场处置。",
    "dead": 3,
    "injured": 8,
}
PUBLIC = [
    "/public/",
    "/public/warnings/",
    "/public/releases/",
    "/public/feeds/",
    "/public/feeds/warnings.atom",
    "/public/feeds/releases.atom",
]
STAFF_API = [
    "/api/events",
    "/api/events?status=new",
    "/api/search?q=爆炸",
    "/api/search?q=中毒",
    "/api/obligations",
    "/api/obligations?scope=visible",
    "/api/routes",
    "/api/routes?awaiting=receipt",
    "/api/verifications?scope=visible",
    "/api/verifications",
    "/api/consultations?scope=visible",
    "/api/opinion/topics",
    "/api/opinion/warnings",
    # Evaluation (assess): the ranking of the current period, cases, letters and findings.
    "/api/assess/ranking",
    "/api/assess/cases",
    "/api/assess/letters",
    "/api/assess/findings",
]
PEOPLE = ("sheng_zhiban", "lj_zhiban", "jk_zhiban", "jk_lingdao", "yuqing", "zuzhang")
# Every real row of these tables, field by field.
TABLES = [
    (Event, {"is_drill": False}),
    (Report, {"is_drill": False}),
    (TimelineEntry, {"event__is_drill": False}),
    (EventGrading, {"event__is_drill": False}),
    (Route, {"report__is_drill": False}),
    (Obligation, {"event__is_drill": False}),
    (Warning, {"is_drill": False}),
    (Release, {"is_drill": False}),
    (ReleaseVersion, {"release__is_drill": False}),
    (Response, {"event__is_drill": False}),
    (Post, {"is_drill": False}),
    (Topic, {"is_drill": False}),
    (OpinionWarning, {"is_drill": False}),
    (Message, {"is_drill": False}),
    (AreaDuty, {"event__is_drill": False}),
    (Case, {"event__is_drill": False}),
    (FigureCheck, {"event__is_drill": False}),
    (Finding, {}),
]


def _clean(html: str) -> str:
    """A page without what changes on every request (CSRF tokens)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def _docx_text(document) -> list[str]:
    return [p.text for p in Document(BytesIO(document.content)).paragraphs]


def snapshot(moment) -> dict:
    """Everything real the drill must leave as it was, read at `moment`."""
    with clock.frozen_at(moment):
        shot: dict = {"public": {}, "staff": {}, "desk": {}, "rows": {}}
        anonymous = Client()
        for url in PUBLIC:
            answer = anonymous.get(url)
            assert answer.status_code == 200, url
            shot["public"][url] = _clean(answer.content.decode())
        for username in PEOPLE:
            browser = client(username)
            person = Person.objects.get(username=username)
            principal = principal_for(person)
            for url in STAFF_API:
                shot["staff"][username, url] = browser.get(url).json()
            listing = browser.get("/events/").content.decode()
            shot["staff"][username, "/events/"] = re.findall(
                r"<tr id=\"event-.*?</tr>", listing, re.S
            )
            shot["staff"][username, "total"] = re.search(r"共 \d+ 个事件", listing).group()
            shot["desk"][username] = {
                "grades": desk_selectors.events_by_grade(principal),
                "active": list(
                    desk_selectors.active_events(principal).values_list("pk", flat=True)
                ),
                "obligations": list(
                    escalation_selectors.desk_obligations(principal).values_list("pk", "state")
                ),
                "signoff": list(escalation_selectors.awaiting_signoff(principal).values_list("pk")),
                "receipt": list(escalation_selectors.awaiting_receipt(principal).values_list("pk")),
                "unread": notify_selectors.unread_count(person, drill=False),
                "feed": [
                    i.key
                    for i in desk_selectors.items_after(principal, person, desk_selectors.Cursor())
                ],
                "inbox": [n.key for n in desk_selectors.recent_notices(person, 50)],
                "events_panel": _clean(browser.get("/desk/panels/events/").content.decode()),
            }
        analyst = principal_for(Person.objects.get(username="yuqing"))
        shot["opinion"] = {
            "divisions": opinion_selectors.division_counts(analyst, moment - timedelta(days=1)),
            "daily": _docx_text(client("yuqing").get("/opinion/reports/daily.docx")),
            "stream": [p.pk for p in opinion_selectors.recent_posts(analyst, 100)],
        }
        for model, real in TABLES:
            shot["rows"][model.__name__] = [
                model_to_dict(row) for row in model.objects.filter(**real).order_by("pk")
            ]
    return shot


def _differences(before, after, path=()) -> list[str]:
    """Where two snapshots differ, leaf by leaf (for a readable failure)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in before.keys() | after.keys():
            found += _differences(before.get(key), after.get(key), (*path, key))
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = []
        for n, (b, a) in enumerate(zip(before, after, strict=True)):
            found += _differences(b, a, (*path, n))
        return found
    return [] if before == after else [f"{path}: {before!r} → {after!r}"]


def assert_same(before: dict, after: dict) -> None:
    differences = _differences(before, after)
    assert not differences, "\n".join(differences[:20])


def _real_world(world):
    """Real work on the same plant and the same area, so that nothing is trivially empty."""
    huagong = principal_for(Person.objects.get(username="huagong"))
    real = event_services.file_report(
        huagong,
        unit=world.units["临江化工集团有限公司"],
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data={
            **PLANT,
            "category": EventCategory.objects.get(code="hazchem"),
            "occurred_at": clock.now() - timedelta(minutes=20),
        },
    ).event
    opinion_services.ingest(
        [
            {
                "platform": "weibo",
                "post_id": f"real-{n}",
                "text": f"临江化工厂爆炸，现场浓烟滚滚，附近居民都听到了（{n}）",
                "division_code": "990121",
            }
            for n in range(3)
        ],
        source="test",
    )
    sheng, zuzhang = client("sheng_zhiban"), client("zuzhang")
    warning = draft_warning(
        sheng,
        category="hazchem",
        level=2,
        event_name="危险化学品泄漏",
        issuing_unit_id=world.units["示范省委办公厅"].pk,
        area_codes=["990121"],
        event_id=real.pk,
    )
    approve_and_issue(zuzhang, warning["id"])
    publish_release(
        sheng,
        zuzhang,
        real.pk,
        world.units["示范省委办公厅"].pk,
        "关于临江化工集团江口分厂爆炸的情况通报",
    )
    return real


def _run_chemical(world, real: Event):
    """The chemical drill with its participants doing everything a drill can leave behind:
    receipts, a merge, a follow-up, a response, a warning issued, a release published."""
    director = world.principal("sheng_zhiban")
    run = services.prepare_run(
        director, slug="chemical-plant-explosion", unit=world.units["示范省委办公厅"], speed=10
    )
    services.start_run(director, run)
    drill = Drill(run)
    sheng, zuzhang, lj = client("sheng_zhiban"), client("zuzhang"), client("lj_zhiban")
    drill.at(8)
    main = Report.objects.get(drill_tag=run.tag, unit__name="临江化工集团有限公司").event
    # The drill's report about the very plant of the real event opened a drill event.
    assert main.pk != real.pk and real.reports.filter(is_drill=True).count() == 0
    for route in lj.get("/api/routes?awaiting=receipt&drill=true").json():
        ok(lj.post(f"/api/routes/{route['id']}/acknowledge"))
    drill.at(20)
    health = Report.objects.get(drill_tag=run.tag, unit__name="临江市卫生健康委员会").event
    sheng.post(f"/events/{health.pk}/merge/", {"target": main.pk})
    # Merging a drill event into a real one is refused, and changes nothing.
    answer = sheng.post(f"/events/{main.pk}/merge/", {"target": real.pk})
    assert answer.status_code == 302 and Event.objects.filter(pk=main.pk).exists()
    drill.at(45)
    ok(
        sheng.post(
            f"/api/events/{main.pk}/responses", {"level": 3, "reason": "演练"}, content_type=JSON
        ),
        201,
    )
    warning = draft_warning(
        sheng,
        category="hazchem",
        level=2,
        event_name="危险化学品泄漏",
        issuing_unit_id=world.units["示范省委办公厅"].pk,
        area_codes=["990121"],
        event_id=main.pk,
    )
    approve_and_issue(zuzhang, warning["id"])
    publish_release(sheng, zuzhang, main.pk, world.units["示范省委办公厅"].pk, "演练：爆炸情况通报")
    drill.at(120)
    assert run.state == RunState.ENDED
    return run


def _run_rumour(world):
    director = world.principal("sheng_zhiban")
    run = services.prepare_run(
        director, slug="school-food-rumour", unit=world.units["示范省委办公厅"], speed=10
    )
    services.start_run(director, run)
    drill = Drill(run)
    drill.at(12)
    warning = OpinionWarning.objects.get(topic__drill_tag=run.tag)
    ok(
        client("yuqing").post(
            f"/api/opinion/warnings/{warning.pk}/decision", {"action": "confirm"}, content_type=JSON
        )
    )
    clue = ok(
        client("sheng_zhiban").post(
            f"/api/opinion/topics/{warning.topic_id}/clue", {}, content_type=JSON
        ),
        201,
    )
    ok(
        client("lj_zhiban").post(
            f"/api/drills/runs/{run.pk}/drafts/{clue['report_id']}/confirm",
            {"category": "food_safety", "place": "临江市实验小学"},
            content_type=JSON,
        )
    )
    drill.at(90)
    assert run.state == RunState.ENDED
    return run


def test_real_data_and_views_are_exactly_as_before_after_a_drill_and_after_its_purge(province):
    world = province
    real = _real_world(world)
    moment = clock.now()
    before = snapshot(moment)
    assert before["public"]["/public/warnings/"].count("危险化学品泄漏") >= 1  # not empty
    assert before["staff"]["sheng_zhiban", "/api/events"]  # the real event is listed

    chemical = _run_chemical(world, real)
    rumour = _run_rumour(world)
    assert Event.objects.filter(drill_tag=chemical.tag).exists()
    assert Post.objects.filter(drill_tag=rumour.tag).count() == 37
    assert (
        Message.objects.filter(drill_tag=chemical.tag)
        .exclude(subject__startswith="【演练】")
        .count()
        == 0
    )
    assert Warning.objects.filter(drill_tag=chemical.tag, state="issued").exists()
    assert Release.objects.filter(event__drill_tag=chemical.tag, current__isnull=False).exists()

    assert_same(before, snapshot(moment))

    director = world.principal("sheng_zhiban")
    for run in (chemical, rumour):
        services.purge_run(director, run)
        run.refresh_from_db()
        assert run.state == RunState.PURGED and run.results["units"]
    for tag in (chemical.tag, rumour.tag):
        assert not Event.objects.filter(drill_tag=tag).exists()
        assert not Report.objects.filter(drill_tag=tag).exists()
        assert not Post.objects.filter(drill_tag=tag).exists()
        assert not Topic.objects.filter(drill_tag=tag).exists()
        assert not Message.objects.filter(drill_tag=tag).exists()
        assert not Warning.objects.filter(drill_tag=tag).exists()
    assert not Release.objects.filter(is_drill=True).exists()
    assert_same(before, snapshot(moment))
    # The frozen results still make the report.
    text = _docx_text(client("sheng_zhiban").get(f"/drills/runs/{chemical.pk}/report.docx"))
    assert any("临江化工集团江口分厂爆炸事故多部门报送演练评估报告" in line for line in text)


def test_a_real_report_during_a_drill_joins_the_real_event_never_the_drill_one(province):
    world = province
    real = _real_world(world)
    director = world.principal("sheng_zhiban")
    run = services.prepare_run(
        director, slug="chemical-plant-explosion", unit=world.units["示范省委办公厅"], speed=10
    )
    services.start_run(director, run)
    Drill(run).at(7)
    drill_event = Report.objects.get(drill_tag=run.tag, unit__name="临江化工集团有限公司").event
    # A real unit reports the same plant in the middle of the drill.
    answer = client("jk_zhiban").post(
        "/api/reports",
        {
            **PLANT,
            "unit_id": world.units["中共江口县委办公室"].pk,
            "occurred_at": (clock.now() - timedelta(minutes=25)).isoformat(),
        },
        content_type=JSON,
    )
    filed = ok(answer, 201)
    assert filed["event_id"] == real.pk
    assert not Report.objects.get(pk=filed["id"]).is_drill
    assert set(drill_event.reports.values_list("is_drill", flat=True)) == {True}
    assert set(real.reports.values_list("is_drill", flat=True)) == {False}
    # A drill notification never goes out unmarked, a real one never marked.
    assert (
        not Message.objects.filter(is_drill=True).exclude(subject__startswith="【演练】").exists()
    )
    assert not Message.objects.filter(is_drill=False, subject__startswith="【演练】").exists()


def test_report_document_has_the_score_table_and_timeline(province):
    world = province
    real = _real_world(world)
    run = _run_chemical(world, real)
    document = Document(BytesIO(documents.render_report(run, [])))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "一、演练概况" in text and "二、评分" in text and "四、时间线" in text
    scores = document.tables[0]
    header = [cell.text for cell in scores.rows[0].cells]
    assert header[0] == "单位" and header[-1] == "总分"
    units = {row.cells[0].text: row.cells[-1].text for row in scores.rows[1:]}
    assert set(units) == {"中共江口县委办公室", "中共临江市委办公室", "示范省委办公厅"}
    timeline = document.tables[2]
    assert timeline.rows[1].cells[0].text == "T+0:00:00"
    assert any(row.cells[2].text == "情况注入" for row in timeline.rows[1:])
