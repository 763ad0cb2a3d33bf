"""EMRServerless steps: Step Functions' optimized EMR Serverless integration.

The step's ``JobConfig`` is EMR Serverless' own StartJobRun request, in its camelCase member
names; Step Functions takes the same request with PascalCase member names. Only *member* names
change: map keys chosen by the user (Spark properties, tags, log types...) stay byte for byte,
so the request is rewritten along the shapes of the EMR Serverless API (``_SHAPES``, from the
botocore model of emr-serverless 2021-07-13).

With an ``ApplicationId`` the job runs there (``startJobRun.sync``). With an
``ApplicationConfig`` the step creates its own application first (``createApplication.sync``,
then ``startApplication.sync`` only if the configuration turns auto-start off), and stops and
deletes it after the job, also when the job fails.

The step's properties are EMR Serverless' GetJobRun response (``Steps.X.jobRun.state``...):
when a later state reads them, an ``aws-sdk:emrserverless:getJobRun`` call after the job keeps
``JobRun`` under the step's key, and the property path is rewritten to PascalCase the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeglot.backends.asl import intrinsics as fn
from pipeglot.backends.asl import retry
from pipeglot.backends.asl.build import CONTINUE, SDK_ARN, Build, State, add_retry, store, task
from pipeglot.backends.asl.intrinsics import NotExpressible, Ref
from pipeglot.backends.asl.names import SCRATCH_KEY
from pipeglot.ir.expressions import Attribute, Index, Key, PathPart
from pipeglot.ir.model import MISSING, Step

if TYPE_CHECKING:
    from pipeglot.backends.asl.values import Values

INTEGRATION_ARN = "arn:aws:states:::emr-serverless:"
RESULT_FIELD = "jobRun"  # the one top-level member of GetJobRun's response


@dataclass(frozen=True, slots=True)
class _Map:
    """A map: user keys, values of shape ``value``."""

    value: Any = None


_STRINGS = _Map()
# A shape is None (a scalar, or a list of scalars), a dict (a structure: member -> shape), a
# one-item list (a list of that shape), a _Map, or the name of a shape below.
_SHAPES: dict[str, Any] = {
    "StartJobRun": {
        "applicationId": None,
        "clientToken": None,
        "executionRoleArn": None,
        "executionIamPolicy": {"policy": None, "policyArns": None},
        "jobDriver": "JobDriver",
        "configurationOverrides": "ConfigurationOverrides",
        "tags": _STRINGS,
        "executionTimeoutMinutes": None,
        "name": None,
        "mode": None,
        "retryPolicy": {"maxAttempts": None, "maxFailedAttemptsPerHour": None},
        "flexExecution": {"enabled": None},
    },
    "JobDriver": {
        "sparkSubmit": {
            "entryPoint": None,
            "entryPointArguments": None,
            "sparkSubmitParameters": None,
        },
        "hive": {"query": None, "initQueryFile": None, "parameters": None},
    },
    "ConfigurationOverrides": {
        "applicationConfiguration": ["Configuration"],
        "monitoringConfiguration": "MonitoringConfiguration",
        "diskEncryptionConfiguration": "DiskEncryption",
    },
    "Configuration": {
        "classification": None,
        "properties": _STRINGS,
        "configurations": ["Configuration"],
    },
    "MonitoringConfiguration": {
        "s3MonitoringConfiguration": {"logUri": None, "encryptionKeyArn": None},
        "managedPersistenceMonitoringConfiguration": {"enabled": None, "encryptionKeyArn": None},
        "cloudWatchLoggingConfiguration": {
            "enabled": None,
            "logGroupName": None,
            "logStreamNamePrefix": None,
            "encryptionKeyArn": None,
            "logTypes": _STRINGS,
        },
        "prometheusMonitoringConfiguration": {"remoteWriteUrl": None},
    },
    "DiskEncryption": {"encryptionContext": _STRINGS, "encryptionKeyArn": None},
    "ImageConfiguration": {
        "imageUri": None,
        "resolvedImageDigest": None,
        "applicationLevelDigestResolution": None,
    },
    "CreateApplication": {
        "name": None,
        "releaseLabel": None,
        "type": None,
        "clientToken": None,
        "initialCapacity": _Map(
            {
                "workerCount": None,
                "workerConfiguration": {
                    "cpu": None,
                    "memory": None,
                    "disk": None,
                    "diskType": None,
                },
            }
        ),
        "maximumCapacity": {"cpu": None, "memory": None, "disk": None},
        "tags": _STRINGS,
        "autoStartConfiguration": {"enabled": None},
        "autoStopConfiguration": {"enabled": None, "idleTimeoutMinutes": None},
        "networkConfiguration": {"subnetIds": None, "securityGroupIds": None},
        "architecture": None,
        "imageConfiguration": "ImageConfiguration",
        "workerTypeSpecifications": _Map({"imageConfiguration": "ImageConfiguration"}),
        "runtimeConfiguration": ["Configuration"],
        "monitoringConfiguration": "MonitoringConfiguration",
        "diskEncryptionConfiguration": "DiskEncryption",
        "interactiveConfiguration": {
            "studioEnabled": None,
            "livyEndpointEnabled": None,
            "sessionEnabled": None,
        },
        "schedulerConfiguration": {"queueTimeoutMinutes": None, "maxConcurrentRuns": None},
        "identityCenterConfiguration": {
            "identityCenterInstanceArn": None,
            "userBackgroundSessionsEnabled": None,
        },
        "jobLevelCostAllocationConfiguration": {"enabled": None},
    },
    # GetJobRun's JobRun: only the members that hold maps matter for rewriting a path.
    "JobRun": {
        "jobDriver": "JobDriver",
        "configurationOverrides": "ConfigurationOverrides",
        "tags": _STRINGS,
        "imageConfiguration": "ImageConfiguration",
        "workerTypeSpecifications": _Map({"imageConfiguration": "ImageConfiguration"}),
    },
}


def _shape(shape: Any) -> Any:
    return _SHAPES[shape] if isinstance(shape, str) else shape


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def pascal_case(value: Any, shape: Any, unknown: list[str], where: str = "") -> Any:
    """``value`` (an EMR Serverless request of ``shape``) with PascalCase member names; the
    members ``shape`` does not list are appended to ``unknown`` (and renamed all the same)."""
    shape = _shape(shape)
    if isinstance(shape, dict) and type(value) is dict:
        out = {}
        for name, item in value.items():
            if name in shape:
                out[_pascal(name)] = pascal_case(item, shape[name], unknown, f"{where}.{name}")
            else:
                unknown.append(f"{where}.{name}".lstrip("."))
                out[_pascal(name)] = item
        return out
    if isinstance(shape, list) and type(value) is list:
        return [
            pascal_case(item, shape[0], unknown, f"{where}[{i}]") for i, item in enumerate(value)
        ]
    if isinstance(shape, _Map) and type(value) is dict:
        return {
            key: pascal_case(item, shape.value, unknown, f"{where}.{key}")
            for key, item in value.items()
        }
    return value


# --- the states ------------------------------------------------------------------------------


def build_emr_serverless(build: Build) -> None:
    arguments = build.arguments
    step = build.step.name
    job_config = arguments.get("JobConfig")
    job_config = job_config if isinstance(job_config, dict) else {}
    unknown: list[str] = []
    request = pascal_case(job_config, "StartJobRun", unknown)
    app_config = arguments.get("ApplicationConfig")
    parameters: dict[str, Any] = {}
    owns_application = isinstance(app_config, dict) and "ApplicationId" not in arguments
    started: list[State] = []
    if owns_application:
        started = _create_application(build, app_config)
        parameters["ApplicationId.$"] = f"$.{SCRATCH_KEY}.{build.key}.ApplicationId"
    else:
        application = arguments.get("ApplicationId", job_config.get("applicationId", MISSING))
        if application is MISSING:
            build.diagnostics.unsupported(
                "asl.emr-serverless.application",
                "the step names neither an ApplicationId nor an ApplicationConfig to run on",
                step,
            )
        else:
            build.put(parameters, "ApplicationId", application)
    request.pop("ApplicationId", None)
    if "ExecutionRoleArn" not in request and "ExecutionRoleArn" in arguments:
        request["ExecutionRoleArn"] = arguments["ExecutionRoleArn"]
    parameters.update(build.template(request))
    for path in unknown:
        build.diagnostics.approximated(
            "asl.emr-serverless.unknown-field",
            f"JobConfig.{path} is not a StartJobRun member this translation knows: it is "
            "sent with its first letter in upper case, and any map inside it is sent as is",
            step,
        )
    job = build.out.add(build.name, task(build, f"{INTEGRATION_ARN}startJobRun.sync", parameters))
    add_retry(build, job, retry.EMR_SERVERLESS)
    last = job
    if RESULT_FIELD in build.kept:
        # startJobRun.sync returns StartJobRun's response; the job run's details need a read.
        job["ResultSelector"] = {"ApplicationId.$": "$.ApplicationId", "JobRunId.$": "$.JobRunId"}
        job["ResultPath"] = f"$.{build.key}"
        read = task(
            build,
            f"{SDK_ARN}emrserverless:getJobRun",
            {
                "ApplicationId.$": f"$.{build.key}.ApplicationId",
                "JobRunId.$": f"$.{build.key}.JobRunId",
            },
        )
        add_retry(build, read, retry.EMR_SERVERLESS)
        build.out.add(build.names.helper("GetJobRun", step), read)
        store(build, read, lambda _: {"JobRun.$": "$.JobRun"})
        last = read
    else:
        store(build, job, lambda _: {})
    if owns_application:
        _delete_application(build, started, [job, last] if last is not job else [job])


def _create_application(build: Build, config: dict[str, Any]) -> list[State]:
    """The states that create (and, without auto-start, start) the step's application; returns
    those that run once it exists."""
    unknown: list[str] = []
    request = pascal_case(config, "CreateApplication", unknown)
    for path in unknown:
        build.diagnostics.approximated(
            "asl.emr-serverless.unknown-field",
            f"ApplicationConfig.{path} is not a CreateApplication member this translation "
            "knows: it is sent with its first letter in upper case",
            build.step.name,
        )
    create = task(build, f"{INTEGRATION_ARN}createApplication.sync", build.template(request))
    create["ResultSelector"] = {"ApplicationId.$": "$.ApplicationId"}
    create["ResultPath"] = f"$.{SCRATCH_KEY}.{build.key}"
    add_retry(build, create, retry.EMR_SERVERLESS)
    build.out.add(build.names.helper("CreateApplication", build.step.name), create)
    started: list[State] = []
    auto_start = config.get("autoStartConfiguration")
    if isinstance(auto_start, dict) and auto_start.get("enabled") is False:
        start = task(build, f"{INTEGRATION_ARN}startApplication.sync", _application(build))
        start["ResultPath"] = None
        add_retry(build, start, retry.EMR_SERVERLESS)
        build.out.add(build.names.helper("StartApplication", build.step.name), start)
        started.append(start)
    build.diagnostics.approximated(
        "asl.emr-serverless.application",
        "the step's application is created with createApplication.sync before the job, and "
        "stopped and deleted after it (also when the job fails)",
        build.step.name,
    )
    return started


def _application(build: Build) -> dict[str, str]:
    return {"ApplicationId.$": f"$.{SCRATCH_KEY}.{build.key}.ApplicationId"}


def _delete_application(build: Build, started: list[State], guarded: list[State]) -> None:
    """Stop and delete the step's application after the job; on failure too, then fail."""
    step = build.step.name
    names = build.names
    stop, delete = names.helper("StopApplication", step), names.helper("DeleteApplication", step)
    stop_failed = names.helper("StopApplicationAfterFailure", step)
    delete_failed = names.helper("DeleteApplicationAfterFailure", step)
    failed = names.helper("Failed", step)
    error = f"$.{SCRATCH_KEY}.Error"
    for state in started + guarded:
        state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": error, "Next": stop_failed}]
    cleanup_error = f"$.{SCRATCH_KEY}.CleanupError"

    def call(api: str, after: str, on_error: str | None = None) -> State:
        state = task(build, f"{INTEGRATION_ARN}{api}", _application(build))
        state.pop("Comment", None)
        state["ResultPath"] = None
        state["Next"] = after
        if on_error is not None:
            state["Catch"] = [
                {"ErrorEquals": ["States.ALL"], "ResultPath": cleanup_error, "Next": on_error}
            ]
        return state

    build.out.add(stop, call("stopApplication.sync", delete))
    build.out.add(delete, call("deleteApplication", CONTINUE))
    build.out.add(stop_failed, call("stopApplication.sync", delete_failed, delete_failed))
    build.out.add(delete_failed, call("deleteApplication", failed, failed))
    build.out.add(
        failed,
        {"Type": "Fail", "Error": "EMRServerless.JobFailed", "CausePath": f"{error}.Cause"},
    )
    # The job (or its read) goes on to stop the application, not to what follows the step.
    guarded[-1]["Next"] = stop


# --- the step's properties -------------------------------------------------------------------


def property_ref(values: Values, producer: Step, path: tuple[PathPart, ...]) -> Ref:
    """Where ``Steps.<producer>.jobRun...`` is: the kept GetJobRun ``JobRun``, in PascalCase."""
    if not path or path[0] != Attribute(RESULT_FIELD):
        raise NotExpressible(
            f"EMRServerless steps have the properties of GetJobRun's response (jobRun...); "
            f"{producer.name!r} has no {path[0]!r}"
        )
    values.kept[producer.name].add(RESULT_FIELD)
    ref = fn.path("$", values.keys[producer.name], "JobRun")
    shape: Any = "JobRun"
    for part in path[1:]:
        shape = _shape(shape)
        if isinstance(part, Index):
            ref = fn.extend(ref, fn.index_suffix(part.position))
            shape = shape[0] if isinstance(shape, list) else None
            continue
        name = (
            part.name if isinstance(part, Attribute) else part.key if isinstance(part, Key) else ""
        )
        if isinstance(shape, _Map):
            ref, shape = fn.extend(ref, fn.member_suffix(name)), shape.value
        else:
            member = shape.get(name) if isinstance(shape, dict) else None
            ref, shape = fn.extend(ref, fn.member_suffix(_pascal(name))), member
    return ref
