"""DatabaseRestore: which dump a source means, the restore Job, and on-demand backup Jobs."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.v1alpha1 import (
    ANNOTATION_REQUESTED_AT,
    ANNOTATION_SCHEDULED_AT,
    LABEL_TRIGGER,
    MAX_NAME_LENGTH,
    TRIGGER_MANUAL,
    DatabaseRestore,
    SourceError,
    build_manual_job,
    build_restore_job,
    job_name,
    manual_job_name,
    resolve_source,
)
from api.v1alpha1 import contract as c
from api.v1alpha1.crdgen import RESTORE_CRD_PATH, render_restore
from tests.support.pod_security import restricted_violations

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "config/samples/dbbackup_v1alpha1_postgres_daily_backup.yaml"
BASE = "s3://my-database-backups/postgres/daily"
NOW = datetime(2025, 3, 28, 9, 30, tzinfo=UTC)


def backup(history: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load(SAMPLE.read_text())
    obj["metadata"] |= {"namespace": "default", "uid": "backup-uid"}
    obj["spec"].update(spec)
    if history is not None:
        obj["status"] = {"history": history}
    return obj


def restore(**spec: Any) -> DatabaseRestore:
    return DatabaseRestore.from_dict({
        "metadata": {"name": "to-staging", "namespace": "default", "uid": "restore-uid",
                     "creationTimestamp": "2025-03-28T09:00:00Z"},
        "spec": {"backupRef": {"name": "postgres-daily-backup"}, **spec},
    })  # fmt: skip


RUNS = [
    {"job": "postgres-daily-backup-20250326010000", "result": "Succeeded",
     "completionTime": "2025-03-26T01:02:00Z"},
    {"job": "postgres-daily-backup-manual-x7k2p", "result": "Succeeded", "trigger": "manual",
     "completionTime": "2025-03-27T15:00:00Z"},
    {"job": "postgres-daily-backup-20250327010000", "result": "Succeeded",
     "completionTime": "2025-03-27T01:02:00Z"},
    {"job": "postgres-daily-backup-20250328010000", "result": "Failed",
     "completionTime": "2025-03-28T01:01:00Z", "failureReason": "upload failed (exit 7)"},
]  # fmt: skip


def test_latest_is_the_newest_successful_run_manual_or_scheduled() -> None:
    got = resolve_source(restore(), backup(RUNS))
    assert got.argument == "postgres-daily-backup-manual-x7k2p"
    assert got.url == f"{BASE}/postgres-daily-backup-manual-x7k2p.sql.zst"


def test_latest_without_a_successful_run_says_what_to_do() -> None:
    with pytest.raises(SourceError) as err:
        resolve_source(restore(), backup(RUNS[3:]))
    assert err.value.reason == "NoSuccessfulBackup"
    assert "kubectl dbbackup run postgres-daily-backup" in err.value.message


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("postgres-daily-backup-20250328010000", "SourceFailed"),
        ("other-backup-20250327010000", "SourceNotFound"),
        ("s3://another-bucket/x/postgres-daily-backup-20250327010000.sql.zst",
         "SourceOutsideStorage"),
    ],
)  # fmt: skip
def test_sources_that_cannot_be_restored_are_refused_with_a_reason(
    source: str, reason: str
) -> None:
    with pytest.raises(SourceError) as err:
        resolve_source(restore(source=source), backup(RUNS))
    assert err.value.reason == reason


def test_a_run_name_or_a_url_is_exact_even_when_pruned_from_history() -> None:
    run = "postgres-daily-backup-20250101010000"
    assert resolve_source(restore(source=run), backup(RUNS)).url == f"{BASE}/{run}.sql.zst"
    url = f"{BASE}/{run}.sql.zst"
    got = resolve_source(restore(source=url), backup(RUNS))
    assert (got.url, got.argument) == (url, url)


def test_a_pvc_url_is_passed_as_the_path_the_runner_sees() -> None:
    b = backup(RUNS, storage={"pvc": {"claimName": "backups", "subPath": "pg"}})
    run = "postgres-daily-backup-20250327010000"
    got = resolve_source(restore(source=f"pvc://backups/pg/{run}.sql.zst"), b)
    assert got.argument == f"{c.STORAGE_MOUNT_PATH}/pg/{run}.sql.zst"


def test_the_restore_job_runs_the_runner_once_into_the_override_database() -> None:
    r = restore(database={"type": "postgresql", "host": "staging-db", "name": "app_staging",
                          "credentialsSecretRef": {"name": "staging-credentials"}})  # fmt: skip
    b = backup(RUNS)
    job = build_restore_job(r, b, resolve_source(r, b))
    assert job["metadata"]["name"] == "to-staging-restore"
    (owner,) = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == (
        "DatabaseRestore", "restore-uid", True,
    )  # fmt: skip
    assert job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "ghcr.io/example/postgres-backup:latest"
    assert container["args"] == ["restore", "--from", "postgres-daily-backup-manual-x7k2p"]
    env = {e["name"]: e for e in container["env"]}
    assert env[c.DB_HOST]["value"] == "staging-db"
    assert env[c.DB_NAME]["value"] == "app_staging"
    assert env[c.DB_PASSWORD]["valueFrom"]["secretKeyRef"]["name"] == "staging-credentials"
    assert env[c.STORAGE_URL]["value"] == BASE  # the backup's storage, read-only use
    assert env[c.BACKUP_NAME]["value"] == "postgres-daily-backup"
    assert restricted_violations(pod) == []
    assert build_restore_job(r, copy.deepcopy(b), resolve_source(r, b)) == job


def test_an_override_of_another_engine_is_refused() -> None:
    r = restore(database={"type": "mysql", "host": "staging-db"})
    with pytest.raises(SourceError) as err:
        build_restore_job(r, backup(RUNS), resolve_source(r, backup(RUNS)))
    assert err.value.reason == "InvalidSpec"


def test_a_manual_run_is_a_run_that_never_looks_like_a_slot() -> None:
    job = build_manual_job(backup(), NOW, "x7k2p")
    name = job["metadata"]["name"]
    assert name == "postgres-daily-backup-manual-x7k2p"
    assert job["metadata"]["labels"][LABEL_TRIGGER] == TRIGGER_MANUAL
    assert ANNOTATION_SCHEDULED_AT not in job["metadata"]["annotations"]
    assert job["metadata"]["annotations"][ANNOTATION_REQUESTED_AT] == "2025-03-28T09:30:00Z"
    (owner,) = job["metadata"]["ownerReferences"]
    assert owner["controller"] is True and "blockOwnerDeletion" not in owner
    env = {
        e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env[c.BACKUP_JOB_NAME] == name  # the dump is named after the run
    longest = "a" * MAX_NAME_LENGTH
    assert len(manual_job_name(longest, "x7k2p")) <= 63
    assert manual_job_name(longest, "x7k2p") != job_name(longest, NOW)
    with pytest.raises(ValueError):
        manual_job_name("b", "20250")  # all digits could read as a timestamp fragment


def test_the_committed_restore_crd_is_generated() -> None:
    assert (ROOT / RESTORE_CRD_PATH).read_text() == render_restore()
    crd = yaml.safe_load(render_restore())
    names = crd["spec"]["names"]
    assert (names["plural"], names["shortNames"], names["categories"]) == (
        "databaserestores", ["dbrestore"], ["backups"],
    )  # fmt: skip
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert {"rule": "self == oldSelf"}.items() <= spec["x-kubernetes-validations"][0].items()
