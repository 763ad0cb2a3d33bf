"""SageMaker RetryPolicies (and the retries SageMaker does by default) as Retry blocks.

Step Functions retries by error name. SageMaker's exception kinds map onto error names per
service; some kinds cannot be told apart by name (a capacity error and an algorithm error both
end a ``.sync`` job with ``States.TaskFailed``), and ``ExpireAfterMin`` has no counterpart. Each
such difference is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.model import Step
from pipeglot.ir.retries import RetryRule, effective_retries

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
    """The Retry list for the main state of ``step``, from its effective retry rules
    (``ir.retries``: policies, then SageMaker's implicit throttling/service-fault retry). Each
    error name appears once; a retrier on ``States.TaskFailed`` comes last (it would shadow
    the specific ones before it)."""
    claimed: set[str] = set()
    out: list[dict[str, object]] = []
    for rule in effective_retries(step):
        names = _error_names(step, rule.exception_types, service, diagnostics, rule.implicit)
        names = [name for name in names if name not in claimed]
        claimed.update(names)
        if not names:
            continue
        _report_rule(step, rule, diagnostics)
        out.append(
            {
                "ErrorEquals": names,
                "IntervalSeconds": rule.interval_seconds,
                "MaxAttempts": rule.max_attempts,
                "BackoffRate": rule.backoff_rate,
            }
        )
    out.sort(key=lambda retrier: TASK_FAILED in retrier["ErrorEquals"])  # type: ignore[operator]
    return out


def _error_names(
    step: Step,
    kinds: tuple[str, ...],
    service: Service,
    diagnostics: Diagnostics,
    implicit: bool,
) -> list[str]:
    names: list[str] = []
    for kind in kinds:
        mapped = service.errors.get(kind)
        if mapped is None:
            if not implicit:
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


def _report_rule(step: Step, rule: RetryRule, diagnostics: Diagnostics) -> None:
    for field in rule.computed:
        diagnostics.approximated(
            "asl.retry.computed",
            f"the retry field {field} is computed at run time, which Step Functions does not "
            "allow; SageMaker's default is used",
            step.name,
        )
    if rule.expire_after_min is not None:
        diagnostics.approximated(
            "asl.retry.expire-after",
            "Step Functions limits retries by count, not time: "
            f"ExpireAfterMin={rule.expire_after_min:g} becomes MaxAttempts={rule.max_attempts}, "
            "the retries whose waits fit in that time (job run time is not counted)",
            step.name,
        )
