"""What the API server refuses in a CustomResourceDefinition (``apiextensions.k8s.io/v1``).

Role: a port of apiextensions-apiserver ``pkg/apis/apiextensions/validation/validation.go`` --
``ValidateCustomResourceDefinition`` / ``ValidateCustomResourceDefinitionUpdate``,
``validateCustomResourceDefinitionSpec``, ``ValidateCustomResourceDefinitionNames``,
``validateCustomResourceDefinitionVersion`` (deprecation warnings),
``ValidateCustomResourceColumnDefinition``, ``ValidateCustomResourceDefinitionSubresources``,
``validateSimpleJSONPath``,
``ValidateCustomResourceDefinitionStoredVersions``, ``validateAPIApproval``,
``validatePreserveUnknownFields``, ``validateCustomResourceConversion`` (strategy only) -- and
of the v1 defaults (``v1/defaults.go``: singular, listKind, conversion strategy) and the
strategy's ``storedVersions`` bookkeeping (``registry/customresourcedefinition/strategy.go``).

Field paths follow upstream's *internal* form, which the v1 -> internal conversion
(``Convert_v1_CustomResourceDefinitionSpec_To_apiextensions_CustomResourceDefinitionSpec``)
produces: when every version carries the same ``schema`` (always so with one version) it is
validated once as ``spec.validation.openAPIV3Schema``; otherwise per version as
``spec.versions[i].schema.openAPIV3Schema``. ``subresources`` and ``additionalPrinterColumns``
are hoisted the same way (``spec.subresources``, ``spec.additionalPrinterColumns[j]``).

Guarantees: messages are upstream's ``field.Error`` bodies; where upstream prints a Go struct
with ``%#v`` (the whole ``spec.versions`` slice) the value is rendered
``[]apiextensions.CustomResourceDefinitionVersion{...}`` -- the detail after it is exact.
Non-goals: conversion webhooks (``webhookClientConfig``, ``caBundle``, review versions),
``selectableFields``, CEL cost limits, the update-time ratcheting options (every CRD the
emulator holds passed the strict checks), the names controller's conflict detection
(``NamesAccepted``), object-metadata rules (:mod:`emulator.builtins`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from emulator.names import dns1035_label, dns1123_subdomain
from emulator.schema import SchemaError, StructuralSchema
from emulator.schema_errors import FieldError, format_value

__all__ = ["apply_crd_defaults", "stored_versions", "validate_crd", "validate_names"]

PRINTER_TYPES = ("boolean", "date", "integer", "number", "string")  # sets.List(): sorted
PRINTER_FORMATS = ("byte", "date", "date-time", "double", "float", "int32", "int64", "password")
VERSIONS_VALUE = "[]apiextensions.CustomResourceDefinitionVersion{...}"
APPROVAL = "api-approved.kubernetes.io"
_REASONS = {
    "Required value": "FieldValueRequired",
    "Forbidden": "FieldValueForbidden",
    "Unsupported value": "FieldValueNotSupported",
    "Duplicate value": "FieldValueDuplicate",
    "Too many": "FieldValueTooMany",
    "Too long": "FieldValueTooLong",
}


def _q(value: Any) -> str:
    return format_value(value)


def _err(path: str, body: str) -> FieldError:
    reason = next((r for p, r in _REASONS.items() if body.startswith(p)), "FieldValueInvalid")
    return FieldError(path, reason, body)


def _invalid(path: str, value: Any, detail: str) -> FieldError:
    return _err(path, f"Invalid value: {_q(value)}: {detail}")


def _required(path: str, detail: str = "") -> FieldError:
    return _err(path, "Required value" + (f": {detail}" if detail else ""))


def apply_crd_defaults(crd: dict[str, Any]) -> None:
    """``SetDefaults_CustomResourceDefinitionSpec`` (mutates ``crd``, a private copy)."""
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.setdefault("names", {})
    if isinstance(names, dict):
        if not names.get("singular"):
            names["singular"] = str(names.get("kind") or "").lower()
        if not names.get("listKind") and names.get("kind"):
            names["listKind"] = f"{names['kind']}List"
    if spec.get("conversion") is None:
        spec["conversion"] = {"strategy": "None"}


def stored_versions(crd: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[str]:
    """``status.storedVersions`` after create/update: the old list (none on create) plus the
    first storage version if it is not in it yet (the strategy's PrepareForCreate/Update)."""
    stored = list(((old or {}).get("status") or {}).get("storedVersions") or [])
    for version in (crd.get("spec") or {}).get("versions") or []:
        if version.get("storage"):
            if version.get("name") not in stored:
                stored.append(version.get("name"))
            break
    return stored


def _identical(versions: list[Mapping[str, Any]], key: str) -> bool:
    """The conversion's "identical per-version fields" test (nil and empty are equal)."""
    first = versions[0].get(key) or None if versions else None
    return all((v.get(key) or None) == first for v in versions)


def validate_crd(crd: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> list[FieldError]:
    """Every error upstream reports for ``crd`` (an update when ``old`` is given), except the
    generic object-metadata ones."""
    spec: Mapping[str, Any] = crd.get("spec") or {}
    names: Mapping[str, Any] = spec.get("names") or {}
    errs: list[FieldError] = []
    name = (crd.get("metadata") or {}).get("name") or ""
    if old is None and name and name != f"{names.get('plural', '')}.{spec.get('group', '')}":
        errs.append(_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    errs += _spec(spec)
    if old is not None:
        errs += _spec_update(spec, (old.get("spec") or {}))
    errs += _stored_versions(stored_versions(crd, old), spec.get("versions") or [])
    errs += _api_approval(crd, old)
    if spec.get("preserveUnknownFields") is True and not (
        old is not None and (old.get("spec") or {}).get("preserveUnknownFields") is True
    ):
        errs.append(
            _invalid(
                "spec.preserveUnknownFields",
                True,
                "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in "
                "spec.versions[*].schema instead",
            )
        )
    return errs


def _spec(spec: Mapping[str, Any]) -> list[FieldError]:
    """``validateCustomResourceDefinitionSpec`` on the internal (hoisted) form."""
    names: Mapping[str, Any] = spec.get("names") or {}
    errs: list[FieldError] = []
    group = str(spec.get("group") or "")
    if not group:
        errs.append(_required("spec.group"))
    elif dns1123_subdomain(group):
        errs.append(_invalid("spec.group", group, ",".join(dns1123_subdomain(group))))
    elif len(group.split(".")) < 2:
        errs.append(_invalid("spec.group", group, "should be a domain with at least one dot"))
    scope = spec.get("scope") or ""
    if not scope:
        errs.append(_required("spec.scope"))
    elif scope not in ("Cluster", "Namespaced"):
        errs.append(
            _err("spec.scope", f'Unsupported value: {_q(scope)}: supported values: "Cluster", '
                 '"Namespaced"')
        )  # fmt: skip
    versions: list[Mapping[str, Any]] = list(spec.get("versions") or [])
    same_schema = _identical(versions, "schema") and bool(versions)
    same_sub = _identical(versions, "subresources") and bool(versions)
    same_cols = _identical(versions, "additionalPrinterColumns") and bool(versions)
    hoisted = versions[0].get("schema") if same_schema else None
    if not (hoisted or {}).get("openAPIV3Schema"):
        for i, v in enumerate(versions):
            if not ((v.get("schema") or {}).get("openAPIV3Schema")):
                errs.append(
                    _required(f"spec.versions[{i}].schema.openAPIV3Schema", "schemas are required")
                )
    any_status = any("status" in (v.get("subresources") or {}) for v in versions)
    seen: set[str] = set()
    unique = True
    for i, v in enumerate(versions):
        where = f"spec.versions[{i}]"
        vname = str(v.get("name") or "")
        unique = unique and vname not in seen
        seen.add(vname)
        if dns1035_label(vname):
            errs.append(_invalid(f"{where}.name", vname, ",".join(dns1035_label(vname))))
        errs += _deprecation(v, where)
        if not same_schema:
            status = "status" in (v.get("subresources") or {})
            errs += _schema(v, f"{where}.schema.openAPIV3Schema", status)
        if not same_sub:
            errs += _subresources(v.get("subresources"), f"{where}.subresources")
        if not same_cols:
            for j, col in enumerate(v.get("additionalPrinterColumns") or []):
                errs += _column(col, f"{where}.additionalPrinterColumns[{j}]")
    if not unique:
        errs.append(
            _err("spec.versions", f"Invalid value: {VERSIONS_VALUE}: must contain unique "
                 "version names")
        )  # fmt: skip
    if sum(1 for v in versions if v.get("storage")) != 1:
        errs.append(
            _err("spec.versions", f"Invalid value: {VERSIONS_VALUE}: must have exactly one "
                 "version marked as storage version")
        )  # fmt: skip
    if versions and dns1035_label(str(versions[0].get("name") or "")):
        first = str(versions[0].get("name") or "")  # internal spec.version = versions[0].name
        errs.append(_invalid("spec.version", first, ",".join(dns1035_label(first))))
    for word in ("plural", "singular", "kind", "listKind"):
        if not names.get(word):
            errs.append(_required(f"spec.names.{word}"))
    errs += validate_names(names, "spec.names")
    if same_schema and (hoisted or {}).get("openAPIV3Schema"):
        errs += _schema(versions[0], "spec.validation.openAPIV3Schema", any_status)
    if same_sub:
        errs += _subresources(versions[0].get("subresources"), "spec.subresources")
    if same_cols:
        for j, col in enumerate(versions[0].get("additionalPrinterColumns") or []):
            errs += _column(col, f"spec.additionalPrinterColumns[{j}]")
    strategy = (spec.get("conversion") or {}).get("strategy") or ""
    if spec.get("conversion") is not None and not strategy:
        errs.append(_required("spec.conversion.strategy"))
    elif strategy and strategy not in ("None", "Webhook"):
        errs.append(
            _err("spec.conversion.strategy", f"Unsupported value: {_q(strategy)}: supported "
                 'values: "None", "Webhook"')
        )  # fmt: skip
    return errs


def _schema(version: Mapping[str, Any], prefix: str, status: bool) -> list[FieldError]:
    if not ((version.get("schema") or {}).get("openAPIV3Schema")):
        return []  # reported once as "schemas are required"
    try:
        StructuralSchema.from_crd_version(version, prefix=prefix, status_enabled=status)
    except SchemaError as err:
        out = []
        for problem in err.errors:
            path, _, body = problem.partition(": ")
            out.append(_err(path, body))
        return out
    return []


def validate_names(names: Mapping[str, Any], path: str) -> list[FieldError]:
    """``ValidateCustomResourceDefinitionNames``."""
    errs: list[FieldError] = []
    for word in ("plural", "singular"):
        value = str(names.get(word) or "")
        if value and dns1035_label(value):
            errs.append(_invalid(f"{path}.{word}", value, ",".join(dns1035_label(value))))
    for word in ("kind", "listKind"):
        value = str(names.get(word) or "")
        if value and dns1035_label(value.lower()):
            detail = "may have mixed case, but should otherwise match: "
            errs.append(
                _invalid(f"{path}.{word}", value, detail + ",".join(dns1035_label(value.lower())))
            )
    for i, short in enumerate(names.get("shortNames") or []):
        if dns1035_label(str(short)):
            errs.append(
                _invalid(f"{path}.shortNames[{i}]", short, ",".join(dns1035_label(str(short))))
            )
    kind = names.get("kind")
    if kind and kind == names.get("listKind"):
        errs.append(_invalid(f"{path}.listKind", kind, "kind and listKind may not be the same"))
    for i, category in enumerate(names.get("categories") or []):
        if dns1035_label(str(category)):
            errs.append(
                _invalid(
                    f"{path}.categories[{i}]", category, ",".join(dns1035_label(str(category)))
                )
            )
    return errs


def _deprecation(version: Mapping[str, Any], where: str) -> list[FieldError]:
    """``validateDeprecationWarning``."""
    warning = version.get("deprecationWarning")
    if warning is None:
        return []
    path = f"{where}.deprecationWarning"
    if not version.get("deprecated"):
        return [_invalid(path, warning, "can only be set for deprecated versions")]
    errs: list[FieldError] = []
    if len(warning.encode()) > 256:
        errs.append(_invalid(path, warning, "must be <= 256 characters long"))
    if not warning:
        errs.append(_invalid(path, warning, "must not be an empty string"))
    for i, ch in enumerate(warning):
        if not ch.isprintable():  # unicode.IsPrint fails first, also for control characters
            at = len(warning[:i].encode())  # Go ranges over bytes offsets
            detail = "must only contain printable UTF-8 characters; non-printable character"
            errs.append(_invalid(path, warning, f"{detail} found at index {at}"))
            break
    return errs


def simple_json_path(value: str, path: str) -> list[FieldError]:
    """``validateSimpleJSONPath``."""
    if not value:
        return [_invalid(path, value, "must not be empty")]
    if not value.startswith("."):
        return [_invalid(path, value, "must be a simple json path starting with .")]
    return []


def _column(col: Mapping[str, Any], where: str) -> list[FieldError]:
    """``ValidateCustomResourceColumnDefinition`` (its path says ``JSONPath``, not jsonPath)."""
    errs: list[FieldError] = []
    if not col.get("name"):
        errs.append(_required(f"{where}.name"))
    kinds = f"must be one of {','.join(PRINTER_TYPES)}"
    kind = col.get("type") or ""
    if not kind:
        errs.append(_required(f"{where}.type", kinds))
    elif kind not in PRINTER_TYPES:
        errs.append(_invalid(f"{where}.type", kind, kinds))
    fmt = col.get("format") or ""
    if fmt and fmt not in PRINTER_FORMATS:
        errs.append(_invalid(f"{where}.format", fmt, f"must be one of {','.join(PRINTER_FORMATS)}"))
    json_path = col.get("jsonPath") or ""
    if not json_path:
        errs.append(_required(f"{where}.JSONPath"))
    else:
        errs += simple_json_path(json_path, f"{where}.JSONPath")
    return errs


def _subresources(sub: Mapping[str, Any] | None, where: str) -> list[FieldError]:
    """``ValidateCustomResourceDefinitionSubresources`` (the scale paths)."""
    scale = (sub or {}).get("scale")
    if scale is None:
        return []
    errs: list[FieldError] = []
    for word, under in (("specReplicasPath", ".spec"), ("statusReplicasPath", ".status")):
        value = scale.get(word) or ""
        path = f"{where}.scale.{word}"
        if not value:
            errs.append(_required(path))
        elif bad := simple_json_path(value, path):
            errs += bad
        elif not value.startswith(under + "."):
            errs.append(_invalid(path, value, f"should be a json path under {under}"))
    selector = scale.get("labelSelectorPath") or ""
    if selector:
        path = f"{where}.scale.labelSelectorPath"
        if bad := simple_json_path(selector, path):
            errs += bad
        elif not selector.startswith((".spec.", ".status.")):
            errs.append(
                _invalid(path, selector, "should be a json path under either .spec or .status")
            )
    return errs


def _spec_update(spec: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    """``validateCustomResourceDefinitionSpecUpdate``: the emulator establishes every CRD it
    accepts, so scope and kind are immutable too (``requireImmutableNames``)."""
    errs: list[FieldError] = []
    names, old_names = spec.get("names") or {}, old.get("names") or {}
    pairs = (
        ("spec.scope", spec.get("scope"), old.get("scope")),
        ("spec.names.kind", names.get("kind"), old_names.get("kind")),
        ("spec.group", spec.get("group"), old.get("group")),
        ("spec.names.plural", names.get("plural"), old_names.get("plural")),
    )
    for path, new, before in pairs:
        if new != before:
            errs.append(_invalid(path, new or "", "field is immutable"))
    return errs


def _stored_versions(stored: list[str], versions: list[Mapping[str, Any]]) -> list[FieldError]:
    """``ValidateCustomResourceDefinitionStoredVersions``."""
    path = "status.storedVersions"
    shown = (
        "[]string{" + ", ".join(json.dumps(s) for s in stored) + "}" if stored else "[]string(nil)"
    )
    if not stored:
        return [_err(path, f"Invalid value: {shown}: must have at least one stored version")]
    errs: list[FieldError] = []
    remaining = {s: i for i, s in enumerate(stored)}
    for v in versions:
        vname = v.get("name")
        if v.get("storage") and vname not in remaining:
            errs.append(
                _err(path, f"Invalid value: {shown}: must have the storage version {vname}")
            )
        remaining.pop(vname, None)  # type: ignore[arg-type]
    for vname, i in remaining.items():
        errs.append(_invalid(f"{path}[{i}]", vname, "must appear in spec.versions"))
    return errs


def _approval_state(annotation: str) -> tuple[str, str]:
    if not annotation:
        return "missing", (
            f'protected groups must have approval annotation "{APPROVAL}", see '
            "https://github.com/kubernetes/enhancements/pull/1111"
        )
    if annotation.startswith("unapproved"):
        return "bypassed", f"not approved: {json.dumps(annotation)}"
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s]+", annotation):
        return "approved", f"approved in {annotation}"
    return "invalid", (
        f'protected groups must have approval annotation "{APPROVAL}" with either a URL or a '
        'reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111'
    )


def _api_approval(crd: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[FieldError]:
    """``validateAPIApproval``: ``*.k8s.io`` and ``*.kubernetes.io`` groups need approval."""
    group = str((crd.get("spec") or {}).get("group") or "")
    if not (group in ("k8s.io", "kubernetes.io") or group.endswith((".k8s.io", ".kubernetes.io"))):
        return []
    annotations = (crd.get("metadata") or {}).get("annotations") or {}
    state, reason = _approval_state(str(annotations.get(APPROVAL) or ""))
    if old is not None:
        old_annotations = (old.get("metadata") or {}).get("annotations") or {}
        if _approval_state(str(old_annotations.get(APPROVAL) or ""))[0] == state:
            return []
    path = f"metadata.annotations[{APPROVAL}]"
    if state == "missing":
        return [_required(path, reason)]
    if state == "invalid":
        return [_invalid(path, annotations.get(APPROVAL), reason)]
    return []
