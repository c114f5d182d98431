"""Who reads what of evaluation — a matrix of roles × places in the tree over the period,
through the selectors, the pages, the API and the exported files: rankings, scorecards and
the items behind them, area duties, cases, letters (and their .docx), the desk panel."""

from io import BytesIO

import pytest
from django.test import Client
from openpyxl import load_workbook

from fenghuo.assess import selectors
from fenghuo.assess.models import Case
from fenghuo.org.models import Person
from tests.events.world import principal

pytestmark = pytest.mark.django_db

CITY_UNITS = {
    "临江日报社",
    "临江大学",
    "江口县委办公室",
    "江口县公安局",
    "江口县应急管理局",
    "河西县委办公室",
}
ALL_CASES = {
    ("江口县公安局", "missed", 2),
    ("江口县公安局", "concealed", 1),
    ("江口县应急管理局", "late", 1),
    ("江口县应急管理局", "confidentiality", 1),
    ("江口县委办公室", "late", 1),
    ("江口县委办公室", "missed", 1),
}
POLICE = {c for c in ALL_CASES if c[0] == "江口县公安局"}
EMERGENCY = {c for c in ALL_CASES if c[0] == "江口县应急管理局"}
COUNTY = {c for c in ALL_CASES if c[0] == "江口县委办公室"}

# who → (cases seen, reads the police's letter, units ranked (None: no ranking), sees the
#        police's scorecard)
MATRIX = {
    "city_duty": (ALL_CASES, True, CITY_UNITS, True),
    "city_leader": (ALL_CASES, True, CITY_UNITS, True),
    "group_leader": (ALL_CASES, True, CITY_UNITS, True),
    "city_admin": (ALL_CASES, True, CITY_UNITS, True),
    "analyst": (ALL_CASES, True, None, True),  # reads its city's units, ranks none
    "expert": (set(), False, None, False),
    "province_duty": (
        ALL_CASES,
        True,
        CITY_UNITS | {"江南日报社", "临江市委办公室"},
        True,
    ),
    "county_duty": (ALL_CASES, True, {"江口县公安局", "江口县应急管理局"}, True),
    "county_leader": (ALL_CASES, True, {"江口县公安局", "江口县应急管理局"}, True),
    "county": (COUNTY, False, None, False),  # a reporter: its own unit only
    "police": (POLICE, True, None, True),
    "emergency": (EMERGENCY, False, None, False),
    "emergency_leader": (EMERGENCY, False, None, False),
    "other_duty": (set(), False, None, False),  # the other county
    "media": (set(), False, None, False),
    "province_media": (set(), False, None, False),
}


def client_of(world, who: str) -> Client:
    client = Client()
    client.force_login(Person.objects.get(pk=world["people"][who].pk))
    return client


def _grouped(cases) -> set[tuple[str, str, int]]:
    counts: dict[tuple[str, str], int] = {}
    for unit, kind in cases:
        counts[unit, kind] = counts.get((unit, kind), 0) + 1
    return {(unit, kind, n) for (unit, kind), n in counts.items()}


@pytest.mark.parametrize(("who", "expected"), MATRIX.items())
def test_cases_through_the_selector_the_api_and_the_pages(period, at_now, who, expected):
    cases_seen = expected[0]
    p = principal(period, who)
    assert _grouped((c.unit.name, c.kind) for c in selectors.cases_visible(p)) == cases_seen
    client = client_of(period, who)
    api = client.get("/api/assess/cases?limit=500").json()
    assert _grouped((c["unit"], c["kind"]) for c in api) == cases_seen
    page = client.get("/assess/cases/").content.decode()
    for case in Case.objects.all():
        seen = (case.unit.name, case.kind) in {(u, k) for u, k, _ in cases_seen}
        assert (f'href="/assess/cases/{case.pk}/"' in page) == seen
        assert client.get(f"/assess/cases/{case.pk}/").status_code == (200 if seen else 404)
        assert client.get(f"/api/assess/cases/{case.pk}").status_code == (200 if seen else 404)


@pytest.mark.parametrize(("who", "expected"), MATRIX.items())
def test_the_letter_and_its_word_document(period, at_now, who, expected):
    reads = expected[1]
    letter = period["letter"]
    client = client_of(period, who)
    status = 200 if reads else 404
    assert client.get(f"/assess/letters/{letter.pk}/").status_code == status
    assert client.get(f"/assess/letters/{letter.pk}/letter.docx").status_code == status
    assert client.get(f"/api/assess/letters/{letter.pk}").status_code == status
    assert client.get(f"/api/assess/letters/{letter.pk}/letter.docx").status_code == status
    listed = {x["id"] for x in client.get("/api/assess/letters").json()}
    assert (letter.pk in listed) == reads
    assert (letter.number in client.get("/assess/letters/").content.decode()) == reads


@pytest.mark.parametrize(("who", "expected"), MATRIX.items())
def test_the_ranking_page_api_and_spreadsheet(period, at_now, who, expected):
    ranked = expected[2]
    client = client_of(period, who)
    api = client.get("/api/assess/ranking?period=2026-01")
    sheet = client.get("/assess/ranking.xlsx?period=2026-01")
    page = client.get("/assess/?period=2026-01")
    assert page.status_code == 200
    if ranked is None:
        assert api.status_code == 422
        assert api.json()["errors"] == {"office_id": ["无可查看排名的单位"]}
        assert sheet.status_code == 404
        assert "您没有可查看排名的单位" in page.content.decode()
        return
    assert {row["unit"] for row in api.json()["rows"]} == ranked
    rows = list(load_workbook(BytesIO(sheet.content))["排名"].iter_rows(values_only=True))[1:]
    assert {row[1] for row in rows} == ranked
    html = page.content.decode()
    for unit in CITY_UNITS | {"江南日报社"}:
        assert (f">{unit}</a></td>" in html) == (unit in ranked)


@pytest.mark.parametrize(("who", "expected"), MATRIX.items())
def test_a_units_scorecard_items_and_duties(period, at_now, who, expected):
    sees = expected[3]
    police = period["police"].pk
    client = client_of(period, who)
    status = 200 if sees else 404
    assert client.get(f"/assess/units/{police}/?period=2026-01").status_code == status
    assert (
        client.get(f"/assess/units/{police}/figures/missed/?period=2026-01").status_code == status
    )
    assert client.get(f"/api/assess/units/{police}/scorecard?period=2026-01").status_code == status
    assert (
        client.get(f"/api/assess/units/{police}/figures/missed?period=2026-01").status_code
        == status
    )
    duties = {d["unit"] for d in client.get("/api/assess/duties").json()}
    assert ("江口县公安局" in duties) == sees


@pytest.mark.parametrize(
    ("who", "to_decide"),
    [
        # The open cases below the city: the police's two 漏报, the emergency bureau's 迟报
        # and 泄密, the county's 漏报 (the police's 瞒报 is confirmed, the county's 迟报 merged).
        ("city_duty", 5),
        ("county_duty", 4),  # below the county only: not its own
        ("county_leader", 4),
        ("police", 0),  # never its own
        ("analyst", 0),  # not an evaluator
        ("other_duty", 0),
    ],
)
def test_the_desk_asks_evaluators_to_decide_what_is_below_them(period, at_now, who, to_decide):
    p = principal(period, who)
    assert selectors.cases_to_decide(p).count() == to_decide
    panel = client_of(period, who).get("/desk/panels/assess/").content.decode()
    assert panel.count("data-case=") == to_decide
