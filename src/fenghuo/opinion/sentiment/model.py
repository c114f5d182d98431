"""The shipped linear model: a vocabulary and one weight row per label, in a NumPy .npz.

Pickle-free on purpose: the file holds only arrays of numbers and one string, loaded with
``allow_pickle=False``, so loading it can never run code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import sparse

from .features import features

MODEL_PATH = Path(__file__).resolve().parent / "model.npz"
LABELS = ("negative", "neutral", "positive")


class Sentiment(NamedTuple):
    label: str
    # P(positive) - P(negative), in [-1, 1]: a signed strength that averages over posts.
    score: float
    # Probability of the chosen label.
    confidence: float


class Model:
    def __init__(self, vocabulary: Sequence[str], weights: np.ndarray, bias: np.ndarray) -> None:
        self.vocabulary = list(vocabulary)
        self.index = {name: i for i, name in enumerate(self.vocabulary)}
        self.weights = np.asarray(weights, dtype=np.float64)  # (features, labels)
        self.bias = np.asarray(bias, dtype=np.float64)  # (labels,)

    def matrix(self, texts: Iterable[str]) -> sparse.csr_matrix:
        """Rows of unit-length feature vectors; features outside the vocabulary are dropped."""
        return vectorise((features(text) for text in texts), self.index)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        scores = self.matrix(texts) @ self.weights + self.bias
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def classify_many(self, texts: Sequence[str]) -> list[Sentiment]:
        if not texts:
            return []
        probs = self.probabilities(texts)
        best = probs.argmax(axis=1)
        polarity = probs[:, 2] - probs[:, 0]
        return [
            Sentiment(LABELS[b], round(float(s), 4), round(float(p[b]), 4))
            for b, s, p in zip(best, polarity, probs, strict=True)
        ]

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            vocabulary=np.array("\n".join(self.vocabulary)),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            labels=np.array("\n".join(LABELS)),
        )

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> Model:
        with np.load(path, allow_pickle=False) as data:
            if str(data["labels"]).split("\n") != list(LABELS):
                raise ValueError(f"{path}: unexpected labels")
            return cls(str(data["vocabulary"]).split("\n"), data["weights"], data["bias"])


def vectorise(rows: Iterable[dict[str, float]], index: dict[str, int]) -> sparse.csr_matrix:
    """Sparse matrix of the given feature mappings, each row scaled to unit length."""
    columns: list[int] = []
    values: list[float] = []
    lengths: list[int] = []
    for row in rows:
        # map() looks the names up in C; -1 marks a name outside the vocabulary.
        columns.extend(map(index.get, row, repeat(-1)))
        values.extend(row.values())
        lengths.append(len(row))
    all_columns = np.fromiter(columns, dtype=np.int64, count=len(columns))
    keep = all_columns >= 0
    rows_of = np.repeat(np.arange(len(lengths)), lengths)[keep]
    data = np.fromiter(values, dtype=np.float64, count=len(values))[keep]
    norms = np.sqrt(np.bincount(rows_of, weights=data * data, minlength=len(lengths)))
    data /= np.where(norms > 0, norms, 1.0)[rows_of]
    pointers = np.concatenate(([0], np.cumsum(np.bincount(rows_of, minlength=len(lengths)))))
    return sparse.csr_matrix((data, all_columns[keep], pointers), shape=(len(lengths), len(index)))
