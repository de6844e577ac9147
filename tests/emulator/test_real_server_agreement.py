"""Behaviours first seen to differ between the emulator and a real kube-apiserver v1.32.

Each test sends the same requests to whichever server runs the suite (the emulator, or a real
one with ``make conformance``) and asserts what the real server answered; the upstream code
that decides it is named in each test.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from tests.emulator.support import raw
from tests.emulator.test_crd_serving import GROUP, PLURAL, VERSION, crd, widget

WIDGETS = f"/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}"
EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events"
EVENT_TIME = "2026-01-02T03:04:05.000000Z"


def _install_crd(k8s: client.ApiClient) -> None:
    code, body = raw(k8s, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd())
    assert code == 201, body


def test_watch_from_before_a_new_resource_existed_answers_one_410_error_event(
    k8s: client.ApiClient,
) -> None:
    # A CRD's watch cache starts at the resourceVersion it was established at; a watch from an
    # older one is answered 200 and then one ERROR event carrying a 410 Expired Status
    # (apiserver/pkg/storage/cacher/watch_cache.go getAllEventsSinceLocked: "too old
    # resource version: %d (%d)"), never an HTTP 410 and never a replay.
    _install_crd(k8s)
    code, created = raw(k8s, "POST", WIDGETS, widget("w1", size=2))
    assert code == 201, created

    code, events = raw(k8s, "GET", f"{WIDGETS}?watch=1&resourceVersion=1&timeoutSeconds=5")

    assert code == 200
    assert isinstance(events, list) and len(events) == 1, events
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["status"], status["code"], status["reason"]) == (
        "Status",
        "Failure",
        410,
        "Expired",
    )
    assert status["message"].startswith("too old resource version: 1 (")


def test_delete_held_by_a_finalizer_answers_200_with_the_terminating_object(
    k8s: client.ApiClient,
) -> None:
    # handlers/delete.go: 200 whether or not the object is gone at once; 202 only when it was
    # not deleted and the request set the deprecated orphanDependents to false.
    _install_crd(k8s)
    for name, options, expected in (("held", None, 200), ("held-old", False, 202)):
        body = widget(name)
        body["metadata"]["finalizers"] = ["example.com/hold"]
        assert raw(k8s, "POST", WIDGETS, body)[0] == 201
        delete = None if options is None else {"orphanDependents": options}
        code, answer = raw(k8s, "DELETE", f"{WIDGETS}/{name}", delete)

        assert code == expected, answer
        assert isinstance(answer, dict) and answer["kind"] == "Widget"
        assert answer["metadata"]["deletionTimestamp"]
        assert answer["metadata"]["finalizers"] == ["example.com/hold"]
        release = {"metadata": {"finalizers": None}}
        code, patched = raw(
            k8s, "PATCH", f"{WIDGETS}/{name}", release, "application/merge-patch+json"
        )
        assert code == 200, patched
        assert raw(k8s, "GET", f"{WIDGETS}/{name}")[0] == 404


def _event(name: str, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": "default"},
        "eventTime": EVENT_TIME,
        "reportingController": "dbbackup.io/operator",
        "reportingInstance": "operator-1",
        "action": "Create",
        "reason": "SuccessfulCreate",
        "type": "Normal",
        "note": "created job",
        "regarding": {"kind": "ConfigMap", "namespace": "default", "name": "x"},
    }
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def _causes(body: Any) -> list[tuple[str, str]]:
    return [(c["field"], c["message"]) for c in body["details"]["causes"]]


def test_events_v1_type_must_be_normal_or_warning(k8s: client.ApiClient) -> None:
    # pkg/apis/core/validation/events.go ValidateEventCreate: field.Invalid(type, "", ...).
    code, body = raw(k8s, "POST", EVENTS, _event("bad-type", type="Info"))

    assert code == 422
    assert isinstance(body, dict) and body["reason"] == "Invalid"
    assert _causes(body) == [("type", 'Invalid value: "": has invalid value: Info')]
    # The core internal type is validated, so the message and details name no group.
    assert body["message"] == (
        'Event "bad-type" is invalid: type: Invalid value: "": has invalid value: Info'
    )
    assert {k: v for k, v in body["details"].items() if k != "causes"} == {
        "name": "bad-type",
        "kind": "Event",
    }
    assert raw(k8s, "POST", EVENTS, _event("good", type="Warning"))[0] == 201


def test_events_v1_need_their_reporting_fields_and_no_deprecated_ones(
    k8s: client.ApiClient,
) -> None:
    # legacyValidateEvent (an Event with eventTime) and ValidateEventCreate's strict part.
    missing = _event("missing", reportingController=None, action=None, deprecatedCount=3)
    code, body = raw(k8s, "POST", EVENTS, missing)

    assert code == 422, body
    assert set(_causes(body)) == {
        ("reportingController", "Required value"),
        ("reportingController", 'Invalid value: "": name part must be non-empty'),
        (
            "reportingController",
            "Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' "
            "or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
            "'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ),
        ("action", "Required value"),
        ("count", 'Invalid value: "": needs to be unset'),
    }


def test_finalizer_names_are_checked_strictly_only_where_core_validation_runs(
    k8s: client.ApiClient,
) -> None:
    # pkg/apis/core/validation ValidateObjectMeta adds validateKubeFinalizerName to
    # apimachinery's qualified-name check; coordination.k8s.io uses apimachinery's alone.
    config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "fin", "finalizers": ["a"]}}  # fmt: skip
    code, body = raw(k8s, "POST", "/api/v1/namespaces/default/configmaps", config_map)

    assert code == 422, body
    assert body["message"] == (  # type: ignore[call-overload]
        'ConfigMap "fin" is invalid: metadata.finalizers[0]: Invalid value: "a": name is '
        "neither a standard finalizer name nor is it fully qualified"
    )
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "fin", "finalizers": ["a"]}}  # fmt: skip
    code, body = raw(k8s, "POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases", lease)
    assert code == 201, body
    release = {"metadata": {"finalizers": None}}
    path = "/apis/coordination.k8s.io/v1/namespaces/default/leases/fin"
    assert raw(k8s, "PATCH", path, release, "application/merge-patch+json")[0] == 200
