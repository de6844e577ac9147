"""The shared informer: a reflector feeding a store and fanning changes out to handlers.

A port of client-go's ``shared_informer.go`` for plain-dict objects. :class:`SharedInformer`
runs one :class:`~manager.reflector.Reflector` thread; every change it applies to the
:class:`~manager.store.Store` is handed, under one lock, to each handler's listener.

Guarantees:

* handlers run on their listener's own dispatch thread, never on the watch thread; each listener
  buffers without bound (client-go's ``processorListener``), so a slow handler delays only
  itself and never blocks the watch or the other handlers; a handler registered ``inline``
  (one that only computes keys and adds them to a work queue: a controller's) runs on the watch
  thread instead, as each change is stored, and gets the watch event's decoded object rather
  than a fresh decoding: a Python thread hand-off per event and handler (a wake-up, then the
  GIL) and a decoding cost more than such a handler (docs/design.md §6);
* each handler sees the changes in the order the store saw them;
* a handler added after the informer started first gets a synthetic ``on_add`` for every object
  in the store, atomically with its registration (nothing missed, nothing twice);
* ``has_synced()`` turns true once the first list is in the store and handed to the listeners;
* ``transform`` runs on each object before it is stored; the default drops
  ``metadata.managedFields`` and the ``kubectl.kubernetes.io/last-applied-configuration``
  annotation (≈ 8.5 KiB → ≈ 4.7 KiB per object, docs/design.md §6). Objects are stored whole and
  never mutated afterwards: a dict handed to a handler stays as it was.

After a relist handlers get only the difference (adds, updates whose resourceVersion changed,
and deletions with the last known state). Non-goals: periodic resync, per-handler resync.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from manager.clock import Clock
from manager.compact import share_strings
from manager.reflector import ListWatcher, Reflector, ReflectorOptions
from manager.runnable import ResourceEventHandler
from manager.scheme import ResourceType
from manager.store import Change, Encoded, IndexFunc, Store

__all__ = [
    "LAST_APPLIED_ANNOTATION",
    "REFLECTOR_JOIN_TIMEOUT",
    "SharedInformer",
    "Transform",
    "strip_bulky_fields",
]

log = logging.getLogger(__name__)

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
REFLECTOR_JOIN_TIMEOUT = 5.0  # seconds to wait for the reflector thread after an abort

Transform = Callable[[dict[str, Any]], dict[str, Any]]
# An object in a notification is a dict, or (relists into a compact store) its encoding,
# decoded by the listener right before its handler runs.
_Object = dict[str, Any] | bytes
_Notification = tuple[str, _Object, _Object | None]


def strip_bulky_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """The default transform: drop ``managedFields`` and the last-applied annotation.

    Edits ``obj`` in place (it is a freshly decoded dict nobody else holds) and returns it.
    """
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED_ANNOTATION in annotations:
            del annotations[LAST_APPLIED_ANNOTATION]
            if not annotations:
                del meta["annotations"]
    return obj


class _Listener:
    """One handler's unbounded buffer and dispatch thread (client-go's processorListener)."""

    def __init__(
        self,
        handler: ResourceEventHandler,
        name: str,
        decode: Callable[[bytes], dict[str, Any]],
    ) -> None:
        self.handler = handler
        self.name = name
        self._decode = decode
        self._cond = threading.Condition()
        self._pending: deque[_Notification] = deque()  # guarded by _cond
        self._closed = False
        self._thread: threading.Thread | None = None

    def deliver(self, note: _Notification) -> None:
        """Run the handler on ``note`` now, on the caller's thread (an ``inline`` listener)."""
        kind, a_in, b_in = note
        try:
            a = self._decode(a_in) if isinstance(a_in, bytes) else a_in
            b = self._decode(b_in) if isinstance(b_in, bytes) else b_in
            if kind == "add":
                self.handler.on_add(a)
            elif kind == "update":
                assert b is not None
                self.handler.on_update(a, b)
            else:
                self.handler.on_delete(a)
        except Exception:
            log.exception("event handler failed", extra={"informer": self.name, "event": kind})

    def push(self, note: _Notification) -> None:
        with self._cond:
            self._pending.append(note)
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                note = self._pending.popleft()
            self.deliver(note)


class SharedInformer:
    """Lists and watches one resource type (optionally one namespace and a label selector)."""

    def __init__(
        self,
        rest: ListWatcher,
        resource_type: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        clock: Clock,
        transform: Transform | None = strip_bulky_fields,
        indexers: dict[str, IndexFunc] | None = None,
        options: ReflectorOptions | None = None,
        share_watched: bool = True,
        compact: bool = False,
    ) -> None:
        self.resource_type = resource_type
        self.namespace = namespace
        # compact: objects kept encoded, decoded on each read (manager.store, manager.compact).
        self.store = Store(indexers, compact=compact)
        self._compact = compact
        self._transform = transform
        # Watch events' objects get their strings shared (manager.compact), unless the
        # transform already does it (then a second walk would only repeat the work).
        self._share_watched = share_watched and not compact  # an encoding shares nothing
        self.name = f"{resource_type.group_resource}" + (f"/{namespace}" if namespace else "")
        self.reflector = Reflector(
            rest,
            resource_type.collection_path(namespace),
            self,
            clock=clock,
            label_selector=label_selector,
            options=options,
            name=self.name,
        )
        self._mu = threading.Lock()  # orders store changes and listener registration
        self._listeners: list[_Listener] = []  # each with its own thread
        self._inline: list[_Listener] = []  # run on the watch thread (add_event_handler)
        self._started = False
        self._stopped = False
        self._synced = threading.Event()

    # -- public ------------------------------------------------------------------------------

    def add_event_handler(self, handler: ResourceEventHandler, *, inline: bool = False) -> None:
        """Register ``handler``; after start it first gets an add for every stored object.
        ``inline``: it runs on the watch thread (see the module docstring: quick handlers)."""
        listener = _Listener(
            handler, f"informer-{self.name}-handler-{len(self._listeners)}", self.store.decode
        )
        with self._mu:
            if self._started:
                for obj in self.store.list():
                    note: _Notification = ("add", obj, None)
                    if inline:
                        listener.deliver(note)
                    else:
                        listener.push(note)
            if inline:
                self._inline.append(listener)
                return
            self._listeners.append(listener)
            if self._started and not self._stopped:
                listener.start()

    def has_synced(self) -> bool:
        return self._synced.is_set()

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Block (real time) until synced; for tests and tools, not for library loops."""
        return self._synced.wait(timeout)

    def pending_notifications(self) -> int:
        """Notifications buffered but not yet handled, over all handlers."""
        return sum(listener.pending() for listener in self._listeners)

    def start(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set (a Runnable that does not need leader election)."""
        with self._mu:
            if self._started:
                raise RuntimeError(f"informer {self.name} already started")
            self._started = True
            for listener in self._listeners:
                listener.start()
        reflector_stop = threading.Event()
        thread = threading.Thread(
            target=self.reflector.run,
            args=(reflector_stop,),
            name=f"reflector-{self.name}",
            daemon=True,
        )
        thread.start()
        try:
            stop.wait()
        finally:
            reflector_stop.set()
            self.reflector.abort()
            thread.join(REFLECTOR_JOIN_TIMEOUT)
            if thread.is_alive():
                log.warning("reflector did not stop in time", extra={"informer": self.name})
            with self._mu:
                self._stopped = True
                listeners = list(self._listeners)
            for listener in listeners:
                listener.close()
            for listener in listeners:
                listener.join(REFLECTOR_JOIN_TIMEOUT)

    def needs_leader_election(self) -> bool:
        return False

    # -- ReflectorSink -----------------------------------------------------------------------

    def prepare(self, obj: dict[str, Any]) -> dict[str, Any] | Encoded:
        """The transformed object; encoded at once for a compact store, so a relist holds a
        few hundred bytes per listed object, not its decoded tree (docs/design.md §3)."""
        prepared = self._prepare(obj)
        return self.store.encode(prepared) if self._compact else prepared

    def _prepare(self, obj: dict[str, Any]) -> dict[str, Any]:
        # List items may come without apiVersion/kind; handlers and the scheme want them.
        obj.setdefault("apiVersion", self.resource_type.api_version)
        obj.setdefault("kind", self.resource_type.kind)
        return self._transform(obj) if self._transform is not None else obj

    def _distribute(self, note: _Notification, decoded: dict[str, Any] | None = None) -> None:
        """Hand ``note`` to every handler; ``decoded`` is the dict its newest object's encoding
        was made from, given to inline handlers instead of a fresh decoding."""
        for listener in self._listeners:
            listener.push(note)
        if self._inline:
            if decoded is not None:
                kind, a, b = note
                note = (kind, decoded, None) if b is None else (kind, a, decoded)
            for listener in self._inline:
                listener.deliver(note)

    def replace(
        self,
        objs: list[Any],
        resource_version: str,
        *,
        prepared: bool = False,
    ) -> None:
        """A relist's result: listed objects, or with ``prepared`` what :meth:`prepare` made of
        each (the reflector runs it page by page, so full objects never pile up)."""
        prepared_objs: list[dict[str, Any] | Encoded] = (
            objs if prepared else [self._prepare(obj) for obj in objs]
        )
        with self._mu:
            changes = self.store.replace(prepared_objs, resource_version)
            for change in changes:
                self._distribute(_note(change))
            first = not self._synced.is_set()
            self._synced.set()
        if first:
            log.info(
                "informer synced", extra={"informer": self.name, "objects": len(prepared_objs)}
            )
        elif changes:
            log.info(
                "relist delivered changes", extra={"informer": self.name, "changes": len(changes)}
            )

    def apply(self, type_: str, obj: dict[str, Any]) -> None:
        # A watch event's object shares no string with the cache: see manager.compact.
        obj = self._prepare(obj)
        if self._compact and type_ != "DELETED":
            # Encoded off the lock; the notifications carry encodings, decoded by each
            # listener right before its handler runs: a backlog holds bytes, not trees.
            entry = self.store.encode(obj)
            with self._mu:
                previous = self.store.put_encoded(entry)
                if previous is None:
                    self._distribute(("add", entry.data, None), obj)
                else:
                    self._distribute(("update", previous, entry.data), obj)
            return
        if self._share_watched:
            obj = share_strings(obj)
        with self._mu:
            if type_ == "DELETED":
                self.store.delete(obj)
                self._distribute(("delete", obj, None))
                return
            old = self.store.update(obj)
            if old is None:
                self._distribute(("add", obj, None))
            else:
                self._distribute(("update", old, obj))


def _note(change: Change) -> _Notification:
    new = change.new if change.new is not None else change.data
    if change.kind == "add":
        assert new is not None
        return ("add", new, None)
    if change.kind == "update":
        assert change.old is not None and new is not None
        return ("update", change.old, new)
    assert change.old is not None
    return ("delete", change.old, None)
