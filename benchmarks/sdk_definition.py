"""The SageMaker SDK v2's own ``Pipeline.definition()`` for the benchmark pipeline, timed.

Run with the Python of the SDK v2 venv (``.venv-sagemaker2``); it rebuilds, as SDK objects,
the pipeline ``generate.py`` writes (Processing steps reading earlier steps' outputs, a
property file each, a Condition with a RegisterModel and a Fail step every fifty steps) and
times ``definition()`` alone in CPU seconds (``time.process_time``), best of ``--repeat`` and
the first, with the garbage collector in the state ``airflow_speed.py`` leaves it (enabled, one
collection before each timed run), after one definition() of a small other pipeline (the
SDK's lazy imports). Prints one JSON line:
``{"steps": N, "seconds": best, "first": first, "build": seconds to build the objects,
"bytes": len(definition)}``.

    .venv-sagemaker2/bin/python benchmarks/sdk_definition.py 8000 [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

from generate import pipeline


def build(definition: dict):  # the SDK objects for the generated definition
    import boto3
    from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import ProcessingStep

    session = PipelineSession(
        boto_session=boto3.Session(region_name="us-east-1"), default_bucket="my-bucket"
    )
    instance_type = ParameterString("InstanceType", default_value="ml.m5.xlarge")
    instance_count = ParameterInteger("InstanceCount", default_value=1)
    threshold = ParameterFloat("Threshold", default_value=0.7)
    steps, by_name, reports = [], {}, {}
    for raw in definition["Steps"]:
        args = raw["Arguments"]
        if raw["Type"] == "Processing":
            app = args["AppSpecification"]
            processor = Processor(
                role=args["RoleArn"],
                image_uri=app["ImageUri"],
                instance_count=instance_count,
                instance_type=instance_type,
                entrypoint=app["ContainerEntrypoint"],
                volume_size_in_gb=30,
                sagemaker_session=session,
            )
            inputs = [
                ProcessingInput(
                    source=_output(by_name, item["S3Input"]["S3Uri"]["Get"]),
                    destination=item["S3Input"]["LocalPath"],
                    input_name=item["InputName"],
                )
                for item in args["ProcessingInputs"]
            ]
            outputs = [
                ProcessingOutput(
                    output_name="out",
                    source="/opt/ml/processing/output",
                    destination=Join(
                        on="/",
                        values=[
                            "s3:/",
                            "my-bucket",
                            ExecutionVariables.PIPELINE_EXECUTION_ID,
                            raw["Name"],
                        ],
                    ),
                )
            ]
            report = PropertyFile(name="Report", output_name="out", path="report.json")
            step = ProcessingStep(
                name=raw["Name"],
                processor=processor,
                inputs=inputs,
                outputs=outputs,
                job_arguments=[
                    "--step",
                    raw["Name"],
                    "--run",
                    ExecutionVariables.PIPELINE_EXECUTION_ID,
                ],
                property_files=[report],
                depends_on=[by_name[name] for name in raw.get("DependsOn", [])] or None,
            )
            reports[raw["Name"]] = report
        else:  # the Condition: JsonGet on an earlier step's report, Register or Fail
            condition = args["Conditions"][0]
            source = condition["LeftValue"]["Std:JsonGet"]["PropertyFile"]["Get"].split(".")[1]
            score = JsonGet(
                step_name=source, property_file=reports[source], json_path="metrics.score.value"
            )
            register = args["IfSteps"][0]
            fail = FailStep(name=args["ElseSteps"][0]["Name"], error_message="score too low")
            step = ConditionStep(
                name=raw["Name"],
                conditions=[ConditionGreaterThanOrEqualTo(left=score, right=threshold)],
                if_steps=[_register(register, by_name, session)],
                else_steps=[fail],
            )
        by_name[raw["Name"]] = step
        steps.append(step)
    return Pipeline(
        name="bench",
        parameters=[instance_type, instance_count, threshold],
        steps=steps,
        sagemaker_session=session,
    )


def _output(by_name: dict, reference: str):
    step = reference.split(".")[1]
    return by_name[step].properties.ProcessingOutputConfig.Outputs["out"].S3Output.S3Uri


def _register(raw: dict, by_name: dict, session):
    """``Model.register`` inside a ModelStep, as SDK v2 users register in a pipeline."""
    from sagemaker.model import Model
    from sagemaker.workflow.model_step import ModelStep

    container = raw["Arguments"]["InferenceSpecification"]["Containers"][0]
    model = Model(
        image_uri=container["Image"],
        model_data=_output(by_name, container["ModelDataUrl"]["Get"]),
        role="arn:aws:iam::123456789012:role/SageMakerPipelineRole",
        sagemaker_session=session,
    )
    arguments = model.register(
        content_types=["text/csv"],
        response_types=["text/csv"],
        model_package_group_name="bench",
        approval_status="PendingManualApproval",
    )
    return ModelStep(name=raw["Name"], step_args=arguments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)  # the SDK warns once per step that it drops job names
    build(pipeline(60, seed=1)).definition()  # the SDK's lazy imports, not these values
    started = time.process_time()
    built = build(pipeline(args.size))
    building = time.process_time() - started
    times = []
    for _ in range(args.repeat):
        gc.collect()
        started = time.process_time()
        text = built.definition()
        times.append(time.process_time() - started)
    result = {"steps": args.size, "seconds": min(times), "first": times[0], "build": building}
    print(json.dumps({**result, "bytes": len(text)}))


if __name__ == "__main__":
    main()
