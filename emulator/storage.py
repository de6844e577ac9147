"""The cluster state: collections, the resourceVersion clock, history and watch fan-out.

One re-entrant lock guards every write, so the cluster-wide resourceVersion increases by one per
committed change and every watcher sees changes in commit order. Reads take the same lock only
for as long as it takes to pick shared, immutable dicts; encoding happens outside it.

Per collection (one per ``(group, resource)``):

* ``objects`` — key (``ns/name`` or ``name``) → the stored dict: O(1) get;
* ``keys`` — the keys in sorted order (bisect), so a namespace is a contiguous range and
  ``continue`` tokens resume in O(log n);
* ``history`` — the last ``history_size`` events; a watch or an exact list at a resourceVersion
  older than the oldest retained event is answered with ``410 Gone``; older snapshots for paged
  lists are rebuilt by undoing the retained events;
* ``watchers`` — open watches, offered each event under the lock.

Cluster-wide indexes: uid → (collection, key), and owner uid → dependents, for the garbage
collector (:mod:`emulator.gc`). The semantics of create/update/delete live in
:mod:`emulator.objects`; this module only stores, versions and publishes.

Non-goals: persistence, MVCC beyond the retained history, etcd compaction intervals.
"""

from __future__ import annotations

import base64
import bisect
import heapq
import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import bad_request, gone
from emulator.selectors import Selector
from emulator.watch import ADDED, DELETED, Control, Event, Watcher

__all__ = [
    "DEFAULT_HISTORY_SIZE",
    "Collection",
    "ListResult",
    "Storage",
    "copy_meta",
    "object_key",
]

DEFAULT_HISTORY_SIZE = 10_000  # events retained per collection (the watch cache keeps ~100-1000s)
GONE_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list."
)


def object_key(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def copy_meta(obj: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy of a stored ``obj`` whose ``metadata`` may be edited (stored dicts are
    shared and never mutated)."""
    new = dict(obj)
    new["metadata"] = dict(obj["metadata"])
    return new


@dataclass(eq=False)
class Collection:
    """The objects of one ``(group, resource)``; guarded by the storage lock."""

    storage_key: tuple[str, str]
    history_size: int
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    history: deque[Event] = field(default_factory=deque)
    compacted_rv: int = 0  # events with rv <= this one are no longer retained
    truncated: bool = False  # history has dropped an event (not just started late)
    watchers: set[Watcher] = field(default_factory=set)

    def record(self, event: Event) -> None:
        if len(self.history) >= self.history_size:
            self.compacted_rv = self.history.popleft().rv
            self.truncated = True
        self.history.append(event)

    def too_old(self) -> int:
        """Watches from a resourceVersion below this answer 410: the watch cache's ``oldest-1``
        (``getAllEventsSinceLocked``): its oldest retained event's, or the resourceVersion it
        started at while it has dropped nothing."""
        return self.history[0].rv - 1 if self.truncated else self.compacted_rv


@dataclass(frozen=True)
class ListResult:
    items: list[dict[str, Any]]
    resource_version: int
    continue_token: str
    remaining: int | None


def _encode_continue(rv: int, last_key: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": last_key + "\x00"})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError) as err:
        raise bad_request(f"continue key is not valid: {err}") from err


class Storage:
    """Every collection, the resourceVersion counter and the cluster-wide indexes."""

    def __init__(self, *, history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        if history_size < 1:
            raise ValueError("history_size must be positive")
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.history_size = history_size
        self.rv = 1
        self.collections: dict[tuple[str, str], Collection] = {}
        self.by_uid: dict[str, tuple[tuple[str, str], str]] = {}
        self.dependents: dict[str, set[tuple[tuple[str, str], str]]] = {}

    def collection(self, storage_key: tuple[str, str]) -> Collection:
        coll = self.collections.get(storage_key)
        if coll is None:
            with self.lock:
                coll = self.collections.setdefault(
                    storage_key, Collection(storage_key, self.history_size)
                )
        return coll

    def start_history(self, storage_key: tuple[str, str]) -> None:
        """Start a new collection's history now, as the API server starts a watch cache when
        a CRD is established: a watch from an older resourceVersion answers 410."""
        with self.lock:
            if storage_key not in self.collections:
                coll = self.collection(storage_key)
                coll.compacted_rv = self.rv

    # -- reads -----------------------------------------------------------------------------

    def get(self, storage_key: tuple[str, str], key: str) -> dict[str, Any] | None:
        return self.collection(storage_key).objects.get(key)

    def get_by_uid(self, uid: str) -> dict[str, Any] | None:
        with self.lock:
            where = self.by_uid.get(uid)
            return None if where is None else self.collections[where[0]].objects.get(where[1])

    def _overlay(self, coll: Collection, at_rv: int) -> dict[str, dict[str, Any] | None]:
        """Key → state at ``at_rv`` of every key changed after it (None: did not exist)."""
        overlay: dict[str, dict[str, Any] | None] = {}
        for event in reversed(coll.history):
            if event.rv <= at_rv:
                break
            overlay[event.key] = None if event.type == ADDED else event.old
        return overlay

    def select(
        self,
        storage_key: tuple[str, str],
        *,
        namespace: str | None,
        labels: Selector,
        fields: Selector,
        limit: int = 0,
        continue_token: str = "",
        exact_rv: int | None = None,
    ) -> ListResult:
        """A consistent list, at the current resourceVersion or at ``exact_rv``/the token's."""
        with self.lock:
            coll = self.collection(storage_key)
            start = ""
            at_rv = self.rv
            if continue_token:
                at_rv, start = _decode_continue(continue_token)
                if at_rv < coll.compacted_rv:
                    raise gone(GONE_CONTINUE)
            elif exact_rv is not None:
                if exact_rv < coll.compacted_rv:
                    raise gone(f"too old resource version: {exact_rv} ({coll.compacted_rv + 1})")
                at_rv = min(exact_rv, self.rv)
            overlay = self._overlay(coll, at_rv) if at_rv < self.rv else {}
            prefix = f"{namespace}/" if namespace else ""
            lo = bisect.bisect_left(coll.keys, max(prefix, start))
            hi = (
                bisect.bisect_left(coll.keys, prefix[:-1] + chr(ord("/") + 1))
                if prefix
                else len(coll.keys)
            )
            extra = sorted(
                k
                for k in overlay
                if k >= max(prefix, start) and (not prefix or k.startswith(prefix))
            )
            merged = heapq.merge((coll.keys[i] for i in range(lo, hi)), extra)
            items: list[dict[str, Any]] = []
            last = ""
            more = False
            filtered = not (labels.empty and fields.empty)
            for key in _dedupe(merged):
                obj = overlay[key] if key in overlay else coll.objects.get(key)
                if obj is None or (filtered and not (labels.matches(obj) and fields.matches(obj))):
                    continue
                if limit and len(items) == limit:
                    more = True
                    break
                items.append(obj)
                last = key
            token = _encode_continue(at_rv, last) if more else ""
            remaining = None
            if more and not filtered and not overlay:
                remaining = max(hi - bisect.bisect_right(coll.keys, last), 0)
            return ListResult(items, at_rv, token, remaining)

    # -- writes ----------------------------------------------------------------------------

    def next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def commit(
        self,
        storage_key: tuple[str, str],
        type_: str,
        key: str,
        namespace: str,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Store (or remove, for DELETED) ``obj`` with the next resourceVersion; publish it.

        ``obj`` must be a private dict; it is shared (and never mutated) from here on.
        The caller holds :attr:`lock`.
        """
        coll = self.collection(storage_key)
        rv = self.next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        uid = obj["metadata"].get("uid", "")
        if type_ == DELETED:
            del coll.objects[key]
            del coll.keys[bisect.bisect_left(coll.keys, key)]
            self.by_uid.pop(uid, None)
        else:
            if old is None:
                bisect.insort(coll.keys, key)
            coll.objects[key] = obj
            self.by_uid[uid] = (storage_key, key)
        self._index_owners(storage_key, key, old, None if type_ == DELETED else obj)
        event = Event(rv, type_, key, namespace, obj, old)
        coll.record(event)
        for watcher in coll.watchers:
            watcher.offer(event)
        self.changed.notify_all()
        return obj

    def _index_owners(
        self,
        storage_key: tuple[str, str],
        key: str,
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
    ) -> None:
        before = {
            r.get("uid") for r in (old or {}).get("metadata", {}).get("ownerReferences") or []
        }
        after = {r.get("uid") for r in (new or {}).get("metadata", {}).get("ownerReferences") or []}
        for uid in before - after:
            deps = self.dependents.get(str(uid))
            if deps is not None:
                deps.discard((storage_key, key))
                if not deps:
                    del self.dependents[str(uid)]
        for uid in after - before:
            self.dependents.setdefault(str(uid), set()).add((storage_key, key))

    def drop_collection(self, storage_key: tuple[str, str]) -> list[dict[str, Any]]:
        """Delete every object of a collection (its CRD is gone) and end its watches."""
        with self.lock:
            coll = self.collection(storage_key)
            removed = []
            for key in list(coll.keys):
                old = coll.objects[key]
                final = dict(old, metadata=dict(old["metadata"]))
                ns = final["metadata"].get("namespace", "")
                removed.append(self.commit(storage_key, DELETED, key, ns, final, old))
            for watcher in list(coll.watchers):
                watcher.control(Control("close"))
            return removed

    # -- watch -----------------------------------------------------------------------------

    def watch(self, watcher: Watcher, *, since: int | None) -> None:
        """Register ``watcher``: replay events after ``since``, or the current state as ADDED.

        An unretained ``since`` queues a ``gone`` control (the stream answers an ERROR event).
        """
        with self.lock:
            coll = self.collection(watcher.storage_key)
            if since is None:
                for key in self._keys_in(coll, watcher.namespace):
                    obj = coll.objects[key]
                    rv = int(obj["metadata"]["resourceVersion"])
                    ns = obj["metadata"].get("namespace", "")
                    watcher.offer(Event(rv, ADDED, key, ns, obj, None))
            elif since < coll.too_old():
                watcher.control(
                    Control("gone", f"too old resource version: {since} ({coll.too_old()})")
                )
                return
            else:
                replay = []
                for event in reversed(coll.history):
                    if event.rv <= since:
                        break
                    replay.append(event)
                for event in reversed(replay):
                    watcher.offer(event)
            coll.watchers.add(watcher)

    def unwatch(self, watcher: Watcher) -> None:
        with self.lock:
            self.collection(watcher.storage_key).watchers.discard(watcher)

    def watchers(self) -> list[Watcher]:
        with self.lock:
            return [w for c in self.collections.values() for w in c.watchers]

    def _keys_in(self, coll: Collection, namespace: str | None) -> Iterator[str]:
        if not namespace:
            return iter(list(coll.keys))
        lo = bisect.bisect_left(coll.keys, namespace + "/")
        hi = bisect.bisect_left(coll.keys, namespace + chr(ord("/") + 1))
        return iter(coll.keys[lo:hi])

    def keys_in(self, storage_key: tuple[str, str], namespace: str | None) -> list[str]:
        with self.lock:
            return list(self._keys_in(self.collection(storage_key), namespace))

    def history(self, storage_key: tuple[str, str]) -> list[Event]:
        """The retained events of a collection, oldest first (for tests and the stress test)."""
        with self.lock:
            return list(self.collection(storage_key).history)


def _dedupe(keys: Iterator[str]) -> Iterator[str]:
    previous = None
    for key in keys:
        if key != previous:
            yield key
        previous = key
