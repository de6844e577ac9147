"""List and deletecollection: a collection request's selection, answered as a ``<Kind>List``.

Written from the API concepts page ("Resource versions", "Retrieving large results sets in
chunks"): ``resourceVersion`` with ``resourceVersionMatch`` (``Exact`` or ``NotOlderThan``,
the latter the default), ``limit``/``continue`` chunks with ``remainingItemCount``, label and
field selectors. As kube-apiserver's watch cache answers (``cacher.go``: ``computeListLimit``,
``shouldDelegateList``): ``resourceVersion=0`` ignores ``limit`` (one response, never a
``continue``), and a ``limit`` with a non-zero ``resourceVersion`` and no match is an exact
read (the legacy rule; the docs' table: "Exact"). A list for a resourceVersion the store has
not reached yet waits up to :data:`RESOURCE_VERSION_WAIT` for it, then answers 504
``ResourceVersionTooLarge`` as kube-apiserver's watch cache does.

:func:`list_envelope` is the one place the ``<Kind>List`` document is built: the HTTP front
(:mod:`emulator.handler`) and the in-process helpers of :class:`emulator.server.ApiServer` both
go through :class:`Lister`.
"""

from __future__ import annotations

import threading
from typing import Any

from emulator.errors import ApiStatusError, bad_request
from emulator.event_conversion import served_form
from emulator.objects import Cluster
from emulator.resources import ResourceInfo
from emulator.selectors import parse_field_selector, parse_label_selector

__all__ = ["RESOURCE_VERSION_WAIT", "Lister", "list_envelope"]

RESOURCE_VERSION_WAIT = 3.0  # seconds a list waits for a future resourceVersion (the server: 3 s)


def list_envelope(
    info: ResourceInfo, metadata: dict[str, Any], items: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ``<Kind>List`` of ``items`` in ``info``'s API version."""
    return {"kind": f"{info.kind}List", "apiVersion": info.api_version, "metadata": metadata,
            "items": items}  # fmt: skip


class Lister:
    """Lists and deletes collections of ``cluster``; ``stopping`` ends a resourceVersion wait."""

    def __init__(self, cluster: Cluster, stopping: threading.Event) -> None:
        self._cluster = cluster
        self._storage = cluster.storage
        self._stopping = stopping

    def list_body(
        self, info: ResourceInfo, namespace: str | None, query: dict[str, str]
    ) -> dict[str, Any]:
        """A ``<Kind>List`` for a list request's query (API concepts, "Resource versions")."""
        rv_text = query.get("resourceVersion", "")
        match = query.get("resourceVersionMatch", "")
        if match and not rv_text:
            raise bad_request(
                "resourceVersionMatch is forbidden unless resourceVersion is provided"
            )
        if match and match not in ("Exact", "NotOlderThan"):
            raise bad_request(f"unsupported resourceVersionMatch {match!r}")
        try:
            limit = int(query.get("limit") or 0)
            wanted = int(rv_text) if rv_text else None
        except ValueError as err:
            raise bad_request(f"invalid list parameter: {err}") from err
        if match == "Exact" and wanted == 0:
            raise bad_request('resourceVersionMatch "Exact" is forbidden for resourceVersion "0"')
        if rv_text == "0":
            limit = 0  # served by the watch cache, which ignores limit for "any version"
        elif wanted and limit > 0 and not match:
            match = "Exact"  # the legacy exact match: delegated to storage at that version
        if wanted and not query.get("continue"):
            self._wait_for_rv(wanted)
        result = self._storage.select(
            info.storage_key,
            namespace=namespace,
            labels=parse_label_selector(query.get("labelSelector")),
            fields=parse_field_selector(query.get("fieldSelector"), info.group, info.plural),
            limit=max(limit, 0),
            continue_token=query.get("continue", ""),
            exact_rv=wanted if match == "Exact" else None,
        )
        meta: dict[str, Any] = {"resourceVersion": str(result.resource_version)}
        if result.continue_token:
            meta["continue"] = result.continue_token
        if result.remaining is not None:
            meta["remainingItemCount"] = result.remaining
        items = result.items
        if info.storage_group is not None:  # served from another API's storage
            items = [served_form(info, i) for i in items]
        elif info.custom and any(i.get("apiVersion") != info.api_version for i in items):
            items = [dict(i, apiVersion=info.api_version) for i in items]
        return list_envelope(info, meta, items)

    def _wait_for_rv(self, wanted: int) -> None:
        storage = self._storage
        with storage.changed:
            ready = storage.changed.wait_for(
                lambda: storage.rv >= wanted or self._stopping.is_set(),
                timeout=RESOURCE_VERSION_WAIT,
            )
            if not ready or storage.rv < wanted:
                message = f"Too large resource version: {wanted}, current: {storage.rv}"
                cause = {"reason": "ResourceVersionTooLarge", "message": message}
                raise ApiStatusError(
                    504, "Timeout", message, {"causes": [cause], "retryAfterSeconds": 1}
                )

    def delete_collection(
        self, info: ResourceInfo, namespace: str | None, query: dict[str, str], policy: str | None
    ) -> dict[str, Any]:
        """Delete what the query's selectors match; the ``<Kind>List`` of the deleted objects
        (with empty list metadata, as the server answers deletecollection)."""
        listed = self.list_body(
            info,
            namespace,
            {k: v for k, v in query.items() if k in ("labelSelector", "fieldSelector")},
        )
        deleted = []
        for obj in listed["items"]:
            meta = obj["metadata"]
            try:
                gone, _ = self._cluster.delete(info, meta.get("namespace"), meta["name"],
                                               propagation=policy)  # fmt: skip
            except Exception:  # deleted concurrently: skip, as the server does
                continue
            deleted.append(gone)
        return list_envelope(info, {}, deleted)
