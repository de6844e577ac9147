"""A status write's keys come out in the order the operator has always written them.

docs/design.md ("Status on the wire"): status PUT bodies stay the same byte for byte, so the
order of the declarations in ``api/v1alpha1/status.py`` is part of the wire contract.
"""

from __future__ import annotations

import json

from api.v1alpha1.markers import encode
from api.v1alpha1.status import BackupRun, Condition, DatabaseBackupStatus

T0 = "2026-12-06T01:00:00Z"
T1 = "2026-12-06T01:02:03Z"


def _every_field_set() -> DatabaseBackupStatus:
    run = BackupRun(
        job="db-1",
        result="Failed",
        scheduled_time=T0,
        location="s3://bucket/db/1.dump.zst",
        start_time=T0,
        completion_time=T1,
        failure_reason="BackoffLimitExceeded: Job has reached the specified backoff limit",
    )
    ready = Condition(
        type="Ready",
        status="False",
        reason="BackupFailed",
        message="the latest run failed",
        last_transition_time=T1,
        observed_generation=2,
    )
    return DatabaseBackupStatus(
        phase="Failed",
        active_job="db-2",
        failure_reason="BackoffLimitExceeded",
        last_schedule_time=T0,
        last_successful_backup=T0,
        history=(run,),
        observed_generation=2,
        next_scheduled_backup=T1,
        conditions=(ready,),
    )


def test_status_keys_are_written_in_the_established_order() -> None:
    body = encode(_every_field_set())

    assert list(body) == [
        "phase",
        "activeJob",
        "failureReason",
        "lastScheduleTime",
        "lastSuccessfulBackup",
        "history",
        "observedGeneration",
        "nextScheduledBackup",
        "conditions",
    ]
    assert list(body["history"][0]) == [
        "job",
        "result",
        "scheduledTime",
        "location",
        "startTime",
        "completionTime",
        "failureReason",
    ]
    assert list(body["conditions"][0]) == [
        "type",
        "status",
        "reason",
        "message",
        "lastTransitionTime",
        "observedGeneration",
    ]


def test_a_first_status_is_the_same_bytes_as_before() -> None:
    """The first status of a new backup, as the dict-built status wrote it."""
    status = DatabaseBackupStatus(
        phase="Pending",
        observed_generation=1,
        next_scheduled_backup=T1,
        conditions=(
            Condition(
                type="Ready",
                status="True",
                reason="Scheduled",
                message="next run at " + T1,
                last_transition_time=T0,
                observed_generation=1,
            ),
        ),
    )

    assert json.dumps(encode(status), separators=(",", ":")) == (
        '{"phase":"Pending","history":[],"observedGeneration":1,'
        '"nextScheduledBackup":"2026-12-06T01:02:03Z","conditions":[{"type":"Ready",'
        '"status":"True","reason":"Scheduled","message":"next run at 2026-12-06T01:02:03Z",'
        '"lastTransitionTime":"2026-12-06T01:00:00Z","observedGeneration":1}]}'
    )
