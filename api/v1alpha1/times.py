"""Times as the API writes them: RFC 3339 in UTC with a ``Z`` (``metav1.Time``).

Role: the one place a time becomes the string the operator writes (Job annotations, the
contract's ``BACKUP_SCHEDULED_TIME``, status fields, the runner's manifests) and such a
string becomes a time again. Two readers, named by what they do with a bad value:
:func:`parse_time` (an API object's field, where a missing or foreign value means "unknown")
answers None; :func:`parse_rfc3339` (an input that must be right, such as the runner's
configuration) raises. Guarantees: pure, stdlib only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["RFC3339_SECONDS", "format_time", "parse_rfc3339", "parse_time"]

RFC3339_SECONDS = "%Y-%m-%dT%H:%M:%SZ"  # metav1.Time's layout: whole seconds, UTC


def format_time(when: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, whole seconds (``2025-03-27T01:00:00Z``).

    Raises ``ValueError`` for a naive ``when``: its instant is unknown.
    """
    if when.tzinfo is None:
        raise ValueError("scheduled time must be timezone-aware")
    return when.astimezone(UTC).strftime(RFC3339_SECONDS)


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp from the API (``2025-03-27T01:00:00Z``) as an aware datetime, or
    None when ``value`` is missing, not a string, unreadable or without a zone."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def parse_rfc3339(value: str) -> datetime:
    """An RFC 3339 time (``2025-03-27T01:00:00Z`` or with an offset) as an aware UTC datetime;
    ``ValueError`` when it is unreadable or has no zone."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no time zone")
    return parsed.astimezone(UTC)
