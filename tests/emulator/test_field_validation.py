"""Server-side field validation (``?fieldValidation=``), as kube-apiserver v1.32 answers it.

kubectl 1.32 checks a manifest by sending ``fieldValidation=Strict`` (``--validate=strict``, its
default) and leaves the verdict to the server: what it prints is the server's message. Each
expectation here was read from a real v1.32 server (docs/emulator.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from tests.emulator.crd_support import crd, version
from tests.emulator.raw_http import send
from tests.emulator.support import Dicts, wait_for

JOBS = "/apis/batch/v1/namespaces/default/jobs"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
GADGETS = "/apis/example.com/v1/namespaces/default/gadgets"
GADGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "a": {"type": "string"},
                "nested": {"type": "object", "properties": {"x": {"type": "string"}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        }
    },
}
# A Job with an unknown field at every level and a repeated key, in document order.
JOB_BODY = (
    '{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"fv","foo":1},'
    '"spec":{"backoffLimit":1,"backoffLimit":2,"foo":"x","template":{"spec":{'
    '"restartPolicy":"Never","containers":[{"name":"a","image":"busybox","bar":1}]}}},"top":1}'
)
JOB_PROBLEMS = (
    'unknown field "metadata.foo", duplicate field "spec.backoffLimit", unknown field '
    '"spec.foo", unknown field "spec.template.spec.containers[0].bar", unknown field "top"'
)
GADGET_BODY = (
    '{"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"fv","foo":1},"zzz":1,'
    '"spec":{"a":"1","a":"2","nested":{"x":"y","q":1},"free":{"any":{"thing":1}},"b":true}}'
)
GADGET_PROBLEMS = (
    'duplicate field "spec.a", unknown field "metadata.foo", unknown field "spec.b", '
    'unknown field "spec.nested.q", unknown field "zzz"'
)


def warning(message: str) -> str:
    return f"299 - {json.dumps(message)}"


@pytest.fixture
def gadgets(k8s: client.ApiClient) -> Dicts:
    """A Gadget CRD (a name no other test uses): a nested object, a preserve-unknown one."""
    body = crd(version(schema={"openAPIV3Schema": GADGET_SCHEMA}),
               names={"plural": "gadgets", "singular": "gadget", "kind": "Gadget"})  # fmt: skip
    body["metadata"]["name"] = "gadgets.example.com"
    client.ApiextensionsV1Api(k8s).create_custom_resource_definition(body)  # type: ignore[arg-type]
    objects = Dicts(client.CustomObjectsApi(k8s))
    assert wait_for(lambda: send(k8s, "GET", GADGETS).status == 200, timeout=30)
    return objects


def test_strict_create_of_a_builtin_names_every_problem_in_document_order(
    k8s: client.ApiClient,
) -> None:
    reply = send(k8s, "POST", f"{JOBS}?fieldValidation=Strict", JOB_BODY)
    assert reply.status == 400, reply.body
    assert reply.body["reason"] == "BadRequest"
    assert reply.body["message"] == (
        f'Job in version "v1" cannot be handled as a Job: strict decoding error: {JOB_PROBLEMS}'
    )
    cm = '{"top":1,"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fv","zz":1},"aa":2}'
    reply = send(k8s, "POST", f"{CONFIGMAPS}?fieldValidation=Strict", cm)
    assert reply.body["message"].endswith(
        'strict decoding error: unknown field "top", unknown field "metadata.zz", '
        'unknown field "aa"'
    )


def test_warn_is_the_default_and_drops_unknown_fields_of_a_builtin(
    k8s: client.ApiClient, objects: Dicts
) -> None:
    reply = send(k8s, "POST", JOBS, JOB_BODY)
    assert reply.status == 201, reply.body
    assert reply.warnings == [warning(p.strip()) for p in JOB_PROBLEMS.split(", ")]
    stored = objects.get_namespaced_custom_object("batch", "v1", "default", "jobs", "fv")
    assert stored["spec"]["backoffLimit"] == 2  # the last of repeated keys
    assert "foo" not in stored["spec"] and "top" not in stored
    assert "foo" not in stored["metadata"]
    assert "bar" not in stored["spec"]["template"]["spec"]["containers"][0]


def test_ignore_is_silent(k8s: client.ApiClient) -> None:
    reply = send(k8s, "POST", f"{JOBS}?fieldValidation=Ignore", JOB_BODY)
    assert reply.status == 201, reply.body
    assert reply.warnings == []


def test_an_unknown_directive_is_invalid(k8s: client.ApiClient) -> None:
    reply = send(k8s, "POST", f"{CONFIGMAPS}?fieldValidation=bogus", '{"metadata":{"name":"x"}}')
    assert reply.status == 422
    assert reply.body["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "bogus": '
        'supported values: "", "Ignore", "Strict", "Warn"'
    )
    assert reply.body["details"]["causes"][0]["reason"] == "FieldValueNotSupported"
    path = f"{CONFIGMAPS}/x?fieldValidation=bogus"
    reply = send(k8s, "PATCH", path, "{}", "application/merge-patch+json")
    assert reply.body["message"].startswith('PatchOptions.meta.k8s.io "" is invalid')


def test_custom_resources_list_repeats_first_then_unknown_fields_sorted(
    k8s: client.ApiClient, gadgets: Dicts
) -> None:
    reply = send(k8s, "POST", f"{GADGETS}?fieldValidation=Strict", GADGET_BODY)
    assert reply.status == 400, reply.body
    assert reply.body["message"] == (
        'Gadget in version "v1" cannot be handled as a Gadget: strict decoding error: '
        + GADGET_PROBLEMS
    )
    reply = send(k8s, "POST", f"{GADGETS}?fieldValidation=Warn", GADGET_BODY)
    assert reply.status == 201, reply.body
    assert reply.warnings == [warning(p.strip()) for p in GADGET_PROBLEMS.split(", ")]
    stored = gadgets.get_namespaced_custom_object("example.com", "v1", "default", "gadgets", "fv")
    assert stored["spec"] == {"a": "2", "nested": {"x": "y"}, "free": {"any": {"thing": 1}}}


def test_strict_replace_refuses_an_unknown_field(k8s: client.ApiClient, gadgets: Dicts) -> None:
    body = (
        '{"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"r"},"spec":{"a":"1"}}'
    )
    created = send(k8s, "POST", GADGETS, body).body
    created["spec"]["foo"] = 1
    reply = send(k8s, "PUT", f"{GADGETS}/r?fieldValidation=Strict", json.dumps(created))
    assert reply.status == 400
    assert reply.body["message"].endswith('strict decoding error: unknown field "spec.foo"')


def test_strict_patch_is_invalid_and_names_the_patched_value(k8s: client.ApiClient) -> None:
    """A patch's problems are a 422 ``patch`` cause: the patched object's JSON for a merge
    patch, the patch printed as a Go map for a strategic merge patch."""
    send(k8s, "POST", CONFIGMAPS, '{"metadata":{"name":"p"},"data":{"a":"b"}}')
    path = f"{CONFIGMAPS}/p?fieldValidation=Strict"
    patch = '{"foo":1,"data":{"x":"y"}}'
    reply = send(k8s, "PATCH", path, patch, "application/strategic-merge-patch+json")
    assert reply.status == 422, reply.body
    detail = 'Invalid value: "map[data:map[x:y] foo:1]": strict decoding error: unknown field "foo"'
    assert reply.body["message"] == f' "" is invalid: patch: {detail}'
    assert reply.body["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "message": detail, "field": "patch"}
    ]
    reply = send(k8s, "PATCH", path, patch, "application/merge-patch+json")
    assert reply.status == 422
    cause = reply.body["details"]["causes"][0]
    value = json.loads(json.loads(cause["message"].split(": strict decoding")[0][15:]))
    assert value["foo"] == 1 and value["data"] == {"a": "b", "x": "y"}
    assert cause["message"].endswith('strict decoding error: unknown field "foo"')


def test_warn_patch_reports_repeats_of_the_patch_and_drops_unknown_fields(
    k8s: client.ApiClient,
) -> None:
    send(k8s, "POST", CONFIGMAPS, '{"metadata":{"name":"w"},"data":{"a":"b"}}')
    path = f"{CONFIGMAPS}/w"
    reply = send(k8s, "PATCH", path, '{"data":{"x":"y","x":"z"}}', "application/merge-patch+json")
    assert reply.status == 200
    assert reply.warnings == [warning('duplicate field "data.x"')]
    assert reply.body["data"] == {"a": "b", "x": "z"}
    reply = send(k8s, "PATCH", path, '[{"op":"add","path":"/foo","value":1}]',
                 "application/json-patch+json")  # fmt: skip
    assert reply.warnings == [warning('unknown field "foo"')]
    assert "foo" not in reply.body


def test_strict_follows_a_crd_schema_and_metadata_lists(k8s: client.ApiClient) -> None:
    """Map values (a schema's ``properties``) and list items (owner references) are walked:
    the path names the map key after a dot, the item by its index."""
    versions = [
        {
            "name": "v1",
            "served": True,
            "storage": True,
            "bogus": 1,
            "schema": {
                "openAPIV3Schema": {
                    "type": "object",
                    "foo": 1,
                    "properties": {
                        "spec": {
                            "type": "object",
                            "bar": 2,
                            "properties": {"a": {"type": "string", "baz": 3}},
                        }
                    },
                }
            },
        }
    ]
    body = crd(versions[0])  # fmt: skip
    body["spec"]["versions"] = versions
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions?fieldValidation=Strict"
    reply = send(k8s, "POST", path, json.dumps(body))
    schema = "spec.versions[0].schema.openAPIV3Schema"
    assert reply.body["message"] == (
        'CustomResourceDefinition in version "v1" cannot be handled as a '
        'CustomResourceDefinition: strict decoding error: unknown field "spec.versions[0].bogus"'
        f', unknown field "{schema}.foo", unknown field "{schema}.properties.spec.bar", '
        f'unknown field "{schema}.properties.spec.properties.a.baz"'
    )
    owner = {"apiVersion": "v1", "kind": "X", "name": "n", "uid": "u", "zz": 1}
    cm = {"metadata": {"name": "owned", "ownerReferences": [owner]}, "data": {"a": "b"}}
    reply = send(k8s, "POST", f"{CONFIGMAPS}?fieldValidation=Strict", json.dumps(cm))
    assert reply.body["message"].endswith(
        'strict decoding error: unknown field "metadata.ownerReferences[0].zz"'
    )
