"""Run a generated KFP pipeline with kfp's local runner against moto, for both condition outcomes.

The pipeline is the corpus's processing -> training -> evaluation -> condition -> register | fail
definition. Each component runs in a subprocess exactly as it would in a pod (kfp's
SubprocessRunner executes the compiled command), talking to a moto server through
AWS_ENDPOINT_URL. moto's recorder keeps every request, so the test reads what reached
SageMaker: the requests of the source definition, with parameters and step properties resolved.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sys
import uuid
from pathlib import Path

import pytest
import requests
from conftest import CORPUS, require, require_module

import pipeglot

SOURCE = CORPUS / "idea2prod-process-train-eval-register-fail.json"
BUCKET = "sagemaker-us-east-1-462832133259"
REPORT_KEY = "from-idea-to-prod/xgboost/evaluation/evaluation.json"
GROUP = "from-idea-to-prod-model-group"
PREFIX = "from-idea-to-prod-pipeline-"


@pytest.fixture(scope="module")
def moto_server():
    require_module("moto.server")
    require_module("kfp.local")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server, monkeypatch, tmp_path):
    """Environment for the component subprocesses: moto's endpoint, fake credentials, and this
    interpreter's bin folder first on PATH (the components run `python3 -m pip install`, which
    finds kfp and boto3 already installed and needs no network)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    import boto3
    from moto.moto_api import recorder

    requests.post(f"{moto_server}/moto-api/reset")
    s3 = boto3.client("s3", endpoint_url=moto_server)
    s3.create_bucket(Bucket=BUCKET)
    report = {"classification_metrics": {"auc_score": {"value": 0.8}}}
    s3.put_object(Bucket=BUCKET, Key=REPORT_KEY, Body=json.dumps(report).encode())
    boto3.client("sagemaker", endpoint_url=moto_server).create_model_package_group(
        ModelPackageGroupName=GROUP
    )
    # The recorder writes to ./moto_recording unless told otherwise (it reads the variable
    # once, at import); keep it out of the working tree.
    monkeypatch.setattr(recorder, "_location", str(tmp_path / "moto_recording"))
    recorder.reset_recording()
    recorder.start_recording()
    yield moto_server
    recorder.stop_recording()


def _pipeline_module(tmp_path: Path):
    text = pipeglot.translate(SOURCE.read_bytes(), write="kfp", unsupported="warn", name="idea")
    path = tmp_path / f"generated_{uuid.uuid4().hex}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _sagemaker_calls() -> list[tuple[str, dict]]:
    """(operation, request body) of every SageMaker call moto recorded, in order."""
    from moto.moto_api import recorder

    calls = []
    for line in recorder.download_recording().splitlines():
        entry = json.loads(line)
        target = (entry.get("headers") or {}).get("X-Amz-Target", "")
        if not target.startswith("SageMaker."):
            continue
        body = entry.get("body") or "{}"
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode()
        calls.append((target.removeprefix("SageMaker."), json.loads(body)))
    return calls


def _run(module, tmp_path, **arguments):
    from kfp import local

    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(tmp_path / "root"),
        raise_on_error=True,
    )
    return module.pipeline(**arguments)


@pytest.mark.corpus
def test_condition_true_registers_the_model(aws, tmp_path):
    require(SOURCE.exists(), f"the corpus pipeline {SOURCE.name}")
    _run(_pipeline_module(tmp_path), tmp_path, TestScoreThreshold=0.5)

    calls = _sagemaker_calls()
    creates = [(op, body) for op, body in calls if op.startswith("Create")]
    assert [op for op, _ in creates] == [
        "CreateProcessingJob",
        "CreateTrainingJob",
        "CreateProcessingJob",
        "CreateModelPackage",
    ]
    source = json.loads(SOURCE.read_text())["Steps"]
    preprocess, train, evaluate = (body for _, body in creates[:3])

    # Names are generated per attempt from the step name; everything else is the source request
    # with parameters and step properties resolved.
    assert preprocess.pop("ProcessingJobName").startswith(PREFIX + "preprocess-data-")
    # kfp's local SubprocessRunner rewrites the text "python3" in every argument of the task,
    # the executor input included, to its interpreter's path (kfp/local/subprocess_task_handler.py
    # replace_python_executable); the real KFP backend passes the request as it is.
    local_python = sys.executable
    expected = json.loads(json.dumps(source[0]["Arguments"]).replace("python3", local_python))
    expected["ProcessingResources"]["ClusterConfig"]["InstanceType"] = "ml.c5.xlarge"
    inputs = expected["ProcessingInputs"]
    inputs[0]["S3Input"]["S3Uri"] = _default("InputDataUrl")
    assert preprocess == expected

    assert train.pop("TrainingJobName").startswith(PREFIX + "train-")
    assert train["ResourceConfig"]["InstanceCount"] == 1  # an Integer parameter stays an integer
    assert train["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in train["InputDataConfig"]
    }
    outputs = {
        o["OutputName"]: o["S3Output"]["S3Uri"]
        for o in source[0]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    }
    assert channels == {"train": outputs["train_data"], "validation": outputs["validation_data"]}

    described = dict(calls)["DescribeTrainingJob"]
    model_uri = f"{train['OutputDataConfig']['S3OutputPath']}/{described['TrainingJobName']}"
    model_uri += "/output/model.tar.gz"
    evaluate.pop("ProcessingJobName")
    assert evaluate["ProcessingInputs"][0]["S3Input"]["S3Uri"] == model_uri
    assert evaluate["ProcessingInputs"][1]["S3Input"]["S3Uri"] == outputs["test_data"]

    register = creates[3][1]
    assert register["ModelPackageGroupName"] == GROUP
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == model_uri
    assert "ModelPackageName" not in register  # a versioned package takes no name


@pytest.mark.corpus
def test_condition_false_fails_the_run_with_the_message(aws, tmp_path, capfd):
    require(SOURCE.exists(), f"the corpus pipeline {SOURCE.name}")
    with pytest.raises(RuntimeError):
        _run(_pipeline_module(tmp_path), tmp_path, TestScoreThreshold=0.9)

    creates = [op for op, _ in _sagemaker_calls() if op.startswith("Create")]
    assert creates == ["CreateProcessingJob", "CreateTrainingJob", "CreateProcessingJob"]
    logs = capfd.readouterr()
    assert "Execution failed due to AUC Score > 0.9" in logs.out + logs.err


def _default(name: str):
    """The default value of parameter ``name`` in the source definition."""
    definition = json.loads(SOURCE.read_text())
    return next(p["DefaultValue"] for p in definition["Parameters"] if p["Name"] == name)
