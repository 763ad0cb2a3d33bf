"""SageMaker JSON -> IR -> SageMaker JSON is lossless on every definition we have."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import all_definitions, corpus_params

import pipeglot
from pipeglot.ir import StepKind


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_corpus_definition_round_trips_to_an_equal_document(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    output = pipeglot.translate(text, read="sagemaker", write="sagemaker")
    assert json.loads(output) == json.loads(text)


@pytest.mark.parametrize("path", all_definitions())
def test_reading_the_output_again_gives_an_equal_workflow(path: Path) -> None:
    workflow = pipeglot.load(path.read_bytes(), read="sagemaker")
    again = pipeglot.load(pipeglot.dump(workflow, write="sagemaker"), read="sagemaker")
    assert again == workflow


@pytest.mark.parametrize("path", all_definitions())
def test_output_is_pretty_printed_and_stable(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    first = pipeglot.translate(text, read="sagemaker", write="sagemaker")
    assert first == pipeglot.translate(first, read="sagemaker", write="sagemaker")
    # Same layout as json.dumps(indent=2, ensure_ascii=False); only float spelling may differ
    # (orjson writes 1e-05 as 0.00001), so compare with floats masked.
    expected = json.dumps(json.loads(first), indent=2, ensure_ascii=False) + "\n"
    assert _mask_floats(first) == _mask_floats(expected)


def _mask_floats(text: str) -> str:
    return re.sub(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", "N", text)


def test_the_fixture_covers_every_step_kind() -> None:
    fixture = Path(__file__).parent / "fixtures" / "every-step-type.json"
    workflow = pipeglot.load(fixture.read_bytes(), read="sagemaker")
    assert {step.kind for step in workflow.steps} == set(StepKind)


def test_values_the_ir_does_not_model_survive() -> None:
    document = {
        "Version": "2020-12-01",
        "FutureTopLevel": {"a": [1, 2.5, None]},
        "PipelineExperimentConfig": None,
        "Parameters": [{"Name": "P", "DefaultValue": "", "Description": "untyped"}],
        "Steps": [
            {
                "Name": "S",
                "Type": "SomeNewStepType",
                "Arguments": {"X": {"Get": "Parameters.P"}, "Float": 2.0, "Int": 2},
                "NewStepKey": {"Get": "Execution.PipelineExecutionId"},
            }
        ],
    }
    output = json.loads(pipeglot.translate(json.dumps(document), write="sagemaker"))
    assert output == document
    assert type(output["Steps"][0]["Arguments"]["Float"]) is float
