"""Object semantics of the API server: create, update, patch, delete, finalizers, CRDs.

Written from the API conventions ("Metadata", "Concurrency Control and Consistency",
"Spec and Status"), the API concepts ("Resource versions", "Patch operations"), the finalizers
and garbage-collection pages and the CRD docs. The guarantees:

* create sets ``uid``, ``creationTimestamp`` (injected clock), ``generation`` 1 and the
  resourceVersion; expands ``generateName``; the namespace must exist (404) and not be
  terminating (403); a taken name is 409 ``AlreadyExists``;
* update with a stale ``metadata.resourceVersion`` is 409 ``Conflict``; without one it is
  unconditional, except for custom resources and CRDs (422, as their strategies forbid it);
  a no-op update writes nothing; ``generation`` is bumped when anything but metadata (and status,
  where status is a subresource) changes;
* the main endpoint keeps the stored ``status`` of types with a status subresource; ``/status``
  keeps everything but ``status``;
* delete honours ``preconditions`` and ``propagationPolicy``: finalizers (and Foreground's
  ``foregroundDeletion``) keep the object with a ``deletionTimestamp`` until an update removes
  the last one; Orphan strips the owner's references from its dependents; Background leaves the
  dependents to the garbage collector (:mod:`emulator.gc`, driving :meth:`Cluster.gc_step`);
* CRDs: one is defaulted and validated as apiextensions-apiserver does
  (:mod:`emulator.crd_validation`); applying it serves its versions (with its schema for
  defaulting, pruning and validation); removing it stops serving them and deletes their objects.

Every method takes the storage lock for its whole read-modify-write, so each is atomic.
Non-goals: admission webhooks, server-side apply, dry-run.
"""

from __future__ import annotations

import copy
import random
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from emulator import builtins
from emulator.crd_decode import decode_error
from emulator.crd_validation import apply_crd_defaults, stored_versions, validate_crd
from emulator.errors import (
    ApiStatusError,
    Cause,
    already_exists,
    bad_request,
    conflict,
    forbidden,
    invalid,
    not_found,
    patch_rejected,
)
from emulator.event_conversion import served_form, stored_form
from emulator.event_validation import validate_event, validate_event_update
from emulator.managed_fields import record_write
from emulator.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from emulator.resources import (
    BACKGROUND,
    FOREGROUND,
    ORPHAN,
    Registry,
    ResourceInfo,
    crd_resource_infos,
)
from emulator.schema import StructuralSchema
from emulator.storage import Storage, object_key
from emulator.watch import DELETED, MODIFIED

__all__ = ["CRD_KEY", "NAMESPACE_KEY", "Cluster", "GcItem", "rfc3339"]

CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY = ("", "namespaces")
FOREGROUND_FINALIZER = "foregroundDeletion"
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apiserver/pkg/storage/names
GENERATE_SUFFIX = 5
# Types whose strategy maintains metadata.generation (custom resources always do).
GENERATION_TYPES = frozenset({("batch", "jobs"), CRD_KEY})
SERVER_FIELDS = (
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "namespace",
    "name",
)
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"

GcItem = tuple[str, str]
"""("uid", uid) — an owner to look at; ("ns", name) — a terminating namespace."""


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _copy_meta(obj: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``obj`` whose ``metadata`` may be edited."""
    new = dict(obj)
    new["metadata"] = dict(obj["metadata"])
    return new


def _owner_uids(obj: dict[str, Any]) -> list[str]:
    return [str(r.get("uid")) for r in obj["metadata"].get("ownerReferences") or []]


class Cluster:
    """The API's behaviour over :class:`~emulator.storage.Storage`; thread-safe."""

    def __init__(
        self, *, storage: Storage, registry: Registry, clock: Callable[[], datetime]
    ) -> None:
        self.storage = storage
        self.registry = registry
        self.clock = clock
        self.schemas: dict[tuple[str, str, str], StructuralSchema] = {}
        self.gc_queue: deque[GcItem] = deque()
        self.gc_wakeup = self.storage.changed

    # -- helpers ---------------------------------------------------------------------------

    def _now(self) -> str:
        return rfc3339(self.clock())

    def _enqueue(self, item: GcItem) -> None:
        self.gc_queue.append(item)

    def _key(self, info: ResourceInfo, namespace: str | None, name: str) -> str:
        return object_key(namespace if info.namespaced else None, name)

    def get(self, info: ResourceInfo, namespace: str | None, name: str) -> dict[str, Any]:
        """GET: the object as the API of ``info`` serves it."""
        return served_form(info, self._stored(info, namespace, name))

    def _stored(self, info: ResourceInfo, namespace: str | None, name: str) -> dict[str, Any]:
        obj = self.storage.get(info.storage_key, self._key(info, namespace, name))
        if obj is None:
            raise not_found(info.group, info.plural, name)
        return obj

    def _check_identity(self, info: ResourceInfo, namespace: str | None, body: Any) -> None:
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if api_version and api_version != info.api_version:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({info.api_version})"
            )
        if kind and kind != info.kind:
            raise bad_request(f"the kind in the data ({kind}) does not match {info.kind}")
        meta = body.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        body_ns = (meta or {}).get("namespace")
        if info.namespaced and body_ns and body_ns != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        if info.storage_key == CRD_KEY and (problem := decode_error(body)):
            raise bad_request(problem)

    def _check_namespace(self, info: ResourceInfo, namespace: str | None, name: str) -> None:
        if not info.namespaced:
            return
        ns = self.storage.get(NAMESPACE_KEY, namespace or "")
        if ns is None:
            raise not_found("", "namespaces", namespace or "")
        if ns["metadata"].get("deletionTimestamp"):
            message = (
                f'{info.plural} "{name}" is forbidden: unable to create new content in '
                f"namespace {namespace} because it is being terminated"
            )
            raise forbidden(info.group, info.plural, name, message)

    def _generation_tracked(self, info: ResourceInfo) -> bool:
        return info.custom or info.storage_key in GENERATION_TYPES

    def _spec_part(self, info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
        skip = ("metadata", "status") if info.status_subresource else ("metadata",)
        return {k: v for k, v in obj.items() if k not in skip and k not in ("apiVersion", "kind")}

    def _validate(
        self, info: ResourceInfo, new: dict[str, Any], old: dict[str, Any] | None, sub: str
    ) -> None:
        causes: list[Cause] = []
        if sub == "status":
            if info.storage_key == ("batch", "jobs") and old is not None:
                from emulator.jobstatus import validate_job_status_update

                causes += [
                    Cause(field=e.field, reason=e.reason, message=e.message)
                    for e in validate_job_status_update(old, new)
                ]
        else:
            causes += builtins.validate_object(info, new)
            if old is None:
                causes += validate_event(info, new)
            else:
                causes += builtins.validate_update(info, old, new)
                causes += validate_event_update(info, old, new)
        if info.storage_key == CRD_KEY and sub != "status":
            causes += [
                Cause(field=e.field, reason=e.reason, message=e.message)
                for e in validate_crd(new, old)
            ]
        schema = self.schemas.get((info.group, info.version, info.plural)) if info.custom else None
        if schema is not None:
            causes += [
                Cause(field=e.field, reason=e.reason, message=e.message)
                for e in schema.validate(new, old)
            ]
        if causes:
            # events.k8s.io validates the core internal Event: its errors name no group.
            group = info.storage_key[0]
            raise invalid(group, info.kind, new["metadata"].get("name", ""), causes)

    def _managed(
        self,
        info: ResourceInfo,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        manager: str,
        subresource: str,
    ) -> list[dict[str, Any]]:
        """``new``'s managedFields after ``manager`` wrote it (:mod:`emulator.managed_fields`),
        computed on the form of the API version written through."""
        schema = self.schemas.get((info.group, info.version, info.plural)) if info.custom else None
        return record_write(
            old=None if old is None else served_form(info, old),
            new=served_form(info, new),
            kind_key=(info.group, info.plural),
            schema=schema.openapi if schema is not None else {},
            custom=info.custom,
            manager=manager,
            subresource=subresource,
            status_subresource=info.status_subresource,
            now=self._now(),
        )

    def _default(self, info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
        """Defaulted (and, for custom resources, pruned) ``obj``."""
        builtins.apply_defaults(info, obj)
        if info.storage_key == CRD_KEY:
            apply_crd_defaults(obj)
        schema = self.schemas.get((info.group, info.version, info.plural)) if info.custom else None
        if schema is not None:
            obj = schema.prune(schema.apply_defaults(obj))
        return obj

    # -- create ----------------------------------------------------------------------------

    def create(
        self, info: ResourceInfo, namespace: str | None, body: Any, *, manager: str = ""
    ) -> dict[str, Any]:
        """POST to a collection; returns the stored object."""
        self._check_identity(info, namespace, body)
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = info.api_version, info.kind
        obj = stored_form(info, obj)
        obj["apiVersion"] = info.storage_api_version
        meta = obj.setdefault("metadata", {})
        for field in (*SERVER_FIELDS, "resourceVersion", "selfLink", "managedFields"):
            if field != "name":
                meta.pop(field, None)
        if info.namespaced:
            meta["namespace"] = namespace
        if info.status_subresource:
            obj.pop("status", None)  # CRDs too: their strategy's PrepareForCreate resets it
        with self.storage.lock:
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = self._generate_name(info, namespace, meta["generateName"])
            name = meta.get("name") or ""
            key = self._key(info, namespace, name)
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=self._now())
            if self._generation_tracked(info):
                meta["generation"] = 1
            obj = self._default(info, obj)
            if manager:
                obj["metadata"]["managedFields"] = self._managed(info, None, obj, manager, "")
            builtins.prepare_for_create(info, obj, unlabelled=not body["metadata"].get("labels"))
            if info.storage_key == CRD_KEY:
                self._crd_status(obj)
            self._validate(info, obj, None, "")
            self._check_namespace(info, namespace, name)
            if self.storage.get(info.storage_key, key) is not None:
                raise already_exists(info.group, info.plural, name)
            stored = self.storage.commit(info.storage_key, "ADDED", key, namespace or "", obj, None)
            if info.storage_key == CRD_KEY:
                self._serve_crd(stored)
            return served_form(info, stored)

    def _generate_name(self, info: ResourceInfo, namespace: str | None, prefix: str) -> str:
        prefix = prefix[: 63 - GENERATE_SUFFIX]
        while True:
            name = prefix + "".join(random.choices(GENERATE_ALPHABET, k=GENERATE_SUFFIX))
            if self.storage.get(info.storage_key, self._key(info, namespace, name)) is None:
                return name

    # -- update / patch --------------------------------------------------------------------

    def update(
        self,
        info: ResourceInfo,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        subresource: str = "",
        manager: str = "",
    ) -> dict[str, Any]:
        """PUT an object (or its ``status``); returns the stored object."""
        self._check_identity(info, namespace, body)
        body_name = (body.get("metadata") or {}).get("name")
        if body_name and body_name != name:
            raise bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        with self.storage.lock:
            old = self._stored(info, namespace, name)
            rv = (body.get("metadata") or {}).get("resourceVersion")
            if not rv and (info.custom or info.storage_key == CRD_KEY):
                cause = Cause(
                    field="metadata.resourceVersion",
                    reason="FieldValueInvalid",
                    message="Invalid value: 0x0: must be specified for an update",
                )
                raise invalid(info.group, info.kind, name, [cause])
            new = stored_form(info, dict(copy.deepcopy(body), apiVersion=info.api_version))
            stored = self._update_locked(info, old, new, str(rv or ""), subresource, manager)
            return served_form(info, stored)

    def patch(
        self,
        info: ResourceInfo,
        namespace: str | None,
        name: str,
        content_type: str,
        document: Any,
        *,
        subresource: str = "",
        manager: str = "",
    ) -> dict[str, Any]:
        """PATCH with one of the three patch types; returns the stored object."""
        if content_type == STRATEGIC_PATCH and info.custom:
            raise ApiStatusError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {JSON_PATCH}, {MERGE_PATCH}, application/apply-patch+yaml",
            )
        with self.storage.lock:
            old = self._stored(info, namespace, name)
            served = served_form(info, old)  # a patch applies to the form its API serves
            try:
                if content_type == MERGE_PATCH:
                    new = merge_patch(served, document)
                elif content_type == JSON_PATCH:
                    new = json_patch(served, document)
                elif content_type == STRATEGIC_PATCH:
                    new = strategic_merge_patch(served, document, info.kind)
                else:
                    raise ApiStatusError(
                        415, "UnsupportedMediaType", f"unsupported patch type {content_type}"
                    )
            except PatchError as err:
                if content_type == JSON_PATCH:
                    raise patch_rejected() from err
                raise ApiStatusError(422, "Invalid", str(err)) from err
            if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
                raise ApiStatusError(422, "Invalid", "the patched object is not an object")
            self._check_identity(info, namespace, new)
            if new["metadata"].get("name") != name:
                raise bad_request("the name of the object cannot be changed by a patch")
            patched_rv = str(new["metadata"].get("resourceVersion") or "")
            new = stored_form(info, new)
            stored = self._update_locked(info, old, new, patched_rv, subresource, manager)
            return served_form(info, stored)

    def _update_locked(
        self,
        info: ResourceInfo,
        old: dict[str, Any],
        new: dict[str, Any],
        rv: str,
        subresource: str,
        manager: str,
    ) -> dict[str, Any]:
        old_meta = old["metadata"]
        name = old_meta["name"]
        if rv and rv != old_meta["resourceVersion"]:
            raise conflict(info.group, info.plural, name)
        if subresource == "status":
            status = new.get("status")
            new = _copy_meta(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        else:
            meta = new.setdefault("metadata", {})
            for field in SERVER_FIELDS:
                if field in old_meta:
                    meta[field] = old_meta[field]
                else:
                    meta.pop(field, None)
            meta.pop("managedFields", None)
            if info.status_subresource:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            new["apiVersion"], new["kind"] = info.storage_api_version, info.kind
            new = self._default(info, new)
            meta = new["metadata"]
            if old_meta.get("deletionTimestamp"):
                added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
                if added:
                    cause = Cause(
                        field="metadata.finalizers",
                        reason="FieldValueForbidden",
                        message="Forbidden: no new finalizers can be added if the object is being "
                        f"deleted, found new finalizers {sorted(added)}",
                    )
                    raise invalid(info.group, info.kind, name, [cause])
            if self._generation_tracked(info) and self._spec_part(info, new) != self._spec_part(
                info, old
            ):
                meta["generation"] = int(old_meta.get("generation", 1)) + 1
        new["metadata"]["resourceVersion"] = old_meta["resourceVersion"]
        if info.storage_key == CRD_KEY and subresource != "status":
            self._crd_status(new)
        if manager:
            new["metadata"]["managedFields"] = self._managed(info, old, new, manager, subresource)
        self._validate(info, new, old, subresource)
        if new == old:
            return old
        stored = self._write(info.storage_key, new, old)
        if info.storage_key == CRD_KEY and self.storage.get(CRD_KEY, name) is not None:
            self._serve_crd(stored)
        return stored

    def _write(
        self, storage_key: tuple[str, str], new: dict[str, Any], old: dict[str, Any]
    ) -> dict[str, Any]:
        meta = new["metadata"]
        key = object_key(meta.get("namespace"), meta["name"])
        stored = self.storage.commit(
            storage_key, MODIFIED, key, meta.get("namespace", ""), new, old
        )
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            if storage_key == NAMESPACE_KEY:
                self._enqueue(("ns", meta["name"]))
            else:
                return self._remove(storage_key, stored)
        if set(_owner_uids(old)) != set(_owner_uids(stored)):
            self._enqueue(("uid", stored["metadata"]["uid"]))
        return stored

    # -- delete ----------------------------------------------------------------------------

    def delete(
        self,
        info: ResourceInfo,
        namespace: str | None,
        name: str,
        *,
        propagation: str | None = None,
        preconditions: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """DELETE; returns the object and whether it is gone (False: deletion in progress)."""
        policy = propagation or info.default_gc_policy
        if policy not in (ORPHAN, BACKGROUND, FOREGROUND):
            raise bad_request(f"unsupported propagationPolicy {policy!r}")
        with self.storage.lock:
            obj = self._stored(info, namespace, name)
            meta = obj["metadata"]
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != meta["uid"]:
                why = f"Precondition failed: UID in precondition: {pre['uid']}, "
                why += f"UID in object meta: {meta['uid']}"
                raise conflict(info.group, info.plural, name, why)
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
                why = "Precondition failed: ResourceVersion in precondition: "
                why += f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                why += meta["resourceVersion"]
                raise conflict(info.group, info.plural, name, why)
            if info.storage_key == NAMESPACE_KEY and name in IMMORTAL_NAMESPACES:
                message = f'namespaces "{name}" is forbidden: this namespace may not be deleted'
                raise forbidden("", "namespaces", name, message)
            deleted, gone = self.delete_object(info.storage_key, obj, policy)
            return served_form(info, deleted), gone

    def delete_object(
        self, storage_key: tuple[str, str], obj: dict[str, Any], policy: str
    ) -> tuple[dict[str, Any], bool]:
        """Delete a stored object with ``policy`` (caller holds the lock)."""
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            return obj, False
        if policy == ORPHAN:
            self._orphan_dependents(meta["uid"])
        finalizers = list(meta.get("finalizers") or [])
        if storage_key == ("", "persistentvolumeclaims"):
            # The pvc-protection controller lets a claim no Pod uses go at once; no Pod ever
            # uses one here (the emulator serves no Pods).
            finalizers = [f for f in finalizers if f != builtins.PVC_PROTECTION]
        if policy == FOREGROUND and FOREGROUND_FINALIZER not in finalizers:
            finalizers.append(FOREGROUND_FINALIZER)
        if finalizers or storage_key == NAMESPACE_KEY:
            new = _copy_meta(obj)
            new["metadata"].update(deletionTimestamp=self._now(), deletionGracePeriodSeconds=0)
            if finalizers:
                new["metadata"]["finalizers"] = finalizers
            if storage_key == NAMESPACE_KEY:
                new["status"] = dict(new.get("status") or {}, phase="Terminating")
                self._enqueue(("ns", meta["name"]))
            stored = self.storage.commit(
                storage_key, MODIFIED, object_key(meta.get("namespace"), meta["name"]),
                meta.get("namespace", ""), new, obj,
            )  # fmt: skip
            if policy == FOREGROUND:
                self._enqueue(("uid", meta["uid"]))
            return stored, False
        return self._remove(storage_key, obj), True

    def _orphan_dependents(self, uid: str) -> None:
        for dep_key, key in list(self.storage.dependents.get(uid, ())):
            dep = self.storage.get(dep_key, key)
            if dep is None:
                continue
            new = _copy_meta(dep)
            refs = [r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                new["metadata"].pop("ownerReferences", None)
            self._write(dep_key, new, dep)

    def _remove(self, storage_key: tuple[str, str], obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        final = _copy_meta(obj)
        namespace = meta.get("namespace", "")
        key = object_key(namespace or None, meta["name"])
        removed = self.storage.commit(storage_key, DELETED, key, namespace, final, obj)
        self._enqueue(("uid", meta["uid"]))
        for owner in _owner_uids(obj):
            self._enqueue(("uid", owner))
        if namespace:
            ns = self.storage.get(NAMESPACE_KEY, namespace)
            if ns is not None and ns["metadata"].get("deletionTimestamp"):
                self._enqueue(("ns", namespace))
        if storage_key == CRD_KEY:
            self._unserve_crd(obj)
        return removed

    # -- garbage collection (called by the GC thread) ----------------------------------------

    def gc_step(self) -> bool:
        """Process one queued item; False when the queue was empty."""
        with self.storage.lock:
            if not self.gc_queue:
                return False
            kind, value = self.gc_queue.popleft()
            if kind == "ns":
                self._gc_namespace(value)
            else:
                self._gc_owner(value)
            return True

    def _gc_owner(self, uid: str) -> None:
        owner = self.storage.get_by_uid(uid)
        deps = [
            (key, obj)
            for key, k in list(self.storage.dependents.get(uid, ()))
            if (obj := self.storage.get(key, k)) is not None
        ]
        if owner is None:
            for dep_key, dep in deps:
                if all(self.storage.get_by_uid(o) is None for o in _owner_uids(dep)):
                    self.delete_object(dep_key, dep, BACKGROUND)
            return
        finalizers = owner["metadata"].get("finalizers") or []
        if not owner["metadata"].get("deletionTimestamp") or FOREGROUND_FINALIZER not in finalizers:
            return
        blocking = 0
        for dep_key, dep in deps:
            if not dep["metadata"].get("deletionTimestamp"):
                self.delete_object(dep_key, dep, BACKGROUND)
            current = self.storage.get(dep_key, object_key(
                dep["metadata"].get("namespace"), dep["metadata"]["name"]))  # fmt: skip
            if current is not None and any(
                r.get("uid") == uid and r.get("blockOwnerDeletion")
                for r in current["metadata"].get("ownerReferences") or []
            ):
                blocking += 1
        if blocking == 0:
            new = _copy_meta(owner)
            new["metadata"]["finalizers"] = [f for f in finalizers if f != FOREGROUND_FINALIZER]
            storage_key = self.storage.by_uid[uid][0]
            self._write(storage_key, new, owner)

    def _gc_namespace(self, name: str) -> None:
        ns = self.storage.get(NAMESPACE_KEY, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        remaining = 0
        for storage_key in list(self.storage.collections):
            for key in self.storage.keys_in(storage_key, name):
                obj = self.storage.get(storage_key, key)
                if obj is None:
                    continue
                _, gone_now = self.delete_object(storage_key, obj, BACKGROUND)
                remaining += 0 if gone_now else 1
        if remaining == 0 and not ns["metadata"].get("finalizers"):
            self._remove(NAMESPACE_KEY, ns)

    # -- CRDs ------------------------------------------------------------------------------

    def _crd_status(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        now = self._now()
        conditions = [
            {"type": t, "status": "True", "reason": r, "message": m, "lastTransitionTime": now}
            for t, r, m in (
                ("NamesAccepted", "NoConflicts", "no conflicts found"),
                ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            )
        ]
        old = crd.get("status") or {}
        if old.get("conditions"):
            conditions = old["conditions"]
        crd["status"] = {
            "acceptedNames": spec.get("names") or {},
            "conditions": conditions,
            "storedVersions": stored_versions(crd, crd),
        }

    def _serve_crd(self, crd: dict[str, Any]) -> None:
        infos = crd_resource_infos(crd)
        for version in crd["spec"].get("versions") or []:
            key = (crd["spec"]["group"], version["name"], crd["spec"]["names"]["plural"])
            self.schemas[key] = StructuralSchema.from_crd_version(version)
        self.registry.set_crd(crd["metadata"]["name"], infos)
        if infos:
            self.storage.start_history(infos[0].storage_key)

    def _unserve_crd(self, crd: dict[str, Any]) -> None:
        removed = self.registry.remove_crd(crd["metadata"]["name"])
        for info in removed:
            self.schemas.pop((info.group, info.version, info.plural), None)
        if removed:
            self.storage.drop_collection(removed[0].storage_key)
