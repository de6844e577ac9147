"""Reading backup Jobs: are they finished, how, and for which scheduled time.

Pure functions over plain Job dicts (as the cache holds them). A Job is finished when it has
a ``Complete`` or ``Failed`` condition with status ``True`` — the same test as the CronJob
controller's ``IsJobFinished``; ``SuccessCriteriaMet`` / ``FailureTarget`` alone are not final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.v1alpha1 import (
    ANNOTATION_REQUESTED_AT,
    ANNOTATION_SCHEDULED_AT,
    LABEL_TRIGGER,
    TRIGGER_MANUAL,
    parse_time,
)
from manager.informer import LAST_APPLIED_ANNOTATION

__all__ = [
    "CACHED_JOB_METADATA",
    "JobOutcome",
    "cache_job",
    "is_controlled_by",
    "is_manual",
    "job_outcome",
    "requested_time",
    "scheduled_time",
]


# What the operator's cache keeps of a Job's metadata: identity and versions (keys, the
# stale-read guards), what the reconcilers read (labels, annotations, owner references),
# and what a deleting Job shows (deletionTimestamp, finalizers).
CACHED_JOB_METADATA = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "finalizers",
    "labels",
    "annotations",
    "ownerReferences",
)


def cache_job(job: dict[str, Any]) -> dict[str, Any]:
    """The Job as the operator's cache keeps it: a projection, not the object.

    Kept: ``apiVersion``, ``kind``, the metadata fields in :data:`CACHED_JOB_METADATA`
    (without the last-applied annotation) and the whole ``status``. Dropped: ``spec`` (the pod
    template is ~80 % of a backup Job's bytes; nothing reads the spec back), ``managedFields``
    (~1.4 KiB on a v1.32 server) and any other metadata. The reconcilers read a cached Job's
    metadata and status only (``job_outcome``, ``scheduled_time``, ``is_manual``,
    ``requested_time``, ``is_controlled_by``, ``controller.status.fold_jobs``, the restore
    reconciler's status read) and never write a cached Job back: Jobs are created from
    ``build_job`` and deleted by name, and a full Job is a live read (``get_live``) away.
    A new reader of another Job field adds it here (``tests/unit/controller`` holds the
    contract against Jobs recorded from a real server). Strings are not shared here: the
    operator's store keeps objects encoded, where sharing buys nothing, and a store of decoded
    objects shares a watched object's strings itself (``manager.informer``).
    """
    meta = job.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    kept = {key: meta[key] for key in CACHED_JOB_METADATA if key in meta}
    annotations = kept.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED_ANNOTATION in annotations:
        rest = {k: v for k, v in annotations.items() if k != LAST_APPLIED_ANNOTATION}
        if rest:
            kept["annotations"] = rest
        else:
            del kept["annotations"]
    slim: dict[str, Any] = {key: job[key] for key in ("apiVersion", "kind") if key in job}
    slim["metadata"] = kept
    if "status" in job:
        slim["status"] = job["status"]
    return slim


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """``result`` is ``Running``, ``Succeeded`` or ``Failed``; reason/message from the condition."""

    result: str
    reason: str = ""
    message: str = ""
    finished_at: datetime | None = None


def job_outcome(job: dict[str, Any]) -> JobOutcome:
    status = job.get("status") or {}
    for condition in status.get("conditions") or ():
        if condition.get("status") != "True":
            continue
        kind = condition.get("type")
        if kind == "Complete":
            finished = parse_time(status.get("completionTime")) or parse_time(
                condition.get("lastTransitionTime")
            )
            return JobOutcome("Succeeded", finished_at=finished)
        if kind == "Failed":
            return JobOutcome(
                "Failed",
                reason=str(condition.get("reason") or "Failed"),
                message=str(condition.get("message") or ""),
                finished_at=parse_time(condition.get("lastTransitionTime")),
            )
    return JobOutcome("Running")


def scheduled_time(job: dict[str, Any]) -> datetime | None:
    """The slot a Job was created for, from its ``dbbackup.io/scheduled-at`` annotation."""
    annotations = (job.get("metadata") or {}).get("annotations") or {}
    return parse_time(annotations.get(ANNOTATION_SCHEDULED_AT))


def is_manual(job: dict[str, Any]) -> bool:
    """An on-demand run (``kubectl dbbackup run``): labelled ``dbbackup.io/trigger: manual``."""
    labels = (job.get("metadata") or {}).get("labels") or {}
    return labels.get(LABEL_TRIGGER) == TRIGGER_MANUAL


def requested_time(job: dict[str, Any]) -> datetime | None:
    """When an on-demand run was requested, from its ``dbbackup.io/requested-at``."""
    annotations = (job.get("metadata") or {}).get("annotations") or {}
    return parse_time(annotations.get(ANNOTATION_REQUESTED_AT))


def is_controlled_by(job: dict[str, Any], owner_uid: str) -> bool:
    """True when ``owner_uid`` is the Job's controller owner reference."""
    for ref in (job.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller") and ref.get("uid") == owner_uid:
            return True
    return False
