"""What every root type of this API shares: type metadata, object metadata, decoding, a name bound.

Role: :class:`RootObject` declares ``apiVersion``, ``kind`` and ``metadata`` (kept as plain
data, as the API server owns it) once for ``DatabaseBackup`` and ``DatabaseRestore``, with
``from_dict`` and the metadata reads; :func:`name_length_rule` is the CRD rule that bounds
``metadata.name`` so the Jobs named after an object stay valid.
Guarantees: subclasses list these fields first, in this order, as the CRD schema always has.
"""

# Fields are declared with ``prop()``, a ``dataclasses.field`` wrapper ruff cannot see through.

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from api.v1alpha1.markers import Rule, decode, prop

__all__ = ["RootObject", "name_length_rule"]


def name_length_rule(limit: int, message: str) -> Rule:
    """``metadata.name`` at most ``limit`` characters (the CRD cannot bound it otherwise)."""

    def fits(value: Any) -> bool:
        meta = (value.get("metadata") or {}) if isinstance(value, Mapping) else {}
        return len(str(meta.get("name", ""))) <= limit

    return Rule(
        cel=f"size(self.metadata.name) <= {limit}",
        message=message,
        check=fits,
        report_path="metadata.name",
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class RootObject:
    """The fields and reads of a root type; ``metadata`` is kept as plain data."""

    api_version: str | None = prop(
        "APIVersion defines the versioned schema of this representation of an object.",
        max_length=64,
    )
    kind: str | None = prop(
        "Kind is a string value representing the REST resource this object represents.",
        max_length=64,
    )
    metadata: Mapping[str, Any] = prop("Standard object metadata.", factory=dict)

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Self:
        """Decode an API object, applying the CRD's defaults (raises ``DecodeError``)."""
        return decode(cls, obj, "")

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    @property
    def uid(self) -> str:
        return str(self.metadata.get("uid", ""))
