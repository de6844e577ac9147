"""Event handlers turn events into requests (controller-runtime ``enqueue*_test.go``)."""

from __future__ import annotations

from typing import Any

import pytest

from manager.handler import (
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    FilteredHandler,
    controller_owner_request,
    object_request,
)
from manager.predicate import GenerationChangedPredicate, new_predicate_funcs
from manager.reconcile import Request


class RecordingQueue:
    def __init__(self) -> None:
        self.added: list[Request] = []

    def add(self, item: Request) -> None:
        self.added.append(item)


def obj(name: str, namespace: str = "ns", **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, **meta}}


def owner_ref(
    name: str,
    kind: str = "DatabaseBackup",
    api_version: str = "dbbackup.io/v1alpha1",
    controller: bool | None = True,
) -> dict[str, Any]:
    ref: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "name": name, "uid": "u"}
    if controller is not None:
        ref["controller"] = controller
    return ref


def test_enqueue_request_for_object_on_every_event() -> None:
    q = RecordingQueue()
    h = EnqueueRequestForObject(q)
    h.on_add(obj("a"))
    h.on_update(obj("old"), obj("b", "other"))
    h.on_delete(obj("c", ""))
    h.on_add({"metadata": {}})  # no name: dropped
    assert q.added == [Request("ns", "a"), Request("other", "b"), Request("", "c")]


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        ([owner_ref("backup")], Request("ns", "backup")),
        # Only the controller reference counts.
        ([owner_ref("x", controller=False), owner_ref("backup")], Request("ns", "backup")),
        ([owner_ref("x", controller=None)], None),
        # Wrong kind or group of the controller owner: nothing.
        ([owner_ref("backup", kind="CronJob")], None),
        ([owner_ref("backup", api_version="other.io/v1")], None),
        # The first controller reference decides (GetControllerOf), even if another matches.
        ([owner_ref("a", kind="CronJob"), owner_ref("b")], None),
        ([], None),
    ],
)
def test_controller_owner_request(refs: list[dict[str, Any]], expected: Request | None) -> None:
    job = obj("job-1", ownerReferences=refs)
    assert controller_owner_request(job, "dbbackup.io", "DatabaseBackup") == expected


def test_owner_group_of_core_and_cluster_scoped_owners() -> None:
    pod = obj("p", ownerReferences=[owner_ref("n1", kind="Node", api_version="v1")])
    assert controller_owner_request(pod, "", "Node", namespaced=False) == Request("", "n1")
    assert controller_owner_request(pod, "core", "Node") is None


def test_enqueue_request_for_owner_events() -> None:
    q = RecordingQueue()
    h = EnqueueRequestForOwner(q, "batch", "CronJob")
    cron = [owner_ref("nightly", kind="CronJob", api_version="batch/v1")]
    other = [owner_ref("weekly", kind="CronJob", api_version="batch/v1")]
    h.on_add(obj("job", ownerReferences=cron))
    h.on_add(obj("orphan"))
    h.on_delete(obj("job", ownerReferences=cron))
    assert q.added == [Request("ns", "nightly"), Request("ns", "nightly")]
    q.added.clear()
    # Ownership moved: both owners are reconciled; the same owner only once.
    h.on_update(obj("job", ownerReferences=cron), obj("job", ownerReferences=other))
    assert q.added == [Request("ns", "nightly"), Request("ns", "weekly")]
    q.added.clear()
    h.on_update(obj("job", ownerReferences=cron), obj("job", ownerReferences=cron))
    assert q.added == [Request("ns", "nightly")]


def test_filtered_handler_applies_predicates() -> None:
    q = RecordingQueue()
    keep_named_a = new_predicate_funcs(lambda o: o["metadata"]["name"].startswith("a"))
    h = FilteredHandler(EnqueueRequestForObject(q), [keep_named_a, GenerationChangedPredicate()])
    h.on_add(obj("a1"))
    h.on_add(obj("b1"))
    h.on_update(obj("a2", generation=1), obj("a2", generation=1))  # status-only: dropped
    h.on_update(obj("a3", generation=1), obj("a3", generation=2))
    h.on_delete(obj("b2"))
    h.on_delete(obj("a4"))
    assert q.added == [Request("ns", "a1"), Request("ns", "a3"), Request("ns", "a4")]


def test_object_request_cluster_scoped() -> None:
    assert object_request({"metadata": {"name": "n"}}) == Request("", "n")
    assert object_request({}) is None
