"""The runner and the operator together: a refused password becomes a status in words.

The real operator command runs against the API emulator (virtual clock at 60x) and creates
the sample-shaped Job for a real PostgreSQL server; the test stands in for the kubelet: it
runs ``dbbackup-runner`` with the Job's container environment (``secretKeyRef`` values read
from the Secret, the claim's mount point mapped to a temporary directory), applies the Job's
``podFailurePolicy`` to the exit code as the Job controller does, and writes the Job's
failure condition. The operator, which never reads Pods, must then show the cause in words
and the exact dump URL in ``status.history``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from emulator.jobrunner import mark_job_failed
from emulator.server import ApiServer
from tests.runner.harness import run_runner
from tests.runner.servers import Database
from tests.support.clock import HeldClock
from tests.support.kubelet import b64, container_env, pod_failure
from tests.support.operator import OperatorProcess, setup_cluster, wait_for

SPEED = 60.0
START = datetime(2025, 3, 27, 0, 59, 0, tzinfo=UTC)
NAME = "pg-nightly"
JOB = "pg-nightly-20250327010000"
WRONG_PASSWORD = "definitely-not-it"


@pytest.mark.timeout(120)
def test_wrong_password_fails_the_job_at_once_and_reads_in_words(
    postgres: Database, tmp_path: Path
) -> None:
    clock = HeldClock(speed=SPEED, start=START)  # started once the backup exists
    server = ApiServer(clock=clock.now).start()
    operator: OperatorProcess | None = None
    try:
        kubeconfig = setup_cluster(server)
        server.create_object({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "pg-credentials", "namespace": "default"},
            "data": {"username": b64(postgres.user), "password": b64(WRONG_PASSWORD)},
        })  # fmt: skip
        server.create_object({
            "apiVersion": "dbbackup.io/v1alpha1", "kind": "DatabaseBackup",
            "metadata": {"name": NAME, "namespace": "default"},
            "spec": {
                "schedule": "0 1 * * *",
                "database": {"type": "postgresql", "host": postgres.host,
                             "port": postgres.port, "name": "postgres",
                             "credentialsSecretRef": {"name": "pg-credentials"}},
                "image": "ghcr.io/example/dbbackup-runner:latest",
                "storage": {"pvc": {"claimName": "backups"}},
                "retention": "336h",
            },
        })  # fmt: skip
        operator = OperatorProcess(
            kubeconfig, clock_start=START, clock_origin=clock.run(), clock_speed=SPEED
        )
        operator.wait_ready()
        job = wait_for(
            lambda: server.get_object("batch/v1", "Job", JOB, "default"), 60, "the 01:00 Job"
        )
        env = container_env(server, job, tmp_path)
        assert env["STORAGE_PATH"] == env["STORAGE_URL"] == str(tmp_path)  # the claim's mount
        run = run_runner(env)  # no arguments, like the image's entrypoint
        assert run.returncode == 4, run.stderr
        assert WRONG_PASSWORD not in run.stderr

        verdict = pod_failure(job, run.returncode)
        assert verdict is not None, "exit 4 must fail the Job at once, not be retried"
        live = server.get_object("batch/v1", "Job", JOB, "default")
        assert live is not None
        server.update_object(mark_job_failed(live, clock.now(), *verdict), subresource="status")

        def failed() -> dict[str, Any] | None:
            obj = server.get_object("dbbackup.io/v1alpha1", "DatabaseBackup", NAME, "default")
            status = dict((obj or {}).get("status") or {})
            return status if status.get("phase") == "Failed" else None

        status = wait_for(failed, 30, "phase Failed")
        assert status["failureReason"] == "database authentication failed (exit 4)"
        (entry,) = status["history"]
        assert entry["failureReason"] == "database authentication failed (exit 4)"
        assert entry["location"] == f"pvc://backups/{JOB}.sql.zst"
        assert pod_failure(job, 3) is None  # an unreachable database is retried
        assert operator.stop() == 0
    finally:
        if operator is not None:
            operator.kill()
        server.stop()
