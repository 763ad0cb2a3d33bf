"""The diagnostics ledger of a KFP translation: every way the generated pipeline differs.

Each function here records the differences of one part of the workflow; none of them changes
what is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pipeglot.backends.kfp.kinds import UNSUPPORTED
from pipeglot.backends.kfp.layout import MAX_DEPTH, Layout
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.expressions import PropertyFileRef
from pipeglot.ir.model import MISSING, Step, StepKind, Workflow
from pipeglot.ir.regions import Regions
from pipeglot.ir.retries import any_failure_retry

if TYPE_CHECKING:
    from pipeglot.backends.kfp.plan import Task

_EXECUTION_NOTES = {
    "PipelineExecutionId": "Execution.PipelineExecutionId is the KFP run's UUID",
    "StartDateTime": "Execution.StartDateTime is the KFP run's creation time (UTC, RFC 3339)",
    "PipelineExecutionArn": (
        "Execution.PipelineExecutionArn has no KFP equivalent; it is the run's resource name"
    ),
    "PipelineArn": "Execution.PipelineArn has no KFP equivalent; it is the pipeline's name",
}


def note_workflow(
    workflow: Workflow,
    parameters: dict[str, str],
    tasks: Iterable[Task],
    diagnostics: Diagnostics,
) -> None:
    """Parameters renamed or unrestricted, the experiment config, and execution variables."""
    for parameter in workflow.parameter_list:
        ident = parameters[parameter.name]
        if ident != parameter.name:
            diagnostics.approximated(
                "kfp.parameter_name",
                f"parameter {parameter.name!r} is the KFP pipeline input {ident!r} "
                "(KFP input names are Python identifiers)",
            )
        if parameter.enum_values is not None:
            diagnostics.approximated(
                "kfp.enum_values",
                f"parameter {parameter.name!r} accepts only {list(parameter.enum_values)} in "
                "SageMaker; KFP does not restrict the values of a pipeline input",
            )
    config = workflow.experiment_config
    if config is not None and config.enabled:
        diagnostics.dropped(
            "kfp.experiment_config",
            "PipelineExperimentConfig: SageMaker adds each job to the experiment and trial; "
            "the KFP tasks do not (add ExperimentConfig to the requests to keep that)",
        )
    seen = {name for task in tasks for name in task.reads.execution}
    for name in sorted(seen & set(_EXECUTION_NOTES)):
        diagnostics.approximated("kfp.execution_variable", _EXECUTION_NOTES[name])


def note_unsupported(step: Step, diagnostics: Diagnostics) -> None:
    diagnostics.unsupported(
        "kfp.step_type",
        f"{step.type_name} step: {UNSUPPORTED[step.kind]}. The generated task fails the run "
        "when reached.",
        step.name,
    )


def note_step(step: Step, diagnostics: Diagnostics) -> None:
    """What a translated step does differently from SageMaker."""
    _note_cache(step, diagnostics)
    _note_retry(step, diagnostics)
    if step.kind in (StepKind.QUALITY_CHECK, StepKind.CLARIFY_CHECK):
        diagnostics.approximated(
            "kfp.check_step",
            "the check's processing job runs and its Calculated*/BaselineUsedForDriftCheck* "
            "properties are provided, but SageMaker's drift check itself (comparing with the "
            "supplied or registered baseline, SkipCheck, FailOnViolation, RegisterNewBaseline "
            "in the model registry) is not performed",
            step.name,
        )
    elif step.kind is StepKind.EMR:
        diagnostics.approximated(
            "kfp.emr_step",
            "the EMR step runs through AddJobFlowSteps (ActionOnFailure CONTINUE) or, with "
            "ClusterConfig, RunJobFlow on a cluster that ends with the step; SageMaker's own "
            "step name and log settings are not reproduced",
            step.name,
        )
    elif step.kind is StepKind.EMR_SERVERLESS:
        if isinstance(step.arguments, dict) and "ApplicationConfig" in step.arguments:
            diagnostics.approximated(
                "kfp.emr_serverless_application",
                "the task creates the EMR Serverless application from ApplicationConfig (named "
                "after the step unless the config names it), starts it, runs the job, then "
                "stops and deletes it, also when the job fails or the run is cancelled; if the "
                "pod is killed before that ends, the application stops itself when idle "
                "(autoStopConfiguration, on by default) but is not deleted",
                step.name,
            )
    elif step.kind is StepKind.LINEAGE:
        diagnostics.approximated(
            "kfp.lineage_step",
            "the task creates the actions, artifacts and contexts with the SageMaker Lineage "
            "APIs (CreateAction, CreateArtifact, CreateContext) under their source names, then "
            "adds the associations (AddAssociation), resolving {Name, Type} ends to the ARNs "
            "it created; Associations lists each one's SourceArn and DestinationArn. An entity "
            "that already exists (from an earlier attempt or run) fails the task",
            step.name,
        )
    elif step.kind is StepKind.CALLBACK:
        diagnostics.approximated(
            "kfp.callback.protocol",
            "the task sends SageMaker's SQS message (token, arguments, status) and waits, in "
            "its pod, for the answer; the worker that reads the message must answer with "
            "pipeglot.callback_worker's send_pipeline_execution_step_success(CallbackToken="
            "token, OutputParameters=[...]) (or send_pipeline_execution_step_failure): an SQS "
            "message to the reply queue (the request queue's URL plus '-replies') with the "
            "token in the message attribute CallbackToken, instead of SageMaker's "
            "SendPipelineExecutionStepSuccess/Failure",
            step.name,
        )
    elif step.kind is StepKind.LAMBDA:
        diagnostics.approximated(
            "kfp.lambda_outputs",
            "output parameters are the keys of the function's JSON answer as they are; "
            "OutputType is not enforced",
            step.name,
        )


def note_missing_property_file(
    node: PropertyFileRef, consumer: str, diagnostics: Diagnostics
) -> None:
    diagnostics.unsupported(
        "kfp.property_file",
        f"Std:JsonGet reads property file {node.name!r} of step {node.step!r}, which does "
        "not declare it; declare it in the step's PropertyFiles",
        consumer,
    )


def note_conflicts(regions: Regions, diagnostics: Diagnostics) -> None:
    """Steps that read from different Condition branches: KFP cannot wire them."""
    for name, guards in regions.conflicts.items():
        branches = "; ".join(
            " and ".join(f"{c} is {'true' if b else 'false'}" for c, b in g) or "always"
            for g in guards
        )
        diagnostics.unsupported(
            "kfp.branch_join",
            f"the step reads from steps in different Condition branches ({branches}); "
            "a KFP task can only read from tasks in its own or enclosing dsl.If blocks",
            name,
        )


def note_flattened(placed: Layout, diagnostics: Diagnostics) -> None:
    """Steps nested deeper than MAX_DEPTH conditions: their component checks the guard."""
    for name, (condition, branch) in placed.checked_guards.items():
        diagnostics.approximated(
            "kfp.deep_condition",
            f"the step runs under more than {MAX_DEPTH} nested conditions, more dsl.If blocks "
            "than Python compiles; it sits in the block of the outer ones and checks that "
            f"{condition!r} chose {'IfSteps' if branch else 'ElseSteps'} itself: when not, its "
            "task ends at once as skipped (KFP shows it as succeeded, not skipped)",
            name,
        )


def _note_cache(step: Step, diagnostics: Diagnostics) -> None:
    config = step.cache_config
    if config is None or config.enabled is False:
        return
    if config.enabled is not True:
        diagnostics.approximated(
            "kfp.cache",
            f"CacheConfig Enabled is {config.enabled!r}, not a boolean; caching is off",
            step.name,
        )
        return
    expiry = "" if config.expire_after is MISSING else f" (ExpireAfter {config.expire_after})"
    diagnostics.approximated(
        "kfp.cache",
        f"caching is on; KFP reuses results of the same component and inputs with no "
        f"expiry{expiry}",
        step.name,
    )


def _note_retry(step: Step, diagnostics: Diagnostics) -> None:
    rule = any_failure_retry(step)
    if rule is None:
        return
    detail = ""
    if rule.computed:
        detail = f" ({', '.join(rule.computed)} given as expressions: SageMaker's defaults used)"
    diagnostics.approximated(
        "kfp.retry",
        f"KFP retries the task up to {rule.max_attempts} times after any failure, not only "
        f"{', '.join(rule.exception_types)}; a retry starts a new job under a new name" + detail,
        step.name,
    )
