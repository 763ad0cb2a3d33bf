"""The stepfunctions-python reader: a Step Functions Data Science SDK script, run offline in
the SageMaker SDK v2 environment, read into a SageMaker pipeline.

The SDK needs sagemaker<3, so the script runs in the venv that ``make test`` builds and names
in PIPEGLOT_SAGEMAKER2_PYTHON (it installs ``stepfunctions`` there). One run serves all tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, require

import pipeglot
from pipeglot.errors import InputError
from pipeglot.ir import StepKind, edges
from pipeglot.ir.expressions import ParameterRef, parse_get

SCRIPT = FIXTURES / "readers" / "stepfunctions" / "train_deploy_workflow.py"


def sagemaker2_python() -> str:
    path = os.environ.get("PIPEGLOT_SAGEMAKER2_PYTHON", "")
    require(bool(path) and Path(path).is_file(), "the SageMaker SDK v2 venv (.venv-sagemaker2)")
    return path


@pytest.fixture(scope="module")
def translated(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess, Path]:
    """`pipeglot translate SCRIPT --to sagemaker`, --from inferred from the script's imports."""
    output = tmp_path_factory.mktemp("sfn") / "pipeline.json"
    result = subprocess.run(
        [sys.executable, "-m", "pipeglot", "translate", str(SCRIPT), "--to", "sagemaker",
         "--python", sagemaker2_python(), "-o", str(output)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    return result, output


def test_the_script_reads_offline_into_a_pipeline(translated: tuple) -> None:
    result, output = translated
    assert result.returncode == 0, result.stderr
    workflow = pipeglot.load(output.read_bytes())
    assert [(step.name, step.kind) for step in workflow.steps] == [
        ("Train-model", StepKind.TRAINING),
        ("Save-model", StepKind.MODEL),
        ("Create-endpoint-config", StepKind.ENDPOINT_CONFIG),
        ("Create-endpoint", StepKind.ENDPOINT),
    ]
    assert {(e.source, e.target) for e in edges(workflow)} == {
        ("Train-model", "Save-model"),
        ("Save-model", "Create-endpoint-config"),
        ("Create-endpoint-config", "Create-endpoint"),
    }
    model = workflow.step("Save-model").arguments
    assert model["PrimaryContainer"]["ModelDataUrl"] == parse_get(
        "Steps.Train-model.ModelArtifacts.S3ModelArtifacts"
    )
    variant = workflow.step("Create-endpoint-config").arguments["ProductionVariants"][0]
    assert variant["ModelName"] == parse_get("Steps.Save-model.ModelName")
    endpoint = workflow.step("Create-endpoint").arguments
    assert endpoint["EndpointName"] == ParameterRef("EndpointName")
    train = workflow.step("Train-model").arguments
    assert train["HyperParameters"] == {"objective": "binary:logistic", "num_round": "100"}
    assert "TrainingJobName" not in train
    assert "[read.asl.parameter]" in result.stderr  # the ExecutionInput fields, reported


def test_without_the_sdk_the_message_says_which_python_to_use(tmp_path: Path) -> None:
    # This venv has sagemaker 3, which the Data Science SDK cannot run with.
    script = tmp_path / "workflow.py"
    script.write_text("import stepfunctions\n")
    with pytest.raises(InputError) as raised:
        pipeglot.load(str(script), read="stepfunctions-python")
    assert "--python" in str(raised.value) and "sagemaker<3" in str(raised.value)
