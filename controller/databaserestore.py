"""The DatabaseRestoreReconciler: one restore Job per DatabaseRestore, status from that Job.

The steps, in the style of :mod:`controller.databasebackup`:

1. load the restore from the cache (gone: nothing to do; its Job goes with it by GC);
2. find its Job from the owner index; when there is one, fold it into status and stop —
   the restore already started, and nothing below may start a second one;
3. a restore that finished (``Succeeded``/``Failed`` in status) is never run again, even if
   its Job was deleted afterwards; a Job status says was created but that is gone (checked
   live) is a failed restore (``MissingJob``), never a reason to run it twice;
4. load the backup (same namespace); missing: ``Ready=False``, reason ``BackupNotFound``;
5. mutual exclusion: while a Job of that backup (scheduled or manual) is running, wait
   (``Ready=False``, reason ``WaitingForBackup``). **A running backup wins over a restore that
   has not started**: killing a dump half-way gains nothing, and ``latest`` then means the run
   that just finished. **A running restore wins over the schedule**: the backup controller
   does not start a run while a restore of its backup is running (``RestoreInProgress`` on the
   backup), because a dump of a half-restored database is not a backup, and its retention could
   prune the good run being restored. Neither side interrupts the other;
6. resolve ``spec.source`` to the exact dump (:func:`api.v1alpha1.resolve_source`); none:
   ``Ready=False`` with the reason (``NoSuccessfulBackup``, ``SourceNotFound``, ...);
7. create the Job under its deterministic name; ``AlreadyExists`` from our own Job is success
   (the name is the lock, across crashes and leader changes); someone else's Job of that name
   is ``JobNameTaken``; a Job the API server refuses (422, 403) is ``FailedCreate``;
8. write status (phase, exact source, Job, times, failure reason in words, ``Ready``,
   ``observedGeneration``) only when it changed; a 409 requeues.

Waiting states requeue after :data:`WAIT_REQUEUE` seconds, without an error: bad input is a
condition and an Event (sent when the condition changes), never a crash loop. Status is built
as :class:`~api.v1alpha1.restore_types.DatabaseRestoreStatus` and encoded once. It never
reads Secrets or Pods. The race left: the two controllers decide from their caches, so a
backup slot and a restore that become due in the same instant may both start; each side
re-checks on its next pass and neither interrupts the other.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from api.v1alpha1 import (
    ANNOTATION_RESTORE_SOURCE,
    CONDITION_FALSE,
    CONDITION_READY,
    CONDITION_TRUE,
    PHASE_FAILED,
    PHASE_PENDING,
    PHASE_RUNNING,
    PHASE_SUCCEEDED,
    DatabaseRestore,
    DecodeError,
    ObjectMeta,
    SourceError,
    build_restore_job,
    failure_in_words,
    format_time,
    name_of,
    resolve_source,
    restore_job_name,
)
from api.v1alpha1.markers import decode, encode
from api.v1alpha1.restore_types import DatabaseRestoreStatus
from api.v1alpha1.status import Condition
from controller.databasebackup import ReconcilerClient, Recorder
from controller.jobs import is_controlled_by, job_outcome
from controller.resources import owned_by
from controller.status import set_condition
from manager.clock import Clock
from manager.errors import AlreadyExists, Conflict, Forbidden, Invalid, NotFound
from manager.events import NORMAL, WARNING
from manager.reconcile import Request, Result
from manager.scheme import JOBS, ResourceType
from manager.store import INDEX_CONTROLLER_OWNER

__all__ = ["WAIT_REQUEUE", "CacheLister", "DatabaseRestoreReconciler", "RestoreGuard"]

log = logging.getLogger(__name__)

WAIT_REQUEUE = 15.0  # seconds between looks while waiting for a backup, a run or a source
FINISHED = (PHASE_SUCCEEDED, PHASE_FAILED)


class CacheLister(Protocol):
    """The cache reads :class:`RestoreGuard` needs (``manager.client.Client`` has them)."""

    def list(
        self, rt: ResourceType, namespace: str | None = None
    ) -> builtins.list[dict[str, Any]]: ...

    def by_index(
        self, rt: ResourceType, index: str, value: str
    ) -> builtins.list[dict[str, Any]]: ...


class DatabaseRestoreReconciler:
    """Reconciles one ``DatabaseRestore`` (see the module docstring for the steps)."""

    def __init__(
        self,
        *,
        restores: ResourceType,
        backups: ResourceType,
        client: ReconcilerClient,
        recorder: Recorder,
        clock: Clock,
        failpoint: Callable[[str], None] = lambda _name: None,
    ) -> None:
        self._failpoint = failpoint
        self._restores = restores
        self._backups = backups
        self._client = client
        self._recorder = recorder
        self._clock = clock

    def reconcile(self, request: Request) -> Result:
        # 1: load the restore.
        obj = self._client.get(self._restores, request.namespace, request.name)
        if obj is None or ObjectMeta.of(obj).deletion_timestamp:
            return Result()
        previous = _previous_status(obj)
        try:
            restore = DatabaseRestore.from_dict(obj)
        except DecodeError as err:
            return self._wait(obj, previous, "InvalidSpec", str(err), requeue=False)

        # 2: its Job, from the owner index; live when status names one the cache lacks.
        job = self._own_job(restore, previous)
        if job is not None:
            return self._follow(obj, previous, job)

        # 3: finished, or its Job vanished before finishing: never run it again.
        if previous.phase in FINISHED:
            return Result()
        if previous.job:
            message = f"Job {previous.job} was deleted before it finished; nothing was re-run"
            self._recorder.event(obj, WARNING, "MissingJob", message)
            status = _with(previous, phase=PHASE_FAILED, failure_reason=f"MissingJob: {message}")
            return self._write(obj, previous, status, (CONDITION_FALSE, "MissingJob", message))

        # 4: the backup.
        backup = self._client.get(self._backups, restore.namespace, restore.spec.backup_ref.name)
        if backup is None:
            return self._wait(
                obj,
                previous,
                "BackupNotFound",
                f"DatabaseBackup {restore.spec.backup_ref.name} not found in namespace "
                f"{restore.namespace}: create it or fix spec.backupRef.name (the spec is "
                "immutable: recreate the DatabaseRestore)",
            )

        # 5: a running backup goes first.
        running = self._running_backup_job(backup)
        if running:
            return self._wait(
                obj,
                previous,
                "WaitingForBackup",
                f"backup run {running} of {restore.spec.backup_ref.name} is running; the "
                "restore starts when it finishes",
            )

        # 6: the exact dump.
        try:
            source = resolve_source(restore, backup)
            job_obj = build_restore_job(restore, backup, source)
        except SourceError as err:
            return self._wait(obj, previous, err.reason, err.message)

        # 7: create the Job; its name is the lock.
        name = restore_job_name(restore.name)
        try:
            created = self._client.create(JOBS, job_obj)
        except AlreadyExists:
            created = self._client.get_live(JOBS, restore.namespace, name)
            if not is_controlled_by(created, restore.uid):
                return self._wait(
                    obj,
                    previous,
                    "JobNameTaken",
                    f"Job {name} exists and is not owned by this DatabaseRestore: delete it or "
                    "recreate the DatabaseRestore under another name",
                )
        except (Invalid, Forbidden) as err:  # no retry will fix these: say so and look later
            return self._wait(obj, previous, "FailedCreate", f"Error creating job {name}: {err}")
        else:
            self._failpoint("after-create-restore-job")  # Job created, status not yet written
            self._recorder.event(
                obj, NORMAL, "SuccessfulCreate", f"Created job {name} restoring {source.url}"
            )
            self._recorder.event(
                backup,
                NORMAL,
                "RestoreStarted",
                f"DatabaseRestore {restore.name} is restoring {source.url}; scheduled runs wait "
                "until it finishes",
            )
        status = _with(previous, source=source.url, job=name)
        return self._follow(obj, status, created, previous)

    # -- helpers ---------------------------------------------------------------------------

    def _own_job(
        self, restore: DatabaseRestore, previous: DatabaseRestoreStatus
    ) -> dict[str, Any] | None:
        key = owned_by(self._restores, restore.namespace, restore.name)
        for job in self._client.by_index(JOBS, INDEX_CONTROLLER_OWNER, key):
            if is_controlled_by(job, restore.uid):
                return job
        if not previous.job or previous.phase in FINISHED:
            return None
        try:  # the cache may not have seen the Job created a moment ago
            live = self._client.get_live(JOBS, restore.namespace, previous.job)
        except NotFound:
            return None
        return live if is_controlled_by(live, restore.uid) else None

    def _running_backup_job(self, backup: Mapping[str, Any]) -> str:
        meta = ObjectMeta.of(backup)
        key = owned_by(self._backups, meta.namespace, meta.name)
        for job in self._client.by_index(JOBS, INDEX_CONTROLLER_OWNER, key):
            if is_controlled_by(job, meta.uid) and job_outcome(job).result == PHASE_RUNNING:
                return name_of(job)
        return ""

    def _follow(
        self,
        obj: dict[str, Any],
        status: DatabaseRestoreStatus,
        job: Mapping[str, Any],
        previous: DatabaseRestoreStatus | None = None,
    ) -> Result:
        """Fold the restore Job into status: phase, times, failure reason, Events."""
        before = status if previous is None else previous
        job_status = job.get("status") or {}
        outcome = job_outcome(dict(job))
        started = job_status.get("startTime")
        annotations = (job.get("metadata") or {}).get("annotations") or {}
        status = _with(
            status,
            source=status.source or annotations.get(ANNOTATION_RESTORE_SOURCE),
            job=name_of(job),
            phase=outcome.result,
            start_time=str(started) if started else status.start_time,
            completion_time=format_time(outcome.finished_at) if outcome.finished_at else None,
        )
        if outcome.result == PHASE_FAILED:
            reason = failure_in_words(outcome.reason, outcome.message)
            status = _with(status, failure_reason=reason)
            ready = (CONDITION_FALSE, "RestoreFailed", reason)
        elif outcome.result == PHASE_SUCCEEDED:
            ready = (CONDITION_TRUE, "RestoreSucceeded", f"restored {status.source or status.job}")
        else:
            ready = (CONDITION_FALSE, "Restoring", f"Job {status.job} is restoring {status.source}")
        if before.phase != outcome.result and outcome.result in FINISHED:
            if outcome.result == PHASE_SUCCEEDED:
                self._recorder.event(obj, NORMAL, "RestoreSucceeded", ready[2])
            else:
                self._recorder.event(obj, WARNING, "RestoreFailed", ready[2])
        return self._write(obj, before, status, ready)

    def _wait(
        self,
        obj: dict[str, Any],
        previous: DatabaseRestoreStatus,
        reason: str,
        message: str,
        *,
        requeue: bool = True,
    ) -> Result:
        """Not started, for ``reason``: Pending, ``Ready=False``, an Event when it changed."""
        old = _ready(previous)
        if old is None or (old.reason, old.message) != (reason, message):
            self._recorder.event(obj, WARNING, reason, message)
        status = _with(previous, phase=PHASE_PENDING)
        self._write(obj, previous, status, (CONDITION_FALSE, reason, message))
        return Result(requeue_after=WAIT_REQUEUE) if requeue else Result()

    def _write(
        self,
        obj: dict[str, Any],
        previous: DatabaseRestoreStatus,
        status: DatabaseRestoreStatus,
        ready: tuple[str, str, str],
    ) -> Result:
        generation = ObjectMeta.of(obj).generation
        status = _with(
            status,
            observed_generation=generation,
            # The restore's one condition, upserted as the backup's are (transition time kept
            # while its status holds).
            conditions=set_condition(
                previous.conditions,
                type_=CONDITION_READY,
                status=ready[0],
                reason=ready[1],
                message=ready[2],
                now=self._now(),
                observed_generation=generation,
            ),
        )
        desired = encode(status)
        if desired == (obj.get("status") or {}):
            return Result()
        try:
            self._client.update_status(self._restores, {**obj, "status": desired})
        except Conflict:
            return Result(requeue=True)  # a newer copy is on its way through the cache
        return Result()

    def _now(self) -> datetime:
        return self._clock.now()


def _previous_status(obj: Mapping[str, Any]) -> DatabaseRestoreStatus:
    """What status says so far (decoded alone: a bad spec must not hide it)."""
    try:
        return decode(DatabaseRestoreStatus, obj.get("status"), "status")
    except DecodeError:
        return DatabaseRestoreStatus()


def _ready(status: DatabaseRestoreStatus) -> Condition | None:
    return next((c for c in status.conditions if c.type == CONDITION_READY), None)


def _with(status: DatabaseRestoreStatus, **changes: Any) -> DatabaseRestoreStatus:
    return replace(status, **changes)


class RestoreGuard:
    """Answers the backup controller's question "is a restore of this backup running?" from
    the cache: the name of a DatabaseRestore of ``backup`` whose Job is running, or ``""``.
    A restore still waiting (no Job yet) does not hold the schedule back (step 5 above)."""

    def __init__(self, client: CacheLister, restores: ResourceType) -> None:
        self._client = client
        self._restores = restores

    def __call__(self, backup: Mapping[str, Any]) -> str:
        meta = ObjectMeta.of(backup)
        namespace, name = meta.namespace, meta.name
        for obj in self._client.list(self._restores, namespace):
            try:
                restore = DatabaseRestore.from_dict(obj)
            except DecodeError:
                continue
            status = restore.status or DatabaseRestoreStatus()
            if restore.spec.backup_ref.name != name or status.phase in FINISHED:
                continue
            key = owned_by(self._restores, namespace, restore.name)
            for job in self._client.by_index(JOBS, INDEX_CONTROLLER_OWNER, key):
                if is_controlled_by(job, restore.uid) and job_outcome(job).result == PHASE_RUNNING:
                    return restore.name
        return ""
