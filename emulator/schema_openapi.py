"""The OpenAPI checks a CRD schema gets besides structurality (keywords, x-kubernetes-*).

Role: a port of apiextensions-apiserver ``pkg/apis/apiextensions/validation/validation.go``:

- :func:`check_root` -- ``validateCustomResourceDefinitionValidation``'s root rules: with the
  status subresource only ``allowedFieldsAtRootSchema`` may be set at the root and its type must
  be object; ``nullable`` is never allowed at the root.
- :func:`check_openapi` -- ``ValidateCustomResourceDefinitionOpenAPISchema`` with
  ``specStandardValidatorV3.validate`` (unsupported keywords, ``type`` among the OpenAPI v3
  types, no ``default`` in top-level ``metadata``/``apiVersion``/``kind``, embedded resources
  not inside resource meta), ``uniqueItems``, ``properties`` vs ``additionalProperties``,
  ``x-kubernetes-preserve-unknown-fields``/``-map-type``/``-list-type``/``-list-map-keys``,
  ``validateMapListKeysMapSet`` and the static ``x-kubernetes-validations`` checks. A node's
  CEL rules are compiled (through the ``compile_cel`` callback) only when no schema error was
  found at that node or below it, as upstream does.

Guarantees: messages and paths are upstream's, as ``"<path>: <ErrorBody>"`` strings. Where the
upstream message prints a Go struct with ``%#v`` (the whole root schema) the value is rendered
``apiextensions.JSONSchemaProps{...}``: the detail after it is exact, the dump is elided.
Non-goals: CEL cost estimates, ``x-kubernetes-validations`` ``optionalOldSelf`` ratcheting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from emulator.cel import field_path_segments, uses_old_self
from emulator.schema_errors import format_value
from emulator.schema_structural import is_set, unsupported_present

__all__ = ["CelCompiler", "check_openapi", "check_root"]

CelCompiler = Callable[[Mapping[str, Any], str, bool], list[str]]
OPENAPI_TYPES = ("array", "boolean", "integer", "number", "object", "string")  # sorted List()
REASONS = ("FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired")
META_FIELDS = ("metadata", "kind", "apiVersion")
# JSONSchemaProps fields in Go struct order: (json key, Go field name).
GO_FIELDS = tuple(
    (k, g)
    for k, g in (
        ("id", "ID"), ("$schema", "Schema"), ("$ref", "Ref"), ("description", ""), ("type", ""),
        ("nullable", ""), ("format", ""), ("title", ""), ("default", ""), ("maximum", ""),
        ("exclusiveMaximum", ""), ("minimum", ""), ("exclusiveMinimum", ""), ("maxLength", ""),
        ("minLength", ""), ("pattern", ""), ("maxItems", ""), ("minItems", ""),
        ("uniqueItems", ""), ("multipleOf", ""), ("enum", ""), ("maxProperties", ""),
        ("minProperties", ""), ("required", ""), ("items", ""), ("allOf", ""), ("oneOf", ""),
        ("anyOf", ""), ("not", ""), ("properties", ""), ("additionalProperties", ""),
        ("patternProperties", ""), ("dependencies", ""), ("additionalItems", ""),
        ("definitions", ""), ("externalDocs", ""), ("example", ""),
        ("x-kubernetes-preserve-unknown-fields", "XPreserveUnknownFields"),
        ("x-kubernetes-embedded-resource", "XEmbeddedResource"),
        ("x-kubernetes-int-or-string", "XIntOrString"),
        ("x-kubernetes-list-map-keys", "XListMapKeys"),
        ("x-kubernetes-list-type", "XListType"), ("x-kubernetes-map-type", "XMapType"),
        ("x-kubernetes-validations", "XValidations"),
    )
)  # fmt: skip
ALLOWED_AT_ROOT = (
    "Description", "Type", "Format", "Title", "Maximum", "ExclusiveMaximum", "Minimum",
    "ExclusiveMinimum", "MaxLength", "MinLength", "Pattern", "MaxItems", "MinItems",
    "UniqueItems", "MultipleOf", "Required", "Items", "Properties", "ExternalDocs", "Example",
    "XPreserveUnknownFields", "XValidations",
)  # fmt: skip
_NEWLINE = re.compile(r"[\n\r]+")


def _q(value: Any) -> str:
    return format_value(value)


def _go_strings(values: list[Any]) -> str:
    """``%#v`` of a ``[]string``."""
    return "[]string{" + ", ".join(json.dumps(str(v)) for v in values) + "}"


def check_root(schema: Mapping[str, Any], path: str, status_enabled: bool) -> list[str]:
    """Root rules of ``validateCustomResourceDefinitionValidation``; ``path`` ends in
    ``.openAPIV3Schema``."""
    errs: list[str] = []
    if status_enabled:
        for word, go_name in GO_FIELDS:
            if not is_set(word, schema.get(word), structural_only=False):
                continue
            go_name = go_name or word[0].upper() + word[1:]
            if go_name == "Type":
                if schema.get("type") != "object":
                    errs.append(
                        f'{path}.type: Invalid value: "{schema.get("type")}": only "object" is '
                        "allowed as the type at the root of the schema if the status "
                        "subresource is enabled"
                    )
                    break
                continue
            if go_name not in ALLOWED_AT_ROOT:
                errs.append(
                    f"{path}: Invalid value: apiextensions.JSONSchemaProps{{...}}: only "
                    f"[{' '.join(ALLOWED_AT_ROOT)}] fields are allowed at the root of the "
                    "schema if the status subresource is enabled"
                )
                break
    if schema.get("nullable"):
        errs.append(f"{path}.nullable: Forbidden: nullable cannot be true at the root")
    return errs


class _Ctx:
    """``specStandardValidatorV3``'s state while walking down."""

    def __init__(
        self,
        *,
        defaults_reason: str | None = None,
        inside_meta: bool = False,
        uncorrelatable: str | None = None,
    ) -> None:
        self.defaults_reason = defaults_reason  # None: defaults allowed
        self.inside_meta = inside_meta
        # The first ancestor whose values cannot be correlated with the old object's: items
        # of a list that is not x-kubernetes-list-type=map (withForbidOldSelfValidations).
        self.uncorrelatable = uncorrelatable

    def _copy(self, **change: Any) -> _Ctx:
        fields = {
            "defaults_reason": self.defaults_reason,
            "inside_meta": self.inside_meta,
            "uncorrelatable": self.uncorrelatable,
        }
        return _Ctx(**{**fields, **change})

    def with_forbidden_defaults(self, reason: str) -> _Ctx:
        return self._copy(defaults_reason=reason)

    def with_inside_meta(self) -> _Ctx:
        return self._copy(inside_meta=True)

    def with_forbid_old_self(self, path: str) -> _Ctx:
        return self if self.uncorrelatable is not None else self._copy(uncorrelatable=path)


def check_openapi(
    schema: Mapping[str, Any], path: str, compile_cel: CelCompiler | None
) -> tuple[list[str], list[str]]:
    """(schema errors, CEL errors) of ``ValidateCustomResourceDefinitionOpenAPISchema``; pass
    ``compile_cel=None`` when upstream has no CEL context (the schema is not structural or its
    defaults are wrong): rules are then not compiled."""
    schema_errs: list[str] = []
    cel_errs: list[str] = []
    _walk(schema, path, _Ctx(), True, compile_cel, schema_errs, cel_errs)
    return schema_errs, cel_errs


def _standard(s: Mapping[str, Any], path: str, ctx: _Ctx) -> list[str]:
    """``specStandardValidatorV3.validate``."""
    errs: list[str] = []
    kind = s.get("type")
    if kind and kind not in OPENAPI_TYPES:
        allowed = ", ".join(f'"{t}"' for t in OPENAPI_TYPES)
        errs.append(f'{path}.type: Unsupported value: "{kind}": supported values: {allowed}')
    if s.get("default") is not None and ctx.defaults_reason is not None:
        errs.append(f"{path}.default: Forbidden: must not be set {ctx.defaults_reason}".rstrip())
    for word in ("id", "additionalItems", "patternProperties", "definitions", "dependencies"):
        if unsupported_present(s, word):
            errs.append(f"{path}.{word}: Forbidden: {word} is not supported")
    if unsupported_present(s, "$ref"):
        errs.append(f"{path}.$ref: Forbidden: $ref is not supported")
    if kind == "null":
        errs.append(
            f"{path}.type: Forbidden: type cannot be set to null, use nullable as an alternative"
        )
    if isinstance(s.get("items"), list) and s["items"]:
        errs.append(f"{path}.items: Forbidden: items must be a schema object and not an array")
    if ctx.inside_meta and s.get("x-kubernetes-embedded-resource"):
        errs.append(
            f"{path}.x-kubernetes-embedded-resource: Forbidden: "
            "must not be used inside of resource meta"
        )
    return errs


def _walk(
    s: Mapping[str, Any],
    path: str,
    ctx: _Ctx,
    is_root: bool,
    compile_cel: CelCompiler | None,
    errs: list[str],
    cel_errs: list[str],
) -> None:
    before = len(errs)
    errs += _standard(s, path, ctx)
    if s.get("uniqueItems") is True:
        errs.append(
            f"{path}.uniqueItems: Forbidden: uniqueItems cannot be set to true "
            "since the runtime complexity becomes quadratic"
        )
    props: Mapping[str, Any] = s.get("properties") or {}
    extra = s.get("additionalProperties")
    if extra is not None:
        if props and (extra is False or isinstance(extra, dict)):
            errs.append(
                f"{path}.additionalProperties: Forbidden: additionalProperties and "
                "properties are mutual exclusive"
            )
        if isinstance(extra, dict):
            sub = ctx
            if ctx.inside_meta:
                sub = ctx.with_forbidden_defaults(
                    "inside additionalProperties applying to object metadata"
                )
            _walk(extra, f"{path}.additionalProperties", sub, False, compile_cel, errs, cel_errs)
    for name, prop in props.items():
        sub = ctx
        if (is_root or s.get("x-kubernetes-embedded-resource")) and name in META_FIELDS:
            sub = sub.with_inside_meta()
            if is_root:
                sub = sub.with_forbidden_defaults(f"in top-level {name}")
        _walk(prop, f"{path}.properties[{name}]", sub, False, compile_cel, errs, cel_errs)
    if isinstance(s.get("not"), dict):
        _walk(s["not"], f"{path}.not", ctx, False, None, errs, cel_errs)
    for word in ("allOf", "oneOf", "anyOf"):
        for i, sub_schema in enumerate(s.get(word) or []):
            _walk(sub_schema, f"{path}.{word}[{i}]", ctx, False, None, errs, cel_errs)
    for name, sub_schema in (s.get("definitions") or {}).items():
        _walk(sub_schema, f"{path}.definitions[{name}]", ctx, False, None, errs, cel_errs)
    items = s.get("items")
    if isinstance(items, dict):
        sub = ctx
        if s.get("x-kubernetes-list-type") != "map":
            sub = ctx.with_forbid_old_self(path)
        _walk(items, f"{path}.items", sub, False, compile_cel, errs, cel_errs)
    for name, dep in (s.get("dependencies") or {}).items():
        if isinstance(dep, dict):
            _walk(dep, f"{path}.dependencies[{name}]", ctx, False, None, errs, cel_errs)
    errs += _extensions(s, path)
    errs += _map_list_keys_map_set(s, path)
    rules = s.get("x-kubernetes-validations") or []
    if rules:
        errs += _static_rule_checks(s, rules, path)
        if len(errs) == before and compile_cel is not None:
            cel_errs += compile_cel(s, path, is_root)
            for i, rule in enumerate(rules):
                text = str(rule.get("rule") or "")
                if ctx.uncorrelatable is not None and uses_old_self(text):
                    cel_errs.append(
                        f"{path}.x-kubernetes-validations[{i}].rule: Invalid value: {_q(text)}: "
                        "oldSelf cannot be used on the uncorrelatable portion of the schema "
                        f"within {ctx.uncorrelatable}"
                    )


def _type_required(path: str, kind: str, wanted: str, extension: str) -> str:
    """The error for an ``extension`` that needs ``type: <wanted>`` on a node of ``kind``."""
    why = f"must be {wanted} if {extension} is specified"
    if kind:
        return f'{path}.type: Invalid value: "{kind}": {why}'
    return f"{path}.type: Required value: {why}"


def _extensions(s: Mapping[str, Any], path: str) -> list[str]:
    errs: list[str] = []
    kind = s.get("type") or ""
    if s.get("x-kubernetes-preserve-unknown-fields") is False:
        errs.append(
            f"{path}.x-kubernetes-preserve-unknown-fields: Invalid value: false: "
            "must be true or undefined"
        )
    map_type = s.get("x-kubernetes-map-type")
    if map_type is not None and kind != "object":
        errs.append(_type_required(path, kind, "object", "x-kubernetes-map-type"))
    if map_type is not None and map_type not in ("atomic", "granular"):
        errs.append(
            f'{path}.x-kubernetes-map-type: Unsupported value: "{map_type}": '
            'supported values: "atomic", "granular"'
        )
    list_type = s.get("x-kubernetes-list-type")
    items = s.get("items") if isinstance(s.get("items"), dict) else None
    if list_type is not None and kind != "array":
        errs.append(_type_required(path, kind, "array", "x-kubernetes-list-type"))
    elif list_type == "set" and items is not None:
        why = "must be atomic as item of a list with x-kubernetes-list-type=set"
        item_list_type = items.get("x-kubernetes-list-type")
        if items.get("type") == "array" and item_list_type not in (None, "atomic"):
            errs.append(
                f"{path}.items.x-kubernetes-list-type: Invalid value: {_q(item_list_type)}: {why}"
            )
        if items.get("type") == "object" and items.get("x-kubernetes-map-type") != "atomic":
            # Upstream prints the items' list-type here (usually unset: "null").
            errs.append(
                f"{path}.items.x-kubernetes-map-type: Invalid value: {_q(item_list_type)}: {why}"
            )
    if list_type is not None and list_type not in ("atomic", "set", "map"):
        errs.append(
            f'{path}.x-kubernetes-list-type: Unsupported value: "{list_type}": '
            'supported values: "atomic", "set", "map"'
        )
    keys = s.get("x-kubernetes-list-map-keys") or []
    if keys:
        why = "must be map if x-kubernetes-list-map-keys is non-empty"
        if list_type is None:
            errs.append(f"{path}.x-kubernetes-list-type: Required value: {why}")
        elif list_type != "map":
            errs.append(f'{path}.x-kubernetes-list-type: Invalid value: "{list_type}": {why}')
    if list_type == "map":
        errs += _list_map(s, keys, path)
    return errs


def _list_map(s: Mapping[str, Any], keys: list[Any], path: str) -> list[str]:
    errs: list[str] = []
    if not keys:
        errs.append(
            f"{path}.x-kubernetes-list-map-keys: Required value: "
            "must not be empty if x-kubernetes-list-type is map"
        )
    items = s.get("items")
    if items is None:
        errs.append(
            f"{path}.items: Required value: must have a schema if x-kubernetes-list-type is map"
        )
    elif isinstance(items, dict) and items.get("type") != "object":
        errs.append(
            f'{path}.items.type: Invalid value: "{items.get("type") or ""}": must be object '
            "if parent array's x-kubernetes-list-type is map"
        )
    elif isinstance(items, dict):
        seen: set[str] = set()
        props = items.get("properties") or {}
        for k in keys:
            if k in props:
                if props[k].get("type") in ("array", "object"):
                    errs.append(
                        f'{path}.items.properties[{k}].type: Invalid value: "object": must be '
                        "a scalar type if parent array's x-kubernetes-list-type is map"
                    )
            else:
                errs.append(
                    f"{path}.x-kubernetes-list-map-keys: Invalid value: {_go_strings(keys)}: "
                    "entries must all be names of item properties"
                )
            if k in seen:
                errs.append(
                    f"{path}.x-kubernetes-list-map-keys: Invalid value: {_go_strings(keys)}: "
                    "must not contain duplicate entries"
                )
            seen.add(k)
    return errs


def _map_list_keys_map_set(s: Mapping[str, Any], path: str) -> list[str]:
    """``validateMapListKeysMapSet``."""
    items = s.get("items")
    list_type = s.get("x-kubernetes-list-type")
    if not isinstance(items, dict) or list_type not in ("set", "map"):
        return []
    errs: list[str] = []
    if items.get("nullable"):
        errs.append(
            f"{path}.items.nullable: Forbidden: cannot be nullable when "
            f"x-kubernetes-list-type is {list_type}"
        )
    if list_type == "map":
        required = set(items.get("required") or ())
        props = items.get("properties") or {}
        for k in s.get("x-kubernetes-list-map-keys") or []:
            if k not in props:
                continue
            where = f"{path}.items.properties[{k}]"
            if k not in required and props[k].get("default") is None:
                errs.append(
                    f"{where}.default: Required value: this property is in "
                    "x-kubernetes-list-map-keys, so it must have a default or be a required "
                    "property"
                )
            if props[k].get("nullable"):
                errs.append(
                    f"{where}.nullable: Forbidden: this property is in "
                    "x-kubernetes-list-map-keys, so it cannot be nullable"
                )
    return errs


def _static_rule_checks(node: Mapping[str, Any], rules: list[Any], path: str) -> list[str]:
    """The checks of each ``x-kubernetes-validations`` entry that need no CEL."""
    errs: list[str] = []
    for i, rule in enumerate(rules):
        where = f"{path}.x-kubernetes-validations[{i}]"
        text = str(rule.get("rule") or "")
        message = str(rule.get("message") or "")
        if not text.strip():
            errs.append(f"{where}.rule: Required value: rule is not specified")
        elif message and not message.strip():
            errs.append(
                f"{where}.message: Invalid value: {_q(message)}: "
                "message must be non-empty if specified"
            )
        elif _NEWLINE.search(message.strip()):
            errs.append(
                f"{where}.message: Invalid value: {_q(message)}: "
                "message must not contain line breaks"
            )
        elif _NEWLINE.search(text.strip()) and not message.strip():
            errs.append(
                f"{where}.message: Required value: "
                "message must be specified if rule contains line breaks"
            )
        expression = str(rule.get("messageExpression") or "")
        if expression and not expression.strip():
            errs.append(
                f"{where}.messageExpression: Required value: "
                "messageExpression must be non-empty if specified"
            )
        reason = rule.get("reason")
        if reason is not None and reason not in REASONS:
            allowed = ", ".join(f'"{r}"' for r in REASONS)
            errs.append(
                f'{where}.reason: Unsupported value: "{reason}": supported values: {allowed}'
            )
        field_path = str(rule.get("fieldPath") or "")
        if field_path and not field_path.strip():
            errs.append(
                f"{where}.fieldPath: Invalid value: {_q(field_path)}: "
                "fieldPath must be non-empty if specified"
            )
        if _NEWLINE.search(field_path):
            errs.append(
                f"{where}.fieldPath: Invalid value: {_q(field_path)}: "
                "fieldPath must not contain line breaks"
            )
        if field_path and field_path_segments(field_path, node) is None:
            errs.append(
                f"{where}.fieldPath: Invalid value: {_q(field_path)}: "
                "fieldPath must be a valid path"
            )
    return errs
