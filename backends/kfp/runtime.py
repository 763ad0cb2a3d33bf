"""The code that runs inside the generated components, copied verbatim into every generated file.

The generated pipeline file holds these functions and ships them to its components with
``@dsl.component(additional_funcs=...)``. A component's module then contains only these
functions and the component itself, so each function here must be self-contained: the standard
library and boto3 only, imported inside the function, and no module-level names.

Request bodies reach the components exactly as SageMaker wrote them, with SageMaker's own
expressions (``{"Get": ...}``, ``{"Std:Join": ...}``, ``{"Std:JsonGet": ...}``) left in place:
``resolve`` evaluates them at run time against the values the component received (pipeline
parameters, execution values, and the properties of the steps it reads from). A step returns,
as JSON text, a map from each property path that later steps read (such as
``ModelArtifacts.S3ModelArtifacts``) to its value in the step's Describe* response.

The functions of the steps that are not SageMaker jobs are in ``runtime_services.py``.
This module is also imported by pipeglot's tests, which run these functions against moto.
"""


def aws_client(service):
    """A boto3 client that retries throttling and service faults, as SageMaker Pipelines does."""
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 10}))


def build_context(parameters=None, steps=None, execution=None, property_files=None):
    """The values a step's expressions read; upstream step outputs arrive as JSON text."""
    import json

    decoded = {}
    for name, value in (steps or {}).items():
        decoded[name] = json.loads(value) if isinstance(value, str) else value
    return {
        "parameters": dict(parameters or {}),
        "steps": decoded,
        "execution": dict(execution or {}),
        "property_files": dict(property_files or {}),
    }


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
        path = rest[len(step) :].removeprefix(".")
        properties = context["steps"][step]
        if path not in properties:
            raise RuntimeError(f"step {step!r} has no property {path!r} in its response")
        return properties[path]
    raise RuntimeError(f"cannot resolve {reference!r}")


def json_get(body, context):
    """Std:JsonGet: read a JSON file from S3 (a property file or a URI) and take ``Path``."""
    import json

    if "PropertyFile" in body:
        reference = body["PropertyFile"]["Get"].removeprefix("Steps.")
        step, _, name = reference.partition(".PropertyFiles.")
        output_name, file_path = context["property_files"][f"{step}.{name}"]
        output = f"ProcessingOutputConfig.Outputs['{output_name}'].S3Output.S3Uri"
        uri = context["steps"][step][output].rstrip("/") + "/" + file_path
    else:
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


def step_properties(document, paths):
    """The values at ``paths`` in a Describe* response, as JSON text; absent ones are left out."""
    import json

    name_fields = {
        "Outputs": "OutputName",
        "ProcessingInputs": "InputName",
        "FinalMetricDataList": "MetricName",
        "InputDataConfig": "ChannelName",
        "OutputParameters": "Name",
        "ActionArns": "ActionName",
        "ArtifactArns": "ArtifactName",
        "ContextArns": "ContextName",
    }
    properties = {}
    for path in paths:
        try:
            properties[path] = walk(document, path, name_fields)
        except (KeyError, IndexError, TypeError):
            continue
    return json.dumps(properties, default=str, sort_keys=True)


def unique_name(prefix):
    """A fresh resource name for one attempt: ``prefix-<random>``, at most 63 characters."""
    import re
    import uuid

    base = re.sub(r"[^A-Za-z0-9]+", "-", str(prefix)).strip("-")[:46].strip("-") or "pipeglot"
    return f"{base}-{uuid.uuid4().hex[:16]}"


def wait_for(describe, status_of, done, failed, poll_seconds):
    """Call ``describe`` until ``status_of`` its answer is in ``done`` (or fail on ``failed``)."""
    import time

    while True:
        answer = describe()
        status = status_of(answer)
        if status in done:
            return answer
        if status in failed:
            # SageMaker says why in FailureReason, EMR in StateChangeReason, EMR Serverless in
            # stateDetails.
            keys = ("FailureReason", "StateChangeReason", "stateDetails")
            reason = next((answer[key] for key in keys if answer.get(key)), "")
            raise RuntimeError(f"ended with status {status}: {reason}".strip())
        time.sleep(poll_seconds)


def run_sagemaker_step(step, kind, api, request, context, outputs, check=None, poll_seconds=30):
    """Create the SageMaker resource for one step, wait until it is done, return its properties.

    ``api`` is (resource, name key, status key or None, whether a given name is a prefix): the
    job is created with ``create_<resource>`` and watched with ``describe_<resource>``. The job
    gets a new unique name on every attempt (names are stripped from definitions; a name present
    in the request is a prefix, as with ``use_custom_job_prefix``). The task fails when the job
    fails.
    """
    import json

    resource, name_key, status_key, name_is_prefix = api
    job_kind = "Processing" if kind in ("QualityCheck", "ClarifyCheck") else kind
    body = json.loads(request) if isinstance(request, str) else request
    versioned_package = job_kind == "RegisterModel" and "ModelPackageGroupName" in body
    name = None
    if not versioned_package:
        given = resolve(body.get(name_key), context)
        if given is None or name_is_prefix:
            prefix = given if isinstance(given, str) else step
            name = unique_name(prefix)
        # A step may read its own job's name (Execution.ProcessingJobName / TrainingJobName).
        context["execution"].setdefault(name_key, name)
    body = resolve(body, context)
    if name is not None:
        body[name_key] = name
    client = aws_client("sagemaker")
    created = getattr(client, f"create_{resource}")(**body)
    if versioned_package:
        key = {name_key: created["ModelPackageArn"]}
    else:
        key = {name_key: body[name_key]}

    def describe():
        return getattr(client, f"describe_{resource}")(**key)

    done, failed = {"Completed", "InService"}, {"Failed", "Stopped", "OutOfService"}
    try:
        if status_key is None:
            document = describe()
        else:
            document = wait_for(describe, lambda d: d.get(status_key), done, failed, poll_seconds)
    except RuntimeError as error:
        raise RuntimeError(
            f"step {step!r}: {job_kind} {next(iter(key.values()))} {error}"
        ) from None
    if job_kind == "Tuning" and any(path.startswith("TrainingJobSummaries") for path in outputs):
        summaries = tuning_summaries(client, body, key[name_key])
        document = {**document, "TrainingJobSummaries": summaries}
    if check is not None:
        document = {**document, **check_baselines(body, resolve(check, context))}
    return step_properties(document, outputs)


def tuning_summaries(client, request, name):
    """A tuning job's best 50 training jobs, best first: its TrainingJobSummaries property."""
    objective = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    order = "Ascending" if objective.get("Type") == "Minimize" else "Descending"
    listed = client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        SortBy="FinalObjectiveMetricValue",
        SortOrder=order,
        MaxResults=50,
    )
    return listed["TrainingJobSummaries"]


def check_baselines(request, check):
    """The baseline properties of a QualityCheck or ClarifyCheck step, from its job's output."""
    output = request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].rstrip("/")
    if check.get("CheckType", "").startswith(("DATA_BIAS", "MODEL_BIAS", "MODEL_EXPLAINABILITY")):
        calculated = {"CalculatedBaselineConstraints": f"{output}/analysis.json"}
    else:
        calculated = {
            "CalculatedBaselineStatistics": f"{output}/statistics.json",
            "CalculatedBaselineConstraints": f"{output}/constraints.json",
        }
    properties = dict(calculated)
    for kind in ("Statistics", "Constraints"):
        supplied = check.get(f"SuppliedBaseline{kind}")
        used = calculated.get(f"CalculatedBaseline{kind}")
        if supplied and not check.get("RegisterNewBaseline"):
            used = supplied
        if used is not None:
            properties[f"BaselineUsedForDriftCheck{kind}"] = used
    return properties
