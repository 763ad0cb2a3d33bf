"""SageMaker RetryPolicies (and the retries SageMaker does by default) as Retry blocks.

Step Functions retries by error name. SageMaker's exception kinds map onto error names per
service; some kinds cannot be told apart by name (a capacity error and an algorithm error both
end a ``.sync`` job with ``States.TaskFailed``), and ``ExpireAfterMin`` has no counterpart. Each
such difference is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.model import MISSING, RetryPolicy, Step

# SageMaker's documented defaults for a retry policy.
DEFAULT_INTERVAL = 1
DEFAULT_BACKOFF = 2.0
DEFAULT_ATTEMPTS = 5
MAX_INTERVAL = 43200
# SageMaker retries throttling and service faults of every step even without RetryPolicies.
DEFAULT_KINDS = ("Step.THROTTLING", "Step.SERVICE_FAULT")
TASK_FAILED = "States.TaskFailed"


@dataclass(frozen=True, slots=True)
class Service:
    """Error names one Step Functions integration raises, per SageMaker exception kind."""

    name: str
    errors: dict[str, tuple[str, ...]]


_SAGEMAKER_API = ("SageMaker.AmazonSageMakerException", "SageMaker.SageMakerException")
SAGEMAKER = Service(
    "SageMaker",
    {
        "Step.THROTTLING": ("SageMaker.ThrottlingException", *_SAGEMAKER_API),
        "Step.SERVICE_FAULT": (
            "SageMaker.InternalFailure",
            "SageMaker.ServiceUnavailable",
            *_SAGEMAKER_API,
        ),
        "SageMaker.RESOURCE_LIMIT": ("SageMaker.ResourceLimitExceeded",),
        # A job that ends Failed is a TaskFailed, whatever the reason: over-broad, reported.
        "SageMaker.JOB_INTERNAL_ERROR": (TASK_FAILED,),
        "SageMaker.CAPACITY_ERROR": (TASK_FAILED,),
    },
)
LAMBDA = Service(
    "Lambda",
    {
        "Step.THROTTLING": ("Lambda.TooManyRequestsException",),
        "Step.SERVICE_FAULT": (
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
        ),
    },
)
SQS = Service(
    "SQS",
    {
        "Step.THROTTLING": ("SQS.RequestThrottledException",),
        "Step.SERVICE_FAULT": ("SQS.InternalError", "SQS.ServiceUnavailable"),
    },
)
EMR = Service(
    "EMR",
    {
        "Step.THROTTLING": ("ElasticMapReduce.ThrottlingException",),
        "Step.SERVICE_FAULT": ("ElasticMapReduce.InternalServerException",),
        "Emr.RESOURCE_LIMIT": ("ElasticMapReduce.AmazonElasticMapReduceException",),
    },
)
# Step Functions names errors "<SDK service>.<exception class>"; EMR Serverless models no
# throttling error, so its SDK's base exception stands for throttling as SageMaker's does.
EMR_SERVERLESS = Service(
    "EMR Serverless",
    {
        "Step.THROTTLING": ("EmrServerless.EmrServerlessException",),
        "Step.SERVICE_FAULT": (
            "EmrServerless.InternalServerException",
            "EmrServerless.EmrServerlessException",
        ),
    },
)
_OVER_BROAD = {"SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR"}


def retriers(step: Step, service: Service, diagnostics: Diagnostics) -> list[dict[str, object]]:
    """The Retry list for the main state of ``step``. Each error name appears once; a retrier
    on ``States.TaskFailed`` comes last (it would shadow the specific ones before it)."""
    claimed: set[str] = set()
    out: list[dict[str, object]] = []
    for policy in step.retry_policies or ():
        names = _error_names(step, policy, service, diagnostics)
        names = [name for name in names if name not in claimed]
        claimed.update(names)
        if names:
            out.append({"ErrorEquals": names, **_timing(step, policy, diagnostics)})
    default = [
        name
        for kind in DEFAULT_KINDS
        for name in service.errors.get(kind, ())
        if name not in claimed
    ]
    if default:
        out.append(
            {
                "ErrorEquals": list(dict.fromkeys(default)),
                "IntervalSeconds": DEFAULT_INTERVAL,
                "MaxAttempts": DEFAULT_ATTEMPTS,
                "BackoffRate": DEFAULT_BACKOFF,
            }
        )
    out.sort(key=lambda retrier: TASK_FAILED in retrier["ErrorEquals"])  # type: ignore[operator]
    return out


def _error_names(
    step: Step, policy: RetryPolicy, service: Service, diagnostics: Diagnostics
) -> list[str]:
    names: list[str] = []
    for kind in policy.exception_types:
        mapped = service.errors.get(kind)
        if mapped is None:
            diagnostics.dropped(
                "asl.retry.exception-type",
                f"the retry policy on {kind} has no {service.name} error name to match in "
                "Step Functions; those errors are not retried",
                step.name,
            )
            continue
        if kind in _OVER_BROAD:
            diagnostics.approximated(
                "asl.retry.over-broad",
                f"Step Functions cannot tell {kind} from other job failures (all are "
                f"{TASK_FAILED}); the retry applies to every failed job",
                step.name,
            )
        names.extend(mapped)
    return list(dict.fromkeys(names))


def _timing(step: Step, policy: RetryPolicy, diagnostics: Diagnostics) -> dict[str, object]:
    interval = _number(
        step, policy.interval_seconds, DEFAULT_INTERVAL, "IntervalSeconds", diagnostics
    )
    backoff = _number(step, policy.backoff_rate, DEFAULT_BACKOFF, "BackoffRate", diagnostics)
    if policy.max_attempts is not MISSING:
        attempts = _number(step, policy.max_attempts, DEFAULT_ATTEMPTS, "MaxAttempts", diagnostics)
    elif policy.expire_after_min is not MISSING:
        minutes = _number(step, policy.expire_after_min, 0, "ExpireAfterMin", diagnostics)
        attempts = attempts_within(float(interval), float(backoff), float(minutes) * 60)
        diagnostics.approximated(
            "asl.retry.expire-after",
            f"Step Functions limits retries by count, not time: ExpireAfterMin={minutes} "
            f"becomes MaxAttempts={attempts}, the retries whose waits fit in that time "
            "(job run time is not counted)",
            step.name,
        )
    else:
        attempts = DEFAULT_ATTEMPTS
    return {
        "IntervalSeconds": max(1, int(interval)),
        "MaxAttempts": int(attempts),
        "BackoffRate": max(1.0, float(backoff)),
    }


def attempts_within(interval: float, backoff: float, seconds: float) -> int:
    """How many retries start within ``seconds`` of the first failure."""
    attempts, waited, wait = 0, 0.0, max(interval, 1.0)
    while attempts < 99 and waited + wait <= seconds:
        waited += wait
        wait *= max(backoff, 1.0)
        attempts += 1
    return attempts


def _number(
    step: Step, value: object, default: float, field: str, diagnostics: Diagnostics
) -> float:
    if value is MISSING:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        diagnostics.approximated(
            "asl.retry.computed",
            f"the retry field {field} is computed at run time, which Step Functions does not "
            f"allow; SageMaker's default {default} is used",
            step.name,
        )
        return default
    return value
