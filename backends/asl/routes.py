"""Condition routes: which Conditions become a Choice that runs its branch steps directly.

A Step Functions author writes a Condition as a Choice whose arms *are* the branch steps. That
is exact when a Condition and everything its branches skip form a self-contained block: the
block then acts as one node of the DAG (its arms are structured on their own, inside it), and
every step's dependencies still precede it on every path of the machine.

An *arm* is what SageMaker skips when its branch is not taken: the branch steps and every step
that depends on one of them (``ir.regions``' ``skipped_when``). A Condition is routed when

- its two arms share no step (a step needing both branches never runs: it needs a guard),
- its block nests with the blocks of the other routed Conditions (inside one arm of the
  other, or apart from it), and
- collapsing its block into one node leaves the DAG acyclic (no step outside the block both
  follows the Condition and precedes an arm step).

The other Conditions keep the guard lowering (``machine``): they record their outcome and each
step they may skip checks it (``maybe_skipped``). ``unrouted`` says why, for the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pipeglot.ir.regions import Regions

OUTCOMES = ("True", "False")
Scope = tuple[str, str] | None  # (condition, outcome), or None for the whole machine


@dataclass
class Plan:
    """Routed Conditions, their arms, and the DAG of each scope with routed blocks collapsed."""

    arms: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    owner: dict[str, Scope] = field(default_factory=dict)
    unrouted: dict[str, str] = field(default_factory=dict)  # condition -> why not
    # the steps an unrouted Condition may skip: each gets a guard
    maybe_skipped: set[str] = field(default_factory=set)
    # per scope: its nodes in topological order, and their edges inside the scope
    nodes: dict[Scope, list[str]] = field(default_factory=dict)
    predecessors: dict[Scope, dict[str, list[str]]] = field(default_factory=dict)
    successors: dict[Scope, dict[str, list[str]]] = field(default_factory=dict)

    def routed(self, condition: str) -> bool:
        return (condition, "True") in self.arms

    def members(self, condition: str) -> Iterable[str]:
        for outcome in OUTCOMES:
            yield from self.arms[(condition, outcome)]


def plan(
    order: Sequence[str],
    predecessors: Mapping[str, Sequence[str]],
    successors: Mapping[str, Sequence[str]],
    regions: Regions,
    conditions: Iterable[str],
) -> Plan:
    """``order``: a topological order of the steps, the one ``regions`` was computed in;
    ``conditions``: the Condition steps."""
    position = {name: index for index, name in enumerate(order)}
    candidates: dict[str, dict[str, list[str]]] = {}
    result = Plan()
    for condition in sorted(conditions, key=position.__getitem__):
        # The True arm is what SageMaker skips when the Condition is false, and so on.
        arms = {o: list(regions.skipped_when(condition, o != "True")) for o in OUTCOMES}
        why = _why_not_routable(condition, arms, predecessors, successors)
        if why:
            result.unrouted[condition] = why
        else:
            candidates[condition] = arms
    _keep_nested(candidates, result.unrouted)
    while True:
        _assign_owners(candidates, order, result)
        cyclic = _contract(order, predecessors, result)
        if not cyclic:
            result.maybe_skipped = _maybe_skipped(order, regions, result)
            return result
        for condition in cyclic:  # two blocks each wait for the other's Condition
            del candidates[condition]
            result.unrouted[condition] = (
                "another routed Condition's branch steps depend on it, and its branch steps "
                "on that Condition"
            )


def _maybe_skipped(order: Sequence[str], regions: Regions, result: Plan) -> set[str]:
    """The steps whose run depends on an unrouted Condition's outcome."""
    return {
        name
        for name in order
        if any(not result.routed(condition) for condition, _ in regions.requirements[name])
    }


def _why_not_routable(
    condition: str,
    arms: Mapping[str, list[str]],
    predecessors: Mapping[str, Sequence[str]],
    successors: Mapping[str, Sequence[str]],
) -> str | None:
    true_arm, false_arm = set(arms["True"]), set(arms["False"])
    both = true_arm & false_arm
    if both:
        return f"{_listed(both)} depend(s) on steps of both branches"
    block = true_arm | false_arm | {condition}
    # Steps outside the block that follow the Condition: an arm step must not depend on one.
    after: set[str] = set()
    stack = [s for s in successors[condition] if s not in block]
    after.update(stack)
    while stack:
        for successor in successors[stack.pop()]:
            if successor not in block and successor not in after:
                after.add(successor)
                stack.append(successor)
    for member in true_arm | false_arm:
        between = [p for p in predecessors[member] if p in after]
        if between:
            return (
                f"the branch step {member!r} depends on {between[0]!r}, which runs after the "
                "Condition outside its branches"
            )
    return None


def _keep_nested(candidates: dict[str, dict[str, list[str]]], unrouted: dict[str, str]) -> None:
    """Drop candidates whose block overlaps another's without nesting inside one of its arms;
    the larger block wins (it is accepted first)."""
    accepted: list[tuple[str, set[str], dict[str, set[str]]]] = []
    by_size = sorted(candidates, key=lambda c: -sum(len(a) for a in candidates[c].values()))
    for condition in by_size:
        arms = {o: set(members) for o, members in candidates[condition].items()}
        block = arms["True"] | arms["False"] | {condition}
        clash = None
        for other, other_block, other_arms in accepted:
            if block.isdisjoint(other_block):
                continue
            if any(block <= arm for arm in other_arms.values()):
                continue
            if any(other_block <= arm for arm in arms.values()):
                continue
            clash = other
            break
        if clash is None:
            accepted.append((condition, block, arms))
        else:
            del candidates[condition]
            unrouted[condition] = f"its branches overlap those of the Condition {clash!r}"


def _assign_owners(
    candidates: Mapping[str, Mapping[str, list[str]]], order: Sequence[str], result: Plan
) -> None:
    """Each step's innermost arm; larger blocks first so that nested arms overwrite them."""
    result.arms = {}
    result.owner = dict.fromkeys(order)
    by_size = sorted(candidates, key=lambda c: -sum(len(a) for a in candidates[c].values()))
    for condition in by_size:
        for outcome in OUTCOMES:
            members = list(candidates[condition][outcome])
            result.arms[(condition, outcome)] = members
            for member in members:
                result.owner[member] = (condition, outcome)


def _chain(scope: Scope, owner: Mapping[str, Scope]) -> list[Scope]:
    chain = [scope]
    while scope is not None:
        scope = owner[scope[0]]
        chain.append(scope)
    return chain


def _representative(name: str, scope: Scope, owner: Mapping[str, Scope]) -> str:
    """The node of ``scope`` that stands for ``name``: itself, or the routed Condition whose
    block holds it."""
    current = name
    while owner[current] != scope:
        assert owner[current] is not None
        current = owner[current][0]  # type: ignore[index]
    return current


def _contract(
    order: Sequence[str], predecessors: Mapping[str, Sequence[str]], result: Plan
) -> list[str]:
    """Fill each scope's nodes and edges; return routed Conditions caught in a cycle."""
    owner = result.owner
    scopes: list[Scope] = [None, *result.arms]
    result.nodes = {scope: [] for scope in scopes}
    result.predecessors = {scope: {} for scope in scopes}
    result.successors = {scope: {} for scope in scopes}
    for name in order:
        scope = owner[name]
        result.nodes[scope].append(name)
        result.predecessors[scope][name] = []
        result.successors[scope][name] = []
    depth_chain: dict[Scope, list[Scope]] = {scope: _chain(scope, owner) for scope in scopes}
    for name in order:
        scope = owner[name]
        for predecessor in predecessors[name]:
            if owner[predecessor] == scope:  # most edges: both ends in one scope, as they are
                common, source, target = scope, predecessor, name
            else:
                common = _common(depth_chain[owner[predecessor]], depth_chain[scope])
                source = _representative(predecessor, common, owner)
                target = _representative(name, common, owner)
            if source != target and source not in result.predecessors[common][target]:
                result.predecessors[common][target].append(source)
                result.successors[common][source].append(target)
    cyclic: list[str] = []
    for scope in scopes:
        sorted_nodes = _topological(result.nodes[scope], result.predecessors[scope])
        if len(sorted_nodes) < len(result.nodes[scope]):
            left = set(result.nodes[scope]) - set(sorted_nodes)
            cyclic += [n for n in result.nodes[scope] if n in left and result.routed(n)]
        else:
            result.nodes[scope] = sorted_nodes
    return cyclic


def _common(first: list[Scope], second: list[Scope]) -> Scope:
    ancestors = set(first)
    for scope in second:
        if scope in ancestors:
            return scope
    return None


def _topological(nodes: list[str], predecessors: Mapping[str, list[str]]) -> list[str]:
    """Kahn's algorithm, ties broken by the given order."""
    import heapq

    position = {name: index for index, name in enumerate(nodes)}
    if all(position[p] < position[name] for name in nodes for p in predecessors[name]):
        # Already an order that runs (the common case: ``nodes`` come in the run order):
        # Kahn's algorithm, taking the first ready node each time, gives it back unchanged.
        return list(nodes)
    waiting = {name: len(predecessors[name]) for name in nodes}
    successors: dict[str, list[str]] = {name: [] for name in nodes}
    for name in nodes:
        for predecessor in predecessors[name]:
            successors[predecessor].append(name)
    ready = [position[name] for name in nodes if waiting[name] == 0]
    heapq.heapify(ready)
    result = []
    while ready:
        name = nodes[heapq.heappop(ready)]
        result.append(name)
        for successor in successors[name]:
            waiting[successor] -= 1
            if waiting[successor] == 0:
                heapq.heappush(ready, position[successor])
    return result


def _listed(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in sorted(names))
