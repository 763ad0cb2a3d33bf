"""One builder per step kind: the states a SageMaker step becomes.

Every builder fills a :class:`~pipeglot.backends.asl.build.StepStates` (see ``build``).
``BUILDERS`` has an entry for every ``StepKind``; ``UNSUPPORTED`` lists the kinds that become a
visible placeholder. Lineage and EMR Serverless steps have modules of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeglot.backends.asl import intrinsics as fn
from pipeglot.backends.asl import retry
from pipeglot.backends.asl.build import (
    CONTINUE,
    SAGEMAKER_ARN,
    SDK_ARN,
    Build,
    State,
    StepStates,
    add_retry,
    named_request,
    select,
    store,
    task,
)
from pipeglot.backends.asl.emr_serverless import build_emr_serverless
from pipeglot.backends.asl.intrinsics import Ref
from pipeglot.backends.asl.lineage import build_lineage
from pipeglot.backends.asl.names import SCRATCH_KEY
from pipeglot.backends.asl.values import CREATE_RESULT_FIELDS, TUNING_LIST_FIELD
from pipeglot.ir.model import MISSING, StepKind
from pipeglot.ir.sagemaker import (
    AUTOML_JOB,
    TUNING_JOB,
    TUNING_SUMMARIES_LIMIT,
)
from pipeglot.ir.sagemaker import resource_name_prefix as resource_prefix

__all__ = ["BUILDERS", "CONTINUE", "SDK_ARN", "UNSUPPORTED", "Build", "State", "StepStates"]

AUTOML_POLL_SECONDS = 60

# --- SageMaker jobs --------------------------------------------------------------------------


def _sync_job(api: str) -> Callable[[Build], None]:
    def build_job(build: Build) -> None:
        state = build.out.add(
            build.step.name, task(build, f"{SAGEMAKER_ARN}{api}.sync", named_request(build))
        )
        add_retry(build, state, retry.SAGEMAKER)
        fields = [f for f in build.kept if f != TUNING_LIST_FIELD]
        if build.step.kind is StepKind.TUNING and TUNING_LIST_FIELD in build.kept:
            fields = list(dict.fromkeys([*fields, TUNING_JOB.name_field]))
            store(build, state, lambda _: select(fields))
            _tuning_list(build)
        else:
            store(build, state, lambda kept: select(kept))

    return build_job


def _tuning_list(build: Build) -> None:
    """TrainingJobSummaries come from ListTrainingJobsForHyperParameterTuningJob, best first."""
    config = build.arguments.get("HyperParameterTuningJobConfig")
    objective = config.get("HyperParameterTuningJobObjective") if isinstance(config, dict) else None
    kind = objective.get("Type") if isinstance(objective, dict) else None
    order = "Ascending" if kind == "Minimize" else "Descending"
    build.diagnostics.approximated(
        "asl.tuning.summaries",
        f"TrainingJobSummaries is read with ListTrainingJobsForHyperParameterTuningJob sorted "
        f"by FinalObjectiveMetricValue ({order}, first 50), assumed to match the order SageMaker "
        "Pipelines uses",
        build.step.name,
    )
    name_path = f"$.{build.key}.{TUNING_JOB.name_field}"
    state = task(
        build,
        f"{SDK_ARN}sagemaker:listTrainingJobsForHyperParameterTuningJob",
        {
            f"{TUNING_JOB.name_field}.$": name_path,
            "SortBy": "FinalObjectiveMetricValue",
            "SortOrder": order,
            "MaxResults": TUNING_SUMMARIES_LIMIT,
        },
    )
    state["ResultSelector"] = {f"{TUNING_LIST_FIELD}.$": f"$.{TUNING_LIST_FIELD}"}
    state["ResultPath"] = f"$.{build.key}.Listed"
    add_retry(build, state, retry.SAGEMAKER)
    build.out.add(build.names.helper("ListTrainingJobs", build.step.name), state)


def _check_job(build: Build) -> None:
    """Quality and Clarify checks run their processing job; the baseline used for drift checks
    follows SageMaker's rule (``values``); the rest of the check logic that SageMaker Pipelines
    adds around the job (skip, fail on violation) does not."""
    check = build.step.check
    lost = [
        f"{key}={check[key]!r}"
        for key in ("SkipCheck", "FailOnViolation")
        if key in check and check[key] not in (None, False, MISSING)
    ]
    build.diagnostics.approximated(
        "asl.check.baseline",
        "the check's processing job runs as a Processing step; SageMaker Pipelines' own "
        "handling of SkipCheck and FailOnViolation is not reproduced"
        + (f" (set here: {', '.join(lost)})" if lost else "")
        + "; baseline properties are read from the job's first output, and the baseline used "
        "for drift checks follows RegisterNewBaseline as in SageMaker",
        build.step.name,
    )
    _sync_job("createProcessingJob")(build)


def _function_job(build: Build) -> None:
    build.diagnostics.approximated(
        "asl.function.runtime",
        "the @step function runs as its training job; its job driver receives the Step "
        "Functions execution name as the pipeline execution id",
        build.step.name,
    )
    _sync_job("createTrainingJob")(build)


# --- SageMaker resources (request/response) --------------------------------------------------

_DESCRIBE = {
    StepKind.MODEL: ("describeModel", "ModelName", None),
    StepKind.REGISTER_MODEL: ("describeModelPackage", "ModelPackageName", "ModelPackageArn"),
    StepKind.ENDPOINT_CONFIG: ("describeEndpointConfig", "EndpointConfigName", None),
    StepKind.ENDPOINT: ("describeEndpoint", "EndpointName", None),
    StepKind.INFERENCE_COMPONENT: ("describeInferenceComponent", "InferenceComponentName", None),
}


def _resource(resource: str, named: bool) -> Callable[[Build], None]:
    def build_resource(build: Build) -> None:
        parameters = named_request(build) if named else build.template(build.arguments)
        state = build.out.add(build.name, task(build, resource, parameters))
        add_retry(build, state, retry.SAGEMAKER)
        create_fields = CREATE_RESULT_FIELDS[build.step.kind]
        if all(name in create_fields for name in build.kept):
            store(build, state, select)
            return
        api, argument, from_result = _DESCRIBE[build.step.kind]
        if from_result is not None:  # the describe call needs what the create call returned
            state["ResultSelector"] = select([from_result])
            state["ResultPath"] = f"$.{build.key}"
            value: Any = Ref(f"$.{build.key}.{from_result}", True)
        else:
            state["ResultPath"] = None
            value = build.values.resource_name(build.step)
        describe = task(build, f"{SDK_ARN}sagemaker:{api}", {})
        describe["Parameters"] = (
            {f"{argument}.$": value.text} if isinstance(value, Ref) else {argument: value}
        )
        add_retry(build, describe, retry.SAGEMAKER)
        build.out.add(build.names.helper("Describe", build.step.name), describe)
        store(build, describe, select)

    return build_resource


def _endpoint(build: Build) -> None:
    build.diagnostics.approximated(
        "asl.endpoint.no-wait",
        "CreateEndpoint returns before the endpoint is InService, and fails if the endpoint "
        "exists; SageMaker Pipelines creates or updates it",
        build.step.name,
    )
    _resource(f"{SAGEMAKER_ARN}createEndpoint", True)(build)


def _inference_component(build: Build) -> None:
    build.diagnostics.approximated(
        "asl.inference-component.no-wait",
        "CreateInferenceComponent returns before the component is InService",
        build.step.name,
    )
    _resource(f"{SDK_ARN}sagemaker:createInferenceComponent", True)(build)


def _automl(build: Build) -> None:
    """CreateAutoMLJob has no .sync integration: create, then poll DescribeAutoMLJob."""
    step = build.step.name
    create = build.out.add(
        build.name, task(build, f"{SDK_ARN}sagemaker:createAutoMLJob", named_request(build))
    )
    create["ResultSelector"] = {"AutoMLJobArn.$": "$.AutoMLJobArn"}
    create["ResultPath"] = f"$.{SCRATCH_KEY}.{build.key}"
    add_retry(build, create, retry.SAGEMAKER)
    wait_name = build.names.helper("Wait", step)
    describe_name = build.names.helper("Describe", step)
    poll_name = build.names.helper("Poll", step)
    failed_name = build.names.helper("Failed", step)
    build.out.add(wait_name, {"Type": "Wait", "Seconds": AUTOML_POLL_SECONDS})
    # Generated names are lower case, so the ARN ends with the job name exactly.
    arn = f"$.{SCRATCH_KEY}.{build.key}.AutoMLJobArn"
    describe = build.out.add(
        describe_name,
        task(
            build,
            f"{SDK_ARN}sagemaker:describeAutoMLJob",
            {
                f"{AUTOML_JOB.name_field}.$": fn.call(
                    "ArrayGetItem", fn.call("StringSplit", Ref(arn, True), "/"), 1
                ).text
            },
        ),
    )
    add_retry(build, describe, retry.SAGEMAKER)
    status = f"$.{build.key}.AutoMLJobStatus"
    build.out.add(
        poll_name,
        {
            "Type": "Choice",
            "Choices": [
                {"Variable": status, "StringEquals": "Completed", "Next": CONTINUE},
                {
                    "Or": [
                        {"Variable": status, "StringEquals": "Failed"},
                        {"Variable": status, "StringEquals": "Stopped"},
                    ],
                    "Next": failed_name,
                },
            ],
            "Default": wait_name,
        },
    )
    build.out.add(
        failed_name,
        {
            "Type": "Fail",
            "Error": "SageMaker.AutoMLJobFailed",
            "CausePath": f"$.{build.key}.FailureReason",
        },
    )
    store(build, describe, lambda kept: select(["AutoMLJobStatus", "FailureReason", *kept]))
    build.diagnostics.approximated(
        "asl.automl.polling",
        f"AutoML has no .sync integration: the job is polled every {AUTOML_POLL_SECONDS} s "
        "(each poll adds about 10 history events)",
        step,
    )


# --- other services --------------------------------------------------------------------------


def _lambda(build: Build) -> None:
    parameters: dict[str, Any] = {}
    build.put(parameters, "FunctionName", build.step.function_arn)
    parameters["Payload"] = build.template(build.arguments)
    state = build.out.add(build.name, task(build, "arn:aws:states:::lambda:invoke", parameters))
    add_retry(build, state, retry.LAMBDA)
    store(build, state, lambda kept: {"OutputParameters.$": "$.Payload"} if kept else {})
    if build.step.output_parameters:
        build.diagnostics.approximated(
            "asl.lambda.outputs",
            "output parameters are read from the JSON object the function returns, without "
            "converting them to their declared OutputType",
            build.step.name,
        )


def _callback(build: Build) -> None:
    parameters: dict[str, Any] = {}
    build.put(parameters, "QueueUrl", build.step.sqs_queue_url)
    parameters["MessageBody"] = {
        "token.$": "$$.Task.Token",
        "pipelineExecutionArn.$": "$$.Execution.Id",
        "arguments": build.template(build.arguments),
        "status": "Executing",
    }
    state = build.out.add(
        build.name,
        task(build, "arn:aws:states:::sqs:sendMessage.waitForTaskToken", parameters),
    )
    add_retry(build, state, retry.SQS)
    store(build, state, lambda kept: {"OutputParameters.$": "$"} if kept else {})
    build.diagnostics.approximated(
        "asl.callback.protocol",
        "the worker that reads the SQS message must call states:SendTaskSuccess with the "
        "token and a JSON object of output parameters (or SendTaskFailure), instead of "
        "SageMaker's SendPipelineExecutionStepSuccess/Failure",
        build.step.name,
    )


def _emr(build: Build) -> None:
    arguments = build.arguments
    step_config = (
        arguments.get("StepConfig") if isinstance(arguments.get("StepConfig"), dict) else {}
    )
    add_step: dict[str, Any] = {}
    if "ClusterConfig" in arguments:
        add_step["ClusterId.$"] = f"$.{SCRATCH_KEY}.{build.key}.ClusterId"
        _emr_create_cluster(build, arguments["ClusterConfig"])
    else:
        build.put(add_step, "ClusterId", arguments.get("ClusterId"))
    emr_step = {"Name": build.step.name, "ActionOnFailure": "CONTINUE"}
    emr_step["HadoopJarStep"] = build.template(step_config.get("HadoopJarStep", {}))
    add_step["Step"] = emr_step
    if "ExecutionRoleArn" in arguments:
        build.put(add_step, "ExecutionRoleArn", arguments["ExecutionRoleArn"])
    state = build.out.add(
        build.name,
        task(build, "arn:aws:states:::elasticmapreduce:addStep.sync", add_step),
    )
    add_retry(build, state, retry.EMR)
    store(build, state, lambda kept: {"Step.$": "$.Step"} if kept else {})
    if "ClusterConfig" in arguments:
        _emr_terminate(build, state)


def _emr_create_cluster(build: Build, config: Any) -> None:
    """A cluster for this step only: created before it, terminated after it, even on failure."""
    request = dict(config) if isinstance(config, dict) else {}
    instances = dict(request.get("Instances") or {})
    instances["KeepJobFlowAliveWhenNoSteps"] = True  # the step is added after the cluster is up
    request["Instances"] = instances
    parameters = {"Name": resource_prefix(build.step.name, 200), **build.template(request)}
    state = task(build, "arn:aws:states:::elasticmapreduce:createCluster.sync", parameters)
    state["ResultSelector"] = {"ClusterId.$": "$.ClusterId"}
    state["ResultPath"] = f"$.{SCRATCH_KEY}.{build.key}"
    add_retry(build, state, retry.EMR)
    build.out.add(build.names.helper("CreateCluster", build.step.name), state)
    build.diagnostics.approximated(
        "asl.emr.cluster",
        "the step's cluster is created with createCluster.sync before the step and terminated "
        "after it (also when the step fails)",
        build.step.name,
    )


def _emr_terminate(build: Build, add_step: State) -> None:
    step = build.step.name
    terminate_name = build.names.helper("TerminateCluster", step)
    cleanup_name = build.names.helper("TerminateClusterAfterFailure", step)
    failed_name = build.names.helper("Failed", step)
    cluster = {"ClusterId.$": f"$.{SCRATCH_KEY}.{build.key}.ClusterId"}
    resource = "arn:aws:states:::elasticmapreduce:terminateCluster.sync"
    add_step["Catch"] = [
        {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": f"$.{SCRATCH_KEY}.Error",
            "Next": cleanup_name,
        }
    ]
    build.out.add(
        terminate_name,
        {
            "Type": "Task",
            "Resource": resource,
            "Parameters": cluster,
            "ResultPath": None,
            "Next": CONTINUE,
        },
    )
    build.out.add(
        cleanup_name,
        {
            "Type": "Task",
            "Resource": resource,
            "Parameters": cluster,
            "ResultPath": None,
            "Next": failed_name,
        },
    )
    build.out.add(
        failed_name,
        {"Type": "Fail", "Error": "EMR.StepFailed", "CausePath": f"$.{SCRATCH_KEY}.Error.Cause"},
    )


def _fail(build: Build) -> None:
    state: State = {"Type": "Fail", **build.comment(), "Error": "FailStep"}
    message = build.step.error_message
    if message is not None:
        rendered = build.values.render(message)
        build.report_problems()
        if isinstance(rendered, Ref):
            state["CausePath"] = rendered.text
        else:
            state["Cause"] = rendered if isinstance(rendered, str) else fn.scalar_text(rendered)
    build.out.add(build.name, state)


def placeholder(build: Build, why: str) -> None:
    """A visible stand-in for a step that cannot be translated: a Pass state that says so."""
    build.diagnostics.unsupported("asl.step-type", why, build.step.name)
    build.out.add(
        build.name,
        {
            "Type": "Pass",
            "Comment": f"UNSUPPORTED by pipeglot: {why}",
            "Result": {"Unsupported": build.step.type_name},
            "ResultPath": f"$.{build.key}",
        },
    )


def _unknown(build: Build) -> None:
    placeholder(build, f"the step type {build.step.type_name!r} has no Step Functions mapping")


def _condition(build: Build) -> None:  # pragma: no cover - the assembler builds Choice states
    raise AssertionError("Condition steps are built by the machine assembler")


BUILDERS: dict[StepKind, Callable[[Build], None]] = {
    StepKind.PROCESSING: _sync_job("createProcessingJob"),
    StepKind.TRAINING: _sync_job("createTrainingJob"),
    StepKind.FUNCTION: _function_job,
    StepKind.NOTEBOOK_JOB: _sync_job("createTrainingJob"),
    StepKind.TRANSFORM: _sync_job("createTransformJob"),
    StepKind.TUNING: _sync_job("createHyperParameterTuningJob"),
    StepKind.QUALITY_CHECK: _check_job,
    StepKind.CLARIFY_CHECK: _check_job,
    StepKind.MODEL: _resource(f"{SAGEMAKER_ARN}createModel", True),
    StepKind.REGISTER_MODEL: _resource(f"{SDK_ARN}sagemaker:createModelPackage", False),
    StepKind.ENDPOINT_CONFIG: _resource(f"{SAGEMAKER_ARN}createEndpointConfig", True),
    StepKind.ENDPOINT: _endpoint,
    StepKind.INFERENCE_COMPONENT: _inference_component,
    StepKind.AUTOML: _automl,
    StepKind.LAMBDA: _lambda,
    StepKind.CALLBACK: _callback,
    StepKind.EMR: _emr,
    StepKind.FAIL: _fail,
    StepKind.CONDITION: _condition,
    StepKind.EMR_SERVERLESS: build_emr_serverless,
    StepKind.LINEAGE: build_lineage,
    StepKind.UNKNOWN: _unknown,
}
UNSUPPORTED: frozenset[StepKind] = frozenset({StepKind.UNKNOWN})
