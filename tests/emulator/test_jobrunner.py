"""The simulated Job runner: its status hooks write what the real Job controller writes
(``pkg/controller/job/job_controller.go``) and pass the 1.32 status rules; the runner drives
Jobs through the emulator over HTTP."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulator.jobrunner import (
    OUTCOME_KEY,
    RunnerOptions,
    SimulatedJobRunner,
    mark_job_failed,
    mark_job_succeeded,
    started_status,
)
from emulator.jobstatus import validate_job_status_update
from emulator.server import ApiServer

T0 = datetime(2025, 3, 27, 1, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def _job(name: str = "backup-1", annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations or {}},
        "spec": {
            "backoffLimit": 2,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "backup", "image": "example/backup:1"}],
                }
            },
        },
    }


def _types(status: dict[str, Any]) -> list[str]:
    return [c["type"] for c in status.get("conditions", [])]


def test_started_status() -> None:
    """The controller's first write: startTime, one active pod, empty uncounted pods."""
    status = started_status(_job(), T0)
    assert status == {
        "startTime": "2025-03-27T01:00:00Z",
        "active": 1,
        "ready": 0,
        "terminating": 0,
        "uncountedTerminatedPods": {},
    }


def test_succeeded_status_conditions_in_controller_order() -> None:
    """SuccessCriteriaMet first, then Complete, both reason CompletionsReached."""
    status = mark_job_succeeded({"status": started_status(_job(), T0)}, T1)["status"]
    assert _types(status) == ["SuccessCriteriaMet", "Complete"]
    for condition in status["conditions"]:
        assert condition["status"] == "True"
        assert condition["reason"] == "CompletionsReached"
        assert condition["message"] == "Reached expected number of succeeded pods"
        assert condition["lastTransitionTime"] == "2025-03-27T01:05:00Z"
    assert (status["active"], status["succeeded"], status["ready"]) == (0, 1, 0)
    assert status["startTime"] == "2025-03-27T01:00:00Z"
    assert status["completionTime"] == "2025-03-27T01:05:00Z"


def test_failed_status_conditions_in_controller_order() -> None:
    """FailureTarget first, then Failed with the same reason/message; failed = limit + 1;
    no completionTime (the API only allows it with Complete)."""
    status = mark_job_failed({**_job(), "status": started_status(_job(), T0)}, T1)["status"]
    assert _types(status) == ["FailureTarget", "Failed"]
    assert {c["reason"] for c in status["conditions"]} == {"BackoffLimitExceeded"}
    assert {c["message"] for c in status["conditions"]} == {
        "Job has reached the specified backoff limit"
    }
    assert status["failed"] == 3
    assert status["active"] == 0
    assert "completionTime" not in status


def test_failed_status_custom_reason() -> None:
    status = mark_job_failed(_job(), T1, reason="DeadlineExceeded", message="too slow")["status"]
    assert status["conditions"][-1]["reason"] == "DeadlineExceeded"
    assert status["conditions"][-1]["message"] == "too slow"


def test_hooks_pass_the_status_rules() -> None:
    """Every transition the hooks produce is accepted by the 1.32 status rules
    (docs/design.md §6)."""
    created = _job()
    started = {**created, "status": started_status(created, T0)}
    assert validate_job_status_update(created, started) == []
    assert validate_job_status_update(started, mark_job_succeeded(started, T1)) == []
    assert validate_job_status_update(started, mark_job_failed(started, T1)) == []
    # Straight from creation to a result is also valid: the hooks fill startTime.
    assert validate_job_status_update(created, mark_job_succeeded(created, T1)) == []
    assert validate_job_status_update(created, mark_job_failed(created, T1)) == []


def test_hooks_do_not_mutate_the_job() -> None:
    job = _job()
    mark_job_succeeded(job, T1)
    mark_job_failed(job, T1)
    assert "status" not in job


# -- against the emulator over HTTP ---------------------------------------------------------
def _call(
    server: ApiServer,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
) -> dict[str, Any]:
    request = urllib.request.Request(
        server.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {server.ADMIN_TOKEN}", "Content-Type": content_type},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read() or b"{}")
        return result


JOBS = "/apis/batch/v1/namespaces/default/jobs"


def _fast(**overrides: Any) -> RunnerOptions:
    values: dict[str, Any] = {
        "start_delay": 0.0,
        "run_duration": 0.2,
        "now": lambda: T0,
        "watch_timeout": 5,
        "max_connect_failures": 3,
    }
    values.update(overrides)
    return RunnerOptions(**values)


def test_runner_completes_jobs(api_server: ApiServer) -> None:
    """A new Job is started, then completed, through /status; the API accepts each write."""
    with SimulatedJobRunner(api_server.url, api_server.ADMIN_TOKEN, _fast()) as runner:
        _call(api_server, "POST", JOBS, _job("ok"))
        assert runner.wait_for("default/ok", timeout=20) == "Succeeded"
    status = _call(api_server, "GET", f"{JOBS}/ok")["status"]
    assert _types(status) == ["SuccessCriteriaMet", "Complete"]
    assert status["startTime"] == status["completionTime"] == "2025-03-27T01:00:00Z"
    assert status["succeeded"] == 1


def test_outcome_annotation_fails_a_job(api_server: ApiServer) -> None:
    """``sandbox.dbbackup.io/outcome: fail`` makes the Job fail as with backoffLimit reached."""
    with SimulatedJobRunner(api_server.url, api_server.ADMIN_TOKEN, _fast()) as runner:
        _call(api_server, "POST", JOBS, _job("bad", {OUTCOME_KEY: "fail"}))
        assert runner.wait_for("default/bad", timeout=20) == "Failed"
    status = _call(api_server, "GET", f"{JOBS}/bad")["status"]
    assert _types(status) == ["FailureTarget", "Failed"]
    assert status["conditions"][-1]["reason"] == "BackoffLimitExceeded"


def test_decide_function_and_existing_jobs(api_server: ApiServer) -> None:
    """Jobs that exist before the runner starts are picked up from the initial list, and
    ``decide`` chooses the outcome per Job."""
    _call(api_server, "POST", JOBS, _job("early-a"))
    _call(api_server, "POST", JOBS, _job("early-b"))
    options = _fast(decide=lambda job: job["metadata"]["name"].endswith("a"))
    with SimulatedJobRunner(api_server.url, api_server.ADMIN_TOKEN, options) as runner:
        assert runner.wait_for("default/early-a", timeout=20) == "Succeeded"
        assert runner.wait_for("default/early-b", timeout=20) == "Failed"


def test_conflict_is_retried(api_server: ApiServer) -> None:
    """A status write with a stale resourceVersion gets 409; the runner re-reads and retries."""
    touched: list[bool] = []

    def decide(job: Any) -> bool:
        if not touched:  # another writer changes the Job between the runner's GET and PUT
            touched.append(True)
            patch = {"metadata": {"labels": {"touched": "yes"}}}
            _call(api_server, "PATCH", f"{JOBS}/raced", patch, "application/merge-patch+json")
        return True

    with SimulatedJobRunner(api_server.url, api_server.ADMIN_TOKEN, _fast(decide=decide)) as r:
        _call(api_server, "POST", JOBS, _job("raced"))
        assert r.wait_for("default/raced", timeout=20) == "Succeeded"
    conflicts = [a for a in api_server.audit if a.name == "raced" and a.code == 409]
    assert [(a.verb, a.subresource) for a in conflicts] == [("update", "status")]
    job = _call(api_server, "GET", f"{JOBS}/raced")
    assert job["metadata"]["labels"]["touched"] == "yes"  # the other writer's change survived
    assert _types(job["status"]) == ["SuccessCriteriaMet", "Complete"]


def test_failure_rate_is_seeded() -> None:
    """The same seed gives the same sequence of outcomes (reproducible sandboxes)."""

    def outcomes(seed: int) -> list[bool]:
        runner = SimulatedJobRunner(
            "http://127.0.0.1:1", "t", RunnerOptions(failure_rate=0.5, seed=seed)
        )
        return [runner._outcome(_job()) for _ in range(20)]

    assert outcomes(7) == outcomes(7)
    assert True in outcomes(7) and False in outcomes(7)


def test_deleted_job_is_forgotten(api_server: ApiServer) -> None:
    """A Job deleted while running is dropped (404), and the runner keeps working."""
    options = _fast(run_duration=0.5)
    with SimulatedJobRunner(api_server.url, api_server.ADMIN_TOKEN, options) as runner:
        _call(api_server, "POST", JOBS, _job("gone"))
        deadline = time.monotonic() + 10
        while not _call(api_server, "GET", f"{JOBS}/gone").get("status", {}).get("startTime"):
            assert time.monotonic() < deadline, "the runner never started the Job"
            time.sleep(0.02)
        _call(api_server, "DELETE", f"{JOBS}/gone")
        _call(api_server, "POST", JOBS, _job("after"))
        assert runner.wait_for("default/after", timeout=20) == "Succeeded"
        assert "default/gone" not in runner.outcomes
        assert not runner.done.is_set()


def test_runner_stops_with_the_server() -> None:
    """When the server goes away the runner gives up by itself instead of spinning forever."""
    with ApiServer() as server:
        runner = SimulatedJobRunner(server.url, server.ADMIN_TOKEN, _fast())
        runner.start()
    assert runner.done.wait(30), "the runner did not stop after the server did"
    runner.stop()


def test_speed_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SimulatedJobRunner("http://127.0.0.1:1", "t", RunnerOptions(speed=0))
