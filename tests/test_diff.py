"""``pipeglot diff``: order never matters, every single-field edit is found and named.

Over every definition we have: the definition against itself with its steps, parameters,
branch lists and every object's keys shuffled is equal; one scalar changed in a step's
arguments, one parameter default changed, one DependsOn added or one step removed is reported
as exactly that change. Golden text and JSON pin what a user reads; a definition against its
own Step Functions and Airflow translations, read back, shows the diff works across formats.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, FIXTURES, PIPEGLOT, ROOT, all_definitions

import pipeglot
from pipeglot.diff import diff, format_text
from pipeglot.ir.graph import build_graph, topological_order

ABALONE = EXAMPLES / "abalone.json"
EDITED = FIXTURES / "diff" / "abalone-edited.json"
GOLDEN = ROOT / "tests" / "golden" / "diff"
_EXPRESSION_KEYS = {"Get", "Std:Join", "Std:JsonGet"}


def _load(document: dict[str, Any]) -> pipeglot.ir.Workflow:
    return pipeglot.load(json.dumps(document))


def _shuffled(value: Any, rng: random.Random) -> Any:
    """Every object's keys in a random order; lists whose order SageMaker ignores shuffled."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        out = {}
        for key, item in items:
            item = _shuffled(item, rng)
            if key in ("Steps", "IfSteps", "ElseSteps", "Parameters", "DependsOn"):
                rng.shuffle(item)
            out[key] = item
        return out
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


@pytest.mark.parametrize("path", all_definitions())
def test_a_definition_with_steps_and_keys_shuffled_is_equal(path: Path) -> None:
    document = json.loads(path.read_bytes())
    shuffled = _shuffled(document, random.Random(path.name))
    assert json.dumps(shuffled) != json.dumps(document)  # the shuffle did something
    result = diff(_load(document), _load(shuffled))
    assert result.equal, format_text(result, "original", "shuffled")


def _dict_leaf(value: Any, keys: tuple[str, ...] = ()) -> tuple[tuple[str, ...], Any] | None:
    """The first scalar reached through objects only (no lists, no expressions)."""
    if isinstance(value, dict) and not (_EXPRESSION_KEYS & value.keys()):
        for key, item in value.items():
            if key.isidentifier():
                found = _dict_leaf(item, (*keys, key))
                if found is not None:
                    return found
        return None
    if isinstance(value, str | int | float | bool) and keys:
        return keys, value
    return None


def _edited(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return f"{value}-edited"


def _step_with_leaf(document: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...], Any]:
    for step in document["Steps"]:
        found = _dict_leaf(step.get("Arguments"))
        if found is not None:
            return step, *found
    pytest.fail("no step has a scalar argument to edit")


@pytest.mark.parametrize("path", all_definitions())
def test_one_edited_argument_is_found_and_named(path: Path) -> None:
    document = json.loads(path.read_bytes())
    edited = copy.deepcopy(document)
    step, keys, old = _step_with_leaf(edited)
    target = step["Arguments"]
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = _edited(old)

    result = diff(_load(document), _load(edited))

    assert not result.equal
    [changed] = result.steps.changed
    assert changed.name == step["Name"]
    [change] = changed.changes
    assert (change.path, change.old, change.new) == (
        "arguments." + ".".join(keys),
        old,
        _edited(old),
    )
    assert not (result.steps.added or result.steps.removed or result.added_edges)
    assert result.parameters.empty and not result.pipeline


@pytest.mark.parametrize("path", all_definitions())
def test_a_parameter_default_an_edge_and_a_removed_step_are_found(path: Path) -> None:
    document = json.loads(path.read_bytes())
    original = _load(document)
    edited = copy.deepcopy(document)
    expected_parameters = _edit_a_default(edited)
    expected_edge = _add_a_dependency(edited, original)
    removed = _remove_a_sink(edited, original, keep=expected_edge[1] if expected_edge else None)

    result = diff(original, _load(edited))

    assert [c.name for c in result.parameters.changed] == expected_parameters
    for change in result.parameters.changed:
        assert [c.path for c in change.changes] == ["default"]
    added = {(e.source, e.target, e.origin) for e in result.added_edges}
    assert added == ({expected_edge} if expected_edge else set())
    assert [s.name for s in result.steps.removed] == ([removed] if removed else [])
    if removed:
        assert {e.target for e in result.removed_edges} <= {removed}
    assert result.equal == (not (expected_parameters or expected_edge or removed))


def _edit_a_default(document: dict[str, Any]) -> list[str]:
    for parameter in document.get("Parameters", []):
        if isinstance(parameter.get("DefaultValue"), str):
            parameter["DefaultValue"] += "-edited"
            return [parameter["Name"]]
    return []


def _add_a_dependency(document: dict[str, Any], workflow: Any) -> tuple[str, str, str] | None:
    """The last top-level step (in run order) now also DependsOn the first one."""
    top = {step.name for step in workflow.top_level_steps()}
    order = [name for name in topological_order(workflow) if name in top]
    if len(order) < 2:
        return None
    first, last = order[0], order[-1]
    step = next(s for s in document["Steps"] if s["Name"] == last)
    if first in step.get("DependsOn", []):
        return None
    step["DependsOn"] = [*step.get("DependsOn", []), first]
    return (first, last, "depends_on")


def _remove_a_sink(document: dict[str, Any], workflow: Any, keep: str | None) -> str | None:
    """Remove a top-level step nothing waits for (so the rest stays valid), but not ``keep``."""
    graph = build_graph(workflow)
    depended = {d for s in document["Steps"] for d in s.get("DependsOn", [])}
    for index, step in enumerate(document["Steps"]):
        name = step["Name"]
        if name == keep or name in depended or len(document["Steps"]) <= 2:
            continue
        if graph.out_degree(name) == 0:
            del document["Steps"][index]
            return name
    return None


def test_true_is_not_1_but_2_is_2_0() -> None:
    """JSON's view of equality, not Python's (where True == 1)."""
    document = json.loads(ABALONE.read_bytes())
    entrypoint = document["Steps"][0]["Arguments"]["AppSpecification"]["ContainerEntrypoint"]
    as_bool, as_int, as_float = (copy.deepcopy(document) for _ in range(3))
    for variant, value in ((as_bool, True), (as_int, 1), (as_float, 1.0)):
        variant["Steps"][0]["Arguments"]["AppSpecification"]["ContainerEntrypoint"] = [
            *entrypoint,
            value,
        ]
    [changed] = diff(_load(as_int), _load(as_bool)).steps.changed
    [change] = changed.changes
    assert (change.old, change.new) == (1, True) and type(change.new) is bool
    assert diff(_load(as_int), _load(as_float)).equal


# --- The command line ------------------------------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PIPEGLOT, *args], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_diff_output_matches_its_golden_file(fmt: str, request: pytest.FixtureRequest) -> None:
    result = _run(
        "diff", "examples/abalone.json", "tests/fixtures/diff/abalone-edited.json", "--format", fmt
    )
    assert result.returncode == 1, result.stderr
    golden = GOLDEN / f"abalone.{'txt' if fmt == 'text' else 'json'}"
    if request.config.getoption("--update-goldens"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


def test_golden_edit_covers_steps_edges_parameters_and_conditions() -> None:
    """The golden pair exercises every section a user can see."""
    result = diff(pipeglot.load(ABALONE.read_bytes()), pipeglot.load(EDITED.read_bytes()))
    paths = {c.path for changed in result.steps.changed for c in changed.changes}
    assert any(p.startswith("conditions[") for p in paths)
    assert any("[OutputName=" in p for p in paths)
    assert result.added_edges and result.removed_edges
    assert result.steps.added and result.steps.removed
    assert result.parameters.changed and result.parameters.added


def test_equal_exits_0_and_says_so() -> None:
    result = _run("diff", str(ABALONE), str(ABALONE))
    assert result.returncode == 0
    assert result.stdout == f"{ABALONE} and {ABALONE} are equal\n"


@pytest.mark.parametrize("read", ["asl", "airflow", "kfp-yaml"])
def test_a_pipeline_against_its_translation_read_back(read: str, tmp_path: Path) -> None:
    """diff reads any format: SageMaker JSON on one side, a generated target on the other."""
    suffix = {"asl": ".json", "airflow": ".py", "kfp-yaml": ".yaml"}[read]
    translated = tmp_path / f"abalone{suffix}"
    result = _run(
        "translate", str(ABALONE), "--to", read, "--unsupported", "warn", "-o", str(translated)
    )
    assert result.returncode == 0, result.stderr
    result = _run("diff", str(ABALONE), str(translated), "--from-b", read, "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["equal"] is (result.returncode == 0)
    # Whatever else the reader keeps or adds, every step comes back under its own name, and
    # what differs is named step by step.
    assert report["steps"]["removed"] == []
    for changed in report["steps"]["changed"]:
        assert changed["changes"] and all(change["path"] for change in changed["changes"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["examples/abalone.json", "missing.json"], "missing.json: no such file"),
        (["-", "-"], "only one of A and B can be -"),
        (["examples/abalone.json", "examples/abalone.json", "--from-b", "nope"], "unknown input"),
    ],
)
def test_bad_input_is_one_message_and_exit_2(args: list[str], message: str) -> None:
    _assert_one_message(_run("diff", *args), message)


def test_a_folder_is_not_a_pipeline(tmp_path: Path) -> None:
    folder = tmp_path / "folder.json"
    folder.mkdir()
    _assert_one_message(_run("diff", str(ABALONE), str(folder)), f"{folder}: this is a folder")


def _assert_one_message(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
