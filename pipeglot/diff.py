"""A structural diff of two workflows, on the IR, so it works across input formats.

Order carries no meaning: steps and parameters are matched by name, mapping keys are compared
as sets, and so are a step's DependsOn and a Condition's branch lists. Lists whose items all
carry a distinct name field (``ProcessingInputs``, ``Outputs``...) are matched by that name;
other lists (container arguments, AND-ed conditions) are compared position by position.

A workflow's ``name`` comes from the file it was read from, not from the definition, so it is
not compared.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipeglot.ir.expressions import (
    EXPRESSION_KEYS,
    EXPRESSION_TYPES,
    NAME_KEYED_LISTS,
    Comparison,
    In,
    Not,
    Or,
    condition_to_json,
    expression_to_json,
)
from pipeglot.ir.graph import edges
from pipeglot.ir.model import MISSING, Parameter, Step, Workflow

# Marks the side of a change where the field does not exist.
ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT", "__slots__": ()})()

# Tuples of names whose order SageMaker ignores: it builds the graph from them.
_UNORDERED_FIELDS = frozenset({"depends_on", "if_steps", "else_steps"})
# Fields that identify a record (the key it is matched by) or that the source file decides.
_IDENTITY_FIELDS = frozenset({"name"})
# The name fields that make a list of objects a list matched by name rather than position.
_NAME_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(("Name", *NAME_KEYED_LISTS.values())))
_CONDITION_NODES = (Comparison, In, Not, Or)
_TEXT_VALUE_LIMIT = 160


@dataclass(frozen=True, slots=True)
class Change:
    """One field that differs: ``old``/``new`` are plain JSON, ABSENT on the side without it."""

    path: str
    old: Any = ABSENT
    new: Any = ABSENT

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.old is not ABSENT:
            out["old"] = self.old
        if self.new is not ABSENT:
            out["new"] = self.new
        return out


@dataclass(frozen=True, slots=True)
class Changed:
    """A step or parameter present on both sides whose fields differ."""

    name: str
    changes: tuple[Change, ...]


@dataclass(frozen=True, slots=True)
class Named:
    """A step or parameter present on one side only, with its type."""

    name: str
    type: str


@dataclass(frozen=True, slots=True, order=True)
class EdgeKey:
    source: str
    target: str
    origin: str


@dataclass(frozen=True, slots=True)
class Section:
    """Added, removed and changed records of one kind (steps, or parameters)."""

    added: tuple[Named, ...] = ()
    removed: tuple[Named, ...] = ()
    changed: tuple[Changed, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, Any]:
        return {
            "added": [{"name": n.name, "type": n.type} for n in self.added],
            "removed": [{"name": n.name, "type": n.type} for n in self.removed],
            "changed": [
                {"name": c.name, "changes": [change.to_json() for change in c.changes]}
                for c in self.changed
            ],
        }


@dataclass(frozen=True, slots=True)
class WorkflowDiff:
    steps: Section
    parameters: Section
    added_edges: tuple[EdgeKey, ...]
    removed_edges: tuple[EdgeKey, ...]
    pipeline: tuple[Change, ...]  # workflow-level fields: version, metadata, experiment config

    @property
    def equal(self) -> bool:
        return (
            self.steps.empty
            and self.parameters.empty
            and not self.added_edges
            and not self.removed_edges
            and not self.pipeline
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "equal": self.equal,
            "steps": self.steps.to_json(),
            "edges": {
                "added": [dataclasses.asdict(e) for e in self.added_edges],
                "removed": [dataclasses.asdict(e) for e in self.removed_edges],
            },
            "parameters": self.parameters.to_json(),
            "pipeline": [change.to_json() for change in self.pipeline],
        }


def diff(a: Workflow, b: Workflow) -> WorkflowDiff:
    """What changed from ``a`` to ``b``."""
    a_edges, b_edges = _edge_keys(a), _edge_keys(b)
    return WorkflowDiff(
        steps=_section({s.name: s for s in a.steps}, {s.name: s for s in b.steps}, _step_type),
        parameters=_section(
            {p.name: p for p in a.parameter_list},
            {p.name: p for p in b.parameter_list},
            _parameter_type,
        ),
        added_edges=tuple(sorted(b_edges - a_edges)),
        removed_edges=tuple(sorted(a_edges - b_edges)),
        pipeline=tuple(diff_values(_pipeline_fields(a), _pipeline_fields(b), "")),
    )


def _section(a: dict[str, Any], b: dict[str, Any], type_of: Any) -> Section:
    """Records (steps or parameters) matched by name: added, removed, and changed fields."""
    changed = []
    for name in sorted(a.keys() & b.keys()):
        changes = tuple(diff_values(_plain_record(a[name]), _plain_record(b[name]), ""))
        if changes:
            changed.append(Changed(name, changes))
    return Section(
        added=tuple(Named(name, type_of(b[name])) for name in sorted(b.keys() - a.keys())),
        removed=tuple(Named(name, type_of(a[name])) for name in sorted(a.keys() - b.keys())),
        changed=tuple(changed),
    )


def _step_type(step: Step) -> str:
    return step.type_name


def _parameter_type(parameter: Parameter) -> str:
    return parameter.type.value


def _edge_keys(workflow: Workflow) -> set[EdgeKey]:
    return {EdgeKey(e.source, e.target, e.origin.value) for e in edges(workflow)}


def _pipeline_fields(workflow: Workflow) -> dict[str, Any]:
    """Workflow-level fields; steps and parameters have sections of their own."""
    return _plain_record(workflow, skip=frozenset({"steps", "parameters"}))


# --- Plain, comparable JSON -----------------------------------------------------------------


def _plain_record(record: Any, skip: frozenset[str] = _IDENTITY_FIELDS) -> dict[str, Any]:
    """A dataclass record as a dict of its set fields; absent, null and empty ones left out."""
    out: dict[str, Any] = {}
    for item in dataclasses.fields(record):
        if not item.init or item.name in skip or item.name in _IDENTITY_FIELDS:
            continue
        value = getattr(record, item.name)
        if value is MISSING or value is None or (isinstance(value, tuple | Mapping) and not value):
            continue
        if item.name in _UNORDERED_FIELDS:
            value = sorted(set(value))
        out[item.name] = plain(value)
    return out


def plain(value: Any) -> Any:
    """``value`` as plain JSON, compared with ``==``: expression and condition nodes become
    their JSON objects, and booleans become :class:`JsonBool` so that true is never 1."""
    kind = type(value)
    if kind is str or kind is int or kind is float or value is None:
        return value
    if kind is bool:
        return JSON_TRUE if value else JSON_FALSE
    if kind is dict or isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [plain(item) for item in value]
    if isinstance(value, EXPRESSION_TYPES):
        return plain(expression_to_json(value))
    if isinstance(value, _CONDITION_NODES):
        return plain(condition_to_json(value))
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain_record(value)
    return ABSENT if value is MISSING else value


class JsonBool:
    """A JSON boolean that equals only itself (Python's ``True == 1`` would hide a change)."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is JsonBool and other.value is self.value

    def __hash__(self) -> int:
        return hash((JsonBool, self.value))

    def __repr__(self) -> str:
        return "true" if self.value else "false"


JSON_TRUE, JSON_FALSE = JsonBool(True), JsonBool(False)


def _json(value: Any) -> Any:
    """A plain value back as JSON (booleans as bool), for reporting it."""
    if type(value) is JsonBool:
        return value.value
    if type(value) is dict:
        return {key: _json(item) for key, item in value.items()}
    if type(value) is list:
        return [_json(item) for item in value]
    return value


def _change(path: str, old: Any, new: Any) -> Change:
    return Change(path, _json(old), _json(new))


# --- Comparing plain values -----------------------------------------------------------------


def diff_values(old: Any, new: Any, path: str) -> Iterator[Change]:
    """The changes from ``old`` to ``new`` (see :func:`plain`), each named by its path.

    Equal values (the common case) are recognised by one ``==``, which compares mappings
    regardless of key order and 2 with 2.0 as the same number, as JSON does.
    """
    if old == new:
        return
    if _is_object(old) and _is_object(new):
        yield from _diff_objects(old, new, path)
    elif isinstance(old, list) and isinstance(new, list):
        yield from _diff_lists(old, new, path)
    else:
        yield _change(path, old, new)


def _is_object(value: Any) -> bool:
    """A dict to compare key by key; a single expression object is compared whole, as a value."""
    return isinstance(value, dict) and not (
        len(value) == 1 and next(iter(value)) in EXPRESSION_KEYS
    )


def _diff_objects(old: dict[str, Any], new: dict[str, Any], path: str) -> Iterator[Change]:
    for key in sorted(old.keys() | new.keys()):
        where = _member_path(path, key)
        if key not in new:
            yield _change(where, old[key], ABSENT)
        elif key not in old:
            yield _change(where, ABSENT, new[key])
        else:
            yield from diff_values(old[key], new[key], where)


def _diff_lists(old: list[Any], new: list[Any], path: str) -> Iterator[Change]:
    field = _name_field(old, new)
    if field is None:
        for index in range(max(len(old), len(new))):
            where = f"{path}[{index}]"
            if index >= len(new):
                yield _change(where, old[index], ABSENT)
            elif index >= len(old):
                yield _change(where, ABSENT, new[index])
            else:
                yield from diff_values(old[index], new[index], where)
        return
    old_items = {item[field]: item for item in old}
    new_items = {item[field]: item for item in new}
    yield from _diff_objects_as(old_items, new_items, lambda name: f"{path}[{field}={name!r}]")


def _diff_objects_as(old: dict[str, Any], new: dict[str, Any], where: Any) -> Iterator[Change]:
    for name in sorted(old.keys() | new.keys()):
        yield from diff_values(old.get(name, ABSENT), new.get(name, ABSENT), where(name))


def _name_field(old: list[Any], new: list[Any]) -> str | None:
    """The name field by which both lists' items are matched, or None to match by position."""
    items = [*old, *new]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    return next((f for f in _NAME_FIELDS if _keyed_by(old, f) and _keyed_by(new, f)), None)


def _keyed_by(items: list[dict[str, Any]], field: str) -> bool:
    values = [item.get(field) for item in items]
    return all(isinstance(value, str) for value in values) and len(set(values)) == len(values)


def _member_path(path: str, key: str) -> str:
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


# --- Text -----------------------------------------------------------------------------------


def summary_line(result: WorkflowDiff) -> str:
    parts = [
        _count(len(result.steps.added), "step", "added"),
        _count(len(result.steps.removed), "step", "removed"),
        _count(len(result.steps.changed), "step", "changed"),
        _count(len(result.added_edges), "edge", "added"),
        _count(len(result.removed_edges), "edge", "removed"),
        _count(len(result.parameters.added), "parameter", "added"),
        _count(len(result.parameters.removed), "parameter", "removed"),
        _count(len(result.parameters.changed), "parameter", "changed"),
        _count(len(result.pipeline), "pipeline field", "changed"),
    ]
    return "differ: " + ", ".join(part for part in parts if part)


def _count(number: int, noun: str, verb: str) -> str:
    if not number:
        return ""
    return f"{number} {noun}{'' if number == 1 else 's'} {verb}"


def format_text(result: WorkflowDiff, a_label: str, b_label: str) -> str:
    """The diff as a person reads it: ``-`` only in A, ``+`` only in B, ``~`` changed."""
    if result.equal:
        return f"{a_label} and {b_label} are equal\n"
    lines = [f"{a_label} and {b_label} {summary_line(result)}"]
    lines += _section_lines(result.steps, "step")
    lines += [f"- edge {e.source} -> {e.target} ({e.origin})" for e in result.removed_edges]
    lines += [f"+ edge {e.source} -> {e.target} ({e.origin})" for e in result.added_edges]
    lines += _section_lines(result.parameters, "parameter")
    if result.pipeline:
        lines.append("~ pipeline")
        lines += [_change_line(change) for change in result.pipeline]
    return "\n".join(lines) + "\n"


def _section_lines(section: Section, noun: str) -> list[str]:
    lines = [f"- {noun} {item.name} ({item.type})" for item in section.removed]
    lines += [f"+ {noun} {item.name} ({item.type})" for item in section.added]
    for item in section.changed:
        lines.append(f"~ {noun} {item.name}")
        lines += [_change_line(change) for change in item.changes]
    return lines


def _change_line(change: Change) -> str:
    return f"    {change.path}: {_show(change.old)} -> {_show(change.new)}"


def _show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) > _TEXT_VALUE_LIMIT:
        return text[: _TEXT_VALUE_LIMIT - 1] + "…"
    return text
