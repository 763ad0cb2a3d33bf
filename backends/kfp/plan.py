"""Planning a translation: one task per step, with its names, inputs and read properties.

The plan is everything the writers need and nothing they print: which kind each step is,
what its component evaluates and receives, which of its properties later steps read, the
Python names of parameters, components and tasks, and where each task sits in the
``dsl.If``/``dsl.Else`` blocks. Differences found while planning go to the ledger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import networkx as nx

from pipeglot.backends.kfp import helpers, notes
from pipeglot.backends.kfp.kinds import HANDLED, UNSUPPORTED, Kind, runtime_list, runtime_sources
from pipeglot.backends.kfp.layout import Layout, layout
from pipeglot.backends.kfp.source import Namer
from pipeglot.backends.kfp.values import (
    Expander,
    References,
    condition_operands,
    or_empty,
    output_key,
    property_key,
    references,
    to_json,
)
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.expressions import PropertyFileRef, StepProperty, Value, iter_expressions
from pipeglot.ir.graph import build_graph, topological_order
from pipeglot.ir.model import Step, StepKind, Workflow

# Names the generated module defines or imports; no parameter, component or task takes them.
MODULE_NAMES = (
    "json",
    "sys",
    "dsl",
    "compiler",
    "pipeline",
    "PIPELINE_NAME",
    "BASE_IMAGE",
    "PACKAGES",
    "REQUESTS",
)


@dataclass(slots=True)
class Task:
    """One step's component and task, as the writers need them."""

    step: Step
    kind: Kind | None  # None: an unsupported placeholder
    values: list[Value]  # the (expanded) values the component evaluates
    request: Value  # what REQUESTS holds for it
    references: References = field(default_factory=References)
    functions: tuple[str, ...] = ()  # the runtime functions the component carries
    runtime_list: str = ""  # the name of their list in the generated file
    component: str = ""
    variable: str = ""


@dataclass(slots=True)
class Plan:
    workflow: Workflow
    base_image: str
    graph: nx.DiGraph
    order: list[str]
    expand: Expander
    pipeline_name: str
    parameters: dict[str, str]  # parameter name -> pipeline input identifier
    tasks: dict[str, Task]  # in topological order
    outputs: dict[str, dict[str, None]]  # step -> the properties later steps read
    placed: Layout

    def property_file(self, producer: str, name: str) -> tuple[str, str] | None:
        """(output name, file path) of the property file ``name`` that ``producer`` declares."""
        for file in self.workflow.step(producer).property_files or ():
            if file.name == name:
                return file.output_name, file.file_path
        return None


def plan(workflow: Workflow, diagnostics: Diagnostics, base_image: str) -> Plan:
    graph = build_graph(workflow)
    order = topological_order(workflow, graph)
    # Parameters are named first, then components, then tasks: a clash gets the suffix.
    namer = Namer(MODULE_NAMES + helpers.all_list_names() + tuple(runtime_sources()))
    parameters = {
        p.name: namer.name(("parameter", p.name), p.name) for p in workflow.parameter_list
    }
    expand = Expander(workflow)
    notes.note_workflow(workflow, parameters, expand, diagnostics)
    tasks = {name: _task(workflow.step(name), expand, diagnostics) for name in order}
    result = Plan(
        workflow,
        base_image,
        graph,
        order,
        expand,
        _kfp_pipeline_name(workflow.name),
        parameters,
        tasks,
        {name: {} for name in order},
        layout(workflow, graph, order),
    )
    for task in tasks.values():
        _collect_outputs(result, task, diagnostics)
    for task in tasks.values():
        _choose_functions(result, task)
    for name in order:
        tasks[name].component = namer.name(("component", name), name)
    for name in order:
        tasks[name].variable = namer.name(("task", name), f"{tasks[name].component}_task")
    notes.note_conflicts(result.placed, diagnostics)
    return result


def _task(step: Step, expand: Expander, diagnostics: Diagnostics) -> Task:
    kind = HANDLED.get(step.kind)
    if kind is None:
        notes.note_unsupported(step, UNSUPPORTED[step.kind], diagnostics)
        values = [step.arguments, *step.extra.values()]
        return Task(step, None, [expand(v) for v in values], None)
    if step.kind is StepKind.CONDITION:
        conditions = [expand(condition) for condition in step.conditions]
        task = Task(step, kind, condition_operands(conditions), to_json(conditions))
    elif step.kind is StepKind.LAMBDA:
        arguments = expand(or_empty(step.arguments))
        task = Task(step, kind, [arguments, expand(step.function_arn)], to_json(arguments))
    else:
        arguments = expand(or_empty(step.arguments))
        check = expand(dict(step.check))
        task = Task(step, kind, [arguments, check], to_json(arguments))
    notes.note_step(step, diagnostics)
    return task


def _collect_outputs(result: Plan, task: Task, diagnostics: Diagnostics) -> None:
    """Record, on each producer, the properties ``task`` reads from it."""
    task.references = references(task.values)
    for value in task.values:
        for node in iter_expressions(value):
            if isinstance(node, StepProperty) and node.step in result.outputs:
                result.outputs[node.step][property_key(node.path)] = None
            elif isinstance(node, PropertyFileRef) and node.step in result.outputs:
                found = result.property_file(node.step, node.name)
                if found is None:
                    notes.note_missing_property_file(node, task.step.name, diagnostics)
                else:
                    result.outputs[node.step][output_key(found[0])] = None


def _choose_functions(result: Plan, task: Task) -> None:
    """The runtime functions ``task`` can call, given its values and the properties it returns
    (see helpers.py); the conditions mirror those in runtime.run_sagemaker_step."""
    step = task.step
    entry = task.kind.runtime if task.kind else "unsupported_step"
    features = helpers.expression_features(task.values) if task.kind else set()
    if step.kind in (StepKind.QUALITY_CHECK, StepKind.CLARIFY_CHECK):
        features.add("check")
    read = result.outputs[step.name]
    if step.kind is StepKind.TUNING and any(p.startswith("TrainingJobSummaries") for p in read):
        features.add("tuning")
    task.functions = helpers.carried(entry, frozenset(features))
    task.runtime_list = helpers.list_name(runtime_list(task.kind), entry, frozenset(features))


def _kfp_pipeline_name(name: str | None) -> str:
    """KFP pipeline names match ``[a-z0-9][a-z0-9-]{0,127}``."""
    text = re.sub(r"[^a-z0-9]+", "-", (name or "pipeline").lower()).strip("-")
    return (text or "pipeline")[:128].rstrip("-")
