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

Steps are worked on as their positions in the topological order: membership in a set, depth
levels and visits are list slots stamped per set (no dict built per set), and each step's
ancestors are one bitset over the whole DAG, built once (the sets are convex, so a step's
ancestors inside a set are these ancestors masked by the set). One pass over a set finds its
components (union-find), its single-sink prefixes and its depth levels; an inexact split adds one
sweep that takes the prefix's sinks as a bitset at each level boundary, and counts the waits of
the boundaries likeliest to be cheapest first, giving up on a boundary as soon as it costs more
than the best so far. The whole decomposition costs the sizes of the sets summed over its
levels: linear for series-parallel DAGs and for a bounded number of depth levels, but a deep DAG
that is not series-parallel (an inexact cut often peels one level off a large set) costs its
steps times its levels: the benchmark's 8,000 steps, about 20 levels, take about 0.25 s of CPU.
"""

from __future__ import annotations

import bisect
import itertools
import operator
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
    if len(order) == 1:
        return Leaf(order[0]), []
    builder = _Builder(order, predecessors, successors, keep_last)
    return builder.decompose(list(range(len(order)))), builder.extra_waits


class _Builder:
    """Works on steps as their positions in ``order`` (a topological order), so that a set's
    membership, depth levels and visits are list slots stamped per set instead of dicts built
    per set, and each step's ancestors are one bitset over the whole DAG, built once."""

    def __init__(
        self,
        order: Sequence[str],
        predecessors: Mapping[str, Sequence[str]],
        successors: Mapping[str, Sequence[str]],
        keep_last: Callable[[str], bool],
    ) -> None:
        self.names = list(order)
        index = {node: position for position, node in enumerate(order)}
        self.preds = [[index[p] for p in predecessors[node] if p in index] for node in order]
        self.succs = [[index[s] for s in successors[node] if s in index] for node in order]
        self.keep_flag = [keep_last(node) for node in order]
        self.keep = any(self.keep_flag)
        count = len(order)
        # A slot holds the stamp of the set being looked at when the step belongs to it:
        # each set gets a new stamp, so nothing is cleared between sets.
        self.mark = [0] * count
        self.covered = [0] * count
        self.level = [0] * count
        self.parent = [0] * count  # union-find forest of the set's components
        self.position = [0] * count
        self.counter = 0  # the last stamp given out
        self.stamp = 0  # the set being looked at: its steps' slots in ``mark``
        self.visit = 0  # the pass over it: slots in ``covered``
        self._ancestors: list[int] | None = None
        self.extra_waits: list[ExtraWait] = []

    @property
    def ancestors(self) -> list[int]:
        """Each step's ancestors as a bitset of positions in ``order`` (built on first use):
        a set of the decomposition is convex, so its steps' ancestors in the set are these
        ancestors masked by the set."""
        if self._ancestors is None:
            bits: list[int] = []
            for preds in self.preds:
                value = 0
                for other in preds:
                    value |= bits[other] | (1 << other)
                bits.append(value)
            self._ancestors = bits
        return self._ancestors

    def decompose(self, nodes: list[int], component_of: int = 0) -> Block:
        """``nodes``: a convex set of the DAG, in topological order. ``component_of``: the
        stamp of the set that ``nodes`` is a component of, or 0. A component holds every
        neighbour its steps have in that set, so its steps keep that stamp and the depth
        levels found there, and it is known to be connected."""
        if len(nodes) == 1:
            return Leaf(self.names[nodes[0]])
        self.counter += 1
        visit = self.visit = self.counter
        mark, covered, preds = self.mark, self.covered, self.preds
        ends = alone = 0
        single_sink: list[int] = []  # positions i >= 1 whose prefix nodes[:i+1] has one sink
        if component_of:
            stamp = self.stamp = component_of
            for i, node in enumerate(nodes):
                ends += 1
                linked = False
                for other in preds[node]:
                    if mark[other] == stamp:
                        linked = True
                        if covered[other] != visit:
                            covered[other] = visit
                            ends -= 1
                alone += not linked
                if ends == 1 and i:
                    single_sink.append(i)
        else:
            # One pass in topological order (a step's predecessors come before it): stamp
            # the set, count the prefixes with one sink, give each step its depth level, and
            # join the step to its predecessors' components (union-find).
            stamp = self.stamp = visit
            level, parent = self.level, self.parent
            components = 0
            for i, node in enumerate(nodes):
                mark[node] = stamp
                ends += 1
                depth = 0
                root = -1
                for other in preds[node]:
                    if mark[other] != stamp:
                        continue
                    if covered[other] != stamp:
                        covered[other] = stamp
                        ends -= 1
                    below = level[other] + 1
                    if below > depth:
                        depth = below
                    while parent[other] != other:  # find, halving the path
                        parent[other] = parent[parent[other]]
                        other = parent[other]
                    if root < 0:
                        root = other
                    elif other != root:
                        parent[other] = root
                        components -= 1
                level[node] = depth
                if root < 0:
                    alone += 1
                    components += 1
                    parent[node] = node
                else:
                    parent[node] = root
                if ends == 1 and i:
                    single_sink.append(i)
            if components > 1:
                return _parallel(self.decompose(part, stamp) for part in self._components(nodes))
        cuts = self._cut_positions(nodes, single_sink, alone == 1)
        if cuts:
            return self._split_at_cuts(nodes, cuts)
        prefix, suffix = self._inexact_split(nodes)
        return _series([self.decompose(prefix), self.decompose(suffix)])

    def _components(self, nodes: list[int]) -> list[list[int]]:
        """The components of the pass above, each in topological order, ordered by first
        step."""
        parent = self.parent
        groups: dict[int, list[int]] = {}
        for node in nodes:
            root = node
            while parent[root] != root:
                root = parent[root]
            parent[node] = root
            if root in groups:
                groups[root].append(node)
            else:
                groups[root] = [node]
        return list(groups.values())

    def _cut_positions(
        self, nodes: list[int], single_sink: list[int], one_source: bool
    ) -> list[int]:
        """Positions of the steps comparable to every other step of ``nodes``.

        In any topological order such a step's ancestors come before it and its descendants
        after it, so it is a cut exactly when it is the only sink of the prefix ending with it
        and the only source of the suffix starting with it. The suffixes are only looked at
        from the first prefix with one sink on (the first step is a cut when it is the set's
        only source): most sets of a wide DAG have none, and skip that second pass.
        """
        cuts = [0] if one_source else []  # the first step is a source and its prefix's sink
        if not single_sink:
            return cuts
        stamp, visit = self.stamp, -self.visit
        mark, covered, succs = self.mark, self.covered, self.succs
        # the suffixes from the last step back to single_sink[0]: has each one source?
        single_source: set[int] = set()
        ends = 0
        for i in range(len(nodes) - 1, single_sink[0] - 1, -1):
            ends += 1
            for other in succs[nodes[i]]:
                if mark[other] == stamp and covered[other] != visit:
                    covered[other] = visit
                    ends -= 1
            if ends == 1:
                single_source.add(i)
        return cuts + [i for i in single_sink if i in single_source]

    def _split_at_cuts(self, nodes: list[int], cuts: list[int]) -> Block:
        parts: list[Block] = []
        start = 0
        for cut in cuts:
            if cut > start:
                parts.append(self.decompose(nodes[start:cut]))
            parts.append(Leaf(self.names[nodes[cut]]))
            start = cut + 1
        if start < len(nodes):
            parts.append(self.decompose(nodes[start:]))
        return _series(parts)

    def _inexact_split(self, nodes: list[int]) -> tuple[list[int], list[int]]:
        """Cut a connected set with no cut step between two depth levels, adding fewest waits.

        One pass over the level-ordered steps keeps the sinks of the prefix as binary digits
        and takes them as a bitset at each candidate boundary. A boundary's added waits are,
        for each source of the suffix, the prefix sinks that are not its ancestors: counted
        exactly, boundary by boundary, and given up as soon as they pass the best count so far.
        """
        ordered, boundaries, moved = self._levels(nodes)
        count = len(ordered)
        sampled = len(boundaries) > _MAX_CANDIDATE_CUTS
        if sampled:
            stride = len(boundaries) / _MAX_CANDIDATE_CUTS
            boundaries = [boundaries[int(k * stride)] for k in range(_MAX_CANDIDATE_CUTS)]
        stamp, mark, preds = self.stamp, self.mark, self.preds
        low, high = min(ordered), max(ordered)
        # The prefix's sinks as binary digits, step p at digit high-p: updating a digit is
        # O(1), and the bitset is built only at candidate boundaries.
        sinks = bytearray(b"0" * (high - low + 1))
        masks: list[int] = []
        sources: Sequence[Sequence[int]]  # by boundary, the positions of the suffix's sources
        ends = [*boundaries[1:], count]
        if not sampled and not moved:
            # Every boundary starts a depth level, and a step's predecessors are all in
            # earlier levels, one of them in the level just before: the suffix's sources are
            # the steps of its first level.
            sources = [range(start, end) for start, end in zip(boundaries, ends, strict=True)]
            start = 0
            for end in [*boundaries, count]:  # a level at a time: the prefix is ordered[:end]
                for node in ordered[start:end]:
                    sinks[high - node] = _ONE
                    for other in preds[node]:
                        if mark[other] == stamp:
                            sinks[high - other] = _ZERO
                if end < count:
                    masks.append(int(sinks, 2) << low)
                start = end
        else:
            position = self.position
            # before[i + 1]: how many candidate boundaries are at most i
            before = [0]
            start = 0
            for k, boundary in enumerate(boundaries):
                before += [k] * (boundary - start)
                start = boundary
            before += [len(boundaries)] * (count - start)
            filed: list[list[int]] = [[] for _ in boundaries]
            next_boundary = boundaries[0]
            taken = 0
            for i, node in enumerate(ordered):
                if i == next_boundary:
                    masks.append(int(sinks, 2) << low)
                    taken += 1
                    next_boundary = ends[taken - 1]
                position[node] = i
                sinks[high - node] = _ONE
                latest = -1
                for other in preds[node]:
                    if mark[other] == stamp:
                        sinks[high - other] = _ZERO
                        at = position[other]
                        if at > latest:
                            latest = at
                # a source of the suffix at the boundaries b with latest < b <= i
                for k in range(before[latest + 1], taken):
                    filed[k].append(i)
            sources = filed
        ancestors = self.ancestors
        sizes = [mask.bit_count() for mask in masks]
        best: tuple[int, int, int, int] | None = None
        # the likeliest boundaries first (fewest sources times sinks: a bound on the count)
        for k in sorted(range(len(masks)), key=lambda k: len(sources[k]) * sizes[k]):
            mask, size, boundary = masks[k], sizes[k], boundaries[k]
            bound = count * count if best is None else best[0]
            cost = 0
            for i in sources[k]:
                cost += size - (mask & ancestors[ordered[i]]).bit_count()
                if cost > bound:
                    break
            else:
                key = (cost, abs(2 * boundary - count), boundary, k)
                if best is None or key < best:
                    best = key
        assert best is not None  # a connected set of 2+ nodes has 2+ levels
        boundary, chosen = best[2], masks[best[3]]
        for i in sources[best[3]]:
            node = ordered[i]
            missing = chosen & ~ancestors[node]
            if missing:
                named = self._names(missing, low)
                self.extra_waits.append(ExtraWait(self.names[node], named, missing.bit_count()))
        return ordered[:boundary], ordered[boundary:]

    def _levels(self, nodes: list[int]) -> tuple[list[int], list[int], bool]:
        """The nodes ordered by (longest-path depth in the set, position in ``nodes``), steps
        that must stay last after the deepest level; where each level starts but the first;
        and whether a step was moved last."""
        level = self.level
        deepest = max(map(level.__getitem__, nodes))
        moved = False
        if self.keep:
            stamp, mark, succs = self.stamp, self.mark, self.succs
            # (the set's own: a component shares its stamp with the rest of its set)
            for node in itertools.compress(nodes, map(self.keep_flag.__getitem__, nodes)):
                if not any(mark[s] == stamp for s in succs[node]):
                    level[node] = deepest + 1
                    moved = True
        # a stable sort (within a level, the order of ``nodes``), in C; a set taken from a
        # level order is already sorted
        ordered = sorted(nodes, key=level.__getitem__)
        depths = list(map(level.__getitem__, ordered))
        starts = (bisect.bisect_left(depths, depth) for depth in range(1, depths[-1] + 1))
        boundaries = sorted(set(starts))  # a level that steps moved last left empty: once
        return ordered, boundaries, moved

    def _names(self, mask: int, low: int) -> tuple[str, ...]:
        """The first ``NAMED_WAITS`` steps whose bits are set in ``mask`` (none below
        ``low``), in topological order."""
        mask >>= low
        lowest = (mask & -mask).bit_length() - 1
        mask >>= lowest
        low += lowest
        # Only the low bits that hold the first names are written out in binary.
        width = 256
        while width < mask.bit_length():
            window = mask & ((1 << width) - 1)
            if window.bit_count() >= NAMED_WAITS:
                mask = window
                break
            width *= 4
        # The binary digits lowest first, cut after each of the first ones: a piece's end is
        # a one's position, as a running sum of the pieces' lengths (no Python loop).
        pieces = bin(mask)[:1:-1].replace("1", "1,", NAMED_WAITS).split(",", NAMED_WAITS)
        pieces.pop()
        positions = list(itertools.accumulate(map(len, pieces), initial=low - 1))
        if len(positions) == 2:
            return (self.names[positions[1]],)
        return operator.itemgetter(*positions[1:])(self.names)  # type: ignore[no-any-return]


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
