"""Large synthetic SageMaker pipelines: layered random DAGs with realistic step bodies.

Steps sit in layers; each step reads one to three outputs of steps in earlier layers (data
references through ``Get``), sometimes also waits on one with ``DependsOn``, and every
fiftieth step is a Condition on a property file whose branches hold a model registration and
a Fail step. Bodies are modelled on the corpus's Processing and Training requests, so the
JSON per step is of a real size. The same (size, seed) always gives the same document.

    python benchmarks/generate.py 8000 > big.json
"""

from __future__ import annotations

import json
import math
import random
import sys
from typing import Any

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"


def pipeline(size: int, seed: int = 0) -> dict[str, Any]:
    """A definition with ``size`` steps (Condition branch steps included)."""
    rng = random.Random(seed)
    width = max(1, int(math.sqrt(size)))
    steps: list[dict[str, Any]] = []
    producers: list[str] = []  # job steps earlier layers can read from
    count = 0
    while count < size:
        layer = producers[:]
        for _ in range(min(width, size - count)):
            name = f"Step{count:05d}"
            if count % 50 == 49 and size - count >= 3 and layer:
                steps.append(_condition(name, rng.choice(layer)))
                count += 3
                continue
            steps.append(_job(name, rng, layer))
            producers.append(name)
            count += 1
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [
            {"Name": "InstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
            {"Name": "InstanceCount", "Type": "Integer", "DefaultValue": 1},
            {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.7},
        ],
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "Steps": steps,
    }


def _output(step: str) -> dict[str, str]:
    return {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}


def _job(name: str, rng: random.Random, earlier: list[str]) -> dict[str, Any]:
    sources = rng.sample(earlier, k=min(len(earlier), rng.randint(1, 3))) if earlier else []
    step: dict[str, Any] = {
        "Name": name,
        "Type": "Processing",
        "Arguments": _processing(name, sources),
    }
    if earlier and rng.random() < 0.2:
        step["DependsOn"] = [rng.choice(earlier)]
    # Every job declares a property file, so any of them can feed a Condition.
    step["PropertyFiles"] = [
        {"PropertyFileName": "Report", "OutputName": "out", "FilePath": "report.json"}
    ]
    return step


def _processing(name: str, sources: list[str]) -> dict[str, Any]:
    inputs = [
        {
            "InputName": f"in{i}",
            "AppManaged": False,
            "S3Input": {
                "S3Uri": _output(source),
                "LocalPath": f"/opt/ml/processing/input/{i}",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
                "S3CompressionType": "None",
            },
        }
        for i, source in enumerate(sources)
    ]
    return {
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceType": {"Get": "Parameters.InstanceType"},
                "InstanceCount": {"Get": "Parameters.InstanceCount"},
                "VolumeSizeInGB": 30,
            }
        },
        "AppSpecification": {
            "ImageUri": IMAGE,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/run.py"],
            "ContainerArguments": [
                "--step",
                name,
                "--run",
                {"Get": "Execution.PipelineExecutionId"},
            ],
        },
        "RoleArn": ROLE,
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "out",
                    "AppManaged": False,
                    "S3Output": {
                        "S3Uri": {
                            "Std:Join": {
                                "On": "/",
                                "Values": [
                                    "s3:/",
                                    "my-bucket",
                                    {"Get": "Execution.PipelineExecutionId"},
                                    name,
                                ],
                            }
                        },
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    }


def _condition(name: str, source: str) -> dict[str, Any]:
    report = {"Get": f"Steps.{source}.PropertyFiles.Report"}
    score = {"Std:JsonGet": {"PropertyFile": report, "Path": "metrics.score.value"}}
    register = {
        "Name": f"{name}-Register",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": "bench",
            "ModelApprovalStatus": "PendingManualApproval",
            "InferenceSpecification": {
                "Containers": [{"Image": IMAGE, "ModelDataUrl": _output(source)}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        },
    }
    fail = {"Name": f"{name}-Fail", "Type": "Fail", "Arguments": {"ErrorMessage": "score too low"}}
    return {
        "Name": name,
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": score,
                    "RightValue": {"Get": "Parameters.Threshold"},
                }
            ],
            "IfSteps": [register],
            "ElseSteps": [fail],
        },
    }


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    json.dump(pipeline(size), sys.stdout, indent=2)
    sys.stdout.write("\n")
