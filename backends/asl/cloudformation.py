"""Backend for ``asl-cloudformation``: the state machine in a deployable CloudFormation template.

The template holds the state machine (``AWS::StepFunctions::StateMachine``, STANDARD, the
definition inline as an object so that cfn-lint checks it) and the IAM role it runs as. The
role's policy is derived from the definition itself, least privilege: only the actions of the
integrations the states call, on the resources the pipeline names (job-name prefixes, the
functions, queues and property-file buckets it uses), ``iam:PassRole`` only on the role ARNs
the requests pass. Values that are only known at run time (a role ARN from a pipeline
parameter, say) become template parameters the deployer fills in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeglot.backends import _json, asl
from pipeglot.backends.asl import definition as asl_definition
from pipeglot.backends.asl import triggers as asl_triggers
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.model import Workflow
from pipeglot.provenance import PROVENANCE

EXTENSION = ".json"
# The state machine's options, but the provenance block: that is the plain machine's (the
# reader reads it from a machine's Comment, not from a template). Its step kinds.
OPTIONS = tuple(option for option in asl.OPTIONS if option is not PROVENANCE)
UNSUPPORTED = asl.UNSUPPORTED

_START_EXECUTION = "arn:aws:states:::states:startExecution"
TEMPLATE_LIMIT = 1_000_000
_ACCOUNT = "arn:${AWS::Partition}:{service}:${AWS::Region}:${AWS::AccountId}:{resource}"
_SAGEMAKER_TYPES = {
    "ProcessingJob": ("processing-job", "StepFunctionsGetEventsForSageMakerProcessingJobsRule"),
    "TrainingJob": ("training-job", "StepFunctionsGetEventsForSageMakerTrainingJobsRule"),
    "TransformJob": ("transform-job", "StepFunctionsGetEventsForSageMakerTransformJobsRule"),
    "HyperParameterTuningJob": (
        "hyper-parameter-tuning-job",
        "StepFunctionsGetEventsForSageMakerTuningJobsRule",
    ),
}
# aws-sdk / request-response SageMaker APIs: the resource type their ARNs name.
_SAGEMAKER_RESOURCE = {
    "Model": "model",
    "EndpointConfig": "endpoint-config",
    "Endpoint": "endpoint",
    "InferenceComponent": "inference-component",
    "AutoMLJob": "automl-job",
    "ModelPackage": "model-package",
    "TrainingJobsForHyperParameterTuningJob": "hyper-parameter-tuning-job",
    "Action": "action",
    "Artifact": "artifact",
    "Context": "context",
}
# Lineage entities an association may join when its ARNs are only known at run time.
_LINEAGE_TYPES = ("action", "artifact", "context", "experiment-trial-component")
# EMR Serverless integration calls: IAM actions, resource (on the application or its job runs),
# and the EventBridge rule a .sync call needs.
_EMR_SERVERLESS = {
    "startJobRun": (["StartJobRun"], "", None),
    "startJobRun.sync": (["StartJobRun"], "", "Job"),
    "getJobRun": (["GetJobRun"], "/jobruns/*", None),
    "createApplication.sync": (["CreateApplication"], None, "Application"),
    "createApplication": (["CreateApplication"], None, None),
    "startApplication.sync": (
        ["StartApplication", "GetApplication", "StopApplication"],
        "",
        "Application",
    ),
    "startApplication": (["StartApplication"], "", None),
    "stopApplication.sync": (["StopApplication", "GetApplication"], "", "Application"),
    "stopApplication": (["StopApplication"], "", None),
    "deleteApplication.sync": (["DeleteApplication", "GetApplication"], "", "Application"),
    "deleteApplication": (["DeleteApplication"], "", None),
}
_EMR_SERVERLESS_SLR = (
    "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/"
    "ops.emr-serverless.amazonaws.com/AWSServiceRoleForAmazonEMRServerless*"
)
_EMR_RULES = {
    "addStep": (
        "StepFunctionsGetEventsForEMRAddJobFlowStepsRule",
        ["AddJobFlowSteps", "DescribeStep", "CancelSteps"],
    ),
    "createCluster": (
        "StepFunctionsGetEventsForEMRRunJobFlowRule",
        ["RunJobFlow", "DescribeCluster", "TerminateJobFlows"],
    ),
    "terminateCluster": (
        "StepFunctionsGetEventsForEMRTerminateJobFlowsRule",
        ["TerminateJobFlows", "DescribeCluster"],
    ),
}
_ROLE_KEYS = ("RoleArn", "ExecutionRoleArn")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9_+=,.@/-]+")
_SAFE_NAME = re.compile(r"[A-Za-z0-9._/+=,@:-]*")  # nothing Fn::Sub would read as ${...}


def export(workflow: Workflow, *, diagnostics: Diagnostics | None = None, **options: Any) -> str:
    """A CloudFormation template (JSON) deploying the state machine of ``workflow``."""
    ledger = Diagnostics() if diagnostics is None else diagnostics
    document = template(workflow, asl_definition(workflow, ledger, **options))
    text = _json.dumps(asl_triggers.add_triggers(document, workflow, ledger))
    size = len(text.encode())
    if size > TEMPLATE_LIMIT:
        ledger.approximated(
            "asl.cloudformation.template-size",
            f"the template is {size:,} bytes; CloudFormation reads at most {TEMPLATE_LIMIT:,} "
            "(from S3). Deploy the state machines with pipeglot deploy, or split the template "
            "into nested stacks",
        )
    return text


def template(workflow: Workflow, definition: dict[str, Any]) -> dict[str, Any]:
    """The template of one state machine, or of a split pipeline's parent and children (one
    role for all of them: the parent's policy also lets it run the children)."""
    machines = definition.get("StateMachines", {"Main": definition})
    children = [key for key in machines if key != definition.get("Parent", "Main")]
    policy = _Policy()
    for document in machines.values():
        for state in _tasks(document["States"]):
            policy.add_task(state)
    if children:
        policy.allow_children(children)
    definition = machines[definition.get("Parent", "Main")]
    name = (
        re.sub(r"[^A-Za-z0-9_-]+", "-", workflow.name or "pipeline").strip("-")[:80] or "pipeline"
    )
    parameters: dict[str, Any] = {
        "StateMachineName": {
            "Type": "String",
            "Default": name,
            "Description": "Name of the Step Functions state machine.",
        }
    }
    parameters.update(policy.parameters)
    machine: dict[str, Any] = {
        "StateMachineName": {"Ref": "StateMachineName"},
        "StateMachineType": "STANDARD",
        "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
    }
    _set_definition(machine, definition)
    resources: dict[str, Any] = {}
    for key in children:
        child: dict[str, Any] = {
            "StateMachineName": {"Fn::Sub": f"${{StateMachineName}}-{key}"},
            "StateMachineType": "STANDARD",
            "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
        }
        _set_definition(child, machines[key])
        resources[_child_resource(key)] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": child,
        }
        child_keys = _substituted(machines[key], children)
        if child_keys:
            child["DefinitionSubstitutions"] = {k: {"Ref": _child_resource(k)} for k in child_keys}
    if children:
        machine["DefinitionSubstitutions"] = {
            key: {"Ref": _child_resource(key)} for key in _substituted(definition, children)
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"Step Functions state machine translated by pipeglot from the SageMaker "
        f"pipeline {workflow.name or 'pipeline'!r}, and the IAM role it runs as.",
        "Parameters": parameters,
        "Resources": {
            "StateMachineRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Description": "Runs the translated pipeline; allows what its states call.",
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "states.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                                },
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "state-machine",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": policy.statements(),
                            },
                        }
                    ],
                },
            },
            **resources,
            "StateMachine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": machine},
        },
        "Outputs": {
            "StateMachineArn": {"Value": {"Ref": "StateMachine"}},
            "StateMachineRoleArn": {"Value": {"Fn::GetAtt": ["StateMachineRole", "Arn"]}},
        },
    }


def _set_definition(machine: dict[str, Any], definition: dict[str, Any]) -> None:
    if _looks_like_intrinsic(definition):
        # CloudFormation would evaluate a pipeline value such as {"Ref": ...} inside an object
        # definition; as a string it stays data.
        machine["DefinitionString"] = _json.dumps(definition)
    else:
        machine["Definition"] = definition


def _child_resource(key: str) -> str:
    return f"StateMachine{key}"


def _substituted(definition: dict[str, Any], children: list[str]) -> list[str]:
    """The child machines whose ARN ``definition`` refers to as ``${<name>}``."""
    used = {
        state["Parameters"]["StateMachineArn"][2:-1]
        for state in _tasks(definition["States"])
        if state["Resource"].startswith(_START_EXECUTION)
    }
    return [key for key in children if key in used]


def _tasks(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in states.values():
        if state["Type"] == "Task":
            yield state
        for branch in state.get("Branches", ()):
            yield from _tasks(branch["States"])


def _looks_like_intrinsic(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            key == "Ref" or key.startswith("Fn::") or _looks_like_intrinsic(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_looks_like_intrinsic(item) for item in value)
    return False


@dataclass
class _Policy:
    """Statements grouped by (actions, condition); resources collected per group."""

    groups: dict[tuple[tuple[str, ...], str], dict[str, Any]] = field(default_factory=dict)
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    def allow(
        self,
        actions: list[str],
        resource: Any,
        passed_to: str | None = None,
        condition: dict[str, Any] | None = None,
    ) -> None:
        if passed_to is not None:
            condition = {"StringEquals": {"iam:PassedToService": passed_to}}
        condition_key = repr(condition) if condition else ""
        if condition:
            self.conditions[condition_key] = condition
        group = self.groups.setdefault((tuple(actions), condition_key), {})
        key = repr(resource)
        group.setdefault(key, resource)

    def statements(self) -> list[dict[str, Any]]:
        out = []
        for (actions, condition_key), resources in self.groups.items():
            statement: dict[str, Any] = {
                "Effect": "Allow",
                "Action": list(actions) if len(actions) > 1 else actions[0],
                "Resource": _resources(list(resources.values())),
            }
            if condition_key:
                statement["Condition"] = self.conditions[condition_key]
            out.append(statement)
        return out

    def allow_children(self, children: list[str]) -> None:
        """What ``states:startExecution.sync:2`` needs: start the child machines, follow and
        stop their executions, and the managed rule that reports their completion. (By name
        pattern: a Ref to a child would make the role and the children depend on each other.)
        The exact lowering's runner also follows its sibling executions (DescribeExecution)."""
        patterns = ["Part*"] if any(key.startswith("Part") for key in children) else []
        patterns += [key for key in children if not key.startswith("Part")]
        arns = [
            {
                "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
                f"stateMachine:${{StateMachineName}}-{pattern}"
            }
            for pattern in patterns
        ]
        self.allow(["states:StartExecution"], arns[0] if len(arns) == 1 else arns)
        self.allow(
            ["states:DescribeExecution", "states:StopExecution"],
            {
                "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
                "execution:${StateMachineName}-*"
            },
        )
        self.allow(
            ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            _sub(_ACCOUNT, "events", "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"),
        )

    def parameter(self, name: str, description: str) -> dict[str, Any]:
        self.parameters.setdefault(name, {"Type": "CommaDelimitedList", "Description": description})
        return {"Ref": name}

    # --- one Task state ---------------------------------------------------------------------

    def add_task(self, state: dict[str, Any]) -> None:
        resource: str = state["Resource"]
        parameters = state.get("Parameters", {})
        service_api = resource.removeprefix("arn:aws:states:::")
        if service_api.startswith("aws-sdk:"):
            service_api = service_api.removeprefix("aws-sdk:")
        service, _, api = service_api.partition(":")
        sync = api.endswith(".sync")
        api = api.removesuffix(".sync").removesuffix(".waitForTaskToken")
        if service == "sagemaker":
            self._sagemaker(api, parameters, sync)
        elif service == "lambda":
            self._named(
                ["lambda:InvokeFunction"],
                parameters,
                "FunctionName",
                "LambdaFunctionArns",
                "ARNs of the Lambda functions the pipeline invokes (computed at run time).",
                lambda arn: [arn, f"{arn}:*"],
            )
        elif service == "sqs":
            self._named(
                ["sqs:SendMessage"],
                parameters,
                "QueueUrl",
                "SqsQueueArns",
                "ARNs of the SQS queues the pipeline's callback steps send to.",
                lambda url: [_queue_arn(url)],
            )
        elif service == "s3":
            self._s3_read(parameters)
        elif service == "elasticmapreduce":
            self._emr(api, parameters)
        elif service in ("emr-serverless", "emrserverless"):
            self._emr_serverless(api + (".sync" if sync else ""), parameters)
        passed_to = {
            "sagemaker": "sagemaker.amazonaws.com",
            "emr-serverless": "emr-serverless.amazonaws.com",
        }.get(service)
        self._pass_roles(parameters, passed_to)

    def _sagemaker(self, api: str, parameters: dict[str, Any], sync: bool) -> None:
        verb = re.match(r"[a-z]+", api)
        noun = api[verb.end() :] if verb else api
        action = f"sagemaker:{api[0].upper()}{api[1:]}"
        if sync and noun in _SAGEMAKER_TYPES:
            kind, rule = _SAGEMAKER_TYPES[noun]
            arn = _sub(_ACCOUNT, "sagemaker", f"{kind}/{_name_prefix(parameters, noun + 'Name')}*")
            actions = [action, f"sagemaker:Describe{noun}", f"sagemaker:Stop{noun}"]
            if "Tags" in parameters:
                actions.append("sagemaker:AddTags")
            self.allow(actions, arn)
            self.allow(
                ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                _sub(_ACCOUNT, "events", f"rule/{rule}"),
            )
            return
        kind = _SAGEMAKER_RESOURCE.get(noun, "*")
        if noun == "Association":
            self._association(action, parameters)
            return
        if noun == "Artifact":  # an artifact's ARN is a hash, not its name
            self.allow(
                [action, *(["sagemaker:AddTags"] if "Tags" in parameters else [])],
                _sub(_ACCOUNT, "sagemaker", "artifact/*"),
            )
            return
        if noun == "ModelPackage":
            group = parameters.get("ModelPackageGroupName")
            if isinstance(group, str) and _SAFE_NAME.fullmatch(group):
                self.allow(
                    [action], _sub(_ACCOUNT, "sagemaker", f"model-package-group/{group.lower()}")
                )
            resource = "model-package/*"
        else:
            resource = f"{kind}/{_name_prefix(parameters, noun + 'Name')}*"
        actions = [action] + (["sagemaker:AddTags"] if "Tags" in parameters else [])
        self.allow(actions, _sub(_ACCOUNT, "sagemaker", resource))

    def _association(self, action: str, parameters: dict[str, Any]) -> None:
        for key in ("SourceArn", "DestinationArn"):
            arn = parameters.get(key)
            if isinstance(arn, str) and _SAFE_NAME.fullmatch(arn):
                self.allow([action], arn)
            else:  # read from an entity the step created, or computed
                for kind in _LINEAGE_TYPES:
                    self.allow([action], _sub(_ACCOUNT, "sagemaker", f"{kind}/*"))

    def _emr_serverless(self, api: str, parameters: dict[str, Any]) -> None:
        actions, under, rule = _EMR_SERVERLESS.get(api, ([], None, None))
        if not actions:
            return
        if under is None:  # creates an application: no application ARN yet
            resource = _sub(_ACCOUNT, "emr-serverless", "/*")
        else:
            application = parameters.get("ApplicationId")
            safe = isinstance(application, str) and _SAFE_NAME.fullmatch(application)
            target = f"/applications/{application}" if safe else "/applications/*"
            resource = _sub(_ACCOUNT, "emr-serverless", target + under)
        self.allow([f"emr-serverless:{a}" for a in actions], resource)
        if api == "startJobRun.sync":
            application = parameters.get("ApplicationId")
            safe = isinstance(application, str) and _SAFE_NAME.fullmatch(application)
            target = f"/applications/{application}" if safe else "/applications/*"
            self.allow(
                ["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"],
                _sub(_ACCOUNT, "emr-serverless", f"{target}/jobruns/*"),
            )
        if api == "createApplication.sync":
            self.allow(
                ["emr-serverless:GetApplication", "emr-serverless:DeleteApplication"],
                _sub(_ACCOUNT, "emr-serverless", "/applications/*"),
            )
        if api.startswith("createApplication"):
            self.allow(
                ["iam:CreateServiceLinkedRole"],
                {"Fn::Sub": _EMR_SERVERLESS_SLR},
                condition={
                    "StringLike": {"iam:AWSServiceName": "ops.emr-serverless.amazonaws.com"}
                },
            )
        if rule is not None:
            self.allow(
                ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                _sub(_ACCOUNT, "events", f"rule/StepFunctionsGetEventsForEMRServerless{rule}Rule"),
            )

    def _named(
        self,
        actions: list[str],
        parameters: dict[str, Any],
        key: str,
        parameter: str,
        description: str,
        arns: Any,
    ) -> None:
        value = parameters.get(key)
        if isinstance(value, str) and _SAFE_NAME.fullmatch(value):
            for arn in arns(value):
                self.allow(actions, arn)
        else:
            self.allow(actions, self.parameter(parameter, description))

    def _s3_read(self, parameters: dict[str, Any]) -> None:
        bucket = parameters.get("Bucket")
        if not isinstance(bucket, str) or not _SAFE_NAME.fullmatch(bucket):
            resource: Any = self.parameter(
                "PropertyFileObjectArns",
                "ARNs of the S3 objects holding the pipeline's property files "
                "(arn:aws:s3:::bucket/prefix*).",
            )
        else:
            key = parameters.get("Key")
            prefix = key if isinstance(key, str) else _format_prefix(parameters.get("Key.$"))
            resource = {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/{_safe(prefix)}*"}
        self.allow(["s3:GetObject"], resource)

    def _emr(self, api: str, parameters: dict[str, Any]) -> None:
        rule, actions = _EMR_RULES.get(api, (None, []))
        if not actions:
            return
        cluster = parameters.get("ClusterId")
        target = (
            f"cluster/{cluster}"
            if isinstance(cluster, str) and _SAFE_NAME.fullmatch(cluster)
            else "cluster/*"
        )
        resource = "*" if api == "createCluster" else _sub(_ACCOUNT, "elasticmapreduce", target)
        self.allow([f"elasticmapreduce:{a}" for a in actions], resource)
        self.allow(
            ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            _sub(_ACCOUNT, "events", f"rule/{rule}"),
        )
        if api == "createCluster":
            for key in ("ServiceRole", "JobFlowRole"):
                role = parameters.get(key)
                if isinstance(role, str) and _SAFE_NAME.fullmatch(role):
                    arn = (
                        role
                        if role.startswith("arn:")
                        else f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{role}"
                    )
                    self.allow(["iam:PassRole"], {"Fn::Sub": arn}, "elasticmapreduce.amazonaws.com")

    def _pass_roles(self, parameters: Any, service: str | None) -> None:
        for key, value in _walk(parameters):
            base = key.removesuffix(".$")
            if base not in _ROLE_KEYS:
                continue
            target = service or "sagemaker.amazonaws.com"
            if key.endswith(".$") or not isinstance(value, str) or not _ROLE_ARN.fullmatch(value):
                # Computed at run time, or a placeholder the pipeline's author substitutes.
                self.allow(
                    ["iam:PassRole"],
                    self.parameter(
                        "PassedRoleArns",
                        "ARNs of the IAM roles the pipeline's jobs run as (computed at run time).",
                    ),
                    target,
                )
            else:
                self.allow(["iam:PassRole"], value, target)


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _resources(resources: list[Any]) -> Any:
    """One resource, a list, or a parameter's list merged in (CloudFormation lists of lists are
    not allowed, so a list parameter is expanded with Fn::Split/Fn::Join)."""
    refs = [r for r in resources if isinstance(r, dict) and "Ref" in r]
    plain = [r for r in resources if not (isinstance(r, dict) and "Ref" in r)]
    if refs and not plain and len(refs) == 1:
        return refs[0]
    if refs:
        joined = [{"Fn::Join": [",", ref]} for ref in refs]
        return {"Fn::Split": [",", {"Fn::Join": [",", [*plain, *joined]]}]}
    return plain[0] if len(plain) == 1 else plain


def _sub(pattern: str, service: str, resource: str) -> dict[str, str]:
    return {"Fn::Sub": pattern.replace("{service}", service).replace("{resource}", resource)}


def _name_prefix(parameters: dict[str, Any], key: str) -> str:
    """The literal start of a generated or given resource name (lower case, as in ARNs)."""
    value = parameters.get(key)
    if isinstance(value, str):
        return _safe(value.lower())
    return _safe(_format_prefix(parameters.get(f"{key}.$")).lower())


def _format_prefix(expression: Any) -> str:
    """The literal text before the first placeholder of a States.Format call."""
    if not isinstance(expression, str) or not expression.startswith("States.Format('"):
        return ""
    text = expression[len("States.Format('") :]
    match = re.match(r"((?:\\.|[^\\'{])*)", text)
    return re.sub(r"\\(.)", r"\1", match.group(1)) if match else ""


def _safe(prefix: str) -> str:
    """Keep a prefix only while it is plain text (never ${...} that Fn::Sub would expand)."""
    match = re.match(r"[A-Za-z0-9._/=,@+-]*", prefix)
    return match.group() if match else ""


def _queue_arn(url: str) -> dict[str, str] | str:
    match = re.fullmatch(
        r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(\d{12})/([A-Za-z0-9_.-]+)", url
    )
    if match is None:
        return {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:*"}
    region, account, queue = match.groups()
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:{region}:{account}:{queue}"}
