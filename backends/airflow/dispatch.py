"""The dispatch table: which handler writes the task of each step kind, and which kinds have
no faithful Airflow translation (a test proves every StepKind is in exactly one of them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pipeglot.backends.airflow import (
    steps_callback,
    steps_control,
    steps_emr,
    steps_emr_serverless,
    steps_lambda,
    steps_lineage,
    steps_sagemaker,
)
from pipeglot.backends.airflow.tasks import Task
from pipeglot.ir.model import Step, StepKind

if TYPE_CHECKING:
    from pipeglot.backends.airflow.emitter import Emitter

Handler = Callable[["Emitter", Step], Task]

HANDLERS: dict[StepKind, Handler] = {
    StepKind.PROCESSING: steps_sagemaker.processing,
    StepKind.TRAINING: steps_sagemaker.training,
    StepKind.FUNCTION: steps_sagemaker.training,
    StepKind.NOTEBOOK_JOB: steps_sagemaker.training,
    StepKind.TRANSFORM: steps_sagemaker.transform,
    StepKind.TUNING: steps_sagemaker.tuning,
    StepKind.MODEL: steps_sagemaker.model,
    StepKind.ENDPOINT_CONFIG: steps_sagemaker.endpoint_config,
    StepKind.ENDPOINT: steps_sagemaker.endpoint,
    StepKind.REGISTER_MODEL: steps_sagemaker.register_model,
    StepKind.AUTOML: steps_sagemaker.automl,
    StepKind.INFERENCE_COMPONENT: steps_sagemaker.inference_component,
    StepKind.QUALITY_CHECK: steps_sagemaker.check,
    StepKind.CLARIFY_CHECK: steps_sagemaker.check,
    StepKind.CONDITION: steps_control.condition,
    StepKind.FAIL: steps_control.fail,
    StepKind.LAMBDA: steps_lambda.lambda_function,
    StepKind.EMR: steps_emr.emr,
    StepKind.EMR_SERVERLESS: steps_emr_serverless.emr_serverless,
    StepKind.LINEAGE: steps_lineage.lineage,
    StepKind.CALLBACK: steps_callback.callback,
}

# Kinds whose task sends its request through a provider operator's ``config``: steps of these
# kinds can share a request builder (shared.py).
CONFIG_KINDS = frozenset(
    kind for kind, handler in HANDLERS.items() if handler in steps_sagemaker.CONFIG_HANDLERS
)

# Kinds whose task may need a setup helper that runs first (see Task): which one, if any.
SETUP_ROLES: dict[StepKind, Callable[[Step], str | None]] = {
    StepKind.EMR: steps_emr.setup_role,
    StepKind.EMR_SERVERLESS: steps_emr_serverless.setup_role,
    StepKind.CALLBACK: steps_callback.setup_role,
}

# Kinds with no faithful Airflow translation, and why (the placeholder task says the same).
UNSUPPORTED: dict[StepKind, str] = {
    StepKind.UNKNOWN: "pipeglot does not know this step type",
}
