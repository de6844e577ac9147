"""A kubelet and Job controller stand-in that really runs ``dbbackup-runner`` for a Job.

Role: for integration tests on the API emulator that need the runner to execute for real
(a real database, real dumps): :func:`run_job` reads the Job's single container as the kubelet
would (``$$`` unescaped, ``secretKeyRef`` values read from the Secret, the claim's mount point
mapped to a local directory), runs ``python -m runner`` with the container's arguments, then
writes the Job's terminal status the way the Job controller does (``Complete`` on exit 0; on a
non-zero exit, ``Failed`` with the ``PodFailurePolicy`` reason and message when a FailJob rule
matches, else ``BackoffLimitExceeded``).

Non-goals: retries within ``backoffLimit``, Pods, image pulls: one attempt, one verdict.
"""

from __future__ import annotations

import base64
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from api.v1alpha1 import contract as c
from app.sandbox_jobs import LocalJobExecutor
from emulator.jobrunner import mark_job_failed, mark_job_succeeded
from emulator.server import ApiServer
from tests.runner.harness import run_runner
from tests.support.operator import scratch_dir

__all__ = ["b64", "container_env", "pod_failure", "run_job"]


def b64(value: str) -> str:
    """``value`` as a Secret's ``data`` holds it."""
    return base64.b64encode(value.encode()).decode()


def container_env(server: ApiServer, job: dict[str, Any], claim_dir: Path) -> dict[str, str]:
    """What the kubelet would give the container, with the claim mounted at ``claim_dir``:
    the sandbox's :class:`~app.sandbox_jobs.LocalJobExecutor` reading, shared."""
    executor = LocalJobExecutor(
        lambda namespace, name: server.get_object("v1", "Secret", name, namespace),
        claim_dir,
        lambda _line: None,
    )
    return executor.environment(job, scratch_dir("kubelet-scratch-"))


def pod_failure(job: dict[str, Any], exit_code: int) -> tuple[str, str] | None:
    """The Job controller's ``(reason, message)`` when the Job's ``podFailurePolicy`` fails it
    at once for a container that exited with ``exit_code``; None when it would be retried."""
    meta = job["metadata"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    for index, rule in enumerate(job["spec"].get("podFailurePolicy", {}).get("rules", [])):
        codes = rule.get("onExitCodes") or {}
        if (
            rule["action"] == "FailJob"
            and codes.get("containerName") in (None, container["name"])
            and (exit_code in codes.get("values", ())) == (codes.get("operator") == "In")
        ):
            return "PodFailurePolicy", (
                f"Container {container['name']} for pod {meta['namespace']}/{meta['name']}-x7k2p "
                f"failed with exit code {exit_code} matching FailJob rule at index {index}"
            )
    return None


def _map_args(args: list[str], claim_dir: Path) -> list[str]:
    mounted = c.STORAGE_MOUNT_PATH
    return [str(claim_dir) + a[len(mounted) :] if a.startswith(mounted) else a for a in args]


def run_job(
    server: ApiServer, name: str, namespace: str, claim_dir: Path, now: datetime
) -> subprocess.CompletedProcess[str]:
    """Run Job ``name``'s container once for real and record the verdict in ``jobs/status``."""
    job = server.get_object("batch/v1", "Job", name, namespace)
    assert job is not None, f"Job {name} is missing"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = container_env(server, job, claim_dir)
    done = run_runner(env, *_map_args(list(container.get("args") or ()), claim_dir))
    live = server.get_object("batch/v1", "Job", name, namespace)
    assert live is not None
    if done.returncode == 0:
        server.update_object(mark_job_succeeded(live, now), subresource="status")
        return done
    verdict = pod_failure(job, done.returncode) or (
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )
    failed = mark_job_failed(live, now, *verdict)
    server.update_object(failed, subresource="status")
    return done
