"""Retry with backoff around single calls that may hit a transient fault
(S3/SQS throttling or 5xx, a dropped connection, a database failover)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from sqlalchemy.exc import OperationalError
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

T = TypeVar("T")

_TRANSIENT_AWS_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "SlowDown", "RequestTimeout", "RequestTimeoutException", "ServiceUnavailable",
    "InternalError", "InternalFailure", "KMS.ThrottlingException",
}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, EndpointConnectionError | ConnectionClosedError | ReadTimeoutError):
        return True
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in _TRANSIENT_AWS_CODES or status >= 500
    return False


def transient_retry(attempts: int = 5, max_wait_s: float = 20.0) -> Callable[[T], T]:
    """Decorator: retry the call on transient faults with jittered exponential backoff."""
    return retry(  # type: ignore[return-value]
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(initial=0.5, max=max_wait_s),
        reraise=True,
    )


def call_with_retry(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return transient_retry()(fn)(*args, **kwargs)
