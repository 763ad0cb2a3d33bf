"""How pipeglot installs and imports: one namespace, nothing heavy on import."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def _python(code: str) -> str:
    # Run outside the repository so that its folders are not on sys.path.
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd="/", check=True
    )
    return result.stdout.strip()


def test_no_generic_top_level_names_are_installed() -> None:
    names = "('ir', 'frontends', 'backends')"
    code = f"import importlib.util as u; print([n for n in {names} if u.find_spec(n)])"
    assert _python(code) == "[]"


def test_subpackages_import_under_the_pipeglot_namespace() -> None:
    code = (
        "import pipeglot.ir, pipeglot.frontends.sagemaker, pipeglot.backends.sagemaker; print('ok')"
    )
    assert _python(code) == "ok"


def test_import_pipeglot_loads_no_format_module_or_heavy_dependency() -> None:
    code = (
        "import sys, pipeglot; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('airflow', 'kfp', 'sagemaker', 'boto3', 'moto', 'yaml') or "
        "m.startswith(('pipeglot.backends.', 'pipeglot.frontends.'))))"
    )
    assert _python(code) == "[]"


def test_python_version_floor_is_declared() -> None:
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text()
