"""Build a validated Workflow from what a reader found, and keep the reader's ledger.

A reader creates one :class:`Draft` per step it recognises, in the order it meets them, with
the steps that must finish first (``after``: its control-flow predecessors in the source).
:meth:`WorkflowBuilder.build` keeps only the predecessors that data references do not already
imply as ``DependsOn``, so a dependency in the source is one edge in the IR, never two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import InputError, ValidationError
from pipeglot.frontends.sagemaker import _step_kind as sagemaker_step_kind
from pipeglot.ir.expressions import (
    Attribute,
    Condition,
    ExpressionError,
    Key,
    ParameterRef,
    PathPart,
    StepProperty,
    Value,
    format_path,
    iter_condition_values,
    parse_path,
    referenced_steps,
)
from pipeglot.ir.model import (
    MISSING,
    NO_EXTRA,
    CacheConfig,
    OutputParameter,
    Parameter,
    ParameterType,
    RetryPolicy,
    Step,
    StepKind,
    Workflow,
)
from pipeglot.ir.sagemaker import MAP_PROPERTIES
from pipeglot.ir.validate import validate

# SageMaker step and parameter names: letters, digits, '-' and '_' (botocore StepName).
_NAME_LIMIT = 64
_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(slots=True)
class Draft:
    """A step under construction; ``location`` says where it is in the source."""

    name: str
    kind: StepKind
    type_name: str
    location: str
    arguments: Value = MISSING
    after: list[str] = field(default_factory=list)
    retry_policies: list[RetryPolicy] | None = None
    function_arn: Value = MISSING
    sqs_queue_url: Value = MISSING
    outputs: dict[str, OutputParameter] | None = None
    conditions: tuple[Condition, ...] = ()
    if_steps: list[str] = field(default_factory=list)
    else_steps: list[str] = field(default_factory=list)
    display_name: Value = MISSING
    description: Value = MISSING
    cache_config: CacheConfig | None = None
    extra: dict[str, Value] = field(default_factory=dict)

    def add_output(self, name: str, type_name: str = "String", replace: bool = False) -> None:
        """Declare an output parameter (Lambda, Callback) the first time it is read; a later
        use may tell its type (``replace``)."""
        if self.outputs is None:
            self.outputs = {}
        if replace or name not in self.outputs:
            self.outputs[name] = OutputParameter(name=name, type=type_name)


class WorkflowBuilder:
    """Collects steps and parameters for one workflow and records the reader's diagnostics."""

    def __init__(self, reader: str, diagnostics: Diagnostics | None) -> None:
        self.reader = reader
        self.diagnostics = diagnostics if diagnostics is not None else Diagnostics()
        self.drafts: dict[str, Draft] = {}
        self.parameters: dict[str, Parameter] = {}
        self._names: dict[str, str] = {}  # source name -> step name
        self._inferred: dict[str, str] = {}  # parameter -> where it is first read

    # --- ledger ---------------------------------------------------------------------------

    def _code(self, what: str) -> str:
        return f"read.{self.reader}.{what}"

    def exact(self, what: str, message: str, step: str | None = None) -> None:
        self.diagnostics.exact(self._code(what), message, step)

    def approximated(self, what: str, message: str, step: str | None = None) -> None:
        self.diagnostics.approximated(self._code(what), message, step)

    def dropped(self, what: str, message: str, step: str | None = None) -> None:
        self.diagnostics.dropped(self._code(what), message, step)

    def unsupported(self, what: str, message: str, step: str | None = None) -> None:
        self.diagnostics.unsupported(self._code(what), message, step)

    # --- names ----------------------------------------------------------------------------

    def step_name(self, original: str, location: str) -> str:
        """The SageMaker step name for a source name: valid characters, unique, reported."""
        if original in self._names:
            return self._names[original]
        name = _NOT_NAME.sub("-", original).strip("-")[:_NAME_LIMIT] or "step"
        base, number = name, 2
        while name in self.drafts or name in self._names.values():
            suffix = f"-{number}"
            name, number = base[: _NAME_LIMIT - len(suffix)] + suffix, number + 1
        if name != original:
            self.approximated(
                "step-renamed",
                f"{original!r} (at {location}) is named {name!r}: SageMaker step names are "
                "at most 64 letters, digits, '-' and '_'",
                name,
            )
        self._names[original] = name
        return name

    def known_step(self, original: str) -> str | None:
        return self._names.get(original)

    # --- content --------------------------------------------------------------------------

    def add(self, draft: Draft, branch: list[str] | None = None) -> Draft:
        self.drafts[draft.name] = draft
        if branch is not None:
            branch.append(draft.name)
        return draft

    def parameter(
        self,
        name: str,
        location: str,
        *,
        type: ParameterType = ParameterType.STRING,
        default: Value = MISSING,
        enum_values: tuple[str, ...] | None = None,
        inferred: bool = True,
    ) -> ParameterRef:
        """A reference to parameter ``name``, declaring it the first time it is read."""
        if name not in self.parameters:
            self.parameters[name] = Parameter(
                name=name, type=type, default=default, enum_values=enum_values
            )
            if inferred:
                self._inferred[name] = location
        return ParameterRef(name)

    def retype(self, name: str, type: ParameterType) -> None:
        """Give an inferred String parameter the type its use shows."""
        parameter = self.parameters.get(name)
        if parameter is not None and parameter.type is ParameterType.STRING and not parameter.extra:
            self.parameters[name] = replace(parameter, type=type)

    def rename_job_references(
        self, value: Any, named: list[tuple[str, Any, StepProperty]], step: str
    ) -> None:
        """Replace, in ``value``, a resource name that an earlier job was given (and that
        SageMaker now generates) by a reference to the generated name: ``named`` holds
        (name field, the value it had, the property that reads the generated one)."""
        if isinstance(value, list):
            for item in value:
                self.rename_job_references(item, named, step)
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            for field_name, given, generated in named:
                if key == field_name and item == given:
                    value[key] = generated
                    self.exact(
                        "job-name-reference",
                        f"{key} names the resource of {generated.step!r}: it reads the name "
                        "SageMaker generates",
                        step,
                    )
                    break
            else:
                self.rename_job_references(item, named, step)

    # --- the result -----------------------------------------------------------------------

    def build(self, name: str | None) -> Workflow:
        for parameter, location in self._inferred.items():
            declared = self.parameters[parameter]
            default = declared.default
            self.approximated(
                "parameter",
                f"the workflow input {parameter!r} (from {location}) becomes a "
                f"{declared.type.value} parameter"
                + (" with no default" if default is MISSING else f" defaulting to {default!r}")
                + ": the source declares neither its type nor a default, so check them",
            )
        steps = tuple(self._step(draft) for draft in self.drafts.values())
        workflow = Workflow(
            steps=steps, name=name, parameters=tuple(self.parameters.values()) or None
        )
        try:
            validate(workflow)
        except ValidationError as error:
            draft = self.drafts.get(error.step or "")
            where = f"{draft.location} (step {draft.name!r})" if draft else error.location
            raise InputError(error.message, location=where) from None
        return workflow

    def _step(self, draft: Draft) -> Step:
        referenced = set(referenced_steps(draft.arguments))
        for condition in draft.conditions:
            referenced.update(referenced_steps(_condition_values(condition)))
        depends = []
        for name in draft.after:
            if name not in referenced and name not in depends and name != draft.name:
                depends.append(name)
        outputs = draft.outputs
        if draft.kind is StepKind.CONDITION and draft.arguments is MISSING:
            draft.arguments = {}  # as the SageMaker reader has it: no keys besides the branches
        kind = draft.kind
        if kind is StepKind.TRAINING:  # a Function or NotebookJob step runs a training job too
            kind = sagemaker_step_kind(draft.type_name, draft.arguments)
        return Step(
            name=draft.name,
            kind=kind,
            type_name=draft.type_name,
            arguments=draft.arguments,
            depends_on=tuple(depends) or None,
            display_name=draft.display_name,
            description=draft.description,
            cache_config=draft.cache_config,
            retry_policies=tuple(draft.retry_policies) if draft.retry_policies else None,
            function_arn=draft.function_arn,
            sqs_queue_url=draft.sqs_queue_url,
            output_parameters=tuple(outputs.values()) if outputs is not None else None,
            conditions=draft.conditions,
            if_steps=tuple(draft.if_steps),
            else_steps=tuple(draft.else_steps),
            extra=dict(draft.extra) if draft.extra else NO_EXTRA,
        )


def step_property(step: str, parts: Iterable[PathPart]) -> StepProperty:
    """A property reference whose path is parsed as the SageMaker reader parses it, so that
    ``['name']`` on a list SageMaker selects by name is a SelectByName, as in any definition."""
    parts = tuple(_map_keys(tuple(parts)))
    try:
        return StepProperty(step, parse_path(format_path(parts)))
    except ExpressionError:  # a key the path syntax cannot spell; kept as built
        return StepProperty(step, parts)


def _map_keys(parts: tuple[PathPart, ...]) -> Iterator[PathPart]:
    """A name after a map of the user's own keys (``Environment``) is one of its keys."""
    for index, part in enumerate(parts):
        after = parts[index - 1] if index else None
        in_map = isinstance(after, Attribute) and after.name in MAP_PROPERTIES
        yield Key(part.name) if in_map and isinstance(part, Attribute) else part


def _condition_values(condition: Condition) -> list[Any]:
    return list(iter_condition_values(condition))
