"""Defaults and validation of the built-in types, as far as the real server's are observable.

* Object names: DNS-1123 subdomains (≤ 253), namespaces DNS-1123 labels (≤ 63); ``generateName``
  prefixes are checked after the suffix is added (``pkg/api/validation`` ``ValidateObjectMeta``).
* Jobs (``pkg/apis/batch`` defaults and validation): ``backoffLimit`` 6, ``completions`` and
  ``parallelism`` 1 (``completions`` only when ``parallelism`` is unset too), ``completionMode``
  NonIndexed, ``suspend`` false, a generated ``selector`` with the
  ``batch.kubernetes.io/controller-uid`` and ``job-name`` labels; at least one container with a
  name and an image; ``restartPolicy`` Never or OnFailure (Never with a
  ``podFailurePolicy``);
  ``spec.template``, ``spec.selector`` and ``spec.completions`` immutable.
* Secrets: ``type`` defaults to Opaque and is immutable; ``data`` values are base64.
* PVCs: ``accessModes`` and ``resources.requests.storage`` required.
* RBAC bindings: ``roleRef`` required and immutable.

Everything returns a list of :class:`emulator.errors.Cause`; an empty list means valid.
Non-goals: the full validation of every field (pods are not served at all).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from emulator.errors import Cause
from emulator.names import dns1123_label, dns1123_subdomain, qualified_name_problems
from emulator.pod_defaults import default_pod, pod_create_status
from emulator.podspec_defaults import default_pod_template
from emulator.resources import ResourceInfo

__all__ = [
    "apply_defaults",
    "prepare_for_create",
    "validate_metadata",
    "validate_object",
    "validate_update",
]

DEFAULT_BACKOFF_LIMIT = 6  # pkg/apis/batch/v1/defaults.go
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
# Kinds whose validation calls pkg/apis/core/validation's ValidateObjectMeta, which also
# requires a finalizer without "/" to be standard (coordination.k8s.io uses apimachinery's).
CORE_VALIDATED_GROUPS = frozenset({"", "batch", "rbac.authorization.k8s.io", "events.k8s.io"})
PVC_PROTECTION = "kubernetes.io/pvc-protection"  # the StorageObjectInUseProtection admission
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})
# Names of objects of these kinds may contain any path-safe characters (RBAC role names,
# e.g. "system:controller:job-controller").
PATH_SEGMENT_NAMES = frozenset({"roles", "clusterroles", "rolebindings", "clusterrolebindings"})


def invalid(field: str, value: Any, why: str) -> Cause:
    """``field.Invalid``: the value (JSON-quoted as upstream prints it) and why it is wrong."""
    return Cause(
        field=field,
        reason="FieldValueInvalid",
        message=f"Invalid value: {json.dumps(value)}: {why}",
    )


def required(field: str, detail: str = "") -> Cause:
    """``field.Required``, with upstream's optional detail after a colon."""
    message = f"Required value: {detail}" if detail else "Required value"
    return Cause(field=field, reason="FieldValueRequired", message=message)


def _unsupported(field: str, value: Any, allowed: list[str]) -> Cause:
    choices = ", ".join(f'"{a}"' for a in allowed)
    return Cause(
        field=field,
        reason="FieldValueNotSupported",
        message=f"Unsupported value: {json.dumps(value)}: supported values: {choices}",
    )


def _name_causes(info: ResourceInfo, name: str) -> list[Cause]:
    """Name rules of ``ValidateObjectMeta`` (after ``generateName`` was expanded)."""
    if not name:
        return [required("metadata.name")]
    if info.plural in PATH_SEGMENT_NAMES:
        if name in (".", "..") or "/" in name or "%" in name:
            return [invalid("metadata.name", name, 'may not contain "/" or "%"')]
        return []
    if info.storage_key == ("", "namespaces"):
        # ValidateNamespaceName = NameIsDNSLabel: one field.Invalid per message.
        return [invalid("metadata.name", name, msg) for msg in dns1123_label(name)]
    return [invalid("metadata.name", name, msg) for msg in dns1123_subdomain(name)]


def _finalizer_causes(info: ResourceInfo, finalizers: list[str]) -> list[Cause]:
    """``ValidateFinalizers``: qualified names, not both orphan and foregroundDeletion; for the
    kinds validated with ``pkg/apis/core/validation``, a name without ``/`` must be standard."""
    causes: list[Cause] = []
    strict = info.group in CORE_VALIDATED_GROUPS
    for i, finalizer in enumerate(finalizers):
        path = f"metadata.finalizers[{i}]"
        causes += [invalid(path, finalizer, p) for p in qualified_name_problems(finalizer)]
        if strict and "/" not in finalizer and finalizer not in STANDARD_FINALIZERS:
            causes.append(
                invalid(path, finalizer, "name is neither a standard finalizer name nor is it "
                        "fully qualified")
            )  # fmt: skip
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        causes.append(
            invalid("metadata.finalizers", finalizers,
                    "finalizer orphan and foregroundDeletion cannot be both set")
        )  # fmt: skip
    return causes


def validate_metadata(info: ResourceInfo, obj: dict[str, Any]) -> list[Cause]:
    """``ValidateObjectMeta``'s name and finalizer rules."""
    meta = obj.get("metadata") or {}
    causes = _name_causes(info, str(meta.get("name") or ""))
    finalizers = meta.get("finalizers") or []
    if isinstance(finalizers, list):
        causes += _finalizer_causes(info, [str(f) for f in finalizers])
    return causes


def apply_defaults(info: ResourceInfo, obj: dict[str, Any]) -> None:
    """Set the defaults the real server sets on decode (mutates ``obj``, a private copy)."""
    key = info.storage_key
    if key == ("batch", "jobs"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("backoffLimit", DEFAULT_BACKOFF_LIMIT)
        if spec.get("parallelism") is None:  # both unset: a non-parallel Job, both 1
            spec.setdefault("completions", 1)
            spec["parallelism"] = 1
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        if spec.get("manualSelector") is None:
            spec["manualSelector"] = False
        spec.setdefault(
            "podReplacementPolicy",
            "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed",
        )
        template = spec.setdefault("template", {})
        # SetDefaults_Job: a Job without labels takes its template's.
        template_labels = (template.get("metadata") or {}).get("labels")
        if template_labels and not obj["metadata"].get("labels"):
            obj["metadata"]["labels"] = dict(template_labels)
        default_pod_template(template)
        if not isinstance(obj.get("status"), dict):
            obj["status"] = {}
    elif key == ("", "secrets"):
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):  # write-only convenience field, merged into data
            data = obj.setdefault("data", {})
            for name, value in string_data.items():
                data[name] = base64.b64encode(str(value).encode()).decode()
    elif key == ("", "namespaces"):
        obj.setdefault("status", {"phase": "Active"})
        obj["metadata"].setdefault("labels", {})
        obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif key == ("", "persistentvolumeclaims"):
        obj.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
        obj.setdefault("status", {"phase": "Pending"})
    elif key == ("", "serviceaccounts"):
        pass
    elif key == ("", "pods"):
        default_pod(obj)


def prepare_for_create(info: ResourceInfo, obj: dict[str, Any], *, unlabelled: bool) -> None:
    """The create strategy's (and default admission's) additions after decoding; mutates
    ``obj``. They are nobody's managed fields.

    Namespaces: the ``kubernetes`` finalizer. PVCs: the ``kubernetes.io/pvc-protection``
    finalizer (``StorageObjectInUseProtection``).

    Jobs (``generateSelector``): the ``controller-uid`` selector and the ``job-name`` and
    ``controller-uid`` template labels. A Job created without labels (``unlabelled``) ends
    with the template's final labels: Go shares the map the defaulting copied, and the read
    back from storage decodes (and defaults) again."""
    if info.storage_key == ("", "namespaces"):  # namespace strategy: the namespace finalizer
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        return
    if info.storage_key == ("", "pods"):  # podStrategy.PrepareForCreate
        obj["status"] = pod_create_status(obj)
        return
    if info.storage_key == ("", "persistentvolumeclaims"):  # StorageObjectInUseProtection
        finalizers = obj["metadata"].setdefault("finalizers", [])
        if PVC_PROTECTION not in finalizers:
            finalizers.append(PVC_PROTECTION)
        return
    if info.storage_key != ("batch", "jobs"):
        return
    spec = obj["spec"]
    uid, name = obj["metadata"]["uid"], obj["metadata"]["name"]
    if not spec.get("selector"):
        spec["selector"] = {"matchLabels": {CONTROLLER_UID_LABEL: uid}}
    meta = spec["template"].setdefault("metadata", {})
    labels = dict(meta.get("labels") or {})
    for label, value in (
        (CONTROLLER_UID_LABEL, uid),
        (JOB_NAME_LABEL, name),
        ("controller-uid", uid),
        ("job-name", name),
    ):
        labels.setdefault(label, value)
    meta["labels"] = labels
    if unlabelled:
        obj["metadata"]["labels"] = dict(labels)


def _validate_job(obj: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    spec = obj.get("spec") or {}
    for field in ("backoffLimit", "completions", "parallelism"):
        value = spec.get(field)
        if value is not None and (not isinstance(value, int) or value < 0):
            causes.append(invalid(f"spec.{field}", value, "must be greater than or equal to 0"))
    pod = (spec.get("template") or {}).get("spec") or {}
    causes += _validate_containers(pod, "spec.template.spec")
    # Defaulted to Always (podspec_defaults) when unset; both read as "not chosen" here.
    policy = pod.get("restartPolicy")
    path = "spec.template.spec.restartPolicy"
    if policy not in (None, "", "Always", "OnFailure", "Never"):  # ValidatePodTemplateSpec
        causes.append(_unsupported(path, policy, ["Always", "OnFailure", "Never"]))
    if policy in (None, "", "Always"):
        causes.append(required(path, 'valid values: "OnFailure", "Never"'))
    elif policy not in ("Never", "OnFailure"):
        causes.append(_unsupported(path, policy, ["OnFailure", "Never"]))
    elif spec.get("podFailurePolicy") is not None and policy != "Never":
        causes.append(
            invalid(path, policy, 'only "Never" is supported when podFailurePolicy is specified')
        )
    return causes


def _validate_containers(pod: dict[str, Any], prefix: str) -> list[Cause]:
    """A pod spec's containers: at least one, each with a name and an image."""
    causes: list[Cause] = []
    containers = pod.get("containers") or []
    if not containers:
        causes.append(required(f"{prefix}.containers"))
    for n, container in enumerate(containers):
        path = f"{prefix}.containers[{n}]"
        if not isinstance(container, dict):
            causes.append(invalid(path, container, "must be an object"))
            continue
        if not container.get("name"):
            causes.append(required(f"{path}.name"))
        if not container.get("image"):
            causes.append(required(f"{path}.image"))
    return causes


def _validate_secret(obj: dict[str, Any]) -> list[Cause]:
    causes = []
    for key, value in (obj.get("data") or {}).items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            causes.append(invalid(f"data[{key}]", "<secret contents redacted>", "illegal base64"))
    return causes


def _validate_pvc(obj: dict[str, Any]) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = []
    if not spec.get("accessModes"):
        causes.append(required("spec.accessModes"))
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        causes.append(required("spec.resources[storage]"))
    return causes


def validate_object(info: ResourceInfo, obj: dict[str, Any]) -> list[Cause]:
    """Type-specific validation (create and update)."""
    causes = validate_metadata(info, obj)
    key = info.storage_key
    if key == ("batch", "jobs"):
        causes += _validate_job(obj)
    elif key == ("", "secrets"):
        causes += _validate_secret(obj)
    elif key == ("", "persistentvolumeclaims"):
        causes += _validate_pvc(obj)
    elif key == ("", "pods"):
        causes += _validate_containers(obj.get("spec") or {}, "spec")
    elif key[0] == "rbac.authorization.k8s.io" and key[1].endswith("bindings"):
        if not obj.get("roleRef"):
            causes.append(required("roleRef"))
    elif key == ("coordination.k8s.io", "leases"):
        duration = (obj.get("spec") or {}).get("leaseDurationSeconds")
        if duration is not None and (not isinstance(duration, int) or duration <= 0):
            causes.append(invalid("spec.leaseDurationSeconds", duration, "must be positive"))
    return causes


def _immutable(field: str, value: Any) -> Cause:
    return invalid(field, value, "field is immutable")


def validate_update(info: ResourceInfo, old: dict[str, Any], new: dict[str, Any]) -> list[Cause]:
    """Immutability rules of updates (in addition to :func:`validate_object`)."""
    causes: list[Cause] = []
    key = info.storage_key
    if key == ("batch", "jobs"):
        old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
        for field in ("template", "selector", "completions", "completionMode"):
            if old_spec.get(field) != new_spec.get(field):
                causes.append(_immutable(f"spec.{field}", new_spec.get(field)))
    elif key == ("", "secrets"):
        if old.get("type") != new.get("type"):
            causes.append(_immutable("type", new.get("type")))
    elif (
        key[0] == "rbac.authorization.k8s.io"
        and key[1].endswith("bindings")
        and old.get("roleRef") != new.get("roleRef")
    ):
        causes.append(_immutable("roleRef", new.get("roleRef")))
    return causes
