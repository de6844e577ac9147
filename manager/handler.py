"""Event handlers: informer events in, reconcile requests out (controller-runtime ``pkg/handler``).

Each handler is a :class:`~manager.runnable.ResourceEventHandler` that puts
:class:`~manager.reconcile.Request` keys on a work queue. Handlers only compute keys: they do
not look at what changed (reconciles are level-based) and never block (the queue's ``add`` is
a set insertion).

* :class:`EnqueueRequestForObject` — the object's own ``namespace/name``;
* :class:`EnqueueRequestForOwner` — the object's *controller* owner of a given group and kind
  (``ownerReferences`` entry with ``controller: true``), e.g. a Job → its DatabaseBackup. On an
  update both the old and the new owner are enqueued, so moving ownership reconciles both;
* :class:`FilteredHandler` — applies :mod:`manager.predicate` predicates before a handler.

Objects are the informer's shared dicts: handlers never mutate them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from manager.objectmeta import Object, metadata_of
from manager.predicate import Predicate
from manager.reconcile import Request
from manager.runnable import ResourceEventHandler

__all__ = [
    "EnqueueRequestForObject",
    "EnqueueRequestForOwner",
    "FilteredHandler",
    "RequestQueue",
    "controller_owner_request",
    "object_request",
]

log = logging.getLogger(__name__)


class RequestQueue(Protocol):
    """Where handlers put requests (a :class:`~manager.workqueue.RateLimitingQueue` is one)."""

    def add(self, item: Request) -> None: ...


def object_request(obj: Object) -> Request | None:
    """The object's own key, or None if it has no name."""
    meta = metadata_of(obj)
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        return None
    return Request(namespace=str(meta.get("namespace") or ""), name=name)


def _group_of(api_version: str) -> str:
    """``"batch/v1"`` → ``"batch"``; ``"v1"`` (the core group) → ``""``."""
    group, sep, _version = api_version.rpartition("/")
    return group if sep else ""


def controller_owner_request(
    obj: Object, group: str, kind: str, *, namespaced: bool = True
) -> Request | None:
    """The key of ``obj``'s controller owner if that owner is a ``group``/``kind``, else None.

    Only the first ``controller: true`` reference counts (``metav1.GetControllerOf``). A
    namespaced owner lives in the object's namespace (owner references cannot cross them).
    """
    meta = metadata_of(obj)
    for ref in meta.get("ownerReferences") or ():
        if not isinstance(ref, dict) or ref.get("controller") is not True:
            continue
        if ref.get("kind") != kind or _group_of(str(ref.get("apiVersion", ""))) != group:
            return None
        name = ref.get("name")
        if not isinstance(name, str) or not name:
            return None
        namespace = str(meta.get("namespace") or "") if namespaced else ""
        return Request(namespace=namespace, name=name)
    return None


class EnqueueRequestForObject:
    """Enqueue the changed object's own ``namespace/name``."""

    def __init__(self, queue: RequestQueue) -> None:
        self._queue = queue

    def _enqueue(self, obj: Object, event: str) -> None:
        request = object_request(obj)
        if request is None:
            log.error("event for an object without a name", extra={"event": event})
            return
        self._queue.add(request)

    def on_add(self, obj: Object) -> None:
        self._enqueue(obj, "create")

    def on_update(self, old: Object, new: Object) -> None:
        self._enqueue(new, "update")

    def on_delete(self, obj: Object) -> None:
        self._enqueue(obj, "delete")


class EnqueueRequestForOwner:
    """Enqueue the key of the object's controller owner of kind ``group``/``kind``."""

    def __init__(
        self, queue: RequestQueue, group: str, kind: str, *, namespaced: bool = True
    ) -> None:
        self._queue = queue
        self._group = group
        self._kind = kind
        self._namespaced = namespaced

    def _owner(self, obj: Object) -> Request | None:
        return controller_owner_request(obj, self._group, self._kind, namespaced=self._namespaced)

    def on_add(self, obj: Object) -> None:
        request = self._owner(obj)
        if request is not None:
            self._queue.add(request)

    def on_update(self, old: Object, new: Object) -> None:
        requests = {self._owner(old), self._owner(new)}
        for request in sorted(r for r in requests if r is not None):
            self._queue.add(request)

    def on_delete(self, obj: Object) -> None:
        self.on_add(obj)


class FilteredHandler:
    """Pass an event to ``handler`` only if every predicate lets it through."""

    def __init__(self, handler: ResourceEventHandler, predicates: Sequence[Predicate]) -> None:
        self._handler = handler
        self._predicates = tuple(predicates)

    def on_add(self, obj: Object) -> None:
        if all(p.create(obj) for p in self._predicates):
            self._handler.on_add(obj)

    def on_update(self, old: Object, new: Object) -> None:
        if all(p.update(old, new) for p in self._predicates):
            self._handler.on_update(old, new)

    def on_delete(self, obj: Object) -> None:
        if all(p.delete(obj) for p in self._predicates):
            self._handler.on_delete(obj)
