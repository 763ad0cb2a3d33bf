"""Each target's own structure, read from the generated artifact: what ``compare`` draws and counts.

The shapes come from the output text, not from the backends' internals, so they show what a
user deploys: ASL states (Parallel and Map states as boxes around their branches), the tasks
and ``>>`` edges of an Airflow DAG file (read with ``ast``, without importing Airflow), and the
tasks, sub-DAGs and trigger conditions of a compiled KFP pipeline spec.

By the naming contract a pipeline step ``X`` is the state ``X``, ``task_id="X"`` or the KFP
task shown as ``X``; everything else is a helper the target added. Figures use unit
durations: each pipeline step costs 1, helpers cost nothing.
"""

from __future__ import annotations

import ast
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from pipeglot.graph import Cluster, Drawing, Line, Node, workflow_drawing
from pipeglot.ir.graph import build_graph
from pipeglot.ir.model import Workflow

_ASL_SERVICE_PREFIX = "arn:aws:states:::"


@dataclass(frozen=True, slots=True)
class Shape:
    """A target's structure. ``runs`` says, per pipeline step, what executes it there."""

    drawing: Drawing
    unit: str  # what the target calls its nodes: "states", "tasks"
    critical_path: int  # longest chain of pipeline steps, helpers costing nothing
    runs: dict[str, str] = field(default_factory=dict)
    history_events: int | None = None  # Step Functions only: an estimate, see asl_shape

    @property
    def total(self) -> int:
        return len(self.drawing.nodes)

    @property
    def helpers(self) -> int:
        return sum(1 for node in self.drawing.nodes if node.step is None)


def longest_chain(graph: nx.DiGraph, weight: dict[str, int]) -> int:
    """The heaviest path's total node weight; a cycle (a polling loop) counts once."""
    condensed = nx.condensation(graph)
    cost = {
        component: sum(weight.get(member, 0) for member in data["members"])
        for component, data in condensed.nodes(data=True)
    }
    best: dict[int, int] = {}
    for component in nx.topological_sort(condensed):
        before = max((best[p] for p in condensed.predecessors(component)), default=0)
        best[component] = before + cost[component]
    return max(best.values(), default=0)


def workflow_shape(workflow: Workflow) -> Shape:
    """The pipeline's own DAG as a shape: every node a step."""
    graph = build_graph(workflow)
    critical = longest_chain(graph, dict.fromkeys(graph.nodes, 1))
    runs = {step.name: f"SageMaker ({step.type_name} step)" for step in workflow.steps}
    return Shape(workflow_drawing(workflow), "steps", critical, runs)


# --- Step Functions -------------------------------------------------------------------------

# History events one state adds when it runs once without retries: StateEntered and
# StateExited, plus Task{Scheduled,Started,Submitted,Succeeded} for a Task, and
# {Parallel,Map}State{Started,Succeeded} for Parallel and Map. Execution start and end add 2.
_EVENTS_PER_STATE = {"Task": 6, "Parallel": 4, "Map": 4}
_EVENTS_OTHER_STATE = 2
_EVENTS_EXECUTION = 2


@dataclass
class _AslWalk:
    steps: frozenset[str]
    status: dict[str, str]
    nodes: list[Node] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)
    events: int = _EVENTS_EXECUTION


def asl_shape(definition: dict[str, Any], steps: frozenset[str], status: dict[str, str]) -> Shape:
    """The state machine's shape.

    ``history_events`` estimates one execution's history when every state runs once (each
    Choice outcome included, no retries, no polling rounds): compare it with the 25,000-event
    quota, knowing that retries and polling loops add to it.
    """
    walk = _AslWalk(steps, status)
    _asl_scope(walk, definition, scope="", cluster=None)
    critical = _asl_cost(definition, steps)
    drawing = Drawing("state machine", tuple(walk.nodes), tuple(walk.lines), tuple(walk.clusters))
    return Shape(drawing, "states", critical, walk.runs, walk.events)


def _asl_scope(walk: _AslWalk, machine: dict[str, Any], scope: str, cluster: str | None) -> None:
    states: dict[str, Any] = machine.get("States", {})
    for name, state in states.items():
        _asl_state(walk, name, state, scope, cluster)
    for name, state in states.items():
        for target, kind in _asl_transitions(state):
            walk.lines.append(Line(_exit_id(scope, name, state), scope + target, kind))


def _asl_state(
    walk: _AslWalk, name: str, state: dict[str, Any], scope: str, cluster: str | None
) -> None:
    kind = state.get("Type", "?")
    step = name if name in walk.steps else None
    walk.events += _EVENTS_PER_STATE.get(kind, _EVENTS_OTHER_STATE)
    if step is not None:
        walk.runs[step] = _asl_runs(state)
    node_id = scope + name
    branches = _asl_branches(state)
    box = f"{node_id}/box"
    walk.nodes.append(
        Node(
            id=node_id,
            label=f"{name}\n{kind}",
            step=step,
            shape=_ASL_SHAPES.get(kind, "box"),
            cluster=box if branches else cluster,
            status=walk.status.get(name, "exact"),
            tooltip=f"{name} ({kind})" + (f": {state['Comment']}" if "Comment" in state else ""),
        )
    )
    if not branches:
        return
    walk.clusters.append(Cluster(box, f"{name} ({kind})", cluster))
    join = f"{node_id}/join"
    walk.nodes.append(Node(id=join, label="join", shape="circle", cluster=box, tooltip=name))
    for index, branch in enumerate(branches):
        inner_scope = f"{node_id}/{index}/"
        inner_cluster = f"{box}/{index}"
        walk.clusters.append(Cluster(inner_cluster, f"branch {index + 1}", box))
        _asl_scope(walk, branch, inner_scope, inner_cluster)
        walk.lines.append(Line(node_id, inner_scope + branch["StartAt"], "helper"))
        for end in _asl_ends(branch):
            walk.lines.append(Line(inner_scope + end, join, "helper"))


_ASL_SHAPES = {"Choice": "diamond", "Fail": "octagon", "Succeed": "oval", "Pass": "box"}


def _exit_id(scope: str, name: str, state: dict[str, Any]) -> str:
    """Where arrows out of a state start: the join of a Parallel or Map, else the state."""
    return f"{scope}{name}/join" if _asl_branches(state) else scope + name


def _asl_branches(state: dict[str, Any]) -> list[dict[str, Any]]:
    if state.get("Type") == "Parallel":
        return list(state.get("Branches", []))
    if state.get("Type") == "Map":
        inner = state.get("ItemProcessor") or state.get("Iterator")
        return [inner] if inner else []
    return []


def _asl_transitions(state: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for choice in state.get("Choices", []):
        if "Next" in choice:
            yield choice["Next"], "if"
    if "Default" in state:
        yield state["Default"], "else"
    if "Next" in state:
        yield state["Next"], "data"
    for catcher in state.get("Catch", []):
        if "Next" in catcher:
            yield catcher["Next"], "catch"


def _asl_ends(machine: dict[str, Any]) -> list[str]:
    """States that end a branch normally (End, Succeed); Fail ends the whole execution."""
    return [
        name
        for name, state in machine.get("States", {}).items()
        if state.get("End") is True or state.get("Type") == "Succeed"
    ]


def _asl_runs(state: dict[str, Any]) -> str:
    resource = state.get("Resource")
    if not isinstance(resource, str):
        return f"{state.get('Type', '?')} state (no service call)"
    if resource.startswith(_ASL_SERVICE_PREFIX):
        return resource.removeprefix(_ASL_SERVICE_PREFIX)
    return resource


def _asl_cost(machine: dict[str, Any], steps: frozenset[str]) -> int:
    """Unit-duration makespan of a state machine: steps in sequence add up, a Parallel state
    lasts as long as its slowest branch, a Map as long as one iteration."""
    graph = nx.DiGraph()
    weight: dict[str, int] = {}
    states: dict[str, Any] = machine.get("States", {})
    for name, state in states.items():
        graph.add_node(name)
        branches = _asl_branches(state)
        own = 1 if name in steps else 0
        weight[name] = own + max((_asl_cost(b, steps) for b in branches), default=0)
        for target, _ in _asl_transitions(state):
            if target in states:
                graph.add_edge(name, target)
    return longest_chain(graph, weight)


# --- Airflow --------------------------------------------------------------------------------


def airflow_shape(source: str, steps: frozenset[str], status: dict[str, str]) -> Shape:
    """The DAG file's tasks and dependencies, read statically with ``ast``."""
    module = ast.parse(source)
    tasks = dict(_airflow_tasks(module))  # variable -> (task_id, operator)
    pairs = list(dict.fromkeys(_airflow_edges(module, tasks)))
    nodes = []
    runs = {}
    for task_id, operator in tasks.values():
        step = task_id if task_id in steps else None
        if step is not None:
            runs[step] = operator
        nodes.append(
            Node(
                id=task_id,
                label=f"{task_id}\n{operator}",
                step=step,
                status=status.get(task_id, "exact"),
                tooltip=f"{task_id} ({operator})",
            )
        )
    ids = {variable: task_id for variable, (task_id, _) in tasks.items()}
    lines = tuple(Line(ids[a], ids[b], "data" if ids[b] in steps else "helper") for a, b in pairs)
    graph = nx.DiGraph([(line.source, line.target) for line in lines])
    graph.add_nodes_from(ids.values())
    critical = longest_chain(graph, {task: 1 for task in ids.values() if task in steps})
    return Shape(Drawing("DAG", tuple(nodes), lines), "tasks", critical, runs)


def _airflow_tasks(module: ast.Module) -> Iterator[tuple[str, tuple[str, str]]]:
    """``variable = Operator(task_id="...", ...)`` anywhere in the file."""
    for node in ast.walk(module):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            continue
        task_id = _keyword_string(node.value, "task_id")
        if task_id is not None:
            yield node.targets[0].id, (task_id, _callee_name(node.value.func))


def _keyword_string(call: ast.Call, name: str) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            value = keyword.value.value
            return value if isinstance(value, str) else None
    return None


def _callee_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else "?"


def _airflow_edges(module: ast.Module, tasks: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Dependencies written as ``a >> b``, ``a << b``, ``[a, b] >> c``, ``chain(a, b, ...)``,
    ``a.set_downstream(b)`` or ``a.set_upstream(b)``."""
    for node in ast.walk(module):
        if isinstance(node, ast.Expr):
            yield from _edges_of(node.value, tasks)


def _edges_of(expression: ast.expr, tasks: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.RShift | ast.LShift):
        yield from _edges_of(expression.left, tasks)
        left, right = _operand(expression.left, tasks), _operand(expression.right, tasks)
        if isinstance(expression.op, ast.LShift):
            left, right = right, left
        yield from ((a, b) for a in left for b in right)
    elif isinstance(expression, ast.Call):
        name = _callee_name(expression.func)
        if name == "chain":
            groups = [_group(arg, tasks) for arg in expression.args]
            for before, after in itertools.pairwise(groups):
                yield from ((a, b) for a in before for b in after)
        elif name in ("set_downstream", "set_upstream") and isinstance(
            expression.func, ast.Attribute
        ):
            own = _group(expression.func.value, tasks)
            other = [t for arg in expression.args for t in _group(arg, tasks)]
            if name == "set_upstream":
                own, other = other, own
            yield from ((a, b) for a in own for b in other)


def _operand(expression: ast.expr, tasks: dict[str, Any]) -> list[str]:
    """The tasks at the end of a ``>>`` operand (the right end of ``a >> b`` is ``b``)."""
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.RShift | ast.LShift):
        return _operand(expression.right, tasks)
    return _group(expression, tasks)


def _group(expression: ast.expr, tasks: dict[str, Any]) -> list[str]:
    if isinstance(expression, ast.Name) and expression.id in tasks:
        return [expression.id]
    if isinstance(expression, ast.List | ast.Tuple):
        return [name for item in expression.elts for name in _group(item, tasks)]
    return []


# --- Kubeflow Pipelines ---------------------------------------------------------------------


def kfp_shape(spec_text: str, steps: frozenset[str], status: dict[str, str]) -> Shape:
    """The compiled pipeline spec's tasks; sub-DAGs (condition groups) are boxes, each entered
    through a diamond that shows its trigger condition."""
    import yaml  # kfp depends on PyYAML: present wherever a kfp-yaml spec could be written

    spec = yaml.load(spec_text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    walk = _KfpWalk(spec, steps, status)
    walk.dag(spec["root"]["dag"], scope="", cluster=None)
    graph = nx.DiGraph([(line.source, line.target) for line in walk.lines])
    graph.add_nodes_from(node.id for node in walk.nodes)
    weight = {node.id: 1 for node in walk.nodes if node.step is not None}
    critical = longest_chain(graph, weight)
    drawing = Drawing("pipeline", tuple(walk.nodes), tuple(walk.lines), tuple(walk.clusters))
    return Shape(drawing, "tasks", critical, walk.runs)


@dataclass
class _KfpWalk:
    spec: dict[str, Any]
    steps: frozenset[str]
    status: dict[str, str]
    nodes: list[Node] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)

    def dag(self, dag: dict[str, Any], scope: str, cluster: str | None) -> None:
        tasks: dict[str, Any] = dag.get("tasks", {})
        for key, task in tasks.items():
            self.task(scope + key, task, cluster)
        for key, task in tasks.items():
            for before in task.get("dependentTasks", []):
                self.lines.append(Line(scope + before, scope + key, "data"))

    def task(self, node_id: str, task: dict[str, Any], cluster: str | None) -> None:
        name = task.get("taskInfo", {}).get("name", node_id)
        component = self.spec["components"].get(task["componentRef"]["name"], {})
        condition = task.get("triggerPolicy", {}).get("condition")
        if "dag" not in component:
            step = name if name in self.steps else None
            if step is not None:
                self.runs[step] = self.image(component)
            self.nodes.append(
                Node(
                    id=node_id,
                    label=name,
                    step=step,
                    cluster=cluster,
                    status=self.status.get(name, "exact"),
                    tooltip=f"{name} ({task['componentRef']['name']})",
                )
            )
            return
        box = f"{node_id}/box"
        self.clusters.append(Cluster(box, name, cluster))
        self.nodes.append(
            Node(
                id=node_id,
                label=name if condition is None else "if",
                shape="diamond" if condition else "box",
                cluster=box,
                tooltip=condition or name,
            )
        )
        inner = component["dag"]
        self.dag(inner, f"{node_id}/", box)
        for key, child in inner.get("tasks", {}).items():
            if not child.get("dependentTasks"):
                self.lines.append(Line(node_id, f"{node_id}/{key}", "helper"))

    def image(self, component: dict[str, Any]) -> str:
        executor = self.spec.get("deploymentSpec", {}).get("executors", {})
        container = executor.get(component.get("executorLabel", ""), {}).get("container", {})
        return f"pod: {container.get('image', '?')}"


def asl_definition(text: str) -> dict[str, Any] | None:
    """The state machine in ASL JSON text, or in a CloudFormation template that holds one."""
    document = json.loads(text)
    if "States" in document:
        return document
    for resource in document.get("Resources", {}).values():
        if resource.get("Type") == "AWS::StepFunctions::StateMachine":
            definition = resource.get("Properties", {}).get("Definition")
            if isinstance(definition, dict):
                return definition
    return None
