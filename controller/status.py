"""Status, rebuilt from the world on every reconcile (the kubebuilder tutorial's rule).

Pure functions: the previous status (for what outlives Jobs: history, last success, last
schedule time) plus the Jobs that exist now give the new status. Nothing here reads a clock
except through arguments, so every rule is unit-testable. :func:`retry_on_conflict` is the
status write's retry policy (tenacity), the one part that calls out.

Rules:

* ``history`` is keyed by Job name; a finished result is never turned back into ``Running``
  (a stale cache must not undo what a fresher read recorded); it keeps the last
  :data:`HISTORY_LIMIT` runs, so history outlives Job pruning;
* ``phase`` is ``Running`` while any run is, else the newest run's result, else ``Pending``;
* ``failureReason`` is the newest finished run's failure, until a run succeeds;
* ``lastScheduleTime`` and ``lastSuccessfulBackup`` only move forward; an on-demand run
  (``trigger: manual``, ordered by its ``requestedTime``) never moves ``lastScheduleTime``;
* a condition's ``lastTransitionTime`` changes only when its status flips (API conventions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import tenacity

from api.v1alpha1 import (
    PHASE_FAILED,
    PHASE_PENDING,
    PHASE_RUNNING,
    PHASE_SUCCEEDED,
    TRIGGER_MANUAL,
    BackupRun,
    Condition,
    DatabaseBackupStatus,
    failure_in_words,
    format_time,
    name_of,
    parse_time,
)
from controller.jobs import is_manual, job_outcome, requested_time, scheduled_time
from manager.errors import Conflict

__all__ = [
    "HISTORY_LIMIT",
    "fold_jobs",
    "mark_missing",
    "merge_history",
    "retry_on_conflict",
    "set_condition",
    "summarize",
]

HISTORY_LIMIT = 10  # runs kept in status.history; enough to see a pattern, small for etcd

_FINISHED = (PHASE_SUCCEEDED, PHASE_FAILED)


def _later(a: str | None, b: str | None) -> str | None:
    ta, tb = parse_time(a), parse_time(b)
    if ta is None:
        return b if tb is not None else None
    if tb is None:
        return a
    return a if ta >= tb else b


def _rfc3339(value: Any) -> str | None:
    """``format_time(parse_time(value))``: the time in the API's one form, or None. A value
    already in that form (``2025-03-27T01:00:00Z``, what the API writes) is its own answer,
    without the ``strftime``."""
    when = parse_time(value)
    if when is None:
        return None
    if len(value) == len("2025-03-27T01:00:00Z") and value[10] == "T" and value[-1] == "Z":
        return str(value)
    return format_time(when)


def _sort_key(entry: BackupRun) -> tuple[str, str]:
    return (_rfc3339(entry.scheduled_time or entry.requested_time) or "", entry.job)


def merge_history(
    previous: Iterable[BackupRun],
    jobs: Iterable[dict[str, Any]],
    location: str | Callable[[str], str],
) -> list[BackupRun]:
    """Fold the Jobs that exist into the recorded runs (see module rules). ``location`` is
    the storage location, or a function of the Job name giving its dump's exact URL. A run
    no Job changes is the same object as before (copy on write)."""
    by_job: dict[str, BackupRun] = {entry.job: entry for entry in previous if entry.job}
    for job in jobs:
        name = name_of(job)
        if not name:
            continue
        entry = by_job.get(name) or BackupRun(job=name, result=PHASE_RUNNING)
        changes: dict[str, Any] = {}
        slot = scheduled_time(job)
        if slot is not None:
            changes["scheduled_time"] = format_time(slot)
        elif is_manual(job):
            changes["trigger"] = TRIGGER_MANUAL
            requested = requested_time(job)
            if requested is not None:
                changes["requested_time"] = format_time(requested)
        if entry.location is None:
            changes["location"] = location(name) if callable(location) else location
        started = _rfc3339((job.get("status") or {}).get("startTime"))
        if started is not None:
            changes["start_time"] = started
        outcome = job_outcome(job)
        if outcome.result != PHASE_RUNNING or entry.result == PHASE_RUNNING:
            # (a Running Job never un-finishes a recorded run)
            changes["result"] = outcome.result
            if outcome.finished_at is not None:
                changes["completion_time"] = format_time(outcome.finished_at)
            if outcome.result == PHASE_FAILED:
                changes["failure_reason"] = failure_in_words(outcome.reason, outcome.message)
        if any(getattr(entry, attr) != value for attr, value in changes.items()):
            entry = replace(entry, **changes)
        by_job[name] = entry
    ordered = sorted(by_job.values(), key=_sort_key)
    if len(ordered) <= HISTORY_LIMIT:
        return ordered
    running = [e for e in ordered[:-HISTORY_LIMIT] if e.result == PHASE_RUNNING]
    return running + ordered[-HISTORY_LIMIT:]


def mark_missing(history: Sequence[BackupRun], job_name: str, now: datetime) -> list[BackupRun]:
    """``history`` with a running Job that disappeared before finishing (deleted by hand)
    recorded as a failed run."""
    return [
        replace(
            entry,
            result=PHASE_FAILED,
            completion_time=format_time(now),
            failure_reason=f"MissingJob: Job {job_name} was deleted before it finished",
        )
        if entry.job == job_name and entry.result == PHASE_RUNNING
        else entry
        for entry in history
    ]


def fold_jobs(
    previous: DatabaseBackupStatus,
    jobs: Iterable[dict[str, Any]],
    missing: Iterable[str],
    location: str | Callable[[str], str],
    now: datetime,
) -> DatabaseBackupStatus:
    """The reconciler's step 3: ``jobs`` merged into ``previous``'s runs, the ``missing``
    running Jobs recorded as failed at ``now``, summarized."""
    history = merge_history(previous.history, jobs, location)
    for name in missing:
        history = mark_missing(history, name, now)
    return summarize(previous, history)


def summarize(previous: DatabaseBackupStatus, history: Sequence[BackupRun]) -> DatabaseBackupStatus:
    """Phase, active Job, last schedule/success and failure reason from the merged history;
    the fields the reconciler adds (next run, generation, conditions) are left unset."""
    running = [e for e in history if e.result == PHASE_RUNNING]
    if running:
        phase, active = PHASE_RUNNING, running[-1].job
    else:
        phase, active = (history[-1].result if history else PHASE_PENDING), None
    finished = [e for e in history if e.result in _FINISHED]
    failure = None
    if finished and finished[-1].result == PHASE_FAILED:
        # Kept while a newer run is in progress: the last failure stays visible until a success.
        failure = finished[-1].failure_reason or ""
    last_schedule = previous.last_schedule_time
    last_success = previous.last_successful_backup
    for entry in history:
        last_schedule = _later(last_schedule, entry.scheduled_time)
        if entry.result == PHASE_SUCCEEDED:
            last_success = _later(last_success, entry.completion_time)
    return DatabaseBackupStatus(
        phase=phase,
        active_job=active,
        failure_reason=failure,
        last_schedule_time=last_schedule or None,
        last_successful_backup=last_success or None,
        history=tuple(history),
    )


def set_condition(
    conditions: Iterable[Condition],
    *,
    type_: str,
    status: str,
    reason: str,
    message: str,
    now: datetime,
    observed_generation: int,
) -> tuple[Condition, ...]:
    """Upsert one condition; keep ``lastTransitionTime`` unless ``status`` flips."""
    updated = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=format_time(now),
        observed_generation=observed_generation,
    )
    result: list[Condition] = []
    found = False
    for existing in conditions:
        if existing.type != type_:
            result.append(existing)
            continue
        found = True
        if existing.status == status and existing.last_transition_time:
            result.append(replace(updated, last_transition_time=existing.last_transition_time))
        else:
            result.append(updated)
    if not found:
        result.append(updated)
    return tuple(result)


def retry_on_conflict(
    attempt: Callable[[], None], reread: Callable[[], None], *, attempts: int
) -> None:
    """Run ``attempt`` (a status write); on a 409 Conflict call ``reread`` and run it again, at
    most ``attempts`` times in all; the last Conflict propagates, any other error at once.

    Fresh data resolves a conflict, waiting does not: no wait and no jitter between attempts,
    and ``reread`` runs only when another attempt follows. The first attempt runs alone (a
    conflict is rare; building the retry loop for every write cost more than the status).
    """
    try:
        attempt()
        return
    except Conflict:
        if attempts <= 1:
            raise
        reread()
    tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts - 1),
        retry=tenacity.retry_if_exception_type(Conflict),
        wait=tenacity.wait_none(),
        before_sleep=lambda _: reread(),
        sleep=lambda _: None,  # wait_none: nothing to sleep
        reraise=True,
    )(attempt)
