"""The OpenAPI schemas of a CustomResourceDefinition's version, as apiextensions-apiserver's
OpenAPI builder makes them.

Role: :mod:`emulator.openapi_serve` puts these in ``/openapi/v3/apis/<group>/<version>`` and
``/openapi/v2`` so ``kubectl explain`` shows the CRD's own descriptions, and
:mod:`emulator.field_validation` finds the fields a custom resource does not declare.

What the builder does (docs/emulator.md, "OpenAPI"): the version's ``openAPIV3Schema``,
unfolded (``x-kubernetes-int-or-string`` gets its ``anyOf`` of integer and string; an
``x-kubernetes-embedded-resource`` gets ``apiVersion``, ``kind`` and ``metadata``), with the
root's ``metadata`` a reference to ObjectMeta and ``apiVersion``/``kind`` from TypeMeta, the
``x-kubernetes-group-version-kind`` and ``x-kubernetes-selectable-fields`` extensions, and a
``<Kind>List`` schema. The v2 form follows the builder's conversion: no ``allOf``/``oneOf``/
``anyOf``/``not``; a ``nullable`` schema loses its type, items and properties (and its place in
the parent's ``required``); ``x-kubernetes-preserve-unknown-fields`` drops items, properties and
an ``object`` type; an array without items loses its type; defaults are pruned. Schema names
are the group reversed (``dbbackup.io/v1alpha1`` ``DatabaseBackup`` →
``io.dbbackup.v1alpha1.DatabaseBackup``). Non-goals: the ``scale`` subresource's schema.
"""

from __future__ import annotations

import copy
from typing import Any

from emulator.openapi_builtin import REF_V2, REF_V3

__all__ = ["crd_schema_name", "crd_schemas"]

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
CONVENTIONS = "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
API_VERSION_DOC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers "
    "should convert recognized schemas to the latest internal value, and may reject "
    f"unrecognized values. More info: {CONVENTIONS}#resources"
)
KIND_DOC = (
    "Kind is a string value representing the REST resource this object represents. Servers "
    "may infer this from the endpoint the client submits requests to. Cannot be updated. In "
    f"CamelCase. More info: {CONVENTIONS}#types-kinds"
)
EMBEDDED_API_VERSION_DOC = (
    "apiVersion defines the versioned schema of this representation of an object. More info: "
    f"{CONVENTIONS}#resources"
)
EMBEDDED_KIND_DOC = (
    "kind is a string value representing the type of this object. In CamelCase. More info: "
    f"{CONVENTIONS}#types-kinds"
)
METADATA_DOC = f"Standard object's metadata. More info: {CONVENTIONS}#metadata"
LIST_METADATA_DOC = f"Standard list metadata. More info: {CONVENTIONS}#types-kinds"
VALUE_VALIDATIONS = ("allOf", "oneOf", "anyOf", "not")


def crd_schema_name(group: str, version: str, kind: str) -> str:
    """``dbbackup.io``, ``v1alpha1``, ``DatabaseBackup`` → ``io.dbbackup.v1alpha1.DatabaseBackup``
    (the builder's REST-friendly name: the group's labels reversed)."""
    return ".".join([*reversed(group.split(".")), version, kind])


def _ref(name: str, v2: bool, description: str) -> dict[str, Any]:
    if v2:
        return {"description": description, "$ref": REF_V2 + name}
    return {"description": description, "allOf": [{"$ref": REF_V3 + name}]}


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = list((node.get("properties") or {}).values())
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            out.append(node[key])
    return out


def _unfold(node: dict[str, Any], v2: bool) -> None:
    """Int-or-string's ``anyOf``; an embedded resource's apiVersion, kind and metadata."""
    for child in _children(node):
        _unfold(child, v2)
    if node.get("x-kubernetes-int-or-string") and "anyOf" not in node:
        node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if v2 and node.get("x-kubernetes-preserve-unknown-fields"):
        return
    if node.get("x-kubernetes-embedded-resource"):
        props = node.setdefault("properties", {})
        props["apiVersion"] = {"description": EMBEDDED_API_VERSION_DOC, "type": "string"}
        props["kind"] = {"description": EMBEDDED_KIND_DOC, "type": "string"}
        props["metadata"] = _ref(OBJECT_META, v2, METADATA_DOC)
        required = node.setdefault("required", [])
        required += [f for f in ("kind", "apiVersion") if f not in required]


def _to_v2(node: dict[str, Any]) -> None:
    """apiextensions-apiserver's ToStructuralOpenAPIV2 (a node before its children, as its
    visitor goes), then the v2 document's pruned defaults."""
    for key in (*VALUE_VALIDATIONS, "default"):
        node.pop(key, None)
    if node.pop("nullable", False):
        for key in ("type", "items", "properties"):
            node.pop(key, None)
    if node.get("x-kubernetes-preserve-unknown-fields"):
        node.pop("items", None)
        node.pop("properties", None)
        if node.get("type") == "object":
            del node["type"]
    if node.get("type") == "array" and "items" not in node:
        del node["type"]
    props = node.get("properties") or {}
    required = [f for f in node.get("required") or [] if not (props.get(f) or {}).get("nullable")]
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("nullable"):
        required = []
    if "required" in node:
        if required:
            node["required"] = required
        else:
            del node["required"]
    for child in _children(node):
        _to_v2(child)


def _selectable(version: dict[str, Any]) -> list[dict[str, str]]:
    fields = version.get("selectableFields") or []
    return [{"fieldPath": str(f.get("jsonPath", "")).removeprefix(".")} for f in fields]


def crd_schemas(crd: dict[str, Any], version_name: str, *, v2: bool) -> dict[str, dict[str, Any]]:
    """The kind's and the list's schema of one served version, by OpenAPI name."""
    spec = crd["spec"]
    group, names = spec["group"], spec["names"]
    kind, plural = names["kind"], names["plural"]
    list_kind = names.get("listKind") or f"{kind}List"
    version = next(v for v in spec["versions"] if v["name"] == version_name)
    raw = ((version.get("schema") or {}).get("openAPIV3Schema")) or None
    gvk = [{"group": group, "version": version_name, "kind": kind}]
    preserve = raw is None or bool(raw.get("x-kubernetes-preserve-unknown-fields"))
    if raw is None or (v2 and (preserve or spec.get("preserveUnknownFields"))):
        schema: dict[str, Any] = {"type": "object"}
    else:
        schema = copy.deepcopy(raw)
        _unfold(schema, v2)
        if v2:
            _to_v2(schema)
        props = schema.setdefault("properties", {})
        props["metadata"] = _ref(OBJECT_META, v2, METADATA_DOC)
        props["apiVersion"] = {"description": API_VERSION_DOC, "type": "string"}
        props["kind"] = {"description": KIND_DOC, "type": "string"}
    schema["x-kubernetes-group-version-kind"] = gvk
    schema["x-kubernetes-selectable-fields"] = _selectable(version)
    name = crd_schema_name(group, version_name, kind)
    item_ref = {"$ref": (REF_V2 if v2 else REF_V3) + name}
    list_schema: dict[str, Any] = {
        "description": f"{list_kind} is a list of {kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": API_VERSION_DOC, "type": "string"},
            "items": {
                "description": f"List of {plural}. More info: {CONVENTIONS}",
                "type": "array",
                "items": item_ref,
            },
            "kind": {"description": KIND_DOC, "type": "string"},
            "metadata": _ref(LIST_META, v2, LIST_METADATA_DOC),
        },
        "x-kubernetes-group-version-kind": [dict(gvk[0], kind=list_kind)],
        "x-kubernetes-selectable-fields": _selectable(version),
    }
    return {name: schema, crd_schema_name(group, version_name, list_kind): list_schema}
