"""Scenario 7, namespace confinement: a backup in namespace A never touches namespace B.

``team-a`` holds a backup that runs every minute (history limit 1, so it prunes) plus a
foreign Job squatting on one of its slot names. ``team-b`` holds bait: a Job with the same
name as one of ``team-a``'s and a forged controller reference to the ``team-a`` backup (its
name and uid), a Secret, and an Event. After several slots:

* the audit log shows no operator request naming ``team-b`` and none naming any namespace
  but ``team-a``. Requests without a namespace are judged by verb: only ``list`` and
  ``watch`` (the informers' cluster-wide caches) are allowed there — a cluster-scope read of
  everything is how every controller sees its objects, and it writes nothing;
* every ``team-b`` object keeps its resourceVersion (nothing wrote it) and still exists;
* ``team-a`` got its Jobs, and the squatter was reported, not adopted or deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emulator.jobrunner import mark_job_succeeded
from tests.reliability.world import World
from tests.support.operator import OPERATOR_USER, wait_for

SPEED = 60.0
START = datetime(2025, 3, 27, 0, 59, 30, tzinfo=UTC)
A, B = "team-a", "team-b"
SQUAT = "nightly-20250327010200"
FORGED = "nightly-20250327005500"  # team-a's 01:02 slot, taken by a Job it does not own


def bait_job(name: str, namespace: str, owner: dict[str, object] | None) -> dict[str, object]:
    meta: dict[str, object] = {"name": name, "namespace": namespace}
    if owner:
        meta["ownerReferences"] = [
            {
                "apiVersion": "dbbackup.io/v1alpha1",
                "kind": "DatabaseBackup",
                "name": owner["name"],
                "uid": owner["uid"],
                "controller": True,
            }
        ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "busybox"}],
                }
            }
        },
    }


@pytest.mark.timeout(60)
def test_a_backup_in_one_namespace_never_touches_another() -> None:
    world = World(speed=SPEED, start=START, lead=1.0)
    try:
        world.namespace(A)
        world.namespace(B)
        backup = world.add_backup("nightly", A, schedule="* * * * *", successfulJobsHistoryLimit=1)
        owner = {"name": "nightly", "uid": backup["metadata"]["uid"]}
        # A finished Job in team-b claiming (name and uid) to be team-a's: to be ignored.
        bait = world.server.create_object(bait_job(FORGED, B, owner))
        world.server.update_object(
            mark_job_succeeded(bait, datetime(2025, 3, 27, 0, 30, tzinfo=UTC)), subresource="status"
        )
        world.server.create_object(bait_job("nightly-20250327010100", B, None))
        world.server.create_object(bait_job(SQUAT, A, None))
        world.server.create_object(
            {"apiVersion": "v1", "kind": "Secret",
             "metadata": {"name": "postgres-credentials", "namespace": B},
             "stringData": {"password": "b"}}
        )  # fmt: skip
        before = {
            (kind, o["metadata"]["name"]): o["metadata"]["resourceVersion"]
            for kind, api in (("Job", "batch/v1"), ("Secret", "v1"))
            for o in world.server.list_objects(api, kind, B)
        }
        world.start_completer(10, lambda _job: False)
        operator = world.operator()
        operator.wait_ready(30)
        wait_for(
            lambda: (
                (world.status("nightly", A).get("lastScheduleTime") or "") >= "2025-03-27T01:04:00Z"
                and world.status("nightly", A).get("phase") == "Succeeded"
            ),
            30,
            "four slots in team-a",
        )
        assert operator.stop() == 0

        records = world.records(OPERATOR_USER)
        elsewhere = sorted(
            {
                (r.verb, r.resource, r.namespace, r.name)
                for r in records
                if r.namespace not in ("", A)
            }
        )
        assert elsewhere == []
        cluster_scope = sorted(
            {(r.verb, r.resource) for r in records if r.resource and not r.namespace}
        )
        assert {verb for verb, _ in cluster_scope} <= {"list", "watch"}, cluster_scope
        after = {
            (kind, o["metadata"]["name"]): o["metadata"]["resourceVersion"]
            for kind, api in (("Job", "batch/v1"), ("Secret", "v1"))
            for o in world.server.list_objects(api, kind, B)
        }
        assert after == before
        assert world.events(B) == []
        reasons = {e.get("reason") for e in world.events(A)}
        assert {"SuccessfulCreate", "UnexpectedJob"} <= reasons, reasons
        assert SQUAT in world.job_names(A)  # reported, neither adopted nor pruned
        history = [e["job"] for e in world.status("nightly", A)["history"]]
        assert SQUAT not in history and "nightly-20250327010300" in history
        assert world.completer is not None
        ran_in_a = {k.split("/", 1)[1] for k in world.completer.finished if k.startswith(f"{A}/")}
        assert set(history) <= ran_in_a, set(history) - ran_in_a  # no foreign run adopted
    finally:
        world.close()
