"""The floors' request lists: the Jobs the herd creates, the statuses a first install writes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from bench.emulator_host import backup_body
from bench.floor import install_status, job_requests, status_requests
from manager.informer import LAST_APPLIED_ANNOTATION
from tests.unit.controller.test_reconciler import World

STAMP = datetime(2025, 3, 28, 1, 0, tzinfo=UTC)


def listed(i: int) -> dict[str, Any]:
    """A backup as a list returns it: server fields, managedFields, the last-applied note."""
    obj = backup_body(i, "0 1 * * *")
    obj["metadata"].update(
        namespace="bench",
        uid=f"uid-{i}",
        resourceVersion=str(100 + i),
        generation=2,
        creationTimestamp="2025-03-27T00:00:00Z",
        managedFields=[{"manager": "kubectl", "operation": "Update"}],
    )
    return obj


def test_the_job_floor_posts_one_job_per_backup_named_for_the_slot() -> None:
    requests = job_requests([listed(0), listed(1)], STAMP)
    assert [(method, path) for method, path, _ in requests] == [
        ("POST", "/apis/batch/v1/namespaces/bench/jobs"),
        ("POST", "/apis/batch/v1/namespaces/bench/jobs"),
    ]
    names = [body["metadata"]["name"] for _, _, body in requests]
    assert names == ["db-000000-20250328010000", "db-000001-20250328010000"]
    assert all(body["kind"] == "Job" for _, _, body in requests)


def test_the_status_floor_puts_each_backups_status_with_its_resource_version() -> None:
    backups = [listed(0), listed(1)]
    requests = status_requests(backups, STAMP)
    base = "/apis/dbbackup.io/v1alpha1/namespaces/bench/databasebackups"
    assert [(method, path) for method, path, _ in requests] == [
        ("PUT", f"{base}/db-000000/status"),
        ("PUT", f"{base}/db-000001/status"),
    ]
    _, _, body = requests[1]
    assert body["metadata"]["resourceVersion"] == "101"  # a conditional write, as the operator's
    assert body["spec"] == backups[1]["spec"]


def test_the_status_floor_sends_what_the_operators_cache_keeps() -> None:
    backup = listed(0)
    before = copy.deepcopy(backup)
    (_, _, body), = status_requests([backup], STAMP)  # fmt: skip
    assert "managedFields" not in body["metadata"]
    assert LAST_APPLIED_ANNOTATION not in (body["metadata"].get("annotations") or {})
    assert backup == before  # the listed objects are left as they were


def test_each_round_changes_every_status() -> None:
    # An unchanged status PUT is not written to storage: a round must differ from the last.
    later = datetime(2025, 3, 29, 1, 0, tzinfo=UTC)
    assert install_status(2, STAMP) != install_status(2, later)


def test_the_status_is_shaped_as_the_reconcilers_first_install() -> None:
    world = World(defer_status=True)
    world.backup()
    world.reconcile()
    written = world.status()
    floor = install_status(1, STAMP)
    assert floor.keys() == written.keys()
    assert floor["conditions"][0].keys() == written["conditions"][0].keys()
    timed = ("conditions", "nextScheduledBackup")
    without_times = {k: v for k, v in written.items() if k not in timed}
    assert without_times == {k: floor[k] for k in without_times}
    assert [(c["type"], c["status"], c["reason"], c["message"]) for c in written["conditions"]] == [
        (c["type"], c["status"], c["reason"], c["message"]) for c in floor["conditions"]
    ]
