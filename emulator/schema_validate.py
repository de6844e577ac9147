"""OpenAPI v3 value validation of a custom resource against its structural schema.

Role: :func:`validate_value` walks an object and its schema together and returns every
:class:`~emulator.schema_errors.FieldError` the API server would list in a 422, with the
messages kube-openapi's validator produces (``spec.port in body should be less than or equal
to 65535``) mapped to ``field.Error`` types as apiextensions-apiserver does
(``kubeOpenAPIResultToFieldErrors``: type -> ``FieldValueTypeInvalid``, required ->
``FieldValueRequired``, enum -> ``FieldValueNotSupported``, maxLength -> ``FieldValueTooLong``,
maxItems / maxProperties -> ``FieldValueTooMany``, everything else -> ``FieldValueInvalid``).
``x-kubernetes-validations`` rules run through :mod:`emulator.cel` after the node's own checks
pass, as the server skips CEL on values that failed schema validation.
Non-goals: defaulting and pruning (see :mod:`emulator.schema`), ``metadata`` (the server
validates object metadata itself).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from emulator.cel import CompiledRule
from emulator.schema_errors import (
    ROOT_FIELD,
    FieldError,
    child,
    duplicate,
    index,
    invalid,
    key,
    not_supported,
    required,
    too_long,
    too_many,
    type_invalid,
)

__all__ = ["RuleLookup", "validate_value"]

RuleLookup = Callable[[Mapping[str, Any]], list[CompiledRule]]
_MISSING = object()
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(expected: str, value: Any) -> bool:
    actual = _json_type(value)
    return actual == expected or (expected == "number" and actual == "integer")


@lru_cache(maxsize=256)
def _pattern(source: str) -> re.Pattern[str]:
    return re.compile(source)


def _body(path: str) -> str:
    return path if path and path != ROOT_FIELD else "body"


def _in_body(path: str, text: str) -> str:
    return f"{_body(path)} in body {text}"


def _format_ok(fmt: str, value: Any) -> bool:
    if fmt == "int32" and isinstance(value, int):
        return INT32[0] <= value <= INT32[1]
    if fmt == "int64" and isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    if fmt == "date-time" and isinstance(value, str):
        if not _DATE_TIME.match(value):
            return False
        try:
            datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            return False
    return True  # other formats are accepted, as the docs allow unknown formats


def _scalar_checks(node: Mapping[str, Any], value: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if "enum" in node and value not in node["enum"]:
        errs.append(not_supported(path, value, list(node["enum"])))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "maximum" in node:
            if node.get("exclusiveMaximum") and value >= node["maximum"]:
                errs.append(
                    invalid(path, value, _in_body(path, f"should be less than {node['maximum']}"))
                )
            elif value > node["maximum"]:
                text = f"should be less than or equal to {node['maximum']}"
                errs.append(invalid(path, value, _in_body(path, text)))
        if "minimum" in node:
            if node.get("exclusiveMinimum") and value <= node["minimum"]:
                text = f"should be greater than {node['minimum']}"
                errs.append(invalid(path, value, _in_body(path, text)))
            elif value < node["minimum"]:
                text = f"should be greater than or equal to {node['minimum']}"
                errs.append(invalid(path, value, _in_body(path, text)))
        if node.get("multipleOf"):
            quotient = value / node["multipleOf"]
            if not math.isclose(quotient, round(quotient)):
                text = f"should be a multiple of {node['multipleOf']}"
                errs.append(invalid(path, value, _in_body(path, text)))
    if isinstance(value, str):
        if "maxLength" in node and len(value) > node["maxLength"]:
            errs.append(too_long(path, node["maxLength"]))
        if "minLength" in node and len(value) < node["minLength"]:
            text = f"should be at least {node['minLength']} chars long"
            errs.append(invalid(path, value, _in_body(path, text)))
        if "pattern" in node and not _pattern(node["pattern"]).search(value):
            errs.append(invalid(path, value, _in_body(path, f"should match '{node['pattern']}'")))
    if "format" in node and not _format_ok(node["format"], value):
        text = f"must be of type {node['format']}: {format_value_plain(value)}"
        errs.append(type_invalid(path, value, _in_body(path, text)))
    return errs


def format_value_plain(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def _collection_checks(node: Mapping[str, Any], value: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if isinstance(value, list):
        if "maxItems" in node and len(value) > node["maxItems"]:
            errs.append(too_many(path, len(value), node["maxItems"]))
        if "minItems" in node and len(value) < node["minItems"]:
            text = f"should have at least {node['minItems']} items"
            errs.append(invalid(path, value, _in_body(path, text)))
        errs.extend(_list_type_checks(node, value, path))
    if isinstance(value, dict):
        if "maxProperties" in node and len(value) > node["maxProperties"]:
            errs.append(too_many(path, len(value), node["maxProperties"], "properties"))
        if "minProperties" in node and len(value) < node["minProperties"]:
            text = f"should have at least {node['minProperties']} properties"
            errs.append(invalid(path, value, _in_body(path, text)))
        for name in node.get("required", ()):
            if name not in value:
                errs.append(required(child(path, name)))
    return errs


def _list_type_checks(node: Mapping[str, Any], value: list[Any], path: str) -> list[FieldError]:
    """``x-kubernetes-list-type`` set / map: duplicates are ``FieldValueDuplicate`` at the
    later index (apiextensions-apiserver ``listtype`` validation)."""
    kind = node.get("x-kubernetes-list-type")
    errs: list[FieldError] = []
    seen: list[Any] = []
    if kind == "set":
        for i, item in enumerate(value):
            if item in seen:
                errs.append(duplicate(index(path, i), item))
            else:
                seen.append(item)
    elif kind == "map":
        keys = list(node.get("x-kubernetes-list-map-keys", ()))
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            ident = {k: item.get(k) for k in keys if k in item}
            if ident in seen:
                errs.append(duplicate(index(path, i), ident))
            else:
                seen.append(ident)
    return errs


def _junctor_checks(
    node: Mapping[str, Any], value: Any, path: str, rules: RuleLookup
) -> list[FieldError]:
    errs: list[FieldError] = []

    def passes(sub: Mapping[str, Any]) -> bool:
        return not _validate(sub, value, path, _MISSING, rules, junctor=True)

    for sub in node.get("allOf", ()):
        if not passes(sub):
            errs.append(
                invalid(path, value, _in_body(path, "must validate all the schemas (allOf)"))
            )
            break
    if "anyOf" in node and not any(passes(s) for s in node["anyOf"]):
        errs.append(
            invalid(path, value, _in_body(path, "must validate at least one schema (anyOf)"))
        )
    if "oneOf" in node and sum(passes(s) for s in node["oneOf"]) != 1:
        text = "must validate one and only one schema (oneOf)"
        errs.append(invalid(path, value, _in_body(path, text)))
    if "not" in node and passes(node["not"]):
        errs.append(invalid(path, value, _in_body(path, "must not validate the schema (not)")))
    return errs


def _validate(
    node: Mapping[str, Any],
    value: Any,
    path: str,
    old: Any,
    rules: RuleLookup,
    *,
    junctor: bool = False,
) -> list[FieldError]:
    if value is None:
        if node.get("nullable") or (junctor and "type" not in node):
            return []
        expected = node.get("type") or ("string" if node.get("x-kubernetes-int-or-string") else "")
        if expected:
            text = f'must be of type {expected}: "null"'
            return [type_invalid(path, value, _in_body(path, text))]
        return []
    expected = node.get("type")
    if node.get("x-kubernetes-int-or-string"):
        if _json_type(value) not in ("integer", "string"):
            text = f'must be of type integer or string: "{_json_type(value)}"'
            return [type_invalid(path, value, _in_body(path, text))]
    elif expected and not _type_ok(expected, value):
        text = f'must be of type {expected}: "{_json_type(value)}"'
        return [type_invalid(path, value, _in_body(path, text))]
    errs = _scalar_checks(node, value, path) + _collection_checks(node, value, path)
    errs += _junctor_checks(node, value, path, rules)
    if isinstance(value, dict):
        errs += _validate_children(node, value, path, old, rules, junctor)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        old_list = old if isinstance(old, list) else None
        for i, item in enumerate(value):
            errs += _validate(
                node["items"],
                item,
                index(path, i),
                _old_item(node, item, i, old_list),
                rules,
                junctor=junctor,
            )
    return errs


def _old_item(node: Mapping[str, Any], item: Any, i: int, old_list: list[Any] | None) -> Any:
    """Correlate an item with its old value: by keys for ``map`` lists, by value for ``set``
    lists; other lists are atomic, so transition rules below them never run (CRD docs)."""
    if old_list is None:
        return _MISSING
    kind = node.get("x-kubernetes-list-type")
    if kind == "map" and isinstance(item, dict):
        keys = node.get("x-kubernetes-list-map-keys", ())
        for candidate in old_list:
            if isinstance(candidate, dict) and all(candidate.get(k) == item.get(k) for k in keys):
                return candidate
    if kind == "set" and item in old_list:
        return item
    return _MISSING


def _validate_children(
    node: Mapping[str, Any],
    value: dict[str, Any],
    path: str,
    old: Any,
    rules: RuleLookup,
    junctor: bool,
) -> list[FieldError]:
    errs: list[FieldError] = []
    old_map = old if isinstance(old, dict) else {}
    props = node.get("properties") or {}
    extra = node.get("additionalProperties")
    for name, sub_value in value.items():
        if name in props:
            sub_path = child(path, name)
            sub_node = props[name]
        elif isinstance(extra, dict):
            sub_path = key(path, name)
            sub_node = extra
        else:
            continue
        if not path and name == "metadata":
            continue  # object metadata is the server's business
        errs += _validate(
            sub_node, sub_value, sub_path, old_map.get(name, _MISSING), rules, junctor=junctor
        )
    return errs


def _evaluate_rules(
    node: Mapping[str, Any], value: Any, path: str, old: Any, rules: RuleLookup
) -> list[FieldError]:
    """The CEL pass: every node's rules, children first order irrelevant (all are reported)."""
    errs: list[FieldError] = []
    has_old = old is not _MISSING
    for rule in rules(node):
        err = rule.evaluate(value, path or ROOT_FIELD, old if has_old else None, has_old=has_old)
        if err is not None:
            errs.append(err)
    if isinstance(value, dict):
        old_map = old if isinstance(old, dict) else {}
        props = node.get("properties") or {}
        extra = node.get("additionalProperties")
        for name, sub_value in value.items():
            if not path and name == "metadata":
                continue
            if name in props:
                sub_node, sub_path = props[name], child(path, name)
            elif isinstance(extra, dict):
                sub_node, sub_path = extra, key(path, name)
            else:
                continue
            errs += _evaluate_rules(
                sub_node, sub_value, sub_path, old_map.get(name, _MISSING), rules
            )
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        old_list = old if isinstance(old, list) else None
        for i, item in enumerate(value):
            old_item = _old_item(node, item, i, old_list)
            errs += _evaluate_rules(node["items"], item, index(path, i), old_item, rules)
    return errs


# apiextensions-apiserver hasBlockingErr: CEL cannot run on values of the wrong type.
_BLOCKING = ("FieldValueTypeInvalid", "FieldValueNotSupported")
_NOT_CHECKED = (
    "some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)


def validate_value(
    schema: Mapping[str, Any], obj: Any, old: Any | None, rules: RuleLookup, *, has_rules: bool
) -> list[FieldError]:
    """Every problem of ``obj`` (``old`` on update) against ``schema``, root path empty:
    the OpenAPI pass, then the CEL pass unless a type or enum error blocks it."""
    errs = _validate(schema, obj, "", _MISSING, rules)
    if not has_rules:
        return errs
    if any(e.reason in _BLOCKING for e in errs):
        return [*errs, invalid("", None, _NOT_CHECKED)]
    return errs + _evaluate_rules(schema, obj, "", _MISSING if old is None else old, rules)
