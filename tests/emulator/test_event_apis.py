"""One Event, two APIs: core ``v1`` and ``events.k8s.io/v1`` are views of the same objects
(pkg/apis/events/v1/conversion.go), field selectors included. The expected bodies were read
back from kube-apiserver v1.32 after the same requests."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from tests.emulator.support import raw

CORE = "/api/v1/namespaces/default/events"
V1 = "/apis/events.k8s.io/v1/namespaces/default/events"
VOLATILE = ("uid", "resourceVersion", "creationTimestamp", "managedFields")

NEW_STYLE = {
    "apiVersion": "events.k8s.io/v1",
    "kind": "Event",
    "metadata": {"name": "e1"},
    "eventTime": "2026-01-02T03:04:05.123456Z",
    "reportingController": "dbbackup.io/operator",
    "reportingInstance": "op-1",
    "action": "Create",
    "reason": "SuccessfulCreate",
    "type": "Normal",
    "note": "created job x",
    "regarding": {"kind": "DatabaseBackup", "apiVersion": "dbbackup.io/v1alpha1",
                  "namespace": "default", "name": "b", "uid": "u1"},
    "related": {"kind": "Job", "namespace": "default", "name": "x"},
}  # fmt: skip
NEW_STYLE_AS_CORE = {
    "kind": "Event",
    "apiVersion": "v1",
    "metadata": {"name": "e1", "namespace": "default"},
    "involvedObject": NEW_STYLE["regarding"],
    "reason": "SuccessfulCreate",
    "message": "created job x",
    "source": {},
    "firstTimestamp": None,
    "lastTimestamp": None,
    "type": "Normal",
    "eventTime": "2026-01-02T03:04:05.123456Z",
    "action": "Create",
    "related": NEW_STYLE["related"],
    "reportingComponent": "dbbackup.io/operator",
    "reportingInstance": "op-1",
}
OLD_STYLE = {
    "apiVersion": "v1",
    "kind": "Event",
    "metadata": {"name": "e2"},
    "involvedObject": {"kind": "ConfigMap", "namespace": "default", "name": "c"},
    "reason": "Old",
    "message": "legacy",
    "type": "Warning",
    "count": 3,
    "firstTimestamp": "2026-01-02T03:04:05Z",
    "lastTimestamp": "2026-01-02T03:05:05Z",
    "source": {"component": "kubelet", "host": "n1"},
}
OLD_STYLE_AS_V1 = {
    "kind": "Event",
    "apiVersion": "events.k8s.io/v1",
    "metadata": {"name": "e2", "namespace": "default"},
    "eventTime": None,
    "reason": "Old",
    "regarding": OLD_STYLE["involvedObject"],
    "note": "legacy",
    "type": "Warning",
    "deprecatedSource": {"component": "kubelet", "host": "n1"},
    "deprecatedFirstTimestamp": "2026-01-02T03:04:05Z",
    "deprecatedLastTimestamp": "2026-01-02T03:05:05Z",
    "deprecatedCount": 3,
}


def _stable(obj: Any) -> dict[str, Any]:
    assert isinstance(obj, dict)
    meta = {k: v for k, v in obj["metadata"].items() if k not in VOLATILE}
    return {**obj, "metadata": meta}


def _names(body: Any) -> list[str]:
    """The test's own Events in a list (a real cluster has others)."""
    assert isinstance(body, dict), body
    return [i["metadata"]["name"] for i in body["items"] if i["metadata"]["name"] in ("e1", "e2")]


def test_an_event_written_through_one_api_reads_back_through_the_other(
    k8s: client.ApiClient,
) -> None:
    code, created = raw(k8s, "POST", V1, NEW_STYLE)
    assert code == 201, created
    code, old_created = raw(k8s, "POST", CORE, OLD_STYLE)
    assert code == 201, old_created

    assert _stable(raw(k8s, "GET", f"{CORE}/e1")[1]) == NEW_STYLE_AS_CORE
    assert _stable(raw(k8s, "GET", f"{V1}/e2")[1]) == OLD_STYLE_AS_V1
    # The same object: one uid, one resourceVersion.
    assert isinstance(created, dict)
    core_view = raw(k8s, "GET", f"{CORE}/e1")[1]
    assert isinstance(core_view, dict)
    assert core_view["metadata"]["uid"] == created["metadata"]["uid"]
    assert core_view["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_each_api_selects_by_its_own_field_names(k8s: client.ApiClient) -> None:
    assert raw(k8s, "POST", V1, NEW_STYLE)[0] == 201
    assert raw(k8s, "POST", CORE, OLD_STYLE)[0] == 201

    assert _names(raw(k8s, "GET", f"{CORE}?fieldSelector=involvedObject.name%3Db")[1]) == ["e1"]
    assert _names(raw(k8s, "GET", f"{V1}?fieldSelector=regarding.name%3Db")[1]) == ["e1"]
    selector = "reportingController%3Ddbbackup.io%2Foperator"
    assert _names(raw(k8s, "GET", f"{V1}?fieldSelector={selector}")[1]) == ["e1"]
    assert _names(raw(k8s, "GET", f"{V1}?fieldSelector=type%3DWarning")[1]) == ["e2"]
    code, body = raw(k8s, "GET", f"{V1}?fieldSelector=involvedObject.name%3Db")
    assert code == 400
    assert isinstance(body, dict)
    assert body["message"] == "field label not supported: involvedObject.name"


def test_a_watch_through_one_api_sees_events_written_through_the_other(
    k8s: client.ApiClient,
) -> None:
    code, listed = raw(k8s, "GET", V1)
    assert code == 200 and isinstance(listed, dict)
    start = listed["metadata"]["resourceVersion"]
    assert raw(k8s, "POST", CORE, OLD_STYLE)[0] == 201

    code, events = raw(k8s, "GET", f"{V1}?watch=1&resourceVersion={start}&timeoutSeconds=2")

    assert code == 200 and isinstance(events, list)
    added = [e for e in events if e["type"] == "ADDED"]
    assert [_stable(e["object"]) for e in added] == [OLD_STYLE_AS_V1]


def test_a_bare_core_event_reads_back_with_the_empty_structs_go_writes(
    k8s: client.ApiClient,
) -> None:
    bare = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "bare"}, "reason": "R"}
    assert raw(k8s, "POST", CORE, bare)[0] == 201

    assert _stable(raw(k8s, "GET", f"{V1}/bare")[1]) == {
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": {"name": "bare", "namespace": "default"},
        "eventTime": None,
        "reason": "R",
        "regarding": {},
        "deprecatedSource": {},
        "deprecatedFirstTimestamp": None,
        "deprecatedLastTimestamp": None,
    }
