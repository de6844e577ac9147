"""The error tree over the Kubernetes API's HTTP failures.

Every failed request surfaces as one :class:`ApiError` subclass chosen from the HTTP status
(and, for 409, the ``Status.reason``), so callers branch on *what happened* rather than on
numbers. When a request got no answer, the transport's exception is chained as ``__cause__``
of the :class:`TransportError`.

::

    ApiError
    ├── NotFound            404
    ├── AlreadyExists       409, reason AlreadyExists
    ├── Conflict            409, any other reason (stale resourceVersion)
    ├── Gone                410 (resourceVersion too old: relist)
    ├── Invalid             422 (carries the field causes)
    ├── Forbidden           403
    ├── Unauthorized        401
    ├── BadRequest          400
    ├── TooManyRequests     429 (carries Retry-After)
    ├── ServerError         5xx (carries Retry-After when the server sent one)
    └── TransportError      no HTTP answer at all (connection refused, reset, timeout)

This module does no I/O; it only classifies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "Cause",
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "NotFound",
    "ServerError",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "error_from_response",
    "ignore_already_exists",
    "ignore_not_found",
    "is_retryable",
]


@dataclass(frozen=True, slots=True)
class Cause:
    """One ``Status.details.causes`` entry: what is wrong (``message``) and where (``field``)."""

    reason: str
    message: str
    field: str


class ApiError(Exception):
    """A request to the API server failed; ``status`` is the HTTP code (0 when there was none)."""

    status: int = 0

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str = "",
        causes: tuple[Cause, ...] = (),
        retry_after: float | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message
        self.reason = reason
        self.causes = causes
        self.retry_after = retry_after
        self.body = body or {}


class NotFound(ApiError):
    status = 404


class AlreadyExists(ApiError):
    status = 409


class Conflict(ApiError):
    status = 409


class Gone(ApiError):
    status = 410


class Invalid(ApiError):
    status = 422


class Forbidden(ApiError):
    status = 403


class Unauthorized(ApiError):
    status = 401


class BadRequest(ApiError):
    status = 400


class TooManyRequests(ApiError):
    status = 429


class ServerError(ApiError):
    status = 500


class TransportError(ApiError):
    """No HTTP response: the connection failed, was reset, or timed out."""

    status = 0


# The kinds a status code alone decides (409 also needs the reason; 5xx is a range).
_BY_STATUS: dict[int, type[ApiError]] = {
    cls.status: cls
    for cls in (BadRequest, Unauthorized, Forbidden, NotFound, Gone, Invalid, TooManyRequests)
}


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_from_response(
    status: int, body: bytes | str | None, retry_after_header: str | None = None
) -> ApiError:
    """Classify a non-2xx response. The body is a ``Status`` object when the server sent one."""
    parsed: dict[str, Any] = {}
    if body:
        try:
            loaded = json.loads(body)
            if isinstance(loaded, dict):
                parsed = loaded
        except ValueError:
            parsed = {}
    reason = str(parsed.get("reason", ""))
    message = str(parsed.get("message") or (body.decode() if isinstance(body, bytes) else body))
    details = parsed.get("details") or {}
    causes = tuple(
        Cause(
            reason=str(c.get("reason", "")),
            message=str(c.get("message", "")),
            field=str(c.get("field", "")),
        )
        for c in details.get("causes") or ()
        if isinstance(c, dict)
    )
    retry_after = _parse_retry_after(retry_after_header)
    if retry_after is None and isinstance(details.get("retryAfterSeconds"), int):
        retry_after = float(details["retryAfterSeconds"])
    cls: type[ApiError]
    if status == 409:
        cls = AlreadyExists if reason == "AlreadyExists" else Conflict
    elif status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, ApiError)
    text = f"{status} {reason}: {message}" if reason else f"{status}: {message}"
    return cls(
        text,
        status=status,
        reason=reason,
        causes=causes,
        retry_after=retry_after,
        body=parsed,
    )


def is_retryable(err: BaseException) -> bool:
    """True for failures that a later identical request may not hit (client-go's view)."""
    return isinstance(err, (ServerError, TooManyRequests, TransportError, Conflict))


def ignore_not_found(err: BaseException) -> None:
    """Re-raise ``err`` unless it is :class:`NotFound` (controller-runtime's ``IgnoreNotFound``)."""
    if not isinstance(err, NotFound):
        raise err


def ignore_already_exists(err: BaseException) -> None:
    """Re-raise ``err`` unless it is :class:`AlreadyExists`."""
    if not isinstance(err, AlreadyExists):
        raise err
