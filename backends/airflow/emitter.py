"""The state of one DAG file while its tasks are written, shared by every step handler.

Handlers ask the emitter to import a name (``use``), to copy a runtime section (``need``), to
name a module constant (``constant``) and to write a pipeline value (``value``); it records what
the file will need, so that the assembly in dag_file.py writes exactly that and nothing more.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable
from typing import Any

from pipeglot.backends import _python as pysource
from pipeglot.backends._python import Atom, Doc, Group, call, literal, string_literal
from pipeglot.backends._python.sharing import Family, Hole, ItemCall
from pipeglot.backends.airflow.profiles import Profile
from pipeglot.backends.airflow.results import RESULT_TYPES
from pipeglot.backends.airflow.sections import READERS, SECTIONS, runtime_names
from pipeglot.backends.airflow.tasks import HelperRef
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.expressions import (
    EXPRESSION_TYPES,
    Attribute,
    ExecutionVariable,
    Index,
    Join,
    JsonGet,
    Key,
    ParameterRef,
    PathPart,
    PropertyFileRef,
    SelectByName,
    StepProperty,
    Value,
    format_get,
)
from pipeglot.ir.graph import _rows, reduced_children, topological_order
from pipeglot.ir.model import Step, Workflow

# Execution variables whose Airflow value only stands in for SageMaker's.
_APPROXIMATE_VARIABLES = {
    "PipelineExecutionId": "a 12-character id derived from the DAG id and run_id",
    "PipelineExecutionArn": "'airflow:dag/<dag_id>/run/<run_id>' (Airflow runs have no ARN)",
    "PipelineArn": "'airflow:dag/<dag_id>' (a DAG has no ARN)",
    "StartDateTime": "the DAG run's start date in ISO 8601",
    "CurrentDateTime": "the time the task evaluates it, in ISO 8601",
}

_SECOND = operator.itemgetter(1)
_TASK_ID = re.compile(r"[\w.-]{1,250}")
_WRITTEN_TYPES = (*EXPRESSION_TYPES, Hole, ItemCall)
_STEP_SUFFIXES = ("_ARGUMENTS", "_CHECK", "_CLUSTER", "_CONDITIONS", "_PAYLOAD", "_REQUEST")


_LOWER_UPPER = re.compile(r"([a-z0-9])([A-Z])")
_ACRONYM_WORD = re.compile(r"([A-Z]+)([A-Z][a-z])")
_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]+")


@functools.lru_cache(maxsize=4096)  # the same property names recur in every step
def _upper(text: str) -> str:
    text = _ACRONYM_WORD.sub(r"\1_\2", _LOWER_UPPER.sub(r"\1_\2", text))
    return _NOT_ALPHANUMERIC.sub("_", text).strip("_").upper() or "VALUE"


class Emitter:
    """What one DAG file accumulates: imports, runtime sections, names, read step results."""

    def __init__(self, workflow: Workflow, diagnostics: Diagnostics, profile: Profile) -> None:
        self.workflow = workflow
        self.diagnostics = diagnostics
        self.profile = profile
        # The step graph as adjacency dicts of its own (see _StepGraph), freed with the
        # emitter: not build_graph's networkx graph, whose edges carry their origins, nor
        # the workflow's Edge objects (only which step follows which is drawn).
        graph = _StepGraph(workflow)
        self.order = topological_order(workflow, graph)  # type: ignore[arg-type]
        self.position = {name: index for index, name in enumerate(self.order)}
        # The transitive reduction's pairs (the provenance block reads them too), and the
        # edges the DAG draws.
        self.reduced: set[tuple[str, str]] = set()
        self._successors = _drawn_successors(
            workflow, graph, self.order, self.position, self.reduced
        )
        self.modules: set[str] = set()  # import x
        self.names: dict[str, set[str]] = {}  # from x import a, b
        self.sections: set[str] = set()
        self.step_results: dict[str, tuple[str, str]] = {}  # step -> (task id, result type)
        self.identifiers = pysource.Identifiers(runtime_names() | {"dag"})
        self.task_ids = _task_ids(workflow, diagnostics)
        self.reported_variables: set[str] = set()
        self.current: Step | None = None  # the step whose task is being written
        self._helpers: dict[tuple[str, str], HelperRef] = {}  # (step, role) -> helper
        self._setups: dict[str, HelperRef] = {}  # step -> the helper that runs before it
        self.families: dict[str, Family] = {}  # step -> its request builder (shared.py)
        self.shared_names: dict[str, str] = {}  # shared string -> its module constant
        self.shared_constants: set[str] = set()
        self.functions: list[str] = []  # module-level functions tasks call (predicates)
        self.references: dict[Any, list] = {}  # node -> [its constant, its value]
        self._written: dict[int, tuple[Any, Doc]] = {}  # id(node) -> (node, its constant)
        # The literal layout of a value, expression nodes as run-time helper calls: one
        # closure for the file (pysource.writer), which reads shared_names as it grows.
        self.value: Callable[[Value], Doc]
        self.values: Callable[[Iterable[Value]], tuple[Doc, ...]]  # each of some values
        self.value, self.values, self._release = pysource.writers(
            _WRITTEN_TYPES, self._expression, self.shared_names, self._written
        )

    def close(self) -> None:
        """Once the file is written: break the cycle of the emitter and its writer (which
        calls back into the emitter), so that reference counting frees them and everything
        they hold, not the cyclic collector after a scan of it all."""
        self._release()

    def successors(self, step: str) -> list[str]:
        """The steps drawn directly after ``step``, in task order (see _drawn_successors)."""
        return self._successors.get(step, [])

    # Imports, runtime sections and names -----------------------------------------------------

    def use(self, *paths: str) -> None:
        """Import each dotted ``module.Name`` (``@field`` means the profile's import)."""
        for path in paths:
            if path.startswith("@"):
                module, name = getattr(self.profile, path[1:])
            elif "." in path:
                module, _, name = path.rpartition(".")
            else:
                self.modules.add(path)
                continue
            self.names.setdefault(module, set()).add(name)

    def use_python_operator(self, name: str = "PythonOperator") -> None:
        """Import PythonOperator (or BranchPythonOperator) from the profile's module."""
        self.use(f"{self.profile.python_operators}.{name}")

    def need(self, section: str) -> None:
        """Copy ``section`` of runtime.py, and the sections it needs, into the DAG file."""
        if section not in self.sections:
            self.sections.add(section)
            imports, needs = SECTIONS[section]
            self.use(*imports)
            for needed in needs:
                self.need(needed)

    def constant(self, step: str, suffix: str) -> str:
        """The module constant holding one of ``step``'s values. Identifiers are unique and
        lower case, and only keywords end in "_" (class_), so this stays injective."""
        name = f"{self.identifiers[step].rstrip('_').upper()}_{suffix}"
        return f"{name}_STEP" if name in self.shared_constants else name

    # Helper tasks ----------------------------------------------------------------------------

    def helper(self, step: str, role: str) -> HelperRef:
        """The helper task ``pipeglot.<role>.<task id>`` of ``step`` (the same one each time):
        the prefix marks it as pipeglot's, and no step's task id can take it."""
        key = (step, role)
        if key not in self._helpers:
            base = f"pipeglot.{role}.{self.task_ids[step]}"[:240]
            taken = set(self.task_ids.values()) | {h.task_id for h in self._helpers.values()}
            task_id, number = base, 1
            while task_id in taken:
                number += 1
                task_id = f"{base}_{number}"
            self._helpers[key] = HelperRef(task_id, self.identifiers.helper(f"{role}_{step}"))
        return self._helpers[key]

    def declare_setup(self, step: str, role: str) -> HelperRef:
        """Make helper ``role`` the task that runs before ``step`` and takes its incoming
        edges. Declared before any task is written: a Condition must name it as the task to
        follow in its branch (a branch operator skips every direct follower it does not name)."""
        self._setups[step] = self.helper(step, role)
        return self._setups[step]

    def entry_task_id(self, step: str) -> str:
        """The task that the edges into ``step`` reach: its setup helper, if any, else its task."""
        setup = self._setups.get(step)
        return setup.task_id if setup else self.task_ids[step]

    def entry_variable(self, step: str) -> str:
        setup = self._setups.get(step)
        return setup.variable if setup else self.identifiers[step]

    # Values ----------------------------------------------------------------------------------

    def share(self, names: dict[str, str]) -> None:
        """Write each string of ``names`` as the module constant it maps to."""
        self.shared_names.update(names)
        self.shared_constants = set(names.values())

    def _expression(self, node: Any) -> Doc:
        kind = type(node)  # the IR's node classes have no subclasses
        if kind is Hole:
            return Atom(node.name)
        if kind is ItemCall:
            # Positional: an item usually fits on one line, the builder's signature names them.
            return Group(f"{node.function}(", self.values(map(_SECOND, node.arguments)), ")")
        if kind is Join:
            if "join" not in self.sections:
                self.need("join")
            values = Group("[", self.values(node.values), "]")
            return Group("Join(", (literal(node.on), values), ")")
        if kind is JsonGet:
            self.need("json_get")
            if node.property_file is not None:
                source = self._property_file(node.property_file)
            else:
                source = self.value(node.s3_uri)
            return call("JsonGet", source, literal(node.path))
        # Written before (the common case): the reader gives one node to every occurrence of
        # a reference, so the node itself is looked up first (pysource.writer does this
        # before calling here), then, for a named reference, its value.
        seen = self._written.get(id(node))
        if seen is not None and seen[0] is node:
            return seen[1]
        if kind is StepProperty or kind is ExecutionVariable:
            # One constant per distinct reference, equal nodes share it. A frozen dataclass
            # hashes its fields at every lookup: the node is hashed once, and its slot is
            # filled when it is new.
            slot = self.references.setdefault(node, [])
            if not slot:
                self._named(node, slot)
            doc = Atom(slot[0])
        elif kind is ParameterRef:
            self.need("parameters")
            doc = call("Parameter", literal(node.name))
        elif kind is PropertyFileRef:  # the frontend allows these only in JsonGet
            raise ValueError(f"{format_get(node)} outside Std:JsonGet")
        else:
            doc = self._get(node)
        self._written[id(node)] = (node, doc)
        return doc

    def _get(self, node: Any) -> Doc:
        """``Get("...")``: a reference the runtime reads by its text."""
        reference = format_get(node)
        self.need("get")
        self.need(READERS[reference.partition(".")[0]][0])
        return call("Get", literal(reference))

    def _named(self, node: StepProperty | ExecutionVariable, slot: list) -> None:
        """Fill ``slot`` with the module constant that holds the reference ``node`` (a step
        property, an execution variable) and its value: tasks read it by a name that says
        what it is, and the file lists in one place what each task reads from earlier steps."""
        if type(node) is StepProperty:
            self.read_step_result(node.step, node)
            if "steps" not in self.sections:
                self.need("steps")
            function = "xcom"
            path = node.path  # its parts are of exact types: the IR's have no subclasses
            if path and type(path[0]) is Attribute and path[0].name == "TrainingJobSummaries":
                function = "tuning_xcom" if "tuning" in self.sections else function
            parts = [p.name for p in path if type(p) is SelectByName or type(p) is Attribute]
            words = [p.name for p in path[:-1] if type(p) is SelectByName]
            words.append(parts[-1] if parts else "value")
            base = f"{self.identifiers[node.step].rstrip('_').upper()}_{_upper('_'.join(words))}"
        else:
            self._report_variable(node.name)
            value = self._get(node)
            base = _upper(node.name)
        if base.endswith(_STEP_SUFFIXES):
            base += "_VALUE"
        name, number = base, 1
        while name in self.shared_constants:
            number += 1
            name = f"{base}_{number}"
        self.shared_constants.add(name)
        if type(node) is StepProperty:
            value = _step_output(function, node, name)
        slot.extend((name, value))

    def _property_file(self, reference: PropertyFileRef) -> Doc:
        self.need("property_file")
        self.read_step_result(reference.step, format_get(reference))
        owner = self.workflow.step(reference.step)
        declared = {file.name: file for file in owner.property_files or ()}
        file = declared[reference.name]
        return call(
            "PropertyFile",
            literal(reference.step),
            literal(file.output_name),
            literal(file.file_path),
        )

    def read_step_result(self, name: str, reference: str | StepProperty) -> None:
        """Record that a task reads step ``name``'s result, so STEP_RESULTS lists it
        (``reference``: the reference, or its node, written out only for a report)."""
        step = self.workflow.step(name)
        kind = RESULT_TYPES.get(step.kind)
        if kind is None:
            kind = step.type_name
            shown = reference if isinstance(reference, str) else format_get(reference)
            self.diagnostics.unsupported(
                "airflow.step_property",
                f"reads {shown}, but the Airflow task of the {step.type_name} step "
                f"{name!r} does not return its properties; the reference fails at run time",
                self.current.name if self.current else None,
            )
        if kind == "Tuning":
            self.need("tuning")  # reads TrainingJobSummaries, which Describe* lacks
        self.step_results[name] = (self.task_ids[name], kind)

    def _report_variable(self, name: str) -> None:
        if name in _APPROXIMATE_VARIABLES and name not in self.reported_variables:
            self.reported_variables.add(name)
            self.diagnostics.approximated(
                "airflow.execution_variable",
                f"Execution.{name} is {_APPROXIMATE_VARIABLES[name]}",
            )


def _step_output(function: str, node: StepProperty, name: str) -> Doc:
    """``xcom("Step", "Field", "List", "name", ...)``: the step, then its property's path; as
    ``ruff format`` lays it out, on the line of ``name = ``, else its arguments on one line of
    their own when they fit there, else one per line."""
    # The arguments' texts, as literal and _path_part write them: a string's literal, a
    # position's digits (each an Atom), without making the Atoms.
    texts = [string_literal(node.step)] if type(node.step) is str else None
    for part in node.path:
        if texts is None:
            break
        kind = type(part)  # exact types: the IR's path parts have no subclasses
        if kind is Index:
            texts.append(str(part.position))
            continue
        value = part.key if kind is Key else part.name  # Attribute, SelectByName
        if type(value) is str:
            texts.append(string_literal(value))
        else:  # not what the reader makes: the general path below
            texts = None
    if texts is None:
        arguments = [literal(node.step), *map(_path_part, node.path)]
        if all(isinstance(argument, Atom) for argument in arguments):
            texts = [argument.text for argument in arguments]
    if texts is not None:
        listed = ", ".join(texts)
        if len(name) + len(f" = {function}({listed})") <= pysource.LINE_LENGTH:
            return Atom(f"{function}({listed})")
        if len(pysource.INDENT + listed) <= pysource.LINE_LENGTH:
            return Atom(f"{function}(\n{pysource.INDENT}{listed}\n)")
    return call(function, literal(node.step), *map(_path_part, node.path))


def _path_part(part: PathPart) -> Doc:
    """A part of a step property's path as an argument of xcom(): a position is a number, a
    field, map key or list item's name is a string."""
    kind = type(part)  # exact types: the IR's path parts have no subclasses
    if kind is Index:
        return Atom(str(part.position))
    return literal(part.key if kind is Key else part.name)  # Attribute, SelectByName


class _StepGraph:
    """The two adjacency dicts of the step graph that topological_order reads, as build_graph
    fills them (the steps in document order, each edge once, in the order of the workflow's
    edges, an edge to a step that does not exist left out), the values unused (None)."""

    __slots__ = ("_pred", "_succ")

    def __init__(self, workflow: Workflow) -> None:
        successors: dict[str, dict[str, None]] = {}
        predecessors: dict[str, dict[str, None]] = {}
        for step in workflow.steps:
            if step.name not in successors:
                successors[step.name] = {}
                predecessors[step.name] = {}
        for source, target, _ in _rows(workflow):
            children = successors.get(source)
            if children is not None and target in successors:
                children[target] = None  # a pair seen again keeps its place
                predecessors[target][source] = None
        self._succ, self._pred = successors, predecessors


def _drawn_successors(
    workflow: Workflow,
    graph: _StepGraph,
    order: list[str],
    position: dict[str, int],
    reduced: set[tuple[str, str]],
) -> dict[str, list[str]]:
    """The edges the DAG draws: the transitive reduction of the step graph (an Airflow author
    leaves out ``a -> c`` when ``a -> b -> c`` orders them), plus every Condition's edge into
    each of its branch steps, since a branch operator skips only its direct followers; each
    step's followers in task order. The reduction's pairs are added to ``reduced``.

    ``position`` is each step's index in ``order``, a topological order."""
    drawn = reduced_children(graph._succ, order, position)  # in task order
    for node, kept in drawn.items():
        reduced.update([(node, child) for child in kept])
    for step in workflow.steps:
        if step.if_steps or step.else_steps:
            targets = {*drawn.get(step.name, ()), *step.if_steps, *step.else_steps}
            drawn[step.name] = sorted(targets, key=position.__getitem__)
    return drawn


def _task_ids(workflow: Workflow, diagnostics: Diagnostics) -> dict[str, str]:
    """Each step's task id: its name where Airflow accepts it, else a reported stand-in."""
    ids: dict[str, str] = {}
    taken = {step.name for step in workflow.steps if _TASK_ID.fullmatch(step.name)}
    for step in workflow.steps:
        if step.name in taken:  # a valid task id (taken holds only those so far)
            ids[step.name] = step.name
            continue
        base = re.sub(r"[^\w.-]", "_", step.name)[:240] or "step"
        candidate, number = base, 1
        while candidate in taken:
            number += 1
            candidate = f"{base}_{number}"
        taken.add(candidate)
        ids[step.name] = candidate
        diagnostics.approximated(
            "airflow.task_id",
            f"the step name is not a valid Airflow task id; its task is {candidate!r}",
            step.name,
        )
    return ids
