"""``pipeglot compare``: golden text and JSON, and the HTML page opened in real Chromium.

The page is checked as a user sees it: Debian's Chromium loads it with the network blocked,
prints nothing on its console, runs the page's script to the end, and its screenshot shows the
header, the drawings and the colours of differing steps. A 400-step pipeline gives a page
that starts folded and scaled. The critical path read from the generated ASL agrees with the
one the Step Functions backend computes from its own plan.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, FIXTURES, PIPEGLOT, ROOT, corpus_params, require_executable

import pipeglot
from pipeglot.compare import compare, parse_targets, render
from pipeglot.errors import UsageError
from pipeglot.graph import STATUS_STYLE
from pipeglot.shapes import airflow_shape

ABALONE = EXAMPLES / "abalone.json"
EVERY_STEP = FIXTURES / "every-step-type.json"
GOLDEN = ROOT / "tests" / "golden" / "compare"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PIPEGLOT, *args], capture_output=True, text=True, check=False)


def _without_sizes(text: str) -> str:
    """Output sizes change with every backend edit and kfp release; the rest is pinned."""
    text = re.sub(r"\d+(\.\d+)? (KiB|B)\b", "SIZE", text)
    text = re.sub(r'"size_bytes": \d+', '"size_bytes": SIZE', text)
    text = re.sub(r"definition size [\d,]+ of [\d,]+ bytes \([\d.]+%\)", "definition size", text)
    return re.sub(r'("name": "definition size",\s+"value": )\d+', r"\1SIZE", text)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_compare_output_matches_its_golden_file(fmt: str, request: pytest.FixtureRequest) -> None:
    # A fixed list of targets, so that a new writer does not change the golden files.
    targets = "sagemaker,asl,airflow,kfp"
    result = _run("compare", "examples/abalone.json", "--to", targets, "--format", fmt)
    assert result.returncode == 0, result.stderr
    golden = GOLDEN / f"abalone.{'txt' if fmt == 'text' else 'json'}"
    if request.config.getoption("--update-goldens"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(result.stdout, encoding="utf-8")
    assert _without_sizes(result.stdout) == _without_sizes(golden.read_text(encoding="utf-8"))


def test_json_figures_are_consistent() -> None:
    result = _run("compare", str(ABALONE), "--to", "asl,airflow,sagemaker", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    steps = report["pipeline"]["steps"]
    for target in report["targets"]:
        structure = target["structure"]
        assert structure["steps"] == steps  # the naming contract: every step found by name
        assert target["missing_steps"] == []
        assert structure["total"] == structure["steps"] + structure["helpers"]
        assert structure["critical_path"] >= report["pipeline"]["critical_path"]
        assert len(target["runs"]) == steps
        counted = {f: sum(e["fidelity"] == f for e in target["entries"]) for f in target["ledger"]}
        assert counted == target["ledger"]
    asl = next(t for t in report["targets"] if t["target"] == "asl")
    assert [x["limit"] for x in asl["limits"]] == [1_048_576, 25_000]
    assert asl["runs"]["AbaloneTrain"] == "sagemaker:createTrainingJob.sync"
    airflow = next(t for t in report["targets"] if t["target"] == "airflow")
    assert airflow["runs"]["AbaloneTrain"] == "SageMakerTrainingOperator"


def test_callback_steps_and_unsupported_constructs_are_reported() -> None:
    workflow = pipeglot.load(EVERY_STEP.read_bytes(), name="every-step-type")
    report = compare(workflow, ["asl", "airflow"], source=str(EVERY_STEP))
    data = json.loads(render(report, "json"))
    [callback] = data["callback_steps"]
    assert callback["step"] == "ManualApproval"
    assert any("SendTaskSuccess" in note for note in callback["targets"]["asl"])
    assert all(callback["targets"][name] for name in ("asl", "airflow"))
    unsupported = {
        t["target"]: t["ledger"]["unsupported"] for t in data["targets"] if "ledger" in t
    }
    assert all(count > 0 for count in unsupported.values())  # the unknown step type
    text = render(report, "text")
    assert "callback steps (their worker must change):" in text
    assert "ManualApproval" in text


@pytest.mark.parametrize("path", corpus_params())
def test_asl_critical_path_agrees_with_the_backend(path: Path) -> None:
    """Two independent computations: ours from the generated JSON, the backend's from its plan
    (recorded in the ledger as asl.schedule.makespan)."""
    workflow = pipeglot.load(path.read_bytes(), name=path.stem)
    report = compare(workflow, ["asl"])
    [asl] = report.targets
    assert asl.shape is not None
    [entry] = [e for e in asl.entries if e.code == "asl.schedule.makespan"]
    # "... the machine takes 6 units and the pipeline's critical path 6 ..."
    lowered, critical = map(int, re.findall(r"\b\d+\b", entry.message)[:2])
    assert (asl.shape.critical_path, report.critical_path) == (lowered, critical)
    assert asl.shape.largest_definition is not None


def test_the_exact_lowering_keeps_the_pipelines_critical_path() -> None:
    """With --dag-lowering exact each step's runner execution starts when its dependencies are
    done: not in the static structure, so the figure is the one the backend records."""
    document = _big_pipeline(60, width=20)
    workflow = pipeglot.load(json.dumps(document), name="layers")
    [asl] = compare(workflow, ["asl"], options={"asl": {"dag_lowering": "exact"}}).targets
    assert asl.shape is not None and asl.shape.critical_path == 3  # 3 layers of 20 steps
    assert "asl.schedule.exact" in asl.shape_note


def test_airflow_dependencies_in_every_spelling_are_read() -> None:
    source = (
        "from airflow.operators.empty import EmptyOperator\n"
        "a = EmptyOperator(task_id='A')\nb = EmptyOperator(task_id='B')\n"
        "c = EmptyOperator(task_id='C')\nd = EmptyOperator(task_id='pipeglot.helper')\n"
        "e = EmptyOperator(task_id='E')\n"
        "chain(a, [b, c], d)\nd << e\ne.set_upstream(a)\n"
    )
    shape = airflow_shape(source, frozenset({"A", "B", "C", "E"}), {})
    pairs = {(line.source, line.target) for line in shape.drawing.lines}
    assert pairs == {
        ("A", "B"),
        ("A", "C"),
        ("B", "pipeglot.helper"),
        ("C", "pipeglot.helper"),
        ("E", "pipeglot.helper"),
        ("A", "E"),
    }
    assert (shape.total, shape.helpers, shape.critical_path) == (5, 1, 2)


def test_writer_options_go_to_the_targets_that_take_them() -> None:
    result = _run(
        "compare",
        str(ABALONE),
        "--to",
        "kfp,asl",
        "--base-image",
        "python:3.12-slim",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    kfp, asl = json.loads(result.stdout)["targets"]
    assert kfp["runs"]["AbaloneTrain"].endswith("pod python:3.12-slim")
    assert asl["runs"]["AbaloneTrain"] == "sagemaker:createTrainingJob.sync"
    refused = _run("compare", str(ABALONE), "--to", "asl", "--base-image", "python:3.12-slim")
    assert refused.returncode == 2 and "--base-image applies to --to kfp" in refused.stderr


def test_unknown_targets_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"unknown output format 'aslx'.*Did you mean 'asl'"):
        parse_targets("asl,aslx")
    result = _run("compare", str(ABALONE), "--to", "nope")
    assert result.returncode == 2 and "unknown output format 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_names_from_the_input_are_escaped_in_the_page() -> None:
    workflow = pipeglot.load(ABALONE.read_bytes(), name="<script>alert(1)</script>")
    html = render(compare(workflow, ["sagemaker"], source="a&b.json"), "html")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&amp;b.json" in html and html.count("<script>") == 1  # the page's own script


def test_bad_input_is_one_message_and_exit_2(tmp_path: Path) -> None:
    output = tmp_path / "report.html"
    result = _run("compare", str(tmp_path / "missing.json"), "--format", "html", "-o", str(output))
    assert result.returncode == 2
    assert "missing.json: no such file" in result.stderr and "Traceback" not in result.stderr
    assert not output.exists()


# --- The page in a real browser ------------------------------------------------------------


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with every host unresolvable, so the page cannot use the network."""
    chromium = require_executable("chromium")
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _open_page(page: Path, tmp_path: Path, height: int) -> tuple[str, Any]:
    """The page's DOM after its script ran, and its screenshot as a Pillow image."""
    from PIL import Image

    dom = _chromium("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console  # no errors, no warnings, no failed loads
    screenshot = tmp_path / "page.png"
    shot = _chromium(f"--screenshot={screenshot}", f"--window-size=1400,{height}", page.as_uri())
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    return dom.stdout, Image.open(screenshot).convert("RGB")


def _share_of(image: Any, colour: str) -> float:
    wanted = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    counts = {rgb: n for n, rgb in image.getcolors(maxcolors=1 << 24)}
    return counts.get(wanted, 0) / (image.width * image.height)


def test_the_report_opens_in_chromium_with_every_drawing(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = _run("compare", str(ABALONE), "--format", "html", "-o", str(page))
    assert result.returncode == 0, result.stderr
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing to fetch
    drawings = html.count('<div class="drawing ')
    # every default target has a structure to draw: SageMaker, Step Functions, Airflow, KFP
    assert drawings == len(parse_targets(None)) >= 5

    dom, image = _open_page(page, tmp_path, height=2400)

    assert 'data-ready="yes"' in dom  # the page's script ran to its end
    assert dom.count("<svg") == drawings
    for step in ("AbaloneTrain", "AbaloneMSECond", "AbaloneMSEFail"):
        assert dom.count(f">{step}</text>") == drawings  # one node per drawing
    # The page's "find a step" box, driven through the address: one node found per drawing.
    found = _chromium("--dump-dom", page.as_uri() + "#find=AbaloneEval")
    assert found.stdout.count('class="node found"') == drawings, found.stderr[-2000:]
    colours = image.getcolors(maxcolors=1 << 24)
    assert len(colours) > 50  # text, drawings, tables: not a blank or one-colour page
    assert _share_of(image, "#ffffff") < 0.9
    assert _share_of(image, "#263238") > 0.01  # the header band
    assert _share_of(image, STATUS_STYLE["approximated"][0]) > 0  # a differing step or cell


def _big_pipeline(steps: int, width: int = 20) -> dict[str, Any]:
    """``steps`` Processing steps in layers of ``width``, each waiting for two of the last
    layer: a DAG that is not series-parallel, as large pipelines often are."""
    document = json.loads(ABALONE.read_bytes())
    template = document["Steps"][0]
    made = []
    for index in range(steps):
        step = json.loads(json.dumps(template))
        step["Name"] = f"Step{index:03d}"
        layer, column = divmod(index, width)
        if layer:
            before = {(layer - 1) * width + column, (layer - 1) * width + (column + 7) % width}
            step["DependsOn"] = [f"Step{b:03d}" for b in sorted(before)]
        made.append(step)
    document["Steps"] = made
    return document


def test_a_400_step_report_is_folded_scaled_and_renders(tmp_path: Path) -> None:
    source = tmp_path / "big.json"
    source.write_text(json.dumps(_big_pipeline(400)), encoding="utf-8")
    page = tmp_path / "big.html"
    result = _run(
        "compare", str(source), "--to", "asl,airflow", "--format", "html", "-o", str(page)
    )
    assert result.returncode == 0, result.stderr
    html = page.read_text(encoding="utf-8")
    assert html.count('<div class="drawing fit">') == 2  # large drawings start at page width
    assert "<summary>400 steps: show all</summary>" in html  # what runs where is folded
    # 20 layers of 20 steps: the pipeline's critical path is 20; no target can beat it
    paths = [int(n) for n in re.findall(r"critical path (\d+) \(pipeline 20\)", html)]
    assert len(paths) == 2 and min(paths) >= 20
    # Each limit's bar is coloured by how close the target comes to it.
    bars = re.findall(r'\(([\d.]+)%\)<div class=bar><div class="(\w+)"', html)
    assert len(bars) == 2  # Step Functions: definition size and history events
    for share, status in bars:
        near = "exact" if float(share) < 50 else "approximated"
        assert status == (near if float(share) < 100 else "unsupported")

    dom, image = _open_page(page, tmp_path, height=1600)

    assert dom.count("<svg") == 2 and 'data-ready="yes"' in dom
    assert len(image.getcolors(maxcolors=1 << 24)) > 50
    assert _share_of(image, "#ffffff") < 0.9
