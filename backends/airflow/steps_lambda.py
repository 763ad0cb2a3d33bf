"""Lambda steps: the provider's LambdaInvokeFunctionOperator, with the step's arguments as the
JSON payload; the function's response becomes the step's OutputParameters (see runtime.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeglot.backends._python import Atom, call
from pipeglot.backends.airflow.tasks import Task, step_arguments
from pipeglot.ir.model import Step

if TYPE_CHECKING:
    from pipeglot.backends.airflow.emitter import Emitter

_LAMBDA_OPERATOR = (
    "airflow.providers.amazon.aws.operators.lambda_function.LambdaInvokeFunctionOperator"
)


def lambda_function(emitter: Emitter, step: Step) -> Task:
    emitter.need("resolved")
    emitter.need("resolved_json")
    emitter.use(_LAMBDA_OPERATOR)
    constant = emitter.constant(step.name, "PAYLOAD")
    return Task(
        "LambdaInvokeFunctionOperator",
        {
            "function_name": call("resolved", emitter.value(step.function_arn)),
            "payload": call("resolved_json", Atom(constant)),
        },
        constants=[("PAYLOAD", emitter.value(step_arguments(step)))],
    )
