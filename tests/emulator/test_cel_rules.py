"""``x-kubernetes-validations`` (CRD docs, "Validation rules"): rules compile when the CRD is
applied -- an unsupported rule is an explicit error then, never skipped -- and failures are
reported like the API server (``FieldValueInvalid`` with ``Invalid value: "object": <message>``,
or the rule's ``reason``, at the rule's location plus its ``fieldPath``)."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.schema import FieldError, SchemaError, StructuralSchema

ONE_STORAGE = "(has(self.s3) ? 1 : 0) + (has(self.gcs) ? 1 : 0) + (has(self.pvc) ? 1 : 0) == 1"
STORAGE = {
    "type": "object",
    "properties": {
        "s3": {"type": "object", "properties": {"bucket": {"type": "string"}}},
        "gcs": {"type": "object", "properties": {"bucket": {"type": "string"}}},
        "pvc": {"type": "object", "properties": {"claimName": {"type": "string"}}},
    },
}


def _schema(root: dict[str, Any]) -> StructuralSchema:
    return StructuralSchema.from_crd_version({"schema": {"openAPIV3Schema": root}})


def _with_rules(node: dict[str, Any], *rules: dict[str, Any]) -> dict[str, Any]:
    return {**node, "x-kubernetes-validations": list(rules)}


def _root_with(name: str, node: dict[str, Any]) -> StructuralSchema:
    return _schema({"type": "object", "properties": {name: node}})


def _refused(node: dict[str, Any]) -> list[str]:
    with pytest.raises(SchemaError) as info:
        _root_with("v", node)
    return info.value.errors


def test_exactly_one_storage_rule() -> None:
    """The kubebuilder one-of rule with has(): passes for one, fails for two or none."""
    schema = _root_with("storage", _with_rules(STORAGE, {"rule": ONE_STORAGE}))
    assert schema.validate({"storage": {"s3": {"bucket": "b"}}}) == []
    errors = schema.validate({"storage": {"s3": {}, "gcs": {}}})
    assert errors == [
        FieldError(
            "storage", "FieldValueInvalid", f'Invalid value: "object": failed rule: {ONE_STORAGE}'
        )
    ]
    assert len(schema.validate({"storage": {}})) == 1


def test_message_replaces_the_default_text() -> None:
    rule = {"rule": ONE_STORAGE, "message": "exactly one of s3, gcs or pvc must be set"}
    schema = _root_with("storage", _with_rules(STORAGE, rule))
    assert schema.validate({"storage": {}})[0].message == (
        'Invalid value: "object": exactly one of s3, gcs or pvc must be set'
    )


def test_root_rule_sees_metadata_name() -> None:
    """Docs: root rules may read self.metadata.name; root errors are reported at <nil>."""
    root = _with_rules(
        {"type": "object", "properties": {}},
        {"rule": "size(self.metadata.name) <= 48", "message": "name too long"},
    )
    schema = _schema(root)
    assert schema.validate({"metadata": {"name": "a" * 48}}) == []
    assert schema.validate({"metadata": {"name": "a" * 49}}) == [
        FieldError("<nil>", "FieldValueInvalid", 'Invalid value: "object": name too long')
    ]


def test_root_rule_cannot_see_other_metadata() -> None:
    """Docs: only metadata.name and metadata.generateName are accessible to rules."""
    errors = _refused_root({"rule": "self.metadata.labels.size() > 0"})
    assert any("undefined field 'labels'" in e for e in errors)


def _refused_root(rule: dict[str, Any]) -> list[str]:
    with pytest.raises(SchemaError) as info:
        _schema(_with_rules({"type": "object", "properties": {}}, rule))
    return info.value.errors


@pytest.mark.parametrize(
    ("rule", "value", "ok"),
    [
        ("self.matches('^[a-z]+$')", "abc", True),
        ("self.matches('^[a-z]+$')", "aBc", False),
        ("self.startsWith('s3://') && self.endsWith('/')", "s3://b/", True),
        ("self.contains('..')", "a.b", False),
        ("self.lowerAscii() == 'abc'", "ABC", True),
        ("self.upperAscii() == 'ABC'", "abc", True),
        ("self.trim() == 'x'", "  x ", True),
        ("self.split(',').size() == 3", "a,b,c", True),
        ("self.split(',').join('-') == 'a-b'", "a,b", True),
        ("self.indexOf('b') == 1 && self.lastIndexOf('b') == 3", "abab", True),
        ("self.replace('a', 'x') == 'xbxb'", "abab", True),
        ("self.substring(1, 3) == 'ba'", "abab", True),
        ("self.charAt(0) == 'a'", "abab", True),
        ("size(self) <= 3", "abcd", False),
        ("int(self) > 5", "7", True),
        ("duration(self) <= duration('336h')", "24h", True),
        ("timestamp(self) > timestamp('2020-01-01T00:00:00Z')", "2025-01-01T00:00:00Z", True),
    ],
)
def test_string_functions(rule: str, value: str, ok: bool) -> None:
    """Standard CEL plus the Kubernetes string library on a string field."""
    schema = _root_with("v", _with_rules({"type": "string"}, {"rule": rule}))
    assert (schema.validate({"v": value}) == []) is ok


@pytest.mark.parametrize(
    ("rule", "ok"),
    [
        ("self.all(x, x > 0)", True),
        ("self.exists(x, x == 2)", True),
        ("self.exists_one(x, x > 1)", False),
        ("self.map(x, x * 2).exists(y, y == 6)", True),
        ("self.filter(x, x > 1).size() == 2", True),
        ("2 in self", True),
        ("size(self) == 3 && self[0] == 1", True),
    ],
)
def test_list_macros(rule: str, ok: bool) -> None:
    """Macros all / exists / exists_one / map / filter and list functions."""
    node = {"type": "array", "items": {"type": "integer"}}
    schema = _root_with("v", _with_rules(node, {"rule": rule}))
    assert (schema.validate({"v": [1, 2, 3]}) == []) is ok


def test_map_rules() -> None:
    """Rules on additionalProperties maps: keys via all(), values via indexing."""
    node = {"type": "object", "additionalProperties": {"type": "string"}}
    rule = {"rule": "self.all(k, k.startsWith('x-') && self[k] != '')"}
    schema = _root_with("v", _with_rules(node, rule))
    assert schema.validate({"v": {"x-a": "1"}}) == []
    assert len(schema.validate({"v": {"y": "1"}})) == 1


def test_rules_on_array_items_report_the_item_path() -> None:
    """A rule under items is evaluated per element and reported at [i]."""
    item = _with_rules(
        {"type": "object", "properties": {"k": {"type": "string"}}}, {"rule": "has(self.k)"}
    )
    schema = _root_with("v", {"type": "array", "items": item})
    assert [e.field for e in schema.validate({"v": [{"k": "a"}, {}]})] == ["v[1]"]


def test_transition_rule_runs_only_on_update() -> None:
    """Docs: rules using oldSelf are transition rules, evaluated only when an old value exists."""
    node = _with_rules({"type": "string"}, {"rule": "self == oldSelf", "message": "immutable"})
    schema = _root_with("v", node)
    assert schema.validate({"v": "a"}) == []  # create
    assert schema.validate({"v": "a"}, old={"v": "a"}) == []
    assert schema.validate({"v": "b"}, old={"v": "a"}) == [
        FieldError("v", "FieldValueInvalid", 'Invalid value: "string": immutable')
    ]


def test_transition_rule_skipped_when_the_field_is_new() -> None:
    node = _with_rules({"type": "string"}, {"rule": "self == oldSelf"})
    assert _root_with("v", node).validate({"v": "b"}, old={}) == []


def test_message_expression() -> None:
    """messageExpression builds the message from the value."""
    rule = {"rule": "self <= 10", "messageExpression": "'got ' + string(self) + ', max 10'"}
    schema = _root_with("v", _with_rules({"type": "integer"}, rule))
    assert schema.validate({"v": 11})[0].message == 'Invalid value: "integer": got 11, max 10'


def test_field_path_and_reason() -> None:
    """fieldPath moves the error below the rule's node; reason picks the error type."""
    rule = {
        "rule": "has(self.bucket)",
        "fieldPath": ".bucket",
        "reason": "FieldValueRequired",
        "message": "bucket is required",
    }
    node = _with_rules({"type": "object", "properties": {"bucket": {"type": "string"}}}, rule)
    assert _root_with("s3", node).validate({"s3": {}}) == [
        FieldError("s3.bucket", "FieldValueRequired", "Required value: bucket is required")
    ]


def test_forbidden_reason() -> None:
    rule = {"rule": "!has(self.x)", "reason": "FieldValueForbidden", "message": "no x"}
    node = _with_rules({"type": "object", "properties": {"x": {"type": "string"}}}, rule)
    assert _root_with("o", node).validate({"o": {"x": "1"}})[0].message == "Forbidden: no x"


def test_evaluation_error_is_reported_not_raised() -> None:
    """Reading an absent field is a runtime error: reported as an invalid value."""
    node = _with_rules(STORAGE, {"rule": "self.s3.bucket == 'b'"})
    errors = _root_with("storage", node).validate({"storage": {}})
    assert len(errors) == 1
    assert "no such key: s3" in errors[0].message


def test_type_errors_block_rules() -> None:
    """The server skips CEL when the object has type errors and says so."""
    node = _with_rules({"type": "integer"}, {"rule": "self > 0"})
    errors = _root_with("v", node).validate({"v": "x"})
    assert errors[-1].field == "<nil>"
    assert "some validation rules were not checked" in errors[-1].message


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("self.size( > 1", "compilation failed"),
        ("url(self).getHost() == 'a'", "unsupported function or method 'url'"),
        ("self.isSorted()", "unsupported function or method 'isSorted'"),
        ("quantity(self).isInteger()", "unsupported function or method 'quantity'"),
        ("other == 1", "undeclared reference to 'other'"),
    ],
)
def test_unsupported_rules_are_refused_at_apply_time(rule: str, problem: str) -> None:
    """An unsupported or broken rule is an explicit error when the CRD is applied."""
    errors = _refused(_with_rules({"type": "string"}, {"rule": rule}))
    assert any(problem in e for e in errors), errors
    assert all("x-kubernetes-validations[0].rule" in e for e in errors)


def test_undefined_field_is_refused() -> None:
    """Rules are type-checked against the schema: self.nope on an object without nope."""
    errors = _refused(_with_rules(STORAGE, {"rule": "has(self.azure)"}))
    assert any("undefined field 'azure'" in e for e in errors)


def test_bad_reason_and_field_path_are_refused() -> None:
    rule = {"rule": "true", "reason": "FieldValueWeird", "fieldPath": ".nope"}
    errors = _refused(_with_rules(STORAGE, rule))
    assert any("reason: Unsupported value" in e for e in errors)
    assert any("fieldPath" in e for e in errors)


def test_optional_old_self_is_refused() -> None:
    """optionalOldSelf is not supported here: refused, not silently ignored."""
    errors = _refused(_with_rules({"type": "string"}, {"rule": "true", "optionalOldSelf": True}))
    assert any("optionalOldSelf" in e for e in errors)
