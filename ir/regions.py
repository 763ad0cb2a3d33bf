"""Condition regions and skip propagation: which steps run only when a condition holds.

SageMaker runs the branch a Condition step chooses and skips the other branch's steps, and with
them every step that depends on a skipped step. So each step runs under a *guard*: the
(condition step, outcome) pairs that must all hold for it to run. A branch step's guard is its
Condition's guard plus that branch; every step inherits the guards of the steps it depends on.

Most targets nest blocks (Choice arms, ``dsl.If``), so the guard is kept as a chain, outermost
condition first. A step whose upstream guards do not form one chain (it reads from two branches
that are not nested in each other) has a *conflict*: its chain is the longest candidate, and
its full conjunction is in ``requirements``. A conjunction holding both outcomes of one
condition can never be satisfied: that step never runs.

The pass is one sweep in topological order; ``skipped_when`` reads an index built in the same
sweep, so asking it for every Condition costs time linear in the answers, not in the steps
times the Conditions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import networkx as nx

from pipeglot.ir.graph import Edge, EdgeOrigin, build_graph, topological_order
from pipeglot.ir.model import Workflow

# (condition step name, True for IfSteps / False for ElseSteps)
Literal = tuple[str, bool]
Guard = tuple[Literal, ...]
_BRANCH_ORIGINS = frozenset({EdgeOrigin.IF_BRANCH, EdgeOrigin.ELSE_BRANCH})


@dataclass(frozen=True, slots=True)
class Regions:
    """The guards of every step of one workflow (see the module docstring)."""

    guards: Mapping[str, Guard]
    requirements: Mapping[str, frozenset[Literal]]
    conflicts: Mapping[str, tuple[Guard, ...]]
    # literal -> the steps whose requirements hold it, in the guards' order
    _requiring: dict[Literal, list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        requiring: dict[Literal, list[str]] = {}
        for step, required in self.requirements.items():
            for literal in required:
                requiring.setdefault(literal, []).append(step)
        object.__setattr__(self, "_requiring", requiring)

    def guard(self, step: str) -> Guard:
        return self.guards[step]

    def is_conditional(self, step: str) -> bool:
        return bool(self.requirements[step])

    def never_runs(self, step: str) -> bool:
        """Both outcomes of one condition are required: the step is always skipped."""
        required = self.requirements[step]
        return any((condition, not outcome) in required for condition, outcome in required)

    def skipped_when(self, condition: str, outcome: bool) -> tuple[str, ...]:
        """The steps SageMaker skips when ``condition`` evaluates to ``outcome``: the other
        branch's steps and everything that depends on them, in the guards' order."""
        return tuple(self._requiring.get((condition, not outcome), ()))


def condition_regions(workflow: Workflow, graph: nx.DiGraph | None = None) -> Regions:
    """The guard of every step (see :class:`Regions`)."""
    graph = build_graph(workflow) if graph is None else graph
    inputs = {
        name: [
            source
            for source, _, data in graph.in_edges(name, data=True)
            if not set(data["origins"]) <= _BRANCH_ORIGINS
        ]
        for name in graph
    }
    return _regions(workflow, topological_order(workflow, graph), inputs)


def regions_of(workflow: Workflow, order: Sequence[str], edges: Iterable[Edge]) -> Regions:
    """:func:`condition_regions` for a backend that already has the edges (``graph.edges``
    or ``step_edges``, in that order) and a topological order of them: no graph is built."""
    steps = set(order)
    branch_only: dict[tuple[str, str], bool] = {}  # each pair in order of its first edge
    for edge in edges:
        if edge.source in steps and edge.target in steps:
            pair = (edge.source, edge.target)
            branch = edge.origin is EdgeOrigin.IF_BRANCH or edge.origin is EdgeOrigin.ELSE_BRANCH
            branch_only[pair] = branch and branch_only.get(pair, True)
    inputs: dict[str, list[str]] = {name: [] for name in order}
    for (source, target), branch in branch_only.items():
        if not branch:
            inputs[target].append(source)
    return _regions(workflow, order, inputs)


def _regions(
    workflow: Workflow, order: Sequence[str], inputs: Mapping[str, Sequence[str]]
) -> Regions:
    """``inputs``: each step's sources other than the Condition whose branch holds it."""
    branch_of: dict[str, Literal] = {}
    for step in workflow.steps:
        # ElseSteps first: a step listed in both branches counts as an IfSteps step.
        for outcome, children in ((False, step.else_steps), (True, step.if_steps)):
            for child in children:
                branch_of[child] = (step.name, outcome)
    guards: dict[str, Guard] = {}
    requirements: dict[str, frozenset[Literal]] = {}
    conflicts: dict[str, tuple[Guard, ...]] = {}
    unconditional: frozenset[Literal] = frozenset()
    for name in order:
        sources = inputs[name]
        if name not in branch_of and not any(requirements[s] for s in sources):
            guards[name], requirements[name] = (), unconditional  # most steps: no condition
            continue
        candidates: list[Guard] = []
        required: set[Literal] = set()
        if name in branch_of:
            branch = branch_of[name]
            owner = branch[0]
            candidates.append((*guards[owner], branch))
            required |= requirements[owner] | {branch}
        for source in sources:
            candidates.append(guards[source])
            required |= requirements[source]
        longest = max(candidates, key=len, default=())
        if any(longest[: len(guard)] != guard for guard in candidates):
            conflicts[name] = tuple(dict.fromkeys(candidates))
        guards[name] = longest
        requirements[name] = frozenset(required)
    return Regions(guards, requirements, conflicts)
