"""Runs a user's SageMaker SDK script in a child process and writes its pipeline definition.

    python _sdk_runner.py REQUEST.json RESULT.json

The ``sagemaker-python`` frontend starts this file by path, with whichever interpreter has the
SDK, so it imports only the standard library at module level: pipeglot itself need not be
installed there. REQUEST names the script, the attribute to use, the keyword arguments and
whether to run offline; RESULT receives ``{"definition", "name", "notes", "objects",
"resources", "schedules"}`` or ``{"error", ...}``. ``schedules`` are the EventBridge Scheduler
schedules whose target is the pipeline (what the SDK's ``put_triggers`` creates), as
``GetSchedule`` answers them.

The script runs as ``python path/to/script.py`` would run it: its folder first on sys.path (a
script inside a package is imported by its dotted name, so relative imports work too), in the
working directory the request names. Offline, the request names the script in pipeglot's copy
of its project (``_sdk_project.PROJECT``), so every path it sees is the same on every machine.

Offline, every AWS call the script makes is answered by moto, under an IAM role that moto
creates, so ``get_execution_role()`` works as it does in a SageMaker notebook, and no other
connection leaves the machine (so neither does the SDK's telemetry). The offline run is also
reproducible: the clock stands at ``FROZEN_INSTANT`` (and moves one second on after each S3
upload, so that time-stamped upload keys stay distinct), and every source of randomness the
SDK draws from (os.urandom, so uuid4, secrets and tempfile names; random; EC key pairs) is
seeded. What the script uploaded or created in the offline account comes back in RESULT.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

# Started by path, Python put this folder first on sys.path; it holds a module named
# ``sagemaker`` (pipeglot's JSON frontend) that would shadow the SDK.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or os.getcwd()) == _HERE:
    del sys.path[0]

OFFLINE_ROLE_NAME = "SageMakerExecutionRole"
OFFLINE_ACCOUNT = "123456789012"  # moto's
# 2025-01-01T00:00:00.001Z: the SDK writes time stamps with milliseconds taken from the
# float's repr, so the instant needs three non-zero-padded decimals to look like a real one.
FROZEN_INSTANT = 1735689600
FROZEN_FRACTION = ".001"
SEED = 20201201  # PIPEGLOT_SEED replaces it (see _seed): a secret of the user's own
_ASSUME_ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
# Operations that only read: an unimplemented one is answered as a fresh account would.
_READ_ONE = ("Describe", "Get", "Head")
_READ_MANY = ("List", "Search")
_WRITES = ("Create", "Put", "Upload", "Update", "Register", "Publish", "Attach", "Import")
_KINDS = {
    ("lambda", "CreateFunction"): "lambda function",
    ("lambda", "UpdateFunctionCode"): "lambda function code",
    ("iam", "CreateRole"): "IAM role",
    ("iam", "CreatePolicy"): "IAM policy",
    ("iam", "AttachRolePolicy"): "IAM role policy attachment",
    ("iam", "PutRolePolicy"): "IAM inline role policy",
}


class ScriptError(Exception):
    """The user's code raised; carries the formatted traceback of the script's frames."""


class UsageProblem(Exception):
    """The request cannot be served (no such attribute, not a Pipeline); a plain message."""


class OfflineGap(Exception):
    """The offline account cannot answer a call: moto does not implement it."""

    def __init__(self, service: str, operation: str) -> None:
        super().__init__(
            f"pipeglot's offline account cannot answer {service} {operation}: moto, which "
            "stands in for AWS offline, does not implement it"
        )
        self.service, self.operation = service, operation


def main(request_path: str, result_path: str) -> int:
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    if not request["online"]:
        _reproducible()  # before anything that reads the clock or draws randomness is imported
    try:
        result = _run(request)
    except UsageProblem as problem:
        result = {"error": "usage", "message": str(problem)}
    except ScriptError as error:
        result = {"error": "script", "message": error.args[0], "traceback": error.args[1]}
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    return 0


def _run(request: dict[str, Any]) -> dict[str, Any]:
    if importlib.util.find_spec("sagemaker") is None:
        raise UsageProblem(
            f"the SageMaker Python SDK is not installed for {sys.executable}; install it "
            "(pip install 'pipeglot[sagemaker]' for v3, or 'sagemaker<3' for v2)"
        )
    if request.get("sdk_config"):
        _memoize_schema_validation()
    if request["online"]:
        account = _Account(None)
        return {**_definition(request, account), "notes": account.notes}
    account = _Account(Path(request["objects"]))
    with _offline(account):
        result = _definition(request, account)
        account.collect()
        schedules = account.schedules(result["name"])
    return {**result, **account.report(), "schedules": schedules}


def _memoize_schema_validation() -> None:
    """With a config file, the SDK validates it against its schema on every lookup (about 0.3 s
    each, tens of times per script); a validation that passed once passes again."""
    if importlib.util.find_spec("jsonschema") is None:
        return
    import jsonschema

    validate, passed = jsonschema.validate, set()
    schemas: list[Any] = []  # keeps the schemas alive, so that their ids stay theirs

    def memoized(instance: Any, schema: Any, *args: Any, **kwargs: Any) -> None:
        key = (
            id(schema),
            json.dumps(instance, sort_keys=True, default=repr),
            repr(args),
            repr(kwargs),
        )
        if key in passed:
            return
        validate(instance, schema, *args, **kwargs)
        schemas.append(schema)
        passed.add(key)

    jsonschema.validate = memoized


# --- a reproducible run: a frozen clock and seeded randomness -----------------------------------


class _Clock:
    """The offline clock: FROZEN_INSTANT, moved on explicitly (after each upload)."""

    def __init__(self) -> None:
        self.seconds = FROZEN_INSTANT
        self.now = float(f"{self.seconds}{FROZEN_FRACTION}")

    def advance(self) -> None:
        self.seconds += 1
        self.now = float(f"{self.seconds}{FROZEN_FRACTION}")


CLOCK = _Clock()


def _reproducible() -> None:
    _seed_randomness()
    _freeze_clock()


def _seed_randomness() -> None:
    """One seeded stream for the main thread (the script's); other threads draw real bytes."""
    import threading

    real_urandom = os.urandom
    main_thread = threading.get_ident()
    seed = _seed()
    stream_state: dict[str, Any] = {}

    def urandom(size: int) -> bytes:
        if threading.get_ident() != main_thread:
            return real_urandom(size)
        stream = stream_state.get("stream")
        if stream is None:
            import random as random_module

            stream = stream_state["stream"] = random_module.Random(seed)
        return bytes(stream.getrandbits(8) for _ in range(size))

    os.urandom = urandom
    import random
    import uuid

    random._urandom = urandom  # type: ignore[attr-defined]  # secrets, SystemRandom
    reseed = random.Random.seed

    def seeded(self: random.Random, a: Any = None, version: int = 2) -> None:
        # Random() seeds itself from the OS in C, not through os.urandom: tempfile's names.
        reseed(self, int.from_bytes(urandom(32), "big") if a is None else a, version)

    random.Random.seed = seeded  # type: ignore[method-assign]
    random.seed(seed)
    uuid.uuid1 = lambda node=None, clock_seq=None: uuid.UUID(bytes=urandom(16), version=1)
    _seed_key_pairs(urandom)


def _seed() -> int:
    """The fixed seed, or one derived from PIPEGLOT_SEED: with a secret there, keys derived
    offline (the @step signing key) are reproducible and yet nobody else's to derive."""
    secret = os.environ.get("PIPEGLOT_SEED")
    if not secret:
        return SEED
    import hashlib

    return int.from_bytes(hashlib.sha256(secret.encode("utf-8")).digest(), "big")


def _seed_key_pairs(urandom: Any) -> None:
    """EC key pairs from the stream, and their ECDSA signatures deterministic (RFC 6979).

    SDK v3 signs each @step payload with a key pair made per definition(); the signature is
    in an uploaded metadata.json and the public key in the step's environment.
    """
    if importlib.util.find_spec("cryptography") is None:
        return
    from cryptography.hazmat.primitives.asymmetric import ec

    class DeterministicSigner:
        def __init__(self, key: Any) -> None:
            self._key = key

        def __getattr__(self, name: str) -> Any:
            return getattr(self._key, name)

        def sign(self, data: bytes, algorithm: Any) -> bytes:
            if isinstance(algorithm, ec.ECDSA):
                with contextlib.suppress(TypeError):  # cryptography < 44 cannot
                    algorithm = ec.ECDSA(algorithm.algorithm, deterministic_signing=True)
            return self._key.sign(data, algorithm)

    ec.EllipticCurvePrivateKey.register(DeterministicSigner)

    def generate_private_key(curve: Any, backend: Any = None) -> Any:
        bits = curve.key_size - 1  # below the group order of every named curve
        value = int.from_bytes(urandom((bits + 7) // 8), "big") % (1 << bits) or 1
        return DeterministicSigner(ec.derive_private_key(value, curve))

    ec.generate_private_key = generate_private_key


def _freeze_clock() -> None:
    """time.time() and friends, datetime.now() and friends: CLOCK.now (UTC, see TZ)."""
    import time

    real_gmtime, real_localtime = time.gmtime, time.localtime

    def gmtime(seconds: float | None = None) -> Any:
        return real_gmtime(CLOCK.now if seconds is None else seconds)

    def localtime(seconds: float | None = None) -> Any:
        return real_localtime(CLOCK.now if seconds is None else seconds)

    real_strftime, real_asctime, real_ctime = time.strftime, time.asctime, time.ctime
    time.time = lambda: CLOCK.now
    time.time_ns = lambda: int(CLOCK.seconds * 10**9 + float(FROZEN_FRACTION) * 10**9)
    time.gmtime, time.localtime = gmtime, localtime
    time.strftime = lambda format, moment=None: real_strftime(format, moment or localtime())
    time.asctime = lambda moment=None: real_asctime(moment or localtime())
    time.ctime = lambda seconds=None: real_ctime(CLOCK.now if seconds is None else seconds)
    _freeze_datetime()


def _freeze_datetime() -> None:
    """date.today(), datetime.now(), utcnow() and today() read CLOCK too.

    The methods are set in the real types' own dictionaries: a stand-in subclass would break
    C extensions that import the types (pandas), and their instances would not be real ones.
    """
    import ctypes
    import datetime
    import gc

    def today(cls: Any) -> Any:
        return cls.fromtimestamp(CLOCK.now)

    def now(cls: Any, tz: Any = None) -> Any:
        return cls.fromtimestamp(CLOCK.now, tz)

    def utcnow(cls: Any) -> Any:
        utc = datetime.timezone.utc  # noqa: UP017  # the runner may run on Python 3.8
        return cls.fromtimestamp(CLOCK.now, utc).replace(tzinfo=None)

    methods = {
        datetime.date: {"today": today},
        datetime.datetime: {"today": today, "now": now, "utcnow": utcnow},
    }
    for cls, replacements in methods.items():
        # CPython keeps a static type's attributes in a plain dict behind the mappingproxy.
        namespace = gc.get_referents(cls.__dict__)[0]
        if not isinstance(namespace, dict) or not hasattr(ctypes, "pythonapi"):
            return  # not CPython: datetime.now() keeps real time, time.time() is still frozen
        namespace.update({name: classmethod(f) for name, f in replacements.items()})
        ctypes.pythonapi.PyType_Modified(ctypes.py_object(cls))


# --- the offline account ------------------------------------------------------------------------


class _Account:
    """What the script did in the offline account: calls, uploads, resources, gaps answered."""

    def __init__(self, objects_folder: Path | None) -> None:
        self.objects_folder = objects_folder
        self.recording = False
        self.managed_policies = False  # loaded into moto's IAM yet
        self.notes: list[dict[str, str]] = []
        self.uploads: dict[tuple[str, str], str] = {}  # (bucket, key) -> local file
        self.zipped: dict[str, str] = {}  # archive name -> local file, for zips made in memory
        self.resources: list[dict[str, Any]] = []
        self.objects: list[dict[str, Any]] = []

    def note(self, code: str, message: str) -> None:
        if not any(entry["message"] == message for entry in self.notes):
            self.notes.append({"code": code, "message": message})

    def report(self) -> dict[str, Any]:
        import boto3

        return {
            "notes": self.notes,
            "objects": self.objects,
            "resources": self.resources,
            "region": boto3.session.Session().region_name,
        }

    # Calls, seen through botocore's events --------------------------------------------------

    def remember_parameters(self, params: Any, model: Any, context: Any, **_: Any) -> None:
        if model.service_model.service_name == "iam" and not self.managed_policies:
            self._load_managed_policies_if_named(params, model)
        if self.recording and isinstance(params, dict):
            context["pipeglot.params"] = dict(params)
            body = params.get("Body")
            name = getattr(body, "name", None)
            if model.name == "PutObject" and isinstance(name, str):
                self.uploads.setdefault((params.get("Bucket"), params.get("Key")), name)

    def after_call(self, http_response: Any, parsed: Any, model: Any, context: Any, **_: Any):
        if not self.recording or getattr(http_response, "status_code", 500) >= 300:
            return
        service = model.service_model.service_name
        if service == "s3" and model.name in ("PutObject", "CompleteMultipartUpload"):
            CLOCK.advance()  # the next time-stamped key differs from this one
            return
        if not model.name.startswith(_WRITES) or service in ("s3", "sts"):
            return
        params = context.get("pipeglot.params", {})
        self.resources.append(
            {
                "kind": _KINDS.get((service, model.name), f"{service} {model.name}"),
                "id": _identifier(parsed, params),
                "local": self._lambda_sources(params) if service == "lambda" else [],
            }
        )

    def _load_managed_policies_if_named(self, params: Any, model: Any) -> None:
        """A fresh account has the AWS managed policies. moto loads them only when asked (0.5 s
        of every run), so they are loaded when a call first names one or lists them."""
        if ":iam::aws:policy/" not in json.dumps(params, default=str) and model.name not in (
            "ListPolicies",
            "ListEntitiesForPolicy",
        ):
            return
        from moto.iam.models import iam_backends

        self.managed_policies = True
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # for backends made from now on
        for account in list(iam_backends):
            backend = iam_backends[account]["aws"]
            if not backend.aws_managed_policies:
                backend.aws_managed_policies = backend._init_aws_policies()
                backend.managed_policies.update({p.arn: p for p in backend.aws_managed_policies})

    def _lambda_sources(self, params: dict[str, Any]) -> list[str]:
        archive = params.get("ZipFile") or (params.get("Code") or {}).get("ZipFile")
        if not isinstance(archive, (bytes, bytearray)):
            return []
        import io
        import zipfile

        try:
            with zipfile.ZipFile(io.BytesIO(archive)) as opened:
                names = opened.namelist()
        except zipfile.BadZipFile:
            return []
        return [self.zipped.get(name, name) for name in names]

    # Where uploads and archives come from ---------------------------------------------------

    def watch_local_files(self) -> None:
        import zipfile

        import boto3.s3.inject
        import boto3.s3.transfer

        account = self
        upload_file = boto3.s3.transfer.S3Transfer.upload_file
        upload_fileobj = boto3.s3.inject.upload_fileobj
        write = zipfile.ZipFile.write

        def recording_upload_file(self, filename, bucket, key, *args, **kwargs):  # type: ignore[no-untyped-def]
            account.uploads.setdefault((bucket, key), os.fspath(filename))
            return upload_file(self, filename, bucket, key, *args, **kwargs)

        def recording_upload_fileobj(self, Fileobj, Bucket, Key, *args, **kwargs):  # type: ignore[no-untyped-def]
            name = getattr(Fileobj, "name", None)
            if isinstance(name, str):
                account.uploads.setdefault((Bucket, Key), name)
            return upload_fileobj(self, Fileobj, Bucket, Key, *args, **kwargs)

        def recording_write(self, filename, arcname=None, *args, **kwargs):  # type: ignore[no-untyped-def]
            name = arcname if arcname is not None else os.path.basename(os.fspath(filename))
            account.zipped.setdefault(os.fspath(name).lstrip("/"), os.fspath(filename))
            return write(self, filename, arcname, *args, **kwargs)

        boto3.s3.transfer.S3Transfer.upload_file = recording_upload_file
        boto3.s3.inject.upload_fileobj = recording_upload_fileobj
        zipfile.ZipFile.write = recording_write

    # Calls moto cannot answer ---------------------------------------------------------------

    def answer_gaps(self) -> None:
        """An operation moto lacks: a read is answered as a fresh account would, else OfflineGap."""
        from moto.core.botocore_stubber import BotocoreStubber

        account, original = self, BotocoreStubber.__call__

        def answering(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            try:
                response = original(stubber, event_name, request, **kwargs)
            except NotImplementedError:
                return account.gap(event_name)
            if _is_unknown_service(response):
                return account.gap(event_name)
            return response

        BotocoreStubber.__call__ = answering  # type: ignore[method-assign]

    def gap(self, event_name: str) -> Any:
        _, service_id, operation = event_name.split(".", 2)
        model = _operation_model(service_id, operation)
        service = model.service_model.service_name if model else service_id.lower()
        reads_one = operation.startswith(_READ_ONE)
        if model is not None and reads_one:
            answer = _not_found(model, f"{operation} is answered offline as not found")
        elif model is not None and operation.startswith(_READ_MANY):
            answer = _empty_list(model)
        else:
            answer = None
        answered = "not found" if reads_one else "an empty list"
        if answer is None:
            self.note("sagemaker-python.offline-gap", str(OfflineGap(service, operation)))
            raise OfflineGap(service, operation)
        self.note(
            "sagemaker-python.offline-answer",
            f"moto does not implement {service} {operation}, so pipeglot's offline account "
            f"answered it as a fresh account would ({answered}); "
            "online, the script may take another path: compare with --online",
        )
        return answer

    # What is left in the account --------------------------------------------------------------

    def collect(self) -> None:
        """Every S3 object, copied under objects_folder/BUCKET/KEY, with the file it came from."""
        self.recording = False
        import boto3

        s3 = boto3.session.Session().client("s3")
        temporary = os.path.realpath(_temporary_folder())
        for bucket in sorted(b["Name"] for b in s3.list_buckets().get("Buckets", [])):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    self._copy_object(s3, bucket, item["Key"], temporary)

    def schedules(self, pipeline_name: str | None) -> list[dict[str, Any]]:
        """The Scheduler schedules that start the pipeline (the SDK's ``put_triggers`` makes
        them), as ``GetSchedule`` answers them; they leave the list of offline resources, and
        so does the pipeline itself (``upsert``), since the translation carries both."""
        import boto3

        if pipeline_name is None:
            return []
        arn, client = _pipeline_arn(pipeline_name), boto3.session.Session().client("scheduler")
        found = []
        for page in client.get_paginator("list_schedules").paginate():
            for summary in page.get("Schedules", []):
                if str((summary.get("Target") or {}).get("Arn", "")).lower() != arn:
                    continue
                group = summary.get("GroupName") or "default"
                schedule = client.get_schedule(Name=summary["Name"], GroupName=group)
                schedule.pop("ResponseMetadata", None)
                if _started_now(schedule.get("StartDate")):
                    del schedule["StartDate"]  # the time put_triggers ran, offline
                found.append(_as_json(schedule))
        created = [resource["id"].lower() for resource in self.resources]
        carried = {arn} | {schedule["Arn"].lower() for schedule in found}
        self.resources = [r for r in self.resources if r["id"].lower() not in carried]
        # In the order the script attached them: a target with one schedule takes the first.
        return sorted(found, key=lambda schedule: _position(created, schedule["Arn"].lower()))

    def _copy_object(self, s3: Any, bucket: str, key: str, temporary: str) -> None:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        local = self.uploads.get((bucket, key))
        if local is not None and os.path.realpath(local).startswith(temporary + os.sep):
            local = None  # a file the SDK made for the upload (an archive), gone by now
        relative = _safe_relative(key)
        if relative is not None and self.objects_folder is not None:
            target = self.objects_folder / bucket / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        self.objects.append(
            {
                "bucket": bucket,
                "key": key,
                "size": len(body),
                "local": os.path.abspath(local) if local else None,
                "file": None if relative is None else f"{bucket}/{relative}",
            }
        )


def _pipeline_arn(pipeline_name: str) -> str:
    import boto3

    region = boto3.session.Session().region_name
    return f"arn:aws:sagemaker:{region}:{OFFLINE_ACCOUNT}:pipeline/{pipeline_name}".lower()


def _position(items: list[str], item: str) -> int:
    return items.index(item) if item in items else len(items)


def _started_now(moment: Any) -> bool:
    """Whether a schedule's start is the offline clock's "now": the SDK's default StartDate."""
    return moment is not None and FROZEN_INSTANT <= moment.timestamp() <= CLOCK.now + 1


def _as_json(value: Any) -> Any:
    """An API answer in JSON: its datetimes as ISO 8601 text."""
    if isinstance(value, dict):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else value


def _identifier(parsed: Any, params: dict[str, Any]) -> str:
    """An ARN from the response (top level or one level down), else the name in the request."""
    candidates = [parsed] + [value for value in parsed.values() if isinstance(value, dict)]
    for candidate in candidates:
        for key, value in candidate.items():
            if key.endswith("Arn") and isinstance(value, str) and value.startswith("arn:"):
                return value
    names = [v for k, v in params.items() if k.endswith(("Name", "Arn")) and isinstance(v, str)]
    return " / ".join(names) or "(unnamed)"


def _is_unknown_service(response: Any) -> bool:
    """moto's answer for a URL no service of its own matches."""
    return (
        response is not None
        and response.status_code == 404
        and response.raw.getvalue() == b"Not yet implemented"
    )


def _operation_model(service_id: str, operation: str) -> Any:
    import botocore.session

    session = botocore.session.get_session()
    names = session.get_available_services()
    # The event names the service by its hyphenated ID, most often its name itself.
    for name in sorted(names, key=lambda name: name != service_id):
        model = session.get_service_model(name)
        if model.service_id.hyphenize() == service_id:
            return model.operation_model(operation) if operation in model.operation_names else None
    return None


def _not_found(model: Any, message: str) -> Any:
    """An error response with the operation's own not-found error, in its protocol."""
    names = [shape.name for shape in model.error_shapes]
    code = next((n for n in names if "NotFound" in n or "NoSuch" in n), "ValidationException")
    protocol = model.service_model.protocol
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message, "Message": message})
        headers = {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.1"}
    else:
        inner = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        body = inner if protocol == "rest-xml" else f"<ErrorResponse>{inner}</ErrorResponse>"
        headers = {"Content-Type": "text/xml"}
    return _response(model, 404 if protocol == "rest-xml" else 400, headers, body)


def _empty_list(model: Any) -> Any:
    """An empty page: every list the output has, empty (JSON protocols only)."""
    if model.service_model.protocol not in ("json", "rest-json") or model.output_shape is None:
        return None
    members = model.output_shape.members
    body = {name: [] for name, shape in members.items() if shape.type_name == "list"}
    return _response(model, 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(body))


def _response(model: Any, status: int, headers: dict[str, str], body: str) -> Any:
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse

    return AWSResponse("https://offline.pipeglot", status, headers, MockRawResponse(body))


def _safe_relative(key: str) -> str | None:
    """KEY as a relative file path, or None when it cannot be one (``..``, empty parts)."""
    parts = key.split("/")
    if any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in parts):
        return None
    return "/".join(parts)


def _temporary_folder() -> str:
    import tempfile

    return tempfile.gettempdir()


@contextlib.contextmanager
def _offline(account: _Account):
    """Answer AWS locally with moto, as a placeholder role, with every other connection refused."""
    try:
        from moto import mock_aws
    except ImportError:
        raise UsageProblem(
            f"offline translation answers AWS calls with moto, which is not installed for "
            f"{sys.executable}; install it (pip install 'pipeglot[sagemaker]'), or pass "
            "--online to let the SDK use your AWS account"
        ) from None
    _refuse_network()
    import botocore.handlers

    botocore.handlers.BUILTIN_HANDLERS.extend(
        [
            ("before-parameter-build", account.remember_parameters),
            ("after-call", account.after_call),
        ]
    )
    account.watch_local_files()
    account.answer_gaps()
    with mock_aws():
        _assume_placeholder_role()
        account.recording = True
        yield


def _refuse_network() -> None:
    """Offline means offline: no DNS lookup or connection leaves this machine.

    moto answers AWS inside the process, so the only traffic left is what no translation
    needs: the SDK's telemetry (sent in the background; it fails quietly) and whatever the
    script fetches itself, which then fails with this message.
    """
    import socket

    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def refuse(where: object) -> OSError:
        return OSError(
            f"pipeglot runs SageMaker scripts offline and refused a connection to {where}; "
            "pass --online to let the script use the network and your AWS account"
        )

    def local_connect(self: socket.socket, address: Any) -> Any:
        if self.family == getattr(socket, "AF_UNIX", None) or _is_loopback(address[0]):
            return connect(self, address)
        raise refuse(address)

    def local_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is None or _is_loopback(host):
            return getaddrinfo(host, *args, **kwargs)
        raise refuse(host)

    socket.socket.connect = local_connect  # type: ignore[method-assign]
    socket.getaddrinfo = local_getaddrinfo


def _is_loopback(host: Any) -> bool:
    import ipaddress

    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _assume_placeholder_role() -> None:
    import boto3

    # A private session: boto3's default one would keep moto's first credentials for the script.
    session = boto3.session.Session()
    iam = session.client("iam")
    role = iam.create_role(RoleName=OFFLINE_ROLE_NAME, AssumeRolePolicyDocument=_ASSUME_ROLE_POLICY)
    credentials = session.client("sts").assume_role(
        RoleArn=role["Role"]["Arn"], RoleSessionName="pipeglot"
    )["Credentials"]
    os.environ["AWS_ACCESS_KEY_ID"] = credentials["AccessKeyId"]
    os.environ["AWS_SECRET_ACCESS_KEY"] = credentials["SecretAccessKey"]
    os.environ["AWS_SESSION_TOKEN"] = credentials["SessionToken"]


# --- finding and building the pipeline ----------------------------------------------------------


def _definition(request: dict[str, Any], account: _Account) -> dict[str, Any]:
    with _user_code(account):
        module = _import(request)
    target = _attribute(module, request)
    with _user_code(account):
        pipeline = _call(target, request, account) if not is_pipeline(target) else target
    if not is_pipeline(pipeline):
        raise UsageProblem(
            f"{_describe_target(request)} returned {describe_type(pipeline)}, "
            "not a SageMaker Pipeline"
        )
    with _user_code(account):
        definition = pipeline.definition()
    return {"definition": definition, "name": getattr(pipeline, "name", None) or None}


def _import(request: dict[str, Any]) -> Any:
    if request["module"] is not None:
        sys.path.insert(0, request["root"])  # as `python -m` does, from where pipeglot ran
        return importlib.import_module(request["module"])
    path = Path(request["path"])
    package_root, dotted = _package_name(path)
    sys.path.insert(0, str(path.parent))  # as `python path/to/script.py` does
    if dotted is not None:  # inside a package: imported by name, so relative imports work
        sys.path.insert(1, str(package_root))
        return importlib.import_module(dotted)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _package_name(path: Path) -> tuple[Path, str | None]:
    """The folder to put on sys.path and the dotted name, when ``path`` sits in a package."""
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.insert(0, folder.name)
        folder = folder.parent
    if len(parts) == 1:
        return folder, None
    return folder, ".".join(parts)


def _attribute(module: Any, request: dict[str, Any]) -> Any:
    name = request["attribute"]
    if name is not None:
        target: Any = module
        for part in name.split("."):
            if not hasattr(target, part):
                raise UsageProblem(
                    f"the module has no attribute {name!r}; it defines "
                    f"{_candidates(module) or 'no functions or Pipeline objects'}"
                )
            target = getattr(target, part)
        return target
    if callable(getattr(module, "get_pipeline", None)):
        return module.get_pipeline
    pipelines = [key for key, value in vars(module).items() if is_pipeline(value)]
    if len(pipelines) == 1:
        return getattr(module, pipelines[0])
    if not pipelines:
        raise UsageProblem(
            "the module has no get_pipeline function and no module-level Pipeline object; "
            f"name the one to use as {_source(request)}:NAME (it defines "
            f"{_candidates(module) or 'no functions'})"
        )
    raise UsageProblem(
        f"the module has several Pipeline objects ({', '.join(pipelines)}); "
        f"choose one as {_source(request)}:NAME"
    )


def _call(target: Any, request: dict[str, Any], account: _Account) -> Any:
    if not callable(target):
        raise UsageProblem(
            f"{_describe_target(request)} is {describe_type(target)}; name a Pipeline object or a "
            "function that returns one"
        )
    kwargs = dict(request["kwargs"])
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        _fill_arguments(signature, kwargs, request, account)
        try:
            signature.bind(**kwargs)
        except TypeError as error:
            raise UsageProblem(
                f"{_describe_target(request)}{signature} cannot be called with --kwargs "
                f"{json.dumps(request['kwargs'])}: {error}"
            ) from None
    return target(**kwargs)


def _fill_arguments(
    signature: inspect.Signature, kwargs: dict[str, Any], request: dict[str, Any], account: _Account
) -> None:
    """What the builder asks for and --kwargs cannot hold: its region, bucket and session."""
    _fill_region(signature, kwargs)
    parameters = signature.parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    if request.get("bucket") and "default_bucket" in parameters:
        kwargs.setdefault("default_bucket", request["bucket"])
    if "role" in kwargs and "role" not in parameters and not takes_any:
        # The role still reaches @step functions, through the SDK configuration.
        del kwargs["role"]
        account.note(
            "sagemaker-python.role",
            f"{_describe_target(request)} takes no role argument: --kwargs role reaches only "
            "the @step functions (through the SDK configuration's RemoteFunction RoleArn)",
        )
    sessions = [
        p.name
        for p in parameters.values()
        if p.name not in kwargs
        and p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and (p.name in _SESSION_NAMES or _is_session_annotation(p.annotation))
    ]
    if sessions:
        session = _pipeline_session()
        kwargs.update(dict.fromkeys(sessions, session))


_SESSION_NAMES = ("sagemaker_session", "pipeline_session", "session")


def _is_session_annotation(annotation: Any) -> bool:
    """``PipelineSession``, ``Session`` (a class of the SDK, or the name as a string)."""
    if annotation is inspect.Parameter.empty:
        return False
    if isinstance(annotation, type):
        return annotation.__name__.endswith("Session") and annotation.__module__.startswith(
            "sagemaker"
        )
    text = str(annotation).replace("'", "").replace('"', "")
    names = {
        part.rsplit(".", 1)[-1]
        for part in text.replace("[", " ")
        .replace("]", " ")
        .replace("|", " ")
        .replace(",", " ")
        .split()
    }
    return bool(names & {"Session", "PipelineSession"})


def _pipeline_session() -> Any:
    """A PipelineSession (v3 or v2): it captures job requests as step arguments."""
    try:
        from sagemaker.core.workflow.pipeline_context import PipelineSession
    except ImportError:
        from sagemaker.workflow.pipeline_context import PipelineSession
    return PipelineSession()


def _fill_region(signature: inspect.Signature, kwargs: dict[str, Any]) -> None:
    """Project templates take ``get_pipeline(region, ...)``: pass the session's region."""
    parameter = signature.parameters.get("region")
    if parameter is None or parameter.default is not inspect.Parameter.empty:
        return
    import boto3

    region = boto3.session.Session().region_name
    if region is not None:
        kwargs.setdefault("region", region)


def is_pipeline(value: Any) -> bool:
    cls = type(value)
    return (
        cls.__name__ == "Pipeline"
        and cls.__module__.startswith("sagemaker.")
        and callable(getattr(value, "definition", None))
    )


def _candidates(module: Any) -> str:
    names = [
        key
        for key, value in vars(module).items()
        if not key.startswith("_")
        and (is_pipeline(value) or inspect.isfunction(value))
        and getattr(value, "__module__", module.__name__) == module.__name__
    ]
    return ", ".join(sorted(names))


def describe_type(value: Any) -> str:
    return f"a {type(value).__module__}.{type(value).__qualname__}"


def _source(request: dict[str, Any]) -> str:
    return request["module"] or request["path"]


def _describe_target(request: dict[str, Any]) -> str:
    return f"{_source(request)}:{request['attribute'] or 'get_pipeline'}"


# --- errors in user code ------------------------------------------------------------------------


@contextlib.contextmanager
def _user_code(account: _Account):
    """Turn an exception raised by the user's code into ScriptError with its own traceback."""
    try:
        yield
    except (UsageProblem, KeyboardInterrupt):
        raise
    except SystemExit as error:
        raise ScriptError(f"the script called sys.exit({error.code!r})", "") from None
    except BaseException as error:
        gap = _offline_gap(error)
        if gap is not None:
            raise UsageProblem(_gap_message(gap, error)) from None
        raise ScriptError(_summary(error), _script_traceback(error)) from None


def _offline_gap(error: BaseException | None) -> OfflineGap | None:
    """The OfflineGap behind ``error`` (the script may have wrapped it), if there is one."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OfflineGap):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _gap_message(gap: OfflineGap, error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if _is_users(f.filename)]
    where = f", called at {frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}"
    return (
        f"{gap}{where if frames else ''}; pass --online to build the pipeline against your "
        "AWS account instead"
    )


def _summary(error: BaseException) -> str:
    summary = "".join(traceback.format_exception_only(type(error), error)).strip()
    return f"{summary}{_sdk_generation_hint(error)}{_python_version_hint(error)}"


def _sdk_generation_hint(error: BaseException) -> str:
    if not isinstance(error, ModuleNotFoundError) or not (error.name or "").startswith("sagemaker"):
        return ""
    if error.name.startswith(("sagemaker.workflow", "sagemaker.estimator", "sagemaker.processing")):
        wanted = "v2 (sagemaker<3)"
    elif error.name.startswith(("sagemaker.core", "sagemaker.mlops", "sagemaker.train")):
        wanted = "v3"
    else:
        return ""
    return (
        f" (the script is written for SageMaker SDK {wanted}, which {sys.executable} does not "
        "have; run pipeglot with a Python that has it, or pass --python PATH)"
    )


def _python_version_hint(error: BaseException) -> str:
    """@step without image_uri: the SDK's default image exists for Pythons 3.8 and 3.10 only."""
    if "Default image is supported only for Python versions" not in str(error):
        return ""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return (
        f" (pipeglot ran the script with Python {version}, from {sys.executable}: pass "
        "--python PATH with a Python 3.10 or 3.8 that has the SDK, or give each @step an "
        "image_uri)"
    )


def _script_traceback(error: BaseException) -> str:
    """The traceback (with its chained causes) of the script's own frames.

    pipeglot's runner and importlib are dropped, and so are the libraries' frames (the SDK's,
    botocore's, moto's) but for the innermost one, which shows where the error was raised.
    """
    report = traceback.TracebackException.from_exception(error)
    seen: set[int] = set()
    pending = [report]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        frames = [frame for frame in current.stack if not _is_machinery(frame.filename)]
        kept = [frame for frame in frames[:-1] if _is_users(frame.filename)] + frames[-1:]
        current.stack = traceback.StackSummary.from_list(kept)
        pending += [link for link in (current.__cause__, current.__context__) if link]
    return "".join(report.format())


def _is_machinery(filename: str) -> bool:
    return (
        os.path.abspath(filename) == os.path.abspath(__file__)
        or filename.startswith("<frozen ")
        or os.path.abspath(filename).startswith(_IMPORTLIB)
    )


def _is_users(filename: str) -> bool:
    """Not the standard library's, nor an installed package's, nor this runner's."""
    path = os.path.abspath(filename)
    if _is_machinery(filename) or filename.startswith("<"):
        return False
    return not any(path.startswith(root + os.sep) for root in _library_roots())


_IMPORTLIB = os.path.dirname(importlib.__file__)


def _library_roots() -> list[str]:
    import sysconfig

    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots |= {p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    return [os.path.abspath(root) for root in roots]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
