"""Monitoring schemes: the expression language, matching through the automaton (with
normalisation first), recompiling on change, preview, and who sees a scheme."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fenghuo.opinion import expression, matching, services
from fenghuo.opinion.models import Post, PostMatch, Scheme
from tests.opinion.conftest import post

CHECK = "(示范省 OR 临江市) AND (爆炸 OR 泄漏) NOT 演习"


def matched(scheme) -> set[str]:
    return set(PostMatch.objects.filter(scheme=scheme).values_list("post__post_id", flat=True))


def test_the_issue_scheme_matches_and_rejects_the_right_posts(world, principal_of):
    analyst = principal_of(world.city_analyst)
    scheme = services.scheme_create(
        analyst, name="危化品", expression_text=CHECK, owner_unit=world.city
    )
    result = services.ingest(
        [
            post("1", "临江市化工厂发生爆炸，现场浓烟"),
            post("2", "示范省某地氨气泄漏，周边群众疏散"),
            post("3", "臨江市化工廠發生爆炸"),  # traditional characters
            post("4", "ＡＢＣ示範省管道洩漏"),  # full-width letters, traditional
            post("5", "临江市举行危化品爆炸应急演习"),  # excluded: 演习
            post("6", "临江市今天天气晴朗"),  # region without event
            post("7", "外省化工厂爆炸"),  # event without region
            post("8", "臨江市爆炸演習"),  # excluded, in traditional characters
        ],
        source="test",
    )
    assert result.stored == 8 and not result.errors
    assert matched(scheme) == {"1", "2", "3", "4"}
    assert Post.objects.get(post_id="3").normalized_text == "临江市化工厂发生爆炸"
    assert Post.objects.get(post_id="4").normalized_text.startswith("abc示范省")


def test_a_thousand_schemes_each_match_their_own_posts(world, principal_of):
    analyst = principal_of(world.province_analyst)
    schemes = [
        services.scheme_create(
            analyst,
            name=f"方案{i}",
            expression_text=f"(地名{i}号 OR 别名{i}号) AND 事件{i}号 NOT 排除{i}号",
            owner_unit=world.province,
        )
        for i in range(1000)
    ]
    services.ingest(
        [post(f"a{i}", f"地名{i}号发生事件{i}号") for i in range(0, 1000, 7)]
        + [post(f"b{i}", f"别名{i}号事件{i}号 排除{i}号") for i in range(0, 1000, 7)],
        source="test",
    )
    for i in (0, 7, 994):
        assert matched(schemes[i]) == {f"a{i}"}
    assert matched(schemes[1]) == set()
    assert PostMatch.objects.count() == len(range(0, 1000, 7))


def test_scheme_changes_are_recompiled(world, principal_of):
    analyst = principal_of(world.city_analyst)
    scheme = services.scheme_create(
        analyst, name="火灾", expression_text="临江市 AND 火灾", owner_unit=world.city
    )
    services.ingest([post("1", "临江市仓库火灾")], source="test")
    services.scheme_update(analyst, scheme, expression_text="临江市 AND 火情")
    services.ingest([post("2", "临江市仓库火灾"), post("3", "临江市火情通报")], source="test")
    services.scheme_update(analyst, scheme, is_active=False)
    services.ingest([post("4", "临江市火情再通报")], source="test")
    assert matched(scheme) == {"1", "3"}


@pytest.mark.parametrize(
    ("source", "position", "reason"),
    [
        ("(爆炸 OR 泄漏", 10, "缺少右括号"),
        ("爆炸 泄漏", 4, "缺少 AND"),
        ("爆炸 AND", 7, "表达式不完整"),
        ("爆炸)", 3, "多余的右括号"),
        ("NOT 演习", 1, "至少要求一个词"),
        ('"临江 市', 1, "引号没有闭合"),
        ("   ", 1, "表达式为空"),
    ],
)
def test_parse_errors_name_the_position_in_chinese(source, position, reason):
    with pytest.raises(expression.ExpressionError) as caught:
        expression.parse(source)
    assert f"第 {position} 个字符处" in str(caught.value)
    assert reason in str(caught.value)


def test_an_invalid_expression_is_refused_with_a_field_error(world, principal_of):
    with pytest.raises(ValidationError) as caught:
        services.scheme_create(
            principal_of(world.city_analyst),
            name="",
            expression_text="(临江市 AND",
            owner_unit=world.city,
        )
    assert set(caught.value.message_dict) == {"name", "expression"}


WORDS = st.text(alphabet="临江市示范省爆炸泄漏演习abc火灾", min_size=1, max_size=4)


def _trees(depth: int = 3):
    word = WORDS.map(expression.Word)
    return st.recursive(
        word,
        lambda inner: st.one_of(
            inner.map(expression.Not),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: expression.And(tuple(xs))),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: expression.Or(tuple(xs))),
        ),
        max_leaves=8,
    )


@settings(max_examples=300, deadline=None)
@given(_trees(), st.sets(WORDS, max_size=6))
def test_the_compiled_predicate_agrees_with_the_tree(tree, found):
    assert expression.predicate(tree)(found) == expression.evaluate(tree, found)


@settings(max_examples=300, deadline=None)
@given(_trees(), st.sets(WORDS, max_size=6), st.dictionaries(WORDS, st.integers(0, 9)))
def test_a_matching_post_always_contains_a_required_word(tree, found, costs):
    """The matcher indexes a scheme under required_words only: it must never miss a match."""
    required = expression.required_words(tree, lambda word: costs.get(word, 1))
    if expression.evaluate(tree, found) and required is not None:
        assert required & found


@settings(max_examples=100, deadline=None)
@given(st.lists(_trees(), min_size=1, max_size=12), st.lists(WORDS, max_size=8))
def test_the_matcher_finds_exactly_the_schemes_brute_force_finds(trees, pieces):
    valid = [t for t in trees if not expression.evaluate(t, frozenset())]
    matcher = matching.compile_schemes(
        (sid, expression.render(tree)) for sid, tree in enumerate(valid)
    )
    post = "，".join(pieces)
    expected = [
        sid
        for sid, tree in enumerate(valid)
        if expression.evaluate(tree, {w for w in expression.words(tree) if w in post})
    ]
    assert matcher.match(post) == expected


def test_a_tree_too_deep_to_compile_still_evaluates():
    tree = expression.Word("爆炸")
    for _ in range(400):
        tree = expression.Not(tree)
    assert expression.predicate(tree)({"爆炸"}) is True  # 400 negations cancel out


@settings(max_examples=300, deadline=None)
@given(_trees())
def test_parse_print_parse_is_stable(tree):
    text = expression.render(tree)
    if expression.evaluate(tree, frozenset()):
        with pytest.raises(expression.ExpressionError):
            expression.parse(text)
        return
    parsed = expression.parse(text)
    assert parsed == tree
    assert expression.render(parsed) == text


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["AND", "OR", "NOT", "and", "(", ")", "（", "）", '"', "“", " "]),
            st.text(max_size=3),
        ),
        max_size=15,
    ).map(" ".join)
)
def test_random_input_never_raises_anything_but_an_expression_error(source):
    try:
        tree = expression.parse(source)
    except expression.ExpressionError as exc:
        assert exc.position >= 0 and str(exc).startswith("第 ")
    else:
        assert expression.parse(expression.render(tree)) == tree


def test_scheme_visibility_follows_the_owner_unit(world, principal_of):
    city_scheme = services.scheme_create(
        principal_of(world.city_analyst),
        name="临江",
        expression_text="临江市 AND 爆炸",
        owner_unit=world.city,
    )
    seen = {
        "province_analyst": True,  # above the owner unit
        "city_analyst": True,  # the owner
        "city_duty": True,  # the owner's unit
        "other_analyst": False,  # a sibling city
        "city_reporter": False,  # reporters are not scheme users, but see their unit…
    }
    from fenghuo.opinion import selectors

    for name, expected in seen.items():
        person = getattr(world, name)
        visible = selectors.schemes_visible(principal_of(person)).filter(pk=city_scheme.pk)
        if name == "city_reporter":
            assert visible.exists()  # …because visibility is by unit (policy.visible_q)
        else:
            assert visible.exists() is expected, name
    with pytest.raises(PermissionDenied):
        services.scheme_create(
            principal_of(world.other_analyst),
            name="越权",
            expression_text="临江市 AND 爆炸",
            owner_unit=world.city,
        )
    with pytest.raises(PermissionDenied):
        services.scheme_update(principal_of(world.other_analyst), city_scheme, name="改名")
    with pytest.raises(PermissionDenied):
        services.scheme_update(principal_of(world.city_reporter), city_scheme, name="改名")
    services.scheme_update(principal_of(world.province_analyst), city_scheme, name="省里改名")


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["AND", "OR", "NOT", "(", ")", '"', "临江市", "爆炸", "　"]),
            st.text(max_size=4),
        ),
        max_size=10,
    ).map(" ".join)
)
def test_a_scheme_is_saved_or_refused_with_a_chinese_field_error(world, principal_of, source):
    """Through the service: anything typed is a scheme, or a ValidationError naming the
    expression field in Chinese, with nothing saved."""
    before = Scheme.objects.count()
    try:
        scheme = services.scheme_create(
            principal_of(world.city_analyst),
            name="随机方案",
            expression_text=source,
            owner_unit=world.city,
        )
    except ValidationError as exc:
        messages = exc.message_dict["expression"]
        assert messages and all(re.search(r"[\u4e00-\u9fff]", m) for m in messages)
        assert Scheme.objects.count() == before
    else:
        assert expression.parse(scheme.expression) == expression.parse(source)
