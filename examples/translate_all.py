"""Translate one example to every output format pipeglot has: the README's main command.

    python examples/translate_all.py INPUT OUT_DIR

Each format goes through the real CLI, so what it prints (diagnostics on stderr, exit codes)
is exactly what a user sees. Unsupported constructs become visible placeholders
(--unsupported warn) so that every format produces a file to look at.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipeglot.cli import main as pipeglot
from pipeglot.formats import WRITERS, writer


def translate_all(source: str, out_dir: Path) -> int:
    stem = Path(source.split(":")[0]).stem
    worst = 0
    for name in WRITERS:
        output = out_dir / f"{stem}.{name}{writer(name).EXTENSION}"
        print(f"$ pipeglot translate {source} --to {name} -o {output}", flush=True)
        code = pipeglot(["translate", source, "--to", name, "-o", str(output), "--unsupported", "warn"])
        lines = output.read_text(encoding="utf-8").count("\n") if code == 0 else 0
        print(f"  exit {code}; {lines} lines written", flush=True)
        worst = max(worst, code)
    return worst


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(translate_all(sys.argv[1], Path(sys.argv[2])))
