"""The provenance block: what a target cannot hold, so that reading pipeglot's output back
gives the source pipeline (``sagemaker -> X -> sagemaker``, issue 15).

A Step Functions machine, an Airflow DAG file or a compiled Kubeflow spec runs the pipeline
but has no place for some of what its SageMaker definition says: a QualityCheck step runs as a
processing job, a property file is a path the next step reads, a parameter's enum values become
a check, an experiment config or a step's cache settings have no equivalent. Each target
declares here (:data:`LOSSES`) the SageMaker keys its file cannot hold; the writer puts the
source's values of exactly those keys in the block, and nothing of a step that holds none of
them. Everything else (requests, references, conditions, dependencies) the file states in its
own terms, and the target's reader reads it from there.

The block (JSON, keys in a fixed order, ASCII):

- ``file``: the first 12 hex digits of the SHA-256 of the file without the block. A reader
  that finds the file changed says so (``read.<format>.provenance-edited``) and still gives
  the block's values to the steps it names: the file cannot hold them, edited or not.
- ``definition``: the declared top-level keys the source has (``Metadata``,
  ``PipelineExperimentConfig``, ``MlflowConfig``; ``Parameters`` only when it is an empty list);
- ``enums``: each String parameter's ``EnumValues``, where the target does not keep them;
  ``untyped``: the parameters the source declares without a ``Type``; ``order``: the
  parameters' names in order, where the target does not keep it; ``step_order``: the steps'
  names in order (branch steps included), where the target does not keep it (in a DAG file,
  only a source order in which a step comes before one it depends on);
  ``depends_on``: a step's ``DependsOn`` where the target cannot keep it as written (an entry
  the step also reads data from is one edge in the target, one that another path implies is
  left out by the edge reduction, several entries come back in the target's order); in ASL,
  whose series and Parallel structure makes a step also wait for steps it neither reads nor
  depends on, every step's, and a step it does not name has none (file as written);
- ``spellings`` (ASL): what a machine holds only as the text it gives or computes itself, per
  step (``[[spelling, [step, ...]], ...]``): a ``Std:Join`` of texts and references, which
  ``States.Format`` writes as one text, as ``[On, [length of each text, -1 a reference]]``
  (the reader cuts the text it reads there, and takes it only if it gives the same text);
  any other such value (a one-value Join, a JsonGet path written ``a['b']``, a reference to
  a property the machine computes: an output path echoed from the request, a check step's
  baselines; an ``In`` condition, written as an ``Or`` of equals) as ``[pointer, value]``,
  its JSON pointer in the step's Arguments (in an unedited file it is put there as it is);
- ``steps``: for each declared key (``PropertyFiles``, ``RetryPolicies``, ``CacheConfig``...;
  a check step's ``Type`` and check keys; in ASL a Lineage step's ``Type`` and ``Arguments``,
  since the machine runs it as one call per entity), each value the source's steps give it, with the
  names of the steps that have it (``[[value, [step, ...]], ...]``: pipelines repeat the same
  retry policy or property file on many steps); a step that has none of them costs nothing.

A reader that finds a block treats it as the whole truth for the declared keys: it sets the
ones listed and removes the ones it read but the block does not list (the source had none);
in a file as pipeglot wrote it, a step named ``pipeglot-...`` that ``step_order`` does not
list and no other step reads (a state the writer added, such as the enum check) is left out.

Where it goes, in one idiomatic place per target: the ASL machine's top-level ``Comment``
(after the human sentence, so the Step Functions console shows that first); a comment block at
the end of the DAG file and of the compiled spec (at the end, so that the line numbers the
readers report are those of the file without it), the JSON cut into lines of at most 96
characters that join back as they are. The writers' option ``provenance`` (default on;
``--no-provenance``) leaves it out, and the forward ledger then names, step by step, what
reading the file back does not give (``<format>.read-back``).

Cost, measured on benchmarks/generate.py pipelines: nothing is read back when writing; the
block takes 12% (asl: 0.10 s CPU, most of it the spellings of a Join on every step) and 5%
(airflow) of the write at 2,000 steps and adds 1.0% (asl), 1.9% (airflow), 1.1% (kfp-yaml)
to the file at 400 steps, where every step declares a property file and builds a path with
a Join (``tests/test_read_roundtrip.py`` asserts at most 2%).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from pipeglot.backend import Option
from pipeglot.backends import sagemaker as sagemaker_json
from pipeglot.diagnostics import Diagnostic, Diagnostics, Fidelity
from pipeglot.errors import InputError
from pipeglot.frontends._readers.fidelity import text_form
from pipeglot.ir.expressions import Condition, condition_to_json
from pipeglot.ir.graph import EdgeOrigin, _rows, edges
from pipeglot.ir.model import CHECK_KEYS, MISSING, Step, StepKind, Workflow

PROVENANCE = Option(
    "provenance",
    bool,
    True,
    "embed a small block with what the target cannot hold (check steps, property files, "
    "enum values, experiment config...), so that reading the file back with pipeglot gives "
    "the pipeline; --no-provenance leaves it out and the ledger names what reading back loses",
)

MARKER = "pipeglot-provenance v1"
BEGIN = f"{MARKER} begin"
END = "pipeglot-provenance end"
_LINES = re.compile(
    rf"^# {re.escape(BEGIN)}[^\n]*\n((?:# [^\n]*\n)*?)# {re.escape(END)}$", re.MULTILINE
)
_WIDTH = 96
_STEP_LISTS = ("IfSteps", "ElseSteps")
# A step a reference reads from, in canonical JSON ("Get": "Steps.<name>." or "Steps.<name>[").
_STEP_READ = re.compile(r'"Get":"Steps\.([A-Za-z0-9_-]+)[.\[]')
_SPELLED = {"Std:Join", "Std:JsonGet"}
_READ_AS = {*_SPELLED, "Get"}  # what a respelled value reads back as
_SPELLED_AT = re.compile(r'\{"Std:(?:Join|JsonGet)":')
_DECODER = json.JSONDecoder()
_DEFINITION_KEYS = ("Metadata", "PipelineExperimentConfig", "MlflowConfig")


@dataclass(frozen=True, slots=True)
class Losses:
    """The SageMaker keys a target's file cannot hold (besides a check step's type and check
    keys, which no target has: each runs the check's processing job)."""

    step_keys: tuple[str, ...]
    enum_values: bool
    parameter_order: bool
    # "always": the target keeps states or tasks in a map; "unless-topological": the file
    # lists tasks in an order that runs (the reader's), so only a source order that does not
    # run is lost.
    step_order: str
    # True: the file cannot tell a DependsOn from a wait its own structure adds (a Step
    # Functions machine runs steps in series and in Parallel branches, so a step also waits
    # for steps it neither reads nor depends on): the block holds every step's DependsOn,
    # and a step it does not name has none.
    every_depends_on: bool = False
    # True: the file writes a Std:Join as the text it gives (States.Format) and a JsonGet
    # path in one spelling, so the block keeps each value whose source spelling differs from
    # that text (``spellings``), and the reader puts it back where the text matches.
    spellings: bool = False
    # The step properties whose references the file replaces by what it computes for them
    # (the request's own value, a baseline it picks): the block keeps each such value.
    computed: re.Pattern[str] | None = None
    # Steps the file runs as several states of its own, which read back as other steps: the
    # block keeps their type and arguments.
    whole_kinds: frozenset[StepKind] = frozenset()


# Why each: PropertyFiles are paths the next step reads, not declarations; SageMaker's own
# retries of throttling and service faults merge into the target's retries, so the policies a
# step declared cannot be told apart; no target has SageMaker's cache (KFP's has no expiry);
# Lambda and Callback outputs are read as untyped values; ASL and KFP name a step by its name.
_STEP_KEYS = (
    "PropertyFiles",
    "RetryPolicies",
    "CacheConfig",
    "OutputParameters",
    "DisplayName",
    "Description",
)
LOSSES: dict[str, Losses] = {
    "asl": Losses(
        step_keys=_STEP_KEYS,
        enum_values=True,
        parameter_order=True,  # the defaults first, then the parameters that must be given
        step_order="always",  # States is a map, and Parallel branches regroup the steps
        every_depends_on=True,
        spellings=True,
        whole_kinds=frozenset({StepKind.LINEAGE}),  # one aws-sdk:sagemaker call per entity
        # The output path a job echoes from its request; a check step's baselines (the
        # machine spells the calculated ones as its output's URI and picks the drift-check
        # ones with States.ArrayUnique over the check's inputs).
        computed=re.compile(
            r'"Steps\.[^"]*?\.(OutputDataConfig\.S3OutputPath|TransformOutput\.S3OutputPath|'
            r"BaselineUsedForDriftCheck|CalculatedBaseline)"
        ),
    ),
    "airflow": Losses(
        step_keys=_STEP_KEYS[:4],  # a task keeps the step's name and description
        enum_values=False,
        parameter_order=False,
        step_order="unless-topological",
    ),
    "kfp-yaml": Losses(
        step_keys=_STEP_KEYS,
        enum_values=True,
        parameter_order=True,  # a compiled spec sorts its inputs by name
        step_order="always",  # and its tasks
    ),
}


# --- writing ------------------------------------------------------------------------------


def attach(
    workflow: Workflow,
    text: str,
    *,
    write: str,
    diagnostics: Diagnostics,
    enabled: bool = True,
    reduced: Collection[tuple[str, str]] | None = None,
) -> str:
    """``text`` (the output of writer ``write``) with the provenance block embedded; with
    ``enabled`` False, ``text`` unchanged and what reading it back does not give named in
    ``diagnostics``. ``reduced``, if given, is the transitive reduction of ``workflow``'s step
    graph (its ``(source, target)`` pairs), which the writer found (so it is acyclic)."""
    block = declared(workflow, LOSSES[write], reduced)
    if not enabled:
        _report_losses(block, write, diagnostics)
        return text
    return _EMBED[write](text, block)


def declared(
    workflow: Workflow, losses: Losses, reduced: Collection[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """The block of ``workflow`` for a target that loses ``losses`` (without ``file``);
    ``reduced`` as attach takes it."""
    top_level = _document(replace(workflow, steps=()))  # the definition without its steps
    block: dict[str, Any] = {}
    top = {key: top_level[key] for key in _DEFINITION_KEYS if key in top_level}
    if top_level.get("Parameters") == []:
        top["Parameters"] = []
    listed = top_level.get("Parameters", ())
    enums = {
        parameter["Name"]: parameter["EnumValues"]
        for parameter in listed
        if losses.enum_values and "EnumValues" in parameter
    }
    untyped = [parameter["Name"] for parameter in listed if "Type" not in parameter]
    order = [parameter["Name"] for parameter in listed] if losses.parameter_order else []
    steps: dict[str, dict[bytes, list[Any]]] = {}  # key -> canonical value -> [value, names]
    for step in workflow.steps:
        for key, value in _declared_values(step, losses):
            group = steps.setdefault(key, {}).setdefault(_fast_canonical(value), [value, []])
            group[1].append(step.name)
    grouped = {key: list(groups.values()) for key, groups in steps.items()}
    depends = _depends_on(workflow, losses, reduced)
    for key, value in (
        ("definition", top),
        ("enums", enums),
        ("untyped", untyped),
        ("order", order if len(order) > 1 else []),
        ("steps", grouped),
        ("depends_on", depends),
        ("spellings", _spellings(workflow, losses) if losses.spellings else []),
        ("step_order", _step_order(workflow, losses)),
    ):
        if value:
            block[key] = value
    return block


def _depends_on(
    workflow: Workflow, losses: Losses, reduced: Collection[tuple[str, str]] | None = None
) -> dict[str, list[str]]:
    """The DependsOn the block holds: every step's where the target cannot tell one from its
    own waits, else the steps' whose DependsOn the target cannot keep as written."""
    if losses.every_depends_on:
        return {step.name: list(step.depends_on) for step in workflow.steps if step.depends_on}
    data: dict[str, set[str]] = {}
    for source, target, origin in _rows(workflow):  # edges(), without an Edge for each
        if origin is EdgeOrigin.DATA:
            data.setdefault(target, set()).add(source)
    if reduced is None:
        implied = _implied_dependencies(workflow)
    else:
        # An explicit edge between two steps that the reduction leaves out: what
        # _implied_dependencies finds, for an acyclic graph (another path from the
        # dependency to the step, through another of the step's predecessors).
        implied = {
            (dependency, step.name)
            for step in workflow.steps
            for dependency in step.depends_on or ()
            if workflow.has_step(dependency) and (dependency, step.name) not in reduced
        }
    return {
        step.name: list(step.depends_on)
        for step in workflow.steps
        if step.depends_on
        and (
            len(step.depends_on) > 1  # they come back in the target's order
            or set(step.depends_on) & data.get(step.name, set())  # one edge in the target
            or (step.depends_on[0], step.name) in implied  # left out by the edge reduction
        )
    }


def _spellings(workflow: Workflow, losses: Losses) -> list[list[Any]]:
    """How each Std:Join or Std:JsonGet of the steps' arguments and conditions was spelled,
    where the file can only hold the text it gives, and each value that reads a property the
    file computes (``computed``), by step (``[[spelling, [step, ...]], ...]``): a Join of
    texts and references as ``[On, [length of each text, -1 for a reference]]`` (the reader
    cuts the text it reads at those lengths), any other value as ``[pointer, value]`` (its
    JSON pointer in the step's Arguments)."""
    groups: dict[str, list[Any]] = {}
    computed = losses.computed
    fragments = _Fragments()
    for step in workflow.steps:
        if step.kind in losses.whole_kinds:  # the block keeps its arguments whole
            continue
        arguments = {"Conditions": step.conditions} if step.conditions else step.arguments
        if arguments is MISSING:  # a step written without Arguments spells nothing
            continue
        text = fragments.text(arguments)
        if '"Std:J' not in text and '"In"' not in text and not (computed and computed.search(text)):
            continue
        for spelling in _step_spellings(text, computed):
            names = groups.setdefault(_canonical(spelling), [spelling, []])[1]
            if not names or names[-1] != step.name:
                names.append(step.name)
    return list(groups.values())


def _step_spellings(text: str, computed: re.Pattern[str] | None) -> list[Any]:
    """The spellings of one step's arguments (``text``, their JSON). Most are Joins of texts
    and references, found in the text and decoded alone; a step with any other kind is
    walked, for the values' pointers."""
    if '"In"' not in text and (computed is None or not computed.search(text)):
        spellings: list[Any] = []
        end = 0
        for match in _SPELLED_AT.finditer(text):
            if match.start() < end:  # inside a value already taken whole
                continue
            value, end = _DECODER.raw_decode(text, match.start())
            if not _joined_on_text(value) and _as_read(value) == value:
                continue
            cuts = _join_cuts(value)
            if cuts is None:
                break
            spellings.append(cuts)
        else:
            return spellings
    found = _respelled_values(_json_value(text), [], computed, [])
    return [_join_cuts(value) or [pointer, value] for pointer, value in found]


def _joined_on_text(value: dict[str, Any]) -> bool:
    """Is ``value`` a Std:Join on a non-empty text? That never reads back as itself (a Join
    reads back as one of its values, or as a Join on ""), so ``_as_read`` need not say so."""
    body = value.get("Std:Join")
    return (
        len(value) == 1 and type(body) is dict and type(body.get("On")) is str and body["On"] != ""
    )


def _join_cuts(value: dict[str, Any]) -> list[Any] | None:
    body = value.get("Std:Join")
    if not isinstance(body, dict) or not isinstance(body.get("On"), str):
        return None
    values = body.get("Values")
    if not isinstance(values, list) or len(values) < 2:  # reads back as its one value
        return None
    cuts = []
    for item in values:
        if isinstance(item, str):
            cuts.append(len(item))
        elif isinstance(item, dict) and not set(item) & _SPELLED:
            cuts.append(-1)
        else:  # a number or a nested Join: its text does not say where it was cut
            return None
    return [body["On"], cuts]


def _as_read(data: Any) -> Any:
    """``data`` as a target that writes values as text gives it back."""
    text = text_form(data)
    if isinstance(text, dict) and set(text) == {"Join"}:
        return {"Std:Join": {"On": "", "Values": text["Join"]}}
    return text


def _plain(value: Any) -> Any:
    """JSON for what the IR holds: frozen mappings and expression nodes."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Condition):
        return condition_to_json(value)
    return sagemaker_json._expression_json(value)


def _json_text(
    value: Any,
    default: Callable[[Any], Any] | None = _plain,
    sort: bool = False,
    native_dataclasses: bool = False,
) -> str:
    """Compact JSON of ``value``; orjson, or the standard library for what orjson refuses
    (integers wider than 64 bits). orjson writes dataclasses itself unless told to pass them to
    ``default`` (``native_dataclasses`` False); the standard library always passes them."""
    option = (orjson.OPT_SORT_KEYS if sort else 0) | (
        0 if native_dataclasses else orjson.OPT_PASSTHROUGH_DATACLASS
    )
    try:
        return orjson.dumps(value, default=default, option=option).decode()
    except orjson.JSONEncodeError:
        return json.dumps(
            value, default=default, separators=(",", ":"), ensure_ascii=False, sort_keys=sort
        )


class _Fragments:
    """Writes each IR node (an expression, a condition, a frozen mapping: immutable, and equal
    Gets share one node) as JSON once, for ``orjson.dumps(..., default=...)``: its JSON by
    id, with the node kept alive so that the id stays its own."""

    def __init__(self) -> None:
        self.known: dict[int, tuple[Any, orjson.Fragment]] = {}

    def __call__(self, node: Any) -> orjson.Fragment:
        known = self.known.get(id(node))
        if known is None:
            text = orjson.dumps(_plain(node), default=self, option=_PASSTHROUGH)
            known = self.known[id(node)] = (node, orjson.Fragment(text))
        return known[1]

    def text(self, value: Any) -> str:
        """``_json_text(value)``."""
        try:
            return orjson.dumps(value, default=self, option=_PASSTHROUGH).decode()
        except orjson.JSONEncodeError:  # an integer wider than 64 bits
            return _json_text(value)


_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATACLASS


def _json_value(text: str) -> Any:
    """``text`` parsed; the standard library, because orjson reads a wide integer as a float."""
    return json.loads(text)


def _respelled_values(
    data: Any, path: list[Any], computed: re.Pattern[str] | None, found: list[tuple[str, Any]]
) -> list[tuple[str, Any]]:
    """The outermost Join, JsonGet and reference values inside ``data`` (at ``path``) that
    the file holds otherwise (as the text they give, or computed), with their JSON pointers
    (appended to ``found``). Only containers are visited: most values are leaves."""
    for key, item in data.items() if type(data) is dict else enumerate(data):
        kind = type(item)
        if kind is dict:
            path.append(key)
            if (len(item) == 1 and _held_otherwise(item, computed)) or item.get("Type") == "In":
                found.append(("".join(f"/{_escaped_key(str(part))}" for part in path), item))
            else:
                _respelled_values(item, path, computed, found)
            path.pop()
        elif kind is list:
            path.append(key)
            _respelled_values(item, path, computed, found)
            path.pop()
    return found


def _held_otherwise(value: dict[str, Any], computed: re.Pattern[str] | None) -> bool:
    if "Get" in value:  # a reference reads back as itself, unless the file computes it
        return computed is not None and computed.search(f'"{value["Get"]}"') is not None
    if not set(value) & _SPELLED:
        return False
    if _as_read(value) != value:
        return True
    return (
        computed is not None
        and computed.search(_json_text(value, default=None, native_dataclasses=True)) is not None
    )


def _escaped_key(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _declared_values(step: Step, losses: Losses) -> Iterator[tuple[str, Any]]:
    """The step's values of the declared keys, as the SageMaker backend writes them (with
    expression nodes still inside)."""
    if step.kind in (StepKind.QUALITY_CHECK, StepKind.CLARIFY_CHECK):
        yield "Type", step.type_name
        yield from ((key, step.check[key]) for key in CHECK_KEYS if key in step.check)
    if step.kind in losses.whole_kinds:
        yield "Type", step.type_name
        yield "Arguments", _json_value(_json_text(step.arguments))
    for key in losses.step_keys:
        field_name, render = _FIELDS[key]
        value = getattr(step, field_name)
        if value is not None and value is not MISSING:
            yield key, render(value)


def _step_order(workflow: Workflow, losses: Losses) -> list[str]:
    names = [step.name for step in workflow.steps]
    if losses.step_order == "always" and len(names) > 1:
        return names
    if losses.step_order == "unless-topological":
        rank = {name: index for index, name in enumerate(names)}
        if any(rank[source] > rank[target] for source, target, _ in _rows(workflow)):
            return names
    return []


def _implied_dependencies(workflow: Workflow) -> set[tuple[str, str]]:
    """The explicit DependsOn edges (dependency, step) that another path already implies:
    the targets' edge reduction leaves them out. Ancestor sets are bit masks over the steps
    in an order that runs, so this stays linear in practice."""
    explicit = {(d, step.name) for step in workflow.steps for d in step.depends_on or ()}
    if not explicit:
        return set()
    preds: dict[str, set[str]] = {step.name: set() for step in workflow.steps}
    for edge in edges(workflow):
        if edge.target in preds and edge.source in preds:
            preds[edge.target].add(edge.source)
    bit = {name: 1 << index for index, name in enumerate(preds)}
    ancestors: dict[str, int] = {}
    for name in _runnable_order(preds):
        mask = 0
        for pred in preds[name]:
            mask |= bit[pred] | ancestors[pred]
        ancestors[name] = mask
    implied = set()
    for d, name in explicit:
        if d not in bit or name not in ancestors:
            continue
        others = (ancestors[p] for p in preds[name] if p != d)
        if any(mask & bit[d] for mask in others):
            implied.add((d, name))
    return implied


def _runnable_order(preds: dict[str, set[str]]) -> list[str]:
    """The steps in an order in which each comes after its predecessors (Kahn)."""
    waiting = {name: len(sources) for name, sources in preds.items()}
    after: dict[str, list[str]] = {name: [] for name in preds}
    for name, sources in preds.items():
        for source in sources:
            after[source].append(name)
    ready = [name for name, count in waiting.items() if count == 0]
    order = []
    while ready:
        name = ready.pop()
        order.append(name)
        for follower in after[name]:
            waiting[follower] -= 1
            if waiting[follower] == 0:
                ready.append(follower)
    return order


def _each(render: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda items: [render(item) for item in items]


# The IR field of each declared step key, and how the SageMaker backend (the SageMaker
# reader's exact inverse) writes it.
_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "PropertyFiles": ("property_files", _each(sagemaker_json._property_file)),
    "RetryPolicies": ("retry_policies", _each(sagemaker_json._retry_policy)),
    "CacheConfig": ("cache_config", sagemaker_json._cache_config),
    "OutputParameters": ("output_parameters", _each(sagemaker_json._output_parameter)),
    "DisplayName": ("display_name", lambda value: value),
    "Description": ("description", lambda value: value),
}


def _fast_canonical(value: Any) -> bytes:
    return _json_text(
        value, default=sagemaker_json._expression_json, sort=True, native_dataclasses=True
    ).encode()


def _report_losses(block: dict[str, Any], write: str, diagnostics: Diagnostics) -> None:
    code = f"{write}.read-back"
    for key in block.get("definition", {}):
        diagnostics.dropped(code, f"reading the file back does not give the definition's {key}")
    if "enums" in block:
        names = ", ".join(block["enums"])
        diagnostics.dropped(code, f"reading the file back does not give the EnumValues of {names}")
    for name, kept in _per_step(block).items():
        keys = ", ".join(kept)
        diagnostics.dropped(code, f"reading the file back does not give its {keys}", name)
    for name in block.get("depends_on", {}):
        diagnostics.dropped(
            code, "reading the file back does not give its DependsOn as written", name
        )
    for key, what in (
        ("untyped", "which parameters have no Type"),
        ("order", "the parameters' order"),
        ("step_order", "the steps' order"),
    ):
        if key in block:
            diagnostics.dropped(code, f"reading the file back does not give {what}")


def _per_step(block: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The block's ``steps`` (each key's values, each with the steps that have it) by step."""
    found: dict[str, dict[str, Any]] = {}
    groups = block.get("steps")
    for key, values in groups.items() if isinstance(groups, dict) else ():
        for value, names in values if isinstance(values, list) else ():
            for name in names if isinstance(names, list) else ():
                found.setdefault(name, {})[key] = value
    return found


def _json(block: dict[str, Any]) -> str:
    return json.dumps(
        block, separators=(",", ":"), ensure_ascii=True, default=sagemaker_json._expression_json
    )


def _in_asl_comment(text: str, block: dict[str, Any]) -> str:
    """After the human sentence of the machine's top-level Comment, written into the text
    (parsing and writing a large machine again would cost more than the block is worth)."""
    head = '{\n  "Comment": "'
    if not text.startswith(head):  # no Comment first: give it one, as the writer lays it out
        from pipeglot.backends import _json as asl_json

        document = json.loads(text)
        document.pop("Comment", None)
        text = asl_json.dumps({"Comment": "", **document})
    stamp = f"\n{MARKER} {_json({'file': _text_fingerprint(text), **block})}"
    _, end = json.JSONDecoder().raw_decode(text, len(head) - 1)
    return text[: end - 1] + _escaped(stamp) + text[end - 1 :]


def _escaped(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _in_trailing_comment(text: str, block: dict[str, Any]) -> str:
    """A comment block at the end: the line numbers of the file (which the readers name in
    what they report) stay those of the file without it."""
    text = text.rstrip("\n") + "\n"
    data = _json({"file": _text_fingerprint(text), **block})
    lines = [f"{BEGIN} (JSON; join the lines as they are)", *_cut(data), END]
    return text + "".join(f"# {line}\n" for line in lines)


def _cut(text: str) -> list[str]:
    """``text`` in pieces of at most ``_WIDTH`` characters, none ending in a space (a comment
    line with trailing whitespace is not lint-clean)."""
    pieces = []
    while text:
        end = min(len(text), _WIDTH)
        while end < len(text) and end > 1 and text[end - 1] == " ":
            end -= 1
        pieces.append(text[:end])
        text = text[end:]
    return pieces


def _text_fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


_EMBED: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "asl": _in_asl_comment,
    "airflow": _in_trailing_comment,
    "kfp-yaml": _in_trailing_comment,
}


# --- reading ------------------------------------------------------------------------------


def read(
    text: str,
    read_file: Callable[[Diagnostics], Workflow],
    *,
    reader: str,
    diagnostics: Diagnostics | None,
) -> Workflow:
    """The workflow reader ``reader`` reads from ``text`` (``read_file`` reads it into the
    ledger it is given), with the file's provenance block applied when it has one."""
    ledger = Diagnostics() if diagnostics is None else diagnostics
    read_ledger = Diagnostics()  # replayed into ``ledger`` once the block is applied
    found = find(text, reader, read_ledger)
    workflow = read_file(read_ledger)
    restored = Restored()
    if found is not None:
        block, unedited = found
        workflow = apply(
            workflow, block, reader=reader, diagnostics=read_ledger, unedited=unedited,
            restored=restored,
        )  # fmt: skip
    for entry in read_ledger:
        if entry.fidelity is Fidelity.UNSUPPORTED and restored.covers(entry):
            ledger.approximated(
                entry.code,
                f"{entry.message} (in pipeglot's own output: the provenance block gives the "
                "source's value)",
                entry.step,
            )
        else:
            ledger.record(entry.code, entry.fidelity, entry.message, entry.step)
    return workflow


@dataclass
class Restored:
    """What a block gave in place of what the reader read: whole steps, states pipeglot's
    writer added, and values at a pointer in a step's arguments. An unsupported construct the
    reader met there is pipeglot's own rendering of something the block restored."""

    steps: set[str] = field(default_factory=set)
    values: set[tuple[str, str]] = field(default_factory=set)

    def covers(self, entry: Diagnostic) -> bool:
        found = _STATE_POINTER.findall(entry.message)
        if not found:
            return entry.step in self.steps
        state, rest = found[-1]
        step = entry.step or _SAFE_NAME.sub("-", state)
        if step in self.steps:
            return True
        place = rest.removeprefix("/Parameters").removesuffix(".$")
        return any(
            name == step and (place == pointer or place.startswith(f"{pointer}/"))
            for name, pointer in self.values
        )


# "/States/<state><rest>" in a reader's message (the last state of a nested pointer).
_STATE_POINTER = re.compile(r"/States/(?:[^/\s:]+/Branches/\d+/States/)*([^/\s:]+)([^\s:]*)")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


def find(text: str, reader: str, diagnostics: Diagnostics) -> tuple[dict[str, Any], bool] | None:
    """The block in ``text`` and whether the rest of the file is as pipeglot wrote it, or
    None; a damaged block is reported and ignored."""
    found = _FIND[reader](text)
    if found is None:
        return None
    data, rest = found
    try:
        block = json.loads(data)
    except ValueError:
        block = None
    if not _well_formed(block):
        diagnostics.approximated(
            f"read.{reader}.provenance-damaged",
            "the file's pipeglot provenance block is damaged, so it is not used: the workflow "
            "is read from the file alone; regenerate the file to restore it",
        )
        return None
    return block, block.get("file") == _text_fingerprint(rest)


_SHAPE = {
    "file": str,
    "definition": dict,
    "enums": dict,
    "untyped": list,
    "order": list,
    "steps": dict,
    "depends_on": dict,
    "spellings": list,
    "step_order": list,
}


def _well_formed(block: Any) -> bool:
    """A block as the writers write it (a file's text is input like any other)."""
    if not isinstance(block, dict):
        return False
    return all(isinstance(block[key], kind) for key, kind in _SHAPE.items() if key in block)


def _in_comment_lines(text: str) -> tuple[str, str] | None:
    matches = list(_LINES.finditer(text))
    if not matches:
        return None
    lines = matches[-1].group(1).splitlines()
    return "".join(line[2:] for line in lines), text[: matches[-1].start()]


def _in_asl(text: str) -> tuple[str, str] | None:
    try:
        comment = json.loads(text).get("Comment")
    except (ValueError, AttributeError):
        return None
    if not isinstance(comment, str) or f"\n{MARKER} " not in comment:
        return None
    stamp = comment[comment.rindex(f"\n{MARKER} ") :]
    return stamp.removeprefix(f"\n{MARKER} "), text.replace(_escaped(stamp), "", 1)


_FIND: dict[str, Callable[[str], tuple[str, str] | None]] = {
    "asl": _in_asl,
    "airflow": _in_comment_lines,
    "kfp-yaml": _in_comment_lines,
}


def apply(
    back: Workflow,
    block: dict[str, Any],
    *,
    reader: str,
    diagnostics: Diagnostics,
    unedited: bool = True,
    restored: Restored | None = None,
) -> Workflow:
    """``back`` with the block's values of the declared keys (and the property file reads
    they explain); ``restored`` collects what the block gave in place of what was read."""
    gave = Restored()
    losses = LOSSES[reader]
    document = _document(back)
    _restore_definition(document, block, losses)
    steps = _flat_steps(document)
    kept = _per_step(block)
    for name, step in steps.items():
        steps[name] = _restored_step(step, kept.get(name, {}), losses)
    touched = set(kept) | _read_property_files(steps)
    for name in touched & set(steps):
        _without_data_dependencies(steps[name])
    _restore_depends_on(steps, block, every=losses.every_depends_on and unedited)
    gave.values = _restore_spellings(steps, block.get("spellings"), unedited=unedited)
    gave.steps = {name for name, values in kept.items() if "Arguments" in values}
    if unedited:
        gave.steps |= _drop_machine_states(steps, block.get("step_order"))
    steps = _in_order(steps, block.get("step_order"))
    document["Steps"] = _nested(steps)
    workflow = _reloaded(document, back, reader, diagnostics)
    if workflow is back:
        return back
    if restored is not None:
        restored.steps, restored.values = gave.steps, gave.values
    diagnostics.exact(
        f"read.{reader}.provenance",
        "the file's provenance block gave what the target cannot hold ("
        + ", ".join(losses.step_keys)
        + ", check steps); the rest is read from the file",
    )
    if not unedited:
        diagnostics.approximated(
            f"read.{reader}.provenance-edited",
            "the file changed since pipeglot wrote it; the provenance block's values (what the "
            "target cannot hold) are still given to the steps it names: check them",
        )
    return workflow


def _restore_depends_on(steps: dict[str, Any], block: dict[str, Any], *, every: bool) -> None:
    """The block's DependsOn on the steps it names; with ``every`` (a target whose waits look
    like DependsOn, and a file as pipeglot wrote it), none on the others."""
    listed = dict(_items(block.get("depends_on")))
    for name, step in steps.items():
        depends = listed.get(name)
        if isinstance(depends, list):
            step["DependsOn"] = depends
        elif every:
            step.pop("DependsOn", None)


def _restore_spellings(
    steps: dict[str, Any], spellings: Any, *, unedited: bool
) -> set[tuple[str, str]]:
    """Each value of a step's arguments in the spelling the block keeps for the step: a Join
    cut where it gives the text read, a value at its pointer (where the file was edited,
    only if it gives the text read); the (step, pointer) of each value put at its pointer."""
    placed: set[tuple[str, str]] = set()
    by_step: dict[str, list[Any]] = {}
    for spelling, names in spellings if isinstance(spellings, list) else ():
        for name in names if isinstance(names, list) else ():
            by_step.setdefault(name, []).append(spelling)
    for name, kept in by_step.items():
        step = steps.get(name)
        if step is None or not isinstance(step.get("Arguments"), dict):
            continue
        cuts = [s for s in kept if isinstance(s, list) and len(s) == 2 and isinstance(s[1], list)]
        step["Arguments"] = _respelled(step["Arguments"], cuts)
        for spelling in kept:
            if not (isinstance(spelling, list) and len(spelling) == 2):
                continue
            if isinstance(spelling[1], dict) and _put_at(
                step["Arguments"], spelling[0], spelling[1], unedited
            ):
                placed.add((name, spelling[0]))
    return placed


def _put_at(data: Any, pointer: Any, value: Any, unconditional: bool) -> bool:
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        return False
    *path, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]
    for part in path:
        data = _child(data, part)
    if isinstance(data, list) and last.isdigit() and int(last) < len(data):
        index: Any = int(last)
    elif isinstance(data, dict) and last in data:
        index = last
    else:
        return False
    if unconditional or text_form(data[index]) == text_form(value):
        data[index] = value
        return True
    return False


def _child(data: Any, part: str) -> Any:
    if isinstance(data, list) and part.isdigit() and int(part) < len(data):
        return data[int(part)]
    return data.get(part) if isinstance(data, dict) else None


def _respelled(data: Any, kept: list[Any]) -> Any:
    if isinstance(data, list):
        return [_respelled(item, kept) for item in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1 and set(data) & _SPELLED and kept:
        text = text_form(data)
        for spelling in kept:
            original = _cut_join(text, spelling)
            if original is not None and text_form(original) == text:
                return original
    return {key: _respelled(item, kept) for key, item in data.items()}


def _cut_join(text: Any, spelling: list[Any]) -> dict[str, Any] | None:
    """The Join ``[On, cuts]`` that gives ``text`` (a text form), or None if it cannot."""
    if len(spelling) != 2 or not isinstance(spelling[0], str) or not isinstance(spelling[1], list):
        return None
    on, cuts = spelling
    pieces = list(text["Join"]) if isinstance(text, dict) and set(text) == {"Join"} else [text]
    stream = iter(pieces)
    current, values = next(stream, None), []
    for index, cut in enumerate(cuts):
        if index and on:
            if not isinstance(current, str) or not current.startswith(on):
                return None
            current = current[len(on) :] or next(stream, None)
        if cut == -1:
            if isinstance(current, str) or current is None:
                return None
            values.append(current)
            current = next(stream, None)
        elif isinstance(cut, int) and cut >= 0:
            if cut == 0:
                values.append("")
                continue
            if not isinstance(current, str) or len(current) < cut:
                return None
            values.append(current[:cut])
            current = current[cut:] or next(stream, None)
        else:
            return None
    if current is not None or next(stream, None) is not None:
        return None
    return {"Std:Join": {"On": on, "Values": values}}


def _restore_definition(document: dict[str, Any], block: dict[str, Any], losses: Losses) -> None:
    top = block.get("definition", {})
    for key in _DEFINITION_KEYS:
        if key in top:
            document[key] = top[key]
        else:
            document.pop(key, None)
    if top.get("Parameters") == [] and "Parameters" not in document:
        document["Parameters"] = []
    listed = document.get("Parameters") or []
    untyped = block.get("untyped") or ()
    enums = block.get("enums") or {}
    for parameter in listed:
        if parameter.get("Name") in untyped:  # SageMaker reads a parameter without Type as a String
            parameter.pop("Type", None)
        if losses.enum_values:
            parameter.pop("EnumValues", None)
            if parameter.get("Name") in enums:
                parameter["EnumValues"] = enums[parameter["Name"]]
    order = {name: index for index, name in enumerate(block.get("order") or ())}
    if order and listed:
        document["Parameters"] = sorted(listed, key=lambda p: order.get(p.get("Name"), len(order)))


def _restored_step(step: dict[str, Any], kept: dict[str, Any], losses: Losses) -> dict[str, Any]:
    """``step`` as read, with exactly the declared keys the block lists for it."""
    declared = (*CHECK_KEYS, *losses.step_keys) if "Type" in kept else losses.step_keys
    restored = {key: value for key, value in step.items() if key not in declared}
    restored.update((key, kept[key]) for key in ("Type", *declared) if key in kept)
    if "Arguments" in kept:  # a step the target runs as several states of its own
        restored["Arguments"] = kept["Arguments"]
    return restored


def _read_property_files(steps: dict[str, Any]) -> set[str]:
    """Each read of a JSON file at a property file's place (its output's S3 URI, '/', its
    path) as a read of that property file, now that the block declared it: the target reads
    the file by its URI, SageMaker by the property file's name. A step that reads it depends
    on the producer through that data, not through a DependsOn of its own (the reader's rule)."""
    places = dict(_property_file_places(steps))
    reading: set[str] = set()
    for name, step in steps.items() if places else ():
        readers: set[str] = set()
        steps[name] = _with_property_files(step, places, readers)
        if readers:
            reading.add(name)
    return reading


def _without_data_dependencies(step: dict[str, Any]) -> None:
    """A step's DependsOn without the steps it reads data from (the readers' rule: a
    dependency is one edge), now that the block gave it values that read them."""
    depends = step.get("DependsOn")
    if not isinstance(depends, list):
        return
    body = {key: value for key, value in step.items() if key != "DependsOn"}
    read = set(_STEP_READ.findall(_canonical(body)))
    kept = [dependency for dependency in depends if dependency not in read]
    if kept:
        step["DependsOn"] = kept
    else:
        del step["DependsOn"]


def _drop_machine_states(steps: dict[str, Any], order: Any) -> set[str]:
    """Without the steps pipeglot's writer added (named ``pipeglot-...``, such as the check
    of the parameters' enum values at the start of a machine) that the source's step list
    does not have and no other step reads or names."""
    if not isinstance(order, list):
        return set()
    added = [name for name in steps if name.startswith("pipeglot-") and name not in order]
    dropped = set()
    for name in added:
        rest = _canonical([step for other, step in steps.items() if other != name])
        if f'"{name}"' not in rest and f"Steps.{name}." not in rest:
            del steps[name]
            dropped.add(name)
    return dropped


def _in_order(steps: dict[str, Any], order: Any) -> dict[str, Any]:
    """The steps, and each Condition's branch lists, in the source's order (targets that
    keep states or tasks in a map do not keep it)."""
    if not isinstance(order, list) or sorted(order) != sorted(steps):
        return steps
    rank = {name: index for index, name in enumerate(order)}
    for step in steps.values():
        arguments = step.get("Arguments")
        if step.get("Type") == "Condition" and isinstance(arguments, dict):
            for key in _STEP_LISTS:
                if isinstance(arguments.get(key), list):
                    arguments[key] = sorted(arguments[key], key=lambda n: rank.get(n, len(rank)))
    return {name: steps[name] for name in order}


def _property_file_places(steps: dict[str, Any]) -> Iterator[tuple[str, tuple[str, str]]]:
    """(canonical JSON of each spelling of a property file's URI, (its step, its name))."""
    for name, step in steps.items():
        for file in step.get("PropertyFiles") or ():
            output, path = file.get("OutputName"), file.get("FilePath")
            owner = (name, file.get("PropertyFileName"))
            get = {"Get": f"Steps.{name}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri"}
            uris = [get, _output_uri(step, output)]
            for uri in uris:
                if uri is not None:
                    join = {"Std:Join": {"On": "/", "Values": [uri, path]}}
                    yield _canonical(join), owner
                    yield _canonical(text_form(join)), owner  # however the file split it
                if isinstance(uri, str):
                    yield _canonical(f"{uri}/{path}"), owner


def _output_uri(step: dict[str, Any], output: Any) -> Any:
    config = (step.get("Arguments") or {}).get("ProcessingOutputConfig") or {}
    for item in config.get("Outputs") or ():
        if isinstance(item, dict) and item.get("OutputName") == output:
            return (item.get("S3Output") or {}).get("S3Uri")
    return None


def _with_property_files(value: Any, places: dict[str, tuple[str, str]], readers: set[str]) -> Any:
    if isinstance(value, list):
        return [_with_property_files(item, places, readers) for item in value]
    if not isinstance(value, dict):
        return value
    body = value.get("Std:JsonGet")
    if len(value) == 1 and isinstance(body, dict) and "S3Uri" in body:
        owner = places.get(_canonical(body["S3Uri"])) or places.get(
            _canonical(text_form(body["S3Uri"]))
        )
        if owner is not None:
            readers.add(owner[0])
            reference = {"Get": f"Steps.{owner[0]}.PropertyFiles.{owner[1]}"}
            return {"Std:JsonGet": {"PropertyFile": reference, "Path": body.get("Path")}}
    return {key: _with_property_files(item, places, readers) for key, item in value.items()}


def _reloaded(
    document: dict[str, Any], back: Workflow, reader: str, diagnostics: Diagnostics
) -> Workflow:
    from pipeglot.frontends import sagemaker

    try:
        workflow = sagemaker.load(json.dumps(document), name=back.name)
    except InputError as error:
        diagnostics.approximated(
            f"read.{reader}.provenance-stale",
            f"the file's provenance block does not fit the file any more ({error}), so it is "
            "not used: the workflow is read from the file alone",
        )
        return back
    return replace(workflow, triggers=back.triggers)


def _items(value: Any) -> list[tuple[str, Any]]:
    return list(value.items()) if isinstance(value, dict) else []


# --- the definition as plain JSON, with branch steps flattened ---------------------------


def _document(workflow: Workflow) -> dict[str, Any]:
    from pipeglot.backends import sagemaker

    document: dict[str, Any] = json.loads(sagemaker.export(workflow))
    return document


def _flat_steps(document: dict[str, Any]) -> dict[str, Any]:
    """Every step object by name, in document order (a Condition before its branches), each
    Condition's branch lists holding names."""
    flat: dict[str, Any] = {}

    def visit(step: dict[str, Any]) -> None:
        step = dict(step)
        flat[step["Name"]] = step
        arguments = step.get("Arguments")
        if step.get("Type") != "Condition" or not isinstance(arguments, dict):
            return
        arguments = step["Arguments"] = dict(arguments)
        children = []
        for key in _STEP_LISTS:
            if isinstance(arguments.get(key), list):
                children.extend(arguments[key])
                arguments[key] = [child["Name"] for child in arguments[key]]
        for child in children:
            visit(child)

    for step in document.get("Steps", []):
        visit(step)
    return flat


def _nested(steps: dict[str, Any]) -> list[Any]:
    """The top-level step list of a definition from flattened steps."""
    owned = {
        child
        for step in steps.values()
        if step.get("Type") == "Condition" and isinstance(step.get("Arguments"), dict)
        for key in _STEP_LISTS
        for child in step["Arguments"].get(key, ())
    }

    def whole(step: dict[str, Any]) -> dict[str, Any]:
        arguments = step.get("Arguments")
        if step.get("Type") != "Condition" or not isinstance(arguments, dict):
            return step
        arguments = dict(arguments)
        for key in _STEP_LISTS:
            if isinstance(arguments.get(key), list):
                arguments[key] = [whole(steps[n]) for n in arguments[key] if n in steps]
        return {**step, "Arguments": arguments}

    return [whole(step) for name, step in steps.items() if name not in owned]


def _canonical(value: Any) -> str:
    """JSON text that tells 1 from 1.0 and True, and ignores key order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
