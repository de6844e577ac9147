"""DatabaseRestore through the real operator on the API emulator: waits, one Job, status.

The operator command runs against the emulator (virtual clock at 60x, a slot every two
virtual minutes); the test plays the Job controller, marking Jobs finished through
``jobs/status`` as a current kube-apiserver accepts them. It checks what a user sees: the
restore's conditions, phase, exact source, failure reason in words, Events on both objects,
the one restore Job with its owner reference, and the schedule held back while the restore
runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from emulator.errors import ApiStatusError
from emulator.jobrunner import mark_job_failed, mark_job_succeeded
from emulator.server import ApiServer
from manager.clock import ScaledClock
from tests.support.kubelet import pod_failure
from tests.support.operator import OperatorProcess, setup_cluster, wait_for

SPEED = 60.0
START = datetime(2025, 3, 27, 0, 59, 30, tzinfo=UTC)
BACKUP = "pg-nightly"
API = "dbbackup.io/v1alpha1"


class World:
    def __init__(self) -> None:
        origin = time.time()
        self.clock = ScaledClock(speed=SPEED, start=START, origin=origin)
        self.server = ApiServer(clock=self.clock.now).start()
        self.operator_kubeconfig = setup_cluster(self.server)
        self.operator = OperatorProcess(
            self.operator_kubeconfig, clock_start=START, clock_origin=origin, clock_speed=SPEED
        )

    def restore(self, name: str) -> dict[str, Any]:
        obj = self.server.get_object(API, "DatabaseRestore", name, "default")
        assert obj is not None
        return obj

    def ready(self, name: str) -> dict[str, Any]:
        conditions = (self.restore(name).get("status") or {}).get("conditions") or [{}]
        return dict(conditions[0])

    def job(self, name: str) -> dict[str, Any] | None:
        return self.server.get_object("batch/v1", "Job", name, "default")

    def jobs(self) -> list[str]:
        return sorted(
            j["metadata"]["name"] for j in self.server.list_objects("batch/v1", "Job", "default")
        )

    def backup_jobs(self) -> list[str]:
        return [j for j in self.jobs() if j.startswith(f"{BACKUP}-")]

    def events(self, kind: str, name: str) -> list[tuple[str, str]]:
        return [
            (e.get("reason", ""), e.get("note", ""))
            for e in self.server.list_objects("events.k8s.io/v1", "Event", "default")
            if e.get("regarding", {}).get("kind") == kind
            and e.get("regarding", {}).get("name") == name
        ]

    def finish(self, name: str, *, exit_code: int | None = None) -> None:
        job = self.job(name)
        assert job is not None
        if exit_code is None:
            done = mark_job_succeeded(job, self.clock.now())
        else:
            verdict = pod_failure(job, exit_code)
            assert verdict is not None, f"exit {exit_code} must fail {name} at once"
            done = mark_job_failed(job, self.clock.now(), *verdict)
        self.server.update_object(done, subresource="status")

    def close(self) -> None:
        self.operator.kill()
        self.server.stop()


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    try:
        yield w
    finally:
        w.close()


def _backup() -> dict[str, Any]:
    return {
        "apiVersion": API, "kind": "DatabaseBackup",
        "metadata": {"name": BACKUP, "namespace": "default"},
        "spec": {
            "schedule": "*/2 * * * *",
            "database": {"type": "postgresql", "host": "db.default.svc", "name": "app",
                         "credentialsSecretRef": {"name": "pg-credentials"}},
            "image": "ghcr.io/example/dbbackup-runner:latest",
            "storage": {"s3": {"bucket": "my-database-backups", "prefix": "pg"}},
        },
    }  # fmt: skip


def _restore(name: str, backup: str = BACKUP, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API, "kind": "DatabaseRestore",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"backupRef": {"name": backup}, **spec},
    }  # fmt: skip


@pytest.mark.timeout(120)
def test_a_restore_waits_runs_once_holds_the_schedule_and_reports_in_words(world: World) -> None:
    server = world.server
    server.create_object(_restore("ghost-restore", backup="ghost"))
    world.operator.wait_ready()

    # A missing backup: Ready=False with the reason and an Event, no Job, no crash loop.
    wait_for(lambda: world.ready("ghost-restore").get("reason") == "BackupNotFound", 20,
             "BackupNotFound")  # fmt: skip
    assert world.restore("ghost-restore")["status"]["phase"] == "Pending"
    # Events are written after the status, by the recorder's own thread: wait for the Event.
    reasons = wait_for(lambda: [r for r, _ in world.events("DatabaseRestore", "ghost-restore")],
                       20, "the BackupNotFound Event")  # fmt: skip
    assert reasons == ["BackupNotFound"]

    # The backup's first run is running: a restore of latest waits for it.
    server.create_object(_backup())
    first = wait_for(lambda: next(iter(world.backup_jobs()), None), 30, "a backup Job")
    staging = {"type": "postgresql", "host": "staging.svc"}
    server.create_object(_restore("to-staging", source="latest", database=staging))
    wait_for(lambda: world.ready("to-staging").get("reason") == "WaitingForBackup", 20,
             "WaitingForBackup")  # fmt: skip
    assert "to-staging-restore" not in world.jobs()

    # The backup run finishes: the restore starts, from exactly that run.
    world.finish(first)
    restore_job = wait_for(lambda: world.job("to-staging-restore"), 30, "the restore Job")
    (container,) = restore_job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["restore", "--from", first]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["DB_HOST"] == "staging.svc"
    (owner,) = restore_job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"]) == (
        "DatabaseRestore", "to-staging", True,
    )  # fmt: skip
    assert restore_job["spec"]["backoffLimit"] == 0
    status = wait_for(
        lambda: (s := world.restore("to-staging").get("status") or {}).get("job") and s, 20,
        "the restore's status to name its Job",
    )  # fmt: skip
    assert status["source"] == f"s3://my-database-backups/pg/{first}.sql.zst"
    wait_for(lambda: "RestoreStarted" in [r for r, _ in world.events("DatabaseBackup", BACKUP)],
             20, "RestoreStarted on the backup")  # fmt: skip

    # While it runs, due slots are held back, with an Event on the backup.
    wait_for(
        lambda: "RestoreInProgress" in [r for r, _ in world.events("DatabaseBackup", BACKUP)],
        30, "RestoreInProgress on the backup",
    )  # fmt: skip
    assert world.backup_jobs() == [first]

    # The restore fails with a contract exit code: Failed, in words, Ready=False, an Event.
    world.finish("to-staging-restore", exit_code=4)
    wait_for(lambda: world.restore("to-staging")["status"].get("phase") == "Failed", 20,
             "phase Failed")  # fmt: skip
    status = world.restore("to-staging")["status"]
    assert status["failureReason"] == "database authentication failed (exit 4)"
    assert world.ready("to-staging")["reason"] == "RestoreFailed"
    wait_for(
        lambda: "RestoreFailed" in [r for r, _ in world.events("DatabaseRestore", "to-staging")],
        20, "RestoreFailed on the restore",
    )  # fmt: skip

    # The schedule resumes; the finished restore is never run again, even without its Job.
    wait_for(lambda: len(world.backup_jobs()) > 1, 30,
             "a backup Job after the restore")  # fmt: skip
    server.delete_object("batch/v1", "Job", "to-staging-restore", "default")
    time.sleep(1)  # a minute of virtual time: reconciles come and go
    assert world.job("to-staging-restore") is None
    assert world.restore("to-staging")["status"]["phase"] == "Failed"

    # The spec is immutable (CEL self == oldSelf) once created.
    changed = world.restore("to-staging")
    changed["spec"]["source"] = first
    with pytest.raises(ApiStatusError) as err:
        server.update_object(changed)
    assert err.value.code == 422
    assert "immutable" in str(err.value)
    assert world.operator.stop() == 0


@pytest.mark.timeout(120)
def test_a_crash_after_creating_the_restore_job_never_runs_a_second_one(world: World) -> None:
    """Killed between the Job POST and the status write, the next operator adopts the Job:
    the name is the lock, so there is one restore Job and one create in the audit log."""
    server = world.server
    backup = _backup()
    backup["spec"]["suspend"] = True  # no backup runs: only the restore's Job exists
    server.create_object(backup)
    run = f"{BACKUP}-20250326010000"
    server.create_object(_restore("after-crash", source=run))
    world.operator.kill()
    crashing = OperatorProcess(
        world.operator_kubeconfig,
        clock_start=START,
        clock_origin=world.clock.origin,
        clock_speed=SPEED,
        env={"DBBACKUP_FAILPOINT": "after-create-restore-job"},
    )
    try:
        assert crashing.wait_exit(60) == 137
    finally:
        crashing.kill()
    assert world.job("after-crash-restore") is not None
    assert not (world.restore("after-crash").get("status") or {}).get("job")

    world.operator = OperatorProcess(
        world.operator_kubeconfig,
        clock_start=START,
        clock_origin=world.clock.origin,
        clock_speed=SPEED,
    )
    world.operator.wait_ready()
    status = wait_for(
        lambda: (s := world.restore("after-crash").get("status") or {}).get("job") and s, 30,
        "the restarted operator to adopt the Job",
    )  # fmt: skip
    assert status["phase"] == "Running"
    assert status["source"] == f"s3://my-database-backups/pg/{run}.sql.zst"
    world.finish("after-crash-restore")
    wait_for(lambda: world.restore("after-crash")["status"].get("phase") == "Succeeded", 30,
             "phase Succeeded")  # fmt: skip
    assert world.ready("after-crash")["reason"] == "RestoreSucceeded"
    creates = [
        r for r in server.audit.records
        if r.verb == "create" and r.resource == "jobs" and r.code == 201
    ]  # fmt: skip
    assert len(creates) == 1  # one POST of a Job in the whole story: the crashed one's
    assert [j for j in world.jobs() if j.endswith("-restore")] == ["after-crash-restore"]
    assert world.operator.stop() == 0
