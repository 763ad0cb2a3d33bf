"""EMRServerless steps: EmrServerlessStartJobOperator runs JobConfig (EMR Serverless' own
StartJobRun request, camelCase) and waits for the job run to end.

With ``ApplicationId`` the job runs there. With ``ApplicationConfig`` the step owns an
application, as in SageMaker: a setup helper creates (and starts) it, and a teardown helper
stops and deletes it once the job is done, whatever its state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeglot.backends._python import Atom, Doc, call, literal
from pipeglot.backends.airflow.tasks import HelperTask, Task, placeholder_task, step_arguments
from pipeglot.ir.expressions import Value, iter_expressions
from pipeglot.ir.model import Step

if TYPE_CHECKING:
    from pipeglot.backends.airflow.emitter import Emitter

_EMR_OPERATORS = "airflow.providers.amazon.aws.operators.emr"
_CREATE_APPLICATION = "create_application"
_DELETE_APPLICATION = "delete_application"
# StartJobRun members that the operator takes as arguments of their own; the rest go in config.
_OPERATOR_ARGUMENTS = {
    "executionRoleArn": "execution_role_arn",
    "jobDriver": "job_driver",
    "configurationOverrides": "configuration_overrides",
    "name": "name",
}
# The operator gives up waiting after waiter_max_attempts checks, 60 s apart (25 by default);
# SageMaker waits until the job run ends, which EMR Serverless does after
# executionTimeoutMinutes (720 by default). Wait that long, and a little more.
_DEFAULT_TIMEOUT_MINUTES = 720
_MARGIN_MINUTES = 60


def setup_role(step: Step) -> str | None:
    """The setup helper an EMRServerless step needs: one that creates its application."""
    return _CREATE_APPLICATION if _owns_application(step_arguments(step)) else None


def _owns_application(arguments: dict[str, Value]) -> bool:
    config = arguments.get("ApplicationConfig")
    return (
        isinstance(config, dict)
        and "ApplicationId" not in arguments
        and isinstance(config.get("releaseLabel"), str)
        and isinstance(config.get("type"), str)
        # The create operator does not template its request: it cannot evaluate expressions.
        and not any(True for _ in iter_expressions(config))
    )


def emr_serverless(emitter: Emitter, step: Step) -> Task:
    arguments = step_arguments(step)
    job = arguments.get("JobConfig")
    job = job if isinstance(job, dict) else {}
    if _owns_application(arguments):
        create = emitter.helper(step.name, _CREATE_APPLICATION)
        application: Doc = Atom(f"{create.variable}.output")  # the id the create task returns
    elif "ApplicationId" in arguments or "applicationId" in job:
        emitter.need("resolved")
        application_id = arguments.get("ApplicationId", job.get("applicationId"))
        application = call("resolved", emitter.value(application_id))
    else:
        return placeholder_task(emitter, step, _why_not(arguments))
    task = _start_job(emitter, step, arguments, job, application)
    if _owns_application(arguments):
        _own_application(emitter, step, task, arguments["ApplicationConfig"])
    return task


def _why_not(arguments: dict[str, Value]) -> str:
    if "ApplicationConfig" not in arguments:
        return "an EMRServerless step needs an ApplicationId or an ApplicationConfig"
    return (
        "an EMRServerless ApplicationConfig needs literal releaseLabel and type and no "
        "pipeline expressions: EmrServerlessCreateApplicationOperator does not evaluate them; "
        "create the application beforehand and pass its ApplicationId"
    )


def _start_job(
    emitter: Emitter, step: Step, arguments: dict[str, Value], job: dict, application: Doc
) -> Task:
    emitter.need("resolved")
    emitter.use(f"{_EMR_OPERATORS}.EmrServerlessStartJobOperator")
    job = dict(job)
    job.pop("applicationId", None)
    if "executionRoleArn" not in job and "ExecutionRoleArn" in arguments:
        job["executionRoleArn"] = arguments["ExecutionRoleArn"]
    task_arguments: dict[str, Doc] = {"application_id": application}
    for member, argument in _OPERATOR_ARGUMENTS.items():
        if member in job:
            task_arguments[argument] = call("resolved", emitter.value(job.pop(member)))
    if isinstance(job.get("clientToken"), str):  # an idempotency token, not templated
        task_arguments["client_request_token"] = literal(job.pop("clientToken"))
    if job:
        task_arguments["config"] = call("resolved", emitter.value(job))
    timeout = job.get("executionTimeoutMinutes", _DEFAULT_TIMEOUT_MINUTES)
    if not isinstance(timeout, int) or isinstance(timeout, bool):
        timeout = _DEFAULT_TIMEOUT_MINUTES
    task_arguments["waiter_max_attempts"] = Atom(str(timeout + _MARGIN_MINUTES))
    _report(emitter, step, "name" in task_arguments)
    return Task("EmrServerlessStartJobOperator", task_arguments)


def _own_application(emitter: Emitter, step: Step, task: Task, config: dict) -> None:
    emitter.use(
        f"{_EMR_OPERATORS}.EmrServerlessCreateApplicationOperator",
        f"{_EMR_OPERATORS}.EmrServerlessDeleteApplicationOperator",
    )
    create = emitter.helper(step.name, _CREATE_APPLICATION)
    delete = emitter.helper(step.name, _DELETE_APPLICATION)
    request = {k: v for k, v in config.items() if k not in ("releaseLabel", "type", "clientToken")}
    arguments: dict[str, Doc] = {
        "release_label": literal(config["releaseLabel"]),
        "job_type": literal(config["type"]),
    }
    if isinstance(config.get("clientToken"), str):
        arguments["client_request_token"] = literal(config["clientToken"])
    if request:
        # Not a templated field: the literal arrives as written, never rendered as Jinja.
        arguments["config"] = emitter.value(request)
    task.setup = HelperTask(create, "EmrServerlessCreateApplicationOperator", arguments)
    task.teardown = HelperTask(
        delete,
        "EmrServerlessDeleteApplicationOperator",
        {"application_id": Atom(f"{create.variable}.output"), "force_stop": Atom("True")},
    )
    emitter.diagnostics.approximated(
        "airflow.emr_serverless",
        f"EMRServerless: the step's application is created and started by {create.task_id!r} "
        f"and stopped and deleted by {delete.task_id!r} whatever the job's outcome",
        step.name,
    )


def _report(emitter: Emitter, step: Step, named: bool) -> None:
    name = "" if named else "; the job run is named emr_serverless_job_airflow_<uuid>"
    emitter.diagnostics.approximated(
        "airflow.emr_serverless",
        "EMRServerless: the task waits for the job run up to executionTimeoutMinutes plus an "
        f"hour{name}",
        step.name,
    )
