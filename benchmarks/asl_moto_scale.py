"""Run a large generated pipeline end to end on moto's Step Functions engine, split into child
state machines, and time it.

The pipeline (``generate.py``) is translated with ``--to asl``; a pipeline too large for one
machine becomes a parent and children started with ``states:startExecution.sync:2``. Every
machine is created in moto in deploy order (the ARNs of its children filled in), every
processing job's report is put where its Condition reads it (a score above the threshold, so
every Condition registers its model), and one execution of the parent runs. It must succeed
with every job and every registration done.

moto cannot run ``.sync`` SageMaker integrations or hand the ``startExecution`` parameters to
boto3 as Step Functions does; the same TEST-ONLY adaptations as the test suite's are applied
here (``tests/test_asl_moto.py``, ``tests/test_asl_split.py``), never to the backend's output
beyond that.

    .venv/bin/python benchmarks/asl_moto_scale.py [STEPS] [--budget BYTES EVENTS]

Measured (2 cores shared with other work): 60 steps with ``--budget 16000 160``, 17 machines,
succeed in about 20 s (the suite runs this, and again with the output URIs computed from the
requests); 200 steps with ``--budget 20000 200``, 38 machines, in 95 s. 400 steps (default
split, 9 machines): created in 57 s, succeeded in 138 s (379 jobs, 7 registrations); before
wide Parallel states kept one copy of the document it failed with ``States.DataLimitExceeded``
at a 39-branch Parallel state (8 copies). 8,000 steps (50 machines, the output URIs computed
from the requests): created in 470 s, succeeded in 916 s with all 7,526 jobs and 158
registrations (it had failed after 153 s and 317 jobs).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import pipeglot
from pipeglot.backends.asl import machine, split

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]

from generate import pipeline  # noqa: E402
from test_asl_moto import _definite_paths_read_as_step_functions, _plain, for_moto  # noqa: E402
from test_asl_split import _moto_start_execution_in_boto_case  # noqa: E402

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/StepFunctions"
BUCKET = "my-bucket"  # where generate.py's jobs write
SCORE = {"metrics": {"score": {"value": 0.9}}}  # above the pipeline's Threshold (0.7)


@dataclass(frozen=True, slots=True)
class Run:
    """What one end-to-end run did and how long its parts took (seconds)."""

    steps: int
    machines: int
    status: str
    error: str | None
    processing_jobs: int
    jobs_with_their_inputs: int  # read the outputs of the steps they name, in this execution
    model_packages: int
    expected_jobs: int
    expected_packages: int
    translate_seconds: float
    deploy_seconds: float
    execution_seconds: float


@contextlib.contextmanager
def moto_step_functions() -> Iterator[Any]:
    """moto with Step Functions execution on, and the suite's TEST-ONLY adaptations; yields
    boto3."""
    import boto3
    import moto
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as service,
    )

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with pytest.MonkeyPatch.context() as patch:
        sdk_task = service.StateTaskServiceAwsSdk
        original = sdk_task._eval_service_task

        def plain_results(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
            original(self, env, *args, **kwargs)
            env.stack.append(_plain(env.stack.pop()))

        patch.setattr(sdk_task, "_eval_service_task", plain_results)
        _moto_start_execution_in_boto_case(patch)
        _definite_paths_read_as_step_functions(patch)
        for variable, value in (
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_DEFAULT_REGION", REGION),
        ):
            patch.setenv(variable, value)
        with moto.mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
            yield boto3


def create_machines(sfn: Any, document: dict[str, Any], name: str) -> str:
    """Every machine in deploy order, each with its children's ARNs; the parent's ARN."""
    machines = document.get("StateMachines", {"Main": document})
    arns: dict[str, str] = {}
    for key, definition in machines.items():
        text = json.dumps(for_moto(definition))
        for child, arn in arns.items():
            text = text.replace(f'"${{{child}}}"', json.dumps(arn))
        machine_name = name if key == document.get("Parent", "Main") else f"{name}-{key}"
        arns[key] = sfn.create_state_machine(name=machine_name, definition=text, roleArn=ROLE)[
            "stateMachineArn"
        ]
    return arns[document.get("Parent", "Main")]


def put_reports(s3: Any, execution: str, source: dict[str, Any]) -> None:
    """Each processing job's report.json, where its output goes in this execution."""
    body = json.dumps(SCORE).encode()
    for step in source["Steps"]:
        if step["Type"] == "Processing":
            s3.put_object(Bucket=BUCKET, Key=f"{execution}/{step['Name']}/report.json", Body=body)


def wait(sfn: Any, arn: str, limit: float) -> dict[str, Any]:
    """The execution's last history event once it has ended (or RUNNING after ``limit``)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        # moto's history ignores reverseOrder with maxResults: read it whole
        events = sfn.get_execution_history(executionArn=arn)["events"]
        last = events[-1] if events else {"type": "none"}
        if last["type"] in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted"):
            details = last.get("executionFailedEventDetails", {})
            return {"status": last["type"].removeprefix("Execution"), **details}
        time.sleep(0.5)
    return {"status": "RUNNING"}


def expected_inputs(source: dict[str, Any], execution: str) -> dict[str, list[str]]:
    """Per processing step, the S3 URIs its inputs must have: its sources' outputs."""
    expected = {}
    for step in source["Steps"]:
        if step["Type"] == "Processing":
            references = [
                i["S3Input"]["S3Uri"]["Get"] for i in step["Arguments"]["ProcessingInputs"]
            ]
            sources = [reference.split(".")[1] for reference in references]
            expected[step["Name"]] = [f"s3://{BUCKET}/{execution}/{name}" for name in sources]
    return expected


def jobs_with_their_inputs(sagemaker: Any, expected: dict[str, list[str]], execution: str) -> int:
    """How many processing jobs of ``execution`` read exactly the outputs their step names
    (results that crossed child machines included)."""
    right = 0
    for page in sagemaker.get_paginator("list_processing_jobs").paginate():
        for summary in page["ProcessingJobSummaries"]:
            job = sagemaker.describe_processing_job(ProcessingJobName=summary["ProcessingJobName"])
            _, step, _, run = job["AppSpecification"]["ContainerArguments"]
            uris = [i["S3Input"]["S3Uri"] for i in job.get("ProcessingInputs", [])]
            right += run == execution and uris == expected.get(step)
    return right


def count(client: Any, operation: str, key: str, **arguments: Any) -> int:
    total = 0
    for page in client.get_paginator(operation).paginate(**arguments):
        total += len(page[key])
    return total


def run(
    size: int, budget: split.Budget | None = None, limit: float = 3600, name: str = "scale"
) -> Run:
    """Translate, create and execute a ``size``-step generated pipeline on moto."""
    source = pipeline(size)
    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        if budget is not None:
            patch.setattr(machine, "DEFAULT_BUDGET", budget)
        text = pipeglot.translate(json.dumps(source), write="asl", name=name)
    document = json.loads(text)
    translated = time.perf_counter()
    with moto_step_functions() as boto3:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_model_package_group(ModelPackageGroupName="bench")
        parent = create_machines(sfn, document, name)
        put_reports(boto3.client("s3", region_name=REGION), "run-1", source)
        deployed = time.perf_counter()
        execution = sfn.start_execution(stateMachineArn=parent, name="run-1", input="{}")
        outcome = wait(sfn, execution["executionArn"], limit)
        finished = time.perf_counter()
        jobs = count(sagemaker, "list_processing_jobs", "ProcessingJobSummaries")
        right = jobs_with_their_inputs(sagemaker, expected_inputs(source, "run-1"), "run-1")
        packages = count(
            sagemaker,
            "list_model_packages",
            "ModelPackageSummaryList",
            ModelPackageGroupName="bench",
        )
    return Run(
        steps=size,
        machines=len(document.get("StateMachines", {"Main": document})),
        status=outcome["status"],
        error=" ".join(filter(None, (outcome.get("error"), outcome.get("cause")))) or None,
        processing_jobs=jobs,
        jobs_with_their_inputs=right,
        model_packages=packages,
        expected_jobs=sum(step["Type"] == "Processing" for step in source["Steps"]),
        expected_packages=sum(step["Type"] == "Condition" for step in source["Steps"]),
        translate_seconds=translated - started,
        deploy_seconds=deployed - translated,
        execution_seconds=finished - deployed,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("steps", nargs="?", type=int, default=8000)
    parser.add_argument(
        "--budget",
        nargs=2,
        type=int,
        metavar=("BYTES", "EVENTS"),
        help="split with this child budget instead of the backend's (to split small pipelines)",
    )
    parser.add_argument("--limit", type=float, default=3600, help="seconds to wait at most")
    args = parser.parse_args()
    budget = split.Budget(*args.budget) if args.budget else None
    result = run(args.steps, budget, args.limit)
    print(json.dumps(dataclasses.asdict(result), indent=2))
    done = (result.processing_jobs, result.jobs_with_their_inputs, result.model_packages)
    expected = (result.expected_jobs, result.expected_jobs, result.expected_packages)
    if result.status != "Succeeded" or done != expected:
        sys.exit(1)


if __name__ == "__main__":
    main()
