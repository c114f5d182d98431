"""The sentiment model: behaviour on negation and degree words, held-out quality recomputed
from the shipped model and data, and reproducible retraining."""

from __future__ import annotations

import pytest

from fenghuo.opinion.sentiment import LABELS, classify, classify_many, corpus, train
from fenghuo.opinion.sentiment.features import features
from fenghuo.opinion.sentiment.model import MODEL_PATH, Model, vectorise


def test_negation_flips_the_label():
    assert classify("救援很及时").label == "positive"
    assert classify("救援一点都不及时").label == "negative"
    assert classify("信息发布很透明").label == "positive"
    assert classify("信息发布并不透明").label == "negative"
    # A negated negative word reads as praise.
    assert classify("现场秩序一点也不乱").label == "positive"


def test_negation_scope_ends_with_the_clause():
    marked = features("救援不及时，但是很专业")
    assert "NOT_及时" in marked and "及时" not in marked
    assert "专业" in marked and "NOT_专业" not in marked
    # A negation fused into one rjieba token ("不乱") is split and marks the word.
    assert "NOT_乱" in features("现场不乱")
    # Two negations cancel.
    assert "及时" in features("并非不及时")


def test_degree_words_scale_the_next_word():
    assert features("救援非常及时")["及时"] == 2.0
    assert features("救援有点及时")["及时"] == 0.6
    assert features("救援及时")["及时"] == 1.0
    strong, weak = classify_many(["处置非常慢", "处置有点慢"])
    assert strong.label == weak.label == "negative"
    assert strong.score < weak.score < 0


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("消防员辛苦了，向最美逆行者致敬！", "positive"),
        ("被困群众全部获救，谢天谢地", "positive"),
        ("感谢蓝天救援队连夜搜救[心]", "positive"),
        ("官方回应太敷衍了，让人心寒", "negative"),
        ("打了十几次电话都没人管，简直离谱[怒]", "negative"),
        ("出了事就删帖，越捂越让人怀疑", "negative"),
        ("今天下午3时许，江口县发生一起交通事故，交警已赶赴现场处置。", "neutral"),
        ("请问北站到机场的路现在还能走吗？", "neutral"),
        ("市应急管理局将于明天上午召开新闻发布会。", "neutral"),
    ],
)
def test_clear_cases(text, label):
    result = classify(text)
    assert result.label == label
    assert result.label in LABELS and -1 <= result.score <= 1 and 0 < result.confidence <= 1


def test_classify_many_keeps_order_and_matches_classify():
    texts = ["救援很及时", "官方回应太敷衍了", "今天下午召开发布会"]
    assert classify_many(texts) == [classify(t) for t in texts]
    assert classify_many([]) == []
    assert classify("").label in LABELS


def test_batch_matrix_equals_the_training_features():
    """At run time the model counts character n-grams for the whole batch in NumPy; its
    rows must be the vectors training built from `features` (so the shipped weights mean
    the same), including texts with spaces, NUL, full-width and astral characters, and
    texts too short for a trigram."""
    model = Model.load()
    texts = [text for _, text in train.load_rows("test_handwritten.tsv")]
    texts += [
        "",
        " ",
        "好",
        "及时",
        "a\x00b很及时",
        "救援 很 及时！",
        "𠀀𠀁救援不及时",
        "ＡＢＣ太慢了",
        "[怒]太慢",
    ]
    expected = vectorise((features(text) for text in texts), model.index)
    assert abs(model.matrix(texts) - expected).max() < 1e-12
    assert model.matrix(texts).nnz == expected.nnz


def test_shipped_model_loads_without_training():
    assert MODEL_PATH.stat().st_size < 5 * 1024 * 1024
    model = Model.load()
    assert len(model.vocabulary) > 1000
    assert model.weights.shape == (len(model.vocabulary), len(LABELS))
    assert model.classify_many(["救援很及时"])[0].label == "positive"


def test_held_out_quality_recomputed_from_shipped_model_and_data():
    model = Model.load()
    parts = train.held_out()
    assert len(parts["test_handwritten.tsv"]) >= 100
    everything = [row for rows in parts.values() for row in rows]
    overall = train.evaluate(model, everything)
    assert overall.size == len(everything)
    assert sum(map(sum, overall.confusion)) == overall.size
    assert overall.accuracy >= 0.95 and overall.macro_f1 >= 0.95
    handwritten = train.evaluate(model, parts["test_handwritten.tsv"])
    assert handwritten.accuracy >= 0.80 and handwritten.macro_f1 >= 0.80
    # The model beats counting lexicon words.
    truth = [label for label, _ in everything]
    baseline = train.score(truth, [train.lexicon_baseline(text) for _, text in everything])
    assert overall.macro_f1 > baseline.macro_f1 + 0.05


def test_held_out_texts_are_not_in_training():
    training = {text for _, text in train.load_rows("train.tsv")}
    for rows in train.held_out().values():
        assert not training & {text for _, text in rows}


def test_generated_corpus_is_reproducible():
    generated_train, generated_test = corpus.build()
    assert generated_train == train.load_rows("train.tsv")
    assert generated_test == train.load_rows("test_generated.tsv")


def test_retraining_reproduces_the_shipped_figures(tmp_path, capsys):
    output = tmp_path / "model.npz"
    train.main(["--output", str(output)])
    printed = capsys.readouterr().out
    assert "accuracy=" in printed and "macro-F1=" in printed and "posts/s" in printed
    assert "baseline" in printed and "confusion" in printed

    retrained, shipped = Model.load(output), Model.load()
    assert retrained.vocabulary == shipped.vocabulary
    rows = [row for rows in train.held_out().values() for row in rows]
    assert train.evaluate(retrained, rows) == train.evaluate(shipped, rows)
