"""Micro-benchmark: items/s through the work queue's add → get → done, against ``queue.Queue``.

Not a test. One producer thread adds ``--items`` distinct keys while 1 and 4 worker threads
``get`` and ``done`` them (no work in between: this measures the queue's own overhead). The
baseline moves the same items through a plain ``queue.Queue`` (``put`` / ``get`` /
``task_done``) in the same process, so the ratio is comparable across machines.

    .venv/bin/python bench/bench_workqueue.py [--items 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import functools
import queue
import threading
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from manager.clock import RealClock
from manager.metrics import Metrics
from manager.ratelimit import default_controller_rate_limiter
from manager.workqueue import RateLimitingQueue


def _timed(workers: int, work: Callable[[], None], feed: Callable[[], None]) -> float:
    """Seconds from starting ``workers`` threads running ``work`` until ``feed`` has queued the
    items and its end signal and every worker has returned."""
    threads = [threading.Thread(target=work) for _ in range(workers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    feed()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def run_workqueue(items: int, workers: int, *, with_metrics: bool) -> float:
    """Seconds to move ``items`` keys through a RateLimitingQueue with ``workers`` threads."""
    clock = RealClock()
    metrics = Metrics(CollectorRegistry(), process_collectors=False) if with_metrics else None
    q: RateLimitingQueue[int] = RateLimitingQueue(
        default_controller_rate_limiter(clock), clock, "bench", metrics
    )

    def work() -> None:
        while True:
            item, shutdown = q.get()
            if shutdown or item is None:
                return
            q.done(item)

    def feed() -> None:
        for i in range(items):
            q.add(i)
        q.shut_down()  # workers finish what is queued, then see shutdown

    return _timed(workers, work, feed)


def run_baseline(items: int, workers: int) -> float:
    """Seconds to move ``items`` through ``queue.Queue`` with ``workers`` threads."""
    q: queue.Queue[int | None] = queue.Queue()

    def work() -> None:
        while True:
            item = q.get()
            q.task_done()
            if item is None:
                return

    def feed() -> None:
        for i in range(items):
            q.put(i)
        for _ in range(workers):
            q.put(None)

    return _timed(workers, work, feed)


def best(fn: Callable[[], float], repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, r = args.items, args.repeat
    print(f"{n} items, best of {r}; items/s (ratio to queue.Queue with the same workers)")
    print(f"{'workers':>7} {'queue.Queue':>12} {'workqueue':>18} {'workqueue+metrics':>18}")
    for workers in (1, 4):
        base = n / best(functools.partial(run_baseline, n, workers), r)
        plain = n / best(functools.partial(run_workqueue, n, workers, with_metrics=False), r)
        measured = n / best(functools.partial(run_workqueue, n, workers, with_metrics=True), r)
        print(
            f"{workers:>7} {base:>12,.0f} {plain:>10,.0f} ({plain / base:4.2f}x)"
            f" {measured:>10,.0f} ({measured / base:4.2f}x)"
        )


if __name__ == "__main__":
    main()
