"""Where each task goes in the pipeline body: which ``dsl.If``/``dsl.Else`` blocks enclose it.

SageMaker skips the steps of the branch not taken, and every step that depends on them. KFP
skips the tasks inside a ``dsl.If`` whose condition is false, and a task may only read from (or
run ``.after()``) tasks in its own block or in blocks that enclose it. So each step goes in the
block of its *guard* (``ir/regions.py``: the chain of (condition step, branch) pairs that must
hold for it to run); steps with equal guards share one block; blocks nest by guard prefix.

Python compiles at most 20 nested blocks, so guards nest at most ``MAX_DEPTH`` deep. A step
with a longer guard goes in the block of its guard's first ``MAX_DEPTH`` pairs, and its
component checks the rest itself: it runs only when the last Condition of its guard chose its
branch (that Condition, placed the same way, reports ``Skipped`` when its own guard failed, so
the check covers the whole chain), and otherwise ends at once as skipped.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import networkx as nx

from pipeglot.ir.regions import Guard, Regions

MAX_DEPTH = 16


@dataclass(slots=True)
class Block:
    """The body of the pipeline (``guard == ()``) or of one dsl.If/dsl.Else block.

    ``items`` are step names and ``Branches`` in the order they are written.
    """

    guard: Guard
    items: list[str | Branches] = field(default_factory=list)


@dataclass(slots=True)
class Branches:
    """The blocks one Condition's outcome opens at one place: ``when_true`` is the dsl.If,
    ``when_false`` the dsl.Else (or a dsl.If on False when there is no true block)."""

    condition: str
    when_true: Block | None = None
    when_false: Block | None = None


@dataclass(frozen=True, slots=True)
class Layout:
    body: Block
    guards: dict[str, Guard]  # step -> the guard of the block it is written in
    checked_guards: dict[str, tuple[str, bool]]  # step -> the pair its component checks


def layout(graph: nx.DiGraph, order: list[str], regions: Regions) -> Layout:
    guards: dict[str, Guard] = {}
    checked: dict[str, tuple[str, bool]] = {}
    for name in order:
        guard = regions.guard(name)
        if len(guard) > MAX_DEPTH:
            checked[name] = guard[-1]
            guard = guard[:MAX_DEPTH]
        guards[name] = guard
    position = {name: index for index, name in enumerate(order)}
    body = Block(())
    blocks: dict[Guard, Block] = {(): body}
    opened: dict[tuple[Guard, str], Branches] = {}
    for name in order:
        _block(guards[name], blocks, opened).items.append(name)
    for block in blocks.values():
        block.items = _ordered(block, graph, guards, position)
    return Layout(body, guards, checked)


def _block(
    guard: Guard, blocks: dict[Guard, Block], opened: dict[tuple[Guard, str], Branches]
) -> Block:
    """The block for ``guard``, created (with its enclosing blocks) on first use; ``opened``
    holds the Branches already in each block, by their Condition (no block is searched)."""
    if guard in blocks:
        return blocks[guard]
    parent = _block(guard[:-1], blocks, opened)
    condition, outcome = guard[-1]
    branches = opened.get((parent.guard, condition))
    if branches is None:
        branches = Branches(condition)
        parent.items.append(branches)
        opened[(parent.guard, condition)] = branches
    block = Block(guard)
    if outcome:
        branches.when_true = block
    else:
        branches.when_false = block
    blocks[guard] = block
    return block


def _ordered(
    block: Block, graph: nx.DiGraph, guards: dict[str, Guard], position: dict[str, int]
) -> list[str | Branches]:
    """The block's items in an order that respects every edge; ties keep document order.

    A Branches item comes after its Condition and after every step of this block that a step
    inside it reads from.
    """
    depth = len(block.guard)
    key_of: dict[str, str | Branches] = {}
    for item in block.items:
        key = item if isinstance(item, str) else f"\0{item.condition}"
        key_of[key] = item
    after: dict[str, set[str]] = {key: set() for key in key_of}  # key -> what must follow it
    sort_key = {}
    for key, item in key_of.items():
        if isinstance(item, str):
            members = [item]
            sort_key[key] = (position[item], 0)
        else:
            members = _members(item)
            sort_key[key] = (position[item.condition], 1)
        for member in members:
            for source in graph._pred[member]:  # networkx's own dict: no view per step
                if source in key_of and source != key and len(guards[source]) == depth:
                    after[source].add(key)
        if isinstance(item, Branches) and item.condition in key_of:
            after[item.condition].add(key)
    return [key_of[key] for key in _smallest_first_order(after, sort_key)]


def _smallest_first_order(
    after: dict[str, set[str]], sort_key: dict[str, tuple[int, int]]
) -> list[str]:
    """The topological order of ``after`` that always takes the ready key of smallest
    ``sort_key`` (networkx's lexicographical_topological_sort, without building a graph);
    sort keys are unique, so the order is too."""
    waiting = dict.fromkeys(after, 0)
    for followers in after.values():
        for key in followers:
            waiting[key] += 1
    ready = [(sort_key[key], key) for key, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, key = heapq.heappop(ready)
        order.append(key)
        for follower in after[key]:
            waiting[follower] -= 1
            if waiting[follower] == 0:
                heapq.heappush(ready, (sort_key[follower], follower))
    if len(order) != len(after):  # a cycle: the graph is validated acyclic before this
        raise ValueError("the steps of a block depend on each other in a cycle")
    return order


def _members(branches: Branches) -> list[str]:
    """Every step inside ``branches``, at any depth."""
    out: list[str] = []
    for block in (branches.when_true, branches.when_false):
        if block is None:
            continue
        for item in block.items:
            out.extend([item] if isinstance(item, str) else _members(item))
    return out
