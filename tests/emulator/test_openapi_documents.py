"""``/openapi/v3`` and ``/openapi/v2``: what kubectl reads for explain and for field validation.

The structure asserted here (hashed URLs, caching headers, the group-version-kind extension,
the ObjectMeta reference, a CRD's own descriptions, the paths of a custom resource, the v2
conversion) was read from kube-apiserver v1.32 (docs/emulator.md)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

import pytest
from kubernetes import client

from emulator.resources import BUILTINS
from tests.emulator.crd_support import crd, version
from tests.emulator.raw_http import Reply, send
from tests.emulator.support import wait_for

SCHEMAS = "#/components/schemas/"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
METADATA_DOC = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
GIZMO = "com.example.v1.Gizmo"
GIZMO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "description": "Desired gizmo.",
            "required": ["size", "note"],
            "properties": {
                "size": {"type": "integer", "description": "How big the gizmo is."},
                "note": {"type": "string", "nullable": True},
                "port": {"x-kubernetes-int-or-string": True},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                },
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}
GV_URL = re.compile(r"^/openapi/v3/(.+)\?hash=([0-9A-F]{128})$")


def gizmo_crd(description: str = "How big the gizmo is.") -> dict[str, Any]:
    schema = copy.deepcopy(GIZMO_SCHEMA)
    schema["properties"]["spec"]["properties"]["size"]["description"] = description
    body = crd(
        version(schema={"openAPIV3Schema": schema}, subresources={"status": {}}),
        names={"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
    )
    body["metadata"]["name"] = "gizmos.example.com"
    return body


def discovery(k8s: client.ApiClient) -> dict[str, str]:
    """group/version path → its hashed URL."""
    reply = send(k8s, "GET", "/openapi/v3")
    assert reply.status == 200
    return {gv: entry["serverRelativeURL"] for gv, entry in reply.body["paths"].items()}


def document(k8s: client.ApiClient, gv: str) -> dict[str, Any]:
    reply = send(k8s, "GET", discovery(k8s)[gv])
    assert reply.status == 200, reply.body
    doc: dict[str, Any] = reply.body
    return doc


def unresolved(doc: dict[str, Any], prefix: str, section: dict[str, Any]) -> set[str]:
    """The ``$ref`` targets ``doc`` names but does not hold."""
    refs = set(re.findall(r'"\$ref":\s*"' + re.escape(prefix) + r'([^"]+)"', json.dumps(doc)))
    return refs - set(section)


@pytest.fixture
def gizmos(k8s: client.ApiClient) -> client.ApiextensionsV1Api:
    """The Gizmo CRD, once its document is served (a real server publishes it a moment
    after the CRD is established)."""
    api = client.ApiextensionsV1Api(k8s)
    api.create_custom_resource_definition(gizmo_crd())  # type: ignore[arg-type]
    assert wait_for(lambda: "apis/example.com/v1" in discovery(k8s), timeout=30)
    return api


def test_discovery_lists_every_served_group_version_by_content_hash(
    k8s: client.ApiClient,
) -> None:
    """Each URL's hash is the upper-case SHA-512 of the document's bytes, also its ETag."""
    urls = discovery(k8s)
    for gv in ("api/v1", "apis/batch/v1", "apis/coordination.k8s.io/v1",
               "apis/events.k8s.io/v1", "apis/apiextensions.k8s.io/v1",
               "apis/rbac.authorization.k8s.io/v1"):  # fmt: skip
        match = GV_URL.match(urls[gv])
        assert match is not None and match.group(1) == gv, urls[gv]
    reply = send(k8s, "GET", urls["apis/batch/v1"])
    digest = hashlib.sha512(reply.raw).hexdigest().upper()
    assert urls["apis/batch/v1"].endswith(f"?hash={digest}")
    assert reply.header("ETag") == f'"{digest}"'


def test_every_kind_the_emulator_serves_has_its_schema(k8s: client.ApiClient) -> None:
    """kubectl explain finds a kind's schema by its group-version-kind extension."""
    for info in BUILTINS:
        gv = f"apis/{info.group}/{info.version}" if info.group else f"api/{info.version}"
        schemas = document(k8s, gv)["components"]["schemas"]
        gvk = {"group": info.group, "version": info.version, "kind": info.kind}
        found = [
            n for n, s in schemas.items() if gvk in s.get("x-kubernetes-group-version-kind", [])
        ]
        assert found, gvk
        assert schemas[found[0]].get("description"), found[0]


def test_a_document_is_cached_by_its_hash(k8s: client.ApiClient) -> None:
    """kube-openapi's handler: no hash → revalidate; the current hash → immutable for a year;
    a stale one → 301 to the current URL; If-None-Match → 304; no JSON in Accept → 406."""
    url = discovery(k8s)["apis/batch/v1"]
    plain = send(k8s, "GET", "/openapi/v3/apis/batch/v1")
    assert plain.header("Cache-Control") == "no-cache, private"
    assert plain.header("Content-Type") == "application/json"
    hashed = send(k8s, "GET", url)
    assert hashed.header("Cache-Control") == "public, immutable"
    assert hashed.header("Expires") is not None and hashed.header("Vary") == "Accept"
    stale = send(k8s, "GET", "/openapi/v3/apis/batch/v1?hash=AB")
    assert (stale.status, stale.header("Location")) == (301, url)
    etag = hashed.header("ETag") or ""
    assert send(k8s, "GET", url, headers={"If-None-Match": etag}).status == 304
    assert send(k8s, "GET", url, headers={"Accept": "text/html"}).status == 406
    assert send(k8s, "GET", "/openapi/v3/apis/nope.example.com/v1").status == 404


def test_builtin_kinds_have_described_schemas_and_strict_patch(k8s: client.ApiClient) -> None:
    doc = document(k8s, "apis/batch/v1")
    schemas = doc["components"]["schemas"]
    job = schemas["io.k8s.api.batch.v1.Job"]
    assert job["x-kubernetes-group-version-kind"] == [
        {"group": "batch", "kind": "Job", "version": "v1"}
    ]
    assert job["properties"]["metadata"]["allOf"] == [{"$ref": SCHEMAS + OBJECT_META}]
    spec = schemas["io.k8s.api.batch.v1.JobSpec"]["properties"]
    assert spec["backoffLimit"]["type"] == "integer"
    assert spec["backoffLimit"]["description"].startswith(
        "Specifies the number of retries before marking this job failed."
    )
    assert spec["template"]["allOf"] == [{"$ref": SCHEMAS + "io.k8s.api.core.v1.PodTemplateSpec"}]
    assert "containers" in schemas["io.k8s.api.core.v1.PodSpec"]["required"]
    assert unresolved(doc, SCHEMAS, schemas) == set()
    patch = doc["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs/{name}"]["patch"]
    assert patch["operationId"] == "patchBatchV1NamespacedJob"
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "batch", "kind": "Job", "version": "v1"}  # fmt: skip
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}


def test_a_crd_document_is_built_from_its_schema(
    k8s: client.ApiClient, gizmos: client.ApiextensionsV1Api
) -> None:
    doc = document(k8s, "apis/example.com/v1")
    assert doc["info"] == {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"}
    base = "/apis/example.com/v1"
    assert set(doc["paths"]) == {
        f"{base}/gizmos",
        f"{base}/namespaces/{{namespace}}/gizmos",
        f"{base}/namespaces/{{namespace}}/gizmos/{{name}}",
        f"{base}/namespaces/{{namespace}}/gizmos/{{name}}/status",
    }
    patch = doc["paths"][f"{base}/namespaces/{{namespace}}/gizmos/{{name}}"]["patch"]
    assert patch["operationId"] == "patchExampleComV1NamespacedGizmo"
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    schemas = doc["components"]["schemas"]
    gizmo = schemas[GIZMO]
    assert gizmo["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "kind": "Gizmo", "version": "v1"}
    ]
    assert gizmo["properties"]["metadata"] == {
        "description": METADATA_DOC, "allOf": [{"$ref": SCHEMAS + OBJECT_META}]}  # fmt: skip
    assert gizmo["properties"]["apiVersion"]["type"] == "string"
    spec = gizmo["properties"]["spec"]
    assert spec["properties"]["size"]["description"] == "How big the gizmo is."
    assert spec["properties"]["port"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    template = spec["properties"]["template"]
    assert {"apiVersion", "kind", "metadata"} <= set(template["properties"])
    assert {"apiVersion", "kind"} <= set(template["required"])
    listing = schemas["com.example.v1.GizmoList"]
    assert listing["x-kubernetes-group-version-kind"][0]["kind"] == "GizmoList"
    assert listing["properties"]["items"]["items"] == {"$ref": SCHEMAS + GIZMO}
    assert unresolved(doc, SCHEMAS, schemas) == set()


def test_v2_converts_a_crd_schema_as_the_builder_does(
    k8s: client.ApiClient, gizmos: client.ApiextensionsV1Api
) -> None:
    def gizmo_v2() -> Reply:
        return send(k8s, "GET", "/openapi/v2", headers={"Accept": "application/json"})

    assert wait_for(lambda: GIZMO in gizmo_v2().body["definitions"], timeout=30)
    reply = gizmo_v2()
    assert reply.body["swagger"] == "2.0"
    definitions = reply.body["definitions"]
    gizmo = definitions[GIZMO]
    assert gizmo["properties"]["metadata"] == {
        "description": METADATA_DOC, "$ref": "#/definitions/" + OBJECT_META}  # fmt: skip
    spec = gizmo["properties"]["spec"]
    assert spec["required"] == ["size"]  # a nullable field is not required in v2
    assert "type" not in spec["properties"]["note"]
    assert "type" not in spec["properties"]["extra"]
    assert "anyOf" not in spec["properties"]["port"]
    job = definitions["io.k8s.api.batch.v1.Job"]
    assert job["properties"]["metadata"]["$ref"] == "#/definitions/" + OBJECT_META
    assert unresolved(reply.body, "#/definitions/", definitions) == set()


def test_a_changed_or_deleted_crd_changes_its_document(
    k8s: client.ApiClient, gizmos: client.ApiextensionsV1Api
) -> None:
    before = discovery(k8s)["apis/example.com/v1"]
    stored = gizmos.read_custom_resource_definition("gizmos.example.com")
    assert stored.metadata is not None
    body = gizmo_crd("The gizmo's size, in gizmo units.")
    body["metadata"]["resourceVersion"] = stored.metadata.resource_version
    gizmos.replace_custom_resource_definition("gizmos.example.com", body)  # type: ignore[arg-type]
    assert wait_for(lambda: discovery(k8s)["apis/example.com/v1"] != before, timeout=30)
    spec = document(k8s, "apis/example.com/v1")["components"]["schemas"][GIZMO]
    size = spec["properties"]["spec"]["properties"]["size"]
    assert size["description"] == "The gizmo's size, in gizmo units."
    gizmos.delete_custom_resource_definition("gizmos.example.com")
    assert wait_for(lambda: "apis/example.com/v1" not in discovery(k8s), timeout=30)
