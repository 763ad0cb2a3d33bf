"""Pipeline values as ASL: parameters, execution variables, step properties, Join and JsonGet.

A :class:`Values` knows where every piece of data lives in the execution's JSON document (see
``names``) and renders IR values into JSONPath payload templates (``"Key.$": "<path>"``) or into
arguments of intrinsic functions. It also records which fields of each step's result later
states read, so that each state keeps only those (payloads stay far below 256 KB).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeglot.backends.asl import intrinsics as fn
from pipeglot.backends.asl.intrinsics import NotExpressible, Ref
from pipeglot.backends.asl.names import (
    PARAMETERS_KEY,
    RETRY_DIGITS,
    RUN_KEY,
    RUN_TOKEN_LENGTH,
    SCRATCH_KEY,
)
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.expressions import (
    EXPRESSION_TYPES,
    Attribute,
    ExecutionVariable,
    ExperimentConfigRef,
    Index,
    Join,
    JsonGet,
    Key,
    ParameterRef,
    PathPart,
    PropertyFileRef,
    SelectByName,
    StepProperty,
    Value,
    format_path,
)
from pipeglot.ir.model import MISSING, Step, StepKind, Workflow
from pipeglot.ir.sagemaker import (
    AUTOML_REPORT_PROPERTIES,
    BASELINE_FILES,
    DRIFT_CHECK_BASELINES,
    EXPERIMENT_DEFAULTS,
    KINDS,
    TUNING_BEST_FIELD,
    TUNING_SUMMARIES_FIELD,
    baseline_used_for_drift_check,
)
from pipeglot.ir.sagemaker import resource_name_prefix as resource_prefix

# Where Step Functions keeps what SageMaker calls an execution variable.
CONTEXT = {
    "PipelineExecutionId": "$$.Execution.Name",
    "PipelineExecutionArn": "$$.Execution.Id",
    "PipelineName": "$$.StateMachine.Name",
    "PipelineArn": "$$.StateMachine.Id",
    "StartDateTime": "$$.Execution.StartTime",
    "CurrentDateTime": "$$.State.EnteredTime",
}
# Execution variables a split machine keeps in the document: variable -> key under "Run".
RUN_CONTEXT = {
    "PipelineExecutionId": "ExecutionName",
    "PipelineExecutionArn": "ExecutionArn",
    "PipelineName": "StateMachineName",
    "PipelineArn": "StateMachineArn",
    "StartDateTime": "StartTime",
}
_EXPERIMENT_DEFAULTS = EXPERIMENT_DEFAULTS


@dataclass(frozen=True, slots=True)
class NameField:
    """The request field that names what a step creates, and SageMaker's length limit for it."""

    field: str
    limit: int
    per_attempt: bool  # jobs need a new name on every retry; a created model keeps its name


# Read from the IR's table of step kinds (``ir.sagemaker``): the request field that names what
# a step creates (a model package in a group has no name), properties only the create call
# returns, baseline files and AutoML report locations.
NAME_FIELDS: dict[StepKind, NameField] = {
    kind: NameField(facts.api.name_field, facts.api.name_limit, facts.api.name_per_attempt)
    for kind, facts in KINDS.items()
    if facts.api is not None and facts.api.unnamed_with is None
}
_CHECK_FILES = BASELINE_FILES
_AUTOML_PROPERTIES = AUTOML_REPORT_PROPERTIES
CREATE_RESULT_FIELDS: dict[StepKind, frozenset[str]] = {
    kind: frozenset(facts.create_result_fields)
    for kind, facts in KINDS.items()
    if facts.create_result_fields
}
TUNING_LIST_FIELD = TUNING_SUMMARIES_FIELD


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str | Ref
    key: str | Ref
    # The literal start of the key, for a least-privilege s3:GetObject resource.
    key_prefix: str


@dataclass(slots=True)
class Kept:
    """What later states read from one step's result."""

    fields: dict[str, None] = field(default_factory=dict)  # top-level fields, in first-use order

    def add(self, name: str) -> None:
        self.fields.setdefault(name, None)


class Values:
    """Renders IR values of one workflow into ASL payload templates and intrinsic arguments."""

    def __init__(self, workflow: Workflow, keys: dict[str, str], diagnostics: Diagnostics) -> None:
        self.workflow = workflow
        self.keys = keys
        self.diagnostics = diagnostics
        self.kept: dict[str, Kept] = {step.name: Kept() for step in workflow.steps}
        # Output S3 URIs that the requests echo rendered from the request, not kept (see
        # ``step_property``).
        self.echo_output_uris = False
        self.current: Step | None = None  # the step whose values are being rendered
        self.scratch: dict[int, Ref] = {}  # id(JsonGet node) -> where its helper put the value
        self.problems: list[str] = []  # what could not be expressed in the current value
        self.context = dict(CONTEXT)
        # The per-execution token in generated names; a machine without start-up states draws
        # it where the name is given (see start.needs_start).
        self.run_token: Ref = fn.path("$", RUN_KEY, "Token")
        # Tuning steps whose TrainingJobSummaries are read only at [0]: that is the best
        # training job, which the tuning job's own description holds (set by the machine).
        self.best_only: frozenset[str] = frozenset()
        # id(StepProperty node) -> (the node, kept alive; its rendering; problems found)
        self._properties: dict[int, tuple[StepProperty, Ref | Value, list[str]]] = {}
        # id(StepProperty node) -> (the node, kept alive; its stable request echo or None)
        self._echoes: dict[int, tuple[StepProperty, Value]] = {}
        # Rendered once: each parameter's path, each execution variable's (of ``context``).
        self._parameter_refs: dict[str, Ref] = {}
        # producer name -> (its step, its NameField, whether step_property has a case for it)
        self._producers: dict[str, tuple[Step, NameField | None, bool]] = {}
        self._context_refs: dict[str, Ref] = {}

    def context_from_run(self) -> None:
        """Read the execution's identity from the document (``$.Run``), where the parent
        machine stored it: in a child machine ``$$.Execution`` is the child's execution."""
        for variable, key in RUN_CONTEXT.items():
            self.context[variable] = f"$.{RUN_KEY}.{key}"
        self._context_refs.clear()

    # --- templates --------------------------------------------------------------------------

    def template(self, value: Value) -> Value:
        """A payload template (Parameters / ResultSelector body) for ``value``, a dict."""
        out: dict[str, Value] = {}
        for key, item in value.items():
            kind = type(item)
            # The common cases first, without a call (a large pipeline has millions of values).
            if kind is str or kind is int or kind is bool or kind is float or item is None:
                rendered = item
            elif kind is dict:
                rendered = self.template(item)
            elif kind is list:
                rendered = self._render_list(item)
            elif kind in _EXPRESSION_KINDS:
                rendered = self.expression(item)
            else:
                rendered = self.render(item)
            if key[-2:] == ".$":
                # A literal key ending in ".$" would make Step Functions read its value as a
                # path.
                self.problems.append(
                    f"the key {key!r} ends with '.$', which ASL reserves for paths"
                )
            elif type(rendered) is Ref:
                out[f"{key}.$"] = rendered.text
            else:
                out[key] = rendered
        return out

    def render(self, value: Value) -> Value:
        """``value`` as a literal (possibly a template with dynamic keys inside) or a Ref."""
        kind = type(value)
        if kind is dict:
            return self.template(value)
        if kind is list or kind is tuple:
            return self._render_list(value)
        if kind in _EXPRESSION_KINDS:
            return self.expression(value)
        return value

    def _render_list(self, items: list[Value] | tuple[Value, ...]) -> Value:
        rendered: list[Value] = []
        dynamic = False
        for item in items:
            kind = type(item)
            if kind is str or kind is int or kind is bool or kind is float or item is None:
                rendered.append(item)
                continue
            value = self.expression(item) if kind in _EXPRESSION_KINDS else self.render(item)
            dynamic = dynamic or type(value) is Ref
            rendered.append(value)
        if not dynamic:
            return rendered
        # JSONPath templates cannot hold a dynamic value directly in a list: build the list
        # with States.Array, which takes only scalars and dynamic values.
        if any(isinstance(item, dict | list) for item in rendered):
            self.problems.append(
                "a list mixes computed values with objects or lists, which a JSONPath "
                "payload template cannot build"
            )
            return [item for item in rendered if not isinstance(item, Ref)]
        return fn.call("Array", *rendered)

    def argument(self, value: Value) -> Ref | str | int | float | bool | None:
        """``value`` as one intrinsic-function argument: a Ref or a JSON scalar."""
        rendered = self.render(value)
        if isinstance(rendered, dict | list):
            self.problems.append("an object or list cannot be an intrinsic-function argument")
            return None
        return rendered

    def string_piece(self, value: Value) -> str | Ref:
        """``value`` as a piece of a Std:Join result."""
        rendered = self.argument(value)
        if isinstance(rendered, Ref):
            return rendered
        return rendered if isinstance(rendered, str) else fn.scalar_text(rendered)

    # --- expressions ------------------------------------------------------------------------

    def expression(self, node: Any) -> Ref | Value:
        try:
            return self._expression(node)
        except NotExpressible as error:
            self.problems.append(str(error))
            return None

    def _expression(self, node: Any) -> Ref | Value:
        kind = type(node)
        if kind is ParameterRef:
            ref = self._parameter_refs.get(node.name)
            if ref is None:
                ref = self._parameter_refs[node.name] = fn.path("$", PARAMETERS_KEY, node.name)
            return ref
        if kind is ExecutionVariable:
            ref = self._context_refs.get(node.name)
            if ref is not None:
                return ref
            if node.name in self.context:
                ref = self._context_refs[node.name] = Ref(self.context[node.name], True)
                return ref
            return self._execution_variable(node.name)
        if kind is StepProperty:
            return self._cached_property(node)
        if isinstance(node, ParameterRef):
            return fn.path("$", PARAMETERS_KEY, node.name)
        if isinstance(node, ExecutionVariable):
            return self._execution_variable(node.name)
        if isinstance(node, ExperimentConfigRef):
            return self._experiment_config(node.name)
        if isinstance(node, StepProperty):
            return self._cached_property(node)
        if isinstance(node, Join):
            pieces: list[str | Ref] = []
            for position, item in enumerate(node.values):
                if position:
                    pieces.append(node.on)
                # A literal text is its own piece (what string_piece gives it).
                pieces.append(item if type(item) is str else self.string_piece(item))
            return fn.format_string(pieces)
        if isinstance(node, JsonGet):
            try:
                return self.scratch[id(node)]
            except KeyError:
                raise NotExpressible("a Std:JsonGet here has no state to read it") from None
        raise NotExpressible(f"{type(node).__name__} cannot stand on its own here")

    def _cached_property(self, node: StepProperty) -> Ref | Value:
        """``step_property`` once per property node (parsing shares the node of equal Gets):
        the references pass and the states both ask; the problems it found are kept too."""
        cached = self._properties.get(id(node))
        if cached is None:
            before = len(self.problems)
            result = self.step_property(node.step, node.path, node=node)
            cached = self._properties[id(node)] = (node, result, self.problems[before:])
        else:
            self.problems.extend(cached[2])
        return cached[1]

    def _execution_variable(self, name: str) -> Ref:
        if name in self.context:
            return Ref(self.context[name], True)
        step = self.current
        expected = "TrainingJobName" if name == "TrainingJobName" else "ProcessingJobName"
        spec = NAME_FIELDS.get(step.kind) if step is not None else None
        if step is None or spec is None or spec.field != expected:
            raise NotExpressible(f"Execution.{name} is only defined inside the step of that job")
        name_value = self.resource_name(step)
        if not isinstance(name_value, Ref):
            return fn.call("Format", name_value)
        return name_value

    def _experiment_config(self, name: str) -> Ref | Value:
        config = self.workflow.experiment_config
        attribute = "experiment_name" if name == "ExperimentName" else "trial_name"
        value = getattr(config, attribute) if config is not None and config.enabled else MISSING
        if value is MISSING:
            return self._execution_variable(_EXPERIMENT_DEFAULTS[name])
        return self.render(value)

    # --- step properties --------------------------------------------------------------------

    def step_property(
        self,
        producer_name: str,
        path: tuple[PathPart, ...],
        rendered: bool = True,
        node: StepProperty | None = None,
    ) -> Ref | Value:
        """Where the property is, recording in ``kept`` the result fields it reads. With
        ``rendered=False`` a plain result field is only recorded (None): the references pass
        needs no path, and that is most properties of a pipeline. ``node``, the property's
        IR node if there is one, lets what depends on the request alone be computed once."""
        known = self._producers.get(producer_name)
        if known is None:
            producer = self.workflow.step(producer_name)
            spec = NAME_FIELDS.get(producer.kind)
            special = producer.kind in _SPECIAL_PRODUCERS or (
                spec is not None and not spec.per_attempt
            )
            known = self._producers[producer_name] = (producer, spec, special)
        producer, spec, special = known
        key = self.keys[producer_name]
        if not path or not isinstance(path[0], Attribute):
            raise NotExpressible(f"Steps.{producer_name}{format_path(path)} names no property")
        head = path[0].name
        if not special:  # a job's result field (most properties): none of the cases below
            return self._result_field(producer, key, path, head, rendered, node)
        kind = producer.kind
        if spec is not None and not spec.per_attempt and head == spec.field and len(path) == 1:
            return self.resource_name(producer)
        if kind is StepKind.CONDITION:
            return fn.path("$", key, "Outcome")
        if kind in (StepKind.LAMBDA, StepKind.CALLBACK) and head == "OutputParameters":
            self.kept[producer_name].add("OutputParameters")
            return self._walk(fn.path("$", key, "OutputParameters"), _by_member(path[1:]), None)
        if kind in (StepKind.QUALITY_CHECK, StepKind.CLARIFY_CHECK):
            check = self._check_property(producer, head)
            if check is not None:
                return check
        if kind is StepKind.AUTOML and head == "BestCandidateProperties" and len(path) == 2:
            report = path[1].name if isinstance(path[1], Attribute) else ""
            if report in _AUTOML_PROPERTIES:
                self.kept[producer_name].add("BestCandidate")
                locations = ("BestCandidate", "CandidateProperties", "CandidateArtifactLocations")
                return fn.path("$", key, *locations, _AUTOML_PROPERTIES[report])
        if kind is StepKind.TUNING and head == TUNING_LIST_FIELD:
            if producer_name in self.best_only and path[1:2] == (Index(0),):
                self.kept[producer_name].add(TUNING_BEST_FIELD)
                return self._walk(fn.path("$", key, TUNING_BEST_FIELD), path[2:], None)
            self.kept[producer_name].add(TUNING_LIST_FIELD)
            return self._walk(fn.path("$", key, "Listed"), path, None)
        if kind in (StepKind.LINEAGE, StepKind.EMR_SERVERLESS):
            # Their modules build states too (and so import this one): import them late.
            from pipeglot.backends.asl import emr_serverless, lineage

            module = lineage if kind is StepKind.LINEAGE else emr_serverless
            return module.property_ref(self, producer, path)
        if kind is StepKind.EMR:
            if head == "ClusterId" and isinstance(producer.arguments, dict):
                return self.render(producer.arguments.get("ClusterId"))
            self.kept[producer_name].add("Step")
            return self._walk(fn.path("$", key, "Step"), path, None)
        return self._result_field(producer, key, path, head, rendered, node)

    def _result_field(
        self,
        producer: Step,
        key: str,
        path: tuple[PathPart, ...],
        head: str,
        rendered: bool,
        node: StepProperty | None,
    ) -> Ref | Value:
        """A field of the step's described result (``step_property``'s common case)."""
        if self.echo_output_uris:
            echoed = self._stable_echo(node or StepProperty(producer.name, path))
            if echoed is not None:
                # Computed from the request, as SageMaker echoes it: nothing kept (the
                # machine builder asks this of a pipeline whose kept results are large).
                return self.render(echoed) if rendered else None
        self.kept[producer.name].add(head)
        if not rendered:
            return None
        arguments = producer.arguments if isinstance(producer.arguments, dict) else None
        return self._walk(fn.path("$", key), path, arguments)

    def _walk(self, ref: Ref, path: tuple[PathPart, ...], request: Value) -> Ref:
        """Follow ``path`` from ``ref``; ``request`` is the same place in the step's request,
        used to turn a select-by-name (``Outputs['train']``) into a position."""
        filtered = False
        for part in path:
            if isinstance(part, Attribute):
                ref = fn.extend(ref, fn.member_suffix(part.name))
                request = request.get(part.name) if isinstance(request, dict) else None
            elif isinstance(part, Index):
                ref = fn.extend(ref, fn.index_suffix(part.position))
                request = _item(request, part.position)
            else:
                by_name = part.field if isinstance(part, SelectByName) else None
                if by_name is None:
                    ref = fn.extend(ref, fn.member_suffix(part.key))
                    request = request.get(part.key) if isinstance(request, dict) else None
                else:
                    position = _position_by_name(request, by_name, part.key)
                    if position is None:
                        if "'" in part.key or "\\" in part.key:
                            raise NotExpressible(f"the name {part.key!r} cannot be matched")
                        ref = fn.extend(ref, f"[?(@.{by_name} == '{part.key}')]")
                        filtered = True
                    else:
                        ref = fn.extend(ref, fn.index_suffix(position))
                    request = _item(request, position) if position is not None else None
        if filtered:
            # A filter selects a list (of the one matching item); take the item.
            return fn.call("ArrayGetItem", ref, 0)
        return ref

    def _check_property(self, producer: Step, head: str) -> Ref | Value | None:
        if head in DRIFT_CHECK_BASELINES:
            return self._drift_check_baseline(producer, head)
        file_name = _CHECK_FILES.get((producer.kind, head))
        if file_name is None:
            return None
        self.kept[producer.name].add("ProcessingOutputConfig")
        output = (
            fn.path("$", self.keys[producer.name], "ProcessingOutputConfig", "Outputs").text
            + "[0].S3Output.S3Uri"
        )
        return fn.format_string([Ref(output, True), f"/{file_name}"])

    def _drift_check_baseline(self, producer: Step, head: str) -> Ref | Value:
        """``BaselineUsedForDriftCheck*`` by SageMaker's rule (``baseline_used_for_drift_check``).
        When RegisterNewBaseline is known only at run time, an intrinsic picks the baseline:
        ``ArrayUnique([register, true])`` has one item when it is true and two when false, so
        its length minus one indexes ``[calculated, supplied]``."""
        supplied_key, calculated_key = DRIFT_CHECK_BASELINES[head]
        calculated = self._check_property(producer, calculated_key)
        supplied = producer.check.get(supplied_key, None)
        supplied = None if supplied is MISSING else supplied
        register = producer.check.get("RegisterNewBaseline", False)
        register = False if register is MISSING else register
        if calculated is None:
            return None
        if isinstance(register, bool) or supplied in (None, ""):
            chosen = baseline_used_for_drift_check(register, supplied, calculated)
            return chosen if chosen is calculated else self.render(chosen)
        flag = self.argument(register)
        index = fn.call(
            "MathAdd",
            fn.call("ArrayLength", fn.call("ArrayUnique", fn.call("Array", flag, True))),
            -1,
        )
        options = fn.call("Array", calculated, self.argument(supplied))
        return fn.call("ArrayGetItem", options, index)

    # --- generated names --------------------------------------------------------------------

    def resource_name(self, step: Step) -> Ref | str:
        """The name of the job or resource ``step`` creates, unique per execution (and per
        retry attempt for jobs), valid for SageMaker."""
        spec = NAME_FIELDS[step.kind]
        arguments = step.arguments if isinstance(step.arguments, dict) else {}
        given = arguments.get(spec.field, MISSING)
        if not spec.per_attempt and isinstance(given, str):
            return given  # a name the pipeline sets itself (EndpointConfig, Endpoint...)
        budget = spec.limit - RUN_TOKEN_LENGTH - 1 - (RETRY_DIGITS + 1 if spec.per_attempt else 0)
        pieces: list[str | Ref] = []
        if given is MISSING or isinstance(given, str):
            pieces.append(resource_prefix(given if isinstance(given, str) else step.name, budget))
        else:
            pieces.append(self.string_piece(given))  # a custom prefix computed at run time
        pieces += ["-", self.run_token]
        if spec.per_attempt:
            pieces += ["-", Ref("$$.State.RetryCount", True)]
        return fn.format_string(pieces)

    # --- Std:JsonGet ------------------------------------------------------------------------

    def json_get_location(self, node: JsonGet) -> S3Location:
        """Where the JSON file that ``node`` reads is, as S3 bucket and key."""
        if node.property_file is not None:
            pieces = self._property_file_uri(node.property_file)
        else:
            pieces = self._uri_pieces(node.s3_uri)
        return _split_s3_uri(pieces)

    def _property_file_uri(self, reference: PropertyFileRef) -> list[str | Ref]:
        producer = self.workflow.step(reference.step)
        files = {f.name: f for f in producer.property_files or ()}
        if reference.name not in files:
            raise NotExpressible(
                f"step {reference.step!r} declares no property file {reference.name!r}"
            )
        declared = files[reference.name]
        outputs = _outputs(producer)
        position = next(
            (i for i, out in enumerate(outputs) if out.get("OutputName") == declared.output_name),
            None,
        )
        if position is None:
            raise NotExpressible(
                f"step {reference.step!r} has no output {declared.output_name!r} for its "
                f"property file {reference.name!r}"
            )
        output = outputs[position].get("S3Output")
        uri = output.get("S3Uri") if isinstance(output, dict) else None  # else: read at run time
        pieces = self._uri_pieces(uri) if _is_stable(uri) else None
        if pieces is None:
            # Read what the job reports, after it ran.
            self.kept[reference.step].add("ProcessingOutputConfig")
            runtime = fn.path("$", self.keys[reference.step], "ProcessingOutputConfig", "Outputs")
            pieces = [Ref(f"{runtime.text}[{position}].S3Output.S3Uri", True)]
        return [*pieces, "/", declared.file_path]

    def _uri_pieces(self, value: Value) -> list[str | Ref]:
        """An S3 URI as literal and dynamic pieces (a Join is flattened, its literals kept)."""
        if isinstance(value, str):
            return [value]
        if isinstance(value, Join):
            pieces: list[str | Ref] = []
            for position, item in enumerate(value.values):
                if position:
                    pieces.append(value.on)
                if isinstance(item, Join | str | StepProperty):
                    pieces.extend(self._uri_pieces(item))
                else:
                    pieces.append(self.string_piece(item))
            return pieces
        if isinstance(value, StepProperty):
            echoed = self._stable_echo(value)
            if echoed is not None:
                # The Describe response repeats this request field (an output S3 URI), so
                # its literal parts, and with them the bucket, are known before the run.
                return self._uri_pieces(echoed)
        rendered = self.render(value)
        if isinstance(rendered, Ref):
            return [rendered]
        raise NotExpressible("the S3 URI of a Std:JsonGet is not a string")

    def _stable_echo(self, node: StepProperty) -> Value:
        """``_request_echo`` where it is stable (``_is_stable``), else None; once per node
        (the references passes and the states all ask, and equal Gets share a node)."""
        cached = self._echoes.get(id(node))
        if cached is None:
            echoed = self._request_echo(node)
            cached = self._echoes[id(node)] = (
                node,
                echoed if echoed is not None and _is_stable(echoed) else None,
            )
        return cached[1]

    def _request_echo(self, node: StepProperty) -> Value:
        """The request value at ``node``'s path, for paths whose Describe value repeats it."""
        if format_path(node.path) not in _ECHOED_PATHS and not _is_output_uri(node.path):
            return None
        request: Value = self.workflow.step(node.step).arguments
        for part in node.path:
            if isinstance(part, Attribute):
                request = request.get(part.name) if isinstance(request, dict) else None
            elif isinstance(part, Index):
                request = _item(request, part.position)
            else:
                by_name = part.field if isinstance(part, SelectByName) else None
                position = _position_by_name(request, by_name, part.key) if by_name else None
                request = _item(request, position)
        return request

    # --- helpers for the step builders ------------------------------------------------------

    def collect_json_gets(self, values: Iterator[Value]) -> list[JsonGet]:
        from pipeglot.ir.expressions import iter_expressions

        found: dict[int, JsonGet] = {}
        for value in values:
            for node in iter_expressions(value):
                if isinstance(node, JsonGet):
                    found.setdefault(id(node), node)
        return list(found.values())

    def json_get_path(self, slot: str, path: str) -> Ref:
        """Where the value at ``path`` (JsonGet's own path syntax) of a file read into ``slot``
        is."""
        ref = fn.path("$", SCRATCH_KEY, slot, "Body")
        for token in _JSON_GET_TOKEN.finditer(path):
            name, position, quoted = token.groups()
            if position is not None:
                ref = fn.extend(ref, fn.index_suffix(int(position)))
            else:
                ref = fn.extend(ref, fn.member_suffix(name if name is not None else quoted))
        if "".join(t.group() for t in _JSON_GET_TOKEN.finditer(path)) != path:
            raise NotExpressible(f"cannot read the Std:JsonGet path {path!r}")
        return ref

    def take_problems(self) -> list[str]:
        problems, self.problems = self.problems, []
        return problems


_EXPRESSION_KINDS = frozenset(EXPRESSION_TYPES)
# The kinds whose properties step_property reads in a way of their own (besides the created
# resources that keep their name: NameField.per_attempt False).
_SPECIAL_PRODUCERS = frozenset(
    {
        StepKind.CONDITION,
        StepKind.LAMBDA,
        StepKind.CALLBACK,
        StepKind.QUALITY_CHECK,
        StepKind.CLARIFY_CHECK,
        StepKind.AUTOML,
        StepKind.TUNING,
        StepKind.LINEAGE,
        StepKind.EMR_SERVERLESS,
        StepKind.EMR,
    }
)
_JSON_GET_TOKEN = re.compile(r"\.?([A-Za-z0-9_\-:]+)|\[(\d+)\]|\['([^'\\]*)'\]")
# Describe* fields that repeat what the create request said.
_ECHOED_PATHS = frozenset({".OutputDataConfig.S3OutputPath", ".TransformOutput.S3OutputPath"})


def _is_output_uri(path: tuple[PathPart, ...]) -> bool:
    """``.ProcessingOutputConfig.Outputs[...].S3Output.S3Uri``."""
    text = format_path(path)
    return text.startswith(".ProcessingOutputConfig.Outputs[") and text.endswith("].S3Output.S3Uri")


def _by_member(path: tuple[PathPart, ...]) -> tuple[PathPart, ...]:
    """A Lambda or Callback step's ``OutputParameters['x']``: SageMaker lists ``{Name, Value}``
    pairs there, but the state keeps the function's (or the worker's) JSON object, keyed by
    output name, so the select-by-name is a member of that object."""
    if path and isinstance(path[0], SelectByName):
        return (Key(path[0].key), *path[1:])
    return path


def _is_stable(value: Value) -> bool:
    """Does ``value`` evaluate the same in every state of one execution (so that a consumer may
    recompute it instead of reading what the producer reported)?"""
    from pipeglot.ir.expressions import iter_expressions

    for node in iter_expressions(value):
        if isinstance(node, StepProperty | PropertyFileRef | JsonGet):
            return False
        if isinstance(node, ExecutionVariable) and node.name not in CONTEXT:
            return False
        if isinstance(node, ExecutionVariable) and node.name == "CurrentDateTime":
            return False
    return value is not None


def _outputs(step: Step) -> list[dict[str, Value]]:
    arguments = step.arguments if isinstance(step.arguments, dict) else {}
    config = arguments.get("ProcessingOutputConfig")
    outputs = config.get("Outputs") if isinstance(config, dict) else None
    return [o for o in outputs if isinstance(o, dict)] if isinstance(outputs, list) else []


def _item(request: Value, position: int | None) -> Value:
    if isinstance(request, list) and position is not None and 0 <= position < len(request):
        return request[position]
    return None


def _position_by_name(request: Value, by_name: str, wanted: str) -> int | None:
    if not isinstance(request, list):
        return None
    names = [item.get(by_name) if isinstance(item, dict) else None for item in request]
    if any(not isinstance(name, str) for name in names) or names.count(wanted) != 1:
        return None  # computed names, or no single match: select at run time instead
    return names.index(wanted)


def _split_s3_uri(pieces: list[str | Ref]) -> S3Location:
    """Bucket and key of an ``s3://bucket/key`` URI given as literal and dynamic pieces."""
    flat: list[str | Ref] = []
    for piece in pieces:
        if isinstance(piece, str) and flat and isinstance(flat[-1], str):
            flat[-1] += piece
        elif piece != "":
            flat.append(piece)
    if not flat or not isinstance(flat[0], str) or not flat[0].startswith("s3://"):
        raise NotExpressible(
            "the S3 URI of the JSON file is only known at run time, and Step Functions cannot "
            "split a URI into bucket and key"
        )
    head = flat[0][len("s3://") :]
    if "/" in head:
        bucket, rest = head.split("/", 1)
        key_pieces: list[str | Ref] = [rest, *flat[1:]]
        bucket_value: str | Ref = bucket
    elif (
        len(flat) >= 3
        and isinstance(flat[1], Ref)
        and isinstance(flat[2], str)
        and (head == "" and flat[2].startswith("/"))
    ):
        bucket_value = flat[1]  # s3://{bucket parameter}/key
        key_pieces = [flat[2][1:], *flat[3:]]
    else:
        raise NotExpressible("cannot tell the bucket of the JSON file's S3 URI")
    literal_prefix = key_pieces[0] if isinstance(key_pieces[0], str) else ""
    # S3 keys never start with the slash that separates them from the bucket.
    key = fn.format_string(
        [p.lstrip("/") if i == 0 and isinstance(p, str) else p for i, p in enumerate(key_pieces)]
    )
    return S3Location(bucket_value, key, literal_prefix.lstrip("/"))
