"""Validation of Events, as ``pkg/apis/core/validation/events.go`` does it.

Role: the create and update rules of the two Event APIs. Upstream validates the internal
``core.Event`` for both, so the field paths in its errors are the internal names (``type``,
``message``, ``involvedObject.namespace``, ``firstTimestamp``) whichever API was called. The
rules run on the stored core ``v1`` form (:mod:`emulator.event_conversion`), whose names are the
internal ones but for ``reportingComponent``.

* every Event (``legacyValidateEvent``): one with an ``eventTime`` needs ``reportingController``
  (``reportingComponent`` when called through core ``v1``) as a qualified name,
  ``reportingInstance``, ``action`` and ``reason`` (each at most 128 characters) and a
  ``message`` of at most 1024; ``involvedObject.namespace`` agrees with the Event's namespace;
* ``events.k8s.io/v1`` creates (``ValidateEventCreate``), additionally: ``eventTime`` required;
  ``type`` ``Normal`` or ``Warning``; the deprecated count, timestamps and source unset; a
  ``series`` with ``count`` of at least 2 and a ``lastObservedTime``;
* ``events.k8s.io/v1`` updates (``ValidateEventUpdate``): the legacy rules, a changed ``series``
  valid, everything else immutable.

Non-goals: object-metadata validation (:mod:`emulator.builtins` does it for every kind).
"""

from __future__ import annotations

from typing import Any

from emulator.builtins import invalid, required
from emulator.errors import Cause
from emulator.event_conversion import CORE_EVENTS, EVENTS_GROUP
from emulator.names import qualified_name_problems
from emulator.resources import ResourceInfo

__all__ = ["validate_event", "validate_event_update"]

REPORTING_INSTANCE_LENGTH_LIMIT = 128  # pkg/apis/core/validation/events.go
ACTION_LENGTH_LIMIT = 128
REASON_LENGTH_LIMIT = 128
NOTE_LENGTH_LIMIT = 1024
# Compared on update through events.k8s.io/v1, in upstream's order.
IMMUTABLE = (
    "involvedObject",
    "reason",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
    "type",
    "eventTime",
    "action",
    "related",
    "reportingController",
    "reportingInstance",
)


def _internal(obj: dict[str, Any]) -> dict[str, Any]:
    """A stored (core ``v1``) Event under the internal names: ``reportingController``."""
    out = dict(obj)
    out["reportingController"] = out.pop("reportingComponent", None)
    return out


def _qualified_name(path: str, value: str) -> list[Cause]:
    """``ValidateQualifiedName``: one cause per problem."""
    return [invalid(path, value, problem) for problem in qualified_name_problems(value)]


def _too_long(event: dict[str, Any], field: str, limit: int) -> list[Cause]:
    if len(str(event.get(field) or "")) > limit:
        return [invalid(field, "", f"can have at most {limit} characters")]
    return []


def _legacy(event: dict[str, Any], namespace: str, via_core: bool) -> list[Cause]:
    """``legacyValidateEvent``."""
    causes: list[Cause] = []
    involved_ns = str((event.get("involvedObject") or {}).get("namespace") or "")
    mismatch = invalid("involvedObject.namespace", involved_ns, "does not match event.namespace")
    if not event.get("eventTime"):
        if (not involved_ns and namespace not in ("", "default")) or (
            involved_ns and namespace != involved_ns
        ):
            causes.append(mismatch)
        return causes
    if not involved_ns and namespace not in ("default", "kube-system"):
        causes.append(mismatch)
    controller_path = "reportingComponent" if via_core else "reportingController"
    controller = str(event.get("reportingController") or "")
    if not controller:
        causes.append(required(controller_path))
    causes += _qualified_name(controller_path, controller)
    for field, limit in (
        ("reportingInstance", REPORTING_INSTANCE_LENGTH_LIMIT),
        ("action", ACTION_LENGTH_LIMIT),
        ("reason", REASON_LENGTH_LIMIT),
    ):
        if not event.get(field):
            causes.append(required(field))
        causes += _too_long(event, field, limit)
    causes += _too_long(event, "message", NOTE_LENGTH_LIMIT)
    return causes


def _series(event: dict[str, Any]) -> list[Cause]:
    """``validateV1EventSeries``."""
    series = event.get("series")
    if not series:
        return []
    causes: list[Cause] = []
    if int(series.get("count") or 0) < 2:
        causes.append(invalid("series.count", "", "should be at least 2"))
    if not series.get("lastObservedTime"):
        causes.append(required("series.lastObservedTime"))
    return causes


def validate_event(info: ResourceInfo, obj: dict[str, Any]) -> list[Cause]:
    """The create rules of the Event API ``info`` names (``obj`` in its stored, core ``v1``
    form); [] for any other kind."""
    if info.storage_key != CORE_EVENTS:
        return []
    event = _internal(obj)
    namespace = str((obj.get("metadata") or {}).get("namespace") or "")
    causes = _legacy(event, namespace, via_core=info.group != EVENTS_GROUP)
    if info.group != EVENTS_GROUP:
        return causes  # "No further validation for backwards compatibility."
    causes += _series(event)
    if not event.get("eventTime"):
        causes.append(required("eventTime"))
    if event.get("type") not in ("Normal", "Warning"):
        causes.append(invalid("type", "", f"has invalid value: {event.get('type') or ''}"))
    for field in ("firstTimestamp", "lastTimestamp", "count", "source"):
        if event.get(field):
            causes.append(invalid(field, "", "needs to be unset"))
    return causes


def validate_event_update(
    info: ResourceInfo, old: dict[str, Any], new: dict[str, Any]
) -> list[Cause]:
    """The update rules of the Event API ``info`` names; [] for any other kind."""
    if info.storage_key != CORE_EVENTS:
        return []
    before, after = _internal(old), _internal(new)
    namespace = str((new.get("metadata") or {}).get("namespace") or "")
    causes = _legacy(after, namespace, via_core=info.group != EVENTS_GROUP)
    if info.group != EVENTS_GROUP:
        return causes
    if before.get("series") != after.get("series"):
        causes += _series(after)
    for field in IMMUTABLE:
        if before.get(field) != after.get(field):
            causes.append(invalid(field, after.get(field), "field is immutable"))
    return causes
