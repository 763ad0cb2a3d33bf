"""Any to any: a workflow read from one orchestrator is written for another through the IR,
with one ledger for both halves, and the CLI tells the readers' files apart by their content.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, require_module

import pipeglot
from pipeglot.diagnostics import Diagnostics
from pipeglot.formats import infer_reader

READERS = FIXTURES / "readers"
DAG = READERS / "airflow" / "churn_sagemaker_dag.py"
MACHINE = READERS / "asl" / "train-evaluate-deploy.asl.json"
SPEC = READERS / "kfp" / "kmeans_pipeline.yaml"


def test_one_ledger_covers_reading_and_writing() -> None:
    ledger = Diagnostics()
    text = pipeglot.translate(DAG.read_bytes(), read="airflow", write="asl", diagnostics=ledger)
    prefixes = {entry.code.split(".")[0] for entry in ledger}
    assert {"read", "asl"} <= prefixes
    linter = require_module("statelint.linter").Linter  # type: ignore[attr-defined]
    assert linter.validate(json.loads(text)) == []


def test_an_unsupported_construct_in_the_source_fails_the_translation() -> None:
    source = (READERS / "airflow" / "retrain_branch_dag.py").read_bytes()
    with pytest.raises(pipeglot.errors.UnsupportedError) as raised:
        pipeglot.translate(source, read="airflow", write="asl")
    assert any(entry.code == "read.airflow.operator" for entry in raised.value.diagnostics)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (DAG, "airflow"),
        (MACHINE, "asl"),
        (SPEC, "kfp-yaml"),
        (READERS / "asl" / "training-stack.template.yaml", "asl"),
        (FIXTURES / "every-step-type.json", "sagemaker"),
        (ROOT / "examples" / "abalone-project" / "pipelines" / "abalone" / "pipeline.py", None),
    ],
    ids=lambda value: value.name if isinstance(value, Path) else str(value),
)
def test_from_is_inferred_from_the_content(path: Path, expected: str | None) -> None:
    found = infer_reader(str(path))
    assert found == (expected or "sagemaker-python")


@pytest.mark.parametrize(
    ("source", "target"), [(DAG, "kfp"), (MACHINE, "airflow"), (SPEC, "asl")], ids=str
)
def test_cli_translates_between_orchestrators(source: Path, target: str, tmp_path: Path) -> None:
    output = tmp_path / f"out.{target}"
    result = subprocess.run(
        [sys.executable, "-m", "pipeglot", "translate", str(source), "--to", target,
         "-o", str(output)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "[read." in result.stderr  # the reader's half of the ledger is reported too
    assert output.read_text()
