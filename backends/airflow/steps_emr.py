"""EMR steps: EmrAddStepsOperator adds the step to a cluster and waits for it to end.

With ``ClusterId`` the cluster exists already. With ``ClusterConfig`` the step owns a cluster,
as in SageMaker: a setup helper creates it (EmrCreateJobFlowOperator), the step's task adds the
step, and a teardown helper terminates the cluster once the step is done, whatever its state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeglot.backends._python import Atom, Doc, call
from pipeglot.backends.airflow.tasks import HelperTask, Task, placeholder_task, step_arguments
from pipeglot.ir.expressions import Value
from pipeglot.ir.model import Step

if TYPE_CHECKING:
    from pipeglot.backends.airflow.emitter import Emitter

_EMR_OPERATORS = "airflow.providers.amazon.aws.operators.emr"
_STEP_KEYS = {"StepConfig", "ExecutionRoleArn"}
# EmrAddStepsOperator gives up waiting after waiter_max_attempts checks (30 s apart; 60 by
# default: 30 minutes). SageMaker waits as long as the EMR step runs; wait up to a week.
_WAIT_ATTEMPTS = 7 * 24 * 120
_CREATE_CLUSTER = "create_cluster"
_TERMINATE_CLUSTER = "terminate_cluster"


def setup_role(step: Step) -> str | None:
    """The setup helper an EMR step needs: one that creates its cluster (ClusterConfig)."""
    return _CREATE_CLUSTER if _owns_cluster(step_arguments(step)) else None


def _owns_cluster(arguments: dict[str, Value]) -> bool:
    return (
        isinstance(arguments.get("ClusterConfig"), dict)
        and "ClusterId" not in arguments
        and not set(arguments) - _STEP_KEYS - {"ClusterConfig"}
    )


def emr(emitter: Emitter, step: Step) -> Task:
    arguments = step_arguments(step)
    if _owns_cluster(arguments):
        return _on_own_cluster(emitter, step, arguments)
    if "ClusterId" not in arguments or set(arguments) - _STEP_KEYS - {"ClusterId"}:
        return placeholder_task(
            emitter,
            step,
            "an EMR step needs exactly one of ClusterId and ClusterConfig, with StepConfig and "
            f"ExecutionRoleArn; this one has {', '.join(sorted(arguments)) or 'no arguments'}",
        )
    emitter.need("resolved")
    task = _add_step(
        emitter, step, arguments, call("resolved", emitter.value(arguments["ClusterId"]))
    )
    _report_step(emitter, step, "")
    return task


def _add_step(emitter: Emitter, step: Step, arguments: dict[str, Value], cluster: Doc) -> Task:
    emitter.need("resolved")
    emitter.use(f"{_EMR_OPERATORS}.EmrAddStepsOperator")
    task_arguments: dict[str, Doc] = {
        "job_flow_id": cluster,
        "steps": call("resolved", emitter.value([_emr_step(step.name, arguments)])),
        "wait_for_completion": Atom("True"),
        "waiter_max_attempts": Atom(str(_WAIT_ATTEMPTS)),
    }
    if "ExecutionRoleArn" in arguments:
        task_arguments["execution_role_arn"] = call(
            "resolved", emitter.value(arguments["ExecutionRoleArn"])
        )
    return Task("EmrAddStepsOperator", task_arguments)


def _emr_step(name: str, arguments: dict) -> dict:
    """The EMR step request: SageMaker names it after the pipeline step and lets the cluster
    go on after a failure; StepConfig (HadoopJarStep) is the source's."""
    emr_step = {"Name": name, "ActionOnFailure": "CONTINUE"}
    config = arguments.get("StepConfig")
    if isinstance(config, dict):
        emr_step.update(config)
    return emr_step


def _on_own_cluster(emitter: Emitter, step: Step, arguments: dict[str, Value]) -> Task:
    emitter.use(
        f"{_EMR_OPERATORS}.EmrCreateJobFlowOperator",
        f"{_EMR_OPERATORS}.EmrTerminateJobFlowOperator",
    )
    create = emitter.helper(step.name, _CREATE_CLUSTER)
    terminate = emitter.helper(step.name, _TERMINATE_CLUSTER)
    cluster_id = Atom(f"{create.variable}.output")  # the job flow id the create task returns
    task = _add_step(emitter, step, arguments, cluster_id)
    task.constants.append(("CLUSTER", emitter.value(_run_job_flow(step.name, arguments))))
    task.setup = HelperTask(
        create,
        "EmrCreateJobFlowOperator",
        {
            "job_flow_overrides": call("resolved", Atom(emitter.constant(step.name, "CLUSTER"))),
            # Without a connection: the request is the source's, not merged into a
            # connection's defaults.
            "emr_conn_id": Atom("None"),
        },
    )
    task.teardown = HelperTask(
        terminate, "EmrTerminateJobFlowOperator", {"job_flow_id": cluster_id}
    )
    _report_step(
        emitter,
        step,
        f"; the cluster is created by {create.task_id!r} (named after the step, kept alive "
        f"until its step is done) and terminated by {terminate.task_id!r} whatever the step's "
        "outcome",
    )
    return task


def _run_job_flow(name: str, arguments: dict[str, Value]) -> dict[str, Value]:
    """The RunJobFlow request: ClusterConfig, a Name (which ClusterConfig may not hold), and a
    cluster that waits for the step added after it starts (SageMaker adds the step itself)."""
    config = dict(arguments["ClusterConfig"])
    instances = config.get("Instances")
    instances = dict(instances) if isinstance(instances, dict) else {}
    instances["KeepJobFlowAliveWhenNoSteps"] = True
    return {"Name": name, **config, "Instances": instances}


def _report_step(emitter: Emitter, step: Step, cluster: str) -> None:
    emitter.diagnostics.approximated(
        "airflow.emr",
        "EMR: the step is added to the cluster with Name = the step name and "
        "ActionOnFailure CONTINUE (SageMaker chooses these itself); the task waits for it "
        f"up to 7 days{cluster}",
        step.name,
    )
