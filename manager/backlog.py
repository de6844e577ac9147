"""The hand-off backlog: how many last steps may wait for a controller's hand-off threads.

A worker enters before it queues a last step and the hand-off thread leaves once the step is
done. The backlog holds at most ``high`` steps (queued or running); once full, workers wait
until it has drained to ``low``, then fill it again. So under load a worker computes its
passes in bursts rather than one per finished write: a pass run right after the worker woke
costs about twice the CPU of one run right after another (the caches are cold; measured in
docs/performance.md), and in a herd that CPU is taken from the API server's cores
(docs/design.md §3, "Hand-offs").
"""

from __future__ import annotations

import threading

__all__ = ["Backlog"]


class Backlog:
    """A counter of pending steps with a gate that closes at ``high`` and opens at ``low``."""

    def __init__(self, high: int, low: int) -> None:
        if not 0 <= low < high:
            raise ValueError(f"need 0 <= low < high, not low={low}, high={high}")
        self._high = high
        self._low = low
        self._pending = 0
        self._lock = threading.Lock()
        self._open = threading.Event()
        self._open.set()

    def enter(self) -> None:
        """Count one more pending step, first waiting while the gate is closed."""
        while True:
            self._open.wait()
            with self._lock:
                if self._pending < self._high:  # another worker may have filled it meanwhile
                    self._pending += 1
                    if self._pending == self._high:
                        self._open.clear()
                    return

    def leave(self) -> None:
        """One pending step is done; the gate opens once no more than ``low`` remain."""
        with self._lock:
            self._pending -= 1
            if self._pending <= self._low and not self._open.is_set():
                self._open.set()

    def pending(self) -> int:
        with self._lock:
            return self._pending
