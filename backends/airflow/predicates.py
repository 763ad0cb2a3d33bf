"""A Condition step's conditions as one plain Python function of their resolved values.

``mse <= 6.0 and model_type in ("xgboost", "linear")``: every operand that is an expression
(a parameter, a step property, a JSON value from a property file) becomes a parameter of the
function, named after what it reads; literal operands are written in place. The branch task
resolves the operands when it runs and calls the function, so the predicate reads as what it
decides. SageMaker's equality never holds between values of different types (``1 == True`` is
false there), so an Equals or In is plain ``==`` / ``in`` only where one side is a string
literal (where Python agrees), and ``equal(a, b)`` / ``among(a, [...])`` otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeglot.backends import _python as pysource
from pipeglot.ir.expressions import (
    Attribute,
    Comparison,
    ComparisonOperator,
    Condition,
    ExecutionVariable,
    In,
    JsonGet,
    Not,
    Or,
    ParameterRef,
    StepProperty,
    Value,
)

_OPERATORS = {
    ComparisonOperator.GREATER_THAN: ">",
    ComparisonOperator.GREATER_THAN_OR_EQUAL_TO: ">=",
    ComparisonOperator.LESS_THAN: "<",
    ComparisonOperator.LESS_THAN_OR_EQUAL_TO: "<=",
}
_HELPERS = frozenset({"equal", "among"})


@dataclass(slots=True)
class Predicate:
    """``def <name>(<parameters>): return <body>`` and the operand each parameter receives."""

    parameters: list[str]
    operands: list[Value]
    body: str
    helpers: set[str]

    def returned(self, indent: str, width: int) -> str | None:
        """``return <body>`` on one line; None when it does not fit (ruff would split it in
        ways that depend on its brackets: the caller keeps SageMaker's JSON form then)."""
        line = f"{indent}return {self.body}"
        return line if len(line) <= width else None


def predicate(conditions: tuple[Condition, ...]) -> Predicate | None:
    """The AND of ``conditions`` as a Python expression over named operands; None when a
    literal operand is not a plain scalar (the caller keeps SageMaker's JSON form)."""
    writer = _Writer()
    try:
        parts = [writer.condition(condition, top=True) for condition in conditions]
    except _NotPlain:
        return None
    body = " and ".join(parts) if parts else "True"
    return Predicate(writer.parameters, writer.operands, body, writer.helpers)


class _NotPlain(Exception):
    pass


class _Writer:
    def __init__(self) -> None:
        self.names = pysource.Identifiers(_HELPERS)
        self.parameters: list[str] = []
        self.operands: list[Value] = []
        self.helpers: set[str] = set()

    def condition(self, condition: Condition, top: bool = False) -> str:
        if isinstance(condition, Comparison):
            left, right = self.operand(condition.left), self.operand(condition.right)
            if condition.operator is ComparisonOperator.EQUALS:
                if _is_text(condition.left) or _is_text(condition.right):
                    return f"{left} == {right}"
                self.helpers.add("equal")
                return f"equal({left}, {right})"
            return f"{left} {_OPERATORS[condition.operator]} {right}"
        if isinstance(condition, In):
            query = self.operand(condition.query)
            values = [self.operand(value) for value in condition.values]
            if condition.values and all(_is_text(value) for value in condition.values):
                listed = values[0] + "," if len(values) == 1 else ", ".join(values)
                return f"{query} in ({listed})"
            self.helpers.add("among")
            return f"among({query}, [{', '.join(values)}])"
        if isinstance(condition, Not):
            return f"not ({self.condition(condition.condition)})"
        if isinstance(condition, Or):
            inner = " or ".join(self.condition(each) for each in condition.conditions)
            return inner if top and len(condition.conditions) == 1 else f"({inner})"
        raise _NotPlain

    def operand(self, value: Value) -> str:
        if value is None or isinstance(value, bool):
            return repr(value)
        if isinstance(value, int | float):
            return pysource.number_literal(value)
        if isinstance(value, str):
            return pysource.string_literal(value)
        if isinstance(value, dict | list):
            raise _NotPlain
        name = self.names.helper(_name_of(value))
        self.parameters.append(name)
        self.operands.append(value)
        return name


def _is_text(value: Value) -> bool:
    return isinstance(value, str)


def _name_of(value: Value) -> str:
    """A parameter name that says what the operand reads."""
    if isinstance(value, ParameterRef | ExecutionVariable):
        return value.name
    if isinstance(value, JsonGet):
        parts = [part for part in re.split(r"[.\[\]'\"$]+", value.path) if part]
        while len(parts) > 1 and parts[-1].lower() in ("value", "values"):
            parts.pop()  # "metrics.mse.value" reads the mse
        return parts[-1] if parts else "value"
    if isinstance(value, StepProperty):
        names = [part.name for part in value.path if isinstance(part, Attribute)]
        return names[-1] if names else value.step
    return "value"
