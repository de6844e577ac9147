"""OpenAPI schemas of the built-in kinds the emulator serves, read from ``openapi_types/*.txt``.

Role: ``kubectl explain`` shows these (field names, types, descriptions), and strict field
validation (:mod:`emulator.field_validation`) walks them to find unknown fields, as
kube-apiserver's strict JSON decoding into the Go types does. The closure covers every type the
served kinds reach (a Job's whole pod template, a CRD's ``JSONSchemaProps``), with the field
names, types, required lists and list/map/patch extensions of the v1.32 API; descriptions are
the first sentence of the upstream ones.

The type files use a compact line format (one type, then its fields indented)::

    type batch.Job gvk=batch/v1 | Job represents the configuration of a single job.
      spec JobSpec | Specification of the desired behavior of a job.
      containers* []Container patch=merge mergekey=name list=map keys=name | ...
    type meta.Time = {"type":"string","format":"date-time"} | Time is ...

``pkg.Name`` names a type of another package (a bare ``Name`` is one of the same package);
``[]T`` is an array, ``{}T`` a map, ``string:byte`` a type with a format, ``any`` a free value;
``*`` marks a required field; ``= {...}`` gives a schema without properties as JSON.
Guarantees: :data:`SCHEMAS` is in the v3 form kube-apiserver serves (``allOf`` around a
``$ref`` so a description sits beside it); :func:`to_v2` gives the Swagger 2.0 form.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["PACKAGES", "REF_V2", "REF_V3", "SCHEMAS", "full_name", "kind_schema_name", "to_v2"]

REF_V3 = "#/components/schemas/"
REF_V2 = "#/definitions/"
PACKAGES: dict[str, str] = {
    "core": "io.k8s.api.core.v1",
    "batch": "io.k8s.api.batch.v1",
    "coordination": "io.k8s.api.coordination.v1",
    "events": "io.k8s.api.events.v1",
    "rbac": "io.k8s.api.rbac.v1",
    "authentication": "io.k8s.api.authentication.v1",
    "authorization": "io.k8s.api.authorization.v1",
    "apiextensions": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1",
    "meta": "io.k8s.apimachinery.pkg.apis.meta.v1",
    "resource": "io.k8s.apimachinery.pkg.api.resource",
    "intstr": "io.k8s.apimachinery.pkg.util.intstr",
    "runtime": "io.k8s.apimachinery.pkg.runtime",
}
# group (as served) -> package alias of its kinds
GROUP_PACKAGES: dict[str, str] = {
    "": "core",
    "batch": "batch",
    "coordination.k8s.io": "coordination",
    "events.k8s.io": "events",
    "rbac.authorization.k8s.io": "rbac",
    "authentication.k8s.io": "authentication",
    "authorization.k8s.io": "authorization",
    "apiextensions.k8s.io": "apiextensions",
}
_OPTIONS = {
    "patch": "x-kubernetes-patch-strategy",
    "mergekey": "x-kubernetes-patch-merge-key",
    "list": "x-kubernetes-list-type",
    "map": "x-kubernetes-map-type",
}


def full_name(ref: str, package: str) -> str:
    """``pkg.Name`` or ``Name`` (in ``package``) as the schema's full OpenAPI name."""
    alias, _, name = ref.rpartition(".")
    return f"{PACKAGES[alias or package]}.{name}"


def kind_schema_name(group: str, kind: str) -> str | None:
    """The OpenAPI name of a built-in kind's schema (None for a group we do not define)."""
    alias = GROUP_PACKAGES.get(group)
    return None if alias is None else f"{PACKAGES[alias]}.{kind}"


def _type(expr: str, package: str) -> dict[str, Any]:
    if expr.startswith("[]"):
        return {"type": "array", "items": _type(expr[2:], package)}
    if expr.startswith("{}"):
        return {"type": "object", "additionalProperties": _type(expr[2:], package)}
    if expr == "any":
        return {}
    base, _, fmt = expr.partition(":")
    if base in ("string", "integer", "number", "boolean", "object"):
        return {"type": base, "format": fmt} if fmt else {"type": base}
    return {"allOf": [{"$ref": REF_V3 + full_name(expr, package)}]}


def _options(words: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for word in words:
        key, _, value = word.partition("=")
        if key == "keys":
            out["x-kubernetes-list-map-keys"] = value.split(",")
        elif key in _OPTIONS:
            out[_OPTIONS[key]] = value
    return out


def _parse(text: str, into: dict[str, dict[str, Any]]) -> None:
    current: dict[str, Any] = {}
    package = ""
    for line in text.splitlines():
        if not line.strip():
            continue
        head, _, description = line.partition(" | ")
        if not line.startswith(" "):
            words = head.split()
            package, _, name = words[1].partition(".")
            if len(words) > 2 and words[2] == "=":
                current = json.loads(head.split(" = ", 1)[1])
            else:
                current = {"type": "object", "properties": {}}
                for word in words[2:]:
                    if word.startswith("gvk="):
                        group, _, version = word[4:].partition("/")
                        gvk = {"group": group, "version": version, "kind": name}
                        current["x-kubernetes-group-version-kind"] = [gvk]
                current.update(_options(words[2:]))
            if description:
                current["description"] = description
            into[f"{PACKAGES[package]}.{name}"] = current
            continue
        words = head.split()
        field, required = words[0].rstrip("*"), words[0].endswith("*")
        prop = _type(words[1], package)
        if "allOf" not in prop and description:
            prop = {"description": description, **prop}
        elif description:
            prop["description"] = description
        prop.update(_options(words[2:]))
        current["properties"][field] = prop
        if required:
            current.setdefault("required", []).append(field)


@cache
def _load() -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {}
    folder = resources.files("emulator") / "openapi_types"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".txt"):
            _parse(entry.read_text(encoding="utf-8"), schemas)
    return schemas


SCHEMAS: dict[str, dict[str, Any]] = _load()
"""Every built-in schema by full OpenAPI name, v3 form (never modify: shared)."""


def to_v2(schema: Any) -> Any:
    """A v3 schema in the Swagger 2.0 form: ``$ref`` into ``#/definitions/`` with the
    description beside it (no ``allOf``), ``oneOf`` scalars (Quantity, IntOrString) as
    strings, as kube-apiserver's v2 document writes them."""
    if isinstance(schema, list):
        return [to_v2(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "allOf" and len(value) == 1 and "$ref" in value[0]:
            out["$ref"] = REF_V2 + value[0]["$ref"].removeprefix(REF_V3)
        elif key == "$ref":
            out["$ref"] = REF_V2 + value.removeprefix(REF_V3)
        elif key == "oneOf":
            out["type"] = "string"
        elif key in ("properties", "definitions"):
            out[key] = {k: to_v2(v) for k, v in value.items()}
        else:
            out[key] = to_v2(value)
    return out
