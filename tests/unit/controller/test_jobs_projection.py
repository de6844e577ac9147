"""The cache's projection of a Job (``cache_job``) loses nothing the reconciler decides on.

The same world is reconciled twice: once with Jobs in the cache exactly as a kube-apiserver
v1.32 returned them (``tests/emulator/recorded/jobs-v1.32.json``: defaults, managedFields and
the whole pod template), once with the cache holding ``cache_job``'s projection. Status,
Events, the Jobs left on the server (pruning), the requeue and the metrics must be the same.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from controller.databasebackup import DatabaseBackupReconciler
from controller.jobs import cache_job
from controller.metrics import BackupMetrics
from controller.resources import BACKUPS, JOBS
from controller.schedule import ScheduleMemo
from manager.clock import FakeClock
from manager.reconcile import Request, Result
from tests.unit.controller.fakes import FakeCluster, FakeRecorder

ROOT = Path(__file__).resolve().parents[3]
RECORDED = ROOT / "tests/emulator/recorded/jobs-v1.32.json"
SAMPLES = ROOT / "config/samples"
NOW = datetime(2025, 3, 27, 2, 0, tzinfo=UTC)
SLOTS = ("20250325010000", "20250326010000", "20250327010000")


def _recorded() -> list[tuple[dict[str, Any], str]]:
    """(the Job as the server returned it, its backup's sample file), owned Jobs only."""
    pairs = json.loads(RECORDED.read_text())["pairs"]
    return [
        (p["response"], p["sample"])
        for p in pairs
        if p["response"]["metadata"].get("ownerReferences")
    ]


class ProjectingCluster(FakeCluster):
    """A FakeCluster whose cache holds Jobs as the operator's informer does."""

    def sync(self) -> None:
        super().sync()
        for key, obj in self.cache.items():
            if key[0] == JOBS.plural:
                self.cache[key] = cache_job(obj)


def _status(result: str, slot: str) -> dict[str, Any]:
    """A v1.32 Job controller's status for a run of ``slot`` that is running or finished."""
    day = int(slot[6:8])
    start = f"2025-03-{day:02d}T01:00:03Z"
    end = f"2025-03-{day:02d}T01:04:00Z"
    # The conditions' time a second later than completionTime, so that a projection dropping
    # completionTime shows (the reconciler falls back to the Complete condition's time).
    seen = f"2025-03-{day:02d}T01:04:01Z"
    if result == "running":
        return {"active": 1, "ready": 1, "startTime": start, "terminating": 0,
                "uncountedTerminatedPods": {}}  # fmt: skip
    if result == "succeeded":
        return {"conditions": [
                    {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                     "message": "Reached expected number of succeeded pods",
                     "lastProbeTime": seen, "lastTransitionTime": seen},
                    {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                     "message": "Reached expected number of succeeded pods",
                     "lastProbeTime": seen, "lastTransitionTime": seen}],
                "startTime": start, "completionTime": end, "succeeded": 1, "ready": 0,
                "terminating": 0, "uncountedTerminatedPods": {}}  # fmt: skip
    return {"conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit",
                 "lastProbeTime": end, "lastTransitionTime": end},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit",
                 "lastProbeTime": end, "lastTransitionTime": end}],
            "startTime": start, "failed": 3, "ready": 0, "terminating": 0,
            "uncountedTerminatedPods": {}}  # fmt: skip


def _job_for(recorded: dict[str, Any], slot: str, result: str) -> dict[str, Any]:
    """The recorded Job renamed for ``slot`` (name, uid, scheduled-at), with a status."""
    job = copy.deepcopy(recorded)
    meta = job["metadata"]
    owner = meta["ownerReferences"][0]["name"]
    meta["name"] = f"{owner}-{slot}"
    meta["uid"] = f"{meta['uid'][:-14]}{slot}"
    when = f"{slot[:4]}-{slot[4:6]}-{slot[6:8]}T{slot[8:10]}:{slot[10:12]}:{slot[12:]}Z"
    meta["annotations"]["dbbackup.io/scheduled-at"] = when
    job["status"] = _status(result, slot)
    return job


def _exposition(registry: CollectorRegistry) -> list[str]:
    """The scrape, without the ``*_created`` samples (each registry's own wall-clock time)."""
    lines = generate_latest(registry).decode().splitlines()
    return [line for line in lines if not line.split("{")[0].split(" ")[0].endswith("_created")]


def _world(cluster: FakeCluster, recorded: dict[str, Any], sample: str, results: tuple[str, ...],
           **spec: Any) -> tuple[FakeCluster, FakeRecorder, CollectorRegistry, Result]:  # fmt: skip
    backup = yaml.safe_load((SAMPLES / sample).read_text())
    owner = recorded["metadata"]["ownerReferences"][0]
    backup["metadata"].update(namespace=recorded["metadata"]["namespace"], uid=owner["uid"])
    backup["spec"].update(spec)
    cluster.put(BACKUPS, backup)
    for slot, run in zip(SLOTS, results, strict=True):
        cluster.put(JOBS, _job_for(recorded, slot, run))
    recorder, registry = FakeRecorder(), CollectorRegistry()
    reconciler = DatabaseBackupReconciler(
        backups=BACKUPS,
        client=cluster,
        recorder=recorder,
        clock=FakeClock(NOW),
        metrics=BackupMetrics(registry),
        schedules=ScheduleMemo(),
    )
    result = reconciler.reconcile(Request(backup["metadata"]["namespace"], owner["name"]))
    return cluster, recorder, registry, result


@pytest.mark.parametrize(
    ("results", "spec"),
    [
        (("succeeded", "failed", "running"), {}),
        (("failed", "succeeded", "succeeded"), {"successfulJobsHistoryLimit": 1}),
        (("succeeded", "succeeded", "failed"), {"failedJobsHistoryLimit": 0}),
        (("failed", "failed", "running"), {"concurrencyPolicy": "Replace"}),
    ],
)
@pytest.mark.parametrize(("recorded", "sample"), _recorded(), ids=lambda v: str(v)[:24])
def test_the_reconciler_decides_the_same_on_projected_jobs(
    recorded: dict[str, Any], sample: str, results: tuple[str, ...], spec: dict[str, Any]
) -> None:
    full = _world(FakeCluster(NOW), recorded, sample, results, **spec)
    projected = _world(ProjectingCluster(NOW), recorded, sample, results, **spec)
    (full_cluster, full_events, full_metrics, full_result) = full
    (slim_cluster, slim_events, slim_metrics, slim_result) = projected

    # The projection is what the test says it is: no spec, no managedFields.
    cached = [o for k, o in slim_cluster.cache.items() if k[0] == JOBS.plural]
    assert cached and all("spec" not in j and "managedFields" not in j["metadata"] for j in cached)
    assert full_cluster.status_writes == slim_cluster.status_writes == 1
    assert [o.get("status") for o in slim_cluster.objects(BACKUPS)] == [
        o.get("status") for o in full_cluster.objects(BACKUPS)
    ]
    assert slim_events.events == full_events.events
    assert [j["metadata"]["name"] for j in slim_cluster.objects(JOBS)] == [
        j["metadata"]["name"] for j in full_cluster.objects(JOBS)
    ]
    assert slim_cluster.deletes == full_cluster.deletes
    assert slim_result == full_result
    assert _exposition(slim_metrics) == _exposition(full_metrics)
