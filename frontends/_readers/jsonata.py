"""The JSONata subset that maps onto SageMaker expressions and conditions.

Step Functions' JSONata states write ``{% expression %}`` strings. Those that only read values
(``$states.input.a``, ``$var.Outputs[OutputName='train'].S3Output.S3Uri``), join strings
(``&``, ``$join``), compare (``= != < <= > >=``, ``in``) and combine conditions (``and``,
``or``, ``$not``) have SageMaker equivalents; this module parses exactly that into a small
tree. Anything else (arithmetic, ``$merge``, lambdas, object constructors) is a ParseError, and
the reader reports the construct as unsupported where it appears.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class ParseError(ValueError):
    """Outside the supported subset; the message names the construct."""


@dataclass(frozen=True, slots=True)
class Select:
    """A path step ``[field='value']``: the list item whose ``field`` equals ``value``."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class PathNode:
    """``$name.a.b[0][Field='x']``: a variable (``states`` for ``$states``) and its steps."""

    variable: str
    steps: tuple[Any, ...]  # str member, int index, or Select


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class ArrayNode:
    items: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class ObjectNode:
    """``{'key': value, ...}`` with literal string keys."""

    items: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class CallNode:
    name: str  # without the leading $
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class BinaryNode:
    operator: str  # and or = != < <= > >= in &
    left: Any
    right: Any


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | '(?P<single>(?:[^'\\]|\\.)*)'
    | "(?P<double>(?:[^"\\]|\\.)*)"
    | (?P<variable>\$[A-Za-z0-9_]*)
    | `(?P<quoted>[^`]*)`
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<operator><=|>=|!=|=|<|>|&|\.|,|\(|\)|\[|\]|\+|-|\*|/|%|\?|:|\{|\}|;)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"true": True, "false": False, "null": None}
_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=", "in")


def parse(text: str) -> Any:
    """Parse the inside of ``{% ... %}``."""
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    node = parser.expression()
    if parser.position != len(tokens):
        raise ParseError(f"unsupported JSONata after {text[: parser.offset()].strip()!r}")
    return node


def unwrap(value: object) -> str | None:
    """The expression inside a ``{% ... %}`` string, or None when it is not one."""
    if not isinstance(value, str):
        return None
    stripped = value.strip()
    if stripped.startswith("{%") and stripped.endswith("%}"):
        return stripped[2:-2].strip()
    return None


def _tokenize(text: str) -> list[tuple[str, Any, int]]:
    tokens = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise ParseError(f"cannot read the JSONata at character {position + 1}")
        kind = match.lastgroup
        assert kind is not None
        raw = match.group(kind)
        if kind in ("single", "double"):
            raw = re.sub(r"\\(.)", r"\1", raw)
            kind = "string"
        elif kind == "quoted":
            kind = "name"
        tokens.append((kind, raw, match.end()))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any, int]], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.position = 0

    def offset(self) -> int:
        return self.tokens[self.position - 1][2] if self.position else 0

    def peek(self) -> tuple[str, Any]:
        if self.position < len(self.tokens):
            kind, raw, _ = self.tokens[self.position]
            return kind, raw
        return "end", None

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        self.position += 1
        return token

    def expect(self, raw: str) -> None:
        kind, value = self.take()
        if value != raw or kind not in ("operator", "name"):
            raise ParseError(f"expected {raw!r} in {self.text!r}")

    def expression(self) -> Any:
        node = self.conjunction()
        while self.peek() == ("name", "or"):
            self.take()
            node = BinaryNode("or", node, self.conjunction())
        return node

    def conjunction(self) -> Any:
        node = self.comparison()
        while self.peek() == ("name", "and"):
            self.take()
            node = BinaryNode("and", node, self.comparison())
        return node

    def comparison(self) -> Any:
        node = self.concatenation()
        kind, raw = self.peek()
        if (kind == "operator" and raw in _COMPARISONS) or (kind, raw) == ("name", "in"):
            self.take()
            node = BinaryNode(raw, node, self.concatenation())
        return node

    def concatenation(self) -> Any:
        node = self.postfix()
        while self.peek() == ("operator", "&"):
            self.take()
            node = BinaryNode("&", node, self.postfix())
        kind, raw = self.peek()
        if kind == "operator" and raw in "+-*/%?;":
            raise ParseError(f"the operator {raw!r} (arithmetic, conditionals, objects)")
        return node

    def postfix(self) -> Any:
        node = self.primary()
        while True:
            kind, raw = self.peek()
            if (kind, raw) == ("operator", "."):
                if not isinstance(node, PathNode):
                    raise ParseError("a path step after something that is not a variable")
                self.take()
                member_kind, member = self.take()
                if member_kind != "name":
                    raise ParseError("a path step that is not a field name")
                node = PathNode(node.variable, (*node.steps, member))
            elif (kind, raw) == ("operator", "[") and isinstance(node, PathNode):
                self.take()
                node = PathNode(node.variable, (*node.steps, self._bracket()))
            else:
                return node

    def _bracket(self) -> Any:
        kind, raw = self.take()
        if kind == "number" and re.fullmatch(r"-?\d+", raw):
            self.expect("]")
            return int(raw)
        if kind == "name":
            operator = self.take()
            value_kind, value = self.take()
            if operator == ("operator", "=") and value_kind == "string":
                self.expect("]")
                return Select(raw, value)
        raise ParseError("a filter other than [index] or [Field='value']")

    def primary(self) -> Any:
        kind, raw = self.take()
        if kind == "number":
            return Literal(float(raw) if any(c in raw for c in ".eE") else int(raw))
        if kind == "string":
            return Literal(raw)
        if kind == "name" and raw in _KEYWORDS:
            return Literal(_KEYWORDS[raw])
        if kind == "variable":
            if self.peek() == ("operator", "("):
                self.take()
                return CallNode(raw[1:], self._arguments(")"))
            return PathNode(raw[1:], ())
        if (kind, raw) == ("operator", "("):
            node = self.expression()
            self.expect(")")
            return node
        if (kind, raw) == ("operator", "["):
            return ArrayNode(self._arguments("]"))
        if (kind, raw) == ("operator", "{"):
            return self._object()
        if kind == "name":
            raise ParseError(f"the bare name {raw!r} (JSONata reads it from the context value)")
        raise ParseError(f"{raw!r} where a value was expected")

    def _object(self) -> ObjectNode:
        items: list[tuple[str, Any]] = []
        if self.peek() == ("operator", "}"):
            self.take()
            return ObjectNode(())
        while True:
            kind, key = self.take()
            if kind != "string":
                raise ParseError("an object key that is not a string literal")
            self.expect(":")
            items.append((key, self.expression()))
            kind, raw = self.take()
            if (kind, raw) == ("operator", "}"):
                return ObjectNode(tuple(items))
            if (kind, raw) != ("operator", ","):
                raise ParseError("expected ',' or '}' in an object")

    def _arguments(self, closing: str) -> tuple[Any, ...]:
        items: list[Any] = []
        if self.peek() == ("operator", closing):
            self.take()
            return ()
        while True:
            items.append(self.expression())
            kind, raw = self.take()
            if (kind, raw) == ("operator", closing):
                return tuple(items)
            if (kind, raw) != ("operator", ","):
                raise ParseError(f"expected ',' or {closing!r}")
