"""Backend for Apache Airflow: one standalone DAG file per pipeline.

Each SageMaker step ``X`` becomes the task ``task_id="X"``, built on the SageMaker operators of
apache-airflow-providers-amazon. Requests are written as module constants equal to the source's
``Arguments``; expressions inside them (``Get``, ``Std:Join``, ``Std:JsonGet``) are small
run-time objects that the task evaluates when it starts, through a callable in the templated
field (see ``runtime.py``), so literal text is never rendered as Jinja. Every edge of the source
graph (DependsOn, data references, Condition branches) is an explicit ``>>``; a Condition is a
branch task, so the branch not taken and everything that depends on it are skipped.

Two profiles: Airflow 3 (default) and Airflow 2.10/2.11 (``airflow_version="2"``), which differ
only in import paths and in how retry backoff is written; both use only operators that provider
9.17.0 (the last release for Airflow 2.10) already has.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from pipeglot.backends.airflow import pysource
from pipeglot.backends.airflow.pysource import Atom, Doc, Group, call, literal, statement
from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import UsageError
from pipeglot.ir.expressions import (
    EXPRESSION_TYPES,
    ExecutionVariable,
    Join,
    JsonGet,
    PropertyFileRef,
    StepProperty,
    Value,
    condition_to_json,
    format_get,
)
from pipeglot.ir.graph import build_graph, topological_order
from pipeglot.ir.model import MISSING, Parameter, ParameterType, Step, StepKind, Workflow

EXTENSION = ".py"

_SAGEMAKER_OPERATORS = "airflow.providers.amazon.aws.operators.sagemaker"


@dataclass(frozen=True, slots=True)
class Profile:
    """What differs between Airflow major versions in a generated file."""

    version: str
    dag: tuple[str, str]  # (module, name) for each import
    param: tuple[str, str]
    fail_exception: tuple[str, str]
    python_operators: str  # module of PythonOperator and BranchPythonOperator
    float_backoff: bool  # retry_exponential_backoff is a multiplier (3.x) or a switch (2.x)


PROFILES: dict[str, Profile] = {
    "3": Profile(
        "3",
        dag=("airflow.sdk", "DAG"),
        param=("airflow.sdk", "Param"),
        fail_exception=("airflow.sdk.exceptions", "AirflowFailException"),
        python_operators="airflow.providers.standard.operators.python",
        float_backoff=True,
    ),
    "2": Profile(
        "2",
        dag=("airflow", "DAG"),
        param=("airflow.models.param", "Param"),
        fail_exception=("airflow.exceptions", "AirflowFailException"),
        python_operators="airflow.operators.python",
        float_backoff=False,
    ),
}

# The sections of runtime.py, in the order they are written: what each imports ("@field" is the
# profile's import) and which other sections it needs. A DAG file holds only the sections its
# pipeline uses, so that the scheduler, which parses the file again and again, compiles little.
_SECTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "expressions": ((), ()),
    "as_text": (("json",), ()),
    "get": ((), ("expressions",)),
    "parameters": ((), ()),
    "execution": (("datetime.UTC", "datetime.datetime"), ("execution_id",)),
    "experiment": ((), ("expressions", "execution_id")),
    "execution_id": (("hashlib",), ()),
    "steps": (("json", "re"), ()),
    "tuning": (("json", "re"), ("steps",)),
    "join": ((), ("expressions", "as_text")),
    "json_get": (("json", "re"), ("expressions", "as_text")),
    "property_file": ((), ("expressions", "steps")),
    "resolved": ((), ("expressions",)),
    "resolved_json": (("json",), ("expressions",)),
    "job_name": (("hashlib", "re"), ("expressions",)),
    "conditions": ((), ("expressions",)),
    "fail": (("@fail_exception",), ("expressions", "as_text")),
    "unsupported": (("@fail_exception",), ()),
    "request": (("json", "@fail_exception"), ()),
    "check_operator": ((f"{_SAGEMAKER_OPERATORS}.SageMakerProcessingOperator",), ()),
}

# The first part of a Get reference: the runtime section and function that read it.
_READERS = {
    "Parameters": ("parameters", "parameter"),
    "Execution": ("execution", "execution_variable"),
    "PipelineExperimentConfig": ("experiment", "experiment_value"),
    "Steps": ("steps", "step_property"),
}

_PARAM_TYPES = {
    ParameterType.STRING: "string",
    ParameterType.INTEGER: "integer",
    ParameterType.FLOAT: "number",
    ParameterType.BOOLEAN: "boolean",
}

# Execution variables whose Airflow value only stands in for SageMaker's.
_APPROXIMATE_VARIABLES = {
    "PipelineExecutionId": "a 12-character id derived from the DAG id and run_id",
    "PipelineExecutionArn": "'airflow:dag/<dag_id>/run/<run_id>' (Airflow runs have no ARN)",
    "PipelineArn": "'airflow:dag/<dag_id>' (a DAG has no ARN)",
    "StartDateTime": "the DAG run's start date in ISO 8601",
    "CurrentDateTime": "the time the task evaluates it, in ISO 8601",
}

_TASK_ID = re.compile(r"[\w.-]{1,250}")


def export(
    workflow: Workflow,
    *,
    diagnostics: Diagnostics | None = None,
    airflow_version: str | int = "3",
    **options: Any,
) -> str:
    """Render ``workflow`` as an Airflow DAG file (Python source text)."""
    if options:
        raise UsageError(f"the airflow backend has no option {', '.join(sorted(options))}")
    profile = PROFILES.get(str(airflow_version).split(".")[0])
    if profile is None:
        raise UsageError(f"unknown Airflow version {airflow_version!r}; use 3 or 2")
    ledger = Diagnostics() if diagnostics is None else diagnostics
    return _DagWriter(workflow, ledger, profile).write()


# --- The writer -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Task:
    """One task: the operator and its arguments (task_id and common arguments come first)."""

    operator: str
    arguments: dict[str, Doc]
    constants: list[tuple[str, Doc]] = field(default_factory=list)


class _DagWriter:
    def __init__(self, workflow: Workflow, diagnostics: Diagnostics, profile: Profile) -> None:
        self.workflow = workflow
        self.diagnostics = diagnostics
        self.profile = profile
        self.graph = build_graph(workflow)
        self.order = topological_order(workflow, self.graph)
        self.position = {name: index for index, name in enumerate(self.order)}
        self.modules: set[str] = set()
        self.names: dict[str, set[str]] = {}
        self.sections: set[str] = set()
        self.step_results: dict[str, tuple[str, str]] = {}
        self.identifiers = pysource.Identifiers(_runtime_names() | {"dag"})
        self.task_ids = self._task_ids()
        self.reported_variables: set[str] = set()
        self.current: Step | None = None

    # Output ----------------------------------------------------------------------------------

    def write(self) -> str:
        constants: list[str] = []
        tasks: list[str] = []
        for name in self.order:
            step = self.workflow.step(name)
            self.current = step
            task = self._task(step)
            variable = self.identifiers[name]
            for suffix, doc in task.constants:
                constants.append(statement(self.constant(name, suffix), doc))
            tasks.append(statement(variable, call(task.operator, **task.arguments), indent=1))
        self.current = None
        self._report_workflow()
        dag = self._dag_call()
        tables = self._tables()  # may need more sections: before the runtime is written
        body = [
            *self._runtime(),
            *tables,
            *constants,
            "with "
            + pysource.render(dag, 0, len("with "), len(" as dag:"))
            + " as dag:\n"
            + "\n".join(tasks),
        ]
        # One blank line after the imports before a statement, two before a def or class (as
        # ruff's isort and formatter want); two between top-level blocks.
        after_imports = "\n\n\n" if body[0].startswith(("def ", "class ")) else "\n\n"
        text = self._header() + "\n\n" + self._imports() + after_imports + "\n\n\n".join(body)
        edges = self._edges(self.order)
        if edges:
            text += "\n\n" + edges
        return pysource.mark_long_lines(text) + "\n"

    def _header(self) -> str:
        # The name is shown only in a safe spelling, on a line of its own (a single word, which
        # may exceed the line length), so no pipeline text can end the docstring.
        shown = re.sub(r"[^A-Za-z0-9._-]", "_", self.workflow.name or "pipeline")
        flag = " --airflow-version 2" if self.profile.version == "2" else ""
        command = f"pipeglot translate {shown}.json --to airflow{flag} -o {shown}.py"
        if len(command) > pysource.LINE_LENGTH - 4:
            command = f"pipeglot translate PIPELINE.json --to airflow{flag} -o DAG.py"
        return (
            f'"""Airflow {self.profile.version} DAG translated by pipeglot from the SageMaker '
            "pipeline\n\n"
            f"{shown}\n\n"
            "Generated code: change the pipeline and regenerate rather than edit this file:\n\n"
            f"    {command}\n"
            '"""\n\nfrom __future__ import annotations'
        )

    def _imports(self) -> str:
        stdlib = {name: members for name, members in self.names.items() if "airflow" not in name}
        airflow = {name: members for name, members in self.names.items() if "airflow" in name}
        blocks = [
            pysource.import_block(self.modules, stdlib),
            pysource.import_block(set(), airflow),
        ]
        return "\n\n".join(block for block in blocks if block)

    def _runtime(self) -> list[str]:
        text = resources.files(__package__).joinpath("runtime.py").read_text(encoding="utf-8")
        chunks = re.split(r"^# section: (\w+)\n", text, flags=re.MULTILINE)
        sections = dict(zip(chunks[1::2], chunks[2::2], strict=True))
        return [sections[name].strip() for name in _SECTIONS if name in self.sections]

    def _tables(self) -> list[str]:
        """The tables the runtime sections read: EXPERIMENT_CONFIG, STEP_RESULTS, READERS."""
        tables = []
        if "experiment" in self.sections:
            experiment: dict[str, Value] = {}
            config = self.workflow.experiment_config
            if config is not None and config.enabled:
                for key, value in (
                    ("ExperimentName", config.experiment_name),
                    ("TrialName", config.trial_name),
                ):
                    if value is not MISSING:
                        experiment[key] = value
            tables.append(statement("EXPERIMENT_CONFIG", self._value(experiment)))
        if "steps" in self.sections:
            results = Group(
                "{",
                tuple(
                    pysource.Entry(
                        pysource.string_literal(step),
                        ": ",
                        Group("(", (literal(task_id), literal(kind)), ")"),
                    )
                    for step, (task_id, kind) in sorted(self.step_results.items())
                ),
                "}",
            )
            tables.append(
                "# Each step that others read from: its task, and its SageMaker step type.\n"
                + statement("STEP_RESULTS", results)
            )
        if "get" in self.sections:
            functions = {root: function for root, (_, function) in _READERS.items()}
            if "tuning" in self.sections:
                functions["Steps"] = "tuning_step_property"
            readers = tuple(
                pysource.Entry(pysource.string_literal(root), ": ", Atom(functions[root]))
                for root, (section, _) in _READERS.items()
                if section in self.sections
            )
            tables.append(
                "# How Get reads each kind of reference.\n"
                + statement("READERS", Group("{", readers, "}"))
            )
        return tables

    def _dag_call(self) -> Group:
        dag_id = re.sub(r"[^A-Za-z0-9_.-]", "_", self.workflow.name or "pipeline")[:250]
        if dag_id != (self.workflow.name or "pipeline"):
            self.diagnostics.approximated(
                "airflow.dag_id",
                f"the pipeline name {self.workflow.name!r} is not a valid DAG id; the DAG id "
                f"is {dag_id!r}",
            )
        self._use("datetime.UTC", "datetime.datetime")
        arguments: dict[str, Doc] = {
            "dag_id": literal(dag_id),
            "schedule": Atom("None"),
            "start_date": Atom("datetime(2024, 1, 1, tzinfo=UTC)"),
            "catchup": Atom("False"),
        }
        parameters = self.workflow.parameter_list
        if parameters:
            self._use(".".join(self.profile.param))
            arguments["params"] = Group(
                "{",
                tuple(
                    pysource.Entry(pysource.string_literal(p.name), ": ", self._param(p))
                    for p in parameters
                ),
                "}",
            )
        arguments["tags"] = literal(["pipeglot", "sagemaker"])
        self._use(".".join(self.profile.dag))
        return call("DAG", **arguments)

    def _param(self, parameter: Parameter) -> Doc:
        args: list[Doc] = []
        if not parameter.required:
            args.append(literal(parameter.default))
        kwargs: dict[str, Doc] = {"type": literal(_PARAM_TYPES[parameter.type])}
        if parameter.enum_values is not None:
            kwargs["enum"] = literal(list(parameter.enum_values))
        if parameter.extra:
            self.diagnostics.dropped(
                "airflow.parameter_keys",
                f"parameter {parameter.name!r}: keys {', '.join(parameter.extra)} have no "
                "Airflow equivalent and are not translated",
            )
        return call("Param", *args, **kwargs)

    def _edges(self, order: list[str]) -> str:
        position = {name: index for index, name in enumerate(order)}
        lines = []
        for source in order:
            for target in sorted(self.graph.successors(source), key=position.__getitem__):
                lines.append(
                    f"{pysource.INDENT}{self.identifiers[source]} >> {self.identifiers[target]}"
                )
        return "\n".join(lines)

    def _report_workflow(self) -> None:
        config = self.workflow.experiment_config
        if config is not None and config.enabled:
            self.diagnostics.approximated(
                "airflow.experiment_config",
                "PipelineExperimentConfig: jobs are not added to a SageMaker experiment and "
                "trial as SageMaker Pipelines does; references to it still evaluate",
            )
        if self.workflow.mlflow_config not in (MISSING, None):
            self.diagnostics.dropped(
                "airflow.mlflow_config", "MlflowConfig has no Airflow equivalent; not translated"
            )
        if self.workflow.extra:
            self.diagnostics.dropped(
                "airflow.pipeline_keys",
                f"pipeline keys {', '.join(self.workflow.extra)} are not translated",
            )

    # Imports and names -----------------------------------------------------------------------

    def _use(self, *paths: str) -> None:
        """Import each dotted ``module.Name`` (``@field`` means the profile's import)."""
        for path in paths:
            if path.startswith("@"):
                module, name = getattr(self.profile, path[1:])
            elif "." in path:
                module, _, name = path.rpartition(".")
            else:
                self.modules.add(path)
                continue
            self.names.setdefault(module, set()).add(name)

    def constant(self, step: str, suffix: str) -> str:
        """The module constant holding one of ``step``'s values. Identifiers are unique and
        lower case, and only keywords end in "_" (class_), so this stays injective."""
        return f"{self.identifiers[step].rstrip('_').upper()}_{suffix}"

    def _need(self, section: str) -> None:
        """Copy ``section`` of runtime.py, and the sections it needs, into the DAG file."""
        if section not in self.sections:
            self.sections.add(section)
            imports, needs = _SECTIONS[section]
            self._use(*imports)
            for needed in needs:
                self._need(needed)

    def _task_ids(self) -> dict[str, str]:
        ids: dict[str, str] = {}
        taken = {step.name for step in self.workflow.steps if _TASK_ID.fullmatch(step.name)}
        for step in self.workflow.steps:
            if _TASK_ID.fullmatch(step.name):
                ids[step.name] = step.name
                continue
            base = re.sub(r"[^\w.-]", "_", step.name)[:240] or "step"
            candidate, number = base, 1
            while candidate in taken:
                number += 1
                candidate = f"{base}_{number}"
            taken.add(candidate)
            ids[step.name] = candidate
            self.diagnostics.approximated(
                "airflow.task_id",
                f"the step name is not a valid Airflow task id; its task is {candidate!r}",
                step.name,
            )
        return ids

    # Values ----------------------------------------------------------------------------------

    def _value(self, value: Value) -> Doc:
        """The literal layout of ``value``; expression nodes become run-time helper calls."""
        return literal(value, EXPRESSION_TYPES, self._expression)

    def _expression(self, node: Any) -> Doc:
        if isinstance(node, Join):
            self._need("join")
            return call("Join", literal(node.on), Group("[", self._values(node.values), "]"))
        if isinstance(node, JsonGet):
            self._need("json_get")
            if node.property_file is not None:
                source = self._property_file(node.property_file)
            else:
                source = self._value(node.s3_uri)
            return call("JsonGet", source, literal(node.path))
        if isinstance(node, StepProperty | PropertyFileRef):
            self._step_result(node.step, format_get(node))
        elif isinstance(node, ExecutionVariable):
            self._report_variable(node.name)
        reference = format_get(node)
        self._need("get")
        self._need(_READERS[reference.partition(".")[0]][0])
        return call("Get", literal(reference))

    def _values(self, values: tuple[Value, ...]) -> tuple[Doc, ...]:
        return tuple(self._value(value) for value in values)

    def _property_file(self, reference: PropertyFileRef) -> Doc:
        self._need("property_file")
        self._step_result(reference.step, format_get(reference))
        owner = self.workflow.step(reference.step)
        declared = {file.name: file for file in owner.property_files or ()}
        file = declared[reference.name]
        return call(
            "PropertyFile",
            literal(reference.step),
            literal(file.output_name),
            literal(file.file_path),
        )

    def _step_result(self, name: str, reference: str) -> None:
        step = self.workflow.step(name)
        kind = _RESULT_TYPES.get(step.kind)
        if kind is None:
            kind = step.type_name
            self.diagnostics.unsupported(
                "airflow.step_property",
                f"reads {reference}, but the Airflow task of the {step.type_name} step "
                f"{name!r} does not return its properties; the reference fails at run time",
                self.current.name if self.current else None,
            )
        if kind == "Tuning":
            self._need("tuning")  # reads TrainingJobSummaries, which Describe* lacks
        self.step_results[name] = (self.task_ids[name], kind)

    def _report_variable(self, name: str) -> None:
        if name in _APPROXIMATE_VARIABLES and name not in self.reported_variables:
            self.reported_variables.add(name)
            self.diagnostics.approximated(
                "airflow.execution_variable",
                f"Execution.{name} is {_APPROXIMATE_VARIABLES[name]}",
            )

    def _arguments(self, step: Step) -> dict[str, Value]:
        return step.arguments if isinstance(step.arguments, dict) else {}

    # Tasks -----------------------------------------------------------------------------------

    def _task(self, step: Step) -> _Task:
        handler = HANDLERS.get(step.kind)
        if handler is None:
            task = self._untranslated(step, UNSUPPORTED[step.kind])
        else:
            task = handler(self, step)
        arguments: dict[str, Doc] = {"task_id": literal(self.task_ids[step.name])}
        arguments.update(self._common(step))
        arguments.update(task.arguments)
        task.arguments = arguments
        return task

    def _common(self, step: Step) -> dict[str, Doc]:
        arguments: dict[str, Doc] = {}
        if isinstance(step.display_name, str):
            arguments["task_display_name"] = literal(step.display_name)
        if isinstance(step.description, str):
            arguments["doc_md"] = literal(step.description)
        arguments.update(self._retries(step))
        if step.cache_config is not None and step.cache_config.enabled is not False:
            self.diagnostics.dropped(
                "airflow.cache_config",
                "CacheConfig: Airflow has no step cache, so the step always runs (SageMaker "
                "would reuse a previous successful run within ExpireAfter)",
                step.name,
            )
        if step.extra:
            self.diagnostics.dropped(
                "airflow.step_keys",
                f"keys {', '.join(step.extra)} are not translated",
                step.name,
            )
        return arguments

    def _retries(self, step: Step) -> dict[str, Doc]:
        policies = step.retry_policies or ()
        if not policies:
            return {}
        attempts, interval, rate = 0, None, 1.0
        for policy in policies:
            step_interval = _number(policy.interval_seconds, 1)
            step_rate = _number(policy.backoff_rate, 2.0)
            if policy.expire_after_min is not MISSING:
                window = _number(policy.expire_after_min, 0) * 60
                count = _attempts_within(window, step_interval, step_rate)
            else:
                count = int(_number(policy.max_attempts, 5))
            attempts = max(attempts, count)
            interval = step_interval if interval is None else min(interval, step_interval)
            rate = max(rate, step_rate)
        self._use("datetime.timedelta")
        arguments: dict[str, Doc] = {
            "retries": Atom(str(attempts)),
            "retry_delay": Atom(f"timedelta(seconds={pysource.number_literal(interval or 1)})"),
        }
        backoff = ""
        if rate > 1:
            if self.profile.float_backoff:
                arguments["retry_exponential_backoff"] = Atom(pysource.number_literal(rate))
            else:
                arguments["retry_exponential_backoff"] = Atom("True")
                if rate != 2:
                    backoff = f"; Airflow 2 doubles the delay where SageMaker multiplies by {rate}"
        types = sorted({kind for policy in policies for kind in policy.exception_types})
        self.diagnostics.approximated(
            "airflow.retry_policy",
            f"RetryPolicies: the task retries up to {attempts} times after any failure, not "
            f"only {', '.join(types)}; a retry starts a new job with a new name{backoff}",
            step.name,
        )
        return arguments

    def _job(self, operator: str, step: Step, name_key: str | None, max_length: int = 63) -> _Task:
        """A provider operator that takes the request as ``config``."""
        self._use(f"{_SAGEMAKER_OPERATORS}.{operator}")
        return _Task(
            operator,
            {"config": self._request(step, name_key, max_length)},
            constants=[("REQUEST", self._value(self._arguments(step)))],
        )

    def _request(self, step: Step, name_key: str | None, max_length: int = 63) -> Doc:
        """The callable that builds the step's request (its REQUEST constant) at run time."""
        constant = Atom(self.constant(step.name, "REQUEST"))
        if name_key is None:
            self._need("resolved")
            return call("resolved", constant)
        self._need("job_name")
        extra = {"max_length": Atom(str(max_length))} if max_length != 63 else {}
        return call("request_with_job_name", constant, literal(name_key), **extra)

    def _untranslated(self, step: Step, reason: str) -> _Task:
        self.diagnostics.unsupported(
            f"airflow.{step.kind.value}",
            f"{reason}; the DAG has a placeholder task that fails when it runs",
            step.name,
        )
        self._need("unsupported")
        self._use(f"{self.profile.python_operators}.PythonOperator")
        return _Task(
            "PythonOperator",
            {"python_callable": call("untranslated", literal(step.type_name), literal(reason))},
        )


def _number(value: Value, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return default


def _attempts_within(window: float, interval: float, rate: float) -> int:
    """How many retries SageMaker starts within ExpireAfterMin (delays grow by ``rate``)."""
    count, elapsed, delay = 0, 0.0, interval
    while elapsed + delay <= window and count < 1000:
        elapsed += delay
        delay *= rate
        count += 1
    return count


def _runtime_names() -> set[str]:
    text = resources.files(__package__).joinpath("runtime.py").read_text(encoding="utf-8")
    names = set(re.findall(r"^(?:def|class) (\w+)", text, flags=re.MULTILINE))
    names |= set(re.findall(r"^([A-Z_]+)\b", text, flags=re.MULTILINE))
    return names | {
        "datetime",
        "timedelta",
        "UTC",
        "hashlib",
        "json",
        "re",
        "annotations",
    }


# --- Step kinds -----------------------------------------------------------------------------

# How later steps read a step's result: its SageMaker type (see runtime.py step_property).
_RESULT_TYPES: dict[StepKind, str] = {
    StepKind.PROCESSING: "Processing",
    StepKind.TRAINING: "Training",
    StepKind.FUNCTION: "Training",
    StepKind.NOTEBOOK_JOB: "Training",
    StepKind.TRANSFORM: "Transform",
    StepKind.TUNING: "Tuning",
    StepKind.MODEL: "Model",
    StepKind.ENDPOINT_CONFIG: "EndpointConfig",
    StepKind.ENDPOINT: "Endpoint",
    StepKind.REGISTER_MODEL: "RegisterModel",
    StepKind.AUTOML: "AutoML",
    StepKind.INFERENCE_COMPONENT: "InferenceComponent",
    StepKind.QUALITY_CHECK: "QualityCheck",
    StepKind.CLARIFY_CHECK: "ClarifyCheck",
    StepKind.LAMBDA: "Lambda",
    StepKind.CONDITION: "Condition",
}


def _processing(writer: _DagWriter, step: Step) -> _Task:
    return writer._job("SageMakerProcessingOperator", step, "ProcessingJobName")


def _training(writer: _DagWriter, step: Step) -> _Task:
    return writer._job("SageMakerTrainingOperator", step, "TrainingJobName")


def _transform(writer: _DagWriter, step: Step) -> _Task:
    return writer._job("SageMakerTransformOperator", step, "TransformJobName")


def _tuning(writer: _DagWriter, step: Step) -> _Task:
    # CreateHyperParameterTuningJob names are at most 32 characters.
    return writer._job("SageMakerTuningOperator", step, "HyperParameterTuningJobName", 32)


def _model(writer: _DagWriter, step: Step) -> _Task:
    return writer._job("SageMakerModelOperator", step, "ModelName")


def _endpoint_config(writer: _DagWriter, step: Step) -> _Task:
    # EndpointConfigName and EndpointName are part of the source request, as in SageMaker.
    return writer._job("SageMakerEndpointConfigOperator", step, None)


def _endpoint(writer: _DagWriter, step: Step) -> _Task:
    return writer._job("SageMakerEndpointOperator", step, None)


def _sagemaker_request(action: str, describe: str, name_key: str, status_key: str, **job: Any):
    """A step sent as one SageMaker request by the generated ``sagemaker_request`` callable."""

    def handler(writer: _DagWriter, step: Step) -> _Task:
        writer._need("request")
        writer._use(f"{writer.profile.python_operators}.PythonOperator")
        request = writer._request(step, job.get("job_name"), job.get("max", 63))
        sender = call(
            "sagemaker_request",
            request,
            literal(action),
            literal(describe),
            literal(name_key),
            literal(status_key),
        )
        return _Task(
            "PythonOperator",
            {"python_callable": sender},
            constants=[("REQUEST", writer._value(writer._arguments(step)))],
        )

    return handler


def _check(writer: _DagWriter, step: Step) -> _Task:
    writer._need("check_operator")
    writer._need("resolved")
    task = _Task(
        "SageMakerCheckOperator",
        {"config": writer._request(step, "ProcessingJobName")},
        constants=[
            ("REQUEST", writer._value(writer._arguments(step))),
            ("CHECK", writer._value(dict(step.check))),
        ],
    )
    constant = writer.constant(step.name, "CHECK")
    task.arguments["check"] = call("resolved", Atom(constant))
    writer.diagnostics.approximated(
        f"airflow.{step.kind.value}",
        f"{step.type_name}: runs the check's processing job and provides its baseline "
        "properties; SkipCheck, FailOnViolation and RegisterNewBaseline are not evaluated "
        "by SageMaker's rules (a violation fails the step only if the job itself fails)",
        step.name,
    )
    return task


def _condition(writer: _DagWriter, step: Step) -> _Task:
    writer._need("conditions")
    writer._use(f"{writer.profile.python_operators}.BranchPythonOperator")
    branches = {*step.if_steps, *step.else_steps}
    followers = (name for name in writer.graph.successors(step.name) if name not in branches)
    always = [writer.task_ids[name] for name in sorted(followers, key=writer.position.__getitem__)]
    constant = writer.constant(step.name, "CONDITIONS")
    conditions = [condition_to_json(condition) for condition in step.conditions]
    arguments: dict[str, Doc] = {
        "if_steps": literal([writer.task_ids[name] for name in step.if_steps]),
        "else_steps": literal([writer.task_ids[name] for name in step.else_steps]),
    }
    if always:
        arguments["always"] = literal(always)
    if writer._arguments(step):
        writer.diagnostics.dropped(
            "airflow.condition_arguments",
            f"Condition arguments {', '.join(writer._arguments(step))} are not translated",
            step.name,
        )
    return _Task(
        "BranchPythonOperator",
        {"python_callable": call("branch", Atom(constant), **arguments)},
        constants=[("CONDITIONS", writer._value(conditions))],
    )


def _fail(writer: _DagWriter, step: Step) -> _Task:
    writer._need("fail")
    writer._use(f"{writer.profile.python_operators}.PythonOperator")
    message = step.error_message if step.error_message is not None else ""
    writer.diagnostics.approximated(
        "airflow.fail",
        "Fail: the task fails the DAG run with the message; steps that do not depend on it "
        "may still start, where SageMaker starts no new steps",
        step.name,
    )
    return _Task("PythonOperator", {"python_callable": call("fail_with", writer._value(message))})


def _lambda(writer: _DagWriter, step: Step) -> _Task:
    writer._need("resolved")
    writer._need("resolved_json")
    writer._use(
        "airflow.providers.amazon.aws.operators.lambda_function.LambdaInvokeFunctionOperator"
    )
    constant = writer.constant(step.name, "PAYLOAD")
    return _Task(
        "LambdaInvokeFunctionOperator",
        {
            "function_name": call("resolved", writer._value(step.function_arn)),
            "payload": call("resolved_json", Atom(constant)),
        },
        constants=[("PAYLOAD", writer._value(writer._arguments(step)))],
    )


def _emr(writer: _DagWriter, step: Step) -> _Task:
    arguments = writer._arguments(step)
    if "ClusterId" not in arguments or set(arguments) - {
        "ClusterId",
        "StepConfig",
        "ExecutionRoleArn",
    }:
        return writer._untranslated(
            step,
            "an EMR step that creates its own cluster (ClusterConfig) has no single-operator "
            "equivalent; run it on an existing cluster (ClusterId) or split it by hand",
        )
    writer._need("resolved")
    writer._use("airflow.providers.amazon.aws.operators.emr.EmrAddStepsOperator")
    emr_step = {"Name": step.name, "ActionOnFailure": "CONTINUE"}
    config = arguments.get("StepConfig")
    if isinstance(config, dict):
        emr_step.update(config)
    task_arguments: dict[str, Doc] = {
        "job_flow_id": call("resolved", writer._value(arguments["ClusterId"])),
        "steps": call("resolved", writer._value([emr_step])),
        "wait_for_completion": Atom("True"),
    }
    if "ExecutionRoleArn" in arguments:
        task_arguments["execution_role_arn"] = call(
            "resolved", writer._value(arguments["ExecutionRoleArn"])
        )
    writer.diagnostics.approximated(
        "airflow.emr",
        "EMR: the step is added to the cluster with Name = the step name and "
        "ActionOnFailure CONTINUE (SageMaker chooses these itself)",
        step.name,
    )
    return _Task("EmrAddStepsOperator", task_arguments)


HANDLERS: dict[StepKind, Callable[[_DagWriter, Step], _Task]] = {
    StepKind.PROCESSING: _processing,
    StepKind.TRAINING: _training,
    StepKind.FUNCTION: _training,
    StepKind.NOTEBOOK_JOB: _training,
    StepKind.TRANSFORM: _transform,
    StepKind.TUNING: _tuning,
    StepKind.MODEL: _model,
    StepKind.ENDPOINT_CONFIG: _endpoint_config,
    StepKind.ENDPOINT: _endpoint,
    StepKind.REGISTER_MODEL: _sagemaker_request(
        "create_model_package", "describe_model_package", "ModelPackageName", "ModelPackageStatus"
    ),
    StepKind.AUTOML: _sagemaker_request(
        "create_auto_ml_job",
        "describe_auto_ml_job",
        "AutoMLJobName",
        "AutoMLJobStatus",
        job_name="AutoMLJobName",
        max=32,
    ),
    StepKind.INFERENCE_COMPONENT: _sagemaker_request(
        "create_inference_component",
        "describe_inference_component",
        "InferenceComponentName",
        "InferenceComponentStatus",
    ),
    StepKind.QUALITY_CHECK: _check,
    StepKind.CLARIFY_CHECK: _check,
    StepKind.CONDITION: _condition,
    StepKind.FAIL: _fail,
    StepKind.LAMBDA: _lambda,
    StepKind.EMR: _emr,
}

# Kinds with no faithful Airflow translation, and why (the placeholder task says the same).
UNSUPPORTED: dict[StepKind, str] = {
    StepKind.CALLBACK: (
        "a Callback step waits for SendPipelineExecutionStepSuccess with a SageMaker callback "
        "token; Airflow has no such token protocol"
    ),
    StepKind.EMR_SERVERLESS: "EMRServerless steps are not translated yet",
    StepKind.LINEAGE: "Lineage steps (SageMaker lineage entities) are not translated yet",
    StepKind.UNKNOWN: "pipeglot does not know this step type",
}
