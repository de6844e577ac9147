"""CRD structural schemas (``apiextensions.k8s.io/v1``): accept, default, prune, validate.

Role: the emulator's model of a CustomResourceDefinition version's ``openAPIV3Schema``, from
the CRD docs ("Specifying a structural schema", "Defaulting", "Pruning", "Validation"):

- :meth:`StructuralSchema.from_crd_version` refuses, with one :class:`SchemaError` listing
  every problem and its schema path, what the real server refuses: a non-structural schema
  (missing ``type``; ``type``/``default``/``description``/``nullable``/``additionalProperties``
  inside ``allOf``/``anyOf``/``oneOf``/``not``; a field named inside a junctor but not outside;
  ``metadata`` restricted beyond ``name``/``generateName``), unsupported keywords (``$ref``,
  ``patternProperties``, ``uniqueItems: true`` -- forbidden in v1 CRDs as quadratic),
  inconsistent ``x-kubernetes-list-type``, defaults that are not pruned or fail their own
  schema, and every ``x-kubernetes-validations`` rule :mod:`emulator.cel` cannot compile.
- :meth:`apply_defaults` fills missing fields from ``default`` (and replaces ``null`` in
  non-nullable fields, dropping it when there is no default), recursing into what exists or was
  just defaulted -- an absent parent is created only by its own default.
- :meth:`prune` drops fields the schema does not specify, except under
  ``x-kubernetes-preserve-unknown-fields: true``; ``apiVersion``, ``kind`` and ``metadata`` of
  the root (and of ``x-kubernetes-embedded-resource`` nodes) are always kept.
- :meth:`validate` returns the 422 causes (:mod:`emulator.schema_validate`).

All methods are pure and never mutate their arguments. Non-goals: conversion between versions,
object-metadata validation, CEL cost budgets.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from emulator.cel import CompiledRule, compile_rules
from emulator.schema_errors import FieldError, SchemaError
from emulator.schema_validate import validate_value

__all__ = ["FieldError", "SchemaError", "StructuralSchema"]

TYPES = ("object", "array", "string", "integer", "number", "boolean")
FORBIDDEN_KEYWORDS = (
    "$ref",
    "$schema",
    "id",
    "definitions",
    "dependencies",
    "patternProperties",
    "additionalItems",
)
JUNCTORS = ("allOf", "anyOf", "oneOf", "not")
NOT_IN_JUNCTOR = ("type", "default", "description", "nullable", "additionalProperties")
ALWAYS_KEPT = ("apiVersion", "kind", "metadata")
DEFAULT_PREFIX = "schema.openAPIV3Schema"


def _subnodes(node: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    out: list[tuple[str, Mapping[str, Any]]] = []
    for name, sub in (node.get("properties") or {}).items():
        out.append((f".properties[{name}]", sub))
    if isinstance(node.get("additionalProperties"), dict):
        out.append((".additionalProperties", node["additionalProperties"]))
    if isinstance(node.get("items"), dict):
        out.append((".items", node["items"]))
    return out


class StructuralSchema:
    """One CRD version's validated schema, with its compiled CEL rules."""

    def __init__(self, schema: Mapping[str, Any], rules: dict[int, list[CompiledRule]]) -> None:
        self._schema = schema
        self._rules = rules

    @classmethod
    def from_crd_version(
        cls, version: Mapping[str, Any], *, prefix: str = DEFAULT_PREFIX
    ) -> StructuralSchema:
        """Build from a ``spec.versions[]`` entry; ``prefix`` names it in error paths
        (the server passes ``spec.versions[i].schema.openAPIV3Schema``)."""
        raw = ((version.get("schema") or {}).get("openAPIV3Schema")) if version else None
        if not isinstance(raw, dict):
            raise SchemaError([f"{prefix}: Required value: schemas are required"])
        schema = copy.deepcopy(raw)
        problems: list[str] = []
        if schema.get("type") != "object":
            problems.append(
                f'{prefix}.type: Invalid value: "{schema.get("type", "")}": '
                "must be object at the root"
            )
        _check_metadata(schema, prefix, problems)
        rules: dict[int, list[CompiledRule]] = {}
        _check_node(schema, prefix, problems, rules, is_root=True)
        result = cls(schema, rules)
        result._check_defaults(schema, prefix, problems, is_root=True)
        if problems:
            raise SchemaError(problems)
        return result

    # -- defaults ---------------------------------------------------------------------------
    def _check_defaults(
        self, node: Mapping[str, Any], path: str, problems: list[str], is_root: bool = False
    ) -> None:
        if "default" in node and not is_root:
            default = node["default"]
            pruned = _prune(node, copy.deepcopy(default), embedded=False)
            if pruned != default:
                problems.append(f"{path}.default: Invalid value: must not have unknown fields")
            defaulted = copy.deepcopy(default)
            _default(node, defaulted)
            for err in validate_value(node, defaulted, None, self._rules_for, has_rules=False):
                problems.append(f"{path}.default: {err.message}")
        for suffix, sub_node in _subnodes(node):
            self._check_defaults(sub_node, path + suffix, problems)

    def apply_defaults(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """A defaulted copy of ``obj`` (CRD docs, "Defaulting")."""
        out = copy.deepcopy(dict(obj))
        _default(self._schema, out, is_root=True)
        return out

    def prune(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``obj`` without fields the schema does not specify (CRD docs, "Pruning")."""
        out = _prune(self._schema, copy.deepcopy(dict(obj)), embedded=True)
        assert isinstance(out, dict)
        return out

    def validate(
        self, obj: Mapping[str, Any], old: Mapping[str, Any] | None = None
    ) -> list[FieldError]:
        """Every validation error of ``obj``; ``old`` enables transition rules on update."""
        has_rules = any(self._rules.values())
        return validate_value(self._schema, obj, old, self._rules_for, has_rules=has_rules)

    def _rules_for(self, node: Mapping[str, Any]) -> list[CompiledRule]:
        return self._rules.get(id(node), [])


def _check_metadata(schema: Mapping[str, Any], prefix: str, problems: list[str]) -> None:
    meta = (schema.get("properties") or {}).get("metadata")
    if meta is None:
        return
    allowed_keys = {"type", "properties", "description"}
    props = meta.get("properties") or {}
    if set(meta) - allowed_keys or set(props) - {"name", "generateName"}:
        problems.append(
            f"{prefix}.properties[metadata]: Forbidden: must not specify anything "
            "other than name and generateName, but metadata is implicitly specified"
        )


def _check_node(
    node: Mapping[str, Any],
    path: str,
    problems: list[str],
    rules: dict[int, list[CompiledRule]],
    *,
    is_root: bool = False,
) -> None:
    for word in FORBIDDEN_KEYWORDS:
        if word in node:
            problems.append(f"{path}.{word}: Forbidden: {word} is not supported")
    if node.get("uniqueItems") is True:
        problems.append(
            f"{path}.uniqueItems: Forbidden: uniqueItems cannot be set to true "
            "since the runtime complexity becomes quadratic"
        )
    if node.get("x-kubernetes-preserve-unknown-fields") is False:
        problems.append(
            f"{path}.x-kubernetes-preserve-unknown-fields: Invalid value: false: "
            "must be true or undefined"
        )
    kind = node.get("type", "")
    int_or_string = bool(node.get("x-kubernetes-int-or-string"))
    if kind and kind not in TYPES:
        allowed = ", ".join(f'"{t}"' for t in TYPES)
        problems.append(f'{path}.type: Unsupported value: "{kind}": supported values: {allowed}')
    if int_or_string and kind:
        problems.append(f'{path}.type: Invalid value: "{kind}": must be empty to be structural')
    if not kind and not int_or_string and not node.get("x-kubernetes-preserve-unknown-fields"):
        problems.append(
            f"{path}.type: Required value: must not be empty for specified object fields"
        )
    if kind == "array" and not isinstance(node.get("items"), dict):
        problems.append(f"{path}.items: Required value: must be specified")
    if node.get("properties") and "additionalProperties" in node:
        problems.append(
            f"{path}.additionalProperties: Forbidden: additionalProperties and "
            "properties are mutual exclusive"
        )
    _check_list_type(node, path, problems)
    for junctor in JUNCTORS:
        subs = node.get(junctor)
        if subs is None:
            continue
        for i, sub in enumerate(subs if isinstance(subs, list) else [subs]):
            where = f"{path}.{junctor}[{i}]" if isinstance(subs, list) else f"{path}.{junctor}"
            _check_junctor(sub, node, where, problems, int_or_string)
    if node.get("x-kubernetes-validations"):
        compiled, found = compile_rules(
            node["x-kubernetes-validations"], node, path, is_root=is_root
        )
        problems.extend(found)
        rules[id(node)] = compiled
    for suffix, sub_node in _subnodes(node):
        if suffix == ".properties[metadata]" and is_root:
            continue
        _check_node(sub_node, path + suffix, problems, rules)


def _check_list_type(node: Mapping[str, Any], path: str, problems: list[str]) -> None:
    list_type = node.get("x-kubernetes-list-type")
    keys = node.get("x-kubernetes-list-map-keys")
    raw_items = node.get("items")
    items: Mapping[str, Any] = raw_items if isinstance(raw_items, dict) else {}
    if keys is not None and list_type != "map":
        problems.append(
            f"{path}.x-kubernetes-list-map-keys: Forbidden: "
            "must not be set if x-kubernetes-list-type is not map"
        )
    if list_type is None:
        return
    if list_type not in ("atomic", "set", "map"):
        problems.append(
            f'{path}.x-kubernetes-list-type: Unsupported value: "{list_type}": '
            'supported values: "atomic", "map", "set"'
        )
    if node.get("type") != "array":
        problems.append(
            f"{path}.x-kubernetes-list-type: Invalid value: must only be used on type array"
        )
    if (
        list_type == "set"
        and items.get("type") in ("object", "array")
        and items.get("x-kubernetes-map-type") != "atomic"
    ):
        problems.append(
            f"{path}.items.type: Invalid value: must be a scalar or atomic for "
            "x-kubernetes-list-type=set"
        )
    if list_type == "map":
        if items.get("type") != "object":
            problems.append(
                f"{path}.items.type: Invalid value: must be object if parent "
                "array's x-kubernetes-list-type is map"
            )
        if not keys:
            problems.append(
                f"{path}.x-kubernetes-list-map-keys: Required value: must not be "
                "empty if x-kubernetes-list-type is map"
            )
        props = items.get("properties") or {}
        for k in keys or ():
            sub = props.get(k)
            if sub is None or sub.get("type") not in ("string", "integer", "number", "boolean"):
                problems.append(
                    f'{path}.x-kubernetes-list-map-keys: Invalid value: "{k}": '
                    "entries must all be names of required or defaulted scalar "
                    "item properties"
                )
            elif k not in items.get("required", ()) and "default" not in sub:
                problems.append(
                    f"{path}.items.properties[{k}]: Required value: this property "
                    "is in x-kubernetes-list-map-keys, so it must have a default "
                    "or be a required property"
                )


def _check_junctor(
    sub: Mapping[str, Any],
    outer: Mapping[str, Any] | None,
    path: str,
    problems: list[str],
    int_or_string: bool,
) -> None:
    """Inside a logical junctor: no type/default/...; every field must also exist outside."""
    is_int_or_string_pattern = (
        int_or_string and set(sub) == {"type"} and sub["type"] in ("integer", "string")
    )
    for word in NOT_IN_JUNCTOR:
        if word in sub and not is_int_or_string_pattern:
            problems.append(f"{path}.{word}: Forbidden: must be empty to be structural")
    outer_props = (outer or {}).get("properties") or {}
    for name, prop in (sub.get("properties") or {}).items():
        if name not in outer_props:
            problems.append(
                f"{path}.properties[{name}]: Forbidden: must not be specified in "
                "a logical junctor unless also specified outside"
            )
        _check_junctor(prop, outer_props.get(name), f"{path}.properties[{name}]", problems, False)
    if isinstance(sub.get("items"), dict):
        outer_items = (outer or {}).get("items")
        if not isinstance(outer_items, dict):
            problems.append(
                f"{path}.items: Forbidden: must not be specified in a logical "
                "junctor unless also specified outside"
            )
        _check_junctor(sub["items"], outer_items, f"{path}.items", problems, False)
    for junctor in JUNCTORS:
        nested = sub.get(junctor)
        for i, inner in enumerate(
            nested if isinstance(nested, list) else [nested] if nested else []
        ):
            _check_junctor(inner, outer, f"{path}.{junctor}[{i}]", problems, int_or_string)


def _default(node: Mapping[str, Any], value: Any, *, is_root: bool = False) -> None:
    """Default ``value`` in place (it is already a private copy)."""
    if isinstance(value, dict):
        props = node.get("properties") or {}
        for name, sub in props.items():
            if is_root and name == "metadata":
                continue
            present = name in value
            if present and value[name] is None and not sub.get("nullable"):
                del value[name]  # nulls in non-nullable fields are pruned before defaulting
                present = False
            if not present and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
        extra = node.get("additionalProperties")
        for name, sub_value in value.items():
            if is_root and name == "metadata":
                continue
            if name in props:
                _default(props[name], sub_value)
            elif isinstance(extra, dict):
                _default(extra, sub_value)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for item in value:
            _default(node["items"], item)


def _prune(node: Mapping[str, Any], value: Any, *, embedded: bool) -> Any:
    """Prune ``value`` in place and return it."""
    if isinstance(value, dict):
        props = node.get("properties") or {}
        extra = node.get("additionalProperties")
        keep_meta = embedded or bool(node.get("x-kubernetes-embedded-resource"))
        for name in list(value):
            if keep_meta and name in ALWAYS_KEPT:
                if name != "metadata" and name in props:
                    _prune(props[name], value[name], embedded=False)
                continue
            if name in props:
                sub = props[name]
                _prune(sub, value[name], embedded=bool(sub.get("x-kubernetes-embedded-resource")))
            elif isinstance(extra, dict):
                _prune(
                    extra, value[name], embedded=bool(extra.get("x-kubernetes-embedded-resource"))
                )
            elif not node.get("x-kubernetes-preserve-unknown-fields") and extra is not True:
                del value[name]
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        items = node["items"]
        for item in value:
            _prune(items, item, embedded=bool(items.get("x-kubernetes-embedded-resource")))
    return value
