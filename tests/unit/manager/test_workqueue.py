"""The work queue's guarantees (client-go ``queue_test.go``, ``delaying_queue_test.go``)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from manager.clock import FakeClock, RealClock
from manager.ratelimit import ItemExponentialFailureRateLimiter
from manager.workqueue import MAX_WAIT, DelayingQueue, Queue, RateLimitingQueue


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.002)


def step(clock: FakeClock, seconds: float) -> None:
    """Let the delaying thread settle into its (relative) sleep, then advance the fake clock."""
    time.sleep(0.01)
    clock.step(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def delaying(clock: FakeClock) -> Iterator[DelayingQueue[str]]:
    q: DelayingQueue[str] = DelayingQueue(clock, "test")
    yield q
    q.shut_down()


def take(q: Queue[str]) -> str:
    item, shutdown = q.get()
    assert not shutdown
    assert item is not None
    return item


def test_fifo_and_dedupe() -> None:
    q: Queue[str] = Queue(RealClock())
    for item in ["a", "b", "a", "c", "b", "a"]:
        q.add(item)
    assert len(q) == 3
    assert [take(q), take(q), take(q)] == ["a", "b", "c"]
    assert q.len() == 0


def test_add_while_processing_is_replayed_after_done_only() -> None:
    q: Queue[str] = Queue(RealClock())
    q.add("a")
    assert take(q) == "a"
    q.add("a")
    q.add("a")
    # Dirty, but not handed out while a worker has it.
    assert len(q) == 0
    q.add("b")
    assert take(q) == "b"
    q.done("b")
    assert len(q) == 0
    q.done("a")
    assert len(q) == 1
    assert take(q) == "a"
    q.done("a")
    assert len(q) == 0


def test_done_without_readd_does_not_requeue() -> None:
    q: Queue[str] = Queue(RealClock())
    q.add("a")
    take(q)
    q.done("a")
    q.shut_down()
    assert q.get() == (None, True)


def test_get_blocks_until_add() -> None:
    q: Queue[str] = Queue(RealClock())
    got: list[str] = []
    t = threading.Thread(target=lambda: got.append(take(q)))
    t.start()
    time.sleep(0.02)
    assert got == []
    q.add("x")
    t.join(5)
    assert got == ["x"]


def test_shutdown_hands_out_queued_items_then_reports_shutdown() -> None:
    q: Queue[str] = Queue(RealClock())
    q.add("a")
    q.add("b")
    q.shut_down()
    q.add("c")  # ignored
    assert q.shutting_down()
    assert take(q) == "a"
    assert take(q) == "b"
    assert q.get() == (None, True)


def test_shutdown_wakes_blocked_getters() -> None:
    q: Queue[str] = Queue(RealClock())
    results: list[tuple[str | None, bool]] = []
    threads = [threading.Thread(target=lambda: results.append(q.get())) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.02)
    q.shut_down()
    for t in threads:
        t.join(5)
    assert results == [(None, True)] * 3


def test_shut_down_with_drain_waits_for_in_flight_items() -> None:
    q: Queue[str] = Queue(RealClock())
    q.add("a")
    q.add("b")
    assert take(q) == "a"
    assert take(q) == "b"
    drained = threading.Event()

    def drain() -> None:
        if q.shut_down_with_drain():
            drained.set()

    t = threading.Thread(target=drain)
    t.start()
    time.sleep(0.02)
    assert not drained.is_set()
    q.done("a")
    time.sleep(0.02)
    assert not drained.is_set()
    q.add("c")  # ignored: shutting down
    q.done("b")
    t.join(5)
    assert drained.is_set()
    assert q.get() == (None, True)


def test_shut_down_with_drain_returns_at_once_when_idle_and_times_out_otherwise() -> None:
    idle: Queue[str] = Queue(RealClock())
    assert idle.shut_down_with_drain(timeout=5) is True
    busy: Queue[str] = Queue(RealClock())
    busy.add("a")
    take(busy)
    assert busy.shut_down_with_drain(timeout=0.05) is False


def test_shut_down_interrupts_a_drain() -> None:
    q: Queue[str] = Queue(RealClock())
    q.add("a")
    take(q)
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(q.shut_down_with_drain()))
    t.start()
    time.sleep(0.02)
    q.shut_down()
    t.join(5)
    assert result == [False]


def test_concurrent_producers_and_consumers_keep_the_invariants() -> None:
    """Never two workers on one key; every add is followed by a processing of that key."""
    q: Queue[int] = Queue(RealClock())
    keys = 20
    producers, consumers, adds_each = 4, 4, 500
    lock = threading.Lock()
    in_flight: set[int] = set()
    violations: list[int] = []
    last_add: dict[int, int] = {}  # key -> sequence number of its last add
    last_start: dict[int, int] = {}  # key -> sequence number seen when processing started
    seq = iter(range(1, 10**9))

    def produce(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(adds_each):
            key = rng.randrange(keys)
            with lock:
                last_add[key] = next(seq)
            q.add(key)

    def consume() -> None:
        while True:
            key, shutdown = q.get()
            if shutdown or key is None:
                return
            with lock:
                if key in in_flight:
                    violations.append(key)
                in_flight.add(key)
                last_start[key] = next(seq)
            time.sleep(0.0001)
            with lock:
                in_flight.discard(key)
            q.done(key)

    workers = [threading.Thread(target=consume) for _ in range(consumers)]
    makers = [threading.Thread(target=produce, args=(i,)) for i in range(producers)]
    for t in workers + makers:
        t.start()
    for t in makers:
        t.join(30)
    assert q.shut_down_with_drain(timeout=30)
    for t in workers:
        t.join(30)
    assert violations == []
    # Every key's last add was followed by a processing start (nothing lost).
    assert all(last_start[k] > last_add[k] for k in last_add)
    assert len(q) == 0


def test_add_after_orders_by_deadline(clock: FakeClock, delaying: DelayingQueue[str]) -> None:
    delaying.add_after("late", 30)
    delaying.add_after("early", 10)
    delaying.add_after("middle", 20)
    delaying.add_after("now", 0)
    assert take(delaying) == "now"
    assert delaying.waiting() == 3
    step(clock, 9.9)
    time.sleep(0.03)
    assert len(delaying) == 0
    step(clock, 0.1)
    wait_for(lambda: len(delaying) == 1)
    step(clock, 100)
    wait_for(lambda: len(delaying) == 3)
    assert [take(delaying), take(delaying), take(delaying)] == ["early", "middle", "late"]
    assert delaying.waiting() == 0


def test_add_after_keeps_the_earlier_deadline(
    clock: FakeClock, delaying: DelayingQueue[str]
) -> None:
    delaying.add_after("x", 10)
    delaying.add_after("x", 50)  # later: ignored
    assert delaying.waiting() == 1
    step(clock, 10)
    wait_for(lambda: len(delaying) == 1)
    assert take(delaying) == "x"
    delaying.done("x")
    delaying.add_after("y", 50)
    delaying.add_after("y", 5)  # earlier: wins
    step(clock, 5)
    wait_for(lambda: len(delaying) == 1)
    assert take(delaying) == "y"
    delaying.done("y")
    step(clock, 60)  # the superseded 50 s entry must not fire a second time
    time.sleep(0.03)
    assert len(delaying) == 0 and delaying.waiting() == 0


def test_add_after_of_an_already_queued_item_dedupes(
    clock: FakeClock, delaying: DelayingQueue[str]
) -> None:
    delaying.add("x")
    delaying.add_after("x", 1)
    step(clock, 1)
    wait_for(lambda: delaying.waiting() == 0)
    assert len(delaying) == 1


def test_delaying_loop_heartbeat_bounds_the_sleep(
    clock: FakeClock, delaying: DelayingQueue[str]
) -> None:
    delaying.add_after("far", 3 * MAX_WAIT)
    for _ in range(3):
        step(clock, MAX_WAIT)
    wait_for(lambda: len(delaying) == 1)


def test_add_after_is_ignored_after_shutdown(clock: FakeClock) -> None:
    q: DelayingQueue[str] = DelayingQueue(clock)
    q.add_after("x", 1)
    q.shut_down()
    step(clock, 5)
    time.sleep(0.03)
    q.add_after("y", 0)
    assert len(q) == 0
    assert q.get() == (None, True)


def test_a_queue_that_never_delays_starts_no_thread(clock: FakeClock) -> None:
    before = threading.active_count()
    q: DelayingQueue[str] = DelayingQueue(clock)
    q.add_after("x", 0)
    assert threading.active_count() == before
    q.shut_down()


def test_rate_limited_adds_back_off_per_item_and_forget_resets(clock: FakeClock) -> None:
    q: RateLimitingQueue[str] = RateLimitingQueue(
        ItemExponentialFailureRateLimiter(1.0, 100.0), clock, "rl"
    )
    try:
        q.add_rate_limited("x")  # 1 s
        assert q.num_requeues("x") == 1
        step(clock, 1)
        wait_for(lambda: len(q) == 1)
        assert take(q) == "x"
        q.add_rate_limited("x")  # 2 s, requested while processing
        q.done("x")
        step(clock, 1.5)
        time.sleep(0.03)
        assert len(q) == 0
        step(clock, 0.5)
        wait_for(lambda: len(q) == 1)
        assert q.num_requeues("x") == 2
        q.forget("x")
        assert q.num_requeues("x") == 0
        assert len(q) == 1  # forget does not remove the item
    finally:
        q.shut_down()


def test_add_after_with_a_real_clock_fires() -> None:
    q: DelayingQueue[str] = DelayingQueue(RealClock())
    try:
        start = time.monotonic()
        q.add_after("x", 0.02)
        assert take(q) == "x"
        assert time.monotonic() - start >= 0.0199
    finally:
        q.shut_down()


def test_a_new_earliest_deadline_wakes_a_loop_sleeping_for_a_later_one() -> None:
    q: DelayingQueue[str] = DelayingQueue(RealClock())
    try:
        q.add_after("tomorrow", 3600)
        time.sleep(0.05)  # the loop now sleeps towards the heap's head (bounded by MAX_WAIT)
        q.add_after("day-after", 7200)  # not a new head: the loop is left asleep
        start = time.monotonic()
        q.add_after("soon", 0.05)  # a new head: the loop must wake for it
        assert take(q) == "soon"
        assert time.monotonic() - start < MAX_WAIT / 2
        assert q.waiting() == 2
    finally:
        q.shut_down()


def test_add_all_queues_in_order_dedupes_and_replays_items_being_processed() -> None:
    q: Queue[str] = Queue(FakeClock())
    q.add("busy")
    assert take(q) == "busy"  # a worker holds it
    q.add_all(["a", "b", "a", "busy", "c"])
    assert [take(q), take(q), take(q)] == ["a", "b", "c"]
    assert len(q) == 0
    q.done("busy")  # re-added while processing: queued again after done, as with add
    assert take(q) == "busy"


def test_due_items_are_queued_together_ahead_of_later_adds(clock: FakeClock) -> None:
    """The delay loop queues everything due at once: an add that races with it lands after."""
    q: DelayingQueue[str] = DelayingQueue(clock)
    try:
        for i in range(200):
            q.add_after(f"due-{i:03d}", 10)
        step(clock, 10)
        wait_for(lambda: len(q) > 0)
        q.add("late")
        order = [take(q) for _ in range(201)]
        assert order[-1] == "late"
        assert order[:-1] == [f"due-{i:03d}" for i in range(200)]
    finally:
        q.shut_down()
