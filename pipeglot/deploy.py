"""``pipeglot deploy``: create or update the translation where it runs.

    pipeglot deploy INPUT --to stepfunctions|sagemaker --name NAME --role-arn ARN [--dry-run]
                    [--dag-lowering series-parallel|exact]

Deploying is an upsert: look the target up (read-only calls), then create it, update it, or
leave it alone when its definition and role already match, so running the same deploy twice
changes nothing the second time. ``--dry-run`` makes the same read-only calls and prints the
write requests as JSON instead of sending them.

A translation into several state machines (a split pipeline, or ``dag_lowering="exact"`` with
its runner) is deployed machine by machine in the document's order, each machine it starts
first, so that its ARN can be filled in where the parent says ``${<key>}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeglot import aws
from pipeglot.api import dump
from pipeglot.diagnostics import Diagnostics, UnsupportedLevel
from pipeglot.errors import UsageError
from pipeglot.formats import WRITERS
from pipeglot.ir.model import Workflow

# CreatePipeline and CreateStateMachine both cap an inline definition at 1 MB.
MAX_DEFINITION_BYTES = 1024 * 1024
_START_EXECUTION = "arn:aws:states:::states:startExecution"


@dataclass(frozen=True, slots=True)
class Target:
    """A service pipeglot deploys to: its writer, its boto3 client, and what it calls things."""

    service: str  # boto3 client name
    writer: str  # pipeglot output format
    noun: str  # for messages


TARGETS: dict[str, Target] = {
    "sagemaker": Target("sagemaker", "sagemaker", "SageMaker pipeline"),
    "stepfunctions": Target("stepfunctions", "asl", "Step Functions state machine"),
}


@dataclass(frozen=True, slots=True)
class Request:
    """One write call: what ``--dry-run`` prints and what a deploy sends."""

    service: str
    operation: str  # the API's name, as in the AWS documentation
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_json(self, decoded: bool = False) -> dict[str, Any]:
        """The request as a JSON object; ``decoded`` shows the definition string as JSON."""
        parameters = dict(self.parameters)
        if decoded:
            for key in ("PipelineDefinition", "definition"):
                if key in parameters:
                    parameters[key] = json.loads(parameters[key])
        return {"Service": self.service, "Operation": self.operation, **parameters}


@dataclass(frozen=True, slots=True)
class Existing:
    """What the target holds now."""

    arn: str
    definition: str
    role_arn: str | None


def deploy(
    workflow: Workflow,
    *,
    to: str,
    name: str,
    role_arn: str,
    region: str | None = None,
    dry_run: bool = False,
    unsupported: UnsupportedLevel | str = UnsupportedLevel.ERROR,
    diagnostics: Diagnostics | None = None,
    say: Callable[[str], None] = print,
    **options: Any,
) -> list[Request]:
    """Translate ``workflow`` for ``to`` and create or update it as ``name``.

    ``options`` are the target writer's options, as for ``pipeglot.dump`` (for example
    ``dag_lowering="exact"`` for ``to="stepfunctions"``). Returns the write requests that were
    sent (or, with ``dry_run``, would be); ``say`` gets one line per thing done.

    Raises:
        UsageError: ``to`` is unknown or its writer is missing; an option the writer does not
            take; the definition is too large.
        AwsError: an AWS call failed (access denied, throttled, no credentials...).
        UnsupportedError: the workflow cannot be expressed for ``to`` (see ``unsupported``).
    """
    target = _target(to)
    text = dump(
        workflow,
        write=target.writer,
        unsupported=unsupported,
        diagnostics=diagnostics,
        **options,
    )
    document = json.loads(text)
    client = aws.client(target.service, region)
    if to == "stepfunctions" and "StateMachines" in document:
        return _deploy_split(client, document, name, role_arn, dry_run, say)
    return _deploy_one(client, target, to, name, document, role_arn, dry_run, say)[0]


def _deploy_split(
    client: Any,
    document: dict[str, Any],
    name: str,
    role_arn: str,
    dry_run: bool,
    say: Callable[[str], None],
) -> list[Request]:
    """Several machines (see the asl writer: a split pipeline's children, or the exact
    lowering's runner): each child machine as NAME-<its key>, in the document's order (a child
    before the machines that start it), then the parent as NAME, each with the ARNs of the
    children it starts filled in."""
    target = TARGETS["stepfunctions"]
    arns: dict[str, str] = {}
    requests: list[Request] = []
    for key, machine in document["StateMachines"].items():
        filled = _with_child_arns(machine, arns)
        machine_name = name if key == document["Parent"] else f"{name}-{key}"
        sent, arn = _deploy_one(
            client, target, "stepfunctions", machine_name, filled, role_arn, dry_run, say
        )
        requests += sent
        arns[key] = arn or f"${{{key}}}"  # a dry run has no ARN for a machine it would create
    return requests


def _with_child_arns(machine: dict[str, Any], arns: dict[str, str]) -> dict[str, Any]:
    """``machine`` with each ``"StateMachineArn": "${<key>}"`` of a child-starting Task set."""

    def fill(states: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for state_name, state in states.items():
            state = dict(state)
            parameters = state.get("Parameters")
            if state.get("Resource", "").startswith(_START_EXECUTION) and parameters:
                key = str(parameters.get("StateMachineArn", ""))[2:-1]
                state["Parameters"] = {**parameters, "StateMachineArn": arns.get(key, key)}
            if "Branches" in state:
                state["Branches"] = [
                    {**branch, "States": fill(branch["States"])} for branch in state["Branches"]
                ]
            out[state_name] = state
        return out

    return {**machine, "States": fill(machine["States"])}


def _deploy_one(
    client: Any,
    target: Target,
    to: str,
    name: str,
    document: dict[str, Any],
    role_arn: str,
    dry_run: bool,
    say: Callable[[str], None],
) -> tuple[list[Request], str | None]:
    """Create or update one pipeline or state machine; the requests, and its ARN."""
    # Sent compact: the services store the string as given, and the limit counts its bytes.
    definition = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    size = len(definition.encode("utf-8"))
    if size > MAX_DEFINITION_BYTES:
        raise UsageError(
            f"the {target.writer} definition is {size:,} bytes, over the 1 MB that "
            f"{target.noun}s accept inline; split the workflow"
        )
    existing = _find(client, to, name)
    requests = _plan(to, name, definition, role_arn, existing)
    if existing is not None and not requests:
        say(f"{target.noun} {name!r} is up to date ({existing.arn}); nothing to do")
        return [], existing.arn
    if dry_run:
        verb = "create" if existing is None else "update"
        say(
            f"dry run: would {verb} {target.noun} {name!r} with these requests "
            "(the definition is sent as a JSON string; it is shown decoded):"
        )
        say(json.dumps([r.to_json(decoded=True) for r in requests], indent=2, ensure_ascii=False))
        return requests, existing.arn if existing else None
    arn = existing.arn if existing else ""
    for request in requests:
        arn = _send(client, request) or arn
        verb = "created" if existing is None else "updated"
        say(f"{verb} {target.noun} {name!r} ({arn})")
    return requests, arn


def _target(to: str) -> Target:
    if to not in TARGETS:
        raise UsageError(f"cannot deploy to {to!r}; the targets are {', '.join(TARGETS)}")
    target = TARGETS[to]
    if target.writer not in WRITERS:
        raise UsageError(
            f"deploying to {to} needs the {target.writer!r} output format, which this "
            f"pipeglot does not have (it has {', '.join(WRITERS)})"
        )
    return target


# --- what is there now -------------------------------------------------------------------------


def _find(client: Any, to: str, name: str) -> Existing | None:
    if to == "sagemaker":
        return _find_pipeline(client, name)
    return _find_state_machine(client, name)


def _find_pipeline(client: Any, name: str) -> Existing | None:
    from botocore.exceptions import ClientError

    with aws.translated_errors(f"looking up SageMaker pipeline {name!r}"):
        try:
            response = client.describe_pipeline(PipelineName=name)
        except ClientError as error:
            if aws.is_not_found(error):
                return None
            raise
    return Existing(
        arn=response["PipelineArn"],
        definition=response.get("PipelineDefinition", ""),
        role_arn=response.get("RoleArn"),
    )


def _find_state_machine(client: Any, name: str) -> Existing | None:
    with aws.translated_errors(f"looking up Step Functions state machine {name!r}"):
        for page in client.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                if machine["name"] == name:
                    response = client.describe_state_machine(
                        stateMachineArn=machine["stateMachineArn"]
                    )
                    return Existing(
                        arn=response["stateMachineArn"],
                        definition=response.get("definition", ""),
                        role_arn=response.get("roleArn"),
                    )
    return None


# --- what to send --------------------------------------------------------------------------------


def _plan(
    to: str, name: str, definition: str, role_arn: str, existing: Existing | None
) -> list[Request]:
    if existing is not None and _same(existing, definition, role_arn):
        return []
    if to == "sagemaker":
        if existing is None:
            token = hashlib.sha256(f"{name}\n{role_arn}\n{definition}".encode()).hexdigest()
            return [
                Request(
                    "sagemaker",
                    "CreatePipeline",
                    {
                        "PipelineName": name,
                        "PipelineDefinition": definition,
                        "RoleArn": role_arn,
                        "ClientRequestToken": token,  # a retried create is not a second one
                    },
                )
            ]
        return [
            Request(
                "sagemaker",
                "UpdatePipeline",
                {"PipelineName": name, "PipelineDefinition": definition, "RoleArn": role_arn},
            )
        ]
    if existing is None:
        return [
            Request(
                "stepfunctions",
                "CreateStateMachine",
                {"name": name, "definition": definition, "roleArn": role_arn, "type": "STANDARD"},
            )
        ]
    return [
        Request(
            "stepfunctions",
            "UpdateStateMachine",
            {"stateMachineArn": existing.arn, "definition": definition, "roleArn": role_arn},
        )
    ]


def _same(existing: Existing, definition: str, role_arn: str) -> bool:
    """Equal as JSON (the service may reformat what it stores) and run by the same role."""
    try:
        stored = json.loads(existing.definition)
    except ValueError:
        return False
    return stored == json.loads(definition) and existing.role_arn == role_arn


def _send(client: Any, request: Request) -> str | None:
    """Make the call; the ARN it answers with, when it answers with one."""
    method = getattr(client, _snake_case(request.operation))
    with aws.translated_errors(f"{request.operation} for {request.service}"):
        response = method(**request.parameters)
    return response.get("PipelineArn") or response.get("stateMachineArn")


def _snake_case(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
