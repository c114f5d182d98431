"""Sentiment of short Chinese posts: negative / neutral / positive.

    from fenghuo.opinion.sentiment import classify, classify_many
    classify_many(["救援很及时", "救援一点都不及时"])
    # [Sentiment(label='positive', score=0.9…, confidence=…), Sentiment(label='negative', …)]

The model is the one shipped in this package (model.npz, trained by ``train.py`` on data/);
it is loaded once per process, on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from .model import LABELS, Model, Sentiment

__all__ = ["LABELS", "Sentiment", "classify", "classify_many", "model"]


@cache
def model() -> Model:
    """The shipped model, loaded on first call."""
    return Model.load()


def classify_many(texts: Sequence[str]) -> list[Sentiment]:
    """Label and score of each text, in order; one matrix product for the whole batch."""
    return model().classify_many(texts)


def classify(text: str) -> Sentiment:
    return classify_many([text])[0]
