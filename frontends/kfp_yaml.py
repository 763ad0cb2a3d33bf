"""Frontend for Kubeflow Pipelines v2 compiled pipeline specs (the IR YAML the compiler writes).

A compiled spec is data: the root DAG's tasks with their ``dependentTasks``, input bindings
(pipeline parameters, constants, other tasks' outputs), ``triggerPolicy`` conditions (CEL),
``retryPolicy`` and ``cachingOptions``, and one executor per component. What maps onto
SageMaker:

- tasks of the SageMaker Components for KFP (v2, ``aws-sagemaker-kfp-components`` image:
  TrainingJob, Model, EndpointConfig, Endpoint) become steps of the same kind, their request
  fields converted from the components' ACK spelling (``s3URI``) to the API's (``S3Uri``);
- ``dsl.If`` / ``Elif`` / ``Else`` groups become Condition steps; root inputs become
  parameters with their types and defaults; ``set_retry`` becomes RetryPolicies.

Python and container components run arbitrary code on Kubernetes: each is reported unsupported
with its task's JSON pointer, and a placeholder step keeps its image, command and arguments.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pipeglot import provenance
from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import InputError, UsageError
from pipeglot.frontends._readers.build import Draft, WorkflowBuilder
from pipeglot.frontends._readers.integrations import RETRYABLE_KINDS, generated_name_field
from pipeglot.ir.expressions import (
    EXPRESSION_KEYS,
    Attribute,
    Comparison,
    ComparisonOperator,
    Condition,
    ExecutionVariable,
    ExpressionError,
    Join,
    Not,
    Or,
    StepProperty,
    condition_from_json,
    expression_from_json,
)
from pipeglot.ir.model import (
    MISSING,
    TYPE_OF_KIND,
    CacheConfig,
    ParameterType,
    RetryPolicy,
    StepKind,
    Workflow,
)
from pipeglot.ir.sagemaker import JOB_RETRY_EXCEPTIONS, MAX_ATTEMPTS

READS_TEXT = True
RECORDS_DIAGNOSTICS = True

_PARAMETER_TYPES = {
    "STRING": ParameterType.STRING,
    "NUMBER_INTEGER": ParameterType.INTEGER,
    "NUMBER_DOUBLE": ParameterType.FLOAT,
    "BOOLEAN": ParameterType.BOOLEAN,
}
_SAGEMAKER_IMAGE = "aws-sagemaker-kfp-components"
# The components pipeglot's kfp writer generates, by name, and the step kinds they run.
_GENERATED_KINDS = {
    "processing-job": StepKind.PROCESSING,
    "training-job": StepKind.TRAINING,
    "transform-job": StepKind.TRANSFORM,
    "tuning-job": StepKind.TUNING,
    "automl-job": StepKind.AUTOML,
    "model": StepKind.MODEL,
    "model-package": StepKind.REGISTER_MODEL,
    "endpoint-config": StepKind.ENDPOINT_CONFIG,
    "endpoint": StepKind.ENDPOINT,
    "inference-component": StepKind.INFERENCE_COMPONENT,
    "emr-step": StepKind.EMR,
    "emr-serverless-job": StepKind.EMR_SERVERLESS,
    "lineage": StepKind.LINEAGE,
    "fail": StepKind.FAIL,
    "lambda-function": StepKind.LAMBDA,
    "callback": StepKind.CALLBACK,
    "condition-step": StepKind.CONDITION,
    # A check step runs its check's processing job; the check itself is not in the request.
    "quality-check": StepKind.PROCESSING,
    "clarify-check": StepKind.PROCESSING,
}
# The dsl.If test on a Condition component's branch output: which branch the group holds.
_BRANCH_TEST = re.compile(
    r"^(?P<negated>!\()?inputs\.parameter_values\['(?P<input>[^']+)'\] == "
    r"'(?P<branch>IfSteps|ElseSteps)'\)?$"
)
_COMPONENT_SCRIPT = re.compile(r"^(?P<folder>[A-Za-z0-9]+)/src/[A-Za-z0-9]+_component\.py$")
# SageMaker Components for KFP v2 (their source folders) -> the step kind each runs.
_COMPONENTS = {
    "TrainingJob": StepKind.TRAINING,
    "Model": StepKind.MODEL,
    "Modelv2": StepKind.MODEL,
    "EndpointConfig": StepKind.ENDPOINT_CONFIG,
    "Endpoint": StepKind.ENDPOINT,
}
# Inputs of those components that are maps of the user's own keys (no spelling to convert).
_USER_MAPS = {"hyper_parameters", "environment"}
_NOT_REQUEST = {"region"}  # the component's own settings
# ACK spells acronyms in capitals where the SageMaker API capitalises only their first letter.
_ACK_SPELLINGS = (("URI", "Uri"), ("ARN", "Arn"), ("KMSKeyID", "KmsKeyId"), ("VPC", "Vpc"))
_PLACEHOLDER = re.compile(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}")
_RUN_PLACEHOLDERS = {
    "{{$.pipeline_job_uuid}}": "PipelineExecutionId",
    "{{$.pipeline_job_name}}": "PipelineExecutionId",
    "{{$.pipeline_job_resource_name}}": "PipelineExecutionArn",
    "{{$.pipeline_job_create_time_utc}}": "StartDateTime",
}
_CEL_COMPARISON = re.compile(
    r"^(?:(?:int|double|string)\()?inputs\.parameter_values\['(?P<name>[^']+)'\]\)?\s*"
    r"(?P<op>==|!=|<=|>=|<|>)\s*(?P<right>.+)$"
)
_OPERATORS = {
    "==": ComparisonOperator.EQUALS,
    "<": ComparisonOperator.LESS_THAN,
    ">": ComparisonOperator.GREATER_THAN,
    "<=": ComparisonOperator.LESS_THAN_OR_EQUAL_TO,
    ">=": ComparisonOperator.GREATER_THAN_OR_EQUAL_TO,
}


def load(
    source: str | bytes, *, name: str | None = None, diagnostics: Diagnostics | None = None
) -> Workflow:
    """Read a compiled pipeline spec into a validated Workflow.

    Raises:
        InputError: not a compiled spec; the message names the JSON pointer.
    """
    text = source.decode("utf-8-sig") if isinstance(source, bytes) else source
    spec = _spec(_parse(text))

    def read_file(ledger: Diagnostics) -> Workflow:
        builder = WorkflowBuilder("kfp-yaml", ledger)
        _SpecReader(spec, builder).read()
        pipeline_name = (spec.get("pipelineInfo") or {}).get("name")
        return builder.build(name or pipeline_name)

    # pipeglot's compiled specs carry what KFP cannot hold in a provenance block (a comment)
    return provenance.read(text, read_file, reader="kfp-yaml", diagnostics=diagnostics)


def _parse(source: str | bytes) -> list[Any]:
    try:
        import yaml
    except ImportError:
        raise UsageError("reading a compiled KFP spec needs PyYAML (pip install pyyaml)") from None
    text = source.decode("utf-8-sig") if isinstance(source, bytes) else source
    try:
        # libyaml's parser where PyYAML has it: the same documents, ten times as fast.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return [document for document in yaml.load_all(text, Loader=loader) if document is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise InputError(
            f"not valid YAML: {getattr(error, 'problem', error)}", location=where
        ) from None


def _spec(documents: list[Any]) -> dict[str, Any]:
    for document in documents:
        if isinstance(document, dict) and "root" in document and "pipelineInfo" in document:
            if not isinstance(document["root"], dict) or "dag" not in document["root"]:
                raise InputError("the spec's root has no dag", location="/root")
            _check_shape(document)
            return document
    raise InputError(
        "not a compiled KFP pipeline spec (a YAML document with pipelineInfo and root); "
        "compile the pipeline with kfp.compiler.Compiler().compile(...)",
        location="/",
    )


class _SpecReader:
    def __init__(self, spec: dict[str, Any], builder: WorkflowBuilder) -> None:
        self.spec = spec
        self.builder = builder
        self.components: dict[str, Any] = spec.get("components") or {}
        self.executors: dict[str, Any] = (spec.get("deploymentSpec") or {}).get("executors") or {}
        self.steps: dict[tuple[str, str], str] = {}  # (dag pointer, task key) -> last step
        self.floats_rounded = False
        self._conditions: dict[tuple[str, str], Draft] = {}  # (dag, CEL text) -> its step
        self._branching: dict[str, Draft] = {}  # pipeglot's Condition components, by step

    def read(self) -> None:
        root = self.spec["root"]
        scope = self._parameters(root.get("inputDefinitions") or {})
        self._dag(root["dag"], "/root/dag", scope, None, [])
        if self.floats_rounded:
            self.builder.approximated(
                "numbers",
                "KFP stores every number as a double (1 becomes 1.0); whole numbers in "
                "requests are read back as integers",
            )

    def _parameters(self, definitions: dict[str, Any]) -> dict[str, Any]:
        scope: dict[str, Any] = {}
        for name, spec in (definitions.get("parameters") or {}).items():
            pointer = f"/root/inputDefinitions/parameters/{name}"
            type_name = spec.get("parameterType")
            kind = _PARAMETER_TYPES.get(type_name)
            default = spec.get("defaultValue", MISSING)
            if kind is None:
                self.builder.approximated(
                    "parameter-type",
                    f"the {type_name} input {name!r} (at {pointer}) becomes a String parameter "
                    "holding its JSON",
                )
                kind = ParameterType.STRING
                if default is not MISSING:
                    default = json.dumps(default, separators=(",", ":"))
            if kind is ParameterType.INTEGER and isinstance(default, float):
                default = int(default)
            scope[name] = self.builder.parameter(
                name, pointer, type=kind, default=default, inferred=False
            )
        return scope

    # --- DAGs -----------------------------------------------------------------------------

    def _dag(
        self,
        dag: Any,
        pointer: str,
        scope: dict[str, Any],
        branch: list[str] | None,
        after: list[str],
    ) -> list[str]:
        """Read one DAG's tasks; return the last steps of the DAG (what its dependents wait
        for)."""
        tasks = dag.get("tasks") if isinstance(dag, dict) else None
        if not isinstance(tasks, dict):
            raise InputError("a dag needs tasks", location=pointer)
        finals: list[str] = []
        used: set[str] = set()
        for key in _task_order(tasks, pointer):
            task = tasks[key]
            task_pointer = f"{pointer}/tasks/{key}"
            waits = [
                self.steps[(pointer, other)]
                for other in task.get("dependentTasks") or []
                if (pointer, other) in self.steps
            ]
            step = self._task(key, task, task_pointer, pointer, scope, branch, after + waits)
            if step is not None:
                self.steps[(pointer, key)] = step
            used.update(task.get("dependentTasks") or [])
        for key in tasks:
            if key not in used and (pointer, key) in self.steps:
                finals.append(self.steps[(pointer, key)])
        return finals

    def _task(
        self,
        key: str,
        task: dict[str, Any],
        pointer: str,
        dag_pointer: str,
        scope: dict[str, Any],
        branch: list[str] | None,
        after: list[str],
    ) -> str | None:
        reference = (task.get("componentRef") or {}).get("name")
        component = self.components.get(reference)
        if not isinstance(component, dict):
            raise InputError(
                f"the task's component {reference!r} is not in components",
                location=f"{pointer}/componentRef",
            )
        bindings = self._bindings(task, pointer, scope, dag_pointer)
        display = (task.get("taskInfo") or {}).get("name") or key
        for unsupported in ("iteratorPolicy", "parameterIterator", "artifactIterator"):
            if unsupported in task:
                return self._placeholder(
                    display, pointer, branch, after, "KFP:ParallelFor",
                    "a ParallelFor runs its tasks once per item known at run time; SageMaker "
                    "pipelines have a fixed set of steps",
                    task,
                )  # fmt: skip
        if "dag" in component:
            return self._group(display, task, component, pointer, bindings, branch, after)
        executor = self.executors.get(component.get("executorLabel"))
        if not isinstance(executor, dict):
            raise InputError(
                f"the component {reference!r} has no executor in deploymentSpec",
                location=f"/components/{reference}",
            )
        container = executor.get("container")
        if not isinstance(container, dict):
            return self._placeholder(
                display, pointer, branch, after, "KFP:importer",
                "an importer brings an artifact into KFP's metadata; SageMaker steps read S3 "
                "URIs directly",
                executor,
            )  # fmt: skip
        generated = self._generated(display, reference, task, pointer, bindings, branch, after)
        if generated is not None:
            return generated
        script = (container.get("args") or [""])[0]
        match = _COMPONENT_SCRIPT.match(str(script))
        if _SAGEMAKER_IMAGE in str(container.get("image")) and match:
            folder = match.group("folder")
            if folder in _COMPONENTS:
                return self._sagemaker(
                    display, folder, task, component, pointer, bindings, branch, after
                )
        return self._placeholder(
            display, pointer, branch, after, "KFP:container",
            f"runs the container {container.get('image')!r} on Kubernetes, which has no "
            "SageMaker step (run it as a Processing job with the same image and command)",
            {"Container": container, "Inputs": bindings},
        )  # fmt: skip

    def _generated(self, display, reference, task, pointer, bindings, branch, after):
        """A component of pipeglot's own KFP output: it takes the step's SageMaker request
        (expressions included) as its ``request`` input, and its name says the step's kind."""
        base = re.sub(r"-\d+$", "", str(reference).removeprefix("comp-"))
        kind = _GENERATED_KINDS.get(base)
        request = bindings.get("request")
        if kind is None or not isinstance(request, str):
            return None
        try:
            arguments = json.loads(request, object_hook=_expression_hook)
            conditions = _conditions(request) if kind is StepKind.CONDITION else ()
        except (ValueError, ExpressionError):
            return None
        step = self.builder.step_name(display, pointer)
        draft = Draft(step, kind, TYPE_OF_KIND[kind], pointer, after=list(after))
        if kind is StepKind.CONDITION:
            draft.conditions = conditions
            self._branching[step] = draft
        elif kind in (StepKind.LAMBDA, StepKind.CALLBACK) and isinstance(arguments, dict):
            _function_or_queue(draft, arguments)
        else:
            draft.arguments = arguments
        self._task_settings(draft, task, pointer)
        self.builder.add(draft, branch)
        return step

    def _bindings(
        self, task: dict[str, Any], pointer: str, scope: dict[str, Any], dag_pointer: str
    ) -> dict[str, Any]:
        """The task's input parameters as IR values (constants with placeholders resolved)."""
        inputs = (task.get("inputs") or {}).get("parameters") or {}
        values: dict[str, Any] = {}
        for name, binding in inputs.items():
            where = f"{pointer}/inputs/parameters/{name}"
            if "componentInputParameter" in binding:
                source = binding["componentInputParameter"]
                if source not in scope:
                    raise InputError(f"the input {source!r} is not defined", location=where)
                values[name] = scope[source]
            elif "taskOutputParameter" in binding:
                output = binding["taskOutputParameter"]
                producer = self.steps.get((dag_pointer, output.get("producerTask")))
                if producer is None:
                    raise InputError(
                        f"the task {output.get('producerTask')!r} is not in this dag",
                        location=where,
                    )
                values[name] = StepProperty(
                    producer, (Attribute(_pascal(output.get("outputParameterKey", ""))),)
                )
            elif "runtimeValue" in binding:
                values[name] = (binding["runtimeValue"] or {}).get("constant")
            else:
                self.builder.unsupported(
                    "input", f"the input binding at {where} has no SageMaker equivalent"
                )
        for name in list(values):
            values[name] = self._resolve(values[name], values)
        if (task.get("inputs") or {}).get("artifacts"):
            self.builder.unsupported(
                "artifacts",
                f"the task at {pointer} passes KFP artifacts, which SageMaker steps read as "
                "S3 URIs: pass the URI as a parameter",
            )
        return values

    def _resolve(self, value: Any, bindings: dict[str, Any]) -> Any:
        if isinstance(value, dict):
            return {key: self._resolve(item, bindings) for key, item in value.items()}
        if isinstance(value, list):
            return [self._resolve(item, bindings) for item in value]
        if isinstance(value, float) and value.is_integer():
            self.floats_rounded = True
            return int(value)
        if not isinstance(value, str) or "{{$" not in value:
            return value
        if value in _RUN_PLACEHOLDERS:
            return ExecutionVariable(_RUN_PLACEHOLDERS[value])
        pieces: list[Any] = []
        position = 0
        for match in _PLACEHOLDER.finditer(value):
            if match.start() > position:
                pieces.append(value[position : match.start()])
            pieces.append(bindings.get(match.group(1), match.group(0)))
            position = match.end()
        if position < len(value):
            pieces.append(value[position:])
        return pieces[0] if len(pieces) == 1 else Join("", tuple(pieces))

    # --- groups and conditions ------------------------------------------------------------

    def _group(
        self,
        display: str,
        task: dict[str, Any],
        component: dict[str, Any],
        pointer: str,
        bindings: dict[str, Any],
        branch: list[str] | None,
        after: list[str],
    ) -> str | None:
        reference = task["componentRef"]["name"]
        inner_pointer = f"/components/{reference}/dag"
        condition = (task.get("triggerPolicy") or {}).get("condition")
        if condition is None:
            if "exit" in reference or task.get("triggerPolicy", {}).get("strategy"):
                self.builder.unsupported(
                    "exit-handler",
                    f"the group at {pointer} runs its exit task whatever happens; SageMaker "
                    "stops at the first failure",
                )
            finals = self._dag(component["dag"], inner_pointer, bindings, branch, after)
            return finals[-1] if finals else (after[-1] if after else None)
        owner, branch_name = self._branch_owner(condition, bindings)
        if owner is not None:  # a branch of one of pipeglot's Condition components
            steps = owner.if_steps if branch_name == "IfSteps" else owner.else_steps
            self._dag(component["dag"], inner_pointer, bindings, steps, [])
            return owner.name
        siblings = pointer.rsplit("/tasks/", 1)[0]
        negated = self._conditions.get((siblings, condition.removeprefix("!(")[:-1]))
        if condition.startswith("!(") and negated is not None:
            # dsl.Else: the group runs when the If group's condition is false.
            self._dag(component["dag"], inner_pointer, bindings, negated.else_steps, [])
            return negated.name
        step = self.builder.step_name(display, pointer)
        conditions = self._cel(condition, bindings, f"{pointer}/triggerPolicy/condition")
        draft = Draft(
            step, StepKind.CONDITION, "Condition", pointer, after=list(after),
            conditions=tuple(conditions),
        )  # fmt: skip
        self.builder.add(draft, branch)
        self._conditions[(siblings, condition)] = draft
        self._dag(component["dag"], inner_pointer, bindings, draft.if_steps, [])
        if condition.startswith("!("):
            self.builder.approximated(
                "else",
                f"the Elif/Else group at {pointer} becomes its own Condition step, true when "
                "the groups before it are false",
                step,
            )
        return step

    def _branch_owner(
        self, condition: str, bindings: dict[str, Any]
    ) -> tuple[Draft | None, str | None]:
        """The Condition step whose ``branch`` output the group's test reads, and the branch
        the group runs (``IfSteps`` or ``ElseSteps``); (None, None) for any other test."""
        match = _BRANCH_TEST.match(condition)
        if match is None or bool(match.group("negated")) != condition.endswith(")"):
            return None, None
        value = bindings.get(match.group("input"))
        if not isinstance(value, StepProperty) or value.path != (Attribute("Branch"),):
            return None, None
        branch = match.group("branch")
        if match.group("negated"):
            branch = "ElseSteps" if branch == "IfSteps" else "IfSteps"
        return self._branching.get(value.step), branch

    def _cel(self, text: str, bindings: dict[str, Any], pointer: str) -> list[Condition]:
        """The AND-ed conditions of a trigger policy (the CEL the kfp compiler writes)."""
        try:
            return [self._cel_condition(part.strip(), bindings) for part in _split(text, "&&")]
        except ValueError as error:
            self.builder.unsupported(
                "condition",
                f"the condition {text!r} at {pointer} ({error}) has no SageMaker equivalent; "
                "a condition that is false stands in for it",
            )
            return [Comparison(ComparisonOperator.EQUALS, f"pipeglot-unsupported: {pointer}", True)]

    def _cel_condition(self, text: str, bindings: dict[str, Any]) -> Condition:
        text = _strip_parentheses(text)
        if text.startswith("!(") and text.endswith(")"):
            return Not(self._cel_condition(text[1:], bindings))
        alternatives = _split(text, "||")
        if len(alternatives) > 1:
            return Or(tuple(self._cel_condition(part.strip(), bindings) for part in alternatives))
        conjuncts = _split(text, "&&")
        if len(conjuncts) > 1:
            inner = [self._cel_condition(part.strip(), bindings) for part in conjuncts]
            return Not(Or(tuple(Not(condition) for condition in inner)))
        match = _CEL_COMPARISON.match(text)
        if match is None:
            raise ValueError("only comparisons of an input with a value are read")
        name = match.group("name")
        if name not in bindings:
            raise ValueError(f"the input {name!r} is not bound")
        left = bindings[name]
        right = _cel_literal(match.group("right").strip())
        operator = match.group("op")
        if operator == "!=":
            return Not(Comparison(ComparisonOperator.EQUALS, left, right))
        return Comparison(_OPERATORS[operator], left, right)

    # --- steps ----------------------------------------------------------------------------

    def _sagemaker(
        self,
        display: str,
        folder: str,
        task: dict[str, Any],
        component: dict[str, Any],
        pointer: str,
        bindings: dict[str, Any],
        branch: list[str] | None,
        after: list[str],
    ) -> str:
        kind = _COMPONENTS[folder]
        type_name, name_field = TYPE_OF_KIND[kind], generated_name_field(kind)
        step = self.builder.step_name(display, pointer)
        defaults = {
            name: spec.get("defaultValue", MISSING)
            for name, spec in (
                (component.get("inputDefinitions") or {}).get("parameters") or {}
            ).items()
        }
        arguments: dict[str, Any] = {}
        for name, value in bindings.items():
            if name.startswith("pipelinechannel--") or name in _NOT_REQUEST:
                continue
            if name in defaults and value == defaults[name]:
                continue  # not set by the pipeline
            field_name = _pascal(name)
            arguments[field_name] = value if name in _USER_MAPS else _api_spelling(value)
        if name_field and name_field in arguments:
            del arguments[name_field]
            self.builder.exact(
                "job-name", f"{name_field} is left out: SageMaker names each execution's job", step
            )
        self.builder.approximated(
            "ack-spelling",
            f"the {folder} component's request fields (at {pointer}/inputs) are converted from "
            "the ACK spelling (s3URI, instanceCount) to the SageMaker API's (S3Uri, "
            "InstanceCount); check the request",
            step,
        )
        draft = Draft(step, kind, type_name, pointer, arguments=arguments, after=list(after))
        self._task_settings(draft, task, pointer)
        self.builder.add(draft, branch)
        return step

    def _task_settings(self, draft: Draft, task: dict[str, Any], pointer: str) -> None:
        retry = task.get("retryPolicy")
        if isinstance(retry, dict) and retry.get("maxRetryCount"):
            if draft.kind not in RETRYABLE_KINDS:
                self.builder.dropped(
                    "retry", f"the retry policy at {pointer}/retryPolicy has no SageMaker "
                    f"equivalent on {draft.type_name} steps", draft.name,
                )  # fmt: skip
            else:
                draft.retry_policies = [
                    RetryPolicy(
                        exception_types=JOB_RETRY_EXCEPTIONS,
                        interval_seconds=_duration(retry.get("backoffDuration", "0s")),
                        backoff_rate=float(retry.get("backoffFactor", 2.0)),
                        max_attempts=min(int(retry["maxRetryCount"]), MAX_ATTEMPTS),
                    )
                ]
                self.builder.approximated(
                    "retry",
                    f"the retry policy at {pointer}/retryPolicy retries any failure; SageMaker "
                    "retries the job's service, throttling, limit, internal and capacity errors"
                    + (
                        "; its backoffMaxDuration has no SageMaker equivalent"
                        if "backoffMaxDuration" in retry
                        else ""
                    ),
                    draft.name,
                )
        caching = task.get("cachingOptions")
        if isinstance(caching, dict) and caching.get("enableCache"):
            draft.cache_config = CacheConfig(enabled=True)
            self.builder.approximated(
                "cache",
                f"caching is on at {pointer}/cachingOptions (KFP's default): the SageMaker step "
                "caches its results too, keyed by its arguments, with no expiry",
                draft.name,
            )

    def _placeholder(
        self,
        display: str,
        pointer: str,
        branch: list[str] | None,
        after: list[str],
        type_name: str,
        why: str,
        kept: Any,
    ) -> str:
        step = self.builder.step_name(display, pointer)
        self.builder.unsupported(
            "task", f"the task at {pointer} {why}; a placeholder keeps it", step
        )
        draft = Draft(step, StepKind.UNKNOWN, type_name, pointer, arguments=kept, after=list(after))
        self.builder.add(draft, branch)
        return step


# The parts of a spec the reader uses, and the JSON type each must have: the compiler always
# writes them so, so anything else is a damaged file, reported at its pointer.
_TASK_SHAPE: dict[str, type | tuple[type, ...]] = {
    "componentRef": dict,
    "taskInfo": dict,
    "inputs": dict,
    "dependentTasks": list,
    "triggerPolicy": dict,
    "retryPolicy": dict,
    "cachingOptions": dict,
}


def _check_shape(spec: dict[str, Any]) -> None:
    _expect(spec.get("pipelineInfo"), dict, "/pipelineInfo")
    components = _expect(spec.get("components", {}), dict, "/components")
    for name, component in components.items():
        where = f"/components/{name}"
        _expect(component, dict, where)
        _check_definitions(component, where)
        if "executorLabel" in component:
            _expect(component["executorLabel"], str, f"{where}/executorLabel")
        if "dag" in component:
            _check_dag(component["dag"], f"{where}/dag")
    deployment = _expect(spec.get("deploymentSpec", {}), dict, "/deploymentSpec")
    executors = _expect(deployment.get("executors", {}), dict, "/deploymentSpec/executors")
    for label, executor in executors.items():
        where = f"/deploymentSpec/executors/{label}"
        container = _expect(executor, dict, where).get("container")
        if container is not None:
            _expect(container, dict, f"{where}/container")
            for key in ("args", "command"):
                items = _expect(container.get(key, []), list, f"{where}/container/{key}")
                for index, item in enumerate(items):
                    _expect(item, str, f"{where}/container/{key}/{index}")
    _check_definitions(spec["root"], "/root")
    _check_dag(spec["root"]["dag"], "/root/dag")


def _check_definitions(component: dict[str, Any], where: str) -> None:
    definitions = _expect(component.get("inputDefinitions", {}), dict, f"{where}/inputDefinitions")
    parameters = _expect(
        definitions.get("parameters", {}), dict, f"{where}/inputDefinitions/parameters"
    )
    for name, parameter in parameters.items():
        _expect(parameter, dict, f"{where}/inputDefinitions/parameters/{name}")
        if "parameterType" in parameter:
            _expect(parameter["parameterType"], str, f"{where}/inputDefinitions/parameters/{name}")


def _check_dag(dag: Any, where: str) -> None:
    tasks = _expect(_expect(dag, dict, where).get("tasks"), dict, f"{where}/tasks")
    for key, task in tasks.items():
        pointer = f"{where}/tasks/{key}"
        _expect(task, dict, pointer)
        for field_name, kind in _TASK_SHAPE.items():
            if field_name in task:
                _expect(task[field_name], kind, f"{pointer}/{field_name}")
        _expect(task.get("componentRef", {}).get("name"), str, f"{pointer}/componentRef/name")
        display = task.get("taskInfo", {}).get("name", key)
        _expect(display, str, f"{pointer}/taskInfo/name")
        for index, other in enumerate(task.get("dependentTasks", [])):
            _expect(other, str, f"{pointer}/dependentTasks/{index}")
        condition = task.get("triggerPolicy", {}).get("condition", "")
        _expect(condition, str, f"{pointer}/triggerPolicy/condition")
        retry = task.get("retryPolicy", {})
        for number in ("maxRetryCount", "backoffFactor"):
            if number in retry:
                _expect(retry[number], (int, float), f"{pointer}/retryPolicy/{number}")
        parameters = _expect(
            task.get("inputs", {}).get("parameters", {}), dict, f"{pointer}/inputs/parameters"
        )
        for name, binding in parameters.items():
            where_binding = f"{pointer}/inputs/parameters/{name}"
            _expect(binding, dict, where_binding)
            if "taskOutputParameter" in binding:
                output = _expect(
                    binding["taskOutputParameter"], dict, f"{where_binding}/taskOutputParameter"
                )
                for part in ("producerTask", "outputParameterKey"):
                    _expect(output.get(part), str, f"{where_binding}/taskOutputParameter/{part}")
            if "runtimeValue" in binding:
                _expect(binding["runtimeValue"], dict, f"{where_binding}/runtimeValue")
            if "componentInputParameter" in binding:
                _expect(
                    binding["componentInputParameter"], str,
                    f"{where_binding}/componentInputParameter",
                )  # fmt: skip


def _expect(value: Any, kind: type | tuple[type, ...], pointer: str) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = {dict: "an object", list: "a list", str: "a string", int: "a number"}
        wanted = " or ".join(dict.fromkeys(names.get(k, "a number") for k in kinds))
        raise InputError(
            f"must be {wanted} (a compiled spec always has one here); recompile the pipeline",
            location=pointer,
        )
    return value


def _conditions(request: str) -> tuple[Condition, ...]:
    """A Condition component's request: its conditions as the definition writes them."""
    items = json.loads(request)
    if not isinstance(items, list):
        raise ValueError("a Condition's request is a list of conditions")
    return tuple(condition_from_json(item) for item in items)


def _function_or_queue(draft: Draft, request: dict[str, Any]) -> None:
    """A Lambda or Callback component's request: the function or queue, the arguments and,
    for a Callback, its declared outputs."""
    draft.arguments = request.get("Arguments", MISSING)
    if draft.kind is StepKind.LAMBDA:
        draft.function_arn = request.get("FunctionArn", MISSING)
        return
    draft.sqs_queue_url = request.get("SqsQueueUrl", MISSING)
    for output in request.get("OutputParameters") or ():
        if isinstance(output, dict) and isinstance(output.get("OutputName"), str):
            draft.add_output(output["OutputName"], output.get("OutputType", "String"))


def _expression_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and next(iter(obj)) in EXPRESSION_KEYS:
        return expression_from_json(obj)
    return obj


def _task_order(tasks: dict[str, Any], pointer: str) -> list[str]:
    """Task keys with every task after the ones it depends on or reads (stable otherwise)."""
    needs: dict[str, set[str]] = {}
    for key, task in tasks.items():
        wanted = set(task.get("dependentTasks") or [])
        for binding in ((task.get("inputs") or {}).get("parameters") or {}).values():
            producer = (binding.get("taskOutputParameter") or {}).get("producerTask")
            if producer:
                wanted.add(producer)
        needs[key] = {name for name in wanted if name in tasks}
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(tasks):
        ready = [key for key in tasks if key not in placed and needs[key] <= placed]
        if not ready:
            raise InputError("the dag's tasks depend on each other in a cycle", location=pointer)
        order.extend(ready)
        placed.update(ready)
    return order


def _pascal(name: str) -> str:
    """``training_job_name`` -> ``TrainingJobName``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _api_spelling(value: Any) -> Any:
    """ACK's lowerCamel request fields (``s3DataSource``, ``s3URI``) in the API's PascalCase."""
    if isinstance(value, dict):
        return {_api_key(key): _api_spelling(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_api_spelling(item) for item in value]
    return value


def _api_key(key: str) -> str:
    key = key[:1].upper() + key[1:]
    for ack, api in _ACK_SPELLINGS:
        key = re.sub(rf"{ack}(?=[A-Z]|$)", api, key)
    return key


def _duration(text: Any) -> int | float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(text))
    if match is None:
        return 1
    value = float(match.group(1))
    return int(value) if value.is_integer() else value


def _split(text: str, operator: str) -> list[str]:
    """``text`` split at ``operator`` outside parentheses and quotes."""
    parts, depth, quote, start, position = [], 0, "", 0, 0
    while position < len(text):
        char = text[position]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and text.startswith(operator, position):
            parts.append(text[start:position])
            start = position + len(operator)
            position = start
            continue
        position += 1
    parts.append(text[start:])
    return parts


def _strip_parentheses(text: str) -> str:
    while text.startswith("(") and text.endswith(")") and len(_split(text[1:-1], ")(")) == 1:
        inner = text[1:-1]
        depth = 0
        balanced = True
        for char in inner:
            depth += char == "("
            depth -= char == ")"
            if depth < 0:
                balanced = False
                break
        if not balanced:
            break
        text = inner.strip()
    return text


def _cel_literal(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"the value {text!r}") from None
