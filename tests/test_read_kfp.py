"""The kfp-yaml reader: pipelines compiled by the real kfp compiler, read into the IR.

The fixtures are KFP pipelines written as KFP users write them; each test compiles its
pipeline afresh with ``kfp.compiler`` and reads the spec the compiler wrote.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, require_module

import pipeglot
from pipeglot.diagnostics import Diagnostics, Fidelity
from pipeglot.errors import InputError, UnsupportedError
from pipeglot.ir import StepKind, edges
from pipeglot.ir.expressions import Comparison, ComparisonOperator, ParameterRef, parse_get
from pipeglot.ir.model import ParameterType

KFP = FIXTURES / "readers" / "kfp"


def compiled(script: str, tmp_path: Path) -> bytes:
    """Compile the fixture pipeline ``script`` with the real kfp compiler."""
    require_module("kfp")
    output = tmp_path / f"{Path(script).stem}.yaml"
    result = subprocess.run(
        [sys.executable, str(KFP / script), str(output)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return output.read_bytes()


def read(source: bytes, unsupported: str = "error") -> tuple[pipeglot.ir.Workflow, Diagnostics]:
    ledger = Diagnostics()
    workflow = pipeglot.load(source, read="kfp-yaml", diagnostics=ledger, unsupported=unsupported)
    return workflow, ledger


def test_sagemaker_components_become_steps_with_api_requests(tmp_path: Path) -> None:
    workflow, ledger = read(compiled("kmeans_pipeline.py", tmp_path))
    assert [(step.name, step.kind) for step in workflow.steps] == [
        ("train-small-k", StepKind.TRAINING),
        ("condition-1", StepKind.CONDITION),
        ("train-large-k", StepKind.TRAINING),
    ]
    small = workflow.step("train-small-k").arguments
    assert small["ResourceConfig"] == {
        "InstanceCount": 1,
        "InstanceType": ParameterRef("instance_type"),
        "VolumeSizeInGB": 10,
    }
    source = small["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert source["S3Uri"] == "s3://my-ml-bucket/mnist_kmeans_example/train_data"
    assert small["HyperParameters"] == {"feature_dim": "784", "k": "10"}
    assert small["AlgorithmSpecification"]["TrainingImage"].endswith("/kmeans:1")
    assert "Region" not in small and "TrainingJobName" not in small
    (policy,) = workflow.step("train-small-k").retry_policies
    assert (policy.max_attempts, policy.interval_seconds, policy.backoff_rate) == (2, 60, 2.0)
    assert workflow.step("train-small-k").cache_config is None  # caching was turned off
    assert "read.kfp-yaml.ack-spelling" in {e.code for e in ledger.of(Fidelity.APPROXIMATED)}


def test_dsl_if_becomes_a_condition_after_its_dependencies(tmp_path: Path) -> None:
    workflow, _ = read(compiled("kmeans_pipeline.py", tmp_path))
    condition = workflow.step("condition-1")
    assert condition.conditions == (
        Comparison(ComparisonOperator.EQUALS, ParameterRef("train_large"), "yes"),
    )
    assert condition.if_steps == ("train-large-k",)
    assert {(e.source, e.target) for e in edges(workflow)} == {
        ("train-small-k", "condition-1"),
        ("condition-1", "train-large-k"),
    }
    parameters = {p.name: (p.type, p.default) for p in workflow.parameter_list}
    assert parameters["train_large"] == (ParameterType.STRING, "yes")
    text = pipeglot.dump(workflow, write="sagemaker")
    assert pipeglot.load(text, name=workflow.name) == workflow


def test_python_components_are_reported_and_kept(tmp_path: Path) -> None:
    source = compiled("generic_pipeline.py", tmp_path)
    with pytest.raises(UnsupportedError) as raised:
        read(source)
    places = [entry.message for entry in raised.value.diagnostics]
    assert any("/root/dag/tasks/prepare" in place for place in places)
    workflow, _ = read(source, unsupported="warn")
    score = workflow.step("score")
    assert (score.kind, score.type_name) == (StepKind.UNKNOWN, "KFP:container")
    assert score.arguments["Inputs"]["data"] == parse_get("Steps.prepare.Output")
    condition = workflow.step("condition-2")
    assert condition.conditions == (
        Comparison(
            ComparisonOperator.GREATER_THAN_OR_EQUAL_TO, parse_get("Steps.score.Output"), 0.5
        ),
    )
    # dsl.Else compiles to the negated condition: it is the Condition's else branch.
    assert condition.if_steps == ("publish",) and condition.else_steps == ("publish-2",)
    assert [s.name for s in workflow.steps if s.kind is StepKind.CONDITION] == ["condition-2"]


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("pipelineInfo: {name: x}\n", "/"),
        ("pipelineInfo: {name: x}\nroot: {}\n", "/root"),
        ("root: [\n", "line 2, column 1"),
        (
            "pipelineInfo: {name: x}\nroot:\n  dag:\n    tasks:\n      a:\n"
            "        componentRef: {name: missing}\n",
            "/root/dag/tasks/a/componentRef",
        ),
    ],
)
def test_bad_specs_name_the_place(text: str, location: str) -> None:
    with pytest.raises(InputError) as raised:
        pipeglot.load(text, read="kfp-yaml")
    assert raised.value.location == location
