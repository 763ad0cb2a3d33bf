"""The settings of a KFP task that come from the step's envelope: caching and retries."""

from __future__ import annotations

from pipeglot.ir.model import Step
from pipeglot.ir.retries import any_failure_retry


def caching(step: Step) -> bool:
    # KFP caches by default and SageMaker does not: only an explicit CacheConfig turns it on.
    return step.cache_config is not None and step.cache_config.enabled is True


def retry(step: Step) -> tuple[int, str, float] | None:
    """(retries, first backoff, backoff factor) for KFP's set_retry: one rule for any failure,
    merged from the step's RetryPolicies by ``ir/retries.py``. Without RetryPolicies there is
    none: the components' AWS clients retry throttling and service faults themselves."""
    rule = any_failure_retry(step)
    if rule is None or rule.max_attempts == 0:
        return None
    return rule.max_attempts, f"{rule.interval_seconds}s", float(rule.backoff_rate)
