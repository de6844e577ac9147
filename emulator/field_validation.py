"""Server-side field validation: ``?fieldValidation=Strict|Warn|Ignore`` on create, update, patch.

Role: kubectl 1.32 validates a manifest by asking the server to (``--validate=strict``, the
default, sends ``fieldValidation=Strict`` once the OpenAPI document says the server takes it),
so the server must find the fields the kind does not declare and the keys a JSON object repeats.
Confirmed on kube-apiserver v1.32 (docs/emulator.md):

* unset means ``Warn``; another value than ``Ignore``/``Strict``/``Warn`` is a 422 on
  ``CreateOptions``/``UpdateOptions``/``PatchOptions.meta.k8s.io``;
* a POST or PUT body: ``Strict`` answers 400 ``<Kind> in version "<v>" cannot be handled as a
  <Kind>: strict decoding error: duplicate field "spec.x", unknown field "spec.foo"``; ``Warn``
  sends one ``Warning: 299 - "unknown field \\"spec.foo\\""`` header per problem and stores the
  object without the unknown fields (the last of repeated keys wins); ``Ignore`` is silent;
* built-in kinds list the problems in document order; custom resources list repeated keys
  first, then unknown fields sorted (they are found by pruning);
* a PATCH: repeated keys are those of the patch document; unknown fields are those of the
  patched object; ``Strict`` answers 422 with one ``patch`` cause whose value is the patched
  object's JSON (the patch itself, printed as a Go map, for a strategic merge patch).

Unknown means not declared by the kind's OpenAPI schema (:mod:`emulator.openapi_builtin`, or
the CRD's, :mod:`emulator.openapi_crd`), except under ``x-kubernetes-preserve-unknown-fields``
and for a schema without properties (Quantity, IntOrString, RawExtension, ``JSON``).
Non-goals: protobuf bodies (their decoder has no unknown fields), duplicate keys inside a JSON
patch's operations.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import ApiStatusError, Cause, bad_request, invalid
from emulator.openapi_builtin import REF_V3

__all__ = ["DIRECTIVES", "Checker", "directive", "parse_tracking_duplicates"]

DIRECTIVES = ("", "Ignore", "Strict", "Warn")
OPTIONS_KINDS = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
EMBEDDED = ("apiVersion", "kind", "metadata")
Path = tuple[str | int, ...]


class _Object(dict[str, Any]):
    """A decoded JSON object that remembers its keys in document order, repeats included."""

    order: list[tuple[str, bool]]


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    obj.order = []
    for key, value in pairs:
        obj.order.append((key, key in obj))
        obj[key] = value
    return obj


def parse_tracking_duplicates(raw: bytes) -> Any:
    """``raw`` decoded with every object's key order and repeats kept (for :class:`Checker`)."""
    return json.loads(raw, object_pairs_hook=_pairs)


def directive(query: Mapping[str, str], verb: str) -> str:
    """The request's directive (``Warn`` when unset); 422 for a value the server does not know."""
    value = query.get("fieldValidation", "")
    if value not in DIRECTIVES:
        supported = ", ".join(f'"{d}"' for d in DIRECTIVES)
        cause = Cause(
            field="fieldValidation",
            reason="FieldValueNotSupported",
            message=f'Unsupported value: "{value}": supported values: {supported}',
        )
        raise invalid("meta.k8s.io", OPTIONS_KINDS.get(verb, "CreateOptions"), "", [cause])
    return value or "Warn"


def _text(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _go_value(value: Any) -> str:
    """``fmt``'s ``%v`` of a decoded JSON value (how the real server prints a patch map)."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


@dataclass
class Checker:
    """Finds unknown and repeated fields of one kind; ``root`` names its schema in ``schemas``."""

    root: str
    schemas: Mapping[str, Mapping[str, Any]]
    custom: bool
    kind: str
    version: str
    mode: str
    warnings: list[str] = field(default_factory=list)

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while True:
            ref = node.get("$ref")
            if not isinstance(ref, str) and node.get("allOf"):
                ref = node["allOf"][0].get("$ref")
            if not isinstance(ref, str):
                return node
            node = self.schemas.get(ref.removeprefix(REF_V3), {})

    def _walk(
        self, value: Any, node: Mapping[str, Any], path: Path, found: list[tuple[str, Path]]
    ) -> None:
        node = self._resolve(node)
        if isinstance(value, list) and isinstance(node.get("items"), Mapping):
            for i, item in enumerate(value):
                self._walk(item, node["items"], (*path, i), found)
            return
        if not isinstance(value, dict):
            return
        props = node.get("properties")
        extra = node.get("additionalProperties")
        open_ = node.get("x-kubernetes-preserve-unknown-fields") is True
        embedded = node.get("x-kubernetes-embedded-resource") is True
        order = value.order if isinstance(value, _Object) else [(k, False) for k in value]
        for key, repeated in order:
            if repeated:
                found.append(("duplicate", (*path, key)))
                continue
            if isinstance(props, Mapping) and key in props:
                self._walk(value[key], props[key], (*path, key), found)
            elif isinstance(extra, Mapping):
                self._walk(value[key], extra, (*path, key), found)
            elif props is not None and not open_ and not (embedded and key in EMBEDDED):
                found.append(("unknown", (*path, key)))

    def problems(self, value: Any) -> tuple[list[str], list[Path]]:
        """(messages in the server's order, paths of the unknown fields) of a decoded value."""
        found: list[tuple[str, Path]] = []
        self._walk(value, {"$ref": REF_V3 + self.root}, (), found)
        if self.custom:
            repeated = [f for f in found if f[0] == "duplicate"]
            unknown = sorted((f for f in found if f[0] == "unknown"), key=lambda f: _text(f[1]))
            found = repeated + unknown
        messages = [f'{what} field "{_text(path)}"' for what, path in found]
        return messages, [path for what, path in found if what == "unknown"]

    def _report(self, messages: list[str], strict: Callable[[str], ApiStatusError]) -> None:
        if not messages or self.mode == "Ignore":
            return
        if self.mode == "Strict":
            raise strict("strict decoding error: " + ", ".join(messages))
        self.warnings += [f"299 - {json.dumps(m)}" for m in messages]

    def _decode_error(self, text: str) -> ApiStatusError:
        kind, version = self.kind, self.version
        return bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: {text}')

    def check_body(self, raw: bytes, body: Any) -> Any:
        """A POST/PUT body: raises under Strict, warns under Warn; returns ``body`` without
        the unknown fields of a built-in kind (custom resources are pruned by their schema)."""
        messages, unknown = self.problems(parse_tracking_duplicates(raw))
        self._report(messages, self._decode_error)
        return body if self.custom else _without(body, unknown)

    def patch_check(
        self, raw_patch: bytes, content_type: str
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """What to do to a patched object: the patch's repeated keys and the object's unknown
        fields, reported as the real server does; the object comes back without them."""
        repeated: list[str] = []
        patch: Any = None
        try:
            patch = parse_tracking_duplicates(raw_patch)
        except ValueError:
            patch = None
        if isinstance(patch, dict):
            repeated = [m for m in self.problems(patch)[0] if m.startswith("duplicate")]

        def check(patched: dict[str, Any]) -> dict[str, Any]:
            messages, unknown = self.problems(patched)
            shown = (
                _go_value(patch)
                if content_type == STRATEGIC_PATCH
                else json.dumps(patched, sort_keys=True, separators=(",", ":"))
            )

            def error(text: str) -> ApiStatusError:
                detail = f"Invalid value: {json.dumps(shown)}: {text}"
                cause = {"reason": "FieldValueInvalid", "message": detail, "field": "patch"}
                return ApiStatusError(422, "Invalid", f' "" is invalid: patch: {detail}',
                                      {"causes": [cause]})  # fmt: skip

            self._report(repeated + [m for m in messages if m.startswith("unknown")], error)
            return patched if self.custom else _without(patched, unknown)

        return check


def _without(value: Any, paths: list[Path]) -> Any:
    """``value`` with the fields at ``paths`` removed (in place; plain dicts and lists)."""
    for path in paths:
        node = value
        for part in path[:-1]:
            node = node[part]
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return value
