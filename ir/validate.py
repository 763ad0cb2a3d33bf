"""Consistency checks on a whole workflow.

The frontends check the *shape* of their input while they read it; this module checks what
only the whole workflow can tell: unique names, references to steps and parameters that
exist, branch membership, parameter defaults, and cycles. The first problem raises a
:class:`ValidationError` whose location names the step and the path inside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeglot.errors import ValidationError, shorten
from pipeglot.ir.expressions import (
    EXPRESSION_TYPES,
    ExecutionVariable,
    ExperimentConfigRef,
    Expression,
    Join,
    JsonGet,
    ParameterRef,
    PropertyFileRef,
    StepProperty,
    Value,
    condition_to_json,
    format_get,
)
from pipeglot.ir.graph import (
    Edge,
    EdgeOrigin,
    build_graph,
    edges,
    find_cycle,
    kahn_order,
    remember_edge_rows,
    step_expressions,
)
from pipeglot.ir.model import MISSING, Parameter, ParameterType, Step, StepKind, Workflow

# The deepest nesting of JSON lists and objects (expression and condition objects included) a
# definition may have. Frontends reject deeper input once, with its location; every writer is
# tested to handle this depth (tests/test_hardening.py), so none needs a limit of its own.
# Real definitions nest at most 16 levels; 128 leaves room for 40 nested Condition steps, and
# stays well inside what Python can compile (200 nested brackets) and recursion allows.
MAX_NESTING = 128

# Step keys without which a step has nothing to call (SageMaker's step-level required keys).
_REQUIRED_KEYS: dict[StepKind, tuple[str, str, str]] = {
    StepKind.LAMBDA: ("function_arn", "FunctionArn", "the ARN of the Lambda function to invoke"),
    StepKind.CALLBACK: ("sqs_queue_url", "SqsQueueUrl", "the URL of the SQS queue to notify"),
}

_DEFAULT_TYPES: dict[ParameterType, tuple[type, ...]] = {
    ParameterType.STRING: (str,),
    ParameterType.INTEGER: (int,),
    ParameterType.FLOAT: (int, float),
    ParameterType.BOOLEAN: (bool,),
}


def validate(workflow: Workflow) -> tuple[Edge, ...]:
    """Raise ValidationError for the first inconsistency; return the workflow's edges."""
    check_workflow(workflow)
    return edges(workflow)


def check_workflow(workflow: Workflow) -> None:
    """:func:`validate` without making the Edge objects: the edges found are remembered as
    rows (``remember_edge_rows``), from which the graph is built and edges() makes them if
    it is called. What frontends call: most writers read only the graph."""
    _check_parameters(workflow.parameter_list)
    _check_unique_steps(workflow)
    _check_branches(workflow)
    parameters = {parameter.name for parameter in workflow.parameter_list}
    _check_experiment_config(workflow, parameters)
    # The same as edges(workflow): writers need not walk the steps again.
    remember_edge_rows(workflow, _check_steps(workflow, parameters))


def _check_steps(
    workflow: Workflow, parameters: set[str]
) -> tuple[tuple[str, str, EdgeOrigin], ...]:
    """The checks of each step's references, and the edges, in one pass over the steps.

    The edges are those of :func:`step_edges` (DependsOn, then data, then branches), and the
    checks on them raise in the order of their own passes: self-dependencies, then cycles,
    then dependencies on a Fail step, each at the first edge (in edge order) that fails it.
    Reading every step's expression list once serves the reference checks and the data edges;
    the graph of the edges is counted as they are made, for the cycle check (Kahn's
    algorithm), with no pass over the edges afterwards. The edges are (source, target,
    origin) rows."""
    steps = workflow.steps
    by_name = workflow._by_name
    fails: set[str] = set()
    children: dict[str, list[str]] = {}
    fail = StepKind.FAIL
    for step in steps:  # one pass over the steps for both
        children[step.name] = []
        if step.kind is fail:
            fails.add(step.name)
    waiting = dict.fromkeys(children, 0)
    rows: list[tuple[str, str, EdgeOrigin]] = []
    add = rows.append
    self_edge: tuple[str, str, EdgeOrigin] | None = None  # the first edge from a step to itself
    fail_edge: tuple[str, str, EdgeOrigin] | None = None  # the first out of a Fail step
    depends_on, data = EdgeOrigin.DEPENDS_ON, EdgeOrigin.DATA
    for step in steps:
        name = step.name
        if step.kind is StepKind.LAMBDA or step.kind is StepKind.CALLBACK:  # _REQUIRED_KEYS
            _check_required_keys(step)
        expressions = step._expressions
        if expressions is None:
            expressions = step_expressions(step)
        sources = _checked_sources(workflow, step, expressions, parameters, by_name)
        runs: tuple[tuple[EdgeOrigin, dict[str, None]], ...] = (
            ((depends_on, dict.fromkeys(step.depends_on)), (data, sources))
            if step.depends_on
            else ((data, sources),)
        )
        for origin, names in runs:
            for source in names:
                edge = (source, name, origin)
                add(edge)
                children[source].append(name)
                waiting[name] += 1
                if source == name and self_edge is None:
                    self_edge = edge
                if source in fails and fail_edge is None:
                    fail_edge = edge
        if step.if_steps or step.else_steps:
            for origin, branch in (
                (EdgeOrigin.IF_BRANCH, step.if_steps),
                (EdgeOrigin.ELSE_BRANCH, step.else_steps),
            ):
                for child in branch:
                    edge = (name, child, origin)
                    add(edge)
                    children[name].append(child)
                    waiting[child] += 1
                    if child == name and self_edge is None:
                        self_edge = edge
    found = tuple(rows)
    if self_edge is not None:
        _, target, origin = self_edge
        raise ValidationError(
            f"step {shorten(target)} depends on itself ({_ORIGIN_WORDS[origin]}); "
            "remove that dependency",
            step=target,
        )
    if not _is_acyclic(children, waiting):
        remember_edge_rows(workflow, found)
        _report_cycle(workflow)
    if fail_edge is not None:
        source, target, origin = fail_edge
        raise ValidationError(
            f"step {shorten(target)} depends on the Fail step {shorten(source)} "
            f"({_ORIGIN_WORDS[origin]}), but a Fail step ends the execution, so this step "
            "could never run; remove that dependency",
            step=target,
            path="DependsOn" if origin is EdgeOrigin.DEPENDS_ON else "",
        )
    return found


def _check_parameters(parameters: tuple[Parameter, ...]) -> None:
    seen: set[str] = set()
    for index, parameter in enumerate(parameters):
        where = f"/Parameters/{index}"
        if parameter.name in seen:
            raise ValidationError(
                f"a second parameter is named {shorten(parameter.name)}; rename one of them",
                location=where,
            )
        seen.add(parameter.name)
        _check_default(parameter, where)


def _check_default(parameter: Parameter, where: str) -> None:
    default = parameter.default
    if default is MISSING:
        return
    allowed = _DEFAULT_TYPES[parameter.type]
    if (isinstance(default, bool) and bool not in allowed) or not isinstance(default, allowed):
        raise ValidationError(
            f"parameter {shorten(parameter.name)} is {parameter.type.value} but its DefaultValue "
            f"is {shorten(default)}; give a DefaultValue of that type or change the Type",
            location=f"{where}/DefaultValue",
        )
    if parameter.enum_values is not None and default not in parameter.enum_values:
        raise ValidationError(
            f"parameter {shorten(parameter.name)} defaults to {shorten(default)}, which is not "
            f"one of its EnumValues {shorten(list(parameter.enum_values))}; add it or change "
            "the default",
            location=f"{where}/DefaultValue",
        )


def _check_required_keys(step: Step) -> None:
    if step.kind not in _REQUIRED_KEYS:
        return
    attribute, key, what = _REQUIRED_KEYS[step.kind]
    if getattr(step, attribute) is MISSING:
        raise ValidationError(
            f'a {step.type_name} step needs "{key}" ({what}); add it', step=step.name
        )


def _check_experiment_config(workflow: Workflow, parameters: set[str]) -> None:
    """Its Gets are resolved when an execution starts: parameters and execution variables
    only, since no step has run yet."""
    config = workflow.experiment_config
    if config is None:
        return
    values = {"ExperimentName": config.experiment_name, "TrialName": config.trial_name}
    for key, value in {**values, **config.extra}.items():
        for path, node in _walk(f"PipelineExperimentConfig/{_escape(key)}", value):
            problem = _reference_problem(workflow, node, parameters)
            if problem is None and isinstance(node, StepProperty | PropertyFileRef):
                problem = (
                    f"{shorten(format_get(node))} reads a step, but the experiment config is "
                    "resolved before any step runs; use a parameter or an execution variable"
                )
            if problem:
                raise ValidationError(problem, location=f"/{path}")


def _check_unique_steps(workflow: Workflow) -> None:
    if len(workflow._by_name) == len(workflow.steps):
        return  # the map from names to steps lost none: every name is unique
    seen: set[str] = set()
    for step in workflow.steps:
        if step.name in seen:
            raise ValidationError(
                f"a second step is named {shorten(step.name)}; step names must be unique in the "
                "whole pipeline, Condition branches included",
                step=step.name,
            )
        seen.add(step.name)


def _check_branches(workflow: Workflow) -> None:
    owner: dict[str, str] = {}
    for step in workflow.steps:
        if not (step.if_steps or step.else_steps):
            continue  # most steps
        if step.kind is not StepKind.CONDITION:
            raise ValidationError("only Condition steps have branch steps", step=step.name)
        for child in (*step.if_steps, *step.else_steps):
            if not workflow.has_step(child):
                raise ValidationError(
                    f"branch step {shorten(child)} does not exist", step=step.name
                )
            if child in owner:
                raise ValidationError(
                    f"step {shorten(child)} is in a branch of {shorten(owner[child])} and of "
                    f"{shorten(step.name)}; a step can be in one Condition branch only",
                    step=step.name,
                )
            owner[child] = step.name


def _checked_sources(
    workflow: Workflow,
    step: Step,
    expressions: list[Expression],
    parameters: set[str],
    by_name: dict[str, Step],
) -> dict[str, None]:
    """Check the references of ``step``; return the steps it reads from (:func:`data_sources`),
    each once, in order of first reference."""
    for name in step.depends_on or ():  # step.explicit_dependencies
        if name not in by_name:
            raise ValidationError(
                f"DependsOn names {shorten(name)}, which is not a step of this pipeline; "
                "fix the name or remove it",
                step=step.name,
                path="DependsOn",
            )
    sources: dict[str, None] = {}
    files = read = 0
    nodes: list[Any] = expressions  # dispatched on type() below, which mypy does not narrow
    for node in nodes:
        # Dispatched on the exact type (no subclasses): the common nodes cost one lookup.
        kind = type(node)
        if kind is StepProperty:
            if node.step in by_name:
                sources[node.step] = None
                continue
        elif kind is ParameterRef:
            if node.name in parameters:
                continue
        elif kind in _NOTHING_TO_CHECK:
            continue
        elif kind is JsonGet:
            read += node.property_file is not None
            continue
        elif kind is PropertyFileRef:
            files += 1
        elif isinstance(node, StepProperty | PropertyFileRef):  # a subclass: the general path
            pass
        else:
            continue
        problem = _reference_problem(workflow, node, parameters)
        if problem:  # only a failing step pays for locating the path
            path = next(p for p, n in iter_located_expressions(step) if n == node)
            raise ValidationError(problem, step=step.name, path=path)
        if isinstance(node, StepProperty | PropertyFileRef):
            sources[node.step] = None
    if files != read:
        _report_property_file_use(step)
    return sources


# Nodes whose references validation does not check (their children are in the list too).
_NOTHING_TO_CHECK = frozenset({ExecutionVariable, ExperimentConfigRef, Join})


def _report_property_file_use(step: Step) -> None:
    """A property file is read only through Std:JsonGet; on its own it has no value."""
    path, node = next(
        (p, n)
        for p, n in iter_located_expressions(step)
        if type(n) is PropertyFileRef and not p.endswith("/Std:JsonGet/PropertyFile")
    )
    raise ValidationError(
        f"{shorten(format_get(node))} names a property file, which has a value only inside "
        '"Std:JsonGet"; write {"Std:JsonGet": {"PropertyFile": ..., "Path": "..."}}',
        step=step.name,
        path=path,
    )


def _reference_problem(workflow: Workflow, node: object, parameters: set[str]) -> str | None:
    if isinstance(node, ParameterRef) and node.name not in parameters:
        return (
            f"{shorten(format_get(node))} refers to a parameter that is not declared; "
            f"add {shorten(node.name)} to Parameters or fix the name"
        )
    if isinstance(node, StepProperty | PropertyFileRef) and not workflow.has_step(node.step):
        return (
            f"{shorten(format_get(node))} refers to step {shorten(node.step)}, which is not in "
            "this pipeline; fix the step name"
        )
    if isinstance(node, PropertyFileRef):
        declared = workflow.step(node.step).property_files or ()
        if all(file.name != node.name for file in declared):
            names = ", ".join(repr(file.name) for file in declared) or "none"
            return (
                f"{shorten(format_get(node))} refers to a property file that step "
                f"{shorten(node.step)} does not declare (it declares {names}); add it to that "
                "step's PropertyFiles"
            )
    return None


def _report_cycle(workflow: Workflow) -> None:
    graph = build_graph(workflow)  # of the remembered edges: the same graph writers read
    cycle = find_cycle(graph) or []
    hops = [
        f"{a!r} -> {b!r} ({_ORIGIN_WORDS[graph.edges[a, b]['origins'][0]]})"
        for a, b in zip(cycle, [*cycle[1:], cycle[0]], strict=True)
    ]
    raise ValidationError(
        "the steps form a cycle: " + ", ".join(hops) + "; remove one of these dependencies",
        step=cycle[0],
    )


def _is_acyclic(children: dict[str, list[str]], waiting: dict[str, int]) -> bool:
    """Kahn's algorithm: every step can be ordered when there is no cycle. ``children`` maps
    each step to the targets of its edges, ``waiting`` counts the edges into each step (and
    is used up).

    No graph is built here (a third of the time of building networkx's and asking it);
    writers that need one build it once, later."""
    return len(kahn_order(children, waiting)) == len(waiting)


_ORIGIN_WORDS = {
    EdgeOrigin.DEPENDS_ON: "DependsOn",
    EdgeOrigin.DATA: "data reference",
    EdgeOrigin.IF_BRANCH: "IfSteps",
    EdgeOrigin.ELSE_BRANCH: "ElseSteps",
}


# --- Locating expressions inside a step -----------------------------------------------------


def iter_located_expressions(step: Step) -> Iterator[tuple[str, object]]:
    """Every expression node of ``step`` with its JSON path relative to the step object."""
    fields: list[tuple[str, Value]] = [
        ("Arguments", step.arguments),
        ("FunctionArn", step.function_arn),
        ("SqsQueueUrl", step.sqs_queue_url),
        ("DisplayName", step.display_name),
        ("Description", step.description),
        *step.check.items(),
        *step.extra.items(),
    ]
    for index, condition in enumerate(step.conditions):
        fields.append((f"Arguments/Conditions/{index}", condition_to_json(condition)))
    for path, value in fields:
        yield from _walk(path, value)


def _walk(path: str, value: Value) -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(f"{path}/{_escape(key)}", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(f"{path}/{index}", item)
    elif isinstance(value, Join):
        yield path, value
        yield from _walk(f"{path}/Std:Join/Values", value.values)
    elif isinstance(value, JsonGet):
        yield path, value
        inner = value.property_file if value.property_file is not None else value.s3_uri
        key = "PropertyFile" if value.property_file is not None else "S3Uri"
        yield from _walk(f"{path}/Std:JsonGet/{key}", inner)
    elif isinstance(value, EXPRESSION_TYPES):
        yield path, value


def _escape(key: str) -> str:
    """JSON pointer escaping (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")
