"""The asl backend: every definition translates to ASL that statelint and asl-validator accept,
the naming contract holds, and the lowering rules (structure, skips, names, retries, limits)
do what they promise."""

from __future__ import annotations

import cProfile
import importlib.util
import itertools
import json
import os
import pstats
import random
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, PIPEGLOT, ROOT, all_definitions, require, require_module

import pipeglot
from pipeglot.backends import asl
from pipeglot.backends.asl import machine, structure
from pipeglot.backends.asl.names import HELPER_PREFIX, RUN_TOKEN_LENGTH, STATE_NAME_LIMIT
from pipeglot.backends.asl.steps import BUILDERS, UNSUPPORTED
from pipeglot.diagnostics import Diagnostics, Fidelity
from pipeglot.errors import UnsupportedError
from pipeglot.ir.graph import edges as workflow_edges
from pipeglot.ir.graph import topological_order
from pipeglot.ir.model import Step, StepKind, Workflow
from pipeglot.ir.regions import Regions, condition_regions, regions_of

ASL_FIXTURES = sorted((FIXTURES / "asl").glob("*.json"))
DEFINITIONS = all_definitions() + [pytest.param(p, id=f"asl/{p.name}") for p in ASL_FIXTURES]


def translate(path: Path) -> tuple[dict[str, Any], Diagnostics]:
    ledger = Diagnostics()
    text = pipeglot.translate(
        path.read_bytes(), write="asl", unsupported="warn", diagnostics=ledger, name=path.stem
    )
    return json.loads(text), ledger


def all_states(states: dict[str, Any]) -> dict[str, Any]:
    """Every state, Parallel branches included (names are unique machine-wide)."""
    found = {}
    for name, state in states.items():
        assert name not in found, f"state name {name!r} is used twice"
        found[name] = state
        for branch in state.get("Branches", ()):
            found.update(all_states(branch["States"]))
    return found


# --- every definition ---------------------------------------------------------------------


@pytest.mark.parametrize("path", DEFINITIONS)
def test_translates_and_passes_statelint(path: Path) -> None:
    linter = require_module("statelint.linter").Linter  # type: ignore[attr-defined]
    definition, _ = translate(path)
    assert linter.validate(definition) == []


@pytest.mark.parametrize("path", DEFINITIONS)
def test_naming_contract(path: Path) -> None:
    workflow = pipeglot.load(path.read_bytes())
    definition, _ = translate(path)
    states = all_states(definition["States"])
    for step in workflow.steps:
        assert step.name in states, f"step {step.name!r} has no state of the same name"
    for name in states:
        assert len(name) <= STATE_NAME_LIMIT
        assert workflow.has_step(name) or name.startswith(HELPER_PREFIX), name


def test_every_definition_passes_asl_validator(tmp_path: Path) -> None:
    validator = _asl_validator()
    paths = []
    for param in DEFINITIONS:
        (source,) = param.values
        out = tmp_path / f"{len(paths):03d}-{source.name}"
        out.write_text(json.dumps(translate(source)[0]))
        paths.append(out)
    command = [validator]
    for path in paths:
        command += ["--json-path", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("is valid") == len(paths)


def _asl_validator() -> str:
    """asl-validator from PIPEGLOT_ASL_VALIDATOR (set by the Makefile) or node_modules."""
    candidates = [
        os.environ.get("PIPEGLOT_ASL_VALIDATOR"),
        ROOT / "node_modules/.bin/asl-validator",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    require(False, "the npm tool asl-validator (make asl-validator)")
    raise AssertionError  # unreachable


def test_output_is_deterministic() -> None:
    source = (FIXTURES / "every-step-type.json").read_bytes()
    first = pipeglot.translate(source, write="asl", unsupported="ignore")
    second = pipeglot.translate(source, write="asl", unsupported="ignore")
    assert first == second


# --- step kinds ---------------------------------------------------------------------------


def test_dispatch_table_covers_every_step_kind() -> None:
    assert set(BUILDERS) == set(StepKind)
    assert set(BUILDERS) >= UNSUPPORTED


def test_unsupported_kinds_are_reported_and_the_rest_are_not() -> None:
    path = FIXTURES / "every-step-type.json"
    workflow = pipeglot.load(path.read_bytes())
    definition, ledger = translate(path)
    reported = {d.step for d in ledger.of(Fidelity.UNSUPPORTED) if d.code == "asl.step-type"}
    for step in workflow.steps:
        assert (step.name in reported) == (step.kind in UNSUPPORTED), step.name
    states = all_states(definition["States"])
    for name in reported:  # a visible placeholder stands in for each
        assert states[name]["Type"] == "Pass"
        assert states[name]["Comment"].startswith("UNSUPPORTED")
    with pytest.raises(UnsupportedError):
        pipeglot.translate(path.read_bytes(), write="asl")


def test_step_kinds_map_to_their_integrations() -> None:
    definition, _ = translate(FIXTURES / "every-step-type.json")
    states = all_states(definition["States"])
    expected = {
        "Preprocess": "arn:aws:states:::sagemaker:createProcessingJob.sync",
        "Train": "arn:aws:states:::sagemaker:createTrainingJob.sync",
        "Tune": "arn:aws:states:::sagemaker:createHyperParameterTuningJob.sync",
        "BatchTransform": "arn:aws:states:::sagemaker:createTransformJob.sync",
        "CreateModel-CreateModel": "arn:aws:states:::sagemaker:createModel",
        "Register-RegisterModel": "arn:aws:states:::aws-sdk:sagemaker:createModelPackage",
        "NotifyLambda": "arn:aws:states:::lambda:invoke",
        "ManualApproval": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "EMRSparkJob": "arn:aws:states:::elasticmapreduce:addStep.sync",
        "EndpointConfig": "arn:aws:states:::sagemaker:createEndpointConfig",
        "Endpoint": "arn:aws:states:::sagemaker:createEndpoint",
        "AutoML": "arn:aws:states:::aws-sdk:sagemaker:createAutoMLJob",
    }
    for name, resource in expected.items():
        assert states[name]["Resource"] == resource, name
    assert states["CheckMetrics"]["Type"] == "Choice"
    assert states["Fail"]["Type"] == "Fail"
    assert states["ManualApproval"]["Parameters"]["MessageBody"]["token.$"] == "$$.Task.Token"


# --- structure ----------------------------------------------------------------------------


def _structure(edges: list[tuple[str, str]], nodes: list[str] | None = None):
    nodes = nodes or sorted({n for edge in edges for n in edge})
    predecessors: dict[str, list[str]] = {n: [] for n in nodes}
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in edges:
        predecessors[target].append(source)
        successors[source].append(target)
    order = _topological(nodes, predecessors, successors)
    return structure.structure(order, predecessors, successors)


def _topological(nodes, predecessors, successors) -> list[str]:
    waiting = {n: len(predecessors[n]) for n in nodes}
    ready = [n for n in nodes if waiting[n] == 0]
    order = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for successor in successors[node]:
            waiting[successor] -= 1
            if waiting[successor] == 0:
                ready.append(successor)
    return order


def _finishes_before(block: structure.Block) -> set[tuple[str, str]]:
    """Pairs (a, b) such that the structure makes b start only after a finished."""
    if isinstance(block, structure.Leaf):
        return set()
    pairs: set[tuple[str, str]] = set()
    children = block.parts if isinstance(block, structure.Series) else block.branches
    for child in children:
        pairs |= _finishes_before(child)
    if isinstance(block, structure.Series):
        for index, earlier in enumerate(children):
            for later in children[index + 1 :]:
                pairs |= {
                    (a, b) for a in structure.steps_in(earlier) for b in structure.steps_in(later)
                }
    return pairs


def test_series_parallel_graph_needs_no_extra_wait() -> None:
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e"), ("d", "f")]
    block, extra = _structure(edges)
    assert extra == []
    assert block == structure.Series(
        (
            structure.Leaf("a"),
            structure.Parallel((structure.Leaf("b"), structure.Leaf("c"))),
            structure.Leaf("d"),
            structure.Parallel((structure.Leaf("e"), structure.Leaf("f"))),
        )
    )


def test_n_shaped_graph_gets_one_reported_wait() -> None:
    block, extra = _structure([("a", "c"), ("b", "c"), ("b", "d")])
    assert extra == [structure.ExtraWait("d", ("a",), 1)]
    assert {("a", "c"), ("b", "c"), ("b", "d")} <= _finishes_before(block)


def test_two_chains_with_one_crossing_edge_get_one_wait() -> None:
    xs = [f"x{i}" for i in range(20)]
    ys = [f"y{i}" for i in range(20)]
    edges = list(itertools.pairwise(xs)) + list(itertools.pairwise(ys))
    edges.append(("x9", "y10"))
    _, extra = _structure(edges, xs + ys)
    assert sum(wait.count for wait in extra) == 1


@pytest.mark.parametrize("seed", range(30))
def test_structure_respects_every_edge(seed: int) -> None:
    rng = random.Random(seed)
    nodes = [f"n{i}" for i in range(rng.randint(2, 30))]
    edges = [
        (nodes[i], nodes[j]) for j in range(len(nodes)) for i in range(j) if rng.random() < 0.15
    ]
    block, extra = _structure(edges, nodes)
    assert block is not None
    assert sorted(structure.steps_in(block)) == sorted(nodes)
    implied = _finishes_before(block)
    assert set(edges) <= implied
    for wait in extra:  # each reported wait is a real added ordering
        assert all((source, wait.step) in implied for source in wait.waits_for)


def _shape(shape: str, count: int) -> tuple[list[tuple[str, str]], list[str]]:
    """A DAG of ``count`` steps: a chain, one fan-out and fan-in, or 20 layers (each step
    reading two steps of the layer before: not series-parallel, so every level is split
    inexactly)."""
    nodes = [f"s{i}" for i in range(count)]
    if shape == "chain":
        return list(itertools.pairwise(nodes)), nodes
    if shape == "wide":
        middle = nodes[1:-1]
        return [(nodes[0], n) for n in middle] + [(n, nodes[-1]) for n in middle], nodes
    rng = random.Random(7)
    width = count // 20
    edges = [
        (nodes[i - width + rng.randrange(width) - i % width], nodes[i])
        for i in range(width, count)
        for _ in range(2)
    ]
    return list(dict.fromkeys(edges)), nodes


@pytest.mark.parametrize("shape", ["chain", "wide", "layered"])
def test_structuring_costs_the_same_calls_per_step_at_any_size(shape: str) -> None:
    """Python calls per step (C functions included), unlike seconds the same on a busy or an
    idle machine: flat from 1,000 to 4,000 steps, where quadratic work would quadruple them.
    (Splitting a DAG that is not series-parallel costs time per depth level: the layered
    shape keeps 20 levels and grows in width.)"""

    def calls_per_step(count: int) -> float:
        edges, nodes = _shape(shape, count)
        block: list[Any] = []
        calls = _calls(lambda: block.append(_structure(edges, nodes)[0]))
        assert set(structure.steps_in(block[0])) == set(nodes)
        return calls / count

    small, large = calls_per_step(1000), calls_per_step(4000)
    assert large < small * 1.15, (small, large)


def test_translating_costs_the_same_calls_per_step_at_any_size() -> None:
    """The whole ``--to asl`` translation of the benchmark's pipelines (``benchmarks/generate``:
    layered DAGs, Conditions, property files) is linear: calls per step grow by a few percent
    from 500 to 2,000 steps (the DAG gets deeper), not fourfold as quadratic work would."""
    generate = _benchmark_generator()

    def calls_per_step(count: int) -> float:
        text = json.dumps(generate.pipeline(count))
        return _calls(lambda: pipeglot.translate(text, write="asl", unsupported="ignore")) / count

    small, large = calls_per_step(500), calls_per_step(2000)
    assert large < small * 1.3, (small, large)


def _benchmark_generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _calls(action: Any) -> int:
    profile = cProfile.Profile()
    profile.runcall(action)
    return pstats.Stats(profile).total_calls  # type: ignore[attr-defined, no-any-return]


# --- semantics of the generated states ----------------------------------------------------


def _definition(document: dict[str, Any]) -> tuple[dict[str, Any], Diagnostics]:
    ledger = Diagnostics()
    text = pipeglot.translate(
        json.dumps(document), write="asl", unsupported="warn", diagnostics=ledger
    )
    return json.loads(text), ledger


def _processing(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {"ImageUri": "img"},
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 1,
                }
            },
        },
        **extra,
    }


def test_job_names_are_unique_per_run_and_attempt_and_fit_sagemaker() -> None:
    long_name = "A_very-long_step_name_" + "x" * 40
    tuning = {
        "Name": "T" * 60,
        "Type": "Tuning",
        "Arguments": {"HyperParameterTuningJobConfig": {}},
    }
    definition, _ = _definition(
        {"Version": "2020-12-01", "Steps": [_processing(long_name), tuning]}
    )
    states = all_states(definition["States"])
    for name, field, limit in (
        (long_name, "ProcessingJobName.$", 63),
        ("T" * 60, "HyperParameterTuningJobName.$", 32),
    ):
        expression = states[name]["Parameters"][field]
        assert "$.Run.Token" in expression and "$$.State.RetryCount" in expression
        example = _evaluate_format(expression, token="f" * RUN_TOKEN_LENGTH, retry="99")
        assert len(example) <= limit, example
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", example), example


def _evaluate_format(expression: str, token: str, retry: str) -> str:
    match = re.fullmatch(r"States\.Format\('([^']*)', (.*)\)", expression)
    assert match, expression
    template, arguments = match.groups()
    values = iter(
        {"$.Run.Token": token, "$$.State.RetryCount": retry}[a] for a in arguments.split(", ")
    )
    return re.sub(r"\{\}", lambda _: next(values), template)


def test_join_literals_are_escaped_in_states_format() -> None:
    message = {"Std:Join": {"On": "'", "Values": ["a{b}\\c", {"Get": "Parameters.P"}]}}
    document = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "P", "Type": "String", "DefaultValue": "x"}],
        "Steps": [{"Name": "F", "Type": "Fail", "Arguments": {"ErrorMessage": message}}],
    }
    definition, _ = _definition(document)
    cause = all_states(definition["States"])["F"]["CausePath"]
    assert cause == "States.Format('a\\{b\\}\\\\c\\'{}', $.Parameters.P)"


def test_default_and_policy_retries() -> None:
    step = _processing(
        "P",
        RetryPolicies=[
            {
                "ExceptionType": ["SageMaker.CAPACITY_ERROR"],
                "IntervalSeconds": 60,
                "BackoffRate": 2.0,
                "MaxAttempts": 3,
            },
            {
                "ExceptionType": ["Step.THROTTLING"],
                "IntervalSeconds": 2,
                "BackoffRate": 1.5,
                "ExpireAfterMin": 1,
            },
        ],
    )
    definition, ledger = _definition({"Version": "2020-12-01", "Steps": [step]})
    retry = all_states(definition["States"])["P"]["Retry"]
    assert retry[-1] == {
        "ErrorEquals": ["States.TaskFailed"],
        "IntervalSeconds": 60,
        "MaxAttempts": 3,
        "BackoffRate": 2.0,
    }
    throttling = retry[0]
    assert "SageMaker.ThrottlingException" in throttling["ErrorEquals"]
    # waits of 2, 3, 4.5, 6.75, 10.1 and 15.2 s fit in a minute, the next (22.8 s) does not
    assert throttling["MaxAttempts"] == 6
    default = retry[1]  # service faults keep SageMaker's default retry
    assert "SageMaker.InternalFailure" in default["ErrorEquals"]
    names = [name for retrier in retry for name in retrier["ErrorEquals"]]
    assert len(names) == len(set(names))
    codes = {d.code for d in ledger}
    assert {"asl.retry.over-broad", "asl.retry.expire-after"} <= codes


def test_cache_config_is_reported_as_dropped() -> None:
    step = _processing("P", CacheConfig={"Enabled": True, "ExpireAfter": "P30D"})
    _, ledger = _definition({"Version": "2020-12-01", "Steps": [step]})
    assert [d.code for d in ledger.of(Fidelity.DROPPED)] == ["asl.cache"]


def test_results_keep_only_referenced_fields() -> None:
    train = {
        "Name": "Train",
        "Type": "Training",
        "Arguments": {"OutputDataConfig": {"S3OutputPath": "s3://b/o"}},
    }
    model = {
        "Name": "M",
        "Type": "Model",
        "Arguments": {
            "PrimaryContainer": {
                "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
            }
        },
    }
    definition, _ = _definition(
        {"Version": "2020-12-01", "Steps": [_processing("P"), train, model]}
    )
    states = all_states(definition["States"])
    assert states["Train"]["ResultSelector"] == {"ModelArtifacts.$": "$.ModelArtifacts"}
    assert states["Train"]["ResultPath"] == "$.Train"
    assert states["P"]["ResultPath"] is None
    container = states["M"]["Parameters"]["PrimaryContainer"]
    assert container["ModelDataUrl.$"] == "$.Train.ModelArtifacts.S3ModelArtifacts"


def test_select_by_name_becomes_the_matching_position() -> None:
    producer = _processing("P")
    producer["Arguments"]["ProcessingOutputConfig"] = {
        "Outputs": [
            {"OutputName": "test", "S3Output": {"S3Uri": "s3://b/test"}},
            {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}},
        ]
    }
    consumer = _processing("Q")
    consumer["Arguments"]["Environment"] = {
        "TRAIN": {"Get": "Steps.P.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}
    }
    definition, _ = _definition({"Version": "2020-12-01", "Steps": [producer, consumer]})
    environment = all_states(definition["States"])["Q"]["Parameters"]["Environment"]
    assert environment == {"TRAIN.$": "$.P.ProcessingOutputConfig.Outputs[1].S3Output.S3Uri"}


def test_long_step_names_are_reported_when_cut() -> None:
    workflow = Workflow(
        steps=(Step(name="S" * 90, kind=StepKind.FAIL, type_name="Fail", arguments={}),)
    )
    ledger = Diagnostics()
    definition = json.loads(asl.export(workflow, diagnostics=ledger))
    (name,) = [name for name in definition["States"] if not name.startswith(HELPER_PREFIX)]
    assert name.startswith("S" * 60) and len(name) <= STATE_NAME_LIMIT
    assert [d.code for d in ledger if d.fidelity is not Fidelity.EXACT] == ["asl.limit.state-name"]


# --- routes: what a path-by-path reading of the machine shows -----------------------------


def _transitions(state: dict[str, Any]) -> list[str]:
    targets = [state.get("Next"), state.get("Default")]
    targets += [rule.get("Next") for rule in state.get("Choices", ())]
    targets += [catcher.get("Next") for catcher in state.get("Catch", ())]
    return [target for target in targets if target]


def _ran_before(start: str, states: dict[str, Any], ran: frozenset[str], steps: set[str]):
    """For each state of one scope: the steps that have run on *every* path reaching it (a
    must-analysis to a fixpoint), and the steps that have run when the scope ends."""
    before: dict[str, frozenset[str]] = {start: ran}
    ends: list[frozenset[str]] = []
    work = [start]
    while work:
        name = work.pop()
        state = states[name]
        after = before[name]
        if state["Type"] == "Parallel":
            for branch in state["Branches"]:
                _, branch_end = _ran_before(branch["StartAt"], branch["States"], after, steps)
                after = after | branch_end
        if name in steps:
            after = after | {name}
        if state.get("End") or state["Type"] == "Succeed":
            ends.append(after)
        for target in _transitions(state):
            known = before.get(target)
            merged = after if known is None else known & after
            if merged != known:
                before[target] = merged
                work.append(target)
    end = frozenset.intersection(*ends) if ends else frozenset(steps)  # only Fail: never ends
    return before, end


def _check_every_path(states: dict[str, Any], start: str, workflow: Workflow, guarded: set[str]):
    steps = {step.name for step in workflow.steps}
    predecessors: dict[str, set[str]] = {name: set() for name in steps}
    for edge in workflow_edges(workflow):
        predecessors[edge.target].add(edge.source)
    before, _ = _ran_before(start, states, frozenset(), steps)
    scopes = [states]
    while scopes:
        scope = scopes.pop()
        for name, state in scope.items():
            for branch in state.get("Branches", ()):
                inner, _ = _ran_before(branch["StartAt"], branch["States"], frozenset(), steps)
                scopes.append(branch["States"])
                # a branch starts with what ran before its Parallel state
                for key, value in inner.items():
                    before[key] = value | before.get(name, frozenset())
            if name in steps and name not in guarded and name in before:
                missing = predecessors[name] - before[name]
                assert not missing, f"{name} can run before {sorted(missing)}"


@pytest.mark.parametrize("path", DEFINITIONS)
def test_every_step_runs_after_its_dependencies_on_every_path(path: Path) -> None:
    workflow = pipeglot.load(path.read_bytes())
    definition, ledger = translate(path)
    if "StateMachines" in definition:
        pytest.skip("split machines are checked in test_asl_split")  # pragma: no cover
    guarded = {d.step for d in ledger if d.code == "asl.condition.guard"}
    _check_every_path(definition["States"], definition["StartAt"], workflow, guarded)


@pytest.mark.parametrize("path", DEFINITIONS)
def test_routes_take_their_arms_from_the_shared_regions_pass(path: Path) -> None:
    """The route planner has no skip analysis of its own: a routed Condition's arms are what
    ``ir.regions`` says SageMaker skips when the other outcome holds, and the guarded steps
    are those whose requirements name an unrouted Condition."""
    workflow = pipeglot.load(path.read_bytes())
    shared = condition_regions(workflow)
    assert regions_of(workflow, topological_order(workflow), workflow_edges(workflow)) == shared
    assembler = machine._Assembler(workflow, Diagnostics(), machine.DEFAULT_BUDGET)
    plan = assembler.plan
    for step in workflow.steps:
        if step.kind is StepKind.CONDITION and plan.routed(step.name):
            assert plan.arms[(step.name, "True")] == list(shared.skipped_when(step.name, False))
            assert plan.arms[(step.name, "False")] == list(shared.skipped_when(step.name, True))
    unrouted = set(plan.unrouted)
    assert plan.maybe_skipped == {
        name
        for name, required in shared.requirements.items()
        if any(condition in unrouted for condition, _ in required)
    }


def test_skipped_when_reads_an_index_not_every_step() -> None:
    """Asking each of 300 Conditions what it skips reads no step's requirements again: the
    index built with the regions answers, so the route planner's total cost stays linear."""
    conditions = [
        {
            "Name": f"C{i}",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}],
                "IfSteps": [_processing(f"Yes{i}")],
                "ElseSteps": [{"Name": f"No{i}", "Type": "Fail", "Arguments": {}}],
            },
        }
        for i in range(300)
    ]
    workflow = pipeglot.load(json.dumps({"Version": "2020-12-01", "Steps": conditions}))
    shared = condition_regions(workflow)
    requirements = _CountingMapping(shared.requirements)
    counted = Regions(shared.guards, requirements, shared.conflicts)
    built = requirements.reads
    assert built <= 2 * len(workflow.steps)
    for i in range(300):
        assert counted.skipped_when(f"C{i}", False) == (f"Yes{i}",)
        assert counted.skipped_when(f"C{i}", True) == (f"No{i}",)
    assert requirements.reads == built


class _CountingMapping(Mapping[str, Any]):
    """A read-only mapping that counts the keys and values read from it."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data, self.reads = data, 0

    def __getitem__(self, key: str) -> Any:
        self.reads += 1
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        for key in self.data:
            self.reads += 1
            yield key

    def __len__(self) -> int:
        return len(self.data)


def test_conditions_route_and_the_abalone_machine_reads_like_a_hand_written_one() -> None:
    path = ROOT / "examples" / "abalone.json"
    definition, ledger = translate(path)
    assert not [d for d in ledger if d.code.startswith("asl.condition.guard")]
    states = definition["States"]
    helpers = [name for name in all_states(states) if name.startswith(HELPER_PREFIX)]
    assert helpers == [
        "pipeglot.Start",
        "pipeglot.InvalidParameters",
        "pipeglot.JsonGet.AbaloneMSECond",
        "pipeglot.Parallel",
    ]
    choice = states["AbaloneMSECond"]
    (check, route) = choice["Choices"]
    assert check["Next"] == "pipeglot.InvalidParameters"  # MseThreshold mistyped
    branches = [branch["StartAt"] for branch in states[route["Next"]]["Branches"]]
    assert branches == ["AbaloneRegisterModel-RegisterModel", "AbaloneCreateModel-CreateModel"]
    assert choice["Default"] == "AbaloneMSEFail"
    assert "asl.fail.stops-branches" not in {d.code for d in ledger}


def test_the_path_check_catches_a_step_reachable_before_its_dependency() -> None:
    workflow = pipeglot.load(
        json.dumps(
            {
                "Version": "2020-12-01",
                "Steps": [_processing("A"), _processing("B", DependsOn=["A"])],
            }
        )
    )
    # a Choice that can skip A and still reach B
    states = {
        "Gate": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "B"}],
            "Default": "A",
        },
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "End": True},
    }
    with pytest.raises(AssertionError, match=r"B can run before \['A'\]"):
        _check_every_path(states, "Gate", workflow, guarded=set())


def test_makespan_of_a_condition_waiting_for_a_branch_steps_other_input_is_reported() -> None:
    """The Choice runs once every input of its block has run: here X3, which only the branch
    step B needs. With unit durations that costs one unit over the critical path X1-X2-X3-B."""
    gate = {
        "Name": "C",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}],
            "IfSteps": [_processing("B", DependsOn=["X3"])],
            "ElseSteps": [],
        },
    }
    chain = [_processing("X1"), _processing("X2", DependsOn=["X1"])]
    chain.append(_processing("X3", DependsOn=["X2"]))
    _, ledger = _definition({"Version": "2020-12-01", "Steps": [*chain, gate]})
    (makespan,) = [d for d in ledger if d.code == "asl.schedule.makespan"]
    assert makespan.fidelity is Fidelity.APPROXIMATED
    assert "the machine takes 5 units and the pipeline's critical path 4" in makespan.message
    _, ledger = _definition({"Version": "2020-12-01", "Steps": chain})
    (makespan,) = [d for d in ledger if d.code == "asl.schedule.makespan"]
    assert makespan.fidelity is Fidelity.EXACT and "takes 3 units" in makespan.message


def test_a_lambda_steps_outputs_are_read_from_the_object_the_function_returns() -> None:
    """``Steps.Notify.OutputParameters['note']`` names an output of the function's JSON object
    (SageMaker's ``{Name, Value}`` list is not what the state keeps). Evaluated with moto's
    implementation of Step Functions' JSONPath, from the lambda:invoke result to the read."""
    require_module("moto")
    from moto.stepfunctions.parser.asl.utils.json_path import extract_json

    definition, _ = translate(FIXTURES / "airflow" / "lambda-pipeline.json")
    notify, train = definition["States"]["Notify"], definition["States"]["Train"]
    invoke_result = {"StatusCode": 200, "Payload": {"note": "hello", "threshold": 0.7}}
    stored = {
        key.removesuffix(".$"): extract_json(path, invoke_result)
        for key, path in notify["ResultSelector"].items()
    }
    document = {notify["ResultPath"].removeprefix("$."): stored}
    read = train["Parameters"]["HyperParameters"]["note.$"]
    assert read == "$.Notify.OutputParameters.note"
    assert extract_json(read, document) == "hello"


def test_the_machines_comment_shows_the_command_that_was_run(tmp_path: Path) -> None:
    """Regenerating with the command in the Comment gives the same machine: the user's own
    path and flags, not a file name made up from the pipeline's name."""
    out = tmp_path / "machine.json"
    command = ["translate", "abalone.json", "--to", "asl", "--no-provenance", "-o", str(out)]
    subprocess.run([*PIPEGLOT, *command], cwd=ROOT / "examples", check=True, capture_output=True)
    comment = json.loads(out.read_text())["Comment"]
    assert comment.endswith(f"Regenerate with: pipeglot {' '.join(command)}"), comment
