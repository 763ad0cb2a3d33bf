"""Turn the step DAG into nested series and parallel blocks, as Step Functions needs.

A state machine runs states one after another, and runs branches side by side only inside a
``Parallel`` state that waits for all of them. So the DAG must become a *series-parallel* tree.
Series-parallel DAGs map exactly. Any other DAG needs extra synchronisation: a step is made to
wait for a step it does not depend on. This module adds as few such waits as it can find and
returns each one so the backend can report it.

The decomposition is recursive and every step of it is exact when it can be:

1. a set of steps with no edges between two parts runs as parallel branches;
2. a step that every other step either precedes or follows (a *cut step*) splits a connected
   set into series segments (found in one linear scan of a topological order);
3. only a connected set without a cut step needs an inexact split: it is cut between two depth
   levels, at the boundary that adds the fewest waits (counted exactly with ancestor bitsets).

Each level is linear in the size of the set it works on, apart from the ancestor bitsets of
step 3, which are word-parallel Python integers. The whole decomposition costs the sizes of the
sets summed over its levels: linear for series-parallel DAGs and for a bounded number of depth
levels, but a deep DAG that is not series-parallel (an inexact cut often peels one level off a
large set) costs its steps times its levels: the benchmark's 8,000 steps, about 90 levels,
take about a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

# How many of the steps a step newly waits for are named; a wide layered DAG can add hundreds
# per step, and listing them all costs more time than the rest of the translation.
NAMED_WAITS = 50
# Level boundaries evaluated when a connected set has no cut step. Enough to find the good cut in
# layered graphs, few enough that a very deep graph does not make the search quadratic.
_MAX_CANDIDATE_CUTS = 64
_ONE, _ZERO = ord("1"), ord("0")


@dataclass(frozen=True, slots=True)
class Leaf:
    step: str


@dataclass(frozen=True, slots=True)
class Series:
    parts: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Parallel:
    branches: tuple[Block, ...]


Block = Leaf | Series | Parallel


@dataclass(frozen=True, slots=True)
class ExtraWait:
    """``step`` now also waits for ``count`` steps it does not depend on in the source;
    ``waits_for`` names them (the first ``NAMED_WAITS`` of them, in topological order)."""

    step: str
    waits_for: tuple[str, ...]
    count: int


def structure(
    order: Sequence[str],
    predecessors: Mapping[str, Sequence[str]],
    successors: Mapping[str, Sequence[str]],
    keep_last: Callable[[str], bool] = lambda _: False,
) -> tuple[Block | None, list[ExtraWait]]:
    """The series-parallel tree of the DAG, and the waits it adds.

    ``order`` is a topological order of every node; ties in it decide the order of branches.
    ``keep_last(node)`` marks sinks that nothing may follow (Fail steps): an inexact cut never
    puts them before other steps.
    """
    if not order:
        return None, []
    builder = _Builder(predecessors, successors, {node for node in order if keep_last(node)})
    return builder.decompose(list(order)), builder.extra_waits


class _Builder:
    def __init__(
        self,
        predecessors: Mapping[str, Sequence[str]],
        successors: Mapping[str, Sequence[str]],
        keep_last: set[str],
    ) -> None:
        self.predecessors = predecessors
        self.successors = successors
        self.keep_last = keep_last
        self.extra_waits: list[ExtraWait] = []

    def decompose(self, nodes: list[str], connected: bool = False) -> Block:
        """``nodes``: a convex set of the DAG, in topological order; ``connected``: known to
        be weakly connected (a component found one level up), so not searched again."""
        if len(nodes) == 1:
            return Leaf(nodes[0])
        inside = self._inside(nodes)  # once per level, for every question below
        if not connected:
            components = self._components(nodes, inside)
            if len(components) > 1:
                return _parallel(self.decompose(part, connected=True) for part in components)
        cuts = self._cut_positions(nodes, inside)
        if cuts:
            return self._split_at_cuts(nodes, cuts)
        prefix, suffix = self._inexact_split(nodes, inside)
        return _series([self.decompose(prefix), self.decompose(suffix)])

    def _inside(self, nodes: list[str]) -> dict[str, int]:
        return {node: index for index, node in enumerate(nodes)}

    def _components(self, nodes: list[str], inside: dict[str, int]) -> list[list[str]]:
        """Weakly connected components, each in topological order, ordered by first node."""
        label: dict[str, int] = {}
        predecessors, successors = self.predecessors, self.successors
        for node in nodes:  # label each component by a search from its first node
            if node in label:
                continue
            number = label[node] = len(label)
            stack = [node]
            while stack:
                current = stack.pop()
                for neighbours in (predecessors[current], successors[current]):
                    for other in neighbours:
                        if other not in label and other in inside:
                            label[other] = number
                            stack.append(other)
        groups: dict[int, list[str]] = {}
        for node in nodes:
            number = label[node]
            if number in groups:
                groups[number].append(node)
            else:
                groups[number] = [node]
        return list(groups.values())

    def _cut_positions(self, nodes: list[str], inside: dict[str, int]) -> list[int]:
        """Positions of the steps comparable to every other step of ``nodes``.

        In any topological order such a step's ancestors come before it and its descendants
        after it, so it is a cut exactly when it is the only sink of the prefix ending with it
        and the only source of the suffix starting with it. The suffixes are only looked at
        from the first prefix with one sink on (the first step is a cut when it is the set's
        only source): most sets of a wide DAG have none, and skip that second pass.
        """
        unique_sink, sources = self._unique_ends(nodes, inside, self.predecessors)
        cuts = [0] if sources == 1 else []  # the first step is a source and its prefix's sink
        later = [i for i in range(1, len(nodes)) if unique_sink[i]]
        if later:
            count = len(nodes)
            backwards = nodes[: later[0] - 1 : -1]  # the suffix from later[0], last step first
            unique_source, _ = self._unique_ends(backwards, inside, self.successors)
            cuts += [i for i in later if unique_source[count - 1 - i]]
        return cuts

    @staticmethod
    def _unique_ends(
        nodes: list[str], inside: dict[str, int], backward: Mapping[str, Sequence[str]]
    ) -> tuple[list[bool], int]:
        """For each prefix ``nodes[:i+1]``: has it exactly one node with no successor in it?
        And how many nodes have no ``backward`` neighbour in ``inside``."""
        covered: set[str] = set()
        ends = 0
        alone = 0
        result = []
        for node in nodes:
            ends += 1
            linked = False
            for other in backward[node]:
                if other in inside:
                    linked = True
                    if other not in covered:
                        covered.add(other)
                        ends -= 1
            alone += not linked
            result.append(ends == 1)
        return result, alone

    def _split_at_cuts(self, nodes: list[str], cuts: list[int]) -> Block:
        parts: list[Block] = []
        start = 0
        for cut in cuts:
            if cut > start:
                parts.append(self.decompose(nodes[start:cut]))
            parts.append(Leaf(nodes[cut]))
            start = cut + 1
        if start < len(nodes):
            parts.append(self.decompose(nodes[start:]))
        return _series(parts)

    def _inexact_split(
        self, nodes: list[str], inside: dict[str, int]
    ) -> tuple[list[str], list[str]]:
        """Cut a connected set with no cut step between two depth levels, adding fewest waits.

        One sweep over the level-ordered steps keeps the sinks of the prefix (as a bitset) and
        the sources of the suffix up to date; at each candidate boundary the added waits are
        counted exactly: for each suffix source, the prefix sinks that are not its ancestors.
        """
        level, ordered = self._levels(nodes, inside)
        count = len(ordered)
        boundaries = [i for i in range(1, count) if level[ordered[i]] != level[ordered[i - 1]]]
        if len(boundaries) > _MAX_CANDIDATE_CUTS:
            stride = len(boundaries) / _MAX_CANDIDATE_CUTS
            boundaries = [boundaries[int(k * stride)] for k in range(_MAX_CANDIDATE_CUTS)]
        position = {node: index for index, node in enumerate(ordered)}
        ancestors, first_successor, last_predecessor = self._ancestor_bits(ordered, position)
        # Steps by the boundary at which they stop being a prefix sink (a step without a
        # successor never does) or become a suffix source (one without a predecessor is one).
        stops_being_sink: dict[int, list[int]] = {}
        becomes_source: dict[int, list[int]] = {}
        for index in range(count):
            first = first_successor[index]
            if first < count:
                stops_being_sink.setdefault(first, []).append(index)
            becomes_source.setdefault(last_predecessor[index] + 1, []).append(index)
        # The prefix's sinks as binary digits, step i at digit count-1-i: updating a digit is
        # O(1), and the bitset is built only at candidate boundaries (updating a big integer
        # per step would make the sweep quadratic in the size of the set).
        sinks = bytearray(b"0" * count)
        sources = set(becomes_source.get(0, ()))
        candidates = set(boundaries)
        best: tuple[int, int, int] | None = None
        for boundary in range(1, count):
            entering = boundary - 1  # the step that moves from the suffix to the prefix
            sinks[count - 1 - entering] = _ONE
            for index in stops_being_sink.get(entering, ()):
                sinks[count - 1 - index] = _ZERO
            sources.discard(entering)
            sources.update(becomes_source.get(boundary, ()))
            if boundary not in candidates:
                continue
            sink_mask = int(sinks, 2)
            # |sinks - ancestors|, for each source: one AND per source, no complement
            cost = len(sources) * sink_mask.bit_count() - sum(
                (sink_mask & ancestors[i]).bit_count() for i in sources
            )
            key = (cost, abs(2 * boundary - count), boundary)
            if best is None or key < best:
                best = key
                chosen = (sink_mask, sorted(sources))
        assert best is not None  # a connected set of 2+ nodes has 2+ levels
        boundary = best[2]
        chosen_sinks, chosen_sources = chosen
        for index in chosen_sources:
            missing = chosen_sinks & ~ancestors[index]
            if missing:
                named = tuple(_names(ordered, missing, NAMED_WAITS))
                self.extra_waits.append(ExtraWait(ordered[index], named, missing.bit_count()))
        return ordered[:boundary], ordered[boundary:]

    def _levels(self, nodes: list[str], inside: dict[str, int]) -> tuple[dict[str, int], list[str]]:
        """Longest-path depth inside the set, steps that must stay last at the deepest level;
        and the nodes ordered by (level, position in ``nodes``)."""
        level: dict[str, int] = {}
        for node in nodes:
            depth = 0
            for predecessor in self.predecessors[node]:
                if predecessor in inside:
                    below = level[predecessor] + 1
                    if below > depth:
                        depth = below
            level[node] = depth
        deepest = max(level.values())
        for node in self.keep_last.intersection(nodes):
            if not any(s in inside for s in self.successors[node]):
                level[node] = deepest + 1
        by_level: list[list[str]] = [[] for _ in range(deepest + 2)]
        for node in nodes:  # a stable bucket sort: within a level, the order of ``nodes``
            by_level[level[node]].append(node)
        return level, [node for bucket in by_level for node in bucket]

    def _ancestor_bits(
        self, ordered: list[str], position: dict[str, int]
    ) -> tuple[list[int], list[int], list[int]]:
        """For each step (by position in ``ordered``, a topological order of the set): its
        ancestors in the set as a bitset, and the positions of its earliest successor (or
        ``len(ordered)``) and latest predecessor (or -1) in the set; one pass over the edges."""
        count = len(ordered)
        bits = [0] * count
        first_successor = [count] * count
        last_predecessor = [-1] * count
        for index, node in enumerate(ordered):
            value = 0
            latest = -1
            for predecessor in self.predecessors[node]:
                other = position.get(predecessor)
                if other is not None:
                    value |= bits[other] | (1 << other)
                    if other > latest:
                        latest = other
                    if first_successor[other] == count:  # positions only grow: the earliest
                        first_successor[other] = index
            bits[index] = value
            last_predecessor[index] = latest
        return bits, first_successor, last_predecessor


def _names(ordered: list[str], mask: int, limit: int) -> list[str]:
    """The first ``limit`` steps whose bits are set in ``mask``, in order."""
    # The binary digits (bit i at index last - i): one conversion instead of one big-integer
    # operation per name (each as long as the set).
    digits = bin(mask)
    last = len(digits) - 1
    names: list[str] = []
    found = digits.rfind("1")
    while found >= 2 and len(names) < limit:
        names.append(ordered[last - found])
        found = digits.rfind("1", 2, found)
    return names


def _series(parts: Iterable[Block]) -> Block:
    flat: list[Block] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, Series) else (part,))
    return flat[0] if len(flat) == 1 else Series(tuple(flat))


def _parallel(branches: Iterable[Block]) -> Block:
    flat: list[Block] = []
    for branch in branches:
        flat.extend(branch.branches if isinstance(branch, Parallel) else (branch,))
    return flat[0] if len(flat) == 1 else Parallel(tuple(flat))


def steps_in(block: Block) -> Iterable[str]:
    """Every step of ``block``, in order."""
    stack = [block]
    while stack:
        item = stack.pop()
        if isinstance(item, Leaf):
            yield item.step
        else:
            children = item.parts if isinstance(item, Series) else item.branches
            stack.extend(reversed(children))
