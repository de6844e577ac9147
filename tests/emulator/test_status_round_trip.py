"""The operator's status through ``/status`` and back: the API server keeps it as written.

CRD docs, "Status subresource", with the project's own status schema: a PUT to ``/status``
stores the body's ``status`` after pruning and defaulting, and ``DatabaseBackupStatus`` has no
unknown fields and no defaults, so the stored status is the JSON value that was sent — empty
``history`` included — and decodes to the very ``DatabaseBackupStatus`` it was encoded from.
The reconciler relies on it: it compares the decoded status with the one it computes, so a
server that changed the value would make every pass write. Seen on kube-apiserver v1.32: a
DatabaseBackup got its three status writes (Pending, Running, next run moved by ``Forbid``)
and none on the passes between.

The CRD is the generated one under another group, so that a real server's own
``databasebackups.dbbackup.io`` is left alone.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from api.v1alpha1 import DatabaseBackupStatus
from api.v1alpha1.crdgen import crd as generated_crd
from api.v1alpha1.markers import encode
from api.v1alpha1.status import BackupRun, Condition
from tests.emulator.support import Dicts

GROUP, VERSION, PLURAL = "statusroundtrip.example.com", "v1alpha1", "databasebackups"
NAMESPACE, NAME = "default", "status-round-trip"


def renamed_crd() -> dict[str, Any]:
    body = generated_crd()
    body["metadata"]["name"] = f"{PLURAL}.{GROUP}"
    body["spec"]["group"] = GROUP
    names = body["spec"]["names"]
    names.pop("shortNames", None)
    names.pop("categories", None)
    return body


def backup() -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "DatabaseBackup",
        "metadata": {"name": NAME},
        "spec": {
            "schedule": "0 1 * * *",
            "database": {"type": "postgresql", "host": "db.example"},
            "image": "backup:1",
            "storage": {"s3": {"bucket": "backups"}},
        },
    }


def ready(generation: int, status: str, reason: str, message: str) -> Condition:
    return Condition(
        type="Ready",
        status=status,
        reason=reason,
        message=message,
        last_transition_time="2025-03-26T12:00:00Z",
        observed_generation=generation,
    )


STATUSES = [
    DatabaseBackupStatus(  # a new backup: no run yet, history written as []
        phase="Pending",
        next_scheduled_backup="2025-03-27T01:00:00Z",
        observed_generation=1,
        conditions=(ready(1, "True", "Scheduled", "backups are scheduled"),),
    ),
    DatabaseBackupStatus(
        phase="Running",
        active_job=f"{NAME}-20250328010000",
        last_schedule_time="2025-03-28T01:00:00Z",
        last_successful_backup="2025-03-27T09:04:00Z",
        failure_reason="BackoffLimitExceeded: Job has reached the specified backoff limit",
        next_scheduled_backup="2025-03-29T01:00:00Z",
        observed_generation=1,
        conditions=(ready(1, "True", "Scheduled", "backups are scheduled"),),
        history=(
            BackupRun(
                job=f"{NAME}-20250327010000",
                scheduled_time="2025-03-27T01:00:00Z",
                start_time="2025-03-27T01:00:01Z",
                completion_time="2025-03-27T01:02:00Z",
                result="Failed",
                location="s3://backups",
                failure_reason="BackoffLimitExceeded: Job has reached the specified backoff limit",
            ),
            BackupRun(
                job=f"{NAME}-manual-x7k2p",
                trigger="manual",
                requested_time="2025-03-27T09:00:00Z",
                completion_time="2025-03-27T09:04:00Z",
                result="Succeeded",
                location="s3://backups",
            ),
            BackupRun(
                job=f"{NAME}-20250328010000",
                scheduled_time="2025-03-28T01:00:00Z",
                result="Running",
                location="",
            ),
        ),
    ),
]


def test_a_written_status_reads_back_as_the_same_value(
    k8s: client.ApiClient, objects: Dicts
) -> None:
    crds = client.ApiextensionsV1Api(k8s)
    crds.create_custom_resource_definition(renamed_crd())  # type: ignore[arg-type]
    current = objects.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, backup())
    for status in STATUSES:
        body = encode(status)
        written = objects.replace_namespaced_custom_object_status(
            GROUP, VERSION, NAMESPACE, PLURAL, NAME, {**current, "status": body}
        )
        current = objects.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, NAME)
        assert written["status"] == body
        assert current["status"] == body
        assert DatabaseBackupStatus.of(current) == status
    assert STATUSES[0].history == () and encode(STATUSES[0])["history"] == []
