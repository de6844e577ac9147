"""List and watch, as the API concepts page ("Efficient detection of changes", "Resource
versions", "Retrieving large results sets in chunks") defines them."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client import ApiException

from emulator.server import ApiServer
from tests.emulator.support import Dicts, job, lease, status_of

LEASES = ("coordination.k8s.io", "v1")


def _lease(objects: Dicts, name: str, ns: str = "default", **meta: Any) -> dict[str, Any]:
    created: dict[str, Any] = objects.create_namespaced_custom_object(
        *LEASES, ns, "leases", lease(name, ns, **meta)
    )
    return created


def _names(listing: dict[str, Any]) -> list[str]:
    return [i["metadata"]["name"] for i in listing["items"]]


def _watch(objects: Dicts, ns: str | None, **kw: Any) -> list[dict[str, Any]]:
    w = watch.Watch()
    if ns is None:
        stream = w.stream(objects.list_cluster_custom_object, *LEASES, "leases", **kw)
    else:
        stream = w.stream(objects.list_namespaced_custom_object, *LEASES, ns, "leases", **kw)
    return [dict(e) for e in stream]


def test_list_carries_the_collection_resource_version(objects: Dicts) -> None:
    """API concepts, "Resource versions": a list's metadata.resourceVersion is the version
    at which the list was served (a watch can start there)."""
    created = _lease(objects, "a")
    listing = objects.list_namespaced_custom_object(*LEASES, "default", "leases")
    assert int(listing["metadata"]["resourceVersion"]) >= int(
        created["metadata"]["resourceVersion"]
    )
    assert listing["kind"] == "LeaseList"


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=x", ["a"]),
        ("app==x", ["a"]),
        ("app!=x", ["b", "c"]),
        ("app in (x,y)", ["a", "b"]),
        ("app notin (x)", ["b", "c"]),
        ("app", ["a", "b"]),
        ("!app", ["c"]),
        ("app=x,tier=web", ["a"]),
    ],
)
def test_label_selectors(objects: Dicts, selector: str, expected: list[str]) -> None:
    """Labels and Selectors: equality- (=, ==, !=) and set-based (in, notin, exists,
    !exists) requirements, comma meaning AND."""
    _lease(objects, "a", labels={"app": "x", "tier": "web"})
    _lease(objects, "b", labels={"app": "y"})
    _lease(objects, "c")
    listing = objects.list_namespaced_custom_object(
        *LEASES, "default", "leases", label_selector=selector
    )
    assert _names(listing) == expected


def test_field_selectors(objects: Dicts, core: client.CoreV1Api) -> None:
    """Field selectors: metadata.name and metadata.namespace on every resource; an
    unsupported field is a 400."""
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="other")))
    _lease(objects, "a")
    _lease(objects, "b")
    _lease(objects, "a", ns="other")
    by_name = objects.list_cluster_custom_object(
        *LEASES, "leases", field_selector="metadata.name=a"
    )
    assert [i["metadata"]["namespace"] for i in by_name["items"]] == ["default", "other"]
    by_ns = objects.list_cluster_custom_object(
        *LEASES, "leases", field_selector="metadata.namespace!=default"
    )
    # A real cluster has leases of its own in kube-system (the API servers' identities).
    assert [
        i["metadata"]["name"] for i in by_ns["items"] if i["metadata"]["namespace"] == "other"
    ] == ["a"]
    assert all(i["metadata"]["namespace"] != "default" for i in by_ns["items"])
    with pytest.raises(ApiException) as err:
        objects.list_cluster_custom_object(*LEASES, "leases", field_selector="spec.x=1")
    assert err.value.status == 400


def test_limit_and_continue_page_a_consistent_snapshot(objects: Dicts) -> None:
    """API concepts, "Retrieving large results sets in chunks": pages via limit/continue
    are served from the snapshot of the first page, even if objects change meanwhile."""
    for n in range(5):
        _lease(objects, f"l{n}")
    first = objects.list_namespaced_custom_object(*LEASES, "default", "leases", limit=2)
    assert _names(first) == ["l0", "l1"]
    assert first["metadata"]["remainingItemCount"] == 3
    objects.delete_namespaced_custom_object(*LEASES, "default", "leases", "l3")
    _lease(objects, "l9")
    token = first["metadata"]["continue"]
    second = objects.list_namespaced_custom_object(
        *LEASES, "default", "leases", limit=2, _continue=token
    )
    third = objects.list_namespaced_custom_object(
        *LEASES, "default", "leases", limit=2, _continue=second["metadata"]["continue"]
    )
    assert _names(second) + _names(third) == ["l2", "l3", "l4"]
    assert "continue" not in third["metadata"]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_expired_continue_token_is_410() -> None:
    """API concepts, "Retrieving large results sets in chunks": a continue token whose
    version was compacted answers 410 Gone."""
    with (
        ApiServer(history_size=2) as server,
        client.ApiClient(server.client_configuration()) as api,
    ):
        objects = Dicts(client.CustomObjectsApi(api))
        for n in range(3):
            _lease(objects, f"l{n}")
        first = objects.list_namespaced_custom_object(*LEASES, "default", "leases", limit=1)
        for n in range(3):
            objects.patch_namespaced_custom_object(
                *LEASES, "default", "leases", f"l{n}", {"metadata": {"labels": {"n": "1"}}}
            )
        with pytest.raises(ApiException) as err:
            objects.list_namespaced_custom_object(
                *LEASES, "default", "leases", limit=1, _continue=first["metadata"]["continue"]
            )
        assert err.value.status == 410
        assert status_of(err.value)["reason"] == "Expired"


def test_exact_resource_version_list_shows_the_past(objects: Dicts) -> None:
    """API concepts, "Semantics for get and list": resourceVersionMatch=Exact returns data
    at exactly that version."""
    _lease(objects, "a")
    at = objects.list_namespaced_custom_object(*LEASES, "default", "leases")["metadata"][
        "resourceVersion"
    ]
    _lease(objects, "b")
    objects.delete_namespaced_custom_object(*LEASES, "default", "leases", "a")
    past = objects.list_namespaced_custom_object(
        *LEASES, "default", "leases", resource_version=at, resource_version_match="Exact"
    )
    assert _names(past) == ["a"]
    newer = objects.list_namespaced_custom_object(
        *LEASES, "default", "leases", resource_version=at, resource_version_match="NotOlderThan"
    )
    assert _names(newer) == ["b"]


def test_any_version_list_ignores_limit(objects: Dicts) -> None:
    """API concepts, "Semantics for get and list": resourceVersion="0" is "any" version, which
    the watch cache serves whole (kube-apiserver's ``computeListLimit`` ignores ``limit``): one
    page, no continue token. Informers' first lists rely on it (client-go's reflector)."""
    for n in range(3):
        _lease(objects, f"l{n}")
    listing = objects.list_namespaced_custom_object(
        *LEASES, "default", "leases", resource_version="0", limit=1
    )
    assert _names(listing) == ["l0", "l1", "l2"]
    assert "continue" not in listing["metadata"]
    assert int(listing["metadata"]["resourceVersion"]) > 0


def test_a_limited_list_at_a_version_is_an_exact_read(objects: Dicts) -> None:
    """API concepts, "Semantics for get and list": with ``limit`` set and resourceVersionMatch
    unset, a non-zero resourceVersion is "Exact" (the legacy rule); without ``limit`` it is
    "not older than"."""
    _lease(objects, "a")
    at = objects.list_namespaced_custom_object(*LEASES, "default", "leases")["metadata"][
        "resourceVersion"
    ]
    _lease(objects, "b")
    past = objects.list_namespaced_custom_object(
        *LEASES, "default", "leases", resource_version=at, limit=10
    )
    assert _names(past) == ["a"]
    assert past["metadata"]["resourceVersion"] == at
    newer = objects.list_namespaced_custom_object(*LEASES, "default", "leases", resource_version=at)
    assert _names(newer) == ["a", "b"]


def test_watch_without_version_starts_with_synthetic_added(
    objects: Dicts,
) -> None:
    """API concepts, "Semantics for watch": resourceVersion unset → "Get State and Start at
    Most Recent": synthetic ADDED events for the current objects first."""
    _lease(objects, "a")
    _lease(objects, "b")
    events = _watch(objects, "default", timeout_seconds=1)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
    ]


def test_watch_from_version_replays_later_events_in_order(objects: Dicts) -> None:
    """API concepts, "Efficient detection of changes": a watch from a resourceVersion
    delivers every change after it, in order."""
    start = _lease(objects, "a")["metadata"]["resourceVersion"]
    objects.patch_namespaced_custom_object(
        *LEASES, "default", "leases", "a", {"spec": {"holderIdentity": "b"}}
    )
    _lease(objects, "b")
    objects.delete_namespaced_custom_object(*LEASES, "default", "leases", "a")
    events = _watch(objects, "default", resource_version=start, timeout_seconds=1)
    seen = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert seen == [("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions)


def test_watch_all_namespaces_and_one_namespace(objects: Dicts, core: client.CoreV1Api) -> None:
    """API concepts, "Resource URIs": /<resource> watches all namespaces; the namespaced
    path only its own."""
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="other")))
    _lease(objects, "a")
    _lease(objects, "b", ns="other")
    everywhere = _watch(objects, None, timeout_seconds=1)
    only_other = _watch(objects, "other", timeout_seconds=1)
    # A real cluster has leases of its own (kube-system's API server identities, ...).
    ours = [e for e in everywhere if e["object"]["metadata"]["namespace"] in ("default", "other")]
    assert sorted(e["object"]["metadata"]["name"] for e in ours) == ["a", "b"]
    assert [e["object"]["metadata"]["name"] for e in only_other] == ["b"]


def test_watch_older_than_history_is_410_error_event() -> None:
    """API concepts, "Efficient detection of changes": a watch from a version no longer in
    history gets an ERROR event with a 410 Gone (Expired) Status."""
    with (
        ApiServer(history_size=2) as server,
        client.ApiClient(server.client_configuration()) as api,
    ):
        objects = Dicts(client.CustomObjectsApi(api))
        start = _lease(objects, "a")["metadata"]["resourceVersion"]
        for n in range(3):
            _lease(objects, f"b{n}")
        w = watch.Watch()
        stream = w.stream(
            objects.list_namespaced_custom_object,
            *LEASES,
            "default",
            "leases",
            resource_version=start,
            timeout_seconds=2,
        )
        with pytest.raises(ApiException) as err:
            list(stream)
        assert err.value.status == 410


def test_bookmarks_carry_the_current_resource_version() -> None:
    """API concepts, "Watch bookmarks": with allowWatchBookmarks the server sends BOOKMARK
    events whose object only carries the current resourceVersion."""
    with ApiServer(bookmark_interval=0.1) as server:
        server.create_object(lease("a"))
        rv = server.get_object("coordination.k8s.io/v1", "Lease", "a", "default")
        assert rv is not None
        with client.ApiClient(server.client_configuration()) as api:
            resp = Dicts(client.CustomObjectsApi(api)).list_namespaced_custom_object(
                *LEASES,
                "default",
                "leases",
                watch=True,
                allow_watch_bookmarks=True,
                resource_version=rv["metadata"]["resourceVersion"],
                timeout_seconds=1,
                _preload_content=False,
            )
            import json

            lines = [json.loads(line) for line in resp.read().splitlines() if line]
    bookmarks = [e for e in lines if e["type"] == "BOOKMARK"]
    assert bookmarks
    assert bookmarks[0]["object"]["metadata"] == {
        "resourceVersion": rv["metadata"]["resourceVersion"]
    }


def test_watch_selector_transitions(objects: Dicts, api_server: ApiServer) -> None:
    """API concepts, "Efficient detection of changes" with a label selector: an object that
    stops matching is reported DELETED, one that starts matching ADDED."""
    start = _lease(objects, "a", labels={"app": "x"})["metadata"]["resourceVersion"]
    objects.patch_namespaced_custom_object(
        *LEASES, "default", "leases", "a", {"metadata": {"labels": {"app": "y"}}}
    )
    objects.patch_namespaced_custom_object(
        *LEASES, "default", "leases", "a", {"metadata": {"labels": {"app": "x"}}}
    )
    events = _watch(
        objects, "default", resource_version=start, label_selector="app=x", timeout_seconds=1
    )
    assert [e["type"] for e in events] == ["DELETED", "ADDED"]


def test_timeout_seconds_ends_the_stream(api_server: ApiServer, objects: Dicts) -> None:
    """API concepts, "Efficient detection of changes": timeoutSeconds bounds a watch."""
    import time

    started = time.monotonic()
    assert _watch(objects, "default", timeout_seconds=1) == []
    assert time.monotonic() - started < 5


def test_jobs_watch_via_typed_client(k8s: client.ApiClient, api_server: ApiServer) -> None:
    """The official client's typed watch decodes our events into models."""
    api_server.create_object(job("a"))
    events = list(
        watch.Watch().stream(
            client.BatchV1Api(k8s).list_namespaced_job, "default", timeout_seconds=1
        )
    )
    assert [e["object"].metadata.name for e in events] == ["a"]
