"""Which updates of a backup reach the reconciler: not those its own status writes cause."""

from __future__ import annotations

import copy
from typing import Any

from app.operator import SPEC_OR_METADATA


def _backup() -> dict[str, Any]:
    return {
        "apiVersion": "dbbackup.io/v1alpha1",
        "kind": "DatabaseBackup",
        "metadata": {
            "name": "db",
            "namespace": "default",
            "uid": "u-1",
            "generation": 1,
            "resourceVersion": "100",
            "labels": {"team": "a"},
        },
        "spec": {"schedule": "0 1 * * *"},
    }


def test_the_update_a_status_write_causes_is_dropped() -> None:
    old = _backup()
    new = copy.deepcopy(old)
    new["metadata"]["resourceVersion"] = "101"
    new["metadata"]["managedFields"] = [{"manager": "dbbackup-operator", "subresource": "status"}]
    new["status"] = {"phase": "Pending", "observedGeneration": 1}

    assert not SPEC_OR_METADATA.update(old, new)


def test_spec_label_annotation_and_deletion_changes_pass() -> None:
    old = _backup()
    spec = copy.deepcopy(old)
    spec["spec"]["suspend"] = True
    spec["metadata"]["generation"] = 2
    labels = copy.deepcopy(old)
    labels["metadata"]["labels"] = {"team": "b"}
    annotations = copy.deepcopy(old)
    annotations["metadata"]["annotations"] = {"note": "x"}
    # The API server bumps the generation when it sets deletionTimestamp.
    deleting = copy.deepcopy(old)
    deleting["metadata"]["deletionTimestamp"] = "2026-12-06T01:00:00Z"
    deleting["metadata"]["generation"] = 2

    for new in (spec, labels, annotations, deleting):
        assert SPEC_OR_METADATA.update(old, new)
    assert SPEC_OR_METADATA.create(old) and SPEC_OR_METADATA.delete(old)
