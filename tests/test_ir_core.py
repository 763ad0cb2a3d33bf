"""The semantic core in ``ir/``: the SageMaker step-kind table and the shared lowering passes.

Each backend reads these instead of keeping its own copy; the tests here pin the facts and the
passes' results on small workflows whose answer is known from SageMaker's documentation.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest
from conftest import EXAMPLES, ROOT, require_module

import pipeglot
from pipeglot.ir.expressions import Attribute, ExecutionVariable, Key, SelectByName, parse_path
from pipeglot.ir.graph import edges, reduced_edges
from pipeglot.ir.model import RetryPolicy, Step, StepKind
from pipeglot.ir.regions import condition_regions
from pipeglot.ir.retries import any_failure_retry, attempts_within, effective_retries
from pipeglot.ir.sagemaker import (
    KINDS,
    MAX_ATTEMPTS,
    NAME_PATTERN,
    baseline_used_for_drift_check,
    facts,
    resource_name_prefix,
)

# --- the table ----------------------------------------------------------------------------


def test_every_step_kind_has_an_entry() -> None:
    assert set(KINDS) == set(StepKind)
    for kind, entry in KINDS.items():
        assert entry.kind is kind


@pytest.mark.parametrize(
    ("kind", "field", "limit"),
    [
        (StepKind.TUNING, "HyperParameterTuningJobName", 32),
        (StepKind.AUTOML, "AutoMLJobName", 32),
        (StepKind.PROCESSING, "ProcessingJobName", 63),
        (StepKind.QUALITY_CHECK, "ProcessingJobName", 63),
        (StepKind.FUNCTION, "TrainingJobName", 63),
        (StepKind.ENDPOINT, "EndpointName", 63),
    ],
)
def test_name_fields_and_their_limits(kind: StepKind, field: str, limit: int) -> None:
    api = facts(kind).api
    assert api is not None
    assert (api.name_field, api.name_limit) == (field, limit)


def test_jobs_are_renamed_per_attempt_and_created_resources_are_not() -> None:
    assert facts(StepKind.TRAINING).api.name_per_attempt  # type: ignore[union-attr]
    assert not facts(StepKind.MODEL).api.name_per_attempt  # type: ignore[union-attr]
    assert facts(StepKind.MODEL).create_result_fields == {"ModelArn"}
    assert facts(StepKind.TRAINING).create_result_fields == frozenset()


def test_statuses_end_every_watched_resource() -> None:
    for entry in KINDS.values():
        api = entry.api
        if api is not None and api.status_field is not None:
            assert api.succeeded and api.failed and not set(api.running) & set(api.ends)


@pytest.mark.parametrize("text", ["AbaloneTrain", "a--b", "-x-", "über_step 1", "", "---"])
def test_resource_name_prefixes_are_valid_names(text: str) -> None:
    prefix = resource_name_prefix(text, 20)
    assert 1 <= len(prefix) <= 20
    assert NAME_PATTERN.match(prefix)


@pytest.mark.parametrize(
    ("register_new", "supplied", "expected"),
    [
        (True, "s3://b/supplied.json", "calculated"),  # the newly calculated baseline
        (False, "s3://b/supplied.json", "s3://b/supplied.json"),
        (False, None, "calculated"),
        (True, None, "calculated"),
    ],
)
def test_drift_check_baseline_rule(register_new: bool, supplied: str | None, expected: str) -> None:
    assert baseline_used_for_drift_check(register_new, supplied, "calculated") == expected


def test_no_backend_spells_a_job_name_limit_of_its_own() -> None:
    """Name limits and name fields live in ir/sagemaker.py only (issue 9's KFP limit bug)."""
    offenders = []
    for path in (ROOT / "backends").rglob("*.py"):
        if path.name.startswith("runtime"):
            # Code copied into generated files, which cannot import pipeglot; their tables are
            # compared with the IR's in tests/test_runtime_tables.py.
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in (
                "HyperParameterTuningJobName",
                "AutoMLJobName",
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


# --- retries ------------------------------------------------------------------------------


def _step(*policies: RetryPolicy) -> Step:
    return Step(name="S", kind=StepKind.TRAINING, type_name="Training", retry_policies=policies)


def test_sagemaker_retries_throttling_and_faults_without_policies() -> None:
    (rule,) = effective_retries(_step())
    assert rule.implicit
    assert rule.exception_types == ("Step.THROTTLING", "Step.SERVICE_FAULT")
    assert (rule.interval_seconds, rule.backoff_rate, rule.max_attempts) == (1, 2.0, 5)


def test_the_first_policy_naming_a_type_governs_it() -> None:
    first = RetryPolicy(exception_types=("Step.THROTTLING",), max_attempts=3)
    second = RetryPolicy(
        exception_types=("Step.THROTTLING", "SageMaker.CAPACITY_ERROR"), max_attempts=9
    )
    rules = effective_retries(_step(first, second))
    assert [(r.exception_types, r.max_attempts, r.implicit) for r in rules] == [
        (("Step.THROTTLING",), 3, False),
        (("SageMaker.CAPACITY_ERROR",), 9, False),
        (("Step.SERVICE_FAULT",), 5, True),
    ]


def test_attempts_are_capped_at_the_documented_maximum() -> None:
    (rule, _) = effective_retries(
        _step(RetryPolicy(exception_types=("Step.THROTTLING",), max_attempts=1000))
    )
    assert rule.max_attempts == MAX_ATTEMPTS == 20
    assert attempts_within(1, 1.0, 10**9) == MAX_ATTEMPTS


def test_expire_after_becomes_the_attempts_that_fit() -> None:
    policy = RetryPolicy(
        exception_types=("Step.SERVICE_FAULT",),
        interval_seconds=10,
        backoff_rate=2.0,
        expire_after_min=1,
    )
    (rule, _) = effective_retries(_step(policy))
    assert rule.max_attempts == 2  # waits of 10 s and 20 s fit in 60 s, 40 s more does not
    assert rule.expire_after_min == 1


def test_computed_numbers_fall_back_to_defaults_and_say_so() -> None:
    policy = RetryPolicy(
        exception_types=("Step.THROTTLING",), max_attempts=pipeglot.ir.expressions.ParameterRef("N")
    )
    (rule, _) = effective_retries(_step(policy))
    assert rule.max_attempts == 5 and rule.computed == ("MaxAttempts",)


def test_any_failure_retry_covers_every_policy() -> None:
    a = RetryPolicy(
        exception_types=("Step.THROTTLING",), interval_seconds=5, backoff_rate=1.5, max_attempts=2
    )
    b = RetryPolicy(
        exception_types=("SageMaker.CAPACITY_ERROR",),
        interval_seconds=2,
        backoff_rate=3.0,
        max_attempts=7,
    )
    rule = any_failure_retry(_step(a, b))
    assert rule is not None
    assert (rule.interval_seconds, rule.backoff_rate, rule.max_attempts) == (2, 3.0, 7)
    assert any_failure_retry(_step()) is None


# --- regions, edges, experiment config, paths ---------------------------------------------

SKIPS = {
    "Version": "2020-12-01",
    "Steps": [
        {
            "Name": "A",
            "Type": "Lambda",
            "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
            "Arguments": {},
        },
        {
            "Name": "Cond",
            "Type": "Condition",
            "DependsOn": ["A"],
            "Arguments": {
                "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}],
                "IfSteps": [
                    {
                        "Name": "Yes",
                        "Type": "Lambda",
                        "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
                        "Arguments": {},
                    }
                ],
                "ElseSteps": [
                    {
                        "Name": "No",
                        "Type": "Lambda",
                        "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
                        "Arguments": {},
                    }
                ],
            },
        },
        {
            "Name": "AfterYes",
            "Type": "Lambda",
            "DependsOn": ["Yes", "A"],
            "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
            "Arguments": {},
        },
        {
            "Name": "Both",
            "Type": "Lambda",
            "DependsOn": ["Yes", "No"],
            "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
            "Arguments": {},
        },
    ],
}


def test_regions_say_what_a_branch_skips() -> None:

    workflow = pipeglot.load(json.dumps(SKIPS))
    regions = condition_regions(workflow)
    assert regions.guard("A") == ()
    assert regions.guard("Yes") == (("Cond", True),)
    assert regions.guard("AfterYes") == (("Cond", True),)
    assert set(regions.skipped_when("Cond", False)) == {"Yes", "AfterYes", "Both"}
    assert set(regions.skipped_when("Cond", True)) == {"No", "Both"}
    assert regions.never_runs("Both") and not regions.never_runs("AfterYes")
    assert "Both" in regions.conflicts


def test_reduced_edges_leave_out_implied_ones() -> None:
    workflow = pipeglot.load((EXAMPLES / "abalone.json").read_bytes())
    pairs = {(e.source, e.target) for e in reduced_edges(workflow)}
    assert len(edges(workflow)) == 11 and len(pairs) == 7
    assert ("AbaloneProcess", "AbaloneEval") not in pairs  # implied through AbaloneTrain
    assert ("AbaloneMSECond", "AbaloneTransform") not in pairs  # implied through CreateModel


def test_experiment_defaults() -> None:
    from pipeglot.ir.experiment import experiment_value

    workflow = pipeglot.load(json.dumps({"Version": "2020-12-01", "Steps": SKIPS["Steps"][:1]}))
    assert experiment_value(workflow, "ExperimentName") == ExecutionVariable("PipelineName")
    assert experiment_value(workflow, "TrialName") == ExecutionVariable("PipelineExecutionId")


def test_outputs_by_name_is_an_explicit_select_node() -> None:
    path = parse_path(".ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri")
    assert path[2] == SelectByName("train", "OutputName")
    assert parse_path(".Environment['train']")[1] == Key("train")
    assert parse_path(".A")[0] == Attribute("A")


def test_ir_modules_type_check_strictly() -> None:
    """mypy --strict on ir/ (also run by make lint)."""
    require_module("mypy")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "typecheck.py")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
