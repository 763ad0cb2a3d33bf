"""The shortcuts that make reading a SageMaker definition fast give the slow paths' answers."""

from __future__ import annotations

import dataclasses
import gc
import json
from itertools import accumulate
from pathlib import Path

import networkx as nx
from hypothesis import given
from hypothesis import strategies as st

import pipeglot
from pipeglot.frontends import sagemaker
from pipeglot.ir.expressions import collect_expressions
from pipeglot.ir.graph import (
    EdgeOrigin,
    build_graph,
    edges,
    reduced_edges,
    step_edges,
    step_expressions,
    step_values,
    topological_order,
)
from pipeglot.ir.model import Step, StepKind, Workflow
from pipeglot.ir.validate import MAX_NESTING, validate

FIXTURES = Path(__file__).parent / "fixtures"
_DEPTH = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _exact_depth(brackets: bytes) -> int:
    return max(accumulate(map(_DEPTH.__getitem__, brackets)), default=0)


def _nested(depth: int, kinds: str) -> str:
    """Balanced brackets nested ``depth`` deep, the kinds of bracket taken in turn."""
    opening = "".join(kinds[i % len(kinds)] for i in range(depth))
    return opening + opening[::-1].translate(str.maketrans("[{", "]}"))


# Balanced bracket sequences of any depth and shape, and unbalanced ones.
_BRACKETS = st.recursive(
    st.just(""),
    lambda inner: st.one_of(
        st.builds(lambda a, b: a + b, inner, inner),
        inner.map(lambda s: "[" + s + "]"),
        inner.map(lambda s: "{" + s + "}"),
    ),
    max_leaves=60,
)


@given(_BRACKETS, st.sampled_from(["", "[", "}", "]["]))
def test_peeling_says_shallow_only_when_the_exact_count_agrees(brackets: str, noise: str) -> None:
    data = (brackets + noise).encode()
    if sagemaker._shallow(data):
        assert _exact_depth(data) <= MAX_NESTING


def test_peeling_decides_at_the_limit_and_leaves_deeper_to_the_exact_count() -> None:
    for kinds in ("[", "{", "[{", "{[", "[[{"):
        assert sagemaker._shallow(_nested(MAX_NESTING // 2, kinds).encode())
        assert not sagemaker._shallow(_nested(MAX_NESTING + 1, kinds).encode())


def test_step_expressions_are_kept_on_the_step_and_a_changed_copy_finds_its_own() -> None:
    workflow = pipeglot.load(FIXTURES.joinpath("every-step-type.json").read_bytes())
    for step in workflow.steps:
        fresh: list[object] = []
        for value in step_values(step):
            collect_expressions(value, fresh)
        assert step_expressions(step) == fresh
        assert step_expressions(step) is step_expressions(step)  # walked once
    first = next(step for step in workflow.steps if step_expressions(step))
    changed = dataclasses.replace(first, arguments={}, display_name="plain")
    assert changed._expressions is None
    assert changed == dataclasses.replace(changed)  # the kept list takes no part in equality


def test_reading_builds_no_graph_and_a_cycle_is_still_reported_with_its_steps() -> None:
    steps = [{"Name": n, "Type": "Fail", "Arguments": {}} for n in "ABC"]
    steps[0]["Type"] = steps[1]["Type"] = "Lambda"
    for step in steps[:2]:
        step["FunctionArn"] = "arn:aws:lambda:us-east-1:111111111111:function:f"
    definition = {"Version": "2020-12-01", "Steps": steps[:2]}
    workflow = pipeglot.load(json.dumps(definition))
    assert workflow._graph is None
    assert topological_order(workflow) == ["A", "B"] and workflow._graph is build_graph(workflow)
    steps[0]["DependsOn"], steps[1]["DependsOn"] = ["B"], ["A"]
    try:
        pipeglot.load(json.dumps(definition))
    except pipeglot.InputError as error:
        assert "the steps form a cycle: 'A' -> 'B' (DependsOn), 'B' -> 'A' (DependsOn)" in str(
            error
        )
    else:
        raise AssertionError("a cycle was accepted")


# Random DAGs over steps 0..n-1: an edge only from a lower to a higher number, in any order.
_DAGS = st.integers(min_value=1, max_value=14).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40),
        st.permutations(range(n)),
    )
)


@given(_DAGS)
def test_the_graph_shortcuts_agree_with_networkx(
    dag: tuple[int, list[tuple[int, int]], list[int]],
) -> None:
    _, pairs, document_order = dag
    names = [f"S{i}" for i in document_order]  # document order differs from the edge order
    parents: dict[str, list[str]] = {name: [] for name in names}
    for a, b in pairs:
        if a < b:
            parents[f"S{b}"].append(f"S{a}")
    steps = [
        Step(name=name, kind=StepKind.FAIL, type_name="Fail", depends_on=tuple(parents[name]))
        for name in names
    ]
    workflow = Workflow(steps=tuple(steps))
    graph = build_graph(workflow)
    # Built as networkx's own methods build it: the same dicts, in the same order.
    origins: dict[tuple[str, str], list[EdgeOrigin]] = {}
    for edge in edges(workflow):
        origins.setdefault((edge.source, edge.target), []).append(edge.origin)
    expected_graph = nx.DiGraph()
    expected_graph.add_nodes_from(names)
    expected_graph.add_edges_from((a, b, {"origins": tuple(o)}) for (a, b), o in origins.items())
    assert list(graph.nodes(data=True)) == list(expected_graph.nodes(data=True))
    for view in ("succ", "pred"):
        assert [(node, list(near.items())) for node, near in getattr(graph, view).items()] == [
            (node, list(near.items())) for node, near in getattr(expected_graph, view).items()
        ]
    position = {name: index for index, name in enumerate(names)}
    expected = list(nx.lexicographical_topological_sort(graph, key=position.__getitem__))
    assert topological_order(workflow) == expected
    reduced = {(edge.source, edge.target) for edge in reduced_edges(workflow)}
    assert reduced == set(nx.transitive_reduction(graph).edges)
    assert len(reduced) == len(reduced_edges(workflow))  # each kept pair once


def test_a_read_workflow_leaves_no_collection_pending_and_the_collector_as_it_was() -> None:
    steps = [
        {"Name": f"S{i}", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}} for i in range(500)
    ]
    text = json.dumps({"Version": "2020-12-01", "Steps": steps})
    gc.collect()
    assert gc.isenabled()
    collections = [generation["collections"] for generation in gc.get_stats()]
    workflow = pipeglot.load(text)
    # What reading built went to the oldest generation: resuming scanned none of it.
    assert [generation["collections"] for generation in gc.get_stats()] == collections
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert gc.get_count()[0] < 100, gc.get_count()
    assert workflow.steps
    gc.disable()
    try:
        pipeglot.load(text)
        assert not gc.isenabled()
    finally:
        gc.enable()
    try:
        pipeglot.load(b'{"Steps": [{"Name": "A"}]}')
    except pipeglot.InputError:
        assert gc.isenabled()
    else:
        raise AssertionError("a step without a Type was accepted")


def test_reading_makes_no_edge_objects_and_the_remembered_rows_are_the_edges() -> None:
    workflow = pipeglot.load(FIXTURES.joinpath("every-step-type.json").read_bytes())
    assert workflow._edges is None and workflow._edge_rows
    graph = build_graph(workflow)  # from the rows
    walked = tuple(edge for step in workflow.steps for edge in step_edges(step))
    assert edges(workflow) == walked and workflow._edges == walked
    assert validate(workflow) == walked
    fresh = dataclasses.replace(workflow)
    assert fresh._edge_rows is None and fresh._edges is None
    assert list(build_graph(fresh).edges(data=True)) == list(graph.edges(data=True))
