"""The object metadata the operator reads, spelled once: apimachinery's ``meta.Accessor``, small.

Role: controllers keep API objects as the cache's plain dicts (shared, never edited) and read
their metadata through :class:`ObjectMeta`, so ``metadata``'s JSON names (``creationTimestamp``,
``deletionTimestamp``) are written here only. Guarantees: never raises on a malformed object
(a missing or wrong-typed field reads as empty or zero). Non-goals: labels, annotations and
owner references (``api.v1alpha1.job`` writes those; ``controller.jobs`` reads them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ObjectMeta", "name_of"]


@dataclass(frozen=True, slots=True)
class ObjectMeta:
    """What a controller reads from ``metadata``; timestamps are RFC 3339 strings, ``""``
    when unset, and ``generation`` is 0 when unset."""

    name: str
    namespace: str
    uid: str
    generation: int
    creation_timestamp: str
    deletion_timestamp: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectMeta:
        """The metadata of ``obj`` (an API object as a dict)."""
        meta = obj.get("metadata")
        if not isinstance(meta, Mapping):
            meta = {}
        generation = meta.get("generation")
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            uid=str(meta.get("uid", "")),
            generation=generation if isinstance(generation, int) else 0,
            creation_timestamp=str(meta.get("creationTimestamp") or ""),
            deletion_timestamp=str(meta.get("deletionTimestamp") or ""),
        )


def name_of(obj: Mapping[str, Any]) -> str:
    """``metadata.name`` alone: the one read a controller makes of every Job it lists."""
    meta = obj.get("metadata")
    return str(meta.get("name", "")) if isinstance(meta, Mapping) else ""
