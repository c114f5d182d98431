"""The issue's check: a period of known on-time, late and missing reports, every figure
and the ranking exactly (the cast and the period are in world.py, with the expected table
worked out by hand in build_period's docstring)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from fenghuo.assess import metrics
from fenghuo.assess.models import Case, CaseState
from fenghuo.assess.periods import Period
from fenghuo.events import services as event_services
from fenghuo.events.models import EventStatus
from fenghuo.org.models import Person
from tests.assess.world import EXPECTED
from tests.events.world import principal

pytestmark = pytest.mark.django_db

JAN_FEB = Period.bimonth(date(2026, 1, 15))


def _table(rows):
    return [{key: row.as_dict()[key] for key in EXPECTED[0]} for row in rows]


def test_every_figure_and_the_ranking_of_the_period(period, at_now):
    assert _table(metrics.ranking(period["city"], JAN_FEB)) == EXPECTED


def test_the_period_merged_its_late_case_into_the_missed_one(period, at_now):
    e8 = period["e8"].event
    cases = {c.kind: c for c in Case.objects.filter(event=e8)}
    assert cases["late"].state == CaseState.MERGED
    assert cases["late"].merged_into == cases["missed"]
    assert cases["missed"].obligation_links.count() == 1


def test_any_range_on_demand(period, at_now):
    # January alone: E4, E5 and E8 (February) drop out, so does the letter.
    january = Period(date(2026, 1, 1), date(2026, 1, 31))
    rows = {r.unit: r for r in metrics.ranking(period["city"], january)}
    police = rows["江口县公安局"]
    assert (police.due, police.on_time, police.missed, police.delays) == (6, 4, 2, [30.0, 120.0])
    assert (police.concealed_cases, police.letters_overdue, police.adopted) == (0, 0, 1)
    assert rows["河西县委办公室"].score is None  # listed (an office), nothing in January
    assert rows["江口县委办公室"].due == 2  # its E3 report and E3 area duty


def test_a_period_runs_on_beijing_dates():
    period = Period.bimonth(date(2026, 2, 28))
    start, end = period.bounds()
    cst = ZoneInfo("Asia/Shanghai")
    assert (start, end) == (datetime(2026, 1, 1, tzinfo=cst), datetime(2026, 3, 1, tzinfo=cst))
    assert (period.label, period.key) == ("2026年1—2月", "2026-01")
    assert Period.bimonth(date(2026, 12, 5)).label == "2026年11—12月"
    assert Period.bimonth(date(2026, 3, 1)).previous() == period
    custom = Period(date(2026, 1, 5), date(2026, 3, 1))
    assert (custom.label, custom.key) == ("2026年1月5日—3月1日", "2026-01-05~2026-03-01")


def test_the_items_behind_each_figure_are_what_it_counts(period, at_now):
    police = period["police"]
    items = metrics.figure_items(police, JAN_FEB, "timeliness")
    assert [i.outcome for i in items].count("on_time") == 7
    assert [i.outcome for i in items].count("missed") == 2
    delays = metrics.figure_items(police, JAN_FEB, "delay")
    assert [i.outcome_label for i in delays] == ["30.0 分钟", "120.0 分钟", "20.0 分钟"]
    missed = metrics.figure_items(police, JAN_FEB, "missed")
    assert len(missed) == 2 and all(i.link.startswith("/assess/cases/") for i in missed)
    accuracy = metrics.figure_items(police, JAN_FEB, "accuracy")
    assert [(i.what, i.outcome_label) for i in accuracy] == [("死亡：报送 1，核实 3", "少报")]


def test_an_event_found_false_counts_nowhere(period, at_now):
    event_services.change_status(
        principal(period, "other_duty"), period["e4"].event, EventStatus.FALSE, note="不实"
    )
    rows = {r.unit: r for r in metrics.ranking(period["city"], JAN_FEB)}
    other = rows["河西县委办公室"]
    assert (other.score, other.due, other.first_reports, other.reports) == (None, 0, 0, 0)


def test_the_scorecard_over_the_api_with_its_trend(period, at_now):
    client = Client()
    client.force_login(Person.objects.get(pk=period["people"]["county_duty"].pk))
    body = client.get(f"/api/assess/units/{period['police'].pk}/scorecard?period=2026-01").json()
    assert body["figures"]["score"] == 43.9 and body["figures"]["missed_cases"] == 2
    assert [t["period"]["key"] for t in body["trend"]] == [
        "2025-03",
        "2025-05",
        "2025-07",
        "2025-09",
        "2025-11",
        "2026-01",
    ]
    assert body["trend"][-1]["score"] == 43.9 and body["trend"][0]["score"] is None
    items = client.get(
        f"/api/assess/units/{period['police'].pk}/figures/missed?period=2026-01"
    ).json()
    assert len(items) == 2
    unknown = client.get(f"/api/assess/units/{period['police'].pk}/figures/nope?period=2026-01")
    assert unknown.status_code == 422
