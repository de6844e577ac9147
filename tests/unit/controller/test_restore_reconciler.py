"""DatabaseRestoreReconciler on in-memory fakes: the cases an integration run rarely hits.

A stale cache right after the create, a Job deleted before it finished, a foreign Job holding
the name, an override of the wrong engine, and a pass that changes nothing writing nothing.
"""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from typing import Any

from controller.databaserestore import WAIT_REQUEUE, DatabaseRestoreReconciler, RestoreGuard
from controller.resources import BACKUPS, JOBS, RESTORES
from manager.clock import FakeClock
from manager.errors import Invalid
from manager.reconcile import Request
from tests.unit.controller.fakes import FakeCluster, FakeRecorder

NOW = datetime(2025, 3, 28, 9, 0, tzinfo=UTC)
RUN = "pg-20250327010000"


class Lister:
    """The cache reads the guard makes, answered by the fake cluster's cache."""

    def __init__(self, cluster: FakeCluster) -> None:
        self._cluster = cluster

    def list(self, rt: Any, namespace: str | None = None) -> builtins.list[dict[str, Any]]:
        return [o for k, o in sorted(self._cluster.cache.items()) if k[0] == rt.plural]

    def by_index(self, rt: Any, index: str, value: str) -> builtins.list[dict[str, Any]]:
        return self._cluster.by_index(rt, index, value)


class World:
    def __init__(self) -> None:
        self.cluster = FakeCluster(NOW)
        self.recorder = FakeRecorder()
        self.reconciler = DatabaseRestoreReconciler(
            restores=RESTORES,
            backups=BACKUPS,
            client=self.cluster,
            recorder=self.recorder,
            clock=FakeClock(NOW),
        )
        self.cluster.put(BACKUPS, {
            "apiVersion": "dbbackup.io/v1alpha1", "kind": "DatabaseBackup",
            "metadata": {"name": "pg", "namespace": "default"},
            "spec": {
                "schedule": "0 1 * * *",
                "database": {"type": "postgresql", "host": "db"},
                "image": "runner:1",
                "storage": {"s3": {"bucket": "backups"}},
            },
            "status": {"history": [{"job": RUN, "result": "Succeeded",
                                    "completionTime": "2025-03-27T01:02:00Z"}]},
        })  # fmt: skip

    def add_restore(self, **spec: Any) -> None:
        self.cluster.put(RESTORES, {
            "apiVersion": "dbbackup.io/v1alpha1", "kind": "DatabaseRestore",
            "metadata": {"name": "r", "namespace": "default"},
            "spec": {"backupRef": {"name": "pg"}, "source": "latest", **spec},
        })  # fmt: skip

    def reconcile(self) -> float | None:
        return self.reconciler.reconcile(Request("default", "r")).requeue_after

    def status(self) -> dict[str, Any]:
        (restore,) = self.cluster.objects(RESTORES)
        return dict(restore.get("status") or {})

    def ready(self) -> dict[str, Any]:
        return dict(self.status()["conditions"][0])


def test_a_stale_cache_after_the_create_never_creates_a_second_job() -> None:
    w = World()
    w.add_restore()
    w.reconcile()
    assert w.cluster.creates == 1
    assert w.status()["job"] == "r-restore"
    assert w.status()["source"] == f"s3://backups/{RUN}.sql.zst"
    # The restore's status arrived in the cache; the Job's own watch event has not.
    assert ("jobs", "default", "r-restore") not in w.cluster.cache
    w.cluster.cache[("databaserestores", "default", "r")] = w.cluster.objects(RESTORES)[0]
    w.reconcile()
    assert w.cluster.creates == 1
    assert w.status()["phase"] == "Running"


def test_a_job_deleted_before_it_finished_fails_the_restore_and_is_not_rerun() -> None:
    w = World()
    w.add_restore()
    w.reconcile()
    w.cluster.delete_now(JOBS, "default", "r-restore")
    w.cluster.sync()
    w.reconcile()
    w.reconcile()
    assert w.cluster.creates == 1
    assert w.status()["phase"] == "Failed"
    assert w.status()["failureReason"].startswith("MissingJob:")
    assert "MissingJob" in w.recorder.reasons()


def test_a_foreign_job_holding_the_name_is_reported_not_adopted() -> None:
    w = World()
    w.cluster.put(JOBS, {"metadata": {"name": "r-restore", "namespace": "default"}})
    w.add_restore()
    assert w.reconcile() == WAIT_REQUEUE
    assert w.ready()["reason"] == "JobNameTaken"
    assert w.status()["phase"] == "Pending"
    assert "job" not in w.status()


def test_an_override_of_another_engine_waits_with_a_reason_and_one_event() -> None:
    w = World()
    w.add_restore(database={"type": "mysql", "host": "staging"})
    assert w.reconcile() == WAIT_REQUEUE
    w.cluster.sync()
    assert w.reconcile() == WAIT_REQUEUE
    assert w.ready()["reason"] == "InvalidSpec"
    assert w.recorder.reasons() == ["InvalidSpec"]  # once, not on every look
    assert w.cluster.creates == 0


def test_a_pass_that_changes_nothing_writes_nothing() -> None:
    w = World()
    w.add_restore()
    w.reconcile()
    w.cluster.sync()
    writes = w.cluster.status_writes
    w.reconcile()
    assert w.cluster.status_writes == writes


def test_the_guard_names_a_running_restore_only() -> None:
    w = World()
    w.add_restore()
    w.reconcile()
    w.cluster.sync()

    guard = RestoreGuard(Lister(w.cluster), RESTORES)
    (backup,) = w.cluster.objects(BACKUPS)
    assert guard(backup) == "r"
    w.cluster.finish_job("default", "r-restore", succeeded=True, at=NOW)
    w.cluster.sync()
    assert guard(backup) == ""


def test_a_job_the_api_server_refuses_is_a_condition_not_a_retry_loop() -> None:
    w = World()
    w.add_restore()

    def refuse(rt: Any, obj: dict[str, Any], *, read_back: bool = True) -> dict[str, Any]:
        raise Invalid("Job.batch is invalid: spec.template.spec.affinity: Invalid value")

    w.cluster.create = refuse  # type: ignore[method-assign]
    assert w.reconcile() == WAIT_REQUEUE
    assert w.ready()["reason"] == "FailedCreate"
    assert "affinity" in w.ready()["message"]
    assert w.recorder.reasons() == ["FailedCreate"]
