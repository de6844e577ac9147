"""Protobuf bodies over HTTP, as kube-apiserver v1.32 serves them (API concepts, "Alternate
representations of resources": ``application/vnd.kubernetes.protobuf`` for built-in kinds).

A protobuf create must store what the same object created as JSON stores; a client that prefers
protobuf in ``Accept`` gets protobuf answers, errors (``Status``) included; custom resources stay
JSON. All but the custom resource 415 test also run against a real server (``make conformance``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from kubernetes import client

from emulator.protobuf import MEDIA_TYPE, decode, encode
from emulator.protobuf.schema import message_class
from emulator.server import ApiServer
from tests.emulator import crd_support
from tests.emulator.support import auth_headers
from tests.emulator.target import RecordingApiClient

JSON = "application/json"
KUBECTL_ACCEPT = f"{MEDIA_TYPE},{JSON}"  # what kubectl's imperative commands send
USER_AGENT = "protobuf-test/1.0"  # one field manager for both creates
VOLATILE = ("uid", "creationTimestamp", "resourceVersion", "name")


def _request(
    api: client.ApiClient, method: str, path: str, *,
    body: bytes | dict[str, Any] | None = None, content_type: str = JSON, accept: str = JSON,
    token: str = "",
) -> tuple[int, str, bytes]:  # fmt: skip
    """``(status, Content-Type, body bytes)`` of one request (a dict body is sent as JSON;
    ``token`` replaces the client's bearer token)."""
    headers = {**auth_headers(api, accept), "User-Agent": USER_AGENT}
    if token:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        headers["Content-Type"] = content_type
    response = api.call_api(
        method, api.configuration.host + path, header_params=headers, body=body,
        _request_timeout=30,
    )  # fmt: skip
    data: bytes = response.read()
    return response.status, response.getheader("Content-Type") or "", data


def _normalized(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without what differs between any two creates (names, uid and times)."""
    meta = obj["metadata"]
    text = json.dumps(
        {
            **obj,
            "metadata": {
                **{k: v for k, v in meta.items() if k not in VOLATILE},
                "managedFields": [
                    {k: v for k, v in entry.items() if k != "time"}
                    for entry in meta.get("managedFields", [])
                ],
            },
        },
        sort_keys=True,
    )
    normalized: dict[str, Any] = json.loads(
        text.replace(meta["uid"], "<uid>").replace(meta["name"], "<name>")
    )
    return normalized


B64 = base64.b64encode(b"s3cret").decode()
CASES: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/namespaces/default/configmaps",
     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"app": "db"}},
      "data": {"a": "b", "empty": ""}, "binaryData": {"bin": B64}}),
    ("/api/v1/namespaces/default/secrets",
     {"apiVersion": "v1", "kind": "Secret", "metadata": {}, "data": {"password": B64}}),
    ("/apis/batch/v1/namespaces/default/jobs",
     {"apiVersion": "batch/v1", "kind": "Job", "metadata": {},
      "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
          {"name": "main", "image": "busybox", "ports": [{"containerPort": 80}],
           "livenessProbe": {"httpGet": {"port": 80}},
           "resources": {"limits": {"memory": "64Mi"}}}]}}}}),
    ("/apis/coordination.k8s.io/v1/namespaces/default/leases",
     {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {},
      "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
               "renewTime": "2026-01-02T03:04:05.123456Z"}}),
]  # fmt: skip


@pytest.mark.parametrize(("collection", "body"), CASES, ids=[str(b["kind"]) for _, b in CASES])
def test_a_protobuf_create_stores_what_a_json_create_stores(
    k8s: client.ApiClient, collection: str, body: dict[str, Any]
) -> None:
    kind = body["kind"].lower()
    as_json = {**body, "metadata": {**body["metadata"], "name": f"proto-{kind}-json"}}
    as_protobuf = {**body, "metadata": {**body["metadata"], "name": f"proto-{kind}-pb"}}
    status, _, created_json = _request(k8s, "POST", collection, body=as_json)
    assert status == 201, created_json
    data = encode(as_protobuf)
    assert data is not None
    status, content_type, created_pb = _request(
        k8s, "POST", collection, body=data, content_type=MEDIA_TYPE
    )
    assert (status, content_type) == (201, JSON), created_pb
    read = {}
    for name in (as_json["metadata"]["name"], as_protobuf["metadata"]["name"]):
        status, _, text = _request(k8s, "GET", f"{collection}/{name}")
        assert status == 200
        read[name] = _normalized(json.loads(text))
    assert read[f"proto-{kind}-pb"] == read[f"proto-{kind}-json"]


def test_a_client_preferring_protobuf_reads_protobuf(k8s: client.ApiClient) -> None:
    """The object and the list, as kubectl's ``Accept`` asks; the bytes hold the JSON answer."""
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "proto-read"},
              "stringData": {"user": "backup"}}  # fmt: skip
    path = "/api/v1/namespaces/default/secrets"
    status, _, _ = _request(k8s, "POST", path, body=secret)
    assert status == 201
    status, content_type, data = _request(k8s, "GET", f"{path}/proto-read", accept=KUBECTL_ACCEPT)
    assert (status, content_type) == (200, MEDIA_TYPE)
    assert data.startswith(b"k8s\x00")
    _, _, text = _request(k8s, "GET", f"{path}/proto-read")
    assert decode(data) == json.loads(text)
    status, content_type, data = _request(k8s, "GET", path, accept=KUBECTL_ACCEPT)
    assert (status, content_type) == (200, MEDIA_TYPE)
    listed = decode(data)
    assert listed["kind"] == "SecretList"
    assert "proto-read" in {item["metadata"]["name"] for item in listed["items"]}


def test_a_protobuf_create_answers_in_protobuf(k8s: client.ApiClient) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "proto-answer"}}
    status, content_type, data = _request(
        k8s, "POST", "/api/v1/namespaces", body=encode(namespace), content_type=MEDIA_TYPE,
        accept=KUBECTL_ACCEPT,
    )  # fmt: skip
    assert (status, content_type) == (201, MEDIA_TYPE)
    created = decode(data)
    if isinstance(k8s, RecordingApiClient):  # a real server: delete it after the test
        k8s.created.append(f"{k8s.configuration.host}/api/v1/namespaces/proto-answer")
    assert created["metadata"]["name"] == "proto-answer"
    assert created["spec"] == {"finalizers": ["kubernetes"]}
    assert created["status"] == {"phase": "Active"}


def test_errors_are_protobuf_when_protobuf_is_preferred(k8s: client.ApiClient) -> None:
    """A ``Status`` in protobuf for kubectl's ``Accept``, in JSON for a JSON client."""
    path = "/api/v1/namespaces/default/secrets/proto-missing"
    status, content_type, data = _request(k8s, "GET", path, accept=KUBECTL_ACCEPT)
    assert (status, content_type) == (404, MEDIA_TYPE)
    _, json_type, text = _request(k8s, "GET", path)
    assert json_type == JSON
    assert decode(data) == json.loads(text)
    assert decode(data)["reason"] == "NotFound"


def test_a_patch_in_protobuf_is_unsupported(k8s: client.ApiClient) -> None:
    """Patch bodies are JSON or YAML patches, never protobuf: 415."""
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "proto-patch"}}
    path = "/api/v1/namespaces/default/configmaps"
    assert _request(k8s, "POST", path, body=configmap)[0] == 201
    status, _, text = _request(
        k8s, "PATCH", f"{path}/proto-patch", body=encode(configmap), content_type=MEDIA_TYPE
    )
    assert (status, json.loads(text)["reason"]) == (415, "UnsupportedMediaType")


def test_an_unauthenticated_request_gets_a_protobuf_status(k8s: client.ApiClient) -> None:
    status, content_type, data = _request(
        k8s, "GET", "/api/v1/namespaces", accept=KUBECTL_ACCEPT, token="not-a-token"
    )
    assert (status, content_type) == (401, MEDIA_TYPE)
    assert decode(data) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Unauthorized", "reason": "Unauthorized", "code": 401,
    }  # fmt: skip


def test_bytes_without_the_magic_are_a_bad_request(k8s: client.ApiClient) -> None:
    status, _, text = _request(
        k8s, "POST", "/api/v1/namespaces/default/configmaps", body=b"\x00\x01",
        content_type=MEDIA_TYPE,
    )  # fmt: skip
    body = json.loads(text)
    assert (status, body["reason"]) == (400, "BadRequest")
    assert "expected prefix [107 56 115 0]" in body["message"]


def test_a_custom_resource_body_in_protobuf_is_unsupported(api_server: ApiServer) -> None:
    """Custom resources have no protobuf form: 415 (kube-apiserver v1.32 fails such a request
    with a panic and a dropped connection; docs/emulator.md lists the difference)."""
    with client.ApiClient(api_server.client_configuration()) as api:
        status, _, _ = _request(
            api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            body=crd_support.crd(),
        )  # fmt: skip
        assert status == 201
        widget = {"apiVersion": f"{crd_support.GROUP}/v1", "kind": crd_support.KIND,
                  "metadata": {"name": "w"}}  # fmt: skip
        data = b"k8s\x00" + encode_envelope_only(widget)
        collection = f"/apis/{crd_support.GROUP}/v1/namespaces/default/{crd_support.PLURAL}"
        status, _, text = _request(api, "POST", collection, body=data, content_type=MEDIA_TYPE)
        assert (status, json.loads(text)["reason"]) == (415, "UnsupportedMediaType")
        # JSON still works, and a client preferring protobuf reads the custom resource as JSON.
        status, _, _ = _request(api, "POST", collection, body=widget)
        assert status == 201
        status, content_type, _ = _request(api, "GET", f"{collection}/w", accept=KUBECTL_ACCEPT)
        assert (status, content_type) == (200, JSON)


def encode_envelope_only(obj: dict[str, Any]) -> bytes:
    """A ``runtime.Unknown`` naming ``obj``'s apiVersion and kind, with an empty ``raw``."""
    envelope: Any = message_class("meta.Unknown")()
    envelope.typeMeta.apiVersion = obj["apiVersion"]
    envelope.typeMeta.kind = obj["kind"]
    data: bytes = envelope.SerializeToString()
    return data


def test_delete_options_in_protobuf(k8s: client.ApiClient) -> None:
    """A typed client's DELETE body: ``DeleteOptions`` in its own group's version."""
    pod = {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "proto-delete"},
           "spec": {"template": {"spec": pod}}}  # fmt: skip
    path = "/apis/batch/v1/namespaces/default/jobs"
    assert _request(k8s, "POST", path, body=job)[0] == 201
    background = {"apiVersion": "batch/v1", "kind": "DeleteOptions",
                  "propagationPolicy": "Background"}  # fmt: skip
    options = encode({**background, "preconditions": {"uid": "other"}})
    status, _, text = _request(
        k8s, "DELETE", f"{path}/proto-delete", body=options, content_type=MEDIA_TYPE
    )
    assert (status, json.loads(text)["reason"]) == (409, "Conflict")  # the precondition was read
    status, _, _ = _request(
        k8s, "DELETE", f"{path}/proto-delete", body=encode(background), content_type=MEDIA_TYPE
    )
    assert status == 200
    assert _request(k8s, "GET", f"{path}/proto-delete")[0] == 404  # Background: gone at once


def test_a_custom_resource_for_a_protobuf_only_client_is_not_acceptable(
    k8s: client.ApiClient,
) -> None:
    """406 before anything is done (the object is not created); JSON when JSON is acceptable."""
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    assert _request(k8s, "POST", crds, body=crd_support.crd())[0] == 201
    collection = f"/apis/{crd_support.GROUP}/v1/namespaces/default/{crd_support.PLURAL}"
    widget = {"apiVersion": f"{crd_support.GROUP}/v1", "kind": crd_support.KIND,
              "metadata": {"name": "proto-406"}}  # fmt: skip
    status, content_type, data = _request(k8s, "POST", collection, body=widget, accept=MEDIA_TYPE)
    assert (status, content_type) == (406, MEDIA_TYPE)
    refused = decode(data)
    assert (refused["reason"], refused["message"]) == (
        "NotAcceptable",
        "only the following media types are accepted: application/json, application/yaml, "
        "application/vnd.kubernetes.protobuf",
    )
    assert _request(k8s, "GET", f"{collection}/proto-406")[0] == 404
    assert _request(k8s, "GET", collection, accept=MEDIA_TYPE)[0] == 406
    status, content_type, _ = _request(k8s, "GET", collection, accept=KUBECTL_ACCEPT)
    assert (status, content_type) == (200, JSON)
