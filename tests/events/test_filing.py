"""Filing and matching: five units on one explosion make one event; an unrelated
accident nearby makes another."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from fenghuo.core import clock
from fenghuo.criteria.models import EventCategory
from fenghuo.events import selectors, services
from fenghuo.events.models import Channel, Event, Report, ReportKind

pytestmark = pytest.mark.django_db

EXPLOSION = [
    (
        "county",
        "江口县化工园区发生爆炸",
        "11月23日9时10分，江口县化工园区临江化工厂一车间发生爆炸，现场有人员被困，消防已到场处置。",
        3,
        5,
    ),
    (
        "emergency",
        "临江化工厂车间爆炸事故",
        "江口县化工园区内临江化工厂发生爆炸事故，造成 3 人死亡，"
        "多人受伤，应急管理局已启动应急响应。",
        3,
        8,
    ),
    (
        "environment",
        "化工园区爆炸可能造成环境污染",
        "江口县化工园区临江化工厂爆炸后有黄色烟雾扩散，生态环境局正在监测周边空气和水体。",
        None,
        None,
    ),
    (
        "health",
        "化工厂爆炸伤员救治情况",
        "临江化工厂爆炸伤员已送往县人民医院救治，其中重伤 4 人，死亡 5 人。",
        5,
        12,
    ),
    (
        "public_security",
        "江口县化工厂爆炸现场管控",
        "公安局已对江口县化工园区临江化工厂爆炸现场实施交通管制，疏散周边群众。",
        3,
        None,
    ),
]


def _file(
    person,
    unit,
    title,
    narrative,
    dead=None,
    injured=None,
    *,
    category="hazchem",
    minutes=0,
    place="江口县化工园区临江化工厂",
    kind=ReportKind.FIRST,
    event=None,
):
    from fenghuo.org.policy import principal_for

    base = clock.now() - timedelta(hours=1)
    return services.file_report(
        principal_for(person),
        unit=unit,
        kind=kind,
        channel=Channel.WEB,
        event=event,
        data={
            "title": title,
            "category": EventCategory.objects.get(code=category),
            "occurred_at": base + timedelta(minutes=minutes),
            "division_code": "990121",
            "place": place,
            "narrative": narrative,
            "dead": dead,
            "injured": injured,
        },
    )


def test_five_units_one_event_with_conflicts(county_tree):
    results = [
        _file(
            county_tree["people"][key], county_tree[key], title, text, dead, injured, minutes=i * 2
        )
        for i, (key, title, text, dead, injured) in enumerate(EXPLOSION)
    ]
    events = {r.event.pk for r in results}
    assert len(events) == 1, [(r.outcome, r.score) for r in results]
    event = Event.objects.get()
    reports = list(Report.objects.filter(event=event).select_related("unit"))
    table = selectors.figures_table(event, reports)
    assert len(table.sources) == 5
    assert sorted(v for _, v in table.conflicts["dead"]) == [3, 3, 3, 5]
    # The health department is responsible for casualty figures of nobody here, so the
    # hazchem rule (emergency management) decides: its latest figure, 3.
    assert table.current["dead"] == 3 and table.basis["dead"] == "主管部门最新报送"

    accident = _file(
        county_tree["people"]["public_security"],
        county_tree["public_security"],
        "江口县城关路口两车相撞",
        "江口县城关镇人民路与解放路交叉口两辆小汽车相撞，1 人受伤。",
        0,
        1,
        category="road_traffic",
        minutes=20,
        place="江口县城关镇人民路与解放路交叉口",
    )
    assert accident.outcome == "new_event"
    assert Event.objects.count() == 2


def test_each_units_latest_report_gives_the_figures_all_reports_give(county_tree):
    """Grading reads only each unit's latest report (events.selectors.latest_per_unit);
    the figures table from those must be the one from every report, sources in order."""
    people, t = county_tree["people"], county_tree
    first = _file(people["county"], t["county"], "江口县化工园区发生爆炸", "发生爆炸。", 1, 2)
    event = first.event
    filings = [  # (unit, dead, injured): several units, each more than once, interleaved
        ("emergency", 3, 4), ("health", 2, 9), ("emergency", 4, 4), ("county", 2, 3),
        ("health", 5, 11), ("emergency", 3, 6),
    ]  # fmt: skip
    for i, (key, dead, injured) in enumerate(filings):
        _file(
            people[key], t[key], "化工厂爆炸续报", f"续报{i}。", dead, injured,
            kind=ReportKind.FOLLOWUP, event=event, minutes=i + 1,
        )  # fmt: skip
    every = list(
        Report.objects.filter(event=event, status="submitted")
        .select_related("unit")
        .order_by("received_at", "pk")
    )
    latest = selectors.latest_per_unit(event)
    assert [r.unit_id for r in latest] == [t["county"].pk, t["emergency"].pk, t["health"].pk]
    assert [(r.dead, r.injured) for r in latest] == [(2, 3), (3, 6), (5, 11)]
    assert selectors.figures_table(event, latest) == selectors.figures_table(event, every)


def test_missing_fields_named_and_nothing_saved(county_tree):
    from fenghuo.org.policy import principal_for

    with pytest.raises(ValidationError) as caught:
        services.file_report(
            principal_for(county_tree["people"]["county"]),
            unit=county_tree["county"],
            kind=ReportKind.FIRST,
            channel=Channel.WEB,
            data={"title": "缺少要素的报告"},
        )
    errors = caught.value.message_dict
    assert set(errors) >= {"narrative", "place", "occurred_at", "division_code", "category"}
    assert "事件经过为必填项" in errors["narrative"]
    assert Report.objects.count() == 0 and Event.objects.count() == 0


def test_followups_are_numbered_and_final_requires_cause(county_tree):
    person, unit = county_tree["people"]["county"], county_tree["county"]
    first = _file(person, unit, *EXPLOSION[0][1:])
    one = _file(person, unit, "", "新增死亡 1 人", 4, kind=ReportKind.FOLLOWUP, event=first.event)
    two = _file(person, unit, "", "伤员已全部转运", 4, kind=ReportKind.FOLLOWUP, event=first.event)
    assert (one.report.kind_label, two.report.kind_label) == ("续报一", "续报二")
    assert two.report.previous_id == one.report.pk
    assert one.report.title == first.event.title  # inherited from the event
    with pytest.raises(ValidationError) as caught:
        _file(person, unit, "", "事故处置完毕", kind=ReportKind.FINAL, event=first.event)
    assert {"cause", "handling_summary", "aftercare"} <= set(caught.value.message_dict)


def test_reporter_cannot_file_for_another_unit(county_tree):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        _file(county_tree["people"]["health"], county_tree["emergency"], *EXPLOSION[1][1:])


def test_sensitive_first_report_does_not_name_the_event(county_tree):
    """Whoever sees any report of an event sees its title: a 敏感 report must not lend it."""
    from fenghuo.core.models import Confidentiality
    from fenghuo.org.policy import principal_for

    people = county_tree["people"]
    secret = services.file_report(
        principal_for(people["county"]),
        unit=county_tree["county"],
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data={
            "title": "某领导亲属涉化工厂爆炸",
            "category": EventCategory.objects.get(code="hazchem"),
            "occurred_at": clock.now() - timedelta(hours=1),
            "division_code": "990121",
            "place": "江口县化工园区临江化工厂",
            "narrative": "江口县化工园区临江化工厂发生爆炸，涉及某领导亲属。",
            "confidentiality": Confidentiality.SENSITIVE,
        },
    )
    assert "领导" not in secret.event.title and secret.event.place == ""
    plain = _file(people["emergency"], county_tree["emergency"], *EXPLOSION[1][1:])
    assert plain.event.pk == secret.event.pk
    reporter = principal_for(people["emergency"])
    seen = selectors.events_visible(reporter).get()
    assert "领导" not in seen.title
    titles = [e.text for e in selectors.event_timeline(reporter, seen)]
    assert titles and not any("领导" in text for text in titles)


def test_only_a_duty_officer_decides_a_merge_candidate(county_tree):
    from django.core.exceptions import PermissionDenied

    from fenghuo.events.models import MergeCandidate, TimelineEntry
    from fenghuo.org.policy import principal_for

    people = county_tree["people"]
    explosion = _file(people["county"], county_tree["county"], *EXPLOSION[0][1:])
    fire = _file(
        people["health"],
        county_tree["health"],
        "县医院收治烧伤人员",
        "县人民医院收治烧伤人员 2 名。",
        category="hazchem",
        place="江口县人民医院",
    )
    assert fire.event.pk != explosion.event.pk
    _file(
        people["health"],
        county_tree["health"],
        "",
        "伤员情况稳定",
        kind=ReportKind.FOLLOWUP,
        event=fire.event,
    )
    candidate = MergeCandidate.objects.create(
        report=fire.report, candidate=explosion.event, score=0.2, reasons=[]
    )
    with pytest.raises(PermissionDenied):
        services.decide_merge_candidate(principal_for(people["health"]), candidate, same_event=True)
    assert Report.objects.get(pk=fire.report.pk).event_id == fire.event.pk

    services.decide_merge_candidate(principal_for(people["duty"]), candidate, same_event=True)
    assert Report.objects.get(pk=fire.report.pk).event_id == explosion.event.pk
    assert TimelineEntry.objects.filter(event=explosion.event, kind="merge").exists()
    assert MergeCandidate.objects.get(pk=candidate.pk).decision == "merged"


def test_event_api_counts_only_the_reports_the_reader_may_see(client, county_tree):
    from fenghuo.core.models import Confidentiality
    from fenghuo.org.policy import principal_for

    people = county_tree["people"]
    services.file_report(
        principal_for(people["county"]),
        unit=county_tree["county"],
        kind=ReportKind.FIRST,
        channel=Channel.WEB,
        data={
            "title": EXPLOSION[0][1],
            "category": EventCategory.objects.get(code="hazchem"),
            "occurred_at": clock.now() - timedelta(hours=1),
            "division_code": "990121",
            "place": "江口县化工园区临江化工厂",
            "narrative": EXPLOSION[0][2],
            "confidentiality": Confidentiality.SENSITIVE,
        },
    )
    _file(people["emergency"], county_tree["emergency"], *EXPLOSION[1][1:])
    assert Event.objects.count() == 1 and Report.objects.count() == 2

    client.force_login(people["emergency"])
    [listed] = client.get("/api/events").json()
    assert listed["report_count"] == 1
    client.force_login(people["duty"])
    assert client.get("/api/events").json()[0]["report_count"] == 2
