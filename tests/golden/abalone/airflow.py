"""Airflow 3 DAG translated by pipeglot from the SageMaker pipeline

abalone

Generated code: change the pipeline and regenerate rather than edit this file:

    pipeglot translate abalone.json --to airflow --unsupported warn
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerModelOperator,
    SageMakerProcessingOperator,
    SageMakerTrainingOperator,
    SageMakerTransformOperator,
)
from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator
from airflow.sdk import DAG, Param
from airflow.sdk.exceptions import AirflowFailException


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


def as_text(value):
    """A value as Std:Join writes it: JSON spelling for booleans and null."""
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


class Parameter(Expression):
    """The run's value of a pipeline parameter: the DAG param of that name."""

    def evaluate(self, context, job):
        return context["params"][self.args[0]]


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


class Join(Expression):
    """SageMaker's ``{"Std:Join": {"On": on, "Values": values}}``."""

    def evaluate(self, context, job):
        on, values = self.args
        return on.join(map(as_text, evaluate(values, context, job)))


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


class PropertyFile(Expression):
    """The S3 URI of a JSON file that a Processing step writes to one of its outputs."""

    def evaluate(self, context, job):
        step, output, file_path = self.args
        uri = xcom(step, "ProcessingOutputConfig", "Outputs", output, "S3Output", "S3Uri")
        return uri.evaluate(context, job).rstrip("/") + "/" + file_path


def resolved(value):
    """A templated-field value that Airflow calls when the task starts, instead of rendering it."""
    return lambda context, jinja_env=None: evaluate(value, context)


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


def branch_on(predicate, operands, if_steps, else_steps, always=()):
    """A branch callable: the steps of the branch that ``predicate`` of the resolved
    ``operands`` chooses, plus ``always`` (downstream tasks that are not branch steps and so
    must not be skipped). The Outcome, "True" or "False", is what later steps read."""

    def choose(**context):
        outcome = bool(predicate(*evaluate(operands, context)))
        context["ti"].xcom_push(key="Outcome", value=str(outcome))
        return [*(if_steps if outcome else else_steps), *always]

    return choose


def fail_with(message):
    """A callable that fails the run with the Fail step's message (evaluated at run time)."""

    def fail(**context):
        raise AirflowFailException(as_text(evaluate(message, context)))

    return fail


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


# Each step that others read from: its task, and its SageMaker step type.
STEP_RESULTS = {
    "AbaloneCreateModel-CreateModel": ("AbaloneCreateModel-CreateModel", "Model"),
    "AbaloneEval": ("AbaloneEval", "Processing"),
    "AbaloneProcess": ("AbaloneProcess", "Processing"),
    "AbaloneTrain": ("AbaloneTrain", "Training"),
}


# Values that several steps share.
ROLE_ARN = "arn:aws:iam::000000000000:role/SageMakerRole"
TRAINING_IMAGE = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3"


# What tasks read from earlier steps (xcom: the result of the step's task) and from
# the run (Get).
ABALONE_PROCESS_TRAIN_S3_URI = xcom(
    "AbaloneProcess", "ProcessingOutputConfig", "Outputs", "train", "S3Output", "S3Uri"
)
ABALONE_PROCESS_VALIDATION_S3_URI = xcom(
    "AbaloneProcess", "ProcessingOutputConfig", "Outputs", "validation", "S3Output", "S3Uri"
)
ABALONE_TRAIN_S3_MODEL_ARTIFACTS = xcom("AbaloneTrain", "ModelArtifacts", "S3ModelArtifacts")
ABALONE_PROCESS_TEST_S3_URI = xcom(
    "AbaloneProcess", "ProcessingOutputConfig", "Outputs", "test", "S3Output", "S3Uri"
)
ABALONE_CREATE_MODEL_CREATE_MODEL_MODEL_NAME = xcom("AbaloneCreateModel-CreateModel", "ModelName")


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


def output(output_name, s3_uri, local_path):
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
    return request_with_job_name(
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
        "ProcessingJobName",
    )


def abalone_mse_cond_holds(mse, mse_threshold):
    return mse <= mse_threshold


ABALONE_TRAIN_REQUEST = {
    "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": TRAINING_IMAGE},
    "OutputDataConfig": {"S3OutputPath": "s3://sagemaker-us-west-2-000000000000/AbaloneTrain"},
    "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    "ResourceConfig": {
        "VolumeSizeInGB": 30,
        "InstanceCount": 1,
        "InstanceType": Parameter("TrainingInstanceType"),
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
    "ProfilerConfig": {"S3OutputPath": "s3://sagemaker-us-west-2-000000000000/AbaloneTrain"},
}


ABALONE_REGISTER_MODEL_REGISTER_MODEL_REQUEST = {
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
    "ModelApprovalStatus": Parameter("ModelApprovalStatus"),
}


ABALONE_CREATE_MODEL_CREATE_MODEL_REQUEST = {
    "ExecutionRoleArn": ROLE_ARN,
    "PrimaryContainer": {
        "Image": TRAINING_IMAGE,
        "Environment": {},
        "ModelDataUrl": ABALONE_TRAIN_S3_MODEL_ARTIFACTS,
    },
}


ABALONE_TRANSFORM_REQUEST = {
    "ModelName": ABALONE_CREATE_MODEL_CREATE_MODEL_MODEL_NAME,
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": Parameter("BatchData")}},
    },
    "TransformOutput": {"S3OutputPath": "s3://sagemaker-us-west-2-000000000000/AbaloneTransform"},
    "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
}


with DAG(
    dag_id="abalone",
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    params={
        "ProcessingInstanceCount": Param(1, type="integer"),
        "TrainingInstanceType": Param("ml.m5.xlarge", type="string"),
        "ModelApprovalStatus": Param("PendingManualApproval", type="string"),
        "InputData": Param(
            "s3://sagemaker-us-west-2-000000000000/abalone/abalone-dataset.csv",
            type="string",
        ),
        "BatchData": Param(
            "s3://sagemaker-us-west-2-000000000000/abalone/abalone-dataset-batch",
            type="string",
        ),
        "MseThreshold": Param(6.0, type="number"),
    },
    tags=["pipeglot", "sagemaker"],
) as dag:
    abalone_process = SageMakerProcessingOperator(
        task_id="AbaloneProcess",
        config=processing_job_request(
            instance_count=Parameter("ProcessingInstanceCount"),
            image_uri="246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-scikit-learn:0.23-1-cpu-py3",
            container_entrypoint=["python3", "/opt/ml/processing/input/code/preprocessing.py"],
            processing_inputs=[
                processing_input("input-1", Parameter("InputData"), "/opt/ml/processing/input"),
                processing_input(
                    "code",
                    "s3://sagemaker-us-west-2-000000000000/sklearn-abalone-process-2022-07-13-16-07-51-228/input/code/preprocessing.py",
                    "/opt/ml/processing/input/code",
                ),
            ],
            outputs=[
                output(
                    "train",
                    "s3://sagemaker-us-west-2-000000000000/sklearn-abalone-process-2022-07-13-16-07-51-228/output/train",
                    "/opt/ml/processing/train",
                ),
                output(
                    "validation",
                    "s3://sagemaker-us-west-2-000000000000/sklearn-abalone-process-2022-07-13-16-07-51-228/output/validation",
                    "/opt/ml/processing/validation",
                ),
                output(
                    "test",
                    "s3://sagemaker-us-west-2-000000000000/sklearn-abalone-process-2022-07-13-16-07-51-228/output/test",
                    "/opt/ml/processing/test",
                ),
            ],
        ),
    )
    abalone_train = SageMakerTrainingOperator(
        task_id="AbaloneTrain",
        config=request_with_job_name(ABALONE_TRAIN_REQUEST, "TrainingJobName"),
    )
    abalone_eval = SageMakerProcessingOperator(
        task_id="AbaloneEval",
        config=processing_job_request(
            instance_count=1,
            image_uri=TRAINING_IMAGE,
            container_entrypoint=["python3", "/opt/ml/processing/input/code/evaluation.py"],
            processing_inputs=[
                processing_input(
                    "input-1",
                    ABALONE_TRAIN_S3_MODEL_ARTIFACTS,
                    "/opt/ml/processing/model",
                ),
                processing_input("input-2", ABALONE_PROCESS_TEST_S3_URI, "/opt/ml/processing/test"),
                processing_input(
                    "code",
                    "s3://sagemaker-us-west-2-000000000000/script-abalone-eval-2022-07-13-16-07-53-265/input/code/evaluation.py",
                    "/opt/ml/processing/input/code",
                ),
            ],
            outputs=[
                output(
                    "evaluation",
                    "s3://sagemaker-us-west-2-000000000000/script-abalone-eval-2022-07-13-16-07-53-265/output/evaluation",
                    "/opt/ml/processing/evaluation",
                ),
            ],
        ),
    )
    abalone_mse_cond = BranchPythonOperator(
        task_id="AbaloneMSECond",
        python_callable=branch_on(
            abalone_mse_cond_holds,
            [
                JsonGet(
                    PropertyFile("AbaloneEval", "evaluation", "evaluation.json"),
                    "regression_metrics.mse.value",
                ),
                Parameter("MseThreshold"),
            ],
            if_steps=[
                "AbaloneRegisterModel-RegisterModel",
                "AbaloneCreateModel-CreateModel",
                "AbaloneTransform",
            ],
            else_steps=["AbaloneMSEFail"],
        ),
    )
    abalone_register_model_register_model = PythonOperator(
        task_id="AbaloneRegisterModel-RegisterModel",
        python_callable=sagemaker_request(
            resolved(ABALONE_REGISTER_MODEL_REGISTER_MODEL_REQUEST),
            "create_model_package",
            "describe_model_package",
            "ModelPackageName",
            "ModelPackageArn",
            "ModelPackageStatus",
            ["Completed"],
            ["Failed", "Deleting"],
        ),
    )
    abalone_create_model_create_model = SageMakerModelOperator(
        task_id="AbaloneCreateModel-CreateModel",
        config=request_with_job_name(ABALONE_CREATE_MODEL_CREATE_MODEL_REQUEST, "ModelName"),
    )
    abalone_transform = SageMakerTransformOperator(
        task_id="AbaloneTransform",
        config=request_with_job_name(ABALONE_TRANSFORM_REQUEST, "TransformJobName"),
    )
    abalone_mse_fail = PythonOperator(
        task_id="AbaloneMSEFail",
        python_callable=fail_with(
            Join(" ", ["Execution failed due to MSE >", Parameter("MseThreshold")]),
        ),
    )

    abalone_process >> abalone_train
    abalone_train >> abalone_eval
    abalone_eval >> abalone_mse_cond
    abalone_mse_cond >> [
        abalone_register_model_register_model,
        abalone_create_model_create_model,
        abalone_transform,
        abalone_mse_fail,
    ]
    abalone_create_model_create_model >> abalone_transform
# pipeglot-provenance v1 begin (JSON; join the lines as they are)
# {"file":"20646f9483d0","definition":{"Metadata":{},"PipelineExperimentConfig":{"ExperimentName":
# {"Get":"Execution.PipelineName"},"TrialName":{"Get":"Execution.PipelineExecutionId"}}},"steps":{
# "PropertyFiles":[[[{"PropertyFileName":"EvaluationReport","OutputName":"evaluation","FilePath":"
# evaluation.json"}],["AbaloneEval"]]]}}
# pipeglot-provenance end
