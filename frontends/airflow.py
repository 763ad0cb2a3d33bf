"""Frontend for Airflow DAG files that orchestrate SageMaker, read without running them.

The file is parsed with ``ast``: nothing in it is imported or executed, so reading a DAG needs
neither Airflow nor its connections. What is understood:

- ``with DAG(...)`` / ``@dag`` / ``DAG(...)`` with ``dag=``; ``params`` (``Param`` types,
  defaults, enums) become pipeline parameters; ``default_args`` and task ``retries``;
- the Amazon provider's SageMaker operators (Processing, Training, Transform, Tuning, Model,
  EndpointConfig, Endpoint, RegisterModelVersion), ``LambdaInvokeFunctionOperator`` and
  ``SageMakerConditionOperator`` (a Condition step), with configs written as literals,
  module-level constants, f-strings and Jinja (``{{ params.x }}``, ``{{ run_id }}``,
  ``{{ ti.xcom_pull(task_ids='t')['Training'][...] }}``) or ``task.output[...]``;
- ``>>``, ``<<``, lists, ``chain()``, ``cross_downstream()``, ``set_upstream/downstream``;
  ``EmptyOperator`` joins and SageMaker sensors (no steps: their edges pass through);
- ``BranchPythonOperator`` / ``@task.branch`` callables of the form ``if <comparison>:
  return 'a'`` ... ``return 'b'``.

A value computed by code when the file is parsed, a Python task's body, or any other operator
has no SageMaker equivalent: each is reported with its line, as unsupported, and a visible
placeholder stands in for it.
"""

from __future__ import annotations

import ast
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from pipeglot import provenance
from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import InputError
from pipeglot.frontends._readers import dagbag, jinja
from pipeglot.frontends._readers.build import Draft, WorkflowBuilder, step_property
from pipeglot.frontends._readers.integrations import (
    BOTO3_CREATE_APIS,
    RETRYABLE_KINDS,
    generated_name_field,
)
from pipeglot.ir.expressions import (
    NAME_KEYED_LISTS,
    Attribute,
    Comparison,
    ComparisonOperator,
    Condition,
    ExecutionVariable,
    ExpressionError,
    In,
    Index,
    Join,
    JsonGet,
    Key,
    Not,
    Or,
    SelectByName,
    StepProperty,
    condition_from_json,
    parse_get,
)
from pipeglot.ir.model import MISSING, TYPE_OF_KIND, ParameterType, RetryPolicy, StepKind, Workflow
from pipeglot.ir.sagemaker import JOB_RETRY_EXCEPTIONS, MAX_ATTEMPTS

READS_TEXT = True
RECORDS_DIAGNOSTICS = True
OPTIONS = ("load_with_dagbag", "python")


@dataclass(frozen=True, slots=True)
class _JobOperator:
    kind: StepKind
    result_key: str  # the key of the operator's XCom that holds the Describe* response

    @property
    def type_name(self) -> str:
        return TYPE_OF_KIND[self.kind]

    @property
    def name_field(self) -> str | None:
        return generated_name_field(self.kind)


_JOB_OPERATORS = {
    "SageMakerProcessingOperator": _JobOperator(StepKind.PROCESSING, "Processing"),
    "SageMakerTrainingOperator": _JobOperator(StepKind.TRAINING, "Training"),
    "SageMakerTuningOperator": _JobOperator(StepKind.TUNING, "Tuning"),
    "SageMakerModelOperator": _JobOperator(StepKind.MODEL, "Model"),
    "SageMakerEndpointConfigOperator": _JobOperator(StepKind.ENDPOINT_CONFIG, "EndpointConfig"),
}
_TRANSFORM = _JobOperator(StepKind.TRANSFORM, "Transform")
_ENDPOINT = _JobOperator(StepKind.ENDPOINT, "Endpoint")
# Operators that only pass control on: no step of their own.
_PASS_THROUGH = {"EmptyOperator", "DummyOperator"}
_EMR_CLUSTER_HELPERS = {"EmrCreateJobFlowOperator", "EmrTerminateJobFlowOperator"}
_SENSORS = {
    "SageMakerProcessingSensor",
    "SageMakerTrainingSensor",
    "SageMakerTransformSensor",
    "SageMakerTuningSensor",
    "SageMakerEndpointSensor",
}
_BRANCHES = {"BranchPythonOperator"}
# The helpers of pipeglot's DAG files that build a templated field's value as a callable.
_RUN_TIME_HELPERS = {"request_with_job_name", "resolved", "resolved_json"}
# Operator arguments that tune how Airflow runs the task and change nothing SageMaker does.
_RUNTIME_ARGUMENTS = {
    "task_id", "config", "aws_conn_id", "region_name", "verify", "botocore_config",
    "print_log", "check_interval", "max_attempts", "max_ingestion_time", "deferrable",
    "action_if_job_exists", "check_if_job_exists", "check_if_model_exists",
    "action_if_model_exists", "dag", "pool", "pool_slots", "queue", "priority_weight",
    "owner", "email", "email_on_failure", "email_on_retry", "executor_config", "do_xcom_push",
    "retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay", "doc_md",
    "doc", "task_display_name", "wait_for_completion", "trigger_rule", "log_type",
    "keep_empty_log_lines",
}  # fmt: skip
_PARAM_TYPES = {
    "string": ParameterType.STRING,
    "integer": ParameterType.INTEGER,
    "number": ParameterType.FLOAT,
    "boolean": ParameterType.BOOLEAN,
}
_COMPARISONS = {
    ast.Eq: ComparisonOperator.EQUALS,
    ast.Gt: ComparisonOperator.GREATER_THAN,
    ast.GtE: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO,
    ast.Lt: ComparisonOperator.LESS_THAN,
    ast.LtE: ComparisonOperator.LESS_THAN_OR_EQUAL_TO,
}
_FLIPPED = {
    ComparisonOperator.EQUALS: ComparisonOperator.EQUALS,
    ComparisonOperator.GREATER_THAN: ComparisonOperator.LESS_THAN,
    ComparisonOperator.LESS_THAN: ComparisonOperator.GREATER_THAN,
    ComparisonOperator.GREATER_THAN_OR_EQUAL_TO: ComparisonOperator.LESS_THAN_OR_EQUAL_TO,
    ComparisonOperator.LESS_THAN_OR_EQUAL_TO: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO,
}
_CONDITION_TYPES = {operator.value: operator for operator in ComparisonOperator}
_NON_DEFAULT_JOINS = {
    "none_failed",
    "none_failed_min_one_success",
    "one_success",
    "all_done",
    "none_skipped",
    "none_failed_or_skipped",
    "one_done",
}


def load(
    source: str | bytes,
    *,
    name: str | None = None,
    diagnostics: Diagnostics | None = None,
    load_with_dagbag: bool = False,
    python: str | None = None,
) -> Workflow:
    """Read a DAG file into a validated Workflow.

    The file is parsed, never run, unless ``load_with_dagbag``: then it is also imported in a
    real Airflow's DagBag (in ``python``, this interpreter by default), and the configs that
    Airflow built replace the file's spelling of them (see ``_readers/dagbag.py``).

    Raises:
        InputError: not a Python file with one DAG; the message names the line.
        UsageError: ``load_with_dagbag`` with a Python that has no Airflow.
    """
    text = source.decode("utf-8-sig", errors="strict") if isinstance(source, bytes) else source
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise InputError(
            f"not valid Python: {error.msg}", location=f"line {error.lineno}"
        ) from None
    except ValueError as error:  # NUL bytes
        raise InputError(f"not valid Python: {error}") from None

    def read_file(ledger: Diagnostics) -> Workflow:
        reader = _DagReader(text, WorkflowBuilder("airflow", ledger))
        if load_with_dagbag:
            reader.loaded = dagbag.loaded_configs(text, python)
        reader.read(tree)
        return reader.build(name)

    # pipeglot's own DAG files carry what Airflow cannot hold in a provenance block (their
    # module docstring)
    return provenance.read(text, read_file, reader="airflow", diagnostics=diagnostics)


def _literal_node(value: Any, place: ast.expr) -> ast.expr:
    """``value`` (JSON data) as the expression that spells it, located at ``place``."""
    node = ast.parse(repr(value), mode="eval").body
    for part in ast.walk(node):
        ast.copy_location(part, place)
    return node


class _Computed(Exception):
    """A value that only running the file would give; ``args``: (the node, why)."""


@dataclass(slots=True)
class _XComArg:
    """``task.output``, optionally subscripted."""

    task: str  # a variable name
    path: tuple[Any, ...] = ()


@dataclass(slots=True)
class _Task:
    task_id: str
    operator: str
    call: ast.Call
    line: int
    arguments: dict[str, ast.expr]
    upstream: list[str] = field(default_factory=list)  # task ids
    callable_body: ast.FunctionDef | None = None
    steps: list[str] = field(default_factory=list)  # the step names it became
    result_steps: dict[str, str] = field(default_factory=dict)  # XCom key -> step


class _DagReader:
    def __init__(self, text: str, builder: WorkflowBuilder) -> None:
        self.text = text
        self.builder = builder
        self.loaded: dict[str, Any] | None = None  # task_id -> config, in DagBag mode
        self.imports: dict[str, str] = {}
        self.constants: dict[str, ast.expr] = {}
        self.functions: dict[str, ast.FunctionDef] = {}
        self.variables: dict[str, str] = {}  # variable -> task id
        self.tasks: dict[str, _Task] = {}
        self.dag_calls: list[ast.Call] = []
        self.default_args: dict[str, ast.expr] = {}
        self.dag_id: str | None = None
        self._evaluating: set[str] = set()
        self.classes: set[str] = set()
        # Operators the file derives from a provider job operator (pipeglot's check steps run
        # their processing job through one): read as that operator.
        self.operator_bases: dict[str, str] = {}
        self._literal_depth = 0  # inside a helper whose text Airflow does not render
        self._locals: list[dict[str, Any]] = []  # arguments of inlined builder functions
        self._where = ""

    # --- collecting -----------------------------------------------------------------------

    def read(self, tree: ast.Module) -> None:
        self._statements(tree.body)
        if not self.dag_calls:
            raise InputError(
                "the file defines no DAG (with DAG(...), @dag or DAG(...)); give a DAG file",
                location="line 1",
            )
        if len(self.dag_calls) > 1:
            lines = ", ".join(str(call.lineno) for call in self.dag_calls)
            raise InputError(
                f"the file defines {len(self.dag_calls)} DAGs (lines {lines}); pipeglot reads "
                "one pipeline per file: split the file",
                location=f"line {self.dag_calls[1].lineno}",
            )
        if not self.tasks:
            raise InputError("the DAG has no tasks", location=f"line {self.dag_calls[0].lineno}")

    def _statements(self, body: list[ast.stmt]) -> None:
        for statement in body:
            self._statement(statement)

    def _statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            self._import(node)
        elif isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and self._callee(call) == "DAG":
                    self._dag(call)
                elif isinstance(call, ast.Call) and self._callee(call) == "TaskGroup":
                    self.builder.approximated(
                        "task-group",
                        f"the TaskGroup at line {call.lineno} is flattened: its tasks are "
                        "steps of the pipeline (task ids keep the group's prefix)",
                    )
            self._statements(node.body)
        elif isinstance(node, ast.FunctionDef):
            self._function(node)
        elif isinstance(node, ast.ClassDef):
            self.classes.add(node.name)
            bases = [base.id for base in node.bases if isinstance(base, ast.Name)]
            if len(bases) == 1 and bases[0] in _JOB_OPERATORS:
                self.operator_bases[node.name] = bases[0]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            self._assignment(node)
        elif isinstance(node, ast.Expr):
            self._expression_statement(node.value)
        elif isinstance(node, ast.If | ast.For | ast.While | ast.Try):
            self.builder.unsupported(
                "control-flow",
                f"the {type(node).__name__.lower()} statement at line {node.lineno} builds the "
                "DAG by running code; its tasks are read as written, once",
            )
            self._statements([*node.body, *getattr(node, "orelse", [])])

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            full = f"{node.module}.{alias.name}" if isinstance(node, ast.ImportFrom) else alias.name
            self.imports[alias.asname or alias.name.split(".")[0]] = full

    def _callee(self, call: ast.Call) -> str:
        """The last name of what is called, through import aliases: 'SageMakerTrainingOperator'."""
        func = call.func
        if isinstance(func, ast.Name):
            return self.imports.get(func.id, func.id).rsplit(".", 1)[-1]
        if isinstance(func, ast.Attribute):
            return func.attr
        return ""

    def _dag(self, call: ast.Call) -> None:
        self.dag_calls.append(call)
        arguments = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
        dag_id = arguments.get("dag_id") or (call.args[0] if call.args else None)
        if dag_id is not None:
            value = self._try_value(dag_id)
            self.dag_id = value if isinstance(value, str) else None
        if "default_args" in arguments:
            default_args = self._resolve_node(arguments["default_args"])
            if isinstance(default_args, ast.Dict):
                self.default_args = {
                    key.value: value
                    for key, value in zip(default_args.keys, default_args.values, strict=True)
                    if isinstance(key, ast.Constant) and isinstance(key.value, str)
                }
        if "params" in arguments:
            self._params(arguments["params"])
        for key in sorted(set(arguments) - {"dag_id", "default_args", "params"}):
            what = (
                "schedule"
                if key in ("schedule", "schedule_interval", "timetable")
                else "DAG setting"
            )
            self.builder.dropped(
                "dag-argument",
                f"the {what} {key}= (line {arguments[key].lineno}) is not part of a SageMaker "
                "pipeline definition",
            )

    def _function(self, node: ast.FunctionDef) -> None:
        self.functions[node.name] = node
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = decorator.func if call else decorator
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if self.imports.get(name, name).rsplit(".", 1)[-1] == "dag":
                self._dag(call or ast.Call(func=target, args=[], keywords=[], lineno=node.lineno))
                self._statements(node.body)

    def _assignment(self, node: ast.Assign | ast.AnnAssign) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        if value is None:
            return
        names = [target.id for target in targets if isinstance(target, ast.Name)]
        task = self._task_expression(value)
        if task is not None:
            for name in names:
                self.variables[name] = task
            return
        if isinstance(value, ast.Call) and self._callee(value) == "DAG":
            self._dag(value)
            return
        for name in names:
            self.constants[name] = value
        if _is_dependency(value):  # x = a >> b
            self._flow(value)
        elif isinstance(value, ast.Call) and self.dag_calls:
            self._opaque_call(value)

    def _expression_statement(self, node: ast.expr) -> None:
        if _is_dependency(node):
            self._flow(node)
        elif isinstance(node, ast.Call):
            callee = self._callee(node)
            if callee == "chain":
                self._chain([self._flow(argument) for argument in node.args])
            elif callee == "cross_downstream" and len(node.args) == 2:
                upstream, downstream = (self._flow(argument) for argument in node.args)
                self._link(upstream, downstream)
            elif callee in ("set_downstream", "set_upstream") and isinstance(
                node.func, ast.Attribute
            ):
                this = self._flow(node.func.value)
                other = [task for argument in node.args for task in self._flow(argument)]
                if callee == "set_downstream":
                    self._link(this, other)
                else:
                    self._link(other, this)
            elif self._task_expression(node) is None:
                self._opaque_call(node)

    def _opaque_call(self, node: ast.Call) -> None:
        """A call of the file's own function may create tasks that only running it shows."""
        if isinstance(node.func, ast.Name) and node.func.id in self.functions:
            self.builder.unsupported(
                "task-factory",
                f"line {node.lineno}: {node.func.id}() is the file's own function; tasks it "
                "creates when the file runs are not read (write them in the DAG body)",
            )

    # --- tasks and edges ------------------------------------------------------------------

    def _task_expression(self, node: ast.expr) -> str | None:
        """The task id a task-creating call makes (recording the task), else None."""
        if not isinstance(node, ast.Call):
            return None
        if isinstance(node.func, ast.Name) and node.func.id in self._task_functions():
            return self._taskflow_call(node, self.functions[node.func.id])
        mapped = _mapped_call(node)
        if mapped is not None:  # Operator.partial(task_id=...).expand(...): one task per item
            task_id = self._task_expression(mapped)
            if task_id is not None:
                self.tasks[task_id].operator = f"{self.tasks[task_id].operator}.expand"
            return task_id
        arguments = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
        if "task_id" not in arguments:
            return None
        task_id = self._try_value(arguments["task_id"])
        if not isinstance(task_id, str):
            raise InputError(
                "the task_id must be a string the file spells out", location=f"line {node.lineno}"
            )
        if task_id in self.tasks:
            raise InputError(
                f"a second task is named {task_id!r} (the first is at line "
                f"{self.tasks[task_id].line}); task ids must be unique",
                location=f"line {node.lineno}",
            )
        operator = self._callee(node)
        callable_node = arguments.get("python_callable")
        body = None
        if isinstance(callable_node, ast.Name):
            body = self.functions.get(callable_node.id)
        self.tasks[task_id] = _Task(
            task_id, operator, node, node.lineno, arguments, callable_body=body
        )
        return task_id

    def _task_functions(self) -> dict[str, str]:
        """Functions decorated with @task / @task.branch: name -> 'task' or 'branch'."""
        found = {}
        for name, function in self.functions.items():
            for decorator in function.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                spelled = ast.unparse(target)
                if spelled in ("task", "task.python") or spelled.endswith(".task"):
                    found[name] = "task"
                elif spelled in ("task.branch",):
                    found[name] = "branch"
        return found

    def _taskflow_call(self, node: ast.Call, function: ast.FunctionDef) -> str:
        kind = self._task_functions()[function.name]
        task_id = function.name
        number = 2
        while task_id in self.tasks:
            task_id, number = f"{function.name}__{number}", number + 1
        operator = "BranchPythonOperator" if kind == "branch" else "PythonOperator"
        self.tasks[task_id] = _Task(
            task_id, operator, node, node.lineno, {}, callable_body=function
        )
        for argument in node.args:
            self._flow(argument)  # an XComArg passed in is an upstream task
        return task_id

    def _flow(self, node: ast.expr) -> list[str]:
        """The tasks an expression of a dependency statement stands for (its right end)."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift | ast.LShift):
            left, right = self._flow(node.left), self._flow(node.right)
            if isinstance(node.op, ast.RShift):
                self._link(left, right)
            else:
                self._link(right, left)
            return right
        if isinstance(node, ast.List | ast.Tuple):
            return [task for item in node.elts for task in self._flow(item)]
        if isinstance(node, ast.Name) and node.id in self.variables:
            return [self.variables[node.id]]
        if isinstance(node, ast.Attribute) and node.attr == "output":
            return self._flow(node.value)
        task = self._task_expression(node) if isinstance(node, ast.Call) else None
        if task is not None:
            return [task]
        if isinstance(node, ast.Call) and self._callee(node) == "chain":
            groups = [self._flow(argument) for argument in node.args]
            self._chain(groups)
            return groups[-1] if groups else []
        raise InputError(
            f"{ast.unparse(node)!r} is not a task of this DAG; define it before this line",
            location=f"line {node.lineno}",
        )

    def _chain(self, groups: list[list[str]]) -> None:
        for upstream, downstream in itertools.pairwise(groups):
            if len(upstream) > 1 and len(downstream) > 1:
                if len(upstream) != len(downstream):
                    raise InputError("chain() links lists of the same length only")
                for one, other in zip(upstream, downstream, strict=True):
                    self._link([one], [other])
            else:
                self._link(upstream, downstream)

    def _link(self, upstream: list[str], downstream: list[str]) -> None:
        for target in downstream:
            for source in upstream:
                if source not in self.tasks[target].upstream:
                    self.tasks[target].upstream.append(source)

    # --- values ---------------------------------------------------------------------------

    def _resolve_node(self, node: ast.expr) -> ast.expr:
        """Follow names of module-level constants to the expression they were assigned."""
        seen = set()
        while isinstance(node, ast.Name) and node.id in self.constants and node.id not in seen:
            seen.add(node.id)
            node = self.constants[node.id]
        return node

    def _try_value(self, node: ast.expr) -> Any:
        try:
            return self._literal(node)
        except _Computed:
            return None

    def _literal(self, node: ast.expr) -> Any:
        """A Python value spelled out in the file (constants followed); _Computed if not."""
        node = self._resolve_node(node)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Dict):
            out: dict[Any, Any] = {}
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:
                    spread = self._literal(value)
                    if not isinstance(spread, dict):
                        raise _Computed(value, "a ** spread of something that is not a dict")
                    out.update(spread)
                else:
                    out[self._literal(key)] = self._literal(value)
            return out
        if isinstance(node, ast.List | ast.Tuple):
            return [self._literal(item) for item in node.elts]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            value = self._literal(node.operand)
            if isinstance(value, int | float):
                return -value
        if isinstance(node, ast.JoinedStr):
            parts = [self._literal(part) for part in node.values]
            if all(isinstance(part, str) for part in parts):
                return "".join(parts)
        if isinstance(node, ast.FormattedValue) and node.format_spec is None:
            value = self._literal(node.value)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                return str(value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._literal(node.left), self._literal(node.right)
            if type(left) is type(right) and isinstance(left, str | int | float | list):
                return left + right
        if isinstance(node, ast.Call) and self._callee(node) == "dict" and not node.args:
            return {
                keyword.arg: self._literal(keyword.value)
                for keyword in node.keywords
                if keyword.arg
            }
        raise _Computed(node, "computed when the file runs")

    def _value(self, node: ast.expr, where: str, step: str) -> Any:
        """The IR value of an operator argument: literals, templates and XCom references; a
        part computed by code is reported and replaced by a placeholder (that part only)."""
        self._where = where
        try:
            return self._ir_value(node, step)
        except _Computed as error:
            culprit, why = error.args
            spelled = ast.get_source_segment(self.text, culprit) or ast.unparse(culprit)
            self.builder.unsupported(
                "computed-value",
                f"line {culprit.lineno} ({where}): {spelled!r} is {why}; SageMaker needs the "
                "value written out, so a placeholder stands in for it",
                step,
            )
            return f"pipeglot-unsupported: line {culprit.lineno}"

    def _ir_value(self, node: ast.expr, step: str) -> Any:
        if isinstance(node, ast.Name) and self._locals and node.id in self._locals[-1]:
            return self._locals[-1][node.id]
        node = self._resolve_node(node)
        if isinstance(node, ast.Call | ast.Attribute | ast.Subscript):
            built = self._built_value(node, step)
            if built is not _NOT_BUILT:
                return built
        if isinstance(node, ast.Constant):
            templated = not self._literal_depth and isinstance(node.value, str)
            if templated and jinja.has_template(node.value):
                return self._template(node.value, node, step)
            return node.value
        if isinstance(node, ast.Dict):
            out: dict[Any, Any] = {}
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:
                    spread = self._ir_value(value, step)
                    if not isinstance(spread, dict):
                        raise _Computed(value, "a ** spread of something that is not a dict")
                    out.update(spread)
                else:
                    out[self._literal(key)] = self._value(value, self._where, step)
            return out
        if isinstance(node, ast.List | ast.Tuple):
            return [self._value(item, self._where, step) for item in node.elts]
        if isinstance(node, ast.JoinedStr):
            values = [self._ir_value(part, step) for part in node.values]
            return _join(values)
        if isinstance(node, ast.FormattedValue) and node.format_spec is None:
            return self._ir_value(node.value, step)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._ir_value(node.left, step), self._ir_value(node.right, step)
            if isinstance(left, str | Join) or isinstance(right, str | Join):
                return _join([left, right])
            return self._literal(node)
        if isinstance(node, ast.Subscript | ast.Attribute):
            xcom = self._xcom_arg(node)
            if xcom is not None:
                return self._xcom(xcom.task, xcom.path, node, step)
        if (
            isinstance(node, ast.Call)
            and self._callee(node) in ("str", "int", "float")
            and len(node.args) == 1
        ):
            self.builder.approximated(
                "conversion",
                f"line {node.lineno}: {self._callee(node)}() is read as its argument; SageMaker "
                "passes values with their own types",
                step,
            )
            return self._ir_value(node.args[0], step)
        if (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) == "json.dumps"
            and len(node.args) == 1
        ):
            return self._ir_value(node.args[0], step)
        return self._literal(node)

    def _built_value(self, node: ast.expr, step: str) -> Any:
        """Values built by the file's own code that only assembles data: a function whose body
        is one ``return`` of an expression (inlined with its arguments), and the expression
        constructors of pipeglot's generated DAG files (``Parameter``, ``Get``, ``Join``,
        ``xcom(...)``, ``resolved``, ``request_with_job_name``) when the file defines them."""
        path: list[Any] = []
        current = node
        while isinstance(current, ast.Attribute | ast.Subscript):
            if isinstance(current, ast.Attribute):
                path.insert(0, current.attr)
            else:
                key = self._try_value(current.slice)
                if not isinstance(key, str | int):
                    return _NOT_BUILT
                path.insert(0, key)
            current = current.value
        if not isinstance(current, ast.Call) or not isinstance(current.func, ast.Name):
            return _NOT_BUILT
        name = current.func.id
        if name not in self.functions and name not in self.classes:
            return _NOT_BUILT
        # pipeglot's helpers evaluate their value when the task runs, and Airflow does not
        # render what a callable gives: its text is literal, {{ }} included.
        literal = name in _RUN_TIME_HELPERS
        self._literal_depth += literal
        try:
            arguments = [self._ir_value(argument, step) for argument in current.args]
        finally:
            self._literal_depth -= literal
        if name in ("xcom", "tuning_xcom") and arguments and isinstance(arguments[0], str):
            # pipeglot's DAG files: the path is the step's property path itself.
            task = self.tasks.get(arguments[0])
            if task is None:
                return _NOT_BUILT
            self._ensure_steps(task)
            if not task.steps:
                return _NOT_BUILT
            owner = self.builder.drafts[task.steps[-1]]
            parts = _property_path((*arguments[1:], *path), owner.arguments)
            return step_property(owner.name, parts)
        if path:
            return _NOT_BUILT
        if name == "Get" and len(arguments) == 1 and isinstance(arguments[0], str):
            return parse_get(arguments[0])
        if name == "Parameter" and len(arguments) == 1 and isinstance(arguments[0], str):
            return self._param(arguments[0], current)
        if name == "Join" and len(arguments) == 2 and isinstance(arguments[1], list):
            return Join(str(arguments[0]), tuple(arguments[1]))
        if name == "resolved" and len(arguments) == 1:
            return arguments[0]
        if name == "resolved_json" and len(arguments) == 1:  # a value sent as its JSON text
            return arguments[0]
        if (
            name == "PropertyFile"
            and len(arguments) == 3
            and all(isinstance(argument, str) for argument in arguments)
        ):
            producer, output, file_path = arguments
            uri = step_property(
                producer,
                _property_path(
                    ("ProcessingOutputConfig", "Outputs", output, "S3Output", "S3Uri"), None
                ),
            )
            return Join("/", (uri, file_path))
        if name == "JsonGet" and len(arguments) == 2 and isinstance(arguments[1], str):
            return JsonGet(arguments[1], s3_uri=arguments[0])
        if name == "request_with_job_name" and len(arguments) >= 2:
            request, field_name = arguments[0], arguments[1]
            if isinstance(request, dict) and isinstance(field_name, str):
                return {key: value for key, value in request.items() if key != field_name}
        function = self.functions.get(name)
        returned = _single_return(function) if function is not None else None
        if returned is None:
            return _NOT_BUILT
        bound = _bind(function, arguments, current, self, step)  # type: ignore[arg-type]
        if bound is None:
            return _NOT_BUILT
        self._locals.append(bound)
        try:
            return self._ir_value(returned, step)
        finally:
            self._locals.pop()

    def _xcom_arg(self, node: ast.expr) -> _XComArg | None:
        path: list[Any] = []
        while isinstance(node, ast.Subscript):
            key = self._try_value(node.slice)
            if not isinstance(key, str | int):
                return None
            path.insert(0, key)
            node = node.value
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "output"
            and isinstance(node.value, ast.Name)
            and node.value.id in self.variables
        ):
            return _XComArg(node.value.id, tuple(path))
        return None

    def _template(self, text: str, node: ast.expr, step: str) -> Any:
        try:
            parts = jinja.pieces(text)
        except jinja.TemplateError as error:
            raise _Computed(node, f"a template ({error}) that only Airflow can render") from None
        values = []
        for part in parts:
            if isinstance(part, jinja.ParamRead):
                values.append(self._param(part.name, node))
            elif isinstance(part, jinja.RunRead):
                self.builder.approximated(
                    "run-value",
                    f"line {node.lineno}: {{{{ {part.spelled} }}}} becomes Execution."
                    f"{part.variable}, which SageMaker spells differently",
                    step,
                )
                values.append(ExecutionVariable(part.variable))
            elif isinstance(part, jinja.XComRead):
                values.append(self._xcom_by_id(part.task_id, part.path, node, step))
            else:
                values.append(part)
        return _join(values)

    def _param(self, name: str, node: ast.expr) -> Any:
        if name not in self.builder.parameters:
            return self.builder.parameter(name, f"line {node.lineno}")
        return self.builder.parameter(name, f"line {node.lineno}", inferred=False)

    def _xcom(self, variable: str, path: tuple[Any, ...], node: ast.expr, step: str) -> Any:
        return self._xcom_by_id(self.variables[variable], path, node, step)

    def _xcom_by_id(self, task_id: str, path: tuple[Any, ...], node: ast.expr, step: str) -> Any:
        task = self.tasks.get(task_id)
        if task is None:
            raise InputError(
                f"the XCom of {task_id!r} is read, but no task of the DAG has that id",
                location=f"line {node.lineno}",
            )
        self._ensure_steps(task)
        if task.operator == "LambdaInvokeFunctionOperator":
            if len(path) != 1 or not isinstance(path[0], str):
                raise _Computed(node, "a read of a Lambda result other than one top-level key")
            draft = self.builder.drafts[task.steps[0]]
            draft.add_output(path[0])
            return step_property(draft.name, (Attribute("OutputParameters"), Key(path[0])))
        if not task.result_steps or not path or path[0] not in task.result_steps:
            raise _Computed(
                node,
                f"a read of {task_id!r}'s XCom that does not start with one of its result keys "
                f"({', '.join(task.result_steps) or 'none'})",
            )
        owner = task.result_steps[path[0]]
        draft = self.builder.drafts[owner]
        return step_property(owner, _property_path(path[1:], draft.arguments))

    # --- parameters -----------------------------------------------------------------------

    def _params(self, node: ast.expr) -> None:
        node = self._resolve_node(node)
        if not isinstance(node, ast.Dict):
            self.builder.unsupported(
                "params", f"line {node.lineno}: params must be a dict written in the file"
            )
            return
        for key, value in zip(node.keys, node.values, strict=True):
            name = self._try_value(key) if key is not None else None
            if not isinstance(name, str):
                continue
            self._param_declaration(name, self._resolve_node(value))

    def _param_declaration(self, name: str, node: ast.expr) -> None:
        where = f"line {node.lineno}"
        if isinstance(node, ast.Call) and self._callee(node) == "Param":
            arguments = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
            default_node = node.args[0] if node.args else arguments.get("default")
            default = self._try_value(default_node) if default_node is not None else MISSING
            type_name = self._try_value(arguments["type"]) if "type" in arguments else None
            if isinstance(type_name, list):
                type_name = next((t for t in type_name if t != "null"), None)
            enum = self._try_value(arguments["enum"]) if "enum" in arguments else None
            kind = _PARAM_TYPES.get(type_name) if type_name else _type_of(default)
            if kind is None:
                self.builder.approximated(
                    "param-type",
                    f"{where}: the Param {name!r} has type {type_name!r}, which SageMaker "
                    "parameters do not have; it becomes a String",
                )
                kind = ParameterType.STRING
            for extra in sorted(set(arguments) - {"default", "type", "enum", "description"}):
                self.builder.dropped(
                    "param-schema",
                    f"{where}: the Param {name!r}'s {extra}= has no SageMaker equivalent",
                )
        else:
            default = self._try_value(node)
            enum = None
            kind = _type_of(default) or ParameterType.STRING
        if default is None:
            default = MISSING
        enum_values = tuple(str(item) for item in enum) if isinstance(enum, list) else None
        self.builder.parameter(
            name, where, type=kind, default=default, enum_values=enum_values, inferred=False
        )

    # --- steps ----------------------------------------------------------------------------

    def build(self, name: str | None) -> Workflow:
        for task in self.tasks.values():
            self._ensure_steps(task)
        self._dependencies()
        return self.builder.build(name or self.dag_id)

    def _ensure_steps(self, task: _Task) -> None:
        if task.steps or task.operator in _PASS_THROUGH | _SENSORS or task.result_steps:
            return
        task.result_steps = {"": ""}  # being built (a task reading its own XCom)
        self._use_loaded_config(task)
        operator = task.operator
        if self._runtime_callable(task):
            pass
        elif operator in _JOB_OPERATORS:
            self._job(task, _JOB_OPERATORS[operator], task.arguments.get("config"))
        elif operator in self.operator_bases:
            self._derived_job(task, self.operator_bases[operator])
        elif operator == "SageMakerTransformOperator":
            self._transform(task)
        elif operator == "SageMakerEndpointOperator":
            self._endpoint(task)
        elif operator == "SageMakerRegisterModelVersionOperator":
            self._register(task)
        elif operator == "LambdaInvokeFunctionOperator":
            self._lambda(task)
        elif operator == "EmrAddStepsOperator":
            self._emr_step(task)
        elif operator in _EMR_CLUSTER_HELPERS and task.task_id.startswith("pipeglot."):
            pass  # the cluster pipeglot creates and ends around an EMR step: no step of its own
        elif operator == "SageMakerConditionOperator":
            self._condition_operator(task)
        elif operator in _BRANCHES:
            self._branch(task)
        else:
            self._placeholder(task, _why_unsupported(operator))
        task.result_steps.pop("", None)
        self._task_options(task)

    def _derived_job(self, task: _Task, base: str) -> None:
        self._job(task, _JOB_OPERATORS[base], task.arguments.get("config"))
        extra = sorted(set(task.arguments) - _RUNTIME_ARGUMENTS - _OPERATOR_INPUTS)
        self.builder.approximated(
            "derived-operator",
            f"line {task.line}: {task.operator} (a {base} the file defines) is read as a "
            f"{base}" + (f"; its {', '.join(extra)} are left out" if extra else ""),
            task.steps[-1] if task.steps else None,
        )
        for key in extra:  # reported above, not again as task arguments
            del task.arguments[key]

    def _use_loaded_config(self, task: _Task) -> None:
        """DagBag mode: the config Airflow built stands in for the file's spelling of it,
        unless it holds what JSON cannot (an XComArg), which only the spelling says."""
        node = task.arguments.get("config")
        if self.loaded is None or node is None or task.task_id not in self.loaded:
            return
        value = self.loaded[task.task_id]
        if dagbag.holds_opaque(value):
            return
        try:
            self._literal(node)
        except _Computed:
            self.builder.exact(
                "dagbag-config",
                f"line {task.line}: the config of {task.task_id!r} is built by code; it is "
                "read as Airflow built it when it loaded the file (DagBag)",
                task.task_id,
            )
        task.arguments["config"] = _literal_node(value, node)

    def _runtime_callable(self, task: _Task) -> bool:
        """The Python callables of pipeglot's generated DAG files, when the file defines them:
        ``fail_with(message)`` (a Fail step), ``branch_on(predicate, operands, if_steps,
        else_steps)`` (a Condition whose predicate returns one comparison) and
        ``sagemaker_request(request, "create_...", ...)`` (the step that API call makes)."""
        call = task.arguments.get("python_callable")
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
            return False
        name = call.func.id
        if name not in self.functions:
            return False
        if name == "fail_with" and len(call.args) == 1:
            draft = self._draft(task, StepKind.FAIL, "Fail")
            draft.arguments = {"ErrorMessage": self._value(call.args[0], "message", draft.name)}
            return True
        if name == "sagemaker_request" and len(call.args) >= 2:
            job = BOTO3_CREATE_APIS.get(str(self._try_value(call.args[1])))
            if job is None:
                return False
            draft = self._draft(task, job.kind, TYPE_OF_KIND[job.kind])
            request = self._value(call.args[0], "request", draft.name)
            if isinstance(request, dict) and job.name_field:
                request = {k: v for k, v in request.items() if k != job.name_field}
            draft.arguments = request
            task.result_steps[TYPE_OF_KIND[job.kind]] = draft.name
            return True
        if name == "branch_on" and len(call.args) >= 2:
            return self._branch_on(task, call)
        if name == "branch" and call.args:
            return self._branch_conditions(task, call)
        if name == "send_callback" and len(call.args) >= 2:
            return True  # the message a Callback step sends: read with its sensor, below
        if name == "callback_answer" and len(call.args) == 2:
            return self._callback_answer(task, call)
        if name == "lineage" and len(call.args) == 1:
            draft = self._draft(task, StepKind.LINEAGE, "Lineage")
            draft.arguments = self._value(call.args[0], "request", draft.name)
            task.result_steps["Lineage"] = draft.name
            return True
        return False

    def _branch_conditions(self, task: _Task, call: ast.Call) -> bool:
        """``branch(CONDITIONS, if_steps=..., else_steps=...)``: a Condition whose AND-ed
        conditions are written as in the definition."""
        keywords = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
        positional = list(call.args[1:3])
        if_node = keywords.get("if_steps", positional[0] if positional else None)
        else_node = keywords.get("else_steps", positional[1] if len(positional) > 1 else None)
        listed = self._value(call.args[0], "conditions", task.task_id)
        try:
            conditions = tuple(condition_from_json(item) for item in listed)
        except (ExpressionError, TypeError):
            return False
        draft = self._draft(task, StepKind.CONDITION, "Condition")
        draft.conditions = conditions
        self._branch_targets[draft.name] = (
            _task_ids(self._try_value(if_node)) if if_node is not None else [],
            _task_ids(self._try_value(else_node)) if else_node is not None else [],
        )
        return True

    def _callback_answer(self, task: _Task, call: ast.Call) -> bool:
        """A Callback step: the sensor waiting for the worker's answer, with the queue and
        the arguments of the ``send_callback`` task it names."""
        sender = self.tasks.get(str(self._try_value(call.args[0])))
        send = sender.arguments.get("python_callable") if sender is not None else None
        if not (isinstance(send, ast.Call) and self._callee(send) == "send_callback"):
            return False
        draft = self._draft(task, StepKind.CALLBACK, "Callback")
        draft.sqs_queue_url = self._value(send.args[0], "queue_url", draft.name)
        draft.arguments = self._value(send.args[1], "arguments", draft.name)
        outputs = self._try_value(call.args[1])
        for output, type_name in (outputs or {}).items() if isinstance(outputs, dict) else ():
            draft.add_output(str(output), str(type_name), replace=True)
        task.result_steps["OutputParameters"] = draft.name
        return True

    def _branch_on(self, task: _Task, call: ast.Call) -> bool:
        predicate = call.args[0]
        function = self.functions.get(predicate.id) if isinstance(predicate, ast.Name) else None
        returned = _single_return(function) if function is not None else None
        keywords = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
        positional = list(call.args[2:4])
        if_node = keywords.get("if_steps", positional[0] if positional else None)
        else_node = keywords.get("else_steps", positional[1] if len(positional) > 1 else None)
        if returned is None or if_node is None:
            return False
        draft = self._draft(task, StepKind.CONDITION, "Condition")
        operands = self._value(call.args[1], "operands", draft.name)
        names = [argument.arg for argument in function.args.args]  # type: ignore[union-attr]
        if not isinstance(operands, list) or len(operands) != len(names):
            return False
        local = {name: _Operand(value) for name, value in zip(names, operands, strict=True)}
        try:
            condition = self._python_condition(returned, local)  # type: ignore[arg-type]
        except (_Computed, KeyError):
            return False
        draft.conditions = (condition,)
        self._branch_targets[draft.name] = (
            _task_ids(self._try_value(if_node)),
            _task_ids(self._try_value(else_node)) if else_node is not None else [],
        )
        return True

    def _draft(self, task: _Task, kind: StepKind, type_name: str, suffix: str = "") -> Draft:
        step = self.builder.step_name(task.task_id + suffix, f"line {task.line}")
        draft = Draft(step, kind, type_name, f"line {task.line}")
        self.builder.add(draft)
        task.steps.append(step)
        return draft

    def _job(
        self, task: _Task, job: _JobOperator, config: ast.expr | None, suffix: str = ""
    ) -> Draft:
        draft = self._draft(task, job.kind, job.type_name, suffix)
        if config is None:
            raise InputError(
                f"the task {task.task_id!r} has no config=", location=f"line {task.line}"
            )
        arguments = self._config(config, job, draft.name)
        draft.arguments = self._strip_name(arguments, job, draft, task)
        task.result_steps[job.result_key] = draft.name
        return draft

    def _config(self, config: ast.expr, job: _JobOperator, step: str) -> Any:
        """The request; the job name SageMaker generates is read without reports."""
        node = self._resolve_node(config)
        if not (job.name_field and isinstance(node, ast.Dict)):
            return self._value(config, "config", step)
        out: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            name = self._try_value(key) if key is not None else None
            if name == job.name_field:
                ledger, self.builder.diagnostics = self.builder.diagnostics, Diagnostics()
                try:
                    out[name] = self._value(value, "config", step)
                finally:
                    self.builder.diagnostics = ledger
                continue
            part = self._value(ast.Dict(keys=[key], values=[value]), "config", step)
            if isinstance(part, dict):
                out.update(part)
        return out

    def _strip_name(self, arguments: Any, job: _JobOperator, draft: Draft, task: _Task) -> Any:
        if not isinstance(arguments, dict):
            return arguments
        arguments = dict(arguments)
        for key in ("S3Operations",):
            if key in arguments:
                del arguments[key]
                self.builder.dropped(
                    "s3-operations",
                    f"line {task.line}: S3Operations (uploads the provider does before the job) "
                    "are not part of the job; upload the files beforehand",
                    draft.name,
                )
        if job.name_field and job.name_field in arguments:
            given = arguments.pop(job.name_field)
            self.builder.exact(
                "job-name",
                f"{job.name_field} is left out: SageMaker names each execution's job itself",
                draft.name,
            )
            self._named.append(
                (job.name_field, given, step_property(draft.name, (Attribute(job.name_field),)))
            )
        self.builder.rename_job_references(arguments, self._named, draft.name)
        return arguments

    @property
    def _named(self) -> list[tuple[str, Any, StepProperty]]:
        if not hasattr(self, "_named_list"):
            self._named_list: list[tuple[str, Any, StepProperty]] = []
        return self._named_list

    def _transform(self, task: _Task) -> None:
        config = self._resolve_node(task.arguments.get("config") or ast.Constant(None))
        keys = _dict_keys(config, self)
        if "Transform" in keys:
            if "Model" in keys:
                self._job(task, _JOB_OPERATORS["SageMakerModelOperator"], keys["Model"], "-model")
            self._job(task, _TRANSFORM, keys["Transform"])
        else:
            self._job(task, _TRANSFORM, task.arguments.get("config"))

    def _endpoint(self, task: _Task) -> None:
        config = self._resolve_node(task.arguments.get("config") or ast.Constant(None))
        keys = _dict_keys(config, self)
        if "Endpoint" in keys:
            if "Model" in keys:
                self._job(task, _JOB_OPERATORS["SageMakerModelOperator"], keys["Model"], "-model")
            if "EndpointConfig" in keys:
                self._job(
                    task, _JOB_OPERATORS["SageMakerEndpointConfigOperator"],
                    keys["EndpointConfig"], "-config",
                )  # fmt: skip
            self._job(task, _ENDPOINT, keys["Endpoint"])
        else:
            self._job(task, _ENDPOINT, task.arguments.get("config"))
        operation = self._try_value(task.arguments.get("operation", ast.Constant("create")))
        if operation != "create":
            self.builder.approximated(
                "endpoint-update",
                f"line {task.line}: operation={operation!r} becomes an Endpoint step, which "
                "creates the endpoint or updates it when it exists",
                task.steps[-1],
            )

    def _register(self, task: _Task) -> None:
        draft = self._draft(task, StepKind.REGISTER_MODEL, "RegisterModel")
        value = lambda key: self._value(task.arguments[key], key, draft.name)  # noqa: E731
        missing = [
            key
            for key in ("image_uri", "model_url", "package_group_name")
            if key not in task.arguments
        ]
        if missing:
            raise InputError(f"the task needs {', '.join(missing)}", location=f"line {task.line}")
        approval = task.arguments.get("model_approval")
        approval_value = "PendingManualApproval"
        if approval is not None:
            spelled = ast.unparse(approval)
            approval_value = spelled.rsplit(".", 1)[-1].title().replace("_", "")
            literal = self._try_value(approval)
            if isinstance(literal, str):
                approval_value = literal
        arguments: dict[str, Any] = {
            "ModelPackageGroupName": value("package_group_name"),
            "InferenceSpecification": {
                "Containers": [{"Image": value("image_uri"), "ModelDataUrl": value("model_url")}],
                "SupportedContentTypes": [],
                "SupportedResponseMIMETypes": [],
            },
            "ModelApprovalStatus": approval_value,
        }
        if "package_desc" in task.arguments:
            arguments["ModelPackageDescription"] = value("package_desc")
        if "extras" in task.arguments:
            extras = value("extras")
            if isinstance(extras, dict):
                arguments.update(extras)
        draft.arguments = arguments
        self.builder.approximated(
            "register-model",
            f"line {task.line}: the operator's arguments are written as the CreateModelPackage "
            "request it sends (its package_group_desc creates the group, which the "
            "RegisterModel step expects to exist)",
            draft.name,
        )

    def _emr_step(self, task: _Task) -> None:
        """An EMR step as pipeglot's DAG files write it: the step (``steps=[...]``, one) on the
        cluster ``job_flow_id`` names, or on the one a ``pipeglot.create_cluster`` task makes."""
        draft = self._draft(task, StepKind.EMR, "EMR")
        steps = (
            self._value(task.arguments["steps"], "steps", draft.name)
            if "steps" in task.arguments
            else None
        )
        if not (isinstance(steps, list) and len(steps) == 1 and isinstance(steps[0], dict)):
            raise _Computed(task.call, "an EmrAddStepsOperator that adds other than one step")
        # Name and ActionOnFailure are what the DAG adds; SageMaker's StepConfig has neither.
        config = {k: v for k, v in steps[0].items() if k not in ("Name", "ActionOnFailure")}
        arguments: dict[str, Any] = {}
        flow = task.arguments.get("job_flow_id")
        creator = self._cluster_creator(flow)
        if creator is not None:
            arguments["ClusterConfig"] = self._cluster_config(creator, draft.name)
        elif flow is not None:
            arguments["ClusterId"] = self._value(flow, "job_flow_id", draft.name)
        arguments["StepConfig"] = config
        draft.arguments = arguments
        task.result_steps["EMR"] = draft.name

    def _cluster_creator(self, node: ast.expr | None) -> _Task | None:
        """The ``pipeglot.create_cluster`` task whose ``.output`` ``node`` is, if it is."""
        if not (isinstance(node, ast.Attribute) and node.attr == "output"):
            return None
        if not isinstance(node.value, ast.Name) or node.value.id not in self.variables:
            return None
        task = self.tasks.get(self.variables[node.value.id])
        return task if task is not None and task.operator == "EmrCreateJobFlowOperator" else None

    def _cluster_config(self, creator: _Task, step: str) -> Any:
        """The cluster a SageMaker EMR step creates, without what the DAG adds to run it
        (its name, and keeping it alive for the step)."""
        node = creator.arguments.get("job_flow_overrides")
        cluster = self._value(node, "job_flow_overrides", step) if node is not None else {}
        if not isinstance(cluster, dict):
            return cluster
        cluster = {key: value for key, value in cluster.items() if key != "Name"}
        instances = cluster.get("Instances")
        if isinstance(instances, dict) and instances.get("KeepJobFlowAliveWhenNoSteps") is True:
            cluster["Instances"] = {
                k: v for k, v in instances.items() if k != "KeepJobFlowAliveWhenNoSteps"
            }
        return cluster

    def _lambda(self, task: _Task) -> None:
        draft = self._draft(task, StepKind.LAMBDA, "Lambda")
        if "function_name" not in task.arguments:
            raise InputError("the task needs function_name=", location=f"line {task.line}")
        draft.function_arn = self._value(
            task.arguments["function_name"], "function_name", draft.name
        )
        payload: Any = {}
        if "payload" in task.arguments:
            payload = self._value(task.arguments["payload"], "payload", draft.name)
            if isinstance(payload, str):
                try:
                    payload = json.loads(payload)
                except json.JSONDecodeError:
                    payload = {"payload": payload}
                    self.builder.approximated(
                        "lambda-payload",
                        f"line {task.line}: the payload is not a JSON object; it is passed "
                        "as the Lambda step's input 'payload'",
                        draft.name,
                    )
            if not isinstance(payload, dict):
                payload = {"payload": payload}
        draft.arguments = payload
        for key in ("invocation_type", "qualifier", "client_context"):
            if key in task.arguments:
                self.builder.dropped(
                    "lambda-option",
                    f"line {task.line}: {key}= has no SageMaker Lambda step equivalent",
                    draft.name,
                )

    def _placeholder(self, task: _Task, why: str) -> None:
        draft = self._draft(task, StepKind.UNKNOWN, f"Airflow:{task.operator}")
        spelled = ast.get_source_segment(self.text, task.call) or task.operator
        draft.arguments = {"Operator": task.operator, "Source": spelled}
        self.builder.unsupported(
            "operator", f"line {task.line}: the task {task.task_id!r} ({task.operator}) {why}",
            draft.name,
        )  # fmt: skip

    def _task_options(self, task: _Task) -> None:
        if not task.steps:
            return
        final = self.builder.drafts[task.steps[-1]]
        for draft_name in task.steps:
            self._retries(task, self.builder.drafts[draft_name])
        if "doc_md" in task.arguments:
            final.description = self._try_value(task.arguments["doc_md"]) or MISSING
        if "task_display_name" in task.arguments:
            final.display_name = self._try_value(task.arguments["task_display_name"]) or MISSING
        wait = self._try_value(task.arguments.get("wait_for_completion", ast.Constant(True)))
        if wait is False:
            self.builder.approximated(
                "no-wait",
                f"line {task.line}: wait_for_completion=False only starts the job; the "
                "SageMaker step waits for it to end",
                final.name,
            )
        for key in sorted(set(task.arguments) - _RUNTIME_ARGUMENTS - _OPERATOR_INPUTS):
            self.builder.dropped(
                "task-argument",
                f"line {task.arguments[key].lineno}: {key}= of {task.task_id!r} has no "
                "SageMaker equivalent",
                final.name,
            )

    def _retries(self, task: _Task, draft: Draft) -> None:
        settings = {**self.default_args, **task.arguments}
        retries = self._try_value(settings["retries"]) if "retries" in settings else 0
        if not isinstance(retries, int) or retries <= 0:
            return
        if draft.kind not in RETRYABLE_KINDS:
            self.builder.dropped(
                "retries",
                f"line {task.line}: retries={retries}: SageMaker has no retry policies on "
                f"{draft.type_name} steps",
                draft.name,
            )
            return
        delay = _seconds(settings.get("retry_delay"), self) if "retry_delay" in settings else 300
        exponential = self._try_value(
            settings.get("retry_exponential_backoff", ast.Constant(False))
        )
        draft.retry_policies = [
            RetryPolicy(
                exception_types=JOB_RETRY_EXCEPTIONS,
                interval_seconds=delay if delay is not None else 300,
                backoff_rate=2.0 if exponential else 1.0,
                max_attempts=min(retries, MAX_ATTEMPTS),
            )
        ]
        self.builder.approximated(
            "retries",
            f"line {task.line}: retries={retries} retries any failure; SageMaker retries the "
            "service faults, throttling, resource limits, internal and capacity errors of the job",
            draft.name,
        )

    # --- conditions -----------------------------------------------------------------------

    def _condition_operator(self, task: _Task) -> None:
        draft = self._draft(task, StepKind.CONDITION, "Condition")
        arguments = task.arguments
        if "conditions" in arguments:
            raw = self._value(arguments["conditions"], "conditions", draft.name)
            items = raw if isinstance(raw, list) else []
            draft.conditions = tuple(self._provider_condition(item, task) for item in items)
        else:
            kind = self._try_value(arguments.get("condition_type", ast.Constant(None)))
            left = self._value(
                arguments.get("left_value", ast.Constant(None)), "left_value", draft.name
            )
            right = self._value(
                arguments.get("right_value", ast.Constant(None)), "right_value", draft.name
            )
            item = (
                {"type": "In", "value": left, "in_values": right}
                if kind == "In"
                else {"type": kind, "left_value": left, "right_value": right}
            )
            draft.conditions = (self._provider_condition(item, task),)
        self._branch_targets[draft.name] = (
            _task_ids(self._try_value(arguments.get("if_task_ids", ast.Constant([])))),
            _task_ids(self._try_value(arguments.get("else_task_ids", ast.Constant([])))),
        )
        if "else_task_ids" not in arguments:
            self.builder.approximated(
                "condition-else",
                f"line {task.line}: without else_task_ids the task fails the run when the "
                "condition is false; the SageMaker Condition runs no branch instead",
                draft.name,
            )

    @property
    def _branch_targets(self) -> dict[str, tuple[list[str], list[str]]]:
        if not hasattr(self, "_targets"):
            self._targets: dict[str, tuple[list[str], list[str]]] = {}
        return self._targets

    def _provider_condition(self, item: Any, task: _Task) -> Condition:
        if not isinstance(item, dict):
            raise InputError(
                "a condition must be a dict with a 'type'", location=f"line {task.line}"
            )
        kind = item.get("type")
        if kind == "Not":
            return Not(self._provider_condition(item.get("condition"), task))
        if kind == "Or":
            return Or(
                tuple(self._provider_condition(inner, task) for inner in item.get("conditions", []))
            )
        if kind == "In":
            return In(item.get("value"), tuple(item.get("in_values") or ()))
        if kind in _CONDITION_TYPES:
            left, right = item.get("left_value"), item.get("right_value")
            if kind != "Equals":  # the provider casts numeric strings: compared as numbers
                for side in (left, right):
                    self._numeric_output(side)
            return Comparison(_CONDITION_TYPES[kind], left, right)
        raise InputError(
            f"unknown condition type {kind!r}; use one of "
            + ", ".join([*_CONDITION_TYPES, "In", "Not", "Or"]),
            location=f"line {task.line}",
        )

    def _numeric_output(self, value: Any) -> None:
        """A Lambda output compared as a number is declared a Float output."""
        if isinstance(value, StepProperty) and value.path[:1] == (Attribute("OutputParameters"),):
            draft = self.builder.drafts.get(value.step)
            if draft is not None and isinstance(value.path[-1], Key | SelectByName):
                draft.add_output(value.path[-1].key, "Float", replace=True)

    def _branch(self, task: _Task) -> None:
        """A branch callable of the form ``if <comparison>: return 'a'`` ... ``return 'b'``."""
        function = task.callable_body
        decoded = self._decode_branch(function) if function is not None else None
        if decoded is None:
            self._placeholder(
                task,
                "chooses its branch in Python code that pipeglot cannot read as a condition "
                "(write it as `if <comparison>: return 'task'` ... `return 'other'`, or use "
                "SageMakerConditionOperator)",
            )
            return
        condition, if_ids, else_ids = decoded
        draft = self._draft(task, StepKind.CONDITION, "Condition")
        draft.conditions = (condition,)
        self._branch_targets[draft.name] = (if_ids, else_ids)
        self.builder.approximated(
            "branch-callable",
            f"line {task.line}: the branch callable {function.name!r} is read as the condition "  # type: ignore[union-attr]
            f"{ast.unparse(self._branch_test)!r}",
            draft.name,
        )

    def _decode_branch(
        self, function: ast.FunctionDef
    ) -> tuple[Condition, list[str], list[str]] | None:
        local: dict[str, ast.expr] = {}
        body = list(function.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        while body and isinstance(body[0], ast.Assign) and len(body[0].targets) == 1:
            target = body[0].targets[0]
            if not isinstance(target, ast.Name):
                return None
            local[target.id] = body[0].value
            body = body[1:]
        if len(body) not in (1, 2) or not isinstance(body[0], ast.If):
            return None
        branch = body[0]
        otherwise = branch.orelse or body[1:]
        if len(branch.body) != 1 or len(otherwise) != 1:
            return None
        if_ids = self._returned(branch.body[0])
        else_ids = self._returned(otherwise[0])
        if if_ids is None or else_ids is None:
            return None
        try:
            condition = self._python_condition(branch.test, local)
        except (_Computed, KeyError):
            return None
        self._branch_test = branch.test
        return condition, if_ids, else_ids

    def _returned(self, statement: ast.stmt) -> list[str] | None:
        if not isinstance(statement, ast.Return) or statement.value is None:
            return None
        value = self._try_value(statement.value)
        ids = _task_ids(value)
        return ids or None

    def _python_condition(self, node: ast.expr, local: dict[str, ast.expr]) -> Condition:
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            return Or(tuple(self._python_condition(value, local) for value in node.values))
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            inner = [self._python_condition(value, local) for value in node.values]
            return Not(Or(tuple(Not(condition) for condition in inner)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return Not(self._python_condition(node.operand, local))
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left = self._runtime_value(node.left, local)
            right = self._runtime_value(node.comparators[0], local)
            operator = node.ops[0]
            if isinstance(operator, ast.In) and isinstance(right, list):
                return In(left, tuple(right))
            if isinstance(operator, ast.NotEq):
                return Not(Comparison(ComparisonOperator.EQUALS, left, right))
            if type(operator) in _COMPARISONS:
                if not isinstance(operator, ast.Eq):
                    self._numeric_output(left)
                    self._numeric_output(right)
                return Comparison(_COMPARISONS[type(operator)], left, right)
        raise _Computed(node, "not a comparison")

    def _runtime_value(self, node: ast.expr, local: dict[str, ast.expr]) -> Any:
        """A value in a branch callable: a constant, a param, an XCom pull, float()/int()."""
        if isinstance(node, ast.Name) and node.id in local:
            bound = local[node.id]
            if isinstance(bound, _Operand):
                return bound.value
            return self._runtime_value(bound, local)
        if (
            isinstance(node, ast.Call)
            and self._callee(node) in ("float", "int", "str", "bool")
            and len(node.args) == 1
        ):
            return self._runtime_value(node.args[0], local)
        path: list[Any] = []
        current = node
        while isinstance(current, ast.Subscript):
            key = self._try_value(current.slice)
            if not isinstance(key, str | int):
                raise _Computed(node, "a computed subscript")
            path.insert(0, key)
            current = current.value
        if (
            isinstance(current, ast.Call)
            and isinstance(current.func, ast.Attribute)
            and current.func.attr == "xcom_pull"
        ):
            arguments = {keyword.arg: keyword.value for keyword in current.keywords if keyword.arg}
            source = arguments.get("task_ids") or (current.args[0] if current.args else None)
            task_id = self._try_value(source) if source is not None else None
            if isinstance(task_id, list) and len(task_id) == 1:
                task_id = task_id[0]
            if not isinstance(task_id, str):
                raise _Computed(node, "an XCom pull without a task id")
            return self._xcom_by_id(task_id, tuple(path), node, "")
        if path and _params_root(current):
            return self._param(str(path[0]), node)
        if len(path) == 2 and path[0] == "params" and isinstance(current, ast.Name):
            return self._param(str(path[1]), node)  # context["params"]["name"]
        if isinstance(current, ast.Attribute) and _params_root(current.value):
            return self._param(current.attr, node)
        return self._literal(node)

    # --- dependencies ---------------------------------------------------------------------

    def _dependencies(self) -> None:
        upstream_steps = self._upstream_steps()
        owner = self._place_branches(upstream_steps)
        for task in self.tasks.values():
            for step in task.steps[:1]:
                draft = self.builder.drafts[step]
                after = upstream_steps[task.task_id]
                branch_owner = owner.get(step)
                draft.after = [name for name in after if name != branch_owner]
            for previous, step in itertools.pairwise(task.steps):
                self.builder.drafts[step].after = [previous]

    def _upstream_steps(self) -> dict[str, list[str]]:
        """For each task, the last steps of its upstream tasks (through pass-through tasks)."""
        found: dict[str, list[str]] = {}

        def steps_of(task_id: str, seen: frozenset[str]) -> list[str]:
            if task_id in seen:
                raise InputError(
                    f"the task {task_id!r} depends on itself through a cycle",
                    location=f"line {self.tasks[task_id].line}",
                )
            task = self.tasks[task_id]
            if task.steps:
                return [task.steps[-1]]
            out: list[str] = []
            for upstream in task.upstream:
                for step in steps_of(upstream, seen | {task_id}):
                    if step not in out:
                        out.append(step)
            return out

        for task in self.tasks.values():
            out: list[str] = []
            for upstream in task.upstream:
                for step in steps_of(upstream, frozenset({task.task_id})):
                    if step not in out:
                        out.append(step)
            found[task.task_id] = out
        return found

    def _place_branches(self, upstream_steps: dict[str, list[str]]) -> dict[str, str]:
        """Put the steps each Condition chooses into its branches; return step -> Condition."""
        downstream: dict[str, list[str]] = {name: [] for name in self.builder.drafts}
        for task in self.tasks.values():
            if task.steps:
                for step in upstream_steps[task.task_id]:
                    downstream[step].append(task.steps[0])
        owner: dict[str, str] = {}
        for condition, (if_ids, else_ids) in self._branch_targets.items():
            if_region = self._region(if_ids, downstream)
            else_region = self._region(else_ids, downstream)
            shared = if_region & else_region
            draft = self.builder.drafts[condition]
            for region, branch in ((if_region, draft.if_steps), (else_region, draft.else_steps)):
                for step in self.builder.drafts:
                    if step in region and step not in shared:
                        branch.append(step)
                        owner[step] = condition
            for step in shared:
                self._join(step, condition, if_region | else_region, upstream_steps)
        return owner

    def _region(self, task_ids: list[str], downstream: dict[str, list[str]]) -> set[str]:
        region: set[str] = set()
        stack = []
        for task_id in task_ids:
            task = self.tasks.get(task_id)
            if task is None:
                raise InputError(f"the branch names {task_id!r}, which is not a task of the DAG")
            stack.extend(task.steps[:1] or self._first_steps_after(task))
        while stack:
            step = stack.pop()
            if step not in region:
                region.add(step)
                stack.extend(downstream[step])
        return region

    def _first_steps_after(self, task: _Task) -> list[str]:
        return [
            other.steps[0]
            for other in self.tasks.values()
            if task.task_id in other.upstream and other.steps
        ]

    def _join(
        self, step: str, condition: str, branches: set[str], upstream: dict[str, list[str]]
    ) -> None:
        task = next(task for task in self.tasks.values() if step in task.steps)
        rule = self._try_value(task.arguments.get("trigger_rule", ast.Constant("all_success")))
        rule = str(rule).rsplit(".", 1)[-1].lower()
        if rule not in _NON_DEFAULT_JOINS:
            return  # all_success: skipped when a branch is not taken, as in SageMaker
        kept = [name for name in upstream[task.task_id] if name not in branches]
        upstream[task.task_id] = [*kept, condition]
        self.builder.approximated(
            "branch-join",
            f"line {task.line}: {task.task_id!r} (trigger_rule={rule}) joins the branches of "
            f"{condition!r}; in SageMaker it runs once the condition is evaluated, alongside "
            "the branch, since steps that depend on a branch not taken never run",
            step,
        )


_OPERATOR_INPUTS = {
    "function_name", "payload", "invocation_type", "qualifier", "client_context",
    "operation", "image_uri", "model_url", "package_group_name", "package_group_desc",
    "package_desc", "model_approval", "extras", "conditions", "condition_type", "left_value",
    "right_value", "if_task_ids", "else_task_ids", "python_callable", "op_kwargs", "op_args",
    "job_flow_id", "steps", "job_flow_overrides", "emr_conn_id",
}  # fmt: skip


_NOT_BUILT: Any = object()


@dataclass(frozen=True, slots=True)
class _Operand:
    """An already-read value bound to a parameter of a branch predicate."""

    value: Any


def _single_return(function: ast.FunctionDef) -> ast.expr | None:
    """The expression a function returns when its body is only that ``return``."""
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
        return body[0].value
    return None


def _bind(
    function: ast.FunctionDef, values: list[Any], call: ast.Call, reader: Any, step: str
) -> dict[str, Any] | None:
    """The function's parameters bound to the call's (already read) arguments, or None."""
    spec = function.args
    if spec.vararg or spec.kwarg or spec.posonlyargs or spec.kwonlyargs:
        return None
    names = [argument.arg for argument in spec.args]
    bound: dict[str, Any] = dict(zip(names, values, strict=False))
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg not in names:
            return None
        bound[keyword.arg] = reader._ir_value(keyword.value, step)
    defaults = dict(zip(names[len(names) - len(spec.defaults) :], spec.defaults, strict=True))
    for name in names:
        if name not in bound:
            if name not in defaults:
                return None
            bound[name] = reader._ir_value(defaults[name], step)
    return bound


def _is_dependency(node: ast.expr) -> bool:
    """``a >> b``, ``a << b`` (and chains of them): a statement that orders tasks."""
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift | ast.LShift)


def _mapped_call(node: ast.Call) -> ast.Call | None:
    """The ``X.partial(...)`` call inside ``X.partial(...).expand(...)``, or None."""
    func = node.func
    if (
        isinstance(func, ast.Attribute)
        and func.attr in ("expand", "expand_kwargs")
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Attribute)
        and func.value.func.attr == "partial"
    ):
        inner = func.value
        return ast.Call(
            func=inner.func.value, args=inner.args, keywords=inner.keywords,
            lineno=inner.lineno, col_offset=inner.col_offset,
            end_lineno=inner.end_lineno, end_col_offset=inner.end_col_offset,
        )  # fmt: skip
    return None


def _why_unsupported(operator: str) -> str:
    if operator.endswith(".expand"):
        return (
            "is mapped over a list known only at run time (dynamic task mapping); SageMaker "
            "pipelines have a fixed set of steps"
        )
    if operator in ("PythonOperator", "PythonVirtualenvOperator", "ExternalPythonOperator"):
        return "runs arbitrary Python code, which a SageMaker pipeline runs only inside a job"
    return "has no SageMaker step equivalent"


def _join(values: list[Any]) -> Any:
    """Strings and expressions concatenated: one string, one expression, or a Std:Join."""
    flat: list[Any] = []
    for value in values:
        if isinstance(value, Join) and value.on == "":
            flat.extend(value.values)
        elif value != "":
            flat.append(value)
    merged: list[Any] = []
    for value in flat:
        if merged and isinstance(value, str) and isinstance(merged[-1], str):
            merged[-1] += value
        else:
            merged.append(value)
    if not merged:
        return ""
    if len(merged) == 1:
        return merged[0]
    return Join("", tuple(merged))


def _property_path(path: tuple[Any, ...], arguments: Any) -> tuple[Any, ...]:
    """An XCom path into a Describe* response as a property path (Outputs[0] by its name)."""
    parts: list[Any] = []
    container = arguments
    for token in path:
        if isinstance(token, int):
            owner = parts[-1].name if parts and isinstance(parts[-1], Attribute) else ""
            field_name = NAME_KEYED_LISTS.get(owner)
            item = (
                container[token]
                if isinstance(container, list) and 0 <= token < len(container)
                else None
            )
            if field_name and isinstance(item, dict) and isinstance(item.get(field_name), str):
                parts.append(Key(item[field_name]))
            else:
                parts.append(Index(token))
            container = item
        else:
            # A name after a name-keyed list selects its item by name (Outputs['train'])
            owner = parts[-1].name if parts and isinstance(parts[-1], Attribute) else ""
            by_name = owner in NAME_KEYED_LISTS or not token.isidentifier()
            parts.append(Key(token) if by_name else Attribute(token))
            if isinstance(container, dict):
                following = container.get(token)
                if following is None and token == "Outputs":
                    following = (container.get("ProcessingOutputConfig") or {}).get("Outputs")
                container = following
            else:
                container = None
    return tuple(parts)


def _dict_keys(node: ast.expr, reader: _DagReader) -> dict[str, ast.expr]:
    if not isinstance(node, ast.Dict):
        return {}
    return {
        key.value: value
        for key, value in zip(node.keys, node.values, strict=True)
        if isinstance(key, ast.Constant) and isinstance(key.value, str)
    }


def _task_ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return []


def _type_of(value: Any) -> ParameterType | None:
    if isinstance(value, bool):
        return ParameterType.BOOLEAN
    if isinstance(value, int):
        return ParameterType.INTEGER
    if isinstance(value, float):
        return ParameterType.FLOAT
    if isinstance(value, str):
        return ParameterType.STRING
    return None


def _seconds(node: ast.expr | None, reader: _DagReader) -> float | int | None:
    if node is None:
        return None
    node = reader._resolve_node(node)
    if isinstance(node, ast.Call) and reader._callee(node) == "timedelta":
        units = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
        total = 0.0
        for keyword in node.keywords:
            amount = reader._try_value(keyword.value)
            if keyword.arg not in units or not isinstance(amount, int | float):
                return None
            total += amount * units[keyword.arg]
        return int(total) if total.is_integer() else total
    value = reader._try_value(node)
    return value if isinstance(value, int | float) else None


def _params_root(node: ast.expr) -> bool:
    """``params`` or ``context['params']`` / ``kwargs['params']`` in a branch callable."""
    if isinstance(node, ast.Name) and node.id == "params":
        return True
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return node.slice.value == "params"
    return False
