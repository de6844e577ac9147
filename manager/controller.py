"""The controller engine: watches feed a work queue, N workers call the reconciler.

A port of controller-runtime's ``pkg/internal/controller/controller.go``.

* :meth:`Controller.watch` registers a handler (built by a factory from the controller's queue)
  on an informer, behind optional predicates. Events are queued from the moment of the watch;
  they are deduplicated, and processed once the controller runs.
* :meth:`Controller.start` (a leader-only Runnable) waits until every watched informer has
  synced (bounded by ``cache_sync_timeout``), then runs ``max_concurrent_reconciles`` worker
  threads until ``stop`` is set. The queue guarantees that one request is never reconciled by
  two workers at once. On stop, workers finish the reconcile they are in and take no new one;
  ``start`` returns once they have (or after ``graceful_timeout``, logging the stragglers).
* :meth:`Controller._reconcile_handler` holds the outcome rules, in one function, exactly as
  upstream's ``reconcileHandler``:

  ======================================  ==========================  =====================
  reconcile outcome                       queue                       ``reconcile_total``
  ======================================  ==========================  =====================
  raises :class:`TerminalError`           nothing (``terminal`` +1)   ``error``
  raises another exception                ``add_rate_limited``        ``error``
  ``Result(requeue_after=s)``, ``s > 0``  ``forget``, ``add_after``   ``requeue_after``
  ``Result(requeue=True)``                ``add_rate_limited``        ``requeue``
  ``Result()``                            ``forget``                  ``success``
  ======================================  ==========================  =====================

  Every error also counts ``controller_runtime_reconcile_errors_total``; the worker always
  calls ``done``.
* Hand-offs (no upstream twin: docs/design.md §3, "Reconciler"). A reconcile that returns
  ``Result(then=finish)`` hands its last step over: with ``max_concurrent_handoffs`` > 0 the
  worker queues ``finish`` for one of that many hand-off threads (waiting while all are busy
  and one step per worker already waits for them) and takes its next request; ``finish``'s
  result or exception then goes through the same rules, and only then is the request
  ``done`` — never reconciled twice at once still. With none, the worker runs ``finish``
  itself. On stop, hand-offs already queued still run.

Exceptions and "panics". A Python reconciler reports failure by raising, so an
:class:`~manager.errors.ApiError` (or a class in ``expected_errors``) is an ordinary error.
Any other ``Exception`` is what Go would see as a panic — a bug: it is caught, logged with its
traceback, counted in ``controller_runtime_reconcile_panics_total`` *and* as an error, and
requeued with backoff (``recover_panic=True``, the default). With ``recover_panic=False`` the
controller stops its workers and ``start`` re-raises it, so the process exits non-zero.

Logs carry ``controller``, ``namespace``, ``resource_name`` (``name`` is reserved by
:mod:`logging`) and ``reconcileID`` (a fresh UUID per reconcile) as ``extra`` fields;
:func:`reconcile_id` returns the current one for the reconciler's own logs.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import random
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from manager.backlog import Backlog
from manager.clock import Clock
from manager.defaults import (
    DEFAULT_CACHE_SYNC_TIMEOUT,
    DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT,
    DEFAULT_MAX_CONCURRENT_RECONCILES,
)
from manager.errors import ApiError
from manager.handler import FilteredHandler, RequestQueue
from manager.metrics import (
    RESULT_ERROR,
    RESULT_REQUEUE,
    RESULT_REQUEUE_AFTER,
    RESULT_SUCCESS,
    Metrics,
)
from manager.predicate import Predicate
from manager.ratelimit import RateLimiter, default_controller_rate_limiter
from manager.reconcile import Reconciler, Request, Result, TerminalError
from manager.runnable import ResourceEventHandler, when_set
from manager.workqueue import RateLimitingQueue

__all__ = [
    "CacheSyncError",
    "Controller",
    "HandlerFactory",
    "WatchedInformer",
    "reconcile_id",
]

log = logging.getLogger(__name__)

# Reconcile IDs (a random UUID per reconcile, as controller-runtime's) from a generator seeded
# once: ``uuid.uuid4`` reads ``os.urandom``, a system call that releases the GIL, and under a
# herd every worker then waits to get it back (~2 ms per reconcile on the real-server profile,
# docs/performance.md). The IDs correlate log lines; they need not be unpredictable.
_reconcile_ids = random.Random()
SYNC_POLL_INTERVAL = 0.1  # seconds; client-go WaitForCacheSync polls every 100 ms
IDLE_WAKE = 5.0  # seconds; a safety net: stop and crashes wake start() directly

_reconcile_id: contextvars.ContextVar[str] = contextvars.ContextVar("reconcile_id", default="")


def reconcile_id() -> str:
    """The ID of the reconcile running on this thread ("" outside a reconcile)."""
    return _reconcile_id.get()


class WatchedInformer(Protocol):
    """What a watch needs of an informer (``manager.informer.SharedInformer`` is one)."""

    def add_event_handler(self, handler: ResourceEventHandler, *, inline: bool = False) -> None: ...

    def has_synced(self) -> bool: ...


HandlerFactory = Callable[[RequestQueue], ResourceEventHandler]
"""Builds a watch's handler from the controller's queue, e.g. ``EnqueueRequestForObject``."""


class CacheSyncError(RuntimeError):
    """The watched informers did not sync within ``cache_sync_timeout``."""


class Controller:
    """Runs a reconciler for the requests its watches produce."""

    def __init__(
        self,
        name: str,
        reconciler: Reconciler,
        *,
        max_concurrent_reconciles: int = DEFAULT_MAX_CONCURRENT_RECONCILES,
        metrics: Metrics | None,
        clock: Clock,
        rate_limiter: RateLimiter | None = None,
        recover_panic: bool = True,
        expected_errors: tuple[type[Exception], ...] = (ApiError,),
        cache_sync_timeout: float = DEFAULT_CACHE_SYNC_TIMEOUT,
        graceful_timeout: float = DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT,
        max_concurrent_handoffs: int = 0,
    ) -> None:
        if not name:
            raise ValueError("a controller needs a name")
        if max_concurrent_reconciles < 1:
            raise ValueError("max_concurrent_reconciles must be at least 1")
        if max_concurrent_handoffs < 0:
            raise ValueError("max_concurrent_handoffs must not be negative")
        self.name = name
        self._reconciler = reconciler
        self._workers = max_concurrent_reconciles
        self._handoffs = max_concurrent_handoffs
        # Steps queued or running on the hand-off threads: up to two per thread and one per
        # worker; once full, workers wait until only one per thread and worker remains, then
        # queue a burst of passes (manager/backlog.py; docs/design.md §3, "Hand-offs"). A
        # worker's share lets a thread that finishes take the next step at once. Without
        # hand-off threads nothing is queued and the backlog stays unused.
        threads, workers = self._handoffs, self._workers
        high, low = (2 * threads + workers, threads + workers) if threads else (1, 0)
        self._backlog = Backlog(high=high, low=low)
        self._handed_off: queue.SimpleQueue[_HandOff | None] = queue.SimpleQueue()
        self._metrics = metrics
        self._clock = clock
        self._recover_panic = recover_panic
        self._expected_errors = expected_errors
        self._not_panics: tuple[type[Exception], ...] = (TerminalError, *expected_errors)
        self._cache_sync_timeout = cache_sync_timeout
        self._graceful_timeout = graceful_timeout
        self.queue: RateLimitingQueue[Request] = RateLimitingQueue(
            rate_limiter or default_controller_rate_limiter(clock), clock, name, metrics
        )
        self._informers: list[WatchedInformer] = []
        self._lock = threading.Lock()
        self._started = False
        self._crashed = threading.Event()
        self._wake = threading.Event()  # set on a crash or on stop: ends start()'s idle wait
        self._crash: BaseException | None = None
        self._log_base: dict[str, Any] = {"controller": name}

    def needs_leader_election(self) -> bool:
        """Controllers write to the API: only the leader runs them."""
        return True

    def watch(
        self,
        informer: WatchedInformer,
        handler_factory: HandlerFactory,
        predicates: Sequence[Predicate] = (),
    ) -> None:
        """Send ``informer``'s events, filtered by ``predicates``, to a handler on this queue.

        The handler runs inline on the informer's watch thread (``add_event_handler``): it
        must only map objects to requests and add them, as the handlers of
        ``manager.handler`` do."""
        handler = handler_factory(self.queue)
        if predicates:
            handler = FilteredHandler(handler, predicates)
        with self._lock:
            self._informers.append(informer)
        # The handler only maps the object to requests and adds them to the queue: inline.
        informer.add_event_handler(handler, inline=True)

    # -- running ---------------------------------------------------------------------------

    def start(self, stop: threading.Event) -> None:
        """Wait for the caches, run the workers until ``stop``, then let them finish.

        Raises :class:`CacheSyncError` if the informers do not sync in time, and re-raises a
        reconcile exception when ``recover_panic`` is off.
        """
        with self._lock:
            if self._started:
                raise RuntimeError(f"controller {self.name} was started more than once")
            self._started = True
            informers = list(self._informers)
        if self._metrics is not None:
            self._metrics.init_controller(self.name, self._workers)
        try:
            if not self._wait_for_sync(informers, stop):
                return
            log.info("Starting workers", extra={**self._log_base, "workers": self._workers})
            threads = [
                threading.Thread(
                    target=self._worker, args=(stop,), name=f"{self.name}-worker-{i}", daemon=True
                )
                for i in range(self._workers)
            ]
            senders = [
                threading.Thread(
                    target=self._handoff_loop, name=f"{self.name}-handoff-{i}", daemon=True
                )
                for i in range(self._handoffs)
            ]
            for thread in (*threads, *senders):
                thread.start()
            when_set(stop, self._wake.set, f"{self.name}-stop")
            while not stop.is_set() and not self._crashed.is_set():
                self._wake.wait(IDLE_WAKE)
            log.info(
                "Shutdown signal received, waiting for all workers to finish", extra=self._log_base
            )
            self.queue.shut_down()
            self._join(threads, senders)
        finally:
            self.queue.shut_down()
        if self._crash is not None:
            raise self._crash

    def _wait_for_sync(self, informers: list[WatchedInformer], stop: threading.Event) -> bool:
        deadline = self._clock.monotonic() + self._cache_sync_timeout
        while not all(informer.has_synced() for informer in informers):
            if stop.is_set():
                return False
            if self._clock.monotonic() >= deadline:
                raise CacheSyncError(
                    f"timed out waiting for the caches of controller {self.name} to sync"
                )
            stop.wait(SYNC_POLL_INTERVAL)
        return not stop.is_set()

    def _join(self, threads: list[threading.Thread], senders: list[threading.Thread]) -> None:
        # Real seconds: the bound protects the process's shutdown, whatever clock runs the logic.
        done = threading.Event()

        def join_all() -> None:
            for thread in threads:
                thread.join()
            # The workers hand off no more: the hand-offs queued run, then the threads end.
            for _ in senders:
                self._handed_off.put(None)
            for thread in senders:
                thread.join()
            done.set()

        threading.Thread(target=join_all, name=f"{self.name}-join", daemon=True).start()
        if done.wait(self._graceful_timeout):
            log.info("All workers finished", extra=self._log_base)
        else:
            busy = sum(thread.is_alive() for thread in threads)
            log.warning(
                "workers still running after the graceful timeout",
                extra={**self._log_base, "workers": busy},
            )

    def _worker(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set() and self._process_next_work_item(stop):
                pass
        except _Unrecovered as crash:  # recover_panic=False: stop everything, re-raise in start
            self._crashed_with(crash)

    def _crashed_with(self, crash: _Unrecovered) -> None:
        self._crash = crash.exc
        self._crashed.set()
        self._wake.set()

    def _process_next_work_item(self, stop: threading.Event) -> bool:
        request, shutdown = self.queue.get()
        if shutdown or request is None:
            return False
        handed_off = False
        try:
            if stop.is_set():
                return False  # got an item after stop: leave it to the next leader
            active = self._metrics.active_workers.labels(self.name) if self._metrics else None
            if active is not None:
                active.inc()
            try:
                handed_off = self._reconcile_handler(request)
            finally:
                if active is not None:
                    active.dec()
        finally:
            if not handed_off:  # else the hand-off thread calls done once it has finished
                self.queue.done(request)
        return True

    def _reconcile_handler(self, request: Request) -> bool:
        """One reconcile and its outcome (the rules live in :meth:`_outcome`); True when its
        last step was handed off (then the request is not done yet)."""
        rid = str(uuid.UUID(int=_reconcile_ids.getrandbits(128), version=4))
        fields = {
            **self._log_base,
            "namespace": request.namespace,
            "resource_name": request.name,
            "reconcileID": rid,
        }
        token = _reconcile_id.set(rid)
        started = self._clock.monotonic()
        handed_off = False
        try:
            log.debug("Reconciling", extra=fields)
            result = self._attempt(request, fields, lambda: self._reconciler.reconcile(request))
            if result is not None and result.then is not None and self._handoffs:
                self._backlog.enter()  # waits while the backlog drains
                self._handed_off.put(_HandOff(request, fields, result.then, started))
                handed_off = True
                return True
            self._finish(request, fields, result)
            return False
        finally:
            if not handed_off:
                self._observe_time(started)
            _reconcile_id.reset(token)

    def _handoff_loop(self) -> None:
        """A hand-off thread: run queued last steps until the sentinel ``None``."""
        while (handoff := self._handed_off.get()) is not None:
            token = _reconcile_id.set(handoff.fields["reconcileID"])
            try:
                result = self._attempt(handoff.request, handoff.fields, handoff.then)
                self._finish(handoff.request, handoff.fields, result)
            except _Unrecovered as crash:
                self._crashed_with(crash)
            finally:
                self._observe_time(handoff.started)
                _reconcile_id.reset(token)
                self._backlog.leave()
                self.queue.done(handoff.request)

    def _finish(self, request: Request, fields: dict[str, Any], result: Result | None) -> None:
        """Run what is left of a reconcile here (a ``then`` not handed off), then its outcome."""
        while result is not None and result.then is not None:
            result = self._attempt(request, fields, result.then)
        if result is not None:
            self._outcome(request, fields, result)

    def _observe_time(self, started: float) -> None:
        if self._metrics is not None:
            elapsed = self._clock.monotonic() - started
            self._metrics.reconcile_time.labels(self.name).observe(elapsed)

    def _attempt(
        self, request: Request, fields: dict[str, Any], call: Callable[[], Result]
    ) -> Result | None:
        """``call()`` (a reconcile or its handed-off rest); an exception is handled here by the
        outcome rules (see the module docstring's table) and gives None."""
        m = self._metrics
        try:
            return self._reconcile(call, fields)
        except TerminalError:
            if m is not None:
                m.terminal_reconcile_errors.labels(self.name).inc()
            self._count_error()
            log.exception("Reconciler error", extra={**fields, "terminal": True})
        except Exception as exc:
            self.queue.add_rate_limited(request)
            self._count_error()
            panic = not isinstance(exc, self._expected_errors)
            log.error("Reconciler error", extra={**fields, "panic": panic}, exc_info=exc)
        return None

    def _outcome(self, request: Request, fields: dict[str, Any], result: Result) -> None:
        """The outcome rules for a result (see the module docstring's table)."""
        m = self._metrics
        if result.requeue_after is not None and result.requeue_after > 0:
            # Forget first: a scheduled requeue is not a failure and resets the backoff.
            self.queue.forget(request)
            self.queue.add_after(request, result.requeue_after)
            outcome = RESULT_REQUEUE_AFTER
        elif result.requeue:
            self.queue.add_rate_limited(request)
            outcome = RESULT_REQUEUE
        else:
            self.queue.forget(request)
            outcome = RESULT_SUCCESS
        if m is not None:
            m.reconcile_total.labels(self.name, outcome).inc()
        log.debug("Reconcile done", extra={**fields, "result": outcome})

    def _count_error(self) -> None:
        if self._metrics is not None:
            self._metrics.reconcile_errors.labels(self.name).inc()
            self._metrics.reconcile_total.labels(self.name, RESULT_ERROR).inc()

    def _reconcile(self, call: Callable[[], Result], fields: dict[str, Any]) -> Result:
        """Call the reconciler (or its hand-off); count an unexpected exception as a panic
        (escalate if asked)."""
        try:
            return call()
        except self._not_panics:
            raise
        except Exception as exc:
            if self._metrics is not None:
                self._metrics.reconcile_panics.labels(self.name).inc()
            if not self._recover_panic:
                log.critical("Observed a panic in reconciler", extra=fields, exc_info=exc)
                raise _Unrecovered(exc) from exc
            raise


@dataclass(frozen=True, slots=True)
class _HandOff:
    """A reconcile's last step waiting for a hand-off thread."""

    request: Request
    fields: dict[str, Any]
    then: Callable[[], Result]
    started: float  # monotonic, when the reconcile began (reconcile_time covers both parts)


class _Unrecovered(BaseException):
    """Carries a reconcile exception past the outcome rules when ``recover_panic`` is off."""

    def __init__(self, exc: Exception) -> None:
        super().__init__(str(exc))
        self.exc = exc
