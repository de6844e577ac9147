"""The DatabaseBackupReconciler, case by case (issue 5), with an injected clock.

Each test states the world (backup, Jobs, time), reconciles, and asserts the world after:
Jobs that exist, status, Events, metrics — never which calls were made, except where the
contract is about calls (status written only when changed).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from api.v1alpha1 import parse_time
from controller.databasebackup import REQUEUE_SLACK, DatabaseBackupReconciler
from controller.metrics import BackupMetrics
from controller.resources import BACKUPS, JOBS
from controller.schedule import ScheduleMemo
from manager.clock import FakeClock
from manager.reconcile import Request, Result
from tests.unit.controller.fakes import FakeCluster, FakeRecorder

SAMPLE = (
    Path(__file__).resolve().parents[3]
    / "config/samples/dbbackup_v1alpha1_postgres_daily_backup.yaml"
)
CREATED = datetime(2025, 3, 26, 12, 0, tzinfo=UTC)
NS = "default"
NAME = "postgres-daily-backup"
REQ = Request(NS, NAME)


class World:
    def __init__(
        self, start: datetime = CREATED, *, defer_status: bool = False, hand_off: bool = False
    ) -> None:
        self.clock = FakeClock(start)
        self.cluster = FakeCluster(start)
        self.recorder = FakeRecorder()
        self.defer_status = defer_status
        self.hand_off = hand_off
        self.handed_off = 0  # passes whose last step the controller would have handed off
        self.restart()

    def restart(self) -> None:
        """A new operator process: fresh reconciler and metrics, the same cluster."""
        self.registry = CollectorRegistry()
        self.reconciler = DatabaseBackupReconciler(
            backups=BACKUPS,
            client=self.cluster,
            recorder=self.recorder,
            clock=self.clock,
            metrics=BackupMetrics(self.registry),
            schedules=ScheduleMemo(),
            defer_status_after_create=self.defer_status,
            hand_off_writes=self.hand_off,
        )

    def backup(self, **spec: Any) -> dict[str, Any]:
        obj = yaml.safe_load(SAMPLE.read_text())
        obj["metadata"]["namespace"] = NS
        obj["spec"].update(spec)
        return self.cluster.put(BACKUPS, obj)

    def set_time(self, when: datetime) -> None:
        self.clock.set(when)
        self.cluster.now = when

    def reconcile(self, *, sync: bool = True) -> Result:
        """One pass, its handed-off last step run as the controller would."""
        result = self.reconciler.reconcile(REQ)
        if result.then is not None:
            self.handed_off += 1
        while result.then is not None:
            result = result.then()
        if sync:
            self.cluster.sync()
        return result

    def status(self) -> dict[str, Any]:
        return dict(self.cluster.get_live(BACKUPS, NS, NAME).get("status") or {})

    def jobs(self) -> list[str]:
        return [j["metadata"]["name"] for j in self.cluster.objects(JOBS)]

    def metric(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, {"namespace": NS, "name": NAME, **labels})


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def world() -> World:
    return World()


# -- the flow a user sees --------------------------------------------------------------------


def test_new_backup_is_pending_with_next_run_and_requeues_for_it(world: World) -> None:
    created = world.backup()["metadata"]["creationTimestamp"]
    result = world.reconcile()
    status = world.status()
    assert status["phase"] == "Pending"
    assert status["nextScheduledBackup"] == "2025-03-27T01:00:00Z"
    assert world.jobs() == []
    assert result.requeue_after == pytest.approx(13 * 3600 + REQUEUE_SLACK, abs=1e-6)
    ready = status["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "True", "Scheduled")
    assert world.metric("dbbackup_next_schedule_timestamp_seconds") == at(27, 1).timestamp()
    assert world.metric("dbbackup_expected_interval_seconds") == 86400
    # DatabaseBackupNeverSucceeded compares the creation time with the interval.
    created_at = parse_time(created)
    assert created_at is not None
    assert world.metric("dbbackup_created_timestamp_seconds") == created_at.timestamp()


def test_at_the_slot_a_job_is_created_and_status_is_running(world: World) -> None:
    world.backup()
    world.reconcile()
    world.set_time(at(27, 1, 0, 1))
    result = world.reconcile()
    assert world.jobs() == ["postgres-daily-backup-20250327010000"]
    status = world.status()
    assert status["phase"] == "Running"
    assert status["activeJob"] == "postgres-daily-backup-20250327010000"
    assert status["lastScheduleTime"] == "2025-03-27T01:00:00Z"
    assert status["nextScheduledBackup"] == "2025-03-28T01:00:00Z"
    assert "SuccessfulCreate" in world.recorder.reasons()
    assert result.requeue_after == pytest.approx(86400 - 1 + REQUEUE_SLACK, abs=1e-6)
    job = world.cluster.get_live(JOBS, NS, "postgres-daily-backup-20250327010000")
    owner = job["metadata"]["ownerReferences"][0]
    assert owner["controller"] is True and owner["kind"] == "DatabaseBackup"
    # The skew histogram is fleet-wide (no per-backup labels): one observation, 1 s late.
    assert world.registry.get_sample_value("dbbackup_job_creation_skew_seconds_count") == 1
    assert world.registry.get_sample_value("dbbackup_job_creation_skew_seconds_sum") == 1.0


def test_a_wake_before_the_slot_creates_nothing_and_looks_again_just_after_it(
    world: World,
) -> None:
    # The wake-up runs on the monotonic clock; a wall clock stepped back meanwhile (or
    # rounding) can make it early. That pass must neither run the slot nor write anything.
    world.backup()
    world.reconcile()
    status = world.status()
    writes = world.cluster.status_writes
    world.set_time(at(27, 1) - timedelta(milliseconds=40))
    result = world.reconcile()
    assert world.jobs() == []
    assert world.status() == status and world.cluster.status_writes == writes
    assert result.requeue_after == pytest.approx(0.04 + REQUEUE_SLACK, abs=1e-6)
    world.set_time(at(27, 1) + timedelta(seconds=REQUEUE_SLACK))
    world.reconcile()
    assert world.jobs() == ["postgres-daily-backup-20250327010000"]


def test_completed_job_makes_the_backup_succeeded(world: World) -> None:
    world.backup()
    world.set_time(at(27, 1, 0, 1))
    world.reconcile()
    job = world.cluster.server[(JOBS.plural, NS, "postgres-daily-backup-20250327010000")]
    job["status"] = {"startTime": "2025-03-27T01:00:05Z"}  # the Pod started 4 s after creation
    world.cluster.finish_job(
        NS, "postgres-daily-backup-20250327010000", succeeded=True, at=at(27, 1, 4)
    )
    world.cluster.sync()
    world.set_time(at(27, 1, 4, 1))
    world.reconcile()
    status = world.status()
    assert status["phase"] == "Succeeded"
    assert status["lastSuccessfulBackup"] == "2025-03-27T01:04:00Z"
    assert "activeJob" not in status
    assert status["history"][-1]["result"] == "Succeeded"
    assert status["history"][-1]["location"] == (
        "s3://my-database-backups/postgres/daily/postgres-daily-backup-20250327010000.sql.zst"
    )
    assert {"SawCompletedJob", "BackupSucceeded"} <= set(world.recorder.reasons())
    assert world.metric("dbbackup_runs_total", result="succeeded") == 1
    assert world.metric("dbbackup_last_run_status") == 1
    assert world.metric("dbbackup_last_success_timestamp_seconds") == at(27, 1, 4).timestamp()
    assert world.metric("dbbackup_last_run_duration_seconds") == 235  # 01:00:05 → 01:04:00
    assert world.registry.get_sample_value("dbbackup_run_duration_seconds_count") == 1


def test_failed_job_makes_the_backup_failed_with_its_reason(world: World) -> None:
    world.backup()
    world.set_time(at(27, 1, 0, 1))
    world.reconcile()
    world.cluster.finish_job(
        NS, "postgres-daily-backup-20250327010000", succeeded=False, at=at(27, 1, 2)
    )
    world.cluster.sync()
    world.reconcile()
    status = world.status()
    assert status["phase"] == "Failed"
    assert status["failureReason"].startswith("BackoffLimitExceeded")
    ready = status["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "BackupFailed")
    assert "BackupFailed" in world.recorder.reasons()
    assert world.metric("dbbackup_runs_total", result="failed") == 1
    assert world.metric("dbbackup_last_run_status") == 0
    # Counted once, however often it is reconciled again.
    world.reconcile()
    assert world.metric("dbbackup_runs_total", result="failed") == 1


# -- idempotency -----------------------------------------------------------------------------


def test_reconciling_twice_at_the_slot_creates_one_job(world: World) -> None:
    world.backup()
    world.set_time(at(27, 1, 0, 1))
    world.reconcile()
    world.reconcile()
    assert world.jobs() == ["postgres-daily-backup-20250327010000"]


def test_stale_cache_and_crash_before_status_adopt_the_existing_job(world: World) -> None:
    world.backup()
    world.set_time(at(27, 1, 0, 1))
    world.reconcile(sync=False)
    # Crash before status: the server has the Job, the status write is lost, cache is stale.
    backup = world.cluster.get_live(BACKUPS, NS, NAME)
    backup["status"] = {}
    world.cluster.server[("databasebackups", NS, NAME)] = backup
    world.cluster.cache = {k: v for k, v in world.cluster.cache.items() if k[0] != "jobs"}
    world.restart()
    world.reconcile()
    assert world.jobs() == ["postgres-daily-backup-20250327010000"]
    assert world.status()["activeJob"] == "postgres-daily-backup-20250327010000"
    assert world.cluster.creates == 1


def test_a_job_of_that_name_owned_by_something_else_is_left_alone(world: World) -> None:
    world.backup()
    world.cluster.put(
        JOBS,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "postgres-daily-backup-20250327010000", "namespace": NS},
        },
    )
    world.set_time(at(27, 1, 0, 1))
    world.reconcile()
    world.reconcile()
    assert world.jobs() == ["postgres-daily-backup-20250327010000"]
    assert world.recorder.reasons().count("UnexpectedJob") == 1
    assert world.status()["lastScheduleTime"] == "2025-03-27T01:00:00Z"
    assert "activeJob" not in world.status()


# -- missed runs -----------------------------------------------------------------------------


def test_after_downtime_only_the_most_recent_missed_run_starts(world: World) -> None:
    world.backup()
    world.set_time(at(30, 9))
    world.reconcile()
    assert world.jobs() == ["postgres-daily-backup-20250330010000"]


def test_a_missed_run_past_the_starting_deadline_is_reported_not_run(world: World) -> None:
    world.backup(startingDeadlineSeconds=600)
    world.set_time(at(27, 1, 11))
    result = world.reconcile()
    assert world.jobs() == []
    assert "MissSchedule" in world.recorder.reasons()
    expected = (at(28, 1) - at(27, 1, 11)).total_seconds() + REQUEUE_SLACK
    assert result.requeue_after == pytest.approx(expected, abs=1e-6)
    world.set_time(at(27, 1, 9))
    world.reconcile()
    assert world.jobs() == ["postgres-daily-backup-20250327010000"]


def test_more_than_a_hundred_missed_runs_warn_and_still_run_the_latest(world: World) -> None:
    world.backup(schedule="*/5 * * * *")
    world.set_time(at(27, 12, 2))
    world.reconcile()
    assert world.recorder.reasons().count("TooManyMissedTimes") == 1
    assert world.jobs() == ["postgres-daily-backup-20250327120000"]
    assert world.status()["nextScheduledBackup"] == "2025-03-27T12:05:00Z"


def test_a_year_of_downtime_computes_in_bounded_work(world: World) -> None:
    world.backup(schedule="* * * * *")
    world.set_time(CREATED + timedelta(days=365))
    world.reconcile()
    assert world.jobs() == ["postgres-daily-backup-20260326120000"]
    assert "TooManyMissedTimes" in world.recorder.reasons()


# -- time ------------------------------------------------------------------------------------


def test_time_zone_is_honoured(world: World) -> None:
    world.backup(timeZone="Europe/Berlin")  # 01:00 CET is 00:00 UTC
    world.reconcile()
    assert world.status()["nextScheduledBackup"] == "2025-03-27T00:00:00Z"


def test_daylight_saving_gap_still_runs_that_day() -> None:
    start = datetime(2025, 3, 8, 12, tzinfo=UTC)
    w = World(start)
    # 02:30 does not exist in New York on 9 March 2025 (clocks jump 02:00 -> 03:00).
    w.backup(schedule="30 2 * * *", timeZone="America/New_York", concurrencyPolicy="Allow")
    for hour in range(72):
        w.set_time(start + timedelta(hours=hour, seconds=1))
        w.reconcile()
    assert w.jobs() == [
        "postgres-daily-backup-20250309070000",  # 03:00 EDT, the gap's first minute
        "postgres-daily-backup-20250310063000",  # 02:30 EDT
        "postgres-daily-backup-20250311063000",
    ]


def test_daylight_saving_overlap_runs_once() -> None:
    start = datetime(2025, 11, 1, 12, tzinfo=UTC)
    w = World(start)
    w.backup(schedule="30 1 * * *", timeZone="America/New_York", concurrencyPolicy="Allow")
    for minutes in range(0, 26 * 60, 15):
        w.set_time(start + timedelta(minutes=minutes, seconds=1))
        w.reconcile()
    assert w.jobs() == ["postgres-daily-backup-20251102053000"]  # 01:30 EDT only


def test_time_moving_backwards_or_a_future_creation_does_nothing_harmful(world: World) -> None:
    world.backup()
    world.set_time(at(27, 1, 0, 1))
    world.reconcile()
    world.set_time(at(26, 0))  # the clock jumps back a day
    world.reconcile()
    assert world.jobs() == ["postgres-daily-backup-20250327010000"]
    future = World(at(25, 0))
    future.cluster.now = at(28, 0)  # the API server's clock is ahead: creation in our future
    future.backup()
    result = future.reconcile()
    assert future.jobs() == []
    assert result.requeue_after is not None and result.requeue_after > 0


# -- concurrency policy and suspend ----------------------------------------------------------


def _run_two_slots(world: World) -> None:
    world.set_time(at(27, 1, 0, 1))
    world.reconcile()
    world.set_time(at(28, 1, 0, 1))
    world.reconcile()


def test_forbid_skips_while_a_job_is_active(world: World) -> None:
    world.backup(concurrencyPolicy="Forbid")
    _run_two_slots(world)
    assert world.jobs() == ["postgres-daily-backup-20250327010000"]
    assert "JobAlreadyActive" in world.recorder.reasons()


def test_forbid_decides_on_a_live_read_not_a_stale_cache(world: World) -> None:
    world.backup(concurrencyPolicy="Forbid")
    world.set_time(at(27, 1, 0, 1))
    world.reconcile()
    # The Job finished on the server, the cache has not seen it yet.
    world.cluster.finish_job(
        NS, "postgres-daily-backup-20250327010000", succeeded=True, at=at(27, 2)
    )
    world.set_time(at(28, 1, 0, 1))
    world.reconcile()
    assert "postgres-daily-backup-20250328010000" in world.jobs()


def test_allow_runs_concurrently(world: World) -> None:
    world.backup(concurrencyPolicy="Allow")
    _run_two_slots(world)
    assert len(world.jobs()) == 2


def test_replace_deletes_the_active_job_then_starts_the_new_one(world: World) -> None:
    world.backup(concurrencyPolicy="Replace")
    _run_two_slots(world)
    assert world.jobs() == ["postgres-daily-backup-20250328010000"]
    assert world.cluster.deletes == ["postgres-daily-backup-20250327010000"]
    assert "SuccessfulDelete" in world.recorder.reasons()


def test_suspend_keeps_status_and_creates_nothing_and_resume_fires_no_burst(world: World) -> None:
    world.backup(suspend=True)
    world.set_time(at(30, 9))
    result = world.reconcile()
    assert world.jobs() == []
    status = world.status()
    assert status["phase"] == "Pending"
    assert status["conditions"][0]["reason"] == "Suspended"
    assert "nextScheduledBackup" not in status
    assert result == Result()
    backup = world.cluster.get_live(BACKUPS, NS, NAME)
    backup["spec"]["suspend"] = False
    world.cluster.put(BACKUPS, backup)
    world.reconcile()
    assert len(world.jobs()) == 1


# -- deleted Jobs, invalid specs, status writes ----------------------------------------------


def test_a_job_deleted_while_active_is_reported_and_not_recreated(world: World) -> None:
    world.backup()
    world.set_time(at(27, 1, 0, 1))
    world.reconcile()
    world.cluster.delete_now(JOBS, NS, "postgres-daily-backup-20250327010000")
    world.cluster.sync()
    world.set_time(at(27, 1, 5))
    world.reconcile()
    assert world.jobs() == []
    assert "MissingJob" in world.recorder.reasons()
    status = world.status()
    assert "activeJob" not in status
    assert status["phase"] == "Failed"
    assert "MissingJob" in status["failureReason"]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"schedule": "not a cron"}, "InvalidSchedule"),
        ({"timeZone": "Mars/Olympus_Mons"}, "UnknownTimeZone"),
        ({"schedule": "0 0 31 2 *"}, "InvalidSchedule"),
    ],
)
def test_invalid_spec_reports_once_and_does_not_retry(
    world: World, spec: dict[str, Any], reason: str
) -> None:
    world.backup(**spec)
    world.set_time(at(27, 1, 0, 1))
    first = world.reconcile()
    second = world.reconcile()
    assert first == second == Result()
    assert world.jobs() == []
    ready = world.status()["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", reason)
    assert world.recorder.reasons().count(reason) == 1
    assert [e.type_ for e in world.recorder.events] == ["Warning"]


def test_fixing_the_spec_recovers_and_updates_observed_generation(world: World) -> None:
    world.backup(schedule="bad")
    world.reconcile()
    backup = world.cluster.get_live(BACKUPS, NS, NAME)
    backup["spec"]["schedule"] = "0 1 * * *"
    backup["metadata"]["generation"] = 2
    world.cluster.put(BACKUPS, backup)
    world.reconcile()
    status = world.status()
    assert status["observedGeneration"] == 2
    assert status["conditions"][0]["status"] == "True"
    assert status["nextScheduledBackup"] == "2025-03-27T01:00:00Z"


def test_a_spec_broken_later_is_caught_though_the_old_generation_was_valid(
    world: World,
) -> None:
    """The reconciler remembers a valid verdict per (uid, generation): a spec change (a new
    generation) or a recreated backup (a new uid, generation 1 again) is validated afresh."""
    world.backup(schedule="0 1 * * *")
    world.reconcile()
    world.reconcile()  # the remembered verdict
    backup = world.cluster.get_live(BACKUPS, NS, NAME)
    backup["spec"]["schedule"] = "bad"
    world.cluster.put(BACKUPS, backup)  # the server bumps the generation
    world.reconcile()
    assert world.status()["conditions"][0]["reason"] == "InvalidSchedule"

    def recreate(uid: str, **spec: str) -> str:
        """Delete the backup and create it again (a new uid, generation 1) with ``spec``."""
        again = world.cluster.get_live(BACKUPS, NS, NAME)
        again["spec"].update(spec)
        again["metadata"].update(uid=uid, generation=1)
        world.cluster.delete_now(BACKUPS, NS, NAME)
        world.cluster.put(BACKUPS, again)
        world.reconcile()
        return str(world.status()["conditions"][0]["reason"])

    assert recreate("recreated", schedule="0 1 * * *") == "Scheduled"
    assert recreate("recreated-again", timeZone="Mars/Olympus_Mons") == "UnknownTimeZone"


def test_a_new_storage_spec_shows_in_the_next_runs_location(world: World) -> None:
    """The storage location is remembered per generation, like the validity verdict: a
    changed bucket (a new generation) is where the next run's history says it wrote."""
    world.backup()
    world.reconcile()
    world.set_time(at(27, 1, 0, 1))
    world.reconcile()
    world.cluster.finish_job(
        NS, "postgres-daily-backup-20250327010000", succeeded=True, at=at(27, 1, 4)
    )
    world.cluster.sync()
    world.set_time(at(27, 1, 4, 1))
    world.reconcile()
    backup = world.cluster.get_live(BACKUPS, NS, NAME)
    backup["spec"]["storage"] = {"s3": {"bucket": "moved", "prefix": "pg"}}
    world.cluster.put(BACKUPS, backup)
    world.set_time(at(28, 1, 0, 1))
    world.reconcile()
    locations = [e["location"] for e in world.status()["history"]]
    assert locations[0].startswith("s3://my-database-backups/")
    assert locations[-1] == "s3://moved/pg/postgres-daily-backup-20250328010000.sql.zst"


def test_status_is_written_only_when_it_changed(world: World) -> None:
    world.backup()
    world.reconcile()
    writes = world.cluster.status_writes
    world.reconcile()
    world.reconcile()
    assert world.cluster.status_writes == writes


def test_a_conflict_rereads_and_retries_without_losing_fields(world: World) -> None:
    world.backup()
    world.set_time(at(27, 1, 0, 1))
    world.cluster.conflicts_to_inject = 1
    world.reconcile()
    status = world.status()
    assert status["activeJob"] == "postgres-daily-backup-20250327010000"
    assert status["lastScheduleTime"] == "2025-03-27T01:00:00Z"


def test_finished_jobs_beyond_history_limits_are_pruned_oldest_first(world: World) -> None:
    world.backup(successfulJobsHistoryLimit=2, failedJobsHistoryLimit=1)
    for day in range(27, 31):
        world.set_time(at(day, 1, 0, 1))
        world.reconcile()
        name = f"postgres-daily-backup-202503{day}010000"
        world.cluster.finish_job(NS, name, succeeded=True, at=at(day, 1, 5))
        world.cluster.sync()
        world.set_time(at(day, 1, 5, 1))
        world.reconcile()
    assert world.jobs() == [
        "postgres-daily-backup-20250329010000",
        "postgres-daily-backup-20250330010000",
    ]
    assert len(world.status()["history"]) == 4


def test_metrics_appear_with_the_backup_and_go_with_it(world: World) -> None:
    world.backup()
    world.reconcile()
    assert world.metric("dbbackup_runs_total", result="succeeded") == 0
    world.cluster.delete_now(BACKUPS, NS, NAME)
    world.cluster.sync()
    world.reconcile()
    assert world.metric("dbbackup_runs_total", result="succeeded") is None
    assert world.metric("dbbackup_next_schedule_timestamp_seconds") is None


def test_reconcile_never_mutates_cached_objects(world: World) -> None:
    world.backup()
    world.set_time(at(27, 1, 0, 1))
    before = copy.deepcopy(world.cluster.cache)
    world.reconcile(sync=False)
    assert world.cluster.cache == before


def test_a_pruned_slot_is_not_run_again_from_a_stale_cache(world: World) -> None:
    """History limit 0: the Job is deleted once its result is recorded. If the cache then
    shows the deletion but not yet the status write (two watch streams, no order between
    them), the slot must not run again."""
    world.backup(successfulJobsHistoryLimit=0)
    world.reconcile()
    stale = copy.deepcopy(world.cluster.cache[("databasebackups", NS, NAME)])  # Pending
    world.set_time(at(27, 1, 0, 1))
    world.reconcile()
    world.cluster.finish_job(
        NS, "postgres-daily-backup-20250327010000", succeeded=True, at=at(27, 1, 3)
    )
    world.cluster.sync()
    world.set_time(at(27, 1, 3, 1))
    world.reconcile()  # records the success, then prunes the Job
    assert world.jobs() == []
    assert world.status()["lastSuccessfulBackup"] == "2025-03-27T01:03:00Z"
    world.cluster.cache[("databasebackups", NS, NAME)] = stale  # the status event lags
    world.set_time(at(27, 1, 4))
    world.reconcile(sync=False)
    assert world.jobs() == []
    assert world.cluster.creates == 1
