"""The step graph: which step waits for which, and why.

SageMaker builds its DAG from three sources, and so does this module: every
``{"Get": "Steps.X..."}`` anywhere in a step (a data edge), ``DependsOn``, and Condition
branches. Reading only ``DependsOn`` builds the wrong graph.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import networkx as nx

from pipeglot.ir.expressions import (
    Expression,
    PropertyFileRef,
    StepProperty,
    Value,
    collect_expressions,
    iter_condition_values,
)
from pipeglot.ir.model import Step, Workflow


class EdgeOrigin(enum.Enum):
    DEPENDS_ON = "depends_on"
    DATA = "data"
    IF_BRANCH = "if_branch"
    ELSE_BRANCH = "else_branch"


@dataclass(frozen=True, slots=True)
class Edge:
    """``target`` starts only after ``source`` has finished (or, for a branch edge, after the
    Condition ``source`` chose the branch that holds ``target``)."""

    source: str
    target: str
    origin: EdgeOrigin


def step_values(step: Step) -> Iterator[Value]:
    """Every value of ``step`` that may hold a data reference.

    For a Condition only its own conditions count: its branch steps are separate steps.
    """
    yield step.arguments
    yield step.function_arn
    yield step.sqs_queue_url
    yield step.display_name
    yield step.description
    yield from step.check.values()
    yield from step.extra.values()
    for condition in step.conditions:
        yield from iter_condition_values(condition)


def step_expressions(step: Step) -> list[Expression]:
    """Every expression node of ``step`` (see :func:`step_values`), outermost first.

    Found once per step and kept on it (validation finds them first): do not change the list."""
    known: list[Expression] | None = step._expressions
    if known is None:
        values: tuple[Value, ...] = (
            step.arguments,
            step.function_arn,
            step.sqs_queue_url,
            step.display_name,
            step.description,
        )  # step_values(step), walked as one tuple (absent ones are MISSING, skipped)
        if step.check or step.extra or step.conditions:
            values = tuple(step_values(step))
        known = collect_expressions(values, [])
        object.__setattr__(step, "_expressions", known)
    return known


def data_sources(step: Step, expressions: list[Expression] | None = None) -> list[str]:
    """The steps ``step`` reads from, each once, in order of first reference."""
    nodes = step_expressions(step) if expressions is None else expressions
    return list(
        dict.fromkeys(n.step for n in nodes if isinstance(n, StepProperty | PropertyFileRef))
    )


def step_edges(step: Step, expressions: list[Expression] | None = None) -> Iterator[Edge]:
    """The edges into ``step`` (DependsOn, then data) and out of it to its branch steps."""
    for source in dict.fromkeys(step.explicit_dependencies):
        yield Edge(source, step.name, EdgeOrigin.DEPENDS_ON)
    for source in data_sources(step, expressions):
        yield Edge(source, step.name, EdgeOrigin.DATA)
    for child in step.if_steps:
        yield Edge(step.name, child, EdgeOrigin.IF_BRANCH)
    for child in step.else_steps:
        yield Edge(step.name, child, EdgeOrigin.ELSE_BRANCH)


def edges(workflow: Workflow) -> tuple[Edge, ...]:
    """All edges, grouped by step in document order. A pair may appear once per origin.

    Found once per workflow (validation records those it finds: remember_edges)."""
    known: tuple[Edge, ...] | None = workflow._edges
    if known is None:
        rows = workflow._edge_rows
        if rows is not None:
            known = tuple([Edge(source, target, origin) for source, target, origin in rows])
        else:
            known = tuple(edge for step in workflow.steps for edge in step_edges(step))
        remember_edges(workflow, known)
    return known


def remember_edges(workflow: Workflow, found: tuple[Edge, ...]) -> None:
    """Record ``found`` as the edges of ``workflow``: exactly what edges() would return."""
    object.__setattr__(workflow, "_edges", found)
    object.__setattr__(workflow, "_edge_rows", None)


def remember_edge_rows(workflow: Workflow, rows: tuple[tuple[str, str, EdgeOrigin], ...]) -> None:
    """Record the edges of ``workflow`` as ``(source, target, origin)`` rows, in the order of
    edges(), which makes the Edge objects only when it is called."""
    object.__setattr__(workflow, "_edges", None)
    object.__setattr__(workflow, "_edge_rows", rows)


def _rows(workflow: Workflow) -> tuple[tuple[str, str, EdgeOrigin], ...]:
    rows: tuple[tuple[str, str, EdgeOrigin], ...] | None = workflow._edge_rows
    if rows is None:
        rows = tuple((edge.source, edge.target, edge.origin) for edge in edges(workflow))
    return rows


def build_graph(workflow: Workflow, all_edges: tuple[Edge, ...] | None = None) -> nx.DiGraph:
    """A DiGraph over step names; each edge carries ``origins``, a tuple of EdgeOrigin.

    Edges to steps that do not exist are left out (validation reports them). The graph of the
    workflow's own edges is built once (validation and a writer both need it) and frozen:
    networkx raises if it is changed, so copy it first (``graph.copy()``).
    """
    if all_edges is not None:
        return _new_graph(workflow, [(edge.source, edge.target, edge.origin) for edge in all_edges])
    known: nx.DiGraph | None = workflow._graph
    if known is None:
        known = nx.freeze(_new_graph(workflow, _rows(workflow)))
        object.__setattr__(workflow, "_graph", known)
    return known


def _new_graph(workflow: Workflow, rows: Iterable[tuple[str, str, EdgeOrigin]]) -> nx.DiGraph:
    """What ``add_nodes_from`` then ``add_edges_from`` build, written into the graph's
    dicts as those methods write them (the same dicts, in the same order), without their
    checks of every node and edge (8,000 steps: 40 ms -> 10 ms). The nodes are the steps'
    names, never None; tests/test_load_speed.py compares the two."""
    origins: dict[tuple[str, str], tuple[EdgeOrigin, ...]] = {}
    for source, target, origin in rows:
        pair = (source, target)
        origins[pair] = (*origins.get(pair, ()), origin)
    graph = nx.DiGraph()
    nodes, successors, predecessors = graph._node, graph._succ, graph._pred
    for step in workflow.steps:
        if step.name not in nodes:
            successors[step.name] = {}
            predecessors[step.name] = {}
            nodes[step.name] = {}
    for (source, target), found in origins.items():
        if source in nodes and target in nodes:
            data = {"origins": found}
            successors[source][target] = data
            predecessors[target][source] = data
    return graph


def topological_order(workflow: Workflow, graph: nx.DiGraph | None = None) -> list[str]:
    """Step names in an order that respects every edge; ties keep document order.

    networkx's lexicographical_topological_sort, written over step positions (one heap of
    ints, the graph's adjacency dicts read directly, not through its views, which make an
    object per lookup): the same order at a third of its cost."""
    graph = build_graph(workflow) if graph is None else graph
    names = [step.name for step in workflow.steps]
    position = {name: index for index, name in enumerate(names)}
    successors = graph._succ
    waiting = {node: len(parents) for node, parents in graph._pred.items()}
    ready = [position[node] for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = names[heapq.heappop(ready)]
        order.append(node)
        for child in successors[node]:
            waiting[child] -= 1
            if not waiting[child]:
                heapq.heappush(ready, position[child])
    if len(order) != len(waiting):
        raise nx.NetworkXUnfeasible("the step graph has a cycle")
    return order


def find_cycle(graph: nx.DiGraph) -> list[str] | None:
    """The steps of one cycle, in order, or None when the graph is acyclic."""
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return None
    return [source for source, _ in cycle]


def reachability(graph: nx.DiGraph) -> dict[str, frozenset[str]]:
    """For each step, the set of steps that can only run after it (its descendants)."""
    return {node: frozenset(nx.descendants(graph, node)) for node in graph}


def reduced_edges(workflow: Workflow, graph: nx.DiGraph | None = None) -> tuple[Edge, ...]:
    """The edges a target should draw: the transitive reduction of the step graph (an edge
    ``a -> c`` is left out when ``a -> b -> c`` already orders them), each with the origins of
    the original edge, grouped by target step in document order."""
    graph = build_graph(workflow) if graph is None else graph
    reduced = _transitive_reduction(graph)
    kept: list[Edge] = []
    predecessors = graph._pred  # the adjacency dicts, read directly (see topological_order)
    for step in workflow.steps:
        name = step.name
        for source, data in predecessors[name].items():
            if (source, name) in reduced:
                kept.append(Edge(source, name, data["origins"][0]))
    return tuple(kept)


def kahn_order(children: Mapping[str, Iterable[str]], waiting: dict[str, int]) -> list[str]:
    """Kahn's algorithm: the nodes in a topological order, each once its last parent is done.
    ``children`` maps each node to the targets of its edges, ``waiting`` counts the edges into
    each node (and is used up). Shorter than ``waiting`` exactly when there is a cycle."""
    order = [node for node, count in waiting.items() if not count]
    for node in order:  # grows while it is read
        for child in children[node]:
            waiting[child] -= 1
            if not waiting[child]:
                order.append(child)
    return order


def _transitive_reduction(graph: nx.DiGraph) -> set[tuple[str, str]]:
    """The edges of the transitive reduction of the acyclic ``graph`` (see reduced_children),
    over Kahn's order of its adjacency dicts. networkx's transitive_reduction is quadratic here."""
    successors = graph._succ
    waiting = {node: len(parents) for node, parents in graph._pred.items()}
    order = kahn_order(successors, waiting)
    if len(order) != len(waiting):
        raise nx.NetworkXUnfeasible("the step graph has a cycle")
    position = {node: index for index, node in enumerate(order)}
    kept = reduced_children(successors, order, position)
    return {(node, child) for node, children in kept.items() for child in children}


def reduced_children(
    successors: Mapping[str, Iterable[str]], order: list[str], position: Mapping[str, int]
) -> dict[str, list[str]]:
    """Each node's children in the transitive reduction of an acyclic graph (the nodes with
    none left out), in ``position`` order. ``order`` is a topological order and ``position``
    each node's index in it: any topological order gives the same edges (the reduction of a
    DAG is unique). Linear in the edges times the nodes / 64: descendants are bitsets (Python
    ints), built in reverse order; a node's edge to a child is kept unless an earlier child
    already reaches it."""
    reach: dict[str, int] = {}
    kept: dict[str, list[str]] = {}
    for node in reversed(order):
        children = successors[node]
        covered = 0
        found = []
        for child in sorted(children, key=position.__getitem__):
            bit = 1 << position[child]
            if not covered & bit:
                found.append(child)
            covered |= bit | reach[child]
        reach[node] = covered
        if found:
            kept[node] = found
    return kept
