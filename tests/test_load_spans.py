"""The nodes the object hook records for each step (frontends/sagemaker.py ``_Made``) are
exactly those a walk of the step's values finds, in the same order, or are not used."""

from __future__ import annotations

import codecs
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeglot.frontends import sagemaker
from pipeglot.ir.expressions import collect_expressions
from pipeglot.ir.graph import step_values

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from generate import pipeline

CORPUS = Path("/work/shared/corpus/sagemaker")


def _read_steps(text: str) -> tuple[sagemaker._Reader, bool]:
    """The reader after reading the steps (before validation walks any), and whether the
    hook's record was trusted."""
    data = text.encode("utf-8", "surrogatepass")
    pairs = sagemaker._check_nesting(text, data)
    made = sagemaker._Made()
    document = sagemaker._parse_json(text, made.hook)
    trusted = made.pairs() == pairs
    reader = sagemaker._Reader(made if trusted else None)
    reader._step_list(document["Steps"], "/Steps")
    return reader, trusted


def _taken(text: str) -> int:
    """How many steps took their nodes from the hook's record; each must be the walk's."""
    reader, _ = _read_steps(text)
    taken = 0
    for step in reader.steps:
        if step._expressions is not None:
            taken += 1
            assert step._expressions == collect_expressions(tuple(step_values(step)), [])
    return taken


def _step(name: str, arguments: Any, **keys: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Processing", "Arguments": arguments, **keys}


def _get(reference: str) -> dict[str, str]:
    return {"Get": reference}


def _document(*steps: dict[str, Any]) -> str:
    parameters = [{"Name": "P", "Type": "String", "DefaultValue": "x"}]
    return json.dumps({"Version": "2020-12-01", "Parameters": parameters, "Steps": list(steps)})


def test_generated_pipelines_take_the_recorded_nodes() -> None:
    text = json.dumps(pipeline(300, seed=1), indent=2)
    assert _taken(text) > 250  # all but the first of each list and the Conditions


@pytest.mark.parametrize("path", sorted(CORPUS.glob("**/*.json")), ids=lambda p: p.name)
def test_corpus_recorded_nodes_are_the_walked_ones(path: Path) -> None:
    text = path.read_bytes().decode("utf-8-sig")
    with contextlib.suppress(sagemaker.InputError):  # an invalid one: pinned elsewhere
        _taken(text)


def test_nested_expressions_keep_the_walk_order() -> None:
    inner = {"Std:Join": {"On": "-", "Values": ["a", _get("Execution.PipelineExecutionId")]}}
    join = {"Std:Join": {"On": "/", "Values": [_get("Parameters.P"), inner, "b"]}}
    json_get = {"Std:JsonGet": {"S3Uri": join, "Path": "a.b"}}
    file_get = {"Std:JsonGet": {"PropertyFile": _get("Steps.A.PropertyFiles.F"), "Path": "x"}}
    steps = [
        _step("A", {"X": _get("Parameters.P")}),
        _step("B", {"Z": [json_get, {"K": file_get}], "Y": join, "W": _get("Steps.A.Name")}),
        _step("C", [join, _get("Parameters.P")]),
    ]
    assert _taken(_document(*steps)) == 2
    reader, _ = _read_steps(_document(*steps))
    kinds = [type(node).__name__ for node in reader.steps[1]._expressions or []]
    assert kinds[:6] == ["JsonGet", "Join", "ParameterRef", "Join", "ExecutionVariable", "JsonGet"]


@pytest.mark.parametrize(
    "keys",
    [
        {"DisplayName": _get("Parameters.P")},
        {"Description": {"Std:Join": {"On": "", "Values": [_get("Parameters.P")]}}},
        {"CacheConfig": {"Enabled": True, "ExpireAfter": _get("Parameters.P")}},
        {"CacheConfig": {"Enabled": True, "Other": _get("Parameters.P")}},
        {"RetryPolicies": [{"ExceptionType": ["X"], "MaxAttempts": _get("Parameters.P")}]},
        {"OutputParameters": [{"OutputName": "o", "OutputType": _get("Parameters.P")}]},
        {
            "PropertyFiles": [
                {
                    "PropertyFileName": "F",
                    "OutputName": "o",
                    "FilePath": "f",
                    "Other": _get("Parameters.P"),
                }
            ]
        },
        {"Unknown": _get("Parameters.P")},
        {"FunctionArn": _get("Parameters.P")},
    ],
)
def test_nodes_outside_the_arguments_are_walked(keys: dict[str, Any]) -> None:
    """Nodes in any other value of the step: the walk, which visits the arguments first."""
    first = _step("A", {"X": _get("Parameters.P")})
    second = {**_step("B", {"X": _get("Steps.A.Name")}), **keys}
    reader, trusted = _read_steps(_document(first, second))
    assert trusted
    assert reader.steps[1]._expressions is None


def test_a_duplicate_key_that_drops_nodes_is_not_trusted() -> None:
    """The first value of a repeated key is dropped, with the nodes made for it."""
    first = _step("A", {"X": _get("Parameters.P")})
    text = _document(first, _step("B", {"X": "y"})).replace(
        '"X": "y"', '"X": {"Get": "Steps.Nowhere.Name"}, "X": "y"'
    )
    reader, trusted = _read_steps(text)
    assert not trusted
    assert all(step._expressions is None for step in reader.steps)
    workflow = sagemaker.load(text)  # the dropped reference is not read (no such step)
    assert workflow.steps[1].arguments == {"X": "y"}
    assert workflow._edge_rows == ()


def test_colons_in_strings_and_escaped_quotes_are_not_pairs() -> None:
    text = _document(_step("A", {"X": 'a:b\\":{"c": 1}', "Y": "s3://x:y"}))
    data = text.encode()
    document = json.loads(text)
    pairs = sum(len(o) for o in _objects(document))
    assert sagemaker._check_nesting(text, data) == pairs
    unescaped = _document(_step("A", {"X": "a:b:{c}", "Y": "s3://x:y"}))
    assert sagemaker._check_nesting(unescaped, unescaped.encode()) == pairs


def _objects(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value, *(o for item in value.values() for o in _objects(item))]
    if isinstance(value, list):
        return [o for item in value for o in _objects(item)]
    return []


@pytest.mark.parametrize(
    "text", ['{"Steps": []}', '{"A": "caf\\u00e9 \u00e9 \U0001f600", "Steps": [1]}', " \n{}"]
)
def test_bytes_are_their_own_encoding(text: str) -> None:
    for source in (text.encode(), codecs.BOM_UTF8 + text.encode()):
        decoded = sagemaker._decode(source)
        assert sagemaker._encoded(source, decoded) == decoded.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("text", ["", " ", "\n\t \r", "\u3000\u2028", "\ufeff", " x ", "\n{}\n"])
def test_an_empty_input_is_told_as_strip_tells_it(text: str) -> None:
    for source in (text, text.encode()):
        decoded = source if isinstance(source, str) else source.decode("utf-8-sig")
        if decoded.strip():
            assert sagemaker._decode(source) == decoded
        else:
            with pytest.raises(sagemaker.InputError, match="the input is empty"):
                sagemaker._decode(source)


_REFERENCES = st.sampled_from(
    ["Parameters.P", "Execution.PipelineExecutionId", "Steps.A.Name", "Steps.A.PropertyFiles.F"]
)
_GETS = _REFERENCES.map(_get)
_LEAVES = st.one_of(st.text(max_size=3), st.integers(), st.none(), st.booleans(), _GETS)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "Arguments", "Get"]), inner, max_size=3),
        st.lists(inner, max_size=3).map(lambda v: {"Std:Join": {"On": ",", "Values": v}}),
        inner.map(lambda v: {"Std:JsonGet": {"S3Uri": v, "Path": "p"}}),
        st.just({"Std:JsonGet": {"PropertyFile": _get("Steps.A.PropertyFiles.F"), "Path": "p"}}),
    ),
    max_leaves=12,
)
_STEP_KEYS = st.dictionaries(
    st.sampled_from(["DisplayName", "Description", "CacheConfig", "Unknown", "FunctionArn"]),
    _VALUES,
    max_size=2,
)


@given(st.lists(st.tuples(_VALUES, _STEP_KEYS), min_size=1, max_size=4))
def test_recorded_nodes_of_any_arguments_are_the_walked_ones(steps: list[Any]) -> None:
    """Any values where nodes may be, in the arguments and beside them: what the reader takes
    from the record is what a walk finds (a definition it rejects has nothing to compare)."""
    first = {**_step("A", {"X": 1}), "PropertyFiles": [
        {"PropertyFileName": "F", "OutputName": "o", "FilePath": "f"}]}  # fmt: skip
    others = [  # the other keys after the arguments, or before them
        {**_step(f"S{i}", arguments), **keys} if i % 2 else {**keys, **_step(f"S{i}", arguments)}
        for i, (arguments, keys) in enumerate(steps)
    ]
    with contextlib.suppress(sagemaker.InputError):
        _taken(_document(first, *others))
