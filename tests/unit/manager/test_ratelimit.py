"""Rate-limiter arithmetic, as tables (client-go ``default_rate_limiters_test.go``)."""

from __future__ import annotations

import threading

import pytest

from manager.clock import FakeClock
from manager.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
)

MS = 0.001


@pytest.mark.parametrize(
    ("base", "cap", "expected"),
    [
        # client-go TestItemExponentialFailureRateLimiter: 1 ms base, 1 s cap.
        (MS, 1.0, [1 * MS, 2 * MS, 4 * MS, 8 * MS, 16 * MS, 32 * MS, 64 * MS, 128 * MS]),
        (MS, 0.01, [1 * MS, 2 * MS, 4 * MS, 8 * MS, 10 * MS, 10 * MS]),
        # The controller default: 5 ms doubling, 1000 s cap reached at the 19th failure.
        (5 * MS, 1000.0, [5 * MS * 2**i for i in range(18)] + [1000.0, 1000.0]),
        (0.0, 1.0, [0.0, 0.0, 0.0]),
    ],
)
def test_exponential_sequence(base: float, cap: float, expected: list[float]) -> None:
    limiter = ItemExponentialFailureRateLimiter(base, cap)
    got = [limiter.when("one") for _ in expected]
    assert got == pytest.approx(expected)
    assert limiter.num_requeues("one") == len(expected)


def test_exponential_is_per_item_and_forget_resets() -> None:
    limiter = ItemExponentialFailureRateLimiter(MS, 1.0)
    assert [limiter.when("one"), limiter.when("one")] == pytest.approx([MS, 2 * MS])
    assert limiter.when("two") == pytest.approx(MS)
    assert (limiter.num_requeues("one"), limiter.num_requeues("two")) == (2, 1)
    limiter.forget("one")
    assert limiter.num_requeues("one") == 0
    assert limiter.when("one") == pytest.approx(MS)
    assert limiter.num_requeues("two") == 1


def test_exponential_huge_exponent_caps_instead_of_overflowing() -> None:
    limiter = ItemExponentialFailureRateLimiter(MS, 1000.0)
    delays = [limiter.when("x") for _ in range(1100)]
    assert delays[-1] == 1000.0
    assert limiter.num_requeues("x") == 1100


def test_exponential_rejects_negative_delays() -> None:
    with pytest.raises(ValueError):
        ItemExponentialFailureRateLimiter(-1.0, 1.0)


@pytest.mark.parametrize(
    ("qps", "burst", "steps", "expected"),
    [
        # (seconds stepped before the call, expected delay)
        # A full bucket answers 0 for `burst` calls, then spaces callers 1/qps apart.
        (10.0, 3, [0, 0, 0, 0, 0, 0], [0, 0, 0, 0.1, 0.2, 0.3]),
        # Refill: balance -1 (one reserved) plus 2.5 tokens after 0.25 s is 1.5, not capped.
        (10.0, 5, [0] * 6 + [0.25, 0, 0], [0] * 5 + [0.1, 0, 0.05, 0.15]),
        # ... and capped at burst: -1 + 2.5 is capped at 1.
        (10.0, 1, [0, 0, 0.25, 0, 0], [0, 0.1, 0, 0.1, 0.2]),
        # The bucket never holds more than `burst`, however long it rested.
        (1.0, 2, [0, 0, 100.0, 0, 0, 0], [0, 0, 0, 0, 1.0, 2.0]),
        # Time steps while reservations are outstanding reduce the wait.
        (2.0, 1, [0, 0, 0, 0.5, 0.5], [0, 0.5, 1.0, 1.0, 1.0]),
    ],
)
def test_bucket_reserve_arithmetic(
    qps: float, burst: int, steps: list[float], expected: list[float]
) -> None:
    clock = FakeClock()
    limiter = BucketRateLimiter(clock, qps, burst)
    got = []
    for step in steps:
        clock.step(step)
        got.append(limiter.when(object()))
    assert got == pytest.approx(expected)


def test_bucket_default_is_ten_per_second_burst_hundred() -> None:
    clock = FakeClock()
    limiter = BucketRateLimiter(clock)
    assert [limiter.when(i) for i in range(100)] == [0.0] * 100
    assert limiter.when(100) == pytest.approx(0.1)
    assert limiter.when(101) == pytest.approx(0.2)
    clock.step(1.0)  # 10 tokens back: balance -2 + 10 = 8
    assert [limiter.when(i) for i in range(8)] == [0.0] * 8
    assert limiter.when(8) == pytest.approx(0.1)
    assert limiter.num_requeues(8) == 0
    limiter.forget(8)


def test_bucket_infinite_rate_never_waits() -> None:
    limiter = BucketRateLimiter(FakeClock(), float("inf"), 1)
    assert [limiter.when(i) for i in range(10)] == [0.0] * 10


@pytest.mark.parametrize(("qps", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_bucket_rejects_invalid_settings(qps: float, burst: int) -> None:
    with pytest.raises(ValueError):
        BucketRateLimiter(FakeClock(), qps, burst)


def test_bucket_is_thread_safe() -> None:
    clock = FakeClock()
    limiter = BucketRateLimiter(clock, 10.0, 5)
    delays: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50):
            d = limiter.when("x")
            with lock:
                delays.append(d)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    # Every reservation got its own slot: 5 free ones, then 0.1 s apart.
    expected = [0.0] * 5 + [0.1 * i for i in range(1, 196)]
    assert sorted(delays) == pytest.approx(expected)


def test_max_of_takes_the_longest_and_every_limiter_records() -> None:
    fast = ItemExponentialFailureRateLimiter(MS, 1.0)
    slow = ItemExponentialFailureRateLimiter(10 * MS, 1.0)
    limiter = MaxOfRateLimiter(fast, slow)
    assert [limiter.when("one") for _ in range(3)] == pytest.approx([10 * MS, 20 * MS, 40 * MS])
    assert fast.num_requeues("one") == slow.num_requeues("one") == 3
    assert limiter.num_requeues("one") == 3
    limiter.forget("one")
    assert fast.num_requeues("one") == slow.num_requeues("one") == 0
    with pytest.raises(ValueError):
        MaxOfRateLimiter()


def test_default_controller_rate_limiter() -> None:
    """client-go TestMaxOfRateLimiter-like: exponential per item until the bucket empties."""
    clock = FakeClock()
    limiter = default_controller_rate_limiter(clock)
    # One item failing: 5 ms, 10 ms, 20 ms ... (the bucket has tokens).
    assert [limiter.when("a") for _ in range(4)] == pytest.approx([0.005, 0.01, 0.02, 0.04])
    # 96 distinct new items drain the rest of the burst at 5 ms each.
    assert [limiter.when(i) for i in range(96)] == pytest.approx([0.005] * 96)
    # The bucket is empty: a new item waits for its token (0.1 s), longer than 5 ms.
    assert limiter.when("b") == pytest.approx(0.1)
    assert limiter.num_requeues("a") == 4
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
