"""Watches that stream Tables (``kubectl get -w``), as kube-apiserver's watch encoder does.

Every event's object is a one-row ``Table``; the first event of a stream carries the column
definitions and the later ones ``columnDefinitions: null``. Each test makes its changes first
and then watches from the resourceVersion before them, so the stream replays exactly those
events, on the emulator and on a real server alike.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from emulator.server import ApiServer
from tests.emulator.support import raw
from tests.emulator.table_support import table_get, table_watch
from tests.emulator.test_crd_serving import GROUP, PLURAL, VERSION, crd, widget

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
WIDGETS = f"/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}"
MERGE = "application/merge-patch+json"


def _rv(k8s: client.ApiClient, path: str) -> str:
    code, body = raw(k8s, "GET", path)
    assert code == 200 and isinstance(body, dict), body
    rv: str = body["metadata"]["resourceVersion"]
    return rv


def _summary(events: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """(type, cells without the age) per event."""
    return [(e["type"], e["object"]["rows"][0]["cells"][:-1]) for e in events]


def test_a_watch_streams_one_row_tables_with_headers_first(k8s: client.ApiClient) -> None:
    since = _rv(k8s, CONFIGMAPS)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "watched"},
          "data": {"a": "1"}}  # fmt: skip
    assert raw(k8s, "POST", CONFIGMAPS, cm)[0] == 201
    patch = {"data": {"b": "2"}, "binaryData": {"c": "AAE="}}
    assert raw(k8s, "PATCH", f"{CONFIGMAPS}/watched", patch, MERGE)[0] == 200
    assert raw(k8s, "DELETE", f"{CONFIGMAPS}/watched")[0] == 200

    events = table_watch(
        k8s, f"{CONFIGMAPS}?watch=1&resourceVersion={since}&timeoutSeconds=2"
        "&fieldSelector=metadata.name%3Dwatched"
    )  # fmt: skip

    assert _summary(events) == [
        ("ADDED", ["watched", 1]),
        ("MODIFIED", ["watched", 3]),
        ("DELETED", ["watched", 3]),
    ]
    tables = [e["object"] for e in events]
    assert {(t["kind"], t["apiVersion"]) for t in tables} == {("Table", "meta.k8s.io/v1")}
    assert [c["name"] for c in tables[0]["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert [t["columnDefinitions"] for t in tables[1:]] == [None, None]
    rows = [t["rows"][0] for t in tables]
    assert [r["object"]["kind"] for r in rows] == ["PartialObjectMetadata"] * 3
    # Each Table's resourceVersion is its object's.
    assert [t["metadata"]["resourceVersion"] for t in tables] == [
        r["object"]["metadata"]["resourceVersion"] for r in rows
    ]


def test_a_custom_resource_watch_streams_its_printer_columns(k8s: client.ApiClient) -> None:
    definition = crd()
    definition["spec"]["versions"][0]["additionalPrinterColumns"] = [
        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
        {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1},
    ]
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    assert raw(k8s, "POST", crds, definition)[0] == 201
    assert raw(k8s, "POST", WIDGETS, widget("first", size=1))[0] == 201
    since = _rv(k8s, WIDGETS)
    assert raw(k8s, "PATCH", f"{WIDGETS}/first", {"spec": {"color": "red"}}, MERGE)[0] == 200
    assert raw(k8s, "POST", WIDGETS, widget("second", size=2))[0] == 201

    events = table_watch(
        k8s, f"{WIDGETS}?watch=1&resourceVersion={since}&timeoutSeconds=2&includeObject=Object"
    )

    assert [(e["type"], e["object"]["rows"][0]["cells"]) for e in events] == [
        ("MODIFIED", ["first", 1, "red"]),
        ("ADDED", ["second", 2, None]),
    ]
    definitions = events[0]["object"]["columnDefinitions"]
    assert [(c["name"], c["priority"]) for c in definitions] == [
        ("Name", 0), ("Size", 0), ("Color", 1)
    ]  # fmt: skip
    assert events[1]["object"]["columnDefinitions"] is None
    whole = events[1]["object"]["rows"][0]["object"]
    assert (whole["kind"], whole["spec"]) == ("Widget", {"size": 2})


def test_a_watch_list_cannot_stream_tables(k8s: client.ApiClient) -> None:
    # allowWatchBookmarks without a resourceVersion defaults to sendInitialEvents (a "watch
    # list", the WatchList feature): no Table then. With a resourceVersion it is a plain watch.
    code, status = table_get(k8s, f"{CONFIGMAPS}?watch=1&allowWatchBookmarks=true")
    since = _rv(k8s, CONFIGMAPS)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}}
    assert raw(k8s, "POST", CONFIGMAPS, cm)[0] == 201
    with_rv = table_watch(
        k8s, f"{CONFIGMAPS}?watch=1&allowWatchBookmarks=true&resourceVersion={since}"
        "&timeoutSeconds=1&fieldSelector=metadata.name%3Dafter"
    )  # fmt: skip

    assert code == 406
    assert status["reason"] == "NotAcceptable"
    assert [(e["type"], e["object"]["kind"]) for e in with_rv][:1] == [("ADDED", "Table")]


def test_a_bookmark_in_a_table_watch_is_a_table_too() -> None:
    # The watch encoder converts every event's object, a BOOKMARK's included (the real server
    # sent no bookmark within a minute, so this follows the encoder's code).
    with (
        ApiServer(bookmark_interval=0.2) as server,
        client.ApiClient(server.client_configuration()) as k8s,
    ):
        since = _rv(k8s, CONFIGMAPS)
        events = table_watch(
            k8s, f"{CONFIGMAPS}?watch=1&allowWatchBookmarks=true&resourceVersion={since}"
            "&timeoutSeconds=1"
        )  # fmt: skip

    bookmark = next(e for e in events if e["type"] == "BOOKMARK")["object"]
    assert (bookmark["kind"], bookmark["metadata"]["resourceVersion"]) == ("Table", since)
    assert [c["name"] for c in bookmark["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert bookmark["rows"][0]["cells"] == ["", 0, "<unknown>"]
