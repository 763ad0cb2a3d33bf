"""The settings of a KFP task that come from the step's envelope: caching and retries."""

from __future__ import annotations

from pipeglot.ir.expressions import Value
from pipeglot.ir.model import RetryPolicy, Step


def caching(step: Step) -> bool:
    # KFP caches by default and SageMaker does not: only an explicit CacheConfig turns it on.
    return step.cache_config is not None and step.cache_config.enabled is True


def retry(policies: tuple[RetryPolicy, ...]) -> tuple[int, str, float] | None:
    """(retries, first backoff, backoff factor) for KFP's set_retry, from SageMaker's policies.

    MaxAttempts counts retries; ExpireAfterMin becomes the number of retries whose backoffs fit
    in that time. The most generous policy wins, since KFP cannot tell failures apart.
    """
    best: tuple[int, str, float] | None = None
    for policy in policies:
        interval = _number(policy.interval_seconds)
        interval = 1 if interval is None else interval
        factor = _number(policy.backoff_rate)
        factor = 2.0 if factor is None else float(factor)
        attempts = _number(policy.max_attempts)
        if attempts is None:
            minutes = _number(policy.expire_after_min)
            if minutes is None:
                continue
            attempts, waited, wait = 0, 0.0, float(interval)
            while waited + wait <= minutes * 60 and attempts < 20:
                attempts, waited, wait = attempts + 1, waited + wait, wait * factor
        seconds = int(interval) if float(interval).is_integer() else interval
        candidate = (int(attempts), f"{seconds}s", factor)
        if best is None or candidate[0] > best[0]:
            best = candidate
    return best


def _number(value: Value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value
