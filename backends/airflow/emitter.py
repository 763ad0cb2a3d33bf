"""The state of one DAG file while its tasks are written, shared by every step handler.

Handlers ask the emitter to import a name (``use``), to copy a runtime section (``need``), to
name a module constant (``constant``) and to write a pipeline value (``value``); it records what
the file will need, so that the assembly in dag_file.py writes exactly that and nothing more.
"""

from __future__ import annotations

import re
from typing import Any

from pipeglot.backends import _python as pysource
from pipeglot.backends._python import Doc, Group, call, literal
from pipeglot.backends.airflow.profiles import Profile
from pipeglot.backends.airflow.results import RESULT_TYPES
from pipeglot.backends.airflow.sections import READERS, SECTIONS, runtime_names
from pipeglot.backends.airflow.tasks import HelperRef
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.expressions import (
    EXPRESSION_TYPES,
    ExecutionVariable,
    Join,
    JsonGet,
    PropertyFileRef,
    StepProperty,
    Value,
    format_get,
)
from pipeglot.ir.graph import build_graph, topological_order
from pipeglot.ir.model import Step, Workflow

# Execution variables whose Airflow value only stands in for SageMaker's.
_APPROXIMATE_VARIABLES = {
    "PipelineExecutionId": "a 12-character id derived from the DAG id and run_id",
    "PipelineExecutionArn": "'airflow:dag/<dag_id>/run/<run_id>' (Airflow runs have no ARN)",
    "PipelineArn": "'airflow:dag/<dag_id>' (a DAG has no ARN)",
    "StartDateTime": "the DAG run's start date in ISO 8601",
    "CurrentDateTime": "the time the task evaluates it, in ISO 8601",
}

_TASK_ID = re.compile(r"[\w.-]{1,250}")


class Emitter:
    """What one DAG file accumulates: imports, runtime sections, names, read step results."""

    def __init__(self, workflow: Workflow, diagnostics: Diagnostics, profile: Profile) -> None:
        self.workflow = workflow
        self.diagnostics = diagnostics
        self.profile = profile
        self.graph = build_graph(workflow)
        self.order = topological_order(workflow, self.graph)
        self.position = {name: index for index, name in enumerate(self.order)}
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
        return f"{self.identifiers[step].rstrip('_').upper()}_{suffix}"

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

    def value(self, value: Value) -> Doc:
        """The literal layout of ``value``; expression nodes become run-time helper calls."""
        return literal(value, EXPRESSION_TYPES, self._expression)

    def _expression(self, node: Any) -> Doc:
        if isinstance(node, Join):
            self.need("join")
            values = tuple(self.value(value) for value in node.values)
            return call("Join", literal(node.on), Group("[", values, "]"))
        if isinstance(node, JsonGet):
            self.need("json_get")
            if node.property_file is not None:
                source = self._property_file(node.property_file)
            else:
                source = self.value(node.s3_uri)
            return call("JsonGet", source, literal(node.path))
        if isinstance(node, StepProperty | PropertyFileRef):
            self.read_step_result(node.step, format_get(node))
        elif isinstance(node, ExecutionVariable):
            self._report_variable(node.name)
        reference = format_get(node)
        self.need("get")
        self.need(READERS[reference.partition(".")[0]][0])
        return call("Get", literal(reference))

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

    def read_step_result(self, name: str, reference: str) -> None:
        """Record that a task reads step ``name``'s result, so STEP_RESULTS lists it."""
        step = self.workflow.step(name)
        kind = RESULT_TYPES.get(step.kind)
        if kind is None:
            kind = step.type_name
            self.diagnostics.unsupported(
                "airflow.step_property",
                f"reads {reference}, but the Airflow task of the {step.type_name} step "
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


def _task_ids(workflow: Workflow, diagnostics: Diagnostics) -> dict[str, str]:
    """Each step's task id: its name where Airflow accepts it, else a reported stand-in."""
    ids: dict[str, str] = {}
    taken = {step.name for step in workflow.steps if _TASK_ID.fullmatch(step.name)}
    for step in workflow.steps:
        if _TASK_ID.fullmatch(step.name):
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
