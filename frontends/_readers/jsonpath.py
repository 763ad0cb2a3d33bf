"""The JSONPath subset of Amazon States Language: reference paths and intrinsic functions.

Step Functions allows only *reference paths* where a state reads its payload (``$.a.b``,
``$['a b'][0]``, ``$$.Execution.Input.x``); filters and wildcards select lists, which SageMaker
expressions cannot. Intrinsic functions (``States.Format('{}/x', $.a)``) are parsed into
:class:`Call` trees; the reader decides which have a SageMaker equivalent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeglot.frontends._readers.jsonata import Select
from pipeglot.frontends._readers.symbolic import Path


class PathError(ValueError):
    """Not a reference path pipeglot can follow; the message says why."""


@dataclass(frozen=True, slots=True)
class Reference:
    """``$...`` (the state's input, ``context=False``) or ``$$...`` (the context object)."""

    context: bool
    path: Path


@dataclass(frozen=True, slots=True)
class Call:
    """An intrinsic function call, e.g. ``States.Format``; ``args`` are literals, References
    or Calls."""

    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Named:
    """``$.x[?(@.Name == 'n')]``: the items of the list ``reference`` whose ``Name`` is
    ``name`` (pipeglot's machines pick an output parameter so, inside
    ``States.ArrayGetItem(..., 0)``)."""

    reference: Reference
    name: str


# A reference path ending in one filter on the items' Name.
_NAMED = re.compile(
    r"(\$\$?(?:\.[A-Za-z0-9_\-]+|\[[^\]?]*\])*)\[\?\(@\.Name == '((?:[^'\\]|\\.)*)'\)\]"
)
_MEMBER = re.compile(r"\.([A-Za-z0-9_$@:\-]+)|\['((?:[^'\\]|\\.)*)'\]|\[\"([^\"]*)\"\]|\[(-?\d+)\]")
# ``[?(@.Field == 'value')]``: the list item whose Field is value (how pipeglot's machines
# select a metric or an output by name, as SageMaker's ``['value']`` does).
_SELECT = re.compile(r"\[\?\(@\.([A-Za-z0-9_]+) == '((?:[^'\\]|\\.)*)'\)\]")


def parse_reference(text: str) -> Reference:
    if not isinstance(text, str):
        raise PathError("a path must be a string")
    if text.startswith("$$"):
        context, rest = True, text[2:]
    elif text.startswith("$"):
        context, rest = False, text[1:]
    else:
        raise PathError(f"{text!r} is not a path; a path starts with $ or $$")
    tokens: list[Any] = []
    position = 0
    while position < len(rest):
        select = _SELECT.match(rest, position)
        if select is not None:
            tokens.append(Select(select.group(1), select.group(2)))
            position = select.end()
            continue
        match = _MEMBER.match(rest, position)
        if match is None:
            raise PathError(
                f"cannot follow {text!r} from character {position + len(text) - len(rest) + 1}: "
                "only .member, ['member'] and [index] steps name a single value"
            )
        member, quoted, double, index = match.groups()
        if index is not None:
            tokens.append(int(index))
        else:
            tokens.append(
                member if member is not None else (quoted if quoted is not None else double)
            )
        position = match.end()
    return Reference(context, tuple(tokens))


def is_intrinsic(text: str) -> bool:
    return text.startswith("States.")


def parse_intrinsic(text: str) -> Call:
    parser = _IntrinsicParser(text)
    call = parser.call()
    parser.skip_space()
    if parser.position != len(text):
        raise PathError(f"unexpected text after the call in {text!r}")
    return call


class _IntrinsicParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def skip_space(self) -> None:
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def call(self) -> Call:
        match = re.compile(r"States\.[A-Za-z0-9]+").match(self.text, self.position)
        if match is None:
            raise PathError(f"expected an intrinsic function at character {self.position + 1}")
        self.position = match.end()
        self._expect("(")
        args: list[Any] = []
        self.skip_space()
        if self._peek() != ")":
            while True:
                args.append(self.argument())
                self.skip_space()
                if self._peek() == ",":
                    self.position += 1
                    continue
                break
        self._expect(")")
        return Call(match.group(), tuple(args))

    def argument(self) -> Any:
        self.skip_space()
        char = self._peek()
        if char == "'":
            return self._string()
        if char == "$" and (named := _NAMED.match(self.text, self.position)):
            self.position = named.end()
            return Named(parse_reference(named.group(1)), named.group(2))
        if char == "$":
            match = re.compile(r"\$\$?(?:\.[A-Za-z0-9_\-]+|\[[^\]]*\])*").match(
                self.text, self.position
            )
            assert match is not None
            self.position = match.end()
            return parse_reference(match.group())
        if self.text.startswith("States.", self.position):
            return self.call()
        match = re.compile(r"-?\d+(?:\.\d+)?|true|false|null").match(self.text, self.position)
        if match is None:
            raise PathError(f"cannot read the argument at character {self.position + 1}")
        self.position = match.end()
        word = match.group()
        literals = {"true": True, "false": False, "null": None}
        if word in literals:
            return literals[word]
        return float(word) if "." in word else int(word)

    def _string(self) -> str:
        self.position += 1
        out = []
        while self.position < len(self.text):
            char = self.text[self.position]
            if char == "\\" and self.position + 1 < len(self.text):
                escaped = self.text[self.position + 1]
                # Braces stay escaped: States.Format tells them from its {} placeholders.
                out.append("\\" + escaped if escaped in "{}" else escaped)
                self.position += 2
                continue
            if char == "'":
                self.position += 1
                return "".join(out)
            out.append(char)
            self.position += 1
        raise PathError("a string in the intrinsic call is not closed with '")

    def _peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def _expect(self, char: str) -> None:
        self.skip_space()
        if self._peek() != char:
            raise PathError(f"expected {char!r} at character {self.position + 1}")
        self.position += 1
