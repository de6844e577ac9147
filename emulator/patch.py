"""The three PATCH flavours of the API concepts page ("Patch operations").

* :func:`merge_patch` — JSON merge patch, RFC 7386: objects merge recursively, ``null``
  deletes a key, anything else (lists included) replaces.
* :func:`json_patch` — JSON patch, RFC 6902: ``add``, ``remove``, ``replace``, ``move``,
  ``copy``, ``test`` on RFC 6901 pointers; a failed ``test`` or a missing path is an error.
* :func:`strategic_merge_patch` — Kubernetes' strategic merge patch for the built-in types we
  serve: lists of objects merge by their ``patchMergeKey`` (containers, env, volumes by
  ``name``; volumeMounts by ``mountPath``; conditions by ``type``; ownerReferences by ``uid``;
  a ServiceAccount's ``secrets`` by ``name``, while its ``imagePullSecrets`` replace),
  ``finalizers`` merge as a set, other lists replace. Directives: ``$patch: replace|delete`` on
  maps and list items, ``$deleteFromPrimitiveList/<field>``; ``$setElementOrder`` and
  ``$retainKeys`` are accepted and ignored. A merged list is ordered as upstream's
  ``mergeSlice`` orders it without ``$setElementOrder``: the patch's items in patch order, the
  server's other items placed by their position on the server.

Every function returns a new document and never mutates its inputs. Errors raise
:class:`PatchError` (the caller answers 422 or 400). Non-goals: OpenAPI-driven merge keys for
custom resources (the real server refuses strategic merge on them with 415).
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["PatchError", "json_patch", "merge_patch", "strategic_merge_patch"]

# patchMergeKey of list fields in k8s.io/api types we serve (by field name).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
}
# Top-level fields whose strategy differs from the same name elsewhere, by kind: a
# ServiceAccount's ``secrets`` merge by name, its ``imagePullSecrets`` (unlike a pod spec's)
# have no patch strategy and replace (core/v1 ``ServiceAccount``).
ROOT_MERGE_KEYS: dict[str, dict[str, str | None]] = {
    "ServiceAccount": {"secrets": "name", "imagePullSecrets": None},
}
# Lists of scalars with patchStrategy "merge".
PRIMITIVE_MERGE_LISTS = frozenset({"finalizers"})


class PatchError(ValueError):
    """A patch that cannot be applied (bad document, failed test, missing path)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _parse_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"invalid JSON pointer {pointer!r}")
    return [_unescape(t) for t in pointer[1:].split("/")]


def _list_index(node: list[Any], token: str, *, for_add: bool) -> int:
    if for_add and token == "-":
        return len(node)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    limit = len(node) if for_add else len(node) - 1
    if index > limit:
        raise PatchError(f"array index {index} out of bounds")
    return index


def _parent(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(f"path segment {token!r} not found")
            node = node[token]
        elif isinstance(node, list):
            node = node[_list_index(node, token, for_add=False)]
        else:
            raise PatchError(f"cannot traverse into {type(node).__name__}")
    return node


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path {last!r} not found")
        return parent[last]
    if isinstance(parent, list):
        return parent[_list_index(parent, last, for_add=False)]
    raise PatchError("cannot index a scalar")


def _remove(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"unable to remove nonexistent key: {last}")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_list_index(parent, last, for_add=False))
    raise PatchError("cannot remove from a scalar")


def _add(doc: Any, tokens: list[str], value: Any, *, replace: bool) -> Any:
    if not tokens:
        return value
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"replace operation does not apply: doc is missing key: {last}")
        parent[last] = value
    elif isinstance(parent, list):
        if replace:
            parent[_list_index(parent, last, for_add=False)] = value
        else:
            parent.insert(_list_index(parent, last, for_add=True), value)
    else:
        raise PatchError("cannot add to a scalar")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch; all operations apply or none (the input is never touched)."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid operation {op!r}")
        kind, path = op["op"], _parse_pointer(op["path"])
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"operation {kind} needs a value")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]), replace=False)
        elif kind == "replace":
            doc = _add(doc, path, copy.deepcopy(op["value"]), replace=True)
        elif kind == "remove":
            _remove(doc, path)
        elif kind in ("move", "copy"):
            source = _parse_pointer(op.get("from", ""))
            if kind == "move" and path[: len(source)] == source and path != source:
                raise PatchError("cannot move a value into one of its children")
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, path, value, replace=False)
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(f"testing value {op['path']} failed")
        else:
            raise PatchError(f"unknown operation {kind!r}")
    return doc


def _enforce_order(
    merged: list[Any], patch: list[Any], original: list[Any], key: str | None
) -> list[Any]:
    """The order ``mergeSlice`` leaves a merged list in (``normalizeElementOrder`` without
    ``$setElementOrder``): the items the patch names, in patch order, with the items only the
    server had inserted before the first patch item that stood after them on the server."""

    def ident(item: Any) -> Any:
        return item.get(key) if key is not None and isinstance(item, dict) else item

    def position(order: list[Any], item: Any) -> int:
        wanted = ident(item)
        return next((n for n, other in enumerate(order) if ident(other) == wanted), -1)

    named = [ident(item) for item in patch]
    patch_items = [item for item in merged if ident(item) in named]
    patch_items.sort(key=lambda item: position(patch, item))
    server_only = [item for item in merged if ident(item) not in named]
    result: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if j >= len(patch_items):
            result.append(server_only[i])
            i += 1
        elif i >= len(server_only):
            result.append(patch_items[j])
            j += 1
        else:
            left, right = position(original, server_only[i]), position(original, patch_items[j])
            if left >= 0 and right >= 0 and left < right:  # mergeSortedSlice's "less"
                result.append(server_only[i])
                i += 1
            else:
                result.append(patch_items[j])
                j += 1
    return result


def _merge_object_list(original: list[Any], patch: list[Any], key: str) -> list[Any]:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [
            copy.deepcopy(i)
            for i in patch
            if not (isinstance(i, dict) and i.get("$patch") == "replace")
        ]
    result = [copy.deepcopy(i) for i in original]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise PatchError(f"list item {item!r} has no merge key {key!r}")
        index = next(
            (
                n
                for n, old in enumerate(result)
                if isinstance(old, dict) and old.get(key) == item[key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            result.append(strategic_merge_patch({}, item))
        else:
            result[index] = strategic_merge_patch(result[index], item)
    kept = [item for item in patch if not (isinstance(item, dict) and item.get("$patch"))]
    return _enforce_order(result, kept, original, key)


def strategic_merge_patch(target: Any, patch: Any, kind: str = "") -> Any:
    """Strategic merge patch for the built-in types (see the module docstring); ``kind`` is the
    object's, for the top-level lists of :data:`ROOT_MERGE_KEYS`."""
    root_keys = ROOT_MERGE_KEYS.get(kind, {})
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            drop = value if isinstance(value, list) else []
            result[field] = [v for v in result.get(field) or [] if v not in drop]
            continue
        merge_key = root_keys[key] if key in root_keys else MERGE_KEYS.get(key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and merge_key and isinstance(result.get(key), list):
            result[key] = _merge_object_list(result[key], value, merge_key)
        elif isinstance(value, list) and merge_key:
            result[key] = _merge_object_list([], value, merge_key)
        elif isinstance(value, list) and key in PRIMITIVE_MERGE_LISTS:
            server = list(result.get(key) or [])
            merged = server + [v for v in value if v not in server]
            result[key] = _enforce_order(merged, value, server, None)
        elif isinstance(value, dict):
            merged_value = strategic_merge_patch(result.get(key), value)
            if merged_value is None:
                result.pop(key, None)
            else:
                result[key] = merged_value
        else:
            result[key] = copy.deepcopy(value)
    return result
