"""The readers take SageMaker facts from ir/sagemaker.py (DESIGN principle 9, issues 9 and 15).

The ASL, Airflow and KFP readers know how their orchestrator spells a SageMaker call (an
integration ARN, an operator, an ACK component); what SageMaker does with it (which step kind
calls which API, which name field it generates, its statuses, its retry types and limits) is
read from the IR's table, so a correction there reaches every reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeglot.frontends._readers import integrations
from pipeglot.ir import sagemaker
from pipeglot.ir.model import StepKind

ROOT = Path(__file__).resolve().parent.parent
READERS = [
    ROOT / "frontends" / name
    for name in ("asl.py", "airflow.py", "kfp_yaml.py", "stepfunctions_python.py")
] + sorted((ROOT / "frontends" / "_readers").glob("*.py"))


def sagemaker_facts() -> set[str]:
    """Every string of the IR's table a reader could be tempted to spell itself."""
    facts = set(sagemaker.RETRY_EXCEPTION_TYPES)
    for entry in sagemaker.KINDS.values():
        api = entry.api
        if api is None:
            continue
        facts |= {api.name_field, api.create_action, api.describe_action}
        facts |= {f"create_{api.resource}", *api.running, *api.succeeded, *api.failed}
        facts |= {field for field in (api.status_field, api.arn_field) if field}
    facts.add(sagemaker.TUNING_SUMMARIES_ACTION)
    # Step Functions spells the actions with a lower-case first letter (createTrainingJob).
    return facts | {fact[:1].lower() + fact[1:] for fact in facts if fact[:1].isupper()}


def test_no_reader_spells_a_sagemaker_fact_of_its_own() -> None:
    facts = sagemaker_facts()
    offenders = []
    for path in READERS:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in facts:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert offenders == []


@pytest.mark.parametrize("action", sorted(integrations.SAGEMAKER_APIS))
def test_each_integration_is_the_plain_step_of_its_api(action: str) -> None:
    job = integrations.SAGEMAKER_APIS[action]
    assert action == "c" + job.api.create_action[1:]
    assert sagemaker.resource_api(job.kind) is job.api
    assert not sagemaker.facts(job.kind).is_check
    assert job.kind not in (StepKind.FUNCTION, StepKind.NOTEBOOK_JOB)
    # The name a reader drops is the one SageMaker generates; kept names stay in the request.
    assert job.name_field == (job.api.name_field if job.api.name_is_prefix else None)


def test_every_resource_the_table_knows_has_an_integration() -> None:
    apis = {entry.api.create_action for entry in sagemaker.KINDS.values() if entry.api}
    assert {job.api.create_action for job in integrations.SAGEMAKER_APIS.values()} == apis
    assert set(integrations.WATCHED_APIS) == {
        "d" + job.api.describe_action[1:] for job in integrations.SAGEMAKER_APIS.values()
    }


def test_retry_translations_name_only_sagemaker_retry_types() -> None:
    mapped = {*integrations.EXACT_ERRORS.values(), *integrations.BROAD_ERRORS.values()}
    assert {kind for kinds in mapped for kind in kinds} <= set(sagemaker.RETRY_EXCEPTION_TYPES)
    assert {
        kind for kind, entry in sagemaker.KINDS.items() if entry.accepts_retry_policies
    } == integrations.RETRYABLE_KINDS
    # The documented lists (developer guide, SDK ConfigurableRetryStep) leave these out.
    assert StepKind.ENDPOINT not in integrations.RETRYABLE_KINDS
    assert StepKind.INFERENCE_COMPONENT not in integrations.RETRYABLE_KINDS
