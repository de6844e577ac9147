"""Status folding: history merge, phase, timestamps that only move forward, conditions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.v1alpha1.job import DumpLocation
from api.v1alpha1.markers import encode
from api.v1alpha1.status import BackupRun, DatabaseBackupStatus
from controller.status import (
    HISTORY_LIMIT,
    mark_missing,
    merge_history,
    retry_on_conflict,
    set_condition,
    summarize,
)
from manager.errors import Conflict, ServerError

LOCATION = "s3://bucket/prefix"
NONE = DatabaseBackupStatus()  # no status yet


def wire(value: DatabaseBackupStatus | BackupRun) -> dict[str, Any]:
    """What the status write sends (``api.v1alpha1.markers.encode``)."""
    encoded: dict[str, Any] = encode(value)
    return encoded


def job(name: str, slot: str, *, result: str = "Running", done: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": slot}
    if result == "Succeeded":
        status["completionTime"] = done
        status["conditions"] = [
            {"type": "SuccessCriteriaMet", "status": "True"},
            {"type": "Complete", "status": "True", "lastTransitionTime": done},
        ]
    elif result == "Failed":
        status["conditions"] = [
            {"type": "FailureTarget", "status": "True"},
            {
                "type": "Failed",
                "status": "True",
                "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit",
                "lastTransitionTime": done,
            },
        ]
    return {
        "metadata": {"name": name, "annotations": {"dbbackup.io/scheduled-at": slot}},
        "status": status,
    }


def test_new_running_job_makes_phase_running_with_active_job() -> None:
    history = merge_history([], [job("b-1", "2025-03-27T01:00:00Z")], LOCATION)
    status = wire(summarize(NONE, history))
    assert status["phase"] == "Running"
    assert status["activeJob"] == "b-1"
    assert status["lastScheduleTime"] == "2025-03-27T01:00:00Z"
    assert wire(history[0])["location"] == LOCATION


def test_success_records_completion_as_last_successful_backup() -> None:
    done = "2025-03-27T01:05:00Z"
    history = merge_history(
        [], [job("b-1", "2025-03-27T01:00:00Z", result="Succeeded", done=done)], LOCATION
    )
    status = wire(summarize(NONE, history))
    assert status["phase"] == "Succeeded"
    assert status["lastSuccessfulBackup"] == done
    assert "activeJob" not in status
    assert "failureReason" not in status


def test_failure_reason_comes_from_the_failed_condition() -> None:
    history = merge_history(
        [],
        [job("b-1", "2025-03-27T01:00:00Z", result="Failed", done="2025-03-27T01:02:00Z")],
        LOCATION,
    )
    status = wire(summarize(NONE, history))
    assert status["phase"] == "Failed"
    assert status["failureReason"] == (
        "BackoffLimitExceeded: Job has reached the specified backoff limit"
    )


def test_failure_stays_visible_while_the_next_run_is_in_progress() -> None:
    jobs = [
        job("b-1", "2025-03-27T01:00:00Z", result="Failed", done="2025-03-27T01:02:00Z"),
        job("b-2", "2025-03-28T01:00:00Z"),
    ]
    status = wire(summarize(NONE, merge_history([], jobs, LOCATION)))
    assert status["phase"] == "Running"
    assert status["failureReason"].startswith("BackoffLimitExceeded")


def test_history_outlives_pruned_jobs_and_a_stale_job_cannot_unfinish_a_run() -> None:
    done = "2025-03-27T01:05:00Z"
    first = merge_history(
        [], [job("b-1", "2025-03-27T01:00:00Z", result="Succeeded", done=done)], LOCATION
    )
    # The Job was pruned: history still has it.
    assert merge_history(first, [], LOCATION) == first
    # A stale cache shows it running again: the recorded result stands.
    again = merge_history(first, [job("b-1", "2025-03-27T01:00:00Z")], LOCATION)
    assert again[0].result == "Succeeded"


def test_history_is_bounded_but_keeps_running_entries() -> None:
    jobs = [
        job(
            f"b-{i:02d}",
            f"2025-03-{i + 1:02d}T01:00:00Z",
            result="Succeeded",
            done=f"2025-03-{i + 1:02d}T01:05:00Z",
        )
        for i in range(HISTORY_LIMIT + 3)
    ]
    jobs[0] = job("b-00", "2025-03-01T01:00:00Z")  # oldest is still running
    history = merge_history([], jobs, LOCATION)
    assert len(history) == HISTORY_LIMIT + 1
    assert history[0].job == "b-00"
    assert history[-1].job == f"b-{HISTORY_LIMIT + 2:02d}"


def test_last_schedule_and_success_never_move_backwards() -> None:
    previous = DatabaseBackupStatus(
        last_schedule_time="2025-03-28T01:00:00Z",
        last_successful_backup="2025-03-28T01:05:00Z",
    )
    history = merge_history(
        [],
        [job("b-1", "2025-03-27T01:00:00Z", result="Succeeded", done="2025-03-27T01:05:00Z")],
        LOCATION,
    )
    status = wire(summarize(previous, history))
    assert status["lastScheduleTime"] == "2025-03-28T01:00:00Z"
    assert status["lastSuccessfulBackup"] == "2025-03-28T01:05:00Z"


def test_a_missing_running_job_becomes_a_failed_run() -> None:
    history = merge_history([], [job("b-1", "2025-03-27T01:00:00Z")], LOCATION)
    history = mark_missing(history, "b-1", datetime(2025, 3, 27, 1, 3, tzinfo=UTC))
    status = wire(summarize(NONE, history))
    assert status["phase"] == "Failed"
    assert "MissingJob" in status["failureReason"]
    assert "activeJob" not in status


def test_condition_transition_time_changes_only_when_status_flips() -> None:
    t1 = datetime(2025, 3, 27, 1, 0, tzinfo=UTC)
    t2 = datetime(2025, 3, 27, 2, 0, tzinfo=UTC)
    first = set_condition(
        [],
        type_="Ready",
        status="True",
        reason="Scheduled",
        message="a",
        now=t1,
        observed_generation=1,
    )
    same = set_condition(
        first,
        type_="Ready",
        status="True",
        reason="Scheduled",
        message="b",
        now=t2,
        observed_generation=2,
    )
    flipped = set_condition(
        same,
        type_="Ready",
        status="False",
        reason="BackupFailed",
        message="c",
        now=t2,
        observed_generation=2,
    )
    assert first[0].last_transition_time == "2025-03-27T01:00:00Z"
    assert same[0].last_transition_time == "2025-03-27T01:00:00Z"
    assert same[0].message == "b"
    assert same[0].observed_generation == 2
    assert flipped[0].last_transition_time == "2025-03-27T02:00:00Z"
    assert len(flipped) == 1


# -- the status write's conflict retries ------------------------------------------------------


class _Writes:
    """A status write that fails with the queued errors, then succeeds; counts re-reads."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.attempts = 0
        self.rereads = 0

    def attempt(self) -> None:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)

    def reread(self) -> None:
        self.rereads += 1


def test_a_conflict_rereads_and_writes_again_at_once() -> None:
    writes = _Writes(Conflict("modified"), Conflict("modified"))
    retry_on_conflict(writes.attempt, writes.reread, attempts=3)
    assert (writes.attempts, writes.rereads) == (3, 2)


def test_conflicts_past_the_bound_propagate_without_a_last_reread() -> None:
    writes = _Writes(Conflict("a"), Conflict("b"), Conflict("c"), Conflict("d"))
    with pytest.raises(Conflict, match="c"):
        retry_on_conflict(writes.attempt, writes.reread, attempts=3)
    assert (writes.attempts, writes.rereads) == (3, 2)


def test_other_errors_are_not_retried() -> None:
    writes = _Writes(ServerError("busy"))
    with pytest.raises(ServerError):
        retry_on_conflict(writes.attempt, writes.reread, attempts=3)
    assert (writes.attempts, writes.rereads) == (1, 0)


def test_a_pod_failure_policy_failure_reads_as_the_contract_cause() -> None:
    """The Job controller's FailJob condition carries the exit code; no Pod is read."""
    failed = job("b-1", "2025-03-27T01:00:00Z", result="Failed")
    condition = failed["status"]["conditions"][-1]
    condition["reason"] = "PodFailurePolicy"
    condition["message"] = (
        "Container backup for pod ns/b-1-x7k2p failed with exit code 4 matching FailJob rule "
        "at index 0"
    )
    history = merge_history([], [failed], DumpLocation("s3://bucket/prefix", "postgresql"))
    status = wire(summarize(NONE, history))
    assert status["failureReason"] == "database authentication failed (exit 4)"
    assert wire(history[0])["location"] == "s3://bucket/prefix/b-1.sql.zst"


def test_a_manual_run_is_recorded_in_order_and_never_moves_the_schedule() -> None:
    scheduled = job("b-20250327010000", "2025-03-27T01:00:00Z", result="Succeeded",
                    done="2025-03-27T01:05:00Z")  # fmt: skip
    manual = job("b-manual-x7k2p", "2025-03-27T09:00:00Z", result="Succeeded",
                 done="2025-03-27T09:04:00Z")  # fmt: skip
    manual["metadata"] = {
        "name": "b-manual-x7k2p",
        "labels": {"dbbackup.io/trigger": "manual"},
        "annotations": {"dbbackup.io/requested-at": "2025-03-27T09:00:00Z"},
    }
    later = job("b-20250328010000", "2025-03-28T01:00:00Z")
    runs = merge_history([], [later, manual, scheduled], DumpLocation(LOCATION, "postgresql"))
    history = [wire(e) for e in runs]
    assert [e["job"] for e in history] == ["b-20250327010000", "b-manual-x7k2p", "b-20250328010000"]
    entry = history[1]
    assert entry["trigger"] == "manual" and "scheduledTime" not in entry
    assert entry["requestedTime"] == "2025-03-27T09:00:00Z"
    assert entry["location"] == f"{LOCATION}/b-manual-x7k2p.sql.zst"
    status = wire(summarize(NONE, runs[:2]))
    assert status["lastScheduleTime"] == "2025-03-27T01:00:00Z"  # the manual run moved nothing
    assert status["lastSuccessfulBackup"] == "2025-03-27T09:04:00Z"  # but it is a success
    assert "trigger" not in history[0]


def test_a_backup_without_runs_says_so_with_an_empty_history() -> None:
    """``history`` is written even when empty (as before the status became a type): a
    reader sees ``history: []``, never a missing field, from the first status on."""
    status = wire(summarize(NONE, merge_history([], [], LOCATION)))
    assert status == {"phase": "Pending", "history": []}


def test_a_run_no_job_changes_is_kept_as_it_was() -> None:
    """Copy on write: a merge that changes nothing returns the recorded runs themselves."""
    done = "2025-03-27T01:05:00Z"
    finished = job("b-1", "2025-03-27T01:00:00Z", result="Succeeded", done=done)
    first = merge_history([], [finished], LOCATION)
    again = merge_history(first, [finished], LOCATION)
    assert again == first and again[0] is first[0]
