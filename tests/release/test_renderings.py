"""Renderings: the press release (.docx in official layout, with every part), and the
Weibo / WeChat texts within their limits, cut cleanly and ending with the link."""

from io import BytesIO

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fenghuo.release import renderings, services
from fenghuo.release.renderings import ELLIPSIS, clip, fit
from tests.release.world import PARTS, draft, file_event, principal, published

pytestmark = pytest.mark.django_db


def _paragraphs(content: bytes) -> list[str]:
    return [p.text for p in docx.Document(BytesIO(content)).paragraphs]


def test_the_press_release_has_every_part(world):
    event = file_event(world)
    version = published(world, event, cause="初步判断为反应釜超压所致。")
    content = renderings.render_press_release(version)
    text = _paragraphs(content)
    joined = "\n".join(text)
    assert "新闻通稿" in text
    assert PARTS["title"] in text
    assert [t for t in text if t[:2] in ("一、", "二、", "三、", "四、")] == [
        "一、事件概况",
        "二、影响范围",
        "三、应对措施",
        "四、防范建议",
    ]
    for part in ("overview", "impact", "measures", "advice"):
        assert PARTS[part] in text, part
    assert "原因：初步判断为反应釜超压所致。" in text
    assert f"联系方式：{PARTS['contact']}" in text
    assert "江口县应急管理局\t第1版" in text  # issuing body and edition over the red rule
    assert text.count("江口县应急管理局") == 1  # the signature
    assert f"/public/releases/{version.release_id}/" in joined
    assert "草稿" not in joined and "送审稿" not in joined and "演练" not in joined
    document = docx.Document(BytesIO(content))
    assert document.core_properties.title == PARTS["title"]
    assert document.sections[0].page_width.mm == pytest.approx(210, abs=0.5)


def test_an_unpublished_or_drill_press_release_is_marked(world):
    event = file_event(world)
    version = draft(world, event, is_drill=True)
    assert _paragraphs(renderings.render_press_release(version))[:2] == ["演练", "草稿"]
    services.submit(principal(world, "reporter"), version)
    version.refresh_from_db()
    assert _paragraphs(renderings.render_press_release(version))[1] == "送审稿"
    assert renderings.press_release_filename(version) == (
        f"江口县应急管理局-新闻通稿-第1稿-{PARTS['title']}.docx"
    )


def test_short_texts_fit_and_end_with_the_link(world):
    event = file_event(world)
    version = published(world, event)
    texts = renderings.texts(version)
    link = f"http://127.0.0.1:8000/public/releases/{version.release_id}/"
    assert texts.link == link
    for name, (length, limit) in texts.lengths().items():
        assert length <= limit, name
    assert texts.weibo_long.startswith(f"【{PARTS['title']}】时间：")
    assert texts.weibo_long.endswith(f"（江口县应急管理局）\n详情：{link}")
    for part in ("overview", "impact", "measures", "advice"):
        assert PARTS[part] in texts.weibo_long, part
    # The headline, time, place and what happened fit in 140 characters whole.
    assert texts.weibo_short.startswith(f"【{PARTS['title']}】时间：")
    assert texts.weibo_short.endswith(f"现场明火已扑灭。详情：{link}")
    assert texts.wechat_title == PARTS["title"]
    assert texts.wechat_summary.startswith("时间：") and "一车间发生爆炸" in texts.wechat_summary
    assert texts.wechat_body.endswith(f"阅读原文：{link}")
    assert "防范建议\n" + PARTS["advice"] in texts.wechat_body


def test_long_texts_are_cut_cleanly(world, settings):
    settings.FENGHUO_PUBLIC_BASE_URL = "https://yjxx.example.gov.cn"
    event = file_event(world)
    sentence = "消防救援队伍连续作业，现场共转移周边群众1200人。"
    version = draft(
        world,
        event,
        title="关于" + "江口县化工园区临江化工厂一车间" * 6 + "爆炸事故的情况通报",
        overview=sentence * 120,  # 3,000 characters
        advice="请关闭门窗。" * 3000,  # 18,000 characters: with the rest over 20,000
    )
    texts = renderings.texts(version)
    link = f"https://yjxx.example.gov.cn/public/releases/{version.release_id}/"
    assert len(texts.weibo_long) == pytest.approx(renderings.WEIBO_LONG_LIMIT, abs=30)
    for name, (length, limit) in texts.lengths().items():
        assert length <= limit, name
    for text, tail in (
        (texts.weibo_long, f"{ELLIPSIS}\n详情：{link}"),
        (texts.weibo_short, f"{ELLIPSIS}详情：{link}"),
        (texts.wechat_body, f"{ELLIPSIS}\n\n阅读原文：{link}"),
        (texts.wechat_summary, ELLIPSIS),
        (texts.wechat_title, ELLIPSIS),
    ):
        assert text.endswith(tail)
        before = text.removesuffix(tail)
        assert before[-1] not in "，、：；。（《【"  # a clean end
    # The long post ends where a sentence ended, the number in it whole.
    assert texts.weibo_long.removesuffix(f"{ELLIPSIS}\n详情：{link}").endswith("1200人")


def test_a_number_is_never_cut(world):
    assert clip("截至目前已转移群众123456789人", 17) == "截至目前已转移群众……"
    assert clip("共有 ABCDEFGH 参与", 8) == "共有……"
    assert clip("一二三四五，六七八九十。", 9) == "一二三四五……"
    assert clip("一二三四五。六七八九十。", 20) == "一二三四五。六七八九十。"
    assert clip("他说《某某某某某某某某》", 9) == "他说……"  # no bracket left open


TEXT = st.text(
    alphabet=st.sampled_from(
        list("应急管理局发布通报事故群众〇一二三0123456789AZaz.%，。！？；、：（）《》【】 \n")
    ),
    max_size=400,
)


@given(text=TEXT, limit=st.integers(min_value=1, max_value=300))
@settings(max_examples=400, deadline=None)
def test_clip_fits_and_ends_cleanly(text, limit):
    result = clip(text, limit)
    assert len(result) <= limit
    if len(text.strip()) <= limit:
        assert result == text.strip()
        return
    if limit < len(ELLIPSIS):
        assert result == ELLIPSIS[:limit]
        return
    assert result.endswith(ELLIPSIS)
    head = result.removesuffix(ELLIPSIS)
    assert text.strip().startswith(head)
    assert renderings._unclosed(head) == -1
    if head:
        assert head[-1] not in "，、：；,:;（《【(" and not head[-1].isspace()
        following = text.strip()[len(head)]
        assert not (
            head[-1].isascii()
            and head[-1].isalnum()
            and following.isalnum()
            and following.isascii()
        )


@given(
    text=TEXT,
    limit=st.integers(min_value=1, max_value=300),
    link=st.sampled_from(["", "https://a.cn/public/releases/7/", "x" * 200]),
)
@settings(max_examples=300, deadline=None)
def test_fit_keeps_the_link_whole_within_the_limit(text, limit, link):
    result = fit(text, limit, link)
    assert len(result) <= limit
    tail = f"详情：{link}"
    if link and len(tail) + len(ELLIPSIS) <= limit:
        assert result.endswith(tail)
