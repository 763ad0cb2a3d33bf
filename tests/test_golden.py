"""Golden files: each example translated to each format, compared byte for byte.

Regenerate after an intended change with ``pytest tests/test_golden.py --update-goldens``,
then review the diff like any other change.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLES, PIPEGLOT, ROOT

from pipeglot.formats import WRITERS, writer

GOLDEN = ROOT / "tests" / "golden"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


def _cases() -> list[object]:
    return [
        pytest.param(example, name, id=f"{example.stem}-{name}")
        for example in EXAMPLE_FILES
        for name in WRITERS
    ]


@pytest.mark.parametrize(("example", "fmt"), _cases())
def test_example_matches_its_golden_file(
    example: Path, fmt: str, request: pytest.FixtureRequest
) -> None:
    golden = GOLDEN / example.stem / f"{fmt}{writer(fmt).EXTENSION}"
    # Run where the example is, as a user would: the header's regenerate command names the
    # input as it was given.
    result = subprocess.run(
        [*PIPEGLOT, "translate", example.name, "--to", fmt, "--unsupported", "warn"],
        cwd=example.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    if request.config.getoption("--update-goldens"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(result.stdout, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}; run pytest with --update-goldens"
    assert _without_tool_versions(result.stdout) == _without_tool_versions(golden.read_text())


def _without_tool_versions(text: str) -> str:
    """The kfp compiler stamps its own version into the spec (sdkVersion, pip install kfp==);
    like kfp's own golden tests, ignore it so a kfp patch release does not fail the suite."""
    return re.sub(r"kfp(==|-)\d+(\.\d+)*", r"kfp\1VERSION", text)
