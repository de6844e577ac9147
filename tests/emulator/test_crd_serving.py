"""CustomResourceDefinitions: serving, scope, status subresource, schema hooks, removal
("Extend the Kubernetes API with CustomResourceDefinitions")."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiException

from emulator.server import ApiServer
from tests.emulator.support import Dicts, status_of

GROUP, VERSION, PLURAL = "example.com", "v1", "widgets"


def crd(scope: str = "Namespaced") -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "size": {"type": "integer", "minimum": 1, "default": 3},
                    "color": {"type": "string", "enum": ["red", "blue"]},
                },
            },
            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": scope,
            "names": {
                "plural": PLURAL,
                "singular": "widget",
                "kind": "Widget",
                "shortNames": ["wd"],
                "categories": ["all"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": spec,
    }


@pytest.fixture
def served(api_server: ApiServer) -> ApiServer:
    api_server.create_object(crd())
    return api_server


def test_crd_makes_its_resource_served_with_discovery(
    served: ApiServer, k8s: client.ApiClient
) -> None:
    """CRD docs, "Create a CustomResourceDefinition": the new RESTful path is served and
    listed in discovery with its scope, short names and categories."""
    resources = Dicts(client.CustomObjectsApi(k8s)).get_api_resources(GROUP, VERSION)
    names = {r.name: r for r in resources.resources}
    assert names[PLURAL].namespaced is True
    assert names[PLURAL].short_names == ["wd"]
    assert names[PLURAL].categories == ["all"]
    assert f"{PLURAL}/status" in names


def test_crd_status_reports_established(served: ApiServer) -> None:
    """CRD docs: the CRD gets Established and NamesAccepted conditions."""
    stored = served.get_object(
        "apiextensions.k8s.io/v1", "CustomResourceDefinition", f"{PLURAL}.{GROUP}"
    )
    assert stored is not None
    types = {c["type"]: c["status"] for c in stored["status"]["conditions"]}
    assert types == {"Established": "True", "NamesAccepted": "True"}


def test_custom_resource_defaults_and_validation(served: ApiServer, objects: Dicts) -> None:
    """CRD docs, "Defaulting" and "Validation": defaults are applied and invalid values
    rejected with 422 naming the field; unknown fields are pruned."""
    created = objects.create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, widget("a", color="red", extra=1)
    )
    assert created["spec"] == {"size": 3, "color": "red"}
    with pytest.raises(ApiException) as err:
        objects.create_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, widget("b", color="green")
        )
    assert err.value.status == 422
    assert status_of(err.value)["details"]["causes"][0]["field"] == "spec.color"


def test_custom_resource_status_subresource(served: ApiServer, objects: Dicts) -> None:
    """CRD docs, "Status subresource": PUT/POST/PATCH of the main resource ignore status;
    /status changes only status; generation is bumped by spec changes only."""
    created = objects.create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, dict(widget("a"), status={"phase": "X"})
    )
    assert "status" not in created
    created["status"] = {"phase": "Ready"}
    updated = objects.replace_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "a", created
    )
    assert updated["status"] == {"phase": "Ready"}
    assert updated["metadata"]["generation"] == 1
    respec = objects.patch_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "a", {"spec": {"size": 5}, "status": {"phase": "Y"}}
    )
    assert respec["metadata"]["generation"] == 2
    assert respec["status"] == {"phase": "Ready"}


def test_custom_resource_update_requires_resource_version(
    served: ApiServer, objects: Dicts
) -> None:
    """CRD strategy (apiextensions-apiserver): custom resources do not allow unconditional
    updates; a PUT without metadata.resourceVersion is 422."""
    objects.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("a"))
    with pytest.raises(ApiException) as err:
        objects.replace_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, "a", widget("a", size=2)
        )
    assert err.value.status == 422


def test_custom_resources_refuse_strategic_merge_patch(
    served: ApiServer, k8s: client.ApiClient
) -> None:
    """API concepts, "Patch operations": strategic merge patch is not supported for custom
    resources (415 Unsupported Media Type)."""
    served.create_object(dict(widget("a"), metadata={"name": "a", "namespace": "default"}))
    config = served.client_configuration()
    import urllib3

    http = urllib3.PoolManager()
    resp = http.request(
        "PATCH",
        f"{served.url}/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}/a",
        body=b'{"spec":{"size":2}}',
        headers={
            "Content-Type": "application/strategic-merge-patch+json",
            "Authorization": config.api_key["authorization"],
        },
    )
    assert resp.status == 415


def test_invalid_crd_schema_is_422(api_server: ApiServer, k8s: client.ApiClient) -> None:
    """CRD docs, "Specifying a structural schema": a non-structural schema is refused."""
    bad = crd()
    bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["type"] = "string"
    with pytest.raises(ApiException) as err:
        client.ApiextensionsV1Api(k8s).create_custom_resource_definition(bad)  # type: ignore[arg-type]
    assert err.value.status == 422


def test_deleting_the_crd_stops_serving(
    served: ApiServer, objects: Dicts, k8s: client.ApiClient
) -> None:
    """CRD docs, "Delete a CustomResourceDefinition": its objects are deleted and the
    RESTful endpoint is no longer served."""
    objects.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("a"))
    client.ApiextensionsV1Api(k8s).delete_custom_resource_definition(f"{PLURAL}.{GROUP}")
    with pytest.raises(ApiException) as err:
        objects.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert err.value.status == 404
    served.create_object(crd())
    assert objects.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)["items"] == []


def test_cluster_scoped_custom_resource(api_server: ApiServer, objects: Dicts) -> None:
    """CRD docs: scope Cluster serves the resource without namespaces."""
    api_server.create_object(crd(scope="Cluster"))
    created = objects.create_cluster_custom_object(GROUP, VERSION, PLURAL, widget("a"))
    assert "namespace" not in created["metadata"]
