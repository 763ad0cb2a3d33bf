"""Callback steps: a helper task sends SageMaker's SQS message (token, arguments, status), then
the step's own task, a PythonSensor in reschedule mode, waits for the worker's answer on the
reply queue without holding a worker slot between polls. The protocol (what the worker sends
instead of SendPipelineExecutionStepSuccess/Failure) is pipeglot/callback_worker.py's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeglot.backends._python import Atom, call, literal
from pipeglot.backends.airflow.tasks import HelperTask, Task, step_arguments
from pipeglot.ir.expressions import ExecutionVariable
from pipeglot.ir.model import Step

if TYPE_CHECKING:
    from pipeglot.backends.airflow.emitter import Emitter

SEND_ROLE = "send"
POKE_SECONDS = 60  # between long polls of 20 s; the task is rescheduled in between


def setup_role(step: Step) -> str:
    return SEND_ROLE


def callback(emitter: Emitter, step: Step) -> Task:
    emitter.need("callback")
    emitter.use_python_operator()
    emitter.use("@python_sensor")
    send = emitter.helper(step.name, SEND_ROLE)
    arguments = emitter.constant(step.name, "ARGUMENTS")
    sender = call(
        "send_callback",
        emitter.value(step.sqs_queue_url),
        Atom(arguments),
        emitter.value(ExecutionVariable("PipelineExecutionArn")),
    )
    outputs = {
        output.name: output.type if isinstance(output.type, str) else "String"
        for output in step.output_parameters or ()
    }
    _report_protocol(emitter, step)
    return Task(
        emitter.profile.python_sensor[1],
        {
            "python_callable": call("callback_answer", literal(send.task_id), literal(outputs)),
            "mode": literal("reschedule"),
            "poke_interval": Atom(str(POKE_SECONDS)),
        },
        constants=[("ARGUMENTS", emitter.value(step_arguments(step)))],
        setup=HelperTask(send, "PythonOperator", {"python_callable": sender}),
    )


def _report_protocol(emitter: Emitter, step: Step) -> None:
    emitter.diagnostics.approximated(
        "airflow.callback.protocol",
        "the worker that reads the SQS message must answer with pipeglot.callback_worker's "
        "send_pipeline_execution_step_success(CallbackToken=token, OutputParameters=[...]) "
        "(or send_pipeline_execution_step_failure), an SQS message to the reply queue (the "
        "request queue's URL plus '-replies') with the token in the message attribute "
        "CallbackToken, instead of SageMaker's SendPipelineExecutionStepSuccess/Failure",
        step.name,
    )
