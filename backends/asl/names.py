"""Names: state names, keys in the execution's JSON document, and SageMaker resource names.

State names: each SageMaker step ``X`` is the state ``X``. Helper states start with
``pipeglot.``; a SageMaker step name never holds a dot, so a helper can never take a step's name.
Step Functions caps state names at 80 characters.

Data keys: the state machine carries one JSON document from state to state:
``{"Parameters": {...}, "Run": {"Token": ...}, "<step key>": <kept result>, "Scratch": {...}}``.
Step results sit at the top level so that the branches of a Parallel state merge with one
shallow ``States.JsonMerge``. A step key is the step name made a JSONPath identifier.
"""

from __future__ import annotations

import hashlib
import re

from pipeglot.ir.model import Step

STATE_NAME_LIMIT = 80
HELPER_PREFIX = "pipeglot."
PARAMETERS_KEY = "Parameters"
RUN_KEY = "Run"
SCRATCH_KEY = "Scratch"
_RESERVED_KEYS = frozenset({PARAMETERS_KEY, RUN_KEY, SCRATCH_KEY})

# A generated resource name is "<prefix>-<run token>-<retry count>"; the run token is 12 hex
# digits drawn once per execution, the retry count has at most 2 digits in practice.
RUN_TOKEN_LENGTH = 12
RETRY_DIGITS = 2


class StateNames:
    """Hands out unique state names of at most 80 characters."""

    def __init__(self) -> None:
        self._used: set[str] = set()
        self._next_number: dict[str, int] = {}  # per base name, so claiming stays O(1)

    def step(self, name: str) -> str:
        return self._claim(name)

    def helper(self, role: str, step: str | None = None) -> str:
        base = f"{HELPER_PREFIX}{role}" + (f".{step}" if step else "")
        return self._claim(base)

    def _claim(self, base: str) -> str:
        candidate = _fit(base)
        number = self._next_number.get(base, 2)
        while candidate in self._used:
            candidate = _fit(base, f".{number}")
            number += 1
        self._next_number[base] = number
        self._used.add(candidate)
        return candidate

    def __contains__(self, name: str) -> bool:
        return name in self._used


def _fit(base: str, suffix: str = "") -> str:
    if len(base) + len(suffix) <= STATE_NAME_LIMIT:
        return base + suffix
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]
    keep = STATE_NAME_LIMIT - len(suffix) - len(digest) - 1
    return f"{base[:keep]}~{digest}{suffix}"


def data_keys(steps: tuple[Step, ...]) -> dict[str, str]:
    """A JSONPath-identifier key per step, unique, never one of the reserved keys."""
    keys: dict[str, str] = {}
    used = set(_RESERVED_KEYS)
    for step in steps:
        base = re.sub(r"[^A-Za-z0-9_]", "_", step.name)
        if not re.match(r"[A-Za-z_]", base):
            base = f"_{base}"
        key, number = base, 2
        while key in used:
            key, number = f"{base}_{number}", number + 1
        used.add(key)
        keys[step.name] = key
    return keys
