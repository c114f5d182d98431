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

from .features import compact, normalise, word_features

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
        self.grams = GramIndex(self.vocabulary)

    def matrix(self, texts: Iterable[str]) -> sparse.csr_matrix:
        """Rows of unit-length feature vectors; features outside the vocabulary are dropped.

        The same vectors as `vectorise` over `features` (tests/opinion check it), built in
        two parts: the word features per text, and the character n-grams, which are most of
        a post's features, counted for the whole batch at once in NumPy."""
        normalised = [normalise(text) for text in texts]
        words = vectorise(map(word_features, normalised), self.index, unit=False)
        grams = self.grams.counts(normalised, len(self.vocabulary))
        return _unit_rows((words + grams).tocsr())

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


def vectorise(
    rows: Iterable[dict[str, float]], index: dict[str, int], *, unit: bool = True
) -> sparse.csr_matrix:
    """Sparse matrix of the given feature mappings, each row scaled to unit length (or not,
    with `unit=False`)."""
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
    if unit:
        norms = np.sqrt(np.bincount(rows_of, weights=data * data, minlength=len(lengths)))
        data /= np.where(norms > 0, norms, 1.0)[rows_of]
    pointers = np.concatenate(([0], np.cumsum(np.bincount(rows_of, minlength=len(lengths)))))
    return sparse.csr_matrix((data, all_columns[keep], pointers), shape=(len(lengths), len(index)))


def _unit_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ matrix


_BITS = 21  # a code point fits in 21 bits: a trigram is one int64 key, a bigram another


class GramIndex:
    """The vocabulary's character bigrams and trigrams ("C_" + 2 or 3 characters) as sorted
    integer keys built from their code points, so a batch's grams are looked up with one
    `searchsorted` each instead of building a string per gram."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.keys: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for size in (2, 3):
            pairs = sorted(
                (_key([ord(ch) for ch in name[2:]]), column)
                for column, name in enumerate(vocabulary)
                if name.startswith("C_") and len(name) == 2 + size
            )
            self.keys[size] = (
                np.array([k for k, _ in pairs], dtype=np.int64),
                np.array([c for _, c in pairs], dtype=np.int64),
            )

    def counts(self, normalised: Sequence[str], width: int) -> sparse.csr_matrix:
        """(texts × vocabulary) counts of each text's known bigrams and trigrams."""
        pieces = [compact(text) for text in normalised]
        lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        # One string for the batch, each text followed by one separator position; a gram
        # touching a separator position is not a gram of any text (the positions are
        # marked by index, so a NUL inside a text is still an ordinary character).
        codes = np.frombuffer("\0".join(pieces).encode("utf-32-le"), dtype=np.uint32)
        codes = codes.astype(np.int64)
        ends = np.cumsum(lengths + 1) - 1
        separator = np.zeros(len(codes) + 1, dtype=bool)
        separator[ends] = True
        row_of = np.repeat(np.arange(len(pieces)), lengths + 1)[: len(codes)]
        rows_found: list[np.ndarray] = []
        columns_found: list[np.ndarray] = []
        for size, (keys, columns) in self.keys.items():
            n = len(codes) - size + 1
            if n <= 0 or not len(keys):
                continue
            valid = np.ones(n, dtype=bool)
            key = np.zeros(n, dtype=np.int64)
            for offset in range(size):
                valid &= ~separator[offset : offset + n]
                key = (key << _BITS) | codes[offset : offset + n]
            at = np.searchsorted(keys, key)
            at[at == len(keys)] = 0
            hit = valid & (keys[at] == key)
            rows_found.append(row_of[:n][hit])
            columns_found.append(columns[at[hit]])
        rows = np.concatenate(rows_found) if rows_found else np.zeros(0, dtype=np.int64)
        cols = np.concatenate(columns_found) if columns_found else np.zeros(0, dtype=np.int64)
        # Repeated (row, column) pairs add up: a gram's count in its text.
        return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(pieces), width))


def _key(codes: Sequence[int]) -> int:
    key = 0
    for code in codes:
        key = (key << _BITS) | code
    return key
