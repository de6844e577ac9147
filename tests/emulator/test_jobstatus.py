"""Job status update rules of kube-apiserver 1.32 (docs/design.md section 6, measured), each from
``pkg/apis/batch/validation/validation.go`` (validateJobStatus / ValidateJobStatusUpdate) with
the change-gated options of ``pkg/registry/batch/job/strategy.go``."""

from __future__ import annotations

import copy
from typing import Any

from emulator.jobstatus import validate_job_status_update

T0, T1 = "2025-03-27T01:00:00Z", "2025-03-27T01:05:00Z"


def _cond(kind: str, status: str = "True") -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": "R", "message": "m"}


def _job(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "j", "namespace": "ns"}, "spec": {}, "status": status}


RUNNING = _job(startTime=T0, active=1, ready=0, terminating=0, uncountedTerminatedPods={})


def _complete(**extra: Any) -> dict[str, Any]:
    status = {
        "startTime": T0,
        "completionTime": T1,
        "active": 0,
        "succeeded": 1,
        "ready": 0,
        "terminating": 0,
        "conditions": [_cond("SuccessCriteriaMet"), _cond("Complete")],
    }
    status.update(extra)
    return _job(**status)


def _failed(**extra: Any) -> dict[str, Any]:
    status = {
        "startTime": T0,
        "active": 0,
        "failed": 7,
        "ready": 0,
        "terminating": 0,
        "conditions": [_cond("FailureTarget"), _cond("Failed")],
    }
    status.update(extra)
    return _job(**status)


def _messages(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [f"{e.field}: {e.message}" for e in validate_job_status_update(old, new)]


def test_start_is_accepted() -> None:
    assert validate_job_status_update(_job(), RUNNING) == []


def test_complete_with_everything_is_accepted() -> None:
    """docs/design.md §6: Complete=True with startTime, completionTime and
    SuccessCriteriaMet=True."""
    assert validate_job_status_update(RUNNING, _complete()) == []


def test_failed_with_failure_target_is_accepted() -> None:
    assert validate_job_status_update(RUNNING, _failed()) == []


def test_complete_without_success_criteria_met_is_refused() -> None:
    """RejectCompleteJobWithoutSuccessCriteriaMet."""
    new = _complete(conditions=[_cond("Complete")])
    assert _messages(RUNNING, new) == [
        "status.conditions: Invalid value: cannot set Complete=True condition without the "
        "SuccessCriteriaMet=true condition"
    ]


def test_complete_without_completion_time_is_refused() -> None:
    """RejectCompleteJobWithoutCompletionTime: a Required cause on status.completionTime."""
    new = _complete()
    del new["status"]["completionTime"]
    errors = validate_job_status_update(RUNNING, new)
    assert [(e.field, e.reason) for e in errors] == [
        ("status.completionTime", "FieldValueRequired")
    ]


def test_finished_without_start_time_is_refused() -> None:
    """RejectFinishedJobWithoutStartTime, for Complete and for Failed."""
    for new in (_complete(), _failed()):
        del new["status"]["startTime"]
        errors = validate_job_status_update(_job(), new)
        assert ("status.startTime", "FieldValueRequired") in [(e.field, e.reason) for e in errors]


def test_failed_without_failure_target_is_refused() -> None:
    """RejectFailedJobWithoutFailureTarget (docs/design.md §6)."""
    assert _messages(RUNNING, _failed(conditions=[_cond("Failed")])) == [
        "status.conditions: Invalid value: cannot set Failed=True condition without the "
        "FailureTarget=true condition"
    ]


def test_completion_time_without_complete_is_refused() -> None:
    """RejectNotCompleteJobWithCompletionTime."""
    new = _job(startTime=T0, completionTime=T1, active=1)
    assert _messages(RUNNING, new) == [
        f'status.completionTime: Invalid value: "{T1}": cannot set completionTime when there '
        "is no Complete=True condition"
    ]


def test_completion_time_before_start_time_is_refused() -> None:
    """RejectCompletionTimeBeforeStartTime."""
    new = _complete(startTime=T1, completionTime=T0)
    old = _job(startTime=T1, active=1)
    assert any("completionTime cannot be set before startTime" in m for m in _messages(old, new))


def test_complete_and_failed_together_are_refused() -> None:
    """RejectCompleteJobWithFailedCondition (and SuccessCriteriaMet with Failed)."""
    new = _complete(conditions=[_cond("SuccessCriteriaMet"), _cond("Complete"), _cond("Failed")])
    messages = _messages(RUNNING, new)
    assert any("cannot set Complete=True and Failed=true conditions" in m for m in messages)
    assert any("SuccessCriteriaMet=True and Failed=true" in m for m in messages)


def test_complete_with_failure_target_is_refused() -> None:
    """RejectCompleteJobWithFailureTargetCondition."""
    new = _complete(
        conditions=[_cond("SuccessCriteriaMet"), _cond("Complete"), _cond("FailureTarget")]
    )
    assert any("Complete=True and FailureTarget=true" in m for m in _messages(RUNNING, new))


def test_finished_with_active_pods_is_refused() -> None:
    """RejectFinishedJobWithActivePods."""
    assert _messages(RUNNING, _complete(active=1)) == [
        "status.active: Invalid value: 1: active>0 is invalid for finished job"
    ]


def test_finished_with_terminating_or_uncounted_pods_is_refused() -> None:
    """RejectFinishedJobWithTerminatingPods / ...WithUncountedTerminatedPods."""
    new = _failed(terminating=1, uncountedTerminatedPods={"failed": ["uid-1"]})
    fields = [e.field for e in validate_job_status_update(RUNNING, new)]
    assert fields == ["status.uncountedTerminatedPods", "status.terminating"]


def test_more_ready_than_active_is_refused() -> None:
    """RejectMoreReadyThanActivePods."""
    new = _job(startTime=T0, active=1, ready=2)
    assert _messages(RUNNING, new) == [
        "status.ready: Invalid value: 2: cannot set more ready pods than active"
    ]


def test_counters_must_not_be_negative() -> None:
    """ValidateNonnegativeField on active/succeeded/failed/ready/terminating."""
    new = _job(startTime=T0, active=-1)
    assert "status.active: Invalid value: -1: must be greater than or equal to 0" in _messages(
        RUNNING, new
    )


def test_uncounted_pods_must_be_unique_and_non_empty() -> None:
    new = _job(
        startTime=T0, active=1, uncountedTerminatedPods={"succeeded": ["a", ""], "failed": ["a"]}
    )
    errors = validate_job_status_update(RUNNING, new)
    assert [(e.field, e.reason) for e in errors] == [
        ("status.uncountedTerminatedPods.succeeded[1]", "FieldValueInvalid"),
        ("status.uncountedTerminatedPods.failed[0]", "FieldValueDuplicate"),
    ]


def test_terminal_conditions_cannot_be_removed() -> None:
    """RejectDisablingTerminalCondition: Complete/Failed/FailureTarget stay True."""
    old = _complete()
    new = copy.deepcopy(old)
    new["status"]["conditions"] = [_cond("SuccessCriteriaMet"), _cond("Complete", "False")]
    assert any(
        "cannot disable the terminal Complete=True condition" in m for m in _messages(old, new)
    )


def test_counters_cannot_decrease() -> None:
    """RejectDecreasingFailedCounter / RejectDecreasingSucceededCounter."""
    old = _job(startTime=T0, active=1, failed=2, succeeded=1)
    new = _job(startTime=T0, active=1, failed=1, succeeded=0)
    messages = _messages(old, new)
    assert any("cannot decrease the failed counter" in m for m in messages)
    assert any("cannot decrease the succeeded counter" in m for m in messages)


def test_completion_time_cannot_change() -> None:
    """RejectMutatingCompletionTime."""
    new = _complete(completionTime="2025-03-27T02:00:00Z")
    assert any("completionTime cannot be mutated" in m for m in _messages(_complete(), new))


def test_start_time_cannot_change_for_unsuspended_job() -> None:
    """RejectStartTimeUpdateForUnsuspendedJob."""
    new = _job(startTime=T1, active=1)
    assert _messages(RUNNING, new) == [
        "status.startTime: Required value: startTime cannot be removed for unsuspended job"
    ]


def test_start_time_may_be_reset_for_suspended_job() -> None:
    new = _job(active=0)
    new["spec"]["suspend"] = True
    assert validate_job_status_update(RUNNING, new) == []


def test_rules_only_fire_when_their_fields_change() -> None:
    """strategy.go gates most rules on a change: an already-inconsistent status can still be
    updated in unrelated fields (here: a Complete Job without SuccessCriteriaMet)."""
    old = _complete(conditions=[_cond("Complete")])
    new = copy.deepcopy(old)
    new["status"]["ready"] = 0
    new["metadata"]["labels"] = {"x": "y"}
    assert validate_job_status_update(old, new) == []
