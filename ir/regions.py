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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from pipeglot.ir.graph import EdgeOrigin, build_graph, topological_order
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
        return tuple(
            step
            for step, required in self.requirements.items()
            if (condition, not outcome) in required
        )


def condition_regions(workflow: Workflow, graph: nx.DiGraph | None = None) -> Regions:
    """The guard of every step (see :class:`Regions`)."""
    graph = build_graph(workflow) if graph is None else graph
    owners = workflow.branch_owner()
    guards: dict[str, Guard] = {}
    requirements: dict[str, frozenset[Literal]] = {}
    conflicts: dict[str, tuple[Guard, ...]] = {}
    for name in topological_order(workflow, graph):
        candidates: list[Guard] = []
        required: set[Literal] = set()
        if name in owners:
            owner = owners[name]
            branch = (owner, name in workflow.step(owner).if_steps)
            candidates.append((*guards[owner], branch))
            required |= requirements[owner] | {branch}
        for source, _, data in graph.in_edges(name, data=True):
            if set(data["origins"]) <= _BRANCH_ORIGINS:
                continue
            candidates.append(guards[source])
            required |= requirements[source]
        longest = max(candidates, key=len, default=())
        if any(longest[: len(guard)] != guard for guard in candidates):
            conflicts[name] = tuple(dict.fromkeys(candidates))
        guards[name] = longest
        requirements[name] = frozenset(required)
    return Regions(guards, requirements, conflicts)
