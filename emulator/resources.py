"""What the emulator serves: resource types, their discovery data and storage identity.

A :class:`ResourceInfo` describes one served group/version/resource: kind, scope, short names,
categories, verbs, whether it has a ``status`` subresource, whether it is a custom resource
(custom resources refuse strategic merge patch with 415, as the real server does) and its
default garbage-collection policy. :data:`BUILTINS` lists the built-in types; CRDs add and remove
entries at run time through :class:`Registry`.

Storage identity is ``(group, resource)``: every version of a custom resource shares one
collection, and reading through a version only rewrites ``apiVersion`` (the CRD ``None``
conversion strategy). Non-goals: conversion webhooks, aggregated API servers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from emulator.table import PrinterColumn, crd_columns

__all__ = [
    "ALL_VERBS",
    "BACKGROUND",
    "BUILTINS",
    "CRD_KEY",
    "FOREGROUND",
    "NAMESPACE_KEY",
    "ORPHAN",
    "Registry",
    "ResourceInfo",
    "crd_resource_infos",
]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
ORPHAN = "Orphan"
BACKGROUND = "Background"
FOREGROUND = "Foreground"
# The storage keys of the two types whose objects change how others are served.
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY = ("", "namespaces")


@dataclass(frozen=True, kw_only=True)
class ResourceInfo:
    """One served resource of one group/version."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    status_subresource: bool = False
    custom: bool = False
    # batch/v1 Jobs orphan their dependents when a client names no policy (registry/batch/job
    # strategy.go, kept for backward compatibility); everything else we serve is Background.
    default_gc_policy: str = BACKGROUND
    # Served from another group's storage, converted on the way (events.k8s.io Events are
    # core Events: emulator.event_conversion).
    storage_group: str | None = None
    # Custom resources: the CRD version's printer columns (server-side ``Table`` output).
    printer_columns: tuple[PrinterColumn, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_api_version(self) -> str:
        """The apiVersion of the stored objects (``api_version`` unless stored elsewhere)."""
        if self.storage_group is None:
            return self.api_version
        return f"{self.storage_group}/{self.version}" if self.storage_group else self.version

    @property
    def storage_key(self) -> tuple[str, str]:
        group = self.group if self.storage_group is None else self.storage_group
        return (group, self.plural)

    @property
    def group_version(self) -> tuple[str, str]:
        return (self.group, self.version)


def _builtin(group: str, version: str, kind: str, plural: str, **kw: Any) -> ResourceInfo:
    return ResourceInfo(
        group=group, version=version, kind=kind, plural=plural, singular=kind.lower(), **kw
    )


BUILTINS: tuple[ResourceInfo, ...] = (
    _builtin("", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",),
             verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
             status_subresource=True),
    _builtin("", "v1", "Secret", "secrets", namespaced=True),
    _builtin("", "v1", "ConfigMap", "configmaps", namespaced=True, short_names=("cm",)),
    _builtin("", "v1", "ServiceAccount", "serviceaccounts", namespaced=True,
             short_names=("sa",)),
    _builtin("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", namespaced=True,
             short_names=("pvc",), status_subresource=True),
    _builtin("", "v1", "Event", "events", namespaced=True, short_names=("ev",)),
    _builtin("", "v1", "Pod", "pods", namespaced=True, short_names=("po",), categories=("all",),
             status_subresource=True),
    _builtin("batch", "v1", "Job", "jobs", namespaced=True, categories=("all",),
             status_subresource=True, default_gc_policy=ORPHAN),
    _builtin("coordination.k8s.io", "v1", "Lease", "leases", namespaced=True),
    _builtin("events.k8s.io", "v1", "Event", "events", namespaced=True, short_names=("ev",),
             storage_group=""),
    _builtin("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
             "customresourcedefinitions", namespaced=False, short_names=("crd", "crds"),
             categories=("api-extensions",), status_subresource=True),
    _builtin("rbac.authorization.k8s.io", "v1", "Role", "roles", namespaced=True),
    _builtin("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles",
             namespaced=False),
    _builtin("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings",
             namespaced=True),
    _builtin("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
             namespaced=False),
    # Create-only and never stored (emulator.reviews).
    _builtin("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", namespaced=False,
             verbs=("create",)),
    _builtin("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews",
             namespaced=False, verbs=("create",)),
)  # fmt: skip


def crd_resource_infos(crd: dict[str, Any]) -> list[ResourceInfo]:
    """The served versions of a CRD (``spec.versions[*].served``) as resource infos."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    infos = []
    for version in spec.get("versions", []):
        if not version.get("served", False):
            continue
        infos.append(
            ResourceInfo(
                group=spec["group"],
                version=version["name"],
                kind=names["kind"],
                plural=names["plural"],
                singular=names.get("singular") or names["kind"].lower(),
                namespaced=spec.get("scope") == "Namespaced",
                short_names=tuple(names.get("shortNames", ())),
                categories=tuple(names.get("categories", ())),
                status_subresource="status" in (version.get("subresources") or {}),
                custom=True,
                printer_columns=crd_columns(version),
            )
        )
    return infos


class Registry:
    """The served resources, looked up by (group, version, plural) in O(1). Thread-safe."""

    def __init__(self, builtins: Iterable[ResourceInfo] = BUILTINS) -> None:
        self._lock = threading.Lock()
        self._by_gvr: dict[tuple[str, str, str], ResourceInfo] = {}
        self._crd_owned: dict[str, list[ResourceInfo]] = {}
        for info in builtins:
            self._by_gvr[(info.group, info.version, info.plural)] = info

    def lookup(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        return self._by_gvr.get((group, version, plural))

    def all(self) -> list[ResourceInfo]:
        with self._lock:
            return list(self._by_gvr.values())

    def group_versions(self) -> dict[str, list[str]]:
        """Group → served versions (the first is the preferred one)."""
        out: dict[str, list[str]] = {}
        for info in self.all():
            versions = out.setdefault(info.group, [])
            if info.version not in versions:
                versions.append(info.version)
        return out

    def by_kind(self, group: str, kind: str) -> ResourceInfo | None:
        for info in self.all():
            if info.group == group and info.kind == kind:
                return info
        return None

    def set_crd(self, crd_name: str, infos: list[ResourceInfo]) -> None:
        """Serve ``infos`` for the CRD (replacing what it served before)."""
        with self._lock:
            for old in self._crd_owned.pop(crd_name, []):
                self._by_gvr.pop((old.group, old.version, old.plural), None)
            for info in infos:
                self._by_gvr[(info.group, info.version, info.plural)] = info
            self._crd_owned[crd_name] = infos

    def remove_crd(self, crd_name: str) -> list[ResourceInfo]:
        """Stop serving the CRD's resources; returns what it served."""
        with self._lock:
            old = self._crd_owned.pop(crd_name, [])
            for info in old:
                self._by_gvr.pop((info.group, info.version, info.plural), None)
            return old
