"""Type-check ``ir/`` with mypy --strict, as the installed package ``pipeglot.ir``.

The repository maps its top-level folders into the ``pipeglot`` namespace (setuptools'
``package-dir``), which mypy cannot follow through an editable install. So this script lays
out the installed shape with symbolic links in a temporary folder and checks ``pipeglot.ir``
there; the modules it imports from elsewhere in pipeglot are read but not reported on.
Run by ``make lint`` and by tests/test_ir_core.py.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent
MAPPING = {
    "pipeglot": "pipeglot",
    "pipeglot/ir": "ir",
    "pipeglot/frontends": "frontends",
    "pipeglot/backends": "backends",
}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pipeglot-mypy-") as folder:
        shadow = Path(folder)
        for target, source in MAPPING.items():
            (shadow / target).mkdir(parents=True, exist_ok=True)
            for path in (ROOT / source).glob("*.py"):
                (shadow / target / path.name).symlink_to(path)
            for package in (ROOT / source).iterdir():
                if package.is_dir() and (package / "__init__.py").is_file():
                    link = shadow / target / package.name
                    if not link.exists():
                        link.symlink_to(package, target_is_directory=True)
        os.chdir(shadow)  # mypy finds packages from the working folder
        report, errors, status = api.run(
            [
                "--strict",
                "--no-incremental",
                "--follow-imports=silent",
                "--ignore-missing-imports",
                "--python-version=3.11",
                "-p",
                "pipeglot.ir",
            ]
        )
        sys.stdout.write(report.replace(folder + "/", ""))
        sys.stderr.write(errors)
        return status


if __name__ == "__main__":
    raise SystemExit(main())
