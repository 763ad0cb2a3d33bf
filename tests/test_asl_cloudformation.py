"""The asl-cloudformation backend: templates pass cfn-lint, and the role is least privilege."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import FIXTURES, all_definitions, require

import pipeglot

ASL_FIXTURES = sorted((FIXTURES / "asl").glob("*.json"))


def template(source: bytes, name: str = "pipeline") -> dict[str, Any]:
    text = pipeglot.translate(source, write="asl-cloudformation", unsupported="ignore", name=name)
    return json.loads(text)


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    role = document["Resources"]["StateMachineRole"]["Properties"]
    return role["Policies"][0]["PolicyDocument"]["Statement"]


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_every_template_passes_cfn_lint(tmp_path: Path) -> None:
    linter = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    require(linter is not None, "cfn-lint")
    paths = []
    for param in all_definitions() + list(ASL_FIXTURES):
        source = param if isinstance(param, Path) else param.values[0]
        out = tmp_path / f"{len(paths):03d}-{source.name}"
        out.write_text(json.dumps(template(source.read_bytes(), source.stem)))
        paths.append(out)
    result = subprocess.run(
        [str(linter), *map(str, paths)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_role_allows_only_what_the_states_call() -> None:
    document = template((FIXTURES / "every-step-type.json").read_bytes())
    policy = statements(document)
    allowed = {action for statement in policy for action in actions_of(statement)}
    assert "sagemaker:CreateTrainingJob" in allowed
    assert "sagemaker:StopTrainingJob" in allowed  # .sync stops the job when aborted
    assert "events:PutRule" in allowed
    assert not any(action.endswith("*") for action in allowed)
    for statement in policy:
        assert statement["Resource"] != "*" or actions_of(statement) == [
            "elasticmapreduce:RunJobFlow",
            "elasticmapreduce:DescribeCluster",
            "elasticmapreduce:TerminateJobFlows",
        ]
    by_action = {action: s for s in policy for action in actions_of(s)}
    assert by_action["lambda:InvokeFunction"]["Resource"] == [
        "arn:aws:lambda:us-east-1:123456789012:function:notify",
        "arn:aws:lambda:us-east-1:123456789012:function:notify:*",
    ]
    assert "approvals" in json.dumps(by_action["sqs:SendMessage"]["Resource"])
    training = [s["Resource"] for s in policy if "sagemaker:CreateTrainingJob" in actions_of(s)]
    assert "training-job/train-*" in json.dumps(training)
    pass_role = [s for s in policy if actions_of(s) == ["iam:PassRole"]]
    assert pass_role and all("Condition" in s for s in pass_role)


def test_values_known_only_at_run_time_become_template_parameters() -> None:
    document = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Role", "Type": "String"}, {"Name": "Fn", "Type": "String"}],
        "Steps": [
            {
                "Name": "P",
                "Type": "Processing",
                "Arguments": {
                    "AppSpecification": {"ImageUri": "i"},
                    "RoleArn": {"Get": "Parameters.Role"},
                },
            },
            {
                "Name": "L",
                "Type": "Lambda",
                "Arguments": {},
                "FunctionArn": {"Get": "Parameters.Fn"},
            },
        ],
    }
    result = template(json.dumps(document).encode())
    assert {"PassedRoleArns", "LambdaFunctionArns"} <= set(result["Parameters"])
    assert result["Resources"]["StateMachine"]["Properties"]["StateMachineType"] == "STANDARD"


def test_pipeline_values_that_look_like_intrinsics_stay_data() -> None:
    document = {
        "Version": "2020-12-01",
        "Steps": [
            {
                "Name": "P",
                "Type": "Processing",
                "Arguments": {"Environment": {"Ref": "AWS::AccountId"}},
            }
        ],
    }
    properties = template(json.dumps(document).encode())["Resources"]["StateMachine"]["Properties"]
    assert "Definition" not in properties
    assert '"Ref": "AWS::AccountId"' in properties["DefinitionString"]


def test_template_is_deterministic() -> None:
    source = (FIXTURES / "every-step-type.json").read_bytes()
    assert template(source) == template(source)
