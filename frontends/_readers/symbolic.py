"""Symbolic payloads: what a state's input holds when only the run will know the values.

A Step Functions or Airflow workflow passes data from task to task in payloads and XComs. A
reader follows them symbolically: a *symbol* is a plain JSON value, an :class:`Overlay` (an
object some of whose fields are known, the rest read from a base), or a :class:`Source` (a
value produced at run time, such as the execution input or a job's Describe response). Reading
a path into a Source gives an IR expression: a parameter, a step property.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

Token: TypeAlias = str | int
Path: TypeAlias = tuple[Token, ...]


class Unexpressible(Exception):
    """A run-time value has no SageMaker expression; ``args[0]`` says why."""


@dataclass(frozen=True, slots=True)
class Source:
    """A run-time value. ``express(path)`` is the IR value at ``path`` inside it, or raises
    Unexpressible."""

    describe: str  # how messages name it: "the execution input", "the result of 'Train'"
    express: Callable[[Path], Any] = field(compare=False)
    prefix: Path = ()

    def at(self, path: Path) -> Source:
        return Source(self.describe, self.express, self.prefix + tuple(path))

    def value(self) -> Any:
        return self.express(self.prefix)


@dataclass(frozen=True, slots=True)
class Overlay:
    """An object whose ``fields`` are known; other fields come from ``base`` (or do not exist)."""

    fields: dict[str, Any]
    base: Any = None


class _NotFound:
    __slots__ = ()


NOT_FOUND: Any = _NotFound()


def descend(symbol: Any, path: Path) -> Any:
    """The symbol at ``path`` inside ``symbol``, or NOT_FOUND."""
    position = 0
    while position < len(path):
        token = path[position]
        if isinstance(symbol, Source):
            return symbol.at(path[position:])
        if isinstance(symbol, Overlay):
            if token in symbol.fields:
                symbol = symbol.fields[token]
                position += 1
            elif symbol.base is None:
                return NOT_FOUND
            else:
                symbol = symbol.base  # the same token, one layer down
            continue
        if (isinstance(symbol, dict) and isinstance(token, str) and token in symbol) or (
            isinstance(symbol, list)
            and isinstance(token, int)
            and -len(symbol) <= token < len(symbol)
        ):
            symbol = symbol[token]
        else:
            return NOT_FOUND
        position += 1
    return symbol


def assign(symbol: Any, path: Path, value: Any) -> Any:
    """``symbol`` with ``value`` placed at ``path`` (a ResultPath), without changing it."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    inner = descend(symbol, (head,))
    placed = assign({} if inner is NOT_FOUND else inner, rest, value)
    if isinstance(symbol, dict) and isinstance(head, str):
        return {**symbol, head: placed}
    if isinstance(head, str):
        return Overlay({head: placed}, base=symbol)
    raise Unexpressible(f"cannot place a result at list index {head}")


def to_value(symbol: Any) -> Any:
    """The IR value of a symbol: JSON with expressions; raises Unexpressible."""
    if isinstance(symbol, Source):
        return symbol.value()
    if isinstance(symbol, Overlay):
        if symbol.base is not None and not isinstance(symbol.base, dict | Overlay):
            raise Unexpressible(
                f"an object that extends {describe(symbol.base)} with more fields is built at "
                "run time"
            )
        merged = to_value(symbol.base) if symbol.base is not None else {}
        merged.update({key: to_value(item) for key, item in symbol.fields.items()})
        return merged
    if isinstance(symbol, dict):
        return {key: to_value(item) for key, item in symbol.items()}
    if isinstance(symbol, list):
        return [to_value(item) for item in symbol]
    if symbol is NOT_FOUND:
        raise Unexpressible("the path reads a field that no earlier state sets")
    return symbol


def describe(symbol: Any) -> str:
    if isinstance(symbol, Source):
        return symbol.describe
    return "a value built by the workflow"
