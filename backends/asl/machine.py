"""Assemble the state machine: start-up states, condition routes, the series-parallel structure.

Execution document (see ``names``): ``{"Parameters", "Run", "Scratch", <step keys>...}``.

Conditions are *routes* wherever they can be (``routes``): the Condition's Choice runs the steps
of the branch it takes, directly, and the other branch's steps (and everything depending on them)
are simply never reached. Each scope (the whole machine, or one arm of a routed Condition) is a
DAG in which a routed Condition with its arms counts as one node; ``structure`` turns each into
series and Parallel blocks.

A Condition that cannot be routed keeps the guard lowering: it records its outcome, and each
step it may skip gets a Choice in front that checks the outcome and that its maybe-skipped
upstream steps left a result. A skipped step leaves no result, so everything after it is skipped
in turn. The ledger says which Conditions and why.
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from pipeglot.backends.asl import exact, routes, split, structure
from pipeglot.backends.asl import intrinsics as fn
from pipeglot.backends.asl.conditions import ChoiceBuilder
from pipeglot.backends.asl.intrinsics import NotExpressible, Ref
from pipeglot.backends.asl.makespan import makespans
from pipeglot.backends.asl.names import (
    RUN_KEY,
    RUN_TOKEN_LENGTH,
    SCRATCH_KEY,
    StateNames,
    data_keys,
)
from pipeglot.backends.asl.start import (
    checked_at_start,
    compared_parameters,
    invalid_rule,
    needs_start,
    parameter_fail,
    reads_start_document,
    run_token,
    start_states,
)
from pipeglot.backends.asl.steps import BUILDERS, CONTINUE, SDK_ARN, Build, State
from pipeglot.backends.asl.values import Kept, Values
from pipeglot.diagnostics import Diagnostics, Fidelity
from pipeglot.ir.expressions import Attribute, Index, JsonGet, PropertyFileRef, StepProperty
from pipeglot.ir.graph import EdgeOrigin, edges, step_expressions
from pipeglot.ir.model import MISSING, Step, StepKind, Workflow
from pipeglot.ir.regions import regions_of
from pipeglot.ir.sagemaker import TUNING_SUMMARIES_FIELD

# Step Functions allows at most 10 nested intrinsic calls in one field: merging n branch
# results takes n ArrayGetItem and n-1 JsonMerge calls, merging n paths n-1 JsonMerge calls.
MERGE_ITEMS = 5
MERGE_PATHS = 10
DEFINITION_LIMIT = 1024 * 1024
HISTORY_LIMIT = 25_000
PAYLOAD_LIMIT = 256 * 1024
# Kept results above this compute echoed output URIs from the requests: a child machine's
# startExecution.sync:2 result holds its input and its output, two copies of the document.
ECHO_ABOVE = PAYLOAD_LIMIT // 4
_GUESSED_FIELD_SIZE = 256  # bytes of a kept result field the request does not show
# History events one run through a state adds (entered/scheduled/started/.../exited).
_EVENTS = {"Task": 5, "Parallel": 4, "Fail": 1}

# Children are sized to well below the limits, so that the estimate's error never matters.
DEFAULT_BUDGET = split.Budget(DEFINITION_LIMIT * 2 // 3, HISTORY_LIMIT * 4 // 5)
_SPLIT_ATTEMPTS = 4
_SMALLEST_BUDGET = 64 * 1024
START_CHILD = "arn:aws:states:::states:startExecution.sync:2"
PARENT = "Main"

Exit = Callable[[str | None], None]
# The expression nodes that read step results (the expression types have no subclasses).
_READS = (StepProperty, JsonGet)


def build_definition(
    workflow: Workflow,
    diagnostics: Diagnostics,
    dag_lowering: str = "series-parallel",
    source_command: str | None = None,
) -> dict[str, Any]:
    """The state machine definition, or (for a pipeline too large for one machine, or the
    exact lowering) the document of a parent machine and its children (see ``split``,
    ``exact`` and the README). ``source_command`` is the command that regenerates it, for the
    machine's ``Comment`` (the CLI passes the one the user ran)."""
    budget = DEFAULT_BUDGET
    fallback = None
    for _ in range(_SPLIT_ATTEMPTS):
        ledger, assembler, document = _assemble(workflow, budget, dag_lowering, source_command)
        fallback = fallback or assembler.exact_too_large
        if fallback and dag_lowering == "exact":
            dag_lowering = "series-parallel"  # which splits what is too large
            ledger, assembler, document = _assemble(workflow, budget, dag_lowering, source_command)
        if not assembler.over_limit or budget.size < _SMALLEST_BUDGET:
            break
        # The estimate was optimistic for this pipeline: split finer.
        budget = split.Budget(budget.size // 2, budget.events // 2)
    if fallback:
        diagnostics.approximated("asl.schedule.exact-too-large", fallback)
    assembler.report_limits()
    for diagnostic in ledger:
        diagnostics.record(
            diagnostic.code, diagnostic.fidelity, diagnostic.message, diagnostic.step
        )
    return document


def _assemble(
    workflow: Workflow, budget: split.Budget, dag_lowering: str, source_command: str | None
) -> tuple[Diagnostics, _Assembler, dict[str, Any]]:
    """One assembly, without start-up states where the machine needs none."""
    try:
        ledger = Diagnostics()
        assembler = _Assembler(workflow, ledger, budget, dag_lowering, bare_start=True)
        assembler.source_command = source_command
        return ledger, assembler, assembler.definition()
    except _StartNeeded:
        ledger = Diagnostics()
        assembler = _Assembler(workflow, ledger, budget, dag_lowering, bare_start=False)
        assembler.source_command = source_command
        return ledger, assembler, assembler.definition()


class _StartNeeded(Exception):
    """The states of a machine without start-up states read what those states create."""


class _Scope:
    """The states of the whole machine or of one Parallel branch."""

    def __init__(self, names: StateNames) -> None:
        self.names = names
        self.states: dict[str, State] = {}
        self._end: str | None = None
        self._parameter_fail: str | None = None

    def add(self, name: str, state: State) -> None:
        self.states[name] = state

    def parameter_fail(self, fail: Callable[[], State]) -> str:
        """The Fail state for a mistyped parameter, in this scope (a Choice in a Parallel
        branch cannot lead to a state outside it)."""
        if self._parameter_fail is None:
            self._parameter_fail = self.names.helper("InvalidParameters")
            self.states[self._parameter_fail] = fail()
        return self._parameter_fail

    def end(self) -> str:
        """A Succeed state ending this scope, for Choice states that skip to the end."""
        if self._end is None:
            self._end = self.names.helper("End")
            self.states[self._end] = {"Type": "Succeed"}
        return self._end


class _Assembler:
    def __init__(
        self,
        workflow: Workflow,
        diagnostics: Diagnostics,
        budget: split.Budget,
        dag_lowering: str = "series-parallel",
        bare_start: bool = False,
    ) -> None:
        self.workflow = workflow
        self.dag_lowering = dag_lowering
        self.bare_start = bare_start and not needs_start(workflow)
        self.extra_waits = 0
        self._extra_wait_list: list[structure.ExtraWait] = []
        self.budget = budget
        self.machines: dict[str, dict[str, Any]] = {}  # child machines, in deploy order
        self.child_spans: dict[str, tuple[int, int]] = {}  # child -> first, last positions
        self.exact_too_large: str | None = None  # why the exact lowering's machines do not fit
        self.over_limit = False
        self.source_command: str | None = None  # what regenerates the machine, if known
        self._parameter_fail_state: State | None = None
        self._field_sizes: dict[tuple[str, str], int] = {}
        self._reads: dict[str, list[Any]] | None = None  # see _collect_references
        self.diagnostics = diagnostics
        self.keys = data_keys(workflow.steps)
        self.values = Values(workflow, self.keys, diagnostics)
        self.names = StateNames()
        self.state_name: dict[str, str] = {}
        for step in workflow.steps:  # step names first: helpers never take them
            state_name = self.state_name[step.name] = self.names.step(step.name)
            if state_name != step.name:
                diagnostics.approximated(
                    "asl.limit.state-name",
                    f"state names are limited to 80 characters; the state is {state_name!r}",
                    step.name,
                )
        self._graph()
        self.in_parallel = False

    # --- graph ------------------------------------------------------------------------------

    def _graph(self) -> None:
        names = {step.name for step in self.workflow.steps}
        self.predecessors: dict[str, list[str]] = {name: [] for name in names}
        self.successors: dict[str, list[str]] = {name: [] for name in names}
        self.branch_of: dict[str, list[tuple[str, str]]] = {name: [] for name in names}
        # One expression walk per step: for the edges, the fields later states read, and the
        # property files each step reads.
        self.expressions = {step.name: step_expressions(step) for step in self.workflow.steps}
        all_edges = edges(self.workflow)  # found once while reading, in document order
        for edge in all_edges:
            if edge.source not in names or edge.target not in names:
                continue
            if edge.origin in (EdgeOrigin.IF_BRANCH, EdgeOrigin.ELSE_BRANCH):
                outcome = "True" if edge.origin is EdgeOrigin.IF_BRANCH else "False"
                self.branch_of[edge.target].append((edge.source, outcome))
            if edge.source not in self.predecessors[edge.target]:
                self.predecessors[edge.target].append(edge.source)
                self.successors[edge.source].append(edge.target)
        self.order = self._topological_order()
        # What each Condition's branches skip comes from the shared pass (``ir.regions``).
        regions = regions_of(self.workflow, self.order, all_edges)
        conditions = [s.name for s in self.workflow.steps if s.kind is StepKind.CONDITION]
        self.plan = routes.plan(self.order, self.predecessors, self.successors, regions, conditions)
        # Guards only for what unrouted Conditions may skip.
        self.maybe_skipped = self.plan.maybe_skipped

    def _guarding(self, name: str) -> list[tuple[str, str]]:
        """The unrouted Conditions (and outcomes) whose branch holds the step."""
        return [(c, o) for c, o in self.branch_of[name] if not self.plan.routed(c)]

    def _topological_order(self) -> list[str]:
        position = {step.name: i for i, step in enumerate(self.workflow.steps)}
        waiting = {name: len(preds) for name, preds in self.predecessors.items()}
        ready = [(position[name], name) for name, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            _, name = heapq.heappop(ready)
            order.append(name)
            for successor in self.successors[name]:
                waiting[successor] -= 1
                if waiting[successor] == 0:
                    heapq.heappush(ready, (position[successor], successor))
        return order

    # --- the whole machine ------------------------------------------------------------------

    def definition(self) -> dict[str, Any]:
        self._collect_references()
        self._echo_output_uris_if_large()
        self._report_workflow()
        self.blocks = {scope: self._structure(scope) for scope in self.plan.nodes}
        exact_lowering = self.dag_lowering == "exact" and self._exact_applies()
        self._report_schedule(exact_lowering)
        if exact_lowering:
            return self._exact_definition()
        block = self.blocks[None]
        splitter = split.Splitter(self._step_cost, self._arm_members)
        if block is not None:
            block = splitter.split(block, self.budget)
        self.split = bool(splitter.children)
        self._number_steps(block)
        self.emitted_block = block  # after the split: for the payload estimates
        if self.split:
            self.values.context_from_run()
        top = _Scope(self.names)
        bare = self.bare_start and not self.split and block is not None
        if bare:
            self.values.run_token = run_token()
            start, exits = "", []
        else:
            sequence = start_states(self.workflow, self.names, self.diagnostics, self.split)
            start, exits = self._wire(sequence, top)
        if block is not None:
            entry, body_exits = self._emit(block, top)
            _close(exits, entry)
            exits = body_exits
            start = start or entry
        _close(exits, None)
        if bare and reads_start_document(top.states):
            raise _StartNeeded
        name = self.workflow.name or "pipeline"
        regenerate = self.source_command or f"pipeglot translate {name}.json --to asl"
        comment = (
            f"Translated by pipeglot from the SageMaker pipeline {name!r}. "
            f"Regenerate with: {regenerate}"
        )
        parent = {"Comment": comment, "StartAt": start, "States": top.states}
        self.documents = {**self.machines, PARENT: parent}
        self._check_limits()
        if not self.split:
            return parent
        return {
            "Comment": f"{comment}. The pipeline is too large for one state machine: "
            f"{PARENT!r} runs it and starts the others ({', '.join(self.machines)}) with "
            "states:startExecution.sync:2. Create them first (in this order), then put their "
            "ARNs where the parent says ${<name>} (CloudFormation: DefinitionSubstitutions).",
            "Parent": PARENT,
            "StateMachines": self.documents,
        }

    def _step_cost(self, name: str) -> split.Cost:
        step = self.workflow.step(name)
        request = _json_size(step.arguments)
        size = int(request * split.REQUEST_GROWTH) + split.STEP_OVERHEAD_BYTES
        return size, split.EVENTS_PER_STEP

    def _arm_members(self, name: str) -> Iterable[str]:
        return self.plan.members(name) if self.plan.routed(name) else ()

    def _emit_child(self, child: split.Child, scope: _Scope) -> tuple[str, list[Exit]]:
        """The child machine's states, and the Task in ``scope`` that runs it."""
        inner = _Scope(self.names)
        entry, exits = self._emit(child.block, inner)
        _close(exits, None)
        first, last, _ = self._span(child.block)
        steps = [self.order_by_position[first], self.order_by_position[last]]
        self.child_spans[child.name] = (first, last)
        self.machines[child.name] = {
            "Comment": f"Part of the pipeline {self.workflow.name or 'pipeline'!r}: steps "
            f"{steps[0]!r} to {steps[-1]!r}, started by {PARENT!r}.",
            "StartAt": entry,
            "States": inner.states,
        }
        name = self.names.helper("Run", child.name)
        state: State = {
            "Type": "Task",
            "Comment": f"Run {last - first + 1} steps in the state machine {child.name}.",
            "Resource": START_CHILD,
            "Parameters": {"StateMachineArn": f"${{{child.name}}}", "Input.$": "$"},
            "OutputPath": "$.Output",
        }
        scope.add(name, state)
        return name, [_next_exit(state, scope)]

    def _structure(self, scope: routes.Scope) -> structure.Block | None:
        block, extra_waits = structure.structure(
            self.plan.nodes[scope],
            self.plan.predecessors[scope],
            self.plan.successors[scope],
            keep_last=lambda name: self.workflow.step(name).kind is StepKind.FAIL,
        )
        self.extra_waits += len(extra_waits)
        self._extra_wait_list.extend(extra_waits)
        return block

    def _report_extra_waits(self) -> None:
        for wait in self._extra_wait_list:
            more = wait.count - len(wait.waits_for)
            listed = _names(wait.waits_for) + (f" and {more} more" if more else "")
            self.diagnostics.approximated(
                "asl.structure.extra-wait",
                "Step Functions runs steps in nested parallel blocks, and this DAG is not "
                f"series-parallel: the step now also waits for {listed}, which it does not "
                "depend on",
                wait.step,
            )

    def _report_schedule(self, exact_lowering: bool = False) -> None:
        lowered, critical = makespans(self.blocks, self.plan, self.predecessors, self.order)
        if exact_lowering:  # no extra waits, no guards: the runners wait and skip
            self._report_exact(lowered, critical)
            return
        self._report_extra_waits()
        for condition, why in self.plan.unrouted.items():
            self.diagnostics.approximated(
                "asl.condition.guards",
                f"the Condition records its outcome and each step it may skip checks it (a "
                f"guard Choice) instead of routing into its branches: {why}",
                condition,
            )
        for name in self.order:
            if name in self.maybe_skipped:
                self.diagnostics.exact(
                    "asl.condition.guard",
                    "the step has a guard: it runs only if its Condition chose its branch and "
                    "every step it depends on ran",
                    name,
                )
        self.diagnostics.record(
            "asl.schedule.makespan",
            Fidelity.EXACT if lowered == critical else Fidelity.APPROXIMATED,
            f"with every step taking one unit of time, the machine takes {lowered} units and "
            f"the pipeline's critical path {critical}"
            + (
                ""
                if lowered == critical
                else f" ({lowered / critical:.2f}x: the waits the series-parallel lowering adds)"
            ),
        )

    # --- the exact lowering (see ``exact``) ---------------------------------------------------

    def _exact_applies(self) -> bool:
        if not self.extra_waits:
            self.diagnostics.exact(
                "asl.schedule.exact",
                "the DAG is series-parallel: its nested Parallel states already start every "
                "step when its dependencies are done, so the series-parallel lowering is written",
            )
            return False
        self.exact_regions = exact.skips(self.workflow)
        return True

    def _report_exact(self, lowered: int, critical: int) -> None:
        steps = len(self.order)
        dependencies = sum(len(preds) for preds in self.predecessors.values())
        parent_events = 2 + 2 * 3 + 4 + exact.PARENT_EVENTS_PER_STEP * steps
        hours = exact.longest_wait(HISTORY_LIMIT, split.EVENTS_PER_STEP) / 3600
        self.diagnostics.exact(
            "asl.schedule.exact",
            f"every step starts when its own dependencies are done, at most "
            f"{exact.POLL_SECONDS} s later (its runner execution polls theirs): with unit "
            f"durations the critical path of {critical} units, where the series-parallel "
            f"lowering takes {lowered}. Cost: {steps} runner executions, about "
            f"{exact.transitions(self.predecessors):,} state transitions ({dependencies} "
            f"dependencies) plus {exact.EVENTS_PER_POLL // 3} per "
            f"{exact.POLL_SECONDS} s a step waits; history events: about {parent_events:,} in "
            f"the parent, and in each runner {exact.RUNNER_FIXED_EVENTS} + its step's + "
            f"{exact.EVENTS_PER_POLL} per poll, so a step can wait about {hours:.0f} h for its "
            f"dependencies within the {HISTORY_LIMIT:,}-event limit",
        )
        exact.report_conditions(self.workflow, self.exact_regions, self.diagnostics)

    def _exact_definition(self) -> dict[str, Any]:
        self.values.context_from_run()  # a runner's $$.Execution is its own
        self.maybe_skipped = set()  # the runners skip, not guards
        self.position = {}
        self._spans = {}
        suffixes = {
            name: exact.execution_suffix(self.keys[name], index, RUN_TOKEN_LENGTH)
            for index, name in enumerate(self.order)
        }
        runner = self._exact_runner = _Scope(self.names)
        prefix, route = self.names.helper("Executions"), self.names.helper("Route")
        choices: list[State] = []
        unknown = self.names.helper("UnknownStep")
        runner.add(prefix, {**exact.prefix_state(), "Next": route})
        runner.add(route, {"Type": "Choice", "Choices": choices, "Default": unknown})
        runner.add(unknown, {"Type": "Fail", "Error": "pipeglot.UnknownStep"})
        for name in exact.runs(self.order, self.exact_regions):
            choices.append(
                {
                    "Variable": exact.STEP_PATH,
                    "StringEquals": self.state_name[name],
                    "Next": self._exact_step(name, runner, suffixes),
                }
            )
        self.machines[exact.RUNNER] = {
            "Comment": f"Runs one step of the pipeline {self.workflow.name or 'pipeline'!r} "
            f"(the one named in {exact.STEP_PATH}) once the steps it depends on are done; "
            f"started by {PARENT!r}.",
            "StartAt": prefix,
            "States": runner.states,
        }
        top = _Scope(self.names)
        sequence = start_states(self.workflow, self.names, self.diagnostics, True)
        start, exits = self._wire(sequence, top)
        _close(exits, self._exact_parent_steps(top))
        name = self.workflow.name or "pipeline"
        regenerate = (
            self.source_command or f"pipeglot translate {name}.json --to asl --dag-lowering exact"
        )
        comment = (
            f"Translated by pipeglot from the SageMaker pipeline {name!r} "
            f"(dag_lowering='exact'). Regenerate with: {regenerate}"
        )
        parent = {"Comment": comment, "StartAt": start, "States": top.states}
        self.documents = {**self.machines, PARENT: parent}
        self.split = False
        self._check_limits()
        del self.events[exact.RUNNER]  # an execution of it runs one step's states, not all
        self.exact_too_large = exact.too_large(
            self.sizes, self.events, DEFINITION_LIMIT, HISTORY_LIMIT
        )
        self.over_limit = False  # nothing to split finer: too large falls back instead
        return {
            "Comment": f"{comment}. {PARENT!r} starts one execution of {exact.RUNNER!r} per "
            "step with states:startExecution.sync:2. Create the runner first, then put its "
            f"ARN where the parent says ${{{exact.RUNNER}}} (CloudFormation: "
            "DefinitionSubstitutions).",
            "Parent": PARENT,
            "StateMachines": self.documents,
        }

    def _exact_step(self, name: str, runner: _Scope, suffixes: dict[str, str]) -> str:
        """The step's states in the runner, behind the polls of its dependencies."""
        entry, exits = self._emit_step(self.workflow.step(name), runner)
        _close(exits, None)
        predecessors = self.predecessors[name]
        if not predecessors:
            return entry
        state_name = self.state_name[name]
        skipped = self.names.helper("Skipped", state_name)
        runner.add(skipped, exact.skipped_state(name))
        # The dependencies that decide whether the step runs are polled first: a step its
        # Condition does not run ends as soon as the Condition has, as in SageMaker.
        deciding = exact.deciding(self.exact_regions.requirements, name, predecessors)
        rest = [p for p in predecessors if p not in deciding]
        following = self._exact_polls(name, rest, entry, skipped, suffixes)
        following = self._exact_runs_check(name, following)
        return self._exact_polls(name, deciding, following, skipped, suffixes)

    def _exact_polls(
        self, name: str, dependencies: list[str], then: str, skipped: str, suffixes: dict[str, str]
    ) -> str:
        """Poll ``dependencies`` in order, then go to ``then``; the first poll's name."""
        following = then
        for dependency in reversed(dependencies):
            following, states = exact.poll_states(
                self.state_name[name],
                dependency,
                suffixes[dependency],
                self.names.helper,
                following,
                skipped,
            )
            for poll_name, state in states.items():
                self._exact_runner.add(poll_name, state)
        return following

    def _exact_runs_check(self, name: str, entry: str) -> str:
        """Before the step's states, once its dependencies are merged: does SageMaker run it?"""
        requirements = self.exact_regions.requirements
        predecessors = self.predecessors[name]
        outcomes = [
            (self.keys[condition], "True" if outcome else "False")
            for condition, outcome in exact.own_literals(requirements, name, predecessors)
        ]
        maybe_not_run = [self.keys[p] for p in predecessors if requirements[p]]
        state_name = self.state_name[name]
        not_run = self.names.helper("NotRun", state_name)
        check = exact.runs_check(state_name, maybe_not_run, outcomes, entry, not_run)
        if check is None:
            return entry
        runs = self.names.helper("Runs", state_name)
        self._exact_runner.add(runs, check)
        self._exact_runner.add(not_run, exact.not_run_state(state_name, self.keys[name]))
        return runs

    def _exact_parent_steps(self, top: _Scope) -> str:
        """One Parallel branch per step, then fail if any failed or was skipped."""
        steps, check = self.names.helper("Steps"), self.names.helper("CheckSteps")
        failed = self.names.helper("Failed")
        branches = [
            exact.branch(
                name,
                self.state_name[name],
                exact.execution_suffix(self.keys[name], index, RUN_TOKEN_LENGTH),
                self.names.helper,
            )
            for index, name in enumerate(self.order)
            if not self.exact_regions.never_runs(name)
        ]
        top.add(
            steps,
            {
                "Type": "Parallel",
                "Comment": "Every step at once: each waits in its own execution for the steps "
                "it depends on.",
                "Branches": branches,
                "ResultSelector": {"Failed.$": "$[*].Failed"},
                "ResultPath": exact.OUTCOME_PATH,
                "Next": check,
            },
        )
        top.add(
            check,
            {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": f"{exact.OUTCOME_PATH}.Failed[0]",
                        "IsPresent": True,
                        "Next": failed,
                    }
                ],
                "Default": top.end(),
            },
        )
        top.add(
            failed,
            {
                "Type": "Fail",
                "Error": "pipeglot.StepFailed",
                "CausePath": "States.Format('steps failed or were skipped: {}', "
                f"States.JsonToString({exact.OUTCOME_PATH}.Failed))",
            },
        )
        return steps

    def _collect_references(self) -> None:
        """Find which result fields of each step later states read (``Values.kept``)."""
        self.values.best_only = self._tuning_read_at_best_only()
        if self._reads is None:  # the nodes that read results, once for both passes
            self._reads = {
                step.name: [n for n in self.expressions[step.name] if type(n) in _READS]
                for step in self.workflow.steps
            }
        for step in self.workflow.steps:
            self.values.current = step
            for node in self._reads[step.name]:
                try:
                    if type(node) is StepProperty:
                        self.values.step_property(node.step, node.path, rendered=False, node=node)
                    else:
                        self.values.json_get_location(node)
                except NotExpressible:
                    pass  # reported when the step is built
        self.values.current = None
        self.values.take_problems()

    def _echo_output_uris_if_large(self) -> None:
        """Where the results later states read would make a large execution document, read
        output S3 URIs from the requests that SageMaker echoes instead of keeping them (one
        more references pass, for such pipelines only). Below, states read the described
        result, which the ASL reader reads back as the step property it is."""
        payload = self._estimated_payload()
        if payload <= ECHO_ABOVE:
            return
        self.values.echo_output_uris = True
        self.values.kept = {step.name: Kept() for step in self.workflow.steps}
        self._collect_references()
        self.diagnostics.exact(
            "asl.limit.payload-echo",
            f"the step results later states read would add up to about {payload:,} bytes of "
            f"the execution document (Step Functions fails a state input or output over "
            f"{PAYLOAD_LIMIT:,}): output S3 URIs are computed from the steps' requests, which "
            f"SageMaker echoes, instead of kept; about {self._estimated_payload():,} bytes "
            "remain. The machine runs the same; read back, such a value is the URI, not a "
            "reference to the step",
        )

    def _tuning_read_at_best_only(self) -> frozenset[str]:
        """The Tuning steps whose TrainingJobSummaries later states read only at [0]: the best
        training job, which the tuning job's description names, needs no list call."""
        tuning = {s.name for s in self.workflow.steps if s.kind is StepKind.TUNING}
        if not tuning:
            return frozenset()
        best_only = dict.fromkeys(tuning, True)
        for expressions in self.expressions.values():
            for node in expressions:
                if (
                    isinstance(node, StepProperty)
                    and node.step in tuning
                    and node.path[:1] == (Attribute(TUNING_SUMMARIES_FIELD),)
                ):
                    best_only[node.step] &= node.path[1:2] == (Index(0),)
        return frozenset(name for name, only in best_only.items() if only)

    def _report_workflow(self) -> None:
        config = self.workflow.experiment_config
        if config is not None and config.enabled:
            self.diagnostics.dropped(
                "asl.experiment-config",
                "Step Functions does not create the pipeline's experiment and trial, nor "
                "associate jobs with them",
            )
        for step in self.workflow.steps:
            cache = step.cache_config
            if cache is not None and cache.enabled is not False:
                self.diagnostics.dropped(
                    "asl.cache",
                    "Step Functions has no step cache: the step runs on every execution",
                    step.name,
                )

    # --- structure --------------------------------------------------------------------------

    def _emit(self, block: structure.Block, scope: _Scope) -> tuple[str, list[Exit]]:
        if isinstance(block, split.Child):
            return self._emit_child(block, scope)
        if isinstance(block, structure.Leaf):
            step = self.workflow.step(block.step)
            if step.kind is StepKind.CONDITION and self.plan.routed(step.name):
                return self._emit_route(step, scope)
            return self._emit_step(step, scope)
        if isinstance(block, structure.Series):
            entry, exits = self._emit(block.parts[0], scope)
            for part in block.parts[1:]:
                next_entry, next_exits = self._emit(part, scope)
                _close(exits, next_entry)
                exits = next_exits
            return entry, exits
        return self._emit_parallel(block, scope)

    def _emit_parallel(self, block: structure.Parallel, scope: _Scope) -> tuple[str, list[Exit]]:
        outer = self.in_parallel
        self.in_parallel = True
        bodies = []
        for branch in block.branches:
            inner = _Scope(self.names)
            entry, exits = self._emit(branch, inner)
            _close(exits, None)
            bodies.append({"StartAt": entry, "States": inner.states})
        self.in_parallel = outer
        name = self.names.helper("Parallel")
        state: State = {"Type": "Parallel", "Branches": bodies}
        scope.add(name, state)
        if not self._results_read_after(block):
            state["ResultPath"] = None  # nothing later reads them: keep the input as it was
            return name, [_next_exit(state, scope)]
        selected = self._selected_results(block) if len(bodies) > MERGE_ITEMS else None
        if selected is not None:
            return name, [self._merge_selected(state, selected, scope)]
        # Each branch ends with the whole execution document; results of different steps sit
        # under different top-level keys, so shallow merges join them. One field may nest at
        # most 10 intrinsic calls, so wide Parallel states merge in groups, then in Pass states.
        items = [fn.call("ArrayGetItem", Ref("$", True), i) for i in range(len(bodies))]
        fields = [_merge(group) for group in _groups(items, MERGE_ITEMS)]
        target = "ResultSelector"
        while len(fields) > 1:
            state[target] = {f"M{i}.$": field.text for i, field in enumerate(fields)}
            paths = [Ref(f"$.M{i}", True) for i in range(len(fields))]
            fields = [_merge(group) for group in _groups(paths, MERGE_PATHS)]
            merge_name = self.names.helper("Merge")
            state["Next"] = merge_name
            state = {"Type": "Pass", "Comment": "Join the results of the branches."}
            scope.add(merge_name, state)
            target = "Parameters"
        state[target] = {"Merged.$": fields[0].text}
        state["OutputPath"] = "$.Merged"
        return name, [_next_exit(state, scope)]

    def _merge_selected(self, state: State, selected: dict[str, str], scope: _Scope) -> Exit:
        """A wide Parallel state keeps one copy of the document (the first branch's) and only
        the other branches' results that later states read; a Pass puts those beside the
        document's keys. Merging whole documents five at a time (an intrinsic nests at most
        10 calls) would make its output hold one copy of the document per five branches, and
        Step Functions fails a state output over 256 KB (States.DataLimitExceeded)."""
        if not selected:
            state["ResultSelector"] = {"Merged.$": "$[0]"}
            state["OutputPath"] = "$.Merged"
            return _next_exit(state, scope)
        state["ResultSelector"] = {"Doc.$": "$[0]", "New": selected}
        merge_name = self.names.helper("Merge")
        state["Next"] = merge_name
        merge: State = {
            "Type": "Pass",
            "Comment": "Put the results of the branches beside the document's.",
            "Parameters": {"Merged.$": "States.JsonMerge($.Doc, $.New, false)"},
            "OutputPath": "$.Merged",
        }
        scope.add(merge_name, merge)
        return _next_exit(merge, scope)

    def _selected_results(self, block: structure.Parallel) -> dict[str, str] | None:
        """The results of the branches after the first that a state after ``block`` reads, as
        ResultSelector fields (``{"<key>.$": "$[i].<key>"}``); None where one of them may be
        missing (a guarded step a Condition may skip: selecting a missing key fails the state),
        so the branches are merged whole."""
        last = self._span(block)[1]
        selected: dict[str, str] = {}
        for index, branch in enumerate(block.branches):
            for step in _steps_in(branch):
                members = [step, *self._arm_members(step)]
                for member in members:
                    if self._reach(member) <= last:
                        continue
                    if member in self.maybe_skipped or member != step:
                        return None
                    if index:
                        key = self.keys[member]
                        selected[f"{key}.$"] = f"$[{index}].{key}"
        return selected

    def _merges_whole_documents(self, block: structure.Parallel) -> bool:
        """Does the Parallel state's output hold its branches' whole documents (in groups of
        ``MERGE_ITEMS``)? See ``_emit_parallel``."""
        return self._results_read_after(block) and (
            len(block.branches) <= MERGE_ITEMS or self._selected_results(block) is None
        )

    def _results_read_after(self, block: structure.Block) -> bool:
        """Does a step after ``block`` read a result stored inside it?"""
        _, last, reach = self._span(block)
        return reach > last

    def _number_steps(self, block: Any) -> None:
        """Each step's position in run order: a block's steps have consecutive positions."""
        self.position: dict[str, int] = {}
        self._spans: dict[int, tuple[int, int, int]] = {}
        if block is not None:
            self._number(block)
        self.order_by_position = list(self.position)

    def _number(self, item: Any) -> None:
        # A method, not a closure: a recursive closure holding self is a reference cycle,
        # which would keep the assembler and its document alive until the next collection.
        if isinstance(item, split.Child):
            self._number(item.block)
        elif isinstance(item, structure.Leaf):
            self.position[item.step] = len(self.position)
            for outcome in routes.OUTCOMES:
                arm = self.blocks.get((item.step, outcome)) if self.plan.routed(item.step) else None
                if arm is not None:
                    self._number(arm)
        else:
            for child in item.parts if isinstance(item, structure.Series) else item.branches:
                self._number(child)

    def _span(self, block: Any) -> tuple[int, int, int]:
        """(first, last) positions of the block's steps, and the furthest position of a step
        reading a result stored inside it; computed once per block."""
        cached = self._spans.get(id(block))
        if cached is not None:
            return cached
        if isinstance(block, split.Child):
            span = self._span(block.block)
        elif isinstance(block, structure.Leaf):
            members = [block.step, *self._arm_members(block.step)]
            positions = [self.position[m] for m in members]
            span = (min(positions), max(positions), max(map(self._reach, members)))
        else:
            children = block.parts if isinstance(block, structure.Series) else block.branches
            spans = [self._span(child) for child in children]
            span = (spans[0][0], max(s[1] for s in spans), max(s[2] for s in spans))
        self._spans[id(block)] = span
        return span

    def _reach(self, name: str) -> int:
        """The position of the last step reading ``name``'s stored result (-1: none)."""
        if not self._stores_result(name):
            return -1
        return max((self.position[s] for s in self.successors[name]), default=-1)

    def _stores_result(self, name: str) -> bool:
        return bool(self.values.kept[name].fields) or (
            name in self.maybe_skipped and bool(self.successors[name])
        )

    # --- one Condition, routed into its branches --------------------------------------------

    def _emit_route(self, step: Step, scope: _Scope) -> tuple[str, list[Exit]]:
        self.values.current = step
        sequence = list(self._json_get_states(step))
        rule, operands = self._condition_rule(step)
        if operands:
            sequence.append(operands)
        self.values.current = None
        self.values.scratch = {}
        choice: State = {"Type": "Choice", **_comment(step)}
        choice["Choices"] = [*self._parameter_check(step, scope), {**rule, "Next": None}]
        choice["Default"] = None  # the arms' entries, set below
        sequence.append((self.state_name[step.name], choice))
        if step.name in self.maybe_skipped:
            sequence.insert(0, self._guard(step, first=sequence[0][0]))
        entry, exits = self._wire(sequence, scope)
        targets = []
        for outcome in routes.OUTCOMES:
            arm = self.blocks.get((step.name, outcome))
            recorded = self._outcome_record(step, outcome)
            if recorded is not None:
                scope.add(*recorded)
                arm_entry, arm_exits = recorded[0], [_next_exit(recorded[1], scope)]
                if arm is not None:
                    inner_entry, arm_exits_inner = self._emit(arm, scope)
                    _close(arm_exits, inner_entry)
                    arm_exits = arm_exits_inner
                targets.append(arm_entry)
                exits += arm_exits
            elif arm is not None:
                arm_entry, arm_exits = self._emit(arm, scope)
                targets.append(arm_entry)
                exits += arm_exits
            else:
                targets.append(None)
        choice["Choices"][-1]["Next"] = targets[0] or CONTINUE
        choice["Default"] = targets[1] or CONTINUE
        for holder, field in ((choice["Choices"][-1], "Next"), (choice, "Default")):
            if holder[field] == CONTINUE:
                exits.append(_field_exit(holder, field, scope))
        return entry, exits

    def _outcome_record(self, step: Step, outcome: str) -> tuple[str, State] | None:
        """A Pass recording the outcome, only where a later state reads it (a property
        reference, or the guard of a step after the block checking that the Condition ran)."""
        members = set(self.plan.members(step.name))
        checked = step.name in self.maybe_skipped and any(
            s not in members for s in self.successors[step.name]
        )
        if not self.values.kept[step.name].fields and not checked:
            return None
        return (
            self.names.helper(f"Outcome.{outcome}", step.name),
            {
                "Type": "Pass",
                "Result": {"Outcome": outcome},
                "ResultPath": f"$.{self.keys[step.name]}",
            },
        )

    # --- one step ---------------------------------------------------------------------------

    def _emit_step(self, step: Step, scope: _Scope) -> tuple[str, list[Exit]]:
        self.values.current = step
        sequence: list[tuple[str, State]] = list(self._json_get_states(step))
        if step.kind is StepKind.CONDITION:
            sequence += self._guarded_condition_states(step, scope)
        else:
            build = Build(
                step=step,
                name=self.state_name[step.name],
                key=self.keys[step.name],
                values=self.values,
                names=self.names,
                diagnostics=self.diagnostics,
                kept=list(self.values.kept[step.name].fields),
            )
            BUILDERS[step.kind](build)
            self._store_result(build)
            sequence += build.out.states
        self.values.current = None
        self.values.scratch = {}
        if step.kind is StepKind.FAIL and self.in_parallel:
            self.diagnostics.approximated(
                "asl.fail.stops-branches",
                "reaching this Fail state stops the steps running in parallel branches at "
                "once; SageMaker lets running steps finish before the execution fails",
                step.name,
            )
        if step.name in self.maybe_skipped:
            sequence.insert(0, self._guard(step, first=sequence[0][0]))
        return self._wire(sequence, scope)

    def _store_result(self, build: Build) -> None:
        state, selector = build.out.result_state, build.out.selector
        if state is None or selector is None:
            return
        kept = list(self.values.kept[build.step.name].fields)
        fields = selector(kept) if kept else {}
        if (
            not fields
            and build.step.name in self.maybe_skipped
            and self.successors[build.step.name]
        ):
            fields = {"Ran": True}  # a mark that the guards of later steps look for
        if fields:
            state["ResultSelector"] = fields
            state["ResultPath"] = f"$.{build.key}"
        elif "ResultPath" not in state:
            state["ResultPath"] = None

    def _guard(self, step: Step, first: str) -> tuple[str, State]:
        """A Choice that runs ``step`` only if its unrouted Condition chose its branch and
        every step it depends on ran."""
        tests: list[State] = []
        guarding = self._guarding(step.name)
        for condition, outcome in guarding:
            outcome_path = f"$.{self.keys[condition]}.Outcome"
            test = {"Variable": outcome_path, "StringEquals": outcome}
            if condition in self.maybe_skipped:
                test = {"And": [{"Variable": outcome_path, "IsPresent": True}, test]}
            tests.append(test)
        branch_sources = {condition for condition, _ in guarding}
        for predecessor in self.predecessors[step.name]:
            if predecessor in self.maybe_skipped and predecessor not in branch_sources:
                tests.append({"Variable": f"$.{self.keys[predecessor]}", "IsPresent": True})
        rule = tests[0] if len(tests) == 1 else {"And": tests}
        state = {
            "Type": "Choice",
            "Comment": f"Run {step.name} only if every step it depends on ran.",
            "Choices": [{**rule, "Next": first}],
            "Default": CONTINUE,
        }
        return self.names.helper("Guard", step.name), state

    def _json_get_states(self, step: Step) -> Iterable[tuple[str, State]]:
        """One S3 read per file the step's Std:JsonGet calls read, before it; sets
        ``Values.scratch``. Calls reading the same file share its read."""
        nodes = list({id(n): n for n in self.expressions[step.name] if type(n) is JsonGet}.values())
        slots: dict[str, str] = {}  # the read's request (as text) -> its slot
        for node in nodes:
            try:
                location = self.values.json_get_location(node)
            except NotExpressible as error:
                self.diagnostics.unsupported("asl.json-get", str(error), step.name)
                continue
            parameters: dict[str, Any] = {}
            for field, value in (("Bucket", location.bucket), ("Key", location.key)):
                if isinstance(value, Ref):
                    parameters[f"{field}.$"] = value.text
                else:
                    parameters[field] = value
            self.values.take_problems()
            request = json.dumps(parameters, sort_keys=True)
            known = request in slots
            slot = slots.setdefault(request, f"JsonGet{len(slots) + 1}")
            try:
                self.values.scratch[id(node)] = self.values.json_get_path(slot, node.path)
            except NotExpressible as error:
                self.diagnostics.unsupported("asl.json-get", str(error), step.name)
                continue
            if known:
                continue
            file_ref = node.property_file
            yield (
                self.names.helper("JsonGet", step.name),
                {
                    "Type": "Task",
                    "Comment": _json_get_comment(file_ref),
                    "Resource": f"{SDK_ARN}s3:getObject",
                    "Parameters": parameters,
                    "ResultSelector": {"Body.$": "States.StringToJson($.Body)"},
                    "ResultPath": f"$.{SCRATCH_KEY}.{slot}",
                },
            )

    def _parameter_check(self, step: Step, scope: _Scope) -> list[State]:
        """A rule failing the execution when a parameter the Condition compares is mistyped
        and was not checked at the start (see ``start``)."""
        at_start = checked_at_start(self.workflow)
        compared = compared_parameters(self.workflow, step)
        rule = invalid_rule([p for p in compared if p not in at_start])
        return [] if rule is None else [{**rule, "Next": scope.parameter_fail(self._fail_state)}]

    def _fail_state(self) -> State:
        """The parameter Fail state (the same in every scope that needs one)."""
        if self._parameter_fail_state is None:
            self._parameter_fail_state = parameter_fail(self.workflow)
        return dict(self._parameter_fail_state)

    def _condition_rule(self, step: Step) -> tuple[State, tuple[str, State] | None]:
        """The Choice rule of a Condition, and a Pass computing operands that are not paths
        (Choice rules read only paths)."""
        operands: dict[str, str] = {}

        def operand(value: Any) -> Any:
            rendered = self.values.render(value)
            if isinstance(rendered, Ref) and not rendered.is_path:
                slot = f"o{len(operands) + 1}"
                operands[f"{slot}.$"] = rendered.text
                return Ref(f"$.{SCRATCH_KEY}.Operands.{slot}", True)
            return rendered

        try:
            rule = ChoiceBuilder(self.workflow, operand).rule(step.conditions)
        except NotExpressible as error:
            self.values.problems.append(str(error))
            rule = {"Not": {"Variable": f"$.{RUN_KEY}", "IsPresent": True}}
        for problem in self.values.take_problems():
            self.diagnostics.unsupported("asl.condition", problem, step.name)
        if not operands:
            return rule, None
        computed = {
            "Type": "Pass",
            "Comment": "Computed operands of the condition (Choice rules read paths).",
            "Parameters": operands,
            "ResultPath": f"$.{SCRATCH_KEY}.Operands",
        }
        return rule, (self.names.helper("Operands", step.name), computed)

    def _guarded_condition_states(self, step: Step, scope: _Scope) -> list[tuple[str, State]]:
        """An unrouted Condition: a Choice that records its outcome for the guards."""
        rule, operands = self._condition_rule(step)
        key = self.keys[step.name]
        true_name = self.names.helper("Outcome.True", step.name)
        false_name = self.names.helper("Outcome.False", step.name)
        states: list[tuple[str, State]] = [operands] if operands else []
        choice: State = {"Type": "Choice", **_comment(step)}
        choice["Choices"] = [*self._parameter_check(step, scope), {**rule, "Next": true_name}]
        choice["Default"] = false_name
        states.append((self.state_name[step.name], choice))
        for name, outcome in ((true_name, "True"), (false_name, "False")):
            record = {"Type": "Pass", "Result": {"Outcome": outcome}, "ResultPath": f"$.{key}"}
            states.append((name, {**record, "Next": CONTINUE}))
        return states

    def _wire(self, sequence: list[tuple[str, State]], scope: _Scope) -> tuple[str, list[Exit]]:
        """Add the states to ``scope``, chaining those without a transition in list order;
        every transition to CONTINUE (and the last state's) leaves the step."""
        exits: list[Exit] = []
        for index, (name, state) in enumerate(sequence):
            scope.add(name, state)
            following = sequence[index + 1][0] if index + 1 < len(sequence) else None
            kind = state["Type"]
            if kind == "Choice":
                for rule in state["Choices"]:
                    if rule["Next"] == CONTINUE:
                        exits.append(_field_exit(rule, "Next", scope))
                if state.get("Default") == CONTINUE:
                    exits.append(_field_exit(state, "Default", scope))
            elif kind in ("Fail", "Succeed"):
                continue
            elif state.get("Next") == CONTINUE:
                del state["Next"]
                exits.append(_next_exit(state, scope))
            elif "Next" not in state and "End" not in state:
                if following is None:
                    exits.append(_next_exit(state, scope))
                else:
                    state["Next"] = following
        return sequence[0][0], exits

    # --- limits -----------------------------------------------------------------------------

    def _estimated_payload(self) -> int:
        defaults = [p.default for p in self.workflow.parameter_list if p.default is not MISSING]
        total = len(json.dumps(defaults, default=str))
        for step in self.workflow.steps:
            for field in self.values.kept[step.name].fields:
                total += self._estimated_size(step, field)
        return total

    def _estimated_size(self, step: Step, field: str) -> int:
        """``_estimated_size``, once per step and field: the payload estimates ask up to five
        times."""
        key = (step.name, field)
        size = self._field_sizes.get(key)
        if size is None:
            size = self._field_sizes[key] = _estimated_size(step, field)
        return size

    def _check_limits(self) -> None:
        """Is a machine over Step Functions' definition or history limit?"""
        self.sizes = {name: _compact_size(doc) for name, doc in self.documents.items()}
        self.events = {
            name: 2 + _count_events(doc["States"]) for name, doc in self.documents.items()
        }
        self.over_limit = any(size > DEFINITION_LIMIT for size in self.sizes.values()) or any(
            events > HISTORY_LIMIT for events in self.events.values()
        )

    def report_limits(self) -> None:
        if self.split:
            largest = max(self.sizes, key=self.sizes.__getitem__)
            self.diagnostics.approximated(
                "asl.limit.split",
                f"the pipeline is too large for one state machine (1 MB definitions, "
                f"{HISTORY_LIMIT:,} history events per execution): {PARENT!r} runs it with "
                f"{len(self.machines)} child state machines; the largest definition is "
                f"{largest!r} with {self.sizes[largest]:,} bytes. The console shows each "
                "child's steps in the child's own execution",
            )
        for name, size in self.sizes.items():
            if size > DEFINITION_LIMIT:
                self.diagnostics.unsupported(
                    "asl.limit.definition-size",
                    f"the state machine definition {name!r} is {size:,} bytes; Step Functions "
                    f"accepts at most {DEFINITION_LIMIT:,}: one step or Condition is too large "
                    "to split further",
                )
        for name, events in self.events.items():
            if events > HISTORY_LIMIT:
                self.diagnostics.approximated(
                    "asl.limit.history-events",
                    f"an execution of {name!r} that runs every state once records about "
                    f"{events:,} history events; Step Functions fails a standard execution at "
                    f"{HISTORY_LIMIT:,}",
                )
        payload = self._estimated_payload()
        over = [b for b in self._boundaries() if b.result > PAYLOAD_LIMIT]
        wide = [p for p in self._parallel_results() if p.result > PAYLOAD_LIMIT]
        if over:
            self._report_boundaries(over)
        if wide:
            self._report_parallels(wide)
        if not (over or wide) and payload > PAYLOAD_LIMIT:
            self.diagnostics.approximated(
                "asl.limit.payload",
                f"the step results later states read add up to about {payload:,} bytes; Step "
                f"Functions fails a state whose input or output exceeds {PAYLOAD_LIMIT:,}. "
                "Read fewer step properties",
            )

    def _added_bytes(self) -> tuple[list[int], int]:
        """What each step (in run order) adds to the document, and the parameters' bytes."""
        defaults = [p.default for p in self.workflow.parameter_list if p.default is not MISSING]
        added = [
            sum(self._estimated_size(self.workflow.step(name), f) for f in fields)
            for name in self.order_by_position
            for fields in (self.values.kept[name].fields,)
        ]
        return added, len(json.dumps(defaults, default=str))

    def _boundaries(self) -> list[split.Boundary]:
        """The documents crossing the child machines' boundaries (none without children)."""
        if not self.child_spans:
            return []
        added, base = self._added_bytes()
        return split.boundaries(self.child_spans, self.order_by_position, added, base)

    def _parallel_results(self) -> list[split.ParallelResult]:
        block = getattr(self, "emitted_block", None)  # None: the exact lowering
        if block is None:
            return []
        added, base = self._added_bytes()
        before = list(itertools.accumulate(added, initial=base))
        return split.parallel_results(
            block,
            self._span,
            self._merges_whole_documents,
            MERGE_ITEMS,
            self.order_by_position,
            before,
        )

    def _report_parallels(self, wide: list[split.ParallelResult]) -> None:
        first, largest = wide[0], max(wide, key=lambda p: p.result)
        self.diagnostics.approximated(
            "asl.limit.payload",
            f"each branch of a Parallel state returns the whole execution document; a wide "
            "one keeps one copy and selects the results later states read, but where a "
            "guarded step (one a Condition may skip) leaves a result, selecting it could fail, "
            f"so the documents are merged whole, {MERGE_ITEMS} at a time: the Parallel state "
            f"of the {len(first.first_steps)} "
            f"branches starting with {_names(first.first_steps[:3])}"
            f"{' ...' if len(first.first_steps) > 3 else ''} outputs {first.copies} copies of "
            f"the document, about {first.result:,} bytes; Step Functions (and moto's engine) "
            f"fails a state whose output exceeds {PAYLOAD_LIMIT:,} (States.DataLimitExceeded). "
            f"{len(wide)} Parallel states are over it, the largest about {largest.result:,} "
            "bytes. Read fewer step properties",
        )

    def _report_boundaries(self, over: list[split.Boundary]) -> None:
        first, largest = over[0], max(over, key=lambda b: b.result)
        self.diagnostics.approximated(
            "asl.limit.payload",
            f"the execution document grows with every result a later step reads, and child "
            f"machines pass it whole: {first.child!r} (steps {first.first!r} to "
            f"{first.last!r}) receives about {first.entering:,} bytes, and the "
            f"startExecution.sync:2 result that brings it back (the child's input and output) "
            f"about {first.result:,}; Step Functions fails a state whose input or result "
            f"exceeds {PAYLOAD_LIMIT:,} bytes. {len(over)} of {len(self.child_spans)} child "
            f"boundaries are over it, the largest at {largest.child!r} with about "
            f"{largest.result:,} bytes. Read fewer step properties, or pass large results "
            "through S3",
        )


def _groups(items: list[Ref], size: int) -> list[list[Ref]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _merge(items: list[Ref]) -> Ref:
    merged = items[0]
    for item in items[1:]:
        merged = fn.call("JsonMerge", merged, item, False)
    return merged


def _estimated_size(step: Step, field: str) -> int:
    """The size of one kept result field, guessed from the request when it echoes it."""
    arguments = step.arguments if isinstance(step.arguments, dict) else {}
    if field in arguments:
        return len(json.dumps(arguments[field], default=str))
    return _GUESSED_FIELD_SIZE


def _steps_in(block: Any) -> Iterable[str]:
    """Every step of ``block`` (child machines included), in order."""
    if isinstance(block, split.Child):
        yield from _steps_in(block.block)
    elif isinstance(block, structure.Leaf):
        yield block.step
    else:
        children = block.parts if isinstance(block, structure.Series) else block.branches
        for child in children:
            yield from _steps_in(child)


def _count_events(states: dict[str, State]) -> int:
    total = 0
    for state in states.values():
        total += _EVENTS.get(state["Type"], 2)
        for branch in state.get("Branches", ()):
            total += _count_events(branch["States"])
    return total


def _next_exit(state: State, scope: _Scope) -> Exit:
    def leave(target: str | None) -> None:
        if target is None:
            state["End"] = True
        else:
            state["Next"] = target

    return leave


def _field_exit(holder: State, field: str, scope: _Scope) -> Exit:
    def leave(target: str | None) -> None:
        holder[field] = target if target is not None else scope.end()

    return leave


def _close(exits: list[Exit], target: str | None) -> None:
    for leave in exits:
        leave(target)


def _names(steps: Iterable[str]) -> str:
    return ", ".join(map(repr, steps))


def _comment(step: Step) -> dict[str, str]:
    parts = [v for v in (step.display_name, step.description) if isinstance(v, str)]
    return {"Comment": " | ".join(parts)} if parts else {}


def _compact_size(document: dict[str, Any]) -> int:
    """Bytes of the definition as Step Functions counts them (compact UTF-8 JSON)."""
    try:
        return len(orjson.dumps(document))
    except orjson.JSONEncodeError:  # an integer wider than 64 bits
        return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())


def _json_get_comment(reference: PropertyFileRef | None) -> str:
    if reference is None:
        return "Std:JsonGet: read the JSON file."
    return f"Std:JsonGet: read the property file {reference.name} of {reference.step}."


def _expression_size(_: object) -> str:
    """Stands in for an expression node when estimating a request's size (about a path's)."""
    return "$.Parameters.abcdefghijklmnopqrstuvwxyz"


def _json_size(value: object) -> int:
    try:
        return len(orjson.dumps(value, default=_expression_size))
    except orjson.JSONEncodeError:  # an integer wider than 64 bits, which the stdlib writes
        return len(json.dumps(value, default=str, ensure_ascii=False).encode())
