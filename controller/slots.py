"""The newest slot this process knows was scheduled, per backup: a guard against stale reads.

The Job name is the lock that keeps one Job per slot — until the Job is gone. With a history
limit of 0 the operator itself deletes a slot's Job right after recording its result, and
the informer cache may then show the Job's deletion *before* the status write that recorded
the run (different resources arrive on different watch streams, with no order between them).
A reconcile in that window would read the old ``lastScheduleTime``, find no Job, and run the
slot again. Like client-go's controller expectations, :class:`KnownSlots` remembers what this
process did and never lets a stale read move a backup's schedule backwards. A fresh process
starts from a consistent list, so memory across restarts is not needed.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime

from controller.memo import backup_key

__all__ = ["KnownSlots"]


class KnownSlots:
    """Thread-safe map of (namespace, name) → (uid, newest slot scheduled); uid-checked, so a
    backup deleted and recreated under the same name starts afresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, str], tuple[str, datetime]] = {}

    def record(self, namespace: str, name: str, uid: str, slot: datetime) -> None:
        with self._lock:
            known = self._slots.get((namespace, name))
            if known is None or known[0] != uid or known[1] < slot:
                self._slots[backup_key(namespace, name)] = (sys.intern(uid), slot)

    def latest(
        self, namespace: str, name: str, uid: str, observed: datetime | None
    ) -> datetime | None:
        """The later of ``observed`` (from the cache) and what this process recorded."""
        with self._lock:
            known = self._slots.get((namespace, name))
        if known is None or known[0] != uid:
            return observed
        return known[1] if observed is None or known[1] > observed else observed

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._slots.pop((namespace, name), None)
