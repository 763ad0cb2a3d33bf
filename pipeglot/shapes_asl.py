"""The shape of Step Functions output: one state machine, or several that start each other.

The ASL backend writes one state machine, or, for a pipeline too large for one, a document
``{"Parent": ..., "StateMachines": {name: definition}}`` whose parent starts the others with
``states:startExecution.sync``; a CloudFormation template holds each as a resource's inline
``Definition``. Every machine is drawn in its own box, with an arrow from the state that starts
a child to the child's first state; Parallel and Map states are boxes around their branches.

Figures use unit durations: each pipeline step costs 1, helper states nothing; a Parallel state
lasts as long as its slowest branch, a state that starts a child machine as long as the child.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from pipeglot.graph import Cluster, Drawing, Line, Node
from pipeglot.shapes import Shape, longest_chain

_SERVICE_PREFIX = "arn:aws:states:::"
_SHAPES = {"Choice": "diamond", "Fail": "octagon", "Succeed": "oval", "Pass": "box"}
_CHILD_REFERENCE = re.compile(r"^\$\{([^}]+)\}$")

# History events one state adds when it runs once without retries: StateEntered and
# StateExited, plus Task{Scheduled,Started,Submitted,Succeeded} for a Task, and
# {Parallel,Map}State{Started,Succeeded} for Parallel and Map. Execution start and end add 2.
# A child machine's execution has a history of its own.
_EVENTS_PER_STATE = {"Task": 6, "Parallel": 4, "Map": 4}
_EVENTS_OTHER_STATE = 2
_EVENTS_EXECUTION = 2


def asl_machines(text: str) -> dict[str, dict[str, Any]]:
    """Each state machine in ASL or CloudFormation JSON text, the one that starts the others
    first; a lone machine is named ``""``. Empty when the text holds no inline definition."""
    document = json.loads(text)
    if "States" in document:
        return {"": document}
    machines = document.get("StateMachines")
    if isinstance(machines, dict):
        parent = document.get("Parent")
        ordered = sorted(machines, key=lambda name: name != parent)
        return {name: machines[name] for name in ordered}
    return {
        name: resource["Properties"]["Definition"]
        for name, resource in document.get("Resources", {}).items()
        if resource.get("Type") == "AWS::StepFunctions::StateMachine"
        and isinstance(resource.get("Properties", {}).get("Definition"), dict)
    }


def asl_shape(
    machines: dict[str, dict[str, Any]], steps: frozenset[str], status: dict[str, str]
) -> Shape:
    """The shape of the machines (see :func:`asl_machines`).

    ``history_events`` estimates the largest history of one execution when every state runs
    once (each Choice outcome included, no retries, no polling rounds): compare it with the
    25,000-event quota, knowing that retries and polling loops add to it.
    """
    walk = _Walk(steps, status, machines)
    events = {}
    for name, machine in machines.items():
        cluster = None
        if len(machines) > 1:
            cluster = f"machine:{name}"
            walk.clusters.append(Cluster(cluster, f"state machine {name}"))
        walk.events = _EVENTS_EXECUTION
        walk.scope(machine, _machine_scope(name), cluster)
        events[name] = walk.events
    first = next(iter(machines))
    sizes = {name: _compact_size(machine) for name, machine in machines.items()}
    largest = max(sizes, key=sizes.__getitem__)
    drawing = Drawing("state machine", tuple(walk.nodes), tuple(walk.lines), tuple(walk.clusters))
    return Shape(
        drawing,
        "states",
        _cost(machines[first], steps, machines),
        walk.runs,
        history_events=max(events.values()),
        largest_definition=(largest if len(machines) > 1 else "", sizes[largest]),
        note=_machines_note(machines, first),
    )


def _machine_scope(name: str) -> str:
    return f"{name}:" if name else ""


def _compact_size(machine: dict[str, Any]) -> int:
    """The definition's size as Step Functions receives it with no indentation."""
    return len(json.dumps(machine, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _machines_note(machines: dict[str, Any], first: str) -> str:
    if len(machines) == 1:
        return ""
    others = ", ".join(name for name in machines if name != first)
    return f"{len(machines)} state machines: {first} starts {others}"


@dataclass
class _Walk:
    steps: frozenset[str]
    status: dict[str, str]
    machines: dict[str, dict[str, Any]]
    nodes: list[Node] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)
    events: int = _EVENTS_EXECUTION

    def scope(self, machine: dict[str, Any], scope: str, cluster: str | None) -> None:
        states: dict[str, Any] = machine.get("States", {})
        for name, state in states.items():
            self.state(name, state, scope, cluster)
        for name, state in states.items():
            for target, kind in _transitions(state):
                self.lines.append(Line(_exit_id(scope, name, state), scope + target, kind))

    def state(self, name: str, state: dict[str, Any], scope: str, cluster: str | None) -> None:
        kind = state.get("Type", "?")
        step = name if name in self.steps else None
        self.events += _EVENTS_PER_STATE.get(kind, _EVENTS_OTHER_STATE)
        if step is not None:
            self.runs[step] = _runs(state)
        node_id = scope + name
        branches = _branches(state)
        box = f"{node_id}/box"
        comment = f": {state['Comment']}" if "Comment" in state else ""
        self.nodes.append(
            Node(
                id=node_id,
                label=f"{name}\n{kind}",
                step=step,
                shape=_SHAPES.get(kind, "box"),
                cluster=box if branches else cluster,
                status=self.status.get(name, "exact"),
                tooltip=f"{name} ({kind}){comment}",
            )
        )
        child = _started_machine(state, self.machines)
        if child is not None:
            start = self.machines[child].get("StartAt", "")
            self.lines.append(Line(node_id, _machine_scope(child) + start, "helper", "starts"))
        if branches:
            self.branches(node_id, name, kind, branches, box, cluster)

    def branches(
        self,
        node_id: str,
        name: str,
        kind: str,
        branches: list[dict[str, Any]],
        box: str,
        cluster: str | None,
    ) -> None:
        self.clusters.append(Cluster(box, f"{name} ({kind})", cluster))
        join = f"{node_id}/join"
        self.nodes.append(Node(id=join, label="join", shape="circle", cluster=box, tooltip=name))
        for index, branch in enumerate(branches):
            inner_scope = f"{node_id}/{index}/"
            inner_cluster = f"{box}/{index}"
            self.clusters.append(Cluster(inner_cluster, f"branch {index + 1}", box))
            self.scope(branch, inner_scope, inner_cluster)
            self.lines.append(Line(node_id, inner_scope + branch["StartAt"], "helper"))
            for end in _ends(branch):
                self.lines.append(Line(inner_scope + end, join, "helper"))


def _exit_id(scope: str, name: str, state: dict[str, Any]) -> str:
    """Where arrows out of a state start: the join of a Parallel or Map, else the state."""
    return f"{scope}{name}/join" if _branches(state) else scope + name


def _branches(state: dict[str, Any]) -> list[dict[str, Any]]:
    if state.get("Type") == "Parallel":
        return list(state.get("Branches", []))
    if state.get("Type") == "Map":
        inner = state.get("ItemProcessor") or state.get("Iterator")
        return [inner] if inner else []
    return []


def _started_machine(state: dict[str, Any], machines: dict[str, Any]) -> str | None:
    """The machine of this document that a ``states:startExecution`` Task starts, if any."""
    resource = state.get("Resource", "")
    if not (isinstance(resource, str) and ":states:startExecution" in resource):
        return None
    arn = state.get("Parameters", {}).get("StateMachineArn")
    match = _CHILD_REFERENCE.match(arn) if isinstance(arn, str) else None
    return match.group(1) if match and match.group(1) in machines else None


def _transitions(state: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for choice in state.get("Choices", []):
        if "Next" in choice:
            yield choice["Next"], "if"
    if "Default" in state:
        yield state["Default"], "else"
    if "Next" in state:
        yield state["Next"], "data"
    for catcher in state.get("Catch", []):
        if "Next" in catcher:
            yield catcher["Next"], "catch"


def _ends(machine: dict[str, Any]) -> list[str]:
    """States that end a branch normally (End, Succeed); Fail ends the whole execution."""
    return [
        name
        for name, state in machine.get("States", {}).items()
        if state.get("End") is True or state.get("Type") == "Succeed"
    ]


def _runs(state: dict[str, Any]) -> str:
    resource = state.get("Resource")
    if not isinstance(resource, str):
        return f"{state.get('Type', '?')} state (no service call)"
    return resource.removeprefix(_SERVICE_PREFIX)


def _cost(
    machine: dict[str, Any], steps: frozenset[str], machines: dict[str, dict[str, Any]]
) -> int:
    """Unit-duration makespan of a state machine: steps in sequence add up, a Parallel state
    lasts as long as its slowest branch, a Map as long as one iteration, a state that starts a
    child machine as long as the child."""
    graph = nx.DiGraph()
    weight: dict[str, int] = {}
    states: dict[str, Any] = machine.get("States", {})
    for name, state in states.items():
        graph.add_node(name)
        inner = [_cost(branch, steps, machines) for branch in _branches(state)]
        child = _started_machine(state, machines)
        if child is not None:
            inner.append(_cost(machines[child], steps, machines))
        weight[name] = (1 if name in steps else 0) + max(inner, default=0)
        for target, _ in _transitions(state):
            if target in states:
                graph.add_edge(name, target)
    return longest_chain(graph, weight)
