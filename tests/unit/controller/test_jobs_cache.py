"""``cache_job``: what the operator's cache keeps of a Job (and what it must not lose)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from api.v1alpha1 import build_job
from controller.jobs import cache_job, is_controlled_by, job_outcome, scheduled_time
from manager.clock import FakeClock
from manager.informer import LAST_APPLIED_ANNOTATION, SharedInformer
from manager.scheme import JOBS

SLOT = datetime(2025, 3, 27, 1, 0, tzinfo=UTC)


def _backup() -> dict[str, Any]:
    return {
        "apiVersion": "dbbackup.io/v1alpha1",
        "kind": "DatabaseBackup",
        "metadata": {"name": "pg", "namespace": "default", "uid": "uid-1"},
        "spec": {
            "schedule": "0 1 * * *",
            "database": {"type": "postgresql", "host": "db", "name": "app",
                         "credentialsSecretRef": {"name": "pg"}},
            "image": "ghcr.io/example/postgres-backup:latest",
            "storage": {"s3": {"bucket": "backups", "credentialsSecretRef": {"name": "s3"}}},
        },
    }  # fmt: skip


def test_keeps_metadata_and_status_and_drops_the_spec() -> None:
    job = build_job(_backup(), SLOT)
    job["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    job["metadata"].setdefault("annotations", {})[LAST_APPLIED_ANNOTATION] = "{}"
    job["status"] = {"conditions": [{"type": "Complete", "status": "True"}],
                     "completionTime": "2025-03-27T01:05:00Z"}  # fmt: skip
    full = copy.deepcopy(job)

    slim = cache_job(job)

    assert "spec" not in slim
    assert "managedFields" not in slim["metadata"]
    assert LAST_APPLIED_ANNOTATION not in slim["metadata"].get("annotations", {})
    assert slim["status"] == full["status"]
    assert slim["metadata"]["ownerReferences"] == full["metadata"]["ownerReferences"]
    # Everything the reconciler reads from a cached Job answers as on the full object.
    assert job_outcome(slim) == job_outcome(full)
    assert scheduled_time(slim) == scheduled_time(full) == SLOT
    assert is_controlled_by(slim, "uid-1") and is_controlled_by(full, "uid-1")


def test_tolerates_a_job_without_spec() -> None:
    assert cache_job({"metadata": {"name": "x"}}) == {"metadata": {"name": "x"}}


def test_watched_jobs_share_their_strings_in_a_store_of_decoded_objects() -> None:
    """Two Jobs decoded separately, projected by ``cache_job``, keep one copy of each repeated
    key and short value in a store that holds decoded objects."""
    informer = SharedInformer(None, JOBS, clock=FakeClock(), transform=cache_job)  # type: ignore[arg-type]
    for name in ("a", "b"):
        job = build_job(_backup(), SLOT)
        job["metadata"]["name"] = name
        informer.apply("ADDED", json.loads(json.dumps(job)))
    first, second = informer.store.get("default/a"), informer.store.get("default/b")
    assert first is not None and second is not None
    assert "spec" not in first
    assert first["metadata"]["namespace"] is second["metadata"]["namespace"]
    owner_a, owner_b = (
        first["metadata"]["ownerReferences"][0],
        second["metadata"]["ownerReferences"][0],
    )
    assert owner_a["kind"] is owner_b["kind"]
    assert next(iter(owner_a)) is next(iter(owner_b))
