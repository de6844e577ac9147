"""Deleting stored objects: finalizers, propagation policies and the garbage collector's steps.

Written from the finalizers and garbage-collection pages:

* a delete with finalizers (or Foreground's ``foregroundDeletion``, or of a namespace) only sets
  ``deletionTimestamp``; the write that removes the last finalizer removes the object;
* Orphan strips the owner's references from its dependents at delete time; Background leaves
  the dependents to the garbage collector;
* the collector, driven by :class:`emulator.gc.GarbageCollector` through :meth:`Deletion.gc_step`,
  deletes dependents whose owners (by ``uid``) are all gone, releases a Foreground owner once no
  dependent with ``blockOwnerDeletion: true`` remains, and empties a terminating namespace
  before removing it;
* a claim no Pod uses loses ``kubernetes.io/pvc-protection`` at once (the emulator serves no
  Pods); a removed CRD stops serving its versions (:class:`emulator.crd_serving.CrdServing`).

Every method but :meth:`Deletion.gc_step` runs under the storage lock its caller holds.
Non-goals: the orphan finalizer, graceful deletion of Pods.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from emulator import builtins
from emulator.crd_serving import CrdServing
from emulator.resources import BACKGROUND, CRD_KEY, FOREGROUND, NAMESPACE_KEY, ORPHAN
from emulator.storage import Storage, copy_meta, object_key
from emulator.watch import DELETED, MODIFIED

__all__ = ["FOREGROUND_FINALIZER", "Deletion", "GcItem"]

FOREGROUND_FINALIZER = "foregroundDeletion"

GcItem = tuple[str, str]
"""("uid", uid) — an owner to look at; ("ns", name) — a terminating namespace."""


def _owner_uids(obj: dict[str, Any]) -> list[str]:
    return [str(r.get("uid")) for r in obj["metadata"].get("ownerReferences") or []]


class Deletion:
    """Commits that may end an object's life, and the garbage-collection queue they feed."""

    def __init__(self, *, storage: Storage, crds: CrdServing, now: Callable[[], str]) -> None:
        self._storage = storage
        self._crds = crds
        self._now = now
        self.gc_queue: deque[GcItem] = deque()
        self.gc_wakeup = storage.changed

    def write(
        self, storage_key: tuple[str, str], new: dict[str, Any], old: dict[str, Any]
    ) -> dict[str, Any]:
        """Commit ``new`` over ``old``; the object goes once its last finalizer has gone."""
        meta = new["metadata"]
        key = object_key(meta.get("namespace"), meta["name"])
        stored = self._storage.commit(
            storage_key, MODIFIED, key, meta.get("namespace", ""), new, old
        )
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            if storage_key == NAMESPACE_KEY:
                self.gc_queue.append(("ns", meta["name"]))
            else:
                return self._remove(storage_key, stored)
        if set(_owner_uids(old)) != set(_owner_uids(stored)):
            self.gc_queue.append(("uid", stored["metadata"]["uid"]))
        return stored

    def delete_object(
        self, storage_key: tuple[str, str], obj: dict[str, Any], policy: str
    ) -> tuple[dict[str, Any], bool]:
        """Delete a stored object with ``policy``; the object and whether it is gone."""
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            return obj, False
        if policy == ORPHAN:
            self._orphan_dependents(meta["uid"])
        finalizers = list(meta.get("finalizers") or [])
        if storage_key == ("", "persistentvolumeclaims"):
            # The pvc-protection controller lets a claim no Pod uses go at once; no Pod ever
            # uses one here (the emulator serves no Pods).
            finalizers = [f for f in finalizers if f != builtins.PVC_PROTECTION]
        if policy == FOREGROUND and FOREGROUND_FINALIZER not in finalizers:
            finalizers.append(FOREGROUND_FINALIZER)
        if finalizers or storage_key == NAMESPACE_KEY:
            new = copy_meta(obj)
            new["metadata"].update(deletionTimestamp=self._now(), deletionGracePeriodSeconds=0)
            if finalizers:
                new["metadata"]["finalizers"] = finalizers
            if storage_key == NAMESPACE_KEY:
                new["status"] = dict(new.get("status") or {}, phase="Terminating")
                self.gc_queue.append(("ns", meta["name"]))
            stored = self._storage.commit(
                storage_key, MODIFIED, object_key(meta.get("namespace"), meta["name"]),
                meta.get("namespace", ""), new, obj,
            )  # fmt: skip
            if policy == FOREGROUND:
                self.gc_queue.append(("uid", meta["uid"]))
            return stored, False
        return self._remove(storage_key, obj), True

    def _orphan_dependents(self, uid: str) -> None:
        for dep_key, key in list(self._storage.dependents.get(uid, ())):
            dep = self._storage.get(dep_key, key)
            if dep is None:
                continue
            new = copy_meta(dep)
            refs = [r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                new["metadata"].pop("ownerReferences", None)
            self.write(dep_key, new, dep)

    def _remove(self, storage_key: tuple[str, str], obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        final = copy_meta(obj)
        namespace = meta.get("namespace", "")
        key = object_key(namespace or None, meta["name"])
        removed = self._storage.commit(storage_key, DELETED, key, namespace, final, obj)
        self.gc_queue.append(("uid", meta["uid"]))
        for owner in _owner_uids(obj):
            self.gc_queue.append(("uid", owner))
        if namespace:
            ns = self._storage.get(NAMESPACE_KEY, namespace)
            if ns is not None and ns["metadata"].get("deletionTimestamp"):
                self.gc_queue.append(("ns", namespace))
        if storage_key == CRD_KEY:
            self._crds.unserve(obj)
        return removed

    # -- garbage collection (called by the GC thread) ----------------------------------------

    def gc_step(self) -> bool:
        """Process one queued item; False when the queue was empty."""
        with self._storage.lock:
            if not self.gc_queue:
                return False
            kind, value = self.gc_queue.popleft()
            if kind == "ns":
                self._gc_namespace(value)
            else:
                self._gc_owner(value)
            return True

    def _gc_owner(self, uid: str) -> None:
        storage = self._storage
        owner = storage.get_by_uid(uid)
        deps = [
            (key, obj)
            for key, k in list(storage.dependents.get(uid, ()))
            if (obj := storage.get(key, k)) is not None
        ]
        if owner is None:
            for dep_key, dep in deps:
                if all(storage.get_by_uid(o) is None for o in _owner_uids(dep)):
                    self.delete_object(dep_key, dep, BACKGROUND)
            return
        finalizers = owner["metadata"].get("finalizers") or []
        if not owner["metadata"].get("deletionTimestamp") or FOREGROUND_FINALIZER not in finalizers:
            return
        blocking = 0
        for dep_key, dep in deps:
            if not dep["metadata"].get("deletionTimestamp"):
                self.delete_object(dep_key, dep, BACKGROUND)
            current = storage.get(dep_key, object_key(
                dep["metadata"].get("namespace"), dep["metadata"]["name"]))  # fmt: skip
            if current is not None and any(
                r.get("uid") == uid and r.get("blockOwnerDeletion")
                for r in current["metadata"].get("ownerReferences") or []
            ):
                blocking += 1
        if blocking == 0:
            new = copy_meta(owner)
            new["metadata"]["finalizers"] = [f for f in finalizers if f != FOREGROUND_FINALIZER]
            storage_key = storage.by_uid[uid][0]
            self.write(storage_key, new, owner)

    def _gc_namespace(self, name: str) -> None:
        ns = self._storage.get(NAMESPACE_KEY, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        remaining = 0
        for storage_key in list(self._storage.collections):
            for key in self._storage.keys_in(storage_key, name):
                obj = self._storage.get(storage_key, key)
                if obj is None:
                    continue
                _, gone_now = self.delete_object(storage_key, obj, BACKGROUND)
                remaining += 0 if gone_now else 1
        if remaining == 0 and not ns["metadata"].get("finalizers"):
            self._remove(NAMESPACE_KEY, ns)
