"""Value validation, from the CRD docs "Validation" and the 422 causes the API server returns
(kube-openapi messages mapped to field.Error types by apiextensions-apiserver)."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.schema import FieldError, StructuralSchema


def _schema(**props: Any) -> StructuralSchema:
    root = {"type": "object", "properties": props}
    return StructuralSchema.from_crd_version({"schema": {"openAPIV3Schema": root}})


def _one(schema: StructuralSchema, obj: dict[str, Any]) -> FieldError:
    errors = schema.validate(obj)
    assert len(errors) == 1, errors
    return errors[0]


SPEC: dict[str, Any] = {
    "type": "object",
    "required": ["schedule"],
    "properties": {
        "schedule": {"type": "string", "minLength": 1},
        "port": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 65535},
        "type": {"type": "string", "enum": ["postgresql", "mysql"]},
        "retention": {"type": "string", "pattern": "^[0-9]+h$"},
        "storage": {
            "type": "object",
            "properties": {
                "s3": {
                    "type": "object",
                    "required": ["bucket"],
                    "properties": {"bucket": {"type": "string", "maxLength": 63}},
                }
            },
        },
        "tolerations": {
            "type": "array",
            "maxItems": 2,
            "items": {"type": "object", "properties": {"key": {"type": "string"}}},
        },
    },
}


def test_valid_object_has_no_errors() -> None:
    obj = {"spec": {"schedule": "0 1 * * *", "port": 5432, "type": "mysql"}}
    assert _schema(spec=SPEC).validate(obj) == []


def test_required_field_missing() -> None:
    """required -> FieldValueRequired at parent.child."""
    err = _one(_schema(spec=SPEC), {"spec": {"storage": {"s3": {}}, "schedule": "x"}})
    assert err == FieldError("spec.storage.s3.bucket", "FieldValueRequired", "Required value")


def test_wrong_type() -> None:
    """type mismatch -> FieldValueTypeInvalid '... must be of type integer: "string"'."""
    err = _one(_schema(spec=SPEC), {"spec": {"schedule": "x", "port": "abc"}})
    assert err.field == "spec.port"
    assert err.reason == "FieldValueTypeInvalid"
    assert err.message.startswith('Invalid value: "abc": spec.port in body must be of type integer')


def test_enum() -> None:
    """enum -> FieldValueNotSupported with the supported values listed."""
    errors = _schema(spec=SPEC).validate({"spec": {"schedule": "x", "type": "oracle"}})
    assert errors[0] == FieldError(
        "spec.type",
        "FieldValueNotSupported",
        'Unsupported value: "oracle": supported values: "postgresql", "mysql"',
    )


def test_maximum() -> None:
    """maximum -> FieldValueInvalid 'should be less than or equal to'."""
    err = _one(_schema(spec=SPEC), {"spec": {"schedule": "x", "port": 70000}})
    assert err == FieldError(
        "spec.port",
        "FieldValueInvalid",
        "Invalid value: 70000: spec.port in body should be less than or equal to 65535",
    )


def test_minimum() -> None:
    err = _one(_schema(spec=SPEC), {"spec": {"schedule": "x", "port": 0}})
    assert "should be greater than or equal to 1" in err.message


@pytest.mark.parametrize(
    ("node", "value", "text"),
    [
        ({"type": "integer", "maximum": 5, "exclusiveMaximum": True}, 5, "should be less than 5"),
        (
            {"type": "integer", "minimum": 5, "exclusiveMinimum": True},
            5,
            "should be greater than 5",
        ),
        ({"type": "integer", "multipleOf": 3}, 4, "should be a multiple of 3"),
    ],
)
def test_exclusive_bounds_and_multiple_of(node: dict[str, Any], value: int, text: str) -> None:
    """exclusiveMaximum / exclusiveMinimum / multipleOf."""
    err = _one(_schema(n=node), {"n": value})
    assert err.reason == "FieldValueInvalid"
    assert text in err.message


def test_max_length() -> None:
    """maxLength -> FieldValueTooLong."""
    obj = {"spec": {"schedule": "x", "storage": {"s3": {"bucket": "b" * 64}}}}
    err = _one(_schema(spec=SPEC), obj)
    assert (err.field, err.reason) == ("spec.storage.s3.bucket", "FieldValueTooLong")
    assert "63" in err.message


def test_min_length() -> None:
    err = _one(_schema(spec=SPEC), {"spec": {"schedule": ""}})
    assert err.field == "spec.schedule"
    assert "should be at least 1 chars long" in err.message


def test_pattern() -> None:
    """pattern -> 'should match'."""
    err = _one(_schema(spec=SPEC), {"spec": {"schedule": "x", "retention": "14d"}})
    assert err.message == (
        "Invalid value: \"14d\": spec.retention in body should match '^[0-9]+h$'"
    )


def test_max_items_names_the_list() -> None:
    """maxItems -> FieldValueTooMany."""
    obj = {"spec": {"schedule": "x", "tolerations": [{}, {}, {}]}}
    err = _one(_schema(spec=SPEC), obj)
    assert (err.field, err.reason) == ("spec.tolerations", "FieldValueTooMany")


def test_item_errors_carry_the_index() -> None:
    """Paths into arrays use [i], as the server prints spec.tolerations[0].key."""
    obj = {"spec": {"schedule": "x", "tolerations": [{"key": 1}]}}
    assert _one(_schema(spec=SPEC), obj).field == "spec.tolerations[0].key"


def test_min_items_and_properties() -> None:
    schema = _schema(
        l={"type": "array", "minItems": 1, "items": {"type": "string"}},
        m={
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": {"type": "string"},
        },
    )
    reasons = {e.field: e.reason for e in schema.validate({"l": [], "m": {"a": "1", "b": "2"}})}
    assert reasons == {"l": "FieldValueInvalid", "m": "FieldValueTooMany"}


def test_map_values_are_validated_with_key_paths() -> None:
    """additionalProperties validates each value; the path shows the key in brackets."""
    schema = _schema(m={"type": "object", "additionalProperties": {"type": "integer"}})
    assert _one(schema, {"m": {"k": "v"}}).field == "m[k]"


def test_int_or_string() -> None:
    """x-kubernetes-int-or-string accepts both and refuses anything else."""
    schema = _schema(p={"x-kubernetes-int-or-string": True})
    assert schema.validate({"p": 1}) == schema.validate({"p": "1"}) == []
    assert _one(schema, {"p": 1.5}).reason == "FieldValueTypeInvalid"


def test_number_accepts_integers() -> None:
    """JSON numbers: an integer is a valid ``number``."""
    assert _schema(n={"type": "number"}).validate({"n": 3}) == []


def test_boolean_is_not_an_integer() -> None:
    assert _one(_schema(n={"type": "integer"}), {"n": True}).reason == "FieldValueTypeInvalid"


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("date-time", "2025-03-27T01:00:00Z", "yesterday"),
        ("int32", 2**31 - 1, 2**31),
        ("int64", 2**63 - 1, 2**63),
    ],
)
def test_formats(fmt: str, good: Any, bad: Any) -> None:
    """format date-time / int32 / int64 are enforced."""
    kind = "string" if fmt == "date-time" else "integer"
    schema = _schema(v={"type": kind, "format": fmt})
    assert schema.validate({"v": good}) == []
    assert _one(schema, {"v": bad}).reason == "FieldValueTypeInvalid"


def test_unknown_formats_are_accepted() -> None:
    assert _schema(v={"type": "string", "format": "hostname-ish"}).validate({"v": "!"}) == []


def test_null_needs_nullable() -> None:
    """A null value is only valid where nullable: true."""
    assert _one(_schema(v={"type": "string"}), {"v": None}).reason == "FieldValueTypeInvalid"
    assert _schema(v={"type": "string", "nullable": True}).validate({"v": None}) == []


ONE_OF = {
    "type": "object",
    "properties": {"s3": {"type": "object"}, "gcs": {"type": "object"}},
    "oneOf": [{"required": ["s3"]}, {"required": ["gcs"]}],
}


def test_one_of() -> None:
    """oneOf: exactly one branch must validate."""
    schema = _schema(storage=ONE_OF)
    assert schema.validate({"storage": {"s3": {}}}) == []
    err = _one(schema, {"storage": {"s3": {}, "gcs": {}}})
    assert "must validate one and only one schema (oneOf)" in err.message
    assert err.field == "storage"


def test_any_of_all_of_not() -> None:
    node = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "anyOf": [{"required": ["a"]}, {"required": ["b"]}],
        "allOf": [{"properties": {"a": {"maxLength": 2}}}],
        "not": {"required": ["a", "b"]},
    }
    schema = _schema(o=node)
    assert schema.validate({"o": {"a": "x"}}) == []
    assert "(anyOf)" in _one(schema, {"o": {}}).message
    assert "(allOf)" in _one(schema, {"o": {"a": "long"}}).message
    assert "(not)" in _one(schema, {"o": {"a": "x", "b": "y"}}).message


def test_list_type_set_duplicates() -> None:
    """x-kubernetes-list-type: set -> FieldValueDuplicate at the repeated index."""
    schema = _schema(
        s={"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}
    )
    assert _one(schema, {"s": ["a", "b", "a"]}) == FieldError(
        "s[2]", "FieldValueDuplicate", 'Duplicate value: "a"'
    )


def test_list_type_map_duplicate_keys() -> None:
    """x-kubernetes-list-type: map -> items unique by x-kubernetes-list-map-keys."""
    items = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "v": {"type": "string"}},
    }
    node = {
        "type": "array",
        "items": items,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
    }
    schema = _schema(m=node)
    assert schema.validate({"m": [{"name": "a"}, {"name": "b"}]}) == []
    err = _one(schema, {"m": [{"name": "a", "v": "1"}, {"name": "a", "v": "2"}]})
    assert (err.field, err.reason) == ("m[1]", "FieldValueDuplicate")


def test_every_error_is_reported() -> None:
    """The 422 lists every cause, not only the first."""
    obj = {"spec": {"port": 0, "type": "x", "retention": "x"}}
    fields = sorted(e.field for e in _schema(spec=SPEC).validate(obj))
    assert fields == ["spec.port", "spec.retention", "spec.schedule", "spec.type"]


def test_metadata_is_left_to_the_server() -> None:
    """Root metadata is not validated against the schema (the server validates ObjectMeta)."""
    assert _schema(spec=SPEC).validate({"metadata": {"name": 1, "whatever": True}}) == []
