"""Is a CRD ``openAPIV3Schema`` structural? The apply-time structural-schema rules.

Role: a port, rule by rule, of apiextensions-apiserver ``pkg/apiserver/schema``:

- :func:`structural_init_error` -- ``NewStructural`` (``convert.go``): the schema cannot even be
  converted (``id``, ``$schema``, ``$ref``, ``patternProperties``, ``dependencies``,
  ``additionalItems``, ``definitions``, ``x-kubernetes-preserve-unknown-fields: false``, an
  ``items`` array). Upstream then skips every structural check and reports this text only if
  nothing else is wrong (``validateCustomResourceDefinitionValidation``).
- :func:`validate_structural` -- ``ValidateStructural`` (``validation.go``):
  ``validateStructuralInvariants`` (types at root/items/fields, ``items`` of arrays,
  ``additionalProperties`` at the root, the int-or-string and embedded-resource extensions,
  ``kind``/``apiVersion`` strings and the ``metadata`` rule, ``validateNestedValueValidation``
  inside ``allOf``/``anyOf``/``oneOf``/``not``) and ``validateStructuralCompleteness``
  (``complete.go``: whatever a junctor names must be specified outside it). Errors are sorted
  by their full text, as ``ValidateStructural`` sorts them.

Guarantees: pure functions on plain dicts; messages and field paths are the upstream ones, as
``"<path>: <ErrorBody>"`` strings. Non-goals: the OpenAPI checks of the CRD validation itself
(:mod:`emulator.schema_openapi`), defaults (:mod:`emulator.schema`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "JUNCTORS",
    "is_set",
    "structural_init_error",
    "unsupported_present",
    "validate_structural",
]

JUNCTORS = ("allOf", "anyOf", "oneOf", "not")
ROOT, ITEM, FIELD = "root", "item", "field"
# NewStructural's validateUnsupportedFields, in its order: (key, name in the message).
UNSUPPORTED = (
    ("id", "id"),
    ("$schema", "schema"),
    ("$ref", "$ref"),
    ("patternProperties", "patternProperties"),
    ("dependencies", "dependencies"),
    ("additionalItems", "additionalItems"),
    ("definitions", "definitions"),
)
INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]
_TYPE_REQUIRED = {
    ROOT: "must not be empty at the root",
    ITEM: "must not be empty for specified array items",
    FIELD: "must not be empty for specified object fields",
}
# validateNestedValueValidation: what must not appear inside a junctor, and its wording.
_NESTED_FORBIDDEN = (
    ("type", "must be empty to be structural"),
    ("default", "must be undefined to be structural"),
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("nullable", "must be false to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
    ("x-kubernetes-map-type", "must be undefined to be structural"),
    ("x-kubernetes-validations", "must be empty to be structural"),
)


def unsupported_present(node: Mapping[str, Any], word: str) -> bool:
    """Whether ``word`` counts as set (Go zero values -- "", empty maps -- do not)."""
    if word in ("id", "$schema", "patternProperties", "definitions"):
        return bool(node.get(word))
    return node.get(word) is not None


def _children(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for word in ("allOf", "anyOf", "oneOf"):
        out += [s for s in node.get(word) or [] if isinstance(s, dict)]
    if isinstance(node.get("not"), dict):
        out.append(node["not"])
    if isinstance(node.get("items"), dict):
        out.append(node["items"])
    out += [s for _, s in sorted((node.get("properties") or {}).items()) if isinstance(s, dict)]
    if isinstance(node.get("additionalProperties"), dict):
        out.append(node["additionalProperties"])
    return out


def structural_init_error(node: Mapping[str, Any]) -> str | None:
    """The error ``NewStructural`` stops at, or None if the schema converts."""
    for word, name in UNSUPPORTED:
        if unsupported_present(node, word):
            return f"OpenAPIV3Schema '{name}' is not supported"
    if node.get("x-kubernetes-preserve-unknown-fields") is False:
        return "internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined"
    if isinstance(node.get("items"), list) and node["items"]:
        return "OpenAPIV3Schema 'items' must be a schema, but is an array"
    for sub in _children(node):
        found = structural_init_error(sub)
        if found:
            return found
    return None


def validate_structural(schema: Mapping[str, Any], path: str) -> list[str]:
    """``ValidateStructural``: every structural violation, sorted as upstream sorts them."""
    errs = _invariants(schema, ROOT, path)
    errs += _completeness(schema, schema, path, path)
    return sorted(errs)


def _is_int_or_string_any_of(node: Mapping[str, Any] | None) -> bool:
    return bool(node) and (node or {}).get("anyOf") == INT_OR_STRING_ANY_OF


def _invariants(s: Mapping[str, Any], lvl: str, path: str) -> list[str]:
    errs: list[str] = []
    kind = s.get("type") or ""
    items = s.get("items")
    if kind == "array" and not isinstance(items, dict):  # an empty items array converts to nil
        errs.append(f"{path}.items: Required value: must be specified")
    if isinstance(items, dict):
        errs += _invariants(items, ITEM, f"{path}.items")
    props: Mapping[str, Any] = s.get("properties") or {}
    for name, sub in props.items():
        errs += _invariants(sub, FIELD, f"{path}.properties[{name}]")
    extra = s.get("additionalProperties")
    if extra is not None:
        if lvl == ROOT:
            errs.append(f"{path}.additionalProperties: Forbidden: must not be used at the root")
        if isinstance(extra, dict):
            errs += _invariants(extra, FIELD, f"{path}.additionalProperties")
    int_or_string = bool(s.get("x-kubernetes-int-or-string"))
    preserve = bool(s.get("x-kubernetes-preserve-unknown-fields"))
    embedded = bool(s.get("x-kubernetes-embedded-resource"))
    if int_or_string and preserve:
        errs.append(
            f"{path}.x-kubernetes-preserve-unknown-fields: Invalid value: true: "
            "must be false if x-kubernetes-int-or-string is true"
        )
    if int_or_string and embedded:
        errs.append(
            f"{path}.x-kubernetes-embedded-resource: Invalid value: true: "
            "must be false if x-kubernetes-int-or-string is true"
        )
    all_of = s.get("allOf") or []
    skip_first = bool(all_of) and _is_int_or_string_any_of(all_of[0])
    errs += _value_validation(s, _is_int_or_string_any_of(s), skip_first, lvl, path)
    if embedded and kind != "object":
        why = "must be object if x-kubernetes-embedded-resource is true"
        errs.append(
            f'{path}.type: Invalid value: "{kind}": {why}'
            if kind
            else f"{path}.type: Required value: {why}"
        )
    elif not kind and not int_or_string and not preserve:
        errs.append(f"{path}.type: Required value: {_TYPE_REQUIRED[lvl]}")
    if embedded and extra is not None:
        errs.append(
            f"{path}.additionalProperties: Forbidden: "
            "must not be used if x-kubernetes-embedded-resource is set"
        )
    if lvl == ROOT and kind and kind != "object":
        errs.append(f'{path}.type: Invalid value: "{kind}": must be object at the root')
    check_metadata = lvl == ROOT or embedded
    for name in ("kind", "apiVersion"):
        if name in props and check_metadata and props[name].get("type") != "string":
            got = props[name].get("type") or ""
            errs.append(f'{path}.properties[{name}].type: Invalid value: "{got}": must be string')
    if "metadata" in props:
        errs += _metadata(props["metadata"], check_metadata, lvl, f"{path}.properties[metadata]")
    if embedded and not preserve and not props:
        errs.append(
            f"{path}.properties: Required value: must not be empty if "
            "x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"
        )
    return errs


def _metadata(meta: Mapping[str, Any], check: bool, lvl: str, path: str) -> list[str]:
    """``validateStructuralMetadataInvariants``: at the root, metadata may be ``type: object``
    (required by ``check``) plus properties ``name`` and/or ``generateName`` -- nothing else;
    a ``default`` is left to the OpenAPI checks ("must not be set in top-level metadata")."""
    errs: list[str] = []
    if check and meta.get("type") != "object":
        errs.append(f'{path}.type: Invalid value: "{meta.get("type") or ""}": must be object')
    if lvl == ROOT:
        rest = {k: v for k, v in meta.items() if k not in ("type", "default") and is_set(k, v)}
        names = set(rest.get("properties") or {})
        if names and names <= {"name", "generateName"}:
            del rest["properties"]
        if rest:
            errs.append(
                f"{path}: Forbidden: must not specify anything other than name and "
                "generateName, but metadata is implicitly specified"
            )
    return errs


# Keys the structural form does not keep at all (NewStructural drops them): they cannot make
# metadata "specify anything".
_NOT_STRUCTURAL = frozenset({"example", "externalDocs"})


def is_set(word: str, value: Any, *, structural_only: bool = True) -> bool:
    """Whether a keyword is set (in the structural form, unless ``structural_only`` is false):
    Go zero values ("", false, empty lists and maps, nil) are not; numbers are pointers there,
    so any number is set."""
    if (structural_only and word in _NOT_STRUCTURAL) or value is None:
        return False
    if isinstance(value, bool):
        return value or word == "default"
    if isinstance(value, str | list | dict):
        return bool(value) or word == "default"
    return True


def _value_validation(
    v: Mapping[str, Any], skip_any_of: bool, skip_first_all_of_any_of: bool, lvl: str, path: str
) -> list[str]:
    """``validateValueValidation``: the junctors of a node, and its ``pattern``."""
    errs: list[str] = []
    if not skip_any_of:
        for i, sub in enumerate(v.get("anyOf") or []):
            errs += _nested(sub, False, lvl, f"{path}.anyOf[{i}]")
    for i, sub in enumerate(v.get("allOf") or []):
        errs += _nested(sub, skip_first_all_of_any_of and i == 0, lvl, f"{path}.allOf[{i}]")
    for i, sub in enumerate(v.get("oneOf") or []):
        errs += _nested(sub, False, lvl, f"{path}.oneOf[{i}]")
    if isinstance(v.get("not"), dict):
        errs += _nested(v["not"], False, lvl, f"{path}.not")
    pattern = v.get("pattern")
    if isinstance(pattern, str) and pattern:
        try:
            re.compile(pattern)
        except re.error as err:
            # Upstream compiles with Go's regexp (RE2); the detail after "isn't: " is Go's text
            # there and Python's here.
            errs.append(
                f'{path}.pattern: Invalid value: "{pattern}": must be a valid regular '
                f"expression, but isn't: {err}"
            )
    return errs


def _nested(v: Mapping[str, Any], skip_any_of: bool, lvl: str, path: str) -> list[str]:
    """``validateNestedValueValidation``: inside a junctor only value validations may appear."""
    errs = _value_validation(v, skip_any_of, False, lvl, path)
    if isinstance(v.get("items"), dict):
        errs += _nested(v["items"], False, lvl, f"{path}.items")
    for name, sub in (v.get("properties") or {}).items():
        errs += _nested(sub, False, FIELD, f"{path}.properties[{name}]")
    extra = v.get("additionalProperties")
    if extra is not None and extra is not False:
        errs.append(f"{path}.additionalProperties: Forbidden: must be undefined to be structural")
    for word, why in _NESTED_FORBIDDEN:
        if is_set(word, v.get(word)):
            errs.append(f"{path}.{word}: Forbidden: {why}")
    if "metadata" in (v.get("properties") or {}):
        errs.append(
            f"{path}.properties[metadata]: Forbidden: must not be specified in a nested context"
        )
    return errs


def _completeness(
    v: Mapping[str, Any], s: Mapping[str, Any] | None, s_path: str, v_path: str
) -> list[str]:
    """``validateValueValidationCompleteness``: the junctors of ``v`` against node ``s``."""
    errs: list[str] = []
    if isinstance(v.get("not"), dict):
        errs += _nested_completeness(v["not"], s, s_path, f"{v_path}.not")
    for word in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(v.get(word) or []):
            errs += _nested_completeness(sub, s, s_path, f"{v_path}.{word}[{i}]")
    return errs


def _nested_completeness(
    v: Mapping[str, Any], s: Mapping[str, Any] | None, s_path: str, v_path: str
) -> list[str]:
    if s is None:
        return [f"{s_path}: Required value: because it is defined in {v_path}"]
    errs = _completeness(v, s, s_path, v_path)
    if isinstance(v.get("items"), dict):
        s_items = s.get("items")
        errs += _nested_completeness(
            v["items"],
            s_items if isinstance(s_items, dict) else None,
            f"{s_path}.items",
            f"{v_path}.items",
        )
    s_props = s.get("properties") or {}
    for name, sub in (v.get("properties") or {}).items():
        where = f"{s_path}.properties[{name}]"
        if name not in s_props:
            errs.append(
                f"{where}: Required value: because it is defined in {v_path}.properties[{name}]"
            )
        else:
            errs += _nested_completeness(sub, s_props[name], where, f"{v_path}.properties[{name}]")
    return errs
