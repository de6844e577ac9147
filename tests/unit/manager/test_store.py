"""Store and index behaviour (client-go thread_safe_store/index semantics)."""

from __future__ import annotations

import threading
from typing import Any

from manager.store import (
    INDEX_CONTROLLER_OWNER,
    INDEX_NAMESPACE,
    Store,
    controller_owner_index,
    key_of,
    owner_key,
)


def obj(ns: str, name: str, rv: str = "1", owner: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": ns, "name": name, "resourceVersion": rv}
    if owner is not None:
        meta["ownerReferences"] = [
            {"apiVersion": "dbbackup.io/v1alpha1", "kind": "DatabaseBackup", "name": owner,
             "uid": "u", "controller": True},
        ]  # fmt: skip
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta}


def test_key_of_namespaced_and_cluster_scoped() -> None:
    assert key_of(obj("ns", "a")) == "ns/a"
    assert key_of({"metadata": {"name": "node-1"}}) == "node-1"


def test_add_get_update_delete() -> None:
    store = Store()
    assert store.add(obj("ns", "a")) is None
    first = store.get("ns/a")
    assert first is not None
    newer = obj("ns", "a", rv="2")
    assert store.update(newer) is first
    assert store.get("ns/a") is newer
    assert first["metadata"]["resourceVersion"] == "1"  # replaced whole, never mutated
    assert store.delete({"metadata": {"namespace": "ns", "name": "a"}}) is newer
    assert store.get("ns/a") is None
    assert store.delete(obj("ns", "a")) is None
    assert len(store) == 0


def test_namespace_index_follows_updates_and_deletes() -> None:
    store = Store()
    store.add(obj("ns1", "a"))
    store.add(obj("ns1", "b"))
    store.add(obj("ns2", "c"))
    assert [key_of(o) for o in store.by_index(INDEX_NAMESPACE, "ns1")] == ["ns1/a", "ns1/b"]
    store.delete(obj("ns1", "a"))
    assert [key_of(o) for o in store.by_index(INDEX_NAMESPACE, "ns1")] == ["ns1/b"]
    store.delete(obj("ns1", "b"))
    assert store.by_index(INDEX_NAMESPACE, "ns1") == []
    assert store.index_values(INDEX_NAMESPACE) == ["ns2"]  # no empty buckets left behind


def test_controller_owner_index() -> None:
    store = Store()
    store.add(obj("ns", "job-1", owner="daily"))
    store.add(obj("ns", "job-2", owner="daily"))
    store.add(obj("ns", "job-3", owner="weekly"))
    store.add(obj("ns", "job-4"))
    key = owner_key("dbbackup.io", "DatabaseBackup", "ns", "daily")
    assert key == "dbbackup.io/DatabaseBackup/ns/daily"
    assert [key_of(o) for o in store.by_index(INDEX_CONTROLLER_OWNER, key)] == [
        "ns/job-1",
        "ns/job-2",
    ]
    # The owner changes on update: the object moves between index values.
    store.update(obj("ns", "job-2", rv="2", owner="weekly"))
    weekly = owner_key("dbbackup.io", "DatabaseBackup", "ns", "weekly")
    assert [key_of(o) for o in store.by_index(INDEX_CONTROLLER_OWNER, weekly)] == [
        "ns/job-2",
        "ns/job-3",
    ]
    assert [key_of(o) for o in store.by_index(INDEX_CONTROLLER_OWNER, key)] == ["ns/job-1"]


def test_controller_owner_ignores_non_controller_refs_and_reads_core_group() -> None:
    o = obj("ns", "a")
    o["metadata"]["ownerReferences"] = [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "1"},
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "2", "controller": True},
    ]
    assert controller_owner_index(o) == ["/ConfigMap/ns/cm"]
    o["metadata"]["ownerReferences"][1]["controller"] = False
    assert controller_owner_index(o) == []


def test_unknown_index_is_a_key_error() -> None:
    store = Store()
    try:
        store.by_index("nope", "x")
    except KeyError as err:
        assert "nope" in str(err)
    else:
        raise AssertionError("expected KeyError")


def test_replace_returns_the_difference() -> None:
    store = Store()
    store.replace([obj("ns", "a"), obj("ns", "b"), obj("ns", "c")], "10")
    b_old = store.get("ns/b")
    changes = store.replace([obj("ns", "a"), obj("ns", "c", rv="5"), obj("ns", "d")], "20")
    summary = sorted((c.kind, key_of(c.new or c.old or {})) for c in changes)
    assert summary == [("add", "ns/d"), ("delete", "ns/b"), ("update", "ns/c")]
    deleted = next(c for c in changes if c.kind == "delete")
    assert deleted.old is b_old  # the last known state
    assert store.resource_version == "20"
    assert sorted(store.keys()) == ["ns/a", "ns/c", "ns/d"]
    assert store.by_index(INDEX_NAMESPACE, "ns") == [store.get(k) for k in ("ns/a", "ns/c", "ns/d")]


def test_concurrent_writers_keep_indexes_consistent() -> None:
    store = Store()

    def writer(ns: str) -> None:
        for i in range(300):
            store.add(obj(ns, f"o{i % 20}", rv=str(i)))
            if i % 3 == 0:
                store.delete(obj(ns, f"o{(i + 7) % 20}"))

    threads = [threading.Thread(target=writer, args=(f"ns{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for n in range(4):
        indexed = {key_of(o) for o in store.by_index(INDEX_NAMESPACE, f"ns{n}")}
        assert indexed == {k for k in store.keys() if k.startswith(f"ns{n}/")}  # noqa: SIM118


def test_an_index_value_goes_from_one_key_to_several_and_back_to_none() -> None:
    """One Job per backup is the common case (kept without a set): every step between one
    key and several must answer as a set would."""
    store = Store()
    daily = owner_key("dbbackup.io", "DatabaseBackup", "ns", "daily")

    def owned() -> list[str]:
        return [key_of(o) for o in store.by_index(INDEX_CONTROLLER_OWNER, daily)]

    store.add(obj("ns", "job-1", owner="daily"))
    store.update(obj("ns", "job-1", rv="2", owner="daily"))  # re-filed under the same value
    assert owned() == ["ns/job-1"]
    store.add(obj("ns", "job-2", owner="daily"))
    store.add(obj("ns", "job-3", owner="daily"))
    assert owned() == ["ns/job-1", "ns/job-2", "ns/job-3"]
    store.delete(obj("ns", "job-1"))
    store.delete(obj("ns", "job-3"))
    assert owned() == ["ns/job-2"]
    store.add(obj("ns", "job-4", owner="daily"))
    assert owned() == ["ns/job-2", "ns/job-4"]
    store.delete(obj("ns", "job-2"))
    store.delete(obj("ns", "job-4"))
    assert owned() == []
    assert daily not in store.index_values(INDEX_CONTROLLER_OWNER)
    assert store.index_values(INDEX_NAMESPACE) == []
