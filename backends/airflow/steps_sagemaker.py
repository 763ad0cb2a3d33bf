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
from pipeglot.ir.sagemaker import (
    BASELINE_FILES,
    DEFAULT_NAME_LIMIT,
    DRIFT_CHECK_BASELINES,
    resource_api,
)

if TYPE_CHECKING:
    from pipeglot.backends.airflow.emitter import Emitter


def generated_name(step: Step) -> tuple[str | None, int]:
    """The request key under which the task puts a name unique per run and try, and its
    length limit (ir.sagemaker): None where the request names the resource itself (an
    endpoint) or the resource has no name (a versioned model package)."""
    api = resource_api(step.kind)
    if api is None or not api.name_is_prefix or api.unnamed_with is not None:
        return None, DEFAULT_NAME_LIMIT
    return api.name_field, api.name_limit


def config_operator(operator: str) -> Callable[[Emitter, Step], Task]:
    """A handler for steps whose request a provider operator sends whole, as ``config``."""

    def handler(emitter: Emitter, step: Step) -> Task:
        name_key, limit = generated_name(step)
        return config_operator_task(emitter, operator, step, name_key, limit)

    return handler


processing = config_operator("SageMakerProcessingOperator")
training = config_operator("SageMakerTrainingOperator")
transform = config_operator("SageMakerTransformOperator")
tuning = config_operator("SageMakerTuningOperator")
model = config_operator("SageMakerModelOperator")
endpoint_config = config_operator("SageMakerEndpointConfigOperator")
endpoint = config_operator("SageMakerEndpointOperator")

# The handlers whose request goes to a provider operator as ``config``.
CONFIG_HANDLERS = (processing, training, transform, tuning, model, endpoint_config, endpoint)


def sagemaker_request(emitter: Emitter, step: Step) -> Task:
    """A step sent as one SageMaker request by the generated ``sagemaker_request`` callable,
    for requests whose provider operator (if any) does not send every field of the source;
    which call, which name, which statuses end it: ir.sagemaker's facts of the step kind."""
    api = resource_api(step.kind)
    assert api is not None, step.kind  # the dispatch table sends only resource steps here
    emitter.need("request")
    emitter.use_python_operator()
    name_key, limit = generated_name(step)
    sender = call(
        "sagemaker_request",
        request_callable(emitter, step, name_key, limit),
        literal(f"create_{api.resource}"),
        literal(f"describe_{api.resource}"),
        literal(api.name_field),
        literal(api.arn_field),
        literal(api.status_field),
        literal(list(api.succeeded)),
        literal(list(api.failed)),
    )
    return Task(
        "PythonOperator",
        {"python_callable": sender},
        constants=[("REQUEST", emitter.value(step_arguments(step)))],
    )


register_model = automl = inference_component = sagemaker_request


def check(emitter: Emitter, step: Step) -> Task:
    """QualityCheck and ClarifyCheck: the check's processing job through a processing operator
    that also returns the baseline properties later steps read."""
    emitter.need("check_operator")
    emitter.need("resolved")
    task = Task(
        "SageMakerCheckOperator",
        {"config": request_callable(emitter, step, *generated_name(step))},
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
