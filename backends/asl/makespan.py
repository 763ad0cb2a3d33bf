"""What a lowering costs in time: its makespan against the pipeline's critical path.

With every step taking one unit of time, the pipeline's critical path is its longest chain of
dependent steps, and a structure's makespan is what its blocks impose: a series adds up its
parts, a Parallel state lasts as long as its longest branch, and a routed Condition lasts one
unit plus its longest arm. The two differ only by the waits a series-parallel lowering adds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from pipeglot.backends.asl import structure


class _Plan(Protocol):
    def routed(self, condition: str) -> bool: ...


def makespans(
    blocks: Mapping[object, structure.Block | None],
    plan: _Plan,
    predecessors: Mapping[str, Sequence[str]],
    order: Sequence[str],
) -> tuple[int, int]:
    """(the lowered structure's makespan, the DAG's critical path), both in unit durations."""
    return _makespan(blocks.get(None), blocks, plan), critical_path(predecessors, order)


def critical_path(predecessors: Mapping[str, Sequence[str]], order: Sequence[str]) -> int:
    finish: dict[str, int] = {}
    for name in order:
        finish[name] = 1 + max((finish[p] for p in predecessors[name]), default=0)
    return max(finish.values(), default=0)


def _makespan(
    block: structure.Block | None, blocks: Mapping[object, structure.Block | None], plan: _Plan
) -> int:
    if block is None:
        return 0
    if isinstance(block, structure.Leaf):
        if not plan.routed(block.step):
            return 1
        arms = (blocks.get((block.step, outcome)) for outcome in ("True", "False"))
        return 1 + max(_makespan(arm, blocks, plan) for arm in arms)
    if isinstance(block, structure.Series):
        return sum(_makespan(part, blocks, plan) for part in block.parts)
    return max(_makespan(branch, blocks, plan) for branch in block.branches)
