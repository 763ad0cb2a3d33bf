"""Lineage steps: one SageMaker create call per entity, then one AddAssociation per association.

SageMaker Pipelines' Lineage step creates every Action, Artifact and Context its Arguments list,
then adds the associations, whose ends are either ARNs or ``{Name, Type}`` references to
entities the same step creates. Here each entity is an ``aws-sdk:sagemaker:create<Kind>`` Task
and each association an ``aws-sdk:sagemaker:addAssociation`` Task; a ``{Name, Type}`` end is
resolved, before the run, to the entity of that type whose name is the same pipeline value, and
reads the ARN its create call returned.

The step's key in the execution document holds one slot per entity and association, in request
order: ``{"Action1": {"Arn"}, "Artifact1": {"Arn"}, "Context1": {"Arn"},
"Association1": {"SourceArn", "DestinationArn"}}``. The properties ``ActionArns['n']``,
``ArtifactArns['n']``, ``ContextArns['n']`` and ``Associations`` read those slots.

Get-or-create: SageMaker documents that lineage tracking reuses an existing entity rather than
creating a second one. Action and Context names are unique per account and Region, so when a
create call fails, the entity of that name is read with DescribeAction/DescribeContext and
reused; only if that read fails too does the step fail, with the create call's error. Artifacts
have no unique name (their ARN is a hash), so each is created anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeglot.backends.asl import intrinsics as fn
from pipeglot.backends.asl import retry
from pipeglot.backends.asl.build import CONTINUE, SDK_ARN, Build, State, add_retry, task
from pipeglot.backends.asl.intrinsics import NotExpressible, Ref
from pipeglot.backends.asl.names import SCRATCH_KEY
from pipeglot.ir.expressions import Attribute, Index, Key, PathPart, SelectByName
from pipeglot.ir.model import MISSING, Step

if TYPE_CHECKING:
    from pipeglot.backends.asl.values import Values


@dataclass(frozen=True, slots=True)
class _Kind:
    arguments_key: str  # where the step's Arguments list them
    type_name: str  # the Type of a {Name, Type} reference
    name_field: str
    create: str  # the SageMaker API
    arn_field: str  # what the create (and describe) call returns
    describe: str | None  # the read by name, for get-or-create


KINDS = (
    _Kind("Actions", "Action", "ActionName", "createAction", "ActionArn", "describeAction"),
    _Kind("Artifacts", "Artifact", "ArtifactName", "createArtifact", "ArtifactArn", None),
    _Kind("Contexts", "Context", "ContextName", "createContext", "ContextArn", "describeContext"),
)
PROPERTY_MAPS = {"ActionArns": "Action", "ArtifactArns": "Artifact", "ContextArns": "Context"}
ASSOCIATIONS = "Associations"
# Errors a SageMaker aws-sdk call raises for a request SageMaker rejects (a name in use
# included); Step Functions names errors it has no specific class for after the base class.
_CREATE_ERRORS = [
    "SageMaker.SageMakerException",
    "SageMaker.AmazonSageMakerException",
    "SageMaker.ValidationException",
    "SageMaker.ResourceInUseException",
    "SageMaker.ConflictException",
]


@dataclass(frozen=True, slots=True)
class Entity:
    kind: _Kind
    slot: str  # its slot under the step's key: Action1, Artifact2...
    name: Any  # the pipeline value of its name field (MISSING when absent)
    request: dict[str, Any]


def entities(step: Step) -> list[Entity]:
    arguments = step.arguments if isinstance(step.arguments, dict) else {}
    found = []
    for kind in KINDS:
        requests = arguments.get(kind.arguments_key)
        for number, request in enumerate(requests if isinstance(requests, list) else [], 1):
            request = request if isinstance(request, dict) else {}
            name = request.get(kind.name_field, MISSING)
            found.append(Entity(kind, f"{kind.type_name}{number}", name, request))
    return found


def associations(step: Step) -> list[dict[str, Any]]:
    arguments = step.arguments if isinstance(step.arguments, dict) else {}
    listed = arguments.get(ASSOCIATIONS)
    return [a if isinstance(a, dict) else {} for a in listed] if isinstance(listed, list) else []


def find(created: list[Entity], type_name: Any, name: Any) -> Entity | None:
    """The entity of ``type_name`` whose name is the same pipeline value as ``name``."""
    matches = [e for e in created if e.kind.type_name == type_name and e.name == name]
    return matches[0] if matches else None


# --- the states ------------------------------------------------------------------------------


def build_lineage(build: Build) -> None:
    step = build.step
    created = entities(step)
    links = associations(step)
    _report_unknown_keys(build)
    if not created and not links:
        build.out.add(
            build.name,
            {"Type": "Pass", **build.comment(), "Result": {}, "ResultPath": f"$.{build.key}"},
        )
        return
    main: list[tuple[str, State]] = []
    fallbacks: list[tuple[int, str, State]] = []  # (index of the create call, name, state)
    failed_name = build.names.helper("LineageFailed", step.name)
    for entity in created:
        kind = entity.kind
        name = build.name if not main else build.names.helper(f"Create{kind.type_name}", step.name)
        state = task(build, f"{SDK_ARN}sagemaker:{kind.create}", build.template(entity.request))
        _result(build, state, entity.slot, {"Arn.$": f"$.{kind.arn_field}"}, first=not main)
        add_retry(build, state, retry.SAGEMAKER)
        if kind.describe is not None and entity.name is not MISSING:
            describe_name = build.names.helper(f"Reuse{kind.type_name}", step.name)
            state["Catch"] = [
                {
                    "ErrorEquals": list(_CREATE_ERRORS),
                    "ResultPath": f"$.{SCRATCH_KEY}.Error",
                    "Next": describe_name,
                }
            ]
            fallbacks.append((len(main), describe_name, _describe(build, entity, not main)))
        main.append((name, state))
    for number, link in enumerate(links, 1):
        name = build.name if not main else build.names.helper("AddAssociation", step.name)
        state = task(build, f"{SDK_ARN}sagemaker:addAssociation", _association(build, link))
        selected = {"SourceArn.$": "$.SourceArn", "DestinationArn.$": "$.DestinationArn"}
        _result(build, state, f"Association{number}", selected, first=not main)
        add_retry(build, state, retry.SAGEMAKER)
        main.append((name, state))
    # Explicit transitions: a create call and its fallback both go on to the next call.
    for index, (_, state) in enumerate(main):
        state["Next"] = main[index + 1][0] if index + 1 < len(main) else CONTINUE
    for name, state in main:
        build.out.add(name, state)
    for index, name, state in fallbacks:
        state["Next"] = main[index][1]["Next"]
        state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": failed_name}]
        build.out.add(name, state)
    if fallbacks:
        build.out.add(
            failed_name,
            {
                "Type": "Fail",
                "Error": "SageMaker.LineageEntityFailed",
                "CausePath": f"$.{SCRATCH_KEY}.Error.Cause",
            },
        )
        build.diagnostics.approximated(
            "asl.lineage.get-or-create",
            "when creating an Action or Context fails, the one of that name is read with "
            "DescribeAction/DescribeContext and reused (SageMaker documents that lineage "
            "tracking reuses existing entities; the Lineage step's own rule is not documented); "
            "Artifacts are always created anew, and adding an association that exists fails",
            step.name,
        )


def _result(build: Build, state: State, slot: str, selected: dict[str, str], first: bool) -> None:
    """Store the call's result in ``slot`` under the step's key; the first call creates the key."""
    if first:
        state["ResultSelector"] = {slot: selected}
        state["ResultPath"] = f"$.{build.key}"
    else:
        state["ResultSelector"] = selected
        state["ResultPath"] = f"$.{build.key}.{slot}"


def _describe(build: Build, entity: Entity, first: bool) -> State:
    kind = entity.kind
    parameters: dict[str, Any] = {}
    build.put(parameters, kind.name_field, entity.name)
    state = task(build, f"{SDK_ARN}sagemaker:{kind.describe}", parameters)
    state["Comment"] = f"Reuse the {kind.type_name} of that name, as SageMaker lineage does."
    _result(build, state, entity.slot, {"Arn.$": f"$.{kind.arn_field}"}, first)
    add_retry(build, state, retry.SAGEMAKER)
    return state


def _association(build: Build, link: dict[str, Any]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    created = entities(build.step)
    for role, field in (("Source", "SourceArn"), ("Destination", "DestinationArn")):
        end = link.get(role)
        end = end if isinstance(end, dict) else {}
        if "Arn" in end:
            build.put(parameters, field, end["Arn"])
            continue
        entity = find(created, end.get("Type"), end.get("Name", MISSING))
        if entity is None:
            build.diagnostics.unsupported(
                "asl.lineage.association",
                f"the association's {role} {_describe_end(end)} names no entity this step "
                "creates with the same name value, so its ARN is unknown; give the entity's "
                "ARN instead",
                build.step.name,
            )
            continue
        parameters[f"{field}.$"] = fn.path("$", build.key, entity.slot, "Arn").text
    if "AssociationType" in link:
        build.put(parameters, "AssociationType", link["AssociationType"])
    return parameters


def _describe_end(end: dict[str, Any]) -> str:
    name = end.get("Name", MISSING)
    shown = repr(name) if isinstance(name, str) else "(a computed name)"
    return f"{end.get('Type')!r} {shown}" if name is not MISSING else "(neither Arn nor Name)"


def _report_unknown_keys(build: Build) -> None:
    known = {kind.arguments_key for kind in KINDS} | {ASSOCIATIONS}
    for key in build.arguments:
        if key not in known:
            build.diagnostics.dropped(
                "asl.lineage.unknown-key",
                f"the Lineage argument {key!r} has no SageMaker lineage call; it is not sent",
                build.step.name,
            )
    for link in associations(build.step):
        for key in link:
            if key not in ("Source", "Destination", "AssociationType"):
                build.diagnostics.dropped(
                    "asl.lineage.unknown-key",
                    f"AddAssociation takes no {key!r}; it is not sent",
                    build.step.name,
                )


# --- the step's properties -------------------------------------------------------------------


def property_ref(values: Values, producer: Step, path: tuple[PathPart, ...]) -> Ref:
    """Where ``Steps.<producer>.<path>`` of a Lineage step is, in the execution document."""
    key = values.keys[producer.name]
    head = path[0].name if isinstance(path[0], Attribute) else ""
    if (
        head in PROPERTY_MAPS
        and len(path) == 2
        and isinstance(path[1], Key | SelectByName | Attribute)
    ):
        wanted = path[1].name if isinstance(path[1], Attribute) else path[1].key
        entity = find(entities(producer), PROPERTY_MAPS[head], wanted)
        if entity is None:
            raise NotExpressible(
                f"{head}[{wanted!r}] of {producer.name!r}: the step creates no "
                f"{PROPERTY_MAPS[head]} whose name is the literal {wanted!r}"
            )
        return fn.path("$", key, entity.slot, "Arn")
    if head == ASSOCIATIONS:
        count = len(associations(producer))
        if len(path) == 1:
            return fn.call(
                "Array", *(fn.path("$", key, f"Association{i}") for i in range(1, count + 1))
            )
        if isinstance(path[1], Index) and 0 <= path[1].position < count:
            ref = fn.path("$", key, f"Association{path[1].position + 1}")
            for part in path[2:]:
                if not isinstance(part, Attribute):
                    raise NotExpressible(f"an association has no item {part!r}")
                ref = fn.extend(ref, fn.member_suffix(part.name))
            return ref
    raise NotExpressible(
        f"Lineage steps have the properties ActionArns['name'], ArtifactArns['name'], "
        f"ContextArns['name'] and Associations; {producer.name!r} has no {head!r} of that form"
    )
