"""CRD structural schemas (``apiextensions.k8s.io/v1``): accept, default, prune, validate.

Role: the emulator's model of a CustomResourceDefinition version's ``openAPIV3Schema``, from
the CRD docs ("Specifying a structural schema", "Defaulting", "Pruning", "Validation"):

- :meth:`StructuralSchema.from_crd_version` refuses, with one :class:`SchemaError` listing
  every problem as ``"<path>: <message>"``, what apiextensions-apiserver's
  ``validateCustomResourceDefinitionValidation`` refuses: root rules and the OpenAPI checks
  (:mod:`emulator.schema_openapi`), non-structural schemas (:mod:`emulator.schema_structural`,
  including the root ``metadata`` rule), defaults that are not pruned or fail their own schema
  (``ValidateDefaults``), and every ``x-kubernetes-validations`` rule :mod:`emulator.cel`
  cannot compile.
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
from emulator.schema_errors import ROOT_FIELD, FieldError, SchemaError, go_value
from emulator.schema_openapi import check_openapi, check_root
from emulator.schema_structural import structural_init_error, validate_structural
from emulator.schema_validate import validate_value

__all__ = ["FieldError", "SchemaError", "StructuralSchema"]

ALWAYS_KEPT = ("apiVersion", "kind", "metadata")
DEFAULT_PREFIX = "schema.openAPIV3Schema"


class StructuralSchema:
    """One CRD version's validated schema, with its compiled CEL rules."""

    def __init__(self, schema: Mapping[str, Any], rules: dict[int, list[CompiledRule]]) -> None:
        self._schema = schema
        self._rules = rules

    @property
    def openapi(self) -> Mapping[str, Any]:
        """The ``openAPIV3Schema`` this was built from (list and map types for field owners)."""
        return self._schema

    @classmethod
    def from_crd_version(
        cls,
        version: Mapping[str, Any],
        *,
        prefix: str = DEFAULT_PREFIX,
        status_enabled: bool | None = None,
    ) -> StructuralSchema:
        """Build from a ``spec.versions[]`` entry; ``prefix`` names its ``openAPIV3Schema`` in
        error paths (the server passes ``spec.validation.openAPIV3Schema`` or
        ``spec.versions[i].schema.openAPIV3Schema``, see :mod:`emulator.crd_validation`), and
        ``status_enabled`` says whether the status subresource restricts the root (default:
        the version's own ``subresources``)."""
        raw = ((version.get("schema") or {}).get("openAPIV3Schema")) if version else None
        if not isinstance(raw, dict):
            raise SchemaError([f"{prefix}: Required value: schemas are required"])
        if status_enabled is None:
            status_enabled = "status" in (version.get("subresources") or {})
        schema = copy.deepcopy(raw)
        rules: dict[int, list[CompiledRule]] = {}
        result = cls(schema, rules)
        problems = result._check(prefix, status_enabled)
        if problems:
            raise SchemaError(problems)
        return result

    def _check(self, prefix: str, status_enabled: bool) -> list[str]:
        """``validateCustomResourceDefinitionValidation``, in upstream's order: root rules,
        then ``ValidateStructural``, then (only if structural) ``ValidateDefaults``, then the
        OpenAPI checks -- with CEL compiled only when both passed; a schema ``NewStructural``
        cannot convert is reported as such only when nothing else is wrong."""
        schema = self._schema
        problems = check_root(schema, prefix, status_enabled)
        init_error = structural_init_error(schema)
        cel_ok = False
        if init_error is None:
            structural = validate_structural(schema, prefix)
            problems += structural
            if not structural:
                before = len(problems)
                self._check_defaults(schema, prefix, problems, is_root=True)
                cel_ok = len(problems) == before
        schema_errs, cel_errs = check_openapi(schema, prefix, self._compile if cel_ok else None)
        problems += schema_errs + cel_errs
        if init_error is not None and not problems:
            problems.append(f'{prefix}: Invalid value: "": {init_error}')
        return problems

    def _compile(self, node: Mapping[str, Any], path: str, is_root: bool) -> list[str]:
        compiled, problems = compile_rules(
            node["x-kubernetes-validations"], node, path, is_root=is_root
        )
        self._rules[id(node)] = compiled
        return problems

    # -- defaults ---------------------------------------------------------------------------
    def _check_defaults(
        self, node: Mapping[str, Any], path: str, problems: list[str], is_root: bool = False
    ) -> None:
        """``ValidateDefaults`` (``schema/defaulting/validation.go``): every default is pruned
        and validates against its own node; recurses into ``items`` and ``properties``. Under
        resource meta (``metadata``/``apiVersion``/``kind`` of the root) defaults are refused
        by the OpenAPI checks instead."""
        if "default" in node and node["default"] is not None and not is_root:
            default = node["default"]
            pruned = _prune(node, copy.deepcopy(default), embedded=False)
            if pruned != default:
                problems.append(
                    f"{path}.default: Invalid value: {go_value(default)}: "
                    "must not have unknown fields"
                )
            defaulted = copy.deepcopy(default)
            _default(node, defaulted)
            for err in validate_value(node, defaulted, None, self._rules_for, has_rules=False):
                # ValidateCustomResource(pth.Child("default"), ...): paths below the default.
                where = "" if err.field in ("", ROOT_FIELD) else f".{err.field}"
                problems.append(f"{path}.default{where}: {err.message}")
        if isinstance(node.get("items"), dict):
            self._check_defaults(node["items"], f"{path}.items", problems)
        for name, sub in (node.get("properties") or {}).items():
            if (is_root or node.get("x-kubernetes-embedded-resource")) and name in ALWAYS_KEPT:
                continue
            self._check_defaults(sub, f"{path}.properties[{name}]", problems)

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
