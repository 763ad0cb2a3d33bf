"""Typed expressions of the SageMaker pipeline language, and the JSON values that hold them.

A *value* is plain JSON (None, bool, int, float, str, list, dict) in which any sub-value may be
an expression node instead. Values are treated as immutable once built; they stay plain lists
and dicts so that request bodies keep their key order and can be handed to JSON encoders.

The SageMaker language has three expression constructors (``Get``, ``Std:Join``,
``Std:JsonGet``) and one condition language (used only by Condition steps). ``Get`` resolves
to one of four roots, each with its own node type here.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

# A JSON value that may contain expression nodes anywhere (or MISSING, for an absent key).
Value: TypeAlias = (
    "bool | int | float | str | list[Value] | dict[str, Value] | tuple[Value, ...]"
    " | Expression | Condition | _Missing | None"
)


class _Missing:
    """Marks an optional key that is absent (as opposed to present with the value null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


# Typed Any so that a field of any value type can default to it.
MISSING: Any = _Missing()


class ExpressionError(ValueError):
    """An expression object is malformed. The caller adds the location."""


# --- Property paths -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attribute:
    """``.Name``: a member of a structure in the step's Describe* response."""

    name: str


@dataclass(frozen=True, slots=True)
class Index:
    """``[0]``: a list element by position."""

    position: int


@dataclass(frozen=True, slots=True)
class Key:
    """``['key']`` on a map: ``Environment['A']``, ``HyperParameters['epochs']``."""

    key: str


@dataclass(frozen=True, slots=True)
class SelectByName:
    """``['name']`` on a list SageMaker indexes by a name field: ``Outputs['train']`` selects the
    output whose ``OutputName`` (``field``) is ``train``, never the output at some position.
    The parser makes this node for every list of :data:`NAME_KEYED_LISTS`."""

    name: str
    field: str

    @property
    def key(self) -> str:
        """The text inside the brackets, as for :class:`Key`."""
        return self.name


PathPart: TypeAlias = Attribute | Index | Key | SelectByName

# Lists in Describe* responses that SageMaker indexes by a name field rather than by position.
# Anything else indexed with ['...'] is a map (Environment, HyperParameters, ...).
NAME_KEYED_LISTS: dict[str, str] = {
    "Outputs": "OutputName",
    "ProcessingInputs": "InputName",
    "FinalMetricDataList": "MetricName",
    "InputDataConfig": "ChannelName",
    "OutputParameters": "Name",
    "ActionArns": "ActionName",
    "ArtifactArns": "ArtifactName",
    "ContextArns": "ContextName",
}


def name_field(container: str) -> str | None:
    """The name field that ``container['x']`` matches on, or None when ``container`` is a map."""
    return NAME_KEYED_LISTS.get(container)


_PATH_TOKEN = re.compile(r"\.([A-Za-z0-9_]+)|\[([0-9]+)\]|\['([^']*)'\]")


def parse_path(text: str) -> tuple[PathPart, ...]:
    """Parse the part of a property reference after the step name, e.g. ``.A['k'][0].B``."""
    parts: list[PathPart] = []
    position = 0
    container: str | None = None  # the member the next ['...'] applies to
    while position < len(text):
        match = _PATH_TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(
                f"cannot read the property path {text!r} at character {position + 1}; "
                "a path is made of .Member, [index] and ['key'] parts"
            )
        attribute, index, key = match.groups()
        if attribute is not None:
            parts.append(Attribute(attribute))
        elif index is not None:
            parts.append(Index(int(index)))
        else:
            by_name = NAME_KEYED_LISTS.get(container) if container is not None else None
            parts.append(Key(key) if by_name is None else SelectByName(key, by_name))
        container = attribute
        position = match.end()
    return tuple(parts)


def format_path(parts: tuple[PathPart, ...]) -> str:
    """The inverse of :func:`parse_path`."""
    out = []
    for part in parts:
        if isinstance(part, Attribute):
            out.append(f".{part.name}")
        elif isinstance(part, Index):
            out.append(f"[{part.position}]")
        elif isinstance(part, SelectByName):
            out.append(f"['{part.name}']")
        else:
            out.append(f"['{part.key}']")
    return "".join(out)


# --- Expression nodes -----------------------------------------------------------------------

EXECUTION_VARIABLES: frozenset[str] = frozenset(
    {
        "StartDateTime",
        "CurrentDateTime",
        "PipelineName",
        "PipelineArn",
        "PipelineExecutionId",
        "PipelineExecutionArn",
        "TrainingJobName",
        "ProcessingJobName",
    }
)
EXPERIMENT_CONFIG_PROPERTIES: frozenset[str] = frozenset({"ExperimentName", "TrialName"})


@dataclass(frozen=True, slots=True)
class ParameterRef:
    """``{"Get": "Parameters.<name>"}``."""

    name: str


@dataclass(frozen=True, slots=True)
class ExecutionVariable:
    """``{"Get": "Execution.<name>"}``, one of :data:`EXECUTION_VARIABLES`."""

    name: str


@dataclass(frozen=True, slots=True)
class ExperimentConfigRef:
    """``{"Get": "PipelineExperimentConfig.<name>"}`` (ExperimentName or TrialName)."""

    name: str


@dataclass(frozen=True, slots=True)
class StepProperty:
    """``{"Get": "Steps.<step><path>"}``: a field of a step's Describe* response."""

    step: str
    path: tuple[PathPart, ...]


@dataclass(frozen=True, slots=True)
class PropertyFileRef:
    """``{"Get": "Steps.<step>.PropertyFiles.<name>"}``; only valid inside Std:JsonGet."""

    step: str
    name: str


@dataclass(frozen=True, slots=True)
class Join:
    """``{"Std:Join": {"On": on, "Values": [...]}}``: the values as strings, joined by ``on``."""

    on: str
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class JsonGet:
    """``{"Std:JsonGet": ...}``: read a JSON file from S3 and take the value at ``path``.

    Exactly one of ``property_file`` (a Processing step's declared property file) and
    ``s3_uri`` (a Join that builds the S3 URI, used by @step functions) is set.
    """

    path: str
    property_file: PropertyFileRef | None = None
    s3_uri: Value = None


Get: TypeAlias = (
    ParameterRef | ExecutionVariable | ExperimentConfigRef | StepProperty | PropertyFileRef
)
Expression: TypeAlias = Get | Join | JsonGet
EXPRESSION_TYPES = (
    ParameterRef,
    ExecutionVariable,
    ExperimentConfigRef,
    StepProperty,
    PropertyFileRef,
    Join,
    JsonGet,
)
EXPRESSION_KEYS: frozenset[str] = frozenset({"Get", "Std:Join", "Std:JsonGet"})


# --- Conditions -----------------------------------------------------------------------------


class ComparisonOperator(enum.Enum):
    EQUALS = "Equals"
    GREATER_THAN = "GreaterThan"
    GREATER_THAN_OR_EQUAL_TO = "GreaterThanOrEqualTo"
    LESS_THAN = "LessThan"
    LESS_THAN_OR_EQUAL_TO = "LessThanOrEqualTo"


@dataclass(frozen=True, slots=True)
class Comparison:
    operator: ComparisonOperator
    left: Value
    right: Value


@dataclass(frozen=True, slots=True)
class In:
    """True when ``query`` equals one of ``values``."""

    query: Value
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition


@dataclass(frozen=True, slots=True)
class Or:
    conditions: tuple[Condition, ...]


Condition: TypeAlias = Comparison | In | Not | Or
CONDITION_TYPES: tuple[str, ...] = (*(op.value for op in ComparisonOperator), "In", "Not", "Or")


# --- JSON <-> expression --------------------------------------------------------------------


def parse_get(reference: object) -> Get:
    """Parse the string of a ``{"Get": ...}`` object."""
    if not isinstance(reference, str):
        raise ExpressionError(f'"Get" takes a string, not {json_type(reference)}')
    return _parse_get_string(reference)


# Definitions repeat the same references many times (every step reads the same parameters and
# execution id), and nodes are immutable, so one parse serves every occurrence.
@functools.lru_cache(maxsize=1 << 16)
def _parse_get_string(reference: str) -> Get:
    root, dot, rest = reference.partition(".")
    if not dot or not rest:
        raise ExpressionError(f"cannot read the reference {reference!r}; {_GET_HELP}")
    if root == "Parameters":
        return ParameterRef(rest)
    if root == "Execution":
        if rest not in EXECUTION_VARIABLES:
            raise ExpressionError(
                f"unknown execution variable {rest!r}; "
                f"the known ones are {', '.join(sorted(EXECUTION_VARIABLES))}"
            )
        return ExecutionVariable(rest)
    if root == "PipelineExperimentConfig":
        if rest not in EXPERIMENT_CONFIG_PROPERTIES:
            raise ExpressionError(
                f"unknown property {reference!r}; use PipelineExperimentConfig.ExperimentName "
                "or PipelineExperimentConfig.TrialName"
            )
        return ExperimentConfigRef(rest)
    if root == "Steps":
        return _parse_step_reference(rest, reference)
    raise ExpressionError(f"unknown namespace {root!r} in {reference!r}; {_GET_HELP}")


_GET_HELP = (
    'a "Get" reads Parameters.<name>, Execution.<variable>, Steps.<step>.<property> '
    "or PipelineExperimentConfig.<property>"
)


def _parse_step_reference(rest: str, reference: str) -> StepProperty | PropertyFileRef:
    # Step names may contain '-' but never '.', '[' or "'", so the name ends at the first of them.
    match = re.match(r"[^.\[']+", rest)
    if match is None or match.end() == len(rest):
        raise ExpressionError(f"{reference!r} names no property; write Steps.<step>.<property>")
    step, tail = match.group(), rest[match.end() :]
    if tail.startswith(".PropertyFiles"):
        # Property file names are free-form (dashes included), so they are not path members.
        name = tail.removeprefix(".PropertyFiles.")
        if name == tail or not name or any(c in name for c in ".['"):
            raise ExpressionError(f"{reference!r}: write Steps.<step>.PropertyFiles.<name>")
        return PropertyFileRef(step, name)
    path = parse_path(tail)
    return StepProperty(step, path)


def format_get(expression: Get) -> str:
    """The string of the ``{"Get": ...}`` object for ``expression``."""
    if isinstance(expression, ParameterRef):
        return f"Parameters.{expression.name}"
    if isinstance(expression, ExecutionVariable):
        return f"Execution.{expression.name}"
    if isinstance(expression, ExperimentConfigRef):
        return f"PipelineExperimentConfig.{expression.name}"
    if isinstance(expression, PropertyFileRef):
        return f"Steps.{expression.step}.PropertyFiles.{expression.name}"
    return f"Steps.{expression.step}{format_path(expression.path)}"


def expression_or_object(obj: dict[str, Value]) -> Value:
    """The node for ``obj`` when it is an expression object, else ``obj``: a ``json.loads``
    object hook, called for every object of a document (8,000 steps: 159,000 times), so the
    usual cases are decided first: an object of several keys, then a well-formed ``Get``."""
    if len(obj) != 1:
        return obj
    reference = obj.get("Get")
    if type(reference) is str:
        return _parse_get_string(reference)
    if next(iter(obj)) in EXPRESSION_KEYS:
        return expression_from_json(obj)
    return obj


def expression_from_json(obj: dict[str, Value]) -> Expression:
    """Build the node for a single-key expression object whose members are already converted."""
    ((key, body),) = obj.items()
    if key == "Get":
        return parse_get(body)
    if key == "Std:Join":
        return _join_from_json(body)
    return _json_get_from_json(body)


def _join_from_json(body: Value) -> Join:
    if type(body) is dict and len(body) == 2:  # the usual case, with fewer tests
        on, values = body.get("On"), body.get("Values")
        if type(on) is str and type(values) is list:
            return Join(on, tuple(values))
    if not isinstance(body, dict) or set(body) != {"On", "Values"}:
        raise ExpressionError('"Std:Join" takes an object with exactly the keys "On" and "Values"')
    if not isinstance(body["On"], str):
        raise ExpressionError('"Std:Join" "On" must be a string (the separator)')
    if not isinstance(body["Values"], list):
        raise ExpressionError('"Std:Join" "Values" must be a list')
    return Join(body["On"], tuple(body["Values"]))


def _json_get_from_json(body: Value) -> JsonGet:
    path = body.get("Path") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(path, str):
        raise ExpressionError('"Std:JsonGet" needs a "Path" string')
    sources = set(body) - {"Path"}
    if sources == {"PropertyFile"}:
        if not isinstance(body["PropertyFile"], PropertyFileRef):
            raise ExpressionError(
                '"Std:JsonGet" "PropertyFile" must be {"Get": "Steps.<step>.PropertyFiles.<name>"}'
            )
        return JsonGet(path, property_file=body["PropertyFile"])
    if sources == {"S3Uri"}:
        return JsonGet(path, s3_uri=body["S3Uri"])
    raise ExpressionError(
        '"Std:JsonGet" takes "Path" and exactly one of "PropertyFile" and "S3Uri"'
    )


def expression_to_json(expression: Expression) -> dict[str, Value]:
    """The JSON object for one node; nested values are left as nodes (encoders recurse)."""
    if isinstance(expression, Join):
        return {"Std:Join": {"On": expression.on, "Values": list(expression.values)}}
    if isinstance(expression, JsonGet):
        body: dict[str, Value] = {}
        if expression.property_file is not None:
            body["PropertyFile"] = expression.property_file
        else:
            body["S3Uri"] = expression.s3_uri
        body["Path"] = expression.path
        return {"Std:JsonGet": body}
    return {"Get": format_get(expression)}


def condition_from_json(obj: Value) -> Condition:
    """Build a condition node from its (already expression-converted) JSON object."""
    if not isinstance(obj, dict):
        raise ExpressionError(f"a condition must be an object, not {json_type(obj)}")
    kind = obj.get("Type")
    if kind == "In":
        _expect_keys(obj, {"Type", "QueryValue", "Values"}, "In")
        if not isinstance(obj["Values"], list):
            raise ExpressionError('an "In" condition needs "Values" as a list')
        return In(obj["QueryValue"], tuple(obj["Values"]))
    if kind == "Not":
        _expect_keys(obj, {"Type", "Condition"}, "Not")
        return Not(condition_from_json(obj["Condition"]))
    if kind == "Or":
        _expect_keys(obj, {"Type", "Conditions"}, "Or")
        if not isinstance(obj["Conditions"], list):
            raise ExpressionError('an "Or" condition needs "Conditions" as a list')
        return Or(tuple(condition_from_json(item) for item in obj["Conditions"]))
    try:
        operator = ComparisonOperator(kind)
    except ValueError:
        raise ExpressionError(
            f"unknown condition type {kind!r}; the known ones are {', '.join(CONDITION_TYPES)}"
        ) from None
    _expect_keys(obj, {"Type", "LeftValue", "RightValue"}, operator.value)
    return Comparison(operator, obj["LeftValue"], obj["RightValue"])


def _expect_keys(obj: dict[str, Value], keys: set[str], kind: str) -> None:
    if set(obj) != keys:
        expected = ", ".join(f'"{key}"' for key in sorted(keys))
        raise ExpressionError(f'a "{kind}" condition takes exactly the keys {expected}')


def condition_to_json(condition: Condition) -> dict[str, Value]:
    if isinstance(condition, Comparison):
        return {
            "Type": condition.operator.value,
            "LeftValue": condition.left,
            "RightValue": condition.right,
        }
    if isinstance(condition, In):
        return {"Type": "In", "QueryValue": condition.query, "Values": list(condition.values)}
    if isinstance(condition, Not):
        return {"Type": "Not", "Condition": condition_to_json(condition.condition)}
    return {"Type": "Or", "Conditions": [condition_to_json(c) for c in condition.conditions]}


def json_type(value: object) -> str:
    """How error messages name the kind of a value: "an object", "null", "an expression"..."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, EXPRESSION_TYPES):
        return "an expression"
    return names.get(type(value), "a number")


# --- Walking values -------------------------------------------------------------------------


def iter_expressions(value: Value) -> Iterator[Expression]:
    """Every expression node in ``value``, outermost first, nested ones included."""
    # Dispatch on type(), which is faster than isinstance() but which mypy cannot narrow: the
    # walked items are typed Any on purpose.
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(reversed(item.values()))
        elif kind is list or kind is tuple:
            stack.extend(reversed(item))
        elif kind in _CHILDREN:
            yield item
            stack.extend(reversed(_CHILDREN[kind](item)))


_LEAVES = frozenset({str, int, float, bool, type(None)})


def collect_expressions(value: Value, found: list[Expression]) -> list[Expression]:
    """Append every expression node in ``value`` to ``found`` (outermost first); return it.

    The recursive twin of :func:`iter_expressions`, about twice as fast, for the hot paths
    that walk every step of large pipelines.
    """
    _collect_items((value,), found)
    return found


def _collect_items(items: Any, found: list[Any]) -> None:
    """collect_expressions for each of ``items``: one call per container, none per leaf, the
    common kinds tested first (strings, objects, lists, Get nodes)."""
    for item in items:
        kind = type(item)  # dispatched on type(), as in iter_expressions
        if kind is str:
            continue
        if kind is dict:
            _collect_items(item.values(), found)
        elif kind is list:
            _collect_items(item, found)
        elif kind in _GET_TYPES:
            found.append(item)
        elif kind in _LEAVES:
            continue
        elif kind is tuple:
            _collect_items(item, found)
        elif kind is Join:
            found.append(item)
            _collect_items(item.values, found)
        elif kind is JsonGet:
            found.append(item)
            _collect_items(_json_get_children(item), found)


_GET_TYPES = frozenset({ParameterRef, ExecutionVariable, ExperimentConfigRef, StepProperty,
                        PropertyFileRef})  # fmt: skip  # the nodes without children


def iter_condition_values(condition: Condition) -> Iterator[Value]:
    """The operand values of ``condition`` and of the conditions nested in it."""
    if isinstance(condition, Comparison):
        yield condition.left
        yield condition.right
    elif isinstance(condition, In):
        yield condition.query
        yield from condition.values
    elif isinstance(condition, Not):
        yield from iter_condition_values(condition.condition)
    else:
        for inner in condition.conditions:
            yield from iter_condition_values(inner)


def _no_children(_: object) -> tuple[()]:
    return ()


def _join_children(node: Join) -> tuple[Value, ...]:
    return node.values


def _json_get_children(node: JsonGet) -> tuple[Value, ...]:
    return (node.property_file,) if node.property_file is not None else (node.s3_uri,)


_CHILDREN: dict[type, Callable[[Any], tuple[Value, ...]]] = {
    ParameterRef: _no_children,
    ExecutionVariable: _no_children,
    ExperimentConfigRef: _no_children,
    StepProperty: _no_children,
    PropertyFileRef: _no_children,
    Join: _join_children,
    JsonGet: _json_get_children,
}


def referenced_steps(value: Value) -> Iterator[str]:
    """Names of the steps that ``value`` reads from, in order of appearance (with repeats)."""
    for expression in collect_expressions(value, []):
        if isinstance(expression, StepProperty | PropertyFileRef):
            yield expression.step
