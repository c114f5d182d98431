"""The bulletin (通报): the period's ranking frozen with its cases and findings, as .xlsx
and .docx, circulated through the outbox. The issue's check: the .xlsx opens with
openpyxl and its numbers equal the page's (the page rendered and parsed)."""

from io import BytesIO

import lxml.html
import pytest
from django.test import Client
from docx import Document
from openpyxl import load_workbook

from fenghuo.assess.metrics import COLUMNS
from fenghuo.assess.models import Bulletin
from fenghuo.core.models import AuditEntry
from fenghuo.notify.models import Message
from fenghuo.org.models import Person
from tests.assess.world import EXPECTED

pytestmark = pytest.mark.django_db


def client_of(world, who: str) -> Client:
    client = Client()
    client.force_login(Person.objects.get(pk=world["people"][who].pk))
    return client


def value(cell):
    """A table cell or spreadsheet value as a number, text or None ("—")."""
    if cell is None:
        return None
    text = str(cell).strip()
    if text in ("", "—"):
        return None
    try:
        return float(text)
    except ValueError:
        return text


def page_table(html: str) -> list[list]:
    table = lxml.html.fromstring(html).get_element_by_id("ranking-table")
    header = [th.text_content().strip() for th in table.xpath(".//thead//th")]
    assert header == list(COLUMNS.values())
    rows = table.xpath(".//tbody/tr")
    return [[value(td.text_content()) for td in row.xpath("./td")] for row in rows]


def sheet_table(content: bytes) -> list[list]:
    book = load_workbook(BytesIO(content))
    sheet = book["排名"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(COLUMNS.values())
    return [[value(cell) for cell in row] for row in rows[1:]]


def expected_table() -> list[list]:
    return [[value(row[key]) for key in COLUMNS] for row in EXPECTED]


def test_the_ranking_page_and_its_spreadsheet_show_the_same_numbers(period, at_now):
    client = client_of(period, "city_duty")
    page = client.get("/assess/", {"period": "2026-01"})
    sheet = client.get("/assess/ranking.xlsx", {"period": "2026-01"})
    assert sheet["Content-Type"].startswith("application/vnd.openxmlformats")
    assert page_table(page.content.decode()) == sheet_table(sheet.content) == expected_table()
    api = client.get("/api/assess/ranking.xlsx?period=2026-01")
    assert sheet_table(api.content) == expected_table()


def test_a_bulletin_is_frozen_numbered_and_its_spreadsheet_equals_its_page(period, at_now):
    client = client_of(period, "city_duty")
    body = {"office_id": period["city"].pk, "period": "2026-01"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "bulletin-2026-1"}
    first = client.post("/api/assess/bulletins", body, content_type="application/json", **headers)
    again = client.post("/api/assess/bulletins", body, content_type="application/json", **headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and Bulletin.objects.count() == 1
    bulletin = Bulletin.objects.get()
    assert (bulletin.title, bulletin.year, bulletin.sequence) == (
        "关于2026年1—2月紧急信息报送情况的通报",
        2026,
        1,
    )
    page = client.get(f"/assess/bulletins/{bulletin.pk}/")
    sheet = client.get(f"/assess/bulletins/{bulletin.pk}/bulletin.xlsx")
    assert page_table(page.content.decode()) == sheet_table(sheet.content) == expected_table()
    # The counted cases and their kinds, not the suspicions nor what was merged.
    kinds = sorted((c["unit"], c["kind_label"]) for c in bulletin.cases)
    assert kinds == [
        ("江口县公安局", "漏报"),
        ("江口县公安局", "漏报"),
        ("江口县公安局", "瞒报"),
        ("江口县委办公室", "漏报"),
        ("江口县应急管理局", "泄密事件"),
        ("江口县应急管理局", "迟报"),
    ]
    book = load_workbook(BytesIO(sheet.content))
    assert book["问题清单"].max_row == 1 + len(bulletin.cases)

    docx = client.get(f"/assess/bulletins/{bulletin.pk}/bulletin.docx")
    document = Document(BytesIO(docx.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "紧急信息报送工作通报" in text and "2026年第1期" in text
    assert "本期参加考核单位 6 个，应履行报送义务 17 项，按时 13 项" in text
    table = document.tables[0]
    assert [c.text for c in table.rows[1].cells][:3] == ["1", "临江日报社", "100.0"]
    # A second bulletin of the year is number 2; the ranking is unchanged, frozen or not.
    second = client.post("/api/assess/bulletins", body, content_type="application/json")
    assert second.json()["sequence"] == 2


def test_circulating_tells_every_ranked_unit_once_and_opens_the_bulletin_to_them(period, at_now):
    client = client_of(period, "city_duty")
    made = client.post(
        "/api/assess/bulletins",
        {"office_id": period["city"].pk, "period": "2026-01"},
        content_type="application/json",
    ).json()
    pk = made["id"]
    # Before it is circulated, a ranked unit does not see it.
    assert client_of(period, "police").get(f"/api/assess/bulletins/{pk}").status_code == 404
    # The city's analyst and the province's duty officer read it but do not circulate it.
    for who in ("analyst", "province_duty"):
        assert client_of(period, who).get(f"/api/assess/bulletins/{pk}").status_code == 200
        refused = client_of(period, who).post(f"/api/assess/bulletins/{pk}/circulate")
        assert refused.status_code == 403
    done = client.post(f"/api/assess/bulletins/{pk}/circulate")
    assert done.status_code == 200 and done.json()["circulated_at"]
    messages = Message.objects.filter(key__startswith=f"bulletin:{pk}:unit:", channel="inapp")
    assert {m.person.username for m in messages} == {
        "media_reporter",
        "university_reporter",
        "county_duty",
        "county_leader",
        "county_reporter",
        "police_reporter",
        "emergency_reporter",
        "emergency_leader",
        "other_duty",
        "other_reporter",
    }
    police = messages.get(person__username="police_reporter")
    assert "你单位排名第 4 位，总分 43.9" in police.body
    count = Message.objects.count()
    assert client.post(f"/api/assess/bulletins/{pk}/circulate").status_code == 200
    assert Message.objects.count() == count
    assert AuditEntry.objects.filter(action="assess.bulletin.circulate").count() == 1
    # Now each ranked unit reads it; a unit outside it, or an expert, does not.
    assert client_of(period, "police").get(f"/api/assess/bulletins/{pk}").status_code == 200
    assert (
        client_of(period, "police").get(f"/assess/bulletins/{pk}/bulletin.xlsx").status_code == 200
    )
    for who in ("province_media", "expert"):
        assert client_of(period, who).get(f"/api/assess/bulletins/{pk}").status_code == 404
