"""pipeglot's own outputs read back (issue 15, item 2), over the whole corpus and every target.

``sagemaker -> X -> sagemaker`` for X in asl, airflow, kfp-yaml:

- with the provenance block (the writers' default), from each of asl, airflow and kfp-yaml
  every corpus pipeline comes back exactly (no field different, generated job names aside,
  and nothing left to report as unsupported: what the ASL reader meets in pipeglot's
  machines and the block restores is reported as approximated);
- without it (``provenance=False``) the same steps and parameters come back, and each declared
  key that does not is named, for its step, by the forward translation's ledger
  (``<target>.read-back``);
- the block stays small (at most 2% of the file on a generated 400-step pipeline), a file
  edited after pipeglot wrote it is read as it now is and reported, a damaged block is
  reported and ignored.

How much more comes back exactly (requests, edges, conditions: what the readers read from the
file's own terms) is measured by ``benchmarks/read_roundtrip.py``; the README ("Reading other
orchestrators") has the figures.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, PIPEGLOT, ROOT, corpus_files, require

import pipeglot
from pipeglot import provenance
from pipeglot.diagnostics import Diagnostics
from pipeglot.frontends._readers.fidelity import differences
from pipeglot.ir.model import StepKind, Workflow

TARGETS = ["asl", "airflow", "kfp-yaml"]
# The fidelity fields of the keys a target declares lost, and of the check steps' keys.
DECLARED_FIELDS = {
    "PropertyFiles": "property_files",
    "RetryPolicies": "retry_policies",
    "CacheConfig": "cache_config",
    "OutputParameters": "output_parameters",
    "DisplayName": "display_name",
    "Description": "description",
}
CHECK_FIELDS = {"kind", "type_name", "check"}
DEFINITION_FIELDS = {"metadata", "experiment_config", "mlflow_config", "parameters"}


def parameters(workflow: Workflow) -> dict[str, tuple[str, object]]:
    return {p.name: (p.type.value, p.default) for p in workflow.parameter_list}


def _corpus() -> list[tuple[Path, Workflow]]:
    files = corpus_files()
    require(bool(files), "the shared corpus (set PIPEGLOT_CORPUS)")
    return [(path, pipeglot.load(path.read_bytes(), name=path.stem)) for path in files]


def _declared(target: str, source: Workflow, field: str, step: str | None) -> bool:
    """Whether ``field`` of ``step`` is one the block holds for ``target``."""
    losses = provenance.LOSSES[target]
    if step is None:
        return field in DEFINITION_FIELDS
    kind = source.step(step).kind
    if field in CHECK_FIELDS:
        return kind in (StepKind.QUALITY_CHECK, StepKind.CLARIFY_CHECK)
    return field in {DECLARED_FIELDS[key] for key in losses.step_keys}


def _same_steps_and_parameters(path: Path, source: Workflow, back: Workflow) -> list[str]:
    problems = []
    lost = sorted({s.name for s in source.steps} - {s.name for s in back.steps})
    if lost:
        problems.append(f"{path.name}: steps {lost} do not come back")
    if parameters(back) != parameters(source):
        problems.append(f"{path.name}: parameters differ")
    return problems


@pytest.mark.corpus
@pytest.mark.parametrize("target", TARGETS)
def test_with_provenance_every_corpus_pipeline_reads_back_exactly(target: str) -> None:
    problems = []
    for path, source in _corpus():
        text = pipeglot.dump(source, write=target, unsupported="ignore")
        back = pipeglot.load(text, read=target, name=path.stem)  # nothing left unsupported
        problems += [f"{path.name}: {d.format()}" for d in differences(source, back)]
    assert problems == []


@pytest.mark.corpus
@pytest.mark.parametrize("target", TARGETS)
def test_without_provenance_the_forward_ledger_names_what_does_not_come_back(target: str) -> None:
    problems = []
    for path, source in _corpus():
        ledger = Diagnostics()
        text = pipeglot.dump(
            source, write=target, unsupported="ignore", diagnostics=ledger, provenance=False
        )
        assert provenance.MARKER not in text
        back = pipeglot.load(text, read=target, unsupported="ignore", name=path.stem)
        problems += _same_steps_and_parameters(path, source, back)
        named = {entry.step for entry in ledger if entry.code == f"{target}.read-back"}
        problems += [
            f"{path.name}: {difference.format()} is not in the forward ledger"
            for difference in differences(source, back)
            if _declared(target, source, difference.field, difference.step)
            and difference.step not in named
        ]
    assert problems == []


@pytest.mark.parametrize("target", TARGETS)
def test_the_block_adds_at_most_two_percent_to_a_large_pipeline(target: str) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generate import pipeline
    finally:
        sys.path.pop(0)
    source = pipeglot.load(json.dumps(pipeline(400)), name="generated")
    with_block = pipeglot.dump(source, write=target, unsupported="ignore")
    plain = pipeglot.dump(source, write=target, unsupported="ignore", provenance=False)
    assert provenance.MARKER in with_block
    assert len(with_block) - len(plain) <= 0.02 * len(plain)


# --- an edited file, a damaged block ------------------------------------------------------

CHECKS = "ase-model-monitor-clarify-checks.json"


def _checks_pipeline() -> Workflow:
    path = CORPUS / CHECKS
    require(path.is_file(), f"the corpus pipeline {CHECKS}")
    return pipeglot.load(path.read_bytes(), name="checks")


def _state(states: dict[str, Any], name: str) -> dict[str, Any] | None:
    for key, state in states.items():
        if key == name:
            return state
        for branch in state.get("Branches", ()):
            found = _state(branch["States"], name)
            if found is not None:
                return found
    return None


@pytest.mark.corpus
def test_a_step_edited_in_the_file_keeps_the_edit_and_is_reported() -> None:
    source = _checks_pipeline()
    machine = json.loads(pipeglot.dump(source, write="asl", unsupported="ignore"))
    edited = _state(machine["States"], "DataQualityCheckStep")
    assert edited is not None
    edited["Parameters"]["ProcessingResources"]["ClusterConfig"]["InstanceType"] = "ml.m5.large"
    ledger = Diagnostics()
    back = pipeglot.load(json.dumps(machine), read="asl", unsupported="ignore", diagnostics=ledger)
    step = back.step("DataQualityCheckStep")
    # The edit is read from the file; what ASL cannot hold (the check) still comes from the block.
    assert step.arguments["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.large"
    assert step.kind is StepKind.QUALITY_CHECK
    assert step.check == source.step("DataQualityCheckStep").check
    assert "read.asl.provenance-edited" in {entry.code for entry in ledger}
    unedited = Diagnostics()
    pipeglot.load(
        pipeglot.dump(source, write="asl", unsupported="ignore"),
        read="asl",
        unsupported="ignore",
        diagnostics=unedited,
    )
    assert "read.asl.provenance-edited" not in {entry.code for entry in unedited}


@pytest.mark.corpus
def test_a_damaged_block_is_reported_and_the_file_read_without_it() -> None:
    source = _checks_pipeline()
    text = pipeglot.dump(source, write="airflow", unsupported="ignore")
    plain = pipeglot.dump(source, write="airflow", unsupported="ignore", provenance=False)
    damaged = re.sub(r"(# pipeglot-provenance v1 begin[^\n]*\n# )....", r"\1!!!!", text)
    assert damaged != text
    ledger = Diagnostics()
    back = pipeglot.load(damaged, read="airflow", unsupported="ignore", diagnostics=ledger)
    assert back == pipeglot.load(plain, read="airflow", unsupported="ignore")
    assert "read.airflow.provenance-damaged" in {entry.code for entry in ledger}


def test_the_cli_leaves_the_block_out_with_no_provenance(tmp_path: Path) -> None:
    source = Path(__file__).parents[1] / "examples" / "abalone.json"
    outputs = {}
    for flags in ([], ["--no-provenance"]):
        result = subprocess.run(
            [*PIPEGLOT, "translate", str(source), "--to", "asl", *flags],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        outputs[bool(flags)] = result
    assert provenance.MARKER in json.loads(outputs[False].stdout)["Comment"]
    assert provenance.MARKER not in outputs[True].stdout
    assert "[asl.read-back]" in outputs[True].stderr
    assert "[asl.read-back]" not in outputs[False].stderr
    back = pipeglot.load(outputs[False].stdout, read="asl", name="abalone", unsupported="ignore")
    expected = pipeglot.load(source.read_bytes(), name="abalone")
    assert {s.name: s.retry_policies for s in back.steps} == {
        s.name: s.retry_policies for s in expected.steps
    }
