"""What many steps' requests share, written once, as an Airflow or KFP author writes it.

Two passes over the pipeline, before any task is written:

- **Request builders.** Steps that create the same kind of SageMaker resource with requests of
  the same top-level keys form a family. Their requests are generalised (anti-unified): a
  position where every member has the same value stays in the builder's body; a position where
  they differ (a whole list, a string, an expression) becomes a parameter of the builder. Each
  step's task then calls the builder with its own values, by name, so what is particular to a
  step stays visible at its task and what they share is written once.
- **Shared strings.** A long string that several steps use (an image URI, a role ARN, a code
  location) becomes a module constant named after the key that holds it (``ROLE_ARN``).

Neither changes a value: a builder returns a new dict equal to the step's request, and a
constant holds the same string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice, repeat

from pipeglot.backends._python import Identifiers
from pipeglot.ir.expressions import Value
from pipeglot.ir.model import Step, Workflow
from pipeglot.ir.sagemaker import resource_api

MIN_SHARED_STRING = 40  # shorter strings read better in place
MIN_FAMILY = 2
_UNSEEN = object()
_SHARED = object()


@dataclass(frozen=True, slots=True)
class Hole:
    """A position of a builder's body where the family's requests differ: a parameter."""

    name: str


@dataclass(frozen=True, slots=True)
class ItemCall:
    """An item of a list written as a call of its item builder with the item's own values."""

    function: str
    arguments: tuple[tuple[str, Value], ...]


@dataclass(frozen=True, slots=True)
class ItemBuilder:
    """A function that makes the items of a list whose items share most of their values."""

    function: str
    body: dict
    parameters: tuple[str, ...]


@dataclass(slots=True)
class Family:
    """Steps whose requests one builder makes: ``body`` holds Hole nodes; ``arguments`` gives
    each member step's value for each hole, in the order of ``parameters``."""

    function: str
    body: dict
    parameters: tuple[str, ...]
    arguments: dict[str, dict[str, Value]] = field(default_factory=dict)
    # How the built request is sent: the job-name key and its limit (set by the first task).
    name_key: str | None = None
    max_length: int = 63
    used: bool = False
    items: list[ItemBuilder] = field(default_factory=list)


def request_families(
    workflow: Workflow, kinds: frozenset, identifiers: Identifiers
) -> dict[str, Family]:
    """Each step (of ``kinds``) that belongs to a family of at least two -> its family."""
    groups: dict[tuple, list[Step]] = {}
    # Each kind's resource, looked up once per kind by the member's identity: an enum hashes
    # in Python at every lookup, and enum members are singletons.
    resources: dict[int, object] = {}
    for step in workflow.steps:
        kind = step.kind
        resource = resources.get(id(kind), _UNSEEN)
        if resource is _UNSEEN:
            resource = None  # not a kind that families are made of
            if kind in kinds:
                api = resource_api(kind)
                resource = api.resource if api else ""
            resources[id(kind)] = resource
        if resource is not None and isinstance(step.arguments, dict) and step.arguments:
            key = (id(kind), resource, tuple(step.arguments))
            groups.setdefault(key, []).append(step)
    families: dict[str, Family] = {}
    for (_, resource, _), members in groups.items():
        if len(members) < MIN_FAMILY:
            continue
        function = identifiers.helper(f"{resource or 'step'}_request")
        family = _family(members, function, identifiers)
        if family is not None:
            families.update((step.name, family) for step in members)
    return families


def _family(members: list[Step], function: str, identifiers: Identifiers) -> Family | None:
    holes: list[tuple[tuple[str, ...], list[Value]]] = []
    body = _generalise([step.arguments for step in members], (), holes)
    if not holes or all(isinstance(value, Hole) for value in body.values()):
        return None  # identical requests, or nothing shared at the top: no builder
    names = _parameter_names([path for path, _ in holes])
    family = Family(function, {}, tuple(names))
    family.body = _name_holes(body, iter(names))
    for index, (path, values) in enumerate(holes):
        found = _item_builder(path, values, identifiers)
        if found is not None:
            builder, calls = found
            family.items.append(builder)
            holes[index] = (path, calls)
    # Member i's arguments are the i-th value of each hole: one row of the holes' columns.
    rows = zip(*(values for _, values in holes), strict=True)
    for step, row in zip(members, rows, strict=True):
        family.arguments[step.name] = dict(zip(names, row, strict=False))  # one per hole
    return family


def _item_builder(
    path: tuple[str, ...], values: list[Value], identifiers: Identifiers
) -> tuple[ItemBuilder, list[list[ItemCall]]] | None:
    """A builder for the items of the lists in ``values`` when they are dicts that share
    values (ProcessingInputs, InputDataConfig channels...), and each list as calls of it;
    else None."""
    if not all(isinstance(value, list) for value in values):
        return None
    items = [item for value in values for item in value]
    if len(items) < MIN_FAMILY or not all(isinstance(item, dict) for item in items):
        return None
    holes: list[tuple[tuple[str, ...], list[Value]]] = []
    body = _generalise(items, (), holes)
    if not holes or not isinstance(body, dict) or all(isinstance(v, Hole) for v in body.values()):
        return None
    names = _parameter_names([p for p, _ in holes])
    name = _snake(path[-1] if path else "item")
    function = identifiers.helper(name[:-1] if name.endswith("s") else f"{name}_item")
    builder = ItemBuilder(function, _name_holes(body, iter(names)), tuple(names))
    # Each hole lists every item's value there, in the order of ``items``: item i's call
    # takes the i-th value of each hole, so no item is walked again to find them. A row has
    # a value for each name (one per hole): its pairs are zipped without the strict check.
    calls = iter(
        [
            ItemCall(function, tuple(zip(names, found, strict=False)))
            for found in zip(*[found for _, found in holes], strict=True)
        ]
    )
    return builder, [list(islice(calls, len(value))) for value in values]


def _generalise(values: Sequence[Value], path: tuple[str, ...], holes: list) -> Value:
    """The common part of ``values``: equal values stay, dicts with the same keys are
    generalised key by key, anything else becomes a hole (``_PENDING``, named later).

    Dicts and lists of dicts are generalised part by part, and found equal when no part is a
    hole, rather than compared whole first: each value is then walked once, not once per level
    it is nested in."""
    first = values[0]
    kind = type(first)
    if len(set(map(type, values))) == 1:  # one exact type: True is not 1, and 1 is not 1.0
        before = len(holes)
        if kind is dict and _same_keys(values):
            # The columns, one tuple per key, from one pass over the dicts' values (a pass
            # per key would visit every dict again for each of its keys).
            columns = zip(*map(dict.values, values), strict=True)
            body: Value = {
                key: _generalise(column, (*path, str(key)), holes)
                for key, column in zip(first, columns, strict=True)
            }
            return first if len(holes) == before else body
        if kind is list and _rows_of_dicts(values):
            body = [_generalise(column, path, holes) for column in zip(*values, strict=True)]
            return first if len(holes) == before else body
        if _all_same(first, values):
            return first
    holes.append((path, values))
    return _PENDING


def _same_keys(values: Sequence[dict]) -> bool:
    """Whether the dicts have the same keys in the same order: one length, then each
    position's keys (a tuple per position, iterating the dicts once) equal to the first's."""
    if len(set(map(len, values))) != 1:
        return False
    count = len(values)
    return all(
        column.count(key) == count
        for key, column in zip(values[0], zip(*values, strict=True), strict=True)
    )


def _rows_of_dicts(values: Sequence[list]) -> bool:
    """Whether the lists have one length and hold only dicts."""
    return len(set(map(len, values))) == 1 and all(
        map(isinstance, chain.from_iterable(values), repeat(dict))
    )


def _all_same(first: Value, values: Sequence[Value]) -> bool:
    """Whether every value (all of ``first``'s exact type) is _same as ``first``. Other than
    containers, values of one type are the same when equal, which list.count tells in C."""
    count = len(values)
    if count > 1 and type(first) is not dict and type(first) is not tuple:
        # Where the values differ they usually do at once (a step's own argument): the
        # second value, compared as list.count compares it, settles it without a pass
        # that visits every value (for a list it is the first step of _same too).
        second = values[1]
        if second is not first and not second == first:  # noqa: SIM201 (as count compares)
            return False
    if type(first) is list and _flat(first):
        # A list of scalars (a ContainerEntrypoint): _same as ``first`` exactly when equal
        # to it with each item of the same exact type, which C compares for all at once.
        return (
            values.count(first) == count
            and list(map(type, chain.from_iterable(values))) == list(map(type, first)) * count
        )
    if isinstance(first, dict | list | tuple):
        return all(map(_same, repeat(first), values[1:]))
    return values.count(first) == count


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _flat(items: list) -> bool:
    """Whether ``items`` holds only JSON scalars of exact types."""
    return _SCALARS.issuperset(map(type, items))


_PENDING = Hole("")


def _same(left: Value, right: Value) -> bool:
    """Equal as JSON values, where True is not 1 and 1 is not 1.0."""
    kind = type(left)  # exact types first: this compares every value of every member step
    if kind is not type(right):
        return False
    if kind is not dict and kind is not list and kind is not tuple:
        if not isinstance(left, dict | list | tuple):
            return left == right
        kind = dict if isinstance(left, dict) else list
    if kind is dict:
        return list(left) == list(right) and all(map(_same, left.values(), right.values()))
    return len(left) == len(right) and all(map(_same, left, right))  # a list or tuple


def _name_holes(body: Value, names) -> Value:
    if body is _PENDING:
        return Hole(next(names))
    if isinstance(body, dict):
        return {key: _name_holes(value, names) for key, value in body.items()}
    if isinstance(body, list):
        return [_name_holes(value, names) for value in body]
    return body


def _parameter_names(paths: list[tuple[str, ...]]) -> list[str]:
    """Snake-case names from the end of each hole's path, as long as needed to be unique."""
    depth = {index: 1 for index in range(len(paths))}
    while True:
        names = [_snake("_".join(path[-depth[i] :]) or "request") for i, path in enumerate(paths)]
        clashes = {name for name in names if names.count(name) > 1}
        grown = False
        for index, name in enumerate(names):
            if name in clashes and depth[index] < len(paths[index]):
                depth[index] += 1
                grown = True
        if not grown:
            scope = Identifiers()
            return [scope.helper(name) for name in names]


def _snake(text: str) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


# --- Shared strings ---------------------------------------------------------------------------


def shared_strings(
    workflow: Workflow, families: dict[str, Family], taken: set[str]
) -> dict[str, str]:
    """Long strings that at least two places of the file use -> the module constant that holds
    each, named after the first key that holds it; ``taken`` names are avoided. A family's
    builder is one place (its members' shared values are written once, in it); each member's
    own values and each step outside a family are others."""
    # Each string's first place, or _SHARED once a second place uses it (how many places
    # do not matter), and the key that first holds it.
    users: dict[str, object] = {}
    keys: dict[str, str] = {}
    get = users.get

    def count(value: Value, user: str) -> None:
        for key, text in _strings(value, "value"):
            first = get(text)
            if first is None:
                users[text] = user
                keys[text] = key
            elif first is not _SHARED and first != user:
                users[text] = _SHARED  # a key that is there keeps its place

    seen: set[str] = set()
    for step in workflow.steps:
        family = families.get(step.name)
        if family is None:
            count(step.arguments, step.name)
            continue
        if family.function not in seen:
            seen.add(family.function)
            count(family.body, family.function)
            for item in family.items:
                count(item.body, item.function)
        count(list(family.arguments[step.name].values()), step.name)
    names: dict[str, str] = {}
    used = set(taken)
    for text, places in users.items():
        if places is not _SHARED:
            continue
        base = _snake(keys[text]).upper() or "VALUE"
        name, number = base, 1
        while name in used:
            number += 1
            name = f"{base}_{number}"
        used.add(name)
        names[text] = name
    return names


def _strings(value: Value, key: str) -> list[tuple[str, str]]:
    """(the key that holds it, string) for every long string in ``value``, in document order."""
    found: list[tuple[str, str]] = []
    if type(value) is str:
        if len(value) >= MIN_SHARED_STRING:
            found.append((key, value))
    elif type(value) in _WALKED:
        _collect(value, key, found)
    return found


def _collect(value: Value, key: str, found: list[tuple[str, str]]) -> None:
    """Add the long strings of ``value`` (a dict, list or ItemCall) to ``found``: the strings
    among its items are checked in place, only nested containers take a call."""
    kind = type(value)
    if kind is dict:
        pairs: Iterable[tuple[str, Value]] = zip(map(str, value), value.values(), strict=True)
    elif kind is list:
        pairs = zip(repeat(key), value, strict=False)  # repeat: endless
    else:
        pairs = value.arguments  # an ItemCall
    for name, item in pairs:
        if type(item) is str:
            if len(item) >= MIN_SHARED_STRING:
                found.append((name, item))
        elif type(item) is ItemCall:  # a list's item, in place: its arguments are pairs
            for argument, given in item.arguments:
                if type(given) is str:
                    if len(given) >= MIN_SHARED_STRING:
                        found.append((argument, given))
                elif type(given) in _WALKED:
                    _collect(given, argument, found)
        elif type(item) in _WALKED:
            _collect(item, name, found)


_WALKED = frozenset({dict, list, ItemCall})
