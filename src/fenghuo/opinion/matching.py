"""Matching posts against every active monitoring scheme at once.

All words of all active schemes go into one Aho-Corasick automaton (pyahocorasick). One
pass over a post's normalised text finds every word of every scheme; only candidate schemes
are then evaluated over the set of found words. A scheme is a candidate when a word of its
index set is found: a set of words one of which every matching post must contain
(`expression.required_words`), chosen among the scheme's AND-ed parts as the one whose words
the fewest schemes share — `(临江市 OR 江口县) AND (爆炸 OR 泄漏)` is indexed under its
places, not under the event words that every scheme of a province shares. A thousand
schemes cost about as much as one: the pass is linear in the text, and evaluation touches
only the few candidate schemes.

The compiled automaton is kept per process. Every scheme write stores a new random token
in the one `SchemeRevision` row inside the writer's transaction (post_save/post_delete);
each batch reads that row by primary key and recompiles when the token differs (the same
scheme as `criteria/engine.py`): all processes stay current, and a rolled-back edit leaves
no stale cache because its token rolls back too.
"""

import threading
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ahocorasick
from django.db.models.signals import post_delete, post_save

from fenghuo.opinion import expression
from fenghuo.opinion.models import Scheme, SchemeRevision


@dataclass(frozen=True)
class Matcher:
    token: str
    automaton: Any  # ahocorasick.Automaton, or None when there are no words
    candidates: dict[str, tuple[int, ...]]  # positive word → scheme ids
    predicates: dict[int, Any]  # scheme id → compiled expression (expression.predicate)

    def found(self, text: str) -> set[str]:
        if self.automaton is None:
            return set()
        return {word for _, word in self.automaton.iter(text)}

    def match(self, text: str) -> list[int]:
        """Ids of the schemes the normalised text matches."""
        found = self.found(text)
        if not found:
            return []
        ids = {sid for word in found for sid in self.candidates.get(word, ())}
        return sorted(sid for sid in ids if self.predicates[sid](found))


def compile_schemes(schemes: Iterable[tuple[int, str]], token: str = "") -> Matcher:
    """A matcher for (id, expression) pairs; unparsable expressions are skipped."""
    automaton = ahocorasick.Automaton()
    candidates: dict[str, list[int]] = {}
    predicates: dict[int, Any] = {}
    trees: dict[int, expression.Node] = {}
    shared: Counter[str] = Counter()
    for sid, source in schemes:
        try:
            tree = expression.parse(source)
        except expression.ExpressionError:
            continue  # saved through the services, so only a hand-edited row can fail
        trees[sid] = tree
        predicates[sid] = expression.predicate(tree)
        for word in expression.words(tree):
            automaton.add_word(word, word)
        shared.update(expression.positive_words(tree))
    for sid, tree in trees.items():
        index = expression.required_words(tree, shared.__getitem__)
        for word in index if index is not None else expression.positive_words(tree):
            candidates.setdefault(word, []).append(sid)
    if len(automaton):
        automaton.make_automaton()
    return Matcher(
        token=token,
        automaton=automaton if len(automaton) else None,
        candidates={word: tuple(ids) for word, ids in candidates.items()},
        predicates=predicates,
    )


_cache: Matcher | None = None
_lock = threading.Lock()


def current_token() -> str:
    return SchemeRevision.objects.filter(pk=1).values_list("token", flat=True).first() or ""


def current() -> Matcher:
    """The matcher of all active schemes (one primary-key read when warm)."""
    global _cache
    token = current_token()
    cached = _cache
    if cached is not None and cached.token == token:
        return cached
    with _lock:
        if _cache is None or _cache.token != token:
            rows = Scheme.objects.filter(is_active=True).values_list("pk", "expression")
            _cache = compile_schemes(rows, token)
        return _cache


def bump_revision() -> None:
    global _cache
    token = uuid.uuid4().hex
    if not SchemeRevision.objects.filter(pk=1).update(token=token):
        SchemeRevision.objects.create(pk=1, token=token)
    _cache = None


def _changed(sender: type, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        bump_revision()


def connect() -> None:
    post_save.connect(_changed, sender=Scheme, dispatch_uid="opinion-scheme-save")
    post_delete.connect(_changed, sender=Scheme, dispatch_uid="opinion-scheme-delete")
