"""The series-parallel structure (``backends/asl/structure``) against a plain reference.

``structure`` works on positions, stamps, bitsets over the whole DAG and a one-pass sweep with
pruning; the reference below does the same decomposition the obvious way (sets, ancestors by
search, every candidate cut counted in full), so each test can fail on a wrong block, a wrong
wait count or a wrong name. The DAGs are random (and deep enough to sample the candidate
boundaries), with Fail-like sinks kept last.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import pytest

from pipeglot.backends.asl import structure
from pipeglot.backends.asl.structure import ExtraWait, Leaf, Parallel, Series

Graph = tuple[list[str], dict[str, list[str]], dict[str, list[str]], set[str]]


def _graph(
    edges: Sequence[tuple[str, str]], nodes: Sequence[str], rng: random.Random | None = None
) -> tuple[list[str], dict[str, list[str]], dict[str, list[str]]]:
    """A topological order (random among the valid ones if ``rng``), and the edge maps."""
    predecessors: dict[str, list[str]] = {n: [] for n in nodes}
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in edges:
        predecessors[target].append(source)
        successors[source].append(target)
    waiting = {n: len(predecessors[n]) for n in nodes}
    ready = [n for n in nodes if not waiting[n]]
    order = []
    while ready:
        node = ready.pop(rng.randrange(len(ready)) if rng else 0)
        order.append(node)
        for successor in successors[node]:
            waiting[successor] -= 1
            if not waiting[successor]:
                ready.append(successor)
    assert len(order) == len(nodes)
    return order, predecessors, successors


def _random_graph(rng: random.Random, size: int, density: float) -> Graph:
    nodes = [f"n{i}" for i in range(size)]
    edges = [(nodes[i], nodes[j]) for j in range(size) for i in range(j) if rng.random() < density]
    order, predecessors, successors = _graph(edges, nodes, rng)
    keep = {n for n in nodes if not successors[n] and rng.random() < 0.3}
    return order, predecessors, successors, keep


def _layered(rng: random.Random, layers: int, width: int, reads: int = 2) -> Graph:
    """Each step reads ``reads`` steps of the layer before: not series-parallel."""
    grid = [[f"s{layer}_{i}" for i in range(width)] for layer in range(layers)]
    edges = [
        (rng.choice(grid[layer - 1]), node)
        for layer in range(1, layers)
        for node in grid[layer]
        for _ in range(reads)
    ]
    nodes = [n for row in grid for n in row]
    order, predecessors, successors = _graph(list(dict.fromkeys(edges)), nodes, rng)
    return order, predecessors, successors, set()


def _crossed_chains(length: int, crossings: int, rng: random.Random) -> Graph:
    """Two chains with edges between them: as many depth levels as steps in a chain, more
    than the candidate boundaries the structure evaluates, so it samples them."""
    xs = [f"x{i}" for i in range(length)]
    ys = [f"y{i}" for i in range(length)]
    edges = list(itertools.pairwise(xs)) + list(itertools.pairwise(ys))
    for _ in range(crossings):
        i = rng.randrange(length - 2)
        a, b = (xs, ys) if rng.random() < 0.5 else (ys, xs)
        edges.append((a[i], b[i + 2]))
    order, predecessors, successors = _graph(list(dict.fromkeys(edges)), xs + ys, rng)
    return order, predecessors, successors, {xs[-1]}


# --- the reference ----------------------------------------------------------------------


def reference(graph: Graph) -> tuple[structure.Block | None, list[ExtraWait]]:
    order, predecessors, successors, keep = graph
    rank = {node: i for i, node in enumerate(order)}
    waits: list[ExtraWait] = []

    def reached(node: str, inside: set[str], neighbours: dict[str, list[str]]) -> set[str]:
        found: set[str] = set()
        stack = [node]
        while stack:
            for other in neighbours[stack.pop()]:
                if other in inside and other not in found:
                    found.add(other)
                    stack.append(other)
        return found

    def ancestors(node: str, inside: set[str]) -> set[str]:
        return reached(node, inside, predecessors)

    def descendants(node: str, inside: set[str]) -> set[str]:
        return reached(node, inside, successors)

    def components(nodes: list[str], inside: set[str]) -> list[list[str]]:
        label: dict[str, int] = {}
        for node in nodes:
            if node in label:
                continue
            label[node] = len(label)
            stack = [node]
            while stack:
                current = stack.pop()
                for other in predecessors[current] + successors[current]:
                    if other in inside and other not in label:
                        label[other] = label[node]
                        stack.append(other)
        groups: dict[int, list[str]] = {}
        for node in nodes:
            groups.setdefault(label[node], []).append(node)
        return list(groups.values())

    def series(parts: list[structure.Block]) -> structure.Block:
        flat = [p for part in parts for p in (part.parts if isinstance(part, Series) else [part])]
        return flat[0] if len(flat) == 1 else Series(tuple(flat))

    def decompose(nodes: list[str], connected: bool = False) -> structure.Block:
        if len(nodes) == 1:
            return Leaf(nodes[0])
        inside = set(nodes)
        if not connected:
            parts = components(nodes, inside)
            if len(parts) > 1:
                branches = [decompose(part, True) for part in parts]
                flat = [
                    b
                    for br in branches
                    for b in (br.branches if isinstance(br, Parallel) else [br])
                ]
                return Parallel(tuple(flat))
        cuts = [
            i
            for i, node in enumerate(nodes)
            if len(ancestors(node, inside)) + len(descendants(node, inside)) == len(nodes) - 1
        ]
        if cuts:
            blocks: list[structure.Block] = []
            start = 0
            for cut in cuts:
                if cut > start:
                    blocks.append(decompose(nodes[start:cut]))
                blocks.append(Leaf(nodes[cut]))
                start = cut + 1
            if start < len(nodes):
                blocks.append(decompose(nodes[start:]))
            return series(blocks)
        level: dict[str, int] = {}
        for node in nodes:
            level[node] = max((level[p] + 1 for p in predecessors[node] if p in inside), default=0)
        deepest = max(level.values())
        for node in nodes:
            if node in keep and not any(s in inside for s in successors[node]):
                level[node] = deepest + 1
        ordered = sorted(nodes, key=lambda n: (level[n], nodes.index(n)))
        count = len(ordered)
        boundaries = [i for i in range(1, count) if level[ordered[i]] != level[ordered[i - 1]]]
        if len(boundaries) > 64:
            stride = len(boundaries) / 64
            boundaries = [boundaries[int(k * stride)] for k in range(64)]
        best = None
        for boundary in boundaries:
            prefix, suffix = set(ordered[:boundary]), set(ordered[boundary:])
            sinks = {p for p in prefix if not any(s in prefix for s in successors[p])}
            sources = [
                q for q in ordered[boundary:] if not any(p in suffix for p in predecessors[q])
            ]
            missing = {q: sinks - ancestors(q, inside) for q in sources}
            cost = sum(len(m) for m in missing.values())
            key = (cost, abs(2 * boundary - count), boundary)
            if best is None or key < best[0]:
                best = (key, missing, sources)
        assert best is not None
        (_, _, boundary), missing, sources = best
        for q in sources:
            if missing[q]:
                named = tuple(sorted(missing[q], key=rank.__getitem__)[: structure.NAMED_WAITS])
                waits.append(ExtraWait(q, named, len(missing[q])))
        return series([decompose(ordered[:boundary]), decompose(ordered[boundary:])])

    if not order:
        return None, []
    return decompose(list(order)), waits


# --- checks -----------------------------------------------------------------------------


def _run(graph: Graph) -> tuple[structure.Block | None, list[ExtraWait]]:
    order, predecessors, successors, keep = graph
    return structure.structure(order, predecessors, successors, keep_last=keep.__contains__)


def _finishes_before(block: structure.Block) -> set[tuple[str, str]]:
    """Pairs (a, b) such that the block tree makes b start only after a finished."""
    pairs: set[tuple[str, str]] = set()
    stack = [block]
    while stack:
        item = stack.pop()
        if isinstance(item, Leaf):
            continue
        children = item.parts if isinstance(item, Series) else item.branches
        stack.extend(children)
        if isinstance(item, Series):
            done: list[str] = []
            for child in children:
                steps = list(structure.steps_in(child))
                pairs.update((a, b) for a in done for b in steps)
                done += steps
    return pairs


def _check(graph: Graph) -> list[ExtraWait]:
    """The structure equals the reference's; every edge is respected, every wait is an added
    ordering, and kept-last steps are followed by nothing."""
    order, predecessors, _, keep = graph
    block, waits = _run(graph)
    assert (block, waits) == reference(graph)
    assert block is not None
    assert sorted(structure.steps_in(block)) == sorted(order)
    implied = _finishes_before(block)
    edges = {(p, n) for n in order for p in predecessors[n]}
    assert edges <= implied
    for wait in waits:
        assert len(wait.waits_for) == min(wait.count, structure.NAMED_WAITS)
        for other in wait.waits_for:
            assert (other, wait.step) in implied and (other, wait.step) not in edges
    assert not any(a in keep for a, _ in implied)
    return waits


@pytest.mark.parametrize("seed", range(300))
def test_random_dags_match_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    _check(_random_graph(rng, rng.randint(1, 40), rng.choice([0.05, 0.1, 0.2, 0.4])))


@pytest.mark.parametrize("seed", range(5))
def test_layered_dags_match_the_reference(seed: int) -> None:
    """Wide and not series-parallel: many inexact cuts, waits with more names than listed."""
    rng = random.Random(seed)
    waits = _check(_layered(rng, layers=8, width=30))
    assert waits and sum(w.count for w in waits) > len(waits)


@pytest.mark.parametrize("seed", range(3))
def test_deep_dags_sample_the_candidate_cuts_and_match_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    _check(_crossed_chains(length=90, crossings=12, rng=rng))


def test_many_waits_name_the_first_ones_in_topological_order() -> None:
    """A complete bipartite layer minus one edge per step: each step waits for one step it
    does not read, and wider layers name only the first ``NAMED_WAITS``."""
    width = structure.NAMED_WAITS + 20
    tops = [f"t{i:03d}" for i in range(width)]
    middles = [f"m{i:03d}" for i in range(width)]
    bottoms = [f"b{i:03d}" for i in range(width)]
    # every middle reads every top but its own; every bottom reads only its middle, and a
    # final step reads two bottoms: the cut between tops and middles adds one wait each
    edges = [(t, m) for i, m in enumerate(middles) for j, t in enumerate(tops) if i != j]
    edges += list(zip(middles, bottoms, strict=True))
    edges += [(bottoms[0], "end"), (bottoms[1], "end"), (tops[5], "end")]
    order, predecessors, successors = _graph(edges, tops + middles + bottoms + ["end"])
    graph = (order, predecessors, successors, set())
    waits = _check(graph)
    by_step = {w.step: w for w in waits}
    assert all(by_step[m].count >= 1 for m in middles)
    wide = max(waits, key=lambda w: w.count)
    if wide.count > structure.NAMED_WAITS:
        rank = {n: i for i, n in enumerate(order)}
        assert list(wide.waits_for) == sorted(wide.waits_for, key=rank.__getitem__)


def test_two_chains_with_one_crossing_edge_get_one_wait() -> None:
    xs = [f"x{i}" for i in range(200)]
    ys = [f"y{i}" for i in range(200)]
    edges = list(itertools.pairwise(xs)) + list(itertools.pairwise(ys)) + [("x99", "y100")]
    order, predecessors, successors = _graph(edges, xs + ys)
    waits = _check((order, predecessors, successors, set()))
    assert sum(w.count for w in waits) == 1


def test_the_benchmark_sized_layered_dag_is_linear_in_calls() -> None:
    """Python calls per step stay flat from 1,000 to 4,000 steps of a 20-level layered DAG
    (every level split inexactly): no work per step per level in Python."""
    import cProfile
    import pstats

    def calls_per_step(width: int) -> float:
        graph = _layered(random.Random(3), layers=20, width=width)
        profile = cProfile.Profile()
        profile.runcall(_run, graph)
        return pstats.Stats(profile).total_calls / (20 * width)  # type: ignore[attr-defined]

    small, large = calls_per_step(50), calls_per_step(200)
    assert large < small * 1.15, (small, large)
