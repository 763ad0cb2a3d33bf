"""Translate one example to every output format pipeglot has: the README's main command.

    python examples/translate_all.py INPUT OUT_DIR

INPUT is anything ``pipeglot translate`` reads (a definition JSON, an SDK script). It is read
once, then written in each format to ``OUT_DIR/<pipeline name>.<format><extension>``, with
each format's diagnostics printed as the CLI prints them. Unsupported constructs become
visible placeholders (``--unsupported warn``), so every format gives a file to look at.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pipeglot
from pipeglot.formats import WRITERS, infer_reader, writer


def translate_all(source: str, out_dir: Path) -> None:
    is_file = source.endswith(".json")
    data = Path(source).read_bytes() if is_file else source  # scripts are run, not read
    # A definition does not hold its pipeline's name; an SDK script's Pipeline does.
    workflow = pipeglot.load(
        data, read=infer_reader(source), name=Path(source).stem if is_file else None
    )
    print(f"read {source}: pipeline {workflow.name!r}, {len(workflow.steps)} steps")
    for name in WRITERS:
        output = out_dir / f"{workflow.name}.{name}{writer(name).EXTENSION}"
        ledger = pipeglot.Diagnostics()
        text = pipeglot.dump(workflow, write=name, unsupported="warn", diagnostics=ledger)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        print(f"--to {name}: {output} ({text.count(chr(10))} lines)")
        for entry in ledger.reportable(pipeglot.UnsupportedLevel.WARN):
            print(f"  {entry.severity.value}: {entry.format()}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    try:
        translate_all(sys.argv[1], Path(sys.argv[2]))
    except pipeglot.PipeglotError as error:
        sys.exit(f"pipeglot: error: {error}")
