"""Answering a translated Callback step: the worker's side of pipeglot's callback protocol.

In SageMaker, a Callback step sends an SQS message to its ``SqsQueueUrl`` and waits until a
worker calls ``SendPipelineExecutionStepSuccess`` or ``SendPipelineExecutionStepFailure`` with
the message's token. Outside SageMaker there is no such API, so the Airflow and Kubeflow
translations (and anything else pipeglot writes) use this protocol instead:

1. **Request.** The step sends SageMaker's message shape, unchanged, to ``SqsQueueUrl``::

       {"token": TOKEN, "pipelineExecutionArn": RUN, "arguments": {...}, "status": "Executing"}

   ``arguments`` are the step's ``Arguments`` with every reference resolved; ``RUN`` stands in
   for the pipeline execution ARN (the orchestrator's run identifier).

2. **Token.** ``TOKEN`` is ``REPLY_QUEUE_URL + "#" + 32 hex digits``: it names the queue the
   answer goes to, so the worker needs nothing but the token, as with SageMaker. The reply
   queue is, by default, the request queue's URL with ``-replies`` appended (before ``.fifo``
   for a FIFO queue): :func:`reply_queue_url`. It must exist; create it next to the request
   queue.

3. **Reply.** The worker sends one SQS message to the reply queue: the message attribute
   ``CallbackToken`` (String) holds the token, the body is JSON::

       {"token": TOKEN, "status": "Succeeded", "outputParameters": [{"Name": n, "Value": v}]}
       {"token": TOKEN, "status": "Failed", "failureReason": "why"}

   ``outputParameters`` is SageMaker's ``OutputParameters`` list (at most 50, values are
   strings); ``failureReason`` is at most 256 characters, as in SageMaker.

4. **Wait.** The waiting task polls the reply queue (long polling, without holding a worker
   slot between polls), takes and deletes the message whose ``CallbackToken`` is its token,
   and hands every other message back at once (visibility timeout 0). On ``Succeeded`` its
   result is ``{"OutputParameters": {name: value}}`` (values converted to the step's declared
   ``OutputType``); on ``Failed`` it fails with the worker's reason.

The migration step for a worker is one line per call: replace
``sagemaker.send_pipeline_execution_step_success(CallbackToken=t, OutputParameters=p)`` by
``callback_worker.send_pipeline_execution_step_success(CallbackToken=t, OutputParameters=p)``
(and the same for ``..._failure``). This module needs only boto3; a worker may import it from
pipeglot or copy it.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

TOKEN_ATTRIBUTE = "CallbackToken"
REPLY_SUFFIX = "-replies"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
MAX_OUTPUT_PARAMETERS = 50
MAX_FAILURE_REASON = 256


def reply_queue_url(request_queue_url: str) -> str:
    """The default reply queue of a request queue: ``.../q`` -> ``.../q-replies``,
    ``.../q.fifo`` -> ``.../q-replies.fifo``."""
    if request_queue_url.endswith(".fifo"):
        return request_queue_url[: -len(".fifo")] + REPLY_SUFFIX + ".fifo"
    return request_queue_url + REPLY_SUFFIX


def new_token(reply_url: str) -> str:
    """A fresh token that names the queue its answer goes to."""
    return f"{reply_url}#{secrets.token_hex(16)}"


def token_reply_queue(token: str) -> str:
    """The reply queue named by ``token``."""
    url, separator, _ = token.rpartition("#")
    if not separator or not url:
        raise ValueError(f"not a pipeglot callback token: {token!r}")
    return url


def request_message(token: str, arguments: dict, execution: str) -> str:
    """The body of the message a Callback step sends (SageMaker's shape)."""
    message = {
        "token": token,
        "pipelineExecutionArn": execution,
        "arguments": arguments,
        "status": "Executing",
    }
    return json.dumps(message)


def reply_message(token: str, status: str, outputs: list | None = None, reason: str = "") -> str:
    """The body of a worker's answer."""
    body: dict[str, Any] = {"token": token, "status": status}
    if status == SUCCEEDED:
        body["outputParameters"] = list(outputs or [])
    else:
        body["failureReason"] = reason
    return json.dumps(body)


def send_pipeline_execution_step_success(
    CallbackToken: str,  # the same keywords as boto3's SageMaker client
    OutputParameters: list[dict[str, str]] | None = None,
    *,
    sqs_client: Any = None,
) -> dict:
    """Answer success, as SageMaker's ``SendPipelineExecutionStepSuccess`` does."""
    outputs = [{"Name": p["Name"], "Value": str(p["Value"])} for p in OutputParameters or []]
    if len(outputs) > MAX_OUTPUT_PARAMETERS:
        raise ValueError(f"at most {MAX_OUTPUT_PARAMETERS} output parameters, not {len(outputs)}")
    return _send(CallbackToken, reply_message(CallbackToken, SUCCEEDED, outputs), sqs_client)


def send_pipeline_execution_step_failure(
    CallbackToken: str,
    FailureReason: str = "",
    *,
    sqs_client: Any = None,
) -> dict:
    """Answer failure, as SageMaker's ``SendPipelineExecutionStepFailure`` does."""
    reason = FailureReason[:MAX_FAILURE_REASON]
    return _send(CallbackToken, reply_message(CallbackToken, FAILED, reason=reason), sqs_client)


def _send(token: str, body: str, sqs_client: Any) -> dict:
    if sqs_client is None:
        import boto3

        sqs_client = boto3.client("sqs")
    url = token_reply_queue(token)
    message: dict[str, Any] = {
        "QueueUrl": url,
        "MessageBody": body,
        "MessageAttributes": {TOKEN_ATTRIBUTE: {"DataType": "String", "StringValue": token}},
    }
    if url.endswith(".fifo"):
        message["MessageGroupId"] = token.rpartition("#")[2]
        message["MessageDeduplicationId"] = token.rpartition("#")[2]
    return sqs_client.send_message(**message)
