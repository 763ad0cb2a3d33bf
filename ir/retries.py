"""Retry merging: what a step's RetryPolicies and SageMaker's own retries amount to.

SageMaker retries a step by exception type: each type is governed by the first policy that
names it, and throttling and service faults are retried even when no policy names them. Targets
that retry by error name (Step Functions) take :func:`effective_retries`; targets that retry a
task after any failure (Airflow, Kubeflow) take :func:`any_failure_retry`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pipeglot.ir.model import MISSING, RetryPolicy, Step
from pipeglot.ir.sagemaker import (
    DEFAULT_BACKOFF_RATE,
    DEFAULT_INTERVAL_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_EXCEPTIONS,
    MAX_ATTEMPTS,
    MAX_INTERVAL_SECONDS,
)


@dataclass(frozen=True, slots=True)
class RetryRule:
    """One effective retry rule: numbers resolved, attempts capped the one documented way.

    ``computed`` names the fields the source gave as expressions (which no target can evaluate
    before the retry); SageMaker's defaults stand in for them. ``expire_after_min`` is set when
    the source limited retries by time; ``max_attempts`` is then the retries whose waits fit.
    """

    exception_types: tuple[str, ...]
    interval_seconds: int
    backoff_rate: float
    max_attempts: int
    implicit: bool = False  # SageMaker's own retry, not from a RetryPolicy
    expire_after_min: float | None = None
    computed: tuple[str, ...] = ()


IMPLICIT_RETRY = RetryRule(
    exception_types=DEFAULT_RETRY_EXCEPTIONS,
    interval_seconds=DEFAULT_INTERVAL_SECONDS,
    backoff_rate=DEFAULT_BACKOFF_RATE,
    max_attempts=DEFAULT_MAX_ATTEMPTS,
    implicit=True,
)


def effective_retries(step: Step) -> tuple[RetryRule, ...]:
    """The step's retry rules, each exception type in the first rule that names it; SageMaker's
    implicit throttling and service-fault retry comes last, for the types no policy names."""
    claimed: set[str] = set()
    rules: list[RetryRule] = []
    for policy in step.retry_policies or ():
        types = tuple(t for t in dict.fromkeys(policy.exception_types) if t not in claimed)
        claimed.update(types)
        if types:
            rules.append(rule_of(policy, types))
    implicit = tuple(t for t in DEFAULT_RETRY_EXCEPTIONS if t not in claimed)
    if implicit:
        rules.append(replace(IMPLICIT_RETRY, exception_types=implicit))
    return tuple(rules)


def any_failure_retry(step: Step) -> RetryRule | None:
    """One rule covering every RetryPolicy of the step, for a target that retries after any
    failure: the most attempts, the shortest first delay, the steepest backoff. None when the
    step has no RetryPolicies (the implicit retry is the client's job there: AWS SDK clients
    retry throttling and service faults themselves)."""
    rules = [rule_of(policy) for policy in step.retry_policies or ()]
    if not rules:
        return None
    return RetryRule(
        exception_types=tuple(dict.fromkeys(t for rule in rules for t in rule.exception_types)),
        interval_seconds=min(rule.interval_seconds for rule in rules),
        backoff_rate=max(rule.backoff_rate for rule in rules),
        max_attempts=max(rule.max_attempts for rule in rules),
        expire_after_min=next(
            (rule.expire_after_min for rule in rules if rule.expire_after_min is not None), None
        ),
        computed=tuple(dict.fromkeys(field for rule in rules for field in rule.computed)),
    )


def rule_of(policy: RetryPolicy, types: tuple[str, ...] | None = None) -> RetryRule:
    """``policy`` with its numbers resolved (defaults for absent or computed ones)."""
    computed: list[str] = []
    interval = _number(
        policy.interval_seconds, DEFAULT_INTERVAL_SECONDS, "IntervalSeconds", computed
    )
    backoff = _number(policy.backoff_rate, DEFAULT_BACKOFF_RATE, "BackoffRate", computed)
    interval = min(max(1, int(interval)), MAX_INTERVAL_SECONDS)
    backoff = max(1.0, float(backoff))
    expire: float | None = None
    if policy.max_attempts is not MISSING:
        attempts = _number(policy.max_attempts, DEFAULT_MAX_ATTEMPTS, "MaxAttempts", computed)
    elif policy.expire_after_min is not MISSING:
        expire = float(_number(policy.expire_after_min, 0, "ExpireAfterMin", computed))
        attempts = attempts_within(interval, backoff, expire * 60)
    else:
        attempts = DEFAULT_MAX_ATTEMPTS
    return RetryRule(
        exception_types=policy.exception_types if types is None else types,
        interval_seconds=interval,
        backoff_rate=backoff,
        max_attempts=min(max(0, int(attempts)), MAX_ATTEMPTS),
        expire_after_min=expire,
        computed=tuple(computed),
    )


def attempts_within(interval: float, backoff: float, seconds: float) -> int:
    """How many retries start within ``seconds`` of the first failure (waits grow by
    ``backoff``; job run time is not counted), at most MAX_ATTEMPTS."""
    attempts, waited, wait = 0, 0.0, max(interval, 1.0)
    while attempts < MAX_ATTEMPTS and waited + wait <= seconds:
        waited += wait
        wait *= max(backoff, 1.0)
        attempts += 1
    return attempts


def _number(value: object, default: float, field: str, computed: list[str]) -> float:
    if value is MISSING:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        computed.append(field)
        return default
    return float(value) if isinstance(value, float) else value
