"""Full-text search: Chinese words find reports and events, filters narrow them, and no
path — reports, events, the API — returns what the searcher may not read.

The module runs unchanged on SQLite (FTS5) and PostgreSQL (tsvector): the same
expectations on both are what "identical in meaning" means here.
"""

import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from fenghuo.criteria.models import EventCategory
from fenghuo.events import search, services
from fenghuo.events.models import Channel, Event, Report, ReportKind, ReportStatus
from fenghuo.org.models import Role
from fenghuo.org.policy import principal_for
from tests.conftest import SYSTEM

pytestmark = pytest.mark.django_db

CYANIDE = "氰化物"  # only in the sensitive follow-up on the explosion


@pytest.fixture
def world(county_tree, make_unit, make_person):
    """The county tree of the filing tests, plus a second county, an administrator and a
    county leader, and these reports:

    blast      county office, 首报 on the chemical-plant explosion (内部)        event A
    blast_em   emergency bureau, on event A (内部)
    cyanide    emergency bureau, on event A (敏感) — the only text with 氰化物
    blast_hl   health bureau, on event A (内部)
    hazard     emergency bureau, a separate 敏感 report on a warehouse            event B
    crash      public security, a road accident (内部)                          event C
    hexi       the other county, a gas explosion and fire (内部)               event D
    draft      environment bureau, a draft (no event)
    """
    t = county_tree
    hexi = make_unit("河西县委办公室", t["city"], division_code="990122", is_receiving_office=True)
    people = {
        **t["people"],
        "hexi": make_person("hexi_reporter", hexi, Role.REPORTER),
        "admin": make_person("city_admin", t["city"], Role.ADMIN),
        "leader": make_person("county_leader", t["county"], Role.UNIT_LEADER),
    }
    now = clock.now()

    def file(who, unit, title, narrative, *, category="hazchem", hours=1.0, **extra):
        data = {
            "title": title,
            "category": EventCategory.objects.get(code=category),
            "occurred_at": now - timedelta(hours=hours),
            "division_code": extra.pop("division_code", unit.division_code),
            "place": extra.pop("place", "江口县化工园区临江化工厂"),
            "narrative": narrative,
            **{k: v for k, v in extra.items() if k not in ("event", "draft", "kind")},
        }
        return services.file_report(
            principal_for(people[who]),
            unit=unit,
            kind=extra.get("kind", ReportKind.FIRST),
            channel=Channel.WEB,
            data=data,
            event=extra.get("event"),
            draft=extra.get("draft", False),
        )

    blast = file(
        "county",
        t["county"],
        "江口县化工园区发生爆炸",
        "11月23日9时10分，江口县化工园区临江化工厂一车间发生爆炸，现场有人员被困。",
    )
    event_a = blast.event
    blast_em = file(
        "emergency",
        t["emergency"],
        "临江化工厂车间爆炸事故",
        "应急管理局已启动应急响应，3 人死亡。",
        event=event_a,
    )
    cyanide = file(
        "emergency",
        t["emergency"],
        "化工厂爆炸现场检测情况",
        "应急管理局现场检测发现氰化物泄漏，相关情况暂不对外。",
        event=event_a,
        kind=ReportKind.FOLLOWUP,
        confidentiality=Confidentiality.SENSITIVE,
    )
    blast_hl = file(
        "health",
        t["health"],
        "化工厂爆炸伤员救治情况",
        "伤员已送往县人民医院救治，其中重伤 4 人。",
        event=event_a,
    )
    hazard = file(
        "emergency",
        t["emergency"],
        "危化品仓库存在重大安全隐患",
        "江口县东郊危化品仓库存在重大安全隐患，已责令停业整改。",
        category="work_safety",
        hours=24 * 20,
        place="江口县东郊危化品仓库",
        confidentiality=Confidentiality.SENSITIVE,
    )
    crash = file(
        "public_security",
        t["public_security"],
        "江口县城关路口两车相撞",
        "江口县城关镇人民路与解放路交叉口两辆小汽车相撞，1 人受伤。",
        category="road_traffic",
        hours=0.5,
        place="江口县城关镇人民路与解放路交叉口",
    )
    hexi_fire = file(
        "hexi",
        hexi,
        "河西县居民楼火灾",
        "河西县一居民楼燃气爆炸引发火灾，消防已到场。",
        category="fire",
        hours=48,
        place="河西县新华街道居民楼",
    )
    draft = file(
        "environment",
        t["environment"],
        "化工园区周边水体监测",
        "生态环境局正在监测化工园区周边水体。",
        draft=True,
    )
    assert hazard.event.pk != event_a.pk and crash.event.pk != event_a.pk
    assert hexi_fire.event.pk not in (event_a.pk, hazard.event.pk, crash.event.pk)
    Event.objects.filter(pk=event_a.pk).update(grade=3)
    reports = {
        "blast": blast.report,
        "blast_em": blast_em.report,
        "cyanide": cyanide.report,
        "blast_hl": blast_hl.report,
        "hazard": hazard.report,
        "crash": crash.report,
        "hexi": hexi_fire.report,
        "draft": draft.report,
    }
    events = {"A": event_a, "B": hazard.event, "C": crash.event, "D": hexi_fire.event}
    return {**t, "hexi": hexi, "people": people, "reports": reports, "events": events}


def _principal(world, who):
    return SYSTEM if who == "superuser" else principal_for(world["people"][who])


def found_reports(world, who, q, **filters):
    page = search.search_reports(_principal(world, who), q, limit=100, **filters)
    names = {r.pk: name for name, r in world["reports"].items()}
    return {names[hit.report.pk] for hit in page.items}


def found_events(world, who, q, **filters):
    page = search.search_events(_principal(world, who), q, limit=100, **filters)
    names = {e.pk: name for name, e in world["events"].items()}
    return {names[hit.event.pk] for hit in page.items}


# ------------------------------------------------------------------------ finding


def test_chinese_words_find_reports(world):
    # 爆炸 is inside the precise-mode word 发生爆炸: search-mode indexing finds it.
    assert found_reports(world, "duty", "爆炸") == {
        "blast",
        "blast_em",
        "cyanide",
        "blast_hl",
        "hexi",
    }
    assert found_reports(world, "duty", "化工厂") >= {"blast", "blast_em", "cyanide", "blast_hl"}
    assert found_reports(world, "duty", "临江") == {
        "blast",
        "blast_em",
        "cyanide",
        "blast_hl",
        "draft",
    }
    assert found_reports(world, "duty", "相撞") == {"crash"}
    assert found_reports(world, "duty", "解放路交叉口") == {"crash"}
    assert found_reports(world, "duty", "河西县") == {"hexi"}


def test_every_term_must_match(world):
    assert found_reports(world, "duty", "爆炸 火灾") == {"hexi"}
    assert found_reports(world, "duty", "爆炸 相撞") == set()
    assert found_reports(world, "duty", "不存在的词语组合 爆炸") == set()


def test_every_report_is_found_by_its_own_title(world):
    duty = _principal(world, "duty")
    for report in world["reports"].values():
        hits = search.search_reports(duty, report.title, limit=100).items
        assert report.pk in {h.report.pk for h in hits}, report.title


def test_title_match_ranks_above_body_match(world):
    # 化工厂 is in three titles, and in the place (and narrative) of two more reports.
    page = search.search_reports(_principal(world, "duty"), "化工厂")
    ranked = [h.report.pk for h in page.items]
    in_title = {world["reports"][n].pk for n in ("blast_em", "cyanide", "blast_hl")}
    assert set(ranked[:3]) == in_title  # 化工厂 in the title beats the place alone
    assert all(a.score >= b.score for a, b in zip(page.items, page.items[1:], strict=False))


def test_full_width_and_case_are_normalised(world):
    assert found_reports(world, "duty", "爆炸　３") == {"blast_em"}  # ideographic space, ３
    assert search.query_terms("ＡＢＣ Def") == ["abc", "def"]


def test_events_group_matching_reports(world):
    page = search.search_events(_principal(world, "duty"), "爆炸")
    assert page.total == 2
    by_event = {hit.event.pk: hit for hit in page.items}
    event_a = by_event[world["events"]["A"].pk]
    assert event_a.match_count == 4
    assert {r.report.pk for r in event_a.reports} == {
        world["reports"][n].pk for n in ("blast", "blast_em", "cyanide", "blast_hl")
    }


def test_pagination(world):
    duty = _principal(world, "duty")
    first = search.search_reports(duty, "爆炸", limit=2)
    second = search.search_reports(duty, "爆炸", limit=2, offset=2)
    third = search.search_reports(duty, "爆炸", limit=2, offset=4)
    assert first.total == second.total == third.total == 5
    pages = [h.report.pk for p in (first, second, third) for h in p.items]
    assert len(pages) == len(set(pages)) == 5


# ------------------------------------------------------------------------ filters


def test_filters(world):
    now = clock.now()
    q = "爆炸"
    assert found_reports(world, "duty", q, since=now - timedelta(hours=3)) == {
        "blast",
        "blast_em",
        "cyanide",
        "blast_hl",
    }
    assert found_reports(world, "duty", q, until=now - timedelta(hours=3)) == {"hexi"}
    assert found_reports(world, "duty", q, until=timezone.localdate(now - timedelta(days=2))) == {
        "hexi"
    }
    assert found_reports(world, "duty", q, division_prefix="990122") == {"hexi"}
    assert found_reports(world, "duty", q, division_prefix="9901") == {
        "blast",
        "blast_em",
        "cyanide",
        "blast_hl",
        "hexi",
    }
    assert found_reports(world, "duty", q, category="fire") == {"hexi"}
    accident = EventCategory.objects.get(code="accident")  # includes its subcategories
    assert found_reports(world, "duty", q, category=accident) == found_reports(world, "duty", q)
    assert found_reports(world, "duty", q, grade=3) == {"blast", "blast_em", "cyanide", "blast_hl"}
    assert found_reports(world, "duty", q, unit=world["emergency"]) == {"blast_em", "cyanide"}
    assert found_reports(world, "duty", q, unit=world["county"].pk) == {
        "blast",
        "blast_em",
        "cyanide",
        "blast_hl",
    }
    assert found_reports(world, "duty", "监测", status=ReportStatus.DRAFT) == {"draft"}
    assert found_reports(world, "duty", "监测", status=ReportStatus.SUBMITTED) == set()
    Event.objects.filter(pk=world["events"]["D"].pk).update(status="handling")
    assert found_events(world, "duty", q, status="handling") == {"D"}
    assert found_events(world, "duty", q, grade=3, category="hazchem") == {"A"}


def test_filters_without_query_browse_latest_first(world):
    page = search.search_reports(_principal(world, "duty"), "", category="road_traffic")
    assert [h.report.pk for h in page.items] == [world["reports"]["crash"].pk]
    assert found_events(world, "duty", None, division_prefix="990122") == {"D"}
    assert found_events(world, "hexi", "") == {"D"}
    assert found_events(world, "health", "") == {"A"}


def test_browsing_counts_every_visible_report_and_shows_the_newest_five(world):
    """Without a query each event shows its five newest visible reports and counts all of
    them; a reader who sees fewer gets those counted and shown."""
    a = world["events"]["A"]
    now = clock.now()
    for i in range(4):  # event A: 4 + 4 reports, one of them 敏感
        services.file_report(
            principal_for(world["people"]["county"]),
            unit=world["county"],
            kind=ReportKind.FOLLOWUP,
            channel=Channel.WEB,
            event=a,
            data={
                "title": f"化工厂爆炸续报{i}",
                "category": EventCategory.objects.get(code="hazchem"),
                "occurred_at": now - timedelta(minutes=50 - i * 10),
                "division_code": "990121",
                "place": "江口县化工园区临江化工厂",
                "narrative": f"第{i}次续报。",
            },
        )
    from fenghuo.events.selectors import reports_visible

    seen = {}
    for who in ("duty", "health", "emergency"):
        principal = _principal(world, who)
        (hit,) = [h for h in search.search_events(principal, "").items if h.event.pk == a.pk]
        visible = list(reports_visible(principal).filter(event=a).order_by("-occurred_at", "-pk"))
        assert hit.match_count == len(visible)
        assert [r.report.pk for r in hit.reports] == [r.pk for r in visible[:5]]
        seen[who] = len(visible)
    assert seen["duty"] == 8 and seen["health"] < 8


def test_bad_filters_are_refused(world):
    duty = _principal(world, "duty")
    with pytest.raises(ValueError):
        search.search_reports(duty, "爆炸", status="nonsense")
    with pytest.raises(ValueError):
        search.search_reports(duty, "爆炸", division_prefix="99%")


# ------------------------------------------------------------------------ access


READERS = ["duty", "admin", "health", "hexi", "county", "leader", "emergency", "superuser"]
# Who may read the sensitive reports: the author's unit (its reporter wrote them) and the
# duty officer of the city office above. Not an administrator (reads at most 内部), not a
# reporter of another unit, a sibling unit or the parent unit, not the superuser.
SEES_SENSITIVE = {"duty", "emergency", "leader"}


@pytest.mark.parametrize("who", READERS)
def test_sensitive_text_only_for_the_cleared(world, who):
    expected = {"cyanide"} if who in SEES_SENSITIVE else set()
    assert found_reports(world, who, CYANIDE) == expected
    assert found_events(world, who, CYANIDE) == ({"A"} if expected else set())
    hazard = found_reports(world, who, "安全隐患")
    assert hazard == ({"hazard"} if who in SEES_SENSITIVE else set())
    assert found_events(world, who, "安全隐患") == ({"B"} if hazard else set())


@pytest.mark.parametrize("who", READERS)
def test_search_never_exceeds_what_is_visible(world, who):
    from fenghuo.events.selectors import events_visible, reports_visible

    principal = _principal(world, who)
    visible = set(reports_visible(principal).values_list("pk", flat=True))
    visible_events = set(events_visible(principal).values_list("pk", flat=True))
    for q in ("爆炸", "化工厂", "临江", "江口县", "", "情况"):
        reports = search.search_reports(principal, q, limit=100)
        assert {h.report.pk for h in reports.items} <= visible
        events = search.search_events(principal, q, limit=100)
        assert {h.event.pk for h in events.items} <= visible_events
        for hit in events.items:
            assert {r.report.pk for r in hit.reports} <= visible
            assert hit.match_count <= len(visible)


def test_event_found_only_through_visible_reports(world):
    # The health reporter sees event A through its own report, but 氰化物 is only in the
    # sensitive report: the event must not be found by it, nor show that report.
    assert found_events(world, "health", "爆炸") == {"A"}
    (hit,) = search.search_events(_principal(world, "health"), "爆炸").items
    assert [r.report.pk for r in hit.reports] == [world["reports"]["blast_hl"].pk]
    assert hit.match_count == 1
    assert found_events(world, "health", CYANIDE) == set()
    assert search.search_events(_principal(world, "health"), CYANIDE).total == 0


def test_sensitive_report_of_sibling_unit_is_hidden(world):
    """Reporters of sibling and other units, and an administrator, never find it."""
    for who in ("health", "environment", "public_security", "hexi", "admin", "county"):
        assert found_reports(world, who, "氰化物 泄漏") == set(), who
    assert found_reports(world, "duty", "氰化物 泄漏") == {"cyanide"}


# ------------------------------------------------------------------------ injection


HOSTILE = [
    '" OR 1=1 --',
    "NEAR(",
    "NEAR(爆炸 火灾, 2)",
    '爆炸" OR "氰化物',
    "氰化物 OR 爆炸",
    "title:氰化物",
    "body:氰化物 OR place:*",
    "* ",
    "^爆炸",
    "爆炸*",
    "-爆炸",
    "{title body}: 氰化物",
    "'; DROP TABLE events_report; --",
    "爆炸 AND NOT 火灾",
    '"',
    '""',
    "()",
    "%",
    "_",
    "\\",
    "！？。，",
    "&|!:*()<->",
    "爆炸 & 氰化物 | !火灾",
    "\x00爆炸",
]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_are_plain_words(world, q):
    for who in ("health", "admin", "duty"):
        principal = _principal(world, who)
        reports = search.search_reports(principal, q, limit=100)
        events = search.search_events(principal, q, limit=100)
        assert reports.total == len(reports.items)
        assert len(events.items) == events.total
        # every returned report really holds every query term
        for hit in reports.items:
            text = " ".join(search.document_of(hit.report))
            assert all(term in text.split() for term in reports.terms), (q, hit.report)
    assert found_reports(world, "health", '" OR 1=1 --') == set()
    assert found_reports(world, "admin", "氰化物 OR 爆炸") == set()
    assert Report.objects.count() == 8


def test_random_punctuation_never_errors(world):
    rng = random.Random(20261123)
    alphabet = list("\"'()*:^-+{}[],.;!?&|<>~`@#$%\\/ ") + ["NEAR", "AND", "OR", "NOT", "爆炸"]
    duty = _principal(world, "duty")
    for _ in range(200):
        q = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        search.search_reports(duty, q)
        search.search_events(duty, q)


# ------------------------------------------------------------------------ the index


def _index_rows() -> int:
    table = search.SQLITE_TABLE if connection.vendor == "sqlite" else search.POSTGRES_TABLE
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
        return cursor.fetchone()[0]


def test_index_written_with_the_report_and_rolled_back_with_it(world, monkeypatch):
    assert _index_rows() == Report.objects.count() == 8

    def broken_audit(*args, **kwargs):
        raise RuntimeError("审计写入失败")

    monkeypatch.setattr(services, "audit_change", broken_audit)
    with pytest.raises(RuntimeError):
        services.file_report(
            principal_for(world["people"]["hexi"]),
            unit=world["hexi"],
            kind=ReportKind.FIRST,
            channel=Channel.WEB,
            data={
                "title": "河西县水库险情",
                "category": EventCategory.objects.get(code="flood"),
                "occurred_at": clock.now(),
                "division_code": "990122",
                "place": "河西县红旗水库",
                "narrative": "红旗水库出现管涌险情。",
            },
        )
    assert _index_rows() == Report.objects.count() == 8
    assert found_reports(world, "duty", "管涌") == set()


def test_reindex_command_rebuilds(world, capsys):
    search.clear_index(connection)
    assert found_reports(world, "duty", "爆炸") == set()
    call_command("reindex_search")
    assert "8 份报告" in capsys.readouterr().out
    assert _index_rows() == 8
    assert found_reports(world, "duty", "爆炸") == {
        "blast",
        "blast_em",
        "cyanide",
        "blast_hl",
        "hexi",
    }


def test_merge_and_split_keep_results(world):
    duty = principal_for(world["people"]["duty"])
    merged = services.merge_events(duty, source=world["events"]["D"], target=world["events"]["A"])
    page = search.search_events(duty, "火灾")
    assert [h.event.pk for h in page.items] == [merged.pk]
    hexi = Report.objects.get(pk=world["reports"]["hexi"].pk)
    new_event = services.split_reports(duty, event=merged, reports=[hexi])
    page = search.search_events(duty, "火灾")
    assert [h.event.pk for h in page.items] == [new_event.pk]


def test_segmentation_matches_between_index_and_query():
    text = "江口县化工园区临江化工厂一车间发生爆炸"
    indexed = set(search.index_terms(text))
    assert set(search.query_terms(text)) <= indexed
    assert {"爆炸", "化工厂", "化工", "临江"} <= indexed
    assert search.fts5_match(['a"b', "爆炸"]) == '"a""b" "爆炸"'
    assert search.division_prefix_of("990100") == "9901"
    assert search.division_prefix_of("990000") == "99"
    assert search.division_prefix_of("990121") == "990121"


# ------------------------------------------------------------------------ the API


def _client(world, who) -> Client:
    client = Client()
    client.force_login(world["people"][who])
    return client


def test_api_returns_events_with_matching_reports(world):
    response = _client(world, "duty").get("/api/search", {"q": "氰化物"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == 1 and body["terms"] == ["氰化物"]
    (event,) = body["results"]
    assert event["id"] == world["events"]["A"].pk
    (report,) = event["reports"]
    assert report["id"] == world["reports"]["cyanide"].pk
    assert report["confidentiality"] == "敏感" and "氰化物" in report["snippet"]


@pytest.mark.parametrize("who", ["health", "admin", "hexi", "county"])
def test_api_hides_sensitive_matches(world, who):
    body = _client(world, who).get("/api/search", {"q": "氰化物 泄漏"}).json()
    assert body["total"] == 0 and body["results"] == []


def test_api_filters_and_pages(world):
    client = _client(world, "duty")
    body = client.get("/api/search", {"q": "爆炸", "division": "990122"}).json()
    assert [e["id"] for e in body["results"]] == [world["events"]["D"].pk]
    body = client.get("/api/search", {"q": "爆炸", "category": "hazchem", "grade": 3}).json()
    assert [e["id"] for e in body["results"]] == [world["events"]["A"].pk]
    one = client.get("/api/search", {"q": "爆炸", "page_size": 1}).json()
    two = client.get("/api/search", {"q": "爆炸", "page_size": 1, "page": 2}).json()
    assert one["total"] == two["total"] == 2
    assert {one["results"][0]["id"], two["results"][0]["id"]} == {
        world["events"]["A"].pk,
        world["events"]["D"].pk,
    }
    since = (clock.now() - timedelta(hours=3)).isoformat()
    body = client.get("/api/search", {"q": "爆炸", "since": since}).json()
    assert [e["id"] for e in body["results"]] == [world["events"]["A"].pk]


@pytest.mark.parametrize("q", HOSTILE[:6])
def test_api_hostile_query(world, q):
    response = _client(world, "health").get("/api/search", {"q": q})
    assert response.status_code == 200
    assert all(
        r["id"] != world["reports"]["cyanide"].pk
        for e in response.json()["results"]
        for r in e["reports"]
    )


def test_api_refuses_bad_filters_and_strangers(world):
    client = _client(world, "duty")
    assert client.get("/api/search", {"q": "爆炸", "status": "x"}).status_code == 422
    assert client.get("/api/search", {"q": "爆炸", "category": "nope"}).status_code == 422
    assert client.get("/api/search", {"q": "爆炸", "unit": 999999}).status_code == 422
    assert client.get("/api/search", {"q": "爆炸", "since": "昨天"}).status_code == 422
    assert client.get("/api/search", {"q": "爆炸", "division": "abc"}).status_code == 422
    assert Client().get("/api/search", {"q": "爆炸"}).status_code == 401


def test_api_with_unit_token(world, system):
    from fenghuo.org import services as org_services

    _, plaintext = org_services.token_issue(system, unit=world["emergency"], name="应急局系统")
    client = Client(headers={"Authorization": f"Bearer {plaintext}"})
    # A token acts as the unit's reporter: 内部 at most, its own unit only.
    body = client.get("/api/search", {"q": "爆炸"}).json()
    ids = {r["id"] for e in body["results"] for r in e["reports"]}
    assert ids == {world["reports"]["blast_em"].pk}
