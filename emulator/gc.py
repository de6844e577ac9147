"""The garbage collector thread: owner references, foreground deletion, namespace cleanup.

As the garbage-collection page describes it, asynchronously: once an owner is gone, dependents
whose owners (by ``uid``) are all gone are deleted (Background, honouring their finalizers);
an owner deleted with Foreground keeps its ``foregroundDeletion`` finalizer until no dependent
with ``blockOwnerDeletion: true`` remains; a terminating namespace loses its contents and then
itself. The work items are queued by :class:`emulator.deletion.Deletion` under the storage
lock; this thread only drains them (``Deletion.gc_step``), waking on every commit.

Non-goals: the orphan finalizer (Orphan is applied synchronously at delete time).
"""

from __future__ import annotations

import logging
import threading

from emulator.deletion import Deletion

__all__ = ["GC_IDLE_WAIT", "GarbageCollector"]

log = logging.getLogger(__name__)
GC_IDLE_WAIT = 0.5  # seconds between checks for shutdown when idle


class GarbageCollector:
    """Drains the GC queue of ``deletion`` until ``stop`` is set."""

    def __init__(self, deletion: Deletion, stop: threading.Event) -> None:
        self._deletion = deletion
        self._stop = stop

    def run(self) -> None:
        wakeup = self._deletion.gc_wakeup
        while not self._stop.is_set():
            try:
                if self._deletion.gc_step():
                    continue
            except Exception:  # one bad item must not stop collection
                log.exception("garbage collection step failed")
                continue
            with wakeup:
                if not self._deletion.gc_queue and not self._stop.is_set():
                    wakeup.wait(GC_IDLE_WAIT)
