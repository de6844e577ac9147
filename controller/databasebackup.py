"""The DatabaseBackupReconciler: one Job per scheduled time, status rebuilt from the world.

The algorithm of Kubernetes' CronJob controller (``cronjob_controllerv2.go``), adapted to
backups and written as numbered steps, kubebuilder-tutorial style:

1. load the backup from the cache (gone: forget its metrics; its Jobs go with it by GC);
2. list its Jobs from the owner index;
3. fold them into status (history, phase, last success, failure reason); a Job the status
   says is running but that no longer exists (checked live) is a ``MissingJob``;
4. validate the spec; an invalid one gets ``Ready=False``, one Warning Event and no retries
   (the next spec change triggers a reconcile);
5. suspended: stop here; otherwise find the most recent due slot and the next one;
6. if a slot is due and not too late, and no restore of this backup is running (a running
   restore wins: ``controller.databaserestore``), apply the concurrency policy (Forbid decides
   on a live read) and create the Job under its deterministic name — ``AlreadyExists`` from our own
   Job is success, so no slot ever gets two Jobs, across restarts and leader changes;
7. write status only when it changed, through ``/status`` with the read resourceVersion
   (on 409 re-read live and recompute, up to :data:`STATUS_WRITE_ATTEMPTS`); with
   ``defer_status_after_create``, a pass that just created a Job (201) writes no status and
   leaves it to the pass the Job's own watch event triggers: in a herd the Job creations then
   come first, with one write per fire on the critical path, and every status after;
8. prune finished Jobs beyond the history limits — only Jobs whose result status recorded;
9. requeue for the next slot.

Idempotent and level-based: every step re-derives from what exists; nothing relies on having
seen an event. It never reads Secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from api.v1alpha1 import (
    GROUP,
    KIND,
    build_job,
    dump_location,
    format_time,
    job_name,
    parse_time,
    validate,
)
from controller.jobs import is_controlled_by, job_outcome
from controller.memo import GenerationMemo
from controller.metrics import BackupMetrics
from controller.schedule import decide, next_after, parse_cached
from controller.slots import KnownSlots
from controller.status import (
    PHASE_FAILED,
    PHASE_RUNNING,
    PHASE_SUCCEEDED,
    mark_missing,
    merge_history,
    retry_on_conflict,
    set_condition,
    summarize,
)
from manager.clock import Clock
from manager.errors import AlreadyExists, NotFound
from manager.events import NORMAL, WARNING
from manager.reconcile import Request, Result
from manager.rest import BACKGROUND
from manager.scheme import JOBS, ResourceType
from manager.store import INDEX_CONTROLLER_OWNER, owner_key

__all__ = ["DatabaseBackupReconciler", "ReconcilerClient", "Recorder"]

log = logging.getLogger(__name__)

RESTORE_POLL = 15.0  # seconds between looks while a restore holds a due slot back
STATUS_WRITE_ATTEMPTS = 3  # a 409 re-reads live and retries; more means a writer is fighting us
REQUEUE_SLACK = 0.1  # seconds after the slot, so a wake-up is never a hair early (upstream: 100 ms)


class ReconcilerClient(Protocol):
    """What the reconciler needs from ``manager.client.Client`` (cache reads, API writes)."""

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None: ...

    def by_index(self, rt: ResourceType, index: str, value: str) -> list[dict[str, Any]]: ...

    def get_live(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]: ...

    def create(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]: ...

    def update_status(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]: ...

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


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _invalid_reason(problems: Sequence[Any]) -> str:
    paths = {str(getattr(p, "path", "")) for p in problems}
    if any(p.startswith("spec.schedule") for p in paths):
        return "InvalidSchedule"
    if any(p.startswith("spec.timeZone") for p in paths):
        return "UnknownTimeZone"
    return "InvalidSpec"


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
        failpoint: Callable[[str], None] = lambda _name: None,
        defer_status_after_create: bool = False,
        restore_guard: Callable[[dict[str, Any]], str] = lambda _backup: "",
    ) -> None:
        self._backups = backups
        self._restore_guard = restore_guard
        self._defer_status = defer_status_after_create
        self._client = client
        self._recorder = recorder
        self._clock = clock
        self._metrics = metrics
        self._failpoint = failpoint
        self._known_slots = KnownSlots()
        # Spec-derived values, once per (uid, generation): see controller.memo. The verdict is
        # kept as a tuple so no caller can change what the next pass reads.
        self._problems = GenerationMemo(lambda backup: tuple(validate(backup)))
        self._locations = GenerationMemo(dump_location)

    # -- the steps -------------------------------------------------------------------------

    def reconcile(self, request: Request) -> Result:
        # 1: load the backup.
        backup = self._client.get(self._backups, request.namespace, request.name)
        if backup is None:
            self._metrics.forget(request.namespace, request.name)
            self._known_slots.forget(request.namespace, request.name)
            self._problems.forget(request.namespace, request.name)
            self._locations.forget(request.namespace, request.name)
            return Result()
        if _meta(backup).get("deletionTimestamp"):
            return Result()
        now = self._clock.now()
        outcome = _Outcome()

        # 2: its Jobs, from the owner index (the cache).
        jobs = self._owned_jobs(backup)

        # 3: Jobs the status says are running but that are gone (checked live: the cache may
        # simply not have seen a Job we created a moment ago).
        outcome.missing = self._find_missing(backup, jobs)

        # 4: validate.
        problems = self._problems.get(backup)
        if problems:
            message = "; ".join(f"{p.path}: {p.message}" for p in problems)
            outcome.invalid = (_invalid_reason(problems), message)
            self._write_status(backup, jobs, outcome, now)
            return Result()

        spec = backup.get("spec") or {}
        schedule = parse_cached(
            str(spec.get("schedule", "")),
            str(spec.get("timeZone") or "UTC"),
            f"{request.namespace}/{request.name}",
        )

        # 5: suspended, or when is the next slot?
        status = backup.get("status") or {}
        history = merge_history(status.get("history") or (), jobs, self._locations.get(backup))
        for name in outcome.missing:
            mark_missing(history, name, now)
        uid = str(_meta(backup).get("uid", ""))
        last_schedule = self._known_slots.latest(
            request.namespace,
            request.name,
            uid,
            parse_time(summarize(status, history).get("lastScheduleTime")),
        )
        if last_schedule is not None:  # what was once seen cannot be un-seen by a stale read
            self._known_slots.record(request.namespace, request.name, uid, last_schedule)
        decision = decide(
            schedule,
            now=now,
            created=parse_time(_meta(backup).get("creationTimestamp")) or now,
            last_schedule_time=last_schedule,
            starting_deadline_seconds=spec.get("startingDeadlineSeconds"),
        )
        outcome.next_time = decision.next_time
        outcome.expected_interval = (
            next_after(schedule, decision.next_time) - decision.next_time
        ).total_seconds()
        if spec.get("suspend"):
            outcome.next_time = None
            self._write_status(backup, jobs, outcome, now)
            return Result()

        # 6: run the due slot, if any.
        if decision.most_recent is not None:
            if decision.too_many_missed:
                self._recorder.event(
                    backup,
                    WARNING,
                    "TooManyMissedTimes",
                    f"too many missed start times (> {decision.missed - 1}); running only the "
                    "most recent. Set or decrease spec.startingDeadlineSeconds or check clock skew",
                )
            if decision.too_late:
                self._recorder.event(
                    backup,
                    WARNING,
                    "MissSchedule",
                    f"missed scheduled time to start a backup: {format_time(decision.most_recent)}"
                    f" (past the starting deadline of {spec.get('startingDeadlineSeconds')}s)",
                )
            elif self._restore_running(backup):
                outcome.held_by_restore = True
            elif self._concurrency_allows(backup, jobs):
                self._create_job(backup, decision.most_recent, outcome)
                if outcome.created is not None or outcome.skipped_slot is not None:
                    self._known_slots.record(
                        request.namespace, request.name, uid, decision.most_recent
                    )

        # 7: status (deferred to the Job's watch event when asked: see the module docstring).
        delay = (decision.next_time - self._clock.now()).total_seconds() + REQUEUE_SLACK
        if outcome.held_by_restore:  # the slot is still due: look again once the restore ends
            delay = min(delay, RESTORE_POLL)
        if self._defer_status and outcome.fresh:
            return Result(requeue_after=max(delay, REQUEUE_SLACK))
        self._write_status(backup, jobs, outcome, now)

        # 8: prune what status now records as finished.
        self._prune(backup, jobs)

        # 9: requeue for the next slot.
        return Result(requeue_after=max(delay, REQUEUE_SLACK))

    # -- helpers ---------------------------------------------------------------------------

    def _owned_jobs(self, backup: dict[str, Any]) -> list[dict[str, Any]]:
        meta = _meta(backup)
        key = owner_key(GROUP, KIND, str(meta.get("namespace", "")), str(meta.get("name", "")))
        uid = str(meta.get("uid", ""))
        # A recreated backup with the same name must not inherit its predecessor's Jobs.
        return [
            j
            for j in self._client.by_index(JOBS, INDEX_CONTROLLER_OWNER, key)
            if is_controlled_by(j, uid)
        ]

    def _find_missing(self, backup: dict[str, Any], jobs: list[dict[str, Any]]) -> list[str]:
        status = backup.get("status") or {}
        known = {str(_meta(j).get("name")) for j in jobs}
        running = [
            str(e.get("job"))
            for e in status.get("history") or ()
            if e.get("result") == PHASE_RUNNING and e.get("job") not in known
        ]
        missing = []
        namespace = str(_meta(backup).get("namespace", ""))
        for name in running:
            try:
                job = self._client.get_live(JOBS, namespace, name)
            except NotFound:
                missing.append(name)
                self._recorder.event(
                    backup,
                    WARNING,
                    "MissingJob",
                    f"Active job went missing: {name}",
                )
                continue
            if is_controlled_by(job, str(_meta(backup).get("uid", ""))):
                jobs.append(job)  # the cache is behind; the live copy is the truth
        return missing

    def _restore_running(self, backup: dict[str, Any]) -> bool:
        """A running restore of this backup holds its due slot back (the slot stays due, as
        with Forbid; see ``controller.databaserestore`` for which side wins and why)."""
        restore = self._restore_guard(backup)
        if restore:
            self._recorder.event(
                backup,
                NORMAL,
                "RestoreInProgress",
                f"Not starting a backup because DatabaseRestore {restore} of this backup is "
                "running",
            )
        return bool(restore)

    def _concurrency_allows(self, backup: dict[str, Any], jobs: list[dict[str, Any]]) -> bool:
        policy = str((backup.get("spec") or {}).get("concurrencyPolicy") or "Forbid")
        active = [j for j in jobs if job_outcome(j).result == PHASE_RUNNING]
        if not active or policy == "Allow":
            return True
        namespace = str(_meta(backup).get("namespace", ""))
        if policy == "Forbid":
            # The cache may be behind a Job that just finished: confirm on a live read.
            for job in active:
                try:
                    live = self._client.get_live(JOBS, namespace, str(_meta(job)["name"]))
                except NotFound:
                    continue
                if job_outcome(live).result == PHASE_RUNNING:
                    self._recorder.event(
                        backup,
                        NORMAL,
                        "JobAlreadyActive",
                        f"Not starting a backup because a prior run is still active: "
                        f"{_meta(job).get('name')}",
                    )
                    return False
            return True
        # Replace: delete the running Jobs (background propagation), then start anew.
        for job in active:
            name = str(_meta(job)["name"])
            try:
                self._client.delete(JOBS, namespace, name, propagation_policy=BACKGROUND)
            except NotFound:
                continue
            self._recorder.event(backup, NORMAL, "SuccessfulDelete", f"Deleted job {name}")
        return True

    def _create_job(self, backup: dict[str, Any], slot: datetime, outcome: _Outcome) -> None:
        meta = _meta(backup)
        namespace = str(meta.get("namespace", ""))
        job = build_job(backup, slot, validated=True)  # step 4 validated this very object
        try:
            created = self._client.create(JOBS, job)
        except AlreadyExists:
            # The name is the lock: this slot's Job exists. Ours → adopt it; else stand back.
            existing = self._client.get_live(JOBS, namespace, job_name(str(meta["name"]), slot))
            if is_controlled_by(existing, str(meta.get("uid", ""))):
                outcome.created = existing
                return
            self._recorder.event(
                backup,
                WARNING,
                "UnexpectedJob",
                f"Job {_meta(existing).get('name')} exists but is not owned by this backup; "
                f"skipping the run scheduled at {format_time(slot)}",
            )
            outcome.skipped_slot = slot
            return
        except Exception as exc:
            self._recorder.event(backup, WARNING, "FailedCreate", f"Error creating job: {exc}")
            raise
        self._failpoint("after-create-job")
        self._recorder.event(
            backup, NORMAL, "SuccessfulCreate", f"Created job {_meta(created).get('name')}"
        )
        self._metrics.observe_creation(backup, slot, self._clock.now())
        outcome.created = created
        outcome.fresh = True

    def _desired_status(
        self, backup: dict[str, Any], jobs: list[dict[str, Any]], outcome: _Outcome, now: datetime
    ) -> dict[str, Any]:
        previous = backup.get("status") or {}
        all_jobs = list(jobs)
        if outcome.created is not None:
            all_jobs.append(outcome.created)
        history = merge_history(
            previous.get("history") or (), all_jobs, self._locations.get(backup)
        )
        for name in outcome.missing:
            mark_missing(history, name, now)
        status = summarize(previous, history)
        if outcome.skipped_slot is not None:
            status["lastScheduleTime"] = format_time(outcome.skipped_slot)
        generation = int(_meta(backup).get("generation") or 0)
        status["observedGeneration"] = generation
        if outcome.next_time is not None:
            status["nextScheduledBackup"] = format_time(outcome.next_time)
        spec = backup.get("spec") or {}
        if outcome.invalid is not None:
            ready = ("False", *outcome.invalid)
        elif status.get("failureReason") and status["phase"] != PHASE_RUNNING:
            ready = ("False", "BackupFailed", str(status["failureReason"]))
        elif spec.get("suspend"):
            ready = ("True", "Suspended", "backups are suspended")
        else:
            ready = ("True", "Scheduled", "backups are scheduled")
        status["conditions"] = set_condition(
            previous.get("conditions") or (),
            type_="Ready",
            status=ready[0],
            reason=ready[1],
            message=ready[2],
            now=now,
            observed_generation=generation,
        )
        return status

    def _write_status(
        self, backup: dict[str, Any], jobs: list[dict[str, Any]], outcome: _Outcome, now: datetime
    ) -> None:
        state = {"current": backup}

        def attempt() -> None:
            current = state["current"]
            desired = self._desired_status(current, jobs, outcome, now)
            previous = current.get("status") or {}
            if desired != previous:
                self._announce(current, previous, desired, outcome)
                self._client.update_status(self._backups, {**current, "status": desired})
                self._failpoint("after-status-write")
                self._metrics.observe_status(current, previous, desired)

        def reread() -> None:
            meta = _meta(state["current"])
            namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
            state["current"] = self._client.get_live(self._backups, namespace, name)

        retry_on_conflict(attempt, reread, attempts=STATUS_WRITE_ATTEMPTS)
        self._metrics.set_schedule(state["current"], outcome.next_time, outcome.expected_interval)

    def _announce(
        self,
        backup: dict[str, Any],
        previous: dict[str, Any],
        desired: dict[str, Any],
        outcome: _Outcome,
    ) -> None:
        """Events for what changed: finished runs, and a spec turning invalid."""
        before = {str(e.get("job")): e.get("result") for e in previous.get("history") or ()}
        for entry in desired.get("history") or ():
            name = str(entry.get("job"))
            result = entry.get("result")
            if before.get(name) == result or result == PHASE_RUNNING:
                continue
            if result == PHASE_SUCCEEDED:
                self._recorder.event(
                    backup,
                    NORMAL,
                    "SawCompletedJob",
                    f"Saw completed job: {name}, status: Complete",
                )
                self._recorder.event(backup, NORMAL, "BackupSucceeded", f"Backup {name} succeeded")
            elif result == PHASE_FAILED:
                self._recorder.event(
                    backup, NORMAL, "SawCompletedJob", f"Saw completed job: {name}, status: Failed"
                )
                self._recorder.event(
                    backup,
                    WARNING,
                    "BackupFailed",
                    f"Backup {name} failed: {entry.get('failureReason', '')}",
                )
        if outcome.invalid is not None:
            was = [c for c in previous.get("conditions") or () if c.get("type") == "Ready"]
            now_c = [c for c in desired.get("conditions") or () if c.get("type") == "Ready"]
            if (
                not was
                or was[0].get("reason") != now_c[0].get("reason")
                or was[0].get("message") != now_c[0].get("message")
            ):
                self._recorder.event(backup, WARNING, outcome.invalid[0], outcome.invalid[1])

    def _prune(self, backup: dict[str, Any], jobs: list[dict[str, Any]]) -> None:
        """Delete finished Jobs beyond the history limits, oldest first."""
        spec = backup.get("spec") or {}
        limits = {
            PHASE_SUCCEEDED: int(spec.get("successfulJobsHistoryLimit", 3)),
            PHASE_FAILED: int(spec.get("failedJobsHistoryLimit", 1)),
        }
        namespace = str(_meta(backup).get("namespace", ""))
        for result, limit in limits.items():
            finished = [j for j in jobs if job_outcome(j).result == result]
            finished.sort(
                key=lambda j: (
                    job_outcome(j).finished_at
                    or datetime.min.replace(tzinfo=self._clock.now().tzinfo),
                    str(_meta(j).get("name")),
                )
            )
            for job in finished[: max(0, len(finished) - limit)]:
                name = str(_meta(job).get("name"))
                try:
                    self._client.delete(JOBS, namespace, name, propagation_policy=BACKGROUND)
                except NotFound:
                    continue
                self._failpoint("mid-prune")
                self._recorder.event(backup, NORMAL, "SuccessfulDelete", f"Deleted job {name}")
