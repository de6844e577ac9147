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
  dependents to the garbage collector (:mod:`emulator.deletion`);
* CRDs: one is defaulted and validated as apiextensions-apiserver does
  (:mod:`emulator.crd_validation`); applying it serves its versions (with its schema for
  defaulting, pruning and validation); removing it stops serving them and deletes their objects
  (:mod:`emulator.crd_serving`).

This module holds the verbs; what a write goes through per type is
:mod:`emulator.write_strategy`, what deletion and garbage collection do is
:mod:`emulator.deletion`. Every method takes the storage lock for its whole
read-modify-write, so each is atomic.
Non-goals: admission webhooks, server-side apply, dry-run.
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from emulator import builtins
from emulator.crd_serving import CrdServing, crd_status
from emulator.deletion import Deletion
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
from emulator.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from emulator.resources import (
    BACKGROUND,
    CRD_KEY,
    FOREGROUND,
    NAMESPACE_KEY,
    ORPHAN,
    Registry,
    ResourceInfo,
)
from emulator.storage import Storage, copy_meta, object_key
from emulator.write_strategy import WriteStrategy

__all__ = ["Cluster", "rfc3339"]

IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apiserver/pkg/storage/names
GENERATE_SUFFIX = 5
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


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Cluster:
    """The API's behaviour over :class:`~emulator.storage.Storage`; thread-safe."""

    def __init__(
        self, *, storage: Storage, registry: Registry, clock: Callable[[], datetime]
    ) -> None:
        self.storage = storage
        self.registry = registry
        self.clock = clock
        self.crds = CrdServing(storage=storage, registry=registry)
        self.strategy = WriteStrategy(crds=self.crds, now=self._now)
        self.deletion = Deletion(storage=storage, crds=self.crds, now=self._now)

    # -- helpers ---------------------------------------------------------------------------

    def _now(self) -> str:
        return rfc3339(self.clock())

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

    # -- create ----------------------------------------------------------------------------

    def create(
        self, info: ResourceInfo, namespace: str | None, body: Any, *, manager: str = ""
    ) -> dict[str, Any]:
        """POST to a collection; returns the stored object."""
        self.strategy.check_identity(info, namespace, body)
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
            if self.strategy.generation_tracked(info):
                meta["generation"] = 1
            obj = self.strategy.default(info, obj)
            if manager:
                obj["metadata"]["managedFields"] = self.strategy.managed(
                    info, None, obj, manager, ""
                )
            builtins.prepare_for_create(info, obj, unlabelled=not body["metadata"].get("labels"))
            if info.storage_key == CRD_KEY:
                crd_status(obj, self._now())
            self.strategy.validate(info, obj, None, "")
            self._check_namespace(info, namespace, name)
            if self.storage.get(info.storage_key, key) is not None:
                raise already_exists(info.group, info.plural, name)
            stored = self.storage.commit(info.storage_key, "ADDED", key, namespace or "", obj, None)
            if info.storage_key == CRD_KEY:
                self.crds.serve(stored)
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
        self.strategy.check_identity(info, namespace, body)
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
        check: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """PATCH with one of the three patch types; returns the stored object. ``check`` sees
        the patched object first (field validation: :mod:`emulator.field_validation`)."""
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
            if check is not None:
                new = check(new)
            self.strategy.check_identity(info, namespace, new)
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
            new = copy_meta(old)
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
            new = self.strategy.default(info, new)
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
            if self.strategy.generation_tracked(info) and self.strategy.spec_changed(
                info, new, old
            ):
                meta["generation"] = int(old_meta.get("generation", 1)) + 1
        new["metadata"]["resourceVersion"] = old_meta["resourceVersion"]
        if info.storage_key == CRD_KEY and subresource != "status":
            crd_status(new, self._now())
        if manager:
            new["metadata"]["managedFields"] = self.strategy.managed(
                info, old, new, manager, subresource
            )
        self.strategy.validate(info, new, old, subresource)
        if new == old:
            return old
        stored = self.deletion.write(info.storage_key, new, old)
        if info.storage_key == CRD_KEY and self.storage.get(CRD_KEY, name) is not None:
            self.crds.serve(stored)
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
            deleted, gone = self.deletion.delete_object(info.storage_key, obj, policy)
            return served_form(info, deleted), gone
