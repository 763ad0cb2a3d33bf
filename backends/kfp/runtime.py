"""The code that runs inside the generated components, copied verbatim into every generated file.

The generated pipeline file holds these functions and ships them to its components with
``@dsl.component(additional_funcs=...)``. A component's module then contains only these
functions and the component itself, so each function here must be self-contained: the standard
library and boto3 only, imported inside the function, and no module-level names. The facts a
function needs about SageMaker (API names, name limits, statuses, which lists are indexed by
name) are arguments, written into the component by the backend from ``pipeglot.ir.sagemaker``.

Requests reach the components as JSON text, exactly as SageMaker wrote them, with SageMaker's
own expressions (``{"Get": ...}``, ``{"Std:Join": ...}``, ``{"Std:JsonGet": ...}``) left in
place: ``resolve`` evaluates them at run time against the step's context (pipeline parameters,
execution values, and the results of the steps it reads from). Every step returns its *result*
as JSON text: ``{"Step": name, "Properties": {...}}``, where the properties are what SageMaker
exposes for the step (the Describe* answer of a job), or ``{"Step": name, "Skipped": true}``
when the step was skipped (see ``skipped``).

The functions of the steps that are not SageMaker jobs are in ``runtime_services.py``.
This module is also imported by pipeglot's tests, which run these functions against moto.
"""


def aws_client(service):
    """A boto3 client that retries throttling and service faults, as SageMaker Pipelines does."""
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 10}))


def step_context(upstream=(), parameters=None, execution=None, name_fields=None):
    """What a step's expressions read: the results of the steps it reads from (JSON text, in
    any order: each names its step), pipeline parameters, execution values, and the lists of
    step properties that are indexed by a name field."""
    import json

    steps = {}
    for text in upstream:
        if text:
            result = json.loads(text)
            steps[result["Step"]] = result
    return {
        "steps": steps,
        "parameters": dict(parameters or {}),
        "execution": dict(execution or {}),
        "name_fields": dict(name_fields or {}),
    }


def skipped(step, guard, branch):
    """Whether a step placed outside the ``dsl.If`` blocks of its Condition must not run: its
    guard Condition (``guard``, that task's branch output) did not choose ``branch``. Only
    steps nested deeper than Python's block limit get a guard; others are skipped by KFP."""
    if not branch or guard == branch:
        return False
    print(f"{step}: skipped (its condition chose {guard or 'no branch'}, not {branch})")
    return True


def skipped_result(step):
    import json

    return json.dumps({"Step": step, "Skipped": True})


def resolve(value, context):
    """``value`` with every SageMaker expression in it replaced by its run-time value."""
    if isinstance(value, list):
        return [resolve(item, context) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, body),) = value.items()
        if key == "Get":
            return resolve_get(body, context)
        if key == "Std:Join":
            parts = [join_text(resolve(item, context)) for item in body["Values"]]
            return body["On"].join(parts)
        if key == "Std:JsonGet":
            return json_get(body, context)
    return {key: resolve(item, context) for key, item in value.items()}


def join_text(value):
    """How Std:Join writes a value: JSON spelling for booleans, null and containers."""
    import json

    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def resolve_get(reference, context):
    """The value of ``{"Get": reference}``."""
    import datetime
    import re

    root, _, rest = reference.partition(".")
    if root == "Parameters":
        return context["parameters"][rest]
    if root == "Execution":
        if rest == "CurrentDateTime" and rest not in context["execution"]:
            return datetime.datetime.now(datetime.UTC).isoformat()
        return context["execution"][rest]
    if root == "Steps":
        step = re.match(r"[^.\[']+", rest).group()
        path = rest[len(step) :]
        result = context["steps"][step]
        try:
            return walk(result["Properties"], path, context["name_fields"])
        except (KeyError, IndexError, TypeError):
            raise RuntimeError(f"step {step!r} has no property {path!r} in its result") from None
    raise RuntimeError(f"cannot resolve {reference!r}")


def json_get(body, context):
    """Std:JsonGet on an S3 URI: read the JSON file and take ``Path`` in it."""
    import json

    uri = resolve(body["S3Uri"], context)
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    document = json.loads(aws_client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    return walk(document, body["Path"], {})


def walk(document, path, name_fields):
    """The value at ``path`` (``.A``, ``[0]``, ``['k']`` parts) in ``document``.

    ``['k']`` on a list selects the item whose name field (``name_fields[list name]``) is k.
    """
    import re

    value = document
    container = ""
    for attribute, index, key in re.findall(r"\.?([A-Za-z0-9_:-]+)|\[(\d+)\]|\['([^']*)'\]", path):
        if attribute:
            value = value[attribute]
            container = attribute
        elif index:
            value = value[int(index)]
        elif isinstance(value, list):
            field = name_fields.get(container)
            matches = [item for item in value if isinstance(item, dict) and item.get(field) == key]
            if not matches:
                raise KeyError(key)
            value = matches[0]
        else:
            value = value[key]
    return value


def step_result(step, properties):
    """A step's result as JSON text (datetimes as ISO text). KFP replaces its placeholders,
    two braces and a dollar sign, in the string inputs of later tasks, so the dollar sign is
    escaped there (the same JSON value): a property that holds such text arrives as it is.
    (No placeholder is spelled out here: this code itself is a task's command.)"""
    import json

    text = json.dumps({"Step": step, "Properties": properties}, default=str, sort_keys=True)
    opening = "{" * 2 + "$"
    return text.replace(opening, opening[:2] + "\\u0024")


def unique_name(prefix, limit=63):
    """A fresh resource name for one attempt: ``prefix-<12 hex>``, valid SageMaker name
    characters, at most ``limit`` characters."""
    import re
    import uuid

    budget = limit - 13
    base = re.sub(r"[^A-Za-z0-9]+", "-", str(prefix)).strip("-")[:budget].strip("-") or "step"
    return f"{base}-{uuid.uuid4().hex[:12]}"


def wait_for(describe, status_of, done, failed, poll_seconds, reason_of=None):
    """Call ``describe`` until ``status_of`` its answer is in ``done`` (or fail on ``failed``,
    with ``reason_of`` the answer as the message)."""
    import time

    while True:
        answer = describe()
        status = status_of(answer)
        if status in done:
            return answer
        if status in failed:
            reason = reason_of(answer) if reason_of else ""
            raise RuntimeError(f"ended with status {status}: {reason or ''}".strip())
        time.sleep(poll_seconds)


def run_sagemaker_job(step, api, request, context, check="", poll_seconds=30):
    """Create the SageMaker resource of one step, wait until it is done, return its result.

    ``api`` holds the resource's facts (from pipeglot's table): ``resource`` (boto3 calls
    ``create_<resource>`` and ``describe_<resource>``), ``name_field`` and ``name_limit``,
    ``name_is_prefix`` (a name in the request only starts the generated one),
    ``unnamed_with`` (a request key that makes the resource unnamed: a versioned model
    package), ``status_field`` (None: ready once created), ``succeeded``, ``failed`` and
    ``failure_reason_field``; optional extras are ``baselines`` (a check step's baseline files,
    see ``check_baselines``) and ``tuning_summaries`` (list the tuning job's training jobs).
    ``check`` is a check step's own keys (JSON text: RegisterNewBaseline, Supplied*...).
    """
    import json

    body = json.loads(request)
    name_field = api["name_field"]
    unnamed = api.get("unnamed_with") is not None and api["unnamed_with"] in body
    name = None
    if not unnamed:
        given = resolve(body.get(name_field), context)
        if given is None or api["name_is_prefix"]:
            name = unique_name(given if isinstance(given, str) else step, api["name_limit"])
        # A step may read its own job's name (Execution.ProcessingJobName / TrainingJobName).
        context["execution"].setdefault(name_field, name if name is not None else given)
    body = resolve(body, context)
    if name is not None:
        body[name_field] = name
    client = aws_client("sagemaker")
    created = getattr(client, f"create_{api['resource']}")(**body)
    key = {name_field: created[api["arn_field"]] if unnamed else body[name_field]}

    def describe():
        return getattr(client, f"describe_{api['resource']}")(**key)

    def reason(answer):
        return answer.get(api.get("failure_reason_field") or "", "")

    try:
        if api["status_field"] is None:
            document = describe()
        else:
            status = api["status_field"]
            done, failed = set(api["succeeded"]), set(api["failed"])
            document = wait_for(
                describe, lambda d: d.get(status), done, failed, poll_seconds, reason
            )
    except RuntimeError as error:
        raise RuntimeError(f"step {step!r}: {api['resource']} {key[name_field]} {error}") from None
    document = {**created, **document}
    document.pop("ResponseMetadata", None)
    if api.get("tuning_summaries"):
        document[api["tuning_summaries"]["field"]] = tuning_summaries(
            client, body, key[name_field], api["tuning_summaries"]["limit"]
        )
    if api.get("automl_reports"):
        document.update(automl_reports(document, api["automl_reports"]))
    if check:
        keys = resolve(json.loads(check), context)
        document.update(check_baselines(body, keys, api["baselines"]))
    return step_result(step, document)


def automl_reports(document, reports):
    """An AutoML step's report properties (``BestCandidateProperties.ModelInsightsJsonReport
    Path``...), from where DescribeAutoMLJob keeps them: ``reports`` holds the property name
    (``field``), the path of the locations (``locations``) and each report's key (``names``)."""
    locations = document
    for key in reports["locations"]:
        locations = locations.get(key) or {}
    found = {name: locations[key] for name, key in reports["names"].items() if key in locations}
    return {reports["field"]: found}


def tuning_summaries(client, request, name, limit):
    """A tuning job's best training jobs, best first: its TrainingJobSummaries property."""
    objective = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    order = "Ascending" if objective.get("Type") == "Minimize" else "Descending"
    listed = client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        SortBy="FinalObjectiveMetricValue",
        SortOrder=order,
        MaxResults=limit,
    )
    return listed["TrainingJobSummaries"]


def check_baselines(request, check, baselines):
    """The baseline properties of a QualityCheck or ClarifyCheck step.

    ``baselines["calculated"]`` maps each Calculated* property to its file under the check
    job's first output; ``baselines["drift"]`` maps each BaselineUsedForDriftCheck* property to
    (the step key of the supplied baseline, the Calculated* property). SageMaker's rule: with
    RegisterNewBaseline true the calculated baseline is used, otherwise the supplied one when
    it is given, else the calculated one.
    """
    output = request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].rstrip("/")
    properties = {name: f"{output}/{file}" for name, file in baselines["calculated"].items()}
    for used, (supplied_key, calculated_name) in baselines["drift"].items():
        calculated = properties.get(calculated_name)
        supplied = check.get(supplied_key)
        if check.get("RegisterNewBaseline") is True or supplied in (None, ""):
            value = calculated
        else:
            value = supplied
        if value is not None:
            properties[used] = value
    return properties
