"""The OpenAPI v3 (structural) schema of ``DatabaseBackup``, derived from the dataclasses.

Role: walks :mod:`api.v1alpha1.types` and each field's :class:`~api.v1alpha1.markers.Marker`
and emits the ``openAPIV3Schema`` the CRD carries. :mod:`api.v1alpha1.crdgen` wraps it into the
CRD document and :mod:`api.v1alpha1.validation` validates objects against it.

Guarantees: the result is structural (every node has a ``type`` or is int-or-string, every
node has a ``description`` except list items and map values, which the class or the field
describes, and root ``metadata``, which is exactly ``{type: object}`` as kubebuilder emits it:
kube-apiserver refuses anything else there but name/generateName restrictions); every string
has a ``maxLength``; the output is deterministic (same input, same dict, same key order).
Non-goals: the schema of ``metadata`` (the API server owns it).
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

from api.v1alpha1.markers import UNSET, Marker, class_description, json_name, marker_of
from api.v1alpha1.types import DatabaseBackup

__all__ = ["openapi_schema", "rules_by_path", "schema_for_class"]

Schema = dict[str, Any]


@cache
def _root() -> Schema:
    return schema_for_class(DatabaseBackup, root=True)


def openapi_schema() -> Schema:
    """The ``openAPIV3Schema`` of the CRD (a fresh copy each call: callers may mutate it)."""
    return copy.deepcopy(_root())


def schema_for_class(cls: type, *, root: bool = False) -> Schema:
    """The object schema of one API dataclass (its docstring is the description)."""
    hints = typing.get_type_hints(cls)
    properties: Schema = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        marker = marker_of(f)
        name = json_name(f)
        if root and name == "metadata":
            # What kubebuilder emits: the API server owns metadata and refuses anything but
            # ``type: object`` (and name/generateName restrictions) at the root.
            properties[name] = {"type": "object"}
            continue
        properties[name] = _field_schema(hints[f.name], marker)
        if marker.required:
            required.append(name)
    node: Schema = {"description": class_description(cls), "type": "object"}
    node["properties"] = properties
    if required:
        node["required"] = required
    rules = getattr(cls, "RULES", ())
    if rules:
        node["x-kubernetes-validations"] = [_rule(r) for r in rules]
    return node


def _rule(rule: Any) -> Schema:
    out: Schema = {"rule": rule.cel, "message": rule.message}
    if rule.field_path:
        out["fieldPath"] = rule.field_path
    return out


def _unoptional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        options = tuple(a for a in typing.get_args(tp) if a is not type(None))
        if len(options) == 1:
            return options[0]
        return typing.Union[options]  # noqa: UP007 - rebuilding a runtime union
    return tp


def _is_int_or_string(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and set(
        typing.get_args(tp)
    ) == {int, str}


def _type_schema(tp: Any, marker: Marker | None, *, value: bool = False) -> Schema:
    """The schema of a type; ``value`` means a map value, constrained by ``value_*`` markers."""
    if _is_int_or_string(tp):
        node: Schema = {"x-kubernetes-int-or-string": True}
        if value and marker is not None:
            node.update(_string_bounds(marker.value_max_length, marker.value_pattern))
        return node
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return schema_for_class(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple:
        return {"type": "array", "items": _type_schema(args[0], None)}
    if origin in (Mapping, dict):
        if args[1] is Any:
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return {"type": "object", "additionalProperties": _type_schema(args[1], marker, value=True)}
    if tp is str:
        node = {"type": "string"}
        if value and marker is not None:
            node.update(_string_bounds(marker.value_max_length, marker.value_pattern))
        return node
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer", "format": "int64"}
    raise TypeError(f"no schema for {tp!r}")


def _string_bounds(max_length: int | None, pattern: str) -> Schema:
    node: Schema = {}
    if max_length is not None:
        node["maxLength"] = max_length
    if pattern:
        node["pattern"] = pattern
    return node


def _field_schema(tp: Any, marker: Marker) -> Schema:
    tp = _unoptional(tp)
    inner = _type_schema(tp, marker)
    # The field's description wins over a class docstring: it says what the field is for.
    node: Schema = {"description": marker.description}
    node.update((k, v) for k, v in inner.items() if k != "description")
    if marker.default is not UNSET:
        node["default"] = marker.default
    for key, attr in (
        ("enum", "enum"),
        ("pattern", "pattern"),
        ("format", "format"),
        ("minLength", "min_length"),
        ("maxLength", "max_length"),
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("maxItems", "max_items"),
        ("maxProperties", "max_properties"),
    ):
        got = getattr(marker, attr)
        if got not in (None, "", ()):
            node[key] = list(got) if isinstance(got, tuple) else got
    if marker.enum and "maxLength" not in node:
        # Bounded like every string (CEL cost estimates need it); the longest allowed value.
        node["maxLength"] = max(len(v) for v in marker.enum)
    if marker.preserve_unknown:
        node["x-kubernetes-preserve-unknown-fields"] = True
    if marker.list_map_keys:
        node["x-kubernetes-list-type"] = "map"
        node["x-kubernetes-list-map-keys"] = list(marker.list_map_keys)
    if marker.rules:
        node["x-kubernetes-validations"] = [_rule(r) for r in marker.rules]
    return node


def rules_by_path() -> dict[str, tuple[Any, ...]]:
    """Every :class:`~api.v1alpha1.markers.Rule`, keyed by the schema path it is attached to
    (``""`` for the root, ``spec.storage``, ``spec.storage.pvc.subPath``)."""
    found: dict[str, tuple[Any, ...]] = {}
    _collect_rules(DatabaseBackup, "", found)
    return found


def _collect_rules(cls: type, path: str, found: dict[str, tuple[Any, ...]]) -> None:
    rules = getattr(cls, "RULES", ())
    if rules:
        found[path] = tuple(rules)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        marker = marker_of(f)
        where = f"{path}.{json_name(f)}" if path else json_name(f)
        if marker.rules:
            found[where] = found.get(where, ()) + tuple(marker.rules)
        tp = _unoptional(hints[f.name])
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            _collect_rules(tp, where, found)
