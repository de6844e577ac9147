"""CRD apply-time schema checks, from the CRD docs "Specifying a structural schema" and the
apiextensions-apiserver validation of ``openAPIV3Schema`` (what ``kubectl apply`` of a CRD is
refused for). Each test feeds one defect and expects a SchemaError naming its path."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.schema import SchemaError, StructuralSchema


def _version(schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}


def _root(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


def _errors(schema: dict[str, Any]) -> list[str]:
    with pytest.raises(SchemaError) as info:
        StructuralSchema.from_crd_version(_version(schema))
    assert info.value.errors, "a SchemaError must list its problems"
    return info.value.errors


def test_a_structural_schema_is_accepted() -> None:
    """The docs' structural example is accepted as is."""
    schema = _root(
        spec=_root(
            cronSpec={"type": "string", "pattern": r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$"},
            replicas={"type": "integer", "minimum": 1, "maximum": 10},
        )
    )
    assert StructuralSchema.from_crd_version(_version(schema)) is not None


def test_missing_schema_is_refused() -> None:
    """apiextensions/v1 requires a schema for every version."""
    with pytest.raises(SchemaError):
        StructuralSchema.from_crd_version({"name": "v1"})


def test_root_must_be_an_object() -> None:
    """The root of a structural schema has type object."""
    assert any("must be object at the root" in e for e in _errors({"type": "string"}))


def test_every_specified_field_needs_a_type() -> None:
    """Structural rule 1: a non-empty type for every field of properties / items."""
    errors = _errors(_root(spec={"properties": {"a": {"type": "string"}}}))
    assert errors == [
        "schema.openAPIV3Schema.properties[spec].type: Required value: "
        "must not be empty for specified object fields"
    ]


def test_int_or_string_and_preserve_unknown_fields_need_no_type() -> None:
    """The two exceptions to rule 1: x-kubernetes-int-or-string and preserve-unknown-fields."""
    schema = _root(
        port={"x-kubernetes-int-or-string": True},
        blob={"x-kubernetes-preserve-unknown-fields": True},
    )
    assert StructuralSchema.from_crd_version(_version(schema)) is not None


def test_int_or_string_excludes_preserve_unknown_fields_and_embedded_resource() -> None:
    """schema/validation.go validateExtensions: int-or-string with preserve-unknown-fields or
    embedded-resource. (Upstream has no rule against int-or-string *with* a type: the v1 type
    docs say an empty type "is allowed", not required.)"""
    port = {
        "x-kubernetes-int-or-string": True,
        "x-kubernetes-preserve-unknown-fields": True,
        "x-kubernetes-embedded-resource": True,
        "properties": {"a": {"type": "string"}},
    }
    errors = _errors(_root(port=port))
    p = "schema.openAPIV3Schema.properties[port]"
    why = "Invalid value: true: must be false if x-kubernetes-int-or-string is true"
    assert f"{p}.x-kubernetes-preserve-unknown-fields: {why}" in errors
    assert f"{p}.x-kubernetes-embedded-resource: {why}" in errors


def test_type_inside_a_logical_junctor_is_refused() -> None:
    """Structural rule 3: no type/default/description/nullable inside allOf/anyOf/oneOf/not."""
    spec = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "anyOf": [{"type": "object"}],
    }
    errors = _errors(_root(spec=spec))
    assert any("properties[spec].anyOf[0].type: Forbidden" in e for e in errors)


def test_int_or_string_anyof_pattern_is_allowed() -> None:
    """The documented exception: anyOf [integer, string] under x-kubernetes-int-or-string."""
    port = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert StructuralSchema.from_crd_version(_version(_root(port=port))) is not None


def test_field_only_inside_a_junctor_is_refused() -> None:
    """Structural rule 2 (schema/complete.go, validateStructuralCompleteness): a field named
    in a junctor must also be specified outside; reported at the missing outside field.
    Upstream starts this walk at the root's junctors only (``validateValueValidationCompleteness
    (s.ValueValidation, s, ...)``), so a junctor nested under a property is not checked."""
    root = _root(a={"type": "string"})
    root["oneOf"] = [{"properties": {"b": {"properties": {"c": {}}}}}]
    p = "schema.openAPIV3Schema"
    assert _errors(root) == [
        f"{p}.properties[b]: Required value: because it is defined in {p}.oneOf[0].properties[b]"
    ]
    nested = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "oneOf": [{"properties": {"b": {}}}],
    }
    assert StructuralSchema.from_crd_version(_version(_root(spec=nested))) is not None


def test_metadata_may_only_restrict_name_and_generate_name() -> None:
    """Structural rule 4: only metadata.name / generateName may be restricted."""
    meta = {"type": "object", "properties": {"labels": {"type": "object"}}}
    errors = _errors(_root(metadata=meta))
    assert any("properties[metadata]: Forbidden" in e for e in errors)


def test_array_needs_items() -> None:
    """An array node must specify items."""
    errors = _errors(_root(list={"type": "array"}))
    assert any("properties[list].items: Required value" in e for e in errors)


def test_unsupported_keywords_are_refused() -> None:
    """$ref and patternProperties are not allowed in CRD schemas (specStandardValidatorV3;
    an empty patternProperties map is a Go zero value and passes upstream)."""
    pattern = {"type": "object", "patternProperties": {"^a": {"type": "string"}}}
    errors = _errors(_root(a=pattern, b={"$ref": "#/x"}))
    assert any("patternProperties: Forbidden" in e for e in errors)
    assert any("$ref: Forbidden" in e for e in errors)


def test_unique_items_true_is_refused() -> None:
    """v1 CRDs forbid uniqueItems: true (quadratic); use x-kubernetes-list-type: set."""
    errors = _errors(_root(a={"type": "array", "items": {"type": "string"}, "uniqueItems": True}))
    assert any("uniqueItems: Forbidden" in e for e in errors)


def test_properties_and_additional_properties_are_exclusive() -> None:
    """additionalProperties and properties are mutually exclusive."""
    node = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": {"type": "string"},
    }
    assert any("mutual exclusive" in e for e in _errors(_root(m=node)))


def test_list_map_keys_must_be_required_scalars() -> None:
    """x-kubernetes-list-type: map needs list-map-keys naming required or defaulted scalars."""
    items = {"type": "object", "properties": {"name": {"type": "string"}}}
    node = {
        "type": "array",
        "items": items,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
    }
    errors = _errors(_root(l=node))
    assert any("must have a default or be a required property" in e for e in errors)


def test_set_of_objects_is_refused() -> None:
    """x-kubernetes-list-type: set needs scalar (or atomic) items."""
    node = {
        "type": "array",
        "x-kubernetes-list-type": "set",
        "items": {"type": "object", "properties": {"a": {"type": "string"}}},
    }
    assert any("x-kubernetes-list-type=set" in e for e in _errors(_root(s=node)))


def test_default_must_validate_against_its_schema() -> None:
    """Defaulting docs: default values must validate against the schema they sit in."""
    errors = _errors(_root(port={"type": "integer", "maximum": 10, "default": 20}))
    assert errors == [
        "schema.openAPIV3Schema.properties[port].default: Invalid value: 20: "
        "body in body should be less than or equal to 10"
    ]


def test_default_must_be_pruned() -> None:
    """Defaulting docs: default values must be pruned (no unknown fields)."""
    node = {"type": "object", "properties": {"a": {"type": "string"}}, "default": {"b": "x"}}
    assert any("must not have unknown fields" in e for e in _errors(_root(o=node)))


def test_all_problems_are_reported_together() -> None:
    """One SchemaError lists every problem, as the server lists every cause in its 422."""
    errors = _errors(_root(a={}, b={"type": "array"}, c={"type": "strin"}))
    assert len(errors) == 3


def test_the_schema_is_copied() -> None:
    """Mutating the CRD dict afterwards does not change an accepted schema."""
    schema = _root(a={"type": "string", "maxLength": 2})
    accepted = StructuralSchema.from_crd_version(_version(schema))
    schema["properties"]["a"]["maxLength"] = 100
    assert [e.reason for e in accepted.validate({"a": "abc"})] == ["FieldValueTooLong"]
