"""DatabaseBackup.from_dict: defaults, input untouched, unknown fields ignored, type errors
with their field path; and the public surface of api.v1alpha1."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import api.v1alpha1 as v1
from api.v1alpha1 import DatabaseBackup, DecodeError
from api.v1alpha1.markers import encode


def minimal() -> dict[str, Any]:
    return {
        "metadata": {"name": "db", "namespace": "ns"},
        "spec": {
            "schedule": "0 1 * * *",
            "database": {"type": "postgresql", "host": "pg", "credentialsSecretRef": {"name": "c"}},
            "image": "img",
            "storage": {"s3": {"bucket": "bkt", "credentialsSecretRef": {"name": "s3"}}},
        },
    }


def test_defaults() -> None:
    b = DatabaseBackup.from_dict(minimal())
    s = b.spec
    assert (s.time_zone, s.suspend, s.concurrency_policy) == ("UTC", False, "Forbid")
    assert (s.successful_jobs_history_limit, s.failed_jobs_history_limit) == (3, 1)
    assert s.backoff_limit == 2
    assert s.starting_deadline_seconds is None and s.active_deadline_seconds is None
    assert s.retention is None and s.pod is None and s.image_pull_policy is None
    assert s.database.port is None
    ref = s.database.credentials_secret_ref
    assert ref is not None and (ref.username_key, ref.password_key) == ("username", "password")
    assert s.storage.s3 is not None and s.storage.s3.credentials_secret_ref is not None
    assert s.storage.s3.credentials_secret_ref.access_key_id_key == "AWS_ACCESS_KEY_ID"
    assert (b.name, b.namespace) == ("db", "ns")
    assert b.status is None


def test_explicit_values_win_over_defaults() -> None:
    obj = minimal()
    obj["spec"] |= {"timeZone": "Europe/Berlin", "suspend": True, "backoffLimit": 0}
    s = DatabaseBackup.from_dict(obj).spec
    assert (s.time_zone, s.suspend, s.backoff_limit) == ("Europe/Berlin", True, 0)


def test_from_dict_does_not_mutate_and_ignores_unknown_fields() -> None:
    obj = minimal()
    obj["spec"]["somethingNew"] = 1
    before = copy.deepcopy(obj)
    DatabaseBackup.from_dict(obj)
    assert obj == before


def test_status_and_pod_decode() -> None:
    obj = minimal()
    obj["spec"]["pod"] = {"tolerations": [{"key": "k", "operator": "Exists"}], "labels": {"a": "b"}}
    obj["status"] = {
        "phase": "Running",
        "history": [{"job": "db-1", "result": "Running"}],
        "conditions": [],
    }
    b = DatabaseBackup.from_dict(obj)
    assert b.spec.pod is not None and b.spec.pod.tolerations[0].operator == "Exists"
    assert b.spec.pod.labels == {"a": "b"}
    assert b.status is not None and b.status.history[0].job == "db-1"
    assert encode(b.spec.pod) == obj["spec"]["pod"]


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("spec", "suspend"), "yes", "spec.suspend"),
        (("spec", "backoffLimit"), True, "spec.backoffLimit"),
        (("spec", "database"), "pg", "spec.database"),
        (("spec", "image"), 1, "spec.image"),
    ],
)
def test_wrong_json_type_names_the_field(path: tuple[str, str], value: Any, where: str) -> None:
    obj = minimal()
    obj[path[0]][path[1]] = value
    with pytest.raises(DecodeError) as err:
        DatabaseBackup.from_dict(obj)
    assert err.value.path == where


def test_missing_required_field_names_the_field() -> None:
    obj = minimal()
    del obj["spec"]["storage"]["s3"]["bucket"]
    with pytest.raises(DecodeError) as err:
        DatabaseBackup.from_dict(obj)
    assert err.value.path == "spec.storage.s3.bucket"


def test_public_surface() -> None:
    assert sorted(v1.__all__) == sorted(set(v1.__all__))
    for name in v1.__all__:
        assert hasattr(v1, name), name
    assert (v1.GROUP, v1.VERSION, v1.KIND, v1.PLURAL) == (
        "dbbackup.io",
        "v1alpha1",
        "DatabaseBackup",
        "databasebackups",
    )
    assert v1.MAX_NAME_LENGTH == 48
