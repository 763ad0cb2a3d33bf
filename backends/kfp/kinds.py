"""The dispatch table: what each step kind becomes, and the runtime functions it ships with.

A handled kind names the runtime function its component calls (see ``runtime.py`` and
``runtime_services.py``) and the name of the list of runtime functions its component carries;
an unsupported kind becomes a placeholder task that fails the run when reached, with the
reason given here.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

from pipeglot.ir.model import StepKind


@dataclass(frozen=True, slots=True)
class Kind:
    """How one step kind is translated: the runtime function its component calls, the name of
    the runtime functions' list the component carries, and for SageMaker jobs the job kind
    ``run_sagemaker_step`` takes."""

    runtime: str
    runtime_list: str
    sagemaker_kind: str | None = None


_JOB = "JOB_RUNTIME"
HANDLED: dict[StepKind, Kind] = {
    StepKind.PROCESSING: Kind("run_sagemaker_step", _JOB, "Processing"),
    StepKind.TRAINING: Kind("run_sagemaker_step", _JOB, "Training"),
    StepKind.FUNCTION: Kind("run_sagemaker_step", _JOB, "Training"),
    StepKind.NOTEBOOK_JOB: Kind("run_sagemaker_step", _JOB, "Training"),
    StepKind.TRANSFORM: Kind("run_sagemaker_step", _JOB, "Transform"),
    StepKind.TUNING: Kind("run_sagemaker_step", _JOB, "Tuning"),
    StepKind.AUTOML: Kind("run_sagemaker_step", _JOB, "AutoML"),
    StepKind.MODEL: Kind("run_sagemaker_step", _JOB, "Model"),
    StepKind.REGISTER_MODEL: Kind("run_sagemaker_step", _JOB, "RegisterModel"),
    StepKind.ENDPOINT_CONFIG: Kind("run_sagemaker_step", _JOB, "EndpointConfig"),
    StepKind.ENDPOINT: Kind("run_sagemaker_step", _JOB, "Endpoint"),
    StepKind.INFERENCE_COMPONENT: Kind("run_sagemaker_step", _JOB, "InferenceComponent"),
    StepKind.QUALITY_CHECK: Kind("run_sagemaker_step", _JOB, "QualityCheck"),
    StepKind.CLARIFY_CHECK: Kind("run_sagemaker_step", _JOB, "ClarifyCheck"),
    StepKind.LAMBDA: Kind("run_lambda_step", "LAMBDA_RUNTIME"),
    StepKind.EMR: Kind("run_emr_step", "EMR_RUNTIME"),
    StepKind.EMR_SERVERLESS: Kind("run_emr_serverless_step", "EMR_SERVERLESS_RUNTIME"),
    StepKind.LINEAGE: Kind("run_lineage_step", "LINEAGE_RUNTIME"),
    StepKind.CONDITION: Kind("evaluate_conditions", "CONDITION_RUNTIME"),
    StepKind.FAIL: Kind("fail_step", "FAIL_RUNTIME"),
}

# The SageMaker API of each job kind, as run_sagemaker_step takes it: (resource, name key,
# status key or None when the resource is ready once created, whether a name in the request is
# only a prefix). The job is created with create_<resource> and watched with describe_<resource>.
SAGEMAKER_APIS: dict[str, tuple[str, str, str | None, bool]] = {
    "Processing": ("processing_job", "ProcessingJobName", "ProcessingJobStatus", True),
    "Training": ("training_job", "TrainingJobName", "TrainingJobStatus", True),
    "Transform": ("transform_job", "TransformJobName", "TransformJobStatus", True),
    "Tuning": (
        "hyper_parameter_tuning_job",
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobStatus",
        True,
    ),
    "AutoML": ("auto_ml_job", "AutoMLJobName", "AutoMLJobStatus", True),
    "Model": ("model", "ModelName", None, True),
    "RegisterModel": ("model_package", "ModelPackageName", "ModelPackageStatus", True),
    "EndpointConfig": ("endpoint_config", "EndpointConfigName", None, False),
    "Endpoint": ("endpoint", "EndpointName", "EndpointStatus", False),
    "InferenceComponent": (
        "inference_component",
        "InferenceComponentName",
        "InferenceComponentStatus",
        False,
    ),
}
# Check steps run a processing job.
SAGEMAKER_APIS["QualityCheck"] = SAGEMAKER_APIS["ClarifyCheck"] = SAGEMAKER_APIS["Processing"]

# Kinds with no Kubeflow equivalent: a placeholder task fails the run when it is reached.
UNSUPPORTED: dict[StepKind, str] = {
    StepKind.CALLBACK: (
        "a Callback step waits for SendPipelineExecutionStepSuccess, a SageMaker Pipelines API "
        "that no Kubeflow task can receive; replace it with a component that runs or polls the "
        "external work itself"
    ),
    StepKind.UNKNOWN: ("pipeglot does not know this step type; write a component for it by hand"),
}

UNSUPPORTED_RUNTIME = "UNSUPPORTED_RUNTIME"
# The names of the runtime lists, one per entry function (see helpers.py for what they hold).
RUNTIME_LISTS: dict[str, str] = {
    **{kind.runtime_list: kind.runtime for kind in HANDLED.values()},
    UNSUPPORTED_RUNTIME: "unsupported_step",
}

# The files whose functions run inside the components, in the order the generated file
# carries them.
RUNTIME_FILES = ("runtime.py", "runtime_services.py")


def runtime_list(kind: Kind | None) -> str:
    """The name of the runtime list a component carries; ``None`` is a placeholder."""
    return kind.runtime_list if kind else UNSUPPORTED_RUNTIME


@functools.cache
def runtime_sources() -> dict[str, str]:
    """Each runtime function by name, as it is written in its file (in file order)."""
    sources = {}
    for file in RUNTIME_FILES:
        text = Path(__file__).with_name(file).read_text(encoding="utf-8")
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef):
                sources[node.name] = ast.get_source_segment(text, node) or ""
    return sources
