"""One Event, two APIs: core ``v1`` and ``events.k8s.io/v1`` over the same stored objects.

Role: the real server stores every Event once (as the internal ``core.Event``) and serves it
through both APIs, converting on the way in and out (``pkg/apis/events/v1/conversion.go``):
``regarding`` is ``involvedObject``, ``note`` is ``message``, ``deprecatedSource``/``Count``/
``FirstTimestamp``/``LastTimestamp`` are ``source``/``count``/``firstTimestamp``/
``lastTimestamp``, and ``reportingController`` is spelled ``reportingComponent`` in core ``v1``.
The emulator stores the core ``v1`` form; :func:`to_core` converts a request made through
``events.k8s.io/v1`` and :func:`to_events_v1` converts what it reads back.

Both encoders write what the Go types write: an empty struct as ``{}`` (``source``,
``deprecatedSource``, ``involvedObject``), an unset time as ``null``, and core ``v1``'s
``reportingComponent``/``reportingInstance`` as ``""`` (no ``omitempty``); fields with
``omitempty`` are left out when empty. Objects are never mutated. Non-goals: ``v1beta1``.
"""

from __future__ import annotations

from typing import Any

from emulator.resources import ResourceInfo

__all__ = [
    "CORE_EMPTY",
    "CORE_EVENTS",
    "EVENTS_GROUP",
    "EVENTS_V1_API",
    "V1_EMPTY",
    "normalize_core",
    "served_form",
    "stored_form",
    "to_core",
    "to_events_v1",
]

CORE_EVENTS = ("", "events")  # the storage key of both APIs' Events
EVENTS_GROUP = "events.k8s.io"
EVENTS_V1_API = f"{EVENTS_GROUP}/v1"
# events.k8s.io/v1 wire name -> core v1 wire name.
V1_TO_CORE = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedCount": "count",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "reportingController": "reportingComponent",
}
CORE_TO_V1 = {core: v1 for v1, core in V1_TO_CORE.items()}
SHARED = ("eventTime", "series", "reportingInstance", "action", "reason", "related", "type")
# How each Go field encodes when empty: "{}" struct, "null" time, "" string, omitted otherwise.
CORE_EMPTY: dict[str, Any] = {
    "involvedObject": {},
    "source": {},
    "firstTimestamp": None,
    "lastTimestamp": None,
    "eventTime": None,
    "reportingComponent": "",
    "reportingInstance": "",
}
V1_EMPTY: dict[str, Any] = {
    "eventTime": None,
    "regarding": {},
    "deprecatedSource": {},
    "deprecatedFirstTimestamp": None,
    "deprecatedLastTimestamp": None,
}


def _encode(fields: dict[str, Any], empty: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in fields.items() if v not in (None, "", 0, {}, [])}
    for name, value in empty.items():
        if name not in out:
            out[name] = value
    return out


def _envelope(obj: dict[str, Any], api_version: str) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "Event", "metadata": obj.get("metadata") or {}}


def to_core(obj: dict[str, Any]) -> dict[str, Any]:
    """The core ``v1`` form of an ``events.k8s.io/v1`` Event."""
    fields = {core: obj.get(v1) for v1, core in V1_TO_CORE.items()}
    fields.update({name: obj.get(name) for name in SHARED})
    return {**_envelope(obj, "v1"), **_encode(fields, CORE_EMPTY)}


def to_events_v1(obj: dict[str, Any]) -> dict[str, Any]:
    """The ``events.k8s.io/v1`` form of a core ``v1`` Event."""
    fields = {v1: obj.get(core) for core, v1 in CORE_TO_V1.items()}
    fields.update({name: obj.get(name) for name in SHARED})
    return {**_envelope(obj, EVENTS_V1_API), **_encode(fields, V1_EMPTY)}


def normalize_core(obj: dict[str, Any]) -> dict[str, Any]:
    """A core ``v1`` Event as the server writes it back (the empty-field encoding)."""
    fields = {name: obj.get(name) for name in (*CORE_TO_V1, *SHARED)}
    return {**_envelope(obj, "v1"), **_encode(fields, CORE_EMPTY)}


def stored_form(info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
    """What the emulator stores for ``obj`` written through the API of ``info``."""
    if info.storage_key != CORE_EVENTS:
        return obj
    return to_core(obj) if info.group == EVENTS_GROUP else normalize_core(obj)


def served_form(info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
    """A stored object as the API of ``info`` serves it."""
    return to_events_v1(obj) if info.group == EVENTS_GROUP else obj
