"""CRD spec rules over HTTP: each test POSTs (or PUTs) one offending CRD and checks the 422
cause -- field path, reason and message -- that kube-apiserver gives.

Upstream: apiextensions-apiserver ``pkg/apis/apiextensions/validation/validation.go``
(function named per test); DNS wording from apimachinery ``util/validation/validation.go``
(``IsDNS1035Label``, ``IsDNS1123Subdomain``, ``RegexError``); field paths in the internal form
of ``v1/conversion.go`` (identical per-version fields hoisted to ``spec.*``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from emulator.server import ApiServer
from tests.emulator.crd_support import KIND, cause_for, causes, crd, refused, version

DNS1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
VERSIONS = "[]apiextensions.CustomResourceDefinitionVersion{...}"


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer() as s:
        yield s


@pytest.fixture(scope="module")
def api(server: ApiServer) -> Iterator[client.ApiextensionsV1Api]:
    with client.ApiClient(server.client_configuration()) as k8s:
        yield client.ApiextensionsV1Api(k8s)


def _names(**names: Any) -> dict[str, Any]:
    base = {"plural": "widgets", "singular": "widget", "kind": KIND}
    return {k: v for k, v in {**base, **names}.items() if v is not None}


def test_name_must_be_plural_dot_group(server: ApiServer) -> None:
    """ValidateCustomResourceDefinition's nameValidationFn."""
    body = crd()
    body["metadata"]["name"] = "gadgets.example.com"
    assert cause_for(refused(server, body), "metadata.name") == (
        "FieldValueInvalid",
        'Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group',
    )


def test_name_is_a_dns_subdomain_too(server: ApiServer) -> None:
    """ValidateObjectMeta: one field.Invalid per message of nameValidationFn, which is
    NameIsDNSSubdomain (util/validation IsDNS1123Subdomain) plus the plural.group rule."""
    body = crd()
    body["metadata"]["name"] = "Widgets.example.com"
    found = [(r, m) for f, r, m in causes(refused(server, body)) if f == "metadata.name"]
    assert found == [
        (
            "FieldValueInvalid",
            'Invalid value: "Widgets.example.com": a lowercase RFC 1123 subdomain must consist '
            "of lower case alphanumeric characters, '-' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ),
        (
            "FieldValueInvalid",
            'Invalid value: "Widgets.example.com": must be spec.names.plural+"."+spec.group',
        ),
    ]


@pytest.mark.parametrize(
    ("group", "detail"),
    [
        ("example", "should be a domain with at least one dot"),
        (
            "Example.com",
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character (e.g. "
            "'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ),
    ],
)
def test_group_is_a_dns_subdomain_with_a_dot(server: ApiServer, group: str, detail: str) -> None:
    """validateCustomResourceDefinitionSpec: spec.group."""
    body = crd(group=group)
    body["metadata"]["name"] = f"widgets.{group}"
    assert cause_for(refused(server, body), "spec.group") == (
        "FieldValueInvalid",
        f'Invalid value: "{group}": {detail}',
    )


def test_scope_is_cluster_or_namespaced(server: ApiServer) -> None:
    """validateEnumStrings(spec.scope)."""
    assert cause_for(refused(server, crd(scope="Global")), "spec.scope") == (
        "FieldValueNotSupported",
        'Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
    )


@pytest.mark.parametrize(
    ("names", "field", "message"),
    [
        (_names(plural="Widgets"), "spec.names.plural", f'Invalid value: "Widgets": {DNS1035}'),
        (_names(singular="a_b"), "spec.names.singular", f'Invalid value: "a_b": {DNS1035}'),
        (
            _names(kind="Wid_get"),
            "spec.names.kind",
            'Invalid value: "Wid_get": may have mixed case, but should otherwise match: '
            + DNS1035,
        ),
        (
            _names(listKind=KIND),
            "spec.names.listKind",
            'Invalid value: "Widget": kind and listKind may not be the same',
        ),
        (_names(shortNames=["ok", "9x"]), "spec.names.shortNames[1]",
         f'Invalid value: "9x": {DNS1035}'),
        (_names(categories=["all", "A"]), "spec.names.categories[1]",
         f'Invalid value: "A": {DNS1035}'),
        (_names(kind=None), "spec.names.kind", "Required value"),
    ],
)  # fmt: skip
def test_names(server: ApiServer, names: dict[str, Any], field: str, message: str) -> None:
    """ValidateCustomResourceDefinitionNames and the required names of the spec."""
    assert cause_for(refused(server, crd(names=names)), field)[1] == message


def test_singular_and_list_kind_are_defaulted(
    server: ApiServer, api: client.ApiextensionsV1Api
) -> None:
    """v1/defaults.go SetDefaults_CustomResourceDefinitionSpec: singular is the lowercased
    kind, listKind is kind + List, conversion strategy None."""
    body = crd(names={"plural": "widgets", "kind": KIND})
    api.create_custom_resource_definition(body)  # type: ignore[arg-type]
    try:
        stored = server.get_object(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com"
        )
        assert stored is not None
        names = stored["spec"]["names"]
        assert (names["singular"], names["listKind"]) == ("widget", "WidgetList")
        assert stored["spec"]["conversion"] == {"strategy": "None"}
        assert stored["status"]["storedVersions"] == ["v1"]
    finally:
        api.delete_custom_resource_definition("widgets.example.com")


def test_exactly_one_storage_version(server: ApiServer) -> None:
    """validateCustomResourceDefinitionSpec + ValidateCustomResourceDefinitionStoredVersions
    (PrepareForCreate stores only the first storage version)."""
    status = refused(server, crd(version("v1"), version("v2")))
    assert cause_for(status, "spec.versions")[1] == (
        f"Invalid value: {VERSIONS}: must have exactly one version marked as storage version"
    )
    assert cause_for(status, "status.storedVersions")[1] == (
        'Invalid value: []string{"v1"}: must have the storage version v2'
    )
    status = refused(server, crd(version("v1", storage=False)))
    assert cause_for(status, "status.storedVersions")[1] == (
        "Invalid value: []string(nil): must have at least one stored version"
    )


def test_version_names_are_unique_dns_labels(server: ApiServer) -> None:
    """Unique names; IsDNS1035Label on each name and on the internal spec.version."""
    status = refused(server, crd(version("v1"), version("v1", storage=False)))
    assert cause_for(status, "spec.versions")[1] == (
        f"Invalid value: {VERSIONS}: must contain unique version names"
    )
    status = refused(server, crd(version("V1")))
    assert cause_for(status, "spec.versions[0].name")[1] == f'Invalid value: "V1": {DNS1035}'
    assert cause_for(status, "spec.version")[1] == f'Invalid value: "V1": {DNS1035}'


def test_every_version_needs_a_schema(server: ApiServer) -> None:
    """requireOpenAPISchema: "schemas are required"."""
    bare = version()
    del bare["schema"]
    assert cause_for(refused(server, crd(bare)), "spec.versions[0].schema.openAPIV3Schema") == (
        "FieldValueRequired",
        "Required value: schemas are required",
    )


def test_deprecation_warning_needs_deprecated(server: ApiServer) -> None:
    """validateDeprecationWarning."""
    body = crd(version(deprecationWarning="old"))
    assert cause_for(refused(server, body), "spec.versions[0].deprecationWarning")[1] == (
        'Invalid value: "old": can only be set for deprecated versions'
    )


COLUMN = {"name": "Size", "type": "integer", "jsonPath": ".spec.size"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"jsonPath": "spec.size"}, "JSONPath",
         'Invalid value: "spec.size": must be a simple json path starting with .'),
        ({"jsonPath": ""}, "JSONPath", "Required value"),
        ({"type": "time"}, "type",
         'Invalid value: "time": must be one of boolean,date,integer,number,string'),
        ({"type": ""}, "type", "Required value: must be one of boolean,date,integer,number,string"),
        ({"format": "uuid"}, "format", 'Invalid value: "uuid": must be one of '
         "byte,date,date-time,double,float,int32,int64,password"),
        ({"name": ""}, "name", "Required value"),
    ],
)  # fmt: skip
def test_printer_columns(
    server: ApiServer, change: dict[str, Any], field: str, message: str
) -> None:
    """ValidateCustomResourceColumnDefinition; one version: hoisted to spec.*."""
    body = crd(version(additionalPrinterColumns=[COLUMN, {**COLUMN, **change}]))
    path = f"spec.additionalPrinterColumns[1].{field}"
    assert cause_for(refused(server, body), path)[1] == message


def test_printer_columns_of_differing_versions_keep_their_path(
    server: ApiServer,
) -> None:
    """Columns that differ between versions are validated per version."""
    bad = {**COLUMN, "jsonPath": "spec.size"}
    body = crd(
        version("v1", additionalPrinterColumns=[COLUMN]),
        version("v2", storage=False, additionalPrinterColumns=[bad]),
    )
    path = "spec.versions[1].additionalPrinterColumns[0].JSONPath"
    assert cause_for(refused(server, body), path) == (
        "FieldValueInvalid",
        'Invalid value: "spec.size": must be a simple json path starting with .',
    )


@pytest.mark.parametrize(
    ("scale", "field", "message"),
    [
        ({"specReplicasPath": ".status.n", "statusReplicasPath": ".status.n"},
         "specReplicasPath", 'Invalid value: ".status.n": should be a json path under .spec'),
        ({"specReplicasPath": ".spec.n", "statusReplicasPath": "status.n"},
         "statusReplicasPath",
         'Invalid value: "status.n": must be a simple json path starting with .'),
        ({"specReplicasPath": ".spec.n"}, "statusReplicasPath", "Required value"),
        ({"specReplicasPath": ".spec.n", "statusReplicasPath": ".status.n",
          "labelSelectorPath": ".metadata.labels"}, "labelSelectorPath",
         'Invalid value: ".metadata.labels": should be a json path under either .spec or .status'),
    ],
)  # fmt: skip
def test_scale_subresource_paths(
    server: ApiServer, scale: dict[str, Any], field: str, message: str
) -> None:
    """ValidateCustomResourceDefinitionSubresources."""
    body = crd(version(subresources={"scale": scale}))
    assert cause_for(refused(server, body), f"spec.subresources.scale.{field}")[1] == message


def test_preserve_unknown_fields_true_is_refused(server: ApiServer) -> None:
    """validatePreserveUnknownFields."""
    assert cause_for(
        refused(server, crd(preserveUnknownFields=True)), "spec.preserveUnknownFields"
    )[1] == (
        "Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to "
        "true in spec.versions[*].schema instead"
    )


def test_protected_groups_need_api_approval(server: ApiServer) -> None:
    """validateAPIApproval / apihelpers.GetAPIApprovalState."""
    body = crd(group="widgets.k8s.io")
    body["metadata"]["name"] = "widgets.widgets.k8s.io"
    assert cause_for(refused(server, body), "metadata.annotations[api-approved.kubernetes.io]") == (
        "FieldValueRequired",
        'Required value: protected groups must have approval annotation "api-approved.'
        'kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111',
    )


def test_update_keeps_group_scope_and_stored_versions(
    server: ApiServer, api: client.ApiextensionsV1Api
) -> None:
    """validateCustomResourceDefinitionSpecUpdate (group, plural; scope and kind once
    Established) and ValidateCustomResourceDefinitionStoredVersions on update."""
    created = server.create_object(crd())
    try:
        changed = dict(created, spec={**created["spec"], "scope": "Cluster"})
        status = refused(server, changed, name="widgets.example.com")
        assert cause_for(status, "spec.scope") == (
            "FieldValueInvalid",
            'Invalid value: "Cluster": field is immutable',
        )
        swapped = dict(created, spec={**created["spec"], "versions": [version("v2")]})
        status = refused(server, swapped, name="widgets.example.com")
        assert cause_for(status, "status.storedVersions[0]")[1] == (
            'Invalid value: "v1": must appear in spec.versions'
        )
    finally:
        api.delete_custom_resource_definition("widgets.example.com")


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"names": "widgets"}, "spec.names of type v1.CustomResourceDefinitionNames"),
        ({"versions": [{"name": "v1", "served": "yes"}]}, "spec.versions[0].served of type bool"),
    ],
)
def test_bodies_the_v1_types_cannot_hold_are_bad_requests(
    server: ApiServer, spec: dict[str, Any], where: str
) -> None:
    """Decoding precedes validation: a JSON value of the wrong kind is 400 BadRequest
    (apimachinery runtime serializer: "<Kind> in version "v1" cannot be handled as a
    <Kind>: json: cannot unmarshal ..."); the Go struct-field wording after it is ours."""
    status = refused(server, crd(**spec), code=400)
    assert status["reason"] == "BadRequest"
    assert status["message"].startswith(
        'CustomResourceDefinition in version "v1" cannot be handled as a '
        "CustomResourceDefinition: json: cannot unmarshal "
    )
    assert status["message"].endswith(where)


def test_a_schema_value_of_the_wrong_kind_is_a_bad_request(server: ApiServer) -> None:
    """The same for a schema node: here x-kubernetes-validations is not a list."""
    v = version()
    v["schema"]["openAPIV3Schema"]["x-kubernetes-validations"] = "self.a == 1"
    status = refused(server, crd(v), code=400)
    assert status["message"].endswith(
        "spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations "
        "of type v1.ValidationRules"
    )
