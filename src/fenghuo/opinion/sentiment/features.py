"""Feature construction for the sentiment model: the same code at training and at run time.

A post becomes a sparse {feature: value} mapping:
- rjieba tokens; a token inside the scope of a negation (不, 没有, 并非 … up to the end of
  the clause) is emitted as ``NOT_<token>``; a degree word (很, 有点 …) scales the value
  of the next token, so "非常及时" weighs more than "有点及时";
- lexicon sums per clause (positive, negative, negated positive, negated negative), scaled
  by degree words and weighted up after a contrast word (但是, 却 …);
- character bigrams and trigrams, which carry the words rjieba splits differently;
- Weibo emoticons ([怒], [赞]) and exclamation / question marks.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import NamedTuple

import rjieba

DATA_DIR = Path(__file__).resolve().parent / "data"

CLAUSE_END = frozenset("，。！？；：,.!?;:\n…~、")
NEGATION_PREFIXES = ("不", "没", "未", "别", "无")
CONTRAST_WEIGHT = 1.5
EMOTICON = re.compile(r"\[([^\[\]\s]{1,6})\]")
SPACE = re.compile(r"\s+")


def _words(name: str) -> list[str]:
    lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


class Lexicon(NamedTuple):
    positive: frozenset[str]
    negative: frozenset[str]
    polar: frozenset[str]
    negations: frozenset[str]
    degree: dict[str, float]
    contrast: frozenset[str]


@cache
def lexicon() -> Lexicon:
    """The hand-written word lists in data/."""
    degree = {}
    for line in _words("degree.txt"):
        word, factor = line.split("\t")
        degree[word] = float(factor)
    positive = frozenset(_words("lexicon_positive.txt"))
    negative = frozenset(_words("lexicon_negative.txt"))
    return Lexicon(
        positive=positive,
        negative=negative,
        polar=positive | negative,
        negations=frozenset(_words("negation.txt")),
        degree=degree,
        contrast=frozenset(_words("contrast.txt")),
    )


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), lower case, one space for any run of white space."""
    text = unicodedata.normalize("NFKC", text).lower()
    return SPACE.sub(" ", text).strip()


def _tokens(text: str) -> Iterator[str]:
    """rjieba tokens, with a fused negation ("不乱", "没人理") split into its two parts
    when the fused word is not itself in the lexicon."""
    lex = lexicon()
    for token in rjieba.cut(text):
        if token == " ":
            continue
        if (
            len(token) > 1
            and token not in lex.polar
            and token not in lex.negations
            and token.startswith(NEGATION_PREFIXES)
            and token[1:] in lex.polar
        ):
            yield token[0]
            yield token[1:]
        else:
            yield token


def features(text: str) -> dict[str, float]:
    """The sparse feature mapping of one post (not yet normalised to unit length)."""
    lex = lexicon()
    text = normalise(text)
    out: dict[str, float] = {}

    def add(name: str, value: float) -> None:
        out[name] = out.get(name, 0.0) + value

    tokens = list(_tokens(text))
    negated = False
    factor = 1.0
    weight = 1.0
    for i, token in enumerate(tokens):
        if token in CLAUSE_END:
            negated, factor = False, 1.0
            add("P_" + token, 1.0)
            continue
        if token in lex.contrast:
            # The clause before "但是" counted less: what follows is what the writer means.
            weight = CONTRAST_WEIGHT
            negated, factor = False, 1.0
            add(token, 1.0)
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in lex.degree and (token not in lex.polar or following in lex.polar):
            factor *= lex.degree[token]
            add(token, 1.0)
            continue
        if token in lex.negations:
            negated = not negated
            add(token, 1.0)
            continue
        add(("NOT_" if negated else "") + token, factor)
        polarity = "POS" if token in lex.positive else "NEG" if token in lex.negative else ""
        if polarity:
            add(f"LEX_{'NOT_' if negated else ''}{polarity}", factor * weight)
        factor = 1.0
    for match in EMOTICON.finditer(text):
        add("EMO_" + match.group(1), 1.0)
    compact = SPACE.sub("", text)
    # Built and counted in C (map, zip, join, Counter) rather than by add() or a generator
    # of slices: the n-grams are most of a post's features (half the time of this function
    # before). "C_" cannot clash with a token, which is lower case.
    first = list(map(_PREFIX, compact))
    grams = Counter(map(str.__add__, first, compact[1:]))
    grams.update(map(_JOIN, zip(first, compact[1:], compact[2:], strict=False)))
    out.update(grams)  # counts as int: the same numbers to the model
    return out


_PREFIX = "C_".__add__
_JOIN = "".join
