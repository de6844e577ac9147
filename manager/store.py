"""A thread-safe object store with secondary indexes (client-go ``tools/cache`` store and index).

:class:`Store` maps a key (``"<namespace>/<name>"``, or ``"<name>"`` for cluster-scoped
objects) to the latest known object, a plain dict, and keeps *indexes*: for each index name, an
index function maps an object to the values it is filed under, so ``by_index`` answers "jobs
controlled by backup X" without scanning (``thread_safe_store.go``'s ``storeIndex``).

Guarantees:

* every method is atomic under one lock; readers never see an object half-indexed;
* objects are replaced whole, never mutated: a dict handed out by ``get``/``list``/``by_index``
  stays exactly as it was, so callers may keep it (and must not edit it — copy first);
* :meth:`Store.replace` swaps the whole content at once and returns the difference (adds,
  updates, deletions of the last known state), which an informer delivers to its handlers.

With ``compact=True`` each object is kept encoded (a :class:`manager.compact.Codec` of its
own: the pickle deflated against the store's first object, a tenth of the JSON size for a
Job instead of a tree of dicts) and every read decodes a fresh copy: the same content,
never the same dict twice (callers may then edit what they get). The informer cache uses it
(docs/design.md §3).

Index names used by the runtime: :data:`INDEX_NAMESPACE` and :data:`INDEX_CONTROLLER_OWNER`
(values from :func:`owner_key`). Non-goals: resync, DeltaFIFO queueing, field selectors.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from manager.compact import Codec

__all__ = [
    "DEFAULT_INDEXERS",
    "INDEX_CONTROLLER_OWNER",
    "INDEX_NAMESPACE",
    "Change",
    "Encoded",
    "IndexFunc",
    "Store",
    "controller_owner_index",
    "key_of",
    "namespace_index",
    "owner_key",
]

IndexFunc = Callable[[dict[str, Any]], list[str]]
"""Maps an object to the index values it is filed under (possibly none)."""

INDEX_NAMESPACE = "namespace"
INDEX_CONTROLLER_OWNER = "controller-owner"


def key_of(obj: Mapping[str, Any]) -> str:
    """``"<namespace>/<name>"``, or ``"<name>"`` without a namespace (``MetaNamespaceKeyFunc``)."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or ""
    name = str(meta.get("name") or "")
    return f"{namespace}/{name}" if namespace else name


def owner_key(group: str, kind: str, namespace: str, name: str) -> str:
    """The value :data:`INDEX_CONTROLLER_OWNER` files a controlled object under."""
    return f"{group}/{kind}/{namespace}/{name}"


def namespace_index(obj: dict[str, Any]) -> list[str]:
    """client-go's ``MetaNamespaceIndexFunc``: the object's namespace (none if cluster-scoped)."""
    namespace = (obj.get("metadata") or {}).get("namespace")
    return [str(namespace)] if namespace else []


def controller_owner_index(obj: dict[str, Any]) -> list[str]:
    """The :func:`owner_key` of the owner reference with ``controller: true``, if any.

    An owner lives in the object's own namespace (cross-namespace owners are not allowed); the
    group comes from the reference's ``apiVersion`` (``""`` for the core group).
    """
    meta = obj.get("metadata") or {}
    for ref in meta.get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller") is True:
            api_version = str(ref.get("apiVersion") or "")
            group = api_version.split("/", 1)[0] if "/" in api_version else ""
            namespace = str(meta.get("namespace") or "")
            return [owner_key(group, str(ref.get("kind") or ""), namespace, str(ref["name"]))]
    return []


DEFAULT_INDEXERS: dict[str, IndexFunc] = {
    INDEX_NAMESPACE: namespace_index,
    INDEX_CONTROLLER_OWNER: controller_owner_index,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One difference found by :meth:`Store.replace`.

    ``add``: ``new`` only; ``update``: both; ``delete``: ``old`` only (the last known state).
    """

    kind: Literal["add", "update", "delete"]
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None
    # The new object's encoding, instead of ``new``, when it came as an :class:`Encoded`.
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class Encoded:
    """An object as a compact store keeps it, made by :meth:`Store.encode` before
    :meth:`Store.replace`: a relist then holds a few hundred bytes per object while it pages,
    never every listed object decoded at once (docs/design.md §3)."""

    key: str
    data: bytes
    index_values: tuple[tuple[str, ...], ...]  # per indexer, in the store's order
    resource_version: str


def _resource_version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class Store:
    """Objects by key, plus indexes. See the module docstring for the guarantees."""

    def __init__(
        self, indexers: Mapping[str, IndexFunc] | None = None, *, compact: bool = False
    ) -> None:
        self._lock = threading.RLock()
        self._codec: Codec[dict[str, Any]] | None = Codec() if compact else None
        # Invariant: for every index name, ``_indices[name][value]`` holds exactly the keys of
        # ``_items`` whose object the index function files under ``value``: one key as a
        # ``str``, more as a ``set`` (the owner index has one Job or a few per backup; an empty
        # set costs 216 bytes, more than the key); never an empty set.
        self._indexers: dict[str, IndexFunc] = dict(
            DEFAULT_INDEXERS if indexers is None else indexers
        )
        self._items: dict[str, Any] = {}  # key → the object, or its encoding when compact
        self._indices: dict[str, dict[str, str | set[str]]] = {name: {} for name in self._indexers}
        self._resource_version = ""

    # -- reads --------------------------------------------------------------------------------

    def _out(self, stored: Any) -> dict[str, Any]:
        return stored if self._codec is None else self._codec.decode(stored)

    def _in(self, obj: dict[str, Any]) -> Any:
        return obj if self._codec is None else self._codec.encode(obj)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            stored = self._items.get(key)
        return None if stored is None else self._out(stored)

    def list(self) -> builtins.list[dict[str, Any]]:
        with self._lock:
            stored = list(self._items.values())
        return [self._out(s) for s in stored]

    def keys(self) -> builtins.list[str]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def by_index(self, index: str, value: str) -> builtins.list[dict[str, Any]]:
        """Objects filed under ``value`` in ``index``; ``KeyError`` for an unknown index."""
        with self._lock:
            if index not in self._indices:
                raise KeyError(f"no index named {index!r}")
            keys = self._indices[index].get(value, ())
            stored = [self._items[k] for k in ((keys,) if type(keys) is str else sorted(keys))]
        return [self._out(s) for s in stored]

    def index_values(self, index: str) -> builtins.list[str]:
        """Every value currently present in ``index``."""
        with self._lock:
            return sorted(self._indices[index])

    @property
    def resource_version(self) -> str:
        """The resourceVersion of the last :meth:`replace` (the list it came from)."""
        with self._lock:
            return self._resource_version

    # -- writes -------------------------------------------------------------------------------

    def _unindex(self, key: str, obj: dict[str, Any]) -> None:
        for name, fn in self._indexers.items():
            index = self._indices[name]
            for value in fn(obj):
                keys = index.get(value)
                if keys == key:
                    del index[value]
                elif isinstance(keys, set):
                    keys.discard(key)
                    if len(keys) == 1:
                        index[value] = keys.pop()

    def _index(self, key: str, obj: dict[str, Any]) -> None:
        self._index_values(key, tuple(tuple(fn(obj)) for fn in self._indexers.values()))

    def _index_values(self, key: str, values: tuple[tuple[str, ...], ...]) -> None:
        for name, index_values in zip(self._indexers, values, strict=True):
            index = self._indices[name]
            for value in index_values:
                keys = index.get(value)
                if keys is None:
                    index[value] = key
                elif isinstance(keys, set):
                    keys.add(key)
                elif keys != key:
                    index[value] = {keys, key}

    def _put(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        key = key_of(obj)
        stored = self._items.get(key)
        old = None if stored is None else self._out(stored)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = self._in(obj)
        self._index(key, obj)
        return old

    def add(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Store ``obj`` (replacing any object with its key); returns the previous one."""
        with self._lock:
            return self._put(obj)

    def update(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Same as :meth:`add` (client-go's store does not distinguish them)."""
        with self._lock:
            return self._put(obj)

    def put_encoded(self, entry: Encoded) -> bytes | None:
        """Store an :meth:`encode`-d object (replacing any with its key); returns the previous
        one's encoding (None if absent), for a caller that hands it on undecoded."""
        with self._lock:
            stored: bytes | None = self._items.get(entry.key)
            if stored is not None:
                self._unindex(entry.key, self._out(stored))
            self._items[entry.key] = entry.data
            self._index_values(entry.key, entry.index_values)
            return stored

    def delete(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        """Remove the object with ``obj``'s key; returns the removed one (None if absent)."""
        with self._lock:
            key = key_of(obj)
            stored = self._items.pop(key, None)
            old = None if stored is None else self._out(stored)
            if old is not None:
                self._unindex(key, old)
            return old

    def encode(self, obj: dict[str, Any]) -> Encoded:
        """``obj`` as this (compact) store will keep it; safe outside the store's lock."""
        if self._codec is None:
            raise ValueError("only a compact store encodes")
        values = tuple(tuple(fn(obj)) for fn in self._indexers.values())
        return Encoded(key_of(obj), self._codec.encode(obj), values, _resource_version(obj))

    def decode(self, data: bytes) -> dict[str, Any]:
        """A fresh copy of the object an :class:`Encoded` (or a :class:`Change`) carries."""
        if self._codec is None:
            raise ValueError("only a compact store decodes")
        return self._codec.decode(data)

    def replace(
        self, objs: Iterable[dict[str, Any] | Encoded], resource_version: str
    ) -> builtins.list[Change]:
        """Make ``objs`` the whole content; return the difference to the previous content.

        An object counts as updated when its resourceVersion differs from the stored one (or
        either has none); unchanged objects are swapped in silently. Deletions carry the last
        known state (client-go's ``DeletedFinalStateUnknown``). An object given as
        :class:`Encoded` (compact stores) is reported by its encoding (``Change.data``).
        """
        with self._lock:
            old_items = self._items
            self._items = {}
            self._indices = {name: {} for name in self._indexers}
            changes: builtins.list[Change] = []
            for obj in objs:
                if isinstance(obj, Encoded):
                    key, rv_new = obj.key, obj.resource_version
                    self._items[key] = obj.data
                    self._index_values(key, obj.index_values)
                    new, data = None, obj.data
                else:
                    key, rv_new = key_of(obj), _resource_version(obj)
                    self._items[key] = self._in(obj)
                    self._index(key, obj)
                    new, data = obj, None
                stored = old_items.pop(key, None)
                if stored is None:
                    changes.append(Change(kind="add", new=new, data=data))
                else:
                    old = self._out(stored)
                    rv_old = _resource_version(old)
                    if not rv_old or not rv_new or rv_old != rv_new:
                        changes.append(Change(kind="update", old=old, new=new, data=data))
            for gone in old_items.values():
                changes.append(Change(kind="delete", old=self._out(gone)))
            self._resource_version = resource_version
            return changes
