"""Generated DAGs in a real Airflow, for both profiles: every definition loads in a DagBag with
no import errors and serialises as the scheduler does, its task graph has exactly the source's
reachability, and dag.test() against moto runs pipelines end to end.

Airflow runs in a subprocess (tests/fixtures/airflow/harness.py) with its own AIRFLOW_HOME, so
this process never imports Airflow: Airflow 3 is this venv's Python, Airflow 2.10 is the venv
that `make test` builds and names in PIPEGLOT_AIRFLOW2_PYTHON.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from conftest import FIXTURES, require
from test_airflow import definitions, translate

import pipeglot
from pipeglot.ir.graph import build_graph, reachability

HARNESS = FIXTURES / "airflow" / "harness.py"
AIRFLOW_FIXTURES = FIXTURES / "airflow"
PROFILES = ("3", "2")


def python_for(version: str) -> str:
    """The Python of the Airflow under test; skips (fails under `make test`) without it."""
    if version == "3":
        try:
            import importlib.util

            found = importlib.util.find_spec("airflow") is not None
        except ValueError:
            found = False
        require(found, "Airflow 3 (pip install -e '.[all]')")
        return sys.executable
    path = os.environ.get("PIPEGLOT_AIRFLOW2_PYTHON", "")
    require(bool(path) and Path(path).exists(), "the Airflow 2 venv (PIPEGLOT_AIRFLOW2_PYTHON)")
    return path


def harness(version: str, home: Path, *arguments: str, timeout: int = 600) -> dict[str, Any]:
    result = subprocess.run(
        [python_for(version), str(HARNESS), *arguments],
        env=airflow_environment(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-5000:]
    return json.loads(lines[-1])


def airflow_environment(home: Path) -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "AWS_"))
    }
    environment.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return environment


# --- Loading --------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=PROFILES, ids=lambda v: f"airflow{v}")
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every definition translated for one profile, loaded in one DagBag."""
    version = request.param
    python_for(version)
    home = tmp_path_factory.mktemp(f"airflow{version}-load")
    dags = home / "dags"
    dags.mkdir()
    sources = {}
    for param in definitions():
        path = param.values[0]
        (dags / f"{path.stem}.py").write_text(translate(path, version))
        sources[path.stem] = path
    result = harness(version, home, "load", str(dags))
    result["sources"] = sources
    return result


def test_every_dag_loads_without_import_errors(loaded: dict) -> None:
    assert loaded["import_errors"] == {}
    files = {dag["file"] for dag in loaded["dags"].values()}
    assert files == {f"{stem}.py" for stem in loaded["sources"]}
    unserialisable = {k: v["serialised"] for k, v in loaded["dags"].items() if v["serialised"]}
    assert unserialisable == {}


def test_task_graphs_have_the_source_reachability(loaded: dict) -> None:
    by_file = {dag["file"]: dag for dag in loaded["dags"].values()}
    for stem, path in loaded["sources"].items():
        workflow = pipeglot.load(path.read_bytes(), name=stem)
        tasks = by_file[f"{stem}.py"]["tasks"]
        # Every step is the task of the same name; the only other tasks are pipeglot's helpers
        # (setups and teardowns around a step, a Callback step's send task), which carry its
        # prefix.
        steps = {step.name for step in workflow.steps}
        helpers = set(tasks) - steps
        assert steps <= set(tasks), stem
        assert all(name.startswith("pipeglot.") for name in helpers), stem
        assert all(
            tasks[h]["setup"] or tasks[h]["teardown"] or h.startswith("pipeglot.send.")
            for h in helpers
        ), stem
        graph = nx.DiGraph()
        graph.add_nodes_from(tasks)
        graph.add_edges_from(
            (task, down) for task, info in tasks.items() for down in info["downstream"]
        )
        reached = {
            step: reached & steps for step, reached in reachability(graph).items() if step in steps
        }
        assert reached == reachability(build_graph(workflow)), stem


def test_owned_clusters_and_applications_are_setups_and_teardowns(loaded: dict) -> None:
    """An EMR step's own cluster and an EMRServerless step's own application are created by a
    setup task and released by a teardown task that runs whatever the step's outcome."""
    tasks = loaded["dags"]["synthetic-emr-steps-custom-experiment"]["tasks"]
    create_id, terminate_id = (
        f"pipeglot.{role}.EMRNewCluster" for role in ("create_cluster", "terminate_cluster")
    )
    create, terminate = tasks[create_id], tasks[terminate_id]
    assert create["type"] == "EmrCreateJobFlowOperator" and create["setup"]
    assert create["downstream"] == sorted(["EMRNewCluster", terminate_id])
    assert tasks["EMRNewCluster"]["type"] == "EmrAddStepsOperator"
    assert tasks["EMRNewCluster"]["downstream"] == [terminate_id]
    assert terminate["type"] == "EmrTerminateJobFlowOperator" and terminate["teardown"]
    assert terminate["trigger_rule"] == "all_done_setup_success"
    assert tasks["EMRSparkJob"]["downstream"] == ["pipeglot.create_cluster.EMRNewCluster"]
    serverless = loaded["dags"]["emr-serverless-own-application"]["tasks"]
    assert serverless["SparkOnOwnApplication"]["type"] == "EmrServerlessStartJobOperator"
    delete = serverless["pipeglot.delete_application.SparkOnOwnApplication"]
    assert delete["type"] == "EmrServerlessDeleteApplicationOperator" and delete["teardown"]
    lineage = loaded["dags"]["sdk-v3-eval-benchmark-lineage"]["tasks"]
    assert lineage["CreateEvaluationAction"]["type"] == "PythonOperator"


def test_parameters_and_display_names_arrive(loaded: dict) -> None:
    dag = loaded["dags"]["condition-pipeline"]
    assert dag["params"] == sorted(
        ["InputData", "MseThreshold", "ProcessingInstanceCount", "ModelApprovalStatus"]
    )
    hostile = loaded["dags"]["hostile-strings"]["tasks"]
    assert hostile["class"]["display"] == "class \u00e9 {{ y }}"
    assert hostile["if"]["type"] == "BranchPythonOperator"


# --- Running --------------------------------------------------------------------------------

_homes: dict[str, Path] = {}


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory):
    """An AIRFLOW_HOME with a migrated database per profile (dag.test() needs one)."""

    def home(version: str) -> Path:
        if version not in _homes:
            path = tmp_path_factory.mktemp(f"airflow{version}-run")
            (path / "dags").mkdir()
            subprocess.run(
                [python_for(version), "-m", "airflow", "db", "migrate"],
                env=airflow_environment(path),
                capture_output=True,
                check=True,
                timeout=300,
            )
            _homes[version] = path
        return _homes[version]

    return home


def run_dag(home: Path, version: str, fixture: str, scenario: dict) -> dict[str, Any]:
    folder = home / "dags" / fixture.removesuffix(".json")  # one DAG per folder
    folder.mkdir(exist_ok=True)
    dag_file = folder / fixture.replace(".json", ".py")
    dag_file.write_text(translate(AIRFLOW_FIXTURES / fixture, version))
    scenario_file = folder / "scenario.json"
    scenario_file.write_text(json.dumps(scenario))
    result = harness(version, home, "run", str(dag_file), str(scenario_file))
    assert "import_errors" not in result, result
    return result


def _condition_scenario(mse: float) -> dict:
    report = json.dumps({"regression_metrics": {"mse": {"value": mse}}})
    return {
        "setup": {
            "buckets": ["pg-bucket"],
            "objects": {
                "s3://pg-bucket/raw/data.csv": "1,2",
                "s3://pg-bucket/preprocess/train/data.csv": "1,2",
                # The PropertyFile the Condition reads with Std:JsonGet.
                "s3://pg-bucket/evaluation/evaluation.json": report,
            },
            "model_package_groups": ["pg-models"],
        },
        "conf": {"ModelApprovalStatus": "Approved"},
    }


@pytest.mark.parametrize("version", PROFILES)
def test_condition_true_registers_and_creates_the_model(airflow_home, version: str) -> None:
    result = run_dag(
        airflow_home(version), version, "condition-pipeline.json", _condition_scenario(4.5)
    )
    assert result["state"] == "success"
    assert result["tasks"] == {
        "Preprocess": "success",
        "Train": "success",
        "Evaluate": "success",
        "CheckMSE": "success",
        "RegisterModel": "success",
        "CreateModel": "success",
        "MseTooHigh": "skipped",
        "Report": "success",
    }
    assert result["xcom"] == {"CheckMSE": "True"}
    moto = result["moto"]
    (training,) = moto["training_jobs"]
    artifacts = training["ModelArtifacts"]["S3ModelArtifacts"]
    (package,) = moto["model_packages"]
    source = json.loads((AIRFLOW_FIXTURES / "condition-pipeline.json").read_text())
    register = source["Steps"][3]["Arguments"]["IfSteps"][0]["Arguments"]
    assert package["ModelApprovalStatus"] == "Approved"  # the run's parameter value
    assert package["InferenceSpecification"] == {
        **register["InferenceSpecification"],
        "Containers": [
            {**register["InferenceSpecification"]["Containers"][0], "ModelDataUrl": artifacts}
        ],
    }
    assert package["CustomerMetadataProperties"] == {
        "mse-source": "s3://pg-bucket/evaluation/evaluation.json"
    }
    (model,) = moto["models"]
    assert model["PrimaryContainer"]["ModelDataUrl"] == artifacts
    # Job names: the step name plus a digest, unique per run and try, valid for SageMaker.
    names = [job["ProcessingJobName"] for job in moto["processing_jobs"]]
    names += [training["TrainingJobName"], model["ModelName"]]
    assert len(set(names)) == len(names)
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9](-*[A-Za-z0-9]){0,62}", name), name
    assert training["TrainingJobName"].startswith("Train-")
    # The config sent is the source request plus the job name.
    train_source = source["Steps"][1]["Arguments"]
    assert training["HyperParameters"] == train_source["HyperParameters"]
    assert training["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://pg-bucket/preprocess/train"
    )


@pytest.mark.parametrize("version", PROFILES)
def test_condition_false_fails_and_skips_the_if_branch(airflow_home, version: str) -> None:
    result = run_dag(
        airflow_home(version), version, "condition-pipeline.json", _condition_scenario(9.5)
    )
    assert result["state"] == "failed"
    assert result["tasks"] == {
        "Preprocess": "success",
        "Train": "success",
        "Evaluate": "success",
        "CheckMSE": "success",
        "RegisterModel": "skipped",
        "CreateModel": "skipped",
        "MseTooHigh": "failed",
        "Report": "skipped",  # depends on a skipped branch step, as in SageMaker
    }
    assert result["xcom"] == {"CheckMSE": "False"}
    assert result["moto"]["model_packages"] == [] and result["moto"]["models"] == []


@pytest.mark.parametrize("version", PROFILES)
def test_lambda_outputs_feed_later_steps(airflow_home, version: str) -> None:
    scenario = {"setup": {"buckets": ["pg-bucket"], "lambdas": ["notify"]}}
    result = run_dag(airflow_home(version), version, "lambda-pipeline.json", scenario)
    assert result["state"] == "success"
    assert result["tasks"] == {"Notify": "success", "Train": "success"}
    # moto's Lambda echoes its event, so the outputs are the (evaluated) arguments.
    (training,) = result["moto"]["training_jobs"]
    assert training["HyperParameters"] == {"note": '{{ ds }} "q"\n', "threshold": "0.5"}


@pytest.mark.parametrize("version", PROFILES)
def test_emr_serverless_job_runs_with_the_source_request(airflow_home, version: str) -> None:
    # (The ApplicationConfig variant cannot run here: moto creates applications directly in
    # state STARTED, and the create operator waits for CREATED, as the service reports it.)
    scenario = {"setup": {"emr_serverless_applications": {"ApplicationId": "pg-app"}}}
    result = run_dag(airflow_home(version), version, "emr-serverless-pipeline.json", scenario)
    assert result["state"] == "success", result["tasks"]
    assert result["tasks"] == {"SparkJob": "success"}
    source = json.loads((AIRFLOW_FIXTURES / "emr-serverless-pipeline.json").read_text())
    (step,) = source["Steps"]
    job = step["Arguments"]["JobConfig"]
    submit = job["jobDriver"]["sparkSubmit"]
    (run,) = result["moto"]["emr_serverless_job_runs"]
    arguments = ["--input", source["Parameters"][1]["DefaultValue"], "{{ not jinja }}"]
    assert run["jobDriver"]["sparkSubmit"] == {**submit, "entryPointArguments": arguments}
    assert run["name"] == job["name"] and run["tags"] == job["tags"]
    assert run["executionRole"] == step["Arguments"]["ExecutionRoleArn"]


@pytest.mark.parametrize("version", PROFILES)
def test_hostile_strings_arrive_byte_for_byte(airflow_home, version: str) -> None:
    scenario = {"setup": {"buckets": ["pg-bucket"], "model_package_groups": ["pg-models"]}}
    result = run_dag(airflow_home(version), version, "hostile-strings.json", scenario)
    assert result["state"] == "success", result["tasks"]
    # "if" compares hostile strings at run time; equal means the if branch ran.
    assert result["tasks"]["my-step"] == "success" and result["tasks"]["None"] == "skipped"
    source = json.loads((AIRFLOW_FIXTURES / "hostile-strings.json").read_text())
    steps = {step["Name"]: step for step in source["Steps"]}
    parameter = source["Parameters"][0]["DefaultValue"]
    hyper = dict(steps["class"]["Arguments"]["HyperParameters"])
    hyper["from-parameter"] = parameter
    hyper["joined"] = "{{ sep }}".join(["a\n", parameter, "3", "true"])
    (training,) = result["moto"]["training_jobs"]
    assert training["HyperParameters"] == hyper
    models = {
        m["PrimaryContainer"].get("Environment", {}).get("E00"): m for m in result["moto"]["models"]
    }
    environment = steps["1st-step"]["Arguments"]["PrimaryContainer"]["Environment"]
    assert models['it\'s "quoted"']["PrimaryContainer"]["Environment"] == environment
    register = steps["if"]["Arguments"]["IfSteps"][0]["Arguments"]
    (package,) = result["moto"]["model_packages"]
    assert package["ModelPackageDescription"] == register["ModelPackageDescription"]
    assert package["CustomerMetadataProperties"] == register["CustomerMetadataProperties"]


def _callback_scenario(answer: dict) -> dict:
    return {
        "setup": {
            "buckets": ["pg-bucket"],
            "lambdas": ["notify"],
            "queues": ["approvals", "approvals-replies"],
        },
        "callback_worker": {"queue": "approvals", **answer},
    }


@pytest.mark.parametrize("version", PROFILES)
def test_callback_worker_success_outputs_reach_training(airflow_home, version: str) -> None:
    answer = {"answer": "success", "outputs": {"epochs": "12", "reviewer": "ana {{ ds }}"}}
    result = run_dag(
        airflow_home(version), version, "callback-pipeline.json", _callback_scenario(answer)
    )
    assert result["state"] == "success", result
    assert result["tasks"] == {
        "Notify": "success",
        "pipeglot.send.Approve": "success",
        "Approve": "success",
        "Train": "success",
    }
    # The worker got SageMaker's message shape, the Lambda's output resolved in it.
    (request,) = result["callback_requests"]
    assert set(request) == {"token", "pipelineExecutionArn", "arguments", "status"}
    assert request["status"] == "Executing"
    assert request["arguments"] == {"note": '{{ ds }} "q"\n', "threshold": 0.5}
    assert request["token"].startswith(
        "https://sqs.us-east-1.amazonaws.com/123456789012/approvals-replies#"
    )
    (training,) = result["moto"]["training_jobs"]
    assert training["HyperParameters"] == {"epochs": "12", "reviewer": "ana {{ ds }}"}


@pytest.mark.parametrize("version", PROFILES)
def test_callback_worker_failure_fails_the_run(airflow_home, version: str) -> None:
    answer = {"answer": "failure", "reason": "rejected by the reviewer: drift too high"}
    result = run_dag(
        airflow_home(version), version, "callback-pipeline.json", _callback_scenario(answer)
    )
    assert result["state"] == "failed"
    assert result["tasks"] == {
        "Notify": "success",
        "pipeglot.send.Approve": "success",
        "Approve": "failed",
        "Train": "upstream_failed",
    }
    assert "rejected by the reviewer: drift too high" in result["failure"]
    assert result["moto"]["training_jobs"] == []
