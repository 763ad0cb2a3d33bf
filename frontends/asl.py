"""Frontend for Amazon States Language: Step Functions state machines that orchestrate SageMaker.

Reads a state machine definition (JSONPath or JSONata), a ``describe-state-machine`` answer, or
a CloudFormation / SAM template (JSON or YAML) that holds one. The machine is walked from
``StartAt``, following the payload symbolically (``symbolic.py``): a path into the execution
input becomes a pipeline parameter, a path into an earlier task's result becomes a step
property, so the data edges of the pipeline come back as ``Get`` references.

What maps onto SageMaker: Task states on the SageMaker integrations (steps of the same kind),
``lambda:invoke`` (Lambda steps), ``sqs:sendMessage.waitForTaskToken`` (Callback steps),
Choice (Condition steps), Parallel (fan-out and fan-in), Fail (Fail steps), Pass and Succeed
(payload only), Retry (RetryPolicies), polling loops around an asynchronous job (the step
waits). Everything else is recorded in the ledger: approximated, dropped, or unsupported with
its JSON pointer and a placeholder step that keeps the state verbatim.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pipeglot import provenance
from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import InputError, UsageError
from pipeglot.frontends._readers import jsonata
from pipeglot.frontends._readers.build import Draft, WorkflowBuilder, step_property
from pipeglot.frontends._readers.integrations import (
    ASL_RETRY_DEFAULTS,
    BROAD_ERRORS,
    EXACT_ERRORS,
    RETRYABLE_KINDS,
    SAGEMAKER_APIS,
    SUCCESS_STATUSES,
    WATCHED_APIS,
    JobApi,
    integration_action,
)
from pipeglot.frontends._readers.jsonpath import (
    Call,
    Named,
    PathError,
    Reference,
    is_intrinsic,
    parse_intrinsic,
    parse_reference,
)
from pipeglot.frontends._readers.symbolic import (
    NOT_FOUND,
    Overlay,
    Path,
    Source,
    Unexpressible,
    assign,
    descend,
    to_value,
)
from pipeglot.ir.expressions import (
    NAME_KEYED_LISTS,
    Attribute,
    Comparison,
    ComparisonOperator,
    Condition,
    ExecutionVariable,
    In,
    Index,
    Join,
    JsonGet,
    Key,
    Not,
    Or,
    ParameterRef,
    SelectByName,
    StepProperty,
)
from pipeglot.ir.model import MISSING, ParameterType, RetryPolicy, StepKind, Workflow
from pipeglot.ir.sagemaker import (
    DEFAULT_BACKOFF_RATE,
    DEFAULT_INTERVAL_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_EXCEPTIONS,
    MAX_ATTEMPTS,
    TUNING_BEST_FIELD,
    TUNING_SUMMARIES_ACTION,
    TUNING_SUMMARIES_FIELD,
)

READS_TEXT = True
RECORDS_DIAGNOSTICS = True

_STATE_MACHINE_TYPES = ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine")
_RESOURCE = re.compile(
    r"^arn:(?:\$\{[^}]+\}|[^:]+):states:::(?P<service>[a-z0-9-]+(?::[a-z0-9-]+)?):(?P<api>[A-Za-z0-9]+)"
    r"(?P<mode>\.sync(?::2)?|\.waitForTaskToken)?$"
)
_LAMBDA_ARN = re.compile(r"^arn:(?:\$\{[^}]+\}|[^:]+):lambda:[^:]*:[^:]*:function:.+")
_EXECUTION_INPUT = "the execution input"
_LIST_TUNING_JOBS = integration_action(TUNING_SUMMARIES_ACTION)
_TOKEN = object()  # $$.Task.Token: SageMaker sends its own callback token
_CONTEXT = {
    ("Execution", "Name"): ("PipelineExecutionId", True),
    ("Execution", "Id"): ("PipelineExecutionArn", False),
    ("Execution", "StartTime"): ("StartDateTime", False),
    ("StateMachine", "Name"): ("PipelineName", False),
    ("StateMachine", "Id"): ("PipelineArn", False),
    ("State", "EnteredTime"): ("CurrentDateTime", True),
}
_OPERATORS = {
    "Equals": ComparisonOperator.EQUALS,
    "LessThan": ComparisonOperator.LESS_THAN,
    "GreaterThan": ComparisonOperator.GREATER_THAN,
    "LessThanEquals": ComparisonOperator.LESS_THAN_OR_EQUAL_TO,
    "GreaterThanEquals": ComparisonOperator.GREATER_THAN_OR_EQUAL_TO,
}
_JSONATA_OPERATORS = {
    "=": ComparisonOperator.EQUALS,
    "<": ComparisonOperator.LESS_THAN,
    ">": ComparisonOperator.GREATER_THAN,
    "<=": ComparisonOperator.LESS_THAN_OR_EQUAL_TO,
    ">=": ComparisonOperator.GREATER_THAN_OR_EQUAL_TO,
}
# The error name pipeglot's ASL writer gives a Fail step's state (the step type's name); the
# step's ErrorMessage is the state's Cause.
_FAIL_STEP_ERROR = "FailStep"
_RULE_OPERATOR = re.compile(
    r"^(String|Numeric|Boolean|Timestamp)"
    r"(Equals|LessThan|GreaterThan|LessThanEquals|GreaterThanEquals)(Path)?$"
)


def load(
    source: str | bytes, *, name: str | None = None, diagnostics: Diagnostics | None = None
) -> Workflow:
    """Read a state machine (or a template holding one) into a validated Workflow.

    Raises:
        InputError: not a state machine; the message names the JSON pointer.
    """
    text = _decode(source)
    # pipeglot's own machines carry what ASL cannot hold in a provenance block (its Comment)
    return provenance.read(
        text, lambda ledger: _load(text, name, ledger), reader="asl", diagnostics=diagnostics
    )


def _load(text: str, name: str | None, diagnostics: Diagnostics) -> Workflow:
    document = _parse(text)
    definition, where = _definition(document)
    builder = WorkflowBuilder("asl", diagnostics)
    from_template = where.startswith("/Resources/")
    for placeholder in sorted(_placeholders(definition) if from_template else ()):
        builder.approximated(
            "template-substitution",
            f"${{{placeholder}}} is filled by CloudFormation when the stack is deployed (from "
            "DefinitionSubstitutions or a pseudo parameter); the SageMaker pipeline keeps the "
            "placeholder text: replace it",
        )
    return _Reader(builder, where).read(definition, name)


def _placeholders(value: Any) -> set[str]:
    """The ${Var} left in a template's definition after the substitutions it spells out."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            found.update(re.findall(r"\$\{([^}!]+)\}", item))
    return found


# --- the document ---------------------------------------------------------------------------


def _decode(source: str | bytes) -> str:
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise InputError(
                f"the input is not UTF-8 text (invalid byte at offset {error.start})"
            ) from None
    if not source.strip():
        raise InputError("the input is empty; expected a state machine definition (JSON)")
    return source


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        if text.lstrip().startswith(("{", "[")):
            raise InputError(
                f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
            ) from None
    return _parse_yaml(text)


def _parse_yaml(text: str) -> Any:
    """A CloudFormation/SAM template in YAML; short-form tags (!Sub) become Fn:: objects."""
    try:
        import yaml
    except ImportError:
        raise UsageError(
            "reading a YAML template needs PyYAML (pip install pyyaml); or give the JSON"
        ) from None

    class Loader(yaml.SafeLoader):
        pass

    def tag(loader: Any, suffix: str, node: Any) -> Any:
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if suffix == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    Loader.add_multi_constructor("!", tag)
    try:
        return yaml.load(text, Loader=Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(
            f"neither JSON nor a YAML template{where}: {getattr(error, 'problem', error)}"
        ) from None


def _definition(document: Any) -> tuple[Any, str]:
    """The state machine in ``document``, and the pointer prefix of its location."""
    if isinstance(document, dict) and "States" in document:
        return document, ""
    if isinstance(document, dict) and isinstance(document.get("definition"), str):
        return _parse_embedded(document["definition"], "/definition"), "/definition:"
    if isinstance(document, dict) and isinstance(document.get("Resources"), dict):
        return _from_template(document)
    raise InputError(
        'expected a state machine (an object with "StartAt" and "States"), a '
        "describe-state-machine answer, or a CloudFormation template holding a state machine",
        location="/",
    )


def _parse_embedded(text: str, pointer: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"the definition string is not valid JSON: {error.msg} at line {error.lineno}, "
            f"column {error.colno}",
            location=pointer,
        ) from None


def _from_template(template: dict[str, Any]) -> tuple[Any, str]:
    machines = [
        (key, resource)
        for key, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") in _STATE_MACHINE_TYPES
    ]
    if len(machines) != 1:
        found = ", ".join(key for key, _ in machines) or "none"
        raise InputError(
            f"the template must hold exactly one state machine to translate (found: {found}); "
            "split the template or give the definition itself",
            location="/Resources",
        )
    key, resource = machines[0]
    pointer = f"/Resources/{_escape(key)}/Properties"
    properties = resource.get("Properties")
    if not isinstance(properties, dict):
        raise InputError("the state machine has no Properties", location=pointer)
    substitutions = properties.get("DefinitionSubstitutions") or {}
    if "Definition" in properties:
        definition, where = properties["Definition"], f"{pointer}/Definition"
    elif "DefinitionString" in properties:
        where = f"{pointer}/DefinitionString"
        text, variables = _definition_string(properties["DefinitionString"], where)
        substitutions = {**variables, **substitutions}
        definition = _parse_embedded(_protect_placeholders(text), where)
    else:
        raise InputError(
            "the state machine's definition is in a separate file (DefinitionUri or "
            "DefinitionS3Location); translate that file with --from asl",
            location=pointer,
        )
    return _substitute(definition, substitutions), where


def _definition_string(value: Any, pointer: str) -> tuple[str, dict[str, Any]]:
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict) and "Fn::Sub" in value:
        body = value["Fn::Sub"]
        if isinstance(body, list) and len(body) == 2 and isinstance(body[0], str):
            return body[0], dict(body[1] or {})
        if isinstance(body, str):
            return body, {}
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        if all(isinstance(part, str) for part in parts):
            return separator.join(parts), {}
    raise InputError(
        "DefinitionString must be a string, a Fn::Sub or a Fn::Join of strings", location=pointer
    )


def _protect_placeholders(text: str) -> str:
    # ${Var} may stand where JSON needs a value (a number); such a template is not JSON until
    # deployed, so only placeholders inside strings are supported.
    return text


def _substitute(value: Any, substitutions: dict[str, Any]) -> Any:
    """Fill ``${Var}`` from DefinitionSubstitutions where the value is a plain string."""
    if isinstance(value, dict):
        return {key: _substitute(item, substitutions) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, substitutions) for item in value]
    if isinstance(value, str) and "${" in value:
        return re.sub(
            r"\$\{([^}!]+)\}",
            lambda match: (
                substitutions[match.group(1)]
                if isinstance(substitutions.get(match.group(1)), str)
                else match.group(0)
            ),
            value,
        )
    return value


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# --- walking the machine --------------------------------------------------------------------


@dataclass(slots=True)
class _Flow:
    """Where the walk is: the next state's input, the steps it waits for, its branch list."""

    payload: Any
    after: tuple[str, ...]
    branch: list[str] | None


@dataclass(slots=True)
class _Machine:
    states: dict[str, Any]
    pointer: str  # of the States object
    jsonata: bool


@dataclass(slots=True)
class _Job:
    """A job step that only started its job (no .sync): waiting is reported unless polled."""

    step: str
    message: str
    kind: StepKind
    polled: bool = False


@dataclass(frozen=True, slots=True)
class _Cluster:
    """The ClusterId of an EMR cluster created by an earlier state (the run's own cluster)."""

    config: Any = field(compare=False)
    state: str = ""


@dataclass(slots=True)
class _Reader:
    builder: WorkflowBuilder
    where: str
    variables: dict[str, Any] = field(default_factory=dict)
    started: dict[str, _Job] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)  # step -> its result symbol
    named: list[tuple[str, Any, StepProperty]] = field(default_factory=list)
    raw_names: dict[tuple[str, str], StepProperty] = field(default_factory=dict)
    name_calls: dict[Any, StepProperty] = field(default_factory=dict)
    fixed_names: dict[tuple[str, str], StepProperty] = field(default_factory=dict)
    _positions: dict[int, int] = field(default_factory=dict)  # Choice rule -> its index
    _state_name: str = ""  # the Task state being read
    _active: set[tuple[str, str]] = field(default_factory=set)  # Choices being read
    s3_objects: dict[str, Any] = field(default_factory=dict)  # body symbol -> the S3 URI

    def read(self, definition: Any, name: str | None) -> Workflow:
        machine = self._machine(definition, "", None)
        execution_input = Source(_EXECUTION_INPUT, self._input_value)
        self._walk(machine, definition["StartAt"], _Flow(execution_input, (), None), None)
        for job in self.started.values():
            if not job.polled:
                self.builder.approximated("job-started", job.message, job.step)
        return self.builder.build(name)

    def at(self, pointer: str) -> str:
        return f"{self.where}{pointer}" if self.where else pointer or "/"

    def fail(self, message: str, pointer: str) -> InputError:
        return InputError(message, location=self.at(pointer))

    def _machine(self, definition: Any, pointer: str, parent: _Machine | None) -> _Machine:
        if not isinstance(definition, dict):
            raise self.fail('a state machine is an object with "StartAt" and "States"', pointer)
        states = definition.get("States")
        if not isinstance(states, dict) or not states:
            raise self.fail('"States" must be an object naming at least one state', pointer)
        start = definition.get("StartAt")
        if not isinstance(start, str) or start not in states:
            raise self.fail(
                f'"StartAt" must name one of the states ({", ".join(states)})',
                f"{pointer}/StartAt",
            )
        language = definition.get("QueryLanguage")
        jsonata_mode = language == "JSONata" if language else bool(parent and parent.jsonata)
        return _Machine(states, f"{pointer}/States", jsonata_mode)

    def _walk(self, machine: _Machine, start: str, flow: _Flow, stop: str | None) -> _Flow:
        current: str | None = start
        seen: set[str] = set()
        while current is not None and current != stop:
            pointer = f"{machine.pointer}/{_escape(current)}"
            if current in seen:
                self.builder.unsupported(
                    "loop",
                    f"the state {current!r} (at {self.at(pointer)}) is reached again: the machine "
                    "loops, and a SageMaker pipeline cannot; the loop is read once",
                )
                return flow
            seen.add(current)
            state = machine.states[current]
            if not isinstance(state, dict):
                raise self.fail("a state must be an object", pointer)
            type_name = state.get("Type")
            handler = _HANDLERS.get(type_name) if isinstance(type_name, str) else None
            if handler is None:
                raise self.fail(
                    f"unknown state Type {state.get('Type')!r}; the known ones are "
                    + ", ".join(_HANDLERS),
                    f"{pointer}/Type",
                )
            jsonata_mode = _language(state, machine)
            current, flow = handler(self, machine, current, state, pointer, flow, jsonata_mode)
        return flow

    def _next(self, machine: _Machine, state: dict[str, Any], pointer: str) -> str | None:
        if state.get("End") is True:
            return None
        target = state.get("Next")
        if not isinstance(target, str) or target not in machine.states:
            raise self.fail(
                'the state needs "End": true or a "Next" naming one of the states', pointer
            )
        return target

    # --- payload evaluation ----------------------------------------------------------------

    def _input_value(self, path: Path) -> Any:
        if not path or not isinstance(path[0], str):
            raise Unexpressible("the whole execution input is not one SageMaker value")
        if len(path) > 1:
            raise Unexpressible(
                f"the field {path[0]!r} of the execution input is an object; SageMaker "
                "parameters are strings, numbers or booleans"
            )
        return self.builder.parameter(path[0], "the execution input")

    def _context(self, path: Path, pointer: str) -> Any:
        if path[:2] == ("Execution", "Input") and len(path) >= 3:
            return self._input_value(path[2:])
        if path == ("Task", "Token"):
            return _TOKEN
        if tuple(path) in _CONTEXT:
            variable, approximate = _CONTEXT[tuple(path)]
            if approximate:
                self.builder.approximated(
                    "context",
                    f"$$.{'.'.join(map(str, path))} (at {self.at(pointer)}) becomes "
                    f"Execution.{variable}, which SageMaker formats differently",
                )
            return ExecutionVariable(variable)
        raise Unexpressible(f"the context field $$.{'.'.join(map(str, path))}")

    def _value(self, produce: Any, pointer: str) -> Any:
        """Run ``produce()``; an unexpressible value is reported and replaced by a marker."""
        try:
            return produce()
        except (Unexpressible, PathError, jsonata.ParseError) as error:
            self.builder.unsupported(
                "value",
                f"at {self.at(pointer)}: {error}; the value is replaced by a placeholder",
            )
            return f"pipeglot-unsupported: {self.at(pointer)}"

    def _path_symbol(self, text: str, payload: Any, pointer: str) -> Any:
        if is_intrinsic(text):
            return self._intrinsic(parse_intrinsic(text), payload, pointer)
        if text.startswith("$") and not text.startswith(("$.", "$[", "$$")) and text != "$":
            head, _, rest = text[1:].partition(".")
            return self._variable(head, parse_reference("$." + rest).path if rest else ())
        reference = parse_reference(text)
        return self._reference(reference, payload, pointer)

    def _reference(self, reference: Reference, payload: Any, pointer: str) -> Any:
        if reference.context:
            return self._context(reference.path, pointer)
        symbol = descend(payload, reference.path)
        if symbol is NOT_FOUND:
            raise Unexpressible(f"no earlier state sets {_format(reference)}")
        return symbol

    def _variable(self, name: str, path: Path) -> Any:
        if name not in self.variables:
            raise Unexpressible(f"the variable ${name} is not assigned by an earlier state")
        symbol = descend(self.variables[name], path)
        if symbol is NOT_FOUND:
            raise Unexpressible(f"the variable ${name} has no field {'.'.join(map(str, path))}")
        return symbol

    def _intrinsic(self, call: Call, payload: Any, pointer: str) -> Any:
        """The symbol an intrinsic function gives: ``States.Format`` is a Std:Join; the
        functions that only assemble or pick JSON are followed symbolically."""
        if call.name == "States.ArrayGetItem" and call.args[1:] == (0,):
            picked = call.args[0]
            if isinstance(picked, Named):  # the output parameter of that name, as pipeglot writes
                path = (*picked.reference.path, picked.name)
                return self._reference(Reference(picked.reference.context, path), payload, pointer)
            if isinstance(picked, Reference) and any(
                isinstance(token, jsonata.Select) for token in picked.path
            ):
                # A filter gives the list of the items it selects; SageMaker's ['name'] the one.
                return self._reference(picked, payload, pointer)
        symbols = [self._argument(item, payload, pointer) for item in call.args]
        if call.name == "States.Format" and symbols and isinstance(symbols[0], str):
            return _states_format(symbols[0], [to_value(symbol) for symbol in symbols[1:]])
        # Only a Format template tells an escaped brace from a placeholder: elsewhere it is
        # the brace itself.
        symbols = [_unescaped_braces(symbol) for symbol in symbols]
        if call.name == "States.Array":
            return list(symbols)
        if call.name == "States.ArrayGetItem" and len(symbols) == 2:
            items, index = symbols
            if isinstance(index, int) and (found := descend(items, (index,))) is not NOT_FOUND:
                return found
        if call.name == "States.StringToJson" and len(symbols) == 1:
            if not isinstance(symbols[0], str):
                return self._parsed(symbols[0])
            try:
                return json.loads(symbols[0])
            except json.JSONDecodeError:
                raise Unexpressible("States.StringToJson of text that is not JSON") from None
        if call.name == "States.Base64Decode" and len(symbols) == 1 and isinstance(symbols[0], str):
            return base64.b64decode(symbols[0]).decode("utf-8")
        if call.name == "States.JsonMerge" and len(symbols) == 3 and symbols[2] is False:
            return self._merge(symbols[0], symbols[1])
        raise Unexpressible(f"the intrinsic function {call.name} has no SageMaker equivalent")

    def _argument(self, item: Any, payload: Any, pointer: str) -> Any:
        if isinstance(item, Named):
            raise Unexpressible("a JSONPath filter selects a list, which SageMaker cannot read")
        if isinstance(item, Reference):
            return self._reference(item, payload, pointer)
        if isinstance(item, Call):
            named = self.name_calls.get(item)
            return named if named is not None else self._intrinsic(item, payload, pointer)
        return item

    def _merge(self, base: Any, over: Any) -> Any:
        """``States.JsonMerge(base, over, false)``: the fields of ``over`` win. Defaults merged
        under the execution input are the parameters' defaults (and tell their types)."""
        if isinstance(over, Source) and over.describe == _EXECUTION_INPUT and not over.prefix:
            if isinstance(base, dict):
                for key, default in base.items():
                    self.builder.parameter(
                        key, "the defaults merged under the execution input",
                        type=_json_type(default), default=default, inferred=False,
                    )  # fmt: skip
            return over
        if isinstance(over, dict):
            return Overlay(dict(over), base=base)
        if isinstance(over, Overlay):
            return Overlay(dict(over.fields), base=self._merge(base, over.base))
        if over is None:
            return base
        return over

    def _template(self, template: Any, payload: Any, pointer: str, scope: dict[str, Any]) -> Any:
        """Evaluate a Parameters/ResultSelector (JSONPath) or Arguments/Output (JSONata) value
        into a symbol."""
        if scope.get("jsonata"):
            return self._jsonata_template(template, pointer, scope)
        if isinstance(template, dict):
            out: dict[str, Any] = {}
            for key, item in template.items():
                inner = f"{pointer}/{_escape(key)}"
                if key.endswith(".$") and isinstance(item, str):
                    out[key[:-2]] = self._value(
                        lambda item=item, inner=inner: to_value(
                            self._path_symbol(item, payload, inner)
                        ),
                        inner,
                    )
                else:
                    out[key] = self._template(item, payload, inner, scope)
            return out
        if isinstance(template, list):
            return [
                self._template(item, payload, f"{pointer}/{i}", scope)
                for i, item in enumerate(template)
            ]
        return template

    def _jsonata_template(self, template: Any, pointer: str, scope: dict[str, Any]) -> Any:
        if isinstance(template, dict):
            return {
                key: self._jsonata_template(item, f"{pointer}/{_escape(key)}", scope)
                for key, item in template.items()
            }
        if isinstance(template, list):
            return [
                self._jsonata_template(item, f"{pointer}/{i}", scope)
                for i, item in enumerate(template)
            ]
        if isinstance(template, str) and (inner := jsonata.unwrap(template)) is not None:
            return self._value(
                lambda: to_value(self._jsonata(jsonata.parse(inner), scope, pointer)), pointer
            )
        return template

    def _jsonata(self, node: Any, scope: dict[str, Any], pointer: str) -> Any:
        """The symbol of a JSONata value expression (not a condition)."""
        if isinstance(node, jsonata.Literal):
            return node.value
        if isinstance(node, jsonata.ArrayNode):
            return [self._jsonata(item, scope, pointer) for item in node.items]
        if isinstance(node, jsonata.ObjectNode):
            return {key: self._jsonata(item, scope, pointer) for key, item in node.items}
        if isinstance(node, jsonata.PathNode):
            return self._jsonata_path(node, scope, pointer)
        if isinstance(node, jsonata.BinaryNode) and node.operator == "&":
            parts = [
                to_value(self._jsonata(side, scope, pointer)) for side in (node.left, node.right)
            ]
            flat: list[Any] = []
            for part in parts:
                flat.extend(part.values if isinstance(part, Join) and part.on == "" else [part])
            return Join("", tuple(flat))
        if isinstance(node, jsonata.CallNode):
            return self._jsonata_call(node, scope, pointer)
        raise Unexpressible("a condition where a value is expected")

    def _jsonata_path(self, node: jsonata.PathNode, scope: dict[str, Any], pointer: str) -> Any:
        steps = tuple(_select_token(step) for step in node.steps)
        if node.variable != "states":
            return self._variable(node.variable, steps)
        if not steps:
            raise Unexpressible("$states as a whole")
        root, rest = steps[0], steps[1:]
        if root == "context":
            return self._context(rest, pointer)
        if root in ("input", "result") and scope.get(root) is not None:
            symbol = descend(scope[root], rest)
            if symbol is NOT_FOUND:
                raise Unexpressible(f"$states.{root} has no field {'.'.join(map(str, rest))}")
            return symbol
        raise Unexpressible(f"$states.{root} here")

    def _jsonata_call(self, node: jsonata.CallNode, scope: dict[str, Any], pointer: str) -> Any:
        if node.name == "join" and len(node.args) in (1, 2):
            items = self._jsonata(node.args[0], scope, pointer)
            separator = self._jsonata(node.args[1], scope, pointer) if len(node.args) == 2 else ""
            if isinstance(items, list) and isinstance(separator, str):
                return Join(separator, tuple(to_value(item) for item in items))
        if node.name == "parse" and len(node.args) == 1:
            return self._parsed(self._jsonata(node.args[0], scope, pointer))
        if node.name in ("string", "number") and len(node.args) == 1:
            self.builder.approximated(
                "jsonata-conversion",
                f"${node.name}() at {self.at(pointer)} is read as its argument: SageMaker "
                "passes values with their own types",
            )
            return self._jsonata(node.args[0], scope, pointer)
        raise Unexpressible(f"the JSONata function ${node.name} has no SageMaker equivalent")

    # --- conditions -------------------------------------------------------------------------

    def _rule(
        self, rule: Any, payload: Any, pointer: str, scope: dict[str, Any]
    ) -> list[Condition]:
        """The AND-ed conditions of one Choice rule."""
        if not isinstance(rule, dict):
            raise self.fail("a Choice rule must be an object", pointer)
        if scope.get("jsonata"):
            text = rule.get("Condition")
            inner = jsonata.unwrap(text) if isinstance(text, str) else None
            if inner is None:
                raise self.fail('a JSONata Choice rule needs "Condition": "{% ... %}"', pointer)
            return self._guard(
                lambda: self._jsonata_conditions(jsonata.parse(inner), scope, pointer), pointer
            )
        return self._guard(lambda: self._jsonpath_conditions(rule, payload, pointer), pointer)

    def _guard(self, produce: Any, pointer: str) -> list[Condition]:
        try:
            return produce()
        except (Unexpressible, PathError, jsonata.ParseError) as error:
            self.builder.unsupported(
                "condition",
                f"at {self.at(pointer)}: {error}; the condition is replaced by one that is false",
            )
            return [Comparison(ComparisonOperator.EQUALS, f"pipeglot-unsupported: {pointer}", True)]

    def _jsonpath_conditions(
        self, rule: dict[str, Any], payload: Any, pointer: str
    ) -> list[Condition]:
        if not isinstance(rule, dict):
            raise self.fail("a Choice rule must be an object", pointer)
        for combinator in ("And", "Or"):
            if combinator in rule and not (isinstance(rule[combinator], list) and rule[combinator]):
                raise self.fail(f'"{combinator}" takes a non-empty list of rules', pointer)
        if "And" in rule:
            tests = [
                (index, inner)
                for index, inner in enumerate(rule["And"])
                if not (_only_type_tests(inner) and not _negates(inner))
            ]
            if tests and len(tests) < len(rule["And"]):
                self.builder.approximated(
                    "type-test",
                    f"the presence and type tests in the rule at {self.at(pointer)} are left "
                    "out: SageMaker compares values of the types it is given",
                )
            return [
                condition
                for index, inner in tests or list(enumerate(rule["And"]))
                for condition in self._jsonpath_conditions(inner, payload, f"{pointer}/And/{index}")
            ]
        if "Or" in rule:
            return [
                Or(
                    tuple(
                        _single(self._jsonpath_conditions(inner, payload, f"{pointer}/Or/{index}"))
                        for index, inner in enumerate(rule["Or"])
                    )
                )
            ]
        if "Not" in rule:
            return [Not(_single(self._jsonpath_conditions(rule["Not"], payload, f"{pointer}/Not")))]
        variable = rule.get("Variable")
        if not isinstance(variable, str):
            raise self.fail('a Choice rule needs "Variable" (or And, Or, Not)', pointer)
        left = to_value(self._path_symbol(variable, payload, f"{pointer}/Variable"))
        for key, right in rule.items():
            match = _RULE_OPERATOR.match(key)
            if match is None:
                continue
            family, operator, is_path = match.groups()
            if family == "Timestamp":
                self.builder.approximated(
                    "timestamp-comparison",
                    f"{key} at {self.at(pointer)} compares the timestamps as strings",
                )
            if is_path:
                right = to_value(self._path_symbol(right, payload, f"{pointer}/{key}"))
            self._typed_by_use(left, family)
            self._typed_by_use(right, family)
            return [Comparison(_OPERATORS[operator], left, right)]
        tests = [key for key in rule if key.startswith("Is") or key == "StringMatches"]
        raise Unexpressible(
            f"the test {tests[0] if tests else 'of this rule'} has no SageMaker condition"
        )

    def _jsonata_conditions(
        self, node: Any, scope: dict[str, Any], pointer: str
    ) -> list[Condition]:
        if isinstance(node, jsonata.BinaryNode) and node.operator == "and":
            return [
                *self._jsonata_conditions(node.left, scope, pointer),
                *self._jsonata_conditions(node.right, scope, pointer),
            ]
        return [self._jsonata_condition(node, scope, pointer)]

    def _jsonata_condition(self, node: Any, scope: dict[str, Any], pointer: str) -> Condition:
        if isinstance(node, jsonata.BinaryNode):
            if node.operator == "or":
                return Or(
                    tuple(
                        self._jsonata_condition(side, scope, pointer)
                        for side in (node.left, node.right)
                    )
                )
            if node.operator == "and":
                return _single(self._jsonata_conditions(node, scope, pointer))
            value = lambda side: to_value(self._jsonata(side, scope, pointer))  # noqa: E731
            if node.operator == "in" and isinstance(node.right, jsonata.ArrayNode):
                return In(value(node.left), tuple(value(item) for item in node.right.items))
            if node.operator == "!=":
                return Not(
                    Comparison(ComparisonOperator.EQUALS, value(node.left), value(node.right))
                )
            if node.operator in _JSONATA_OPERATORS:
                if node.operator != "=":
                    left, right = value(node.left), value(node.right)
                    self._typed_by_use(left, "Numeric")
                    self._typed_by_use(right, "Numeric")
                    return Comparison(_JSONATA_OPERATORS[node.operator], left, right)
                return Comparison(
                    _JSONATA_OPERATORS[node.operator], value(node.left), value(node.right)
                )
        if isinstance(node, jsonata.CallNode) and node.name == "not" and len(node.args) == 1:
            return Not(self._jsonata_condition(node.args[0], scope, pointer))
        if isinstance(node, jsonata.PathNode):
            symbol = to_value(self._jsonata(node, scope, pointer))
            return Comparison(ComparisonOperator.EQUALS, symbol, True)
        raise Unexpressible("this JSONata condition")

    def _typed_by_use(self, value: Any, family: str) -> None:
        """A parameter or output compared as a number or boolean has that type."""
        kind = {
            "Numeric": ("Float", ParameterType.FLOAT),
            "Boolean": ("Boolean", ParameterType.BOOLEAN),
        }
        if family not in kind:
            return
        output_type, parameter_type = kind[family]
        if isinstance(value, ParameterRef):
            self.builder.retype(value.name, parameter_type)
        elif isinstance(value, StepProperty) and value.path[:1] == (Attribute("OutputParameters"),):
            draft = self.builder.drafts.get(value.step)
            if (
                draft is not None
                and draft.outputs
                and isinstance(value.path[-1], Key | SelectByName)
            ):
                draft.add_output(value.path[-1].key, output_type, replace=True)

    # --- results ----------------------------------------------------------------------------

    def _output(
        self,
        state: dict[str, Any],
        pointer: str,
        state_input: Any,
        result: Any,
        jsonata_mode: bool,
        default_result: bool = True,
    ) -> Any:
        """The state's output: ResultSelector, ResultPath, OutputPath (or JSONata Output),
        and any Assign."""
        if jsonata_mode:
            scope = {"jsonata": True, "input": state_input, "result": result}
            self._assign(state, pointer, scope)
            if "Output" in state:
                return self._symbol_of(state["Output"], f"{pointer}/Output", scope)
            return result if default_result else state_input
        scope = {"jsonata": False}
        if "ResultSelector" in state and result is not None:
            result = self._selection(state["ResultSelector"], result, f"{pointer}/ResultSelector")
        self._assign(state, pointer, {"jsonata": False, "payload": result})
        output = state_input if result is None else result
        if "ResultPath" in state:
            result_path = state["ResultPath"]
            if result_path is None:
                output = state_input
            elif result is not None:
                output = self._place(state_input, result_path, result, f"{pointer}/ResultPath")
        if isinstance(state.get("OutputPath"), str):
            output = self._select(output, state["OutputPath"], f"{pointer}/OutputPath")
        elif "OutputPath" in state and state["OutputPath"] is None:
            output = {}
        return output

    def _selection(self, template: Any, payload: Any, pointer: str) -> Any:
        """A JSONPath ResultSelector or Pass Parameters kept as symbols, so that later paths
        can read into what it selects."""
        if isinstance(template, dict):
            out: dict[str, Any] = {}
            for key, item in template.items():
                inner = f"{pointer}/{_escape(key)}"
                if key.endswith(".$") and isinstance(item, str):
                    out[key[:-2]] = self._keep(
                        lambda t=item, i=inner: self._path_symbol(t, payload, i), inner
                    )
                else:
                    out[key] = self._selection(item, payload, inner)
            return out
        if isinstance(template, list):
            return [
                self._selection(item, payload, f"{pointer}/{i}") for i, item in enumerate(template)
            ]
        return template

    def _assign(self, state: dict[str, Any], pointer: str, scope: dict[str, Any]) -> None:
        assignments = state.get("Assign")
        if not isinstance(assignments, dict):
            return
        for key, template in assignments.items():
            inner = f"{pointer}/Assign/{_escape(key)}"
            if scope.get("jsonata"):
                self.variables[key.removesuffix(".$")] = self._symbol_of(template, inner, scope)
            else:
                payload = scope.get("payload")
                if key.endswith(".$") and isinstance(template, str):
                    self.variables[key[:-2]] = self._keep(
                        lambda t=template, p=payload, i=inner: self._path_symbol(t, p, i), inner
                    )
                else:
                    self.variables[key] = self._template(template, payload, inner, scope)

    def _symbol_of(self, template: Any, pointer: str, scope: dict[str, Any]) -> Any:
        """A JSONata template kept as a symbol, so that later paths can read into it."""
        if isinstance(template, str) and (inner := jsonata.unwrap(template)) is not None:
            return self._keep(lambda: self._jsonata(jsonata.parse(inner), scope, pointer), pointer)
        if isinstance(template, dict):
            return {
                key: self._symbol_of(item, f"{pointer}/{_escape(key)}", scope)
                for key, item in template.items()
            }
        return template

    def _keep(self, produce: Any, pointer: str) -> Any:
        try:
            return produce()
        except (Unexpressible, PathError, jsonata.ParseError) as error:
            return Source(
                str(error), lambda path, error=error: _raise(Unexpressible(str(error.args[0])))
            )

    def _place(self, payload: Any, text: str, result: Any, pointer: str) -> Any:
        try:
            reference = parse_reference(text)
            return assign(payload, reference.path, result)
        except (PathError, Unexpressible) as error:
            raise self.fail(f"cannot place the result there: {error}", pointer) from None

    def _select(self, payload: Any, text: str, pointer: str) -> Any:
        try:
            return self._path_symbol(text, payload, pointer)
        except (PathError, Unexpressible) as error:
            raise self.fail(f"cannot follow the path: {error}", pointer) from None

    # --- states -----------------------------------------------------------------------------

    def _input(self, state: dict[str, Any], payload: Any, pointer: str, jsonata_mode: bool) -> Any:
        if jsonata_mode or "InputPath" not in state:
            return payload
        if state["InputPath"] is None:
            return {}
        return self._select(payload, state["InputPath"], f"{pointer}/InputPath")

    def _pass(self, machine, name, state, pointer, flow, jsonata_mode):
        state_input = self._input(state, flow.payload, pointer, jsonata_mode)
        result: Any = None
        if not jsonata_mode:
            if "Parameters" in state:
                result = self._selection(state["Parameters"], state_input, f"{pointer}/Parameters")
            elif "Result" in state:
                result = state["Result"]
        output = self._output(
            state, pointer, state_input, result, jsonata_mode, default_result=False
        )
        return self._next(machine, state, pointer), _Flow(output, flow.after, flow.branch)

    def _succeed(self, machine, name, state, pointer, flow, jsonata_mode):
        return None, flow

    def _wait(self, machine, name, state, pointer, flow, jsonata_mode):
        self.builder.dropped(
            "wait",
            f"the Wait state {name!r} (at {self.at(pointer)}) has no SageMaker equivalent; the "
            "steps after it start as soon as the ones before it end",
        )
        return self._next(machine, state, pointer), flow

    def _fail(self, machine, name, state, pointer, flow, jsonata_mode):
        step = self.builder.step_name(name, self.at(pointer))
        scope = {"jsonata": jsonata_mode, "input": flow.payload}
        cause: Any = state.get("Cause", MISSING)
        if jsonata_mode and isinstance(cause, str):
            cause = self._template(cause, None, f"{pointer}/Cause", scope)
        if isinstance(state.get("CausePath"), str):
            cause = self._value(
                lambda: to_value(self._path_symbol(state["CausePath"], flow.payload, pointer)),
                f"{pointer}/CausePath",
            )
        error = state.get("Error")
        if error == _FAIL_STEP_ERROR and cause is not MISSING:
            error = None  # the name of the step type, not part of its message
        if error is not None:
            self.builder.approximated(
                "fail-error",
                f"the error name {error!r} becomes part of the Fail step's ErrorMessage: "
                "SageMaker Fail steps have a message only",
                step,
            )
        message: Any
        if cause is MISSING:
            message = error if isinstance(error, str) else ""
        elif isinstance(error, str) and isinstance(cause, str):
            message = f"{error}: {cause}"
        elif isinstance(error, str):
            inner = cause.values if isinstance(cause, Join) and cause.on == "" else (cause,)
            message = Join("", (f"{error}: ", *inner))
        else:
            message = cause
        draft = Draft(
            step,
            StepKind.FAIL,
            "Fail",
            self.at(pointer),
            arguments={"ErrorMessage": message},
            after=list(flow.after),
            description=state.get("Comment", MISSING),
        )
        self.builder.add(draft, flow.branch)
        return None, _Flow(flow.payload, (step,), flow.branch)

    def _map(self, machine, name, state, pointer, flow, jsonata_mode):
        return self._placeholder(
            machine, name, state, pointer, flow, "StepFunctions:Map",
            "a Map state runs its steps once per item of a list known only at run time; "
            "SageMaker pipelines have a fixed set of steps (unroll it, or run the loop in one "
            "Processing job)",
        )  # fmt: skip

    def _placeholder(self, machine, name, state, pointer, flow, type_name, why):
        step = self.builder.step_name(name, self.at(pointer))
        self.builder.unsupported(
            "state", f"{name!r} at {self.at(pointer)}: {why}; a placeholder step keeps it", step
        )
        draft = Draft(
            step, StepKind.UNKNOWN, type_name, self.at(pointer), arguments=state,
            after=list(flow.after),
        )  # fmt: skip
        self.builder.add(draft, flow.branch)
        self.results[step] = Source(f"the result of {step!r}", _unexpressible_result(step))
        output = self._output(
            state, pointer, flow.payload, self.results[step], _language_of(state, machine)
        )
        return self._next(machine, state, pointer), _Flow(output, (step,), flow.branch)

    def _parallel(self, machine, name, state, pointer, flow, jsonata_mode):
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches:
            raise self.fail('a Parallel state needs "Branches", a list of state machines', pointer)
        state_input = self._input(state, flow.payload, pointer, jsonata_mode)
        branch_input = state_input  # JSONPath Parameters make the input of every branch
        if not jsonata_mode and "Parameters" in state:
            branch_input = self._selection(
                state["Parameters"], state_input, f"{pointer}/Parameters"
            )
        after: list[str] = []
        outputs = []
        for index, branch in enumerate(branches):
            inner = self._machine(branch, f"{pointer}/Branches/{index}", machine)
            end = self._walk(
                inner, branch["StartAt"], _Flow(branch_input, flow.after, flow.branch), None
            )
            after.extend(step for step in end.after if step not in after)
            outputs.append(end.payload)
        self._parallel_extras(name, state, pointer)
        output = self._output(state, pointer, state_input, outputs, jsonata_mode)
        return self._next(machine, state, pointer), _Flow(output, tuple(after), flow.branch)

    def _parallel_extras(self, name: str, state: dict[str, Any], pointer: str) -> None:
        if state.get("Retry"):
            self.builder.dropped(
                "parallel-retry",
                f"the Retry of the Parallel state {name!r} (at {self.at(pointer)}/Retry) reruns "
                "all its branches; SageMaker retries steps one by one (add RetryPolicies to them)",
            )
        self._catch(name, state, pointer, None)

    def _choice(self, machine, name, state, pointer, flow, jsonata_mode):
        if (machine.pointer, name) in self._active:
            self.builder.unsupported(
                "loop",
                f"the Choice {name!r} (at {self.at(pointer)}) is reached again from one of its "
                "branches: the machine loops, and a SageMaker pipeline cannot; the loop is read "
                "once",
            )
            return None, flow
        self._active.add((machine.pointer, name))
        try:
            return self._choice_once(machine, name, state, pointer, flow, jsonata_mode)
        finally:
            self._active.discard((machine.pointer, name))

    def _choice_once(self, machine, name, state, pointer, flow, jsonata_mode):
        rules = state.get("Choices")
        if not isinstance(rules, list) or not rules:
            raise self.fail('a Choice state needs "Choices", a non-empty list of rules', pointer)
        for index, rule in enumerate(rules):
            if not isinstance(rule, dict) or not _names_state(machine, rule.get("Next")):
                raise self.fail(
                    'each Choice rule needs a "Next" naming one of the states',
                    f"{pointer}/Choices/{index}",
                )
        default = state.get("Default")
        if default is not None and not _names_state(machine, default):
            raise self.fail('"Default" must name one of the states', f"{pointer}/Default")
        state_input = self._input(state, flow.payload, pointer, jsonata_mode)
        scope = {"jsonata": jsonata_mode, "input": state_input}
        polled = self._polling(machine, name, rules, state_input, pointer, scope)
        if polled is not None:
            return polled, flow
        self._assign(state, pointer, {**scope, "payload": state_input})
        self._positions = {id(rule): index for index, rule in enumerate(rules)}
        rules = self._without_type_guards(machine, name, rules, pointer)
        if not rules:
            return default, flow
        targets = [rule["Next"] for rule in rules] + ([default] if default else [])
        join = _join(machine, targets)
        step = self._condition(
            machine, name, rules, 0, default, join, _Flow(state_input, flow.after, flow.branch),
            pointer, scope,
        )  # fmt: skip
        if join is None:
            return None, flow
        self.builder.approximated(
            "choice-join",
            f"the branches of the Choice {name!r} meet again at {join!r}: in SageMaker the "
            f"steps from {join!r} on run once the condition is evaluated, alongside the "
            "branch's steps, since steps that depend on a branch not taken never run",
            step,
        )
        return join, _Flow(state_input, (step,), flow.branch)

    def _without_type_guards(self, machine, name, rules, pointer):
        """Rules that only test a value's type or presence and lead to a Fail state guard what
        SageMaker checks itself (a comparison of mistyped values fails the execution)."""
        kept = []
        for rule in rules:
            target = machine.states.get(rule["Next"])
            if isinstance(target, dict) and target.get("Type") == "Fail" and _only_type_tests(rule):
                where = self.at(f"{pointer}/Choices/{self._positions[id(rule)]}")
                self.builder.approximated(
                    "type-guard",
                    f"the rule at {where} fails the execution when a value has the wrong type "
                    "or is missing; SageMaker fails the step that compares it instead",
                )
            else:
                kept.append(rule)
        return kept

    def _condition(self, machine, name, rules, index, default, join, flow, pointer, scope):
        """One Condition step per rule: rule ``index`` if true, the next rules otherwise."""
        label = name if index == 0 else f"{name}-{index + 1}"
        step = self.builder.step_name(label, self.at(pointer))
        rule_pointer = f"{pointer}/Choices/{self._positions.get(id(rules[index]), index)}"
        conditions = self._rule(rules[index], flow.payload, rule_pointer, scope)
        draft = Draft(
            step, StepKind.CONDITION, "Condition", self.at(rule_pointer),
            arguments=MISSING, after=list(flow.after), conditions=tuple(conditions),
        )  # fmt: skip
        self.builder.add(draft, flow.branch)
        self._walk(machine, rules[index]["Next"], _Flow(flow.payload, (), draft.if_steps), join)
        if index + 1 < len(rules):
            if index == 0:
                self.builder.approximated(
                    "choice-rules",
                    f"the {len(rules)} rules of the Choice {name!r} become nested Condition "
                    "steps, one per rule, tried in order as Step Functions does",
                    step,
                )
            self._condition(
                machine, name, rules, index + 1, default, join,
                _Flow(flow.payload, (), draft.else_steps), pointer, scope,
            )  # fmt: skip
        elif default is not None:
            self._walk(machine, default, _Flow(flow.payload, (), draft.else_steps), join)
        else:
            self.builder.approximated(
                "choice-default",
                f"the Choice {name!r} has no Default: Step Functions fails with "
                "States.NoChoiceMatched when no rule matches, SageMaker runs no branch",
                step,
            )
        return step

    def _polling(self, machine, name, rules, state_input, pointer, scope):
        """A Choice on a job's status inside a wait loop: continue where the job succeeded."""
        jobs = set()
        forward = None
        for rule in rules:
            try:
                conditions = (
                    self._jsonata_conditions(
                        jsonata.parse(jsonata.unwrap(rule.get("Condition", "")) or ""),
                        scope,
                        pointer,
                    )
                    if scope.get("jsonata")
                    else self._jsonpath_conditions(rule, state_input, pointer)
                )
            except (Unexpressible, PathError, jsonata.ParseError, InputError):
                return None
            for condition in _alternatives(conditions):
                left = getattr(condition, "left", None)
                if not (
                    isinstance(condition, Comparison)
                    and isinstance(left, StepProperty)
                    and left.path
                    and isinstance(left.path[-1], Attribute)
                    and left.path[-1].name.endswith("Status")
                ):
                    return None
                jobs.add(left.step)
                if isinstance(condition.right, str) and condition.right in SUCCESS_STATUSES:
                    forward = rule["Next"]
        if len(jobs) != 1 or forward is None:
            return None
        (step,) = jobs
        if step in self.started:
            self.started[step].polled = True
        self.builder.approximated(
            "polling-loop",
            f"the loop that polls {step!r} until it succeeds (at {self.at(pointer)}) is read "
            "as the step waiting for its job, as SageMaker steps do; its Wait and Describe "
            "states are not steps",
            step,
        )
        return forward

    def _task(self, machine, name, state, pointer, flow, jsonata_mode):
        self._state_name = name
        resource = state.get("Resource")
        if not isinstance(resource, str):
            raise self.fail('a Task state needs a "Resource" string', pointer)
        state_input = self._input(state, flow.payload, pointer, jsonata_mode)
        scope = {"jsonata": jsonata_mode, "input": state_input}
        key = "Arguments" if jsonata_mode else "Parameters"
        match = _RESOURCE.match(resource)
        api_name = match.group("api") if match else ""
        # A Describe/List call only tells which job it watches: read it without reports.
        watching = api_name.startswith("describe") or api_name == _LIST_TUNING_JOBS
        ledger = self.builder.diagnostics
        if watching:
            self.builder.diagnostics = Diagnostics()
        try:
            if key in state:
                request = self._request(state, key, state_input, pointer, scope)
            else:
                request = self._value(lambda: to_value(state_input), f"{pointer}")
        finally:
            self.builder.diagnostics = ledger
        if _LAMBDA_ARN.match(resource):
            kind, api, mode = "lambda-arn", "", ""
        elif match is None:
            return self._placeholder(
                machine, name, state, pointer, flow, "StepFunctions:Task",
                f"the resource {resource!r} is not a Step Functions service integration",
            )  # fmt: skip
        else:
            kind, api, mode = match.group("service"), match.group("api"), match.group("mode") or ""
        if kind == "elasticmapreduce" and api in ("createCluster", "terminateCluster"):
            handled = self._emr_cluster(machine, name, state, pointer, flow, request, api, mode)
            if handled is not None:
                return handled
        if (kind, api) == ("aws-sdk:s3", "getObject") and isinstance(request, dict):
            return self._s3_object(machine, name, state, pointer, flow, request, jsonata_mode)
        if kind in ("sagemaker", "aws-sdk:sagemaker") and watching:
            return self._describe(machine, name, state, pointer, flow, request, jsonata_mode, api)
        if kind in ("sagemaker", "aws-sdk:sagemaker") and api in SAGEMAKER_APIS:
            draft = self._job(name, pointer, flow, SAGEMAKER_APIS[api], api, mode, request, kind)
        elif (kind, api) == ("elasticmapreduce", "addStep") and isinstance(request, dict):
            draft = self._emr_step(name, pointer, flow, request, mode)
        elif (kind, api) == ("lambda", "invoke") or kind == "lambda-arn":
            draft = self._lambda(name, pointer, flow, resource, mode, request, kind)
        elif (kind, api, mode) == ("sqs", "sendMessage", ".waitForTaskToken"):
            draft = self._callback(name, pointer, flow, request)
        else:
            return self._placeholder(
                machine, name, state, pointer, flow, f"StepFunctions:{kind}:{api}{mode}",
                f"the integration {kind}:{api}{mode} has no SageMaker step",
            )  # fmt: skip
        draft.description = state.get("Comment", MISSING)
        self._retry(draft, state, pointer)
        self._catch(name, state, pointer, draft.name)
        self._timeouts(draft, state, pointer)
        self.builder.add(draft, flow.branch)
        output = self._output(state, pointer, state_input, self.results[draft.name], jsonata_mode)
        return self._next(machine, state, pointer), _Flow(output, (draft.name,), flow.branch)

    def _request(self, state, key, state_input, pointer, scope):
        """The request body; a job name a SageMaker step generates is read without reports."""
        template = self._names_given_before(state[key])
        match = _RESOURCE.match(state["Resource"])
        job = SAGEMAKER_APIS.get(match.group("api")) if match else None
        if job and not job.name_field and isinstance(template, dict):
            self._fixed_name(job, template, pointer)
        if not (job and job.name_field and isinstance(template, dict)):
            return self._template(template, state_input, f"{pointer}/{key}", scope)
        names = {job.name_field, f"{job.name_field}.$"}
        given = template.get(f"{job.name_field}.$")
        if isinstance(given, str) and match is not None:
            # The same expression for the name elsewhere names this job's resource.
            step = self.builder.step_name(self._state_name, self.at(pointer))
            generated = step_property(step, (Attribute(job.name_field),))
            self.raw_names.setdefault((job.name_field, given), generated)
            if is_intrinsic(given):  # the same call inside another call names it too
                self.name_calls.setdefault(parse_intrinsic(given), generated)
        kept = {k: v for k, v in template.items() if k not in names}
        request = self._template(kept, state_input, f"{pointer}/{key}", scope)
        named = {k: v for k, v in template.items() if k in names}
        if named:
            ledger, self.builder.diagnostics = self.builder.diagnostics, Diagnostics()
            try:
                request.update(self._template(named, state_input, f"{pointer}/{key}", scope))
            finally:
                self.builder.diagnostics = ledger
        return request

    def _fixed_name(self, job: JobApi, template: dict[str, Any], pointer: str) -> None:
        """A resource named as written (an endpoint config, an endpoint): a later request
        that writes the same name in the same field names this step's resource."""
        name = template.get(job.api.name_field)
        if isinstance(name, str):
            step = self.builder.step_name(self._state_name, self.at(pointer))
            generated = step_property(step, (Attribute(job.api.name_field),))
            self.fixed_names.setdefault((job.api.name_field, name), generated)

    def _generated_name(self, text: str) -> StepProperty | None:
        """The name property of the step whose generated name ``text`` computes, if any (a
        Lambda payload's ``model_name.$`` names the model as its Model step did)."""
        if not self.name_calls or not is_intrinsic(text):
            return None
        try:
            return self.name_calls.get(parse_intrinsic(text))
        except PathError:
            return None

    def _names_given_before(self, template: Any) -> Any:
        """``ModelName.$`` spelled as an earlier state spelled the name it gave its model (a
        generated name, often unexpressible) reads the name SageMaker generates for it."""
        if isinstance(template, list):
            return [self._names_given_before(item) for item in template]
        if not isinstance(template, dict):
            return template
        out: dict[str, Any] = {}
        for key, item in template.items():
            found = (
                self.raw_names.get((key[:-2], item)) or self._generated_name(item)
                if key.endswith(".$") and isinstance(item, str)
                else None
            )
            fixed = self.fixed_names.get((key, item)) if isinstance(item, str) else None
            if found is not None:
                out[key[:-2]] = found
            elif fixed is not None:
                out[key] = fixed
            else:
                out[key] = self._names_given_before(item)
        return out

    def _job(self, name, pointer, flow, job: JobApi, api, mode, request, kind) -> Draft:
        step = self.builder.step_name(name, self.at(pointer))
        arguments = dict(request) if isinstance(request, dict) else {}
        if not isinstance(request, dict):
            self.builder.unsupported(
                "request", f"the request of {name!r} at {self.at(pointer)} is not an object", step
            )
        if job.name_field and job.name_field in arguments:
            del arguments[job.name_field]
            self.builder.exact(
                "job-name",
                f"{job.name_field} is left out: SageMaker names each execution's job itself",
                step,
            )
        if mode == ".waitForTaskToken":
            self.builder.unsupported(
                "sagemaker-token", f"{api}.waitForTaskToken (at {self.at(pointer)}) is not a "
                "SageMaker integration pattern", step,
            )  # fmt: skip
        elif job.waits and mode != ".sync":
            self.started[step] = _Job(
                step,
                f"{name!r} (at {self.at(pointer)}) only starts the job ({kind}:{api} without "
                ".sync); the SageMaker step also waits for the job to end",
                job.kind,
            )
        self._names_of_jobs(step, job, request, arguments)
        type_name = _type_name(job.kind)
        self.results[step] = Source(
            f"the result of {step!r}", self._property(step, arguments, job.kind)
        )
        return Draft(
            step, job.kind, type_name, self.at(pointer), arguments=arguments, after=list(flow.after)
        )

    def _names_of_jobs(self, step: str, job: JobApi, request: Any, arguments: Any) -> None:
        """A name that a state gave its job (ModelName.$: $.Train.TrainingJobName) and that
        later states use to find it becomes a reference to the name SageMaker generates."""
        self.builder.rename_job_references(arguments, self.named, step)
        if job.name_field and isinstance(request, dict) and job.name_field in request:
            value = request[job.name_field]
            self.named.append(
                (job.name_field, value, step_property(step, (Attribute(job.name_field),)))
            )

    def _property(self, step: str, arguments: dict[str, Any], kind: StepKind | None = None) -> Any:
        def express(path: Path) -> Any:
            if not path:
                raise Unexpressible(f"the whole result of {step!r} is not one SageMaker value")
            parts: list[Any] = []
            container: Any = arguments
            for token in path:
                if isinstance(token, jsonata.Select):
                    parts.append(Key(token.value))
                elif isinstance(token, int):
                    parts.append(_by_name(parts, container, token))
                else:
                    parts.append(Attribute(token) if token.isidentifier() else Key(token))
                container = _follow(container, token)
            if kind is StepKind.TUNING and parts[:1] == [Attribute(TUNING_BEST_FIELD)]:
                # The best training job, TrainingJobSummaries[0] in the SDK's spelling (the
                # asl writer reads it from the tuning job's description).
                parts[:1] = [Attribute(TUNING_SUMMARIES_FIELD), Index(0)]
            return step_property(step, tuple(parts))

        return express

    def _emr_cluster(self, machine, name, state, pointer, flow, request, api, mode):
        """A cluster created for the EMR steps after it, and terminated after them, is the
        ClusterConfig of a SageMaker EMR step (SageMaker creates and ends it)."""
        if api == "createCluster" and mode == ".sync" and isinstance(request, dict):
            config = {k: v for k, v in request.items() if k not in ("Name", "Steps")}
            instances = config.get("Instances")
            if isinstance(instances, dict):
                config["Instances"] = {
                    k: v for k, v in instances.items() if k != "KeepJobFlowAliveWhenNoSteps"
                }
            cluster = _Cluster(config, name)
            result = {"ClusterId": cluster}
            output = self._output(state, pointer, flow.payload, result, False)
            return self._next(machine, state, pointer), _Flow(output, flow.after, flow.branch)
        cluster_id = request.get("ClusterId") if isinstance(request, dict) else None
        if api == "terminateCluster" and isinstance(cluster_id, _Cluster):
            return self._next(machine, state, pointer), flow
        return None

    def _emr_step(self, name, pointer, flow, request, mode) -> Draft:
        step = self.builder.step_name(name, self.at(pointer))
        definition = request.get("Step") if isinstance(request.get("Step"), dict) else {}
        arguments: dict[str, Any] = {}
        cluster = request.get("ClusterId")
        if isinstance(cluster, _Cluster):
            arguments["ClusterConfig"] = cluster.config
        else:
            arguments["ClusterId"] = cluster
        arguments["StepConfig"] = {"HadoopJarStep": definition.get("HadoopJarStep", {})}
        if definition.get("ActionOnFailure", "CONTINUE") != "CONTINUE":
            self.builder.approximated(
                "emr-action",
                f"ActionOnFailure {definition['ActionOnFailure']!r} (at {self.at(pointer)}) "
                "becomes CONTINUE, what SageMaker EMR steps use",
                step,
            )
        if mode != ".sync":
            self.builder.approximated(
                "emr-wait", "the SageMaker EMR step also waits for the EMR step to end", step
            )
        draft = Draft(
            step, StepKind.EMR, "EMR", self.at(pointer), arguments=arguments,
            after=list(flow.after),
        )  # fmt: skip
        self.results[step] = Source(f"the result of {step!r}", self._property(step, arguments))
        return draft

    def _s3_object(self, machine, name, state, pointer, flow, request, jsonata_mode):
        """An S3 object read to take values from its JSON: each value read is a Std:JsonGet
        of the object's URI (no step; the steps after wait for the ones before)."""
        pieces = ("s3://", request.get("Bucket", ""), "/", request.get("Key", ""))
        uri: Any = (
            "".join(pieces) if all(isinstance(piece, str) for piece in pieces) else Join("", pieces)
        )
        body = f"the text of the S3 object read by {name!r}"
        self.s3_objects[body] = uri
        self.builder.approximated(
            "s3-json",
            f"{name!r} (at {self.at(pointer)}) reads a JSON object from S3: each value later "
            "states take from it becomes a Std:JsonGet of that object",
        )
        result = {"Body": Source(body, _unexpressible_result(name))}
        output = self._output(state, pointer, flow.payload, result, jsonata_mode)
        return self._next(machine, state, pointer), _Flow(output, flow.after, flow.branch)

    def _parsed(self, symbol: Any) -> Any:
        """``States.StringToJson`` / ``$parse`` of an S3 object's text: its JSON, read lazily."""
        if not (isinstance(symbol, Source) and symbol.describe in self.s3_objects):
            raise Unexpressible("parsing JSON built at run time")
        uri = self.s3_objects[symbol.describe]

        def express(path: Path) -> Any:
            if not path:
                raise Unexpressible("a whole JSON document is not one SageMaker value")
            spelled = "".join(
                f"[{token}]" if isinstance(token, int) else f".{token}" for token in path
            )
            return JsonGet(spelled.lstrip("."), s3_uri=uri)

        return Source(f"the JSON in {uri}", express)

    def _describe(self, machine, name, state, pointer, flow, request, jsonata_mode, api):
        owners = {
            expression.step
            for expression in _expressions(request)
            if isinstance(expression, StepProperty)
        }
        if isinstance(request, dict):  # the job's name, as the state that started it gave it
            owners.update(
                generated.step
                for field_name, given, generated in self.named
                if request.get(field_name) == given
            )
        if not owners:  # the job started last that this call can watch
            watched = WATCHED_APIS.get(api)
            candidates = [
                job.step for job in self.started.values() if watched and job.kind is watched.kind
            ]
            owners = set(candidates[-1:])
        if len(owners) != 1:
            return self._placeholder(
                machine, name, state, pointer, flow, "StepFunctions:sagemaker:describe",
                "a Describe call that reads no job started by an earlier state",
            )  # fmt: skip
        (owner,) = owners
        output = self._output(state, pointer, flow.payload, self.results[owner], jsonata_mode)
        return self._next(machine, state, pointer), _Flow(output, flow.after, flow.branch)

    def _lambda(self, name, pointer, flow, resource, mode, request, kind) -> Draft:
        step = self.builder.step_name(name, self.at(pointer))
        if kind == "lambda-arn":
            function, payload = resource, request
        else:
            request = request if isinstance(request, dict) else {}
            function = request.get("FunctionName", MISSING)
            payload = request.get("Payload", {})
            for key in sorted(set(request) - {"FunctionName", "Payload"}):
                self.builder.dropped(
                    "lambda-option", f"{key} of lambda:invoke has no SageMaker equivalent", step
                )
        if mode == ".waitForTaskToken":
            self.builder.approximated(
                "lambda-token",
                "lambda:invoke.waitForTaskToken waits for a callback; the Lambda step waits "
                "for the function to return",
                step,
            )
        if not isinstance(payload, dict):
            self.builder.unsupported(
                "lambda-payload", f"the Payload at {self.at(pointer)} is not an object", step
            )
            payload = {}
        payload = {key: value for key, value in payload.items() if value is not _TOKEN}
        draft = Draft(
            step, StepKind.LAMBDA, "Lambda", self.at(pointer), arguments=payload,
            after=list(flow.after), function_arn=function,
        )  # fmt: skip
        self.results[step] = Source(f"the result of {step!r}", _outputs(draft, ("Payload",)))
        return draft

    def _callback(self, name, pointer, flow, request) -> Draft:
        step = self.builder.step_name(name, self.at(pointer))
        request = request if isinstance(request, dict) else {}
        body = request.get("MessageBody", {})
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except json.JSONDecodeError:
                body = {"MessageBody": body}
        if not isinstance(body, dict):
            body = {"MessageBody": body}
        arguments = {key: value for key, value in body.items() if value is not _TOKEN}
        if _is_callback_message(arguments):
            arguments = dict(arguments["arguments"])
        self.builder.approximated(
            "callback",
            "the worker that answers the queue must call SendPipelineExecutionStepSuccess with "
            "the SageMaker token instead of SendTaskSuccess with the Step Functions one",
            step,
        )
        draft = Draft(
            step, StepKind.CALLBACK, "Callback", self.at(pointer), arguments=arguments,
            after=list(flow.after), sqs_queue_url=request.get("QueueUrl", MISSING),
        )  # fmt: skip
        self.results[step] = Source(f"the result of {step!r}", _outputs(draft, ()))
        return draft

    def _retry(self, draft: Draft, state: dict[str, Any], pointer: str) -> None:
        retriers = state.get("Retry")
        if not retriers:
            return
        if not isinstance(retriers, list):
            raise self.fail('"Retry" must be a list of retriers', f"{pointer}/Retry")
        if draft.kind not in RETRYABLE_KINDS:
            self.builder.dropped(
                "retry",
                f"the Retry at {self.at(pointer)}/Retry is dropped: SageMaker has no retry "
                f"policies on {draft.type_name} steps",
                draft.name,
            )
            return
        policies = []
        for index, retrier in enumerate(retriers):
            policy = self._retrier(draft, retrier, f"{pointer}/Retry/{index}")
            # SageMaker retries throttling and service faults so on its own: no policy says it
            if policy is not None and not _sagemaker_default(policy):
                policies.append(policy)
        draft.retry_policies = policies or None

    def _retrier(self, draft: Draft, retrier: Any, pointer: str) -> RetryPolicy | None:
        if not isinstance(retrier, dict) or not isinstance(retrier.get("ErrorEquals"), list):
            raise self.fail('a retrier needs "ErrorEquals", a list of error names', pointer)
        types: list[str] = []
        for error in retrier["ErrorEquals"]:
            if not isinstance(error, str):
                raise self.fail("ErrorEquals lists error names (strings)", f"{pointer}/ErrorEquals")
            mapped = EXACT_ERRORS.get(error) or BROAD_ERRORS.get(error)
            if mapped is None:
                self.builder.dropped(
                    "retry-error",
                    f"the error {error!r} (at {self.at(pointer)}) has no SageMaker retry type",
                    draft.name,
                )
                continue
            if error in BROAD_ERRORS:
                self.builder.approximated(
                    "retry-error",
                    f"{error!r} (at {self.at(pointer)}) becomes the SageMaker types "
                    f"{', '.join(mapped)}: SageMaker cannot retry on every failure",
                    draft.name,
                )
            types.extend(kind for kind in mapped if kind not in types)
        for extra in ("MaxDelaySeconds", "JitterStrategy"):
            if extra in retrier:
                self.builder.dropped(
                    "retry-option",
                    f"{extra} (at {self.at(pointer)}) has no SageMaker equivalent",
                    draft.name,
                )
        fields = {**ASL_RETRY_DEFAULTS, **retrier}
        attempts = fields["MaxAttempts"]
        if not types or attempts == 0:
            return None
        if isinstance(attempts, int) and attempts > MAX_ATTEMPTS:
            self.builder.approximated(
                "retry-attempts",
                f"MaxAttempts {attempts} (at {self.at(pointer)}) is capped at SageMaker's "
                f"{MAX_ATTEMPTS}",
                draft.name,
            )
            attempts = MAX_ATTEMPTS
        return RetryPolicy(
            exception_types=tuple(types),
            interval_seconds=fields["IntervalSeconds"],
            backoff_rate=fields["BackoffRate"],
            max_attempts=attempts,
        )

    def _catch(self, name: str, state: dict[str, Any], pointer: str, step: str | None) -> None:
        catchers = state.get("Catch") or []
        if not isinstance(catchers, list):
            raise self.fail('"Catch" must be a list of catchers', f"{pointer}/Catch")
        machine_states = self._current_states
        for index, catcher in enumerate(catchers):
            target = catcher.get("Next") if isinstance(catcher, dict) else None
            where = self.at(f"{pointer}/Catch/{index}")
            target_state = _past_cleanup(machine_states or {}, target)
            if isinstance(target_state, dict) and target_state.get("Type") == "Fail":
                self.builder.approximated(
                    "catch-fail",
                    f"the Catch at {where} ends the execution in the Fail state {target!r}; "
                    "SageMaker fails the execution when the step fails, without that state's "
                    "error name and cause",
                    step,
                )
            else:
                self.builder.unsupported(
                    "catch",
                    f"the Catch at {where} routes a failure of {name!r} to {target!r}, a "
                    "recovery path: SageMaker steps cannot run on another step's failure",
                    step,
                )

    def _timeouts(self, draft: Draft, state: dict[str, Any], pointer: str) -> None:
        for key in ("TimeoutSeconds", "HeartbeatSeconds", "TimeoutSecondsPath", "Credentials"):
            if key in state:
                self.builder.dropped(
                    "task-option",
                    f"{key} (at {self.at(pointer)}/{key}) has no SageMaker step equivalent",
                    draft.name,
                )

    _current_states: dict[str, Any] | None = None


def _language(state: dict[str, Any], machine: _Machine) -> bool:
    return _language_of(state, machine)


def _language_of(state: dict[str, Any], machine: _Machine) -> bool:
    language = state.get("QueryLanguage")
    return language == "JSONata" if language else machine.jsonata


def _walk_with_states(handler: Any) -> Any:
    """Let Catch see the states of the machine the state is in."""

    def run(reader: _Reader, machine: _Machine, *args: Any) -> Any:
        previous = reader._current_states
        reader._current_states = machine.states
        try:
            return handler(reader, machine, *args)
        finally:
            reader._current_states = previous

    return run


_HANDLERS = {
    "Task": _walk_with_states(_Reader._task),
    "Choice": _Reader._choice,
    "Parallel": _walk_with_states(_Reader._parallel),
    "Pass": _Reader._pass,
    "Wait": _Reader._wait,
    "Succeed": _Reader._succeed,
    "Fail": _Reader._fail,
    "Map": _Reader._map,
}


def _join(machine: _Machine, targets: list[str]) -> str | None:
    """The first state every branch reaches (in breadth-first order from the first branch)."""
    reach = [_reachable(machine, target) for target in targets]
    common = set.intersection(*(set(found) for found in reach))
    for name in reach[0]:
        if name in common:
            return name
    return None


def _reachable(machine: _Machine, start: str) -> list[str]:
    order, queue, seen = [], [start], {start}
    while queue:
        name = queue.pop(0)
        order.append(name)
        state = machine.states.get(name)
        if not isinstance(state, dict):
            continue
        following = [state.get("Next"), state.get("Default")]
        following += [
            rule.get("Next") for rule in state.get("Choices") or [] if isinstance(rule, dict)
        ]
        for target in following:
            if isinstance(target, str) and target in machine.states and target not in seen:
                seen.add(target)
                queue.append(target)
    return order


def _states_format(template: str, values: list[Any]) -> Any:
    """``States.Format(template, values...)`` as a Std:Join (or the string it always is)."""
    pieces = re.split(r"(?<!\\)\{\}", template)
    if len(pieces) - 1 != len(values):
        raise Unexpressible("States.Format has a different number of {} and arguments")
    out: list[Any] = []
    for index, piece in enumerate(pieces):
        literal = piece.replace("\\{", "{").replace("\\}", "}")
        if literal:
            out.append(literal)
        if index < len(values):
            out.append(values[index])
    return out[0] if len(out) == 1 else Join("", tuple(out))


def _unescaped_braces(symbol: Any) -> Any:
    if isinstance(symbol, str):
        return symbol.replace("\\{", "{").replace("\\}", "}")
    return symbol


def _sagemaker_default(policy: RetryPolicy) -> bool:
    """Whether ``policy`` is the retry SageMaker gives every step without RetryPolicies."""
    return (
        sorted(policy.exception_types) == sorted(DEFAULT_RETRY_EXCEPTIONS)
        and policy.interval_seconds == DEFAULT_INTERVAL_SECONDS
        and policy.backoff_rate == DEFAULT_BACKOFF_RATE
        and policy.max_attempts == DEFAULT_MAX_ATTEMPTS
    )


def _json_type(value: Any) -> ParameterType:
    if isinstance(value, bool):
        return ParameterType.BOOLEAN
    if isinstance(value, int):
        return ParameterType.INTEGER
    if isinstance(value, float):
        return ParameterType.FLOAT
    return ParameterType.STRING


_TYPE_TESTS = ("IsPresent", "IsNull", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")


def _names_state(machine: _Machine, name: Any) -> bool:
    return isinstance(name, str) and name in machine.states


def _past_cleanup(states: dict[str, Any], name: Any) -> Any:
    """The state a Catch leads to, past states that only terminate EMR clusters (clean-up
    SageMaker does itself when an EMR step fails)."""
    seen = set()
    state = states.get(name) if isinstance(name, str) else None
    while (
        isinstance(state, dict)
        and str(state.get("Resource", "")).endswith(":elasticmapreduce:terminateCluster.sync")
        and state.get("Next") not in seen
    ):
        seen.add(state.get("Next"))
        state = states.get(state.get("Next"))
    return state


def _alternatives(conditions: list[Condition]) -> list[Condition]:
    """The comparisons of AND-ed conditions, with those inside an Or."""
    found: list[Condition] = []
    for condition in conditions:
        found.extend(condition.conditions if isinstance(condition, Or) else [condition])
    return found


def _only_type_tests(rule: Any) -> bool:
    """A rule made of presence and type tests only (IsPresent, IsNumeric...)."""
    if not isinstance(rule, dict):
        return False
    for combinator in ("And", "Or"):
        if isinstance(rule.get(combinator), list):
            return all(_only_type_tests(inner) for inner in rule[combinator])
    if "Not" in rule:
        return _only_type_tests(rule["Not"])
    return any(test in rule for test in _TYPE_TESTS)


def _negates(rule: Any) -> bool:
    return isinstance(rule, dict) and (
        "Not" in rule or any(rule.get(t) is False for t in _TYPE_TESTS)
    )


def _single(conditions: list[Condition]) -> Condition:
    """AND-ed conditions as one condition (for inside Or and Not): not (any not)."""
    if len(conditions) == 1:
        return conditions[0]
    return Not(Or(tuple(Not(condition) for condition in conditions)))


def _select_token(step: Any) -> Any:
    return step


def _type_name(kind: StepKind) -> str:
    from pipeglot.ir.model import TYPE_OF_KIND

    return TYPE_OF_KIND[kind]


def _by_name(parts: list[Any], container: Any, index: int) -> Any:
    """``Outputs[0]`` becomes ``Outputs['name']`` when the request names the item."""
    owner = parts[-1].name if parts and isinstance(parts[-1], Attribute) else None
    field_name = NAME_KEYED_LISTS.get(owner or "")
    if field_name and isinstance(container, list) and 0 <= index < len(container):
        item = container[index]
        if isinstance(item, dict) and isinstance(item.get(field_name), str):
            return Key(item[field_name])
    return Index(index)


def _follow(container: Any, token: Any) -> Any:
    """The part of the request that describes the same part of the response (best effort)."""
    if isinstance(container, dict) and isinstance(token, str):
        if token in container:
            return container[token]
        if token == "Outputs" and "ProcessingOutputConfig" in container:
            return container["ProcessingOutputConfig"].get("Outputs")
        return None
    if isinstance(container, list) and isinstance(token, int) and 0 <= token < len(container):
        return container[token]
    return None


def _outputs(draft: Draft, prefix: Path) -> Any:
    """Lambda payloads and callback answers: ``name`` at the top is OutputParameters['name']."""

    def express(path: Path) -> Any:
        if tuple(path[: len(prefix)]) != prefix or len(path) != len(prefix) + 1:
            raise Unexpressible(
                f"the output of {draft.name!r} is read as {'.'.join(map(str, path)) or 'a whole'};"
                " SageMaker reads one named output parameter at a time"
            )
        output = path[-1]
        if not isinstance(output, str):
            raise Unexpressible(f"the output of {draft.name!r} read by position")
        draft.add_output(output)
        return step_property(draft.name, (Attribute("OutputParameters"), Key(output)))

    return express


# The message SageMaker sends a Callback step's queue (its token aside), which pipeglot's
# machines send too: the step's arguments are its "arguments".
_CALLBACK_MESSAGE = frozenset({"pipelineExecutionArn", "arguments", "status"})


def _is_callback_message(body: dict[str, Any]) -> bool:
    return (
        set(body) == _CALLBACK_MESSAGE
        and isinstance(body["arguments"], dict)
        and body["status"] == "Executing"
    )


def _unexpressible_result(step: str) -> Any:
    def express(path: Path) -> Any:
        raise Unexpressible(f"the result of the unsupported state {step!r}")

    return express


def _expressions(value: Any) -> list[Any]:
    from pipeglot.ir.expressions import collect_expressions

    return collect_expressions(value, [])


def _format(reference: Reference) -> str:
    return ("$$" if reference.context else "$") + "".join(
        f"[{token}]" if isinstance(token, int) else f".{token}" for token in reference.path
    )


def _raise(error: Exception) -> Any:
    raise error


__all__ = ["Overlay", "load"]
