"""The client controllers use: reads from the cache, writes to the API server
(controller-runtime's default ``client.Client``, split reader and writer).

* Reads — ``Client.get``, ``Client.list``, ``Client.by_index`` — answer from the
  :class:`~manager.cache.Cache` (no request; the result may lag the server by a watch event;
  the dicts are shared: copy before editing). :meth:`Client.get_live` asks the server.
* Writes go straight to the API through :class:`~manager.rest.RestClient` and return the
  object the server stored. ``update`` and ``update_status`` send the object's own
  ``metadata.resourceVersion``, so a stale write fails with ``Conflict`` (optimistic
  concurrency); ``update_status`` uses the ``status`` subresource (PUT ``…/status``).

Errors are :mod:`manager.errors` classes. Non-goals: server-side apply, dry-run, retries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from manager.cache import Cache
from manager.rest import MERGE_PATCH
from manager.scheme import ResourceType, Scheme

__all__ = ["Client", "Writer"]


class Writer(Protocol):
    """What the client needs of :class:`manager.rest.RestClient`."""

    def get(self, path: str, **query: str | int | bool | None) -> dict[str, Any]: ...

    def create(
        self, path: str, body: Mapping[str, Any], *, decode: bool = True
    ) -> dict[str, Any]: ...

    def replace(
        self, path: str, body: Mapping[str, Any], *, decode: bool = True
    ) -> dict[str, Any]: ...

    def patch(self, path: str, body: Any, content_type: str = MERGE_PATCH) -> dict[str, Any]: ...

    def delete(
        self,
        path: str,
        *,
        propagation_policy: str | None = None,
        preconditions: Mapping[str, str] | None = None,
    ) -> dict[str, Any]: ...


def _meta(obj: Mapping[str, Any]) -> tuple[str | None, str]:
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        raise ValueError("the object has no metadata.name")
    return (meta.get("namespace") or None), str(name)


class Client:
    """Cache reads plus API writes, on plain dicts."""

    def __init__(self, rest: Writer, cache: Cache, scheme: Scheme) -> None:
        self._rest = rest
        self.scheme = scheme
        # Reads are the cache's own methods, with their signatures: nothing to add on the way.
        self.get = cache.get
        self.list = cache.list
        self.by_index = cache.by_index

    # -- reads (server) ----------------------------------------------------------------------

    def get_live(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        """GET the object from the server (``NotFound`` if absent)."""
        return self._rest.get(rt.object_path(namespace, name))

    # -- writes (API) ------------------------------------------------------------------------

    def create(
        self, rt: ResourceType, obj: Mapping[str, Any], *, read_back: bool = True
    ) -> dict[str, Any]:
        """POST the object; the server's answer, or with ``read_back=False`` the object as
        sent (its name and labels, without what the server filled in: the watch brings that,
        and the answer is not decoded)."""
        namespace = (obj.get("metadata") or {}).get("namespace") or None
        body = dict(obj)
        body.setdefault("apiVersion", rt.api_version)
        body.setdefault("kind", rt.kind)
        created = self._rest.create(rt.collection_path(namespace), body, decode=read_back)
        return created if read_back else body

    def update(self, rt: ResourceType, obj: Mapping[str, Any]) -> dict[str, Any]:
        """PUT the object (its resourceVersion makes the write conditional)."""
        namespace, name = _meta(obj)
        return self._rest.replace(rt.object_path(namespace, name), obj)

    def update_status(
        self, rt: ResourceType, obj: Mapping[str, Any], *, read_back: bool = True
    ) -> dict[str, Any]:
        """PUT the object to its ``status`` subresource, with its resourceVersion; the
        server's answer, or with ``read_back=False`` the object as sent (not decoded)."""
        namespace, name = _meta(obj)
        if not (obj.get("metadata") or {}).get("resourceVersion"):
            raise ValueError(f"update_status of {name!r} needs metadata.resourceVersion")
        path = rt.object_path(namespace, name, "status")
        written = self._rest.replace(path, obj, decode=read_back)
        return written if read_back else dict(obj)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        content_type: str = MERGE_PATCH,
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        return self._rest.patch(rt.object_path(namespace, name, subresource), body, content_type)

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        propagation_policy: str | None = None,
    ) -> dict[str, Any]:
        """DELETE the object (``Background``/``Foreground``/``Orphan`` propagation if given)."""
        return self._rest.delete(
            rt.object_path(namespace, name), propagation_policy=propagation_policy
        )
