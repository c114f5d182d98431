"""Daily and special opinion reports: .docx files with the sections and chart pictures,
downloaded only by analysts and duty officers, a special report only of a visible scheme."""

from io import BytesIO

import pytest
from django.urls import reverse
from docx import Document

from fenghuo.opinion import reports, services
from fenghuo.org.policy import principal_for
from tests.opinion.conftest import post

SECTIONS = [
    "一、总体情况",
    "二、声量与情感走势",
    "三、热点话题",
    "四、负面与风险信息",
    "五、应对建议",
]
DAY = "2026-11-23"


@pytest.fixture
def scheme(world):
    return services.scheme_create(
        principal_for(world.city_analyst),
        name="临江危化",
        expression_text="临江市 AND (爆炸 OR 泄漏)",
        owner_unit=world.city,
    )


@pytest.fixture
def posts(world, scheme):
    services.ingest(
        [
            post("1", "临江市化工厂爆炸，伤亡惨重，太可怕了", author="临江日报", likes=500),
            post("2", "临江市化工厂爆炸后群众被疏散，非常愤怒", author="路人甲"),
            post("3", "东山市今天天气很好", platform="news"),
        ],
        source="test",
    )


def _text(content: bytes) -> tuple[str, int]:
    doc = Document(BytesIO(content))
    return "\n".join(p.text for p in doc.paragraphs), len(doc.inline_shapes)


def test_daily_report_has_the_sections_and_charts(world, posts):
    document = reports.daily_report(principal_for(world.city_duty), day=DAY)
    text, pictures = _text(document.content)
    for heading in SECTIONS:
        assert heading in text
    assert pictures >= 2
    assert "共监测到相关信息3条" in text
    assert "服务器未安装中文字体" not in text  # fonts-noto-cjk is installed here
    assert document.filename == "舆情日报（2026年11月23日）.docx"


def test_special_report_holds_only_the_schemes_posts(world, scheme, posts):
    document = reports.special_report(
        principal_for(world.city_analyst), scheme, start="2026-11-20", end=DAY
    )
    text, pictures = _text(document.content)
    for heading in SECTIONS:
        assert heading in text
    assert pictures >= 2
    assert "共监测到相关信息2条" in text
    assert "临江危化" in text


@pytest.mark.parametrize(
    ("who", "status"), [("city_analyst", 200), ("city_duty", 200), ("city_reporter", 403)]
)
def test_daily_report_download(world, client, posts, who, status):
    client.force_login(getattr(world, who))
    answer = client.get(reverse("opinion-report", args=["daily"]), {"day": DAY})
    assert answer.status_code == status
    if status == 200:
        assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
        assert "filename*=UTF-8''" in answer["Content-Disposition"]
        assert "一、总体情况" in _text(answer.content)[0]


def test_special_report_download_of_an_invisible_scheme(world, client, scheme, posts):
    client.force_login(world.other_analyst)
    url = reverse("opinion-report", args=["special"])
    assert client.get(url, {"scheme": scheme.pk}).status_code == 404
    client.force_login(world.province_analyst)
    assert client.get(url, {"scheme": scheme.pk, "end": DAY}).status_code == 200


def test_bad_dates_are_refused_in_chinese(world, client, scheme):
    client.force_login(world.city_analyst)
    answer = client.get(reverse("opinion-report", args=["daily"]), {"day": "23/11"})
    assert answer.status_code == 422
    assert "日期格式应为" in answer.content.decode()
    answer = client.get(
        reverse("opinion-report", args=["special"]),
        {"scheme": scheme.pk, "start": "2026-11-24", "end": DAY},
    )
    assert answer.status_code == 422
    assert "开始日期不能晚于结束日期" in answer.content.decode()


def test_recommendations_follow_the_figures():
    assert reports.recommendations(0, 0, [], []) == ["本期舆情总体平稳，建议保持日常监测。"]
    lines = reports.recommendations(10, 5, [], [])
    assert "负面信息占比50%" in lines[0]
