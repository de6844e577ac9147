"""Discovery documents, as client-go's discovery client and kubectl read them.

``/version``, ``/api`` (APIVersions), ``/apis`` (APIGroupList), ``/api/v1`` and
``/apis/<group>/<version>`` (APIResourceList: name, singularName, namespaced, kind, verbs,
shortNames, categories, and ``<plural>/status`` for status subresources). Served in the legacy
(unaggregated) JSON form: kubectl asks for aggregated discovery first and falls back to this
when the answer's content type says so. The OpenAPI documents are :mod:`emulator.openapi_serve`'s.

Everything is computed from the live :class:`~emulator.resources.Registry`, so a CRD shows up
(and disappears) at once. Non-goals: the aggregated discovery format.
"""

from __future__ import annotations

from typing import Any

from emulator.resources import Registry, ResourceInfo

__all__ = [
    "VERSION_INFO",
    "api_versions",
    "group_list",
    "resource_list",
]

VERSION_INFO: dict[str, str] = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
SUBRESOURCE_VERBS = ["get", "patch", "update"]


def api_versions(address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def group_list(registry: Registry) -> dict[str, Any]:
    groups = []
    for group, versions in sorted(registry.group_versions().items()):
        if not group:
            continue
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _entry(info: ResourceInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": info.plural,
        "singularName": info.singular,
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": list(info.verbs),
    }
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    return entry


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """The APIResourceList of one group/version, or None when it is not served."""
    infos = sorted(
        (i for i in registry.all() if i.group == group and i.version == version),
        key=lambda i: i.plural,
    )
    if not infos:
        return None
    resources = []
    for info in infos:
        resources.append(_entry(info))
        if info.status_subresource:
            resources.append(
                {
                    "name": f"{info.plural}/status",
                    "singularName": "",
                    "namespaced": info.namespaced,
                    "kind": info.kind,
                    "verbs": SUBRESOURCE_VERBS,
                }
            )
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }
