"""The asl reader: hand-written state machines (developer-guide style, JSONPath and JSONata,
CloudFormation templates) read into SageMaker pipelines that keep every job and dependency.

The fixtures are real ASL: statelint and asl-validator accept them, cfn-lint the template.
Each test states what the source machine does and checks that the pipeline does the same.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, require, require_module

import pipeglot
from pipeglot.diagnostics import Diagnostics, Fidelity
from pipeglot.errors import InputError, UnsupportedError
from pipeglot.ir import StepKind, edges
from pipeglot.ir.expressions import (
    Comparison,
    ComparisonOperator,
    In,
    Join,
    ParameterRef,
    parse_get,
)
from pipeglot.ir.model import ParameterType

ASL = FIXTURES / "readers" / "asl"
MACHINES = sorted(ASL.glob("*.asl.json"))


def read(name: str, unsupported: str = "error") -> tuple[pipeglot.ir.Workflow, Diagnostics]:
    ledger = Diagnostics()
    workflow = pipeglot.load(
        (ASL / name).read_bytes(), read="asl", diagnostics=ledger, unsupported=unsupported
    )
    return workflow, ledger


def prop(reference: str) -> object:
    """The node the SageMaker reader makes for {"Get": "Steps.<reference>"}."""
    return parse_get(f"Steps.{reference}")


def edge_set(workflow: pipeglot.ir.Workflow) -> set[tuple[str, str]]:
    return {(edge.source, edge.target) for edge in edges(workflow)}


def codes(ledger: Diagnostics, fidelity: Fidelity) -> set[str]:
    return {entry.code for entry in ledger.of(fidelity)}


def back_to_sagemaker(workflow: pipeglot.ir.Workflow) -> pipeglot.ir.Workflow:
    """Write the pipeline as a SageMaker definition and read it with the strict reader."""
    text = pipeglot.dump(workflow, write="sagemaker")
    again = pipeglot.load(text, name=workflow.name)
    assert again == workflow
    return again


# --- the fixtures are what the Step Functions tools accept --------------------------------


@pytest.mark.parametrize("path", MACHINES, ids=lambda path: path.name)
def test_fixture_passes_statelint(path: Path) -> None:
    linter = require_module("statelint.linter").Linter  # type: ignore[attr-defined]
    assert linter.validate(json.loads(path.read_text())) == []


def test_fixtures_pass_asl_validator() -> None:
    candidates = [ROOT / "node_modules/.bin/asl-validator"]
    validator = next((str(c) for c in candidates if c.is_file()), None)
    require(validator is not None, "the npm tool asl-validator (make asl-validator)")
    command = [validator] + [arg for path in MACHINES for arg in ("--json-path", str(path))]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("is valid") == len(MACHINES)


def test_template_passes_cfn_lint() -> None:
    linter = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    require(linter is not None, "cfn-lint")
    template = ASL / "training-stack.template.yaml"
    result = subprocess.run([str(linter), str(template)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- a developer-guide machine, JSONPath --------------------------------------------------


def test_jobs_lambda_choice_and_fail_keep_their_kinds_and_order() -> None:
    workflow, ledger = read("train-evaluate-deploy.asl.json")
    kinds = {step.name: step.kind for step in workflow.steps}
    assert kinds == {
        "Preprocess-data": StepKind.PROCESSING,
        "Train-model": StepKind.TRAINING,
        "Evaluate-model": StepKind.LAMBDA,
        "Good-enough": StepKind.CONDITION,
        "Save-model": StepKind.MODEL,
        "Create-endpoint-config": StepKind.ENDPOINT_CONFIG,
        "Update-endpoint": StepKind.ENDPOINT,
        "Model-below-threshold": StepKind.FAIL,
    }
    # The machine runs its states one after another: each step waits for the one before it.
    assert edge_set(workflow) >= {
        ("Preprocess-data", "Train-model"),
        ("Train-model", "Evaluate-model"),
        ("Evaluate-model", "Good-enough"),
        ("Save-model", "Create-endpoint-config"),
        ("Create-endpoint-config", "Update-endpoint"),
    }
    condition = workflow.step("Good-enough")
    assert condition.if_steps == ("Save-model", "Create-endpoint-config", "Update-endpoint")
    assert condition.else_steps == ("Model-below-threshold",)
    back_to_sagemaker(workflow)
    assert "read.asl.catch-fail" in codes(ledger, Fidelity.APPROXIMATED)


def test_paths_become_parameters_and_step_properties() -> None:
    workflow, _ = read("train-evaluate-deploy.asl.json")
    train = workflow.step("Train-model").arguments
    channel = train["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    # Outputs[0] in the machine is the output named "train" in the Processing request.
    assert channel == prop("Preprocess-data.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri")
    assert train["ResourceConfig"]["InstanceType"] == ParameterRef("TrainingInstanceType")
    assert "TrainingJobName" not in train  # SageMaker generates it per execution
    payload = workflow.step("Evaluate-model").arguments
    assert payload["model_uri"] == prop("Train-model.ModelArtifacts.S3ModelArtifacts")


def test_the_model_name_a_state_gave_reads_the_generated_name() -> None:
    workflow, _ = read("train-evaluate-deploy.asl.json")
    variant = workflow.step("Create-endpoint-config").arguments["ProductionVariants"][0]
    assert variant["ModelName"] == prop("Save-model.ModelName")
    assert "ModelName" not in workflow.step("Save-model").arguments


def test_choice_rules_retries_and_types() -> None:
    workflow, ledger = read("train-evaluate-deploy.asl.json")
    auc, deploy = workflow.step("Good-enough").conditions
    assert auc == Comparison(
        ComparisonOperator.GREATER_THAN_OR_EQUAL_TO,
        prop("Evaluate-model.OutputParameters['auc']"),
        0.8,
    )
    assert deploy == Comparison(ComparisonOperator.EQUALS, ParameterRef("Deploy"), True)
    assert workflow.parameter("Deploy").type is ParameterType.BOOLEAN
    (output,) = workflow.step("Evaluate-model").output_parameters
    assert (output.name, output.type) == ("auc", "Float")
    (policy,) = workflow.step("Preprocess-data").retry_policies
    assert policy.exception_types == ("Step.SERVICE_FAULT",)
    assert (policy.interval_seconds, policy.max_attempts, policy.backoff_rate) == (5, 3, 2.0)
    (limit,) = workflow.step("Train-model").retry_policies
    assert limit.exception_types == ("SageMaker.RESOURCE_LIMIT",)
    # SageMaker has no retry policies on Lambda steps: the Lambda retrier is reported.
    assert "read.asl.retry" in codes(ledger, Fidelity.DROPPED)


# --- JSONata, Parallel, variables -----------------------------------------------------------


def test_jsonata_machine_with_parallel_branches() -> None:
    workflow, _ = read("jsonata-parallel-training.asl.json")
    assert edge_set(workflow) == {
        ("Prepare", "Train-XGBoost"),
        ("Prepare", "Train-Linear-Learner"),
        ("Train-XGBoost", "Compare"),
        ("Train-Linear-Learner", "Compare"),
        ("Compare", "Good-enough"),
        ("Compare", "Register-winner"),
        ("Compare", "No-model-good-enough"),
        ("Good-enough", "Register-winner"),
        ("Good-enough", "No-model-good-enough"),
    }
    # $features was assigned from the Processing output selected by name.
    channel = workflow.step("Train-XGBoost").arguments["InputDataConfig"][0]
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == prop(
        "Prepare.ProcessingOutputConfig.Outputs['features'].S3Output.S3Uri"
    )
    # An object built in one branch's Output is read back field by field.
    payload = workflow.step("Compare").arguments
    assert payload["xgboost_model"].step == "Train-XGBoost"
    score, winner = workflow.step("Good-enough").conditions
    assert score.right == ParameterRef("threshold")
    assert workflow.parameter("threshold").type is ParameterType.FLOAT
    assert winner == In(
        prop("Compare.OutputParameters['winner']"),
        ("xgboost", "linear"),
    )
    message = workflow.step("No-model-good-enough").error_message
    assert isinstance(message, Join) and message.values[0] == "NoGoodModel: "
    back_to_sagemaker(workflow)


def test_execution_name_in_a_generated_job_name_is_not_reported() -> None:
    _, ledger = read("jsonata-parallel-training.asl.json")
    assert "read.asl.context" not in codes(ledger, Fidelity.APPROXIMATED)


# --- a polling loop -------------------------------------------------------------------------


def test_polling_loop_is_one_step_that_waits() -> None:
    workflow, ledger = read("polling-training.asl.json")
    assert [step.name for step in workflow.steps] == [
        "Start-training",
        "Create-model",
        "Batch-transform",
    ]
    assert edge_set(workflow) == {
        ("Start-training", "Create-model"),
        ("Create-model", "Batch-transform"),
    }
    container = workflow.step("Create-model").arguments["PrimaryContainer"]
    assert container["ModelDataUrl"].step == "Start-training"
    transform = workflow.step("Batch-transform").arguments
    assert transform["ModelName"] == prop("Create-model.ModelName")
    assert "read.asl.polling-loop" in codes(ledger, Fidelity.APPROXIMATED)
    assert "read.asl.job-started" not in codes(ledger, Fidelity.APPROXIMATED)


# --- templates ------------------------------------------------------------------------------


def test_cloudformation_template_with_substitutions() -> None:
    ledger = Diagnostics()
    source = (ASL / "training-stack.template.yaml").read_bytes()
    workflow = pipeglot.load(source, read="asl", diagnostics=ledger)
    (train,) = workflow.steps
    assert train.kind is StepKind.TRAINING
    channel = train.arguments["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert channel["S3Uri"] == "s3://my-ml-bucket/train"  # a literal substitution, filled
    assert train.arguments["RoleArn"] == "${RoleArn}"  # a GetAtt: known only when deployed
    placeholders = [
        entry.message
        for entry in ledger.of(Fidelity.APPROXIMATED)
        if entry.code == "read.asl.template-substitution"
    ]
    assert len(placeholders) == 2 and "${RoleArn}" in placeholders[1]


def test_describe_state_machine_answer() -> None:
    definition = (ASL / "polling-training.asl.json").read_text()
    answer = json.dumps({"name": "polling", "definition": definition, "type": "STANDARD"})
    assert pipeglot.load(answer, read="asl") == read("polling-training.asl.json")[0]


# --- what has no SageMaker equivalent ---------------------------------------------------------


def test_unsupported_constructs_fail_by_default_naming_each_place() -> None:
    source = (ASL / "unsupported-constructs.asl.json").read_bytes()
    with pytest.raises(UnsupportedError) as raised:
        pipeglot.load(source, read="asl")
    messages = "\n".join(entry.message for entry in raised.value.diagnostics)
    assert "/States/Crawl raw data" in messages  # a Glue job
    assert "/States/Score each file" in messages  # a Map state
    assert "/States/Notify/Catch/0" in messages  # a recovery path
    assert "States.JsonToString" in messages  # an intrinsic without equivalent


def test_unsupported_constructs_become_visible_placeholders_on_request() -> None:
    workflow, _ = read("unsupported-constructs.asl.json", unsupported="warn")
    kinds = [(step.name, step.kind, step.type_name) for step in workflow.steps]
    assert kinds == [
        ("Crawl-raw-data", StepKind.UNKNOWN, "StepFunctions:glue:startJobRun.sync"),
        ("Score-each-file", StepKind.UNKNOWN, "StepFunctions:Map"),
        ("Notify", StepKind.LAMBDA, "Lambda"),
    ]
    assert workflow.step("Score-each-file").arguments["ItemProcessor"]["StartAt"] == "Score"
    assert edge_set(workflow) == {
        ("Crawl-raw-data", "Score-each-file"),
        ("Score-each-file", "Notify"),
    }


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "pointer"),
    [
        ({"StartAt": "A", "States": {"A": {"Type": "Task", "Next": "B"}}}, "/States/A"),
        ({"StartAt": "Nope", "States": {"A": {"Type": "Succeed"}}}, "/StartAt"),
        ({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}, "/States/A"),
        ({"StartAt": "A", "States": {"A": {"Type": "Sleep"}}}, "/States/A/Type"),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Next": "Z"}]}}},
            "/States/A/Choices/0",
        ),
        ({"Resources": {}}, "/Resources"),
    ],
)
def test_bad_machines_name_the_json_pointer(document: dict, pointer: str) -> None:
    with pytest.raises(InputError) as raised:
        pipeglot.load(json.dumps(document), read="asl")
    assert raised.value.location == pointer


def test_cli_reports_bad_input_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "broken.asl.json"
    source.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}')
    output = tmp_path / "out.json"
    result = subprocess.run(
        [sys.executable, "-m", "pipeglot", "translate", str(source), "--to", "sagemaker",
         "-o", str(output)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "/States/A" in result.stderr and "Traceback" not in result.stderr
    assert not output.exists()


# --- callbacks and Lambda ARNs --------------------------------------------------------------


def test_wait_for_task_token_is_a_callback_step() -> None:
    workflow, ledger = read("human-approval-callback.asl.json")
    kinds = [(step.name, step.kind) for step in workflow.steps]
    assert kinds == [
        ("Train", StepKind.TRAINING),
        ("Notify-reviewers", StepKind.LAMBDA),
        ("Wait-for-approval", StepKind.CALLBACK),
        ("Approved", StepKind.CONDITION),
        ("Register", StepKind.REGISTER_MODEL),
    ]
    notify = workflow.step("Notify-reviewers")  # a Lambda ARN as the Resource, the old way
    assert notify.function_arn.endswith(":function:notify-reviewers")
    callback = workflow.step("Wait-for-approval")
    assert callback.sqs_queue_url.endswith("/model-approvals")
    assert "TaskToken" not in callback.arguments  # SageMaker sends its own token
    assert callback.arguments["job"] == prop("Train.TrainingJobName")
    assert [output.name for output in callback.output_parameters] == ["decision"]
    (approved,) = workflow.step("Approved").conditions
    assert approved.left == prop("Wait-for-approval.OutputParameters['decision']")
    assert workflow.step("Approved").if_steps == ("Register",)
    # Notify runs after Train and before the callback, as in the machine.
    assert {("Train", "Notify-reviewers"), ("Notify-reviewers", "Wait-for-approval")} <= edge_set(
        workflow
    )
    assert "read.asl.callback" in codes(ledger, Fidelity.APPROXIMATED)
    assert "read.asl.task-option" in codes(ledger, Fidelity.DROPPED)  # HeartbeatSeconds
    back_to_sagemaker(workflow)


def test_a_cluster_created_for_an_emr_step_is_its_cluster_config() -> None:
    machine = {
        "StartAt": "Create cluster",
        "States": {
            "Create cluster": {
                "Type": "Task",
                "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
                "Parameters": {
                    "Name": "feature-engineering",
                    "ReleaseLabel": "emr-6.15.0",
                    "Instances": {
                        "KeepJobFlowAliveWhenNoSteps": True,
                        "InstanceGroups": [
                            {
                                "InstanceRole": "MASTER",
                                "InstanceCount": 1,
                                "InstanceType": "m5.xlarge",
                            }
                        ],
                    },
                },
                "ResultPath": "$.cluster",
                "Next": "Run Spark job",
            },
            "Run Spark job": {
                "Type": "Task",
                "Resource": "arn:aws:states:::elasticmapreduce:addStep.sync",
                "Parameters": {
                    "ClusterId.$": "$.cluster.ClusterId",
                    "Step": {
                        "Name": "features",
                        "ActionOnFailure": "CONTINUE",
                        "HadoopJarStep": {
                            "Jar": "command-runner.jar",
                            "Args.$": "States.Array('spark-submit', $.script)",
                        },
                    },
                },
                "ResultPath": None,
                "Next": "Terminate cluster",
            },
            "Terminate cluster": {
                "Type": "Task",
                "Resource": "arn:aws:states:::elasticmapreduce:terminateCluster.sync",
                "Parameters": {"ClusterId.$": "$.cluster.ClusterId"},
                "End": True,
            },
        },
    }
    workflow = pipeglot.load(json.dumps(machine), read="asl")
    (step,) = workflow.steps
    assert (step.name, step.kind) == ("Run-Spark-job", StepKind.EMR)
    assert step.arguments["ClusterConfig"] == {
        "ReleaseLabel": "emr-6.15.0",
        "Instances": {
            "InstanceGroups": [
                {"InstanceRole": "MASTER", "InstanceCount": 1, "InstanceType": "m5.xlarge"}
            ]
        },
    }
    jar = step.arguments["StepConfig"]["HadoopJarStep"]
    assert jar["Args"] == ["spark-submit", ParameterRef("script")]
    back_to_sagemaker(workflow)


def test_a_filter_on_a_name_is_sagemakers_select_by_name() -> None:
    """``[?(@.MetricName == 'm')]`` (the way Step Functions developers pick a metric, and the
    way pipeglot's machines do) reads as SageMaker's ``['m']``; a Callback message in
    SageMaker's own format (token, pipelineExecutionArn, arguments, status) gives its
    ``arguments``."""
    machine = {
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Parameters": {
                    "TrainingJobName.$": "$$.Execution.Name",
                    "RoleArn": "arn:aws:iam::111122223333:role/sm",
                    "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
                    "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
                    "ResourceConfig": {
                        "InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5
                    },
                    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                },
                "ResultPath": "$.Train",
                "Next": "Approve",
            },
            "Approve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/approvals",
                    "MessageBody": {
                        "token.$": "$$.Task.Token",
                        "pipelineExecutionArn.$": "$$.Execution.Id",
                        "arguments": {"model.$": "$.Train.ModelArtifacts.S3ModelArtifacts"},
                        "status": "Executing",
                    },
                },
                "ResultPath": "$.Approve",
                "Next": "Good",
            },
            "Good": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.Train.FinalMetricDataList[?(@.MetricName == 'rmse')].Value",
                        "NumericLessThan": 3,
                        "Next": "Done",
                    }
                ],
                "Default": "Bad",
            },
            "Bad": {"Type": "Fail", "Error": "Bad", "Cause": "rmse too high"},
            "Done": {"Type": "Succeed"},
        },
    }  # fmt: skip
    workflow = pipeglot.load(json.dumps(machine), read="asl")
    (good,) = workflow.step("Good").conditions
    assert good.left == prop("Train.FinalMetricDataList['rmse'].Value")
    approve = workflow.step("Approve")
    assert dict(approve.arguments) == {"model": prop("Train.ModelArtifacts.S3ModelArtifacts")}
    back_to_sagemaker(workflow)
