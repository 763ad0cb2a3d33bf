"""Frontend for SageMaker pipeline definitions: the JSON that ``pipeline.definition()`` returns.

Reading is two passes. ``json.loads`` runs with an object hook that turns every expression
object (``Get``, ``Std:Join``, ``Std:JsonGet``) into its IR node while the C parser builds the
document, so request bodies are never walked in Python just to find expressions. Then the
document's envelope (parameters, steps, options) is read into IR records, with a JSON pointer
for every problem. A malformed expression is found by the hook without a location, so the
document is parsed once more, plainly, to point at it: errors may be slow, success is fast.

Hostile input is stopped here, once, so that no writer has to guard against it: documents
nested deeper than :data:`MAX_NESTING` (checked on the text, before parsing), numbers beyond
a 64-bit float (``1e309`` would silently become infinity), and strings holding a lone
surrogate (``"\\ud800"``: not Unicode text, so no UTF-8 output could hold it).
"""

from __future__ import annotations

import codecs
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from itertools import accumulate
from typing import Any

from pipeglot.errors import InputError, ValidationError, shorten
from pipeglot.ir.expressions import (
    _GET_TYPES,
    EXPRESSION_KEYS,
    MISSING,
    Condition,
    ExpressionError,
    Join,
    JsonGet,
    Value,
    collect_expressions,
    condition_from_json,
    expression_from_json,
    expression_or_object,
    json_type,
)
from pipeglot.ir.expressions import _parse_get_string as parse_get_string
from pipeglot.ir.model import (
    CHECK_KEYS,
    KIND_OF_TYPE,
    NO_EXTRA,
    SUPPORTED_VERSIONS,
    CacheConfig,
    ExperimentConfig,
    OutputParameter,
    Parameter,
    ParameterType,
    PropertyFile,
    RetryPolicy,
    Step,
    StepKind,
    Workflow,
)
from pipeglot.ir.validate import MAX_NESTING, check_workflow

READS_TEXT = True  # the CLI hands this frontend the input's bytes, not its path

_TOP_LEVEL_KEYS = ("Version", "Metadata", "Parameters", "PipelineExperimentConfig",
                   "MlflowConfig", "Steps")  # fmt: skip
_CHECK_TYPES = ("QualityCheck", "ClarifyCheck")
_REMOTE_FUNCTION_DRIVER = "/opt/ml/input/data/sagemaker_remote_function_bootstrap/job_driver.sh"
_NOTEBOOK_JOB_ENTRYPOINT = ["amazon_sagemaker_scheduler"]


def load(source: str | bytes, *, name: str | None = None) -> Workflow:
    """Read a pipeline definition into a validated Workflow.

    Args:
        source: the definition as JSON text or UTF-8 bytes.
        name: the pipeline's name, when the caller knows it (the definition does not hold it).

    Raises:
        InputError: the text is not a valid definition; the message names the JSON pointer.
    """
    text = _decode(source)
    data = _encoded(source, text)  # one encoding serves both text checks
    pairs = _check_nesting(text, data)
    made = _Made()
    document = _parse_json(text, made.hook)
    if _may_hold_surrogates(text, data):
        _check_unicode(document)
    return _Reader(made if made.pairs() == pairs else None).workflow(document, name)


def _decode(source: str | bytes) -> str:
    if isinstance(source, str):
        text = source
    else:
        try:
            text = source.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise InputError(
                f"the input is not UTF-8 text (invalid byte at offset {error.start}); "
                "save the definition as UTF-8"
            ) from None
    if not text or text.isspace():  # not text.strip(), which copies a text ending in "\n"
        raise InputError(
            "the input is empty; expected a SageMaker pipeline definition "
            '(a JSON object with "Steps")'
        )
    return text


def _encoded(source: str | bytes, text: str) -> bytes:
    """``text`` encoded as UTF-8, lone surrogates passed through. Bytes that decoded (strict
    UTF-8, which holds no surrogates) are that encoding already, but for a byte order mark:
    not encoded again (8,000 steps: 9 ms)."""
    if type(source) is bytes:
        return source[3:] if source.startswith(codecs.BOM_UTF8) else source
    return text.encode("utf-8", "surrogatepass")


# --- limits checked on the text ---------------------------------------------------------------

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _check_nesting(text: str, data: bytes) -> int | None:
    """Reject a document nested deeper than MAX_NESTING, before any recursive code sees it.
    Return the number of colons outside strings (in valid JSON: of the key-value pairs its
    objects are written with), or None for a text too short to be too deep.

    ``data`` is ``text`` encoded as UTF-8 (lone surrogates passed through)."""
    if len(text) <= MAX_NESTING:
        return None  # too short to be too deep
    outside = _outside_strings(data)
    pairs = outside.count(b":")
    brackets = outside.translate(None, _NOT_BRACKETS)
    if _shallow(brackets):
        return pairs
    if max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > MAX_NESTING:
        line, column = _too_deep_at(text)
        raise InputError(
            f"the JSON is nested too deeply: more than {MAX_NESTING} levels (at line {line}, "
            f"column {column}); real definitions nest fewer than 20, so check what wrote it"
        )
    return pairs


def _shallow(brackets: bytes) -> bool:
    """True when ``brackets`` (a document's brackets, in order) surely nest at most MAX_NESTING
    deep: peeling off the empty pairs ``{}`` then ``[]`` lowers the nesting by at most two
    levels per round, so brackets gone after MAX_NESTING // 2 rounds were not deeper. A real
    definition is gone after about 8 rounds of C-speed replaces (8,000 steps: 6 ms, where
    summing the depth of each bracket takes 34). False means: count exactly."""
    for _ in range(MAX_NESTING // 2):
        peeled = brackets.replace(b"{}", b"").replace(b"[]", b"")
        if not peeled:
            return True
        if len(peeled) == len(brackets):
            return False  # unbalanced brackets (invalid JSON): the exact count decides
        brackets = peeled
    return False


def _outside_strings(data: bytes) -> bytes:
    """The brackets and colons of the JSON text that lie outside its strings (keys and
    values), maybe with other characters outside strings (but no other colons)."""
    # An escaped quote: only a real scan can tell where strings end. The one-byte search
    # first: it runs at memory speed, the two-byte one at a tenth of it (8,000 steps: 19 ms).
    if b"\\" in data and b'\\"' in data:
        return _STRING.sub(b"", data)
    # Without escaped quotes, quotes alternate between opening and closing a string. Of the
    # quotes and brackets alone, two quotes side by side hold nothing or nothing lies between
    # them, so dropping them moves no bracket in or out of a string; the few quotes left (of
    # strings holding brackets) cut it into pieces of which every other one is a string. A
    # third of the time of cutting the whole text at its quotes (8,000 steps: 60 ms, not 185).
    kept = data.translate(None, _NOT_QUOTES_BRACKETS_OR_COLONS).replace(b'""', b"")
    if b'"' not in kept:  # no string holds a bracket or a colon: no cutting needed
        return kept
    return b"".join(kept.split(b'"')[::2])


_NOT_QUOTES_BRACKETS_OR_COLONS = bytes(range(256)).translate(None, b'"[]{}:')


def _too_deep_at(text: str) -> tuple[int, int]:
    """Line and column of the bracket that opens level MAX_NESTING + 1 (the slow path)."""
    depth, in_string, escaped = 0, False, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif in_string:
            escaped, in_string = char == "\\", char != '"'
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                line = text.count("\n", 0, index) + 1
                return line, index - text.rfind("\n", 0, index)
        elif char in "]}":
            depth -= 1
    return 1, 1  # pragma: no cover  # only called when the fast check found too deep


def _may_hold_surrogates(text: str, data: bytes) -> bool:
    """True when the text escapes a surrogate (as in an emoji pair) or holds one raw.

    Decoded UTF-8 never holds one raw, but a ``str`` from a caller may. ``data`` is ``text``
    encoded with lone surrogates passed through, where each begins with the byte 0xED (as do
    only the characters U+D000 to U+D7FF): without it, strict encoding cannot fail.
    """
    if b"\\" in data and (b"\\ud" in data or b"\\uD" in data):  # one-byte search first: fast
        return True
    if b"\xed" not in data:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_unicode(document: Any) -> None:
    """Raise for the first string (key or value) holding a lone surrogate."""
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        value, pointer = stack.pop()
        if isinstance(value, str):
            _check_text(value, pointer)
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                _check_text(key, f"{pointer}/{_escape(key)}", is_key=True)
                stack.append((item, f"{pointer}/{_escape(key)}"))
        elif isinstance(value, list):
            stack.extend((item, f"{pointer}/{i}") for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, tuple):
            stack.extend((item, pointer) for item in value)
        elif value is not None and not isinstance(value, bool | int | float):
            # An expression node (or a part of its path): its strings are at its pointer.
            stack.extend((getattr(value, slot), pointer) for slot in value.__slots__)


def _check_text(text: str, pointer: str, is_key: bool = False) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        what = "key" if is_key else "string"
        raise InputError(
            f"the {what} {shorten(text)} holds a lone surrogate "
            f"({error.object[error.start]!r}), which is not Unicode text and cannot be "
            "written as UTF-8; use the character itself or a complete surrogate pair",
            location=pointer or "/",
        ) from None


class _NonFiniteNumber(ValueError):
    """A JSON number beyond the range of a float (1e309), which Python reads as infinity."""


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _NonFiniteNumber(text)
    return number


_expression_hook = expression_or_object


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(text: str, hook: Callable[[dict[str, Any]], Any] = _expression_hook) -> Any:
    try:
        return json.loads(
            text,
            object_hook=hook,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as error:
        raise InputError(
            f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except (ExpressionError, _NonFiniteNumber):
        raise _locate_error(text) from None
    except ValueError as error:  # NaN / Infinity, or an integer too long to convert
        if str(error).startswith("Exceeds the limit"):
            raise _locate_error(text) from None
        raise InputError(f"not valid JSON: {error}") from None


def _locate_error(text: str) -> InputError:
    """Parse again without the hook and convert bottom-up, as the hook does, with pointers.

    The recursion is bounded: the text passed the nesting check.
    """
    try:
        plain = json.loads(text, parse_float=_FloatText, parse_int=_IntText)
    except ValueError as error:  # NaN or Infinity, behind a first error
        return InputError(f"not valid JSON: {error}")

    def convert(value: Any, pointer: str) -> Any:
        if isinstance(value, list):
            return [convert(item, f"{pointer}/{index}") for index, item in enumerate(value)]
        if isinstance(value, _FloatText):
            return _located_float(value, pointer)
        if isinstance(value, _IntText):
            return _located_int(value, pointer)
        if not isinstance(value, dict):
            return value
        converted = {key: convert(item, f"{pointer}/{_escape(key)}") for key, item in value.items()}
        try:
            return _expression_hook(converted)
        except ExpressionError as error:
            raise InputError(str(error), location=_with_step(plain, pointer)) from None

    try:
        convert(plain, "")
    except InputError as error:
        return error
    return InputError("a malformed expression could not be located")  # pragma: no cover


class _Made:
    """The expression nodes the object hook (``hook``) makes while a document is parsed, so
    that the reader need not walk every step's arguments again to find them (1,000 steps:
    5 ms, a seventh of reading).

    ``made`` holds every node in document order, a Join or JsonGet before the nodes inside
    it (the order of :func:`collect_expressions`); ``ends`` maps each object with an
    "Arguments" key (each step) to how many nodes were made when it closed. A step's nodes
    are those made between the close of the step before it in its list and its own close,
    which the reader takes when only its arguments can hold nodes. That holds only if every
    node made is in the document, and a duplicate key drops the first value (with the nodes
    in it): so the key-value pairs of the objects (``pairs()``) must be as many as the
    colons outside the text's strings, which count every pair written."""

    __slots__ = ("ends", "hook", "made", "pairs")

    def __init__(self) -> None:
        made: list[Any] = []
        ends: dict[int, int] = {}
        marked: list[dict[str, Any]] = []  # kept alive while reading: their ids stay theirs
        total = 0
        append, mark, expression_keys = made.append, marked.append, EXPRESSION_KEYS

        def hook(obj: dict[str, Any]) -> Any:
            """expression_or_object, recording what it makes (the order of its tests)."""
            nonlocal total
            size = len(obj)
            total += size
            if size != 1:
                if "Arguments" in obj:
                    ends[id(obj)] = len(made)
                    mark(obj)
                return obj
            reference = obj.get("Get")
            if type(reference) is str:
                node = parse_get_string(reference)
                append(node)
                return node
            if next(iter(obj)) in expression_keys:
                node = expression_from_json(obj)
                # The nodes inside it were the last made: it goes before them.
                made.insert(len(made) - _nodes_inside(node), node)
                return node
            return obj

        def pairs() -> int:
            return total

        self.made, self.ends, self.hook, self.pairs = made, ends, hook, pairs


def _nodes_inside(node: Any) -> int:
    """How many nodes collect_expressions finds inside ``node`` (a Join or JsonGet); first
    the usual cases: a Join of strings and Gets, a JsonGet of a property file."""
    if type(node) is Join:
        count = 0
        for value in node.values:
            kind = type(value)
            if kind is str:
                continue
            if kind not in _GET_TYPES:
                return len(collect_expressions(node, [])) - 1
            count += 1
        return count
    if type(node) is JsonGet and node.property_file is not None:
        return 1
    return len(collect_expressions(node, [])) - 1


_STEP_LISTS = ("Steps", "IfSteps", "ElseSteps")


class _FloatText(str):
    """A float's text, kept as written while locating an error."""


class _IntText(str):
    """An integer's text, kept as written while locating an error."""


def _located_int(text: str, pointer: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > sys.get_int_max_str_digits() > 0:
        raise InputError(
            f"the integer {shorten(str(text))} has {digits} digits, more than the "
            f"{sys.get_int_max_str_digits()} pipeglot reads; write it as a string",
            location=pointer,
        )
    return int(text)


def _located_float(text: str, pointer: str) -> float:
    try:
        return _finite_float(text)
    except _NonFiniteNumber:
        raise InputError(
            f"the number {shorten(str(text))} is beyond the range of a 64-bit float (about "
            "1.8e308), so no target can hold it; write a smaller number or a string",
            location=pointer,
        ) from None


def _with_step(document: Any, pointer: str) -> str:
    """``pointer`` followed by the name of the innermost step it lies in, when there is one."""
    name, value, container = None, document, ""
    for part in pointer.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            value, container = value.get(key), key
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
            if container in _STEP_LISTS and isinstance(value, dict):
                name = value.get("Name") if isinstance(value.get("Name"), str) else name
        else:
            break
    return f"{pointer or '/'} (step {shorten(name)})" if name is not None else pointer or "/"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


class _Reader:
    """Reads the envelope of one document. Holds the pointer of every step it has read."""

    def __init__(self, made: _Made | None = None) -> None:
        self.made = made  # None: the steps' nodes are found by walking their values
        self.pointers: dict[str, str] = {}
        self.steps: list[Step] = []
        # Equal property files are one object (records are immutable and compared by value):
        # generated pipelines declare the same file on every step.
        self.property_files: dict[tuple[str, str, str], tuple[PropertyFile, ...]] = {}

    def workflow(self, document: Any, name: str | None) -> Workflow:
        if not isinstance(document, dict):
            raise InputError(
                'the definition must be a JSON object with a "Steps" list, '
                f"not {json_type(document)}",
                location="/",
            )
        version = document.get("Version", MISSING)
        if version is not MISSING and version not in SUPPORTED_VERSIONS:
            raise InputError(
                f"unknown definition Version {shorten(version)}; pipeglot reads "
                f"{', '.join(SUPPORTED_VERSIONS)}",
                location="/Version",
            )
        steps = document.get("Steps", MISSING)
        if steps is MISSING:
            raise InputError('the definition has no "Steps" list; add one', location="/")
        self._step_list(steps, "/Steps")
        workflow = Workflow(
            steps=tuple(self.steps),
            name=name,
            version=None if version is MISSING else version,
            parameters=self._parameters(document.get("Parameters", MISSING)),
            metadata=document.get("Metadata", MISSING),
            experiment_config=self._experiment_config(
                document.get("PipelineExperimentConfig", MISSING)
            ),
            mlflow_config=document.get("MlflowConfig", MISSING),
            extra=_extra(document, frozenset(_TOP_LEVEL_KEYS)),
        )
        try:
            check_workflow(workflow)
        except ValidationError as error:
            raise self._relocate(error) from None
        if not workflow.steps:  # no writer can make a useful workflow of nothing
            raise InputError(
                'the "Steps" list is empty, so there is nothing to translate; add a step',
                location="/Steps",
            )
        return workflow

    def _relocate(self, error: ValidationError) -> InputError:
        if error.step is None or error.step not in self.pointers:
            return error
        pointer = self.pointers[error.step] + (f"/{error.path}" if error.path else "")
        return ValidationError(error.message, location=f"{pointer} (step {error.step!r})")

    # --- parameters and top-level options -------------------------------------------------

    def _parameters(self, value: Any) -> tuple[Parameter, ...] | None:
        if value is MISSING:
            return None
        items = _expect_list(value, "/Parameters", "the pipeline parameters")
        return tuple(self._parameter(item, f"/Parameters/{i}") for i, item in enumerate(items))

    def _parameter(self, item: Any, pointer: str) -> Parameter:
        fields = _expect_object(item, pointer, "a parameter")
        name = _expect_string(fields, "Name", pointer, "the parameter's name")
        type_name = fields.get("Type", MISSING)
        try:
            kind = ParameterType(type_name) if type_name is not MISSING else ParameterType.STRING
        except ValueError:
            known = ", ".join(t.value for t in ParameterType)
            raise InputError(
                f"parameter {shorten(name)} has the unknown Type {shorten(type_name)}; "
                f"use one of {known}",
                location=f"{pointer}/Type",
            ) from None
        enum_values = fields.get("EnumValues", MISSING)
        if enum_values is not MISSING:
            enum_values = _expect_list(enum_values, f"{pointer}/EnumValues", "the enum values")
            if kind is not ParameterType.STRING or not all(isinstance(v, str) for v in enum_values):
                raise InputError(
                    "EnumValues are allowed on String parameters only, and must be strings",
                    location=f"{pointer}/EnumValues",
                )
        return Parameter(
            name=name,
            type=kind,
            default=fields.get("DefaultValue", MISSING),
            enum_values=None if enum_values is MISSING else tuple(enum_values),
            type_declared=type_name is not MISSING,
            extra=_extra(fields, _PARAMETER_KEYS),
        )

    def _experiment_config(self, value: Any) -> ExperimentConfig | None:
        if value is MISSING:
            return None
        if value is None:
            return ExperimentConfig(enabled=False)
        fields = _expect_object(value, "/PipelineExperimentConfig", "the experiment config")
        return ExperimentConfig(
            experiment_name=fields.get("ExperimentName", MISSING),
            trial_name=fields.get("TrialName", MISSING),
            extra=_extra(fields, _EXPERIMENT_KEYS),
        )

    # --- steps ----------------------------------------------------------------------------

    def _step_list(self, value: Any, pointer: str) -> tuple[str, ...]:
        items = _expect_list(value, pointer, "a list of steps")
        if self.made is None:
            return tuple(self._step(item, f"{pointer}/{i}") for i, item in enumerate(items))
        made, ends, steps = self.made.made, self.made.ends, self.steps
        names: list[str] = []
        start = None  # how many nodes were made when the step before closed
        for i, item in enumerate(items):
            index = len(steps)
            names.append(self._step(item, f"{pointer}/{i}"))
            end = ends.get(id(item))
            if start is not None and end is not None and _only_arguments_hold_nodes(steps[index]):
                object.__setattr__(steps[index], "_expressions", made[start:end])
            start = end
        return tuple(names)

    def _step(self, item: Any, pointer: str) -> str:
        """Read one step (and, for a Condition, its branch steps); return its name."""
        fields = item if type(item) is dict else _expect_object(item, pointer, "a step")
        name = fields.get("Name")
        if type(name) is not str or not name:  # the checks' messages are built only for an error
            name = _expect_string(fields, "Name", pointer, "the step's name")
        if name in self.pointers:
            raise InputError(
                f"a second step is named {shorten(name)} (the first is at {self.pointers[name]}); "
                "step names must be unique in the whole pipeline, Condition branches included",
                location=f"{pointer}/Name",
            )
        self.pointers[name] = pointer
        type_name = fields.get("Type")
        if type(type_name) is not str or not type_name:  # the message is built only for an error
            _expect_string(fields, "Type", pointer, f"the type of step {shorten(name)}")
        index = len(self.steps)
        self.steps.append(None)  # type: ignore[arg-type]  # keeps document order: parent first
        try:
            self.steps[index] = self._build_step(fields, name, type_name, pointer)
        except InputError as error:
            raise _naming_step(error, name) from None
        return name

    def _build_step(self, fields: dict[str, Any], name: str, type_name: str, pointer: str) -> Step:
        # Checked and built in the order of the keywords of Step below (errors in that
        # order); a pointer is formatted only for a key that is present, and a reader is
        # called only for a key that is present.
        get = fields.get
        arguments = get("Arguments", MISSING)
        kind = KIND_OF_TYPE.get(type_name, StepKind.UNKNOWN)
        if kind is StepKind.TRAINING:
            kind = _step_kind(type_name, arguments)
        is_check = type_name in _CHECK_TYPES
        options: dict[str, Any] | None = None
        if kind is StepKind.CONDITION:
            options = self._condition(arguments, f"{pointer}/Arguments")
        depends_on = get("DependsOn", MISSING)
        depends_on = (
            None if depends_on is MISSING else _depends_on(depends_on, f"{pointer}/DependsOn")
        )
        display_name = get("DisplayName", MISSING)
        description = get("Description", MISSING)
        cache_config = (
            None
            if "CacheConfig" not in fields
            else _cache_config(fields["CacheConfig"], f"{pointer}/CacheConfig")
        )
        retry_policies = (
            None
            if "RetryPolicies" not in fields
            else _read_list(fields, "RetryPolicies", pointer, _retry_policy)
        )
        property_files = (
            None
            if "PropertyFiles" not in fields
            else _property_files(fields, pointer, self.property_files)
        )
        output_parameters = (
            None
            if "OutputParameters" not in fields
            else _read_list(fields, "OutputParameters", pointer, _output_parameter)
        )
        if is_check:
            check: Mapping[str, Value] = {key: fields[key] for key in CHECK_KEYS if key in fields}
            known = _CHECK_STEP_KEYS
        else:
            check, known = NO_EXTRA, _STEP_KEYS
        extra = NO_EXTRA if known.issuperset(fields) else _extra(fields, known)
        return Step(
            name=name,
            kind=kind,
            type_name=type_name,
            depends_on=depends_on,
            display_name=display_name,
            description=description,
            cache_config=cache_config,
            retry_policies=retry_policies,
            property_files=property_files,
            function_arn=get("FunctionArn", MISSING),
            sqs_queue_url=get("SqsQueueUrl", MISSING),
            output_parameters=output_parameters,
            check=check,
            extra=extra,
            # A Condition's arguments are read into its conditions and branches.
            **({"arguments": arguments} if options is None else options),
        )

    def _condition(self, arguments: Any, pointer: str) -> dict[str, Any]:
        fields = _expect_object(arguments, pointer, "the Condition's arguments")
        conditions_json = _expect_list(
            fields.get("Conditions", MISSING), f"{pointer}/Conditions", "a list of conditions"
        )
        conditions: list[Condition] = []
        for index, item in enumerate(conditions_json):
            try:
                conditions.append(condition_from_json(item))
            except ExpressionError as error:
                raise InputError(str(error), location=f"{pointer}/Conditions/{index}") from None
        return {
            "arguments": _extra(fields, frozenset(_BRANCH_KEYS)),
            "conditions": tuple(conditions),
            "if_steps": self._step_list(fields.get("IfSteps", []), f"{pointer}/IfSteps"),
            "else_steps": self._step_list(fields.get("ElseSteps", []), f"{pointer}/ElseSteps"),
            "branch_keys": tuple(key for key in _BRANCH_KEYS[1:] if key in fields),
        }


_BRANCH_KEYS = ("Conditions", "IfSteps", "ElseSteps")


_SCALARS = frozenset({str, int, float, bool, type(None), type(MISSING)})


def _only_arguments_hold_nodes(step: Step) -> bool:
    """True when no value of ``step`` but its arguments can hold an expression node: then
    its nodes are those made while its text was parsed, in the order step_expressions gives
    (which walks the arguments first). Names, types and DependsOn are strings (checked)."""
    scalars = _SCALARS
    if (
        step.kind is StepKind.CONDITION
        or step.check
        or step.extra
        or type(step.function_arn) not in scalars
        or type(step.sqs_queue_url) not in scalars
        or type(step.display_name) not in scalars
        or type(step.description) not in scalars
    ):
        return False
    cache = step.cache_config
    if cache is not None and (
        cache.extra or type(cache.enabled) not in scalars or type(cache.expire_after) not in scalars
    ):
        return False
    for policy in step.retry_policies or ():
        values = (policy.interval_seconds, policy.backoff_rate, policy.max_attempts,
                  policy.expire_after_min)  # fmt: skip
        if policy.extra or any(type(value) not in scalars for value in values):
            return False
    for output in step.output_parameters or ():
        if output.extra or type(output.type) not in scalars:
            return False
    return all(not file.extra for file in step.property_files or ())


def _naming_step(error: InputError, name: str) -> InputError:
    """``error`` with the step's name after its pointer, unless an inner step is named."""
    location = error.location or ""
    if "(step " in location or isinstance(error, ValidationError):
        return error
    return InputError(error.message, location=f"{location} (step {shorten(name)})")


_STEP_KEYS = frozenset(
    {
        "Name",
        "Type",
        "Arguments",
        "DependsOn",
        "DisplayName",
        "Description",
        "CacheConfig",
        "RetryPolicies",
        "PropertyFiles",
        "FunctionArn",
        "SqsQueueUrl",
        "OutputParameters",
    }
)
_CHECK_STEP_KEYS = _STEP_KEYS | frozenset(CHECK_KEYS)


# The keys each record models; any other key is kept verbatim (_extra).
_PARAMETER_KEYS = frozenset({"Name", "Type", "DefaultValue", "EnumValues"})
_EXPERIMENT_KEYS = frozenset({"ExperimentName", "TrialName"})
_CACHE_KEYS = frozenset({"Enabled", "ExpireAfter"})
_RETRY_KEYS = frozenset(
    {"ExceptionType", "IntervalSeconds", "BackoffRate", "MaxAttempts", "ExpireAfterMin"}
)
_PROPERTY_FILE_KEYS = frozenset({"PropertyFileName", "OutputName", "FilePath"})
_OUTPUT_PARAMETER_KEYS = frozenset({"OutputName", "OutputType"})


def _step_kind(type_name: str, arguments: Any) -> StepKind:
    kind = KIND_OF_TYPE.get(type_name, StepKind.UNKNOWN)
    if kind is StepKind.TRAINING and isinstance(arguments, dict):
        algorithm = arguments.get("AlgorithmSpecification")
        entrypoint = algorithm.get("ContainerEntrypoint") if isinstance(algorithm, dict) else None
        if isinstance(entrypoint, list) and _REMOTE_FUNCTION_DRIVER in entrypoint:
            return StepKind.FUNCTION
        if entrypoint == _NOTEBOOK_JOB_ENTRYPOINT:
            return StepKind.NOTEBOOK_JOB
    return kind


def _depends_on(value: Any, pointer: str) -> tuple[str, ...] | None:
    if value is MISSING:
        return None
    names = _expect_list(value, pointer, "a list of step names")
    for index, item in enumerate(names):
        if not isinstance(item, str):
            raise InputError(
                f"DependsOn lists step names, not {json_type(item)}", location=f"{pointer}/{index}"
            )
    return tuple(names)


def _read_list(
    fields: dict[str, Any], key: str, pointer: str, build: Callable[[Any, str], Any]
) -> tuple[Any, ...] | None:
    if key not in fields:
        return None
    items = _expect_list(fields[key], f"{pointer}/{key}", f"a list ({key})")
    return tuple(build(item, f"{pointer}/{key}/{i}") for i, item in enumerate(items))


def _property_files(
    fields: dict[str, Any], pointer: str, seen: dict[tuple[str, str, str], tuple[PropertyFile, ...]]
) -> tuple[PropertyFile, ...] | None:
    """``_read_list(fields, "PropertyFiles", pointer, _property_file)``, faster for the usual
    list of complete property files (most job steps declare one); anything else is read by
    that, to raise the same error. A list of one file is ``seen[(name, output, path)]``."""
    items = fields.get("PropertyFiles")
    if type(items) is list:
        files: list[PropertyFile] = []
        for item in items:
            if type(item) is not dict or not _PROPERTY_FILE_KEYS.issuperset(item):
                break
            name = item.get("PropertyFileName")
            output = item.get("OutputName")
            path = item.get("FilePath")
            if not (type(name) is str and name and type(output) is str and output
                    and type(path) is str and path):  # fmt: skip
                break
            if len(items) == 1:
                key = (name, output, path)
                known = seen.get(key)
                if known is None:
                    known = seen[key] = (
                        PropertyFile(name=name, output_name=output, file_path=path, extra=NO_EXTRA),
                    )
                return known
            files.append(
                PropertyFile(name=name, output_name=output, file_path=path, extra=NO_EXTRA)
            )
        else:
            return tuple(files)
    return _read_list(fields, "PropertyFiles", pointer, _property_file)


def _cache_config(value: Any, pointer: str) -> CacheConfig:
    fields = _expect_object(value, pointer, "a cache config")
    if "Enabled" not in fields:
        raise InputError('CacheConfig needs "Enabled" (true or false)', location=pointer)
    return CacheConfig(
        enabled=fields["Enabled"],
        expire_after=fields.get("ExpireAfter", MISSING),
        extra=_extra(fields, _CACHE_KEYS),
    )


def _retry_policy(value: Any, pointer: str) -> RetryPolicy:
    fields = _expect_object(value, pointer, "a retry policy")
    types = _expect_list(
        fields.get("ExceptionType", MISSING),
        f"{pointer}/ExceptionType",
        "a list of exception types",
    )
    if not all(isinstance(item, str) for item in types):
        raise InputError("ExceptionType lists strings", location=f"{pointer}/ExceptionType")
    return RetryPolicy(
        exception_types=tuple(types),
        interval_seconds=fields.get("IntervalSeconds", MISSING),
        backoff_rate=fields.get("BackoffRate", MISSING),
        max_attempts=fields.get("MaxAttempts", MISSING),
        expire_after_min=fields.get("ExpireAfterMin", MISSING),
        extra=_extra(fields, _RETRY_KEYS),
    )


def _property_file(value: Any, pointer: str) -> PropertyFile:
    fields = _expect_object(value, pointer, "a property file")
    return PropertyFile(
        name=_expect_string(fields, "PropertyFileName", pointer, "the property file's name"),
        output_name=_expect_string(fields, "OutputName", pointer, "the output it is written to"),
        file_path=_expect_string(fields, "FilePath", pointer, "its path inside that output"),
        extra=_extra(fields, _PROPERTY_FILE_KEYS),
    )


def _output_parameter(value: Any, pointer: str) -> OutputParameter:
    fields = _expect_object(value, pointer, "an output parameter")
    return OutputParameter(
        name=_expect_string(fields, "OutputName", pointer, "the output's name"),
        type=fields.get("OutputType", MISSING),
        extra=_extra(fields, _OUTPUT_PARAMETER_KEYS),
    )


# --- small structural checks ----------------------------------------------------------------


def _expect_object(value: Any, pointer: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        found = "nothing" if value is MISSING else json_type(value)
        raise InputError(f"expected {what} (a JSON object), found {found}", location=pointer)
    return value


def _expect_list(value: Any, pointer: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        found = "nothing" if value is MISSING else json_type(value)
        raise InputError(f"expected {what} (a JSON list), found {found}", location=pointer)
    return value


def _expect_string(fields: dict[str, Any], key: str, pointer: str, what: str) -> str:
    value = fields.get(key, MISSING)
    if not isinstance(value, str) or not value:
        found = "nothing" if value is MISSING else json_type(value)
        raise InputError(
            f'"{key}" must be a non-empty string ({what}), found {found}; add it',
            location=f"{pointer}/{key}" if key in fields else pointer,
        )
    return value


def _extra(fields: Mapping[str, Value], known: frozenset[str]) -> Mapping[str, Value]:
    """The keys of ``fields`` pipeglot does not model, kept verbatim."""
    if known.issuperset(fields):
        return NO_EXTRA  # the usual case, decided in C
    extra = {key: value for key, value in fields.items() if key not in known}
    return extra or NO_EXTRA
