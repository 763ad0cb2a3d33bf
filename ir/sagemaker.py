"""What SageMaker Pipelines does for each step kind: the one table every backend reads.

A backend that needs a SageMaker fact (which API a step calls, how the resource it creates is
named, which statuses end it, which properties later steps can read and where they come from,
the baseline rule of the check steps, the retries SageMaker adds on its own) reads it here and
never spells it itself. Sources: the SageMaker API reference (Create*/Describe* shapes and their
name constraints), the Pipelines developer guide (step properties, retry policies, drift check
baselines) and the SDK (see ``shared/reference/sagemaker-format.md``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pipeglot.ir.model import StepKind

# --- Resource names -------------------------------------------------------------------------

# Every name a Create* call takes: letters, digits and hyphens, starting with a letter or digit,
# no two hyphens in a row (``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` in the API reference).
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
DEFAULT_NAME_LIMIT = 63


def resource_name_prefix(text: str, budget: int) -> str:
    """``text`` as the start of a SageMaker resource name: lower case letters, digits and single
    hyphens, at most ``budget`` characters, never empty (``step`` when nothing is left)."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    cleaned = cleaned[: max(budget, 0)].rstrip("-")
    return cleaned or "step"[: max(budget, 1)]


@dataclass(frozen=True, slots=True)
class ResourceApi:
    """The SageMaker resource a step creates and how to watch it.

    ``resource`` is boto3's snake-case name (``create_<resource>``, ``describe_<resource>``,
    ``stop_<resource>``); the ``*_action`` fields are the API (and IAM action) names.
    """

    resource: str
    create_action: str
    describe_action: str
    stop_action: str | None
    name_field: str
    name_limit: int = DEFAULT_NAME_LIMIT
    # A job needs a fresh name on every retry attempt; a model or endpoint keeps its name.
    name_per_attempt: bool = True
    # A name in the request is only a prefix: SageMaker Pipelines strips job names from the
    # definition and generates them (``use_custom_job_prefix`` keeps a prefix).
    name_is_prefix: bool = True
    # A request holding this key creates an unnamed resource (a versioned model package).
    unnamed_with: str | None = None
    status_field: str | None = None  # None: ready as soon as it is created
    running: tuple[str, ...] = ()
    succeeded: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    failure_reason_field: str | None = "FailureReason"
    arn_field: str | None = None  # the ARN the create call returns
    # The step ends when the job does; for the other resources it ends with the create call.
    step_waits_for_end: bool = False

    @property
    def ends(self) -> tuple[str, ...]:
        """Every status after which the resource no longer changes on its own."""
        return (*self.succeeded, *self.failed)


_JOB_RUNNING = ("InProgress", "Stopping")
_JOB_SUCCEEDED = ("Completed",)
_JOB_FAILED = ("Failed", "Stopped")


def _job(
    resource: str, action: str, name_field: str, limit: int = DEFAULT_NAME_LIMIT
) -> ResourceApi:
    """A SageMaker job: named per attempt, watched until Completed, Failed or Stopped."""
    return ResourceApi(
        resource=resource,
        create_action=f"Create{action}",
        describe_action=f"Describe{action}",
        stop_action=f"Stop{action}",
        name_field=name_field,
        name_limit=limit,
        status_field=f"{name_field.removesuffix('Name')}Status",
        running=_JOB_RUNNING,
        succeeded=_JOB_SUCCEEDED,
        failed=_JOB_FAILED,
        arn_field=f"{name_field.removesuffix('Name')}Arn",
        step_waits_for_end=True,
    )


PROCESSING_JOB = _job("processing_job", "ProcessingJob", "ProcessingJobName")
TRAINING_JOB = _job("training_job", "TrainingJob", "TrainingJobName")
TRANSFORM_JOB = _job("transform_job", "TransformJob", "TransformJobName")
# HyperParameterTuningJobName and AutoMLJobName allow 32 characters, not 63.
TUNING_JOB = _job(
    "hyper_parameter_tuning_job", "HyperParameterTuningJob", "HyperParameterTuningJobName", 32
)
AUTOML_JOB = _job("auto_ml_job", "AutoMLJob", "AutoMLJobName", 32)
MODEL = ResourceApi(
    resource="model",
    create_action="CreateModel",
    describe_action="DescribeModel",
    stop_action=None,
    name_field="ModelName",
    name_per_attempt=False,
    failure_reason_field=None,
    arn_field="ModelArn",
)
MODEL_PACKAGE = ResourceApi(
    resource="model_package",
    create_action="CreateModelPackage",
    describe_action="DescribeModelPackage",
    stop_action=None,
    name_field="ModelPackageName",
    name_per_attempt=False,
    unnamed_with="ModelPackageGroupName",
    status_field="ModelPackageStatus",
    running=("Pending", "InProgress"),
    succeeded=("Completed",),
    failed=("Failed", "Deleting"),
    failure_reason_field=None,
    arn_field="ModelPackageArn",
)
ENDPOINT_CONFIG = ResourceApi(
    resource="endpoint_config",
    create_action="CreateEndpointConfig",
    describe_action="DescribeEndpointConfig",
    stop_action=None,
    name_field="EndpointConfigName",
    name_per_attempt=False,
    name_is_prefix=False,
    failure_reason_field=None,
    arn_field="EndpointConfigArn",
)
ENDPOINT = ResourceApi(
    resource="endpoint",
    create_action="CreateEndpoint",
    describe_action="DescribeEndpoint",
    stop_action=None,
    name_field="EndpointName",
    name_per_attempt=False,
    name_is_prefix=False,
    status_field="EndpointStatus",
    running=("Creating", "Updating", "SystemUpdating", "RollingBack"),
    succeeded=("InService",),
    failed=("Failed", "OutOfService", "UpdateRollbackFailed", "Deleting"),
    arn_field="EndpointArn",
)
INFERENCE_COMPONENT = ResourceApi(
    resource="inference_component",
    create_action="CreateInferenceComponent",
    describe_action="DescribeInferenceComponent",
    stop_action=None,
    name_field="InferenceComponentName",
    name_per_attempt=False,
    name_is_prefix=False,
    status_field="InferenceComponentStatus",
    running=("Creating", "Updating"),
    succeeded=("InService",),
    failed=("Failed", "Deleting"),
    arn_field="InferenceComponentArn",
)


# --- Step kinds -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepKindFacts:
    """What SageMaker does for one step kind.

    ``properties_from`` says where the properties later steps read come from: the
    ``describe_action`` response for resource steps, the function's response payload for Lambda
    (``OutputParameters``), the worker's answer for Callback, DescribeStep for EMR, nothing for
    Condition and Fail.
    """

    kind: StepKind
    type_name: str
    api: ResourceApi | None
    properties_from: str
    accepts_retry_policies: bool
    accepts_cache_config: bool
    # Properties the create call's answer already holds: reading only these needs no describe.
    create_result_fields: frozenset[str] = frozenset()
    is_check: bool = False


def _resource_step(
    kind: StepKind,
    type_name: str,
    api: ResourceApi,
    *,
    cache: bool = True,
    check: bool = False,
    retry: bool = True,
) -> StepKindFacts:
    # A created model, package, endpoint config, endpoint or inference component is named by
    # its ARN in the create call's answer; jobs are read from their describe answer.
    created = frozenset({api.arn_field}) if api.arn_field and not api.name_per_attempt else None
    return StepKindFacts(
        kind=kind,
        type_name=type_name,
        api=api,
        properties_from=api.describe_action,
        accepts_retry_policies=retry,
        accepts_cache_config=cache,
        create_result_fields=created or frozenset(),
        is_check=check,
    )


def _other_step(
    kind: StepKind,
    type_name: str,
    properties_from: str,
    *,
    retry: bool = False,
    cache: bool = False,
) -> StepKindFacts:
    return StepKindFacts(
        kind=kind,
        type_name=type_name,
        api=None,
        properties_from=properties_from,
        accepts_retry_policies=retry,
        accepts_cache_config=cache,
    )


_KINDS: dict[StepKind, StepKindFacts] = {
    StepKind.PROCESSING: _resource_step(StepKind.PROCESSING, "Processing", PROCESSING_JOB),
    StepKind.TRAINING: _resource_step(StepKind.TRAINING, "Training", TRAINING_JOB),
    StepKind.FUNCTION: _resource_step(StepKind.FUNCTION, "Training", TRAINING_JOB),
    StepKind.NOTEBOOK_JOB: _resource_step(StepKind.NOTEBOOK_JOB, "Training", TRAINING_JOB),
    StepKind.TRANSFORM: _resource_step(StepKind.TRANSFORM, "Transform", TRANSFORM_JOB),
    StepKind.TUNING: _resource_step(StepKind.TUNING, "Tuning", TUNING_JOB),
    StepKind.AUTOML: _resource_step(StepKind.AUTOML, "AutoML", AUTOML_JOB),
    StepKind.MODEL: _resource_step(StepKind.MODEL, "Model", MODEL, cache=False),
    StepKind.REGISTER_MODEL: _resource_step(
        StepKind.REGISTER_MODEL, "RegisterModel", MODEL_PACKAGE, cache=False
    ),
    StepKind.ENDPOINT_CONFIG: _resource_step(
        StepKind.ENDPOINT_CONFIG, "EndpointConfig", ENDPOINT_CONFIG, cache=False
    ),
    # Neither the developer guide's list of steps with RetryPolicies nor the SDK's
    # ConfigurableRetryStep subclasses include Endpoint or InferenceComponent steps.
    StepKind.ENDPOINT: _resource_step(
        StepKind.ENDPOINT, "Endpoint", ENDPOINT, cache=False, retry=False
    ),
    StepKind.INFERENCE_COMPONENT: _resource_step(
        StepKind.INFERENCE_COMPONENT,
        "InferenceComponent",
        INFERENCE_COMPONENT,
        cache=False,
        retry=False,
    ),
    StepKind.QUALITY_CHECK: _resource_step(
        StepKind.QUALITY_CHECK, "QualityCheck", PROCESSING_JOB, check=True
    ),
    StepKind.CLARIFY_CHECK: _resource_step(
        StepKind.CLARIFY_CHECK, "ClarifyCheck", PROCESSING_JOB, check=True
    ),
    StepKind.CONDITION: _other_step(StepKind.CONDITION, "Condition", "nothing"),
    StepKind.FAIL: _other_step(StepKind.FAIL, "Fail", "nothing"),
    StepKind.LAMBDA: _other_step(StepKind.LAMBDA, "Lambda", "the function's response payload"),
    StepKind.CALLBACK: _other_step(
        StepKind.CALLBACK, "Callback", "the worker's SendPipelineExecutionStepSuccess"
    ),
    StepKind.EMR: _other_step(StepKind.EMR, "EMR", "DescribeStep", retry=True),
    StepKind.EMR_SERVERLESS: _other_step(
        StepKind.EMR_SERVERLESS, "EMRServerless", "GetJobRun", retry=True
    ),
    StepKind.LINEAGE: _other_step(
        StepKind.LINEAGE, "Lineage", "the created entities' ARNs (CreateArtifact, ...)"
    ),
    StepKind.UNKNOWN: _other_step(StepKind.UNKNOWN, "", "unknown"),
}
KINDS: Mapping[StepKind, StepKindFacts] = MappingProxyType(_KINDS)


def facts(kind: StepKind) -> StepKindFacts:
    """The facts of ``kind`` (every StepKind has an entry)."""
    return _KINDS[kind]


def resource_api(kind: StepKind) -> ResourceApi | None:
    """The SageMaker resource a step of ``kind`` creates, or None."""
    return _KINDS[kind].api


def plain_kind(api: ResourceApi) -> StepKind:
    """The step kind that is nothing but ``api``'s create call: Training for a training job
    (Function and NotebookJob steps also run one, the check steps a processing job, each with
    more around the call). The table lists that kind first for each resource."""
    return next(kind for kind, entry in _KINDS.items() if entry.api is api)


# --- Check steps (QualityCheck, ClarifyCheck) -----------------------------------------------

# The files the Model Monitor and Clarify containers write under the check job's first output:
# (check kind, property) -> file name.
BASELINE_FILES: Mapping[tuple[StepKind, str], str] = MappingProxyType(
    {
        (StepKind.QUALITY_CHECK, "CalculatedBaselineStatistics"): "statistics.json",
        (StepKind.QUALITY_CHECK, "CalculatedBaselineConstraints"): "constraints.json",
        (StepKind.CLARIFY_CHECK, "CalculatedBaselineConstraints"): "analysis.json",
    }
)
# BaselineUsedForDriftCheck<X> -> (the step key of the supplied baseline, the calculated one).
DRIFT_CHECK_BASELINES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "BaselineUsedForDriftCheckStatistics": (
            "SuppliedBaselineStatistics",
            "CalculatedBaselineStatistics",
        ),
        "BaselineUsedForDriftCheckConstraints": (
            "SuppliedBaselineConstraints",
            "CalculatedBaselineConstraints",
        ),
    }
)


def baseline_used_for_drift_check(
    register_new_baseline: object, supplied: object, calculated: object
) -> object:
    """The value of a ``BaselineUsedForDriftCheck*`` property, by SageMaker's rule.

    With ``RegisterNewBaseline`` true the newly calculated baseline is the one to use; with it
    false, the supplied baseline (SageMaker's "previous baseline") when one is given, else the
    calculated one. Targets that evaluate this at run time implement the same three cases.
    """
    if register_new_baseline is True:
        return calculated
    return supplied if supplied not in (None, "") else calculated


# --- Step properties ------------------------------------------------------------------------

# Describe* response fields that are maps of the user's own keys (a container's environment, a
# job's hyperparameters): a definition reads one entry as ``Environment['KEY']``.
MAP_PROPERTIES: frozenset[str] = frozenset({"Environment", "HyperParameters"})

# --- Tuning and AutoML properties -----------------------------------------------------------

# ``TrainingJobSummaries`` is not part of DescribeHyperParameterTuningJob: SageMaker lists the
# tuning job's training jobs, best objective first, at most this many.
TUNING_SUMMARIES_FIELD = "TrainingJobSummaries"
TUNING_SUMMARIES_LIMIT = 50
TUNING_SUMMARIES_ACTION = "ListTrainingJobsForHyperParameterTuningJob"
# The first of them, the best training job, is also in DescribeHyperParameterTuningJob itself.
TUNING_BEST_FIELD = "BestTrainingJob"
# AutoML properties with a Pipelines-only name -> where DescribeAutoMLJob keeps them (under
# BestCandidate.CandidateProperties.CandidateArtifactLocations).
AUTOML_REPORT_PROPERTIES: Mapping[str, str] = MappingProxyType(
    {
        "ModelInsightsJsonReportPath": "ModelInsights",
        "ExplainabilityJsonReportPath": "Explainability",
    }
)
# Steps read them as BestCandidateProperties.<name>; DescribeAutoMLJob keeps them at this path.
AUTOML_REPORT_FIELD = "BestCandidateProperties"
AUTOML_REPORT_LOCATIONS: tuple[str, ...] = (
    "BestCandidate",
    "CandidateProperties",
    "CandidateArtifactLocations",
)

# --- Retries --------------------------------------------------------------------------------

# A RetryPolicy's ExceptionType values.
SERVICE_FAULT = "Step.SERVICE_FAULT"
THROTTLING = "Step.THROTTLING"
JOB_INTERNAL_ERROR = "SageMaker.JOB_INTERNAL_ERROR"
CAPACITY_ERROR = "SageMaker.CAPACITY_ERROR"
RESOURCE_LIMIT = "SageMaker.RESOURCE_LIMIT"
EMR_RESOURCE_LIMIT = "Emr.RESOURCE_LIMIT"
# SageMaker retries throttling and service faults of every step even without RetryPolicies.
DEFAULT_RETRY_EXCEPTIONS: tuple[str, ...] = (THROTTLING, SERVICE_FAULT)
RETRY_EXCEPTION_TYPES: tuple[str, ...] = (
    SERVICE_FAULT,
    THROTTLING,
    JOB_INTERNAL_ERROR,
    CAPACITY_ERROR,
    RESOURCE_LIMIT,
    EMR_RESOURCE_LIMIT,
)
# The types of a job that failed on its own (its container, its capacity), not of the API call.
JOB_FAILURE_EXCEPTIONS: tuple[str, ...] = (JOB_INTERNAL_ERROR, CAPACITY_ERROR)
# Every type a SageMaker (non-EMR) step can retry on: the closest SageMaker has to "any failure".
JOB_RETRY_EXCEPTIONS: tuple[str, ...] = tuple(
    kind for kind in RETRY_EXCEPTION_TYPES if kind != EMR_RESOURCE_LIMIT
)
# A RetryPolicy's defaults and the limits the developer guide documents.
DEFAULT_INTERVAL_SECONDS = 1
DEFAULT_BACKOFF_RATE = 2.0
DEFAULT_MAX_ATTEMPTS = 5
MAX_ATTEMPTS = 20
MAX_INTERVAL_SECONDS = 43200
MAX_EXPIRE_AFTER_MIN = 14400

# --- Experiments ----------------------------------------------------------------------------

# --- The pipeline, as what starts it sees it (EventBridge targets) ----------------------------

# The action an EventBridge target's role needs to start a pipeline execution.
START_PIPELINE_EXECUTION_ACTION = "sagemaker:StartPipelineExecution"
# A pipeline's ARN, for CloudFormation's Fn::Sub; SageMaker writes the name in it in lower case.
PIPELINE_ARN_SUB = (
    "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:pipeline/${PipelineName}"
)
PIPELINE_NAME_LIMIT = 256

# PipelineExperimentConfig's defaults: the experiment is the pipeline, the trial the execution.
EXPERIMENT_DEFAULTS: Mapping[str, str] = MappingProxyType(
    {"ExperimentName": "PipelineName", "TrialName": "PipelineExecutionId"}
)
