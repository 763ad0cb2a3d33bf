"""The arguments of the DAG (its id, typed params) and those every task shares (display name,
description, retries), with the ledger entries for what they cannot carry."""

from __future__ import annotations

import re

from pipeglot.backends import _python as pysource
from pipeglot.backends._python import Atom, Doc, Group, call, literal
from pipeglot.backends.airflow import schedule
from pipeglot.backends.airflow.emitter import Emitter
from pipeglot.ir.model import MISSING, Parameter, ParameterType, Step
from pipeglot.ir.retries import any_failure_retry

_PARAM_TYPES = {
    ParameterType.STRING: "string",
    ParameterType.INTEGER: "integer",
    ParameterType.FLOAT: "number",
    ParameterType.BOOLEAN: "boolean",
}


# --- The DAG --------------------------------------------------------------------------------


def dag_call(emitter: Emitter) -> Group:
    """``DAG(dag_id=..., schedule=None, ..., params={...}, tags=[...])``."""
    workflow = emitter.workflow
    dag_id = re.sub(r"[^A-Za-z0-9_.-]", "_", workflow.name or "pipeline")[:250]
    if dag_id != (workflow.name or "pipeline"):
        emitter.diagnostics.approximated(
            "airflow.dag_id",
            f"the pipeline name {workflow.name!r} is not a valid DAG id; the DAG id is {dag_id!r}",
        )
    arguments: dict[str, Doc] = {
        "dag_id": literal(dag_id),
        "schedule": Atom("None"),  # SageMaker pipelines run when started
        "start_date": Atom("datetime(2024, 1, 1, tzinfo=UTC)"),  # fixed: deterministic output
        "catchup": Atom("False"),
    }
    scheduled = schedule.dag_arguments(emitter)  # the pipeline's triggers, if any
    if "start_date" not in scheduled:
        emitter.use("datetime.UTC", "datetime.datetime")
    arguments.update(scheduled)
    parameters = workflow.parameter_list
    if parameters:
        emitter.use(".".join(emitter.profile.param))
        arguments["params"] = Group(
            "{",
            tuple(
                pysource.Entry(pysource.string_literal(p.name), ": ", _param(emitter, p))
                for p in parameters
            ),
            "}",
        )
    arguments["tags"] = literal(["pipeglot", "sagemaker"])
    emitter.use(".".join(emitter.profile.dag))
    return call("DAG", **arguments)


def _param(emitter: Emitter, parameter: Parameter) -> Doc:
    """A typed Param; a parameter without a default has none, so Airflow requires a value."""
    args: list[Doc] = []
    if not parameter.required:
        args.append(literal(parameter.default))
    kwargs: dict[str, Doc] = {"type": literal(_PARAM_TYPES[parameter.type])}
    if parameter.enum_values is not None:
        kwargs["enum"] = literal(list(parameter.enum_values))
    if parameter.extra:
        emitter.diagnostics.dropped(
            "airflow.parameter_keys",
            f"parameter {parameter.name!r}: keys {', '.join(parameter.extra)} have no "
            "Airflow equivalent and are not translated",
        )
    return call("Param", *args, **kwargs)


def report_workflow(emitter: Emitter) -> None:
    """Ledger entries for pipeline-level settings that the DAG does not carry."""
    workflow, diagnostics = emitter.workflow, emitter.diagnostics
    config = workflow.experiment_config
    if config is not None and config.enabled:
        diagnostics.approximated(
            "airflow.experiment_config",
            "PipelineExperimentConfig: jobs are not added to a SageMaker experiment and "
            "trial as SageMaker Pipelines does; references to it still evaluate",
        )
    if workflow.mlflow_config not in (MISSING, None):
        diagnostics.dropped(
            "airflow.mlflow_config", "MlflowConfig has no Airflow equivalent; not translated"
        )
    if workflow.extra:
        diagnostics.dropped(
            "airflow.pipeline_keys",
            f"pipeline keys {', '.join(workflow.extra)} are not translated",
        )


# --- Every task -----------------------------------------------------------------------------


def common_arguments(emitter: Emitter, step: Step) -> dict[str, Doc]:
    """Display name, description and retries; CacheConfig and unknown keys are reported."""
    arguments: dict[str, Doc] = {}
    if isinstance(step.display_name, str):
        arguments["task_display_name"] = literal(step.display_name)
    if isinstance(step.description, str):
        arguments["doc_md"] = literal(step.description)
    arguments.update(_retries(emitter, step))
    if step.cache_config is not None and step.cache_config.enabled is not False:
        emitter.diagnostics.dropped(
            "airflow.cache_config",
            "CacheConfig: Airflow has no step cache, so the step always runs (SageMaker "
            "would reuse a previous successful run within ExpireAfter)",
            step.name,
        )
    if step.extra:
        emitter.diagnostics.dropped(
            "airflow.step_keys",
            f"keys {', '.join(step.extra)} are not translated",
            step.name,
        )
    return arguments


def _retries(emitter: Emitter, step: Step) -> dict[str, Doc]:
    """Task retries that cover every RetryPolicy of the step (ir.retries.any_failure_retry:
    the most attempts, the shortest first delay, the steepest backoff), since Airflow retries
    after any failure, not by type."""
    rule = any_failure_retry(step)
    if rule is None:
        return {}
    emitter.use("datetime.timedelta")
    arguments: dict[str, Doc] = {
        "retries": Atom(str(rule.max_attempts)),
        "retry_delay": Atom(f"timedelta(seconds={pysource.number_literal(rule.interval_seconds)})"),
    }
    backoff = ""
    rate = rule.backoff_rate
    if rate > 1:
        if emitter.profile.float_backoff:
            arguments["retry_exponential_backoff"] = Atom(pysource.number_literal(rate))
        else:
            arguments["retry_exponential_backoff"] = Atom("True")
            if rate != 2:
                backoff = f"; Airflow 2 doubles the delay where SageMaker multiplies by {rate}"
    computed = ""
    if rule.computed:
        computed = f"; {', '.join(rule.computed)} given as expressions: SageMaker's defaults used"
    emitter.diagnostics.approximated(
        "airflow.retry_policy",
        f"RetryPolicies: the task retries up to {rule.max_attempts} times after any failure, "
        f"not only {', '.join(sorted(rule.exception_types))}; a retry starts a new job with a "
        f"new name{backoff}{computed}",
        step.name,
    )
    return arguments
