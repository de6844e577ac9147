"""Which kind lives at which REST path.

A :class:`ResourceType` names one served resource (group, version, kind, plural, scope) and
builds its URL paths exactly as the API server lays them out (``/api/v1/...`` for the core
group, ``/apis/<group>/<version>/...`` otherwise). A :class:`Scheme` is the registry of the
types a Manager knows; it holds no objects and does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

__all__ = ["BUILTIN_TYPES", "EVENTS", "JOBS", "LEASES", "ResourceType", "Scheme"]


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One served resource: ``group`` is ``""`` for the core API group."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """The ``apiVersion`` field value (``v1`` for core, ``<group>/<version>`` otherwise)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``<plural>.<group>`` (just ``<plural>`` for core), as RBAC and errors spell it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def _prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def collection_path(self, namespace: str | None = None) -> str:
        """The list/create/watch path; ``namespace=None`` on a namespaced type means all."""
        if self.namespaced and namespace:
            return f"{self._prefix()}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{self._prefix()}/{self.plural}"

    def object_path(self, namespace: str | None, name: str, subresource: str = "") -> str:
        """The path of one object, or of one of its subresources (``status``)."""
        if self.namespaced and not namespace:
            raise ValueError(f"{self.kind} is namespaced: a namespace is required for {name!r}")
        path = f"{self.collection_path(namespace)}/{quote(name, safe='')}"
        return f"{path}/{subresource}" if subresource else path


JOBS = ResourceType("batch", "v1", "Job", "jobs")
LEASES = ResourceType("coordination.k8s.io", "v1", "Lease", "leases")
EVENTS = ResourceType("events.k8s.io", "v1", "Event", "events")
BUILTIN_TYPES: tuple[ResourceType, ...] = (JOBS, LEASES, EVENTS)


@dataclass
class Scheme:
    """A registry of the resource types a Manager serves, looked up by ``(apiVersion, kind)``."""

    _types: dict[tuple[str, str], ResourceType] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rt in BUILTIN_TYPES:
            self.register(rt)

    def register(self, rt: ResourceType) -> None:
        """Add a type; the same (apiVersion, kind) registered with another shape fails."""
        key = (rt.api_version, rt.kind)
        existing = self._types.get(key)
        if existing is not None and existing != rt:
            raise ValueError(f"{rt.kind} in {rt.api_version} is already registered as {existing}")
        self._types[key] = rt

    def for_kind(self, api_version: str, kind: str) -> ResourceType:
        """The type registered for ``(apiVersion, kind)``; ``KeyError`` names what is missing."""
        try:
            return self._types[(api_version, kind)]
        except KeyError:
            raise KeyError(f"no resource type registered for {kind} in {api_version}") from None

    def for_object(self, obj: dict[str, object]) -> ResourceType:
        """The type of a plain-dict object from its ``apiVersion`` and ``kind``."""
        return self.for_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))

    def types(self) -> tuple[ResourceType, ...]:
        return tuple(self._types.values())
