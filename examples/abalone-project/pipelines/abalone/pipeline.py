"""Abalone age regression: preprocess, train, evaluate, and register the model if it is good.

The layout and ``get_pipeline`` follow the SageMaker project template "MLOps template for model
building, training, and deployment" (``pipelines/<name>/pipeline.py``), written with SageMaker
Python SDK v3. Translate it with no AWS account:

    pipeglot translate examples/abalone-project/pipelines/abalone/pipeline.py --to airflow

                                        ┌─ RegisterAbaloneModel
    Preprocess ─ Train ─ Evaluate ─ CheckMSE
                                        └─ MSETooHigh (Fail)
"""

from __future__ import annotations

import os

import boto3
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session, get_execution_role
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.shapes import (
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.core.workflow.conditions import ConditionLessThanOrEqualTo
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep, TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer

BASE_DIR = os.path.dirname(os.path.realpath(__file__))


def get_session(region: str, default_bucket: str | None) -> Session:
    """A SageMaker session in ``region`` whose default bucket is ``default_bucket``."""
    boto_session = boto3.Session(region_name=region)
    return Session(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker"),
        default_bucket=default_bucket,
    )


def get_pipeline_session(region: str, default_bucket: str | None) -> PipelineSession:
    """A session that records job requests as pipeline steps instead of starting them."""
    boto_session = boto3.Session(region_name=region)
    return PipelineSession(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker"),
        default_bucket=default_bucket,
    )


def get_pipeline(
    region: str,
    sagemaker_project_name: str | None = None,
    role: str | None = None,
    default_bucket: str | None = None,
    model_package_group_name: str = "AbalonePackageGroup",
    pipeline_name: str = "AbalonePipeline",
    base_job_prefix: str = "Abalone",
    processing_instance_type: str = "ml.m5.xlarge",
    training_instance_type: str = "ml.m5.xlarge",
) -> Pipeline:
    """The abalone pipeline, as the project's build stage would upsert it."""
    sagemaker_session = get_session(region, default_bucket)
    if role is None:
        role = get_execution_role(sagemaker_session)
    pipeline_session = get_pipeline_session(region, default_bucket)
    bucket = sagemaker_session.default_bucket()

    processing_instance_count = ParameterInteger(name="ProcessingInstanceCount", default_value=1)
    training_instance = ParameterString(
        name="TrainingInstanceType", default_value=training_instance_type
    )
    model_approval_status = ParameterString(
        name="ModelApprovalStatus",
        default_value="PendingManualApproval",
        enum_values=["PendingManualApproval", "Approved"],
    )
    mse_threshold = ParameterFloat(name="MseThreshold", default_value=6.0)
    input_data = ParameterString(
        name="InputDataUrl",
        default_value=f"s3://sagemaker-servicecatalog-seedcode-{region}/dataset/abalone-dataset.csv",
    )
    cache = CacheConfig(enable_caching=True, expire_after="P30D")

    sklearn_image = image_uris.retrieve(
        framework="sklearn", region=region, version="1.2-1", instance_type=processing_instance_type
    )
    preprocessor = ScriptProcessor(
        image_uri=sklearn_image,
        command=["python3"],
        instance_type=processing_instance_type,
        instance_count=processing_instance_count,
        base_job_name=f"{base_job_prefix}/sklearn-abalone-preprocess",
        sagemaker_session=pipeline_session,
        role=role,
    )
    step_process = ProcessingStep(
        name="PreprocessAbaloneData",
        step_args=preprocessor.run(
            outputs=[
                _output(
                    name,
                    Join(
                        on="/",
                        values=[
                            f"s3://{bucket}",
                            base_job_prefix,
                            ExecutionVariables.PIPELINE_EXECUTION_ID,
                            name,
                        ],
                    ),
                )
                for name in ("train", "validation", "test")
            ],
            code=os.path.join(BASE_DIR, "preprocess.py"),
            arguments=["--input-data", input_data],
        ),
        cache_config=cache,
    )

    xgboost_image = image_uris.retrieve(
        framework="xgboost", region=region, version="1.7-1", instance_type=training_instance_type
    )
    trainer = ModelTrainer(
        training_image=xgboost_image,
        role=role,
        sagemaker_session=pipeline_session,
        base_job_name=f"{base_job_prefix}/abalone-train",
        compute=Compute(instance_type=training_instance, instance_count=1),
        hyperparameters={
            "objective": "reg:linear",
            "num_round": 50,
            "max_depth": 5,
            "eta": 0.2,
            "gamma": 4,
            "min_child_weight": 6,
            "subsample": 0.7,
        },
        input_data_config=[
            InputData(
                channel_name=channel,
                data_source=step_process.properties.ProcessingOutputConfig.Outputs[
                    channel
                ].S3Output.S3Uri,
                content_type="text/csv",
            )
            for channel in ("train", "validation")
        ],
        output_data_config=OutputDataConfig(
            s3_output_path=f"s3://{bucket}/{base_job_prefix}/AbaloneTrain"
        ),
    )
    step_train = TrainingStep(name="TrainAbaloneModel", step_args=trainer.train())

    evaluator = ScriptProcessor(
        image_uri=xgboost_image,
        command=["python3"],
        instance_type=processing_instance_type,
        instance_count=1,
        base_job_name=f"{base_job_prefix}/script-abalone-eval",
        sagemaker_session=pipeline_session,
        role=role,
    )
    evaluation_report = PropertyFile(
        name="AbaloneEvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    evaluation_uri = f"s3://{bucket}/{base_job_prefix}/evaluation"
    step_eval = ProcessingStep(
        name="EvaluateAbaloneModel",
        step_args=evaluator.run(
            inputs=[
                _input("model", step_train.properties.ModelArtifacts.S3ModelArtifacts),
                _input(
                    "test",
                    step_process.properties.ProcessingOutputConfig.Outputs["test"].S3Output.S3Uri,
                ),
            ],
            outputs=[_output("evaluation", evaluation_uri)],
            code=os.path.join(BASE_DIR, "evaluate.py"),
        ),
        property_files=[evaluation_report],
    )

    model = ModelBuilder(
        s3_model_data_url=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        image_uri=xgboost_image,
        sagemaker_session=pipeline_session,
        role_arn=role,
        dependencies=None,  # no local code to upload: the model is the training output
    )
    step_register = ModelStep(
        name="RegisterAbaloneModel",
        step_args=model.register(
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.t2.medium", "ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_package_group_name=model_package_group_name,
            approval_status=model_approval_status,
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    s3_uri=f"{evaluation_uri}/evaluation.json", content_type="application/json"
                )
            ),
        ),
    )
    step_fail = FailStep(
        name="MSETooHigh",
        error_message=Join(on=" ", values=["the model's MSE is above", mse_threshold]),
    )
    step_cond = ConditionStep(
        name="CheckMSEAbaloneEvaluation",
        conditions=[
            ConditionLessThanOrEqualTo(
                left=JsonGet(
                    step_name=step_eval.name,
                    property_file=evaluation_report,
                    json_path="regression_metrics.mse.value",
                ),
                right=mse_threshold,
            )
        ],
        if_steps=[step_register],
        else_steps=[step_fail],
    )

    return Pipeline(
        name=pipeline_name,
        parameters=[
            processing_instance_count,
            training_instance,
            model_approval_status,
            mse_threshold,
            input_data,
        ],
        steps=[step_process, step_train, step_eval, step_cond],
        sagemaker_session=pipeline_session,
    )


def _input(name: str, source: object) -> ProcessingInput:
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=source,
            local_path=f"/opt/ml/processing/{name}",
            s3_data_type="S3Prefix",
            s3_input_mode="File",
        ),
    )


def _output(name: str, destination: object) -> ProcessingOutput:
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=destination, local_path=f"/opt/ml/processing/{name}", s3_upload_mode="EndOfJob"
        ),
    )
