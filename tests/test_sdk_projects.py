"""Project-template SDK scripts in CI: translated offline, twice to the same bytes, with the
files they upload written out for the user's bucket, under SageMaker SDK v3 and v2.

Each project (``tests/fixtures/sdk/v*/churn_project``) has ``pipelines/churn/pipeline.py`` with
``get_pipeline(region, <session>, role=None)``, a sibling module and a relative import, code the
SDK uploads, a Lambda deployment step whose function (and IAM role, with AWS managed policies)
the script creates, and a ``@step`` function. Each SDK run costs seconds, so every project is
translated once (``first``), then checked once (``--check`` translates it again), the check
from a copy of the project in another folder, as CI checks a developer's output in its own
clone: offline, both runs see the project at the same path (``_sdk_project.PROJECT``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, ROOT, require

from pipeglot.cli import main

SDK = FIXTURES / "sdk"
SCRIPT = "pipelines/churn/pipeline.py"
ROLE = "arn:aws:iam::111122223333:role/ChurnRole"
BUCKET = "churn-artifacts"
OFFLINE_ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
SAGEMAKER2_PYTHON = os.environ.get("PIPEGLOT_SAGEMAKER2_PYTHON")


@dataclass(frozen=True)
class Translation:
    code: int
    stderr: str
    output: Path
    assets: Path

    @property
    def text(self) -> str:
        return self.output.read_text(encoding="utf-8")

    def ledger(self, code: str) -> list[str]:
        return [line for line in self.stderr.splitlines() if f"[{code}]" in line]


def _cli(project: Path, tmp: Path, *options: str) -> Translation:
    """``pipeglot translate pipelines/churn/pipeline.py --to airflow`` from the project's root."""
    output, assets = tmp / "dags" / "churn.py", tmp / "assets"
    argv = ["translate", SCRIPT, "--to", "airflow", "-o", str(output), "--assets", str(assets)]
    stderr = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stderr(stderr):
        patch.chdir(project)
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        code = main([*argv, *options])
    return Translation(code, stderr.getvalue(), output, assets)


def _clone(project: Path, tmp: Path) -> Path:
    """The project in a clone of this checkout made in another folder, at another depth."""
    checkout = tmp / "ci" / "builds" / "clone"
    clone = checkout / project.relative_to(ROOT)
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns("__pycache__"))
    if (ROOT / ".git").exists():  # where the checkout starts: the project root (_sdk_project)
        (checkout / ".git").mkdir()
    return clone


def _sagemaker2_python() -> str:
    require(
        SAGEMAKER2_PYTHON is not None and Path(SAGEMAKER2_PYTHON).is_file(),
        "the SageMaker SDK v2 venv (.venv-sagemaker2, named by PIPEGLOT_SAGEMAKER2_PYTHON)",
    )
    return SAGEMAKER2_PYTHON  # type: ignore[return-value]


# --- SDK v3: the role and bucket given, a session filled in by name ------------------------

V3 = SDK / "v3" / "churn_project"
V3_OPTIONS = ("--kwargs", json.dumps({"role": ROLE}), "--bucket", BUCKET)


@pytest.fixture(scope="module")
def v3_first(tmp_path_factory: pytest.TempPathFactory) -> Translation:
    return _cli(V3, tmp_path_factory.mktemp("v3"), *V3_OPTIONS)


def test_v3_project_translates_for_the_users_bucket_and_role(v3_first: Translation) -> None:
    assert v3_first.code == 0, v3_first.stderr
    text = v3_first.text
    assert re.search(rf"s3://{BUCKET}/ChurnPipeline/code/[0-9a-f]{{64}}/preprocess\.py", text)
    assert "sagemaker-us-east-1-123456789012" not in text  # no offline bucket left
    assert ROLE in text and OFFLINE_ROLE not in text  # the @step function's role too
    assert not v3_first.ledger("sagemaker-python.offline-role")


def test_v3_assets_are_written_in_the_layout_of_their_keys(v3_first: Translation) -> None:
    [code] = v3_first.assets.glob("ChurnPipeline/code/*/preprocess.py")
    assert code.read_bytes() == (V3 / "pipelines" / "churn" / "preprocess.py").read_bytes()
    key = code.relative_to(v3_first.assets).as_posix()
    assert f"s3://{BUCKET}/{key}" in v3_first.text  # syncing the folder makes it deployable
    # The @step function: pickled, in a folder named with the (frozen) build time.
    assert (v3_first.assets / "ChurnPipeline/Evaluate/2025-01-01-00-00-00-001/function").is_dir()
    [entry] = [line for line in v3_first.ledger("sagemaker-python.asset") if key in line]
    assert "(from pipelines/churn/preprocess.py, " in entry
    assert f"`aws s3 sync {v3_first.assets} s3://{BUCKET}`" in entry


def test_v3_offline_resources_and_answers_are_in_the_ledger(v3_first: Translation) -> None:
    resources = v3_first.ledger("sagemaker-python.offline-resource")
    assert any(
        "lambda function arn:aws:lambda:us-east-1:123456789012:function:churn-deploy "
        "(from pipelines/churn/deploy_model.py)" in line
        for line in resources
    )
    assert any(
        "IAM role arn:aws:iam::123456789012:role/churn-deploy-lambda" in r for r in resources
    )
    assert any(
        "churn-deploy-lambda / arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        in line
        for line in resources
    )
    [answer] = v3_first.ledger("sagemaker-python.offline-answer")
    assert "moto does not implement sagemaker DescribeImageVersion" in answer


def test_v3_check_finds_only_an_edited_asset_stale(v3_first: Translation) -> None:
    """A second translation gives the same bytes: --check names the one asset edited since,
    and neither the DAG file nor any other asset (v2's test sees --check pass outright)."""
    [code] = v3_first.assets.glob("ChurnPipeline/code/*/preprocess.py")
    original = code.read_bytes()
    code.write_bytes(original + b"# edited\n")
    try:
        tmp = v3_first.output.parent.parent
        check = _cli(_clone(V3, tmp / "v3-clone"), tmp, *V3_OPTIONS, "--check")
    finally:
        code.write_bytes(original)
    assert check.code == 1
    stale = [line for line in check.stderr.splitlines() if line.startswith("pipeglot: stale:")]
    assert stale == [
        f"pipeglot: stale: {code} is out of date with the script's upload; run without --check"
    ]


# --- SDK v2: the offline defaults, a session filled in by its annotation --------------------

V2 = SDK / "v2" / "churn_project"


@pytest.fixture(scope="module")
def v2_first(tmp_path_factory: pytest.TempPathFactory) -> Translation:
    return _cli(V2, tmp_path_factory.mktemp("v2"), "--python", _sagemaker2_python())


def test_v2_project_translates_to_the_same_bytes_in_another_checkout(v2_first: Translation) -> None:
    assert v2_first.code == 0, v2_first.stderr
    # The template reads a step's arguments early: the SDK stamps that upload with the time.
    assert "/churn/preprocess-2025-01-01-00-00-00-001/input/code/preprocess.py" in (v2_first.stderr)
    tmp = v2_first.output.parent.parent
    clone = _clone(V2, tmp / "v2-clone")
    check = _cli(clone, tmp, "--python", _sagemaker2_python(), "--check")
    assert check.code == 0, check.stderr


def test_v2_offline_defaults_are_reported(v2_first: Translation) -> None:
    """Without --bucket the SDK's default bucket is the offline one; without a role, the
    placeholder: the ledger says both, and --assets writes that bucket's objects."""
    assert "s3://sagemaker-us-east-1-123456789012/ChurnPipeline/code/" in v2_first.text
    [role] = v2_first.ledger("sagemaker-python.offline-role")
    assert OFFLINE_ROLE in role and "--kwargs" in role
    [code] = v2_first.assets.glob("ChurnPipeline/code/*/preprocess.py")
    assert code.read_bytes() == (V2 / "pipelines" / "churn" / "preprocess.py").read_bytes()
    assert any(
        "function:churn-deploy" in r for r in v2_first.ledger("sagemaker-python.offline-resource")
    )


# --- SDK v3's @step without an image, on a Python it has no image for -----------------------


def test_v3_step_default_image_suggests_another_python(tmp_path: Path) -> None:
    script = tmp_path / "functions.py"
    script.write_text(
        textwrap.dedent(
            """
            from sagemaker.mlops.workflow.function_step import step
            from sagemaker.mlops.workflow.pipeline import Pipeline

            @step(name="Train", instance_type="ml.m5.large")
            def train():
                return 1

            pipeline = Pipeline(name="Functions", steps=[train()])
            """
        )
    )
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(
            ["translate", str(script), "--to", "sagemaker", "--kwargs", f'{{"role": "{ROLE}"}}']
        )
    message: Any = stderr.getvalue()
    assert code == 2
    assert "Default image is supported only for Python versions 3.8 and 3.10" in message
    assert "pass --python PATH with a Python 3.10 or 3.8 that has the SDK" in message
