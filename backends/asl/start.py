"""The start-up states: parameters with their defaults, the run token, and parameter checks.

At most three helper states, whatever the number of parameters:

- ``pipeglot.Start`` (Pass): the execution input merged over the parameter defaults, and a token
  that makes generated job names unique. Intrinsic functions take no object literals, so the
  defaults travel as base64-encoded JSON (``States.Base64Decode``); the state's Comment shows
  them in clear. Defaults too large for one intrinsic argument take a Pass state of their own.
- ``pipeglot.CheckParameters`` (Choice) and ``pipeglot.InvalidParameters`` (Fail): one rule per
  parameter that can be missing or mistyped, all leading to one Fail whose cause is computed
  from the execution's parameters (``CausePath``).

A pipeline of one step and no parameters has no start-up state: the step's Task is the whole
machine, as one would write it by hand. It draws its name token itself, which only works
because no other state reads the token (a later state naming the same resource would draw a
different one); ``reads_start_document`` says when that machine still needs the start-up.

SageMaker checks every parameter when an execution starts. The machine checks a parameter
where Step Functions would not stop at once on its problem, as early as it can without a state
of its own per parameter: a required parameter or one with allowed values in
``pipeglot.CheckParameters`` (a missing one would fail only the first state that reads it,
after the steps before it ran); a parameter a Condition compares in that Condition's own
Choice, one rule before its comparison (a Choice rule compares mistyped values as false,
silently taking the other branch). A mistyped override of any other parameter reaches the
service request that uses it, which rejects it; the ledger says which parameters are left to
the service. Where ``pipeglot.CheckParameters`` exists anyway, it also checks the compared
parameters, and the Conditions' Choices need no rule of their own.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

from pipeglot.backends.asl import intrinsics as fn
from pipeglot.backends.asl.build import CONTINUE, State
from pipeglot.backends.asl.intrinsics import Ref
from pipeglot.backends.asl.names import PARAMETERS_KEY, RUN_KEY, SCRATCH_KEY, StateNames
from pipeglot.backends.asl.values import CONTEXT, RUN_CONTEXT
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.expressions import ParameterRef, iter_condition_values, iter_expressions
from pipeglot.ir.model import MISSING, Parameter, ParameterType, Step, StepKind, Workflow

# States.Base64Decode accepts at most 10,000 characters of base64.
BASE64_LIMIT = 10_000
PARAMETER_ERROR = "Pipeline.InvalidParameter"
_START_KEYS = re.compile(rf"\$\.({PARAMETERS_KEY}|{RUN_KEY}|{SCRATCH_KEY})\b")
_IDENTITY = {f"{key}.$": CONTEXT[variable] for variable, key in RUN_CONTEXT.items()}
_TYPE_TEST = {
    ParameterType.STRING: "IsString",
    ParameterType.INTEGER: "IsNumeric",
    ParameterType.FLOAT: "IsNumeric",
    ParameterType.BOOLEAN: "IsBoolean",
}


def start_states(
    workflow: Workflow, names: StateNames, diagnostics: Diagnostics, split: bool = False
) -> list[tuple[str, State]]:
    """The start-up states in run order; the last one continues into the pipeline. A split
    machine also keeps the execution's identity in the document, for its children."""
    parameters = workflow.parameter_list
    defaults = {p.name: p.default for p in parameters if p.default is not MISSING}
    states: list[tuple[str, State]] = []
    merged = "$"
    if defaults:
        encoded = base64.b64encode(_compact(defaults).encode()).decode()
        if len(encoded) <= BASE64_LIMIT:
            decoded = fn.call("StringToJson", fn.call("Base64Decode", encoded))
            merged = fn.call("JsonMerge", decoded, fn.Ref("$", True), False).text
        else:
            states.append(
                (
                    names.helper("Defaults"),
                    {
                        "Type": "Pass",
                        "Comment": "Parameter defaults; the execution input overrides them.",
                        "Parameters": {"Defaults": defaults, "Input.$": "$"},
                    },
                )
            )
            merged = "States.JsonMerge($.Defaults, $.Input, false)"
    token = run_token()
    comment = "The pipeline parameters (the execution input over their defaults"
    comment += f": {_compact(defaults)}" if defaults and not states else ""
    comment += "), and a token that makes generated job names unique."
    states.append(
        (
            names.helper("Start"),
            {
                "Type": "Pass",
                "Comment": comment,
                "Parameters": {
                    f"{PARAMETERS_KEY}.$": merged,
                    RUN_KEY: {"Token.$": token.text, **(_IDENTITY if split else {})},
                    SCRATCH_KEY: {},
                },
            },
        )
    )
    checked = checked_at_start(workflow)
    compared = {p.name for p in compared_parameters(workflow)}
    left = [p.name for p in parameters if p not in checked and p.name not in compared]
    if left:
        diagnostics.approximated(
            "asl.parameters.checks",
            "SageMaker checks the type of every parameter when an execution starts; the machine "
            f"leaves a mistyped value of {', '.join(map(repr, left))} to the service request "
            "that uses it, which rejects it when that step runs",
        )
    rule = invalid_rule(checked)
    if rule is not None:
        fail_name = names.helper("InvalidParameters")
        states.append(
            (
                names.helper("CheckParameters"),
                {
                    "Type": "Choice",
                    "Comment": "Stop before any step runs if a parameter is missing or mistyped.",
                    "Choices": [{**rule, "Next": fail_name}],
                    "Default": CONTINUE,
                },
            )
        )
        states.append((fail_name, parameter_fail(workflow)))
    return states


def run_token() -> Ref:
    """A token of 12 hexadecimal digits, new on every evaluation: the last group of a UUID."""
    return fn.call("ArrayGetItem", fn.call("StringSplit", fn.call("UUID"), "-"), 4)


def needs_start(workflow: Workflow) -> bool:
    """Does the machine need start-up states? Not for one step without parameters, unless what
    it builds reads the document they make (see ``reads_start_document``)."""
    return bool(workflow.parameter_list) or len(workflow.steps) != 1


def reads_start_document(states: dict[str, State]) -> bool:
    """Does a state read or write the keys the start-up states create?"""
    return any(_START_KEYS.search(text) for text in _strings(states))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def checked_at_start(workflow: Workflow) -> list[Parameter]:
    """The parameters ``pipeglot.CheckParameters`` checks: the required ones and those with
    allowed values; where that Choice exists anyway, also those the Conditions compare (one
    more rule there costs no state, and stops the execution before any step runs)."""
    parameters = workflow.parameter_list
    checked = [p for p in parameters if p.required or p.enum_values]
    if not checked:
        return []
    compared = {p.name for p in compared_parameters(workflow)}
    return [p for p in parameters if p in checked or p.name in compared]


def invalid_rule(parameters: list[Parameter]) -> State | None:
    """A Choice rule that holds when one of ``parameters`` is missing or mistyped."""
    rules = [rule for p in parameters for rule in _invalid_when(p)]
    if not rules:
        return None
    return rules[0] if len(rules) == 1 else {"Or": rules}


def compared_parameters(workflow: Workflow, step: Step | None = None) -> list[Parameter]:
    """The parameters the Conditions (or the Condition ``step``) compare."""
    steps = workflow.steps if step is None else (step,)
    compared = {
        node.name
        for condition_step in steps
        if condition_step.kind is StepKind.CONDITION
        for condition in condition_step.conditions
        for value in iter_condition_values(condition)
        for node in iter_expressions(value)
        if isinstance(node, ParameterRef)
    }
    return [p for p in workflow.parameter_list if p.name in compared]


def _invalid_when(parameter: Parameter) -> list[State]:
    """Choice rules that hold when ``parameter`` is missing or has the wrong type."""
    variable = fn.path("$", PARAMETERS_KEY, parameter.name).text
    rules: list[State] = []
    if parameter.required:
        rules.append({"Not": {"Variable": variable, "IsPresent": True}})
    valid: State = {"Variable": variable, _TYPE_TEST[parameter.type]: True}
    if parameter.enum_values and parameter.type is ParameterType.STRING:
        options = [{"Variable": variable, "StringEquals": v} for v in parameter.enum_values]
        valid = {"And": [valid, options[0] if len(options) == 1 else {"Or": options}]}
    present = {"Variable": variable, "IsPresent": True}
    rules.append({"And": [present, {"Not": valid}]})
    return rules


def parameter_fail(workflow: Workflow) -> State:
    """One Fail for every parameter problem; the cause lists what each checked parameter must
    be and shows the values the execution has."""
    compared = compared_parameters(workflow)
    parameters = [
        p for p in workflow.parameter_list if p.required or p.enum_values or p in compared
    ]
    wanted = "; ".join(
        f"{p.name} must be {_describe(p)}" + ("" if p.default is not MISSING else " (required)")
        for p in parameters
    )
    template = fn.literal(
        f"A pipeline parameter is missing or has the wrong type: {wanted}. Start the "
        "execution with an input object that sets each required parameter. The parameters "
        "were: "
    )
    shown = fn.call("JsonToString", fn.Ref(f"$.{PARAMETERS_KEY}", True)).text
    return {
        "Type": "Fail",
        "Error": PARAMETER_ERROR,
        "CausePath": f"States.Format({template[:-1]}{{}}', {shown})",
    }


def _describe(parameter: Parameter) -> str:
    words = {
        ParameterType.STRING: "a string",
        ParameterType.INTEGER: "a number (Integer)",
        ParameterType.FLOAT: "a number (Float)",
        ParameterType.BOOLEAN: "true or false (Boolean)",
    }
    text = words[parameter.type]
    if parameter.enum_values and parameter.type is ParameterType.STRING:
        text += " and one of " + ", ".join(json.dumps(v) for v in parameter.enum_values)
    return text


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
