"""Values many steps share, written once as named constants (``ROLE_ARN``, ``IMAGE_URI``...).

An expert writing a pipeline by hand names what its steps share (a role, an image, a cluster
shape) and writes each step's own values at its task. Two kinds of constants do that here:

- a *value* that appears in the requests of two steps or more, and is big enough to be worth a
  name, becomes a constant, and requests refer to it by name (the outermost shared value wins);
- a *run of entries* that the same dict holds in every step (same place in the request, same
  keys: ``S3DataType``, ``S3InputMode``... of each S3Input) becomes a constant that the dict
  spreads (``{"S3Uri": ..., **S3_INPUT}``), at the run's place, so the key order is kept.

A value that reads a step's result (``{"Get": "Steps...."}``) is never part of such a
constant: it is the task's own wiring. Each step property that a request reads is named
instead, as Airflow's ``xcom()`` constants are: ``TRAIN_MODEL_ARTIFACTS = Get("Steps.Train...")``
in one block, so requests read ``s3_uri=PREPROCESS_TRAIN_S3_URI`` and the file lists in one
place what its tasks read from earlier steps. Values are compared by their JSON text, so ``1``
and ``1.0`` stay apart and every literal keeps its spelling.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

from pipeglot.backends._python import (
    Atom,
    Doc,
    Entry,
    Group,
    number_literal,
    string_literal,
)
from pipeglot.backends._python.sharing import Hole, ItemCall

MIN_WIDTH = 32  # a shared value shorter than this (as JSON text) stays where it is
# An item call stands in a list in a builder's argument in a task's call: 16 columns in, and
# followed by a comma.
ITEM_WIDTH = 100 - 16 - 1
_EXPRESSION_KEYS = frozenset({"Get", "Std:Join", "Std:JsonGet"})
_STEP_REFERENCE = '"Get": "Steps.'
_CODE = "\x00"


@dataclass(slots=True)
class Constants:
    """The shared values of one file."""

    names: dict[str, str] = field(default_factory=dict)  # a value's JSON text -> its constant
    bodies: dict[str, Any] = field(default_factory=dict)  # constant -> its value
    spreads: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)
    keys: dict[int, str] = field(default_factory=dict)  # id(value) -> its JSON text
    # Request builders' bodies and each step's arguments to its builder, as request JSON.
    bodies_of_builders: dict[str, Any] = field(default_factory=dict)
    builder_arguments: dict[str, dict[str, Any]] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)  # "Steps.X..." -> its constant
    gets: dict[str, Doc] = field(default_factory=dict)  # a Get's reference -> its source, once

    def doc(self, value: Any, *, inline: bool = False) -> Doc:
        """``value`` as Python source; shared parts by their name (the whole of ``value``
        too, unless ``inline``)."""
        kind = type(value)
        if kind is str:  # most values: first
            key = None if inline else self.keys.get(id(value))
            name = None if key is None else self.names.get(key)
            return _string_atom(value) if name is None else _name_atom(name)
        if not inline and (kind is dict or kind is list):
            key = self.keys.get(id(value))
            name = None if key is None else self.names.get(key)
            if name is not None:
                return _name_atom(name)
        if kind is dict:
            if len(value) == 1:
                reference = value.get("Get")
                if type(reference) is str:  # most expressions: the short way
                    known = self.gets.get(reference)
                    if known is None:
                        known = self.gets[reference] = self._get(reference)
                    return known
                expression = self._expression(value)
                if expression is not None:
                    return expression
            return Group("{", self._entries(value), "}")
        if kind is list:
            return Group("[", self._docs(value), "]")
        if value is None or kind is bool:
            return Atom(repr(value))
        if kind is Hole:  # a parameter of a request builder
            return Atom(value.name)
        if kind is ItemCall:  # a list item made by its builder, with the item's own values
            return self._item_call(value)
        return Atom(number_literal(value))

    def _docs(self, values: Iterable[Any]) -> tuple[Doc, ...]:
        """``doc`` of each of ``values``; strings, most items of lists, the short way."""
        keys, names, docs = self.keys, self.names, []
        for item in values:
            if type(item) is str:
                key = keys.get(id(item))
                name = None if key is None else names.get(key)
                docs.append(_string_atom(item) if name is None else _name_atom(name))
            else:
                docs.append(self.doc(item))
        return tuple(docs)

    def _item_call(self, value: ItemCall) -> Group:
        """Positional when the call fits on its line (the builder's signature, written once,
        names the parameters), as Airflow's are; by name when it would be broken anyway."""
        docs = self._docs([item for _, item in value.arguments])
        positional = Group(f"{value.function}(", docs, ")")
        if len(positional.flat) <= ITEM_WIDTH:
            return positional
        entries = tuple(
            Entry(name, "=", doc) for (name, _), doc in zip(value.arguments, docs, strict=True)
        )
        return Group(f"{value.function}(", entries, ")")

    def _expression(self, value: dict[str, Any]) -> Doc | None:
        """A SageMaker expression as a call of the file's ``Get``/``Join``/``JsonGet``."""
        ((key, body),) = value.items()
        if key == "Get" and type(body) is str:
            return self._get(body)
        if key == "Std:Join" and type(body) is dict and set(body) == {"On", "Values"}:
            values = Group("[", self._docs(body["Values"]), "]")
            return Group("Join(", (Atom(string_literal(body["On"])), values), ")")
        if key == "Std:JsonGet" and type(body) is dict and set(body) == {"S3Uri", "Path"}:
            return Group("JsonGet(", (self.doc(body["S3Uri"]), self.doc(body["Path"])), ")")
        return None

    def _get(self, reference: str) -> Doc:
        name = self.references.get(reference)
        return _name_atom(name) if name is not None else reference_doc(reference)

    def _entries(self, value: dict[str, Any]) -> tuple[Doc | Entry, ...]:
        runs = self.spreads.get(id(value), [])
        items = list(value.items())
        out: list[Doc | Entry] = []
        position = 0
        for start, end, name in runs:
            out.extend(self._entry(key, item) for key, item in items[position:start])
            out.append(Atom(f"**{name}"))
            position = end
        out.extend(self._entry(key, item) for key, item in items[position:])
        return tuple(out)

    def _entry(self, key: str, item: Any) -> Entry:
        return Entry(string_literal(key), ": ", self.doc(item))


# Atoms are never changed once made: the same text is the same Atom, made once.
@functools.lru_cache(maxsize=65536)
def _string_atom(text: str) -> Atom:
    return Atom(string_literal(text))


@functools.lru_cache(maxsize=4096)
def _name_atom(name: str) -> Atom:
    return Atom(name)


@dataclass(slots=True)
class _Walk:
    keys: dict[int, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)
    # (place, keys) -> [(request number, dict)]: the dicts that may share runs of entries
    groups: dict[tuple[str, tuple[str, ...]], list[tuple[int, dict]]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    request: int = 0
    references: dict[str, None] = field(default_factory=dict)  # step properties read, in order


def shared_constants(
    requests: Iterable[Any], taken: Iterable[str], variables: Mapping[str, str]
) -> Constants:
    """Find the values (and runs of entries) shared by two or more of ``requests`` and name
    them, and name each step property they read; ``taken`` are names the module already uses,
    ``variables`` the Python name of each step (a property's constant begins with it)."""
    walk = _Walk()
    counts: dict[str, int] = {}
    listed = list(requests)
    for number, value in enumerate(listed):
        walk.seen, walk.request = set(), number
        _key(value, walk, "", "")
        for key in walk.seen:
            counts[key] = counts.get(key, 0) + 1
    constants = Constants(keys=walk.keys)
    used = {name.upper() for name in taken}
    chosen: dict[str, Any] = {}
    for value in listed:
        _choose(value, walk.keys, counts, chosen)
    for key, value in chosen.items():
        name = _constant_name(walk.hints.get(key, "shared"), used)
        constants.names[key] = name
        constants.bodies[name] = value
    _spreads(walk, constants, used)
    for reference in walk.references:
        constants.references[reference] = _reference_name(reference, variables, used)
    # A constant's body only names shorter constants: shortest first, each after its parts.
    order = sorted(constants.bodies, key=lambda name: len(_text(constants, name)))
    constants.bodies = {name: constants.bodies[name] for name in order}
    return constants


def _text(constants: Constants, name: str) -> str:
    body = constants.bodies[name]
    return constants.keys.get(id(body)) or json.dumps(body)


def _key(value: Any, walk: _Walk, hint: str, place: str) -> str:
    """The JSON text of ``value``, recorded for every container and long string in it."""
    kind = type(value)
    # A builder's parameter or an item builder's call is code, not data: what holds one is
    # never a constant (NUL marks them: JSON text never holds a raw NUL).
    if kind is Hole:
        return f"{_CODE}{value.name}"
    if kind is ItemCall:
        inner = ",".join(
            [
                f"{name}={_item_key(item, walk, name, place, '.' + name)}"
                for name, item in value.arguments
            ]
        )
        return f"{_CODE}{value.function}({inner})"
    if kind is dict:
        if len(value) == 1 and type(reference := value.get("Get")) is str:
            return _get_key(value, reference, walk)  # most expressions: the short way
        if _is_expression(value):
            # An expression is written where it is used, but for a run-wide value that many
            # steps read (Execution.PipelineExecutionId): that one is named once.
            text = _loose_text(value)
            for inner in _operands(value):
                _key(inner, walk, hint, place)
            reference = value.get("Get")
            if type(reference) is str and reference.startswith("Steps."):
                walk.references[reference] = None
            elif type(reference) is str and reference.startswith("Execution."):
                walk.keys[id(value)] = text
                walk.seen.add(text)
                walk.hints.setdefault(text, reference.removeprefix("Execution."))
            return text
        parts = []
        for k, v in value.items():  # a short string, most values, the short way
            text = encode_basestring(v) if type(v) is str else None
            if text is None or len(text) >= MIN_WIDTH:
                text = _item_key(v, walk, k, place, f".{k}")
            parts.append(encode_basestring(k) + ":" + text)
        text = "{" + ",".join(parts) + "}"
        walk.groups.setdefault((place, tuple(value)), []).append((walk.request, value))
    elif kind is list:
        parts = []
        for v in value:  # as for a dict's values
            text = encode_basestring(v) if type(v) is str else None
            if text is None or len(text) >= MIN_WIDTH:
                text = _item_key(v, walk, hint, place, "[]")
            parts.append(text)
        text = "[" + ",".join(parts) + "]"
    elif kind is str:
        text = encode_basestring(value)
        if len(text) < MIN_WIDTH:
            return text
    else:
        return json.dumps(value)
    walk.keys[id(value)] = text
    if len(text) >= MIN_WIDTH and _STEP_REFERENCE not in text and _CODE not in text:
        walk.seen.add(text)
        walk.hints.setdefault(text, hint)
    return text


def _get_key(value: dict[str, Any], reference: str, walk: _Walk) -> str:
    """``_key`` of ``{"Get": reference}``: its JSON text (as ``_loose_text`` writes it); a step
    property is noted, a run-wide value recorded as a possible constant."""
    text = '{"Get": ' + encode_basestring_ascii(reference) + "}"
    if reference.startswith("Steps."):
        walk.references[reference] = None
    elif reference.startswith("Execution."):
        walk.keys[id(value)] = text
        walk.seen.add(text)
        walk.hints.setdefault(text, reference.removeprefix("Execution."))
    return text


def _item_key(value: Any, walk: _Walk, hint: str, place: str, step: str) -> str:
    """``_key`` of an item of a container at ``place + step``, where plain values, most of
    every request, take the short way (the same text; a long string is recorded as before)."""
    kind = type(value)
    if kind is str:
        text = encode_basestring(value)
        return _key(value, walk, hint, place + step) if len(text) >= MIN_WIDTH else text
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is dict and len(value) == 1 and type(reference := value.get("Get")) is str:
        return _get_key(value, reference, walk)
    return _key(value, walk, hint, place + step)


def _choose(value: Any, keys: dict[int, str], counts: dict[str, int], chosen: dict) -> None:
    """Top down: the outermost shared values of ``value``."""
    key = keys.get(id(value))
    if key is not None and counts.get(key, 0) >= 2:
        chosen.setdefault(key, value)
        return
    kind = type(value)
    if kind is dict:
        items: Iterable[Any] = value.values()
    elif kind is list:
        items = value
    elif kind is ItemCall:
        items = [item for _, item in value.arguments]
    else:
        return
    for item in items:
        # Only containers, and the long strings that have a key, can be or hold a constant;
        # a Get holds none, and is one only if it has a key (a run-wide value).
        kind = type(item)
        leaf = kind is str or (kind is dict and len(item) == 1 and type(item.get("Get")) is str)
        if not leaf or id(item) in keys:
            _choose(item, keys, counts, chosen)


def _spreads(walk: _Walk, constants: Constants, used: set[str]) -> None:
    """Runs of entries that every dict of a group holds alike, in two requests or more."""
    for (place, keys), members in walk.groups.items():
        if len({number for number, _ in members}) < 2:
            continue
        texts = [[_item_text(walk, key, member[key]) for key in keys] for _, member in members]
        common = [
            _STEP_REFERENCE not in texts[0][i]
            and _CODE not in texts[0][i]
            and all(t[i] == texts[0][i] for t in texts)
            for i in range(len(keys))
        ]
        if all(common):
            continue  # the whole dict is shared: a value constant if it is big enough
        for start, end in _runs(common):
            if end - start < 2:  # one entry: its value is a constant if it is worth one
                continue
            first = members[0][1]
            body = {key: first[key] for key in keys[start:end]}
            name = _constant_name(place.rsplit(".", 1)[-1].removesuffix("[]") or "request", used)
            constants.bodies[name] = body
            constants.keys[id(body)] = "{" + ",".join(texts[0][start:end]) + "}"
            for _, member in members:
                constants.spreads.setdefault(id(member), []).append((start, end, name))


def _item_text(walk: _Walk, key: str, value: Any) -> str:
    text = walk.keys.get(id(value))
    return encode_basestring(key) + ":" + (text if text is not None else _loose_text(value))


def _loose_text(value: Any) -> str:
    """The JSON text of a value ``_key`` did not record (a builder's parameter, a short value,
    an expression), starting with a raw NUL when it holds code: JSON escapes a NUL inside its
    strings, so only that prefix keeps a run holding a parameter out of module constants."""
    text = _plain_expression_text(value)
    if text is not None:
        return text
    code: list[Any] = []

    def mark(node: Any) -> str:
        code.append(node)
        return repr(node)

    text = json.dumps(value, default=mark)
    return _CODE + text if code else text


def _plain_expression_text(value: Any) -> str | None:
    """json.dumps' text of a Get, or of a Join of texts and Gets (most expressions), written
    without json.dumps' general machinery; None for anything else."""
    if type(value) is not dict or len(value) != 1:
        return None
    reference = value.get("Get")
    if type(reference) is str:
        return '{"Get": ' + encode_basestring_ascii(reference) + "}"
    body = value.get("Std:Join")
    if type(body) is not dict or len(body) != 2 or type(body.get("On")) is not str:
        return None
    items = body.get("Values")
    if type(items) is not list or tuple(body) != ("On", "Values"):
        return None
    texts = []
    for item in items:
        text = encode_basestring_ascii(item) if type(item) is str else None
        if text is None and type(item) is dict and len(item) == 1:
            inner = item.get("Get")
            text = '{"Get": ' + encode_basestring_ascii(inner) + "}" if type(inner) is str else None
        if text is None:
            return None
        texts.append(text)
    on = encode_basestring_ascii(body["On"])
    return '{"Std:Join": {"On": ' + on + ', "Values": [' + ", ".join(texts) + "]}}"


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    runs, start = [], None
    for index, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            runs.append((start, index))
            start = None
    return runs


def _operands(expression: dict[str, Any]) -> list[Any]:
    """The values inside a Join or JsonGet (they may hold shared values of their own)."""
    body = next(iter(expression.values()))
    if type(body) is not dict:
        return []
    operands = body.get("Values", []) if "Values" in body else [body.get("S3Uri")]
    return list(operands) if type(operands) is list else []


def _is_expression(value: Any) -> bool:
    return type(value) is dict and len(value) == 1 and next(iter(value)) in _EXPRESSION_KEYS


def reference_doc(reference: str) -> Doc:
    """``Get("...")``: how a constant naming a step property is defined."""
    return Group("Get(", (Atom(string_literal(reference)),), ")")


_PATH_PART = re.compile(r"\.([A-Za-z0-9_:-]+)|\[(\d+)\]|\['([^']*)'\]")


def _reference_name(reference: str, variables: Mapping[str, str], used: set[str]) -> str:
    """``STEP_<item names>_<last field>``: ``Steps.Prep.ProcessingOutputConfig.Outputs['train']
    .S3Output.S3Uri`` is ``PREP_TRAIN_S3_URI``, as the Airflow backend names its ``xcom()``s."""
    step = re.match(r"[^.\[']+", reference[len("Steps.") :])
    name = step.group() if step else ""
    parts = _PATH_PART.findall(reference[len("Steps.") + len(name) :])
    picked = [key for _, _, key in parts[:-1] if key]
    last = next((field or key for field, _, key in reversed(parts) if field or key), "value")
    words = "_".join([*picked, last])
    base = f"{variables.get(name, name)}_{_snake(words)}".upper()
    base = re.sub(r"[^A-Z0-9_]+", "_", base).strip("_")[:60].rstrip("_") or "STEP_VALUE"
    if base[0].isdigit():
        base = f"STEP_{base}"
    return _unique(base, used)


@functools.lru_cache(maxsize=4096)  # the same field names end many references
def _snake(text: str) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)


def _constant_name(hint: str, used: set[str]) -> str:
    text = _snake(hint)
    base = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper()[:40].rstrip("_") or "SHARED"
    if base[0].isdigit():
        base = f"VALUE_{base}"
    return _unique(base, used)


def _unique(base: str, used: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``... the first not in ``used`` (which then holds it)."""
    name, number = base, 1
    while name in used:
        number += 1
        name = f"{base}_{number}"
    used.add(name)
    return name
