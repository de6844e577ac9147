"""Rate limiters for the work queue: how long to wait before an item is retried.

A port of client-go's ``util/workqueue/default_rate_limiters.go`` (not tenacity: the delay is
handed to the queue's ``add_after``, nothing here retries or sleeps). A :class:`RateLimiter`
answers ``when(item)`` — the delay before ``item`` may be retried — and keeps per-item state
that :meth:`RateLimiter.forget` resets. The queue turns the delay into an ``add_after``.

* :class:`ItemExponentialFailureRateLimiter` — ``base * 2**failures``, capped at ``max_delay``,
  counted per item; ``forget`` resets the count.
* :class:`BucketRateLimiter` — one token bucket for all items, with the arithmetic of Go's
  ``rate.Limiter.Reserve``: ``when`` never blocks, it *reserves* a (possibly future) token and
  returns how long until that token exists. Time comes from the injected :class:`Clock`.
* :class:`MaxOfRateLimiter` — asks every limiter (each records the failure) and returns the
  longest delay.
* :func:`default_controller_rate_limiter` — client-go's classic ``DefaultControllerRateLimiter``:
  per-item exponential 5 ms to 1000 s, combined with an overall bucket of 10/s, burst 100.

All limiters are thread-safe. They do not sleep and do not know about queues.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable
from typing import Protocol

from manager.clock import Clock

__all__ = [
    "DEFAULT_BASE_DELAY",
    "DEFAULT_BUCKET_BURST",
    "DEFAULT_BUCKET_QPS",
    "DEFAULT_MAX_DELAY",
    "BucketRateLimiter",
    "ItemExponentialFailureRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "default_controller_rate_limiter",
]

DEFAULT_BASE_DELAY = 0.005  # seconds; client-go DefaultControllerRateLimiter: 5 ms
DEFAULT_MAX_DELAY = 1000.0  # seconds; client-go DefaultControllerRateLimiter: 1000 s
DEFAULT_BUCKET_QPS = 10.0  # tokens per second; client-go: rate.Limit(10)
DEFAULT_BUCKET_BURST = 100  # client-go: burst 100 ("only slows retries, not the first adds")

# 2**1024 overflows a float; Go caps the product at MaxInt64 nanoseconds instead. Any exponent
# this large is far past every sane max_delay, so it short-cuts to max_delay.
_MAX_EXPONENT = 1000


class RateLimiter(Protocol):
    """Decides how long an item waits before it is retried.

    ``when`` records a failure of ``item`` and returns the delay in seconds; ``forget`` clears
    the item's history (it succeeded, or the caller gave up); ``num_requeues`` is the number of
    failures recorded since the last ``forget``.
    """

    def when(self, item: Hashable) -> float: ...

    def forget(self, item: Hashable) -> None: ...

    def num_requeues(self, item: Hashable) -> int: ...


class ItemExponentialFailureRateLimiter:
    """``base_delay * 2**n`` for an item's ``n``-th consecutive failure, at most ``max_delay``."""

    def __init__(
        self, base_delay: float = DEFAULT_BASE_DELAY, max_delay: float = DEFAULT_MAX_DELAY
    ) -> None:
        if base_delay < 0 or max_delay < 0:
            raise ValueError("rate limiter delays must not be negative")
        self._base = base_delay
        self._max = max_delay
        self._failures: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def when(self, item: Hashable) -> float:
        with self._lock:
            exp = self._failures.get(item, 0)
            self._failures[item] = exp + 1
        if exp > _MAX_EXPONENT:
            return self._max
        return min(self._base * 2.0**exp, self._max)

    def forget(self, item: Hashable) -> None:
        with self._lock:
            self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        with self._lock:
            return self._failures.get(item, 0)


class BucketRateLimiter:
    """A token bucket shared by all items (Go ``rate.Limiter`` with ``Reserve().Delay()``).

    The bucket starts full (``burst`` tokens) and refills at ``qps`` tokens per second up to
    ``burst``. Each ``when`` takes one token; when none is left the balance goes negative and
    the returned delay is the time until the balance is back to zero, so concurrent callers are
    spaced ``1/qps`` apart. ``qps = math.inf`` never delays. It keeps no per-item state.
    """

    def __init__(
        self, clock: Clock, qps: float = DEFAULT_BUCKET_QPS, burst: int = DEFAULT_BUCKET_BURST
    ) -> None:
        if qps <= 0:
            raise ValueError(f"bucket rate must be positive, got {qps}")
        if burst < 1:
            raise ValueError(f"bucket burst must be at least 1, got {burst}")
        self._clock = clock
        self._qps = qps
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last = clock.monotonic()
        self._lock = threading.Lock()

    def when(self, item: Hashable) -> float:
        if math.isinf(self._qps):
            return 0.0
        with self._lock:
            now = self._clock.monotonic()
            # advance(): refill for the time since the last reservation (never backwards).
            last = min(self._last, now)
            tokens = min(self._tokens + (now - last) * self._qps, self._burst)
            tokens -= 1.0
            wait = -tokens / self._qps if tokens < 0 else 0.0
            self._last = now
            self._tokens = tokens
            return wait

    def forget(self, item: Hashable) -> None:
        return None

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The worst (longest) answer of several limiters; every limiter records every failure."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self._limiters = limiters

    def when(self, item: Hashable) -> float:
        # Ask every limiter (not any(...)): each one must record the failure.
        delays = [limiter.when(item) for limiter in self._limiters]
        return max(delays)

    def forget(self, item: Hashable) -> None:
        for limiter in self._limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self._limiters)


def default_controller_rate_limiter(clock: Clock) -> MaxOfRateLimiter:
    """client-go's ``DefaultControllerRateLimiter``: exponential per item, bucket overall."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(DEFAULT_BASE_DELAY, DEFAULT_MAX_DELAY),
        BucketRateLimiter(clock, DEFAULT_BUCKET_QPS, DEFAULT_BUCKET_BURST),
    )
