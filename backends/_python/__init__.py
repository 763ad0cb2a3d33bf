"""Python source text for generated files (Airflow DAGs, Kubeflow pipelines): the one literal
serialiser, identifier sanitiser, line layout and file header that every Python backend shares.

A value from the pipeline never becomes code: strings, numbers and containers go through
:func:`literal`, which writes Python literals (pure ASCII, so that every character of the source
has width one) laid out the way ``ruff format`` lays them out; the caller decides how expression
nodes are written. Names of Python variables come from :class:`Identifiers`, which hands out
unique, keyword-safe names. :func:`file_header` writes the module docstring that says where the
file came from and the command that regenerates it.
"""

from __future__ import annotations

import builtins
import functools
import keyword
import math
import operator
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

LINE_LENGTH = 100
INDENT = "    "


# --- Layout ---------------------------------------------------------------------------------
# Each node keeps its one-line text (``flat``), built once from its children's when it is made:
# deciding whether a group fits is then one len(), and writing it one concatenation, instead
# of a walk of the subtree at every level of the layout.


class Atom:
    """Text that is never broken across lines."""

    __slots__ = ("flat", "text")

    def __init__(self, text: str) -> None:
        self.text = self.flat = text

    def __repr__(self) -> str:
        return f"Atom({self.text!r})"


class Group:
    """Bracketed items: ``open`` item, item ``close``; one line if it fits, else one per line."""

    __slots__ = ("close", "flat", "items", "open")

    def __init__(self, open: str, items: tuple[Doc | Entry, ...], close: str) -> None:
        self.open, self.items, self.close = open, items, close
        self.flat = open + ", ".join(map(_FLAT, items)) + close

    def __repr__(self) -> str:
        return f"Group({self.open!r}, {self.items!r}, {self.close!r})"


class Entry:
    """``key: value`` in a dict, or ``name=value`` in a call (``separator`` says which)."""

    __slots__ = ("flat", "key", "separator", "value")

    def __init__(self, key: str, separator: str, value: Doc) -> None:
        self.key, self.separator, self.value = key, separator, value
        self.flat = key + separator + value.flat

    def __repr__(self) -> str:
        return f"Entry({self.key!r}, {self.separator!r}, {self.value!r})"


Doc = Atom | Group
_FLAT = operator.attrgetter("flat")


def flat(doc: Doc | Entry) -> str:
    return doc.flat


def render(doc: Doc | Entry, indent: int = 0, prefix: int = 0, suffix: int = 0) -> str:
    """``doc`` as it stands after ``prefix`` columns on a line indented ``indent`` levels and
    followed by ``suffix`` columns. Groups that do not fit explode with a trailing comma,
    which ``ruff format`` keeps (the magic trailing comma)."""
    if type(doc) is Entry:
        head = doc.key + doc.separator
        return head + render(doc.value, indent, prefix + len(head), suffix)
    if type(doc) is Atom or not doc.items:
        return doc.flat
    if len(doc.flat) <= LINE_LENGTH - 4 * indent - prefix - suffix:  # 4: len(INDENT)
        return doc.flat
    inner = INDENT * (indent + 1)
    width = LINE_LENGTH - 4 * (indent + 1) - 1  # what an item that fits its line takes
    lines = [doc.open]
    for item in doc.items:
        text = item.flat  # most items fit: render(item, indent + 1, 0, 1) is their flat text
        if len(text) > width:
            if type(item) is Entry:  # render(item, indent + 1, 0, 1), one call fewer
                head = item.key + item.separator
                text = head + render(item.value, indent + 1, len(head), 1)
            else:
                text = render(item, indent + 1, 0, 1)
        lines.append(f"{inner}{text},")
    lines.append(INDENT * indent + doc.close)
    return "\n".join(lines)


def call(name: str, /, *args: Doc, **kwargs: Doc) -> Group:
    items = (*args, *[Entry(key, "=", value) for key, value in kwargs.items()])
    return Group(f"{name}(", items, ")")


def statement(target: str, doc: Doc, indent: int = 0) -> str:
    """``target = doc`` (or just ``doc`` when ``target`` is empty) as indented lines."""
    head = f"{target} = " if target else ""
    return INDENT * indent + head + render(doc, indent, len(head))


def mark_long_lines(text: str) -> str:
    """Lines that stay too long (a long string cannot be broken) get ``# noqa: E501``, where
    ruff's E501 would flag them (it lets a single word or a trailing URL run over)."""
    # The long lines found by one regular expression: most lines fit. Each match begins
    # with the newline before the line, which the engine finds by a fast scan for "\n"
    # (a pattern that begins with "^" is tried at every character): 8,000 steps 40 -> 6 ms.
    return _LONG_LINE.sub(_marked, "\n" + text)[1:]


_LONG_LINE = re.compile(f"\n[^\n]{{{LINE_LENGTH + 1},}}")


def _marked(match: re.Match[str]) -> str:
    found = match.group()  # "\n" and the line
    return found + "  # noqa: E501" if _too_long(found[1:]) else found


def _too_long(line: str) -> bool:
    if len(line) <= LINE_LENGTH:
        return False
    chunks = line.split()
    if len(chunks) < 2 or (len(chunks) == 2 and chunks[0] == "#"):
        return False
    return not ("://" in chunks[-1] and len(line) - len(chunks[-1]) <= LINE_LENGTH)


# --- Literals -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)  # keys and shared values repeat across steps
def string_literal(text: str) -> str:
    """A Python string literal for ``text``, in ASCII, quoted as ``ruff format`` prefers:
    double quotes unless the text holds more double than single quotes."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    # Escape the quote, backslashes and ASCII control characters, then let the codec spell
    # everything non-ASCII as ascii() would (\xe9, \u2028, \U0001f680...).
    escaped = text.translate(_ESCAPES[quote]).encode("ascii", "backslashreplace").decode("ascii")
    return quote + escaped + quote


def _escape_table(quote: str) -> dict[int, str]:
    table = {code: ascii(chr(code))[1:-1] for code in (*range(0x20), 0x7F)}
    table[ord("\\")] = "\\\\"
    table[ord(quote)] = "\\" + quote
    return table


_ESCAPES = {quote: _escape_table(quote) for quote in ("'", '"')}


@functools.lru_cache(maxsize=65536)
def _string_atom(text: str) -> Atom:
    """The Atom of a string literal: one per distinct string (nodes are never changed)."""
    return Atom(string_literal(text))


def _key_literal(key: object) -> str:
    return string_literal(key if type(key) is str else str(key))


def number_literal(value: int | float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    return repr(value)


def literal(
    value: object,
    expression: type | tuple[type, ...] = (),
    node=None,
    names: Mapping[str, str] | None = None,
) -> Doc:
    """The layout of a JSON-like ``value``; instances of ``expression`` are passed to ``node``,
    which returns their Doc (the caller decides how an expression node is written). A string
    that ``names`` maps to a name is written as that name (a module constant holding it)."""
    kind = type(value)  # exact types first: this runs for every value of every pipeline
    if kind is str:
        name = names.get(value) if names else None
        return _string_atom(value) if name is None else Atom(name)
    if kind is dict:
        entries = [
            Entry(_key_literal(key), ": ", literal(item, expression, node, names))
            for key, item in value.items()
        ]
        return Group("{", tuple(entries), "}")
    if kind is list or kind is tuple:
        return Group("[", tuple([literal(item, expression, node, names) for item in value]), "]")
    if value is None or kind is bool:
        return Atom(repr(value))
    if kind is int or kind is float:
        return Atom(number_literal(value))
    if expression and isinstance(value, expression):
        return node(value)
    # Subclasses of the JSON types (an IntEnum, an OrderedDict...) take the general path.
    if isinstance(value, bool):
        return Atom(repr(value))
    if isinstance(value, int | float):
        return Atom(number_literal(value))
    if isinstance(value, str):
        return literal(str(value), expression, node, names)
    if isinstance(value, dict):
        return literal(dict(value), expression, node, names)
    if isinstance(value, list | tuple):
        return literal(list(value), expression, node, names)
    raise TypeError(f"cannot write {type(value).__name__} as a Python literal")


class Writers(NamedTuple):
    """The closures :func:`writers` makes: ``value`` writes a value, ``values`` each of some
    values; ``release()`` (once the file is written) breaks the cycles they form."""

    value: Callable[[object], Doc]
    values: Callable[[Iterable[object]], tuple[Doc, ...]]
    release: Callable[[], None]


def writer(
    expression: type | tuple[type, ...] = (),
    node=None,
    names: Mapping[str, str] | None = None,
    written: Mapping[int, tuple[object, Doc]] | None = None,
) -> Callable[[object], Doc]:
    """The first of :func:`writers`: ``lambda value: literal(value, expression, node, names)``."""
    return writers(expression, node, names, written)[0]


def writers(
    expression: type | tuple[type, ...] = (),
    node=None,
    names: Mapping[str, str] | None = None,
    written: Mapping[int, tuple[object, Doc]] | None = None,
) -> Writers:
    """``lambda value: literal(value, expression, node, names)``, and the function that
    writes each of some values (``tuple(map(write, values))``), as closures that a backend
    keeps for a whole file: the same Docs, with one call per value (not a call of literal and
    of the caller's own wrapper), exact expression types found by one set lookup, and string
    items written in place. ``names`` is read when a string is written (it may still grow).

    ``written``, if given, is the caller's record of expression nodes it has written,
    ``id(node) -> (node, doc)``: a node found there (the same object) is written as that doc
    without a call of ``node``, which must then return that doc for it."""
    exact = frozenset(expression if isinstance(expression, tuple) else (expression,))
    memo = {} if written is None else written
    string_atom, quoted = _string_atom, string_literal
    # A string item that names does not hold is its cached Atom, written in place (most
    # items are strings): no call of write for it. ``named`` is names, or nothing.
    named: Mapping[str, str] = {} if names is None else names

    def write(value: object) -> Doc:
        kind = type(value)
        if kind is str:
            if names:
                name = names.get(value)
                if name is not None:
                    return Atom(name)
            return string_atom(value)
        if kind is dict:
            entries = [
                Entry(
                    quoted(key) if type(key) is str else _key_literal(key),
                    ": ",
                    string_atom(item) if type(item) is str and item not in named else write(item),
                )
                for key, item in value.items()
            ]
            return Group("{", tuple(entries), "}")
        if kind is list or kind is tuple:
            return Group("[", write_items(value), "]")
        if kind in exact:
            seen = memo.get(id(value))
            if seen is not None and seen[0] is value:
                return seen[1]
            return node(value)
        if value is None or kind is bool:
            return Atom(repr(value))
        return literal(value, expression, node, names)  # numbers and the general path

    def write_items(values: Iterable[object]) -> tuple[Doc, ...]:
        items = []
        for item in values:
            kind = type(item)
            if kind is str and item not in named:
                items.append(string_atom(item))
                continue
            if kind in exact:
                seen = memo.get(id(item))
                if seen is not None and seen[0] is item:
                    items.append(seen[1])
                    continue
            items.append(write(item))
        return tuple(items)

    def release() -> None:
        """Let go of what the closures hold. ``write`` calls itself, so it and its cell form
        a reference cycle, and a caller that keeps the closures while ``node`` refers back to
        it (a bound method) is in that cycle too: only the cyclic collector would free them,
        and everything they hold, scanning it all (1,000 steps: 15,000 objects, 10 ms)."""
        nonlocal write, write_items, node, memo, named, names
        write = write_items = node = memo = named = names = None  # type: ignore[assignment]

    return Writers(write, write_items, release)


# --- Identifiers ----------------------------------------------------------------------------

_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
MAX_IDENTIFIER = 40


class Identifiers:
    """Hands out Python names for step names: lower-case ASCII snake case, unique, never a
    keyword, builtin or ``taken`` name. Injective by construction (a table of what was given),
    deterministic for a given order of requests."""

    def __init__(self, taken: Iterable[str] = (), *, keep_case: bool = False) -> None:
        self._given: dict[str, str] = {}
        self._used = set(_RESERVED) | set(taken)
        # keep_case: names that users type (pipeline inputs) stay as written when they are
        # identifiers already; only other characters become "_".
        self._style = _identifier if keep_case else _snake_case

    def __getitem__(self, name: str) -> str:
        given = self._given.get(name)
        if given is None:
            given = self._given[name] = self._fresh(self._style(name))
        return given

    def helper(self, name: str) -> str:
        """A new name for something that is not a step (a helper task), never handed out
        again: helper names cannot collide with step names however the steps are called."""
        return self._fresh(_snake_case(name))

    def _fresh(self, base: str) -> str:
        # A keyword gets PEP 8's trailing underscore (class_); other clashes get _2, _3...
        candidate, number = (f"{base}_" if keyword.iskeyword(base) else base), 1
        while candidate in self._used:
            number += 1
            candidate = f"{base}_{number}"
        self._used.add(candidate)
        return candidate


def _identifier(name: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_]", "_", name)
    # Python names cannot begin with a digit, and kfp's input names must begin with a letter.
    return text if text[:1].isalpha() else f"n_{text}"


_LOWER_UPPER = re.compile(r"([a-z0-9])([A-Z])")
_ACRONYM_WORD = re.compile(r"([A-Z]+)([A-Z][a-z])")
_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]+")


def _snake_case(name: str) -> str:
    rest = name[1:]
    if name.isascii() and name.isalnum() and rest == rest.lower():
        # No upper-case letter after the first and nothing to replace (Step00042): the
        # expressions below would only lower-case it.
        text = name.lower()
        if text[0].isdigit():
            text = f"step_{text}"
        return text[:MAX_IDENTIFIER].rstrip("_")
    text = _ACRONYM_WORD.sub(r"\1_\2", _LOWER_UPPER.sub(r"\1_\2", name))
    text = _NOT_ALPHANUMERIC.sub("_", text).strip("_").lower()
    if not text or text[0].isdigit():
        text = f"step_{text}".rstrip("_")
    return text[:MAX_IDENTIFIER].rstrip("_")


# --- Imports --------------------------------------------------------------------------------


def import_block(modules: set[str], names: dict[str, set[str]]) -> str:
    """``import x`` lines, then ``from x import a, b`` lines, each group sorted as isort does
    (constants, then classes, then functions), wrapped like ``ruff format`` wraps them."""
    lines = [f"import {module}" for module in sorted(modules)]
    for module in sorted(names):
        members = sorted(names[module], key=_isort_key)
        doc = Group(f"from {module} import (", tuple(Atom(m) for m in members), ")")
        text = render(doc)
        if "\n" not in text:
            text = f"from {module} import {', '.join(members)}"
        lines.append(text)
    return "\n".join(lines)


def _isort_key(name: str) -> tuple[int, str]:
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


# --- File header ----------------------------------------------------------------------------


def file_header(
    title: str,
    pipeline: str,
    command: str | list[str] | tuple[str, ...],
    fallback: str,
    *,
    future_annotations: bool = True,
) -> str:
    """The module docstring of a generated file, then ``from __future__ import annotations``
    (unless ``future_annotations`` is false: kfp reads components' annotations as types).

    ``title`` is our own text (one line); ``pipeline`` is shown only in a safe spelling, on a line
    of its own, so no pipeline text can end the docstring; ``command`` is the command that
    regenerates the file, as the user ran it (a string or argv list), wrapped at spaces with
    shell continuations when it is longer than a line. A command that cannot be shown as
    itself (not printable ASCII, or it could end the docstring) is replaced by ``fallback``.
    """
    shown = safe_name(pipeline)
    lines = _command_lines(command, fallback)
    raw = "r" if any("\\" in line for line in lines) else ""
    body = "\n".join(
        f"    {line}" if index == 0 else f"        {line}" for index, line in enumerate(lines)
    )
    return (
        f'{raw}"""{title}\n\n'
        f"{shown}\n\n"
        "Generated code: change the pipeline and regenerate rather than edit this file:\n\n"
        f"{body}\n"
        '"""' + ("\n\nfrom __future__ import annotations" if future_annotations else "")
    )


def safe_name(name: str) -> str:
    """``name`` with every character outside ``A-Za-z0-9._-`` replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name or "pipeline")


def _command_lines(command: str | list[str] | tuple[str, ...], fallback: str) -> list[str]:
    text = command if isinstance(command, str) else shlex.join(command)
    # Only printable ASCII can stand in a raw docstring as itself; a command that could end
    # the docstring or needs escapes is shown in its generic form.
    if not _PRINTABLE.fullmatch(text) or '"""' in text or text.endswith(('"', "\\")):
        text = fallback
    words, lines, line = text.split(" "), [], ""
    budget = LINE_LENGTH - len("        ") - len(" \\")
    for word in words:
        if line and len(line) + 1 + len(word) > budget:
            lines.append(line + " \\")
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return lines


_PRINTABLE = re.compile(r"[ -~]+")
