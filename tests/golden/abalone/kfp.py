"""Kubeflow Pipelines v2 pipeline translated by pipeglot from a SageMaker pipeline.

abalone

Generated code: change the pipeline and regenerate rather than edit this file:

    pipeglot translate abalone.json --to kfp --unsupported warn
"""

import json
import sys
from typing import NamedTuple

from kfp import compiler, dsl

PIPELINE_NAME = "abalone"
BASE_IMAGE = "python:3.11-slim"
PACKAGES = ["boto3"]

# Each SageMaker step is one task whose display name is the step's name, made from the
# reusable component of its kind below. Job components create the SageMaker resource from the
# task's request under a new name per attempt and wait for it. The pods need AWS credentials
# (for example IRSA on the run's service account) and AWS_DEFAULT_REGION.
# Run `python THIS_FILE.py [OUTPUT.yaml]` to compile it.


# --- SageMaker's expressions in the requests (the components evaluate them) ---


def Get(reference):
    """``{"Get": reference}``: a pipeline parameter, execution variable or step property."""
    return {"Get": reference}


def Join(on, values):
    """``Std:Join``: the values as text, joined by ``on``."""
    return {"Std:Join": {"On": on, "Values": values}}


def JsonGet(s3_uri, path):
    """``Std:JsonGet``: the value at ``path`` in the JSON file at ``s3_uri``."""
    return {"Std:JsonGet": {"S3Uri": s3_uri, "Path": path}}


# --- Values several steps share ---
ROLE_ARN = "arn:aws:iam::000000000000:role/SageMakerRole"
TRAINING_IMAGE = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3"


# --- What the tasks read from earlier steps' results ---
ABALONE_PROCESS_TRAIN_S3_URI = Get(
    "Steps.AbaloneProcess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri",
)
ABALONE_PROCESS_VALIDATION_S3_URI = Get(
    "Steps.AbaloneProcess.ProcessingOutputConfig.Outputs['validation'].S3Output.S3Uri",
)
ABALONE_TRAIN_S3_MODEL_ARTIFACTS = Get("Steps.AbaloneTrain.ModelArtifacts.S3ModelArtifacts")
ABALONE_PROCESS_TEST_S3_URI = Get(
    "Steps.AbaloneProcess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri",
)
ABALONE_EVAL_EVALUATION_S3_URI = Get(
    "Steps.AbaloneEval.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri",
)
ABALONE_CREATE_MODEL_CREATE_MODEL_MODEL_NAME = Get("Steps.AbaloneCreateModel-CreateModel.ModelName")


# --- Runs inside the components (standard library and boto3 only) ---


# A boto3 client that retries throttling and service faults, as SageMaker Pipelines does.
def aws_client(service):
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 10}))


# What a step's expressions read: the results of the steps it reads from (JSON text, in any order:
# each names its step), pipeline parameters, execution values, and the lists of step properties that
# are indexed by a name field.
def step_context(upstream=(), parameters=None, execution=None, name_fields=None):
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


# ``value`` with every SageMaker expression in it replaced by its run-time value.
def resolve(value, context):
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


# How Std:Join writes a value: JSON spelling for booleans, null and containers.
def join_text(value):
    import json

    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


# The value of ``{"Get": reference}``.
def resolve_get(reference, context):
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


# Std:JsonGet on an S3 URI: read the JSON file and take ``Path`` in it.
def json_get(body, context):
    import json

    uri = resolve(body["S3Uri"], context)
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    document = json.loads(aws_client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    return walk(document, body["Path"], {})


# The value at ``path`` (``.A``, ``[0]``, ``['k']`` parts) in ``document``.
def walk(document, path, name_fields):
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


# A step's result as JSON text (datetimes as ISO text). KFP replaces its placeholders, two braces
# and a dollar sign, in the string inputs of later tasks, so the dollar sign is escaped there (the
# same JSON value): a property that holds such text arrives as it is. (No placeholder is spelled out
# here: this code itself is a task's command.)
def step_result(step, properties):
    import json

    text = json.dumps({"Step": step, "Properties": properties}, default=str, sort_keys=True)
    opening = "{" * 2 + "$"
    return text.replace(opening, opening[:2] + "\\u0024")


# A fresh resource name for one attempt: ``prefix-<12 hex>``, valid SageMaker name characters, at
# most ``limit`` characters.
def unique_name(prefix, limit=63):
    import re
    import uuid

    budget = limit - 13
    base = re.sub(r"[^A-Za-z0-9]+", "-", str(prefix)).strip("-")[:budget].strip("-") or "step"
    return f"{base}-{uuid.uuid4().hex[:12]}"


# Call ``describe`` until ``status_of`` its answer is in ``done`` (or fail on ``failed``, with
# ``reason_of`` the answer as the message).
def wait_for(describe, status_of, done, failed, poll_seconds, reason_of=None):
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


# Create the SageMaker resource of one step, wait until it is done, return its result.
def run_sagemaker_job(step, api, request, context, check="", poll_seconds=30):
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


# An AutoML step's report properties (``BestCandidateProperties.ModelInsightsJsonReport Path``...),
# from where DescribeAutoMLJob keeps them: ``reports`` holds the property name (``field``), the path
# of the locations (``locations``) and each report's key (``names``).
def automl_reports(document, reports):
    locations = document
    for key in reports["locations"]:
        locations = locations.get(key) or {}
    found = {name: locations[key] for name, key in reports["names"].items() if key in locations}
    return {reports["field"]: found}


# A tuning job's best training jobs, best first: its TrainingJobSummaries property.
def tuning_summaries(client, request, name, limit):
    objective = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    order = "Ascending" if objective.get("Type") == "Minimize" else "Descending"
    listed = client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        SortBy="FinalObjectiveMetricValue",
        SortOrder=order,
        MaxResults=limit,
    )
    return listed["TrainingJobSummaries"]


# The baseline properties of a QualityCheck or ClarifyCheck step.
def check_baselines(request, check, baselines):
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


# A Condition step's branch, ``IfSteps`` when all of ``conditions`` (JSON text) hold (SageMaker ANDs
# the list), else ``ElseSteps``; and its result (its Outcome property).
def evaluate_conditions(step, conditions, context):
    import json

    def number(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def comparable(left, right):
        # Numbers read from a JSON file or a Describe response may arrive as numeric text.
        if number(left) and isinstance(right, str):
            return left, float(right)
        if isinstance(left, str) and number(right):
            return float(left), right
        if (number(left) and number(right)) or type(left) is type(right):
            return left, right
        raise RuntimeError(f"step {step!r} cannot compare {left!r} with {right!r}")

    def equal(left, right):
        try:
            left, right = comparable(left, right)
        except (RuntimeError, ValueError):
            return False
        return left == right

    def holds(condition):
        kind = condition["Type"]
        if kind == "Not":
            return not holds(condition["Condition"])
        if kind == "Or":
            return any(holds(inner) for inner in condition["Conditions"])
        if kind == "In":
            query = resolve(condition["QueryValue"], context)
            return any(equal(query, resolve(item, context)) for item in condition["Values"])
        left = resolve(condition["LeftValue"], context)
        right = resolve(condition["RightValue"], context)
        if kind == "Equals":
            return equal(left, right)
        left, right = comparable(left, right)
        return {
            "GreaterThan": left > right,
            "GreaterThanOrEqualTo": left >= right,
            "LessThan": left < right,
            "LessThanOrEqualTo": left <= right,
        }[kind]

    outcome = all(holds(condition) for condition in json.loads(conditions))
    print(f"{step}: the conditions are {'met' if outcome else 'not met'}")
    return ("IfSteps" if outcome else "ElseSteps"), step_result(step, {"Outcome": outcome})


# A Fail step: end the run as failed, with the step's error message.
def fail_run(step, request, context):
    import json

    message = resolve(json.loads(request).get("ErrorMessage", ""), context)
    raise RuntimeError(f"step {step!r} failed the pipeline: {join_text(message)}")


# The lists of step properties that SageMaker indexes by a name field (``Outputs['train']`` is the
# output whose OutputName is train).
def list_name_fields():
    return {
        "Outputs": "OutputName",
        "ProcessingInputs": "InputName",
        "FinalMetricDataList": "MetricName",
        "InputDataConfig": "ChannelName",
        "OutputParameters": "Name",
        "ActionArns": "ActionName",
        "ArtifactArns": "ArtifactName",
        "ContextArns": "ContextName",
    }


PROCESSING_JOB_RUNTIME = [
    aws_client,
    step_context,
    resolve,
    join_text,
    resolve_get,
    walk,
    step_result,
    unique_name,
    wait_for,
    run_sagemaker_job,
    list_name_fields,
]
TRAINING_JOB_RUNTIME = [
    aws_client,
    step_context,
    resolve,
    join_text,
    resolve_get,
    walk,
    step_result,
    unique_name,
    wait_for,
    run_sagemaker_job,
    list_name_fields,
]
CONDITION_STEP_RUNTIME = [
    aws_client,
    step_context,
    resolve,
    join_text,
    resolve_get,
    json_get,
    walk,
    step_result,
    evaluate_conditions,
    list_name_fields,
]
MODEL_PACKAGE_RUNTIME = [
    aws_client,
    step_context,
    resolve,
    join_text,
    resolve_get,
    walk,
    step_result,
    unique_name,
    wait_for,
    run_sagemaker_job,
    list_name_fields,
]
MODEL_RUNTIME = [
    aws_client,
    step_context,
    resolve,
    join_text,
    resolve_get,
    walk,
    step_result,
    unique_name,
    wait_for,
    run_sagemaker_job,
    list_name_fields,
]
TRANSFORM_JOB_RUNTIME = [
    aws_client,
    step_context,
    resolve,
    join_text,
    resolve_get,
    walk,
    step_result,
    unique_name,
    wait_for,
    run_sagemaker_job,
    list_name_fields,
]
FAIL_RUNTIME = [step_context, resolve, join_text, resolve_get, walk, fail_run]


# --- One reusable component per kind of step ---


@dsl.component(
    base_image=BASE_IMAGE,
    packages_to_install=PACKAGES,
    additional_funcs=PROCESSING_JOB_RUNTIME,
)
def processing_job(
    step: str,
    request: str,
    upstream_1: str = "",
    upstream_2: str = "",
    ProcessingInstanceCount: int = 1,
    InputData: str = "s3://sagemaker-us-west-2-000000000000/abalone/abalone-dataset.csv",
) -> str:
    """A SageMaker processing job."""
    context = step_context(
        upstream=[upstream_1, upstream_2],
        parameters={"ProcessingInstanceCount": ProcessingInstanceCount, "InputData": InputData},
        name_fields=list_name_fields(),
    )
    api = {
        "resource": "processing_job",
        "name_field": "ProcessingJobName",
        "name_limit": 63,
        "name_is_prefix": True,
        "unnamed_with": None,
        "arn_field": "ProcessingJobArn",
        "status_field": "ProcessingJobStatus",
        "succeeded": ["Completed"],
        "failed": ["Failed", "Stopped"],
        "failure_reason_field": "FailureReason",
    }
    return run_sagemaker_job(step, api, request, context)


@dsl.component(
    base_image=BASE_IMAGE,
    packages_to_install=PACKAGES,
    additional_funcs=TRAINING_JOB_RUNTIME,
)
def training_job(
    step: str,
    request: str,
    upstream_1: str = "",
    TrainingInstanceType: str = "ml.m5.xlarge",
) -> str:
    """A SageMaker training job."""
    context = step_context(
        upstream=[upstream_1],
        parameters={"TrainingInstanceType": TrainingInstanceType},
        name_fields=list_name_fields(),
    )
    api = {
        "resource": "training_job",
        "name_field": "TrainingJobName",
        "name_limit": 63,
        "name_is_prefix": True,
        "unnamed_with": None,
        "arn_field": "TrainingJobArn",
        "status_field": "TrainingJobStatus",
        "succeeded": ["Completed"],
        "failed": ["Failed", "Stopped"],
        "failure_reason_field": "FailureReason",
    }
    return run_sagemaker_job(step, api, request, context)


@dsl.component(
    base_image=BASE_IMAGE,
    packages_to_install=PACKAGES,
    additional_funcs=CONDITION_STEP_RUNTIME,
)
def condition_step(
    step: str,
    request: str,
    upstream_1: str = "",
    MseThreshold: float = 6.0,
) -> NamedTuple("Outputs", [("branch", str), ("result", str)]):
    """A Condition step: which branch runs."""
    context = step_context(
        upstream=[upstream_1],
        parameters={"MseThreshold": MseThreshold},
        name_fields=list_name_fields(),
    )
    return evaluate_conditions(step, request, context)


@dsl.component(
    base_image=BASE_IMAGE,
    packages_to_install=PACKAGES,
    additional_funcs=MODEL_PACKAGE_RUNTIME,
)
def model_package(
    step: str,
    request: str,
    upstream_1: str = "",
    ModelApprovalStatus: str = "PendingManualApproval",
) -> str:
    """A model package in the model registry."""
    context = step_context(
        upstream=[upstream_1],
        parameters={"ModelApprovalStatus": ModelApprovalStatus},
        name_fields=list_name_fields(),
    )
    api = {
        "resource": "model_package",
        "name_field": "ModelPackageName",
        "name_limit": 63,
        "name_is_prefix": True,
        "unnamed_with": "ModelPackageGroupName",
        "arn_field": "ModelPackageArn",
        "status_field": "ModelPackageStatus",
        "succeeded": ["Completed"],
        "failed": ["Failed", "Deleting"],
        "failure_reason_field": None,
    }
    return run_sagemaker_job(step, api, request, context)


@dsl.component(base_image=BASE_IMAGE, packages_to_install=PACKAGES, additional_funcs=MODEL_RUNTIME)
def model(step: str, request: str, upstream_1: str = "") -> str:
    """A SageMaker model."""
    context = step_context(upstream=[upstream_1], name_fields=list_name_fields())
    api = {
        "resource": "model",
        "name_field": "ModelName",
        "name_limit": 63,
        "name_is_prefix": True,
        "unnamed_with": None,
        "arn_field": "ModelArn",
        "status_field": None,
        "succeeded": [],
        "failed": [],
        "failure_reason_field": None,
    }
    return run_sagemaker_job(step, api, request, context)


@dsl.component(
    base_image=BASE_IMAGE,
    packages_to_install=PACKAGES,
    additional_funcs=TRANSFORM_JOB_RUNTIME,
)
def transform_job(
    step: str,
    request: str,
    upstream_1: str = "",
    BatchData: str = "s3://sagemaker-us-west-2-000000000000/abalone/abalone-dataset-batch",
) -> str:
    """A SageMaker batch transform job."""
    context = step_context(
        upstream=[upstream_1],
        parameters={"BatchData": BatchData},
        name_fields=list_name_fields(),
    )
    api = {
        "resource": "transform_job",
        "name_field": "TransformJobName",
        "name_limit": 63,
        "name_is_prefix": True,
        "unnamed_with": None,
        "arn_field": "TransformJobArn",
        "status_field": "TransformJobStatus",
        "succeeded": ["Completed"],
        "failed": ["Failed", "Stopped"],
        "failure_reason_field": "FailureReason",
    }
    return run_sagemaker_job(step, api, request, context)


@dsl.component(base_image=BASE_IMAGE, packages_to_install=PACKAGES, additional_funcs=FAIL_RUNTIME)
def fail(step: str, request: str, MseThreshold: float = 6.0) -> str:
    """A Fail step: end the run as failed."""
    context = step_context(parameters={"MseThreshold": MseThreshold})
    return fail_run(step, request, context)


# --- Request builders: what a family of steps' requests share ---


def processing_input(input_name, s3_uri, local_path):
    return {
        "InputName": input_name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": s3_uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


def output_2(output_name, s3_uri, local_path):
    return {
        "OutputName": output_name,
        "AppManaged": False,
        "S3Output": {"S3Uri": s3_uri, "LocalPath": local_path, "S3UploadMode": "EndOfJob"},
    }


def processing_job_request(
    instance_count,
    image_uri,
    container_entrypoint,
    processing_inputs,
    outputs,
):
    return json.dumps(
        {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceType": "ml.m5.xlarge",
                    "InstanceCount": instance_count,
                    "VolumeSizeInGB": 30,
                },
            },
            "AppSpecification": {
                "ImageUri": image_uri,
                "ContainerEntrypoint": container_entrypoint,
            },
            "RoleArn": ROLE_ARN,
            "ProcessingInputs": processing_inputs,
            "ProcessingOutputConfig": {"Outputs": outputs},
        },
    )


@dsl.pipeline(name=PIPELINE_NAME)
def pipeline(
    ProcessingInstanceCount: int = 1,
    TrainingInstanceType: str = "ml.m5.xlarge",
    ModelApprovalStatus: str = "PendingManualApproval",
    InputData: str = "s3://sagemaker-us-west-2-000000000000/abalone/abalone-dataset.csv",
    BatchData: str = "s3://sagemaker-us-west-2-000000000000/abalone/abalone-dataset-batch",
    MseThreshold: float = 6.0,
):
    abalone_process = processing_job(
        step="AbaloneProcess",
        request=processing_job_request(
            instance_count=Get("Parameters.ProcessingInstanceCount"),
            image_uri="246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-scikit-learn:0.23-1-cpu-py3",
            container_entrypoint=["python3", "/opt/ml/processing/input/code/preprocessing.py"],
            processing_inputs=[
                processing_input(
                    input_name="input-1",
                    s3_uri=Get("Parameters.InputData"),
                    local_path="/opt/ml/processing/input",
                ),
                processing_input(
                    input_name="code",
                    s3_uri="s3://sagemaker-us-west-2-000000000000/sklearn-abalone-process-2022-07-13-16-07-51-228/input/code/preprocessing.py",
                    local_path="/opt/ml/processing/input/code",
                ),
            ],
            outputs=[
                output_2(
                    output_name="train",
                    s3_uri="s3://sagemaker-us-west-2-000000000000/sklearn-abalone-process-2022-07-13-16-07-51-228/output/train",
                    local_path="/opt/ml/processing/train",
                ),
                output_2(
                    output_name="validation",
                    s3_uri="s3://sagemaker-us-west-2-000000000000/sklearn-abalone-process-2022-07-13-16-07-51-228/output/validation",
                    local_path="/opt/ml/processing/validation",
                ),
                output_2(
                    output_name="test",
                    s3_uri="s3://sagemaker-us-west-2-000000000000/sklearn-abalone-process-2022-07-13-16-07-51-228/output/test",
                    local_path="/opt/ml/processing/test",
                ),
            ],
        ),
        ProcessingInstanceCount=ProcessingInstanceCount,
        InputData=InputData,
    )
    abalone_process.set_display_name("AbaloneProcess").set_caching_options(False)
    abalone_train = training_job(
        step="AbaloneTrain",
        request=json.dumps(
            {
                "AlgorithmSpecification": {
                    "TrainingInputMode": "File",
                    "TrainingImage": TRAINING_IMAGE,
                },
                "OutputDataConfig": {
                    "S3OutputPath": "s3://sagemaker-us-west-2-000000000000/AbaloneTrain",
                },
                "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
                "ResourceConfig": {
                    "VolumeSizeInGB": 30,
                    "InstanceCount": 1,
                    "InstanceType": Get("Parameters.TrainingInstanceType"),
                },
                "RoleArn": ROLE_ARN,
                "InputDataConfig": [
                    {
                        "DataSource": {
                            "S3DataSource": {
                                "S3DataType": "S3Prefix",
                                "S3Uri": ABALONE_PROCESS_TRAIN_S3_URI,
                                "S3DataDistributionType": "FullyReplicated",
                            },
                        },
                        "ContentType": "text/csv",
                        "ChannelName": "train",
                    },
                    {
                        "DataSource": {
                            "S3DataSource": {
                                "S3DataType": "S3Prefix",
                                "S3Uri": ABALONE_PROCESS_VALIDATION_S3_URI,
                                "S3DataDistributionType": "FullyReplicated",
                            },
                        },
                        "ContentType": "text/csv",
                        "ChannelName": "validation",
                    },
                ],
                "HyperParameters": {
                    "objective": "reg:linear",
                    "num_round": "50",
                    "max_depth": "5",
                    "eta": "0.2",
                    "gamma": "4",
                    "min_child_weight": "6",
                    "subsample": "0.7",
                },
                "ProfilerRuleConfigurations": [
                    {
                        "RuleConfigurationName": "ProfilerReport-1657728471",
                        "RuleEvaluatorImage": "895741380848.dkr.ecr.us-west-2.amazonaws.com/sagemaker-debugger-rules:latest",  # noqa: E501
                        "RuleParameters": {"rule_to_invoke": "ProfilerReport"},
                    },
                ],
                "ProfilerConfig": {
                    "S3OutputPath": "s3://sagemaker-us-west-2-000000000000/AbaloneTrain",
                },
            },
        ),
        upstream_1=abalone_process.output,
        TrainingInstanceType=TrainingInstanceType,
    )
    abalone_train.set_display_name("AbaloneTrain").set_caching_options(False)
    abalone_eval = processing_job(
        step="AbaloneEval",
        request=processing_job_request(
            instance_count=1,
            image_uri=TRAINING_IMAGE,
            container_entrypoint=["python3", "/opt/ml/processing/input/code/evaluation.py"],
            processing_inputs=[
                processing_input(
                    input_name="input-1",
                    s3_uri=ABALONE_TRAIN_S3_MODEL_ARTIFACTS,
                    local_path="/opt/ml/processing/model",
                ),
                processing_input("input-2", ABALONE_PROCESS_TEST_S3_URI, "/opt/ml/processing/test"),
                processing_input(
                    input_name="code",
                    s3_uri="s3://sagemaker-us-west-2-000000000000/script-abalone-eval-2022-07-13-16-07-53-265/input/code/evaluation.py",
                    local_path="/opt/ml/processing/input/code",
                ),
            ],
            outputs=[
                output_2(
                    output_name="evaluation",
                    s3_uri="s3://sagemaker-us-west-2-000000000000/script-abalone-eval-2022-07-13-16-07-53-265/output/evaluation",
                    local_path="/opt/ml/processing/evaluation",
                ),
            ],
        ),
        upstream_1=abalone_train.output,
        upstream_2=abalone_process.output,
    )
    abalone_eval.set_display_name("AbaloneEval").set_caching_options(False)
    abalone_mse_cond = condition_step(
        step="AbaloneMSECond",
        request=json.dumps(
            [
                {
                    "Type": "LessThanOrEqualTo",
                    "LeftValue": JsonGet(
                        Join("/", [ABALONE_EVAL_EVALUATION_S3_URI, "evaluation.json"]),
                        "regression_metrics.mse.value",
                    ),
                    "RightValue": Get("Parameters.MseThreshold"),
                },
            ],
        ),
        upstream_1=abalone_eval.output,
        MseThreshold=MseThreshold,
    )
    abalone_mse_cond.set_display_name("AbaloneMSECond").set_caching_options(False)
    with dsl.If(abalone_mse_cond.outputs["branch"] == "IfSteps"):
        abalone_register_model_register_model = model_package(
            step="AbaloneRegisterModel-RegisterModel",
            request=json.dumps(
                {
                    "ModelPackageGroupName": "AbaloneModelPackageGroupName",
                    "ModelMetrics": {
                        "ModelQuality": {
                            "Statistics": {
                                "ContentType": "application/json",
                                "S3Uri": "s3://sagemaker-us-west-2-000000000000/script-abalone-eval-2022-07-13-16-07-53-265/output/evaluation/evaluation.json",
                            },
                        },
                        "Bias": {},
                        "Explainability": {},
                    },
                    "InferenceSpecification": {
                        "Containers": [
                            {
                                "Image": TRAINING_IMAGE,
                                "Environment": {},
                                "ModelDataUrl": ABALONE_TRAIN_S3_MODEL_ARTIFACTS,
                            },
                        ],
                        "SupportedContentTypes": ["text/csv"],
                        "SupportedResponseMIMETypes": ["text/csv"],
                        "SupportedRealtimeInferenceInstanceTypes": ["ml.t2.medium", "ml.m5.xlarge"],
                        "SupportedTransformInstanceTypes": ["ml.m5.xlarge"],
                    },
                    "ModelApprovalStatus": Get("Parameters.ModelApprovalStatus"),
                },
            ),
            upstream_1=abalone_train.output,
            ModelApprovalStatus=ModelApprovalStatus,
        )
        abalone_register_model_register_model.set_display_name("AbaloneRegisterModel-RegisterModel")
        abalone_register_model_register_model.set_caching_options(False)
        abalone_create_model_create_model = model(
            step="AbaloneCreateModel-CreateModel",
            request=json.dumps(
                {
                    "ExecutionRoleArn": ROLE_ARN,
                    "PrimaryContainer": {
                        "Image": TRAINING_IMAGE,
                        "Environment": {},
                        "ModelDataUrl": ABALONE_TRAIN_S3_MODEL_ARTIFACTS,
                    },
                },
            ),
            upstream_1=abalone_train.output,
        )
        abalone_create_model_create_model.set_display_name("AbaloneCreateModel-CreateModel")
        abalone_create_model_create_model.set_caching_options(False)
        abalone_transform = transform_job(
            step="AbaloneTransform",
            request=json.dumps(
                {
                    "ModelName": ABALONE_CREATE_MODEL_CREATE_MODEL_MODEL_NAME,
                    "TransformInput": {
                        "DataSource": {
                            "S3DataSource": {
                                "S3DataType": "S3Prefix",
                                "S3Uri": Get("Parameters.BatchData"),
                            },
                        },
                    },
                    "TransformOutput": {
                        "S3OutputPath": "s3://sagemaker-us-west-2-000000000000/AbaloneTransform",
                    },
                    "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
                },
            ),
            upstream_1=abalone_create_model_create_model.output,
            BatchData=BatchData,
        )
        abalone_transform.set_display_name("AbaloneTransform").set_caching_options(False)
    with dsl.Else():
        abalone_mse_fail = fail(
            step="AbaloneMSEFail",
            request=json.dumps(
                {
                    "ErrorMessage": Join(
                        " ",
                        ["Execution failed due to MSE >", Get("Parameters.MseThreshold")],
                    ),
                },
            ),
            MseThreshold=MseThreshold,
        )
        abalone_mse_fail.set_display_name("AbaloneMSEFail").set_caching_options(False)


if __name__ == "__main__":
    output = sys.argv[1] if len(sys.argv) > 1 else __file__.removesuffix(".py") + ".yaml"
    compiler.Compiler().compile(pipeline, output)
