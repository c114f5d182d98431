"""Text steps of the opinion pipeline: normalisation and segmentation.

Normalising: NFKC (full-width letters, digits and punctuation → half-width), OpenCC
traditional → simplified (`t2s`), lower case, runs of whitespace → one space. Posts and
scheme words go through the same function, so matching never depends on the script.

Segmenting: rjieba (jieba's dictionary and algorithm in Rust, same output, far faster).
Its `Jieba` class takes `add_word`, so each process keeps one instance with a user
dictionary of the organisation tree's unit names and short names (`临江市应急管理局`,
`临江市`, …) added at a high frequency, so place and unit names stay one token. The
dictionary follows the tree: each batch compares the count and newest id of units with
the ones the instance was built from (one aggregate query) and rebuilds when they differ.
"""

import re
import threading
import unicodedata
from functools import lru_cache

import opencc
import rjieba

_SPACES = re.compile(r"\s+")
USER_WORD_FREQ = 200_000  # well above ordinary words, so a name is never split


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """NFKC, traditional → simplified, lower case, collapsed whitespace."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = _converter().convert(text)
    return _SPACES.sub(" ", text.lower()).strip()


class Segmenter:
    """rjieba with the organisation tree's names added; rebuilt when the tree changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int | None] | None = None
        self._jieba: rjieba.Jieba | None = None

    def _current(self) -> rjieba.Jieba:
        from django.db.models import Count, Max

        from fenghuo.org.models import Unit

        figures = Unit.objects.aggregate(n=Count("pk"), newest=Max("pk"))
        key = (figures["n"], figures["newest"])
        if self._jieba is not None and key == self._key:
            return self._jieba
        with self._lock:
            if self._jieba is None or key != self._key:
                jieba = rjieba.Jieba()
                for name, short in Unit.objects.values_list("name", "short_name"):
                    for word in {normalise(name), normalise(short)} - {""}:
                        jieba.add_word(word, USER_WORD_FREQ, None)
                self._jieba, self._key = jieba, key
        return self._jieba

    def segmenter(self) -> "rjieba.Jieba":
        """The instance for one batch (checks the tree once)."""
        return self._current()


SEGMENTER = Segmenter()


def tokens(text: str, jieba: "rjieba.Jieba") -> list[str]:
    """Words of normalised text, spaces and punctuation-only tokens dropped."""
    return list(filter(_is_word, jieba.cut(text)))


@lru_cache(maxsize=65_536)  # tokens repeat; the per-character check is not free
def _is_word(token: str) -> bool:
    """Not white space, and not only punctuation, separators and symbols."""
    return bool(token.strip()) and not all(unicodedata.category(ch)[0] in "PZS" for ch in token)
