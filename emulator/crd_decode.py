"""Does a CustomResourceDefinition body decode into the ``apiextensions.k8s.io/v1`` Go types?

Role: the API server decodes a request body into typed structs before any validation; a JSON
value of the wrong kind (a string where ``properties`` wants an object, an object where
``x-kubernetes-validations`` wants a list) is a 400 ``BadRequest`` whose message starts
``CustomResourceDefinition in version "v1" cannot be handled as a CustomResourceDefinition:``
(apimachinery ``runtime/serializer``; the types are ``apis/apiextensions/v1/types.go`` and
``types_jsonschema.go``). :func:`decode_error` finds the first such value, so that validation
only ever sees well-typed input.

Guarantees: ``null`` is accepted anywhere (Go decodes it to the zero value), as upstream does.
The detail after the prefix names our JSON path and the Go type; encoding/json's own wording
of the struct-field path is not reproduced. Non-goals: unknown fields (the server drops them,
with a warning under strict field validation), number ranges.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["decode_error"]

PREFIX = 'CustomResourceDefinition in version "v1" cannot be handled as a CustomResourceDefinition'
STR, BOOL, INT, NUM = "string", "bool", "int64", "float64"
NODE = "v1.JSONSchemaProps"
VERSIONS = "[]v1.CustomResourceDefinitionVersion"
COLUMNS = "[]v1.CustomResourceColumnDefinition"
_SCHEMA_FIELDS: dict[str, str] = {
    **dict.fromkeys(
        ("id", "$schema", "$ref", "description", "type", "format", "title", "pattern",
         "x-kubernetes-list-type", "x-kubernetes-map-type"), STR),
    **dict.fromkeys(
        ("nullable", "uniqueItems", "exclusiveMaximum", "exclusiveMinimum",
         "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource",
         "x-kubernetes-int-or-string"), BOOL),
    **dict.fromkeys(("maximum", "minimum", "multipleOf"), NUM),
    **dict.fromkeys(
        ("maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties"), INT),
    **dict.fromkeys(("required", "x-kubernetes-list-map-keys"), "[]string"),
    "enum": "[]v1.JSON",
}  # fmt: skip


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _fits(value: Any, go_type: str) -> bool:
    if value is None:
        return True
    if go_type == STR:
        return isinstance(value, str)
    if go_type == BOOL:
        return isinstance(value, bool)
    if go_type == INT:
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if go_type == NUM:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if go_type == "[]string":
        return isinstance(value, list) and all(v is None or isinstance(v, str) for v in value)
    if go_type.startswith("[]"):
        return isinstance(value, list)
    return isinstance(value, dict)


def _error(path: str, value: Any, go_type: str) -> str:
    detail = f"cannot unmarshal {_kind(value)} into Go struct field {path} of type {go_type}"
    return f"{PREFIX}: json: {detail}"


def _check(obj: Mapping[str, Any], fields: Mapping[str, str], path: str) -> str | None:
    for name, go_type in fields.items():
        if name in obj and not _fits(obj[name], go_type):
            return _error(f"{path}.{name}", obj[name], go_type)
    return None


def _check_object(value: Any, go_type: str, fields: Mapping[str, str], path: str) -> str | None:
    """The error decoding ``value`` into the Go struct ``go_type`` with ``fields``, or None."""
    if not isinstance(value, dict):
        return _error(path, value, go_type)
    return _check(value, fields, path)


def _schema(node: Any, path: str) -> str | None:
    if node is None:
        return None
    if found := _check_object(node, NODE, _SCHEMA_FIELDS, path):
        return found
    for word in ("properties", "patternProperties", "definitions", "dependencies"):
        children = node.get(word)
        if children is None:
            continue
        if not isinstance(children, dict):
            return _error(f"{path}.{word}", children, f"map[string]{NODE}")
        for name, sub in children.items():
            if word == "dependencies" and isinstance(sub, list):
                continue  # JSONSchemaPropsOrStringArray
            if found := _schema(sub, f"{path}.{word}[{name}]"):
                return found
    for word in ("allOf", "anyOf", "oneOf"):
        subs = node.get(word)
        if subs is None:
            continue
        if not isinstance(subs, list):
            return _error(f"{path}.{word}", subs, f"[]{NODE}")
        for i, sub in enumerate(subs):
            if found := _schema(sub, f"{path}.{word}[{i}]"):
                return found
    items = node.get("items")
    for i, sub in enumerate(items if isinstance(items, list) else [items]):
        where = f"{path}.items[{i}]" if isinstance(items, list) else f"{path}.items"
        if found := _schema(sub, where):
            return found
    if found := _schema(node.get("not"), f"{path}.not"):
        return found
    for word in ("additionalProperties", "additionalItems"):
        sub = node.get(word)
        if not isinstance(sub, bool) and (found := _schema(sub, f"{path}.{word}")):
            return found
    rules = node.get("x-kubernetes-validations")
    if rules is not None:
        if not isinstance(rules, list):
            return _error(f"{path}.x-kubernetes-validations", rules, "v1.ValidationRules")
        rule_fields = dict.fromkeys(
            ("rule", "message", "messageExpression", "reason", "fieldPath"), STR
        )
        rule_fields["optionalOldSelf"] = BOOL
        for i, rule in enumerate(rules):
            where = f"{path}.x-kubernetes-validations[{i}]"
            if found := _check_object(rule, "v1.ValidationRule", rule_fields, where):
                return found
    return None


def decode_error(crd: Mapping[str, Any]) -> str | None:
    """The 400 message for a body the v1 types cannot hold, or None."""
    spec = crd.get("spec")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        return _error("spec", spec, "v1.CustomResourceDefinitionSpec")
    fields = {"group": STR, "scope": STR, "names": "v1.CustomResourceDefinitionNames",
              "versions": VERSIONS, "preserveUnknownFields": BOOL,
              "conversion": "*v1.CustomResourceConversion"}  # fmt: skip
    if found := _check(spec, fields, "spec"):
        return found
    names = spec.get("names") or {}
    name_fields = {"plural": STR, "singular": STR, "kind": STR, "listKind": STR,
                   "shortNames": "[]string", "categories": "[]string"}  # fmt: skip
    if found := _check(names, name_fields, "spec.names"):
        return found
    if found := _check(spec.get("conversion") or {}, {"strategy": STR}, "spec.conversion"):
        return found
    version_fields = {"name": STR, "served": BOOL, "storage": BOOL, "deprecated": BOOL,
                      "deprecationWarning": STR, "schema": "*v1.CustomResourceValidation",
                      "subresources": "*v1.CustomResourceSubresources",
                      "additionalPrinterColumns": COLUMNS}  # fmt: skip
    for i, version in enumerate(spec.get("versions") or []):
        where = f"spec.versions[{i}]"
        go_type = "v1.CustomResourceDefinitionVersion"
        if found := _check_object(version, go_type, version_fields, where):
            return found
        column_fields = {"name": STR, "type": STR, "format": STR, "description": STR,
                         "jsonPath": STR, "priority": INT}  # fmt: skip
        for j, col in enumerate(version.get("additionalPrinterColumns") or []):
            cwhere = f"{where}.additionalPrinterColumns[{j}]"
            go_type = "v1.CustomResourceColumnDefinition"
            if found := _check_object(col, go_type, column_fields, cwhere):
                return found
        sub = version.get("subresources") or {}
        if found := _check(
            sub,
            {
                "status": "*v1.CustomResourceSubresourceStatus",
                "scale": "*v1.CustomResourceSubresourceScale",
            },
            f"{where}.subresources",
        ):
            return found
        scale_fields = dict.fromkeys(
            ("specReplicasPath", "statusReplicasPath", "labelSelectorPath"), STR
        )
        if found := _check(sub.get("scale") or {}, scale_fields, f"{where}.subresources.scale"):
            return found
        schema = version.get("schema") or {}
        if found := _schema(schema.get("openAPIV3Schema"), f"{where}.schema.openAPIV3Schema"):
            return found
    return None
