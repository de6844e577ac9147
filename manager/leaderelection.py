"""Leader election on a ``coordination.k8s.io/v1`` Lease, ported from client-go.

A port of client-go's ``tools/leaderelection/leaderelection.go`` and
``resourcelock/leaselock.go`` (not of the Python client's elector). Candidates race to write
their identity into one Lease with optimistic concurrency (``resourceVersion``); the winner
renews it every ``retry_period``; the others wait for it to expire. (Not tenacity: this is a
lease-timing algorithm that never gives up, not a bounded retry of one call.)

Timing rules (client-go's, kept verbatim in spirit):

* A client acts only on timestamps it captured itself. The ``renewTime`` written in the Lease
  is informative: it may come from another machine's clock. A candidate records *when it
  observed the record change* on its own monotonic clock (``observed_time``) and considers the
  lease expired only when ``leaseDurationSeconds`` pass locally without a change. The
  algorithm therefore tolerates arbitrary clock skew between nodes, but not arbitrary skew
  *rate*; the ratio ``lease_duration / renew_deadline`` bounds the tolerated rate.
* The leader gives up when it has not renewed within ``renew_deadline`` of its last
  successful renewal's start. Every candidate starts its expiry timer *after* the write it
  observed, so the leader stops at least ``lease_duration - renew_deadline`` before any
  candidate may take over (in the absence of clock-rate skew and stalls of the process).
* ``lease_duration > renew_deadline > JITTER_FACTOR * retry_period > 0`` is enforced.
  With the defaults (15 s / 10 s / 2 s) a standby takes over within about 17 s of a leader
  that died without releasing, and at its next retry when the leader released.

Fencing caveat (client-go's): this does **not** guarantee that only one process acts as the
leader at any instant (no fencing tokens). A paused leader (GC, SIGSTOP, a VM freeze) may
resume and act for a moment on a lease that has passed to another candidate. Work guarded by
the lease must therefore stay idempotent (deterministic names, ``AlreadyExists`` is success).

Release: on a *requested* shutdown, with ``release_on_cancel``, the leader clears
``holderIdentity`` (writing ``leaseDurationSeconds: 1`` as client-go does) so a successor takes
over at once — but only after the ``on_started_leading`` thread has returned, and the caller
must have stopped every leader-only worker before setting ``stop``. On an unrequested loss the
elector signals ``on_started_leading``'s stop event at once, calls ``on_stopped_leading``, and
does not touch the Lease again.

Non-goals: other lock kinds (ConfigMap/Endpoints locks are deprecated upstream), coordinated
leader election, Events for transitions (logs instead).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from manager.clock import Clock
from manager.errors import AlreadyExists, ApiError, NotFound
from manager.leaselock import LeaderElectionRecord, LeaseLock, ResourceLock
from manager.rest import RestClient

__all__ = [
    "DEFAULT_LEASE_DURATION",
    "DEFAULT_RENEW_DEADLINE",
    "DEFAULT_RETRY_PERIOD",
    "JITTER_FACTOR",
    "TIMINGS",
    "LeaderCallbacks",
    "LeaderElectionConfig",
    "LeaderElectionUnhealthy",
    "LeaderElector",
    "default_identity",
]

log = logging.getLogger(__name__)

DEFAULT_LEASE_DURATION = 15.0  # seconds; client-go / controller-runtime default
DEFAULT_RENEW_DEADLINE = 10.0  # seconds; client-go / controller-runtime default
DEFAULT_RETRY_PERIOD = 2.0  # seconds; client-go / controller-runtime default
JITTER_FACTOR = 1.2  # client-go's leaderelection.JitterFactor
# The timing fields of LeaderElectionConfig; ManagerOptions and the operator's flags use the
# same names, so each passes them on by name.
TIMINGS = ("lease_duration", "renew_deadline", "retry_period")
_MIN_REQUEST_TIMEOUT = 0.1  # seconds; a request is never sent with a zero timeout
_CALLBACK_JOIN_TIMEOUT_FACTOR = (
    1.0  # times renew_deadline: to wait for on_started_leading to return
)


def default_identity() -> str:
    """The holder identity: the pod name (``$POD_NAME``, else the hostname) + ``_`` + a UUID.

    The suffix keeps two processes on one host (or a restarted pod) from sharing an identity,
    as controller-runtime does.
    """
    base = os.environ.get("POD_NAME") or socket.gethostname()
    return f"{base}_{uuid.uuid4()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderElectionConfig:
    """Where the Lease lives, who we are, and the timings (seconds). Validated on creation."""

    namespace: str
    name: str
    identity: str
    lease_duration: float = DEFAULT_LEASE_DURATION
    renew_deadline: float = DEFAULT_RENEW_DEADLINE
    retry_period: float = DEFAULT_RETRY_PERIOD
    release_on_cancel: bool = True

    def __post_init__(self) -> None:
        # The order and wording follow client-go's NewLeaderElector.
        if self.lease_duration <= self.renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            raise ValueError("renew_deadline must be greater than retry_period*JitterFactor")
        if self.lease_duration <= 0:
            raise ValueError("lease_duration must be greater than zero")
        if self.renew_deadline <= 0:
            raise ValueError("renew_deadline must be greater than zero")
        if self.retry_period <= 0:
            raise ValueError("retry_period must be greater than zero")
        # Not in client-go: the Lease holds whole seconds, and a 0 there means "expired".
        if self.lease_duration < 1:
            raise ValueError("lease_duration must be at least 1 second (Leases hold seconds)")
        if not self.identity:
            raise ValueError("identity must not be empty")
        if not self.namespace or not self.name:
            raise ValueError("the Lease namespace and name must not be empty")


@dataclass(frozen=True, slots=True)
class LeaderCallbacks:
    """Lifecycle hooks. ``on_started_leading`` runs on its own thread with an Event that is set
    when leadership ends; it must return once that Event is set. ``on_stopped_leading`` runs
    on the elector's thread when :meth:`LeaderElector.run` ends, whether it led or not.
    ``on_new_leader`` runs on a new thread whenever the observed holder changes."""

    on_started_leading: Callable[[threading.Event], None]
    on_stopped_leading: Callable[[], None]
    on_new_leader: Callable[[str], None] | None = None


class LeaderElectionUnhealthy(Exception):
    """The leader has not renewed its Lease for longer than it may (see :meth:`check`)."""


@dataclass
class _Observed:
    """What this candidate last saw, and when on its own monotonic clock (client-go's
    ``observedRecord`` / ``observedTime``). Guarded by ``LeaderElector._lock``."""

    record: LeaderElectionRecord = field(default_factory=LeaderElectionRecord)
    time: float = 0.0


class LeaderElector:
    """Runs the acquire/renew/release loop for one identity on one Lease.

    Thread-safety: :meth:`is_leader`, :meth:`leader` and :meth:`check` may be called from any
    thread; :meth:`run` (or :meth:`start`) from one thread at a time.
    """

    def __init__(
        self,
        rest: RestClient | None,
        config: LeaderElectionConfig,
        clock: Clock,
        callbacks: LeaderCallbacks,
        *,
        lock: ResourceLock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if lock is None:
            if rest is None:
                raise ValueError("a RestClient or a ResourceLock is required")
            lock = LeaseLock(rest, config.namespace, config.name, config.identity)
        if lock.identity() != config.identity:
            raise ValueError("the lock's identity differs from the config's identity")
        self.config = config
        self._lock_obj = lock
        self._clock = clock
        self._callbacks = callbacks
        self._rng = rng or random.Random()
        self._mu = threading.Lock()
        self._observed = _Observed()
        self._reported_leader = ""
        self._lost = False
        self._release_disabled = False

    # -- state queries ----------------------------------------------------------------------

    def describe(self) -> str:
        return self._lock_obj.describe()

    def leader(self) -> str:
        """The identity of the last observed leader ("" when none was observed)."""
        with self._mu:
            return self._observed.record.holder_identity

    def is_leader(self) -> bool:
        """True if the last observed holder is this candidate (client-go's ``IsLeader``)."""
        with self._mu:
            return self._observed.record.holder_identity == self.config.identity

    def lost_leadership(self) -> bool:
        """True once :meth:`run` stopped leading without being asked to."""
        with self._mu:
            return self._lost

    def disable_release(self) -> None:
        """Do not release the Lease when :meth:`run` stops (leader-only work may still be
        running: the Lease must expire by itself instead of passing to a successor at once)."""
        with self._mu:
            self._release_disabled = True

    def check(self, max_tolerable_expired: float = 0.0) -> None:
        """Raise :class:`LeaderElectionUnhealthy` if we lead but have not renewed within
        ``lease_duration + max_tolerable_expired`` (client-go's ``HealthzAdaptor``): the
        renew loop should have given up by then, so something is stuck. A standby is healthy.
        """
        with self._mu:
            leading = self._observed.record.holder_identity == self.config.identity
            since = self._clock.monotonic() - self._observed.time
        if leading and since > self.config.lease_duration + max_tolerable_expired:
            raise LeaderElectionUnhealthy(
                f"failed election to renew leadership on lease {self.describe()}"
            )

    def _lease_valid(self, now_mono: float) -> bool:
        # client-go's isLeaseValid: judged by the *record's* duration from *our* observation.
        return now_mono < self._observed.time + self._observed.record.lease_duration_seconds

    def _set_observed(self, record: LeaderElectionRecord, now_mono: float) -> None:
        self._observed = _Observed(record, now_mono)

    # -- the algorithm ----------------------------------------------------------------------

    def try_acquire_or_renew(self, timeout: float | None = None) -> bool:
        """One round of client-go's ``tryAcquireOrRenew``; True if we hold the lease after it.

        ``timeout`` bounds each request. A conflict (someone else wrote first) or any API
        error means "not this round"; nothing is raised.
        """
        wall = self._clock.now()
        start_mono = self._clock.monotonic()
        desired = LeaderElectionRecord.for_holder(
            self.config.identity, self.config.lease_duration, wall
        )
        with self._mu:
            observed = self._observed
            leading = observed.record.holder_identity == self.config.identity
            valid = self._lease_valid(start_mono)
        # 1. Fast path: the leader updates optimistically from the record it last wrote.
        if leading and valid:
            record = desired.renewed_from(observed.record)
            try:
                self._lock_obj.update(record, timeout)
            except ApiError as err:
                log.info(
                    "optimistic lease update failed, falling back to a read",
                    extra={"lease": self.describe(), "error": str(err)},
                )
            else:
                with self._mu:
                    self._set_observed(record, start_mono)
                return True
        # 2. Obtain or create the record.
        try:
            current = self._lock_obj.get(timeout)
        except NotFound:
            try:
                self._lock_obj.create(desired, timeout)
            except ApiError as err:
                level = logging.INFO if isinstance(err, AlreadyExists) else logging.ERROR
                log.log(
                    level,
                    "error initially creating the lease",
                    extra={"lease": self.describe(), "error": str(err)},
                )
                return False
            with self._mu:
                self._set_observed(desired, start_mono)
            return True
        except ApiError as err:
            log.error(
                "error retrieving the lease", extra={"lease": self.describe(), "error": str(err)}
            )
            return False
        # 3. Record obtained: note when we saw it change, then judge expiry locally.
        now_mono = self._clock.monotonic()
        with self._mu:
            if current != self._observed.record:
                self._set_observed(current, now_mono)
            leading = current.holder_identity == self.config.identity
            held_by_other = (
                bool(current.holder_identity) and not leading and self._lease_valid(now_mono)
            )
        if held_by_other:
            log.debug(
                "lease is held by another candidate and has not yet expired",
                extra={"lease": self.describe(), "holder": current.holder_identity},
            )
            return False
        # 4. Acquire (transitions + 1) or renew (keep acquireTime and transitions).
        record = desired.renewed_from(current) if leading else desired.taken_over_from(current)
        try:
            self._lock_obj.update(record, timeout)
        except ApiError as err:
            log.info(
                "failed to update the lease", extra={"lease": self.describe(), "error": str(err)}
            )
            return False
        with self._mu:
            self._set_observed(record, start_mono)
        return True

    def release(self, timeout: float | None = None) -> bool:
        """Give the lease up if we hold it: clear the holder, ``leaseDurationSeconds: 1``.

        Returns True when we no longer hold it. Call only after leader-only work stopped.
        """
        with self._mu:
            observed = self._observed.record
        if observed.holder_identity != self.config.identity:
            return True
        record = LeaderElectionRecord.released_from(observed, self._clock.now())
        try:
            self._lock_obj.update(record, timeout)
        except ApiError as err:
            log.error(
                "failed to release the lease", extra={"lease": self.describe(), "error": str(err)}
            )
            return False
        with self._mu:
            self._set_observed(record, self._clock.monotonic())
        log.info("released the lease", extra={"lease": self.describe()})
        return True

    def _maybe_report_transition(self) -> None:
        with self._mu:
            holder = self._observed.record.holder_identity
            if holder == self._reported_leader:
                return
            self._reported_leader = holder
        log.info("new leader observed", extra={"lease": self.describe(), "holder": holder})
        callback = self._callbacks.on_new_leader
        if callback is not None:
            threading.Thread(
                target=callback, args=(holder,), name="leader-on-new-leader", daemon=True
            ).start()

    def _jittered(self, period: float) -> float:
        return period + self._rng.random() * JITTER_FACTOR * period

    def _acquire(self, stop: threading.Event) -> bool:
        """Retry with jitter until we hold the lease (True) or ``stop`` is set (False)."""
        log.info("attempting to acquire the leader lease", extra={"lease": self.describe()})
        while not stop.is_set():
            acquired = self.try_acquire_or_renew(timeout=self.config.renew_deadline)
            self._maybe_report_transition()
            if acquired:
                log.info("successfully acquired the lease", extra={"lease": self.describe()})
                return True
            if self._clock.sleep(self._jittered(self.config.retry_period), stop):
                break
        return False

    def _renew(self, stop: threading.Event) -> bool:
        """Renew every ``retry_period``; return False (lost) when a renewal did not succeed
        within ``renew_deadline`` of the last successful one's start, True when ``stop``."""
        with self._mu:
            last_success = self._observed.time
        while not stop.is_set():
            if self._clock.sleep(self.config.retry_period, stop):
                return True
            deadline = last_success + self.config.renew_deadline
            while True:
                remaining = deadline - self._clock.monotonic()
                if remaining <= 0:
                    self._maybe_report_transition()
                    log.info(
                        "failed to renew the lease within the renew deadline",
                        extra={"lease": self.describe()},
                    )
                    return False
                attempt_start = self._clock.monotonic()
                ok = self.try_acquire_or_renew(timeout=max(_MIN_REQUEST_TIMEOUT, remaining))
                self._maybe_report_transition()
                if ok:
                    last_success = attempt_start
                    break
                if not ok and not self.is_leader():
                    log.info("lost the lease to another holder", extra={"lease": self.describe()})
                    return False
                if stop.is_set():
                    return True
                wait = min(self.config.retry_period, deadline - self._clock.monotonic())
                if wait > 0 and self._clock.sleep(wait, stop):
                    return True
        return True

    def run(self, stop: threading.Event) -> None:
        """Acquire, lead until ``stop`` is set or the lease is lost, then clean up.

        Blocks. ``on_stopped_leading`` is always called before returning.
        """
        leading_stop = threading.Event()
        worker: threading.Thread | None = None
        try:
            if not self._acquire(stop):
                return
            worker = threading.Thread(
                target=self._callbacks.on_started_leading,
                args=(leading_stop,),
                name="leader-on-started-leading",
                daemon=True,
            )
            worker.start()
            requested = self._renew(stop)
            leading_stop.set()
            if not requested:
                with self._mu:
                    self._lost = True
                return
            with self._mu:
                release = self.config.release_on_cancel and not self._release_disabled
            if release:
                worker.join(self.config.renew_deadline * _CALLBACK_JOIN_TIMEOUT_FACTOR)
                if worker.is_alive():
                    log.error(
                        "on_started_leading did not return; not releasing the lease",
                        extra={"lease": self.describe()},
                    )
                else:
                    self.release(timeout=self.config.renew_deadline)
        finally:
            leading_stop.set()
            self._callbacks.on_stopped_leading()

    def start(self, stop: threading.Event) -> None:
        """:class:`~manager.runnable.Runnable` form of :meth:`run`."""
        self.run(stop)

    def needs_leader_election(self) -> bool:
        """The elector itself runs on every replica."""
        return False
