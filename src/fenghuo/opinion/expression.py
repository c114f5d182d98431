"""Monitoring-scheme expressions: words joined by AND, OR, NOT and parentheses.

    (示范省 OR 临江市) AND (爆炸 OR 泄漏) NOT 演习

Grammar (NOT binds tighter than AND, AND tighter than OR; `A NOT B` means `A AND NOT B`):

    expr    := and_expr ("OR" and_expr)*
    and_expr:= unary (("AND" | "NOT") unary)*      -- after a term, NOT is "and not"
    unary   := "NOT" unary | "(" expr ")" | WORD
    WORD    := a run of characters other than spaces, parentheses and quotes,
               or a "quoted phrase" (may contain spaces)

Operators are case-insensitive; full-width parentheses and quotes are accepted (the text
is NFKC-normalised first). Words are normalised like posts (`text.normalise`), so a scheme
written in traditional characters matches simplified posts and the other way round.
Errors are `ExpressionError` with a Chinese message naming the character position.
"""

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from fenghuo.opinion.text import normalise

MAX_LENGTH = 2000
MAX_DEPTH = 50
OPERATORS = {"AND", "OR", "NOT"}


class ExpressionError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"第 {position + 1} 个字符处：{message}")
        self.position = position
        self.reason = message


@dataclass(frozen=True)
class Word:
    text: str


@dataclass(frozen=True)
class Not:
    item: "Node"


@dataclass(frozen=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    items: tuple["Node", ...]


Node = Word | Not | And | Or

_TOKEN = re.compile(r'\s*(?:(?P<open>\()|(?P<close>\))|"(?P<quoted>[^"]*)"?|(?P<word>[^\s()"]+))')


@dataclass(frozen=True)
class _Token:
    kind: str  # open | close | op | word | end
    value: str
    position: int


def _tokens(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:  # only trailing spaces are left
            break
        start = match.start(match.lastgroup) if match.lastgroup else position
        if match.lastgroup == "open":
            tokens.append(_Token("open", "(", start))
        elif match.lastgroup == "close":
            tokens.append(_Token("close", ")", start))
        elif match.lastgroup == "quoted":
            quoted = match.group(0).strip()
            if len(quoted) < 2 or not quoted.endswith('"'):
                raise ExpressionError("引号没有闭合", start - 1)
            word = normalise(match.group("quoted"))
            if not word:
                raise ExpressionError("引号内没有词", start - 1)
            tokens.append(_Token("word", word, start - 1))
        elif match.lastgroup == "word":
            raw = match.group("word")
            if raw.upper() in OPERATORS:
                tokens.append(_Token("op", raw.upper(), start))
            else:
                word = normalise(raw)
                if not word:
                    raise ExpressionError(f"无法识别的词“{raw}”", start)
                tokens.append(_Token("word", word, start))
        position = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokens(source)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expr(self) -> Node:
        items = [self.and_expr()]
        while self.peek().kind == "op" and self.peek().value == "OR":
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.unary()]
        while True:
            token = self.peek()
            if token.kind == "op" and token.value == "AND":
                self.take()
                items.append(self.unary())
            elif token.kind == "op" and token.value == "NOT":
                self.take()
                items.append(Not(self.unary()))
            elif token.kind in ("word", "open"):
                raise ExpressionError("两个词之间缺少 AND、OR 或 NOT", token.position)
            else:
                break
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        token = self.take()
        if token.kind == "word":
            return Word(token.value)
        if token.kind == "op" and token.value == "NOT":
            return Not(self.unary())
        if token.kind == "open":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError(f"括号嵌套超过 {MAX_DEPTH} 层", token.position)
            inner = self.expr()
            closing = self.take()
            if closing.kind != "close":
                raise ExpressionError("缺少右括号", closing.position)
            self.depth -= 1
            return inner
        if token.kind == "end":
            raise ExpressionError("表达式不完整，此处需要一个词", token.position)
        if token.kind == "close":
            raise ExpressionError("多余的右括号或括号内为空", token.position)
        raise ExpressionError(f"此处需要一个词，而不是 {token.value}", token.position)


def parse(source: str) -> Node:
    """The expression's tree; raises ExpressionError (Chinese message, position)."""
    source = normalise_operators(source)
    if not source.strip():
        raise ExpressionError("表达式为空", 0)
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"表达式超过 {MAX_LENGTH} 个字符", MAX_LENGTH)
    parser = _Parser(source)
    node = parser.expr()
    rest = parser.peek()
    if rest.kind == "close":
        raise ExpressionError("多余的右括号", rest.position)
    if rest.kind != "end":  # pragma: no cover - every other token is consumed above
        raise ExpressionError("无法解析", rest.position)
    if evaluate(node, frozenset()):
        raise ExpressionError("表达式会匹配不含任何关键词的帖子，请至少要求一个词出现", 0)
    return node


def normalise_operators(source: str) -> str:
    """Full-width brackets and quotes as ASCII; positions stay the same (one char each)."""
    return source.translate(str.maketrans("（）“”＂", '()"""'))


def words(node: Node) -> set[str]:
    """Every word of the expression (for the automaton)."""
    if isinstance(node, Word):
        return {node.text}
    if isinstance(node, Not):
        return words(node.item)
    return set().union(*(words(item) for item in node.items))


def positive_words(node: Node, negated: bool = False) -> set[str]:
    """Words whose presence can make the expression true: one of them must be found."""
    if isinstance(node, Word):
        return set() if negated else {node.text}
    if isinstance(node, Not):
        return positive_words(node.item, not negated)
    return set().union(*(positive_words(item, negated) for item in node.items))


def required_words(
    node: Node, cost: Callable[[str], float], negated: bool = False
) -> frozenset[str] | None:
    """A set of words one of which every matching post contains, chosen cheap by `cost`
    (the matcher indexes a scheme under it: under its rare region words rather than the
    event words every scheme shares). None when no such set is found this way."""
    if isinstance(node, Word):
        return None if negated else frozenset((node.text,))
    if isinstance(node, Not):
        return required_words(node.item, cost, not negated)
    parts = [required_words(item, cost, negated) for item in node.items]
    if isinstance(node, And) != negated:  # all of them must hold: any one part will do
        found = [part for part in parts if part is not None]
        return min(found, key=lambda part: (sum(map(cost, part)), sorted(part))) if found else None
    if any(part is None for part in parts):  # one of them must hold: need one of each
        return None
    return frozenset().union(*parts)


def evaluate(node: Node, found: frozenset[str] | set[str]) -> bool:
    if isinstance(node, Word):
        return node.text in found
    if isinstance(node, Not):
        return not evaluate(node.item, found)
    if isinstance(node, And):
        return all(evaluate(item, found) for item in node.items)
    return any(evaluate(item, found) for item in node.items)


def predicate(node: Node) -> Callable[[AbstractSet[str]], bool]:
    """The expression as one compiled function of the found words. Walking the tree costs
    a Python call per node for every candidate scheme of every post; the compiled form runs
    as plain bytecode (several times faster in bench/opinion). The generated source holds
    only operators and indexes into the word tuple, never the words themselves; a tree
    too deep for Python's parser falls back to `evaluate`."""
    found_words: list[str] = []

    def source(item: Node) -> str:
        if isinstance(item, Word):
            found_words.append(item.text)
            return f"(w[{len(found_words) - 1}] in f)"
        if isinstance(item, Not):
            return f"(not {source(item.item)})"
        joiner = " and " if isinstance(item, And) else " or "
        return "(" + joiner.join(source(i) for i in item.items) + ")"

    try:
        code = compile(f"lambda f: {source(node)}", "<scheme>", "eval")
    except (SyntaxError, RecursionError, MemoryError):
        return lambda found: evaluate(node, found)
    return eval(code, {"__builtins__": {}, "w": tuple(found_words)})  # noqa: S307 - see above


def _word_text(text: str) -> str:
    plain = re.fullmatch(r'[^\s()"]+', text) and text.upper() not in OPERATORS
    return text if plain else f'"{text}"'


def render(node: Node, parent: str = "") -> str:
    """The canonical text of an expression: parse(render(n)) == n."""
    if isinstance(node, Word):
        return _word_text(node.text)
    if isinstance(node, Not):
        inner = render(node.item, "NOT")
        return f"NOT {inner}"
    if isinstance(node, And):
        parts = [render(node.items[0], "AND")]
        for item in node.items[1:]:
            if isinstance(item, Not):
                parts.append(f"NOT {render(item.item, 'NOT')}")
            else:
                parts.append(f"AND {render(item, 'AND')}")
        text = " ".join(parts)
        return f"({text})" if parent in ("AND", "NOT") else text
    text = " OR ".join(render(item, "OR") for item in node.items)
    return f"({text})" if parent else text
