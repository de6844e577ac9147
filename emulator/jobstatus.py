"""The ``batch/v1`` Job status update rules of kube-apiserver 1.32 (``PUT .../jobs/x/status``).

Role: :func:`validate_job_status_update` returns the 422 causes the real server gives for a
Job status update, so the emulator refuses what a real cluster refuses (docs/design.md section 6:
``Complete=True`` needs ``startTime``, ``completionTime`` and ``SuccessCriteriaMet=True``;
``Failed=True`` needs ``startTime`` and ``FailureTarget=True``).

Source: ``pkg/apis/batch/validation/validation.go`` (``validateJobStatus``,
``ValidateJobStatusUpdate``) with the options ``pkg/registry/batch/job/strategy.go``
(``getStatusValidationOptions``) sets when the ``JobManagedBy`` gate is on (beta, on by default
in 1.32). Most rules only fire when a field they look at *changed* in this update, exactly as
upstream gates them, so a status that was already inconsistent can still be updated in
unrelated fields. Each rule below names its upstream option. Non-goals: indexed-Job rules
(``completedIndexes``/``failedIndexes``), spec and metadata validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from emulator.schema_errors import (
    FieldError,
    duplicate,
    invalid,
    invalid_omit_value,
    required,
)

__all__ = ["validate_job_status_update"]

COMPLETE, FAILED = "Complete", "Failed"
FAILURE_TARGET, SUCCESS_CRITERIA_MET = "FailureTarget", "SuccessCriteriaMet"
COUNTERS = ("active", "succeeded", "failed", "ready", "terminating")


def _status(job: Mapping[str, Any]) -> dict[str, Any]:
    status = job.get("status")
    return dict(status) if isinstance(status, Mapping) else {}


def _true(job: Mapping[str, Any], kind: str) -> bool:
    """batchvalidation.IsConditionTrue."""
    conditions = _status(job).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def _finished(job: Mapping[str, Any]) -> bool:
    return _true(job, COMPLETE) or _true(job, FAILED)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _int(status: Mapping[str, Any], name: str) -> int:
    value = status.get(name)
    return value if isinstance(value, int) else 0


def _uncounted(status: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    pods = status.get("uncountedTerminatedPods") or {}
    return list(pods.get("succeeded") or []), list(pods.get("failed") or [])


def _validate_status(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    """validateJobStatus with strategy.go's change-gated options."""
    errs: list[FieldError] = []
    st, old_st = _status(new), _status(old)
    for name in COUNTERS:  # ValidateNonnegativeField on every counter
        if name in st and isinstance(st[name], int) and st[name] < 0:
            errs.append(invalid(f"status.{name}", st[name], "must be greater than or equal to 0"))
    seen: set[Any] = set()
    for kind, uids in zip(("succeeded", "failed"), _uncounted(st), strict=True):
        for i, uid in enumerate(uids):
            where = f"status.uncountedTerminatedPods.{kind}[{i}]"
            if uid == "":
                errs.append(invalid(where, uid, "must not be empty"))
            elif uid in seen:
                errs.append(duplicate(where, uid))
            seen.add(uid)

    def changed_cond(kind: str) -> bool:
        return _true(new, kind) != _true(old, kind)

    def changed(name: str) -> bool:
        if name in ("startTime", "completionTime"):
            return _time(st.get(name)) != _time(old_st.get(name))
        return st.get(name) != old_st.get(name)

    complete, failed = _true(new, COMPLETE), _true(new, FAILED)
    target, met = _true(new, FAILURE_TARGET), _true(new, SUCCESS_CRITERIA_MET)
    finished = _finished(new)
    finished_changed = finished != _finished(old)
    start, completion = _time(st.get("startTime")), _time(st.get("completionTime"))
    conditions = "status.conditions"
    # RejectCompleteJobWithFailedCondition
    if (changed_cond(COMPLETE) or changed_cond(FAILED)) and complete and failed:
        errs.append(
            invalid_omit_value(conditions, "cannot set Complete=True and Failed=true conditions")
        )
    # RejectCompleteJobWithFailureTargetCondition
    if (changed_cond(COMPLETE) or changed_cond(FAILURE_TARGET)) and complete and target:
        detail = "cannot set Complete=True and FailureTarget=true conditions"
        errs.append(invalid_omit_value(conditions, detail))
    # RejectNotCompleteJobWithCompletionTime
    if (changed_cond(COMPLETE) or changed("completionTime")) and completion and not complete:
        detail = "cannot set completionTime when there is no Complete=True condition"
        errs.append(invalid("status.completionTime", st["completionTime"], detail))
    # RejectCompleteJobWithoutCompletionTime
    if (changed_cond(COMPLETE) or changed("completionTime")) and complete and not completion:
        errs.append(
            required("status.completionTime", "completionTime is required for Complete jobs")
        )
    # RejectCompletionTimeBeforeStartTime
    time_changed = changed("startTime") or changed("completionTime")
    if time_changed and start and completion and completion < start:
        detail = "completionTime cannot be set before startTime"
        errs.append(invalid("status.completionTime", st["completionTime"], detail))
    # RejectFailedJobWithoutFailureTarget
    if (changed_cond(FAILED) or changed_cond(FAILURE_TARGET)) and failed and not target:
        detail = "cannot set Failed=True condition without the FailureTarget=true condition"
        errs.append(invalid_omit_value(conditions, detail))
    # RejectCompleteJobWithoutSuccessCriteriaMet
    if (changed_cond(COMPLETE) or changed_cond(SUCCESS_CRITERIA_MET)) and complete and not met:
        detail = "cannot set Complete=True condition without the SuccessCriteriaMet=true condition"
        errs.append(invalid_omit_value(conditions, detail))
    # RejectFinishedJobWithActivePods
    if (finished_changed or changed("active")) and finished and _int(st, "active") > 0:
        errs.append(invalid("status.active", st["active"], "active>0 is invalid for finished job"))
    # RejectFinishedJobWithoutStartTime
    if (finished_changed or changed("startTime")) and finished and not start:
        errs.append(required("status.startTime", "startTime is required for finished job"))
    # RejectFinishedJobWithUncountedTerminatedPods
    uncounted_changed = finished_changed or changed("uncountedTerminatedPods")
    if uncounted_changed and finished and any(_uncounted(st)):
        detail = "uncountedTerminatedPods needs to be empty for finished job"
        errs.append(
            invalid("status.uncountedTerminatedPods", st["uncountedTerminatedPods"], detail)
        )
    # RejectFinishedJobWithTerminatingPods
    if (finished_changed or changed("terminating")) and finished and _int(st, "terminating") > 0:
        detail = "terminating>0 is invalid for finished job"
        errs.append(invalid("status.terminating", st["terminating"], detail))
    # RejectMoreReadyThanActivePods
    ready_set = isinstance(st.get("ready"), int)
    if (changed("ready") or changed("active")) and ready_set and st["ready"] > _int(st, "active"):
        errs.append(invalid("status.ready", st["ready"], "cannot set more ready pods than active"))
    # Unconditional: SuccessCriteriaMet excludes Failed and FailureTarget.
    if met and failed:
        detail = "cannot set SuccessCriteriaMet=True and Failed=true conditions"
        errs.append(invalid_omit_value(conditions, detail))
    if met and target:
        detail = "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"
        errs.append(invalid_omit_value(conditions, detail))
    return errs


def _validate_transition(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    """ValidateJobStatusUpdate's old-vs-new rules."""
    errs: list[FieldError] = []
    st, old_st = _status(new), _status(old)
    conditions = "status.conditions"
    # RejectDisablingTerminalCondition
    for kind in (FAILED, COMPLETE, FAILURE_TARGET):
        if _true(old, kind) and not _true(new, kind):
            errs.append(
                invalid_omit_value(conditions, f"cannot disable the terminal {kind}=True condition")
            )
    # RejectDecreasingFailedCounter / RejectDecreasingSucceededCounter (non-indexed Jobs)
    if _int(st, "failed") < _int(old_st, "failed"):
        errs.append(
            invalid("status.failed", _int(st, "failed"), "cannot decrease the failed counter")
        )
    if _int(st, "succeeded") < _int(old_st, "succeeded") and not _elastic_indexed(new):
        detail = "cannot decrease the succeeded counter"
        errs.append(invalid("status.succeeded", _int(st, "succeeded"), detail))
    # RejectMutatingCompletionTime
    new_completion, old_completion = (
        _time(st.get("completionTime")),
        _time(old_st.get("completionTime")),
    )
    if new_completion and old_completion and new_completion != old_completion:
        detail = "completionTime cannot be mutated"
        errs.append(invalid("status.completionTime", st["completionTime"], detail))
    # RejectStartTimeUpdateForUnsuspendedJob
    new_start, old_start = _time(st.get("startTime")), _time(old_st.get("startTime"))
    suspended = bool((new.get("spec") or {}).get("suspend"))
    if old_start and old_start != new_start and not suspended:
        errs.append(required("status.startTime", "startTime cannot be removed for unsuspended job"))
    # SuccessCriteriaMet is terminal too, and cannot be added after Complete.
    if _true(old, SUCCESS_CRITERIA_MET) and not _true(new, SUCCESS_CRITERIA_MET):
        detail = "cannot disable the SuccessCriteriaMet=True condition"
        errs.append(invalid_omit_value(conditions, detail))
    if (
        _true(old, COMPLETE)
        and not _true(old, SUCCESS_CRITERIA_MET)
        and _true(new, SUCCESS_CRITERIA_MET)
    ):
        detail = "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions"
        errs.append(invalid_omit_value(conditions, detail))
    return errs


def _elastic_indexed(job: Mapping[str, Any]) -> bool:
    spec = job.get("spec") or {}
    return bool(
        spec.get("completionMode") == "Indexed"
        and spec.get("completions") is not None
        and spec.get("completions") == spec.get("parallelism")
    )


def validate_job_status_update(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldError]:
    """Every cause the 1.32 API server reports for replacing ``old``'s status with ``new``'s."""
    return _validate_status(new, old) + _validate_transition(new, old)
