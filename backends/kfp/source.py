"""Writing Python source that ``ruff format`` leaves as it is: literals, identifiers, calls.

Two rules keep pipeline values out of code: every value goes through :func:`literal` (one
serialiser, ASCII-only string escapes, so no value can end a string or start a statement), and
every name goes through :class:`Namer` (one sanitiser, injective within a scope, never a keyword).
The layout mirrors ruff's: collections and calls that do not fit on one line are exploded, one
item per line, with a trailing comma, which ruff keeps as it is.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Sequence

from pipeglot.ir.expressions import Value

LINE_LENGTH = 100
INDENT = "    "


# --- Literals -------------------------------------------------------------------------------


def string(text: str) -> str:
    """A Python string literal for ``text``: printable ASCII as is, everything else escaped.

    The quote is ruff's choice: double quotes, unless the text holds more double quotes than
    single ones.
    """
    if _PLAIN.fullmatch(text):
        return f'"{text}"'
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + _ESCAPED[quote].sub(_escape, text) + quote


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if code < 0x20 or 0x7F <= code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


_PLAIN = re.compile(r"[ !#-&(-\[\]-~]*")  # printable ASCII but quotes and backslash
_ESCAPED = {
    '"': re.compile(r'[^\x20-\x7e]|["\\]'),
    "'": re.compile(r"[^\x20-\x7e]|['\\]"),
}
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", '"': '\\"', "'": "\\'"}


def literal(value: Value, level: int = 0) -> str:
    """The Python literal for a JSON value; a collection spans lines indented from ``level``."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, dict):
        items = [f"{string(key)}: {literal(item, level + 1)}" for key, item in value.items()]
        return _exploded("{", items, "}", level)
    if isinstance(value, (list, tuple)):
        return _exploded("[", [literal(item, level + 1) for item in value], "]", level)
    raise TypeError(f"cannot write {type(value).__name__} as a Python literal")


def code_dict(entries: Sequence[tuple[str, str]], level: int = 0) -> str:
    """A dict display whose keys are strings and whose values are code (names, calls)."""
    return _exploded("{", [f"{string(key)}: {code}" for key, code in entries], "}", level)


def code_list(items: Sequence[str], level: int = 0) -> str:
    return _exploded("[", list(items), "]", level)


def code_tuple(items: Sequence[str], level: int = 0) -> str:
    """A tuple display (of two items or more) on one line when it fits as an argument at
    ``level``, otherwise one item per line."""
    one_line = "(" + ", ".join(items) + ")"
    if width(INDENT * level + one_line + ",") <= LINE_LENGTH:
        return one_line
    return _exploded("(", list(items), ")", level)


def _exploded(opening: str, items: list[str], closing: str, level: int) -> str:
    if not items:
        return opening + closing
    inner = INDENT * (level + 1)
    lines = [opening] + [f"{inner}{item}," for item in items] + [INDENT * level + closing]
    return "\n".join(lines)


# --- Identifiers ----------------------------------------------------------------------------


def identifier(text: str) -> str:
    """``text`` made a valid, non-keyword ASCII identifier (not necessarily unique)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    if not name or name[0].isdigit():
        name = "n_" + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


class Namer:
    """Hands out identifiers in one scope: the same key always gets the same name, and two
    keys never share one (a clash gets ``_2``, ``_3``... in the order names are asked for)."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._taken = set(reserved)
        self._names: dict[object, str] = {}

    def name(self, key: object, text: str) -> str:
        if key in self._names:
            return self._names[key]
        base = identifier(text)
        candidate, number = base, 2
        while candidate in self._taken:
            candidate, number = f"{base}_{number}", number + 1
        self._taken.add(candidate)
        self._names[key] = candidate
        return candidate


# --- Statements -----------------------------------------------------------------------------


def call(head: str, arguments: Sequence[str], tail: str = "", level: int = 0) -> str:
    """``head(arguments)tail`` at indentation ``level``: on one line when it fits, otherwise one
    argument per line with a trailing comma (ruff keeps that form as it is)."""
    indent = INDENT * level
    one_line = f"{indent}{head}({', '.join(arguments)}){tail}"
    if "\n" not in one_line and width(one_line) <= LINE_LENGTH:
        return one_line
    inner = INDENT * (level + 1)
    lines = [f"{indent}{head}("] + [f"{inner}{argument}," for argument in arguments]
    return "\n".join([*lines, f"{indent}){tail}"])


def assign_call(target: str, callee: str, arguments: Sequence[str], level: int) -> str:
    """``target = callee(arguments)``; when even ``target = callee(`` is too long, the call goes
    in parentheses of its own, as ruff writes it."""
    indent = INDENT * level
    head = f"{indent}{target} = {callee}("
    if width(head) <= LINE_LENGTH:
        return call(f"{target} = {callee}", arguments, level=level)
    inner = call(callee, arguments, level=level + 1)
    return f"{indent}{target} = (\n{inner}\n{indent})"


def width(line: str) -> int:
    """A line's width as ruff measures it, leaving out a trailing ``# noqa`` comment."""
    code, _, _ = line.partition("  # noqa")
    return len(code)


def mark_long_lines(text: str) -> str:
    """Add ``# noqa: E501`` to the lines ruff's line-length rule would report.

    Only literals from the pipeline (long S3 URIs, image names) make lines this long; they cannot
    be split without changing them. The test mirrors ruff's exemptions: a single word, and a
    line ending in a URL that starts within the limit.
    """
    return "\n".join(_mark(line) for line in text.split("\n"))


def _mark(line: str) -> str:
    code, _, pragma = line.partition("  # noqa: ")
    if len(code) <= LINE_LENGTH:
        return line
    chunks = code.split()
    if len(chunks) < 2:
        return line
    if "://" in chunks[-1] and len(code) - len(chunks[-1]) <= LINE_LENGTH:
        return line
    codes = sorted({"E501", *filter(None, pragma.split(", "))})
    return f"{code}  # noqa: {', '.join(codes)}"
