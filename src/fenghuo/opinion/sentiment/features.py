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
from functools import cache, lru_cache
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


# What a token can do in the scan below, looked up once per distinct token (`_role`): the
# per-token set lookups were most of this function's time.
_CLAUSE, _CONTRAST, _DEGREE, _NEGATION = 1, 2, 4, 8


class _Role(NamedTuple):
    flags: int  # _CLAUSE | _CONTRAST | _DEGREE | _NEGATION
    polarity: str  # "POS", "NEG" or ""
    parts: tuple[str, ...]  # the token, or a fused negation split ("不乱" → "不", "乱")


@lru_cache(maxsize=131_072)
def _role(token: str) -> _Role:
    lex = lexicon()
    polarity = "POS" if token in lex.positive else "NEG" if token in lex.negative else ""
    parts: tuple[str, ...] = (token,)
    if (
        len(token) > 1
        and not polarity
        and token not in lex.negations
        and token.startswith(NEGATION_PREFIXES)
        and token[1:] in lex.polar
    ):
        parts = (token[0], token[1:])
    flags = (
        (_CLAUSE if token in CLAUSE_END else 0)
        | (_CONTRAST if token in lex.contrast else 0)
        | (_DEGREE if token in lex.degree else 0)
        | (_NEGATION if token in lex.negations else 0)
    )
    return _Role(flags, polarity, parts)


def _tokens(text: str) -> list[str]:
    """rjieba tokens, with a fused negation ("不乱", "没人理") split into its two parts
    when the fused word is not itself in the lexicon."""
    out: list[str] = []
    for token in rjieba.cut(text):
        if token != " ":
            out.extend(_role(token).parts)
    return out


def features(text: str) -> dict[str, float]:
    """The sparse feature mapping of one post (not yet normalised to unit length)."""
    text = normalise(text)
    out = word_features(text)
    out.update(char_grams(text))
    return out


def word_features(text: str) -> dict[str, float]:
    """The features of normalised text other than its character n-grams."""
    lex = lexicon()
    out: dict[str, float] = {}
    get = out.get
    tokens = _tokens(text)
    roles = list(map(_role, tokens))
    negated = False
    factor = 1.0
    weight = 1.0
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        flags, polarity, _ = roles[i]
        if not flags:
            pass  # a plain word, the common case: straight to the end
        elif flags & _CLAUSE:
            negated, factor = False, 1.0
            key = "P_" + token
            out[key] = get(key, 0.0) + 1.0
            continue
        elif flags & _CONTRAST:
            # The clause before "但是" counted less: what follows is what the writer means.
            weight = CONTRAST_WEIGHT
            negated, factor = False, 1.0
            out[token] = get(token, 0.0) + 1.0
            continue
        elif flags & _DEGREE and (not polarity or (i < last and roles[i + 1].polarity)):
            # A degree word that is also polar ("好") is a degree word only before a polar one.
            factor *= lex.degree[token]
            out[token] = get(token, 0.0) + 1.0
            continue
        elif flags & _NEGATION:
            negated = not negated
            out[token] = get(token, 0.0) + 1.0
            continue
        key = "NOT_" + token if negated else token
        out[key] = get(key, 0.0) + factor
        if polarity:
            key = f"LEX_NOT_{polarity}" if negated else f"LEX_{polarity}"
            out[key] = get(key, 0.0) + factor * weight
        factor = 1.0
    for match in EMOTICON.finditer(text):
        key = "EMO_" + match.group(1)
        out[key] = get(key, 0.0) + 1.0
    return out


def compact(text: str) -> str:
    """Normalised text without white space: what the character n-grams are taken from."""
    return SPACE.sub("", text)


def char_grams(text: str) -> Counter[str]:
    """Counts of the character bigrams and trigrams of normalised text, as features named
    "C_" + the characters ("C_" cannot clash with a token, which is lower case). At run
    time the model counts the same grams for a whole batch at once (`model.gram_counts`)."""
    chars = compact(text)
    first = list(map(_PREFIX, chars))
    grams = Counter(map(str.__add__, first, chars[1:]))
    grams.update(map(_JOIN, zip(first, chars[1:], chars[2:], strict=False)))
    return grams


_PREFIX = "C_".__add__
_JOIN = "".join
