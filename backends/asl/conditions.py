"""SageMaker conditions as Choice rules (JSONPath), with typed comparisons.

Choice comparators are typed (``NumericLessThan``, ``StringEquals``...) and never match across
types, so each comparison is typed from what its operands are known to be: a literal's JSON
type, a parameter's declared type, text for joins and execution variables. A value of unknown
type (a Std:JsonGet, most step properties) is guarded with ``IsNumeric``/``IsString``/
``IsBoolean`` so that a comparison with a value of another type is false instead of a run-time
error.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from pipeglot.backends.asl.intrinsics import NotExpressible, Ref
from pipeglot.backends.asl.names import RUN_KEY
from pipeglot.ir.expressions import (
    Comparison,
    ComparisonOperator,
    Condition,
    ExecutionVariable,
    ExperimentConfigRef,
    In,
    Join,
    Not,
    Or,
    ParameterRef,
    StepProperty,
    Value,
)
from pipeglot.ir.model import ParameterType, StepKind, Workflow

NUMBER, STRING, BOOLEAN = "Numeric", "String", "Boolean"
_TYPE_TEST = {NUMBER: "IsNumeric", STRING: "IsString", BOOLEAN: "IsBoolean"}
_PARAMETER_TYPE = {
    ParameterType.STRING: STRING,
    ParameterType.INTEGER: NUMBER,
    ParameterType.FLOAT: NUMBER,
    ParameterType.BOOLEAN: BOOLEAN,
}
_OUTPUT_TYPE = {"String": STRING, "Integer": NUMBER, "Float": NUMBER, "Boolean": BOOLEAN}
_SUFFIX = {
    ComparisonOperator.EQUALS: "Equals",
    ComparisonOperator.GREATER_THAN: "GreaterThan",
    ComparisonOperator.GREATER_THAN_OR_EQUAL_TO: "GreaterThanEquals",
    ComparisonOperator.LESS_THAN: "LessThan",
    ComparisonOperator.LESS_THAN_OR_EQUAL_TO: "LessThanEquals",
}
# a < b  <=>  b > a: how to turn a comparison around when only its right side is a path.
_MIRROR = {
    ComparisonOperator.EQUALS: ComparisonOperator.EQUALS,
    ComparisonOperator.GREATER_THAN: ComparisonOperator.LESS_THAN,
    ComparisonOperator.GREATER_THAN_OR_EQUAL_TO: ComparisonOperator.LESS_THAN_OR_EQUAL_TO,
    ComparisonOperator.LESS_THAN: ComparisonOperator.GREATER_THAN,
    ComparisonOperator.LESS_THAN_OR_EQUAL_TO: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO,
}
_EVALUATE = {
    ComparisonOperator.EQUALS: operator.eq,
    ComparisonOperator.GREATER_THAN: operator.gt,
    ComparisonOperator.GREATER_THAN_OR_EQUAL_TO: operator.ge,
    ComparisonOperator.LESS_THAN: operator.lt,
    ComparisonOperator.LESS_THAN_OR_EQUAL_TO: operator.le,
}
# A path every execution document holds, for conditions that are constant.
_ALWAYS_PRESENT = f"$.{RUN_KEY}"

Rule = dict[str, Any]


class ChoiceBuilder:
    """Builds one Choice rule from the AND-ed conditions of a Condition step.

    ``operand(value)`` renders an operand: a literal, or a Ref that is a path (the caller moves
    computed values into a helper state first, since Choice rules read only paths).
    """

    def __init__(self, workflow: Workflow, operand: Callable[[Value], Any]) -> None:
        self.workflow = workflow
        self.operand = operand

    def rule(self, conditions: tuple[Condition, ...]) -> Rule:
        rules = [self._condition(condition) for condition in conditions]
        if not rules:
            return _constant(True)
        return rules[0] if len(rules) == 1 else {"And": rules}

    def _condition(self, condition: Condition) -> Rule:
        if isinstance(condition, Comparison):
            return self._comparison(condition.operator, condition.left, condition.right)
        if isinstance(condition, In):
            options = [
                self._comparison(ComparisonOperator.EQUALS, condition.query, value)
                for value in condition.values
            ]
            if not options:
                return _constant(False)
            return options[0] if len(options) == 1 else {"Or": options}
        if isinstance(condition, Not):
            return {"Not": self._condition(condition.condition)}
        if isinstance(condition, Or):
            options = [self._condition(inner) for inner in condition.conditions]
            if not options:
                return _constant(False)
            return options[0] if len(options) == 1 else {"Or": options}
        raise NotExpressible(f"unknown condition {type(condition).__name__}")

    def _comparison(self, op: ComparisonOperator, left_value: Value, right_value: Value) -> Rule:
        left, right = self.operand(left_value), self.operand(right_value)
        left_type, right_type = self._type(left_value), self._type(right_value)
        if not isinstance(left, Ref) and not isinstance(right, Ref):
            return _constant(_evaluate(op, left, right))
        if not isinstance(left, Ref):
            op = _MIRROR[op]
            left, right = right, left
            left_type, right_type = right_type, left_type
        if not isinstance(right, Ref):
            kind = right_type
            if kind is None:
                raise NotExpressible(f"cannot compare with the literal {right!r}")
            if kind == BOOLEAN and op is not ComparisonOperator.EQUALS:
                raise NotExpressible("booleans can only be compared for equality")
            compare = {"Variable": left.text, f"{kind}{_SUFFIX[op]}": right}
            return compare if left_type == kind else _and(_is(left, kind), compare)
        kinds = [left_type] if left_type is not None and left_type == right_type else None
        if kinds is None:
            kinds = [k for k in (left_type, right_type) if k is not None][:1] or [NUMBER, STRING]
            if op is ComparisonOperator.EQUALS and len(kinds) == 2:
                kinds.append(BOOLEAN)
        options = []
        for kind in kinds:
            if kind == BOOLEAN and op is not ComparisonOperator.EQUALS:
                raise NotExpressible("booleans can only be compared for equality")
            compare = {"Variable": left.text, f"{kind}{_SUFFIX[op]}Path": right.text}
            guards = [
                _is(ref, kind) for ref, t in ((left, left_type), (right, right_type)) if t != kind
            ]
            options.append(_and(*guards, compare) if guards else compare)
        return options[0] if len(options) == 1 else {"Or": options}

    def _type(self, value: Value) -> str | None:
        if isinstance(value, bool):
            return BOOLEAN
        if isinstance(value, int | float):
            return NUMBER
        if isinstance(value, str | Join | ExecutionVariable | ExperimentConfigRef):
            return STRING
        if isinstance(value, ParameterRef):
            parameter = self.workflow.parameter(value.name)
            return _PARAMETER_TYPE[parameter.type] if parameter is not None else None
        if isinstance(value, StepProperty) and self.workflow.has_step(value.step):
            producer = self.workflow.step(value.step)
            if producer.kind is StepKind.CONDITION:
                return STRING
            if producer.kind in (StepKind.LAMBDA, StepKind.CALLBACK) and len(value.path) == 2:
                wanted = getattr(value.path[1], "key", None)
                for output in producer.output_parameters or ():
                    if output.name == wanted and isinstance(output.type, str):
                        return _OUTPUT_TYPE.get(output.type)
        return None


def _is(ref: Ref, kind: str) -> Rule:
    return {"Variable": ref.text, _TYPE_TEST[kind]: True}


def _and(*rules: Rule) -> Rule:
    return rules[0] if len(rules) == 1 else {"And": list(rules)}


def _constant(value: bool) -> Rule:
    present = {"Variable": _ALWAYS_PRESENT, "IsPresent": True}
    return present if value else {"Not": present}


def _evaluate(op: ComparisonOperator, left: Value, right: Value) -> bool:
    try:
        return bool(_EVALUATE[op](left, right))
    except TypeError:
        raise NotExpressible(f"cannot compare {left!r} with {right!r}") from None
