"""pipeglot's intermediate representation: one neutral model of steps, edges and expressions.

Frontends build a :class:`Workflow`; backends read one. Everything here is plain, immutable
data compared by value, so ``load(dump(workflow)) == workflow`` is a complete round-trip test.
"""

from __future__ import annotations

from pipeglot.ir.expressions import (
    Attribute,
    Comparison,
    ComparisonOperator,
    Condition,
    ExecutionVariable,
    ExperimentConfigRef,
    Expression,
    In,
    Index,
    Join,
    JsonGet,
    Key,
    Not,
    Or,
    ParameterRef,
    PathPart,
    PropertyFileRef,
    StepProperty,
    Value,
)
from pipeglot.ir.graph import Edge, EdgeOrigin, build_graph, edges, topological_order
from pipeglot.ir.model import (
    MISSING,
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
from pipeglot.ir.validate import validate

__all__ = [
    "MISSING",
    "Attribute",
    "CacheConfig",
    "Comparison",
    "ComparisonOperator",
    "Condition",
    "Edge",
    "EdgeOrigin",
    "ExecutionVariable",
    "ExperimentConfig",
    "ExperimentConfigRef",
    "Expression",
    "In",
    "Index",
    "Join",
    "JsonGet",
    "Key",
    "Not",
    "Or",
    "OutputParameter",
    "Parameter",
    "ParameterRef",
    "ParameterType",
    "PathPart",
    "PropertyFile",
    "PropertyFileRef",
    "RetryPolicy",
    "Step",
    "StepKind",
    "StepProperty",
    "Value",
    "Workflow",
    "build_graph",
    "edges",
    "topological_order",
    "validate",
]
