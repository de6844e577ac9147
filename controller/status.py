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

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import tenacity

from api.v1alpha1 import TRIGGER_MANUAL, failure_in_words, format_time, parse_time
from controller.jobs import is_manual, job_outcome, requested_time, scheduled_time
from manager.errors import Conflict

__all__ = [
    "HISTORY_LIMIT",
    "PHASE_FAILED",
    "PHASE_PENDING",
    "PHASE_RUNNING",
    "PHASE_SUCCEEDED",
    "mark_missing",
    "merge_history",
    "retry_on_conflict",
    "set_condition",
    "summarize",
]

HISTORY_LIMIT = 10  # runs kept in status.history; enough to see a pattern, small for etcd

PHASE_PENDING = "Pending"
PHASE_RUNNING = "Running"
PHASE_SUCCEEDED = "Succeeded"
PHASE_FAILED = "Failed"

Status = dict[str, Any]


def _later(a: str | None, b: str | None) -> str | None:
    ta, tb = parse_time(a), parse_time(b)
    if ta is None:
        return b if tb is not None else None
    if tb is None:
        return a
    return a if ta >= tb else b


def _sort_key(entry: Mapping[str, Any]) -> tuple[str, str]:
    when = parse_time(entry.get("scheduledTime") or entry.get("requestedTime"))
    return (format_time(when) if when else "", str(entry.get("job", "")))


def merge_history(
    previous: Iterable[Mapping[str, Any]],
    jobs: Iterable[dict[str, Any]],
    location: str | Callable[[str], str],
) -> list[dict[str, Any]]:
    """Fold the Jobs that exist into the recorded runs (see module rules). ``location`` is
    the storage location, or a function of the Job name giving its dump's exact URL."""
    by_job: dict[str, dict[str, Any]] = {}
    for entry in previous:
        if isinstance(entry, Mapping) and entry.get("job"):
            by_job[str(entry["job"])] = dict(entry)
    for job in jobs:
        name = str((job.get("metadata") or {}).get("name", ""))
        if not name:
            continue
        entry = by_job.setdefault(name, {"job": name, "result": PHASE_RUNNING})
        slot = scheduled_time(job)
        if slot is not None:
            entry["scheduledTime"] = format_time(slot)
        elif is_manual(job):
            entry["trigger"] = TRIGGER_MANUAL
            requested = requested_time(job)
            if requested is not None:
                entry["requestedTime"] = format_time(requested)
        entry.setdefault("location", location(name) if callable(location) else location)
        started = parse_time((job.get("status") or {}).get("startTime"))
        if started is not None:
            entry["startTime"] = format_time(started)
        outcome = job_outcome(job)
        if outcome.result == PHASE_RUNNING and entry.get("result") != PHASE_RUNNING:
            continue  # never un-finish a recorded run
        entry["result"] = outcome.result
        if outcome.finished_at is not None:
            entry["completionTime"] = format_time(outcome.finished_at)
        if outcome.result == PHASE_FAILED:
            entry["failureReason"] = failure_in_words(outcome.reason, outcome.message)
    ordered = sorted(by_job.values(), key=_sort_key)
    if len(ordered) <= HISTORY_LIMIT:
        return ordered
    running = [e for e in ordered[:-HISTORY_LIMIT] if e.get("result") == PHASE_RUNNING]
    return running + ordered[-HISTORY_LIMIT:]


def mark_missing(history: list[dict[str, Any]], job_name: str, now: datetime) -> None:
    """Record that a running Job disappeared before finishing (deleted by hand)."""
    for entry in history:
        if entry.get("job") == job_name and entry.get("result") == PHASE_RUNNING:
            entry["result"] = PHASE_FAILED
            entry["completionTime"] = format_time(now)
            entry["failureReason"] = f"MissingJob: Job {job_name} was deleted before it finished"


def summarize(previous: Mapping[str, Any], history: list[dict[str, Any]]) -> Status:
    """Phase, active Job, last schedule/success and failure reason from the merged history."""
    status: Status = {}
    running = [e for e in history if e.get("result") == PHASE_RUNNING]
    if running:
        status["phase"] = PHASE_RUNNING
        status["activeJob"] = running[-1]["job"]
    elif history:
        status["phase"] = history[-1].get("result", PHASE_PENDING)
    else:
        status["phase"] = PHASE_PENDING
    finished = [e for e in history if e.get("result") in (PHASE_SUCCEEDED, PHASE_FAILED)]
    if finished and finished[-1]["result"] == PHASE_FAILED:
        # Kept while a newer run is in progress: the last failure stays visible until a success.
        status["failureReason"] = finished[-1].get("failureReason", "")
    last_schedule = previous.get("lastScheduleTime")
    last_success = previous.get("lastSuccessfulBackup")
    for entry in history:
        last_schedule = _later(last_schedule, entry.get("scheduledTime"))
        if entry.get("result") == PHASE_SUCCEEDED:
            last_success = _later(last_success, entry.get("completionTime"))
    if last_schedule:
        status["lastScheduleTime"] = last_schedule
    if last_success:
        status["lastSuccessfulBackup"] = last_success
    status["history"] = history
    return status


def set_condition(
    conditions: Iterable[Mapping[str, Any]],
    *,
    type_: str,
    status: str,
    reason: str,
    message: str,
    now: datetime,
    observed_generation: int,
) -> list[dict[str, Any]]:
    """Upsert one condition; keep ``lastTransitionTime`` unless ``status`` flips."""
    result: list[dict[str, Any]] = []
    found = False
    for existing in conditions:
        if existing.get("type") != type_:
            result.append(dict(existing))
            continue
        found = True
        transition = existing.get("lastTransitionTime")
        if existing.get("status") != status or not transition:
            transition = format_time(now)
        result.append(
            {
                "type": type_,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": transition,
                "observedGeneration": observed_generation,
            }
        )
    if not found:
        result.append(
            {
                "type": type_,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": format_time(now),
                "observedGeneration": observed_generation,
            }
        )
    return result


def retry_on_conflict(
    attempt: Callable[[], None], reread: Callable[[], None], *, attempts: int
) -> None:
    """Run ``attempt`` (a status write); on a 409 Conflict call ``reread`` and run it again, at
    most ``attempts`` times in all; the last Conflict propagates, any other error at once.

    Fresh data resolves a conflict, waiting does not: no wait and no jitter between attempts,
    and ``reread`` runs only when another attempt follows.
    """
    tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        retry=tenacity.retry_if_exception_type(Conflict),
        wait=tenacity.wait_none(),
        before_sleep=lambda _: reread(),
        sleep=lambda _: None,  # wait_none: nothing to sleep
        reraise=True,
    )(attempt)
