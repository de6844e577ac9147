"""The compact store: objects kept encoded, every read a fresh, equal copy, a fraction of the
memory (what lets the informer cache hold tens of thousands of backups and Jobs)."""

from __future__ import annotations

import tracemalloc
from typing import Any

from manager.store import INDEX_CONTROLLER_OWNER, INDEX_NAMESPACE, Store, owner_key
from tests.unit.manager.test_store import obj


def backup(i: int) -> dict[str, Any]:
    """A cached DatabaseBackup as the informer keeps it (bulky fields already dropped)."""
    return {
        "apiVersion": "dbbackup.io/v1alpha1", "kind": "DatabaseBackup",
        "metadata": {"name": f"db-{i:06d}", "namespace": "bench", "uid": f"{i:08d}-uid",
                     "resourceVersion": str(1000 + i), "generation": 1,
                     "creationTimestamp": "2026-12-06T07:16:35Z", "labels": {"team": "a"}},
        "spec": {"schedule": "0 1 * * *", "timeZone": "UTC", "concurrencyPolicy": "Forbid",
                 "database": {"type": "postgresql", "host": f"pg-{i}.db.svc", "port": 5432,
                              "name": "app", "credentialsSecretRef": {"name": "pg"}},
                 "storage": {"s3": {"bucket": "backups", "prefix": f"pg/{i}"}},
                 "image": "ghcr.io/example/postgres-backup:latest", "retention": "336h"},
        "status": {"phase": "Pending", "observedGeneration": 1, "history": [],
                   "conditions": [{"type": "Ready", "status": "True", "reason": "Scheduled",
                                   "lastTransitionTime": "2026-12-06T07:17:33Z"}]},
    }  # fmt: skip


def test_reads_are_equal_fresh_copies_that_callers_may_edit() -> None:
    store = Store(compact=True)
    original = backup(1)
    assert store.add(original) is None
    first, second = store.get("bench/db-000001"), store.get("bench/db-000001")
    assert first == second == original
    assert first is not second and first is not original
    assert first is not None
    first["status"]["phase"] = "edited"  # a caller's edit stays the caller's
    assert store.get("bench/db-000001") == original
    assert store.list() == [original]


def test_indexes_updates_and_replace_work_as_in_a_plain_store() -> None:
    store = Store(compact=True)
    store.add(obj("ns", "a", owner="daily"))
    store.add(obj("ns", "b", owner="daily"))
    key = owner_key("dbbackup.io", "DatabaseBackup", "ns", "daily")
    assert [o["metadata"]["name"] for o in store.by_index(INDEX_CONTROLLER_OWNER, key)] == [
        "a", "b"]  # fmt: skip
    old = store.update(obj("ns", "a", rv="2", owner="weekly"))
    assert old == obj("ns", "a", owner="daily")  # the previous state, decoded
    assert len(store.by_index(INDEX_CONTROLLER_OWNER, key)) == 1
    assert store.delete(obj("ns", "b")) == obj("ns", "b", owner="daily")
    changes = store.replace([obj("ns", "a", rv="2", owner="weekly"), obj("ns", "c")], "9")
    assert [(c.kind, c.new) for c in changes] == [("add", obj("ns", "c"))]
    changes = store.replace([obj("ns", "c", rv="3")], "10")
    assert sorted(c.kind for c in changes) == ["delete", "update"]
    deleted = next(c for c in changes if c.kind == "delete")
    assert deleted.old == obj("ns", "a", rv="2", owner="weekly")
    assert store.by_index(INDEX_NAMESPACE, "ns") == [obj("ns", "c", rv="3")]


def _held(compact: bool, n: int) -> int:
    """Bytes a store holds for ``n`` backups, decoded as the informer hands them over."""
    tracemalloc.start()
    try:
        store = Store(compact=compact)
        before = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            store.add(backup(i))
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_a_compact_store_holds_a_fraction_of_the_memory() -> None:
    n = 500
    plain, compact = _held(False, n), _held(True, n)
    assert compact < plain / 2
    assert compact / n < 2048  # the issue's bound per cached object, indexes included
