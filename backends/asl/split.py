"""Split a machine too large for Step Functions into a parent and child state machines.

A state machine definition may hold at most 1 MB, and a standard execution at most 25,000
history events. A larger pipeline becomes a parent machine that runs *child* machines with
``states:startExecution.sync:2``: each child takes the execution document as its input and
returns it with its steps' results, so the parent reads it back as if the states had run in it.

Children follow the series-parallel structure: consecutive parts of a series, or groups of a
Parallel state's branches, whose estimated size and history fit a budget (a child too large
itself is split the same way, and so on). The estimate is checked against the real definitions
after they are built; the machine builder retries with a smaller budget if one is over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate

from pipeglot.backends.asl import structure

# Estimated bytes of one step's states beyond its request, and history events per step
# (a .sync Task records about six; JsonGet reads, Choices and Parallel states add some).
STEP_OVERHEAD_BYTES = 400
REQUEST_GROWTH = 1.5
EVENTS_PER_STEP = 12


@dataclass(frozen=True, slots=True)
class Budget:
    size: int  # bytes of one definition
    events: int  # history events of one execution


@dataclass(frozen=True, slots=True)
class Child:
    """A block run as a child state machine (``name`` is its key in the document)."""

    name: str
    block: structure.Block


Cost = tuple[int, int]  # (bytes, events)


@dataclass(frozen=True, slots=True)
class Boundary:
    """The execution document crossing into one child machine and back (estimated bytes)."""

    child: str
    first: str  # the child's first and last steps, in run order
    last: str
    entering: int  # the child's input: parameters and the results of the steps before it
    result: int  # the startExecution.sync:2 result: the child's input and its output


def boundaries(
    spans: Mapping[str, tuple[int, int]],
    steps: Sequence[str],
    result_bytes: Sequence[int],
    base: int,
) -> list[Boundary]:
    """Each child's boundary. ``spans``: a child's first and last positions in ``steps`` (run
    order); ``result_bytes``: what each step adds to the document. Nothing is dropped from
    the document on the way, so a child receives the results of every step positioned before
    it (an upper bound where it sits in a Parallel branch), and the answer of
    ``startExecution.sync:2`` holds both the child's input and its output."""
    before = list(accumulate(result_bytes, initial=base))  # before[i]: ahead of steps[i]
    return [
        Boundary(name, steps[first], steps[last], before[first], before[first] + before[last + 1])
        for name, (first, last) in spans.items()
    ]


class Splitter:
    """Replaces the parts of a block that do not fit ``budget`` with child machines."""

    def __init__(
        self, step_cost: Callable[[str], Cost], members: Callable[[str], Iterable[str]]
    ) -> None:
        self.step_cost = step_cost  # estimated cost of one step
        self.members = members  # a routed Condition's arm steps (run inside its block)
        self._costs: dict[int, Cost] = {}
        self.children: list[Child] = []  # in deploy order: a child before its parent

    def split(self, block: structure.Block, budget: Budget) -> structure.Block:
        if self._fits(self.cost(block), budget):
            return block
        if isinstance(block, structure.Series):
            parts = self._grouped(block.parts, budget, structure.Series)
            return structure.Series(tuple(parts))
        if isinstance(block, structure.Parallel):
            branches = self._grouped(block.branches, budget, structure.Parallel)
            return structure.Parallel(tuple(branches))
        return block  # one step (or one Condition with its branches): it cannot be split

    def cost(self, block: structure.Block | Child) -> Cost:
        if isinstance(block, Child):
            return (600, 8)  # the Task that runs it
        cached = self._costs.get(id(block))
        if cached is not None:
            return cached
        if isinstance(block, structure.Leaf):
            size, events = self.step_cost(block.step)
            for member in self.members(block.step):
                more = self.step_cost(member)
                size, events = size + more[0], events + more[1]
            cost = (size, events)
        else:
            children = block.parts if isinstance(block, structure.Series) else block.branches
            costs = [self.cost(child) for child in children]  # type: ignore[arg-type]
            cost = (sum(c[0] for c in costs) + 200, sum(c[1] for c in costs) + 4)
        self._costs[id(block)] = cost
        return cost

    def _grouped(
        self, items: Iterable[structure.Block], budget: Budget, kind: type
    ) -> list[structure.Block]:
        """Consecutive items that fit gathered into children that fit the budget; an item too
        large for a child of its own is split, and stays in place."""
        result: list[structure.Block] = []
        group: list[structure.Block] = []
        used = (0, 0)

        def close() -> None:
            if group:
                inner = group[0] if len(group) == 1 else kind(tuple(group))
                child = Child(f"Part{len(self.children) + 1}", inner)
                self.children.append(child)
                result.append(child)  # type: ignore[arg-type]
                group.clear()

        for item in items:
            size, events = self.cost(item)
            if not self._fits((size, events), budget):
                close()
                used = (0, 0)
                result.append(self.split(item, budget))
                continue
            if group and not self._fits((used[0] + size, used[1] + events), budget):
                close()
                used = (0, 0)
            group.append(item)
            used = (used[0] + size, used[1] + events)
        close()
        return result

    @staticmethod
    def _fits(cost: Cost, budget: Budget) -> bool:
        return cost[0] <= budget.size and cost[1] <= budget.events


@dataclass(frozen=True, slots=True)
class ParallelResult:
    """A Parallel state's output after its ResultSelector (estimated bytes)."""

    first_steps: tuple[str, ...]  # each branch's first step, in run order
    copies: int  # the partial merges it holds, each a whole copy of the document
    result: int


def parallel_results(
    block: structure.Block | Child | None,
    span: Callable[[object], tuple[int, int, int]],
    merged: Callable[[structure.Parallel], bool],
    group_size: int,
    steps: Sequence[str],
    before: Sequence[int],
) -> list[ParallelResult]:
    """Every Parallel state of ``block`` (inside child machines too) whose output holds more
    than one copy of the document: its branches' documents are merged ``group_size`` at a time
    in its ResultSelector (an intrinsic may nest only so deep), and those partial merges are
    its output, joined by the Pass states after it. ``merged``: is the block's result kept;
    ``span``: a block's first and last positions in ``steps``; ``before[i]``: the document's
    bytes ahead of ``steps[i]`` (see ``boundaries``). Routed Conditions' arms are not walked."""
    found: list[ParallelResult] = []
    # An explicit stack, not a recursive closure (a reference cycle): the same order.
    stack: list[structure.Block | Child] = [block] if block is not None else []
    while stack:
        item = stack.pop()
        if isinstance(item, Child):
            stack.append(item.block)
        elif isinstance(item, structure.Series):
            stack.extend(reversed(item.parts))
        elif isinstance(item, structure.Parallel):
            copies = -(-len(item.branches) // group_size)
            if copies > 1 and merged(item):
                last = span(item)[1]
                heads = tuple(steps[span(branch)[0]] for branch in item.branches)
                found.append(ParallelResult(heads, copies, copies * before[last + 1]))
            stack.extend(reversed(item.branches))
    return found
