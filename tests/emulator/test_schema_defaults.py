"""Defaulting and pruning, from the CRD docs "Defaulting" and "Field pruning"."""

from __future__ import annotations

from typing import Any

from emulator.schema import StructuralSchema


def _schema(**props: Any) -> StructuralSchema:
    root = {"type": "object", "properties": props}
    return StructuralSchema.from_crd_version({"schema": {"openAPIV3Schema": root}})


SPEC = {
    "type": "object",
    "properties": {
        "cronSpec": {"type": "string", "default": "5 0 * * *"},
        "image": {"type": "string"},
        "replicas": {"type": "integer", "default": 1},
        "storage": {
            "type": "object",
            "properties": {"class": {"type": "string", "default": "standard"}},
        },
    },
}


def test_missing_fields_get_their_default() -> None:
    """Docs: 'Defaulting happens on the object ... missing fields are defaulted'."""
    out = _schema(spec=SPEC).apply_defaults({"spec": {"image": "x"}})
    assert out["spec"] == {"image": "x", "cronSpec": "5 0 * * *", "replicas": 1}


def test_present_fields_keep_their_value() -> None:
    """A default never overwrites a value the user set."""
    out = _schema(spec=SPEC).apply_defaults({"spec": {"replicas": 3}})
    assert out["spec"]["replicas"] == 3


def test_absent_parent_is_not_created_by_child_defaults() -> None:
    """Docs: defaults apply inside objects that exist; an absent parent stays absent."""
    out = _schema(spec=SPEC).apply_defaults({"spec": {}})
    assert "storage" not in out["spec"]
    assert _schema(spec=SPEC).apply_defaults({}) == {}


def test_parent_default_creates_it_and_its_children_are_defaulted() -> None:
    """Docs: a parent with ``default: {}`` is created and then its fields are defaulted."""
    spec = {**SPEC, "default": {}}
    out = _schema(spec=spec).apply_defaults({})
    assert out == {"spec": {"cronSpec": "5 0 * * *", "replicas": 1}}


def test_existing_nested_object_is_defaulted() -> None:
    """Defaults recurse into objects present in the request."""
    out = _schema(spec=SPEC).apply_defaults({"spec": {"storage": {}}})
    assert out["spec"]["storage"] == {"class": "standard"}


def test_array_items_are_defaulted() -> None:
    """Defaults of ``items`` apply to every array element."""
    items = {"type": "object", "properties": {"k": {"type": "string", "default": "d"}}}
    out = _schema(list={"type": "array", "items": items}).apply_defaults({"list": [{}, {"k": "x"}]})
    assert out["list"] == [{"k": "d"}, {"k": "x"}]


def test_null_in_non_nullable_field_is_replaced_by_its_default() -> None:
    """Docs: null values of non-nullable fields are pruned before defaulting, so the default
    applies."""
    out = _schema(spec=SPEC).apply_defaults({"spec": {"replicas": None}})
    assert out["spec"]["replicas"] == 1


def test_null_in_non_nullable_field_without_default_is_dropped() -> None:
    """Docs: ... and without a default the null field is simply removed."""
    out = _schema(spec=SPEC).apply_defaults({"spec": {"image": None}})
    assert "image" not in out["spec"]


def test_null_in_nullable_field_is_kept() -> None:
    """Docs: with ``nullable: true`` a null value is kept and not defaulted."""
    node = {"type": "string", "nullable": True, "default": "d"}
    assert _schema(a=node).apply_defaults({"a": None}) == {"a": None}


def test_apply_defaults_does_not_mutate_its_input() -> None:
    """apply_defaults returns a new dict."""
    obj: dict[str, Any] = {"spec": {}}
    _schema(spec=SPEC).apply_defaults(obj)
    assert obj == {"spec": {}}


def test_unknown_fields_are_pruned() -> None:
    """Docs (Field pruning): fields not specified in the schema are dropped."""
    out = _schema(spec=SPEC).prune({"spec": {"image": "x", "someRandomField": 42}, "extra": 1})
    assert out == {"spec": {"image": "x"}}


def test_api_version_kind_and_metadata_are_kept_at_the_root() -> None:
    """apiVersion, kind and metadata are never pruned at the root; metadata is the server's."""
    obj = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "a", "labels": {"x": "y"}}}
    assert _schema(spec=SPEC).prune(obj) == obj


def test_preserve_unknown_fields_keeps_unknown_fields() -> None:
    """Docs: x-kubernetes-preserve-unknown-fields: true disables pruning below that node."""
    node = {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "properties": {"known": {"type": "object", "properties": {}}},
    }
    out = _schema(status=node).prune({"status": {"anything": {"deep": 1}, "known": {"x": 1}}})
    assert out == {"status": {"anything": {"deep": 1}, "known": {}}}


def test_additional_properties_keep_map_keys_and_prune_values() -> None:
    """A map (additionalProperties schema) keeps every key and prunes inside its values."""
    value = {"type": "object", "properties": {"a": {"type": "string"}}}
    node = {"type": "object", "additionalProperties": value}
    out = _schema(m=node).prune({"m": {"k1": {"a": "x", "b": "y"}, "k2": {}}})
    assert out == {"m": {"k1": {"a": "x"}, "k2": {}}}


def test_embedded_resource_keeps_its_type_meta() -> None:
    """x-kubernetes-embedded-resource: apiVersion/kind/metadata of the embedded object stay."""
    node = {
        "type": "object",
        "x-kubernetes-embedded-resource": True,
        "properties": {"spec": {"type": "object", "properties": {}}},
    }
    obj = {"tpl": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "junk": 1}}
    assert _schema(tpl=node).prune(obj) == {
        "tpl": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    }
