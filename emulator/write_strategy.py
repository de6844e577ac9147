"""What every write goes through before it is stored, per resource type.

kube-apiserver's REST strategies, as far as the emulator serves them: the body must name the
resource's ``apiVersion``/``kind`` and the request's namespace (400 otherwise); built-ins get
their defaults (:mod:`emulator.builtins`), CRDs theirs (:mod:`emulator.crd_validation`) and
custom resources their schema's defaults and pruning; validation collects the causes of the
built-in, Event, Job status, CRD and schema rules into one 422; ``metadata.generation`` moves
only for types whose strategy tracks it (Jobs, CRDs, custom resources) and only when something
but metadata (and status, where status is a subresource) changed; ``managedFields`` record who
wrote what (:mod:`emulator.managed_fields`).

Pure over the objects it is given (no storage access). Non-goals: admission, dry-run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator import builtins
from emulator.crd_decode import decode_error
from emulator.crd_serving import CrdServing
from emulator.crd_validation import apply_crd_defaults, validate_crd
from emulator.errors import Cause, bad_request, invalid
from emulator.event_conversion import served_form
from emulator.event_validation import validate_event, validate_event_update
from emulator.jobstatus import validate_job_status_update
from emulator.managed_fields import record_write
from emulator.resources import CRD_KEY, ResourceInfo
from emulator.schema_errors import FieldError

__all__ = ["GENERATION_TYPES", "WriteStrategy"]

# Types whose strategy maintains metadata.generation (custom resources always do).
GENERATION_TYPES = frozenset({("batch", "jobs"), CRD_KEY})


class WriteStrategy:
    """Checks, defaults, validates and stamps objects being written; thread-safe."""

    def __init__(self, *, crds: CrdServing, now: Callable[[], str]) -> None:
        self._crds = crds
        self._now = now

    def check_identity(self, info: ResourceInfo, namespace: str | None, body: Any) -> None:
        """400 unless ``body`` is an object of ``info``'s kind in the request's namespace."""
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

    def generation_tracked(self, info: ResourceInfo) -> bool:
        return info.custom or info.storage_key in GENERATION_TYPES

    def spec_changed(self, info: ResourceInfo, new: dict[str, Any], old: dict[str, Any]) -> bool:
        """Whether anything that moves ``metadata.generation`` differs."""
        skip = {"metadata", "apiVersion", "kind"}
        if info.status_subresource:
            skip.add("status")

        def spec_part(obj: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in obj.items() if k not in skip}

        return spec_part(new) != spec_part(old)

    def validate(
        self, info: ResourceInfo, new: dict[str, Any], old: dict[str, Any] | None, sub: str
    ) -> None:
        """422 with every cause the type's rules find (none: returns)."""
        causes: list[Cause] = []
        if sub == "status":
            if info.storage_key == ("batch", "jobs") and old is not None:
                causes += _causes(validate_job_status_update(old, new))
        else:
            causes += builtins.validate_object(info, new)
            if old is None:
                causes += validate_event(info, new)
            else:
                causes += builtins.validate_update(info, old, new)
                causes += validate_event_update(info, old, new)
        if info.storage_key == CRD_KEY and sub != "status":
            causes += _causes(validate_crd(new, old))
        schema = self._crds.schema(info)
        if schema is not None:
            causes += _causes(schema.validate(new, old))
        if causes:
            # events.k8s.io validates the core internal Event: its errors name no group.
            group = info.storage_key[0]
            raise invalid(group, info.kind, new["metadata"].get("name", ""), causes)

    def managed(
        self,
        info: ResourceInfo,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        manager: str,
        subresource: str,
    ) -> list[dict[str, Any]]:
        """``new``'s managedFields after ``manager`` wrote it (:mod:`emulator.managed_fields`),
        computed on the form of the API version written through."""
        schema = self._crds.schema(info)
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

    def default(self, info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
        """Defaulted (and, for custom resources, pruned) ``obj``."""
        builtins.apply_defaults(info, obj)
        if info.storage_key == CRD_KEY:
            apply_crd_defaults(obj)
        schema = self._crds.schema(info)
        if schema is not None:
            obj = schema.prune(schema.apply_defaults(obj))
        return obj


def _causes(errors: list[FieldError]) -> list[Cause]:
    return [Cause(field=e.field, reason=e.reason, message=e.message) for e in errors]
