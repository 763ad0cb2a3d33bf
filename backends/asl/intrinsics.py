"""JSONPath references and intrinsic-function calls, written as ASL strings.

Everything that turns a pipeline value into ASL expression text goes through this module, so
that a string from the pipeline can only ever become a quoted, escaped literal: never a path,
never a function call.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Characters that end or change an intrinsic-function string literal (ASL reserves these four).
_RESERVED = re.compile(r"(['{}\\])")


class NotExpressible(ValueError):
    """A value that JSONPath or the intrinsic functions cannot express; the message says why."""


@dataclass(frozen=True, slots=True)
class Ref:
    """A dynamic value: a JSONPath (``$.a.b``, ``$$.Execution.Id``) or an intrinsic call.

    ``is_path`` tells the two apart: Choice rules and ``...Path`` fields accept only paths.
    """

    text: str
    is_path: bool


def path(root: str, *members: str) -> Ref:
    """``root`` followed by each member, in dot notation where JSONPath allows it."""
    return Ref(root + "".join(member_suffix(member) for member in members), True)


@functools.lru_cache(maxsize=4096)  # the same few field names, in every step of a pipeline
def member_suffix(member: str) -> str:
    if _IDENTIFIER.fullmatch(member):
        return f".{member}"
    if "'" in member or "\\" in member:
        raise NotExpressible(f"the key {member!r} cannot be written in a JSONPath")
    return f"['{member}']"


def index_suffix(position: int) -> str:
    return f"[{position}]"


def extend(ref: Ref, suffix: str) -> Ref:
    if not ref.is_path:
        raise NotExpressible("cannot select a member of a computed value")
    return Ref(ref.text + suffix, True)


def literal(value: object) -> str:
    """A JSON scalar as an intrinsic-function argument."""
    if isinstance(value, str):
        return "'" + _escaped(value) + "'"
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    raise NotExpressible("intrinsic functions take only strings, numbers, booleans and null")


# An intrinsic function's string literal cannot hold U+0000-U+001F (a newline, a tab...), raw
# or escaped as far as Step Functions documents; statelint refuses them as well.
_CONTROL = re.compile(r"[\x00-\x1f]")
_SPECIAL = re.compile(r"[\x00-\x1f'{}\\]")  # either of the above: most text has neither


def _escaped(text: str) -> str:
    if not _SPECIAL.search(text):
        return text
    if _CONTROL.search(text):
        raise NotExpressible(
            f"the text {text[:40]!r} holds a control character (a newline, a tab...), which a "
            "string inside an intrinsic function cannot hold"
        )
    return _RESERVED.sub(r"\\\1", text)


def argument(value: Ref | object) -> str:
    return value.text if isinstance(value, Ref) else literal(value)


def call(function: str, *arguments: Ref | object) -> Ref:
    return Ref(f"States.{function}({', '.join(argument(a) for a in arguments)})", False)


def format_string(pieces: Sequence[str | Ref]) -> str | Ref:
    """The concatenation of literal strings and dynamic values, as a string: a literal when
    nothing is dynamic, else a ``States.Format`` call (which also turns numbers into text)."""
    merged: list[str | Ref] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        elif piece != "":
            merged.append(piece)
    dynamic = [piece for piece in merged if isinstance(piece, Ref)]
    if not dynamic:
        return "".join(piece for piece in merged if isinstance(piece, str))
    template = "".join("{}" if isinstance(piece, Ref) else _escaped(piece) for piece in merged)
    return Ref(f"States.Format('{template}', {', '.join(d.text for d in dynamic)})", False)


def scalar_text(value: object) -> str:
    """How Std:Join writes a literal that is not a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return json.dumps(value)
