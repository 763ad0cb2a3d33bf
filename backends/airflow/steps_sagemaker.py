"""SageMaker job and resource steps: the provider's SageMaker operators where one sends the
whole source request, a generated ``sagemaker_request`` callable where none does."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pipeglot.backends._python import Atom, call, literal
from pipeglot.backends.airflow.tasks import (
    Task,
    config_operator_task,
    request_callable,
    step_arguments,
)
from pipeglot.ir.model import Step
from pipeglot.ir.sagemaker import BASELINE_FILES, DRIFT_CHECK_BASELINES

if TYPE_CHECKING:
    from pipeglot.backends.airflow.emitter import Emitter


def processing(emitter: Emitter, step: Step) -> Task:
    return config_operator_task(emitter, "SageMakerProcessingOperator", step, "ProcessingJobName")


def training(emitter: Emitter, step: Step) -> Task:
    return config_operator_task(emitter, "SageMakerTrainingOperator", step, "TrainingJobName")


def transform(emitter: Emitter, step: Step) -> Task:
    return config_operator_task(emitter, "SageMakerTransformOperator", step, "TransformJobName")


def tuning(emitter: Emitter, step: Step) -> Task:
    # CreateHyperParameterTuningJob names are at most 32 characters.
    return config_operator_task(
        emitter, "SageMakerTuningOperator", step, "HyperParameterTuningJobName", 32
    )


def model(emitter: Emitter, step: Step) -> Task:
    return config_operator_task(emitter, "SageMakerModelOperator", step, "ModelName")


def endpoint_config(emitter: Emitter, step: Step) -> Task:
    # EndpointConfigName and EndpointName are part of the source request, as in SageMaker.
    return config_operator_task(emitter, "SageMakerEndpointConfigOperator", step, None)


def endpoint(emitter: Emitter, step: Step) -> Task:
    return config_operator_task(emitter, "SageMakerEndpointOperator", step, None)


# The handlers whose request goes to a provider operator as ``config``.
CONFIG_HANDLERS = (processing, training, transform, tuning, model, endpoint_config, endpoint)


def sagemaker_request(
    action: str,
    describe: str,
    name_key: str,
    status_key: str,
    *,
    job_name: str | None = None,
    max_length: int = 63,
) -> Callable[[Emitter, Step], Task]:
    """A handler for a step sent as one SageMaker request by the generated
    ``sagemaker_request`` callable, for requests whose provider operator (if any) does not
    send every field of the source. ``job_name`` is the key of a generated unique name."""

    def handler(emitter: Emitter, step: Step) -> Task:
        emitter.need("request")
        emitter.use_python_operator()
        request = request_callable(emitter, step, job_name, max_length)
        sender = call(
            "sagemaker_request",
            request,
            literal(action),
            literal(describe),
            literal(name_key),
            literal(status_key),
        )
        return Task(
            "PythonOperator",
            {"python_callable": sender},
            constants=[("REQUEST", emitter.value(step_arguments(step)))],
        )

    return handler


register_model = sagemaker_request(
    "create_model_package", "describe_model_package", "ModelPackageName", "ModelPackageStatus"
)
automl = sagemaker_request(
    "create_auto_ml_job",
    "describe_auto_ml_job",
    "AutoMLJobName",
    "AutoMLJobStatus",
    job_name="AutoMLJobName",
    max_length=32,  # CreateAutoMLJob names are at most 32 characters
)
inference_component = sagemaker_request(
    "create_inference_component",
    "describe_inference_component",
    "InferenceComponentName",
    "InferenceComponentStatus",
)


def check(emitter: Emitter, step: Step) -> Task:
    """QualityCheck and ClarifyCheck: the check's processing job through a processing operator
    that also returns the baseline properties later steps read."""
    emitter.need("check_operator")
    emitter.need("resolved")
    task = Task(
        "SageMakerCheckOperator",
        {"config": request_callable(emitter, step, "ProcessingJobName")},
        constants=[
            ("REQUEST", emitter.value(step_arguments(step))),
            ("CHECK", emitter.value(dict(step.check))),
        ],
    )
    constant = emitter.constant(step.name, "CHECK")
    task.arguments["check"] = call("resolved", Atom(constant))
    calculated = {name: file for (kind, name), file in BASELINE_FILES.items() if kind is step.kind}
    task.arguments["calculated"] = literal(calculated)
    task.arguments["drift_check"] = literal(
        {
            name: [supplied, source]
            for name, (supplied, source) in DRIFT_CHECK_BASELINES.items()
            if source in calculated
        }
    )
    emitter.diagnostics.approximated(
        f"airflow.{step.kind.value}",
        f"{step.type_name}: runs the check's processing job and provides its baseline "
        "properties; SkipCheck, FailOnViolation and RegisterNewBaseline are not evaluated "
        "by SageMaker's rules (a violation fails the step only if the job itself fails)",
        step.name,
    )
    return task
