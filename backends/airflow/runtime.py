"""Run-time helpers that the Airflow backend copies into every generated DAG file.

A generated DAG must stand alone (it may import only Airflow, its Amazon provider and the
standard library), so these helpers travel inside it. pipeglot never imports this module: the
backend reads its text and copies only the sections a pipeline uses (the scheduler compiles a
DAG file again and again, so every unused line would cost on each parse). A section starts at
a line ``# section: <name>`` and runs to the next marker; ``SECTIONS`` in ``sections.py`` says
what each section imports and which other sections it needs. The imports at the top are only
here so that this file can be linted like any other module (the backend writes its own).

Why the helpers exist: Airflow renders every string of a templated field as Jinja, which would
alter literal text such as ``{{ }}``, a trailing newline or ``\\r\\n``. A callable in a templated
field is called instead of rendered (Airflow 2.10+ and 3.x), so each value that reaches AWS is
built by ``resolved(...)`` at run time: literals untouched, SageMaker expressions evaluated.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime

from airflow.providers.amazon.aws.operators.sagemaker import SageMakerProcessingOperator
from airflow.sdk import PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException

# section: expressions


class Expression:
    """A SageMaker expression (Get, Std:Join, ...), computed by ``evaluate`` as the task runs."""

    def __init__(self, *args):
        self.args = args


def evaluate(value, context, job=None):
    """``value`` with each expression in it computed for this task (containers are copied);
    ``job`` is the name of the job the task starts, if any."""
    if isinstance(value, dict):
        return {key: evaluate(item, context, job) for key, item in value.items()}
    if isinstance(value, list):
        return [evaluate(item, context, job) for item in value]
    return value.evaluate(context, job) if isinstance(value, Expression) else value


# section: as_text


def as_text(value):
    """A value as Std:Join writes it: JSON spelling for booleans and null."""
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


# section: get


class Get(Expression):
    """SageMaker's ``{"Get": "Execution.Name"}``, read by READERS[its first part]."""

    def evaluate(self, context, job):
        root, _, name = self.args[0].partition(".")
        return READERS[root](name, context, job)


# section: parameters


class Parameter(Expression):
    """The run's value of a pipeline parameter: the DAG param of that name."""

    def evaluate(self, context, job):
        return context["params"][self.args[0]]


# section: execution


def execution_variable(name, context, job):
    """Execution.<name>; Airflow has no pipeline ARNs, so those stand in for SageMaker's."""
    dag_id = context["dag"].dag_id
    if name == "PipelineExecutionId":
        return execution_id(context)
    if name == "PipelineName":
        return dag_id
    if name == "PipelineArn":
        return f"airflow:dag/{dag_id}"
    if name == "PipelineExecutionArn":
        return f"airflow:dag/{dag_id}/run/{context['run_id']}"
    if name == "StartDateTime":
        return (context["dag_run"].start_date or datetime.now(UTC)).isoformat()
    if name == "CurrentDateTime":
        return datetime.now(UTC).isoformat()
    if job is None:
        raise ValueError(f"Execution.{name} is only known inside the step that runs the job")
    return job


# section: experiment


def experiment_value(name, context, job):
    """PipelineExperimentConfig.<name>, with SageMaker's defaults (pipeline, execution)."""
    if name in EXPERIMENT_CONFIG:
        return evaluate(EXPERIMENT_CONFIG[name], context, job)
    return context["dag"].dag_id if name == "ExperimentName" else execution_id(context)


# section: execution_id


def execution_id(context):
    """A stand-in for PipelineExecutionId: 12 characters, fixed for one DAG run."""
    run = f"{context['dag'].dag_id}\n{context['run_id']}"
    return hashlib.sha256(run.encode()).hexdigest()[:12]


# section: steps

# Step types whose provider operator returns {step type: Describe* response}.
SAGEMAKER_OPERATOR_RESULTS = {
    "Processing",
    "Training",
    "Transform",
    "Tuning",
    "Model",
    "EndpointConfig",
    "Endpoint",
}
# A ['name'] part on one of these lists selects the item whose name field equals 'name'.
NAME_FIELDS = {
    "Outputs": "OutputName",
    "ProcessingInputs": "InputName",
    "FinalMetricDataList": "MetricName",
    "InputDataConfig": "ChannelName",
    "OutputParameters": "Name",
    "ActionArns": "ActionName",
    "ArtifactArns": "ArtifactName",
    "ContextArns": "ContextName",
}


def xcom(step, *path):
    """A step's property: the value at ``path`` in what the step's task returned (its XCom),
    as in ``xcom("Train", "ModelArtifacts", "S3ModelArtifacts")``. A name on a list selects
    the item with that name (``"Outputs", "train"``), a number an item by position."""
    return StepOutput(step, *path)


class StepOutput(Expression):
    def evaluate(self, context, job):
        return walk(step_result(self.args[0], context), self.args[1:])


def walk(value, path, container=None):
    """The value at ``path`` in ``value``."""
    for part in path:
        if isinstance(value, list) and isinstance(part, str):
            field = NAME_FIELDS.get(container, "Name")
            matches = [item for item in value if item.get(field) == part]
            if not matches:
                raise KeyError(f"no item with {field} {part!r}")
            value = matches[0]
        else:
            value, container = value[part], part
    return value


def step_result(step, context):
    """The step's properties from what its task returned (its XCom): the Describe* response of
    a job step, the OutputParameters of a Lambda or Callback step, the Outcome of a Condition."""
    task_id, step_type = STEP_RESULTS[step]
    ti = context["ti"]
    if step_type == "Condition":
        return {"Outcome": ti.xcom_pull(task_ids=task_id, key="Outcome")}
    value = ti.xcom_pull(task_ids=task_id)
    if step_type == "Lambda":
        return {"OutputParameters": json.loads(value)}  # the function's answer, as JSON text
    return value[step_type] if step_type in SAGEMAKER_OPERATOR_RESULTS else value


# section: tuning


def tuning_xcom(step, *path):
    """``xcom`` for a tuning step's TrainingJobSummaries, which its Describe* response lacks."""
    return TuningSummaries(step, *path)


class TuningSummaries(StepOutput):
    def evaluate(self, context, job):
        summaries = tuning_summaries(step_result(self.args[0], context))
        return walk({"TrainingJobSummaries": summaries}, self.args[1:])


def tuning_summaries(description):
    """The tuning job's training jobs, listed from SageMaker, best first, as SageMaker lists
    them."""
    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook

    config = description.get("HyperParameterTuningJobConfig", {})
    objective = config.get("HyperParameterTuningJobObjective", {}).get("Type", "Maximize")
    response = SageMakerHook().conn.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=description["HyperParameterTuningJobName"],
        SortBy="FinalObjectiveMetricValue",
        SortOrder="Ascending" if objective == "Minimize" else "Descending",
        MaxResults=50,
    )
    return json.loads(json.dumps(response["TrainingJobSummaries"], default=str))


# section: join


class Join(Expression):
    """SageMaker's ``{"Std:Join": {"On": on, "Values": values}}``."""

    def evaluate(self, context, job):
        on, values = self.args
        return on.join(map(as_text, evaluate(values, context, job)))


# section: json_get


class JsonGet(Expression):
    """SageMaker's ``{"Std:JsonGet": ...}``: read a JSON file from S3, take the value at path."""

    def evaluate(self, context, job):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket, key = S3Hook.parse_s3_url(evaluate(self.args[0], context, job))
        value = json.loads(S3Hook().read_key(key=key, bucket_name=bucket))
        path = r"(?:^\$?\.?|\.)([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]"
        for name, position, key, quoted in re.findall(path, self.args[1]):
            value = value[int(position)] if position else value[name or key or quoted]
        return value


# section: property_file


class PropertyFile(Expression):
    """The S3 URI of a JSON file that a Processing step writes to one of its outputs."""

    def evaluate(self, context, job):
        step, output, file_path = self.args
        uri = xcom(step, "ProcessingOutputConfig", "Outputs", output, "S3Output", "S3Uri")
        return uri.evaluate(context, job).rstrip("/") + "/" + file_path


# section: resolved


def resolved(value):
    """A templated-field value that Airflow calls when the task starts, instead of rendering it."""
    return lambda context, jinja_env=None: evaluate(value, context)


# section: resolved_json


def resolved_json(value):
    """Like ``resolved``, for fields that take JSON text (a Lambda payload)."""
    return lambda context, jinja_env=None: json.dumps(evaluate(value, context), ensure_ascii=False)


# section: job_name


def request_with_job_name(request, name_key, max_length=63):
    """The operator's config, built when the task starts: ``request`` evaluated, with a job
    name unique per DAG run, task and try first under ``name_key``: <prefix>-<12 hex digits>,
    the prefix the request's own name (as SageMaker's use_custom_job_prefix) or the task id."""

    def render(context, jinja_env=None):
        ti, rest = context["ti"], dict(request)
        prefix = evaluate(rest.pop(name_key, None), context) or ti.task_id
        prefix = re.sub(r"[^A-Za-z0-9]+", "-", str(prefix)).strip("-")[: max_length - 13]
        attempt = f"{ti.dag_id}\n{ti.run_id}\n{ti.task_id}\n{ti.try_number}".encode()
        job = f"{prefix.rstrip('-') or 'step'}-{hashlib.sha256(attempt).hexdigest()[:12]}"
        return {name_key: job, **evaluate(rest, context, job)}

    return render


# section: conditions


def branch_on(predicate, operands, if_steps, else_steps, always=()):
    """A branch callable: the steps of the branch that ``predicate`` of the resolved
    ``operands`` chooses, plus ``always`` (downstream tasks that are not branch steps and so
    must not be skipped). The Outcome, "True" or "False", is what later steps read."""

    def choose(**context):
        outcome = bool(predicate(*evaluate(operands, context)))
        context["ti"].xcom_push(key="Outcome", value=str(outcome))
        return [*(if_steps if outcome else else_steps), *always]

    return choose


# section: equality


def among(query, values):
    """SageMaker's In: ``query`` equals one of ``values`` (by ``equal``)."""
    return any(equal(query, value) for value in values)


def equal(left, right):
    """SageMaker's Equals: values of different types are never equal, except numbers."""
    if is_number(left) and is_number(right):
        return left == right
    return type(left) is type(right) and left == right


def is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


# section: condition_json


def branch(conditions, if_steps, else_steps, always=()):
    """``branch_on`` for conditions in SageMaker's JSON form: the if branch when all hold."""
    return branch_on(lambda *met: all(map(holds, met)), conditions, if_steps, else_steps, always)


def holds(condition):
    """Whether a resolved condition (its operands values, not expressions) holds."""
    kind = condition["Type"]
    if kind == "Not":
        return not holds(condition["Condition"])
    if kind == "Or":
        return any(map(holds, condition["Conditions"]))
    if kind == "In":
        return among(condition["QueryValue"], condition["Values"])
    left, right = condition["LeftValue"], condition["RightValue"]
    if kind == "Equals":
        return equal(left, right)
    if not (is_number(left) and is_number(right)) and type(left) is not type(right):
        raise TypeError(f"{kind} cannot compare {left!r} with {right!r}")
    if kind == "GreaterThan":
        return left > right
    if kind == "GreaterThanOrEqualTo":
        return left >= right
    return left < right if kind == "LessThan" else left <= right


# section: fail


def fail_with(message):
    """A callable that fails the run with the Fail step's message (evaluated at run time)."""

    def fail(**context):
        raise AirflowFailException(as_text(evaluate(message, context)))

    return fail


# section: unsupported


def untranslated(step_type, reason):
    """Stands in for a step pipeglot could not translate; running it fails with the reason."""

    def fail(**context):
        raise AirflowFailException(f"pipeglot could not translate this {step_type} step: {reason}")

    return fail


# section: request


def sagemaker_request(request, create, describe, name_key, arn_key, status_key, done, failed):
    """A callable that sends one SageMaker request as the source step wrote it (``request``
    turns the context into it), waits until the resource's status is one of ``done`` (fails
    on one of ``failed``) and returns its Describe* response. Used where no provider operator
    sends every field. A resource without a name in the request is described by its ARN."""

    def send(**context):
        import time

        from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook

        client, sent = SageMakerHook().conn, request(context)
        created = getattr(client, create)(**sent)
        name = sent.get(name_key) or created[arn_key]
        while True:
            description = getattr(client, describe)(**{name_key: name})
            status = description.get(status_key)
            if status in failed:
                reason = description.get("FailureReason", "")
                raise AirflowFailException(f"{name} ended {status}: {reason}")
            if status is None or status in done:
                description.pop("ResponseMetadata", None)
                return json.loads(json.dumps(description, default=str))
            time.sleep(30)

    return send


# section: lineage

# Per entity type: the Arguments list, its name field, create call, ARN field, describe call.
LINEAGE_KINDS = {
    "Action": ("Actions", "ActionName", "create_action", "ActionArn", "describe_action"),
    "Artifact": ("Artifacts", "ArtifactName", "create_artifact", "ArtifactArn", None),
    "Context": ("Contexts", "ContextName", "create_context", "ContextArn", "describe_context"),
}


def lineage(request):
    """A callable that creates a Lineage step's Actions, Artifacts and Contexts, then adds its
    Associations, whose ends are ARNs or {Name, Type} references to entities of this step.
    Returns the step's properties: ActionArns, ArtifactArns, ContextArns (by name) and
    Associations."""

    def create(**context):
        from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook

        client = SageMakerHook().conn
        sent = request(context)
        result = {f"{kind}Arns": {} for kind in LINEAGE_KINDS}
        for kind, (key, name_field, *_) in LINEAGE_KINDS.items():
            for entity in sent.get(key) or []:
                arn = get_or_create(client, kind, entity)
                result[f"{kind}Arns"][entity.get(name_field)] = arn
        associations = []
        for association in sent.get("Associations") or []:
            ends = {
                f"{end}Arn": lineage_arn(result, association[end])
                for end in ("Source", "Destination")
            }
            rest = {k: v for k, v in association.items() if k not in ("Source", "Destination")}
            client.add_association(**ends, **rest)
            associations.append(ends)
        result["Associations"] = associations
        return result

    return create


def get_or_create(client, kind, entity):
    """The new entity's ARN; an Action or Context whose name is taken is reused, as lineage
    tracking does (Artifacts have no unique name: each is created)."""
    _, name_field, create, arn_field, describe = LINEAGE_KINDS[kind]
    try:
        return getattr(client, create)(**entity)[arn_field]
    except client.exceptions.ClientError as error:
        if describe is None:
            raise
        try:
            return getattr(client, describe)(**{name_field: entity[name_field]})[arn_field]
        except client.exceptions.ClientError:
            raise error from None


def lineage_arn(result, end):
    """An association end: its Arn, or the ARN of this step's entity of that Name and Type."""
    if "Arn" in end:
        return end["Arn"]
    created = result.get(f"{end.get('Type')}Arns", {})
    if end.get("Name") not in created:
        raise AirflowFailException(f"the association end {end!r} names no entity of this step")
    return created[end["Name"]]


# section: check_operator


class SageMakerCheckOperator(SageMakerProcessingOperator):
    """A QualityCheck or ClarifyCheck step: its processing job, plus the baseline properties
    that later steps read. ``calculated`` maps each CalculatedBaseline* property to the file
    the check writes under its first output; ``drift_check`` maps each
    BaselineUsedForDriftCheck* property to (its supplied, its calculated property)."""

    template_fields = (*SageMakerProcessingOperator.template_fields, "check")

    def __init__(self, *, check, calculated, drift_check, **kwargs):
        super().__init__(**kwargs)
        self.check = check
        self.calculated = calculated
        self.drift_check = drift_check

    def execute(self, context):
        description = super().execute(context)["Processing"]
        outputs = description["ProcessingOutputConfig"]["Outputs"]
        output = outputs[0]["S3Output"]["S3Uri"].rstrip("/")
        for name, file_name in self.calculated.items():
            description[name] = f"{output}/{file_name}"
        for name, (supplied, calculated) in self.drift_check.items():
            description[name] = baseline_used_for_drift_check(
                self.check.get("RegisterNewBaseline"),
                self.check.get(supplied),
                description[calculated],
            )
        return description


def baseline_used_for_drift_check(register_new_baseline, supplied, calculated):
    """SageMaker's rule: with RegisterNewBaseline true, the newly calculated baseline; else
    the supplied one when given, else the calculated one."""
    if register_new_baseline is True:
        return calculated
    return supplied if supplied not in (None, "") else calculated


# section: callback

# pipeglot's callback protocol (pipeglot/callback_worker.py documents it for the worker).
CALLBACK_TOKEN_ATTRIBUTE = "CallbackToken"


def send_callback(queue_url, arguments, execution_arn):
    """A callable that sends a Callback step's SQS message in SageMaker's shape and returns its
    token, which names the reply queue: the request queue's URL plus "-replies"."""

    def send(**context):
        import secrets

        from airflow.providers.amazon.aws.hooks.sqs import SqsHook

        url = evaluate(queue_url, context)
        base, fifo = (url[:-5], ".fifo") if url.endswith(".fifo") else (url, "")
        token = f"{base}-replies{fifo}#{secrets.token_hex(16)}"
        body = {
            "token": token,
            "pipelineExecutionArn": evaluate(execution_arn, context),
            "arguments": evaluate(arguments, context),
            "status": "Executing",
        }
        fifo_ids = {"MessageGroupId": token[-32:], "MessageDeduplicationId": token[-32:]}
        message = {"QueueUrl": url, "MessageBody": json.dumps(body), **(fifo_ids if fifo else {})}
        SqsHook().conn.send_message(**message)
        return token

    return send


def callback_answer(send_task_id, output_types):
    """A sensor callable: takes the worker's answer to the token from the reply queue (long
    polling; other answers go back at once) and returns the OutputParameters, or fails with
    the worker's reason. Until the answer comes, the sensor waits rescheduled, off its slot."""

    def poke(**context):
        from airflow.providers.amazon.aws.hooks.sqs import SqsHook

        token = context["ti"].xcom_pull(task_ids=send_task_id)
        queue = token.rpartition("#")[0]
        client = SqsHook().conn
        received = client.receive_message(
            QueueUrl=queue,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=20,
            MessageAttributeNames=[CALLBACK_TOKEN_ATTRIBUTE],
        )
        for message in received.get("Messages", []):
            attributes = message.get("MessageAttributes") or {}
            receipt = {"QueueUrl": queue, "ReceiptHandle": message["ReceiptHandle"]}
            if attributes.get(CALLBACK_TOKEN_ATTRIBUTE, {}).get("StringValue") != token:
                client.change_message_visibility(**receipt, VisibilityTimeout=0)
                continue
            client.delete_message(**receipt)
            outputs = callback_outputs(json.loads(message["Body"]), output_types)
            return PokeReturnValue(True, outputs)
        return False

    return poke


def callback_outputs(answer, output_types):
    """{"OutputParameters": {name: value}} from a worker's answer, each value of its type."""
    if answer.get("status") != "Succeeded":
        reason = answer.get("failureReason") or "no reason given"
        raise AirflowFailException(f"the callback worker answered {answer.get('status')}: {reason}")
    given = {item["Name"]: item["Value"] for item in answer.get("outputParameters") or []}
    missing = sorted(set(output_types) - set(given))
    if missing:
        raise AirflowFailException(f"the callback worker's answer lacks {', '.join(missing)}")
    convert = {"Integer": int, "Float": float, "Boolean": lambda v: str(v).lower() == "true"}
    outputs = {name: convert.get(kind, str)(given[name]) for name, kind in output_types.items()}
    return {"OutputParameters": outputs}


# section: end
# Written by the backend for each DAG, as far as its sections use them:
READERS: dict[str, object] = {}  # Get's first part -> its reader
STEP_RESULTS: dict[str, tuple[str, str]] = {}  # step -> (task id, SageMaker step type)
EXPERIMENT_CONFIG: dict[str, object] = {}
