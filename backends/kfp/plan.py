"""Planning a translation: one task per step, and one reusable component per kind used.

The plan is everything the writers need and nothing they print: each step's component, the
request its task passes, the parameters, upstream steps and execution values it reads, where
it sits in the ``dsl.If``/``dsl.Else`` blocks, and, for each component, the inputs its tasks
need (the union over them). Differences found while planning go to the ledger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from pipeglot.backends._python import Identifiers
from pipeglot.backends._python.sharing import Family, request_families
from pipeglot.backends.kfp import notes
from pipeglot.backends.kfp.kinds import Component, component_of, runtime_sources
from pipeglot.backends.kfp.layout import Layout, layout
from pipeglot.backends.kfp.values import Reads, RequestWriter
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.graph import EdgeOrigin, build_graph, reduced_edges, topological_order
from pipeglot.ir.model import MISSING, Step, StepKind, Workflow
from pipeglot.ir.regions import condition_regions
from pipeglot.ir.sagemaker import KINDS

# Kinds whose request is the step's Arguments as they are: their families share a builder.
BUILDER_KINDS = frozenset(kind for kind, facts in KINDS.items() if facts.api is not None)

# Execution variables KFP supplies as whole-value placeholders: name -> (input, placeholder).
EXECUTION_INPUTS = {
    "PipelineExecutionId": ("execution_id", "dsl.PIPELINE_JOB_ID_PLACEHOLDER"),
    "StartDateTime": ("start_time", "dsl.PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER"),
    "PipelineExecutionArn": ("execution_arn", "dsl.PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER"),
}
# Inputs every component may have; no pipeline parameter takes these names.
COMPONENT_INPUTS = ("step", "request", "check", "guard", "guard_branch")
# Names the generated module defines or imports.
MODULE_NAMES = (
    "json",
    "sys",
    "dsl",
    "compiler",
    "pipeline",
    "NamedTuple",
    "Get",
    "Join",
    "JsonGet",
    "output",  # the __main__ block's
)
_BRANCH_ORIGINS = {EdgeOrigin.IF_BRANCH, EdgeOrigin.ELSE_BRANCH}


@dataclass(slots=True)
class Task:
    """One step's task."""

    step: Step
    component: Component
    request: Any  # the JSON value its task passes as request (None: its builder's, or none)
    reads: Reads
    check: Any = None  # a check step's own keys (JSON), passed as ``check``
    variable: str = ""
    guard: tuple[str, bool] | None = None  # checked in the component (deep nesting only)
    after: tuple[str, ...] = ()


@dataclass(slots=True)
class Use:
    """One component as this workflow uses it: what its tasks need, united."""

    component: Component
    kinds: dict[StepKind, None] = field(default_factory=dict)
    parameters: dict[str, None] = field(default_factory=dict)
    slots: int = 0  # upstream inputs: the most steps one of its tasks reads from
    execution: dict[str, None] = field(default_factory=dict)
    features: set[str] = field(default_factory=set)
    guarded: bool = False
    check: bool = False


@dataclass(slots=True)
class Plan:
    workflow: Workflow
    base_image: str
    pipeline_name: str
    parameters: dict[str, str]  # parameter name -> pipeline input identifier
    tasks: dict[str, Task]  # in topological order
    uses: dict[str, Use]  # component name -> its use, in order of first use
    placed: Layout
    read_steps: set[str]  # steps whose result a later step reads
    # step -> the request builder of its family (steps whose requests share most values)
    families: dict[str, Family] = field(default_factory=dict)


def plan(workflow: Workflow, diagnostics: Diagnostics, base_image: str) -> Plan:
    graph = build_graph(workflow)
    order = topological_order(workflow, graph)
    regions = condition_regions(workflow, graph)
    placed = layout(graph, order, regions)
    parameters = _parameter_names(workflow)
    components = dict.fromkeys(component_of(step.kind).name for step in workflow.steps)
    names = Identifiers((*MODULE_NAMES, *parameters.values(), *components, *runtime_sources()))
    families = request_families(workflow, BUILDER_KINDS, names)
    writer = RequestWriter(workflow)
    tasks = {
        name: _task(workflow.step(name), writer, diagnostics, name in families) for name in order
    }
    # The edges an author draws: the transitive reduction (a DependsOn that another path
    # already orders needs no .after()).
    drawn = {(edge.source, edge.target) for edge in reduced_edges(workflow, graph)}
    read_steps: set[str] = set()
    for name, task in tasks.items():
        task.variable = names[name]
        task.guard = placed.checked_guards.get(name)
        task.after = _after(graph, task, drawn)
        read_steps.update(task.reads.steps)
    notes.note_workflow(workflow, parameters, tasks.values(), diagnostics)
    notes.note_conflicts(regions, diagnostics)
    notes.note_flattened(placed, diagnostics)
    return Plan(
        workflow,
        base_image,
        _kfp_pipeline_name(workflow.name),
        parameters,
        tasks,
        _uses(tasks),
        placed,
        read_steps,
        families,
    )


def _task(step: Step, writer: RequestWriter, diagnostics: Diagnostics, built: bool) -> Task:
    """``built``: a builder writes the step's request (from its family's parts), so only what
    it reads is noted here, and ``request`` stays None."""
    component = component_of(step.kind)
    reads = writer.start()
    check = None
    if step.kind is StepKind.UNKNOWN:
        notes.note_unsupported(step, diagnostics)
        writer(step.arguments)
        request = None
    elif step.kind is StepKind.CONDITION:
        request = writer(list(step.conditions))
    elif step.kind is StepKind.LAMBDA:
        request = {"FunctionArn": writer(step.function_arn), "Arguments": _arguments(step, writer)}
    elif step.kind is StepKind.CALLBACK:
        request = {
            "SqsQueueUrl": writer(step.sqs_queue_url),
            "Arguments": _arguments(step, writer),
            "OutputParameters": [
                {"OutputName": output.name, "OutputType": _output_type(output.type)}
                for output in step.output_parameters or ()
            ],
        }
        # The message names the run: its id stands in for the execution ARN (kfp's local
        # runner has no run resource name to give).
        reads.execution["PipelineExecutionId"] = None
    else:
        if built:
            writer.read(step.arguments)
            request = None
        else:
            request = _arguments(step, writer)
        if step.kind in (StepKind.QUALITY_CHECK, StepKind.CLARIFY_CHECK):
            check = writer(dict(step.check))
    for missing in reads.missing_files:
        notes.note_missing_property_file(missing, step.name, diagnostics)
    if step.kind is not StepKind.UNKNOWN:
        notes.note_step(step, diagnostics)
    return Task(step, component, request, reads, check)


def _arguments(step: Step, writer: RequestWriter) -> Any:
    """A step's Arguments as JSON, ``{}`` when it has none."""
    return {} if step.arguments is MISSING or step.arguments is None else writer(step.arguments)


def _output_type(declared: object) -> str:
    return declared if isinstance(declared, str) else "String"


def _parameter_names(workflow: Workflow) -> dict[str, str]:
    """Pipeline input identifiers: the parameter's own name when it is one."""
    # Nor any input a component has besides them: upstream_N slots and execution values.
    slots = (f"upstream_{number}" for number in range(1, len(workflow.steps) + 1))
    executions = (ident for ident, _ in EXECUTION_INPUTS.values())
    taken = (*MODULE_NAMES, *COMPONENT_INPUTS, *slots, *executions)
    names = Identifiers(taken, keep_case=True)
    return {p.name: names[p.name] for p in workflow.parameter_list}


def _uses(tasks: dict[str, Task]) -> dict[str, Use]:
    uses: dict[str, Use] = {}
    for task in tasks.values():
        use = uses.setdefault(task.component.name, Use(task.component))
        use.kinds[task.step.kind] = None
        use.parameters.update(task.reads.parameters)
        use.slots = max(use.slots, len(task.reads.steps))
        use.execution.update(task.reads.execution)
        use.features |= task.reads.features
        use.guarded |= task.guard is not None
        use.check |= task.check is not None
    return uses


def _after(graph: nx.DiGraph, task: Task, drawn: set[tuple[str, str]]) -> tuple[str, ...]:
    """Steps this one waits for without reading from them (DependsOn), where no other path
    of ``drawn`` edges orders them already. Data references are wired by the inputs, and
    branch edges by the enclosing dsl.If."""
    wired, name = task.reads.steps, task.step.name
    return tuple(
        upstream
        for upstream, data in graph._pred[name].items()  # networkx's own dict: no view
        if upstream not in wired
        and (upstream, name) in drawn
        and not set(data["origins"]) <= _BRANCH_ORIGINS
    )


def _kfp_pipeline_name(name: str | None) -> str:
    """KFP pipeline names match ``[a-z0-9][a-z0-9-]{0,127}``."""
    text = re.sub(r"[^a-z0-9]+", "-", (name or "pipeline").lower()).strip("-")
    return (text or "pipeline")[:128].rstrip("-")
