"""AWS clients and AWS errors, for the service frontend and ``pipeglot deploy``.

boto3 is imported only here, and only when an AWS command runs. Every failure of a call
becomes one AwsError (exit code 2) that says what was being done, what AWS answered, and what
to check, never a botocore traceback.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from pipeglot.errors import InputError, UsageError

_ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
_THROTTLED = (
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
)
_BAD_CREDENTIALS = (
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
)
_NOT_FOUND = ("ResourceNotFound", "ResourceNotFoundException", "StateMachineDoesNotExist")


class AwsError(InputError):
    """An AWS call failed: access denied, throttled, not found, no credentials, no network."""


def client(service: str, region: str | None = None) -> Any:
    """A boto3 client; the region comes from ``region`` or else the usual AWS configuration."""
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, NoRegionError
    except ImportError:
        raise UsageError(
            "talking to AWS needs boto3; install it with pip install 'pipeglot[aws]'"
        ) from None
    try:
        # A new session each time: boto3's default one caches the credentials it first found.
        return boto3.session.Session(region_name=region).client(service)
    except NoRegionError:
        raise AwsError(
            "no AWS region is configured; set AWS_REGION (or AWS_DEFAULT_REGION), "
            "or give an ARN, which names its region"
        ) from None
    except BotoCoreError as error:
        raise AwsError(f"cannot create the {service} client: {error}") from None


@contextlib.contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """Turn botocore's exceptions raised while doing ``action`` into one clear AwsError."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    try:
        yield
    except ClientError as error:
        raise AwsError(describe_client_error(error, action)) from None
    except (NoCredentialsError, PartialCredentialsError):
        raise AwsError(
            f"{action}: no AWS credentials were found; configure them (aws configure, "
            "AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        ) from None
    except EndpointConnectionError as error:
        raise AwsError(
            f"{action}: cannot reach AWS ({error}); check the network and the region"
        ) from None
    except BotoCoreError as error:
        raise AwsError(f"{action}: {error}") from None


def describe_client_error(error: Any, action: str) -> str:
    """One sentence for a botocore ClientError: what failed, AWS's words, what to do."""
    details = error.response.get("Error", {})
    code = details.get("Code", "")
    message = _plain(details.get("Message", "") or str(error))
    operation = getattr(error, "operation_name", "the call")
    if code in _ACCESS_DENIED or code == "403":
        return (
            f"{action}: access denied ({message}); the AWS identity in use needs permission "
            f"for {operation}"
        )
    if code in _THROTTLED:
        return (
            f"{action}: AWS throttled {operation} even after retries ({message}); try again later"
        )
    if code in _BAD_CREDENTIALS:
        return (
            f"{action}: the AWS credentials were rejected ({message}); refresh or reconfigure them"
        )
    if code in _NOT_FOUND or is_not_found(error):
        return f"{action}: not found ({message}); check the name, the account and the region"
    return f"{action}: AWS answered {code or 'an error'} to {operation}: {message}"


def _plain(message: str) -> str:
    """AWS's message; an error body botocore could not parse (XML for a JSON API) is reduced."""
    if message.lstrip().startswith("<"):
        found = re.search(r"<Message>(.*?)</Message>", message, re.DOTALL)
        return found.group(1).strip() if found else "no message"
    return message


def is_not_found(error: Any) -> bool:
    """Whether a ClientError says the resource does not exist (SageMaker says it in prose)."""
    details = error.response.get("Error", {})
    if details.get("Code") in _NOT_FOUND:
        return True
    text = details.get("Message", "").lower()
    return details.get("Code") == "ValidationException" and any(
        phrase in text for phrase in ("does not exist", "could not find", "not found")
    )
