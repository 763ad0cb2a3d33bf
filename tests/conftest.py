"""Shared test helpers: the corpus, the fixtures, and tools that tests need installed."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"
PIPEGLOT = (sys.executable, "-m", "pipeglot")  # the CLI, as a command line
CORPUS = Path(os.environ.get("PIPEGLOT_CORPUS", ROOT.parent / "shared" / "corpus" / "sagemaker"))

# Under `make test` every tool the suite needs is installed, so a missing one is a failure,
# not a reason to skip: a green run must mean that everything ran.
STRICT = os.environ.get("PIPEGLOT_STRICT") == "1"


def corpus_files() -> list[Path]:
    """Every definition in the shared corpus (top level and synthetic/), sorted."""
    if not CORPUS.is_dir():
        return []
    return sorted(CORPUS.glob("*.json")) + sorted(CORPUS.glob("synthetic/*.json"))


def corpus_params() -> list[object]:
    """Parametrize values over the corpus; one skipped case explains an absent corpus."""
    files = corpus_files()
    if files:
        return [pytest.param(path, id=path.name) for path in files]
    reason = f"the shared corpus is not at {CORPUS} (set PIPEGLOT_CORPUS to point at it)"
    return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-corpus")]


def fixture_files() -> list[Path]:
    """The project's own definitions: tests/fixtures and examples/. Always present."""
    return sorted(FIXTURES.glob("*.json")) + sorted(EXAMPLES.glob("*.json"))


def all_definitions() -> list[object]:
    """Corpus and fixtures together, for tests that should run on every definition we have."""
    return [pytest.param(p, id=p.name) for p in fixture_files()] + [
        p for p in corpus_params() if getattr(p, "values", (None,))[0] is not None
    ]


def require(condition: bool, what: str) -> None:
    """Skip (or, under PIPEGLOT_STRICT=1, fail) when a tool the test needs is missing."""
    if condition:
        return
    message = f"{what} is not available; `make test` installs it"
    if STRICT:
        pytest.fail(message)
    pytest.skip(message)


def require_module(name: str) -> object:
    """Import and return module ``name``, or skip/fail as :func:`require` does."""
    try:
        return __import__(name, fromlist=["_"])
    except ImportError:
        require(False, f"the Python module {name!r}")
        raise  # unreachable: require() raised


def require_executable(name: str) -> str:
    """The path of executable ``name``, or skip/fail as :func:`require` does."""
    path = shutil.which(name)
    require(path is not None, f"the executable {name!r}")
    return path  # type: ignore[return-value]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite tests/golden/ from the current output instead of comparing",
    )


def as_user_without_permissions(
    monkeypatch: pytest.MonkeyPatch, region: str, action: Callable[[], int]
) -> int:
    """Run ``action`` under moto with IAM enforced, as a user that may do nothing.

    moto lets the first two calls through unauthenticated (creating the user and its key);
    every call ``action`` makes after that is refused as AccessDenied, as AWS would.
    """
    moto = require_module("moto")
    from moto.core import set_initial_no_auth_action_count

    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)

    @set_initial_no_auth_action_count(2)
    @moto.mock_aws  # type: ignore[attr-defined]
    def run() -> int:
        import boto3

        iam = boto3.session.Session().client("iam", region_name=region)
        iam.create_user(UserName="no-permissions")
        key = iam.create_access_key(UserName="no-permissions")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        return action()

    return run()
