"""The floor: a plain load generator that only POSTs one Job per backup, as fast as it can.

Role: the physical limit the operator's herd is compared with. It uses the operator's own
client (:class:`manager.rest.RestClient` with the Manager's pool size) and the operator's
concurrency (``--workers``, the default ``--max-concurrent-reconciles``), and POSTs exactly the
Jobs the operator would create (``build_job`` for each backup at ``--slot``). Everything but the
POSTs — listing the backups, building the bodies — happens before ``--start-at``.

Prints one JSON line: Jobs created, errors, wall time, the client's CPU seconds during the
POSTs and, with ``--profile``, the top functions of a cProfile of the whole process (which
shows whether the client or the server is the bottleneck). Non-goals: retries, rate limits.

Run: ``python -m bench.floor --kubeconfig K --slot 2025-03-28T01:00:00+00:00 --start-at T``
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import queue
import threading
import time
from datetime import datetime
from typing import Any

from api.v1alpha1 import build_job
from app.operator import USER_AGENT
from controller.resources import BACKUPS
from manager.errors import ApiError
from manager.kubeconfig import load_rest_config
from manager.manager import DEFAULT_MAX_CONCURRENT_RECONCILES
from manager.rest import DEFAULT_POOL_SIZE, RestClient
from manager.scheme import JOBS

PROFILE_TOP = 12  # functions listed from the profile


def _bodies(rest: RestClient, slot: datetime, namespace: str | None) -> list[dict[str, Any]]:
    listed = rest.get(BACKUPS.collection_path(namespace))
    bodies = []
    for backup in listed.get("items") or ():
        job = build_job(backup, slot)
        job.setdefault("apiVersion", JOBS.api_version)
        job.setdefault("kind", JOBS.kind)
        bodies.append(job)
    return bodies


def _post_all(
    rest: RestClient, bodies: list[dict[str, Any]], workers: int, profile: bool
) -> tuple[int, list[cProfile.Profile]]:
    """POST every body from ``workers`` threads; the error count and, with ``profile``, one
    profile per thread (cProfile sees only the thread that enabled it)."""
    profilers: list[cProfile.Profile] = []
    work: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
    for body in bodies:
        work.put(body)
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
        while (body := work.get()) is not None:
            namespace = body["metadata"]["namespace"]
            try:
                rest.create(JOBS.collection_path(namespace), body)
            except ApiError:
                with lock:
                    errors += 1
        if profiler is not None:
            profiler.disable()

    threads = [threading.Thread(target=worker, name=f"floor-{i}") for i in range(workers)]
    for _ in threads:
        work.put(None)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors, profilers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--slot", required=True, type=datetime.fromisoformat)
    parser.add_argument("--start-at", type=float, default=0.0, help="real Unix time to begin")
    parser.add_argument("--workers", type=int, default=DEFAULT_MAX_CONCURRENT_RECONCILES)
    parser.add_argument("--namespace", default=None, help="the backups of one namespace only")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    # One connection per request in flight, at least the Manager's pool.
    pool = max(DEFAULT_POOL_SIZE, args.workers)
    rest = RestClient(load_rest_config(args.kubeconfig), user_agent=USER_AGENT, pool_size=pool)
    bodies = _bodies(rest, args.slot, args.namespace)
    while (left := args.start_at - time.time()) > 0:
        time.sleep(min(left, 0.1))
    cpu0 = time.process_time()
    began = time.time()
    errors, profilers = _post_all(rest, bodies, args.workers, args.profile)
    ended = time.time()
    result: dict[str, Any] = {
        "jobs": len(bodies), "errors": errors, "began": began, "ended": ended,
        "cpu_seconds": time.process_time() - cpu0, "workers": args.workers, "pid": os.getpid(),
    }  # fmt: skip
    if profilers:
        out = io.StringIO()
        stats = pstats.Stats(profilers[0], stream=out)
        for extra in profilers[1:]:
            stats.add(extra)
        # File names without this machine's directories: the profile goes into a report.
        stats.strip_dirs().sort_stats("tottime").print_stats(PROFILE_TOP)
        result["profile"] = out.getvalue()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
