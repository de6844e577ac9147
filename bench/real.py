"""The benchmark on a real API server: the operator as its ServiceAccount, then the floor.

Role: ``python -m bench.run --kubeconfig ADMIN --operator-kubeconfig SA [--audit-log PATH]``.
One run per N, in this order, on the server as it is (the real clock, no virtual one):

1. clean the namespace (Jobs, backups, Events, the Lease: what the previous run left), then
   memory "at start": the operator
   on an empty cluster, caches synced, settled (:data:`SETTLE_EMPTY` seconds);
2. seed N DatabaseBackups whose schedule fires at one minute boundary (``M H * * *`` in UTC),
   chosen so the cold start and a short idle window end before it;
3. first install: the operator process starts → caches synced (``/readyz``) → every backup has
   status (the last status write, from the audit log, else the watch observer);
4. idle until the boundary: requests other than Lease traffic and watches, CPU;
5. herd: boundary → each Job POST (audit ``stageTimestamp``, else the watch's ADDED receipt);
   duplicates, missed, errors; then the settled RSS with N backups + N Jobs cached, and the
   ``SuccessfulCreate`` Events recorded (and the operator's dropped-events counter);
6. the operator stops (SIGTERM); the floor (:mod:`bench.floor`, the operator's kubeconfig,
   the same Job bodies) POSTs N Jobs at each of :data:`FLOOR_IN_FLIGHT` requests in flight,
   the Jobs deleted before each, so every floor and the herd start from N backups and no Job.
   The best (fastest) floor is "the floor";
7. the status floor, first install's like-for-like: the same client PUTs the ``/status`` of
   the N backups (the status a first install writes, stamped anew each round so every PUT
   changes the object) at each of :data:`FLOOR_IN_FLIGHT`; the best is "the status floor".
   A status PUT of the custom resource costs the server more than a Job POST, so first install
   is reported against both floors;
8. the watched floors: the Job floor and the status floor once more at
   :data:`WATCHED_IN_FLIGHT` (the operator's ``--max-concurrent-writes``), each with a watch on
   what it writes read and decoded beside it (``bench.floor --watch``). The operator must watch
   every object it writes; these say what that alone costs the same client and server, so the
   herd's and the first install's distance from them is the operator's own.

Throughout, :mod:`bench.machine` samples this machine's busy cores: over the herd and over
each floor, all of them, the program's (the operator's, the floor client's), and what is left
to the server and etcd when they run here, as on the 2-core machine of docs/performance.md.

The operator is launched as a plain process (``python -m app``) with ``--leader-elect``
and any ``--operator-arg``; it runs as whoever the operator kubeconfig authenticates as.
Nothing here asserts; :func:`bench.run.correctness` checks the result afterwards.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.audit import (
    AuditLog,
    AuditRecord,
    concurrency,
    counts,
    creates,
    served,
    status_writes,
)
from bench.cluster import Cluster
from bench.harness import (
    OPERATOR_MODULE,
    ROOT,
    Proc,
    http_status,
    http_text,
    poll,
    sleep_until,
)
from bench.machine import MachineCpu
from bench.observer import WatchObserver
from bench.operator_process import empty_start_figures, launch_operator
from bench.workloads import lag_summary
from controller.resources import BACKUPS
from manager.kubeconfig import load_rest_config
from manager.rest import RestClient
from manager.scheme import EVENTS, JOBS

__all__ = ["FLOOR_IN_FLIGHT", "Target", "herd_figures", "run_real"]

FLOOR_IN_FLIGHT = (4, 16, 32)
WATCHED_IN_FLIGHT = 16  # the operator's default --max-concurrent-writes
NAMESPACE = "dbbackup-bench"
LEASE = ("dbbackup-system", "dbbackup-operator-leader")  # the CLI's defaults
SETTLE_EMPTY = 3.0  # seconds the empty operator settles before its RSS is read
IDLE = 10.0  # seconds of idle wanted between the first install and the boundary
# Rates assumed when choosing the boundary (the schedule is written before the operator runs):
# low enough for a loaded 2-core machine (seen at load 11: 74 backups/s seeded, 48 statuses/s).
SEED_RATE = 60.0  # backups/s
INSTALL_RATE = 30.0  # backups/s
EVENT_QUIET = 15.0  # seconds without a new Event (herd statuses written): the sender is done
WAIT_POLL = 3.0  # seconds between looks at the Events' progress
MAX_EVENT_WAIT = 180.0  # seconds; more than the recorder's longest hold (2 minutes)
METRIC_DROPPED = "event_recorder_dropped_total"  # manager.metrics


@dataclass(frozen=True, kw_only=True)
class Target:
    """The cluster: an admin client for setup and the operator's own kubeconfig."""

    kubeconfig: Path
    operator_kubeconfig: Path
    audit_log: Path | None = None
    operator_args: tuple[str, ...] = ()
    profile: Path | None = None  # the operator under cProfile (bench.profiled), dumped here


@dataclass(kw_only=True)
class _Run:
    target: Target
    n: int
    cluster: Cluster
    operator_user: str
    audit: AuditLog | None
    observer: WatchObserver | None = None
    machine: MachineCpu = field(default_factory=MachineCpu)
    result: dict[str, Any] = field(default_factory=dict)

    def records(self, since: int) -> list[AuditRecord] | None:
        return None if self.audit is None else self.audit.since(since)

    def mark(self) -> int:
        return 0 if self.audit is None else self.audit.mark()


def herd_figures(
    jobs: list[tuple[str, float]], boundary: float, n: int, early_status: list[float]
) -> dict[str, Any]:
    """Lags (boundary → each Job POST of the slot), duplicates and missed runs, and the status
    writes that went before the last Job POST, from (name, time) pairs."""
    names = Counter(name for name, _ in jobs)
    lags = [t - boundary for _, t in jobs]
    last = max((t for _, t in jobs), default=math.nan)
    return {"herd_s": max(lags) if lags else math.nan, "lag": lag_summary(lags),
            "lags": sorted(lags), "jobs": len(names),
            "duplicates": sum(c - 1 for c in names.values()), "missed": n - len(names),
            "status_writes_before_last_job": sum(1 for t in early_status if t <= last)}  # fmt: skip


def next_boundary(after: float) -> datetime:
    """The first whole minute at or after Unix time ``after`` (a cron boundary)."""
    at = datetime.fromtimestamp(math.ceil(after / 60) * 60, UTC)
    return at.replace(second=0, microsecond=0)


def _launch(target: Target, *, profile: bool = True) -> tuple[Proc, str, str]:
    program: tuple[str, ...] = ("-m", OPERATOR_MODULE)
    if target.profile is not None and profile:
        program = ("-m", "bench.profiled", "--out", str(target.profile), "--")
    flags = ["--leader-elect", *target.operator_args]
    return launch_operator(target.operator_kubeconfig, flags, program=program)


def _metric(url: str, name: str) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = http_text(url)
    except OSError:
        return None
    total = None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                total = (total or 0.0) + sample.value
    return total


def _empty_start(run: _Run) -> dict[str, Any]:
    proc, ready, _ = _launch(run.target, profile=False)
    return empty_start_figures(proc, ready, 120, SETTLE_EMPTY)


def _first_install(run: _Run, proc: Proc, ready: str, since: int) -> dict[str, Any]:
    timeout = 120 + run.n / 10
    synced = poll(lambda: http_status(ready) == 200, timeout, "ready")
    observer = run.observer
    assert observer is not None
    poll(lambda: len(observer.status_times()) >= run.n, timeout, "every backup has status", 0.2)
    records = run.records(since)
    if records is not None:
        writes = status_writes(records, run.operator_user, BACKUPS.plural)
        last = max(writes, default=math.nan)
    else:
        writes, last = observer.status_times(), max(observer.status_times())
    stats = proc.stats()
    return {"synced_s": synced - proc.started, "all_status_s": last - proc.started,
            "status_writes": len(writes), "peak_rss_bytes": stats.peak_rss_bytes,
            "rss_bytes": stats.rss_bytes, "cpu_s": stats.cpu_seconds}  # fmt: skip


def _idle(run: _Run, proc: Proc, boundary: float) -> dict[str, Any]:
    start, mark, cpu0 = time.time(), run.mark(), proc.stats().cpu_seconds
    end = boundary - 1.0
    if end - start < 2:
        return {"skipped": "the first install overran the time set aside for it"}
    sleep_until(end)
    real = time.time() - start
    out: dict[str, Any] = {
        "real_s": real,
        "cpu_percent": 100 * (proc.stats().cpu_seconds - cpu0) / real,
    }
    records = run.records(mark)
    if records is not None:
        c = counts(records, run.operator_user)
        out["other"] = sum(v for k, v in c.items() if k.split(" ")[1] != "leases"
                           and k.split(" ")[0] != "watch")  # fmt: skip
        out["detail"] = dict(c)
    return out


def _herd(run: _Run, proc: Proc, boundary: datetime, metrics: str) -> dict[str, Any]:
    slot = boundary.strftime("%Y%m%d%H%M%S")
    mark = run.mark()
    sleep_until(boundary.timestamp())
    cpu0 = proc.stats().cpu_seconds
    observer = run.observer
    assert observer is not None
    timeout = 120 + run.n / 10
    poll(lambda: len(observer.creates(slot)) >= run.n, timeout, "a Job per backup", 0.1)
    # The operator's CPU from the boundary until every Job was seen (a little after the last
    # POST: the watch's delivery and this poll's period), the statuses and Events mostly after.
    cpu_jobs, seen = proc.stats().cpu_seconds - cpu0, time.time()
    machine = _machine(run, boundary.timestamp(), seen, cpu_jobs)
    poll(lambda: observer.active(slot) >= run.n, timeout, "every status names its Job", 0.2)
    quiet = _wait_events(run, metrics, MAX_EVENT_WAIT, mark)
    records = run.records(mark)
    if records is not None:
        jobs = creates(records, run.operator_user, JOBS.plural, slot)
        early = status_writes(records, run.operator_user, BACKUPS.plural)
        c = counts(records, run.operator_user)
        extra = {"server": concurrency(served(records, run.operator_user, JOBS.plural, slot)),
                 "errors": sum(v for k, v in c.items() if int(k.split(" ")[2]) >= 400
                               and int(k.split(" ")[2]) != 409),
                 "conflicts": sum(v for k, v in c.items() if k.endswith(" 409")),
                 "writes": {k: v for k, v in c.items() if k.split(" ")[0] not in
                            ("get", "list", "watch")}}  # fmt: skip
    else:
        jobs, early, extra = observer.creates(slot), [], {"errors": 0}
    stats = proc.stats()
    return {**herd_figures(jobs, boundary.timestamp(), run.n, early), **extra,
            "cpu_s_until_jobs": cpu_jobs, "cpu_s": stats.cpu_seconds - cpu0, "machine": machine,
            "events_recorded": quiet, "events_dropped": _metric(metrics, METRIC_DROPPED),
            "rss_bytes": stats.rss_bytes, "peak_rss_bytes": stats.peak_rss_bytes}  # fmt: skip


def _machine(run: _Run, start: float, end: float, program_cpu_s: float) -> dict[str, float]:
    """This machine's busy cores from ``start`` to ``end``: in all, the program's (its CPU
    seconds over the span), the benchmark's own (its watch observer), and what that leaves
    the server and etcd when they share the machine ({} without ``/proc/stat``)."""
    run.machine.sample()  # one at or after ``end``, however recent ``end`` is
    busy = run.machine.busy(start, end)
    if busy is None:
        return {}
    program = program_cpu_s / busy.seconds
    return {"busy_cores": busy.machine, "program_cores": program, "bench_cores": busy.own,
            "left_cores": busy.machine - program - busy.own}  # fmt: skip


def _wait_events(run: _Run, metrics: str, timeout: float, since: int) -> int:
    """SuccessfulCreate Events once N are recorded or dropped, or none came for
    :data:`EVENT_QUIET` (the recorder may hold them up to 2 minutes after the herd). Progress
    is read from the audit log when there is one (listing N Events every few seconds would
    load the server being measured), the final count from the API once."""

    def progress() -> int:
        if run.audit is not None:
            return len(creates(run.audit.since(since), run.operator_user, EVENTS.plural))
        return run.cluster.successful_creates()

    deadline = time.time() + timeout
    last, quiet_since = -1, time.time()
    while time.time() < deadline:
        seen = progress()
        if seen >= run.n:
            break
        if seen != last:
            last, quiet_since = seen, time.time()
        elif time.time() - quiet_since > EVENT_QUIET:
            if seen + (_metric(metrics, METRIC_DROPPED) or 0) >= run.n:
                break
            if time.time() - quiet_since > 2 * EVENT_QUIET:
                break
        time.sleep(WAIT_POLL)
    return run.cluster.successful_creates()


def _floor_child(run: _Run, workers: int, slot: datetime, *extra: str) -> dict[str, Any]:
    """Run :mod:`bench.floor` once; its JSON line."""
    start_at = time.time() + 3.0 + run.n / 5000
    args = [sys.executable, "-m", "bench.floor", "--kubeconfig",
            str(run.target.operator_kubeconfig), "--namespace", NAMESPACE, "--slot",
            slot.isoformat(), "--start-at", repr(start_at), "--workers", str(workers),
            *extra]  # fmt: skip
    child = subprocess.run(args, capture_output=True, text=True, cwd=ROOT,
                           timeout=600 + run.n / 10, check=False)  # fmt: skip
    if child.returncode != 0:
        raise RuntimeError(f"floor exited {child.returncode}: {child.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return out


def _floor_figures(workers: int, out: dict[str, Any], stamps: list[float]) -> dict[str, Any]:
    lags = [t - out["began"] for t in stamps]
    return {"workers": workers, "floor_s": max(lags) if lags else math.nan,
            "lag": lag_summary(lags), "lags": sorted(lags), "jobs": len(stamps),
            "errors": out["errors"],
            "client_cpu_percent": 100 * out["cpu_seconds"] / max(1e-9, out["ended"] - out["began"]),
            "rate": len(stamps) / max(1e-9, max(lags, default=0.0))}  # fmt: skip


def _floor(run: _Run, workers: int, slot: datetime, *extra: str) -> dict[str, Any]:
    run.cluster.delete_jobs()
    mark = run.mark()
    out = _floor_child(run, workers, slot, *extra)
    tag = slot.strftime("%Y%m%d%H%M%S")
    records = run.records(mark)
    server: dict[str, float] = {}
    if records is not None:
        stamps = [t for _, t in creates(records, run.operator_user, JOBS.plural, tag)]
        server = concurrency(served(records, run.operator_user, JOBS.plural, tag))
    else:
        observer = run.observer
        assert observer is not None
        want = out["writes"] - out["errors"]
        poll(lambda: len(observer.creates(tag)) >= want, 60, "the floor's Jobs seen")
        stamps = [t for _, t in observer.creates(tag)]
    machine = _machine(run, out["began"], out["ended"], out["cpu_seconds"])
    figures = {**_floor_figures(workers, out, stamps), "server": server, "machine": machine}
    return _with_watch(figures, out)


def _with_watch(figures: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """A watched floor's figures with what its watch saw (``bench.floor --watch``)."""
    if "watched" in out:
        figures.update(watched=out["watched"], watch_error=out.get("watch_error", ""),
                       client_cpu_s=out["cpu_seconds_with_watch"])  # fmt: skip
    return figures


def _status_floor(run: _Run, workers: int, stamp: datetime, *extra: str) -> dict[str, Any]:
    """N status PUTs at ``workers`` in flight (step 7); without an audit log, timed by the
    client (its last answer), which the watch observer cannot do for an object that already
    has status. ``jobs`` counts the status writes, as the Job floor's counts its Jobs."""
    mark = run.mark()
    out = _floor_child(run, workers, stamp, "--status", *extra)
    records = run.records(mark)
    if records is not None:
        stamps = status_writes(records, run.operator_user, BACKUPS.plural)
    else:
        stamps = [out["ended"]] * (out["writes"] - out["errors"])
    return _with_watch(_floor_figures(workers, out, stamps), out)


def _best(floors: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest floor that wrote anything."""
    return min(floors, key=lambda f: f["floor_s"] if f["jobs"] else math.inf)


def run_real(n: int, target: Target) -> dict[str, Any]:
    """Steps 1-6 of the module docstring for N backups; the figures as one result."""
    admin = RestClient(load_rest_config(str(target.kubeconfig)), pool_size=32)
    operator_rest = RestClient(load_rest_config(str(target.operator_kubeconfig)))
    cluster = Cluster(admin, NAMESPACE, LEASE)
    run = _Run(target=target, n=n, cluster=cluster, operator_user=cluster.whoami(operator_rest),
               audit=AuditLog(target.audit_log) if target.audit_log else None)  # fmt: skip
    result: dict[str, Any] = {"program": "operator", "server": "kube-apiserver", "n": n,
                              "clock": "audit log" if run.audit else "watch observer",
                              "load_before": os.getloadavg()}  # fmt: skip
    cluster.ensure_namespace()
    cluster.clean()
    result["empty"] = _empty_start(run)
    began = time.time()
    boundary = next_boundary(began + n / SEED_RATE + n / INSTALL_RATE + 20 + IDLE)
    result["boundary"] = boundary.isoformat()
    result["seed_errors"] = cluster.seed(n, f"{boundary.minute} {boundary.hour} * * *")
    result["seed_s"] = time.time() - began
    if time.time() > boundary.timestamp() - IDLE:
        raise RuntimeError(f"seeding took {result['seed_s']:.0f} s: too late for {boundary}")
    run.observer = WatchObserver(admin, JOBS.collection_path(NAMESPACE),
                                 BACKUPS.collection_path(NAMESPACE))  # fmt: skip
    proc, ready, metrics = _launch(target)
    try:
        run.machine.start()
        mark = run.mark()
        result["cold_start"] = _first_install(run, proc, ready, mark)
        result["idle"] = _idle(run, proc, boundary.timestamp())
        result["herd"] = _herd(run, proc, boundary, metrics)
        result["exit_code"] = proc.stop()
        result["operator_warnings"] = [
            line
            for line in proc.log_path.read_text(errors="replace").splitlines()
            if "level=warning" in line or "level=error" in line
        ][:20]
        floors = []
        for i, workers in enumerate(FLOOR_IN_FLIGHT):
            floors.append(_floor(run, workers, boundary + timedelta(days=1 + i)))
        result["floors"] = floors
        result["floor"] = _best(floors)
        statuses = []
        for i, workers in enumerate(FLOOR_IN_FLIGHT):
            stamp = boundary + timedelta(days=1 + len(FLOOR_IN_FLIGHT) + i)
            statuses.append(_status_floor(run, workers, stamp))
        result["status_floors"] = statuses
        result["status_floor"] = _best(statuses)
        days = 1 + 2 * len(FLOOR_IN_FLIGHT)
        result["watched_floor"] = _floor(
            run, WATCHED_IN_FLIGHT, boundary + timedelta(days=days), "--watch"
        )
        result["watched_status_floor"] = _status_floor(
            run, WATCHED_IN_FLIGHT, boundary + timedelta(days=days + 1), "--watch"
        )
    finally:
        if proc.alive():
            proc.stop()
        with contextlib.suppress(Exception):  # the figures matter more than a clean stop
            run.observer.stop()
        run.machine.stop()
        # What this run created stays until the next run cleans first (deleting 3N objects
        # takes minutes; the figures need not wait for it).
        result["load_after"] = os.getloadavg()
    return result
