"""The DatabaseBackupReconciler: one Job per scheduled time, status rebuilt from the world.

The algorithm of Kubernetes' CronJob controller (``cronjob_controllerv2.go``), adapted to
backups and written as numbered steps, kubebuilder-tutorial style:

1. load the backup from the cache (gone: forget its metrics; its Jobs go with it by GC); its
   spec is validated and decoded into ``api.v1alpha1.DatabaseBackup`` once per (uid,
   generation) (``controller.verdict``), its status into ``DatabaseBackupStatus`` every pass;
2. list its Jobs from the owner index;
3. fold them into status, once per pass (history, phase, last success, failure reason); a
   Job the status says is running but that no longer exists (checked live) is a
   ``MissingJob``;
4. validate the spec; an invalid one gets ``Ready=False``, one Warning Event and no retries
   (the next spec change triggers a reconcile);
5. suspended: stop here; otherwise find the most recent due slot and the next one;
6. if a slot is due and not too late, and no restore of this backup is running (a running
   restore wins: ``controller.databaserestore``), apply the concurrency policy (Forbid decides
   on a live read) and create the Job under its deterministic name — ``AlreadyExists`` from our own
   Job is success, so no slot ever gets two Jobs, across restarts and leader changes;
7. write status (the Job just created folded in; encoded by ``api.v1alpha1.markers``) only
   when it changed, through ``/status`` with the read resourceVersion
   (on 409 re-read live and recompute, up to :data:`STATUS_WRITE_ATTEMPTS`); with
   ``defer_status_after_create``, a pass that just created a Job (201) writes no status and
   leaves it to the pass the Job's own watch event triggers: in a herd the Job creations then
   come first, with one write per fire on the critical path, and every status after; with
   ``hand_off_writes`` as well, the Job's POST and what follows it are the reconcile's
   ``Result(then=...)``: the worker moves on while the controller's hand-off threads wait on
   the server (``manager.reconcile``), so a herd has that many creations in flight; so is a
   status write (with steps 8 and 9), computed on the worker, PUT off it;
8. prune finished Jobs beyond the history limits — only Jobs whose result status recorded;
9. requeue for the next slot.

Idempotent and level-based: every step re-derives from what exists; nothing relies on having
seen an event. It never reads Secrets. Field names, defaults and phase names are the API's
(``api.v1alpha1``); Jobs stay the cache's dicts, read through ``controller.jobs``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from api.v1alpha1 import (
    CONCURRENCY_ALLOW,
    CONCURRENCY_FORBID,
    CONDITION_FALSE,
    CONDITION_READY,
    CONDITION_TRUE,
    PHASE_FAILED,
    PHASE_RUNNING,
    PHASE_SUCCEEDED,
    STARTING_DEADLINE_PATH,
    DatabaseBackup,
    DatabaseBackupStatus,
    DecodeError,
    ObjectMeta,
    backup_job,
    format_time,
    job_name,
    name_of,
    parse_time,
)
from api.v1alpha1.markers import encode
from controller.jobs import is_controlled_by, job_outcome
from controller.memo import GenerationMemo
from controller.metrics import BackupMetrics
from controller.resources import owned_by
from controller.schedule import ScheduleMemo, decide
from controller.slots import KnownSlots
from controller.status import (
    fold_jobs,
    merge_history,
    retry_on_conflict,
    set_condition,
    summarize,
)
from controller.verdict import SpecVerdict, invalid_reason, read_verdict
from manager.clock import Clock
from manager.errors import AlreadyExists, NotFound
from manager.events import NORMAL, WARNING
from manager.reconcile import Request, Result
from manager.rest import BACKGROUND
from manager.scheme import JOBS, ResourceType
from manager.store import INDEX_CONTROLLER_OWNER

__all__ = ["DatabaseBackupReconciler", "ReconcilerClient", "Recorder"]

log = logging.getLogger(__name__)

RESTORE_POLL = 15.0  # seconds between looks while a restore holds a due slot back
STATUS_WRITE_ATTEMPTS = 3  # a 409 re-reads live and retries; more means a writer is fighting us
# Seconds after the slot at which a backup wakes (upstream's ``nextScheduleDelta`` is 100 ms).
# The wake-up is measured on the monotonic clock, which runs at the wall clock's rate, so only
# rounding and a stepped wall clock can make it early, and an early pass only looks again:
# 10 ms is ample and keeps a herd's last Job 90 ms nearer its slot (docs/design.md §3).
REQUEUE_SLACK = 0.01


class ReconcilerClient(Protocol):
    """What the reconciler needs from ``manager.client.Client`` (cache reads, API writes)."""

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None: ...

    def by_index(self, rt: ResourceType, index: str, value: str) -> list[dict[str, Any]]: ...

    def get_live(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]: ...

    def create(
        self, rt: ResourceType, obj: dict[str, Any], *, read_back: bool = True
    ) -> dict[str, Any]: ...

    def update_status(
        self, rt: ResourceType, obj: dict[str, Any], *, read_back: bool = True
    ) -> dict[str, Any]: ...

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        *,
        propagation_policy: str | None = None,
    ) -> dict[str, Any]: ...


class Recorder(Protocol):
    """What the reconciler needs from ``manager.events.EventRecorder``."""

    def event(
        self, obj: dict[str, Any], type_: str, reason: str, message: str, action: str = ""
    ) -> None: ...


def _status_of(obj: dict[str, Any]) -> DatabaseBackupStatus:
    """The status as the API server holds it (its schema is ``DatabaseBackupStatus``, so a
    value it accepted decodes; anything else reads as no status)."""
    try:
        return DatabaseBackupStatus.of(obj)
    except DecodeError:
        return DatabaseBackupStatus()


@dataclass
class _Outcome:
    """What this reconcile did, re-applied if the status write must be recomputed."""

    created: dict[str, Any] | None = None
    fresh: bool = False  # ``created`` was answered 201 in this pass (its watch event follows)
    skipped_slot: datetime | None = None  # a foreign Job holds this slot's name
    missing: list[str] = field(default_factory=list)
    invalid: tuple[str, str] | None = None  # (reason, message)
    next_time: datetime | None = None
    expected_interval: float | None = None
    held_by_restore: bool = False  # a due slot waits for a running restore (step 6)


class DatabaseBackupReconciler:
    """Reconciles one ``DatabaseBackup`` (see the module docstring for the steps)."""

    def __init__(
        self,
        *,
        backups: ResourceType,
        client: ReconcilerClient,
        recorder: Recorder,
        clock: Clock,
        metrics: BackupMetrics,
        schedules: ScheduleMemo,
        failpoint: Callable[[str], None] = lambda _name: None,
        defer_status_after_create: bool = False,
        hand_off_writes: bool = False,
        restore_guard: Callable[[dict[str, Any]], str] = lambda _backup: "",
    ) -> None:
        self._backups = backups
        self._restore_guard = restore_guard
        self._defer_status = defer_status_after_create
        self._hand_off = hand_off_writes and defer_status_after_create
        # Backups whose handed-off create met AlreadyExists: their next pass creates inline,
        # where adopting the Job (or standing back) is written to status (step 6).
        self._create_inline: set[tuple[str, str]] = set()
        self._client = client
        self._recorder = recorder
        self._clock = clock
        self._metrics = metrics
        self._schedules = schedules
        self._failpoint = failpoint
        self._known_slots = KnownSlots()
        # The spec's verdict and decoding, once per (uid, generation): see controller.memo.
        self._verdicts = GenerationMemo(read_verdict)

    # -- the steps -------------------------------------------------------------------------

    def reconcile(self, request: Request) -> Result:
        # 1: load the backup; its spec decoded once per generation, its status every pass.
        obj = self._client.get(self._backups, request.namespace, request.name)
        if obj is None:
            self._metrics.forget(request.namespace, request.name)
            self._known_slots.forget(request.namespace, request.name)
            self._verdicts.forget(request.namespace, request.name)
            return Result()
        meta = ObjectMeta.of(obj)
        if meta.deletion_timestamp:
            return Result()
        now = self._clock.now()
        verdict = self._verdicts.get(obj)
        previous = _status_of(obj)
        outcome = _Outcome()

        # 2: its Jobs, from the owner index (the cache).
        jobs = self._owned_jobs(meta)

        # 3: fold them into status; Jobs the status says are running but that are gone
        # (checked live: the cache may simply not have seen a Job we created a moment ago).
        outcome.missing = self._find_missing(obj, meta, previous, jobs)
        observed = fold_jobs(previous, jobs, outcome.missing, verdict.location, now)

        # 4: validate.
        backup = verdict.backup
        if backup is None:
            message = "; ".join(f"{p.path}: {p.message}" for p in verdict.problems)
            outcome.invalid = (invalid_reason(verdict.problems), message)
            self._write_status(obj, previous, observed, jobs, outcome, now)
            return Result()
        schedule = self._schedules.parse(
            backup.spec.schedule, backup.spec.time_zone, f"{request.namespace}/{request.name}"
        )

        # 5: suspended, or when is the next slot?
        last_schedule = self._known_slots.latest(
            request.namespace, request.name, meta.uid, parse_time(observed.last_schedule_time)
        )
        if last_schedule is not None:  # what was once seen cannot be un-seen by a stale read
            self._known_slots.record(request.namespace, request.name, meta.uid, last_schedule)
        decision = decide(
            schedule,
            now=now,
            created=parse_time(meta.creation_timestamp) or now,
            last_schedule_time=last_schedule,
            starting_deadline_seconds=backup.spec.starting_deadline_seconds,
        )
        outcome.next_time = decision.next_time
        outcome.expected_interval = (
            schedule.next_after(decision.next_time) - decision.next_time
        ).total_seconds()
        if backup.spec.suspend:
            outcome.next_time = None
            self._write_status(obj, previous, observed, jobs, outcome, now)
            return Result()

        # 6: run the due slot, if any.
        if decision.most_recent is not None:
            if decision.too_many_missed:
                self._recorder.event(
                    obj,
                    WARNING,
                    "TooManyMissedTimes",
                    f"too many missed start times (> {decision.missed - 1}); running only the "
                    f"most recent. Set or decrease {STARTING_DEADLINE_PATH} or check clock skew",
                )
            if decision.too_late:
                self._recorder.event(
                    obj,
                    WARNING,
                    "MissSchedule",
                    f"missed scheduled time to start a backup: {format_time(decision.most_recent)}"
                    f" (past the starting deadline of {backup.spec.starting_deadline_seconds}s)",
                )
            elif self._restore_running(obj):
                outcome.held_by_restore = True
            elif self._concurrency_allows(obj, backup, jobs):
                key = (request.namespace, request.name)
                if self._hand_off and key not in self._create_inline:
                    slot, next_time = decision.most_recent, decision.next_time
                    job = backup_job(backup, slot)  # built here: the hand-off only waits
                    return Result(
                        then=lambda: self._create_job_then(obj, backup, job, slot, next_time)
                    )
                self._create_inline.discard(key)
                self._create_job(obj, backup, decision.most_recent, outcome)
                if outcome.created is not None or outcome.skipped_slot is not None:
                    self._known_slots.record(
                        request.namespace, request.name, meta.uid, decision.most_recent
                    )

        # 7: status (deferred to the Job's watch event when asked: see the module docstring).
        next_time = decision.next_time
        if self._defer_status and outcome.fresh:
            return self._requeue(next_time, outcome.held_by_restore)
        desired = self._desired_status(obj, previous, observed, outcome, now, verdict)

        def write_then_prune() -> Result:
            self._write_status(obj, previous, observed, jobs, outcome, now, desired=desired)
            # 8: prune what status now records as finished.
            self._prune(obj, backup, jobs)
            # 9: requeue for the next slot, measured once the writes are done.
            return self._requeue(next_time, outcome.held_by_restore)

        if self._hand_off and desired != previous:  # the PUT waits off the worker
            return Result(then=write_then_prune)
        return write_then_prune()

    # -- helpers ---------------------------------------------------------------------------

    def _owned_jobs(self, meta: ObjectMeta) -> list[dict[str, Any]]:
        key = owned_by(self._backups, meta.namespace, meta.name)
        # A recreated backup with the same name must not inherit its predecessor's Jobs.
        return [
            j
            for j in self._client.by_index(JOBS, INDEX_CONTROLLER_OWNER, key)
            if is_controlled_by(j, meta.uid)
        ]

    def _find_missing(
        self,
        obj: dict[str, Any],
        meta: ObjectMeta,
        previous: DatabaseBackupStatus,
        jobs: list[dict[str, Any]],
    ) -> list[str]:
        known = {name_of(j) for j in jobs}
        running = [
            e.job for e in previous.history if e.result == PHASE_RUNNING and e.job not in known
        ]
        missing = []
        for name in running:
            try:
                job = self._client.get_live(JOBS, meta.namespace, name)
            except NotFound:
                missing.append(name)
                self._recorder.event(
                    obj,
                    WARNING,
                    "MissingJob",
                    f"Active job went missing: {name}",
                )
                continue
            if is_controlled_by(job, meta.uid):
                jobs.append(job)  # the cache is behind; the live copy is the truth
        return missing

    def _restore_running(self, obj: dict[str, Any]) -> bool:
        """A running restore of this backup holds its due slot back (the slot stays due, as
        with Forbid; see ``controller.databaserestore`` for which side wins and why)."""
        restore = self._restore_guard(obj)
        if restore:
            self._recorder.event(
                obj,
                NORMAL,
                "RestoreInProgress",
                f"Not starting a backup because DatabaseRestore {restore} of this backup is "
                "running",
            )
        return bool(restore)

    def _concurrency_allows(
        self, obj: dict[str, Any], backup: DatabaseBackup, jobs: list[dict[str, Any]]
    ) -> bool:
        policy = backup.spec.concurrency_policy
        active = [j for j in jobs if job_outcome(j).result == PHASE_RUNNING]
        if not active or policy == CONCURRENCY_ALLOW:
            return True
        if policy == CONCURRENCY_FORBID:
            # The cache may be behind a Job that just finished: confirm on a live read.
            for job in active:
                try:
                    live = self._client.get_live(JOBS, backup.namespace, name_of(job))
                except NotFound:
                    continue
                if job_outcome(live).result == PHASE_RUNNING:
                    self._recorder.event(
                        obj,
                        NORMAL,
                        "JobAlreadyActive",
                        f"Not starting a backup because a prior run is still active: "
                        f"{name_of(job)}",
                    )
                    return False
            return True
        # Replace: delete the running Jobs (background propagation), then start anew.
        for job in active:
            name = name_of(job)
            try:
                self._client.delete(JOBS, backup.namespace, name, propagation_policy=BACKGROUND)
            except NotFound:
                continue
            self._recorder.event(obj, NORMAL, "SuccessfulDelete", f"Deleted job {name}")
        return True

    def _create_job(
        self, obj: dict[str, Any], backup: DatabaseBackup, slot: datetime, outcome: _Outcome
    ) -> None:
        job = backup_job(backup, slot)  # step 4 validated the object it was decoded from
        try:
            # Deferred, the status pass reads the Job from the cache: the answer is not read.
            created = self._client.create(JOBS, job, read_back=not self._defer_status)
        except AlreadyExists:
            # The name is the lock: this slot's Job exists. Ours → adopt it; else stand back.
            existing = self._client.get_live(JOBS, backup.namespace, job_name(backup.name, slot))
            if is_controlled_by(existing, backup.uid):
                outcome.created = existing
                return
            self._recorder.event(
                obj,
                WARNING,
                "UnexpectedJob",
                f"Job {name_of(existing)} exists but is not owned by this backup; "
                f"skipping the run scheduled at {format_time(slot)}",
            )
            outcome.skipped_slot = slot
            return
        except Exception as exc:
            self._recorder.event(obj, WARNING, "FailedCreate", f"Error creating job: {exc}")
            raise
        self._created(obj, name_of(created), slot)
        outcome.created = created
        outcome.fresh = True

    def _created(self, obj: dict[str, Any], name: str, slot: datetime) -> None:
        """What follows a Job's creation, inline or handed off: its Event and its metric."""
        self._failpoint("after-create-job")
        self._recorder.event(obj, NORMAL, "SuccessfulCreate", f"Created job {name}")
        self._metrics.observe_creation(obj, slot, self._clock.now())

    def _create_job_then(
        self,
        obj: dict[str, Any],
        backup: DatabaseBackup,
        job: dict[str, Any],
        slot: datetime,
        next_time: datetime,
    ) -> Result:
        """Step 6's create handed off (``hand_off_writes``), and step 9: as
        :meth:`_create_job` and a deferred status; ``AlreadyExists`` leaves the slot to the
        next pass, which creates inline (adopts the Job or stands back, and says so)."""
        name = name_of(job)
        try:
            self._client.create(JOBS, job, read_back=False)
        except AlreadyExists:
            self._create_inline.add((backup.namespace, backup.name))
            return Result(requeue=True)
        except Exception as exc:
            self._recorder.event(obj, WARNING, "FailedCreate", f"Error creating job: {exc}")
            raise
        self._created(obj, name, slot)
        self._known_slots.record(backup.namespace, backup.name, backup.uid, slot)
        return self._requeue(next_time)

    def _requeue(self, next_time: datetime, held_by_restore: bool = False) -> Result:
        """Step 9: wake up just after ``next_time``, measured from now. A requeue is relative,
        so it is computed once the pass's writes are done: a write handed off may end seconds
        after the pass that computed it (a first install queues thousands), and a delay taken
        before it would wake the backup that much after its slot (docs/design.md §3)."""
        delay = (next_time - self._clock.now()).total_seconds() + REQUEUE_SLACK
        if held_by_restore:  # the slot is still due: look again once the restore ends
            delay = min(delay, RESTORE_POLL)
        return Result(requeue_after=max(delay, REQUEUE_SLACK))

    def _desired_status(
        self,
        obj: dict[str, Any],
        previous: DatabaseBackupStatus,
        observed: DatabaseBackupStatus,
        outcome: _Outcome,
        now: datetime,
        verdict: SpecVerdict | None = None,
    ) -> DatabaseBackupStatus:
        """``observed`` (step 3's fold of ``previous``, the status of ``obj``) with what this
        pass did: the Job it created, the slot it skipped, the next run, the generation and
        the ``Ready`` condition. ``verdict`` is ``obj``'s when the caller holds it already."""
        if verdict is None:
            verdict = self._verdicts.get(obj)
        status = observed
        if outcome.created is not None:  # one more Job to fold in: the rest already is
            history = merge_history(observed.history, [outcome.created], verdict.location)
            status = summarize(previous, history)
        generation = ObjectMeta.of(obj).generation
        if outcome.invalid is not None:
            ready = (CONDITION_FALSE, *outcome.invalid)
        elif status.failure_reason and status.phase != PHASE_RUNNING:
            ready = (CONDITION_FALSE, "BackupFailed", status.failure_reason)
        elif verdict.backup is not None and verdict.backup.spec.suspend:
            ready = (CONDITION_TRUE, "Suspended", "backups are suspended")
        else:
            ready = (CONDITION_TRUE, "Scheduled", "backups are scheduled")
        skipped, next_time = outcome.skipped_slot, outcome.next_time
        return replace(
            status,
            last_schedule_time=(
                status.last_schedule_time if skipped is None else format_time(skipped)
            ),
            next_scheduled_backup=None if next_time is None else format_time(next_time),
            observed_generation=generation,
            conditions=set_condition(
                previous.conditions,
                type_=CONDITION_READY,
                status=ready[0],
                reason=ready[1],
                message=ready[2],
                now=now,
                observed_generation=generation,
            ),
        )

    def _write_status(
        self,
        obj: dict[str, Any],
        previous: DatabaseBackupStatus,
        observed: DatabaseBackupStatus,
        jobs: list[dict[str, Any]],
        outcome: _Outcome,
        now: datetime,
        *,
        desired: DatabaseBackupStatus | None = None,
    ) -> None:
        """Write the status this pass computes (``desired``, when already computed from
        ``obj``), re-reading live and recomputing on a conflict."""
        state = {"current": obj}
        read = {"previous": previous, "observed": observed}
        computed = {"status": desired}

        def attempt() -> None:
            current = state["current"]
            desired = computed.pop("status", None)
            if desired is None:  # a retry after a conflict: recompute from the live object
                desired = self._desired_status(
                    current, read["previous"], read["observed"], outcome, now
                )
            if desired != read["previous"]:
                self._announce(current, read["previous"], desired, outcome)
                body = encode(desired)
                status = {**current, "status": body}
                self._client.update_status(self._backups, status, read_back=False)
                self._failpoint("after-status-write")
                self._metrics.observe_status(current, current.get("status") or {}, body)

        def reread() -> None:
            meta = ObjectMeta.of(state["current"])
            current = self._client.get_live(self._backups, meta.namespace, meta.name)
            state["current"] = current
            read["previous"] = _status_of(current)
            location = self._verdicts.get(current).location
            read["observed"] = fold_jobs(read["previous"], jobs, outcome.missing, location, now)

        retry_on_conflict(attempt, reread, attempts=STATUS_WRITE_ATTEMPTS)
        self._metrics.set_schedule(state["current"], outcome.next_time, outcome.expected_interval)

    def _announce(
        self,
        obj: dict[str, Any],
        previous: DatabaseBackupStatus,
        desired: DatabaseBackupStatus,
        outcome: _Outcome,
    ) -> None:
        """Events for what changed: finished runs, and a spec turning invalid."""
        before = {e.job: e.result for e in previous.history}
        for entry in desired.history:
            name, result = entry.job, entry.result
            if before.get(name) == result or result == PHASE_RUNNING:
                continue
            if result == PHASE_SUCCEEDED:
                self._recorder.event(
                    obj,
                    NORMAL,
                    "SawCompletedJob",
                    f"Saw completed job: {name}, status: Complete",
                )
                self._recorder.event(obj, NORMAL, "BackupSucceeded", f"Backup {name} succeeded")
            elif result == PHASE_FAILED:
                self._recorder.event(
                    obj, NORMAL, "SawCompletedJob", f"Saw completed job: {name}, status: Failed"
                )
                self._recorder.event(
                    obj,
                    WARNING,
                    "BackupFailed",
                    f"Backup {name} failed: {entry.failure_reason or ''}",
                )
        if outcome.invalid is not None:
            was = [c for c in previous.conditions if c.type == CONDITION_READY]
            now_c = [c for c in desired.conditions if c.type == CONDITION_READY]
            if not was or was[0].reason != now_c[0].reason or was[0].message != now_c[0].message:
                self._recorder.event(obj, WARNING, outcome.invalid[0], outcome.invalid[1])

    def _prune(
        self, obj: dict[str, Any], backup: DatabaseBackup, jobs: list[dict[str, Any]]
    ) -> None:
        """Delete finished Jobs beyond the history limits, oldest first."""
        limits = {
            PHASE_SUCCEEDED: backup.spec.successful_jobs_history_limit,
            PHASE_FAILED: backup.spec.failed_jobs_history_limit,
        }
        outcomes = [(job, job_outcome(job)) for job in jobs]
        never = datetime.min.replace(tzinfo=self._clock.now().tzinfo)
        for result, limit in limits.items():
            finished = [(job, o) for job, o in outcomes if o.result == result]
            finished.sort(key=lambda pair: (pair[1].finished_at or never, name_of(pair[0])))
            for job, _ in finished[: max(0, len(finished) - limit)]:
                name = name_of(job)
                try:
                    self._client.delete(JOBS, backup.namespace, name, propagation_policy=BACKGROUND)
                except NotFound:
                    continue
                self._failpoint("mid-prune")
                self._recorder.event(obj, NORMAL, "SuccessfulDelete", f"Deleted job {name}")
