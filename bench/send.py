"""Send many writes from a fixed number of threads: the benchmark's bare client.

Role: the one loop behind the floor (``bench/floor.py``, timed) and the seeding of a real
cluster (``bench/cluster.py``, not timed): ``workers`` threads take (method, path, body)
requests off one queue, so exactly ``workers`` requests are in flight until the queue runs
dry. Refusals (any :class:`~manager.errors.ApiError`) are counted, not raised: the caller
decides whether a refused write matters. With ``profile`` each thread runs its own cProfile
(cProfile sees only the thread that enabled it).
"""

from __future__ import annotations

import cProfile
import queue
import threading
from collections.abc import Iterable
from typing import Any

from manager.errors import ApiError
from manager.rest import RestClient

__all__ = ["Request", "send_all"]

Request = tuple[str, str, dict[str, Any]]
"""(method, path, body) of one write."""


def send_all(
    rest: RestClient,
    requests: Iterable[Request],
    workers: int,
    *,
    name: str = "send",
    profile: bool = False,
) -> tuple[int, list[cProfile.Profile]]:
    """Send every request from ``workers`` threads; the number refused and, with ``profile``,
    one profile per thread."""
    profilers: list[cProfile.Profile] = []
    work: queue.SimpleQueue[Request | None] = queue.SimpleQueue()
    for request in requests:
        work.put(request)
    errors = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal errors
        profiler = None
        if profile:
            profiler = cProfile.Profile()
            with lock:
                profilers.append(profiler)
            profiler.enable()
        while (request := work.get()) is not None:
            method, path, body = request
            try:
                rest.request(method, path, body=body)
            except ApiError:
                with lock:
                    errors += 1
        if profiler is not None:
            profiler.disable()

    threads = [threading.Thread(target=worker, name=f"{name}-{i}") for i in range(workers)]
    for _ in threads:
        work.put(None)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors, profilers
