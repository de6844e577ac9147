"""CRD schema rules over HTTP: one offending ``openAPIV3Schema`` per test, checked against the
422 cause kube-apiserver gives (path under ``spec.validation.openAPIV3Schema``, the internal
path of a single-version CRD).

Upstream, apiextensions-apiserver: ``pkg/apis/apiextensions/validation/validation.go``
(``validateCustomResourceDefinitionValidation``, ``ValidateCustomResourceDefinitionOpenAPISchema``,
``specStandardValidatorV3.validate``, ``validateMapListKeysMapSet``), ``pkg/apiserver/schema/
validation.go`` (``validateStructuralInvariants``, ``validateExtensions``,
``validateNestedValueValidation``), ``schema/convert.go`` (``NewStructural``) and
``schema/defaulting/validation.go`` (``ValidateDefaults``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulator.server import ApiServer
from tests.emulator.crd_support import causes, crd, refused, schema, version

P = "spec.validation.openAPIV3Schema"


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    """One emulator: CRDs posted here are refused, or deleted by the test that made them."""
    with ApiServer() as s:
        yield s


def _with_root(root: dict[str, Any], **extra: Any) -> dict[str, Any]:
    v = version(**extra)
    v["schema"]["openAPIV3Schema"] = root
    return crd(v)


def _with(**props: Any) -> dict[str, Any]:
    return _with_root(schema(**props))


ROWS: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    (
        "validateExtensions: int-or-string excludes preserve-unknown-fields",
        _with(a={"x-kubernetes-int-or-string": True, "x-kubernetes-preserve-unknown-fields": True}),
        [(f"{P}.properties[a].x-kubernetes-preserve-unknown-fields", "FieldValueInvalid",
          "Invalid value: true: must be false if x-kubernetes-int-or-string is true")],
    ),
    (
        "validateStructuralInvariants: an embedded resource without properties",
        _with(a={"type": "object", "x-kubernetes-embedded-resource": True}),
        [(f"{P}.properties[a].properties", "FieldValueRequired",
          "Required value: must not be empty if x-kubernetes-embedded-resource is true without "
          "x-kubernetes-preserve-unknown-fields")],
    ),
    (
        "validateStructuralInvariants: an embedded resource is an object",
        _with(a={"x-kubernetes-embedded-resource": True,
                 "x-kubernetes-preserve-unknown-fields": True}),
        [(f"{P}.properties[a].type", "FieldValueRequired",
          "Required value: must be object if x-kubernetes-embedded-resource is true")],
    ),
    (
        "specStandardValidatorV3: no embedded resource inside resource meta",
        _with(a={"type": "object", "x-kubernetes-embedded-resource": True,
                 "x-kubernetes-preserve-unknown-fields": True,
                 "properties": {"metadata": {"type": "object", "properties": {
                     "x": {"type": "object", "x-kubernetes-embedded-resource": True,
                           "x-kubernetes-preserve-unknown-fields": True}}}}}),
        [(f"{P}.properties[a].properties[metadata].properties[x].x-kubernetes-embedded-resource",
          "FieldValueForbidden", "Forbidden: must not be used inside of resource meta")],
    ),
    (
        "x-kubernetes-map-type is atomic or granular",
        _with(a={"type": "object", "x-kubernetes-map-type": "bogus",
                 "additionalProperties": {"type": "string"}}),
        [(f"{P}.properties[a].x-kubernetes-map-type", "FieldValueNotSupported",
          'Unsupported value: "bogus": supported values: "atomic", "granular"')],
    ),
    (
        "x-kubernetes-map-type needs type object",
        _with(a={"type": "string", "x-kubernetes-map-type": "atomic"}),
        [(f"{P}.properties[a].type", "FieldValueInvalid",
          'Invalid value: "string": must be object if x-kubernetes-map-type is specified')],
    ),
    (
        "x-kubernetes-list-type needs type array",
        _with(a={"type": "object", "x-kubernetes-list-type": "set"}),
        [(f"{P}.properties[a].type", "FieldValueInvalid",
          'Invalid value: "object": must be array if x-kubernetes-list-type is specified')],
    ),
    (
        "x-kubernetes-list-type is atomic, set or map",
        _with(a={"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "bag"}),
        [(f"{P}.properties[a].x-kubernetes-list-type", "FieldValueNotSupported",
          'Unsupported value: "bag": supported values: "atomic", "set", "map"')],
    ),
    (
        "list-map-keys need list-type map",
        _with(a={"type": "array", "items": {"type": "string"},
                 "x-kubernetes-list-map-keys": ["k"]}),
        [(f"{P}.properties[a].x-kubernetes-list-type", "FieldValueRequired",
          "Required value: must be map if x-kubernetes-list-map-keys is non-empty")],
    ),
    (
        "list-map-keys must name item properties",
        _with(a={"type": "array", "x-kubernetes-list-type": "map",
                 "x-kubernetes-list-map-keys": ["k", "z"],
                 "items": {"type": "object", "required": ["k"],
                           "properties": {"k": {"type": "string"}}}}),
        [(f"{P}.properties[a].x-kubernetes-list-map-keys", "FieldValueInvalid",
          'Invalid value: []string{"k", "z"}: entries must all be names of item properties')],
    ),
    (
        "validateMapListKeysMapSet: a map key needs a default or must be required",
        _with(a={"type": "array", "x-kubernetes-list-type": "map",
                 "x-kubernetes-list-map-keys": ["k"],
                 "items": {"type": "object", "properties": {"k": {"type": "string"}}}}),
        [(f"{P}.properties[a].items.properties[k].default", "FieldValueRequired",
          "Required value: this property is in x-kubernetes-list-map-keys, so it must have a "
          "default or be a required property")],
    ),
    (
        "a set of objects needs atomic items (upstream prints the items' list-type: null)",
        _with(a={"type": "array", "x-kubernetes-list-type": "set",
                 "items": {"type": "object", "properties": {"k": {"type": "string"}}}}),
        [(f"{P}.properties[a].items.x-kubernetes-map-type", "FieldValueInvalid",
          'Invalid value: "null": must be atomic as item of a list with '
          "x-kubernetes-list-type=set")],
    ),
    (
        "x-kubernetes-preserve-unknown-fields: false (NewStructural fails: structural "
        "checks are skipped, only the OpenAPI error is reported)",
        _with(a={"x-kubernetes-preserve-unknown-fields": False}),
        [(f"{P}.properties[a].x-kubernetes-preserve-unknown-fields", "FieldValueInvalid",
          "Invalid value: false: must be true or undefined")],
    ),
    (
        "$schema: only NewStructural refuses it, reported when nothing else is wrong",
        _with_root({**schema(), "$schema": "http://json-schema.org/draft-04/schema#"}),
        [(P, "FieldValueInvalid",
          "Invalid value: \"\": OpenAPIV3Schema 'schema' is not supported")],
    ),
    (
        "additionalProperties at the root",
        _with_root({"type": "object", "additionalProperties": {"type": "string"}}),
        [(f"{P}.additionalProperties", "FieldValueForbidden",
          "Forbidden: must not be used at the root")],
    ),
    (
        "nullable at the root",
        _with_root({**schema(), "nullable": True}),
        [(f"{P}.nullable", "FieldValueForbidden",
          "Forbidden: nullable cannot be true at the root")],
    ),
    (
        "kind must be a string at the root",
        _with(kind={"type": "integer"}),
        [(f"{P}.properties[kind].type", "FieldValueInvalid",
          'Invalid value: "integer": must be string')],
    ),
    (
        "the status subresource restricts the root's keywords",
        _with_root({**schema(), "maxProperties": 5}, subresources={"status": {}}),
        [(P, "FieldValueInvalid",
          "Invalid value: apiextensions.JSONSchemaProps{...}: only [Description Type Format "
          "Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern "
          "MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example "
          "XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if "
          "the status subresource is enabled")],
    ),
    (
        "validateNestedValueValidation: no x-kubernetes-validations inside a junctor",
        _with(a={"type": "string", "anyOf": [{"x-kubernetes-validations": [{"rule": "true"}]}]}),
        [(f"{P}.properties[a].anyOf[0].x-kubernetes-validations", "FieldValueForbidden",
          "Forbidden: must be empty to be structural")],
    ),
    (
        "validateNestedValueValidation: no metadata in a nested context",
        _with(a={"type": "object", "properties": {"metadata": {"type": "object"}},
                 "allOf": [{"properties": {"metadata": {"maxProperties": 1}}}]}),
        [(f"{P}.properties[a].allOf[0].properties[metadata]", "FieldValueForbidden",
          "Forbidden: must not be specified in a nested context")],
    ),
    (
        "type is among the OpenAPI v3 types (sorted, as sets.List gives them)",
        _with(a={"type": "strin"}),
        [(f"{P}.properties[a].type", "FieldValueNotSupported",
          'Unsupported value: "strin": supported values: "array", "boolean", "integer", '
          '"number", "object", "string"')],
    ),
    (
        "ValidateDefaults: a default must be pruned",
        _with(o={"type": "object", "properties": {"a": {"type": "string"}},
                 "default": {"a": "x", "b": 1}}),
        [(f"{P}.properties[o].default", "FieldValueInvalid",
          'Invalid value: map[string]interface {}{"a":"x", "b":1}: must not have unknown fields')],
    ),
    (
        "ValidateDefaults: a default must validate (errors below the default's path)",
        _with(o={"type": "object", "properties": {"a": {"type": "string", "maxLength": 1}},
                 "default": {"a": "xy"}}),
        [(f"{P}.properties[o].default.a", "FieldValueTooLong",
          "Too long: may not be more than 1 bytes")],
    ),
    (
        "x-kubernetes-validations: a rule is required",
        _with(a={"type": "string", "x-kubernetes-validations": [{"rule": " "}]}),
        [(f"{P}.properties[a].x-kubernetes-validations[0].rule", "FieldValueRequired",
          "Required value: rule is not specified")],
    ),
    (
        "x-kubernetes-validations: a multi-line rule needs a message",
        _with(a={"type": "string", "x-kubernetes-validations": [{"rule": "true &&\ntrue"}]}),
        [(f"{P}.properties[a].x-kubernetes-validations[0].message", "FieldValueRequired",
          "Required value: message must be specified if rule contains line breaks")],
    ),
    (
        "x-kubernetes-validations: fieldPath must name a field",
        _with(a={"type": "object", "properties": {"b": {"type": "string"}},
                 "x-kubernetes-validations": [{"rule": "true", "fieldPath": ".c"}]}),
        [(f"{P}.properties[a].x-kubernetes-validations[0].fieldPath", "FieldValueInvalid",
          'Invalid value: ".c": fieldPath must be a valid path')],
    ),
    (
        "withForbidOldSelfValidations: no transition rule inside items of a non-map list",
        _with(a={"type": "array", "items": {"type": "object", "properties": {"k": {
            "type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}}}}),
        [(f"{P}.properties[a].items.properties[k].x-kubernetes-validations[0].rule",
          "FieldValueInvalid", 'Invalid value: "self == oldSelf": oldSelf cannot be used on the '
          f"uncorrelatable portion of the schema within {P}.properties[a]")],
    ),
    (
        "x-kubernetes-validations: reason is one of the four field.Error types",
        _with(a={"type": "string",
                 "x-kubernetes-validations": [{"rule": "true", "reason": "Nope"}]}),
        [(f"{P}.properties[a].x-kubernetes-validations[0].reason", "FieldValueNotSupported",
          'Unsupported value: "Nope": supported values: "FieldValueDuplicate", '
          '"FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"')],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "body", "expected"), ROWS, ids=[r[0][:60] for r in ROWS])
def test_schema_rule(
    server: ApiServer, rule: str, body: dict[str, Any], expected: list[tuple[str, str, str]]
) -> None:
    """Each row names the upstream rule; the 422 lists exactly the expected causes."""
    assert causes(refused(server, body)) == expected, rule


def test_cel_compile_errors_name_the_rule(server: ApiServer) -> None:
    """A rule that does not compile: field.Invalid(<rule path>, <ValidationRule>, "compilation
    failed: ..."); cel-go's detail text is not reproduced, its prefix is."""
    body = _with(a={"type": "string", "x-kubernetes-validations": [{"rule": "self.size( > 1"}]})
    [(field, reason, message)] = causes(refused(server, body))
    assert field == f"{P}.properties[a].x-kubernetes-validations[0].rule"
    assert reason == "FieldValueInvalid"
    assert message.startswith(
        "Invalid value: apiextensions.ValidationRule{...}: compilation failed: "
    )


def test_transition_rules_are_allowed_in_map_lists(server: ApiServer) -> None:
    """Items of an x-kubernetes-list-type=map list are correlatable: oldSelf is allowed."""
    item = {
        "type": "object",
        "required": ["k"],
        "properties": {
            "k": {"type": "string"},
            "v": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]},
        },
    }
    lst = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["k"],
        "items": item,
    }
    body = _with(a=lst)
    server.create_object(body)
    server.delete_object(body["apiVersion"], body["kind"], body["metadata"]["name"])


def test_structural_errors_are_sorted(server: ApiServer) -> None:
    """ValidateStructural sorts its errors by their text."""
    body = _with(z={}, b={"type": "array"}, a={})
    assert [c[0] for c in causes(refused(server, body))] == [
        f"{P}.properties[a].type",
        f"{P}.properties[b].items",
        f"{P}.properties[z].type",
    ]


def test_repeated_causes_appear_once_in_the_message(server: ApiServer) -> None:
    """One cause per missing map key (ValidateCustomResourceDefinitionOpenAPISchema), but
    field.ErrorList.ToAggregate drops repeated texts from the Status message."""
    body = _with(
        a={
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["x", "y"],
            "items": {"type": "object", "properties": {"k": {"type": "string"}}},
        }
    )
    status = refused(server, body)
    text = (
        f'{P}.properties[a].x-kubernetes-list-map-keys: Invalid value: []string{{"x", "y"}}: '
        "entries must all be names of item properties"
    )
    assert [f"{f}: {m}" for f, _, m in causes(status)] == [text, text]
    assert status["message"] == (
        f'CustomResourceDefinition.apiextensions.k8s.io "widgets.example.com" is invalid: {text}'
    )
