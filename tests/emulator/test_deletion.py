"""Deletion: finalizers, propagation policies, owner-reference garbage collection,
preconditions ("Finalizers", "Garbage Collection", "Owners and Dependents" concept pages)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiException

from emulator.server import ApiServer
from tests.emulator.support import Dicts, job, lease, wait_for

LEASE = ("coordination.k8s.io/v1", "Lease")


def _owner_ref(owner: dict[str, Any], block: bool = False) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": block,
    }


def _exists(server: ApiServer, name: str) -> bool:
    return server.get_object(*LEASE, name, "default") is not None


def _delete(objects: Dicts, name: str, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = objects.delete_namespaced_custom_object(
        "coordination.k8s.io", "v1", "default", "leases", name, **kw
    )
    return out


def test_finalizers_hold_the_object_until_removed(api_server: ApiServer, objects: Dicts) -> None:
    """Finalizers: deleting an object with finalizers sets deletionTimestamp and keeps it;
    removing the last finalizer by an update deletes it."""
    api_server.create_object(lease("a", finalizers=["example.com/hold"]))
    _delete(objects, "a")
    held = api_server.get_object(*LEASE, "a", "default")
    assert held is not None and held["metadata"]["deletionTimestamp"]
    objects.patch_namespaced_custom_object(
        "coordination.k8s.io", "v1", "default", "leases", "a", {"metadata": {"finalizers": None}}
    )
    assert not _exists(api_server, "a")


def test_background_deletion_collects_dependents(api_server: ApiServer, objects: Dicts) -> None:
    """Garbage collection, "Background cascading deletion": the owner goes at once, the
    garbage collector deletes dependents whose owners are all gone."""
    owner = api_server.create_object(lease("owner"))
    api_server.create_object(lease("dep", ownerReferences=[_owner_ref(owner)]))
    other = api_server.create_object(lease("other"))
    api_server.create_object(
        lease("shared", ownerReferences=[_owner_ref(owner), _owner_ref(other)])
    )
    _delete(objects, "owner", propagation_policy="Background")
    assert not _exists(api_server, "owner")
    assert wait_for(lambda: not _exists(api_server, "dep"))
    assert _exists(api_server, "shared")  # still has a live owner


def test_foreground_deletion_waits_for_blocking_dependents(
    api_server: ApiServer, objects: Dicts
) -> None:
    """Garbage collection, "Foreground cascading deletion": the owner gets a
    deletionTimestamp and the foregroundDeletion finalizer, and is deleted once its
    blocking dependents are gone."""
    owner = api_server.create_object(lease("owner"))
    api_server.create_object(
        lease(
            "dep", ownerReferences=[_owner_ref(owner, block=True)], finalizers=["example.com/hold"]
        )
    )
    _delete(objects, "owner", propagation_policy="Foreground")
    held = api_server.get_object(*LEASE, "owner", "default")
    assert held is not None and "foregroundDeletion" in held["metadata"]["finalizers"]
    assert wait_for(
        lambda: bool(
            (api_server.get_object(*LEASE, "dep", "default") or {})
            .get("metadata", {})
            .get("deletionTimestamp")
        )
    )
    assert _exists(api_server, "owner")
    objects.patch_namespaced_custom_object(
        "coordination.k8s.io", "v1", "default", "leases", "dep", {"metadata": {"finalizers": None}}
    )
    assert wait_for(lambda: not _exists(api_server, "owner"))


def test_orphan_deletion_strips_owner_references(api_server: ApiServer, objects: Dicts) -> None:
    """Garbage collection, "Orphaned dependents": with propagationPolicy Orphan the
    dependents stay and lose their reference to the owner."""
    owner = api_server.create_object(lease("owner"))
    api_server.create_object(lease("dep", ownerReferences=[_owner_ref(owner)]))
    _delete(objects, "owner", propagation_policy="Orphan")
    dep = api_server.get_object(*LEASE, "dep", "default")
    assert dep is not None and "ownerReferences" not in dep["metadata"]


def test_jobs_orphan_by_default(api_server: ApiServer) -> None:
    """Jobs, "Job termination and cleanup": batch/v1 Jobs orphan dependents when the client
    names no policy (kubectl asks for Background explicitly)."""
    owner = api_server.create_object(job("j"))
    api_server.create_object(lease("dep", ownerReferences=[_owner_ref(owner)]))
    assert api_server.delete_object("batch/v1", "Job", "j", "default")
    dep = api_server.get_object(*LEASE, "dep", "default")
    assert dep is not None and "ownerReferences" not in dep["metadata"]


def test_delete_preconditions(api_server: ApiServer, objects: Dicts) -> None:
    """API concepts / DeleteOptions: preconditions on uid and resourceVersion; a mismatch
    is 409 Conflict."""
    created = api_server.create_object(lease("a"))
    with pytest.raises(ApiException) as err:
        _delete(objects, "a", body={"preconditions": {"uid": "not-it"}})
    assert err.value.status == 409
    with pytest.raises(ApiException) as err:
        _delete(objects, "a", body={"preconditions": {"resourceVersion": "1"}})
    assert err.value.status == 409
    _delete(objects, "a", body={"preconditions": {"uid": created["metadata"]["uid"]}})
    assert not _exists(api_server, "a")


def test_namespace_deletion_removes_its_contents(
    api_server: ApiServer, core: client.CoreV1Api, objects: Dicts
) -> None:
    """Namespaces: deleting a namespace deletes everything in it; it is Terminating
    meanwhile and refuses new content (403); it goes once its contents are gone."""
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="doomed")))
    api_server.create_object(lease("a", "doomed", finalizers=["example.com/hold"]))
    core.delete_namespace("doomed")
    status = core.read_namespace("doomed").status
    assert status is not None and status.phase == "Terminating"
    with pytest.raises(ApiException) as err:
        objects.create_namespaced_custom_object(
            "coordination.k8s.io", "v1", "doomed", "leases", lease("b", "doomed")
        )
    assert err.value.status == 403
    objects.patch_namespaced_custom_object(
        "coordination.k8s.io", "v1", "doomed", "leases", "a", {"metadata": {"finalizers": None}}
    )
    assert wait_for(lambda: "doomed" not in api_server.namespaces())


def test_delete_missing_is_404(objects: Dicts) -> None:
    """API conventions, "HTTP Status codes": deleting a missing object is 404 NotFound."""
    with pytest.raises(ApiException) as err:
        _delete(objects, "missing")
    assert err.value.status == 404
