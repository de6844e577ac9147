"""The root ``metadata`` rule of CRD schemas, end to end over HTTP, and the 422 ``Status``.

Upstream: apiextensions-apiserver ``pkg/apiserver/schema/validation.go``
``validateStructuralMetadataInvariants`` (reached from ``ValidateStructural`` in
``validateCustomResourceDefinitionValidation``); the field path is the internal one produced by
``v1/conversion.go`` ``Convert_v1_CustomResourceDefinitionSpec_To_apiextensions_...`` (identical
per-version schemas are hoisted to ``spec.validation``); the body is apimachinery
``errors.NewInvalid``. kube-apiserver v1.32 refused the project's generated CRD with
``The CustomResourceDefinition "databasebackups.dbbackup.io" is invalid:
spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other
than name and generateName, but metadata is implicitly specified`` (kubectl's rendering).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from api.v1alpha1.crdgen import crd as generated_crd
from emulator.server import ApiServer
from tests.emulator.crd_support import cause_for, crd, refused, schema, version

METADATA_MESSAGE = (
    "Forbidden: must not specify anything other than name and generateName, "
    "but metadata is implicitly specified"
)


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    """One emulator for the module: every test here only POSTs CRDs that are refused, or
    deletes what it created."""
    with ApiServer() as s:
        yield s


@pytest.fixture(scope="module")
def api(server: ApiServer) -> Iterator[client.ApiextensionsV1Api]:
    with client.ApiClient(server.client_configuration()) as k8s:
        yield client.ApiextensionsV1Api(k8s)


def old_generated_crd() -> dict[str, Any]:
    """The project's CRD as it was generated before the fix (description under metadata)."""
    body = generated_crd()
    root = body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    root["properties"]["metadata"] = {"type": "object", "description": "Standard object metadata."}
    return body


def test_the_old_generated_crd_is_refused_with_the_real_status(
    server: ApiServer,
) -> None:
    """The whole 422 body, as errors.NewInvalid builds it for the CRD kind."""
    status = refused(server, old_generated_crd())
    field = "spec.validation.openAPIV3Schema.properties[metadata]"
    name = "databasebackups.dbbackup.io"
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is invalid: '
        f"{field}: {METADATA_MESSAGE}",
        "reason": "Invalid",
        "details": {
            "name": name,
            "group": "apiextensions.k8s.io",
            "kind": "CustomResourceDefinition",
            "causes": [
                {"reason": "FieldValueForbidden", "message": METADATA_MESSAGE, "field": field}
            ],
        },
        "code": 422,
    }
    details = status["details"]
    kubectl_line = (
        f'The {details["kind"]} "{details["name"]}" is invalid: '
        f"{details['causes'][0]['field']}: {details['causes'][0]['message']}"
    )
    assert kubectl_line == (
        'The CustomResourceDefinition "databasebackups.dbbackup.io" is invalid: '
        "spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify "
        "anything other than name and generateName, but metadata is implicitly specified"
    )


def test_the_generated_crd_is_accepted(api: client.ApiextensionsV1Api) -> None:
    """The fixed generator's CRD (metadata: {type: object}) is created."""
    created = api.create_custom_resource_definition(generated_crd())  # type: ignore[arg-type]
    try:
        assert created.metadata is not None
        assert created.metadata.name == "databasebackups.dbbackup.io"
    finally:
        api.delete_custom_resource_definition("databasebackups.dbbackup.io")


def test_differing_per_version_schemas_report_the_version_path(
    server: ApiServer,
) -> None:
    """Schemas that differ between versions stay per version: spec.versions[i].schema..."""
    bad = version("v2", storage=False)
    bad["schema"]["openAPIV3Schema"] = schema(metadata={"type": "object", "description": "x"})
    status = refused(server, crd(version("v1"), bad))
    field = "spec.versions[1].schema.openAPIV3Schema.properties[metadata]"
    assert cause_for(status, field) == ("FieldValueForbidden", METADATA_MESSAGE)


@pytest.mark.parametrize(
    "metadata",
    [
        {"type": "object"},
        {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}},
        {
            "type": "object",
            "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}},
        },
    ],
)
def test_type_object_and_name_restrictions_are_allowed(
    api: client.ApiextensionsV1Api, metadata: dict[str, Any]
) -> None:
    """The rule drops type, and properties holding only name and/or generateName."""
    body = crd()
    body["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = schema(metadata=metadata)
    api.create_custom_resource_definition(body)  # type: ignore[arg-type]
    api.delete_custom_resource_definition(body["metadata"]["name"])


@pytest.mark.parametrize(
    ("metadata", "field", "expected"),
    [
        ({"type": "object", "description": "x"}, "", METADATA_MESSAGE),
        ({"type": "object", "properties": {"labels": {"type": "object"}}}, "", METADATA_MESSAGE),
        (
            {"type": "object", "properties": {"name": {"type": "string"}, "x": {"type": "string"}}},
            "",
            METADATA_MESSAGE,
        ),
        ({"type": "object", "x-kubernetes-preserve-unknown-fields": True}, "", METADATA_MESSAGE),
        ({"type": "object", "required": ["name"]}, "", METADATA_MESSAGE),
        ({"type": "string"}, ".type", 'Invalid value: "string": must be object'),
        (
            {"type": "object", "default": {}},
            ".default",
            "Forbidden: must not be set in top-level metadata",
        ),
    ],
)
def test_anything_else_under_metadata_is_refused(
    server: ApiServer, metadata: dict[str, Any], field: str, expected: str
) -> None:
    """Everything but type/name/generateName (and a top-level default, refused by
    specStandardValidatorV3 withForbiddenDefaults("in top-level metadata"))."""
    body = crd()
    body["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = schema(metadata=metadata)
    status = refused(server, body)
    path = f"spec.validation.openAPIV3Schema.properties[metadata]{field}"
    assert cause_for(status, path)[1] == expected
