"""The airflow reader's DagBag mode (issue 15, item 3): a DAG whose configs are built by code.

Read as text, a config that a helper function builds is a placeholder, reported. With
``load_with_dagbag=True`` (CLI ``--load-with-dagbag``) the file is imported in the real Airflow
3 of this environment and the configs come back as Airflow built them; the rest of the reading
(job names, XCom templates, dependencies) is the same as for a written-out config.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES

import pipeglot
from pipeglot.cli import main
from pipeglot.diagnostics import Diagnostics, Fidelity
from pipeglot.errors import InputError, UsageError
from pipeglot.ir import StepKind
from pipeglot.ir.expressions import parse_get

ROOT = Path(__file__).resolve().parent.parent
BUILT_BY_CODE = FIXTURES / "readers" / "airflow" / "configs_built_by_code_dag.py"


def read(text: str, **options: object) -> tuple[pipeglot.ir.Workflow, Diagnostics]:
    ledger = Diagnostics()
    workflow = pipeglot.load(
        text, read="airflow", diagnostics=ledger, unsupported="ignore", **options
    )
    return workflow, ledger


@pytest.fixture(scope="module")
def loaded() -> tuple[pipeglot.ir.Workflow, Diagnostics]:
    return read(BUILT_BY_CODE.read_text(), load_with_dagbag=True)


def test_read_as_text_the_built_config_is_a_reported_placeholder() -> None:
    workflow, ledger = read(BUILT_BY_CODE.read_text())
    train = workflow.step("train")
    assert train.arguments == "pipeglot-unsupported: line 54"
    assert [(d.code, d.fidelity, d.step) for d in ledger if "computed" in d.code] == [
        ("read.airflow.computed-value", Fidelity.UNSUPPORTED, "train")
    ]


def test_loaded_in_a_dagbag_the_config_is_what_the_code_built(loaded) -> None:
    workflow, ledger = loaded
    train = workflow.step("train")
    assert train.kind is StepKind.TRAINING
    arguments = train.arguments
    assert [c["ChannelName"] for c in arguments["InputDataConfig"]] == ["train", "validation"]
    assert arguments["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://my-ml-bucket/churn/validation/"
    )
    # str(value) in the helper's dict comprehension ran: the hyperparameters are strings.
    assert arguments["HyperParameters"] == {"max_depth": "5", "eta": "0.2", "num_round": "100"}
    assert "TrainingJobName" not in arguments  # SageMaker generates it
    assert "pipeglot-unsupported" not in json.dumps(pipeglot.dump(workflow, write="sagemaker"))
    codes = {(d.code, d.fidelity) for d in ledger}
    assert ("read.airflow.dagbag-config", Fidelity.EXACT) in codes
    assert not [d for d in ledger if d.fidelity is Fidelity.UNSUPPORTED]


def test_the_written_out_config_reads_as_before_with_its_xcom_reference(loaded) -> None:
    workflow, _ = loaded
    model = workflow.step("create_model")
    url = model.arguments["PrimaryContainer"]["ModelDataUrl"]
    assert url == parse_get("Steps.train.ModelArtifacts.S3ModelArtifacts")
    as_text, _ = read(BUILT_BY_CODE.read_text())
    assert as_text.step("create_model").arguments == model.arguments


def test_a_file_airflow_cannot_import_names_its_line(tmp_path: Path) -> None:
    text = BUILT_BY_CODE.read_text().replace(
        'training_config("churn", 5)', 'training_config("churn", 5) | missing_name'
    )
    with pytest.raises(InputError) as raised:
        read(text, load_with_dagbag=True)
    assert raised.value.location == "line 54"
    assert "missing_name" in str(raised.value)


def test_a_python_without_airflow_is_a_usage_error() -> None:
    python = ROOT / ".venv-sagemaker2" / "bin" / "python"  # sagemaker<3, no Airflow
    with pytest.raises(UsageError, match="needs Airflow"):
        read(BUILT_BY_CODE.read_text(), load_with_dagbag=True, python=str(python))


def test_cli_flag_translates_and_is_refused_for_other_formats(tmp_path: Path, capsys) -> None:
    out = tmp_path / "pipeline.json"
    argv = ["translate", str(BUILT_BY_CODE), "--from", "airflow", "--to", "sagemaker"]
    assert main([*argv, "--load-with-dagbag", "-o", str(out), "--unsupported", "ignore"]) == 0
    (train,) = [s for s in json.loads(out.read_text())["Steps"] if s["Name"] == "train"]
    assert train["Arguments"]["HyperParameters"]["max_depth"] == "5"
    asl = tmp_path / "m.asl.json"
    asl.write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}))
    refused = tmp_path / "refused.json"
    flags = ["--load-with-dagbag", "-o", str(refused)]
    code = main(["translate", str(asl), "--from", "asl", "--to", "sagemaker", *flags])
    assert code == 2
    assert "--load-with-dagbag applies to airflow inputs only" in capsys.readouterr().err
    assert not refused.exists()


def test_a_file_with_written_out_configs_reads_the_same_either_way() -> None:
    text = (FIXTURES / "readers" / "airflow" / "churn_sagemaker_dag.py").read_text()
    (as_text, _), (loaded, ledger) = read(text), read(text, load_with_dagbag=True)
    assert loaded == as_text
    assert not [d for d in ledger if d.code.endswith("dagbag-config")]
