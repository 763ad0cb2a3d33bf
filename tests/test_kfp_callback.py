"""A Callback step on Kubeflow: Lambda -> Callback -> Training, run with kfp's local runner
against a moto server, with a simulated worker that answers through pipeglot's callback
protocol (``pipeglot.callback_worker``), once with success and once with failure.

Each component runs in a subprocess exactly as in a pod. The worker, a thread of this test,
reads the request queue as a SageMaker callback worker would and answers with the call that
replaces ``SendPipelineExecutionStepSuccess``/``Failure``.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import threading
import uuid
import zipfile
from pathlib import Path

import pytest
import requests
from conftest import FIXTURES, require_module

import pipeglot
from pipeglot import callback_worker
from pipeglot.diagnostics import Diagnostics, Fidelity

SOURCE = FIXTURES / "kfp" / "lambda-callback-training.json"
QUEUE = "approvals"
NOTE = 'run {{$.pipeline_job_uuid}} "q"\n'  # KFP placeholder text: must arrive as written


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
    """moto's endpoint and fake credentials for the component subprocesses; a Lambda function
    (moto without Docker answers with the event it got), the request and reply queues."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    import boto3

    requests.post(f"{moto_server}/moto-api/reset")
    requests.post(f"{moto_server}/moto-api/config", json={"lambda": {"use_docker": False}})
    role = boto3.client("iam").create_role(RoleName="notify", AssumeRolePolicyDocument="{}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    boto3.client("lambda").create_function(
        FunctionName="notify",
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler="index.handler",
        Code={"ZipFile": buffer.getvalue()},
    )
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    sqs.create_queue(QueueName=QUEUE + callback_worker.REPLY_SUFFIX)
    definition = json.loads(SOURCE.read_text())
    definition["Steps"][1]["SqsQueueUrl"] = url  # moto's URL for the queue
    yield definition


def _pipeline_module(tmp_path: Path, definition: dict):
    text = pipeglot.translate(json.dumps(definition), write="kfp", name="callback")
    path = tmp_path / f"generated_{uuid.uuid4().hex}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


class Worker(threading.Thread):
    """A callback worker: takes the step's message off the request queue and answers it."""

    def __init__(self, queue_url: str, answer) -> None:
        super().__init__(daemon=True)
        import boto3

        self.sqs = boto3.client("sqs")
        self.queue_url, self.answer, self.messages = queue_url, answer, []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            received = self.sqs.receive_message(QueueUrl=self.queue_url, WaitTimeSeconds=1)
            for message in received.get("Messages", []):
                body = json.loads(message["Body"])
                self.messages.append(body)
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
                self.answer(body["token"], self.sqs)


def _run(module, tmp_path, definition, answer) -> Worker:
    from kfp import local

    worker = Worker(definition["Steps"][1]["SqsQueueUrl"], answer)
    worker.start()
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(tmp_path / "root"),
        raise_on_error=True,
    )
    try:
        module.pipeline()
    finally:
        worker.stop.set()
        worker.join(timeout=10)
    return worker


def _training_jobs() -> list[dict]:
    import boto3

    client = boto3.client("sagemaker")
    return [
        client.describe_training_job(TrainingJobName=job["TrainingJobName"])
        for job in client.list_training_jobs()["TrainingJobSummaries"]
    ]


def test_translates_at_the_default_level_to_kfp_and_kfp_yaml():
    require_module("kfp")
    for target in ("kfp", "kfp-yaml"):
        ledger = Diagnostics()
        pipeglot.translate(SOURCE.read_bytes(), write=target, diagnostics=ledger)
        assert not ledger.of(Fidelity.UNSUPPORTED)
        (protocol,) = [d for d in ledger if d.code == "kfp.callback.protocol"]
        assert protocol.step == "ApproveTheModelForTraining"
        assert "send_pipeline_execution_step_success" in protocol.message


def test_the_worker_answers_success_and_the_outputs_reach_training(aws, tmp_path):
    def succeed(token, sqs):
        callback_worker.send_pipeline_execution_step_success(
            CallbackToken=token,
            OutputParameters=[
                {"Name": "epochs", "Value": "7"},
                {"Name": "reviewer", "Value": "ana"},
            ],
            sqs_client=sqs,
        )

    worker = _run(_pipeline_module(tmp_path, aws), tmp_path, aws, succeed)

    # SageMaker's message shape, the Lambda's output resolved in it, literals as written.
    (message,) = worker.messages
    assert message["status"] == "Executing"
    assert message["token"].startswith(worker.queue_url + callback_worker.REPLY_SUFFIX + "#")
    assert message["arguments"] == {"note": NOTE, "threshold": 0.5}
    assert message["pipelineExecutionArn"]  # the KFP run stands in for the execution
    (job,) = _training_jobs()
    assert job["HyperParameters"] == {"epochs": "7", "reviewer": "ana"}
    assert job["TrainingJobName"].startswith("Train-")


def test_the_worker_answers_failure_and_the_run_fails_with_its_reason(aws, tmp_path, capfd):
    def refuse(token, sqs):
        callback_worker.send_pipeline_execution_step_failure(
            CallbackToken=token, FailureReason="the reviewer said no", sqs_client=sqs
        )

    with pytest.raises(RuntimeError):
        _run(_pipeline_module(tmp_path, aws), tmp_path, aws, refuse)
    logs = capfd.readouterr()
    assert "the callback worker answered failure: the reviewer said no" in logs.out + logs.err
    assert _training_jobs() == []  # the step after the callback did not run
