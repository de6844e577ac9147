"""``metadata.managedFields`` of non-apply writes, as the API server's field manager keeps them.

Role: which client (field manager) set which field. Every create, update and patch records, for
its manager (``?fieldManager=`` or the part of the ``User-Agent`` before the first ``/``), the
fields the write added or changed, in the ``FieldsV1`` form
(``structured-merge-diff``'s ``Compare`` of the object before and after, then the field set):

* a create compares against the kind's zero value, so the struct fields Go always encodes
  (``spec``, ``template``, a Job's ``containers``) are there "before" and are not owned
  themselves, while anything optional that the write brought is (``".": {}``);
* a field another manager owned and this write changed moves to this manager; a removed field
  leaves every set; a manager whose set becomes empty loses its entry; a write that changes
  nothing records nothing;
* scalars, atomic lists and atomic structs (``ObjectReference``, ``*KeySelector``,
  ``ObjectFieldSelector``, ``LabelSelector``, ``OwnerReference``) are leaves; lists with merge
  keys are keyed ``k:{...}``, ``metadata.finalizers`` is a set keyed ``v:"..."``;
* ``apiVersion``, ``kind`` and the server-owned metadata are never owned; writes to the main
  resource of a kind with a status subresource own no ``status``, writes to ``/status`` nothing
  else, and get their own entries (``subresource: status``);
* entries are ordered as upstream sorts them: operation, time, manager, subresource.

Custom resources follow their schema's ``x-kubernetes-list-type`` (``map`` with
``x-kubernetes-list-map-keys``, ``set``; anything else is atomic). Non-goals: server-side apply
(``operation: Apply``), ``managedFields`` sent by clients (they are dropped, as before).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from emulator.event_conversion import CORE_EMPTY, V1_EMPTY

__all__ = ["Schema", "manager_name", "record_write"]

Path = tuple[str, ...]
Schema = Mapping[str, Any]  # a CRD version's openAPIV3Schema, or {} for built-in kinds

# Lists with patchMergeKey / listType=map in k8s.io/api, by field name, and their keys.
MAP_LISTS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "ports": ("containerPort", "protocol"),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "volumes": ("name",),
    "imagePullSecrets": ("name",),
    "ownerReferences": ("uid",),
    "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
    "resourceClaims": ("name",),
}
SET_LISTS = frozenset({"finalizers"})
ATOMIC_STRUCTS = frozenset(
    {
        "regarding", "involvedObject", "related", "secretKeyRef", "configMapKeyRef",
        "fieldRef", "resourceFieldRef", "selector", "roleRef", "nodeSelector",
    }
)  # fmt: skip
ATOMIC_LIST_ITEMS = frozenset({"ownerReferences"})  # OwnerReference is structType=atomic
SERVER_METADATA = frozenset(
    {
        "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink",
    }
)  # fmt: skip
# The zero value of each typed kind as Go encodes it (non-omitempty fields), by API group and
# resource;
# custom resources are unstructured: nothing but metadata.
ZERO: dict[tuple[str, str], dict[str, Any]] = {
    ("batch", "jobs"): {
        "metadata": {},
        "spec": {
            "template": {"metadata": {"creationTimestamp": None}, "spec": {"containers": None}}
        },
        "status": {},
    },
    ("coordination.k8s.io", "leases"): {"metadata": {}, "spec": {}},
    ("", "namespaces"): {"metadata": {}, "spec": {}, "status": {}},
    ("", "persistentvolumeclaims"): {"metadata": {}, "spec": {"resources": {}}, "status": {}},
    ("", "pods"): {"metadata": {}, "spec": {"containers": None}, "status": {}},
    ("", "events"): {"metadata": {}, **CORE_EMPTY},  # the Go types' empty encodings
    ("events.k8s.io", "events"): {"metadata": {}, **V1_EMPTY},
}
NODE = object()  # a map or struct node (its value lives in its children)


def manager_name(field_manager: str, user_agent: str) -> str:
    """``?fieldManager=``, else the user agent up to its first ``/`` (``prefixFromUserAgent``)."""
    return field_manager or user_agent.split("/", 1)[0]


def _schema_child(schema: Schema, name: str) -> Schema:
    props = schema.get("properties") or {}
    if name in props:
        child: Schema = props[name]
        return child
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else {}


def _list_keys(name: str, schema: Schema, custom: bool) -> tuple[str, ...] | None:
    """Merge keys of a map list, () for a set, None for an atomic list."""
    if not custom or name == "finalizers":
        if name in SET_LISTS:
            return ()
        return MAP_LISTS.get(name)
    kind = schema.get("x-kubernetes-list-type")
    if kind == "map":
        return tuple(schema.get("x-kubernetes-list-map-keys") or ())
    return () if kind == "set" else None


def _item_key(item: Any, keys: tuple[str, ...]) -> str:
    if not keys:
        return "v:" + json.dumps(item, separators=(",", ":"))
    fields = {k: item.get(k) for k in sorted(keys)} if isinstance(item, dict) else {}
    return "k:" + json.dumps(fields, separators=(",", ":"))


def _paths(value: Any, schema: Schema, custom: bool, path: Path, out: dict[Path, Any]) -> None:
    """Every node below ``path`` in ``value``: ``out[path]`` is the leaf's value, or ``NODE``
    for a map or struct (empty ones included)."""
    if not isinstance(value, dict) or not value:
        return
    for name, child in value.items():
        child_path = (*path, f"f:{name}")
        child_schema = _schema_child(schema, name)
        atomic_map = custom and child_schema.get("x-kubernetes-map-type") == "atomic"
        if isinstance(child, dict) and not atomic_map and name not in ATOMIC_STRUCTS:
            out[child_path] = NODE
            _paths(child, child_schema, custom, child_path, out)
        elif isinstance(child, list) and child:
            keys = _list_keys(name, child_schema, custom)
            if keys is None:
                out[child_path] = child
                continue
            out[child_path] = NODE
            items = child_schema.get("items") or {}
            for item in child:
                item_path = (*child_path, _item_key(item, keys))
                if keys and name not in ATOMIC_LIST_ITEMS and isinstance(item, dict):
                    out[item_path] = NODE
                    _paths(item, items, custom, item_path, out)
                else:
                    out[item_path] = item
        else:
            out[child_path] = child


def _owned(
    obj: dict[str, Any], schema: Schema, custom: bool, status_only: bool | None
) -> dict[Path, Any]:
    """The ownable part of ``obj`` as a path -> value map."""
    view = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    meta = {k: v for k, v in (view.get("metadata") or {}).items() if k not in SERVER_METADATA}
    view["metadata"] = meta
    if status_only is True:
        view = {"status": view.get("status") or {}}
    elif status_only is False:
        view.pop("status", None)
    out: dict[Path, Any] = {}
    _paths(view, schema, custom, (), out)
    return out


def _change(before: dict[Path, Any], after: dict[Path, Any]) -> tuple[set[Path], set[Path]]:
    """(added or changed, removed) between two path maps: a path is taken when it is new, or
    when it is a leaf both times with another value (``Compare``'s Added and Modified)."""
    changed = {
        p for p, v in after.items()
        if p not in before or (v is not NODE and before[p] is not NODE and before[p] != v)
    }  # fmt: skip
    return changed, set(before) - set(after)


def _decode(fields: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for key, child in fields.items():
        if key == ".":
            out.add(prefix)
            continue
        path = (*prefix, key)
        if child:
            out |= _decode(child, path)
        else:
            out.add(path)
    return out


def _encode(paths: Iterable[Path]) -> dict[str, Any]:
    members = set(paths)
    tree: dict[str, Any] = {}
    for path in sorted(members):
        node = tree
        for part in path:
            node = node.setdefault(part, {})

    def mark(node: dict[str, Any], prefix: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if prefix in members and node:
            out["."] = {}
        for key in sorted(node):
            out[key] = mark(node[key], (*prefix, key))
        return out

    return mark(tree, ())


def _is_writer(entry: dict[str, Any], manager: str, new: dict[str, Any], subresource: str) -> bool:
    """Whether ``entry`` is the one this write updates: same manager, operation, apiVersion
    and subresource."""
    return (
        entry.get("manager") == manager
        and entry.get("operation") == "Update"
        and entry.get("apiVersion") == new.get("apiVersion")
        and entry.get("subresource", "") == subresource
    )


def _order(entry: dict[str, Any]) -> tuple[str, str, str, str]:
    return (entry["operation"], entry["time"], entry["manager"], entry.get("subresource", ""))


def record_write(
    *,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    kind_key: tuple[str, str],
    schema: Schema,
    custom: bool,
    manager: str,
    subresource: str,
    status_subresource: bool,
    now: str,
) -> list[dict[str, Any]]:
    """The ``managedFields`` of ``new`` after ``manager`` wrote it over ``old`` (None: create).

    ``old`` and ``new`` are in the form of the API version written through."""
    status_only: bool | None = None
    if status_subresource:
        status_only = subresource == "status"
    base = old if old is not None else ZERO.get(kind_key, {"metadata": {}})
    before = _owned(base, schema, custom, status_only)
    after = _owned(new, schema, custom, status_only)
    changed, removed = _change(before, after)
    entries = [dict(e) for e in (old or {}).get("metadata", {}).get("managedFields") or []]
    mine: set[Path] = set()
    mine_entry = None
    kept = []
    for entry in entries:
        owned = _decode(entry.get("fieldsV1") or {}) - changed - removed
        if _is_writer(entry, manager, new, subresource):
            mine, mine_entry = owned, entry
        elif owned:
            kept.append({**entry, "fieldsV1": _encode(owned)})
    if not changed:  # nothing taken: the writer's entry keeps its time, less what was removed
        if mine and mine_entry is not None:
            kept.append({**mine_entry, "fieldsV1": _encode(mine)})
        return sorted(kept, key=_order)
    entry = {
        "manager": manager,
        "operation": "Update",
        "apiVersion": new.get("apiVersion", ""),
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": _encode(mine | changed),
    }
    if subresource:
        entry["subresource"] = subresource
    kept.append(entry)
    return sorted(kept, key=_order)
