"""The workflow model: parameters, steps and their options.

Every record is a frozen, slotted dataclass compared by value, so a round trip is one ``==``.
Optional SageMaker keys that may be absent or present-but-empty are ``None`` when absent, so
that writing a workflow back gives exactly the document it was read from. Keys pipeglot does
not model yet are kept verbatim in ``extra``.

Steps nested in Condition branches are *not* nested here: ``Workflow.steps`` holds every step
(top level and nested, in document order) and a Condition step names its branch steps.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pipeglot.ir.expressions import MISSING as MISSING  # re-exported: absent keys
from pipeglot.ir.expressions import Condition, Value
from pipeglot.ir.triggers import Trigger

# The shared, read-only "no unknown keys" (a dict default would be shared and mutable).
NO_EXTRA: Mapping[str, Value] = MappingProxyType({})


def _no_extra() -> Any:
    return field(default_factory=lambda: NO_EXTRA)


class ParameterType(enum.Enum):
    STRING = "String"
    INTEGER = "Integer"
    FLOAT = "Float"
    BOOLEAN = "Boolean"


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    """A pipeline parameter; ``default`` is :data:`MISSING` when a value must be supplied.

    ``type_declared`` is False for the rare hand-written parameter without a ``Type`` key,
    which SageMaker treats as a String.
    """

    name: str
    type: ParameterType = ParameterType.STRING
    default: Value = MISSING
    enum_values: tuple[str, ...] | None = None
    type_declared: bool = True
    extra: Mapping[str, Value] = _no_extra()

    @property
    def required(self) -> bool:
        return self.default is MISSING


class StepKind(enum.Enum):
    """What a step does. ``type_name`` on the step keeps SageMaker's own ``Type`` string."""

    PROCESSING = "processing"
    TRAINING = "training"
    FUNCTION = "function"  # an @step-decorated function (Type "Training")
    NOTEBOOK_JOB = "notebook_job"  # a NotebookJobStep (Type "Training")
    TRANSFORM = "transform"
    TUNING = "tuning"
    MODEL = "model"
    REGISTER_MODEL = "register_model"
    CONDITION = "condition"
    FAIL = "fail"
    LAMBDA = "lambda"
    CALLBACK = "callback"
    EMR = "emr"
    EMR_SERVERLESS = "emr_serverless"
    QUALITY_CHECK = "quality_check"
    CLARIFY_CHECK = "clarify_check"
    AUTOML = "automl"
    ENDPOINT_CONFIG = "endpoint_config"
    ENDPOINT = "endpoint"
    INFERENCE_COMPONENT = "inference_component"
    LINEAGE = "lineage"
    UNKNOWN = "unknown"  # any other Type, kept verbatim


# SageMaker ``Type`` string -> kind. FUNCTION and NOTEBOOK_JOB are recognised from Training
# arguments by the frontend; UNKNOWN covers everything else.
KIND_OF_TYPE: dict[str, StepKind] = {
    "Processing": StepKind.PROCESSING,
    "Training": StepKind.TRAINING,
    "Transform": StepKind.TRANSFORM,
    "Tuning": StepKind.TUNING,
    "Model": StepKind.MODEL,
    "RegisterModel": StepKind.REGISTER_MODEL,
    "Condition": StepKind.CONDITION,
    "Fail": StepKind.FAIL,
    "Lambda": StepKind.LAMBDA,
    "Callback": StepKind.CALLBACK,
    "EMR": StepKind.EMR,
    "EMRServerless": StepKind.EMR_SERVERLESS,
    "QualityCheck": StepKind.QUALITY_CHECK,
    "ClarifyCheck": StepKind.CLARIFY_CHECK,
    "AutoML": StepKind.AUTOML,
    "EndpointConfig": StepKind.ENDPOINT_CONFIG,
    "Endpoint": StepKind.ENDPOINT,
    "InferenceComponent": StepKind.INFERENCE_COMPONENT,
    "Lineage": StepKind.LINEAGE,
}
TYPE_OF_KIND: dict[StepKind, str] = {kind: name for name, kind in KIND_OF_TYPE.items()}
TYPE_OF_KIND[StepKind.FUNCTION] = "Training"
TYPE_OF_KIND[StepKind.NOTEBOOK_JOB] = "Training"


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheConfig:
    """``CacheConfig``. ``expire_after`` is kept as written: the corpus has "30d", "T12H"..."""

    enabled: Value
    expire_after: Value = MISSING
    extra: Mapping[str, Value] = _no_extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """One entry of ``RetryPolicies``; numbers are kept as written (2 and 2.0 both occur)."""

    exception_types: tuple[str, ...]
    interval_seconds: Value = MISSING
    backoff_rate: Value = MISSING
    max_attempts: Value = MISSING
    expire_after_min: Value = MISSING
    extra: Mapping[str, Value] = _no_extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyFile:
    """A JSON file a Processing step writes to one of its outputs, read with Std:JsonGet."""

    name: str
    output_name: str
    file_path: str
    extra: Mapping[str, Value] = _no_extra()


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputParameter:
    """An output of a Lambda or Callback step, read as ``OutputParameters['<name>']``."""

    name: str
    type: Value = MISSING  # "String" | "Integer" | "Float" | "Boolean"
    extra: Mapping[str, Value] = _no_extra()


# Step-level keys of QualityCheck and ClarifyCheck steps, in the SDK's order.
CHECK_KEYS: tuple[str, ...] = (
    "CheckType",
    "ModelPackageGroupName",
    "SkipCheck",
    "FailOnViolation",
    "RegisterNewBaseline",
    "SuppliedBaselineConstraints",
    "SuppliedBaselineStatistics",
    "ModelName",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One step. Fields that only some kinds use are empty for the others.

    ``arguments`` is the step's ``Arguments`` (an API request body for job steps, a free-form
    dict for Lambda and Callback); for Condition steps it holds only keys other than
    ``Conditions``/``IfSteps``/``ElseSteps`` (normally none), which are parsed into
    ``conditions``, ``if_steps`` and ``else_steps``.
    """

    name: str
    kind: StepKind
    type_name: str
    arguments: Value = MISSING
    depends_on: tuple[str, ...] | None = None
    display_name: Value = MISSING
    description: Value = MISSING
    cache_config: CacheConfig | None = None
    retry_policies: tuple[RetryPolicy, ...] | None = None
    property_files: tuple[PropertyFile, ...] | None = None
    # Lambda and Callback
    function_arn: Value = MISSING
    sqs_queue_url: Value = MISSING
    output_parameters: tuple[OutputParameter, ...] | None = None
    # QualityCheck and ClarifyCheck: the keys of CHECK_KEYS that are present, in that order
    check: Mapping[str, Value] = _no_extra()
    # Condition: the AND-ed conditions and the names of the branch steps
    conditions: tuple[Condition, ...] = ()
    if_steps: tuple[str, ...] = ()
    else_steps: tuple[str, ...] = ()
    # Which of "IfSteps"/"ElseSteps" the source wrote: a hand-written Condition may omit one,
    # and writing it back as [] would not be the document that was read.
    branch_keys: tuple[str, ...] = ("IfSteps", "ElseSteps")
    extra: Mapping[str, Value] = _no_extra()
    # The expression nodes of its values (ir.graph.step_expressions), found once: a step never
    # changes, and validation, the edges and the writers all read them. A changed copy
    # (dataclasses.replace) starts without them.
    _expressions: list[Any] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def explicit_dependencies(self) -> tuple[str, ...]:
        return self.depends_on or ()

    @property
    def error_message(self) -> Value:
        """A Fail step's ErrorMessage (a string or an expression), or None."""
        arguments = self.arguments if isinstance(self.arguments, dict) else {}
        return arguments.get("ErrorMessage")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentConfig:
    """``PipelineExperimentConfig``. ``enabled=False`` is the SDK's explicit ``null``."""

    experiment_name: Value = MISSING
    trial_name: Value = MISSING
    enabled: bool = True
    extra: Mapping[str, Value] = _no_extra()


SUPPORTED_VERSIONS: tuple[str, ...] = ("2020-12-01",)


@dataclass(frozen=True, slots=True, kw_only=True)
class Workflow:
    """A whole pipeline. ``name`` is not part of a SageMaker definition; it comes from the
    source (a file name, a pipeline name) and is used for generated names and headers."""

    steps: tuple[Step, ...]
    name: str | None = None
    version: str | None = "2020-12-01"
    parameters: tuple[Parameter, ...] | None = ()
    metadata: Value = MISSING
    experiment_config: ExperimentConfig | None = None
    mlflow_config: Value = MISSING
    # What starts the pipeline (ir/triggers.py); not part of a SageMaker definition.
    triggers: tuple[Trigger, ...] = ()
    extra: Mapping[str, Value] = _no_extra()
    _by_name: dict[str, Step] = field(init=False, repr=False, compare=False)
    # The step graph's edges (ir.graph.edges), found once: steps never change, and validation
    # records the edges it finds, so that no writer walks every step's values again.
    _edges: tuple[Any, ...] | None = field(default=None, init=False, repr=False, compare=False)
    # ... or, until someone asks for the Edge objects, validation's (source, target, origin)
    # rows of the same edges: a tuple costs a tenth of an Edge, and most writers only read
    # the graph, which is built from the rows.
    _edge_rows: tuple[tuple[str, str, Any], ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _graph: Any = field(default=None, init=False, repr=False, compare=False)  # ... and its graph

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {step.name: step for step in self.steps})

    def step(self, name: str) -> Step:
        """The step called ``name`` (KeyError if there is none)."""
        return self._by_name[name]

    def has_step(self, name: str) -> bool:
        return name in self._by_name

    @property
    def parameter_list(self) -> tuple[Parameter, ...]:
        return self.parameters or ()

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameter_list if p.name == name), None)

    def branch_owner(self) -> dict[str, str]:
        """Map each step nested in a Condition branch to the name of that Condition."""
        owners = {}
        for step in self.steps:
            for child in (*step.if_steps, *step.else_steps):
                owners[child] = step.name
        return owners

    def top_level_steps(self) -> tuple[Step, ...]:
        nested = self.branch_owner()
        return tuple(step for step in self.steps if step.name not in nested)
