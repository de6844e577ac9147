"""API errors as the real API server reports them: a ``Status`` object and an HTTP code.

Every failure the emulator answers is an :class:`ApiStatusError` carrying the ``Status`` body
(``kind: Status``, ``status: Failure``, ``reason``, ``message``, ``details``, ``code``) shaped
like ``k8s.io/apimachinery/pkg/api/errors``: messages such as ``jobs.batch "x" not found`` and
``Job.batch "x" is invalid: spec.template: Invalid value: ...: field is immutable``.

Non-goals: localisation. (The protobuf form of a ``Status`` is :mod:`emulator.protobuf`'s.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ApiStatusError",
    "Cause",
    "already_exists",
    "bad_request",
    "conflict",
    "forbidden",
    "gone",
    "invalid",
    "not_found",
    "patch_rejected",
    "qualified",
    "status_body",
]


@dataclass(frozen=True, kw_only=True)
class Cause:
    """One entry of ``details.causes``: ``field``, ``reason`` (``FieldValue*``), ``message``."""

    field: str
    reason: str
    message: str


def status_body(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A ``Status`` object (``status: Failure``) as the API server writes it."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


class ApiStatusError(Exception):
    """An answer other than success: the HTTP code, the ``Status`` body and extra headers."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.body = status_body(code, reason, message, details)
        self.headers = dict(headers or {})


def qualified(group: str, resource: str) -> str:
    """``jobs.batch``; core resources are just ``secrets``."""
    return f"{resource}.{group}" if group else resource


def _details(group: str, kind: str, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return details


def not_found(group: str, resource: str, name: str) -> ApiStatusError:
    """404 ``NotFound``; ``details.kind`` is the resource, as ``errors.NewNotFound`` sets it."""
    message = f'{qualified(group, resource)} "{name}" not found'
    return ApiStatusError(404, "NotFound", message, _details(group, resource, name))


def already_exists(group: str, resource: str, name: str) -> ApiStatusError:
    """409 ``AlreadyExists`` on a create whose name is taken."""
    message = f'{qualified(group, resource)} "{name}" already exists'
    return ApiStatusError(409, "AlreadyExists", message, _details(group, resource, name))


def conflict(group: str, resource: str, name: str, why: str | None = None) -> ApiStatusError:
    """409 ``Conflict``: a stale resourceVersion or a failed precondition."""
    why = why or (
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    )
    message = f'Operation cannot be fulfilled on {qualified(group, resource)} "{name}": {why}'
    return ApiStatusError(409, "Conflict", message, _details(group, resource, name))


def patch_rejected() -> ApiStatusError:
    """422 for a JSON patch that does not apply: ``errors.NewGenericServerResponse``'s words for
    a 422 with empty ``details``; the patch's own error is not in the answer."""
    message = "the server rejected our request due to an error in our request"
    return ApiStatusError(422, "Invalid", message, {})


def invalid(group: str, kind: str, name: str, causes: list[Cause]) -> ApiStatusError:
    """422 ``Invalid`` with ``details.causes``; message as ``errors.NewInvalid`` builds it."""
    # field.ErrorList.ToAggregate drops repeated texts from the message; causes keep them.
    parts = list(dict.fromkeys(f"{c.field}: {c.message}" if c.field else c.message for c in causes))
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    message = f'{qualified(group, kind)} "{name}" is invalid: {joined}'
    details = _details(group, kind, name)
    details["causes"] = [
        {"reason": c.reason, "message": c.message, "field": c.field} for c in causes
    ]
    return ApiStatusError(422, "Invalid", message, details)


def gone(message: str) -> ApiStatusError:
    """410 ``Expired``: a resourceVersion or continue token older than retained history."""
    return ApiStatusError(410, "Expired", message)


def bad_request(message: str) -> ApiStatusError:
    """400 ``BadRequest``."""
    return ApiStatusError(400, "BadRequest", message)


def forbidden(group: str, resource: str, name: str, message: str) -> ApiStatusError:
    """403 ``Forbidden`` with the full message already built by the caller."""
    return ApiStatusError(403, "Forbidden", message, _details(group, resource, name))
