"""The Airflow emitter's step graph (its own adjacency dicts and transitive reduction) against
ir.graph's networkx graph and reduction, and the provenance block's DependsOn from the
emitter's reduction against the one it finds on its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pipeglot import load, provenance
from pipeglot.backends.airflow.emitter import Emitter
from pipeglot.backends.airflow.profiles import profile_for
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.graph import _transitive_reduction, build_graph, topological_order

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path("/work/shared/corpus/sagemaker")
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import pipeline  # noqa: E402


def _sources() -> list[tuple[str, str]]:
    found = [(path.name, path.read_text()) for path in sorted(CORPUS.glob("**/*.json"))]
    for size, seed in ((60, 0), (300, 1), (300, 2)):
        found.append((f"generated-{size}-{seed}", json.dumps(pipeline(size, seed=seed))))
    return found


SOURCES = _sources()


def _workflows():
    for name, text in SOURCES:
        try:
            workflow = load(text, unsupported="ignore")
        except Exception:
            continue
        try:
            emitter = Emitter(workflow, Diagnostics(), profile_for("3"))
        except Exception:
            continue
        yield name, workflow, emitter


def test_sources_found() -> None:
    assert len(SOURCES) > 20


def test_order_and_drawn_edges_are_the_networkx_graph_s() -> None:
    checked = reduced_out = 0
    for name, workflow, emitter in _workflows():
        graph = build_graph(workflow, None).copy()
        assert emitter.order == topological_order(workflow, graph), name
        reduction = _transitive_reduction(graph)
        assert emitter.reduced == reduction, name
        position = {step: index for index, step in enumerate(emitter.order)}
        drawn: dict[str, set[str]] = {}
        for source, target in reduction:
            drawn.setdefault(source, set()).add(target)
        for step in workflow.steps:
            if step.if_steps or step.else_steps:
                drawn.setdefault(step.name, set()).update((*step.if_steps, *step.else_steps))
        for step in workflow.steps:
            expected = sorted(drawn.get(step.name, ()), key=position.__getitem__)
            assert emitter.successors(step.name) == expected, (name, step.name)
        checked += 1
        reduced_out += graph.number_of_edges() - len(reduction)
    assert checked > 20
    assert reduced_out > 0  # some edge was left out by the reduction


@pytest.mark.parametrize("target", ["airflow", "kfp-yaml"])
def test_depends_on_from_the_emitter_s_reduction(target: str) -> None:
    losses = provenance.LOSSES[target]
    kept = 0
    for name, workflow, emitter in _workflows():
        alone = provenance._depends_on(workflow, losses)
        assert provenance._depends_on(workflow, losses, emitter.reduced) == alone, name
        implied = provenance._implied_dependencies(workflow)
        from_reduction = {
            (dependency, step.name)
            for step in workflow.steps
            for dependency in step.depends_on or ()
            if workflow.has_step(dependency) and (dependency, step.name) not in emitter.reduced
        }
        assert from_reduction == implied, name
        kept += len(implied)
    assert kept > 0  # some DependsOn is implied by another path


def test_dump_passes_the_reduction() -> None:
    """The Airflow export's text is the same with the reduction passed as without it."""
    from pipeglot import dump

    calls = []
    original = provenance.declared

    def spy(workflow, losses, reduced=None):
        calls.append(reduced)
        return original(workflow, losses, reduced)

    workflow = load(json.dumps(pipeline(120, seed=3)), unsupported="ignore")
    provenance.declared = spy
    try:
        text = dump(workflow, write="airflow", unsupported="ignore")
    finally:
        provenance.declared = original
    assert calls and calls[0] is not None
    block = provenance.declared(workflow, provenance.LOSSES["airflow"])
    assert json.dumps(block, sort_keys=True, default=str) == json.dumps(
        original(workflow, provenance.LOSSES["airflow"], calls[0]), sort_keys=True, default=str
    )
    assert text
