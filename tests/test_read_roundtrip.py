"""pipeglot's own outputs read back (issue 15, item 2), over the whole corpus and every target.

What every target keeps today is asserted: each step's name (the naming contract), and the
parameters with their types and defaults. How much more comes back (step types, edges,
arguments) depends on the layout each backend writes and is measured, not asserted; see the
README ("Reading other orchestrators") for the current figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import corpus_files, require

import pipeglot
from pipeglot.ir.model import Workflow


def parameters(workflow: Workflow) -> dict[str, tuple[str, object]]:
    return {p.name: (p.type.value, p.default) for p in workflow.parameter_list}


@pytest.mark.corpus
@pytest.mark.parametrize("target", ["asl", "airflow", "kfp-yaml"])
def test_every_corpus_pipeline_reads_back_with_its_steps_and_parameters(target: str) -> None:
    files = corpus_files()
    require(bool(files), "the shared corpus (set PIPEGLOT_CORPUS)")
    problems = []
    for path in files:
        source = pipeglot.load(path.read_bytes(), name=path.stem)
        text = pipeglot.dump(source, write=target, unsupported="ignore")
        back = pipeglot.load(text, read=target, unsupported="ignore", name=path.stem)
        lost = sorted({s.name for s in source.steps} - {s.name for s in back.steps})
        if lost:
            problems.append(f"{Path(path).name}: steps {lost} do not come back")
        if parameters(back) != parameters(source):
            problems.append(f"{Path(path).name}: parameters differ")
    assert problems == []
