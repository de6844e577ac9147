"""The operator end to end: the real command, as its ServiceAccount, against the emulator.

The product brief's sample runs on a virtual clock shared by the emulator, the simulated
job runner and the operator subprocess (``ScaledClock`` with one start, origin and speed), so
``0 1 * * *`` fires within a second of real time. Asserted: Jobs, status, Events, /metrics.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from emulator.jobrunner import RunnerOptions, SimulatedJobRunner
from emulator.server import ApiServer
from tests.support.clock import HeldClock
from tests.support.operator import (
    OperatorProcess,
    apply_sample,
    setup_cluster,
    wait_for,
)

SPEED = 60.0  # one virtual minute per real second
START = datetime(2025, 3, 27, 0, 59, 0, tzinfo=UTC)  # a minute before the sample's 01:00 slot
SAMPLE = "dbbackup_v1alpha1_postgres_daily_backup.yaml"
NAME = "postgres-daily-backup"
FIRST_JOB = "postgres-daily-backup-20250327010000"


class Env:
    def __init__(self) -> None:
        # Started with the runner or the operator, whichever comes first: after the sample.
        self.clock = HeldClock(speed=SPEED, start=START)
        self.server = ApiServer(clock=self.clock.now).start()
        self.kubeconfig = setup_cluster(self.server)
        self.operator: OperatorProcess | None = None
        self.runner: SimulatedJobRunner | None = None

    def start_operator(self, env: dict[str, str] | None = None) -> OperatorProcess:
        self.operator = OperatorProcess(
            self.kubeconfig,
            clock_start=START,
            clock_origin=self.clock.run(),
            clock_speed=SPEED,
            env=env,
        )
        return self.operator

    def start_runner(self, decide: Any = None) -> None:
        self.clock.run()
        self.runner = SimulatedJobRunner(
            self.server.url,
            self.server.ADMIN_TOKEN,
            RunnerOptions(
                start_delay=1, run_duration=30, speed=SPEED, now=self.clock.now, decide=decide
            ),
        )
        self.runner.start()

    def backup(self) -> dict[str, Any]:
        obj = self.server.get_object("dbbackup.io/v1alpha1", "DatabaseBackup", NAME, "default")
        assert obj is not None
        return obj

    def status(self) -> dict[str, Any]:
        return dict(self.backup().get("status") or {})

    def jobs(self) -> list[str]:
        return sorted(
            j["metadata"]["name"] for j in self.server.list_objects("batch/v1", "Job", "default")
        )

    def events(self) -> list[str]:
        return [
            e.get("reason", "")
            for e in self.server.list_objects("events.k8s.io/v1", "Event", "default")
        ]

    def close(self) -> None:
        if self.operator is not None:
            self.operator.kill()
        if self.runner is not None:
            self.runner.stop()
        self.server.stop()


@pytest.fixture
def env() -> Iterator[Env]:
    e = Env()
    try:
        yield e
    finally:
        e.close()


def _metric(text: str, name: str, labels: Mapping[str, str]) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def _described_events(server: ApiServer, tmp: Path) -> list[list[str]]:
    """The rows (Type, Reason, Age, From, Message) of ``kubectl describe dbbackup``'s Events."""
    config = server.write_kubeconfig(tmp / "admin.kubeconfig")
    done = subprocess.run(
        ["kubectl", "describe", "dbbackup", NAME],
        env=dict(os.environ, KUBECONFIG=str(config), HOME=str(tmp)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    _, _, events = done.stdout.partition("\nEvents:\n")
    rows = events.splitlines()
    assert rows and rows[0].split() == ["Type", "Reason", "Age", "From", "Message"], done.stdout
    return [re.split(r"\s{2,}", row.strip(), maxsplit=4) for row in rows[2:]]


@pytest.mark.timeout(90)
def test_sample_goes_pending_running_succeeded_then_a_failing_run_fails(
    env: Env, tmp_path: Path
) -> None:
    apply_sample(env.server, SAMPLE)
    env.start_runner(decide=lambda job: job["metadata"]["name"] == FIRST_JOB)
    operator = env.start_operator()
    operator.wait_ready()
    labels = {"namespace": "default", "name": NAME}

    wait_for(lambda: env.status().get("phase") in ("Pending", "Running"), 20, "status")
    running = wait_for(
        lambda: env.status() if env.status().get("phase") == "Running" else None,
        30,
        "phase Running",
    )
    assert running["activeJob"] == FIRST_JOB
    assert env.jobs() == [FIRST_JOB]

    done = wait_for(
        lambda: env.status() if env.status().get("phase") == "Succeeded" else None,
        30,
        "phase Succeeded",
    )
    assert done["lastSuccessfulBackup"] >= "2025-03-27T01:00:00Z"
    assert done["nextScheduledBackup"] == "2025-03-28T01:00:00Z"
    assert done["history"][-1]["result"] == "Succeeded"
    wait_for(
        lambda: {"SuccessfulCreate", "BackupSucceeded"} <= set(env.events()),
        10,
        "SuccessfulCreate and BackupSucceeded events",
    )
    # A user reads them with kubectl describe, which finds them through core v1's
    # involvedObject field selectors (issue 15).
    described = _described_events(env.server, tmp_path)
    assert {"SuccessfulCreate", "BackupSucceeded"} <= {row[1] for row in described}, described
    assert {row[3] for row in described} == {"dbbackup-operator"}  # reportingController
    metrics = operator.metrics()
    assert _metric(metrics, "dbbackup_runs_total", {**labels, "result": "succeeded"}) == 1
    assert _metric(metrics, "dbbackup_last_run_status", labels) == 1
    assert _metric(
        metrics,
        "controller_runtime_reconcile_total",
        {"controller": "databasebackup", "result": "success"},
    ) or _metric(
        metrics,
        "controller_runtime_reconcile_total",
        {"controller": "databasebackup", "result": "requeue_after"},
    )

    # A user makes it run every minute; the runner fails that run.
    backup = env.backup()
    backup["spec"]["schedule"] = "* * * * *"
    env.server.update_object(backup)
    failed = wait_for(
        lambda: env.status() if env.status().get("phase") == "Failed" else None,
        40,
        "phase Failed",
    )
    assert failed["failureReason"].startswith("BackoffLimitExceeded")
    ready = next(c for c in failed["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "BackupFailed")
    wait_for(lambda: "BackupFailed" in env.events(), 10, "BackupFailed event")
    # Runs fire every real second here: suspend, let the last one end, then every failed run
    # in the history is counted once (a loaded machine may have let a second one fail).
    backup = env.backup()
    backup["spec"]["suspend"] = True
    env.server.update_object(backup)
    settled = wait_for(
        lambda: env.status() if not env.status().get("activeJob") else None, 20, "no active run"
    )
    failed_runs = [r for r in settled["history"] if r["result"] == "Failed"]
    assert failed_runs
    assert _metric(
        operator.metrics(), "dbbackup_runs_total", {**labels, "result": "failed"}
    ) == len(failed_runs)
    assert operator.stop() == 0


@pytest.mark.timeout(90)
def test_killed_right_after_creating_a_job_the_restart_leaves_one_job(env: Env) -> None:
    apply_sample(env.server, SAMPLE)
    operator = env.start_operator(env={"DBBACKUP_FAILPOINT": "after-create-job"})
    assert operator.wait_exit(30) == 137, operator.logs()
    assert env.jobs() == [FIRST_JOB]
    assert "activeJob" not in env.status()  # it died before writing status

    restarted = env.start_operator()
    restarted.wait_ready()
    status = wait_for(
        lambda: env.status() if env.status().get("activeJob") == FIRST_JOB else None,
        20,
        "the Job adopted into status",
    )
    assert status["lastScheduleTime"] == "2025-03-27T01:00:00Z"
    assert env.jobs() == [FIRST_JOB]
    assert restarted.stop() == 0
    assert env.jobs() == [FIRST_JOB]
