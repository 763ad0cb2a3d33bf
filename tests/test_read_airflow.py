"""The airflow reader: provider-style DAG files read (never run) into SageMaker pipelines.

The fixture DAGs load in a real Airflow 3 DagBag; the pipeline read from each file has the
dependencies Airflow itself sees (through EmptyOperator joins), parameters with their Param
types and defaults, XCom reads as step properties, and conditions for the branch tasks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import networkx as nx
import pytest
from conftest import FIXTURES
from test_airflow_dags import harness

import pipeglot
from pipeglot.diagnostics import Diagnostics, Fidelity
from pipeglot.errors import InputError, UnsupportedError
from pipeglot.ir import StepKind
from pipeglot.ir.expressions import Comparison, ComparisonOperator, Join, ParameterRef, parse_get
from pipeglot.ir.graph import build_graph
from pipeglot.ir.model import ParameterType

DAGS = FIXTURES / "readers" / "airflow"
CHURN = DAGS / "churn_sagemaker_dag.py"
RETRAIN = DAGS / "retrain_branch_dag.py"


def read(path: Path, unsupported: str = "error") -> tuple[pipeglot.ir.Workflow, Diagnostics]:
    ledger = Diagnostics()
    workflow = pipeglot.load(
        path.read_bytes(), read="airflow", diagnostics=ledger, unsupported=unsupported
    )
    return workflow, ledger


def prop(reference: str) -> object:
    return parse_get(f"Steps.{reference}")


def codes(ledger: Diagnostics, fidelity: Fidelity) -> set[str]:
    return {entry.code for entry in ledger.of(fidelity)}


@pytest.fixture(scope="module")
def airflow_view(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """What a real Airflow 3 DagBag makes of the fixture files."""
    home = tmp_path_factory.mktemp("airflow-read")
    folder = home / "dags"
    folder.mkdir()
    for path in (CHURN, RETRAIN):
        shutil.copy(path, folder / path.name)
    return harness("3", home, "load", str(folder))


@pytest.mark.parametrize(
    ("path", "dag_id"), [(CHURN, "churn_sagemaker"), (RETRAIN, "retrain_branch")]
)
def test_the_pipeline_has_the_order_airflow_sees(
    airflow_view: dict, path: Path, dag_id: str
) -> None:
    assert airflow_view["import_errors"] == {}
    tasks = airflow_view["dags"][dag_id]["tasks"]
    airflow = nx.DiGraph(
        (task, downstream) for task, info in tasks.items() for downstream in info["downstream"]
    )
    workflow, _ = read(path, unsupported="warn")
    steps = {step.name for step in workflow.steps}
    pipeline = build_graph(workflow)
    for source in steps:
        airflow_after = nx.descendants(airflow, source) & steps
        # Every task Airflow runs after this one runs after it in the pipeline too (or sits in
        # the branch it chooses), and the pipeline adds no order Airflow does not have.
        assert nx.descendants(pipeline, source) == airflow_after, source


def test_operators_become_steps_of_their_kind() -> None:
    workflow, _ = read(CHURN)
    assert [(step.name, step.kind) for step in workflow.steps] == [
        ("preprocess", StepKind.PROCESSING),
        ("train", StepKind.TRAINING),
        ("evaluate", StepKind.LAMBDA),
        ("check_auc", StepKind.CONDITION),
        ("register", StepKind.REGISTER_MODEL),
        ("create_model", StepKind.MODEL),
        ("batch_score", StepKind.TRANSFORM),
    ]
    condition = workflow.step("check_auc")
    assert condition.if_steps == ("register", "create_model", "batch_score")
    assert condition.else_steps == ()  # too_weak is an EmptyOperator: no step
    text = pipeglot.dump(workflow, write="sagemaker")
    assert pipeglot.load(text, name=workflow.name) == workflow


def test_dag_params_keep_types_defaults_and_enums() -> None:
    workflow, _ = read(CHURN)
    found = {p.name: (p.type, p.default, p.enum_values) for p in workflow.parameter_list}
    assert found == {
        "raw_data_uri": (ParameterType.STRING, "s3://my-ml-bucket/churn/raw", None),
        "processing_instance_type": (
            ParameterType.STRING,
            "ml.m5.xlarge",
            ("ml.m5.xlarge", "ml.m5.2xlarge"),
        ),
        "num_round": (ParameterType.INTEGER, 100, None),
        "auc_threshold": (ParameterType.FLOAT, 0.8, None),
    }


def test_templates_and_xcom_become_expressions() -> None:
    workflow, ledger = read(CHURN)
    preprocess = workflow.step("preprocess").arguments
    assert preprocess["ProcessingInputs"][0]["S3Input"]["S3Uri"] == ParameterRef("raw_data_uri")
    assert "ProcessingJobName" not in preprocess
    train = workflow.step("train").arguments
    channel = train["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert channel == prop("preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri")
    evaluate = workflow.step("evaluate")
    assert evaluate.arguments["test_uri"] == prop(
        "preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"
    )
    assert [(o.name, o.type) for o in evaluate.output_parameters] == [("auc", "Float")]
    (condition,) = workflow.step("check_auc").conditions
    assert condition == Comparison(
        ComparisonOperator.GREATER_THAN_OR_EQUAL_TO,
        prop("evaluate.OutputParameters['auc']"),
        ParameterRef("auc_threshold"),
    )
    # task.output[...] and the model name the transform shares with the model task.
    model = workflow.step("create_model").arguments
    assert model["PrimaryContainer"]["ModelDataUrl"] == prop(
        "train.ModelArtifacts.S3ModelArtifacts"
    )
    assert workflow.step("batch_score").arguments["ModelName"] == prop("create_model.ModelName")
    assert "read.airflow.retries" in codes(ledger, Fidelity.APPROXIMATED)
    (policy,) = workflow.step("train").retry_policies
    assert (policy.max_attempts, policy.interval_seconds, policy.backoff_rate) == (2, 60, 1.0)


def test_a_branch_callable_of_one_comparison_is_a_condition() -> None:
    workflow, ledger = read(RETRAIN, unsupported="warn")
    decide = workflow.step("decide")
    assert decide.kind is StepKind.CONDITION
    assert decide.conditions == (
        Comparison(
            ComparisonOperator.GREATER_THAN_OR_EQUAL_TO,
            prop("retrain.FinalMetricDataList[0].Value"),
            ParameterRef("min_auc"),
        ),
    )
    assert decide.if_steps == ("endpoint_config", "endpoint")
    assert decide.else_steps == ("report_only",)
    endpoint = workflow.step("endpoint").arguments
    assert endpoint["EndpointConfigName"] == prop("endpoint_config.EndpointConfigName")
    name = workflow.step("endpoint_config").arguments["EndpointConfigName"]
    assert isinstance(name, Join)  # "churn-{{ ds_nodash }}"
    assert "read.airflow.branch-callable" in codes(ledger, Fidelity.APPROXIMATED)


def test_code_and_computed_values_are_reported_with_their_lines() -> None:
    with pytest.raises(UnsupportedError) as raised:
        read(RETRAIN)
    messages = [entry.message for entry in raised.value.diagnostics]
    assert any(m.startswith("line 17") and "datetime.now()" in m for m in messages), messages
    assert any(m.startswith("line 95") and "PythonOperator" in m for m in messages), messages
    workflow, _ = read(RETRAIN, unsupported="warn")
    placeholder = workflow.step("report_only")
    assert (placeholder.kind, placeholder.type_name) == (StepKind.UNKNOWN, "Airflow:PythonOperator")


def test_reading_does_not_run_the_file(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    source = CHURN.read_text() + f"\nopen({str(marker)!r}, 'w').write('ran')\n"
    pipeglot.load(source, read="airflow")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("from airflow.sdk import DAG\nwith DAG('x') as dag:\n    a = \n", "line 3"),
        ("x = 1\n", "line 1"),
        (
            "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty "
            "import EmptyOperator\nwith DAG('x'):\n    a = EmptyOperator(task_id='a')\n"
            "    a >> b\n",
            "line 5",
        ),
        (
            "from airflow.sdk import DAG\nwith DAG('x'):\n    pass\nwith DAG('y'):\n    pass\n",
            "line 4",
        ),
    ],
    ids=["syntax", "no-dag", "unknown-task", "two-dags"],
)
def test_bad_dag_files_name_the_line(text: str, location: str) -> None:
    with pytest.raises(InputError) as raised:
        pipeglot.load(text, read="airflow")
    assert raised.value.location == location


def test_mapped_tasks_and_task_factories_are_reported() -> None:
    source = (
        "from airflow.sdk import DAG\n"
        "from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator\n"
        "def make_tasks(prefix):\n"
        "    return SageMakerTrainingOperator(task_id=prefix, config={})\n"
        "with DAG('mapped'):\n"
        "    many = SageMakerTrainingOperator.partial(task_id='many').expand(config=[{}])\n"
        "    last = SageMakerTrainingOperator(task_id='last', config={'RoleArn': 'r'})\n"
        "    extra = make_tasks('extra')\n"
        "    many >> last\n"
    )
    with pytest.raises(UnsupportedError) as raised:
        pipeglot.load(source, read="airflow")
    messages = [entry.message for entry in raised.value.diagnostics]
    assert any(m.startswith("line 6") and "dynamic task mapping" in m for m in messages)
    assert any(m.startswith("line 8") and "make_tasks()" in m for m in messages)
    workflow = pipeglot.load(source, read="airflow", unsupported="warn")
    assert [step.name for step in workflow.steps] == ["many", "last"]
    assert workflow.step("last").depends_on == ("many",)
