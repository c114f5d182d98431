"""信息专报 as Word: layout after GB/T 9704, content of first / follow-up / final reports,
and the export's access check."""

import zipfile
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from zoneinfo import ZoneInfo

import docx
import pytest
from django.test import Client
from docx.oxml.ns import qn
from docx.shared import Pt

from fenghuo.core.models import Confidentiality
from fenghuo.documents import docx as official
from fenghuo.events import documents, services
from fenghuo.events.models import Channel, ReportKind
from tests.events.world import NARRATIVE, file_first, module_world, principal

pytestmark = pytest.mark.django_db

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    yield from module_world(django_db_blocker)


def _open(content: bytes) -> docx.document.Document:
    return docx.Document(BytesIO(content))


def _texts(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def _part(content: bytes, name: str) -> str:
    with zipfile.ZipFile(BytesIO(content)) as archive:
        return archive.read(name).decode()


def _download(world, who, report) -> tuple[int, bytes, dict]:
    client = Client()
    client.force_login(world["people"][who])
    response = client.get(f"/api/reports/{report.pk}/document.docx")
    return response.status_code, response.content, response


def _first(world, **data):
    return file_first(
        world,
        "county",
        dead=3,
        injured=5,
        economic_loss=Decimal("120.00"),
        evacuated=500,
        subjects="临江化工厂一车间当班工人",
        measures="消防、医疗力量已到场救援，周边 1 公里群众已疏散。",
        next_steps="继续搜救被困人员，监测空气和水体。",
        source="江口县化工园区管委会电话报告",
        **data,
    )


def test_first_report_document(world):
    filed = _first(world)
    status, content, response = _download(world, "county", filed.report)
    assert status == 200, content
    assert response["Content-Type"] == DOCX
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''" in response["Content-Disposition"]

    document = _open(content)
    texts = _texts(document)
    full = "\n".join(texts)
    assert texts[0] == "内部"  # confidentiality mark, top left
    assert "信息专报" in texts
    assert "关于江口县化工园区发生爆炸的首报" in texts
    assert any(t.startswith("江口县委办公室\t签发人：张县") for t in texts)
    assert f"事件经过：{NARRATIVE}" in texts
    assert "事发地点：江口县化工园区临江化工厂。" in texts
    assert "涉及人员：临江化工厂一车间当班工人" in texts
    assert "截至报告时，造成3人死亡、5人受伤；直接经济损失约120万元；紧急疏散500人。" in texts
    assert "三、已采取的措施" in texts and "四、下一步工作" in texts
    assert "事件原因正在调查核实中。" in texts
    assert "信息来源：江口县化工园区管委会电话报告；可靠程度：初步核实。" in texts
    assert "（联系人：陈信息；联系电话：0999-1234567）" in texts
    assert full.count("江口县委办公室") >= 2  # 版头 and 落款
    received = official.chinese_date(filed.report.submitted_at)
    assert received in texts

    # Page: A4, GB/T 9704 margins.
    section = document.sections[0]
    page = [section.page_width, section.page_height]
    margins = [section.top_margin, section.bottom_margin, section.left_margin, section.right_margin]
    assert [round(length.mm) for length in page] == [210, 297]  # stored in twips
    assert [round(length.mm) for length in margins] == [37, 35, 28, 26]

    # 页码: a PAGE field between 一字线, in the odd and the even footer.
    for name in ("word/footer1.xml", "word/footer2.xml"):
        footer = _part(content, name)
        assert "PAGE" in footer and "fldChar" in footer and footer.count("—") == 2
    assert "evenAndOddHeaders" in _part(content, "word/settings.xml")

    # Fonts: east-Asian font names set on runs and as document defaults, Noto as stand-in.
    body = _part(content, "word/document.xml")
    assert 'w:eastAsia="仿宋_GB2312"' in body
    assert 'w:eastAsia="方正小标宋简体"' in body  # the title
    assert 'w:eastAsia="楷体_GB2312"' in body  # the signer's name
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault"))
    fonts = defaults.find(qn("w:rPr")).find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert fonts.get(qn("w:eastAsiaTheme")) is None  # a theme font would win over the name
    fonts = _part(content, "word/fontTable.xml")
    assert '<w:font w:name="仿宋_GB2312"><w:altName w:val="Noto Serif CJK SC"/>' in fonts
    assert '<w:font w:name="黑体"><w:altName w:val="Noto Sans CJK SC"/>' in fonts
    title = next(p for p in document.paragraphs if p.text.startswith("关于"))
    assert title.runs[0].font.size == Pt(22)  # 2号
    narrative = next(p for p in document.paragraphs if p.text.startswith("事件经过"))
    assert narrative.runs[0].font.size == Pt(16)  # 3号
    assert narrative.paragraph_format.first_line_indent == Pt(32)  # 首行缩进二字


def test_followup_and_final_titles_and_sections(world):
    filed = _first(world)
    county = principal(world, "county")

    def file(kind, **data):
        return services.file_report(
            county,
            unit=world["county"],
            kind=kind,
            channel=Channel.WEB,
            event=filed.event,
            data=data,
        ).report

    one = file(ReportKind.FOLLOWUP, narrative="新增死亡 1 人，被困人员已全部救出。", dead=4)
    final = file(
        ReportKind.FINAL,
        narrative="事故处置完毕。",
        cause="车间反应釜超温超压，操作人员违规作业。",
        handling_summary="搜救、医疗救治和环境监测已完成。",
        aftercare="遇难者家属安抚和理赔工作正在进行。",
        dead=4,
        injured=0,
    )
    texts = _texts(_open(documents.render_report(one)))
    assert "关于江口县化工园区发生爆炸的续报一" in texts
    assert any(
        t.startswith("江口县委办公室已于") and t.endswith("报送首报，现将有关进展续报如下。")
        for t in texts
    )
    assert "截至报告时，造成4人死亡。" in texts

    texts = _texts(_open(documents.render_report(final)))
    assert "关于江口县化工园区发生爆炸的终报" in texts
    assert "现将事件处置情况终报如下。" in texts
    headings = [t for t in texts if t[:2] in {"一、", "二、", "三、", "四、", "五、", "六、"}]
    assert headings == [
        "一、基本情况",
        "二、人员伤亡和损失情况",
        "三、事件原因",
        "四、处置情况",
        "五、善后工作",
    ]
    assert "车间反应釜超温超压，操作人员违规作业。" in texts
    assert "我们将密切关注事态发展，有关情况及时续报。" not in texts
    assert documents.document_filename(final) == "江口县委办公室-终报-江口县化工园区发生爆炸.docx"


def test_marks_signer_and_missing_figures(world):
    public = file_first(world, "health", mark=Confidentiality.PUBLIC, is_urgent=True)
    texts = _texts(_open(documents.render_report(public.report)))
    assert texts[0] == "特急" and "内部" not in texts and "公开" not in texts
    # The public security bureau has no 单位领导 on record: a blank line to sign on.
    security = file_first(world, "public_security", mark=Confidentiality.SENSITIVE)
    document = _open(documents.render_report(security.report))
    texts = _texts(document)
    assert texts[0] == "敏感"
    line = next(p for p in document.paragraphs if "签发人：" in p.text)
    assert line.text.endswith("签发人：\u3000\u3000\u3000\u3000")
    assert line.runs[-1].font.underline is True  # a blank line to sign on
    assert "人员伤亡和经济损失情况正在核查，有关情况将及时续报。" in texts
    assert "信息来源：江口县公安局；可靠程度：初步核实。" in texts


def test_only_readers_of_the_report_may_export_it(world):
    filed = _first(world)
    assert _download(world, "county", filed.report)[0] == 200  # the author's unit
    assert _download(world, "city_duty", filed.report)[0] == 200  # office above
    assert _download(world, "health", filed.report)[0] == 404  # another unit's reporter
    assert _download(world, "other_duty", filed.report)[0] == 404  # another county
    assert _download(world, "expert", filed.report)[0] == 404  # not invited
    sensitive = _first(world, mark=Confidentiality.SENSITIVE)
    assert _download(world, "analyst", sensitive.report)[0] == 404  # above, but 内部 clearance
    assert _download(world, "city_duty", sensitive.report)[0] == 200
    assert Client().get(f"/api/reports/{filed.report.pk}/document.docx").status_code == 401
    client = Client()
    client.force_login(world["people"]["county"])
    assert client.get("/api/reports/987654/document.docx").status_code == 404


def test_dates_in_chinese():
    shanghai = ZoneInfo("Asia/Shanghai")
    moment = datetime(2026, 11, 22, 17, 5, tzinfo=ZoneInfo("UTC"))  # 01:05 on the 23rd
    assert official.chinese_date(moment) == "2026年11月23日"
    assert official.chinese_date(date(2026, 1, 30), hanzi=True) == "二〇二六年一月三十日"
    assert official.chinese_date(date(2026, 12, 11), hanzi=True) == "二〇二六年十二月十一日"
    assert official.chinese_datetime(moment.astimezone(shanghai)) == "2026年11月23日1时05分"
