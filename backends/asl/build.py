"""What every step builder works with: the step, where its data lives, and the states it adds.

A builder fills a :class:`StepStates`: states in run order (the state named after the step
among them), which one stores the step's result, and how (see ``machine``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeglot.backends.asl import retry
from pipeglot.backends.asl.intrinsics import Ref
from pipeglot.backends.asl.names import StateNames
from pipeglot.backends.asl.values import NAME_FIELDS, Values
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.model import Step

# Marks a transition to whatever follows the step; the assembler replaces it.
CONTINUE = "\x00continue"
SAGEMAKER_ARN = "arn:aws:states:::sagemaker:"
SDK_ARN = "arn:aws:states:::aws-sdk:"

State = dict[str, Any]


@dataclass
class StepStates:
    """The states of one step. States without Next/End run in list order."""

    states: list[tuple[str, State]] = field(default_factory=list)
    result_state: State | None = None  # the state that stores the step's result
    selector: Callable[[list[str]], dict[str, Any]] | None = None  # kept fields -> ResultSelector

    def add(self, name: str, state: State) -> State:
        self.states.append((name, state))
        return state


@dataclass
class Build:
    """What a builder works with."""

    step: Step
    name: str  # the state's name: the step's name (shortened only beyond 80 characters)
    key: str  # the step's key in the execution document
    values: Values
    names: StateNames
    diagnostics: Diagnostics
    kept: list[str]  # fields of the result that later states read
    out: StepStates = field(default_factory=StepStates)

    @property
    def arguments(self) -> dict[str, Any]:
        return self.step.arguments if isinstance(self.step.arguments, dict) else {}

    def template(self, value: Any) -> Any:
        rendered = (
            self.values.template(value) if isinstance(value, dict) else self.values.render(value)
        )
        self.report_problems()
        return rendered

    def report_problems(self) -> None:
        for problem in self.values.take_problems():
            self.diagnostics.unsupported("asl.value", problem, self.step.name)

    def put(self, target: State, key: str, value: Any) -> None:
        """Set ``key`` of a payload template to a rendered pipeline value."""
        rendered = self.values.render(value)
        self.report_problems()
        if isinstance(rendered, Ref):
            target[f"{key}.$"] = rendered.text
        else:
            target[key] = rendered

    def comment(self) -> dict[str, str]:
        parts = [v for v in (self.step.display_name, self.step.description) if isinstance(v, str)]
        return {"Comment": " | ".join(parts)} if parts else {}


def task(build: Build, resource: str, parameters: dict[str, Any]) -> State:
    return {"Type": "Task", **build.comment(), "Resource": resource, "Parameters": parameters}


def named_request(build: Build) -> dict[str, Any]:
    """The step's request with the generated (or given) resource name first."""
    spec = NAME_FIELDS[build.step.kind]
    parameters: dict[str, Any] = {}
    name = build.values.resource_name(build.step)
    build.report_problems()
    if isinstance(name, Ref):
        parameters[f"{spec.field}.$"] = name.text
    else:
        parameters[spec.field] = name
    rest = {k: v for k, v in build.arguments.items() if k != spec.field}
    parameters.update(build.template(rest))
    return parameters


def select(fields: list[str]) -> dict[str, Any]:
    return {f"{name}.$": f"$.{name}" for name in fields}


def store(build: Build, state: State, selector: Callable[[list[str]], dict[str, Any]]) -> None:
    build.out.result_state = state
    build.out.selector = selector


def add_retry(build: Build, state: State, service: retry.Service) -> None:
    retriers = retry.retriers(build.step, service, build.diagnostics)
    if retriers:
        state["Retry"] = retriers
