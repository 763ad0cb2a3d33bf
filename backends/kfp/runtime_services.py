"""The code that runs inside the components of steps other than SageMaker jobs: Lambda, Callback,
EMR, EMR Serverless, Lineage, Condition and Fail steps, and the placeholder of unsupported ones.

Like ``runtime.py``, whose functions these call, every function here is copied verbatim into
the generated files and must be self-contained: the standard library and boto3 only, imported
inside the function. The import below serves only pipeglot's tests, which call these
functions directly; generated files define the functions it names themselves.
"""

from pipeglot.backends.kfp.runtime import (
    aws_client,
    join_text,
    resolve,
    step_result,
    unique_name,
    wait_for,
)


def run_lambda_step(step, request, context):
    """Invoke a Lambda step's function (``FunctionArn`` of ``request``) with its resolved
    ``Arguments``; the keys of the function's JSON answer are the step's OutputParameters."""
    import json

    body = resolve(json.loads(request), context)
    answer = aws_client("lambda").invoke(
        FunctionName=body["FunctionArn"], Payload=json.dumps(body["Arguments"]).encode()
    )
    text = answer["Payload"].read()
    if answer.get("FunctionError"):
        raise RuntimeError(f"step {step!r}: the Lambda function failed: {text.decode()}")
    result = json.loads(text) if text else {}
    return step_result(step, {"OutputParameters": result if isinstance(result, dict) else {}})


def run_callback_step(step, request, context, poll_seconds=20):
    """A Callback step, in pipeglot's callback protocol (``pipeglot/callback_worker.py``).

    Sends SageMaker's message (token, pipelineExecutionArn, resolved arguments, status) to
    ``SqsQueueUrl``, then long-polls the reply queue that the token names (the request
    queue's URL plus ``-replies``) for the worker's answer to this token, handing other answers
    back at once. ``Succeeded`` gives the OutputParameters, each converted to its declared
    type; ``Failed`` fails the task with the worker's reason.
    """
    import json
    import secrets
    import time

    body = resolve(json.loads(request), context)
    url = body["SqsQueueUrl"]
    base, fifo = (url[: -len(".fifo")], ".fifo") if url.endswith(".fifo") else (url, "")
    secret = secrets.token_hex(16)
    token = f"{base}-replies{fifo}#{secret}"
    message = {
        "token": token,
        "pipelineExecutionArn": context["execution"].get("PipelineExecutionId", ""),
        "arguments": body.get("Arguments", {}),
        "status": "Executing",
    }
    sqs = aws_client("sqs")
    fifo_ids = {"MessageGroupId": secret, "MessageDeduplicationId": secret} if fifo else {}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message), **fifo_ids)
    print(f"{step}: sent the callback message; waiting for the answer on {base}-replies{fifo}")
    replies = f"{base}-replies{fifo}"
    while True:
        received = sqs.receive_message(
            QueueUrl=replies,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=poll_seconds,
            MessageAttributeNames=["CallbackToken"],
        )
        for reply in received.get("Messages", []):
            receipt = {"QueueUrl": replies, "ReceiptHandle": reply["ReceiptHandle"]}
            attributes = reply.get("MessageAttributes") or {}
            if attributes.get("CallbackToken", {}).get("StringValue") != token:
                sqs.change_message_visibility(**receipt, VisibilityTimeout=0)
                continue
            sqs.delete_message(**receipt)
            declared = body.get("OutputParameters") or []
            types = {item["OutputName"]: item.get("OutputType", "String") for item in declared}
            outputs = callback_outputs(step, json.loads(reply["Body"]), types)
            return step_result(step, {"OutputParameters": outputs})
        if not poll_seconds:
            time.sleep(0.1)


def callback_outputs(step, answer, output_types):
    """The OutputParameters of a worker's answer, each of its declared type, or the failure."""
    if answer.get("status") != "Succeeded":
        reason = answer.get("failureReason") or "no reason given"
        raise RuntimeError(f"step {step!r}: the callback worker answered failure: {reason}")
    given = {item["Name"]: item["Value"] for item in answer.get("outputParameters") or []}
    missing = sorted(set(output_types) - set(given))
    if missing:
        raise RuntimeError(f"step {step!r}: the callback answer lacks {', '.join(missing)}")
    convert = {"Integer": int, "Float": float, "Boolean": lambda v: str(v).lower() == "true"}
    return {name: convert.get(kind, str)(given[name]) for name, kind in output_types.items()}


def run_emr_step(step, request, context, poll_seconds=30):
    """Run an EMR step on an existing cluster (ClusterId) or on a new one (ClusterConfig)."""
    import json

    body = resolve(json.loads(request), context)
    emr = aws_client("emr")
    emr_step = {"Name": unique_name(step), "ActionOnFailure": "CONTINUE", **body["StepConfig"]}
    if "ClusterId" in body:
        cluster = body["ClusterId"]
        step_id = emr.add_job_flow_steps(JobFlowId=cluster, Steps=[emr_step])["StepIds"][0]
    else:
        config = {"Name": unique_name(step), **body["ClusterConfig"]}
        config["Instances"] = {**config.get("Instances", {}), "KeepJobFlowAliveWhenNoSteps": False}
        emr_step["ActionOnFailure"] = "TERMINATE_CLUSTER"
        cluster = emr.run_job_flow(Steps=[emr_step], **config)["JobFlowId"]
        step_id = emr.list_steps(ClusterId=cluster)["Steps"][0]["Id"]

    def describe():
        return emr.describe_step(ClusterId=cluster, StepId=step_id)["Step"]

    try:
        described = wait_for(
            describe,
            lambda s: s["Status"]["State"],
            {"COMPLETED"},
            {"FAILED", "CANCELLED", "INTERRUPTED"},
            poll_seconds,
        )
    except RuntimeError as error:
        raise RuntimeError(f"step {step!r}: EMR step {step_id} {error}") from None
    return step_result(step, {"ClusterId": cluster, "StepId": step_id, "Step": described})


def run_emr_serverless_step(step, request, context, poll_seconds=30):
    """Run a job on an EMR Serverless application and wait for it; return GetJobRun's answer.

    With ApplicationId the job runs on that application. With ApplicationConfig the step
    creates an application for itself, starts it, runs the job, and then stops and deletes the
    application whatever happened: job failure, error, or the run being cancelled.
    """
    import json
    import signal
    import uuid

    def cancelled(signum, frame):
        raise SystemExit(f"step {step!r} was cancelled")

    # KFP ends a cancelled run's pods with SIGTERM; as an exception it still cancels the job
    # and cleans up the application below.
    signal.signal(signal.SIGTERM, cancelled)
    body = resolve(json.loads(request), context)
    client = aws_client("emr-serverless")
    if "ApplicationId" in body:
        document = start_emr_serverless_job(step, client, body["ApplicationId"], body, poll_seconds)
        return step_result(step, document)
    config = {"name": unique_name(step), **body["ApplicationConfig"]}
    created = client.create_application(clientToken=str(uuid.uuid4()), **config)
    application = created["applicationId"]
    try:
        start_emr_serverless_application(client, application, poll_seconds)
        document = start_emr_serverless_job(step, client, application, body, poll_seconds)
    except BaseException:
        # The job's own error is the one to report; a failed clean-up is only printed.
        end_emr_serverless_application(client, application, poll_seconds, quiet=True)
        raise
    end_emr_serverless_application(client, application, poll_seconds)
    return step_result(step, document)


def start_emr_serverless_job(step, client, application, body, poll_seconds):
    """Start the step's job run on ``application`` and wait for it to succeed."""
    import uuid

    job = {**body.get("JobConfig", {})}
    job.pop("applicationId", None)  # the SDK repeats ApplicationId in JobConfig
    job["executionRoleArn"] = body.get("ExecutionRoleArn", job.get("executionRoleArn"))
    job.setdefault("name", unique_name(step))
    run = client.start_job_run(applicationId=application, clientToken=str(uuid.uuid4()), **job)

    def describe():
        return client.get_job_run(applicationId=application, jobRunId=run["jobRunId"])["jobRun"]

    ended = {"SUCCESS", "FAILED", "CANCELLED"}
    try:
        described = wait_for(describe, lambda r: r["state"], {"SUCCESS"}, ended, poll_seconds)
    except RuntimeError as error:
        raise RuntimeError(f"step {step!r}: EMR Serverless job {run['jobRunId']} {error}") from None
    except BaseException:
        # The task ends without the job (the run was cancelled, or describing it failed):
        # cancel the job rather than leave it running unwatched, as SageMaker stops its steps.
        client.cancel_job_run(applicationId=application, jobRunId=run["jobRunId"])
        wait_for(describe, lambda r: r["state"], ended, set(), poll_seconds)
        raise
    return {"jobRun": described}


def start_emr_serverless_application(client, application, poll_seconds):
    """Wait until a new application is created, then start it and wait until it has started."""

    def describe():
        return client.get_application(applicationId=application)["application"]

    ready = {"CREATED", "STARTED"}
    created = wait_for(describe, lambda a: a["state"], ready, {"TERMINATED"}, poll_seconds)
    if created["state"] != "STARTED":
        client.start_application(applicationId=application)
        ended = {"STOPPED", "TERMINATED"}
        wait_for(describe, lambda a: a["state"], {"STARTED"}, ended, poll_seconds)


def end_emr_serverless_application(client, application, poll_seconds, quiet=False):
    """Stop ``application`` if it runs, then delete it; ``quiet`` prints a failure instead."""
    stable = {"CREATED", "STARTED", "STOPPED", "TERMINATED"}

    def describe():
        return client.get_application(applicationId=application)["application"]

    try:
        state = wait_for(describe, lambda a: a["state"], stable, set(), poll_seconds)["state"]
        if state == "STARTED":
            client.stop_application(applicationId=application)
            wait_for(describe, lambda a: a["state"], {"STOPPED"}, {"TERMINATED"}, poll_seconds)
        if state != "TERMINATED":
            client.delete_application(applicationId=application)
    except Exception as error:
        if not quiet:
            raise
        print(f"could not stop and delete EMR Serverless application {application}: {error}")


def run_lineage_step(step, request, context):
    """Create a Lineage step's actions, artifacts and contexts, then add its associations.

    An association end ``{"Name": n, "Type": t}`` is the entity of type t named n that this step
    created (SageMaker resolves it the same way); ``{"Arn": a}`` is any existing entity. The
    step's properties are the ARNs by name (``ActionArns['n']``...) and, in ``Associations``,
    the SourceArn and DestinationArn of each association added.
    """
    import json

    body = resolve(json.loads(request), context)
    client = aws_client("sagemaker")
    # request key: (entity type, create call, name field, ARN field of the answer)
    kinds = {
        "Actions": ("Action", "create_action", "ActionName", "ActionArn"),
        "Artifacts": ("Artifact", "create_artifact", "ArtifactName", "ArtifactArn"),
        "Contexts": ("Context", "create_context", "ContextName", "ContextArn"),
    }
    created = {"Action": {}, "Artifact": {}, "Context": {}}
    for key, (entity, create, name_field, arn_field) in kinds.items():
        for entity_request in body.get(key, []):
            answer = getattr(client, create)(**entity_request)
            if entity_request.get(name_field) is not None:
                created[entity][entity_request[name_field]] = answer[arn_field]

    def arn_of(end):
        if "Arn" in end:
            return end["Arn"]
        named = created.get(end.get("Type"), {})
        if end.get("Name") not in named:
            raise RuntimeError(
                f"step {step!r}: an association names {end.get('Type')} {end.get('Name')!r}, "
                "which the step does not create"
            )
        return named[end["Name"]]

    associations = []
    for association in body.get("Associations", []):
        call = {
            "SourceArn": arn_of(association["Source"]),
            "DestinationArn": arn_of(association["Destination"]),
        }
        if "AssociationType" in association:
            call["AssociationType"] = association["AssociationType"]
        answer = client.add_association(**call)
        associations.append(
            {"SourceArn": answer["SourceArn"], "DestinationArn": answer["DestinationArn"]}
        )
    document = {
        "ActionArns": created["Action"],
        "ArtifactArns": created["Artifact"],
        "ContextArns": created["Context"],
        "Associations": associations,
    }
    return step_result(step, document)


def evaluate_conditions(step, conditions, context):
    """A Condition step's branch, ``IfSteps`` when all of ``conditions`` (JSON text) hold
    (SageMaker ANDs the list), else ``ElseSteps``; and its result (its Outcome property)."""
    import json

    def number(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def comparable(left, right):
        # Numbers read from a JSON file or a Describe response may arrive as numeric text.
        if number(left) and isinstance(right, str):
            return left, float(right)
        if isinstance(left, str) and number(right):
            return float(left), right
        if (number(left) and number(right)) or type(left) is type(right):
            return left, right
        raise RuntimeError(f"step {step!r} cannot compare {left!r} with {right!r}")

    def equal(left, right):
        try:
            left, right = comparable(left, right)
        except (RuntimeError, ValueError):
            return False
        return left == right

    def holds(condition):
        kind = condition["Type"]
        if kind == "Not":
            return not holds(condition["Condition"])
        if kind == "Or":
            return any(holds(inner) for inner in condition["Conditions"])
        if kind == "In":
            query = resolve(condition["QueryValue"], context)
            return any(equal(query, resolve(item, context)) for item in condition["Values"])
        left = resolve(condition["LeftValue"], context)
        right = resolve(condition["RightValue"], context)
        if kind == "Equals":
            return equal(left, right)
        left, right = comparable(left, right)
        return {
            "GreaterThan": left > right,
            "GreaterThanOrEqualTo": left >= right,
            "LessThan": left < right,
            "LessThanOrEqualTo": left <= right,
        }[kind]

    outcome = all(holds(condition) for condition in json.loads(conditions))
    print(f"{step}: the conditions are {'met' if outcome else 'not met'}")
    return ("IfSteps" if outcome else "ElseSteps"), step_result(step, {"Outcome": outcome})


def fail_run(step, request, context):
    """A Fail step: end the run as failed, with the step's error message."""
    import json

    message = resolve(json.loads(request).get("ErrorMessage", ""), context)
    raise RuntimeError(f"step {step!r} failed the pipeline: {join_text(message)}")


def untranslated(step, request, context):
    """A placeholder for a step pipeglot cannot translate: it fails the run when it is reached."""
    import json

    body = json.loads(request)
    raise RuntimeError(
        f"step {step!r} ({body['Type']}) was not translated to Kubeflow: {body['Reason']}"
    )
