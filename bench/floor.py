"""The floor: a plain load generator that only writes one object per backup, as fast as it can.

Role: the physical limit the operator is compared with. It uses the operator's own client
(:class:`manager.rest.RestClient` with the Manager's pool size) at ``--workers`` requests in
flight, and sends one of two request lists (everything but the requests — listing the
backups, building the bodies — happens before ``--start-at``):

* Jobs (the herd's floor): POST exactly the Jobs the operator would create (``build_job`` for
  each backup at ``--slot``);
* ``--status`` (the first install's floor): PUT each backup's ``/status`` with the status a
  first install writes (``Ready``/``Scheduled``, the next run, the generation), stamped with
  ``--slot`` so every round changes every object (an unchanged PUT is not written to etcd),
  with the listed resourceVersion, as the operator sends it (no ``managedFields``).

With ``--watch`` the client also watches what it writes (the namespace's Jobs, or its
backups), from before the first write, and reads and decodes every event on a thread of its
own, as a controller's cache must at least: the server's fan-out of each write to a watcher,
and the watcher's CPU beside the writes, without any store or reconcile. The operator watches
everything it writes; this floor says what that costs on its own.

Prints one JSON line: Jobs created, errors, wall time, the client's CPU seconds during the
POSTs and, with ``--profile``, the top functions of a cProfile of the whole process (which
shows whether the client or the server is the bottleneck). Non-goals: retries, rate limits.

Run: ``python -m bench.floor --kubeconfig K --slot 2025-03-28T01:00:00+00:00 --start-at T``
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import pstats
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from api.v1alpha1 import (
    CONDITION_READY,
    CONDITION_TRUE,
    PHASE_PENDING,
    Condition,
    DatabaseBackupStatus,
    build_job,
    format_time,
)
from api.v1alpha1.markers import encode
from app.operator import USER_AGENT
from bench.send import Request, send_all
from controller.resources import BACKUPS
from manager.informer import strip_bulky_fields
from manager.kubeconfig import load_rest_config
from manager.manager import DEFAULT_MAX_CONCURRENT_RECONCILES
from manager.rest import DEFAULT_POOL_SIZE, QueryValue, RestClient
from manager.scheme import JOBS

PROFILE_TOP = 12  # functions listed from the profile
WATCH_OPEN_TIMEOUT = 30.0  # seconds for the watch's answer to start
WATCH_DRAIN_TIMEOUT = 60.0  # seconds after the last write for the watch to see every write
WATCH_SECONDS = 3600  # the watch's timeoutSeconds: longer than any floor


def job_requests(backups: list[dict[str, Any]], slot: datetime) -> list[Request]:
    """A POST of the Job the operator creates for each backup at ``slot``."""
    requests = []
    for backup in backups:
        job = build_job(backup, slot)
        job.setdefault("apiVersion", JOBS.api_version)
        job.setdefault("kind", JOBS.kind)
        requests.append(("POST", JOBS.collection_path(job["metadata"]["namespace"]), job))
    return requests


def install_status(generation: int, stamp: datetime) -> dict[str, Any]:
    """The status a first install writes on a valid, unsuspended backup (``Pending``, its
    ``Ready`` condition and next run, no history yet), with ``stamp`` for both times."""
    when = format_time(stamp)
    ready = Condition(type=CONDITION_READY, status=CONDITION_TRUE, reason="Scheduled",
                      message="backups are scheduled", last_transition_time=when,
                      observed_generation=generation)  # fmt: skip
    status = DatabaseBackupStatus(phase=PHASE_PENDING, observed_generation=generation,
                                  next_scheduled_backup=when, conditions=(ready,))  # fmt: skip
    return dict(encode(status))


def status_requests(backups: list[dict[str, Any]], stamp: datetime) -> list[Request]:
    """A PUT of each backup's ``/status`` with :func:`install_status` at ``stamp``: the object
    as listed (its resourceVersion makes the write conditional, as the operator's is) without
    what the operator's cache drops (``managedFields``, the last-applied annotation)."""
    requests = []
    for backup in backups:
        body = strip_bulky_fields(copy.deepcopy(backup))
        meta = body["metadata"]
        body["status"] = install_status(int(meta.get("generation") or 1), stamp)
        path = BACKUPS.object_path(meta["namespace"], meta["name"], "status")
        requests.append(("PUT", path, body))
    return requests


def _listed(rest: RestClient, path: str, **query: QueryValue) -> tuple[list[dict[str, Any]], str]:
    """The objects at ``path``, and the list's resourceVersion (where a watch of them starts)."""
    listed = rest.get(path, **query)
    items: list[dict[str, Any]] = listed.get("items") or []
    return items, str((listed.get("metadata") or {}).get("resourceVersion") or "")


class Watcher:
    """Reads and decodes every event of one watch on a thread of its own and counts the
    writes it saw (``ADDED`` and ``MODIFIED``); nothing is kept."""

    def __init__(self, rest: RestClient, path: str, resource_version: str) -> None:
        self._rest = rest
        self._path = path
        self._rv = resource_version
        self._opened = threading.Event()
        self._abort: Callable[[], None] | None = None
        self.events = 0
        self.error = ""
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="floor-watch", daemon=True)

    def start(self) -> None:
        """Open the watch; returns once the server has answered (or raises)."""
        self._thread.start()
        if not self._opened.wait(WATCH_OPEN_TIMEOUT) or self.error:
            raise RuntimeError(f"the floor's watch of {self._path} did not open: {self.error}")

    def _on_open(self, abort: Callable[[], None]) -> None:
        self._abort = abort
        self._opened.set()

    def _run(self) -> None:
        query: dict[str, QueryValue] = {"resourceVersion": self._rv,
                                        "timeoutSeconds": WATCH_SECONDS}  # fmt: skip
        try:
            for event in self._rest.watch(self._path, query=query,
                                          read_timeout=WATCH_SECONDS + 60,
                                          on_open=self._on_open):  # fmt: skip
                if event["type"] in ("ADDED", "MODIFIED"):
                    self.events += 1
        except Exception as exc:  # reported in the result line; the floor still counts
            if not self._stopping:  # else it is stop()'s own abort
                self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._opened.set()

    def stop(self, want: int) -> int:
        """Wait until ``want`` writes were seen (or :data:`WATCH_DRAIN_TIMEOUT`), end the
        watch, and give the number seen."""
        deadline = time.monotonic() + WATCH_DRAIN_TIMEOUT
        while self.events < want and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.05)
        self._stopping = True
        if self._abort is not None:
            self._abort()
        self._thread.join(5.0)
        return self.events


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--slot", required=True, type=datetime.fromisoformat)
    parser.add_argument("--start-at", type=float, default=0.0, help="real Unix time to begin")
    parser.add_argument("--workers", type=int, default=DEFAULT_MAX_CONCURRENT_RECONCILES)
    parser.add_argument("--namespace", default=None, help="the backups of one namespace only")
    parser.add_argument(
        "--status",
        action="store_true",
        help="PUT each backup's status (stamped --slot) instead of POSTing Jobs",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="watch what is written and decode every event meanwhile, as a controller must",
    )
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    # One connection per request in flight, at least the Manager's pool.
    pool = max(DEFAULT_POOL_SIZE, args.workers)
    rest = RestClient(load_rest_config(args.kubeconfig), user_agent=USER_AGENT, pool_size=pool)
    backups, backups_rv = _listed(rest, BACKUPS.collection_path(args.namespace))
    build = status_requests if args.status else job_requests
    requests = build(backups, args.slot)
    watcher = None
    if args.watch:
        if args.status:
            watcher = Watcher(rest, BACKUPS.collection_path(args.namespace), backups_rv)
        else:
            jobs = JOBS.collection_path(args.namespace)
            watcher = Watcher(rest, jobs, _listed(rest, jobs, limit=1)[1])
        watcher.start()
    while (left := args.start_at - time.time()) > 0:
        time.sleep(min(left, 0.1))
    cpu0 = time.process_time()
    began = time.time()
    errors, profilers = send_all(rest, requests, args.workers, name="floor", profile=args.profile)
    ended = time.time()
    result: dict[str, Any] = {
        "writes": len(requests), "errors": errors, "began": began, "ended": ended,
        "cpu_seconds": time.process_time() - cpu0, "workers": args.workers, "pid": os.getpid(),
    }  # fmt: skip
    if watcher is not None:
        result["watched"] = watcher.stop(len(requests) - errors)
        result["watch_error"] = watcher.error
        result["cpu_seconds_with_watch"] = time.process_time() - cpu0
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
