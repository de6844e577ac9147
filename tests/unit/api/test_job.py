"""build_job(): golden Jobs for every sample, names, labels, owner, the env contract,
credentials only by reference, $ escaping, and the restricted Pod Security profile.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest
tests/unit/api/test_job.py`` and review the diff.
"""

from __future__ import annotations

import copy
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from api.v1alpha1 import (
    ANNOTATION_SCHEDULED_AT,
    MAX_NAME_LENGTH,
    InvalidBackupError,
    build_job,
    escape_value,
    job_name,
    storage_location,
)
from api.v1alpha1 import contract as c
from tests.support.pod_security import restricted_violations

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "config" / "samples"
GOLDEN = Path(__file__).resolve().parent / "golden"
SLOT = datetime(2025, 3, 27, 1, 0, tzinfo=UTC)
CREDENTIAL_VARS = {c.DB_USER, c.DB_PASSWORD, c.AWS_ACCESS_KEY_ID, c.AWS_SECRET_ACCESS_KEY}


def sample(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load((SAMPLES / f"dbbackup_v1alpha1_{name}.yaml").read_text())
    obj["metadata"] |= {"namespace": "default", "uid": f"uid-{name}", "generation": 1}
    return obj


SAMPLE_NAMES = ["postgres_daily_backup", "mysql_gcs_backup", "mongodb_pvc_backup"]


def env_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = job["spec"]["template"]["spec"]["containers"][0]["env"]
    return env


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_job_of_each_sample_matches_its_golden_file(name: str) -> None:
    job = build_job(sample(name), SLOT)
    path = GOLDEN / f"{name}.job.yaml"
    text = yaml.safe_dump(job, sort_keys=False, width=100)
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"missing {path.name}: run with UPDATE_GOLDEN=1"
    assert yaml.safe_load(path.read_text()) == job


def test_the_product_sample_job() -> None:
    job = build_job(sample("postgres_daily_backup"), SLOT)
    meta = job["metadata"]
    assert meta["name"] == "postgres-daily-backup-20250327010000"
    assert meta["namespace"] == "default"
    assert meta["labels"] == {
        "app.kubernetes.io/managed-by": "dbbackup-operator",
        "dbbackup.io/backup": "postgres-daily-backup",
    }
    assert meta["annotations"] == {ANNOTATION_SCHEDULED_AT: "2025-03-27T01:00:00Z"}
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "dbbackup.io/v1alpha1",
            "kind": "DatabaseBackup",
            "name": "postgres-daily-backup",
            "uid": "uid-postgres_daily_backup",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert "ttlSecondsAfterFinished" not in job["spec"]
    assert job["spec"]["backoffLimit"] == 2
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["containers"][0]["image"] == "ghcr.io/example/postgres-backup:latest"
    values = {e["name"]: e.get("value") for e in env_of(job)}
    assert values[c.STORAGE_URL] == "s3://my-database-backups/postgres/daily"
    assert values[c.BACKUP_RETENTION_SECONDS] == str(14 * 24 * 3600)
    assert values[c.DB_PORT] == "5432"


def test_job_name_uses_the_scheduled_time_in_utc() -> None:
    berlin = timezone(timedelta(hours=2))
    assert job_name("b", datetime(2025, 3, 27, 3, 0, 5, 999, tzinfo=berlin)) == "b-20250327010005"
    with pytest.raises(ValueError, match="aware"):
        job_name("b", datetime(2025, 3, 27))


def test_longest_allowed_backup_name_gives_a_63_character_job_name() -> None:
    backup = sample("postgres_daily_backup")
    backup["metadata"]["name"] = "n" * MAX_NAME_LENGTH
    assert len(build_job(backup, SLOT)["metadata"]["name"]) == 63
    backup["metadata"]["name"] = "n" * (MAX_NAME_LENGTH + 1)
    with pytest.raises(InvalidBackupError) as err:
        build_job(backup, SLOT)
    assert [p.path for p in err.value.problems] == ["metadata.name"]


def test_invalid_backup_or_missing_uid_is_refused() -> None:
    backup = sample("postgres_daily_backup")
    backup["spec"]["schedule"] = "0 0 31 2 *"
    with pytest.raises(InvalidBackupError, match=r"spec\.schedule"):
        build_job(backup, SLOT)
    backup = sample("postgres_daily_backup")
    del backup["metadata"]["uid"]
    with pytest.raises(ValueError, match="uid"):
        build_job(backup, SLOT)


def test_build_job_is_deterministic_and_does_not_mutate_the_backup() -> None:
    backup = sample("mysql_gcs_backup")
    before = copy.deepcopy(backup)
    assert build_job(backup, SLOT) == build_job(backup, SLOT)
    assert backup == before


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_job_carries_the_same_contract_variables(name: str) -> None:
    names = [e["name"] for e in env_of(build_job(sample(name), SLOT))]
    always = [v.name for v in c.VARIABLES if v.when == c.ALWAYS]
    assert names[: len(always)] == always
    assert set(names) <= {v.name for v in c.VARIABLES}
    assert len(names) == len(set(names))


def secret_values() -> set[str]:
    values: set[str] = set()
    for doc in yaml.safe_load_all((SAMPLES / "secrets.yaml").read_text()):
        values.update(str(v) for v in (doc.get("stringData") or {}).values())
    return values


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_no_credential_is_a_literal_env_value(name: str) -> None:
    job = build_job(sample(name), SLOT)
    leaked = secret_values()
    for var in env_of(job):
        if var["name"] in CREDENTIAL_VARS:
            assert "value" not in var
            assert set(var["valueFrom"]) == {"secretKeyRef"}
        else:
            assert var.get("value") not in leaked, var
    text = yaml.safe_dump(job)
    assert not any(secret in text for secret in leaked)


def test_credentials_are_referenced_with_their_keys() -> None:
    backup = sample("postgres_daily_backup")
    backup["spec"]["storage"]["s3"]["credentialsSecretRef"] = {
        "name": "s3",
        "accessKeyIdKey": "id",
        "secretAccessKeyKey": "secret",
    }
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in env_of(build_job(backup, SLOT))
        if "valueFrom" in e
    }
    assert refs[c.AWS_ACCESS_KEY_ID] == {"name": "s3", "key": "id"}
    assert refs[c.AWS_SECRET_ACCESS_KEY] == {"name": "s3", "key": "secret"}
    assert refs[c.DB_PASSWORD] == {"name": "postgres-credentials", "key": "password"}


def test_gcs_key_file_is_mounted_read_only_from_the_secret() -> None:
    job = build_job(sample("mysql_gcs_backup"), SLOT)
    pod = job["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if "secret" in v)
    assert volume["secret"]["secretName"] == "gcs-credentials"
    assert volume["secret"]["items"] == [{"key": "key.json", "path": "key.json"}]
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
    assert mount == {"name": volume["name"], "mountPath": c.GCS_KEY_DIR, "readOnly": True}
    values = {e["name"]: e.get("value") for e in env_of(job)}
    assert values[c.GOOGLE_APPLICATION_CREDENTIALS] == c.GCS_KEY_FILE


def test_pvc_is_mounted_with_its_sub_path() -> None:
    backup = sample("mongodb_pvc_backup")
    job = build_job(backup, SLOT)
    pod = job["spec"]["template"]["spec"]
    assert {"name": "storage", "persistentVolumeClaim": {"claimName": "mongodb-backups"}} in pod[
        "volumes"
    ]
    mounts = pod["containers"][0]["volumeMounts"]
    assert {"name": "storage", "mountPath": "/backup/weekly", "subPath": "weekly"} in mounts
    values = {e["name"]: e.get("value") for e in env_of(job)}
    assert values[c.STORAGE_PATH] == values[c.STORAGE_URL] == "/backup/weekly"
    assert storage_location(backup) == "pvc://mongodb-backups/weekly"


def kubelet_expand(value: str, env: dict[str, str]) -> str:
    """The kubelet's ``$(VAR)`` expansion (third_party/forked/golang/expansion), ported."""
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "$" and i + 1 < len(value):
            nxt = value[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                close = value.find(")", i + 2)
                if close != -1:
                    name = value[i + 2 : close]
                    out.append(env.get(name, f"$({name})"))
                    i = close + 1
                    continue
                out.append("$(")
                i += 2
                continue
            out.append("$" + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@given(st.text(alphabet="$()AB x", max_size=30))
def test_escaping_survives_kubelet_expansion_verbatim(value: str) -> None:
    assert kubelet_expand(escape_value(value), {"A": "SECRET", "B": "OTHER"}) == value


def test_dollar_paren_in_a_value_cannot_read_another_variable() -> None:
    backup = sample("postgres_daily_backup")
    backup["spec"]["database"]["name"] = "$(DB_PASSWORD)"
    backup["spec"]["storage"]["s3"]["prefix"] = "x/$$(AWS_SECRET_ACCESS_KEY)"
    values = {e["name"]: str(e.get("value")) for e in env_of(build_job(backup, SLOT))}
    assert values[c.DB_NAME] == "$$(DB_PASSWORD)"
    assert kubelet_expand(values[c.DB_NAME], {"DB_PASSWORD": "pw"}) == "$(DB_PASSWORD)"
    assert kubelet_expand(values[c.STORAGE_PREFIX], {"AWS_SECRET_ACCESS_KEY": "k"}) == (
        "x/$$(AWS_SECRET_ACCESS_KEY)"
    )
    container = build_job(backup, SLOT)["spec"]["template"]["spec"]["containers"][0]
    assert "command" not in container and "args" not in container


def with_pod(pod: dict[str, Any]) -> dict[str, Any]:
    backup = sample("postgres_daily_backup")
    backup["spec"]["pod"] = pod
    return backup


VARIANTS = {
    **{name: sample(name) for name in SAMPLE_NAMES},
    "service-account": with_pod({"serviceAccountName": "backup-sa", "runAsUser": 1000}),
    "all-overrides": with_pod(
        {
            "resources": {"limits": {"cpu": 1, "memory": "1Gi"}},
            "nodeSelector": {"disk": "ssd"},
            "tolerations": [{"operator": "Exists"}],
            "affinity": {"nodeAffinity": {}},
            "imagePullSecrets": [{"name": "regcred"}],
            "priorityClassName": "low",
            "annotations": {"a": "b"},
            "labels": {"team": "x", "dbbackup.io/backup": "hijack"},
            "runAsUser": 1000,
            "runAsGroup": 0,
            "fsGroup": 2000,
        }
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_generated_pod_meets_the_restricted_profile(variant: str) -> None:
    job = build_job(VARIANTS[variant], SLOT)
    template = job["spec"]["template"]
    assert restricted_violations(template["spec"], template["metadata"].get("annotations")) == []
    container = template["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    scratch = next(v for v in template["spec"]["volumes"] if "emptyDir" in v)
    assert {"name": scratch["name"], "mountPath": c.SCRATCH_DIR} in container["volumeMounts"]


def test_service_account_token_only_with_a_service_account() -> None:
    plain = build_job(sample("postgres_daily_backup"), SLOT)["spec"]["template"]["spec"]
    assert plain["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in plain
    with_sa = build_job(VARIANTS["service-account"], SLOT)["spec"]["template"]["spec"]
    assert with_sa["automountServiceAccountToken"] is True
    assert with_sa["serviceAccountName"] == "backup-sa"


def test_pod_overrides_are_applied_and_cannot_replace_the_operator_labels() -> None:
    job = build_job(VARIANTS["all-overrides"], SLOT)
    template = job["spec"]["template"]
    pod = template["spec"]
    assert template["metadata"]["labels"]["dbbackup.io/backup"] == "postgres-daily-backup"
    assert template["metadata"]["labels"]["team"] == "x"
    assert template["metadata"]["annotations"] == {"a": "b"}
    assert pod["nodeSelector"] == {"disk": "ssd"}
    assert pod["tolerations"] == [{"operator": "Exists"}]
    assert pod["affinity"] == {"nodeAffinity": {}}
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["priorityClassName"] == "low"
    assert pod["securityContext"] | {} == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
        "runAsUser": 1000,
        "runAsGroup": 0,
        "fsGroup": 2000,
    }
    assert pod["containers"][0]["resources"] == {"limits": {"cpu": 1, "memory": "1Gi"}}


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_prevalidated_build_is_the_same_job(name: str) -> None:
    """The reconciler's path (``validated=True``, after its own validate) changes nothing."""
    backup = sample(name)
    assert build_job(backup, SLOT, validated=True) == build_job(backup, SLOT)
