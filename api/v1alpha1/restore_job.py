"""The ``batch/v1`` Job a DatabaseRestore becomes, and the exact dump it restores.

Role: :func:`resolve_source` turns ``spec.source`` (``latest``, a run's Job name, or a URL)
into the exact dump URL, from the backup's spec and ``status.history`` alone (the operator
never lists storage); :func:`build_restore_job` is a pure function from (restore, backup,
resolved source) to the Job manifest; :func:`restore_job_name` is its deterministic name.

Guarantees:

* one name per DatabaseRestore, ``<restore>-restore``: creating it twice is ``AlreadyExists``,
  so a restore runs once across crashes and leader changes;
* the container runs the backup's image (or ``spec.image``) with ``restore --from <run>``
  and the backup's contract environment, the database replaced by ``spec.database`` when set
  (credentials still only as ``secretKeyRef``); a run is passed by its Job name, which the
  runner resolves under ``STORAGE_URL`` and refuses unless its manifest is there;
* ``backoffLimit: 0``: a restore that failed half-way is not replayed onto a half-restored
  database; the failure is reported and a person decides;
* a controller owner reference to the DatabaseRestore: deleting it deletes the Job (never data);
  the exact source URL in the ``dbbackup.io/restore-source`` annotation, so status can be
  rebuilt from the Job alone (after a crash between its creation and the status write).

Non-goals: whether the dump exists (the runner checks the manifest and exits with the
contract's code); which restores may run now (the controller's mutual exclusion).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.v1alpha1 import contract as c
from api.v1alpha1.groupversion import (
    ANNOTATION_RESTORE_SOURCE,
    API_VERSION,
    LABEL_MANAGED_BY,
    LABEL_RESTORE,
    MANAGED_BY,
    RESTORE_JOB_SUFFIX,
    RESTORE_KIND,
)
from api.v1alpha1.job import dump_location, job_manifest, owner_reference
from api.v1alpha1.markers import DecodeError
from api.v1alpha1.restore_types import DEFAULT_RESTORE_SOURCE, DatabaseRestore
from api.v1alpha1.types import DatabaseBackup
from api.v1alpha1.validation import validate

__all__ = [
    "RESTORE_BACKOFF_LIMIT",
    "ResolvedSource",
    "SourceError",
    "build_restore_job",
    "resolve_source",
    "restore_job_name",
]

RESTORE_BACKOFF_LIMIT = 0  # never replay a half-applied restore (module guarantees)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a restore without creationTimestamp (unit tests)
SUCCEEDED = "Succeeded"
FAILED = "Failed"


class SourceError(ValueError):
    """The restore cannot start; ``reason`` is a condition reason (CamelCase)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class ResolvedSource:
    """``url``: the exact dump restored (for status); ``argument``: what ``--from`` gets."""

    url: str
    argument: str


def restore_job_name(restore_name: str) -> str:
    """``<restore>-restore`` (the CRD bounds restore names so this fits 63)."""
    return f"{restore_name}{RESTORE_JOB_SUFFIX}"


def _newest_success(history: Any) -> Mapping[str, Any] | None:
    runs = [e for e in history or () if isinstance(e, Mapping) and e.get("result") == SUCCEEDED]
    if not runs:
        return None
    return max(runs, key=lambda e: (str(e.get("completionTime") or ""), str(e.get("job"))))


def resolve_source(restore: DatabaseRestore, backup: Mapping[str, Any]) -> ResolvedSource:
    """The exact dump ``restore.spec.source`` means for ``backup``; raises
    :class:`SourceError` (``NoSuccessfulBackup``, ``SourceNotFound``, ``SourceFailed``,
    ``SourceOutsideStorage``) when there is none to restore."""
    location = dump_location(backup)
    history = (backup.get("status") or {}).get("history") or ()
    name = str((backup.get("metadata") or {}).get("name", ""))
    source = restore.spec.source
    if not location.base:
        raise SourceError("InvalidBackup", f"backup {name} has no readable storage")
    if source == DEFAULT_RESTORE_SOURCE:
        newest = _newest_success(history)
        if newest is None:
            raise SourceError(
                "NoSuccessfulBackup",
                f"backup {name} has no successful run in status.history yet: run one with "
                f"'kubectl dbbackup run {name}' or wait for the schedule",
            )
        job = str(newest["job"])
        return ResolvedSource(location(job), job)
    if "://" in source or source.startswith("/"):
        if not source.startswith(location.base + "/"):
            raise SourceError(
                "SourceOutsideStorage",
                f"{source} is not under the backup's storage {location.base}",
            )
        rest = source[len(location.base) :]
        argument = source
        if location.base.startswith("pvc://"):  # the runner sees the claim at its mount path
            argument = _mount_path(backup) + rest
        return ResolvedSource(source, argument)
    if not source.startswith(f"{name}-"):
        raise SourceError(
            "SourceNotFound", f"{source} is not a run of backup {name} (runs are named {name}-…)"
        )
    for entry in history:
        if isinstance(entry, Mapping) and entry.get("job") == source:
            if entry.get("result") == FAILED:
                raise SourceError(
                    "SourceFailed",
                    f"run {source} failed ({entry.get('failureReason', '')}): "
                    "pick a successful one",
                )
            if entry.get("result") != SUCCEEDED:
                raise SourceError("SourceNotFinished", f"run {source} has not finished yet")
    return ResolvedSource(location(source), source)


def _mount_path(backup: Mapping[str, Any]) -> str:
    pvc = DatabaseBackup.from_dict(backup).spec.storage.pvc
    sub = pvc.sub_path if pvc is not None else None
    return f"{c.STORAGE_MOUNT_PATH}/{sub}" if sub else c.STORAGE_MOUNT_PATH


def _restore_backup(restore: DatabaseRestore, backup: Mapping[str, Any]) -> DatabaseBackup:
    """The backup as the restore Job sees it: database, image and pod overridden."""
    problems = validate(backup)
    if problems:
        raise SourceError("InvalidBackup", "; ".join(str(p) for p in problems))
    try:
        b = DatabaseBackup.from_dict(backup)
    except DecodeError as err:  # pragma: no cover - validate() reports the same first
        raise SourceError("InvalidBackup", str(err)) from err
    spec = restore.spec
    if spec.database is not None and spec.database.type != b.spec.database.type:
        raise SourceError(
            "InvalidSpec",
            f"spec.database.type {spec.database.type} differs from the backup's "
            f"{b.spec.database.type}: a dump restores into the same engine",
        )
    overrides: dict[str, Any] = {"active_deadline_seconds": spec.active_deadline_seconds}
    if spec.database is not None:
        overrides["database"] = spec.database
    for attr in ("image", "image_pull_policy", "pod"):
        if getattr(spec, attr) is not None:
            overrides[attr] = getattr(spec, attr)
    return dataclasses.replace(b, spec=dataclasses.replace(b.spec, **overrides))


def build_restore_job(
    restore: DatabaseRestore, backup: Mapping[str, Any], source: ResolvedSource
) -> dict[str, Any]:
    """The restore Job (see module guarantees); raises :class:`SourceError` when the
    backup is invalid or the override does not fit it, ``ValueError`` without a uid."""
    if not restore.name or not restore.uid:
        raise ValueError("restore needs metadata.name and metadata.uid to own a Job")
    b = _restore_backup(restore, backup)
    created = _created(restore)
    return job_manifest(
        b,
        name=restore_job_name(restore.name),
        when=created,
        labels={LABEL_MANAGED_BY: MANAGED_BY, LABEL_RESTORE: restore.name},
        annotations={ANNOTATION_RESTORE_SOURCE: source.url},
        owner=owner_reference(API_VERSION, RESTORE_KIND, restore.name, restore.uid),
        backoff_limit=RESTORE_BACKOFF_LIMIT,
        args=("restore", "--from", source.argument),
    )


def _created(restore: DatabaseRestore) -> datetime:
    """The restore's creation time: the Job's ``BACKUP_SCHEDULED_TIME`` (deterministic)."""
    raw = str(restore.metadata.get("creationTimestamp") or "")
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        when = EPOCH
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
