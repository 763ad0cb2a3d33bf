"""Values many steps share, written once as named constants (``ROLE_ARN``, ``IMAGE_URI``...).

An expert writing a pipeline by hand names what its steps share (a role, an image, a cluster
shape) and writes each step's own values at its task. So a value that appears in the requests
of two steps or more, and is big enough to be worth a name, becomes a module constant; requests
refer to it by name, and each task keeps only what is its own. The outermost shared value
wins; a constant's body refers to another constant only when that one also stands on its own
somewhere. SageMaker's expressions (``{"Get": ...}``) are never hoisted by themselves: a
reference reads best where it is used.

Values are compared by their JSON text, so ``1`` and ``1.0`` stay apart and every literal keeps
its exact spelling.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeglot.backends._python import Atom, Doc, Entry, Group, number_literal, string_literal

MIN_WIDTH = 32  # a shared value shorter than this (as JSON text) stays where it is
_EXPRESSION_KEYS = frozenset({"Get", "Std:Join", "Std:JsonGet"})


@dataclass(slots=True)
class Constants:
    """The shared values of one file: ``names`` maps a value's JSON text to its constant."""

    names: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, Any] = field(default_factory=dict)  # constant -> its value
    _keys: dict[int, str] = field(default_factory=dict)  # id(value) -> JSON text

    def doc(self, value: Any, *, inline: bool = False) -> Doc:
        """``value`` as Python source; shared parts by their name (the whole of ``value``
        too, unless ``inline``)."""
        if not inline:
            name = self.names.get(self._keys.get(id(value), ""))
            if name is not None:
                return Atom(name)
        kind = type(value)
        if kind is dict:
            entries = tuple(
                Entry(string_literal(key), ": ", self.doc(item)) for key, item in value.items()
            )
            return Group("{", entries, "}")
        if kind is list:
            return Group("[", tuple(self.doc(item) for item in value), "]")
        if kind is str:
            return Atom(string_literal(value))
        if value is None or kind is bool:
            return Atom(repr(value))
        return Atom(number_literal(value))


def shared_constants(requests: Iterable[tuple[str, Any]], taken: Iterable[str]) -> Constants:
    """Find the values shared by two or more of ``requests`` ((step, value) pairs) and name
    them; ``taken`` are names the module already uses."""
    constants = Constants()
    counts: dict[str, int] = {}
    hints: dict[str, str] = {}
    listed = list(requests)
    for _, value in listed:
        seen: set[str] = set()
        _key(value, constants._keys, seen, hints, "")
        for key in seen:
            counts[key] = counts.get(key, 0) + 1
    used = {name.upper() for name in taken}
    chosen: dict[str, Any] = {}
    for _, value in listed:
        _choose(value, constants._keys, counts, chosen)
    for key, value in chosen.items():
        name = _constant_name(hints.get(key, "shared"), used)
        constants.names[key] = name
        constants.bodies[name] = value
    return constants


def _key(value: Any, keys: dict[int, str], seen: set[str], hints: dict[str, str], hint: str) -> str:
    """The JSON text of ``value``, recorded for every container and long string in it."""
    kind = type(value)
    if kind is dict:
        if _is_expression(value):  # its body is the expression's own text: never a constant
            return json.dumps(value)
        text = (
            "{"
            + ",".join(
                json.dumps(k) + ":" + _key(v, keys, seen, hints, k) for k, v in value.items()
            )
            + "}"
        )
    elif kind is list:
        text = "[" + ",".join(_key(v, keys, seen, hints, hint) for v in value) + "]"
    else:
        text = json.dumps(value)
        if kind is not str or len(text) < MIN_WIDTH:
            return text
    keys[id(value)] = text
    if len(text) >= MIN_WIDTH:
        seen.add(text)
        hints.setdefault(text, hint)
    return text


def _choose(value: Any, keys: dict[int, str], counts: dict[str, int], chosen: dict) -> None:
    """Top down: the outermost shared values of ``value``."""
    key = keys.get(id(value))
    if key is not None and counts.get(key, 0) >= 2:
        chosen.setdefault(key, value)
        return
    kind = type(value)
    if kind is dict:
        for item in value.values():
            _choose(item, keys, counts, chosen)
    elif kind is list:
        for item in value:
            _choose(item, keys, counts, chosen)


def _is_expression(value: Any) -> bool:
    return type(value) is dict and len(value) == 1 and next(iter(value)) in _EXPRESSION_KEYS


def _constant_name(hint: str, used: set[str]) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", hint)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    base = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper()[:40].rstrip("_") or "SHARED"
    if base[0].isdigit():
        base = f"VALUE_{base}"
    name, number = base, 1
    while name in used:
        number += 1
        name = f"{base}_{number}"
    used.add(name)
    return name
