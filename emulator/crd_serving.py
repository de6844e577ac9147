"""What a stored CRD does to the API: its status, the versions it serves and their schemas.

Written from the CRD docs: a CRD that is written is ``NamesAccepted`` and ``Established`` at
once (the emulator has no naming controller racing other CRDs), its ``acceptedNames`` are its
``spec.names`` and ``storedVersions`` are kept by :func:`emulator.crd_validation.stored_versions`.
Storing it serves its versions (:class:`emulator.resources.Registry`) with each version's
structural schema (:class:`emulator.schema.StructuralSchema`) for defaulting, pruning and
validation; removing it stops serving them and drops their objects.

Callers hold the storage lock. Non-goals: conversion webhooks, name conflicts between CRDs.
"""

from __future__ import annotations

from typing import Any

from emulator.crd_validation import stored_versions
from emulator.resources import Registry, ResourceInfo, crd_resource_infos
from emulator.schema import StructuralSchema
from emulator.storage import Storage

__all__ = ["CrdServing", "crd_status"]


def crd_status(crd: dict[str, Any], now: str) -> None:
    """Set ``crd``'s status as written (its conditions, once set, are kept)."""
    spec = crd.get("spec") or {}
    conditions = [
        {"type": t, "status": "True", "reason": r, "message": m, "lastTransitionTime": now}
        for t, r, m in (
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        )
    ]
    old = crd.get("status") or {}
    if old.get("conditions"):
        conditions = old["conditions"]
    crd["status"] = {
        "acceptedNames": spec.get("names") or {},
        "conditions": conditions,
        "storedVersions": stored_versions(crd, crd),
    }


class CrdServing:
    """The served versions of stored CRDs and the schema of each."""

    def __init__(self, *, storage: Storage, registry: Registry) -> None:
        self._storage = storage
        self._registry = registry
        self._schemas: dict[tuple[str, str, str], StructuralSchema] = {}

    def schema(self, info: ResourceInfo) -> StructuralSchema | None:
        """The structural schema of a custom resource's version; None for built-ins."""
        return self._schemas.get((info.group, info.version, info.plural)) if info.custom else None

    def serve(self, crd: dict[str, Any]) -> None:
        infos = crd_resource_infos(crd)
        for version in crd["spec"].get("versions") or []:
            key = (crd["spec"]["group"], version["name"], crd["spec"]["names"]["plural"])
            self._schemas[key] = StructuralSchema.from_crd_version(version)
        self._registry.set_crd(crd["metadata"]["name"], infos)
        if infos:
            self._storage.start_history(infos[0].storage_key)

    def unserve(self, crd: dict[str, Any]) -> None:
        removed = self._registry.remove_crd(crd["metadata"]["name"])
        for info in removed:
            self._schemas.pop((info.group, info.version, info.plural), None)
        if removed:
            self._storage.drop_collection(removed[0].storage_key)
