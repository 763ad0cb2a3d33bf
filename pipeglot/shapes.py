"""Each target's own structure, read from the generated artifact: what ``compare`` draws and counts.

The shapes come from the output text, not from the backends' internals, so they show what a
user deploys: the tasks and ``>>`` edges of an Airflow DAG file (read with ``ast``, without
importing Airflow), the tasks, sub-DAGs and trigger conditions of a compiled KFP pipeline
spec, and (in ``shapes_asl``) the states of one or more Step Functions state machines.

By the naming contract a pipeline step ``X`` is the state ``X``, ``task_id="X"`` or the KFP
task shown as ``X``; everything else is a helper the target added. Figures use unit
durations: each pipeline step costs 1, helpers cost nothing.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from pipeglot.graph import Cluster, Drawing, Line, Node, workflow_drawing
from pipeglot.ir.graph import build_graph
from pipeglot.ir.model import Workflow


@dataclass(frozen=True, slots=True)
class Shape:
    """A target's structure. ``runs`` says, per pipeline step, what executes it there."""

    drawing: Drawing
    unit: str  # what the target calls its nodes: "states", "tasks"
    critical_path: int  # longest chain of pipeline steps, helpers costing nothing
    runs: dict[str, str] = field(default_factory=dict)
    # Step Functions only (see shapes_asl): the largest execution history of one state
    # machine, estimated, and the largest definition (compact JSON bytes) with its name.
    history_events: int | None = None
    largest_definition: tuple[str, int] | None = None
    note: str = ""

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
            reference = task["componentRef"]["name"]
            if step is not None:
                self.runs[step] = self.runner(reference, component)
            self.nodes.append(
                Node(
                    id=node_id,
                    label=f"{name}\n{reference.removeprefix('comp-')}",
                    step=step,
                    cluster=cluster,
                    status=self.status.get(name, "exact"),
                    tooltip=f"{name} ({reference})",
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

    def runner(self, name: str, component: dict[str, Any]) -> str:
        """The component a task runs and the image of the pod it runs in."""
        executor = self.spec.get("deploymentSpec", {}).get("executors", {})
        container = executor.get(component.get("executorLabel", ""), {}).get("container", {})
        return f"{name.removeprefix('comp-')} component, pod {container.get('image', '?')}"
