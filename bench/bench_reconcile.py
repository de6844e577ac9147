"""Micro-benchmark: the DatabaseBackupReconciler's CPU per fire, with an instant client.

Not a test. ``--backups`` backups share one schedule (``0 1 * * *``), so every one of them
fires on the same boundary, as in the herd of ``bench.run``; the client is an in-memory
stand-in that answers at once (no HTTP, no JSON, no informer), so what is timed is the
reconciler itself: decoding, the schedule, status, the Job body, metrics. Before the timed
day, ``--days`` whole days are played through the same reconciler so that every backup carries
a realistic status (history, conditions) and finished Jobs up to its history limits.

A fire is the passes the operator makes for one backup at its slot (wired as in
``app.operator``, ``defer_status_after_create``): the pass that creates the Job, the
pass its watch event triggers (status ``Running``), and, once the Job finished, the pass that
records the result and prunes. Each kind of pass is timed over every backup, best of
``--repeat`` fresh worlds; the figures are microseconds per backup.

    .venv/bin/python -m bench.bench_reconcile [--backups 2000] [--days 3] [--repeat 3]
    .venv/bin/python -m bench.bench_reconcile --profile create   # cProfile of one kind
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from api.v1alpha1 import API_VERSION, GROUP, KIND
from controller.databasebackup import DatabaseBackupReconciler
from controller.metrics import BackupMetrics
from controller.resources import BACKUPS, JOBS
from controller.schedule import ScheduleMemo
from manager.clock import FakeClock
from manager.errors import AlreadyExists, NotFound
from manager.reconcile import Request
from manager.scheme import ResourceType
from manager.store import owner_key

NAMESPACE = "bench"
SCHEDULE = "0 1 * * *"
FIRST_SLOT = datetime(2025, 3, 27, 1, 0, tzinfo=UTC)
RUN_TIME = timedelta(minutes=4)  # how long each backup Job runs before it completes
KINDS = ("create", "running", "finished", "idle")


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class InstantClient:
    """The reconciler's client, answered from dicts at once; the cache is the server.

    Objects are shared, as the informer cache shares them (nobody edits a cached dict); a Job
    is kept without its pod template, as ``controller.jobs.cache_job`` keeps it."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self._objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._owned: dict[str, dict[str, dict[str, Any]]] = {}
        self._rv = 0

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def add_backup(self, name: str, spec: dict[str, Any], created: datetime) -> None:
        self._objects[(BACKUPS.plural, NAMESPACE, name)] = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {
                "name": name,
                "namespace": NAMESPACE,
                "uid": f"uid-{name}",
                "generation": 1,
                "resourceVersion": self._next_rv(),
                "creationTimestamp": _stamp(created),
            },
            "spec": spec,
        }

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get((rt.plural, namespace, name))

    def by_index(self, rt: ResourceType, index: str, value: str) -> list[dict[str, Any]]:
        return list(self._owned.get(value, {}).values())

    def get_live(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        found = self._objects.get((rt.plural, namespace, name))
        if found is None:
            raise NotFound(name)
        return found

    def create(
        self, rt: ResourceType, obj: dict[str, Any], *, read_back: bool = True
    ) -> dict[str, Any]:
        meta = obj["metadata"]
        key = (rt.plural, meta["namespace"], meta["name"])
        if key in self._objects:
            raise AlreadyExists(meta["name"])
        spec = {k: v for k, v in obj["spec"].items() if k != "template"}
        created = {
            **obj,
            "metadata": {
                **meta,
                "uid": f"uid-{meta['name']}",
                "resourceVersion": self._next_rv(),
                "creationTimestamp": _stamp(self._clock.now()),
            },
            "spec": spec,
            "status": {"startTime": _stamp(self._clock.now())},
        }
        self._objects[key] = created
        owner = meta["ownerReferences"][0]
        by_owner = owner_key(GROUP, KIND, meta["namespace"], owner["name"])
        self._owned.setdefault(by_owner, {})[meta["name"]] = created
        return created

    def update_status(
        self, rt: ResourceType, obj: dict[str, Any], *, read_back: bool = True
    ) -> dict[str, Any]:
        meta = obj["metadata"]
        key = (rt.plural, meta["namespace"], meta["name"])
        stored = {**obj, "metadata": {**meta, "resourceVersion": self._next_rv()}}
        self._objects[key] = stored
        return stored

    def delete(self, rt: ResourceType, namespace: str, name: str, **_: Any) -> dict[str, Any]:
        """Removes at once: no garbage collector here, so a propagation policy means nothing."""
        job = self._objects.pop((rt.plural, namespace, name), None)
        if job is None:
            raise NotFound(name)
        for owned in self._owned.values():
            owned.pop(name, None)
        return {}

    def complete_jobs(self, when: datetime) -> None:
        """Every running Job succeeds at ``when`` (the Job controller's verdict)."""
        stamp = _stamp(when)
        for owned in self._owned.values():
            for name, job in list(owned.items()):
                if job["status"].get("conditions"):
                    continue
                done = {
                    **job,
                    "metadata": {**job["metadata"], "resourceVersion": self._next_rv()},
                    "status": {
                        **job["status"],
                        "completionTime": stamp,
                        "succeeded": 1,
                        "conditions": [
                            {"type": "SuccessCriteriaMet", "status": "True",
                             "lastTransitionTime": stamp},
                            {"type": "Complete", "status": "True", "lastTransitionTime": stamp},
                        ],
                    },
                }  # fmt: skip
                owned[name] = done
                self._objects[(JOBS.plural, NAMESPACE, name)] = done


class _NoEvents:
    def event(
        self, obj: dict[str, Any], type_: str, reason: str, message: str, action: str = ""
    ) -> None:
        return None


def _spec(i: int) -> dict[str, Any]:
    return {
        "schedule": SCHEDULE,
        "database": {
            "type": "postgresql",
            "host": f"db-{i}.bench.svc.cluster.local",
            "name": "app",
            "credentialsSecretRef": {"name": "db-credentials"},
        },
        "image": "registry.invalid/backup:1",
        "storage": {
            "s3": {
                "bucket": "bench-backups",
                "prefix": f"team-{i % 10}/db-{i}",
                "credentialsSecretRef": {"name": "s3-credentials"},
            }
        },
        "retention": "336h",
    }


class World:
    """``backups`` backups, one reconciler wired as the operator wires it, a fake clock."""

    def __init__(self, backups: int) -> None:
        self.clock = FakeClock(FIRST_SLOT - timedelta(hours=12))
        self.client = InstantClient(self.clock)
        self.requests = [Request(NAMESPACE, f"db-{i:05d}") for i in range(backups)]
        for i, request in enumerate(self.requests):
            self.client.add_backup(request.name, _spec(i), self.clock.now())
        self.reconciler = DatabaseBackupReconciler(
            backups=BACKUPS,
            client=self.client,
            recorder=_NoEvents(),
            clock=self.clock,
            metrics=BackupMetrics(CollectorRegistry()),
            defer_status_after_create=True,
            schedules=ScheduleMemo(),
        )

    def each(self) -> None:
        for request in self.requests:
            self.reconciler.reconcile(request)

    def timed(self, profile: cProfile.Profile | None = None) -> float:
        """CPU seconds of this process for one pass over every backup (a busy machine
        stretches wall time, not CPU time)."""
        if profile is not None:
            profile.enable()
        start = time.process_time()
        self.each()
        took = time.process_time() - start
        if profile is not None:
            profile.disable()
        return took

    def day(self, slot: datetime, timer: Callable[[str], Callable[[], float]]) -> None:
        """One fire of every backup at ``slot``; ``timer(kind)`` runs (and may time) a pass."""
        self.clock.set(slot + timedelta(seconds=1))
        timer("create")()
        timer("running")()
        timer("idle")()
        self.clock.set(slot + RUN_TIME)
        self.client.complete_jobs(slot + RUN_TIME)
        timer("finished")()


def measure(backups: int, days: int, profile_kind: str = "") -> dict[str, float]:
    """Seconds per pass kind, over every backup, on the day after ``days`` played days."""
    world = World(backups)
    world.each()  # the first look: Pending, next run scheduled
    for day in range(days):
        world.day(FIRST_SLOT + timedelta(days=day), lambda _kind: world.timed)
    got: dict[str, float] = {}
    profile = cProfile.Profile() if profile_kind else None

    def timer(kind: str) -> Callable[[], float]:
        def run() -> float:
            got[kind] = world.timed(profile if kind == profile_kind else None)
            return got[kind]

        return run

    world.day(FIRST_SLOT + timedelta(days=days), timer)
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    return got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backups", type=int, default=2000)
    parser.add_argument("--days", type=int, default=3, help="days played before the timed one")
    parser.add_argument("--repeat", type=int, default=3, help="fresh worlds; the best is kept")
    parser.add_argument("--profile", choices=KINDS, default="", help="cProfile one pass kind")
    args = parser.parse_args(argv)
    if args.profile:
        measure(args.backups, args.days, args.profile)
        return 0
    runs = [measure(args.backups, args.days) for _ in range(args.repeat)]
    best = {kind: min(r[kind] for r in runs) for kind in KINDS}
    per = {kind: best[kind] / args.backups * 1e6 for kind in KINDS}
    fire = per["create"] + per["running"] + per["finished"]
    print(f"backups={args.backups} days={args.days} repeat={args.repeat}")
    for kind in KINDS:
        print(f"  {kind:<9} {per[kind]:8.1f} us per backup")
    print(f"  fire      {fire:8.1f} us (create + running + finished)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
