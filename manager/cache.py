"""The cache: one shared informer per resource type, read by controllers (controller-runtime
``pkg/cache``'s informer cache).

:class:`Cache` creates a :class:`~manager.informer.SharedInformer` the first time a resource
type is asked for (optionally restricted to one namespace, the ``--namespace`` flag) and runs
every informer while it runs; an informer created after the cache started is started at once.
Reads (``get``, ``list``, ``by_index``) answer from the informers' stores: plain dicts shared
with every reader — copy before editing; with ``compact`` the stores keep each object encoded
and every read is a fresh copy (docs/design.md §3: a few hundred bytes per cached object).

Guarantees: ``has_synced()`` is true once every informer has delivered its first list;
``wait_for_sync`` waits for that with a deadline on the injected clock. ``transforms`` gives a
resource type its own transform instead of ``transform`` (controller-runtime's per-object
``Transform``), e.g. to drop fields nobody reads from a large kind; such a transform also owns
sharing its objects' strings (the informer does it for the default transform's watch events).
Non-goals: blocking reads
until a new informer syncs, field selectors.
"""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Mapping
from typing import Any

from manager.clock import Clock
from manager.informer import SharedInformer, Transform, strip_bulky_fields
from manager.reflector import ListWatcher, ReflectorOptions
from manager.scheme import ResourceType, Scheme
from manager.store import INDEX_NAMESPACE

__all__ = ["INFORMER_JOIN_TIMEOUT", "SYNC_POLL", "Cache"]

log = logging.getLogger(__name__)

INFORMER_JOIN_TIMEOUT = 10.0  # seconds to wait for an informer to stop once asked
SYNC_POLL = 0.05  # seconds between has_synced checks in wait_for_sync (real time)


def _matches(obj: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    have = (obj.get("metadata") or {}).get("labels") or {}
    return all(have.get(k) == v for k, v in labels.items())


class Cache:
    """Informers by resource type; see the module docstring."""

    def __init__(
        self,
        rest: ListWatcher,
        scheme: Scheme,
        *,
        namespace: str | None = None,
        clock: Clock,
        transform: Transform | None = strip_bulky_fields,
        transforms: Mapping[ResourceType, Transform] | None = None,
        options: ReflectorOptions | None = None,
        compact: bool = False,
    ) -> None:
        self._rest = rest
        self._compact = compact
        self.scheme = scheme
        self.namespace = namespace
        self._clock = clock
        self._transform = transform
        self._transforms = dict(transforms or {})
        self._options = options
        self._mu = threading.Lock()
        self._informers: dict[ResourceType, SharedInformer] = {}
        self._threads: builtins.list[threading.Thread] = []
        self._stop: threading.Event | None = None

    def informer_for(self, rt: ResourceType) -> SharedInformer:
        """The informer of ``rt``, created (and started, if the cache runs) on first use."""
        with self._mu:
            informer = self._informers.get(rt)
            if informer is not None:
                return informer
            informer = SharedInformer(
                self._rest,
                rt,
                namespace=self.namespace if rt.namespaced else None,
                clock=self._clock,
                transform=self._transforms.get(rt, self._transform),
                options=self._options,
                compact=self._compact,
            )
            self._informers[rt] = informer
            if self._stop is not None:
                self._start_informer(informer, self._stop)
            return informer

    def informers(self) -> builtins.list[SharedInformer]:
        with self._mu:
            return list(self._informers.values())

    def _start_informer(self, informer: SharedInformer, stop: threading.Event) -> None:
        thread = threading.Thread(
            target=informer.start, args=(stop,), name=f"informer-{informer.name}", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    # -- reads -------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None:
        key = f"{namespace}/{name}" if rt.namespaced and namespace else name
        return self.informer_for(rt).store.get(key)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """Objects of ``rt`` (in ``namespace`` if given) whose labels include ``labels``."""
        store = self.informer_for(rt).store
        items = store.by_index(INDEX_NAMESPACE, namespace) if namespace else store.list()
        if labels:
            items = [obj for obj in items if _matches(obj, labels)]
        return items

    def by_index(self, rt: ResourceType, index: str, value: str) -> builtins.list[dict[str, Any]]:
        return self.informer_for(rt).store.by_index(index, value)

    # -- running -----------------------------------------------------------------------------

    def has_synced(self) -> bool:
        return all(informer.has_synced() for informer in self.informers())

    def wait_for_sync(self, stop: threading.Event, timeout: float) -> bool:
        """Wait until every informer synced (True), or ``stop``/``timeout`` (False)."""
        deadline = self._clock.monotonic() + timeout
        while not self.has_synced():
            if stop.is_set() or self._clock.monotonic() >= deadline:
                return False
            stop.wait(SYNC_POLL)
        return True

    def start(self, stop: threading.Event) -> None:
        """Run every informer (and any created later) until ``stop`` is set."""
        with self._mu:
            if self._stop is not None:
                raise RuntimeError("the cache is already started")
            self._stop = stop
            for informer in self._informers.values():
                self._start_informer(informer, stop)
        stop.wait()
        with self._mu:
            threads = list(self._threads)
        for thread in threads:
            thread.join(INFORMER_JOIN_TIMEOUT)
            if thread.is_alive():
                log.warning("informer did not stop in time", extra={"thread": thread.name})

    def needs_leader_election(self) -> bool:
        return False
