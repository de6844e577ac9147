"""The work queue between event handlers and reconcile workers (client-go ``util/workqueue``).

A port of client-go's ``queue.go``, ``delaying_queue.go`` and ``rate_limiting_queue.go``, with
the guarantees of its ``doc.go``:

* **Fair**: items are processed in the order in which they are added.
* **Stingy**: an item added many times before it is processed is processed only once.
* **Exclusive**: an item is never processed by two workers at once. An item added while it is
  being processed is marked dirty and handed out again after the worker calls :meth:`done`.
* **Delaying**: :meth:`DelayingQueue.add_after` adds an item once a delay has passed, measured
  on the injected :class:`~manager.clock.Clock`; a second ``add_after`` of a waiting item keeps
  the earlier deadline.
* **Rate limited**: :meth:`RateLimitingQueue.add_rate_limited` asks the
  :class:`~manager.ratelimit.RateLimiter` for the delay; :meth:`~RateLimitingQueue.forget`
  clears the item's backoff history; :meth:`~RateLimitingQueue.num_requeues` reports it.
* **Shutdown**: after :meth:`shut_down`, adds are ignored and :meth:`get` keeps handing out the
  items already queued, then answers ``(None, True)``; :meth:`shut_down_with_drain` also waits
  until every item handed out has been marked :meth:`done`.

Every worker must call ``done(item)`` for every item it got, whatever happened (``try/finally``).

The delaying loop runs on one daemon thread, started by the first ``add_after`` with a positive
delay (a queue that never delays starts no thread). It waits with ``clock.sleep(…, wake)``, so a
new earlier deadline, shutdown, or a :class:`~manager.clock.FakeClock` ``step`` wakes it; tests
drive delays without real waiting. (The sleep is relative, so a test should let the loop
settle — a few real milliseconds — between scheduling an item and stepping the clock.)
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import deque
from collections.abc import Hashable, Iterable
from typing import Generic, Protocol, TypeVar

from manager.clock import Clock
from manager.ratelimit import RateLimiter

__all__ = [
    "MAX_WAIT",
    "DelayingQueue",
    "Queue",
    "QueueMetrics",
    "QueueMetricsProvider",
    "RateLimitingQueue",
]

T = TypeVar("T", bound=Hashable)

MAX_WAIT = 10.0  # seconds; client-go's delaying queue heartbeat (maxWait), a safety net only
_JOIN_TIMEOUT = 5.0  # seconds to wait for the delaying thread on shutdown


class QueueMetrics(Protocol):
    """What a queue reports (client-go ``queueMetrics``); see ``manager.metrics``."""

    def add(self, item: Hashable) -> None: ...

    def get(self, item: Hashable) -> None: ...

    def done(self, item: Hashable) -> None: ...

    def retry(self) -> None: ...


class QueueMetricsProvider(Protocol):
    """Makes one queue's metrics (``manager.metrics.Metrics`` is one)."""

    def new_queue_metrics(self, name: str, clock: Clock) -> QueueMetrics: ...


class _NoMetrics:
    def add(self, item: Hashable) -> None:
        return None

    def get(self, item: Hashable) -> None:
        return None

    def done(self, item: Hashable) -> None:
        return None

    def retry(self) -> None:
        return None


class Queue(Generic[T]):
    """A deduplicating FIFO of items to process, exclusive per item (client-go ``Type``)."""

    def __init__(
        self, clock: Clock, name: str = "", metrics: QueueMetricsProvider | None = None
    ) -> None:
        self.name = name
        self._clock = clock
        self._metrics: QueueMetrics = (
            metrics.new_queue_metrics(name, clock) if metrics is not None else _NoMetrics()
        )
        self._lock = threading.Lock()
        self._item_ready = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        # The order in which items are handed out. Every element is in ``_dirty`` and not in
        # ``_processing``.
        self._queue: deque[T] = deque()
        # Every item that needs processing. An item may be here and in ``_processing`` at once:
        # it was added again while a worker had it, and is queued again by ``done``.
        self._dirty: set[T] = set()
        # Items a worker got and has not yet marked ``done``.
        self._processing: set[T] = set()
        self._shutting_down = False
        self._drain = False

    def add(self, item: T) -> None:
        """Mark ``item`` as needing processing (ignored after shutdown)."""
        with self._lock:
            if self._add_locked(item):
                self._item_ready.notify()

    def add_all(self, items: Iterable[T]) -> None:
        """``add`` each item, in order, under one hold of the lock: nothing added meanwhile by
        another thread lands between them. (A herd's due items are queued by the delay loop
        at once; the watch events of the first Jobs must queue behind all of them.)"""
        with self._lock:
            added = sum(self._add_locked(item) for item in items)
            if added:
                self._item_ready.notify(added)

    def _add_locked(self, item: T) -> bool:
        """The add itself, lock held; True when the item was queued for a worker."""
        if self._shutting_down or item in self._dirty:
            return False
        self._metrics.add(item)
        self._dirty.add(item)
        if item in self._processing:
            return False
        self._queue.append(item)
        return True

    def __len__(self) -> int:
        """Items waiting to be handed out (informational only: never gate on it)."""
        with self._lock:
            return len(self._queue)

    def len(self) -> int:
        """Same as ``len(queue)`` (client-go ``Len``)."""
        return len(self)

    def get(self) -> tuple[T | None, bool]:
        """Block until an item is available; ``(item, False)``, or ``(None, True)`` at shutdown.

        The caller must call :meth:`done` with the item when it has finished with it.
        """
        with self._lock:
            while not self._queue and not self._shutting_down:
                self._item_ready.wait()
            if not self._queue:
                return None, True
            item = self._queue.popleft()
            self._metrics.get(item)
            self._processing.add(item)
            self._dirty.discard(item)
            if not self._dirty:  # a set keeps its largest table: a herd's, ~0.5 MiB
                self._dirty = set()
            return item, False

    def done(self, item: T) -> None:
        """Mark ``item`` finished; if it was added meanwhile, queue it again."""
        with self._lock:
            self._metrics.done(item)
            self._processing.discard(item)
            if item in self._dirty:
                self._queue.append(item)
                self._item_ready.notify()
            elif not self._processing:
                self._idle.notify_all()

    def shut_down(self) -> None:
        """Ignore new adds; ``get`` hands out what is queued, then reports shutdown."""
        with self._lock:
            self._drain = False
            self._shutting_down = True
            self._item_ready.notify_all()
            self._idle.notify_all()

    def shut_down_with_drain(self, timeout: float | None = None) -> bool:
        """Like :meth:`shut_down`, then wait until every handed-out item is ``done``.

        Returns True once drained, False if ``timeout`` (real seconds) passed first. Calling
        :meth:`shut_down` meanwhile stops the wait at once (client-go's escape hatch).
        """
        with self._lock:
            self._drain = True
            self._shutting_down = True
            self._item_ready.notify_all()
            self._idle.wait_for(lambda: not self._processing or not self._drain, timeout)
            return not self._processing

    def shutting_down(self) -> bool:
        with self._lock:
            return self._shutting_down


class DelayingQueue(Queue[T]):
    """A :class:`Queue` that can add an item after a delay (client-go ``delayingType``)."""

    def __init__(
        self, clock: Clock, name: str = "", metrics: QueueMetricsProvider | None = None
    ) -> None:
        super().__init__(clock, name, metrics)
        self._waiting_lock = threading.Lock()
        # Min-heap of (ready_at, seq, item); an entry is live iff it *is* _waiting[item].
        self._heap: list[tuple[float, int, T]] = []
        # The one live heap entry per waiting item (client-go ``knownEntries``): the entry
        # itself, not a second tuple of its deadline (every backup waits for its next slot).
        self._waiting: dict[T, tuple[float, int, T]] = {}
        self._seq = itertools.count()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add_after(self, item: T, seconds: float) -> None:
        """Add ``item`` once ``seconds`` have passed on the clock (at once if ``seconds <= 0``)."""
        if self.shutting_down():
            return
        self._metrics.retry()
        if seconds <= 0:
            self.add(item)
            return
        ready_at = self._clock.monotonic() + seconds
        with self._waiting_lock:
            live = self._waiting.get(item)
            if live is not None and live[0] <= ready_at:
                return  # already due no later than requested
            seq = next(self._seq)
            entry = self._waiting[item] = (ready_at, seq, item)
            heapq.heappush(self._heap, entry)
            # The loop sleeps until the heap's head is due: only a new head moves that moment.
            # (A herd requeues thousands of items for tomorrow; waking the loop for each one
            # costs a thread switch apiece and changes nothing.)
            earliest = self._heap[0][1] == seq
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._waiting_loop, name=f"workqueue-delay-{self.name}", daemon=True
                )
                self._thread.start()
        if earliest:
            self._wake.set()

    def waiting(self) -> int:
        """Items waiting for their delay to pass (not yet in the queue)."""
        with self._waiting_lock:
            return len(self._waiting)

    def shut_down(self) -> None:
        super().shut_down()
        self._stop_waiting_loop()

    def shut_down_with_drain(self, timeout: float | None = None) -> bool:
        self._stop_waiting_loop()
        return super().shut_down_with_drain(timeout)

    def _stop_waiting_loop(self) -> None:
        with self._lock:
            self._shutting_down = True
        self._wake.set()
        with self._waiting_lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT)

    def _waiting_loop(self) -> None:
        while True:
            # Clear before looking: an add_after after this point sets it and ends the sleep.
            self._wake.clear()
            if self.shutting_down():
                return
            now = self._clock.monotonic()
            ready: list[T] = []
            with self._waiting_lock:
                while self._heap and self._heap[0][0] <= now:
                    entry = heapq.heappop(self._heap)
                    item = entry[2]
                    if self._waiting.get(item) is entry:
                        del self._waiting[item]
                        ready.append(item)
                next_ready = self._heap[0][0] if self._heap else now + MAX_WAIT
            self.add_all(ready)
            # The clock's sleep is relative: read the time again just before it, so time that
            # passed while adding does not stretch the wait.
            wait = min(next_ready - self._clock.monotonic(), MAX_WAIT)
            self._clock.sleep(wait, self._wake)


class RateLimitingQueue(DelayingQueue[T]):
    """A :class:`DelayingQueue` whose retries are spaced by a rate limiter (client-go)."""

    def __init__(
        self,
        rate_limiter: RateLimiter,
        clock: Clock,
        name: str = "",
        metrics: QueueMetricsProvider | None = None,
    ) -> None:
        super().__init__(clock, name, metrics)
        self.rate_limiter = rate_limiter

    def add_rate_limited(self, item: T) -> None:
        """Add ``item`` after the rate limiter's delay for it (records a failure)."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Clear ``item``'s backoff history (it does not remove the item from the queue)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        """Failures recorded for ``item`` since it was last forgotten."""
        return self.rate_limiter.num_requeues(item)
